//! `cargo xtask test`: the project's test command, as README.md and `.ci/run`
//! call it. The Docker tests need an engine, so it sets one up first; the
//! report's test renders the HTML in headless Chromium; the two-engine test
//! needs `ip` and `openssl`. Then every scenario
//! is built, started and verified (no load), with a small database, by the
//! tests' own (dev) build of the binary, several stacks at once. It ends
//! with a table of where the time went: set-up, compiling, each test binary,
//! the doc tests, the verification.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::{setup, sys};

/// Rows the MariaDB sidecar is seeded with when scenarios are only verified.
const VERIFY_DB_ROWS: &str = "db.DB_ROWS=1000";

/// Where the time of a test command went, in the order it was spent.
#[derive(Default)]
struct Timing {
    rows: Vec<(String, Duration)>,
}

impl Timing {
    /// Runs `f`, adding its time as `what` whether it succeeded or not.
    fn time<T>(&mut self, what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        let started = Instant::now();
        let out = f();
        self.rows.push((what.to_string(), started.elapsed()));
        out
    }

    fn table(&self) -> String {
        let total: Duration = self.rows.iter().map(|(_, d)| *d).sum();
        let width = self.rows.iter().map(|(w, _)| w.len()).max().unwrap_or(0).max(5);
        let mut out = format!("{:width$}  {:>8}  {:>5}\n", "step", "seconds", "share");
        let mut rows: Vec<&(String, Duration)> = self.rows.iter().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1));
        for (what, d) in rows {
            let share = d.as_secs_f64() / total.as_secs_f64().max(1e-9) * 100.0;
            out.push_str(&format!("{what:width$}  {:>8.1}  {share:>4.0}%\n", d.as_secs_f64()));
        }
        out.push_str(&format!("{:width$}  {:>8.1}\n", "total", total.as_secs_f64()));
        out
    }
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut timing = Timing::default();
    let outcome = run_timed(args, &mut timing);
    sys::step("where the time went (longest first)");
    eprint!("{}", timing.table());
    outcome
}

fn run_timed(args: &[String], timing: &mut Timing) -> anyhow::Result<()> {
    let verify_scenarios = !args.iter().any(|a| a == "--no-scenarios");
    let cargo_args: Vec<&String> = args.iter().filter(|a| *a != "--no-scenarios").collect();
    timing.time("set-up: engine and packages", || {
        setup::run()?;
        sys::ensure_installed("chromium", "chromium")?;
        // The two-engine test makes a bridge for the second dockerd and TLS certificates for it.
        sys::ensure_installed("ip", "iproute2")?;
        sys::ensure_installed("openssl", "openssl")
    })?;
    if cargo_args.is_empty() {
        let binaries = timing.time("compiling the tests", test_binaries)?;
        sys::step(&format!("running {} test binaries of the workspace, one at a time", binaries.len()));
        let mut failed = Vec::new();
        for b in &binaries {
            let ok = timing.time(&format!("tests: {}", b.name), || {
                Ok(Command::new(&b.path).current_dir(&b.dir).status().with_context(|| b.name.clone())?.success())
            })?;
            if !ok {
                failed.push(b.name.clone());
            }
        }
        timing.time("doc tests", || {
            sys::run(sys::cargo_command().current_dir(sys::project_root()).args([
                "test",
                "--workspace",
                "--locked",
                "--doc",
            ]))
        })?;
        if !failed.is_empty() {
            anyhow::bail!("tests failed in: {}", failed.join(", "));
        }
    } else {
        // Arguments for cargo (a package, a filter): cargo runs what they select.
        sys::step("running cargo test --workspace");
        timing.time("cargo test", || {
            sys::run(
                sys::cargo_command()
                    .current_dir(sys::project_root())
                    .args(["test", "--workspace", "--locked"])
                    .args(cargo_args),
            )
        })?;
    }
    if verify_scenarios {
        let scenarios = scenario_files()?;
        sys::step(&format!(
            "building and verifying {} scenario files, every variant of each matrix (no load; --no-scenarios skips this)",
            scenarios.len()
        ));
        let results = sys::project_root().join("target/verify-results").display().to_string();
        let mut bench_args =
            vec!["--verify-only".into(), "--set".into(), VERIFY_DB_ROWS.into(), "--results".into(), results];
        bench_args.extend(scenarios);
        // The tests' own build of the binary: verifying measures nothing, so it needs no release build (which
        // would compile the whole workspace a second time, cold, and after every change).
        let binary = timing.time("the stackbench binary (the tests' build)", dev_binary)?;
        timing.time("building and verifying every variant", || {
            sys::run(&mut sys::stackbench_at(&binary, "bench", &bench_args))
        })?;
    }
    Ok(())
}

