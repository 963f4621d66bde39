//! The results file of one run: what was measured, and enough provenance to
//! say under which conditions. The runner rewrites it after every level; the
//! report reads it.
//!
//! Architecture invariant: types, an atomic write and a read; no other I/O.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

pub mod comparison;
pub mod folder;
mod workload;

use std::collections::BTreeMap;
use std::path::Path;

use loadgen::LoadResult;
use serde::{Deserialize, Serialize};

pub use workload::{At, Protocol, Workload, MIX_METHOD};

/// Writes `value` as pretty JSON to `path` atomically: a temporary file renamed over it, removed on failure,
/// so a failed write leaves the earlier file.
pub(crate) fn write_json(value: &impl Serialize, path: &Path) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    let written = std::fs::write(&tmp, text + "\n").and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Reads JSON written by [`write_json`].
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<T> {
    serde_json::from_str(&std::fs::read_to_string(path)?).map_err(std::io::Error::other)
}

/// Lower-case hex SHA-256 of `bytes` (a scenario file's, in [`ScenarioInfo`]; image tags).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Bump on any change that can break a reader. 2: levels hold version 2 load
/// results (late responses, abandoned requests, goodput). Readers take every
/// version; fields a file lacks read as their defaults.
pub const RECORD_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub run_id: String,
    /// The `bench` invocation this run belongs to: its repeats share it.
    #[serde(default)]
    pub suite_id: String,
    pub scenario: ScenarioInfo,
    /// 1-based repeat number within the suite.
    #[serde(default = "first_repeat")]
    pub repeat: u32,
    pub provenance: Provenance,
    pub started_at: String,
    /// When a later `bench --resume` went on with this run, in order (the
    /// provenance is the last one's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_at: Vec<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    pub status: RunStatus,
    /// Why the run stopped early, in words.
    #[serde(default)]
    pub reason: Option<String>,
    /// Seconds from the command's start to the first measured request.
    #[serde(default)]
    pub to_first_measured_s: Option<f64>,
    pub levels: Vec<LevelRecord>,
    /// The capacity search of each endpoint with objectives, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacities: Vec<CapacityRecord>,
    /// Each endpoint's objectives, by endpoint name, for endpoints of users who think: their levels are
    /// judged against them (`users_within`) instead of an open-loop capacity search.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_objectives: BTreeMap<String, loadgen::capacity::Slo>,
    /// Build logs kept beside this file, by service.
    #[serde(default)]
    pub build_logs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Complete,
    /// Stopped before its end by a cancel, or by a fault of the machine, the
    /// engine or the harness rather than of the stack.
    Interrupted,
    /// The stack failed (a build, its start, a verification): that is its result.
    Failed,
}

impl std::fmt::Display for RunStatus {
    /// As the results file writes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// The stack's name: the scenario's, and a matrix variant's values (`family[key=value,...]`).
    pub name: String,
    /// The name as a results folder and file name [older records: empty, the name is one].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub slug: String,
    /// The scenario's own `name`: a matrix file's variants share it [older records: empty].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub family: String,
    /// A matrix variant's values, by key (empty for a file without `[matrix]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub matrix: BTreeMap<String, String>,
    pub description: String,
    pub file: String,
    pub sha256: String,
    /// `SERVICE.KEY=VALUE` environment overrides given on the command line (`bench --set`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

impl ScenarioInfo {
    /// The stack's name as a results folder and file name.
    pub fn stem(&self) -> &str {
        if self.slug.is_empty() {
            &self.name
        } else {
            &self.slug
        }
    }

