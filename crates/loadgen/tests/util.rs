//! Helpers for the load generator's tests, on top of the shared test server.

use std::time::Duration;

use loadgen::{Config, Control, LoadResult, RunLength, Target};
pub use testserver::{write, Action, Server, OK};

/// A config for `server`: `n_connections` on one thread, stop rule given.
pub fn config_for(server: &Server, n_connections: usize, stop: RunLength) -> Config {
    Config { n_connections, n_threads: 1, stop, ..Config::new(Target::parse(&server.url()).unwrap()) }
}

/// Runs `config` to its end.
pub fn run(config: &Config) -> LoadResult {
    loadgen::run(config, &Control::new()).unwrap()
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}
