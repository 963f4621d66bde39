//! What a run says when the server or the machine is in trouble: each fault
//! made on purpose, what the user sees, and what the results file keeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use record::RunStatus;

use crate::bench_command::{
    bench_to_end, bench_with_until, containers_of_run, files_in, record_of, temp_dir, write_scenario,
};
use crate::util::text;

/// A worker that keeps 16 MiB per request reaches the container's 64 MiB, the
/// OOM killer ends it and its master starts another, again and again: the
/// level records its peak at the limit, the kills and the replaced workers,
/// and the table says so with the limit.
#[test]
fn a_server_at_its_memory_limit_says_so() {
    let _engine = crate::util::engine_lock();
    let name = "cli-memory-limit";
    let dir = temp_dir(name);
    let server = "build = \"cli/tests/profile-context\"\ncommand = [\"python3\", \"/grow.py\"]";
    let file = write_scenario(dir.path(), name, server, "duration = \"3s\"\nconnections = [4]");
    let results = dir.path().join("results");
    let out = bench_to_end(&file, &results, &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "a level the server fails is a result: {stderr}");
    let record = record_of(&results, name);
    let server = record.levels[0].server.clone().unwrap_or_else(|| panic!("no server figures: {record:#?}"));
    assert_eq!(server.memory_limit, 64 << 20);
    assert!(server.memory_peak as f64 >= report::notes::MEMORY_NEAR_LIMIT * (64 << 20) as f64, "{server:?}\n{stderr}");
    assert!(server.oom_kills > 0, "{server:?}\n{stderr}");
    let churn = server.processes.expect("processes counted");
    assert!(churn.ended > 0 && churn.started > 0, "the master replaced its worker: {server:?}");
    let said = [&stdout, &stderr];
    for words in ["memory at its limit of 64 MiB", "OOM-killed", "server process(es) ended and"] {
        assert!(
            said.iter().all(|s| s.contains(words)),
            "{words:?} in the table and the level's line:\n{stdout}\n{stderr}"
        );
    }
    assert!(containers_of_run(&record.run_id).is_empty());
}

/// A process spinning on the server's CPU takes CPU time the server and the
/// generator did not use: the level records it as interference and is called noisy.
#[test]
fn another_process_on_the_servers_cpu_marks_the_level_noisy() {
    let _engine = crate::util::engine_lock();
    let name = "cli-interference";
    let dir = temp_dir(name);
    let file = write_scenario(dir.path(), name, "", "duration = \"3s\"\nconnections = [2]");
    let results = dir.path().join("results");
    // The generator takes CPU 0, the server the others: the last is the server's.
    let cpu = std::thread::available_parallelism().unwrap().get() - 1;
    assert!(cpu > 0, "needs two CPUs");
    let stop = Arc::new(AtomicBool::new(false));
    let burner = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // SAFETY: an all-zero cpu_set_t is empty; CPU_SET and sched_setaffinity only touch it and this thread.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                assert_eq!(libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set), 0);
            }
            while !stop.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        })
    };
    let out = bench_to_end(&file, &results, &[]);
    stop.store(true, Ordering::Relaxed);
    burner.join().unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let record = record_of(&results, name);
    let other = record.levels[0].server.as_ref().and_then(|s| s.interference_pct).expect("interference measured");
    assert!(other > 25.0, "a CPU-burning thread took {other:.1}% of a CPU\n{stderr}");
    assert!(stdout.contains("noisy machine: other processes took"), "{stdout}");
}

/// A suite whose process dies mid-level (SIGKILL: the machine went down)
/// goes on with `--resume` from its first unfinished level, in the same
/// results file, keeping the level it had finished as it was; once done, a
/// second `--resume` runs nothing; a scenario changed since is refused.
#[test]
fn a_suite_killed_mid_level_goes_on_with_resume() {
    let _engine = crate::util::engine_lock();
    let name = "cli-resume";
    let dir = temp_dir(name);
    let file = write_scenario(dir.path(), name, "", "duration = \"2s\"\nconnections = [2, 3]");
    let results = dir.path().join("results");
    let killed = bench_with_until(&file, &results, &[], &[], "GET /health: 3 connections");
    killed.kill();
    let before = record_of(&results, name);
    assert_eq!((before.status, before.levels.len()), (RunStatus::Running, 1), "{before:#?}");

    let out = bench_to_end(&file, &results, &["--resume"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("going on with") && stderr.contains("(1 level(s) and 0 capacity search(es) kept)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("left by an earlier run that did not finish"),
        "the killed run's server is removed: {stderr}"
    );
    let after = record_of(&results, name);
    assert_eq!(after.status, RunStatus::Complete, "{after:#?}");
    assert_eq!((after.run_id.as_str(), after.suite_id.as_str()), (before.run_id.as_str(), before.suite_id.as_str()));
    assert_eq!(after.levels[0], before.levels[0], "the finished level is kept as it was");
    assert_eq!(after.levels.iter().map(|l| l.connections).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(after.resumed_at.len(), 1);
    assert!(containers_of_run(&after.run_id).is_empty());

    let again = bench_to_end(&file, &results, &["--resume", &after.suite_id]);
    let stderr = text(&again.stderr);
    assert!(again.status.success() && stderr.contains("finished before (complete)"), "{stderr}");
    assert_eq!(record_of(&results, name), after, "nothing ran");

    std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("\"2s\"", "\"3s\"")).unwrap();
    let mut record = after.clone();
    record.status = RunStatus::Interrupted;
    record.write(&files_in(&results.join(name))[0]).unwrap();
    let changed = bench_to_end(&file, &results, &["--resume"]);
    let stderr = text(&changed.stderr);
    assert_eq!(changed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("changed since") && stderr.contains("without --resume"), "{stderr}");
}
