//! A snapshot of the results table, from a fixed run record.

use record::{Failure, FailureKind, LevelRecord, LevelStatus, RunRecord, RunStatus, ScenarioInfo, ServerUsage};

use crate::util::fixture;

fn record() -> RunRecord {
    let level = |connections: usize, failure: Option<Failure>| LevelRecord {
        endpoint: "health".into(),
        method: "GET".into(),
        path: "/health".into(),
        connections,
        keepalive: true,
        protocol: Default::default(),
        repeat: 1,
        status: if failure.is_some() { LevelStatus::Failed } else { LevelStatus::Ok },
        failure,
        load: Some(fixture(false)),
        server: Some(ServerUsage {
            cpu_pct_mean: 99.6,
            cpu_pct_max: 101.0,
            cpu_limit_pct: 100.0,
            memory_mean: 40 << 20,
            memory_peak: 42 << 20,
            nr_throttled: 12,
            throttled_s: 0.4,
            ..ServerUsage::default()
        }),
        generator_cpu_pct: 95.0,
        generators: Vec::new(),
        profile: None,
    };
    let exited = Failure {
        kind: FailureKind::ServerExited,
        message: "the server exited during the level (code 3)".into(),
        logs_tail: "exiting on purpose\n".into(),
    };
    RunRecord {
        run_id: "flask-gevent-20261124T000000Z-1".into(),
        suite_id: "20261124T000000Z-1".into(),
        levels: vec![level(10, None), level(100, Some(exited))],
        ..record::fixture::run("flask-gevent", "00")
    }
}

/// A passing capacity probe at `rps`.
fn probe(rps: f64) -> loadgen::capacity::Probe {
    let load = fixture(true);
    loadgen::capacity::Probe {
        offered: rps,
        achieved: rps,
        connections: 40,
        latency_us: load.latency_us,
        latency_raw_us: load.latency_raw_us,
        errors: 0,
        passed: true,
        failed: Vec::new(),
        connections_capped: false,
        load,
    }
}

#[test]
fn results_table() {
    let failed = RunRecord {
        scenario: ScenarioInfo { name: "broken-stack".into(), ..record().scenario },
        status: RunStatus::Failed,
        reason: Some("verification of endpoint 'health' (GET /health) failed: status 500, expected 200\nmore".into()),
        levels: vec![],
        ..record()
    };
    // The load of this one came from two generator containers: each one's share and CPU is shown.
    let mut split = record();
    split.scenario.name = "split-load".into();
    split.levels.truncate(1);
    split.levels[0].generators = ["a", "b"]
        .map(|host| record::GeneratorRecord {
            engine: format!("tcp://{host}:2376"),
            container: format!("generator-{host}"),
            connections: 5,
            requests: 5000,
            rps: 2500.25,
            errors: 0,
            cpu_pct: if host == "a" { 97.0 } else { 41.5 },
        })
        .to_vec();
    // The capacity searched in the same run shows beside each level of its endpoint.
    let mut searched = record();
    let status = loadgen::capacity::Status::Found;
    searched.capacities = vec![record::fixture::search(status, vec![probe(2400.0)], vec![None])];
    // A worker at the memory limit, killed and replaced, on a machine where another process took CPU.
    let mut troubled = record();
    troubled.scenario.name = "troubled".into();
    troubled.levels.truncate(1);
    let server = troubled.levels[0].server.as_mut().unwrap();
    (server.memory_peak, server.memory_limit, server.oom_kills) = (64 << 20, 64 << 20, 3);
    server.processes = Some(record::Churn { ended: 3, started: 3 });
    server.interference_pct = Some(48.5);
    insta::assert_snapshot!(stackbench::table::render(&[searched, failed, split, troubled]));
}

/// After the levels, a table per workload of the capacity searches, highest first.
#[test]
fn capacity_table() {
    use loadgen::capacity::Status;
    let searched = |stack: &str, status: Status, rps: f64| RunRecord {
        scenario: ScenarioInfo { name: stack.into(), ..record().scenario },
        capacities: vec![record::fixture::search(status, vec![probe(rps)], vec![record().levels[0].server.clone()])],
        ..record()
    };
    let records =
        [searched("flask-gevent", Status::Found, 2400.0), searched("go-nethttp", Status::GeneratorBound, 9000.0)];
    insta::assert_snapshot!(stackbench::table::render_capacities(&report::model::capacities(&records)));
}

/// A capacity-only suite (`--capacity-only`) has no level: its table is left out, the capacity tables lead.
#[test]
fn a_capacity_only_suite_shows_no_empty_level_table() {
    let status = loadgen::capacity::Status::Found;
    let capacity_only = RunRecord {
        levels: Vec::new(),
        capacities: vec![record::fixture::search(status, vec![probe(2400.0)], vec![None])],
        ..record()
    };
    let text = stackbench::table::render(&[capacity_only]);
    assert!(text.starts_with("\ncapacity: GET /health (health)\n"), "{text}");
    assert!(!text.contains("conns  requests"), "{text}");
}