    /// The scenario's own name, which a matrix file's variants share.
    pub fn family_name(&self) -> &str {
        if self.family.is_empty() {
            &self.name
        } else {
            &self.family
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub stackbench_version: String,
    /// The commit stackbench was built from, when built from a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stackbench_commit: Option<String>,
    /// The measured project's commit (its root's git checkout), and whether it had uncommitted changes.
    pub git_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
    pub docker_version: String,
    pub docker_api_version: String,
    pub kernel: String,
    pub cpu_model: String,
    pub n_cpus: usize,
    pub generator_cpus: Vec<usize>,
    pub server_cpuset: String,
    pub server_cpus: f64,
    pub server_memory: u64,
    pub server_pids: u32,
    pub network: String,
    /// Image id of each service, by service name (`server` for the server).
    pub images: BTreeMap<String, String>,
    /// The engine the server and its sidecars ran on (`unix:///var/run/docker.sock`, `tcp://...`).
    #[serde(default)]
    pub server_engine: String,
    /// The engine of each generator container, in order; empty: the load ran in the stackbench process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generator_engines: Vec<String>,
    /// How steady this machine's CPU ran just before the suite, on the server's first CPU; None when not
    /// measured (verification, a remote engine, records from before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_speed: Option<MachineSpeed>,
}

/// A fixed loop counted in short slices on one CPU: how much the CPU's speed itself varies here, which
/// no figure of a run can be trusted to better than.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MachineSpeed {
    pub cpu: usize,
    pub slices: usize,
    pub slice_ms: u64,
    /// Coefficient of variation of the loop's count per slice.
    pub cv: f64,
    /// The slowest and fastest slice against the median slice.
    pub slowest: f64,
    pub fastest: f64,
}

impl std::fmt::Display for MachineSpeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a fixed loop on CPU {} in {} slices of {} ms varied {:.1}% (CV), slowest {:.0}% and fastest {:.0}% of the median",
            self.cpu,
            self.slices,
            self.slice_ms,
            self.cv * 100.0,
            self.slowest * 100.0,
            self.fastest * 100.0
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelRecord {
    pub endpoint: String,
    pub method: String,
    pub path: String,
    pub connections: usize,
    pub keepalive: bool,
    /// What the load spoke (absent: HTTP/1.1 in the clear).
    #[serde(default, skip_serializing_if = "Protocol::is_plain_http1")]
    pub protocol: Protocol,
    /// 1-based repeat number.
    pub repeat: u32,
    pub status: LevelStatus,
    #[serde(default)]
    pub failure: Option<Failure>,
    /// The generator's full result, histogram included.
    #[serde(default)]
    pub load: Option<LoadResult>,
    #[serde(default)]
    pub server: Option<ServerUsage>,
    /// Generator CPU over the level, in percent of one CPU (with several
    /// generators, the busiest one's).
    pub generator_cpu_pct: f64,
    /// Each generator container's share when the load came from several; `load` is their merge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generators: Vec<GeneratorRecord>,
    /// What the server spent its time on, from the same level run again with a profiler attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileRecord>,
}

/// A profile of the server's processes through one measured window, taken in
/// a second run of a level, or of the rate its capacity search confirmed (the
/// level's or the search's own figures are unprofiled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileRecord {
    /// The profiler and its version, e.g. `py-spy 0.4.1`; empty when none could attach.
    pub tool: String,
    /// Samples per second per thread.
    pub rate_hz: u32,
    /// Folded stacks, a line each: `frame;frame;...;leaf COUNT`, root first:
    /// the samples of threads that were running (py-spy leaves idle ones out,
    /// unless `idle_sampled`; `states` says where those waited; perf samples
    /// what is on a CPU).
    pub folded: String,
    /// `folded` holds idle threads' samples too (py-spy's `--idle`), as in
    /// records written before they were left out.
    #[serde(default = "idle_sampled_before")]
    pub idle_sampled: bool,
    /// Thread states counted at a lower rate through the same window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<ThreadStates>,
    /// req/s of the profiled run: beside the level's own, the cost of looking.
    pub profiled_rps: f64,
    /// The profiler's own CPU (on the generator's CPUs) over the measured
    /// window, in percent of one CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiler_cpu_pct: Option<f64>,
    /// The rate offered (open loop) when profiled at the confirmed capacity
    /// rather than at a level: the cost of looking then shows in latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_rps: Option<f64>,
    /// p99 (µs) of the unprofiled run before (the confirming hold), the profiled
    /// run and the unprofiled run after, when profiled at a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_us: Option<[u64; 3]>,
    /// req/s of one more unprofiled run after the profiled one: the two unprofiled runs
    /// bracket it, and how far they differ is the noise a cost must exceed to be seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unprofiled_again_rps: Option<f64>,
    /// Why no profile was taken, in words a user can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

fn first_repeat() -> u32 {
    1
}

fn idle_sampled_before() -> bool {
    true
}

/// Thread states seen in snapshots of every server thread (`py-spy dump`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadStates {
    pub snapshots: u32,
    /// Not running: blocked in a system call (waiting for I/O, a lock, or the GIL).
    pub idle: u64,
    /// Running Python code, holding the GIL.
    pub holding_gil: u64,
    /// Running without the GIL (in C code that released it).
    pub running_without_gil: u64,
    /// Where the idle threads were: their stacks in the snapshots, folded
    /// (`frame;...;leaf COUNT`, root first).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub idle_folded: String,
}

/// The capacity search of one endpoint: every probe, as the search judged it,
/// with the server's resources during each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityRecord {
    pub endpoint: String,
    pub method: String,
    pub path: String,
    pub keepalive: bool,
    /// What the load spoke (absent: HTTP/1.1 in the clear).
    #[serde(default, skip_serializing_if = "Protocol::is_plain_http1")]
    pub protocol: Protocol,
    /// 1-based repeat number.
    pub repeat: u32,
    /// What the search found; each probe holds its whole load result.
    pub capacity: loadgen::capacity::Capacity,
    /// The server during each probe, in the order of `capacity.probes`.
    pub servers: Vec<Option<ServerUsage>>,
    /// Why the search stopped short, when a probe could not run or no server could be started for the next.
    #[serde(default)]
    pub failure: Option<Failure>,
    /// Each time the server exited under a probe (killed at its memory limit, crashed), with its log's tail;
    /// a new server took the next probe, so the search went on. (An exit after a probe's window, which that
    /// probe passed, does not undo the pass: the next probes, and the hold, judge that rate again.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_exits: Vec<ProbeExit>,
    /// How long the search took, from its first probe (or estimate) to its
    /// conclusion; 0 in records from before it was kept.
    #[serde(default)]
    pub elapsed_s: f64,
    /// A profile at the capacity it found (`profile_at = "capacity"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ProfileRecord>,
}

