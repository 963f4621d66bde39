//! Runs scenarios end to end: images, containers with limits, readiness,
//! verification, a primer, then every connection level of every endpoint,
//! with the results file rewritten after each level.
//!
//! Architecture invariant: the runner never prints and never renders tables;
//! it reports through [`Event`]s and returns [`RunRecord`]s. It uses
//! `loadgen` as a library and reaches Docker only through the `docker` crate.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

mod cancel;
mod capacity;
mod compare;
pub mod cpulock;
mod embedded;
mod engine;
mod engines;
pub mod estimate;
mod generators;
mod levels;
mod profile;
mod sampler;
mod service;
mod speed;
mod suite;
mod tls;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

pub use engine::{Answer, ContainerEngine, EngineRef, OnLine, Stop};
use plan::{Choices, Hosts, Machine, Plan};
use record::{CapacityRecord, LevelRecord, Provenance, RunRecord, RunStatus, ScenarioInfo};
use scenario::Loaded;

pub use cancel::Cancel;
pub use compare::{CompareOptions, SHARE_OF_CAPACITY};
pub use engines::Engines;
pub use generators::{generator_tag, GeneratorError};
pub use profile::RATE_HZ as PROFILE_RATE_HZ;
pub use suite::{StoredSuite, SuiteEnd, SuiteOptions, SuiteRun, VERIFY_AT_ONCE};

/// What the runner reports while it works.
#[derive(Debug)]
pub enum Event<'a> {
    /// A step starts ("building image ...").
    Step(&'a str),
    /// A line of detail (build output, debootstrap progress).
    Detail(&'a str),
    /// Something the user should know that does not stop the run.
    Warning(&'a str),
    /// A level finished (or failed) and was written to the results file.
    Level(&'a record::LevelRecord),
    /// A capacity probe was judged (its search is written when it ends).
    Probe(&'a loadgen::capacity::Probe),
    /// A capacity search ended and was written to the results file.
    Capacity(&'a record::CapacityRecord),
    /// A profile was taken and written to the results file `results`, of
    /// `workload` at a level (`At::Connections`) or at the rate its capacity
    /// search confirmed (`At::Capacity`); `before_rps` is that level's or
    /// hold's own (unprofiled) req/s.
    Profile {
        scenario: &'a str,
        workload: record::Workload,
        at: record::At,
        profile: &'a record::ProfileRecord,
        before_rps: f64,
        results: &'a std::path::Path,
    },
    /// Load from this process starts: `length` with its warm-up; `control`
    /// tells how it goes (live counts) until the level or probe's own event.
    Measuring { length: std::time::Duration, control: &'a loadgen::Control },
}

/// How records name `endpoint`'s request.
pub(crate) fn workload(endpoint: &plan::EndpointPlan) -> record::Workload {
    record::Workload::new(&endpoint.name, &endpoint.method, &endpoint.path, endpoint.keepalive).over(endpoint.protocol)
}

/// Why a run stopped when it was cancelled (Ctrl-C or SIGTERM in the CLI).
pub const INTERRUPTED: &str = "interrupted (Ctrl-C or SIGTERM); what finished before is kept";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Plan(#[from] plan::Error),
    #[error(transparent)]
    Docker(#[from] docker::Error),
    /// The run's certificate could not be made.
    #[error("{0}")]
    Tls(String),
    #[error("cannot write results '{}': {source}; {} (earlier results are untouched)", path.display(), results_hint(source))]
    Results { path: PathBuf, source: std::io::Error },
    #[error(
        "{} changed since {} was written (or its --set overrides differ): going on with it would mix two \
         scenarios in one run; start a new suite without --resume",
        file.display(),
        results.display()
    )]
    Changed { file: PathBuf, results: PathBuf },
    #[error(
        "a Docker engine stopped answering ({cause}, for {}s of tries); kept in {}: {levels} level(s) (the one \
         under way too, when its load ran to its end) and {searches} capacity search(es); left running: {left}. \
         Start the engine again (`stackbench setup` starts this machine's; `cargo xtask setup` in stackbench's checkout), then run the same command with \
         --resume: it removes what was left and goes on from the first unfinished level",
        docker::RETRY_FOR.as_secs(),
        results.display()
    )]
    EngineLost { cause: Box<docker::Error>, results: PathBuf, levels: usize, searches: usize, left: String },
    #[error("cannot read the stackbench binary {} for the generator image: {source}", path.display())]
    GeneratorBinary { path: PathBuf, source: std::io::Error },
    /// The CPUs the run measures on are another run's (or their lock files cannot be used).
    #[error("{}", cpus_message(.0))]
    Cpus(crate::cpulock::CpuLockError),
    /// `--resume` found no suite to go on with.
    #[error("{0}")]
    NoSuite(String),
    /// `compare`'s two stacks cannot be compared: what failed, on which side.
    #[error("cannot compare: {0}")]
    Compare(String),
    /// The server cannot bind the address asked for where it runs.
    #[error("{0}")]
    Address(String),
}

fn cpus_message(e: &crate::cpulock::CpuLockError) -> String {
    match e {
        crate::cpulock::CpuLockError::Busy { .. } => format!(
            "{e}: two runs on the same CPUs would both report wrong figures; wait for it to end, or pass --wait to \
             start when it does"
        ),
        other => other.to_string(),
    }
}

/// What to do when a results file cannot be written.
fn results_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "free some space on that disk, or pass --results with a folder on another one"
        }
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            "make that folder writable, or pass --results with one that is"
        }
        _ => "pass --results with another folder",
    }
}

