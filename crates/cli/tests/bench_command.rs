//! `stackbench bench` as a user runs it: bad input, and Ctrl-C mid-level
//! against the real engine (`cargo xtask test` starts one).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{stackbench, text};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A folder removed when the test ends, even by a panic.
fn temp_dir(what: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("stackbench-cli-{what}-")).tempdir().unwrap()
}

#[test]
fn bad_scenario_gets_a_located_error_and_runs_nothing() {
    let dir = temp_dir("bad");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "name = \"bad\"\n[server]\nbuild = \"docker/tests/context\"\ncpus = 0\nmemory = \"64m\"\n")
        .unwrap();
    let root = crates_dir();
    let out = stackbench(&["bench", file.to_str().unwrap(), "--root", root.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{}:4:8: cpus = 0 is not a CPU limit", file.display())), "{stderr}");
    let out = stackbench(&["bench", "/nonexistent/scenario.toml"]);
    assert!(text(&out.stderr).contains("cannot read scenario '/nonexistent/scenario.toml'"), "{}", text(&out.stderr));
}

/// A one-level scenario whose level lasts a minute, in `dir`.
fn long_level_scenario(dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(format!("{name}.toml"));
    let text = format!(
        r#"
name = "{name}"
[server]
build = "docker/tests/context"
cpus = 0.5
memory = "64m"
ready = {{ path = "/health", timeout = "20s" }}
[workload]
duration = "60s"
warmup = "0s"
connections = [4]
[[workload.endpoints]]
name = "health"
path = "/health"
"#
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// Starts `stackbench bench FILE` and returns once its level is under way.
fn bench_until_level(file: &Path, results: &Path) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args(["bench", file.to_str().unwrap(), "--root", crates_dir().to_str().unwrap(), "--results"])
        .arg(results)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "stackbench ended early:\n{seen}");
        seen.push_str(&line);
        if line.contains("GET /health: 4 connections") {
            break;
        }
        assert!(Instant::now() < deadline, "the level never started:\n{seen}");
    }
    // Keep reading stderr so that the child never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    child
}

fn containers_of_run(run_id: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { docker::Engine::connect().await.unwrap().containers_of_run(run_id).await.unwrap() })
}

#[test]
fn sigint_mid_level_keeps_results_and_leaves_nothing() {
    interrupted_mid_level_keeps_results_and_leaves_nothing(libc::SIGINT, "cli-sigint");
}

#[test]
fn sigterm_mid_level_keeps_results_and_leaves_nothing() {
    interrupted_mid_level_keeps_results_and_leaves_nothing(libc::SIGTERM, "cli-sigterm");
}

fn interrupted_mid_level_keeps_results_and_leaves_nothing(signal: i32, name: &str) {
    let _engine = crate::util::ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir(name);
    let file = long_level_scenario(dir.path(), name);
    let results = dir.path().join("results");
    let child = bench_until_level(&file, &results);
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(15), "stopping took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(130));
    assert!(text(&out.stdout).contains(name), "the table is printed: {}", text(&out.stdout));

    // The results file says what happened and keeps the partial level; no temporary file is left.
    let files: Vec<_> = std::fs::read_dir(results.join(name)).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let record = runner::RunRecord::read(&files[0]).unwrap();
    assert_eq!(record.status, runner::RunStatus::Interrupted);
    assert!(record.levels[0].load.as_ref().unwrap().requests > 0);

    // No container of that process is left.
    let left = containers_of_run(&record.run_id);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn after_sigkill_the_next_run_sweeps_what_was_left_and_says_so() {
    let _engine = crate::util::ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("sigkill");
    let file = long_level_scenario(dir.path(), "cli-sigkill");
    let results = dir.path().join("results");
    let mut child = bench_until_level(&file, &results);
    child.kill().unwrap();
    child.wait().unwrap();

    // Killed outright: the server container is left, and the results file is whole (written atomically).
    let files: Vec<_> = std::fs::read_dir(results.join("cli-sigkill")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "no temporary file: {files:?}");
    let record = runner::RunRecord::read(&files[0]).unwrap();
    assert_eq!(record.status, runner::RunStatus::Running);
    assert_eq!(containers_of_run(&record.run_id).len(), 1, "the killed run's server is still there");

    // The next start removes it by its labels (its owner is dead) and names it.
    let out = stackbench(&[
        "bench",
        "--verify-only",
        file.to_str().unwrap(),
        "--root",
        crates_dir().to_str().unwrap(),
        "--results",
        dir.path().join("verify").to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warning = stderr.lines().find(|l| l.contains("left by an earlier run")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(warning.contains(&record.run_id), "the swept container is named: {warning}");
    assert!(containers_of_run(&record.run_id).is_empty());
}

#[test]
fn no_engine_says_what_to_do_and_writes_nothing() {
    let dir = temp_dir("no-engine");
    let file = long_level_scenario(dir.path(), "cli-no-engine");
    let results = dir.path().join("results");
    let socket = dir.path().join("no-docker.sock");
    let out = Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args(["bench", file.to_str().unwrap(), "--root", crates_dir().to_str().unwrap(), "--results"])
        .arg(&results)
        .env("DOCKER_HOST", format!("unix://{}", socket.display()))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no Docker engine answers at unix://"), "{stderr}");
    assert!(stderr.contains("cargo xtask setup"), "it says what to do: {stderr}");
    assert!(!results.exists(), "nothing is written without an engine");
}