/// What one of several generator containers did in a level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorRecord {
    /// Its engine's endpoint.
    pub engine: String,
    pub container: String,
    pub connections: usize,
    pub requests: u64,
    pub rps: f64,
    pub errors: u64,
    /// Its CPU over its whole run (warm-up included), in percent of one CPU.
    pub cpu_pct: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelStatus {
    Ok,
    Failed,
}

/// Why a level failed, structured, with the container's last words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    #[serde(default)]
    pub logs_tail: String,
}

/// The server exiting under one probe of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeExit {
    /// The probe's offered rate.
    pub offered_rps: f64,
    /// How it exited (`FailureKind::ServerExited`; the message says the code, not the rate), and its log's tail.
    #[serde(flatten)]
    pub failure: Failure,
}

impl Failure {
    pub fn new(kind: FailureKind, message: String, logs_tail: String) -> Failure {
        Failure { kind, message, logs_tail }
    }
}

impl LevelRecord {
    /// This level, marked failed for `failure`.
    pub fn failed(mut self, failure: Failure) -> LevelRecord {
        self.status = LevelStatus::Failed;
        self.failure = Some(failure);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    ServerExited,
    NoResponses,
    Interrupted,
    Generator,
}

/// The server container's resources over a measured window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerUsage {
    /// CPU in percent of one CPU: mean over the window, and the highest 1 s interval.
    pub cpu_pct_mean: f64,
    pub cpu_pct_max: f64,
    /// The CPU limit, in percent of one CPU, for comparison.
    pub cpu_limit_pct: f64,
    pub memory_mean: u64,
    pub memory_peak: u64,
    /// The memory limit, bytes; 0 in records from before it was kept (their
    /// run's provenance has it).
    #[serde(default)]
    pub memory_limit: u64,
    /// CFS periods throttled and time throttled during the window.
    pub nr_throttled: u64,
    pub throttled_s: f64,
    /// Processes of the server the OOM killer ended during the window.
    #[serde(default)]
    pub oom_kills: u64,
    /// Server processes that ended and that started during the window: a
    /// worker its master replaced counts once in each. Counted from one
    /// sample to the next (every 250 ms), so one that starts and ends between
    /// two is missed. None when not known (a remote engine, or records from
    /// before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<Churn>,
    /// CPU that other processes took on the run's CPUs (the generator's and
    /// the server's) during the window, in percent of one CPU: the kernel's
    /// busy time on them, less what this process and the run's containers
    /// used. None when not measured (load from generator containers, a
    /// remote engine, or records from before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interference_pct: Option<f64>,
    /// The run's own kernel work on those CPUs meanwhile (interrupts, softirqs and the softirq threads:
    /// on loopback, its packets), in percent of one CPU; not counted in `interference_pct` (records from
    /// before it was kept counted it there). None when not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_kernel_pct: Option<f64>,
    /// The busiest other processes meanwhile (at most three over half a
    /// percent of a CPU each, wherever they ran), busiest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub busiest_others: Vec<Interferer>,
    /// Seconds of the window without figures: the engine's API (a remote
    /// engine's) did not answer; the figures above are of the rest.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub missing_s: f64,
}