/// A compiled test binary: what cargo calls it, where it is, and the folder cargo runs it in (its package's).
struct TestBinary {
    name: String,
    path: PathBuf,
    dir: PathBuf,
}

/// Compiles every test of the workspace (`cargo test --no-run`) and lists the binaries, as cargo would run them.
fn test_binaries() -> anyhow::Result<Vec<TestBinary>> {
    let built =
        artifacts("cargo test --no-run", sys::cargo_command().args(["test", "--workspace", "--locked", "--no-run"]))?;
    let binaries = built
        .iter()
        .filter(|a| a.message["profile"]["test"].as_bool() == Some(true))
        .map(|a| {
            let manifest = PathBuf::from(a.message["manifest_path"].as_str().unwrap_or_default());
            let target = a.message["target"]["name"].as_str().unwrap_or_default();
            let kind = a.message["target"]["kind"][0].as_str().unwrap_or_default();
            TestBinary {
                name: format!("{} {kind} {target}", package_name(a.message["package_id"].as_str().unwrap_or_default())),
                path: a.executable.clone(),
                dir: manifest.parent().map(PathBuf::from).unwrap_or_else(sys::project_root),
            }
        })
        .collect();
    Ok(binaries)
}

/// The `stackbench` binary in cargo's dev profile, the one the CLI's tests run (built by them already,
/// unless cargo was given a selection that left them out).
fn dev_binary() -> anyhow::Result<PathBuf> {
    let built = artifacts(
        "cargo build -p stackbench",
        sys::cargo_command().args(["build", "--locked", "-p", "stackbench", "--bin", "stackbench"]),
    )?;
    built
        .into_iter()
        .find(|a| a.message["target"]["name"] == "stackbench" && a.message["target"]["kind"][0] == "bin")
        .map(|a| a.executable)
        .context("cargo build -p stackbench named no stackbench binary")
}

/// An executable cargo built, with cargo's message about it.
struct Artifact {
    executable: PathBuf,
    message: serde_json::Value,
}

/// Runs `cmd` (a cargo build or test command, run in the project's root) and lists the executables it built
/// or found up to date; `what` names it in errors.
fn artifacts(what: &str, cmd: &mut Command) -> anyhow::Result<Vec<Artifact>> {
    let output = cmd
        .current_dir(sys::project_root())
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        anyhow::bail!("{what} failed ({}): see cargo's messages above", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|message| {
            let executable = PathBuf::from(message["executable"].as_str()?);
            Some(Artifact { executable, message })
        })
        .collect())
}

/// A package's name from cargo's package id: `path+file:///p/crates/cli#stackbench@0.1.0`, or
/// `path+file:///p/crates/report#0.1.0` when the name is the folder's.
fn package_name(id: &str) -> &str {
    let (path, fragment) = id.rsplit_once('#').unwrap_or((id, ""));
    match fragment.split_once('@') {
        Some((name, _)) => name,
        None => path.rsplit('/').next().unwrap_or(path),
    }
}

/// `scenarios/*.toml`, sorted, as absolute paths.
fn scenario_files() -> anyhow::Result<Vec<String>> {
    let mut files = Vec::new();
    // The suite's files, and the experiments beside them (outside the suite, verified all the same).
    for dir in ["scenarios", "scenarios/experiments"] {
        let dir = sys::project_root().join(dir);
        let listing = std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        files.extend(
            listing
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| p.display().to_string()),
        );
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    #[test]
    fn package_names_from_cargos_ids() {
        assert_eq!(super::package_name("path+file:///p/crates/cli#stackbench@0.1.0"), "stackbench");
        assert_eq!(super::package_name("path+file:///p/crates/report#0.1.0"), "report");
    }
}
