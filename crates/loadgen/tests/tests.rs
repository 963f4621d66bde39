//! Integration tests of the load generator against in-process servers.

mod util;

mod capacity;
mod closed_loop;
mod faults;
mod fuzz_corpus;
mod h2;
mod merge;
mod mix;
mod rate;
mod schema;
mod template;
mod tls;