impl ServerUsage {
    /// The server's CPU time per completed request, in µs: its mean CPU over the window times `window_s`,
    /// over the `requests` completed in it (per second of a hold: `requests` its req/s, `window_s` 1);
    /// `None` without CPU or requests.
    pub fn cpu_us_per_request(&self, requests: f64, window_s: f64) -> Option<f64> {
        (self.cpu_pct_mean > 0.0 && requests > 0.0).then(|| self.cpu_pct_mean / 100.0 * window_s * 1e6 / requests)
    }
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// A process other than the run's, by name, and the CPU it took in a window
/// (percent of one CPU; processes of one name added up).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interferer {
    pub name: String,
    pub cpu_pct: f64,
}

/// Server processes that ended and started in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Churn {
    pub ended: u32,
    pub started: u32,
}

impl RunRecord {
    /// The users an endpoint of users who think served within its objectives: the most connections
    /// (users) of a level that met them with every smaller level meeting them too, of the levels
    /// measured; `None` when it has no such objectives or no level. `Some(0)`: even the smallest missed.
    pub fn users_within(&self, endpoint: &str) -> Option<(usize, Vec<usize>)> {
        let slo = self.user_objectives.get(endpoint)?;
        let mut levels: Vec<&LevelRecord> = self.levels.iter().filter(|l| l.endpoint == endpoint).collect();
        levels.sort_by_key(|l| l.connections);
        let measured: Vec<usize> = levels.iter().map(|l| l.connections).collect();
        if measured.is_empty() {
            return None;
        }
        let met = |l: &LevelRecord| {
            l.status == LevelStatus::Ok
                && l.load.as_ref().is_some_and(|load| loadgen::capacity::unmet(slo, load).is_empty())
        };
        let users = levels.iter().take_while(|l| met(l)).last().map_or(0, |l| l.connections);
        Some((users, measured))
    }
    /// The run ended: complete, or stopped by the stack (its failure is the
    /// result). One interrupted, or whose process died mid-way (still
    /// `running`), can be gone on with.
    pub fn is_finished(&self) -> bool {
        matches!(self.status, RunStatus::Complete | RunStatus::Failed)
    }

    /// Drops the levels and capacity searches that were cut short (failed as
    /// interrupted): what is left was measured to its end.
    pub fn drop_interrupted(&mut self) {
        let interrupted = |f: &Option<Failure>| f.as_ref().is_some_and(|f| f.kind == FailureKind::Interrupted);
        self.levels.retain(|l| !interrupted(&l.failure));
        self.capacities.retain(|c| !interrupted(&c.failure));
    }

    /// Writes the record to `path` atomically (a temporary file renamed over
    /// it), so that a reader or a crash never sees half a file.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        write_json(self, path)
    }

    pub fn read(path: &Path) -> std::io::Result<RunRecord> {
        read_json(path)
    }
}

/// Records for other crates' tests (the report's and the terminal table's
/// snapshots), so that they share one complete record instead of each writing
/// every field.
#[doc(hidden)]
pub mod fixture {
    use loadgen::capacity::{Capacity, Percentile, Probe, Slo, Status, CAPACITY_SCHEMA_VERSION};

    use super::{CapacityRecord, Provenance, RunRecord, RunStatus, ScenarioInfo, ServerUsage, RECORD_VERSION};

