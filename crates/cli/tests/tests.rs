//! Integration tests of the `stackbench` command line.

mod util;

mod load_command;
mod summary;
