//! Samples a container's counters through a measured window and sums them
//! up, with what other processes took of the run's CPUs meanwhile.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use docker::{CgroupCounters, Sample};
use tokio::sync::oneshot;

use record::{Churn, Interferer, ServerUsage};

const EVERY: Duration = Duration::from_millis(250);

/// Where a container's counters are read.
#[derive(Clone)]
pub(crate) enum Probe {
    /// Its cgroup files, on this machine (exact and cheap).
    Cgroup(CgroupCounters),
    /// The engine's stats API: the container runs on another machine.
    Api(crate::EngineRef, String),
}

impl Probe {
    /// The server's probe: its cgroup when it runs here, else the engine's API.
    pub fn of(engine: &crate::EngineRef, running: &docker::Running) -> Option<Probe> {
        match &running.counters {
            Some(counters) => Some(Probe::Cgroup(counters.clone())),
            None => (!engine.is_local()).then(|| Probe::Api(engine.clone(), running.id.clone())),
        }
    }

    async fn sample(&self) -> Option<Sample> {
        match self {
            Probe::Cgroup(counters) => Some(counters.sample()),
            Probe::Api(engine, id) => engine.stats_sample(id).await.ok(),
        }
    }
}

/// The CPUs of a run on this machine (the generator's and the server's) and
/// the run's containers on them: around a window, the CPU time that processes
/// other than this one and those containers took on those CPUs, plus the
/// time other machines stole from them, is what others took.
#[derive(Clone)]
pub(crate) struct CpuWatch {
    pub cpus: Vec<usize>,
    /// The run's containers (the server and its sidecars).
    pub ours: Vec<CgroupCounters>,
}

/// One reading of a [`CpuWatch`].
struct CpuReading {
    at: Instant,
    /// Time other machines took from the watched CPUs (steal), in clock ticks.
    steal_ticks: u64,
    /// Their interrupt and softirq time: on loopback, the run's own packets.
    kernel_ticks: u64,
    /// Every other process, by pid: its name, its CPU time in clock ticks, and whether it last ran on a
    /// watched CPU.
    others: HashMap<u32, Other>,
}

struct Other {
    name: String,
    ticks: u64,
    on_watched: bool,
}

impl CpuWatch {
    fn read(&self) -> Option<CpuReading> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        Some(CpuReading {
            at: Instant::now(),
            steal_ticks: cpu_ticks(&stat, &self.cpus, &STEAL)?,
            kernel_ticks: cpu_ticks(&stat, &self.cpus, &KERNEL)?,
            others: self.others(),
        })
    }

    /// The processes of this machine that are not this one or in the run's containers.
    fn others(&self) -> HashMap<u32, Other> {
        let ours: Vec<u32> = self.ours.iter().flat_map(CgroupCounters::processes).collect();
        let mut others = HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
            if pid == std::process::id() || ours.contains(&pid) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            if let Some((name, ticks, cpu)) = process_stat(&stat) {
                others.insert(pid, Other { name: name.to_string(), ticks, on_watched: self.cpus.contains(&cpu) });
            }
        }
        others
    }
}

/// What each other process took between two readings, in percent of one CPU,
/// by pid: those that last ran on a watched CPU, less the softirq threads (the
/// run's own packets, [`own_kernel_pct`]). A process that started in the window
/// counts from 0; one that ended in it is missed. (Its reaped time shows in its
/// parent, but so would a whole server's in containerd-shim's when it exits.)
fn others_pct<'r>(a: &'r CpuReading, b: &'r CpuReading) -> impl Iterator<Item = (&'r str, f64)> {
    let secs = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
    let tick_s = 1.0 / clock_ticks_per_second();
    b.others.iter().filter(|(_, o)| o.on_watched && !is_softirq_thread(&o.name)).map(move |(pid, o)| {
        let before = a.others.get(pid).map_or(0, |p| p.ticks);
        (o.name.as_str(), o.ticks.saturating_sub(before) as f64 * tick_s / secs * 100.0)
    })
}

