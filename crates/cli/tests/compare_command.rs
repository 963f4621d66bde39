//! `stackbench compare` against a real engine: two servers at once, a clear regression's exit code, a
//! Ctrl-C that leaves no container, and two stacks that cannot be compared.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench_command::{temp_dir, write_scenario};
use crate::util::{stackbench, text};

fn crates_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The containers `stackbench` process `pid` started, running or not.
fn containers_of(pid: u32) -> Vec<String> {
    let filter = format!("label=stackbench.pid={pid}");
    let out =
        Command::new("docker").args(["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]).output().unwrap();
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// Starts `stackbench compare BASE CANDIDATE ARGS... --root crates/ --results DIR/results`; its stderr piped.
fn spawn_compare(
    base: &Path,
    candidate: &Path,
    args: &[&str],
    dir: &Path,
) -> (std::process::Child, u32, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args([
            "compare",
            base.to_str().unwrap(),
            candidate.to_str().unwrap(),
            "--root",
            crates_dir().to_str().unwrap(),
        ])
        .args(args)
        .arg("--results")
        .arg(dir.join("results"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    (child, pid, stderr)
}

/// Short windows, a low fixed rate, the fewest pairs: a comparison in seconds.
const QUICK: [&str; 10] =
    ["--window", "300ms", "--warmup", "100ms", "--max-pairs", "8", "--rate", "40", "--connections", "2"];

#[test]
fn a_slower_candidate_is_a_regression_and_both_servers_ran_at_once() {
    let _engine = crate::util::engine_lock();
    let dir = temp_dir("compare-slow");
    let base = write_scenario(dir.path(), "cmp-base", "", "connections = [2]\ntimeout = \"200ms\"");
    // 20 ms a request, one process per connection: a few hundred req/s where the base does thousands.
    let slow =
        write_scenario(dir.path(), "cmp-slow", "env = { SLOW = \"0.02\" }", "connections = [2]\ntimeout = \"200ms\"");
    let args: Vec<&str> = QUICK.iter().copied().chain(["--fail-on", "regression", "--json"]).collect();
    let (child, pid, mut stderr) = spawn_compare(&base, &slow, &args, dir.path());
    let mut seen = String::new();
    let mut at_once = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("both servers run on") {
            at_once = containers_of(pid);
        }
        seen.push_str(&line);
        assert!(Instant::now() < deadline, "too slow:\n{seen}");
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(at_once.len(), 2, "both servers run while the windows alternate: {at_once:?}\n{seen}");
    assert_eq!(out.status.code(), Some(3), "{seen}");
    let compared: record::comparison::ComparisonRecord = serde_json::from_slice(&out.stdout).unwrap();
    let rps = compared.endpoints[0].figures.iter().find(|f| f.figure == record::comparison::Figure::Rps).unwrap();
    assert_eq!(rps.verdict, "worse", "{rps:?}");
    assert!(rps.hi < 0.5, "a 20 ms wait per request costs most of the req/s: {rps:?}");
    assert!(seen.contains("8 pairs:"), "progress shows the interval narrowing: {seen}");
    assert!(containers_of(pid).is_empty(), "left: {:?}", containers_of(pid));
    // The record is kept where the report does not read it.
    let kept = std::fs::read_dir(dir.path().join("results/comparisons")).unwrap().count();
    assert_eq!(kept, 1);
}

#[test]
fn ctrl_c_mid_comparison_leaves_neither_server() {
    let _engine = crate::util::engine_lock();
    let dir = temp_dir("compare-int");
    let base = write_scenario(dir.path(), "cmp-int-a", "", "connections = [2]\ntimeout = \"200ms\"");
    let candidate = write_scenario(dir.path(), "cmp-int-b", "", "connections = [2]\ntimeout = \"200ms\"");
    let (child, pid, mut stderr) = spawn_compare(&base, &candidate, &["--window", "2s", "--rate", "40"], dir.path());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "ended early:\n{seen}");
        seen.push_str(&line);
        if line.contains("windows of") {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(containers_of(pid).len(), 2, "both servers up before the signal");
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "stopping took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(130), "{seen}");
    assert!(containers_of(pid).is_empty(), "left: {:?}", containers_of(pid));
}

#[test]
fn stacks_without_an_endpoint_in_common_cannot_be_compared() {
    let _engine = crate::util::engine_lock();
    let dir = temp_dir("compare-none");
    let base = write_scenario(dir.path(), "cmp-none-a", "", "connections = [2]\ntimeout = \"200ms\"");
    let other = dir.path().join("other.toml");
    let text_b = std::fs::read_to_string(&base)
        .unwrap()
        .replace("name = \"health\"", "name = \"other\"")
        .replace("cmp-none-a", "cmp-none-b");
    std::fs::write(&other, text_b).unwrap();
    let root = crates_dir();
    let out =
        stackbench(&["compare", base.to_str().unwrap(), other.to_str().unwrap(), "--root", root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot compare: cmp-none-a and cmp-none-b have no endpoint of the same name"),
        "{}",
        text(&out.stderr)
    );
}
