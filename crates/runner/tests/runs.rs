//! Whole runs: success, a server that dies mid-sweep, failed checks, Ctrl-C.

use record::{FailureKind, LevelStatus, RunRecord, RunStatus};
use runner::Cancel;

use crate::util::{run, scenario, secs, temp_results};

pub const WORKLOAD: &str = r#"
[workload]
duration = "1s"
warmup = "200ms"
pause = "200ms"
connections = [2, 8]

[[workload.endpoints]]
name = "health"
path = "/health"
expect_body = "ok"
"#;

#[tokio::test]
async fn a_run_measures_every_level_and_cleans_up() {
    let results = temp_results("ok");
    let (path, record, events) = run(&scenario("runner-ok", "", WORKLOAD), results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.reason);
    assert_eq!(record.levels.iter().map(|l| l.connections).collect::<Vec<_>>(), vec![2, 8]);
    for level in &record.levels {
        assert_eq!(level.status, LevelStatus::Ok, "{:?}", level.failure);
        let load = level.load.as_ref().unwrap();
        assert!(load.requests > 100 && load.errors.total() == 0, "{load:?}");
        let server = level.server.as_ref().expect("cgroup sampled");
        assert_eq!(server.cpu_limit_pct, 50.0);
        assert!(server.cpu_pct_mean > 1.0 && server.cpu_pct_mean < 75.0, "{server:?}");
        assert!(server.memory_peak > 0 && server.memory_peak <= 64 << 20, "{server:?}");
        assert!(level.generator_cpu_pct > 0.0);
    }
    // The file on disk is the record, and it is the only one.
    assert_eq!(RunRecord::read(&path).unwrap(), record);
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    let p = &record.provenance;
    assert_eq!((p.generator_cpus.as_slice(), p.server_cpuset.as_str(), p.server_cpus), (&[0][..], "1", 0.5));
    assert!(p.images["server"].starts_with("sha256:"), "{p:?}");
    assert_eq!(record.scenario.sha256.len(), 64);
    assert!(record.to_first_measured_s.is_some());
    assert!(events.iter().any(|e| e.contains("verified 1 endpoint")), "{events:#?}");
}

#[tokio::test]
async fn a_server_that_dies_fails_its_level_and_the_run_goes_on() {
    let results = temp_results("dies");
    // The server exits 2 s after it starts: during the second level.
    let workload = WORKLOAD.replace("connections = [2, 8]", "connections = [2, 2, 2]");
    let loaded = scenario("runner-dies", "env = { EXIT_AFTER = \"2\" }", &workload);
    let (_, record, _) = run(&loaded, results.path(), Cancel::new()).await;
    let statuses: Vec<_> = record.levels.iter().map(|l| l.status).collect();
    assert_eq!(record.levels.len(), 3, "{record:#?}");
    let failed = record.levels.iter().find(|l| l.status == LevelStatus::Failed).expect("a level failed");
    let failure = failed.failure.as_ref().unwrap();
    assert_eq!(failure.kind, FailureKind::ServerExited, "{failure:?}");
    assert!(failure.message.contains("code 3"), "{failure:?}");
    assert!(failure.logs_tail.contains("exiting on purpose"), "{failure:?}");
    // A new server was started, and the last level measured it.
    assert_eq!(statuses.last(), Some(&LevelStatus::Ok), "{statuses:?}");
}

