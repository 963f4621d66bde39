//! Scenarios for the tests, written on the fly around the docker crate's
//! tiny Perl server (project root: `crates/`, so no file is copied).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use record::RunRecord;
use runner::{Cancel, Event, RunOptions, Runner};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A scenario around the Perl test server; `server_extra` goes into [server],
/// `workload` is the whole [workload] section.
pub fn scenario(name: &str, server_extra: &str, workload: &str) -> scenario::Loaded {
    // `server_extra` may set its own readiness check.
    let ready = if server_extra.contains("ready =") { "" } else { r#"ready = { path = "/health", timeout = "20s" }"# };
    let text = format!(
        r#"
name = "{name}"
[server]
build = "docker/tests/context"
cpus = 0.5
memory = "64m"
pids = 64
{ready}
{server_extra}

{workload}
"#
    );
    scenario::parse(Path::new(&format!("{name}.toml")), &text, &root()).unwrap_or_else(|e| panic!("{e}"))
}

pub fn options(results: &Path) -> RunOptions {
    RunOptions {
        results: results.to_path_buf(),
        choices: plan::Choices::default(),
        ca_bundle: Some("/etc/ssl/certs/ca-certificates.crt".into()),
        started: Instant::now(),
        suite_id: "test-suite".into(),
        verify_only: false,
        sweep: true,
        capacity: true,
        profile_rate_hz: runner::PROFILE_RATE_HZ,
    }
}

/// A results folder removed when the test ends, even by a panic.
pub fn temp_results(what: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("stackbench-runner-{what}-")).tempdir().unwrap()
}

/// Runs `loaded` once and returns the file and record; the events seen are collected.
pub async fn run(loaded: &scenario::Loaded, results: &Path, cancel: Cancel) -> (PathBuf, RunRecord, Vec<String>) {
    run_with(loaded, options(results), cancel).await
}

/// [`run`] with other options.
pub async fn run_with(
    loaded: &scenario::Loaded,
    options: RunOptions,
    cancel: Cancel,
) -> (PathBuf, RunRecord, Vec<String>) {
    let engine = docker::Engine::connect().await.unwrap_or_else(|e| panic!("{e}"));
    let events = Mutex::new(Vec::new());
    let runner = Runner::builder(engine.clone(), options)
        .cancel(cancel)
        .observer(|e: Event<'_>| events.lock().unwrap().push(format!("{e:?}")))
        .build()
        .unwrap();
    let (path, record) = runner.run(loaded, 1).await.unwrap();
    drop(runner);
    // Nothing of this run is left in the engine.
    let left = engine.containers_of_run(&record.run_id).await.unwrap();
    assert!(left.is_empty(), "containers left behind: {left:?}");
    (path, record, events.into_inner().unwrap())
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}
