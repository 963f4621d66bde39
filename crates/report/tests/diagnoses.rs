//! Each diagnosis rule: the pattern it names shows in words, and its absence says nothing.

use record::RunRecord;

use crate::util::{level, named, record, Level};

/// The summary's diagnosis of the only stack, and the notes of its levels.
fn diagnosed(run: RunRecord) -> (String, Vec<String>) {
    let report = report::build(&named(vec![run]));
    let notes = report.groups.iter().map(|g| g.rows[0].notes.join("; ")).collect();
    (report.summary[0].rows[0].diagnosis.join("; "), notes)
}

#[test]
fn a_server_at_its_memory_limit_says_so() {
    let mut run = record("s", "01", &[level(10, 5000.0, 2000)]);
    run.provenance.server_memory = 50 << 20;
    run.levels[0].server.as_mut().unwrap().memory_peak = (50 << 20) - (1 << 20) / 2;
    let (_, notes) = diagnosed(run.clone());
    assert!(notes[0].contains("memory at its limit of 50 MiB (peak 49.5 MiB)"), "{notes:?}");
    run.levels[0].server.as_mut().unwrap().memory_peak = 40 << 20;
    assert!(!diagnosed(run).1[0].contains("memory"));
}

#[test]
fn errors_in_the_first_second_are_a_connect_storm() {
    let mut run = record("s", "01", &[Level { timeouts: 100, ..level(1000, 5000.0, 2000) }]);
    let load = run.levels[0].load.as_mut().unwrap();
    load.per_second[0].errors = 90;
    load.per_second[1].errors = 10;
    let (summary, notes) = diagnosed(run.clone());
    assert!(notes[0].contains("90 of 100 errors in the window's first second"), "{notes:?}");
    assert!(summary.contains("90 of 100 errors"), "{summary}");
    // Spread over the window, they are not.
    let load = run.levels[0].load.as_mut().unwrap();
    (load.per_second[0].errors, load.per_second[5].errors) = (10, 80);
    assert!(!diagnosed(run).1[0].contains("first second"));
}

#[test]
fn flat_req_s_with_an_idle_cpu_is_a_pool() {
    // Closed loop, a request waits for its connection's share of the pool: latency = connections / req/s.
    let idle = |c, rps| Level { server_cpu: 8.0, ..level(c, rps, (c as f64 / rps * 1e6) as u64) };
    let (summary, _) = diagnosed(record("s", "01", &[idle(100, 390.0), idle(2000, 395.0)]));
    assert!(summary.contains("req/s flat near 395.00 from 100 to 2000 connections with the server's CPU at 8%"));
    assert!(summary.contains("a fixed pool of threads or workers"), "{summary}");
    // Busy at its CPU limit, the same figures are the CPU's limit.
    let busy = |c, rps| Level { server_cpu: 99.0, ..idle(c, rps) };
    assert!(!diagnosed(record("s", "01", &[busy(100, 390.0), busy(2000, 395.0)])).0.contains("pool"));
    // A generator at its limit says nothing of the server.
    let gen = |c, rps| Level { generator_cpu: 99.0, server_cpu: 8.0, ..level(c, rps, 1000) };
    assert!(!diagnosed(record("s", "01", &[gen(100, 390.0), gen(2000, 395.0)])).0.contains("pool"));
}

#[test]
fn errors_from_none_to_most_are_a_queue_past_the_timeout() {
    let levels = [level(100, 950.0, 105_000), Level { timeouts: 8000, ..level(2000, 400.0, 1_900_000) }];
    let (summary, _) = diagnosed(record("s", "01", &levels));
    assert!(summary.contains("errors from 0.0% at 100 to 67% at 2000 connections (p50 1.90s)"), "{summary}");
    assert!(summary.contains("the queue grew longer than the timeout"));
    let calm = [level(100, 950.0, 105_000), Level { timeouts: 10, ..level(2000, 400.0, 1_900_000) }];
    assert!(!diagnosed(record("s", "01", &calm)).0.contains("queue"));
}