/// What a run needs besides the scenario and the engines.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Results go to `<results>/<scenario>/<UTC time>.json`.
    pub results: PathBuf,
    /// The choices the plan is made with (levels, duration, CPUs, overrides, address).
    pub choices: Choices,
    /// The host's CA bundle, added to every image build (if it exists).
    pub ca_bundle: Option<PathBuf>,
    /// When the command started, to report the time to the first measured request.
    pub started: Instant,
    /// Names this `bench` invocation in every record it writes (repeats share it).
    pub suite_id: String,
    /// Build, start and verify every endpoint, then stop: no load.
    pub verify_only: bool,
    /// Run each endpoint's connection levels (`--capacity-only` turns it off).
    pub sweep: bool,
    /// Search the capacity of each endpoint with objectives (`--no-capacity` turns it off).
    pub capacity: bool,
    /// py-spy's samples per second per thread in a profile ([`PROFILE_RATE_HZ`] unless `--profile-rate`).
    pub profile_rate_hz: u32,
}

/// The generator containers' image: the `stackbench` binary in a small image.
#[derive(Debug, Clone)]
struct GeneratorImage {
    /// The binary built into it.
    binary: PathBuf,
    /// `stackbench/generator:<hash of the binary>`.
    tag: String,
}

/// Builds a [`Runner`]: the server's engine and the options are required; by
/// default the load runs in this process and nothing is observed.
pub struct RunnerBuilder<'a> {
    engine: EngineRef,
    options: RunOptions,
    cancel: Cancel,
    generators: Vec<EngineRef>,
    generator_binary: Option<PathBuf>,
    images_from: Option<docker::Engine>,
    observer: Box<dyn Fn(Event<'_>) + Send + Sync + 'a>,
}

