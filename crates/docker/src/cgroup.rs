//! A container's CPU, memory and throttling counters, read from its cgroup
//! files. `docker stats` samples over a short window and takes about 2 s per
//! call; counters differenced over the measured window are exact and cheap.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// Cumulative counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at: Instant,
    /// CPU time used, nanoseconds.
    pub cpu_ns: u64,
    /// Memory in use, bytes.
    pub memory: u64,
    /// CFS periods in which the container was throttled, and for how long.
    pub nr_throttled: u64,
    pub throttled_ns: u64,
    /// The most memory in use since the container started (0 where the
    /// kernel does not keep it): a peak between two samples shows here.
    pub memory_high_water: u64,
    /// Processes the OOM killer ended.
    pub oom_kills: u64,
}

/// Where one container's counters live (cgroup v1 or v2).
#[derive(Debug, Clone)]
pub enum CgroupCounters {
    V1 { cpuacct: PathBuf, cpu: PathBuf, memory: PathBuf },
    V2 { dir: PathBuf },
}

impl CgroupCounters {
    /// Finds the cgroup of process `pid` (a container's main process).
    pub fn for_pid(pid: u32) -> std::io::Result<CgroupCounters> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
        Ok(Self::from_proc(&text, Path::new("/sys/fs/cgroup")))
    }

    fn from_proc(text: &str, root: &Path) -> CgroupCounters {
        let mut cpuacct = None;
        let mut cpu = None;
        let mut memory = None;
        let mut unified = None;
        for line in text.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else { continue };
            let rel = path.trim_start_matches('/');
            for c in controllers.split(',') {
                let dir = root.join(controllers).join(rel);
                match c {
                    "cpuacct" => cpuacct = Some(dir.clone()),
                    "cpu" => cpu = Some(dir.clone()),
                    "memory" => memory = Some(dir.clone()),
                    "" => unified = Some(root.join(rel)),
                    _ => {}
                }
            }
        }
        match (cpuacct, cpu, memory) {
            (Some(cpuacct), Some(cpu), Some(memory)) => CgroupCounters::V1 { cpuacct, cpu, memory },
            _ => CgroupCounters::V2 { dir: unified.unwrap_or_else(|| root.to_path_buf()) },
        }
    }

    /// Reads the counters now. Missing files read as 0 (the container may
    /// have just exited).
    pub fn sample(&self) -> Sample {
        let at = Instant::now();
        match self {
            CgroupCounters::V1 { cpuacct, cpu, memory } => {
                let stat = read(&cpu.join("cpu.stat"));
                Sample {
                    at,
                    cpu_ns: number(&read(&cpuacct.join("cpuacct.usage"))),
                    memory: number(&read(&memory.join("memory.usage_in_bytes"))),
                    nr_throttled: field(&stat, "nr_throttled"),
                    throttled_ns: field(&stat, "throttled_time"),
                    memory_high_water: number(&read(&memory.join("memory.max_usage_in_bytes"))),
                    oom_kills: field(&read(&memory.join("memory.oom_control")), "oom_kill"),
                }
            }
            CgroupCounters::V2 { dir } => {
                let stat = read(&dir.join("cpu.stat"));
                let events = read(&dir.join("memory.events"));
                Sample {
                    at,
                    cpu_ns: field(&stat, "usage_usec") * 1000,
                    memory: number(&read(&dir.join("memory.current"))),
                    nr_throttled: field(&stat, "nr_throttled"),
                    throttled_ns: field(&stat, "throttled_usec") * 1000,
                    memory_high_water: number(&read(&dir.join("memory.peak"))),
                    oom_kills: field(&events, "oom_kill"),
                }
            }
        }
    }

    /// The processes in the container now (host pids); none once it is gone.
    pub fn processes(&self) -> Vec<u32> {
        let dir = match self {
            CgroupCounters::V1 { memory, .. } => memory,
            CgroupCounters::V2 { dir } => dir,
        };
        read(&dir.join("cgroup.procs")).split_whitespace().filter_map(|pid| pid.parse().ok()).collect()
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn number(text: &str) -> u64 {
    text.trim().parse().unwrap_or(0)
}

fn field(stat: &str, name: &str) -> u64 {
    stat.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' '))).map_or(0, number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_paths() {
        let proc = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
        match CgroupCounters::from_proc(proc, Path::new("/sys/fs/cgroup")) {
            CgroupCounters::V1 { cpuacct, cpu, memory } => {
                assert_eq!(cpuacct, Path::new("/sys/fs/cgroup/cpu,cpuacct/docker/abc"));
                assert_eq!(cpu, cpuacct);
                assert_eq!(memory, Path::new("/sys/fs/cgroup/memory/docker/abc"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v2_paths_and_fields() {
        let c = CgroupCounters::from_proc("0::/system.slice/docker-abc.scope\n", Path::new("/sys/fs/cgroup"));
        assert!(
            matches!(c, CgroupCounters::V2 { ref dir } if dir == Path::new("/sys/fs/cgroup/system.slice/docker-abc.scope"))
        );
        let stat = "usage_usec 1500\nnr_periods 10\nnr_throttled 3\nthrottled_usec 200\n";
        assert_eq!((field(stat, "usage_usec"), field(stat, "nr_throttled")), (1500, 3));
        let events = "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\n";
        assert_eq!(field(events, "oom_kill"), 1);
        let oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(field(oom_control, "oom_kill"), 3);
    }
}
