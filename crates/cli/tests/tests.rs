//! Integration tests of the `stackbench` command line.

mod util;

mod bench_command;
mod capacity_command;
mod compare_command;
mod engines;
mod faults;
mod help_command;
mod load_command;
mod new_command;
mod own_project;
mod report_command;
mod summary;
mod table;