impl<'a> RunnerBuilder<'a> {
    /// A cancel that reaches every step of the run.
    pub fn cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = cancel;
        self
    }

    /// Where progress goes.
    pub fn observer(mut self, observer: impl Fn(Event<'_>) + Send + Sync + 'a) -> Self {
        self.observer = Box::new(observer);
        self
    }

    /// Load from one generator container per engine given (an engine may be
    /// given more than once), built from the `stackbench` binary at `binary`.
    pub fn generators(mut self, engines: Vec<docker::Engine>, binary: PathBuf) -> Self {
        self.generators = engines.into_iter().map(|e| Arc::new(e) as EngineRef).collect();
        self.generator_binary = Some(binary);
        self
    }

    /// An engine to copy base images from when another engine lacks them (this machine's).
    pub fn images_from(mut self, engine: docker::Engine) -> Self {
        self.images_from = Some(engine);
        self
    }

    /// The runner, with the machines it runs on known and the generator
    /// image's tag resolved (its binary read), so a run cannot start without them.
    pub fn build(self) -> Result<Runner<'a>, Error> {
        let generator_image = match (&self.generator_binary, self.generators.is_empty()) {
            (Some(binary), false) => Some(GeneratorImage {
                tag: format!(
                    "stackbench/generator:{}",
                    generator_tag(binary).map_err(|source| Error::GeneratorBinary { path: binary.clone(), source })?
                ),
                binary: binary.clone(),
            }),
            _ => None,
        };
        let this = Machine::detect();
        let hosts = hosts(&this, &self.engine, &self.generators);
        let mut options = self.options;
        let tls = tls::RunTls::new(options.choices.server_address)?;
        options.choices.tls_ca = Some(tls.ca_path());
        Ok(Runner {
            engine: self.engine,
            options,
            tls: Arc::new(tls),
            cancel: self.cancel,
            generators: self.generators,
            generator_image,
            images_from: self.images_from,
            this,
            hosts,
            n_containers: Default::default(),
            machine_speed: Default::default(),
            images: Default::default(),
            observer: self.observer,
        })
    }
}

/// The machines of a run: this one's facts for an engine on this machine (and
/// for load from this process), the engine's own report for another. They
/// share one machine when every engine runs on this one.
fn hosts(this: &Machine, server: &EngineRef, generators: &[EngineRef]) -> Hosts {
    let machine = |engine: &EngineRef| {
        if engine.on_this_machine() {
            this.clone()
        } else {
            Machine {
                n_cpus: engine.n_cpus(),
                cpu_model: format!("not reported by the engine at {}", engine.endpoint()),
                kernel: engine.kernel().to_string(),
                open_files: open_files(this),
            }
        }
    };
    if server.on_this_machine() && generators.iter().all(|g| g.on_this_machine()) {
        Hosts::Shared(this.clone())
    } else {
        Hosts::Apart { server: machine(server), generator: generators.first().map_or_else(|| this.clone(), machine) }
    }
}

/// The open-files limit containers are started with: at most
/// `docker::OPEN_FILES`, and no more than this process may have, which an
/// engine started from the same session has too (runc cannot exceed the
/// engine's own limit). For an engine elsewhere, whose limit cannot be read
/// from here, this machine's is the guess.
fn open_files(this: &Machine) -> u64 {
    this.open_files.min(docker::OPEN_FILES)
}

/// Runs scenarios: the server and its sidecars on one engine, the load from
/// this process or from generator containers.
pub struct Runner<'a> {
    /// Where the server and its sidecars run.
    engine: EngineRef,
    options: RunOptions,
    cancel: Cancel,
    /// One engine per generator container; empty: the load runs in this process.
    generators: Vec<EngineRef>,
    /// Set exactly when `generators` is not empty.
    generator_image: Option<GeneratorImage>,
    /// An engine to copy base images from when another engine lacks them (this machine's).
    images_from: Option<docker::Engine>,
    /// This machine.
    this: Machine,
    /// The machines of the server and of the load.
    hosts: Hosts,
    /// Makes container names unique within a run.
    n_containers: std::sync::atomic::AtomicU64,
    /// This machine's CPU speed as `run_suite` measured it before its first run.
    machine_speed: std::sync::Mutex<Option<record::MachineSpeed>>,
    /// The run's CA and server certificate (a TLS server's).
    tls: Arc<tls::RunTls>,
    /// Shared with the runners [`Runner::naming`] makes: one build of an image at a time.
    images: Arc<service::ImageLocks>,
    observer: Box<dyn Fn(Event<'_>) + Send + Sync + 'a>,
}

