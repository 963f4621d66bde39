//! `stackbench bench` as a user runs it: bad input, and Ctrl-C mid-level
//! against the real engine (`cargo xtask test` starts one).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use record::{RunRecord, RunStatus};
use std::time::{Duration, Instant};

use crate::util::{stackbench, text};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A folder removed when the test ends, even by a panic.
pub(crate) fn temp_dir(what: &str) -> tempfile::TempDir {
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
    // Said once, the reason once.
    let out = stackbench(&["bench", "/nonexistent/scenario.toml"]);
    assert_eq!(
        text(&out.stderr).trim_end(),
        "error: cannot read scenario '/nonexistent/scenario.toml': No such file or directory (os error 2)"
    );
}

#[test]
fn bad_flags_get_one_clear_error_and_run_nothing() {
    // Some of these get as far as the engine, whose start sweeps.
    let _engine = crate::util::engine_lock();
    let dir = temp_dir("flags");
    let file = long_level_scenario(dir.path(), "cli-flags");
    let results = dir.path().join("results");
    let root = crates_dir();
    let common = [file.to_str().unwrap(), "--root", root.to_str().unwrap(), "--results", results.to_str().unwrap()];
    for (flags, code, needle) in [
        (&["--generator-cpus", "7"][..], 1, "--generator-cpus: CPU 7 does not exist"),
        (&["--generator-cpus", "0-9"], 1, "--generator-cpus: CPU"),
        (&["--generator-cpus", "one"], 1, "--generator-cpus: 'one' in 'one' is not a CPU number"),
        (&["--connections", "0"], 1, "--connections: every level needs at least 1 connection"),
        (&["--connections", "100000000"], 1, "--connections: 100000000 connections are more than"),
        (&["--connections", "ten"], 2, "invalid value 'ten' for '--connections"),
        (&["--duration", "soon"], 2, "try 10s, 500ms or 1m"),
        (&["--repeat", "0"], 1, "--repeat: must be at least 1"),
        (&["--set", "nonsense"], 2, "'nonsense' is not SERVICE.KEY=VALUE"),
        (&["--set", "db.ROWS=1"], 1, "--set db.ROWS=1: no scenario given has a service named 'db'"),
        (
            &["--endpoints", "health,nope"],
            1,
            "--endpoints: no scenario given has an endpoint named 'nope' (they have: ",
        ),
        (&["--server-address", "192.0.2.1"], 1, "--server-address 192.0.2.1: the server runs on this machine's engine"),
        (&["--generators", "0"], 1, "--generators: give at least 1"),
        (&["--generator-engine", "unix:///nowhere.sock"], 1, "--generator-engine: say how many generator containers"),
        (&["--frobnicate"], 2, "--frobnicate"),
        (&["--matrix", "nonsense"], 2, "'nonsense' is not KEY=V1,V2"),
        (
            &["--matrix", "workers=1,2"],
            1,
            "--matrix: no scenario given has a matrix key 'workers' (none has a [matrix])",
        ),
        (&["--only", "worker=gevent"], 1, "--only: no scenario given has a matrix key 'worker' (none has a [matrix])"),
    ] {
        let mut args = vec!["bench"];
        args.extend(common);
        args.extend(flags);
        let out = stackbench(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{flags:?}: {stderr}");
        assert!(stderr.contains(needle), "{flags:?}: {needle:?} not in {stderr}");
        assert!(!stderr.contains("panicked"), "{flags:?}: {stderr}");
        assert!(!results.exists(), "{flags:?} wrote results");
    }
}

/// A one-level scenario whose level lasts a minute, in `dir`.
fn long_level_scenario(dir: &Path, name: &str) -> PathBuf {
    write_scenario(dir, name, "", "duration = \"60s\"\nconnections = [4]")
}

/// A scenario around the Perl test server in `dir`: `server_extra` goes into
/// [server], `workload` into [workload] (no warm-up unless it sets one; one endpoint, /health).
pub(crate) fn write_scenario(dir: &Path, name: &str, server_extra: &str, workload: &str) -> PathBuf {
    let file = dir.join(format!("{name}.toml"));
    let build = if server_extra.contains("build =") { "" } else { "build = \"docker/tests/context\"" };
    let ready = if server_extra.contains("ready =") { "" } else { "ready = { path = \"/health\", timeout = \"20s\" }" };
    let warmup = if workload.contains("warmup =") { "" } else { "warmup = \"0s\"" };
    let text = format!(
        r#"
name = "{name}"
[server]
{build}
cpus = 0.5
memory = "64m"
{ready}
{server_extra}
[workload]
{warmup}
{workload}
[[workload.endpoints]]
name = "health"
path = "/health"
"#
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// Starts `stackbench bench FILE` and returns once its level is under way.
fn bench_until_level(file: &Path, results: &Path) -> Bench {
    bench_until(file, results, "GET /health: 4 connections")
}

/// Starts `stackbench bench FILE` and returns once it has printed a line containing `marker`.
fn bench_until(file: &Path, results: &Path, marker: &str) -> Bench {
    bench_with_until(file, results, &[], &[], marker)
}

/// [`bench_until`], with more arguments and environment variables for `stackbench`.
pub(crate) fn bench_with_until(
    file: &Path,
    results: &Path,
    args: &[&str],
    env: &[(&str, String)],
    marker: &str,
) -> Bench {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args(["bench", file.to_str().unwrap(), "--root", crates_dir().to_str().unwrap(), "--results"])
        .arg(results)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
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
        if line.contains(marker) {
            break;
        }
        assert!(Instant::now() < deadline, "{marker:?} never came:\n{seen}");
    }
    // Keep reading stderr so that the child never blocks on a full pipe.
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    Bench { child, seen, rest }
}

/// A `stackbench bench` under way; its stderr is still being read.
pub(crate) struct Bench {
    child: std::process::Child,
    /// Its stderr up to the marker line.
    seen: String,
    rest: std::thread::JoinHandle<String>,
}

impl Bench {
    /// Kills it as a machine going down would (SIGKILL: nothing is cleaned up) and waits for its end.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.finish();
    }

    /// Waits for its end; the output holds all of stderr.
    pub(crate) fn finish(self) -> Output {
        let mut out = self.child.wait_with_output().unwrap();
        out.stderr = (self.seen + &self.rest.join().unwrap()).into_bytes();
        out
    }
}

pub(crate) fn containers_of_run(run_id: &str) -> Vec<String> {
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
    let _engine = crate::util::engine_lock();
    let dir = temp_dir(name);
    let file = long_level_scenario(dir.path(), name);
    let results = dir.path().join("results");
    let child = bench_until_level(&file, &results);
    std::thread::sleep(Duration::from_secs(2));
    let (out, record) = stop_with(child, signal, &results, name);
    assert!(text(&out.stdout).contains(name), "the table is printed: {}", text(&out.stdout));
    assert!(record.levels[0].load.as_ref().unwrap().requests > 0, "the partial level is kept");
}

/// Sends `signal` to a running `bench` and checks that it stops soon with
/// exit 130, one results file (no temporary one) marked interrupted, and no
/// container of its run left. Returns its output and that record.
fn stop_with(bench: Bench, signal: i32, results: &Path, name: &str) -> (Output, RunRecord) {
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(bench.child.id() as i32, signal) }, 0);
    let started = Instant::now();
    let out = bench.finish();
    assert!(started.elapsed() < Duration::from_secs(15), "stopping took {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let files = files_in(&results.join(name));
    assert_eq!(files.len(), 1, "one results file and no temporary one: {files:?}");
    let record = RunRecord::read(&files[0]).unwrap();
    assert_eq!(record.status, RunStatus::Interrupted, "{record:#?}");
    let left = containers_of_run(&record.run_id);
    assert!(left.is_empty(), "left behind: {left:?}");
    (out, record)
}