/// The busiest processes other than the run's between two readings (at most
/// three, each over half a percent of a CPU), by name, in percent of one CPU.
fn busiest(a: &CpuReading, b: &CpuReading) -> Vec<Interferer> {
    let mut by_name: HashMap<&str, f64> = HashMap::new();
    for (name, pct) in others_pct(a, b) {
        // Kernel threads are named per CPU and a kworker by its work queue of the moment
        // (`kworker/0:1H-events_highpri`): one name for each kind.
        *by_name.entry(name.split('/').next().unwrap_or(name)).or_default() += pct;
    }
    let mut busiest: Vec<Interferer> = by_name
        .into_iter()
        .filter(|(_, pct)| *pct > 0.5)
        .map(|(name, cpu_pct)| Interferer { name: name.to_string(), cpu_pct })
        .collect();
    busiest.sort_by(|x, y| y.cpu_pct.total_cmp(&x.cpu_pct).then_with(|| x.name.cmp(&y.name)));
    busiest.truncate(3);
    busiest
}

/// `/proc/stat`'s column of other machines' use: steal.
const STEAL: [usize; 1] = [7];
/// Its interrupt and softirq columns.
const KERNEL: [usize; 2] = [5, 6];

/// The sum of `columns` of `cpus` in `/proc/stat`, in clock ticks; none if a CPU is missing.
fn cpu_ticks(stat: &str, cpus: &[usize], columns: &[usize]) -> Option<u64> {
    let mut total = 0;
    for cpu in cpus {
        let name = format!("cpu{cpu}");
        let line = stat.lines().find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
        let fields: Vec<u64> = line.split_whitespace().skip(1).map(|f| f.parse().unwrap_or(0)).collect();
        total += columns.iter().map(|&i| fields.get(i).copied().unwrap_or(0)).sum::<u64>();
    }
    Some(total)
}

/// The kernel threads that carry the run's own network work when interrupts pile up.
fn is_softirq_thread(name: &str) -> bool {
    name.starts_with("ksoftirqd/")
}

/// CPU time of the softirq threads between two readings, in clock ticks.
fn softirq_thread_ticks(a: &CpuReading, b: &CpuReading) -> u64 {
    b.others
        .iter()
        .filter(|(_, o)| is_softirq_thread(&o.name))
        .map(|(pid, o)| o.ticks.saturating_sub(a.others.get(pid).map_or(0, |p| p.ticks)))
        .sum()
}

/// A process's name, its user and system time (in clock ticks), and the CPU it
/// last ran on, from its `/proc/PID/stat`.
fn process_stat(stat: &str) -> Option<(&str, u64, usize)> {
    // The command name may hold spaces and parentheses: fields are counted after its last ')'.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((name, field(11)? + field(12)?, field(36)? as usize))
}

/// CPU that others took between two readings, in percent of one CPU: other
/// processes' time on the watched CPUs ([`others_pct`]) and other machines'
/// (steal). Not from the CPUs' busy time less the run's: a process's time holds
/// the softirqs that ran in it (the run's packets, when tick-accounted), which
/// the CPUs' busy columns leave out, so the difference missed a third of a
/// burning process beside a busy server.
fn interference_pct(a: &CpuReading, b: &CpuReading) -> Option<f64> {
    let secs = b.at.duration_since(a.at).as_secs_f64();
    if secs <= 0.0 {
        return None;
    }
    let steal = b.steal_ticks.saturating_sub(a.steal_ticks) as f64 / clock_ticks_per_second() / secs * 100.0;
    Some(others_pct(a, b).map(|(_, pct)| pct).sum::<f64>() + steal)
}