impl<'a> Runner<'a> {
    /// A runner whose server and sidecars run on `engine` (a `docker::Engine`; a fake in tests).
    pub fn builder(engine: impl ContainerEngine + 'static, options: RunOptions) -> RunnerBuilder<'a> {
        RunnerBuilder {
            engine: Arc::new(engine),
            options,
            cancel: Cancel::new(),
            generators: Vec::new(),
            generator_binary: None,
            images_from: None,
            observer: Box::new(|_| {}),
        }
    }

    /// The machines the plan is made for.
    pub fn hosts(&self) -> &Hosts {
        &self.hosts
    }

    /// A number no other container of this runner has had.
    pub(crate) fn next_container(&self) -> u64 {
        self.n_containers.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// The open-files limit of every container the run starts.
    pub(crate) fn open_files(&self) -> u64 {
        open_files(&self.this)
    }

    /// Every engine the run uses, each once.
    fn engines(&self) -> Vec<&EngineRef> {
        distinct(std::iter::once(&self.engine).chain(&self.generators))
    }

    pub(crate) fn emit(&self, event: Event<'_>) {
        (self.observer)(event)
    }

    /// A runner like this one whose steps, details and warnings start with `stack`'s name: for runs that go
    /// at once, whose lines would otherwise not say whose they are. It shares this one's image locks.
    pub(crate) fn naming(&self, stack: String) -> Runner<'_> {
        let speed = *self.machine_speed.lock().unwrap_or_else(|e| e.into_inner());
        Runner {
            engine: self.engine.clone(),
            options: self.options.clone(),
            cancel: self.cancel.clone(),
            generators: self.generators.clone(),
            generator_image: self.generator_image.clone(),
            images_from: self.images_from.clone(),
            tls: self.tls.clone(),
            this: self.this.clone(),
            hosts: self.hosts.clone(),
            n_containers: Default::default(),
            machine_speed: std::sync::Mutex::new(speed),
            images: self.images.clone(),
            observer: Box::new(move |event: Event<'_>| match event {
                Event::Step(s) => self.emit(Event::Step(&format!("{stack}: {s}"))),
                Event::Detail(s) => self.emit(Event::Detail(&format!("{stack}: {s}"))),
                Event::Warning(s) => self.emit(Event::Warning(&format!("{stack}: {s}"))),
                other => self.emit(other),
            }),
        }
    }

    /// Removes what earlier runs that died left behind, on every engine, and says so.
    pub async fn reap(&self) -> Result<(), Error> {
        let mut reaped = Vec::new();
        for engine in self.engines() {
            reaped.extend(engine.reap().await?);
        }
        if !reaped.is_empty() {
            self.emit(Event::Warning(&format!(
                "removed {} container(s) left by an earlier run that did not finish: {}",
                reaped.len(),
                reaped.join(", ")
            )));
        }
        Ok(())
    }

    /// Runs one scenario (repeat number `repeat`, from 1). Failures of the
    /// stack (a build, readiness, a verification, a level) end up in the
    /// returned record with a reason; `Err` is for what stops the whole suite.
    pub async fn run(&self, loaded: &Loaded, repeat: u32) -> Result<(PathBuf, RunRecord), Error> {
        let plan = Plan::new(loaded, &self.options.choices, &self.hosts)?;
        let started_at = SystemTime::now();
        let stamp = compact_utc(started_at);
        let path = record::folder::run_file(&self.options.results, &plan.slug, &stamp, repeat);
        let dir = path.parent().expect("a results file is in its stack's folder");
        std::fs::create_dir_all(dir).map_err(|source| Error::Results { path: dir.to_path_buf(), source })?;
        let run_id = format!("{}-{stamp}-{}", plan.slug, std::process::id());
        let record = self.new_record(loaded, &plan, run_id, repeat, started_at);
        self.carry_out(&plan, path, record).await
    }

    /// A run's record before anything ran, started at `started_at`.
    pub(crate) fn new_record(
        &self,
        loaded: &Loaded,
        plan: &Plan,
        run_id: String,
        repeat: u32,
        started_at: SystemTime,
    ) -> RunRecord {
        RunRecord {
            schema_version: record::RECORD_VERSION,
            run_id,
            suite_id: self.options.suite_id.clone(),
            scenario: scenario_info(loaded, plan),
            repeat,
            provenance: self.provenance(plan),
            started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
            resumed_at: Vec::new(),
            finished_at: None,
            status: RunStatus::Running,
            reason: None,
            to_first_measured_s: None,
            levels: Vec::new(),
            capacities: Vec::new(),
            user_objectives: match plan.think {
                Some(_) => plan.endpoints.iter().filter_map(|e| Some((e.name.clone(), e.slo.clone()?))).collect(),
                None => BTreeMap::new(),
            },
            build_logs: BTreeMap::new(),
        }
    }

