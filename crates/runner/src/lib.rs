//! Runs scenarios end to end: images, containers with limits, readiness,
//! verification, a primer, then every connection level of every endpoint,
//! with the results file rewritten after each level.
//!
//! Architecture invariant: the runner never prints and never renders tables;
//! it reports through [`Event`]s and returns [`RunRecord`]s. It uses
//! `loadgen` as a library and reaches Docker only through the `docker` crate.

mod cancel;
mod generators;
mod levels;
mod plan;
mod sampler;
mod service;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use docker::Engine;
use scenario::Loaded;

pub use cancel::Cancel;
pub use generators::{generator_args, generator_tag, NonUtf8Body};
pub use plan::{EndpointPlan, Machine, Plan, ServicePlan};
pub use results as record;
pub use results::{
    Failure, FailureKind, GeneratorRecord, LevelRecord, LevelStatus, Provenance, RunRecord, RunStatus, ScenarioInfo,
    ServerUsage,
};

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
    Level(&'a LevelRecord),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Scenario(#[from] scenario::Error),
    #[error(transparent)]
    Docker(#[from] docker::Error),
    #[error("cannot write results '{}': {source}; {} (earlier results are untouched)", path.display(), results_hint(source))]
    Results { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Setup(String),
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

/// Choices that are not in the scenario file.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project root: scenario paths are relative to it.
    pub root: PathBuf,
    /// Results go to `<results>/<scenario>/<UTC time>.json`.
    pub results: PathBuf,
    pub duration: Option<Duration>,
    pub connections: Option<Vec<usize>>,
    /// CPUs for the load generator; the server gets the others.
    pub generator_cpus: Vec<usize>,
    /// The host's CA bundle, added to every image build (if it exists).
    pub ca_bundle: Option<PathBuf>,
    /// When the command started, to report the time to the first measured request.
    pub started: Instant,
    /// Names this `bench` invocation in every record it writes (repeats share it).
    pub suite_id: String,
    /// Environment set on a service over the scenario's own (`--set db.ROWS=1000`).
    pub overrides: Vec<Override>,
    /// Build, start and verify every endpoint, then stop: no load.
    pub verify_only: bool,
    /// The address the server and its sidecars bind and are reached at:
    /// 127.0.0.1, unless they run on another host (a remote engine).
    pub server_address: IpAddr,
    /// The `stackbench` binary that generator images are built with (load from
    /// generator containers only).
    pub generator_binary: Option<PathBuf>,
}

/// `SERVICE.KEY=VALUE`: an environment variable for the server or a sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub service: String,
    pub key: String,
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Override, String> {
        let parsed = s.split_once('=').and_then(|(target, value)| {
            let (service, key) = target.split_once('.')?;
            let key_ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            (!service.is_empty() && key_ok).then(|| Override {
                service: service.to_string(),
                key: key.to_string(),
                value: value.to_string(),
            })
        });
        parsed.ok_or_else(|| format!("'{s}' is not SERVICE.KEY=VALUE (e.g. server.LOG_LEVEL=info or db.ROWS=1000)"))
    }
}

impl std::fmt::Display for Override {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}={}", self.service, self.key, self.value)
    }
}

/// Runs scenarios: the server and its sidecars on one engine, the load from
/// this process or from generator containers.
pub struct Runner<'a> {
    /// Where the server and its sidecars run.
    pub engine: Engine,
    pub options: Options,
    pub cancel: Cancel,
    /// One engine per generator container; empty: the load runs in this process.
    pub generators: Vec<Engine>,
    /// An engine to copy base images from when another engine lacks them (this machine's).
    pub images_from: Option<Engine>,
    /// The generator image's tag, once built for this run.
    generator_image: std::sync::Mutex<Option<String>>,
    /// Makes container names unique within a run.
    n_containers: std::sync::atomic::AtomicU64,
    observer: Box<dyn Fn(Event<'_>) + Send + Sync + 'a>,
}