/// The run's own kernel work on the watched CPUs between two readings (interrupts, softirqs and the
/// softirq threads), in percent of one CPU.
fn own_kernel_pct(a: &CpuReading, b: &CpuReading) -> Option<f64> {
    let secs = b.at.duration_since(a.at).as_secs_f64();
    if secs <= 0.0 {
        return None;
    }
    let ticks = b.kernel_ticks.saturating_sub(a.kernel_ticks) + softirq_thread_ticks(a, b);
    Some(ticks as f64 / clock_ticks_per_second() / secs * 100.0)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// What a window's sampling read.
#[derive(Default)]
pub(crate) struct Readings {
    samples: Vec<Sample>,
    /// The busiest other processes through the window.
    busiest: Vec<Interferer>,
    /// Time the samples that could not be read stand for (the engine's API did not answer).
    missing_s: f64,
    churn: Option<Churn>,
    interference_pct: Option<f64>,
    own_kernel_pct: Option<f64>,
}

/// Server processes seen from one sample to the next.
struct Processes {
    counters: CgroupCounters,
    last: Vec<u32>,
    churn: Churn,
}

impl Processes {
    fn start(probe: &Probe) -> Option<Processes> {
        let Probe::Cgroup(counters) = probe else { return None };
        Some(Processes { last: counters.processes(), counters: counters.clone(), churn: Churn::default() })
    }

    fn look(&mut self) {
        // A container that has gone lists no processes: that is not the server's workers ending.
        let now = self.counters.processes();
        if now.is_empty() {
            return;
        }
        self.churn.ended += self.last.iter().filter(|p| !now.contains(p)).count() as u32;
        self.churn.started += now.iter().filter(|p| !self.last.contains(p)).count() as u32;
        self.last = now;
    }
}

/// Starts sampling through `probe` after `delay` (the warm-up) until `stop`
/// fires, reading `watch` at the window's start and end.
pub(crate) fn spawn(
    probe: Probe,
    watch: Option<CpuWatch>,
    delay: Duration,
    mut stop: oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<Readings> {
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = &mut stop => return Readings::default(),
        }
        let first = watch.as_ref().and_then(CpuWatch::read);
        let mut processes = Processes::start(&probe);
        let mut samples = Vec::new();
        let mut missed = 0;
        let mut tick = tokio::time::interval(EVERY);
        loop {
            let stopped = tokio::select! {
                _ = tick.tick() => false,
                _ = &mut stop => true,
            };
            match probe.sample().await {
                Some(sample) => samples.push(sample),
                None => missed += 1,
            }
            if let Some(p) = &mut processes {
                p.look();
            }
            if stopped {
                break;
            }
        }
        let last = watch.as_ref().and_then(CpuWatch::read);
        let (interference_pct, own_kernel_pct, busiest) = match first.zip(last) {
            Some((a, b)) => (interference_pct(&a, &b), own_kernel_pct(&a, &b), busiest(&a, &b)),
            None => (None, None, Vec::new()),
        };
        let missing_s = missed as f64 * EVERY.as_secs_f64();
        Readings { samples, missing_s, churn: processes.map(|p| p.churn), interference_pct, own_kernel_pct, busiest }
    })
}