pub(crate) fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn a_signal_during_an_image_build_stops_it_and_leaves_no_build_container() {
    let _engine = crate::util::engine_lock();
    for (signal, name) in [(libc::SIGINT, "cli-int-build"), (libc::SIGTERM, "cli-term-build")] {
        let dir = temp_dir(name);
        // A build step that prints a mark of its own, then takes two minutes.
        let mark = format!("mark-{name}-{}-{:?}", std::process::id(), std::time::SystemTime::now());
        let mark = mark.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "");
        let server = format!("build = \"cli/tests/slow-build-context\"\nbuild_args = {{ MARK = \"{mark}\" }}");
        let file = write_scenario(dir.path(), name, &server, "connections = [4]");
        let results = dir.path().join("results");
        let bench = bench_until(&file, &results, &format!("building {mark}"));
        // The step runs in a container of the engine's (the command shows `$MARK` unexpanded).
        let step = "echo \\\"building $MARK\\\" && sleep 120";
        assert_eq!(containers_running(step).len(), 1, "the build step is under way");
        let (_, record) = stop_with(bench, signal, &results, name);
        assert!(record.levels.is_empty() && record.provenance.images.is_empty(), "{record:#?}");
        // The engine dropped the build with its client: no container of that step is left.
        let left = containers_running(step);
        assert!(left.is_empty(), "build containers left: {left:?}");
    }
}