    /// A capacity search of `GET /health` at p99 <= 20 ms whose probes ran in
    /// this order, the server as given during each; when found, the capacity is
    /// the highest passing rate and the last probe is its hold.
    pub fn search(status: Status, probes: Vec<Probe>, servers: Vec<Option<ServerUsage>>) -> CapacityRecord {
        let found = status == Status::Found;
        let low = probes.iter().filter(|p| p.passed).map(|p| p.offered).fold(0.0, f64::max);
        let high = probes.iter().filter(|p| !p.passed).map(|p| p.offered).fold(f64::INFINITY, f64::min);
        CapacityRecord {
            endpoint: "health".into(),
            method: "GET".into(),
            path: "/health".into(),
            keepalive: true,
            protocol: Default::default(),
            repeat: 1,
            capacity: Capacity {
                schema_version: CAPACITY_SCHEMA_VERSION,
                capacity_rps: found.then_some(low),
                status,
                slo: Slo { latency_us: vec![(Percentile::P99, 20_000)], error_share: 0.001, ..Slo::default() },
                bracket: (low, if high.is_finite() { high } else { low }),
                confirm: if found { probes.last().cloned() } else { None },
                probes,
            },
            servers,
            failure: None,
            server_exits: Vec::new(),
            elapsed_s: 60.0,
            profile: None,
        }
    }

    /// A complete run of `stack` in suite `suite`, started at second `suite` of a fixed minute, with no levels.
    pub fn run(stack: &str, suite: &str) -> RunRecord {
        RunRecord {
            schema_version: RECORD_VERSION,
            run_id: format!("{stack}-{suite}"),
            suite_id: suite.into(),
            scenario: ScenarioInfo {
                overrides: Vec::new(),
                name: stack.into(),
                description: String::new(),
                file: format!("scenarios/{stack}.toml"),
                sha256: "0".repeat(64),
                ..ScenarioInfo::default()
            },
            provenance: Provenance {
                stackbench_version: "0.1.0".into(),
                stackbench_commit: None,
                git_commit: Some("0123456789abcdef".into()),
                git_dirty: None,
                docker_version: "20.10.24".into(),
                docker_api_version: "1.41".into(),
                kernel: "6.1.0".into(),
                cpu_model: "Test CPU".into(),
                n_cpus: 2,
                generator_cpus: vec![0],
                server_cpuset: "1".into(),
                server_cpus: 1.0,
                server_memory: 512 << 20,
                server_pids: 1024,
                network: "host".into(),
                images: Default::default(),
                server_engine: "unix:///var/run/docker.sock".into(),
                generator_engines: Vec::new(),
                machine_speed: None,
            },
            repeat: 1,
            started_at: format!("2026-11-24T00:00:{suite}Z"),
            resumed_at: Vec::new(),
            finished_at: None,
            status: RunStatus::Complete,
            reason: None,
            to_first_measured_s: Some(1.5),
            levels: Vec::new(),
            capacities: Vec::new(),
            user_objectives: Default::default(),
            build_logs: Default::default(),
        }
    }

    /// A complete comparison of `a` (BASE, `a.toml`) with `b` (CANDIDATE, `b.toml`) on one endpoint
    /// (`GET /work`, open loop at `rate`) with these figures.
    pub fn comparison(
        rate: f64,
        pairs: usize,
        figures: Vec<crate::comparison::FigureComparison>,
    ) -> crate::comparison::ComparisonRecord {
        use crate::comparison::{ComparisonRecord, EndpointComparison, COMPARISON_VERSION};
        ComparisonRecord {
            schema_version: COMPARISON_VERSION,
            base: "a".into(),
            candidate: "b".into(),
            base_source: "a.toml".into(),
            candidate_source: "b.toml".into(),
            started_at: "2026-12-04T20:00:00Z".into(),
            finished_at: None,
            status: "complete".into(),
            window_s: 1.0,
            warmup_s: 0.5,
            seed: 7,
            server_cpuset: "1".into(),
            generator_cpus: vec![0],
            endpoints: vec![EndpointComparison {
                workload: crate::Workload::new("work", "GET", "/work", true),
                rate: Some(rate),
                rate_from: "--rate".into(),
                connections: 4,
                pairs,
                elapsed_s: 12.5,
                figures,
            }],
        }
    }
}