#[tokio::test]
async fn a_server_that_stops_answering_between_levels_is_replaced() {
    let results = temp_results("stalls");
    // The server stops accepting connections 3 s after it starts: after the first level (which ends
    // about 2.5 s in), before the second. The second level must not measure a server still busy.
    let workload =
        WORKLOAD.replace("duration = \"1s\"", "duration = \"2s\"").replace("warmup = \"200ms\"", "warmup = \"0s\"");
    let workload =
        workload.replace("pause = \"200ms\"", "pause = \"1s\"").replace("connections = [2, 8]", "connections = [2, 2]");
    let server = "env = { STALL_AFTER = \"3\" }\nready = { path = \"/health\", timeout = \"3s\" }";
    let loaded = scenario("runner-stalls", server, &workload);
    let started = std::time::Instant::now();
    let (_, record, events) = run(&loaded, results.path(), Cancel::new()).await;
    let statuses: Vec<_> = record.levels.iter().map(|l| l.status).collect();
    assert_eq!(statuses, [LevelStatus::Ok, LevelStatus::Ok], "{record:#?}");
    let replaced = events.iter().find(|e| e.contains("before the next level")).expect("a warning says so");
    assert!(replaced.contains("was not ready after 3s") && replaced.contains("starting a new server"), "{replaced}");
    assert!(replaced.contains("/health never answered"), "a server that stopped accepting answers nothing: {replaced}");
    // Both levels measured a server that answered: the second one, the new server.
    assert!(record.levels.iter().all(|l| l.load.as_ref().unwrap().requests > 0), "{record:#?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "bounded by the ready timeout");
}

#[tokio::test]
async fn a_failed_verification_stops_the_scenario_with_the_reason() {
    let results = temp_results("verify");
    let workload = WORKLOAD.replace("path = \"/health\"", "path = \"/status500\"");
    let (_, record, _) = run(&scenario("runner-verify", "", &workload), results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.contains("endpoint 'health' (GET /status500) failed: status 500, expected 200"), "{reason}");
    assert!(reason.contains("listening on 127.0.0.1:"), "the server's last lines are shown: {reason}");
    assert!(record.levels.is_empty());
}

#[tokio::test]
async fn a_server_that_never_gets_ready_is_reported_with_its_logs() {
    let results = temp_results("notready");
    let loaded =
        scenario("runner-notready", "command = [\"perl\", \"-e\", \"print qq(no luck\\n); exit 7\"]", WORKLOAD);
    let (_, record, _) = run(&loaded, results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.contains("server exited (code 7) before it was ready"), "{reason}");
    assert!(reason.contains("no luck"), "{reason}");
}

/// A readiness path that answers, but not 2xx (an app that needs its configuration, a wrong path), says
/// what it answered: waiting it out and saying only "not ready" left the user to guess.
#[tokio::test]
async fn a_readiness_check_that_answers_an_error_says_what_it_answered() {
    let results = temp_results("ready500");
    let server = "ready = { path = \"/status500\", timeout = \"2s\" }";
    let (_, record, _) = run(&scenario("runner-ready500", server, WORKLOAD), results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.contains("was not ready after 2s: http://127.0.0.1:"), "{reason}");
    assert!(reason.contains("/status500 answered 500 Internal Server Error, not 2xx"), "{reason}");
}

#[tokio::test]
async fn cancelling_keeps_finished_levels_and_removes_containers() {
    let results = temp_results("cancel");
    let workload = WORKLOAD.replace("duration = \"1s\"", "duration = \"30s\"");
    let loaded = scenario("runner-cancel", "", &workload);
    let cancel = Cancel::new();
    let canceller = cancel.clone();
    let started = std::time::Instant::now();
    tokio::spawn(async move {
        tokio::time::sleep(secs(6.0)).await;
        canceller.cancel();
    });
    let (path, record, _) = run(&loaded, results.path(), cancel).await;
    assert!(started.elapsed() < secs(20.0), "cancel took effect: {:?}", started.elapsed());
    assert_eq!(record.status, RunStatus::Interrupted);
    let level = &record.levels[0];
    assert_eq!(level.failure.as_ref().map(|f| f.kind), Some(FailureKind::Interrupted));
    assert!(level.load.as_ref().unwrap().requests > 0, "the partial level is kept");
    assert_eq!(RunRecord::read(&path).unwrap().status, RunStatus::Interrupted);
}

#[tokio::test]
async fn sidecars_start_first_and_the_server_finds_them() {
    let results = temp_results("sidecar");
    let sidecar = r#"
[[sidecars]]
name = "upstream"
build = "docker/tests/context"
cpus = 0.5
memory = "64m"
"#;
    let workload = WORKLOAD
        .replace("path = \"/health\"\nexpect_body = \"ok\"", "path = \"/sidecar\"\nexpect_body = \"reached upstream\"")
        .replace("connections = [2, 8]", "connections = [2]");
    let (_, record, events) = run(&scenario("runner-sidecar", sidecar, &workload), results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.reason);
    let load = record.levels[0].load.as_ref().unwrap();
    assert!(load.requests > 10 && load.errors.total() == 0, "{:?}", load.errors);
    let position =
        |what: &str| events.iter().position(|e| e.contains(what)).unwrap_or_else(|| panic!("{what}: {events:#?}"));
    assert!(position("starting upstream") < position("starting server"), "{events:#?}");
    assert!(record.provenance.images.contains_key("upstream"), "{:?}", record.provenance.images);
}

#[tokio::test]
async fn a_failed_build_shows_its_end_and_keeps_the_whole_log() {
    let results = temp_results("build");
    let text =
        scenario("runner-build", "", WORKLOAD).text.replace("docker/tests/context", "runner/tests/broken-context");
    let loaded = scenario::parse(std::path::Path::new("runner-build.toml"), &text, &crate::util::root()).unwrap();
    let (_, record, _) = run(&loaded, results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Failed);
    let reason = record.reason.unwrap();
    assert!(reason.contains("building image 'stackbench/runner-build:latest' failed"), "{reason}");
    assert!(reason.contains("this step breaks the build"), "the last lines are shown: {reason}");
    let log = std::fs::read_to_string(&record.build_logs["server"]).unwrap();
    assert!(log.contains("Step 1/") && log.contains("returned a non-zero code: 42"), "{log}");
}

#[tokio::test]
async fn an_endpoint_with_objectives_gets_a_capacity_search_after_its_levels() {
    let results = temp_results("capacity");
    let workload = WORKLOAD
        .replace("connections = [2, 8]\n", "connections = [2, 8]\nslo = { p99 = \"200ms\", errors = \"1%\" }\n");
    let loaded = scenario("runner-capacity", "", &workload);
    let (path, record, events) = run(&loaded, results.path(), Cancel::new()).await;
    assert_eq!(record.status, RunStatus::Complete, "{:?}", record.reason);
    assert_eq!(record.levels.len(), 2);
    assert_eq!(record.capacities.len(), 1, "{events:#?}");
    let search = &record.capacities[0];
    assert_eq!((search.endpoint.as_str(), search.failure.as_ref()), ("health", None));
    let probes = &search.capacity.probes;
    assert!(!probes.is_empty() && probes.len() <= 12, "{} probes", probes.len());
    // The first rate is 90% of the capacity the levels point at: their best req/s, or the CPU ceiling
    // (the limit over the CPU per request) when that is lower; the run says which. Every probe ran open loop.
    let peak = record.levels.iter().map(|l| l.load.as_ref().unwrap().rps).fold(0.0, f64::max);
    assert!(probes[0].offered <= 0.9 * peak + 1e-6, "{} vs peak {peak}", probes[0].offered);
    let estimated = events.iter().find(|e| e.contains("capacity estimated from")).expect("the estimate is said");
    let said: f64 =
        estimated.split(", ").nth(1).and_then(|r| r.split(" req/s").next()).and_then(|r| r.parse().ok()).unwrap();
    assert!((probes[0].offered - 0.9 * said).abs() <= 0.9, "{} vs 90% of {estimated}", probes[0].offered);
    for probe in probes {
        assert_eq!(probe.load.options.rate, Some(probe.offered));
        assert!(probe.load.duration_s <= 1.1, "probes are no longer than the levels");
    }
    // Each probe has the server's figures beside it.
    assert_eq!(search.servers.len(), probes.len());
    assert!(search.servers.iter().all(|s| s.as_ref().is_some_and(|s| s.cpu_limit_pct == 50.0 && s.cpu_pct_mean > 0.0)));
    if let Some(capacity) = search.capacity.capacity_rps {
        assert!(search.capacity.confirm.as_ref().is_some_and(|c| c.passed && c.offered == capacity));
    }
    assert_eq!(RunRecord::read(&path).unwrap(), record);
    assert!(events.iter().any(|e| e.contains("capacity search from")), "{events:#?}");
    assert!(events.iter().any(|e| e.starts_with("Capacity(")), "{events:#?}");

    // Only the search: no levels; a short closed-loop estimate gives the first rate instead.
    let options = runner::RunOptions { sweep: false, ..crate::util::options(results.path()) };
    let (_, record, _) = crate::util::run_with(&loaded, options, Cancel::new()).await;
    assert!(record.levels.is_empty());
    let first = record.capacities[0].capacity.probes[0].offered;
    assert!(first > 100.0 && first < peak * 2.0, "first probe at {first} req/s (levels peaked at {peak})");
}