    /// Goes on with a run that stopped before its end (`earlier`, read from
    /// `path`, which it goes on writing): the levels and capacity searches it
    /// finished are kept, and the rest run on a new server. Refused when the
    /// scenario file changed since.
    pub async fn resume(
        &self,
        loaded: &Loaded,
        path: PathBuf,
        earlier: RunRecord,
    ) -> Result<(PathBuf, RunRecord), Error> {
        let plan = Plan::new(loaded, &self.options.choices, &self.hosts)?;
        let scenario = scenario_info(loaded, &plan);
        if scenario.sha256 != earlier.scenario.sha256 || scenario.overrides != earlier.scenario.overrides {
            return Err(Error::Changed { file: loaded.path.clone(), results: path });
        }
        let mut record = earlier;
        record.drop_interrupted();
        record.resumed_at.push(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
        record.provenance = self.provenance(&plan);
        (record.status, record.reason, record.finished_at) = (RunStatus::Running, None, None);
        self.carry_out(&plan, path, record).await
    }

    /// The machines and engines a plan runs on, for its record.
    fn provenance(&self, plan: &Plan) -> Provenance {
        let server_machine = self.hosts.server();
        Provenance {
            stackbench_version: env!("CARGO_PKG_VERSION").to_string(),
            stackbench_commit: Some(env!("STACKBENCH_BUILD_COMMIT").to_string()).filter(|c| !c.is_empty()),
            git_commit: git_commit(&plan.project),
            git_dirty: git_dirty(&plan.project),
            docker_version: self.engine.version().to_string(),
            docker_api_version: self.engine.api_version().to_string(),
            kernel: server_machine.kernel.clone(),
            cpu_model: server_machine.cpu_model.clone(),
            n_cpus: server_machine.n_cpus,
            generator_cpus: plan.generator_cpus.clone(),
            server_cpuset: plan.server_cpuset.clone(),
            server_cpus: plan.server.cpus,
            server_memory: plan.server.memory,
            server_pids: plan.server.pids,
            network: format!("host, server bound to {}", self.options.choices.server_address),
            images: BTreeMap::new(),
            server_engine: self.engine.endpoint().to_string(),
            generator_engines: self.generators.iter().map(|e| e.endpoint().to_string()).collect(),
            machine_speed: *self.machine_speed.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Runs what `record` lacks of `plan`, writing it to `path` as it goes,
    /// and removes every container it started, however it ends.
    async fn carry_out(
        &self,
        plan: &Plan,
        path: PathBuf,
        mut record: RunRecord,
    ) -> Result<(PathBuf, RunRecord), Error> {
        save(&record, &path)?;
        let run_id = record.run_id.clone();
        let mut containers = service::Containers::default();
        let outcome = self.run_inner(plan, &run_id, &path, &mut record, &mut containers).await;
        let left = containers.remove_all().await;
        record.finished_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
        if !left.is_empty() && outcome.is_ok() {
            self.emit(Event::Warning(&format!(
                "could not remove {} (the engine did not answer): start the engine again; the next run removes them",
                left.join(", ")
            )));
        }
        let fatal = match outcome {
            Ok(()) if self.cancel.is_cancelled() => {
                record.status = RunStatus::Interrupted;
                record.reason.get_or_insert_with(|| INTERRUPTED.to_string());
                None
            }
            Ok(()) => {
                record.status = RunStatus::Complete;
                None
            }
            Err(Halt::Failed(reason)) => {
                record.status = if self.cancel.is_cancelled() { RunStatus::Interrupted } else { RunStatus::Failed };
                record.reason = Some(reason);
                None
            }
            // An engine that stopped answering is not the stack's failure: what was measured is kept, and
            // the message says what was left and what to do.
            Err(Halt::Lost(measured, cause)) => {
                // Written, then shown as any other (the run's end writes the file again with its status).
                match *measured {
                    Measured::Level(level) => {
                        record.levels.push(level);
                        let _ = save(&record, &path);
                        self.emit(Event::Level(record.levels.last().expect("just pushed")));
                    }
                    Measured::Search(search) => {
                        record.capacities.push(search);
                        let _ = save(&record, &path);
                        self.emit(Event::Capacity(record.capacities.last().expect("just pushed")));
                    }
                }
                Some(self.engine_lost(cause, &record, &path, left))
            }
            Err(Halt::Fatal(Error::Docker(cause))) if cause.is_unreachable() => {
                Some(self.engine_lost(cause, &record, &path, left))
            }
            Err(Halt::Fatal(e)) => Some(e),
        };
        if let Some(e) = fatal {
            // Not the stack's failure: the run can be gone on with (`bench --resume`).
            record.status = RunStatus::Interrupted;
            record.reason = Some(e.to_string());
            let _ = save(&record, &path);
            return Err(e);
        }
        save(&record, &path)?;
        Ok((path, record))
    }
}

impl Runner<'_> {
    /// The error that ends a run whose engine stopped answering: what is kept, what was left, what to do.
    fn engine_lost(&self, cause: docker::Error, record: &RunRecord, path: &Path, left: Vec<String>) -> Error {
        Error::EngineLost {
            cause: Box::new(cause),
            results: path.to_path_buf(),
            levels: record.levels.len(),
            searches: record.capacities.len(),
            left: if left.is_empty() { "nothing".into() } else { left.join(", ") },
        }
    }
}

/// The scenario as its record names it.
fn scenario_info(loaded: &Loaded, plan: &Plan) -> ScenarioInfo {
    ScenarioInfo {
        name: plan.name.clone(),
        slug: plan.slug.clone(),
        family: loaded.scenario.name.get_ref().to_string(),
        matrix: loaded.variant.iter().flat_map(|v| &v.values).map(|(k, v)| (k.clone(), v.to_string())).collect(),
        description: loaded.scenario.description.clone(),
        file: loaded.path.display().to_string(),
        sha256: sha256_hex(loaded.text.as_bytes()),
        overrides: plan.overrides.clone(),
    }
}

/// Each engine once (by endpoint), in order.
pub(crate) fn distinct<'e>(engines: impl IntoIterator<Item = &'e EngineRef>) -> Vec<&'e EngineRef> {
    let mut seen: Vec<&EngineRef> = Vec::new();
    for engine in engines {
        if !seen.iter().any(|e| e.endpoint() == engine.endpoint()) {
            seen.push(engine);
        }
    }
    seen
}