impl<'a> Runner<'a> {
    pub fn new(
        engine: Engine,
        options: Options,
        cancel: Cancel,
        observer: impl Fn(Event<'_>) + Send + Sync + 'a,
    ) -> Self {
        Runner {
            engine,
            options,
            cancel,
            generators: Vec::new(),
            images_from: None,
            generator_image: Default::default(),
            n_containers: Default::default(),
            observer: Box::new(observer),
        }
    }

    /// A number no other container of this runner has had.
    pub(crate) fn next_container(&self) -> u64 {
        self.n_containers.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Every engine the run uses, each once.
    fn engines(&self) -> Vec<&Engine> {
        distinct(std::iter::once(&self.engine).chain(&self.generators))
    }

    pub(crate) fn emit(&self, event: Event<'_>) {
        (self.observer)(event)
    }

    /// Removes what earlier runs that died left behind, on every engine, and says so.
    pub async fn sweep(&self) -> Result<(), Error> {
        let mut swept = Vec::new();
        for engine in self.engines() {
            swept.extend(engine.sweep().await?);
        }
        if !swept.is_empty() {
            self.emit(Event::Warning(&format!(
                "removed {} container(s) left by an earlier run that did not finish: {}",
                swept.len(),
                swept.join(", ")
            )));
        }
        Ok(())
    }

    /// Runs one scenario (repeat number `repeat`, from 1). Failures of the
    /// stack (a build, readiness, a verification, a level) end up in the
    /// returned record with a reason; `Err` is for what stops the whole suite.
    pub async fn run(&self, loaded: &Loaded, repeat: u32) -> Result<(PathBuf, RunRecord), Error> {
        let machine = Machine::detect();
        let plan = Plan::new(loaded, &self.options, &machine)?;
        let started_at = SystemTime::now();
        let stamp = compact_utc(started_at);
        let run_id = format!("{}-{stamp}-{}", plan.name, std::process::id());
        let dir = self.options.results.join(&plan.name);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Results { path: dir.clone(), source })?;
        let suffix = if repeat > 1 { format!("-r{repeat}") } else { String::new() };
        let path = dir.join(format!("{stamp}{suffix}.json"));
        let mut record = RunRecord {
            schema_version: record::RECORD_VERSION,
            run_id: run_id.clone(),
            suite_id: self.options.suite_id.clone(),
            scenario: ScenarioInfo {
                name: plan.name.clone(),
                description: loaded.scenario.description.clone(),
                file: loaded.path.display().to_string(),
                sha256: sha256_hex(loaded.text.as_bytes()),
                overrides: plan.overrides.clone(),
            },
            provenance: Provenance {
                stackbench_version: env!("CARGO_PKG_VERSION").to_string(),
                git_commit: git_commit(&self.options.root),
                docker_version: self.engine.version.clone(),
                docker_api_version: self.engine.api_version.clone(),
                kernel: self.engine.kernel.clone(),
                cpu_model: machine.cpu_model.clone(),
                n_cpus: machine.n_cpus,
                generator_cpus: plan.generator_cpus.clone(),
                server_cpuset: plan.server_cpuset.clone(),
                server_cpus: plan.server.cpus,
                server_memory: plan.server.memory,
                server_pids: plan.server.pids,
                network: format!("host, server bound to {}", self.options.server_address),
                images: BTreeMap::new(),
                server_engine: self.engine.endpoint.clone(),
                generator_engines: self.generators.iter().map(|e| e.endpoint.clone()).collect(),
            },
            started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
            finished_at: None,
            status: RunStatus::Running,
            reason: None,
            to_first_measured_s: None,
            levels: Vec::new(),
            build_logs: BTreeMap::new(),
        };
        save(&record, &path)?;

        let mut containers = service::Containers::default();
        let outcome = self.run_inner(&plan, &run_id, &path, &mut record, &mut containers, repeat).await;
        containers.remove_all().await;
        record.finished_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
        match outcome {
            Ok(()) if self.cancel.is_cancelled() => {
                record.status = RunStatus::Interrupted;
                record.reason.get_or_insert_with(|| "interrupted".to_string());
            }
            Ok(()) => record.status = RunStatus::Complete,
            Err(Stop::Failed(reason)) => {
                record.status = if self.cancel.is_cancelled() { RunStatus::Interrupted } else { RunStatus::Failed };
                record.reason = Some(reason);
            }
            Err(Stop::Fatal(e)) => {
                record.status = RunStatus::Failed;
                record.reason = Some(e.to_string());
                let _ = save(&record, &path);
                return Err(e);
            }
        }
        save(&record, &path)?;
        Ok((path, record))
    }
}

/// Each engine once (by endpoint), in order.
pub(crate) fn distinct<'e>(engines: impl IntoIterator<Item = &'e Engine>) -> Vec<&'e Engine> {
    let mut seen: Vec<&Engine> = Vec::new();
    for engine in engines {
        if !seen.iter().any(|e| e.endpoint == engine.endpoint) {
            seen.push(engine);
        }
    }
    seen
}

/// Why a scenario stopped before its end.
pub(crate) enum Stop {
    /// The stack failed (build, readiness, verification): recorded, the suite goes on.
    Failed(String),
    /// Something that stops the suite (the results cannot be written, the engine went away).
    Fatal(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Fatal(e)
    }
}

/// Writes the results file; a failure stops the suite, naming the file.
pub(crate) fn save(record: &RunRecord, path: &Path) -> Result<(), Error> {
    record.write(path).map_err(|source| Error::Results { path: path.to_path_buf(), source })
}

/// `20261124T073300Z`: sortable, and safe in file names.
pub fn compact_utc(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string().replace(['-', ':'], "")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
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