/// CPU mean and max (over 1 s spans), memory mean and peak, throttling,
/// memory limit hits and OOM kills, processes replaced and interference.
pub(crate) fn summarize(readings: &Readings, cpu_limit: f64, memory_limit: u64) -> Option<ServerUsage> {
    let samples = &readings.samples;
    let (first, last) = (samples.first()?, samples.last()?);
    let span = last.at.duration_since(first.at).as_secs_f64();
    if samples.len() < 2 || span <= 0.0 {
        return None;
    }
    let pct = |a: &Sample, b: &Sample| {
        let secs = b.at.duration_since(a.at).as_secs_f64();
        (b.cpu_ns.saturating_sub(a.cpu_ns)) as f64 / 1e9 / secs * 100.0
    };
    let mut cpu_max: f64 = 0.0;
    for (i, a) in samples.iter().enumerate() {
        if let Some(b) = samples[i..].iter().find(|b| b.at.duration_since(a.at) >= Duration::from_secs(1)) {
            cpu_max = cpu_max.max(pct(a, b));
        }
    }
    let cpu_mean = pct(first, last);
    // A container that has gone reads 0: the highest count is the last one it had.
    let oom_kills = samples.iter().map(|s| s.oom_kills).max().unwrap_or(0).saturating_sub(first.oom_kills);
    // The kernel's high-water mark is since the start: when it rose in the window, or a process was
    // OOM-killed in it (memory reached the limit then), it is the window's peak.
    let high_water = samples.iter().map(|s| s.memory_high_water).max().unwrap_or(0);
    let high_water = if high_water > first.memory_high_water || oom_kills > 0 { high_water } else { 0 };
    Some(ServerUsage {
        cpu_pct_mean: cpu_mean,
        cpu_pct_max: if cpu_max > 0.0 { cpu_max } else { cpu_mean },
        cpu_limit_pct: cpu_limit * 100.0,
        memory_mean: samples.iter().map(|s| s.memory).sum::<u64>() / samples.len() as u64,
        memory_peak: samples.iter().map(|s| s.memory).max().unwrap_or(0).max(high_water),
        memory_limit,
        nr_throttled: last.nr_throttled.saturating_sub(first.nr_throttled),
        throttled_s: last.throttled_ns.saturating_sub(first.throttled_ns) as f64 / 1e9,
        oom_kills,
        processes: readings.churn,
        interference_pct: readings.interference_pct,
        own_kernel_pct: readings.own_kernel_pct,
        busiest_others: readings.busiest.clone(),
        missing_s: readings.missing_s,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn summary_of_samples() {
        let t = Instant::now();
        let s = |ms: u64, cpu_ms: u64, memory: u64, thr: u64| Sample {
            at: t + Duration::from_millis(ms),
            cpu_ns: cpu_ms * 1_000_000,
            memory,
            nr_throttled: thr,
            throttled_ns: thr * 1_000_000,
            memory_high_water: memory.max(25) + thr,
            oom_kills: thr / 2,
        };
        // 0.5 CPU for the first second, 1.0 for the second; the container gone at the last sample.
        let mut gone = s(2500, 0, 0, 0);
        gone.cpu_ns = 1_500_000_000;
        let samples = vec![s(0, 0, 10, 1), s(1000, 500, 30, 2), s(2000, 1500, 20, 5)];
        let churn = Some(Churn { ended: 1, started: 1 });
        let busiest = vec![Interferer { name: "dockerd".into(), cpu_pct: 7.5 }];
        let readings = Readings {
            samples: samples.clone(),
            missing_s: 0.5,
            churn,
            interference_pct: Some(3.0),
            own_kernel_pct: Some(12.0),
            busiest: busiest.clone(),
        };
        let u = summarize(&readings, 1.0, 64).unwrap();
        assert!((u.cpu_pct_mean - 75.0).abs() < 1e-6, "{u:?}");
        assert!((u.cpu_pct_max - 100.0).abs() < 1e-6, "{u:?}");
        // The kernel's high-water mark rose in the window, to 32, above every sample.
        assert_eq!((u.memory_mean, u.memory_peak, u.nr_throttled), (20, 32, 4));
        assert_eq!((u.oom_kills, u.processes, u.interference_pct, u.missing_s), (2, churn, Some(3.0), 0.5));
        assert_eq!(u.own_kernel_pct, Some(12.0));
        assert_eq!(u.busiest_others, busiest);
        let readings = Readings { samples: [samples, vec![gone]].concat(), ..Readings::default() };
        let u = summarize(&readings, 1.0, 64).unwrap();
        assert_eq!(u.oom_kills, 2, "the last count it had, not the gone container's 0");
        assert!(summarize(&Readings { samples: vec![s(0, 0, 10, 0)], ..Readings::default() }, 1.0, 64).is_none());
        // The limit reached before the window and again in it: the high-water mark stays put, but a
        // kill in the window says the memory was at it then, whatever the samples caught.
        let at_limit = |ms: u64, memory: u64, kills: u64| Sample {
            memory_high_water: 64,
            oom_kills: kills,
            ..s(ms, ms, memory, 0)
        };
        let quiet = Readings { samples: vec![at_limit(0, 40, 3), at_limit(1000, 50, 3)], ..Readings::default() };
        assert_eq!(summarize(&quiet, 1.0, 64).unwrap().memory_peak, 50, "no kill in the window: the samples' peak");
        let killed = Readings { samples: vec![at_limit(0, 40, 3), at_limit(1000, 50, 5)], ..Readings::default() };
        let u = summarize(&killed, 1.0, 64).unwrap();
        assert_eq!((u.memory_peak, u.oom_kills), (64, 2));
    }

    #[test]
    fn kernel_figures() {
        let stat = "cpu  9 9 9 9 9 9 9 9 0 0\ncpu0 100 1 20 500 7 2 3 4 0 0\ncpu1 10 0 5 900 0 0 1 0 0 0\n";
        assert_eq!(cpu_ticks(stat, &[0], &STEAL), Some(4));
        assert_eq!(cpu_ticks(stat, &[0, 1], &KERNEL), Some(6), "irq softirq");
        assert_eq!(cpu_ticks(stat, &[2], &STEAL), None);
        let proc_stat =
            "4242 (stack (bench)) S 1 2 3 4 5 6 7 8 9 10 250 40 7 7 20 0 9 0 100 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0";
        assert_eq!(process_stat(proc_stat), Some(("stack (bench)", 290, 1)), "user + system, not children's");
        let at = Instant::now();
        let others = |ticks: &[(u32, &str, u64, bool)]| {
            ticks
                .iter()
                .map(|&(p, n, t, on_watched)| (p, Other { name: n.to_string(), ticks: t, on_watched }))
                .collect()
        };
        let a = CpuReading {
            at,
            steal_ticks: 0,
            kernel_ticks: 0,
            others: others(&[
                (1, "dockerd", 0, true),
                (2, "containerd-shim", 0, true),
                (3, "kworker/0:1-events", 50, true),
                (5, "elsewhere", 0, true),
                (9, "gone", 5, true),
                (11, "ksoftirqd/1", 0, true),
            ]),
        };
        let hz = clock_ticks_per_second();
        // Over 2 s: dockerd 0.3 s, two shims 0.1 s each, one of them new; a kworker (its work queue changed,
        // its name with it) too little to name; a process on an unwatched CPU; the softirq thread 0.2 s (the
        // run's packets); other machines 0.1 s. Others: 0.6 s = 30%. The 0.2 s of interrupts and softirqs and
        // the thread's are the run's own kernel work, 20%.
        let b = CpuReading {
            at: at + Duration::from_secs(2),
            steal_ticks: (0.1 * hz) as u64,
            kernel_ticks: (0.2 * hz) as u64,
            others: others(&[
                (1, "dockerd", (0.3 * hz) as u64, true),
                (2, "containerd-shim", (0.1 * hz) as u64, true),
                (4, "containerd-shim", (0.1 * hz) as u64, true),
                (3, "kworker/0:1H-events_highpri", 50, true),
                (5, "elsewhere", hz as u64, false),
                (11, "ksoftirqd/1", (0.2 * hz) as u64, true),
            ]),
        };
        assert!((interference_pct(&a, &b).unwrap() - 30.0).abs() < 1e-6, "{:?}", interference_pct(&a, &b));
        assert!((own_kernel_pct(&a, &b).unwrap() - 20.0).abs() < 1e-6);
        let named: Vec<(String, u64)> =
            busiest(&a, &b).into_iter().map(|i| (i.name, i.cpu_pct.round() as u64)).collect();
        assert_eq!(named, [("dockerd".to_string(), 15), ("containerd-shim".to_string(), 10)]);
    }

    /// The noisy-machine flag reads this machine as it is: quiet when nothing else runs (the test's own
    /// threads are this process), raised by a busy loop in another process.
    #[test]
    fn the_noise_flag_is_quiet_when_idle_and_raised_by_a_cpu_burner() {
        let cpus: Vec<usize> = (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        let watch = CpuWatch { cpus, ours: Vec::new() };
        let over = |secs: u64| {
            let a = watch.read().unwrap();
            std::thread::sleep(Duration::from_secs(secs));
            let b = watch.read().unwrap();
            (interference_pct(&a, &b).unwrap(), busiest(&a, &b))
        };
        // Idle: the quietest of three seconds, as the engine may still be removing the containers of the
        // test that ran before (6.98% once, with no process named).
        let (idle, seen) = (0..3).map(|_| over(1)).min_by(|a, b| a.0.total_cmp(&b.0)).expect("three readings");
        assert!(idle < report::notes::INTERFERENCE_NOISY_PCT, "idle: {idle}% ({seen:?})");
        let mut burner = std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap();
        let (busy, seen) = over(1);
        let _ = burner.kill();
        let _ = burner.wait();
        assert!(busy > 50.0, "a busy loop: {busy}% ({seen:?})");
        assert_eq!(seen.first().map(|i| i.name.as_str()), Some("sh"), "{seen:?}");
    }
}
