//! The facts of the machines a run uses, which a plan is checked against.

/// What a machine offers a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// CPUs a run may use there.
    pub n_cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    /// The hard open-files limit a generator runs under there.
    pub open_files: u64,
}

impl Machine {
    /// This machine, as this process sees it (reading it changes nothing).
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
        Machine {
            n_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
            open_files: loadgen::open_files_limit(),
        }
    }
}

/// Where the server and the load run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosts {
    /// One machine: the generator's CPUs and the server's cpuset split its CPUs.
    Shared(Machine),
    /// Two machines: the server's side may use every CPU of its own.
    Apart { server: Machine, generator: Machine },
}

impl Hosts {
    pub fn server(&self) -> &Machine {
        match self {
            Hosts::Shared(m) | Hosts::Apart { server: m, .. } => m,
        }
    }

    pub fn generator(&self) -> &Machine {
        match self {
            Hosts::Shared(m) | Hosts::Apart { generator: m, .. } => m,
        }
    }
}