#[test]
fn a_signal_while_a_base_image_is_made_offline_leaves_no_root_file_system() {
    let _engine = crate::util::engine_lock();
    let name = "cli-int-debootstrap";
    let image = "debian:trixie-slim";
    let present = Command::new("docker").args(["image", "inspect", image]).output().unwrap().status.success();
    assert!(!present, "this test makes {image} offline; remove it first (docker rmi {image})");
    let dir = temp_dir(name);
    // A debootstrap that mounts a file system in its target, as the real one mounts proc, and waits.
    let fake = dir.path().join("bin");
    std::fs::create_dir_all(&fake).unwrap();
    let script = format!(
        "#!/bin/sh\necho $$ > {pid}\nmkdir -p \"$3/proc\" && mount -t tmpfs fake \"$3/proc\"\n\
         echo \"I: fake debootstrap of $2 in $3\"\nexec sleep 120\n",
        pid = fake.join("pid").display()
    );
    std::fs::write(fake.join("debootstrap"), script).unwrap();
    std::fs::set_permissions(fake.join("debootstrap"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let env = [
        ("PATH", format!("{}:{}", fake.display(), std::env::var("PATH").unwrap())),
        ("TMPDIR", tmp.display().to_string()),
    ];
    let file = write_scenario(dir.path(), name, "build = \"cli/tests/trixie-context\"", "connections = [4]");
    let results = dir.path().join("results");
    let bench = bench_with_until(&file, &results, &[], &env, "I: fake debootstrap of trixie");
    let mounted = |under: &Path| {
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
        mounts.lines().filter(|l| l.contains(under.to_str().unwrap())).map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(mounted(&tmp).len(), 1, "the fake mounted its proc");
    let (_, record) = stop_with(bench, libc::SIGINT, &results, name);
    assert!(record.levels.is_empty(), "{record:#?}");
    assert!(mounted(&tmp).is_empty(), "still mounted: {:?}", mounted(&tmp));
    assert!(files_in(&tmp).is_empty(), "the root file system is left: {:?}", files_in(&tmp));
    let pid: i32 = std::fs::read_to_string(fake.join("pid")).unwrap().trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    // SAFETY: signal 0 only asks whether the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(Instant::now() < deadline, "debootstrap's process {pid} still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_signal_while_waiting_for_readiness_stops_at_once() {
    let _engine = crate::util::engine_lock();
    for (signal, name) in [(libc::SIGINT, "cli-int-ready"), (libc::SIGTERM, "cli-term-ready")] {
        let dir = temp_dir(name);
        let server = "command = [\"sleep\", \"300\"]\nready = { path = \"/health\", timeout = \"120s\" }";
        let file = write_scenario(dir.path(), name, server, "connections = [4]");
        let results = dir.path().join("results");
        let child = bench_until(&file, &results, "starting server on 127.0.0.1");
        std::thread::sleep(Duration::from_secs(1));
        let (_, record) = stop_with(child, signal, &results, name);
        assert!(record.levels.is_empty(), "{record:#?}");
        assert!(record.reason.as_deref().unwrap_or_default().contains("interrupted"), "{:?}", record.reason);
    }
}

#[test]
fn a_signal_between_levels_keeps_the_finished_level() {
    let _engine = crate::util::engine_lock();
    for (signal, name) in [(libc::SIGINT, "cli-int-pause"), (libc::SIGTERM, "cli-term-pause")] {
        let dir = temp_dir(name);
        let file = write_scenario(dir.path(), name, "", "duration = \"1s\"\npause = \"60s\"\nconnections = [2, 4]");
        let results = dir.path().join("results");
        // The first level's line is printed once it is written; then the 60 s pause begins.
        let child = bench_until(&file, &results, "2 conns:");
        std::thread::sleep(Duration::from_millis(500));
        let (_, record) = stop_with(child, signal, &results, name);
        assert_eq!(record.levels.len(), 1, "{record:#?}");
        assert_eq!(record.levels[0].status, record::LevelStatus::Ok);
        assert!(record.levels[0].load.as_ref().unwrap().requests > 0);
    }
}

#[test]
fn a_signal_mid_level_stops_generator_containers_and_keeps_their_parts() {
    let _engine = crate::util::engine_lock();
    let name = "cli-int-generators";
    let dir = temp_dir(name);
    let file = write_scenario(dir.path(), name, "", "duration = \"60s\"\nconnections = [4]");
    let results = dir.path().join("results");
    let bench = bench_with_until(&file, &results, &["--generators", "2"], &[], "GET /health: 4 connections");
    std::thread::sleep(Duration::from_secs(5));
    let (_, record) = stop_with(bench, libc::SIGINT, &results, name);
    let level = &record.levels[0];
    assert_eq!(level.generators.len(), 2, "{level:#?}");
    let load = level.load.as_ref().unwrap();
    assert!(load.interrupted && load.requests > 0, "the generators' partial results are kept: {load:?}");
    assert_eq!(load.requests, level.generators.iter().map(|g| g.requests).sum::<u64>());
}

#[test]
fn a_failed_scenario_does_not_stop_the_suite() {
    let _engine = crate::util::engine_lock();
    let dir = temp_dir("suite");
    let broken =
        write_scenario(dir.path(), "cli-suite-broken", "command = [\"perl\", \"-e\", \"exit 7\"]", "connections = [2]");
    let good = write_scenario(dir.path(), "cli-suite-good", "", "duration = \"1s\"\nconnections = [2]");
    let results = dir.path().join("results");
    let out = stackbench(&[
        "bench",
        broken.to_str().unwrap(),
        good.to_str().unwrap(),
        "--root",
        crates_dir().to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a scenario failed: {stderr}");
    assert!(stderr.contains("server exited (code 7) before it was ready"), "{stderr}");
    let broken = RunRecord::read(&files_in(&results.join("cli-suite-broken"))[0]).unwrap();
    let good = RunRecord::read(&files_in(&results.join("cli-suite-good"))[0]).unwrap();
    assert_eq!((broken.status, good.status), (RunStatus::Failed, RunStatus::Complete));
    assert!(good.levels[0].load.as_ref().unwrap().requests > 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("cli-suite-broken") && stdout.contains("cli-suite-good"), "{stdout}");
}

#[test]
fn a_full_disk_stops_the_run_with_what_to_do_and_keeps_earlier_results() {
    let _engine = crate::util::engine_lock();
    let name = "cli-disk-full";
    let dir = temp_dir(name);
    let disk = SmallDisk::mount(&dir.path().join("disk"));
    let results = disk.path.join("results");
    let earlier = results.join(name).join("20200101T000000Z.json");
    std::fs::create_dir_all(earlier.parent().unwrap()).unwrap();
    std::fs::write(&earlier, "an earlier run's results\n").unwrap();
    let file = write_scenario(dir.path(), name, "", "duration = \"1s\"\npause = \"3s\"\nconnections = [2, 4]");
    let bench = bench_until(&file, &results, "2 conns:");
    disk.fill();
    let out = bench.finish();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let message = stderr.lines().find(|l| l.contains("cannot write results")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(message.contains("No space left on device"), "{message}");
    assert!(message.contains("free some space on that disk, or pass --results"), "it says what to do: {message}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Earlier results are untouched; this run's file still holds its first level; no temporary file.
    assert_eq!(std::fs::read_to_string(&earlier).unwrap(), "an earlier run's results\n");
    let files = files_in(&results.join(name));
    assert_eq!(files.len(), 2, "{files:?}");
    let record = RunRecord::read(&files[1]).unwrap();
    assert_eq!(record.levels.len(), 1, "{record:#?}");
    assert!(containers_of_run(&record.run_id).is_empty());
}

/// A 1 MiB tmpfs for one test (mounting needs root, as the Docker tests do),
/// unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: &Path) -> SmallDisk {
        std::fs::create_dir_all(path).unwrap();
        let c = |s: &str| std::ffi::CString::new(s).unwrap();
        let (target, fs, data) = (c(path.to_str().unwrap()), c("tmpfs"), c("size=1m"));
        // SAFETY: valid NUL-terminated strings; a fresh tmpfs on a folder of our own.
        let mounted = unsafe { libc::mount(fs.as_ptr(), target.as_ptr(), fs.as_ptr(), 0, data.as_ptr().cast()) };
        assert_eq!(mounted, 0, "mount tmpfs on {}: {}", path.display(), std::io::Error::last_os_error());
        SmallDisk { path: path.to_path_buf() }
    }

    /// Writes until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.path.join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        loop {
            if let Err(e) = filler.write_all(&block).and_then(|()| filler.sync_all()) {
                assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
                return;
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let target = std::ffi::CString::new(self.path.to_str().unwrap()).unwrap();
        // SAFETY: unmounting the tmpfs this guard mounted.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Names of containers, running or not, whose command contains `needle`.
fn containers_running(needle: &str) -> Vec<String> {
    let out = Command::new("docker").args(["ps", "-a", "--no-trunc", "--format", "{{.Names}} {{.Command}}"]).output();
    let out = out.expect("the docker CLI comes with the engine");
    text(&out.stdout).lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
}

#[test]
fn after_sigkill_the_next_run_sweeps_what_was_left_and_says_so() {
    let _engine = crate::util::engine_lock();
    let dir = temp_dir("sigkill");
    let file = long_level_scenario(dir.path(), "cli-sigkill");
    let results = dir.path().join("results");
    let mut bench = bench_until_level(&file, &results);
    bench.child.kill().unwrap();
    bench.finish();

    // Killed outright: the server container is left, and the results file is whole (written atomically).
    let files = files_in(&results.join("cli-sigkill"));
    assert_eq!(files.len(), 1, "no temporary file: {files:?}");
    let record = RunRecord::read(&files[0]).unwrap();
    assert_eq!(record.status, RunStatus::Running);
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

/// A level the server fails under load is a result, not a fault of the run:
/// the level is kept as failed with its reason, the table says it, exit 0.
#[test]
fn a_level_the_server_fails_is_a_result_and_exits_0() {
    let _engine = crate::util::engine_lock();
    let name = "cli-level-fails";
    let dir = temp_dir(name);
    // The server exits 2 s after it starts, inside the 4 s level.
    let file = write_scenario(dir.path(), name, "env = { EXIT_AFTER = \"2\" }", "duration = \"4s\"\nconnections = [2]");
    let results = dir.path().join("results");
    let out = bench_to_end(&file, &results, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let record = record_of(&results, name);
    assert_eq!(record.levels[0].status, record::LevelStatus::Failed, "{record:#?}");
    let failure = record.levels[0].failure.as_ref().expect("a reason");
    assert!(failure.message.contains("the server exited during the level"), "{failure:?}");
    assert!(stdout.contains("server exited"), "the table says why: {stdout}");
}

/// Two runs on the same CPUs would each report figures wrong by about half
/// without a word: the second refuses, naming the first (its pid and
/// scenario) and runs nothing; with `--wait` it starts once the first ends.
#[test]
fn a_second_run_on_the_same_cpus_refuses_or_waits() {
    let _engine = crate::util::engine_lock();
    let dir = temp_dir("cpu-lock");
    let results = dir.path().join("results");
    let first = bench_until_level(&long_level_scenario(dir.path(), "cli-cpu-first"), &results);
    let second = write_scenario(dir.path(), "cli-cpu-second", "", "duration = \"1s\"\nconnections = [2]");
    let out = bench_to_end(&second, &results, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let holder = format!("pid {}, scenario cli-cpu-first", first.child.id());
    assert!(stderr.contains("is in use by another stackbench run") && stderr.contains(&holder), "{stderr}");
    assert!(stderr.contains("--wait"), "it says what to do: {stderr}");
    assert!(!results.join("cli-cpu-second").exists(), "nothing ran");
    let waiting = bench_with_until(&second, &results, &["--wait"], &[], "waiting for CPU");
    assert!(waiting.seen.contains(&holder), "{}", waiting.seen);
    std::thread::sleep(Duration::from_secs(1));
    stop_with(first, libc::SIGINT, &results, "cli-cpu-first");
    let out = waiting.finish();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let record = record_of(&results, "cli-cpu-second");
    assert_eq!(record.levels.len(), 1, "it ran once the first ended: {stderr}");
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
    assert!(
        stderr.contains("`stackbench setup`, or `cargo xtask setup` in stackbench's checkout"),
        "what to do: {stderr}"
    );
    assert!(!results.exists(), "nothing is written without an engine");
}

/// The tiny Python server with a known hot function (`cli/tests/profile-context`).
pub(crate) fn python_scenario(dir: &Path, name: &str, workload: &str) -> PathBuf {
    write_scenario(dir, name, "build = \"cli/tests/profile-context\"", workload)
}

/// Runs `stackbench bench FILE EXTRA` (the test scenarios' root, results in `results`) to its end.
pub(crate) fn bench_to_end(file: &Path, results: &Path, extra: &[&str]) -> Output {
    bench_to_end_with(file, results, extra, &[])
}

/// [`bench_to_end`] with environment variables for `stackbench`.
pub(crate) fn bench_to_end_with(file: &Path, results: &Path, extra: &[&str], env: &[(&str, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackbench"))
        .args(["bench", file.to_str().unwrap(), "--root", crates_dir().to_str().unwrap(), "--results"])
        .arg(results)
        .args(extra)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

/// Runs `stackbench bench FILE --profile EXTRA` to its end, which must succeed; returns what it printed.
fn bench_profiled(file: &Path, results: &Path, extra: &[&str]) -> String {
    let out = bench_to_end(file, results, &[&["--profile"], extra].concat());
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// The results file of a run (its flame graphs sit beside it).
pub(crate) fn record_of(results: &Path, name: &str) -> RunRecord {
    let files: Vec<PathBuf> =
        files_in(&results.join(name)).into_iter().filter(|f| f.extension().is_some_and(|e| e == "json")).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    RunRecord::read(&files[0]).unwrap()
}

#[test]
fn a_profiled_level_finds_the_hot_function_and_leaves_no_profiler() {
    let _engine = crate::util::engine_lock();
    let name = "cli-profile";
    let dir = temp_dir(name);
    let file = python_scenario(dir.path(), name, "duration = \"3s\"\nconnections = [4]");
    let results = dir.path().join("results");
    let stderr = bench_profiled(&file, &results, &[]);
    let record = record_of(&results, name);
    let level = &record.levels[0];
    let profile = level.profile.as_ref().unwrap_or_else(|| panic!("no profile: {stderr}"));
    assert_eq!(profile.unavailable, None, "{stderr}");
    assert!(profile.tool.starts_with("py-spy"), "{profile:?}");
    assert!(profile.profiled_rps > 0.0);
    // Four handler threads burn CPU in it, one thread waits in select: it leads the samples.
    let stacks = report::profile::parse(&profile.folded);
    let top = report::profile::top_functions(&stacks, 3);
    assert!(top[0].function.starts_with("burn_cpu_here"), "{top:?}\n{stderr}");
    assert!(profile.states.as_ref().is_some_and(|s| s.snapshots > 0), "{profile:?}");
    assert!(stderr.contains("most samples of their own") && stderr.contains("burn_cpu_here"), "{stderr}");
    let svg = files_in(&results.join(name)).into_iter().find(|f| f.extension().is_some_and(|e| e == "svg"));
    let svg = std::fs::read_to_string(svg.expect("a flame graph beside the results")).unwrap();
    assert!(svg.contains("burn_cpu_here"));
    let left = containers_of_run(&record.run_id);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The Perl test server has no Python interpreter: perf profiles it (user
/// space, the cpu-clock event), with perl's own functions in the stacks.
#[test]
fn a_native_server_is_profiled_with_perf() {
    let _engine = crate::util::engine_lock();
    let name = "cli-profile-native";
    let dir = temp_dir(name);
    // A warm-up: the server forks a process per connection, and perf follows the processes there
    // are when the window opens.
    let file = write_scenario(dir.path(), name, "", "warmup = \"1s\"\nduration = \"2s\"\nconnections = [2]");
    let results = dir.path().join("results");
    let stderr = bench_profiled(&file, &results, &[]);
    let record = record_of(&results, name);
    let profile = record.levels[0].profile.as_ref().expect("a profile");
    assert_eq!(profile.unavailable, None, "{stderr}");
    assert!(profile.tool.starts_with("perf version") && profile.tool.contains("cpu-clock"), "{profile:?}");
    let stacks = report::profile::parse(&profile.folded);
    assert!(stacks.iter().map(|s| s.count).sum::<u64>() > 0, "{stderr}");
    // Each stack starts at its process (`perl-PID`); libperl's functions have symbols.
    assert!(stacks.iter().all(|s| s.frames[0].starts_with("perl-")), "{}", profile.folded);
    assert!(profile.folded.contains("Perl_"), "{}", profile.folded);
    assert!(containers_of_run(&record.run_id).is_empty());
}

/// `profile_at = "capacity"`: the rate the search confirmed is run again
/// (open loop) with the profiler, its cost read in p99 against the
/// confirming hold and one more unprofiled run.
#[test]
fn the_confirmed_capacity_is_profiled() {
    let _engine = crate::util::engine_lock();
    let name = "cli-profile-capacity";
    let dir = temp_dir(name);
    let file = python_scenario(dir.path(), name, "duration = \"2s\"\nconnections = [4]\nslo = { p99 = \"400ms\" }");
    // The file ends with the endpoint's table.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("profile_at = \"capacity\"\n");
    std::fs::write(&file, text).unwrap();
    let results = dir.path().join("results");
    // At its capacity the server is mostly idle (about a tenth of its CPU limit busy: the objective is a
    // p99 its tail reaches at about 10 req/s): py-spy's default 20 Hz gives 2 to 5 samples of running
    // threads in 2 s, too few to find the hot function every time; 100 Hz gives five times as many.
    let stderr = bench_profiled(&file, &results, &["--capacity-only", "--profile-rate", "100"]);
    let record = record_of(&results, name);
    let search = &record.capacities[0];
    let capacity = search.capacity.capacity_rps.unwrap_or_else(|| panic!("no capacity found: {stderr}"));
    let profile = search.profile.as_ref().unwrap_or_else(|| panic!("no profile: {stderr}"));
    assert_eq!(profile.unavailable, None, "{stderr}");
    assert_eq!(profile.offered_rps, Some(capacity));
    assert!(profile.p99_us.is_some_and(|p| p.iter().all(|&us| us > 0)), "{profile:?}");
    // Below saturation (the objective holds), with few samples: among the first.
    let top = report::profile::top_functions(&report::profile::parse(&profile.folded), 3);
    assert!(top.iter().any(|h| h.function.starts_with("burn_cpu_here")), "{top:?}\n{stderr}");
    assert!(stderr.contains("at the capacity,") && stderr.contains("p99"), "{stderr}");
    let files = files_in(&results.join(name));
    assert!(files.iter().any(|f| f.to_string_lossy().ends_with(".profile-health-capacity.svg")), "{files:?}");
    assert!(containers_of_run(&record.run_id).is_empty());
}

#[test]
fn a_signal_mid_profile_leaves_no_profiler() {
    let _engine = crate::util::engine_lock();
    let name = "cli-profile-int";
    let dir = temp_dir(name);
    let file = python_scenario(dir.path(), name, "duration = \"6s\"\nconnections = [2]");
    let results = dir.path().join("results");
    let bench = bench_with_until(&file, &results, &["--profile"], &[], "profiling GET /health");
    std::thread::sleep(Duration::from_secs(3));
    // `stop_with` checks that nothing of the run is left, the profiler included.
    let (_, record) = stop_with(bench, libc::SIGINT, &results, name);
    assert_eq!(record.levels.len(), 1, "{record:#?}");
    assert_eq!(record.levels[0].status, record::LevelStatus::Ok, "the unprofiled level is kept");
}

/// A two-variant matrix on a real engine: each variant runs as its own stack,
/// with its values recorded and its own results folder and image; `--only` and
/// `--matrix` pick and replace values without editing the file.
#[test]
fn a_matrix_runs_each_variant_and_records_its_values() {
    let _engine = crate::util::engine_lock();
    let dir = temp_dir("matrix");
    let file = dir.path().join("matrix.toml");
    std::fs::write(
        &file,
        r#"
name = "cli-matrix"
description = "the test server, {matrix.size} of a kind"
[matrix]
size = [1, 2]
[server]
build = "docker/tests/context"
cpus = 0.5
memory = "64m"
env = { SIZE = "{matrix.size}" }
ready = { path = "/health", timeout = "20s" }
[workload]
warmup = "0s"
duration = "1s"
connections = [2]
[[workload.endpoints]]
name = "health"
path = "/health"
"#,
    )
    .unwrap();
    let results = dir.path().join("results");
    let out = bench_to_end(&file, &results, &["--no-capacity"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("matrix.toml: 2 of its 2 variant(s) (size)"), "{stderr}");
    for size in ["1", "2"] {
        let record = record_of(&results, &format!("cli-matrix_size-{size}"));
        assert_eq!(record.scenario.name, format!("cli-matrix[size={size}]"));
        assert_eq!(record.scenario.family, "cli-matrix");
        assert_eq!(record.scenario.matrix, [("size".to_string(), size.to_string())].into());
        assert_eq!(record.scenario.description, format!("the test server, {size} of a kind"));
        assert_eq!(record.levels.len(), 1, "{stderr}");
        assert!(record.provenance.images["server"].starts_with("sha256:"));
        assert!(stderr.contains(&format!("building stackbench/cli-matrix_size-{size}:latest")), "{stderr}");
    }
    // --only picks one; --matrix gives values the file does not have.
    let picked = dir.path().join("picked");
    let out =
        bench_to_end(&file, &picked, &["--no-capacity", "--only", "size=2", "--matrix", "size=2,3", "--verify-only"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let folders: Vec<String> =
        files_in(&picked).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(folders, ["cli-matrix_size-2"], "{stderr}");
    assert!(stderr.contains("matrix.toml: 1 of its 2 variant(s) (size)"), "{stderr}");
}

/// `--plan` says what a suite would run and about how long, and runs nothing: no CPU lock, no container,
/// no results; an image the engine lacks is counted as a build.
#[test]
fn a_plan_prices_the_suite_and_runs_nothing() {
    let dir = temp_dir("plan");
    let file = write_scenario(dir.path(), "cli-plan", "", "duration = \"2s\"\nconnections = [2, 4]");
    let results = dir.path().join("results");
    let out = stackbench(&[
        "bench",
        file.to_str().unwrap(),
        "--plan",
        "--repeat",
        "3",
        "--no-capacity",
        "--root",
        crates_dir().to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let row = stdout.lines().find(|l| l.starts_with("cli-plan")).unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    // endpoints, levels, capacity searches, then the time of one run: 15 s to start and two levels of 2 s,
    // each with the default 1 s pause after it.
    assert_eq!(&cells[1..4], ["1", "2", "0"], "{row}");
    assert!(row.ends_with("21 s"), "{row}");
    assert!(stdout.contains("1 run(s) x 3 repeat(s): 6 level(s) and 0 capacity search(es) in all"), "{stdout}");
    assert!(stdout.contains("stackbench/cli-plan:latest") || stdout.contains("1 image(s)"), "{stdout}");
    assert!(!results.exists(), "a plan writes no results");
    assert!(containers_running("cli-plan").is_empty());
}
