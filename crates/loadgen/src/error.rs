//! Errors that stop a run before or while it starts. Errors of single
//! requests are counted in the result, never raised.

use std::io;

/// A setting, or a combination of settings, that cannot work. `setting` is
/// the setting's name as a scenario's `[workload]` writes it; front ends say
/// where the value came from (`stackbench load` prefixes `--`, the flag).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{setting}: {reason}")]
    Invalid { setting: &'static str, reason: String },
    #[error("cannot use URL '{url}': {reason}")]
    Url { url: String, reason: String },
    #[error("cannot resolve host '{host}': {reason}")]
    Resolve { host: String, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "{needed} connections need about {wanted} open files, but the limit is {soft} (hard limit {hard}); \
         use fewer connections, or raise the hard limit (`ulimit -Hn`, /etc/security/limits.conf, or LimitNOFILE= for a service)"
    )]
    FileLimit { needed: usize, wanted: u64, soft: u64, hard: u64 },
    #[error(
        "cannot pin a generator thread to CPU {cpu}: {source} (check the CPU list against `nproc` and the cgroup's cpuset)"
    )]
    Affinity { cpu: usize, source: io::Error },
    #[error("cannot set up the event loop: {0}")]
    Io(#[from] io::Error),
}
