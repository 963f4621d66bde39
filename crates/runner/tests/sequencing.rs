//! The runner's sequencing against a fake engine (`fake.rs`), no Docker needed:
//! levels, then the capacity search, then cleanup; a server that exits; an
//! engine lost mid-level; a resumed run; a profile. What only a real engine
//! shows (builds, limits, cgroups) is in `runs.rs` and `faults.rs`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use record::{FailureKind, LevelStatus, RunRecord, RunStatus};
use runner::{Cancel, Event, RunOptions, Runner};

use crate::fake::{FakeEngine, Log, Script, SERVICE_TIME};
use crate::util::{options, scenario, temp_results};

/// `runs.rs`'s workload with shorter levels, and objectives the fake's one worker meets below its capacity.
fn workload() -> String {
    let short = crate::runs::WORKLOAD
        .replace("duration = \"1s\"", "duration = \"300ms\"")
        .replace("warmup = \"200ms\"", "warmup = \"100ms\"")
        .replace("pause = \"200ms\"", "pause = \"100ms\"")
        .replace("connections = [2, 8]", "connections = [2, 4]");
    short + "slo = { p99 = \"50ms\", errors = \"0.1%\" }\n"
}

/// What a run against the fake did: its result, the events as text, and the engine's log.
struct Ran {
    result: Result<(std::path::PathBuf, RunRecord), runner::Error>,
    events: Vec<String>,
    log: Log,
}