/// Why a scenario stopped before its end.
pub(crate) enum Halt {
    /// The stack failed (build, readiness, verification): recorded, the suite goes on.
    Failed(String),
    /// Something that stops the suite (the results cannot be written, the engine went away).
    Fatal(Error),
    /// The engine stopped answering after a measurement (and through its
    /// retries): what was measured is kept, then the suite stops.
    Lost(Box<Measured>, docker::Error),
}

/// A level or a capacity search, measured.
pub(crate) enum Measured {
    Level(LevelRecord),
    Search(CapacityRecord),
}

impl From<Error> for Halt {
    fn from(e: Error) -> Halt {
        Halt::Fatal(e)
    }
}

/// Writes the results file; a failure stops the suite, naming the file.
pub(crate) fn save(record: &RunRecord, path: &Path) -> Result<(), Error> {
    record.write(path).map_err(|source| Error::Results { path: path.to_path_buf(), source })
}

pub use record::folder::compact_utc;
pub use record::sha256_hex;

/// Whether the checkout at `root` has changes to tracked files (`git status`); `None` without git or a
/// checkout there.
fn git_dirty(root: &Path) -> Option<bool> {
    if !root.join(".git").exists() {
        return None;
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(!out.stdout.is_empty())
}

/// The commit checked out at `root`, read from `.git` without running git.
fn git_commit(root: &Path) -> Option<String> {
    let git = root.join(".git");
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else { return Some(head.to_string()) };
    if let Ok(commit) = std::fs::read_to_string(git.join(reference)) {
        return Some(commit.trim().to_string());
    }
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| l.strip_suffix(reference).map(|c| c.trim().to_string()))
}