#[test]
fn forty_milliseconds_with_an_idle_server_is_nagle_meeting_delayed_acks() {
    let stuck = Level { server_cpu: 7.0, ..level(10, 225.0, 44_000) };
    let (_, notes) = diagnosed(record("s", "01", &[stuck]));
    assert!(notes[0].contains("latency flat near 40 ms (p50 43.97ms) with the server's CPU at 7%"), "{notes:?}");
    assert!(notes[0].contains("Nagle's algorithm meeting delayed ACKs"));
    // A busy server at that latency is just slow; an idle one at 2 ms is fine.
    let busy = Level { server_cpu: 99.0, ..stuck };
    let fast = Level { server_cpu: 7.0, ..level(10, 5000.0, 2_000) };
    for quiet in [busy, fast] {
        assert!(!diagnosed(record("s", "01", &[quiet])).1[0].contains("Nagle"));
    }
}

/// What a window's server figures say went wrong, and nothing when nothing did.
#[test]
fn trouble_names_the_limit_and_the_figures() {
    let calm = record::ServerUsage {
        memory_peak: 40 << 20,
        memory_limit: 64 << 20,
        processes: Some(record::Churn::default()),
        interference_pct: Some(report::notes::INTERFERENCE_NOISY_PCT),
        ..record::ServerUsage::default()
    };
    assert!(report::notes::trouble(&calm).is_empty(), "{:?}", report::notes::trouble(&calm));
    let near = record::ServerUsage { memory_peak: 62 << 20, ..calm };
    assert_eq!(report::notes::trouble(&near), ["memory at its limit of 64 MiB (peak 62.0 MiB)"]);
    let killed = record::ServerUsage {
        oom_kills: 2,
        missing_s: 1.25,
        processes: Some(record::Churn { ended: 2, started: 2 }),
        interference_pct: Some(31.4),
        busiest_others: vec![record::Interferer { name: "burn".into(), cpu_pct: 30.9 }],
        ..calm
    };
    assert_eq!(
        report::notes::trouble(&killed),
        [
            "memory at its limit of 64 MiB (peak 40.0 MiB, 2 process(es) OOM-killed)",
            "2 server process(es) ended and 2 started during the window (workers restarted, or a process per connection)",
            "server figures missing for 1.2s of the window (the engine did not answer): these are of the rest",
            "noisy machine: other processes took 31% of a CPU on the run's CPUs (over 5%; busiest: burn 31%): figures may be low",
        ]
    );
}

#[test]
fn a_server_that_exited_under_a_probe_says_so_beside_its_capacity() {
    use loadgen::capacity::Status;
    let probes = [(1000.0, true, 4000), (2000.0, false, 90_000), (1000.0, true, 4000)];
    let mut run = crate::util::searched("s", "01", Status::Found, &probes);
    let exit = |rate: f64| record::ProbeExit {
        offered_rps: rate,
        failure: record::Failure::new(
            record::FailureKind::ServerExited,
            "the server exited (code 137)".into(),
            String::new(),
        ),
    };
    run.capacities[0].server_exits.push(exit(2000.0));
    let diagnosis =
        |run: &record::RunRecord| report::build(&named(vec![run.clone()])).summary[0].rows[0].diagnosis.join("; ");
    let said = diagnosis(&run);
    assert!(
        said.contains("the server exited (code 137) under the probe at 2.00k req/s: a new server took the next probe"),
        "{said}"
    );
    // Several exits the same way make one line with their range of rates.
    run.capacities[0].server_exits.extend([exit(18000.0), exit(9843.75)]);
    let said = diagnosis(&run);
    assert!(
        said.contains(
            "the server exited (code 137) under 3 probes at 2.00k-18.00k req/s: a new server took each next probe"
        ),
        "{said}"
    );
    assert_eq!(said.matches("exited").count(), 1, "{said}");
    run.capacities[0].server_exits.clear();
    let report = report::build(&named(vec![run]));
    assert!(!report.summary[0].rows[0].diagnosis.join("; ").contains("exited"));
}