async fn run_fake(loaded: &scenario::Loaded, script: Script, options: RunOptions) -> Ran {
    let (engine, log) = FakeEngine::new(script);
    let events = Mutex::new(Vec::new());
    let runner = Runner::builder(engine, options)
        .cancel(Cancel::new())
        .observer(|e: Event<'_>| events.lock().unwrap().push(event_text(&e)))
        .build()
        .unwrap();
    let result = runner.run(loaded, 1).await;
    drop(runner);
    Ran { result, events: events.into_inner().unwrap(), log }
}

/// An event as a line: steps as they read, levels and searches by kind.
fn event_text(e: &Event<'_>) -> String {
    match e {
        Event::Step(s) => format!("step {s}"),
        Event::Warning(s) => format!("warning {s}"),
        Event::Level(l) => format!("level {} {:?}", l.connections, l.status),
        Event::Capacity(c) => format!("capacity {}", c.endpoint),
        Event::Profile { at, .. } => format!("profile at {at}"),
        other => format!("{other:?}").split_whitespace().next().unwrap_or_default().to_string(),
    }
}

fn no_capacity(results: &std::path::Path) -> RunOptions {
    RunOptions { capacity: false, ..options(results) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_run_in_order_then_the_capacity_search_then_cleanup() {
    let results = temp_results("fake-ok");
    let started = Instant::now();
    let ran = run_fake(&scenario("fake-ok", "", &workload()), Script::default(), options(results.path())).await;
    let (path, record) = ran.result.unwrap();
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.reason);
    assert_eq!(
        record.levels.iter().map(|l| (l.connections, l.status)).collect::<Vec<_>>(),
        [(2, LevelStatus::Ok), (4, LevelStatus::Ok)]
    );
    for level in &record.levels {
        let load = level.load.as_ref().unwrap();
        assert!(load.requests > 20 && load.errors.total() == 0, "{load:?}");
        // The fake's one worker: no more than its capacity.
        assert!(load.rps <= 1.0 / SERVICE_TIME.as_secs_f64() * 1.1, "{load:?}");
        let server = level.server.as_ref().expect("figures through the stats API");
        assert!((40.0..60.0).contains(&server.cpu_pct_mean), "the fake is half a CPU busy: {server:?}");
    }
    let search = &record.capacities[0];
    let capacity = search.capacity.capacity_rps.unwrap_or_else(|| panic!("{search:#?}"));
    assert!(capacity <= 1.0 / SERVICE_TIME.as_secs_f64(), "{capacity} req/s from a 500 req/s server");
    // Built, started, verified, levels in order, the search after them, then removed; nothing left.
    let order: Vec<&str> = ran
        .events
        .iter()
        .map(String::as_str)
        .filter(|e| e.starts_with("level") || e.starts_with("capacity") || e.contains("verified"))
        .collect();
    assert_eq!(
        order,
        ["step verified 1 endpoint(s)", "level 2 Ok", "level 4 Ok", "capacity health"],
        "{:#?}",
        ran.events
    );
    assert_eq!(
        ran.log.calls(),
        ["build stackbench/fake-ok:latest", "start stackbench/fake-ok:latest", "remove stackbench/fake-ok:latest"]
    );
    assert!(ran.log.left().is_empty());
    assert_eq!(RunRecord::read(&path).unwrap(), record, "the file on disk is the record");
    eprintln!("levels and a capacity search against the fake engine in {:.1?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_exits_fails_its_level_and_a_new_one_serves_the_next() {
    let results = temp_results("fake-exits");
    // Each server exits 700 ms after it starts: within two or three levels, never within one.
    let workload = workload().replace("connections = [2, 4]", "connections = [2, 2, 2, 2, 2]");
    let script = Script { exit_after: Some(Duration::from_millis(700)), ..Script::default() };
    let ran = run_fake(&scenario("fake-exits", "", &workload), script, no_capacity(results.path())).await;
    let (_, record) = ran.result.unwrap();
    let statuses: Vec<LevelStatus> = record.levels.iter().map(|l| l.status).collect();
    assert_eq!(statuses.len(), 5, "every level is a result: {statuses:?}");
    let failed = statuses.iter().position(|s| *s == LevelStatus::Failed).unwrap_or_else(|| panic!("{record:#?}"));
    assert!(statuses[..failed].iter().all(|s| *s == LevelStatus::Ok), "{statuses:?}");
    let failure = record.levels[failed].failure.as_ref().unwrap();
    assert_eq!(failure.kind, FailureKind::ServerExited, "{failure:?}");
    assert!(failure.message.contains("code 3") && failure.logs_tail.contains("fake server"), "{failure:?}");
    // A new server for the level after, which it measures.
    assert_eq!(statuses.get(failed + 1), Some(&LevelStatus::Ok), "{statuses:?}");
    let starts = ran.log.calls().iter().filter(|c| c.starts_with("start")).count();
    assert!(starts >= 2, "{:?}", ran.log.calls());
    assert!(ran.log.left().is_empty(), "{:?}", ran.log.left());
    // The warning says how the server ended and what happens, with no dangling lead-in to log lines.
    let warning = ran.events.iter().find(|e| e.contains("starting a new server")).expect("the new server is said");
    assert!(warning.contains("before the next level: server exited (code 3)"), "{warning}");
    assert!(!warning.contains("last lines"), "{warning}");
}

/// A server that exits under a probe (killed at its memory limit, say) fails that probe, is recorded with
/// its log, and a new one takes the next: the search goes on rather than stopping without a capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_exits_in_a_search_is_replaced_and_the_search_goes_on() {
    let results = temp_results("fake-search-exits");
    // Each server exits 1.2 s after it starts: every few probes of 100 ms + 300 ms.
    let script = Script { exit_after: Some(Duration::from_millis(1200)), ..Script::default() };
    let options = RunOptions { sweep: false, ..options(results.path()) };
    let ran = run_fake(&scenario("fake-search-exits", "", &workload()), script, options).await;
    let (_, record) = ran.result.unwrap();
    let search = &record.capacities[0];
    assert!(search.failure.is_none(), "{search:#?}");
    assert!(!search.server_exits.is_empty(), "{search:#?}");
    for exit in &search.server_exits {
        assert_eq!(exit.failure.kind, FailureKind::ServerExited);
        assert_eq!(exit.failure.message, "the server exited (code 3)", "{exit:?}");
        assert!(exit.failure.logs_tail.contains("fake server"), "{exit:?}");
        // At the rate of a probe that failed.
        assert!(search.capacity.probes.iter().any(|p| p.offered == exit.offered_rps && !p.passed), "{search:#?}");
    }
    // More probes than one server lives through, each server replaced.
    assert!(search.capacity.probes.len() >= 4, "{search:#?}");
    let starts = ran.log.calls().iter().filter(|c| c.starts_with("start")).count();
    assert!(starts > search.server_exits.len(), "{:?}", ran.log.calls());
    assert!(ran
        .events
        .iter()
        .any(|e| e.contains("exited (code 3) under the probe at") && e.contains("starting a new server")));
    assert!(ran.log.left().is_empty(), "{:?}", ran.log.left());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_lost_mid_level_keeps_the_level_and_names_what_was_left() {
    let results = temp_results("fake-lost");
    // Lost after two stats samples: in the first level's measured window, which at 1 s has four or five
    // (one every 250 ms), so that two are kept and the rest are missing however the ticks fall.
    let script = Script { lost_after_samples: Some(2), ..Script::default() };
    let workload = workload().replace("duration = \"300ms\"", "duration = \"1s\"");
    let ran = run_fake(&scenario("fake-lost", "", &workload), script, no_capacity(results.path())).await;
    let error = ran.result.unwrap_err();
    let said = error.to_string();
    assert!(matches!(error, runner::Error::EngineLost { levels: 1, .. }), "{said}");
    assert!(said.contains("left running: stackbench-") && said.contains("--resume"), "{said}");
    let file = record::folder::files(results.path()).unwrap().pop().expect("the results file");
    let record = RunRecord::read(&file).unwrap();
    assert_eq!(record.status, RunStatus::Interrupted, "{record:#?}");
    assert_eq!(record.levels.len(), 1, "the level under way is kept: {record:#?}");
    let server = record.levels[0].server.as_ref().expect("figures from before the engine went");
    assert!(server.missing_s > 0.0, "{server:?}");
    assert_eq!(ran.log.left().len(), 1, "the server could not be removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_run_measures_only_what_is_left() {
    let results = temp_results("fake-resume");
    let loaded = scenario("fake-resume", "", &workload());
    let ran = run_fake(&loaded, Script::default(), no_capacity(results.path())).await;
    let (path, mut record) = ran.result.unwrap();
    // As if it had stopped after its first level.
    record.levels.truncate(1);
    record.status = RunStatus::Interrupted;
    record.write(&path).unwrap();

    let (engine, log) = FakeEngine::new(Script::default());
    let events = Mutex::new(Vec::new());
    let runner = Runner::builder(engine, no_capacity(results.path()))
        .observer(|e: Event<'_>| events.lock().unwrap().push(event_text(&e)))
        .build()
        .unwrap();
    let (same, resumed) = runner.resume(&loaded, path.clone(), record).await.unwrap();
    drop(runner);
    assert_eq!(same, path, "the same results file");
    assert_eq!(resumed.status, RunStatus::Complete, "{:?}", resumed.reason);
    assert_eq!(resumed.levels.iter().map(|l| l.connections).collect::<Vec<_>>(), [2, 4]);
    let levels: Vec<String> = events.into_inner().unwrap().into_iter().filter(|e| e.starts_with("level")).collect();
    assert_eq!(levels, ["level 4 Ok"], "only the level left ran");
    assert!(log.left().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_runs_the_level_again_beside_a_profiler_and_removes_it() {
    let results = temp_results("fake-profile");
    let workload = workload().replace("connections = [2, 4]", "connections = [2]");
    let mut options = no_capacity(results.path());
    options.choices.profile = true;
    let ran = run_fake(&scenario("fake-profile", "", &workload), Script::default(), options).await;
    let (_, record) = ran.result.unwrap();
    let profile = record.levels[0].profile.as_ref().expect("the level's profile");
    assert_eq!(profile.unavailable.as_deref(), Some("the fake engine runs no profiler"), "{profile:?}");
    assert!(ran.events.iter().any(|e| e == "profile at 2 connections"), "{:#?}", ran.events);
    let calls = ran.log.calls();
    let profiler = calls.iter().position(|c| c.starts_with("start stackbench/profiler")).expect("a profiler ran");
    assert!(calls[profiler + 1..].iter().any(|c| c.starts_with("remove stackbench/profiler")), "{calls:?}");
    assert!(ran.log.left().is_empty(), "{:?}", ran.log.left());
}

/// A verification runs several stacks at once (it waits on engines, not on a CPU), each line named by its
/// stack, while a base image several of them need is looked for (or made) by one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_runs_stacks_at_once_and_makes_a_base_once() {
    let results = temp_results("fake-verify");
    let names: Vec<String> = (0..6).map(|i| format!("fake-verify-{i}")).collect();
    let loaded: Vec<scenario::Loaded> = names.iter().map(|n| scenario(n, "", &workload())).collect();
    let script = Script { slow: Some(Duration::from_millis(300)), ..Script::default() };
    let (engine, log) = FakeEngine::new(script);
    let events = Mutex::new(Vec::new());
    let options = RunOptions { verify_only: true, ..options(results.path()) };
    let runner = Runner::builder(engine, options)
        .observer(|e: Event<'_>| events.lock().unwrap().push(event_text(&e)))
        .build()
        .unwrap();
    let suite = runner::SuiteOptions { repeat: 1, resume: false, wait: false };
    let ran = runner.run_suite(&loaded, &suite).await.unwrap();
    drop(runner);
    let events = events.into_inner().unwrap();
    assert_eq!(ran.end, runner::SuiteEnd::Complete, "{events:#?}");
    // In the order given, each verified and measured nothing.
    let stacks: Vec<&str> = ran.records.iter().map(|r| r.scenario.name.as_str()).collect();
    assert_eq!(stacks, names);
    assert!(ran.records.iter().all(|r| r.status == RunStatus::Complete && r.levels.is_empty()), "{events:#?}");
    assert_eq!(log.most_at_once("start"), runner::VERIFY_AT_ONCE, "{:?}", log.calls());
    assert_eq!(log.most_at_once("base debian:bookworm"), 1, "{:?}", log.calls());
    for name in &names {
        assert!(events.contains(&format!("step {name}: verified 1 endpoint(s)")), "{events:#?}");
    }
    assert!(log.left().is_empty());
}
