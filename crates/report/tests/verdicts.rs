//! The verdict rule and the spread over repeats.

use report::Verdict;

use crate::util::{level, named, record, Level};

fn verdict_of(l: Level) -> (Verdict, Vec<String>) {
    let r = report::build(&named(vec![record("stack", "01", &[l])]));
    let row = &r.groups[0].rows[0];
    (row.verdict, row.notes.clone())
}

#[test]
fn a_saturated_server_is_server_bound() {
    // 100 connections x 21 ms at 4600 req/s: 97 requests in flight, the server at its limit.
    assert_eq!(verdict_of(level(100, 4600.0, 21_000)).0, Verdict::ServerBound);
}

#[test]
fn a_server_waiting_on_its_own_latency_is_server_bound() {
    // A 100 ms sleep: 10 connections, 98 req/s, server CPU 4%; Little's law: 9.8 in flight.
    let sleep = Level { server_cpu: 4.0, ..level(10, 98.0, 101_700) };
    assert_eq!(verdict_of(sleep).0, Verdict::ServerBound);
}

#[test]
fn a_saturated_generator_is_generator_bound() {
    let l = Level { generator_cpu: 97.0, server_cpu: 60.0, ..level(1000, 90_000.0, 11_000) };
    let (verdict, notes) = verdict_of(l);
    assert_eq!(verdict, Verdict::GeneratorBound);
    assert!(notes.iter().any(|n| n == "generator CPU 97%"), "{notes:?}");
}

#[test]
fn idle_connections_are_generator_bound() {
    // 1000 connections but 50k req/s x 2 ms = 100 in flight: the time went into the generator.
    let l = Level { server_cpu: 70.0, ..level(1000, 50_000.0, 2000) };
    let (verdict, notes) = verdict_of(l);
    assert_eq!(verdict, Verdict::GeneratorBound);
    assert!(notes.iter().any(|n| n.contains("only 100 of 1000 connections busy")), "{notes:?}");
}

#[test]
fn errors_over_one_percent_are_error_bound() {
    let l = Level { timeouts: 1833, ..level(2000, 1000.0, 1_900_000) };
    let (verdict, notes) = verdict_of(l);
    assert_eq!(verdict, Verdict::ErrorBound);
    assert!(notes.contains(&"1833 timeouts".to_string()), "{notes:?}");
}

#[test]
fn spread_over_repeats_marks_unsteady_rows() {
    let runs = |rps: [f64; 3]| {
        let records = rps.iter().enumerate().map(|(i, &r)| record("stack", &format!("0{i}"), &[level(100, r, 21_000)]));
        report::build(&named(records.collect())).groups[0].rows[0].clone()
    };
    let steady = runs([4600.0, 4650.0, 4620.0]);
    assert!(!steady.unsteady && steady.rps.cv < 0.01, "{:?}", steady.rps);
    assert_eq!(steady.rps.median, 4620.0);
    let unsteady = runs([4000.0, 4600.0, 5200.0]);
    assert!(unsteady.unsteady && (unsteady.rps.cv - 0.1304).abs() < 0.001, "{:?}", unsteady.rps);
    assert_eq!((unsteady.rps.min, unsteady.rps.max), (4000.0, 5200.0));
    assert!(unsteady.notes[0].starts_with("unsteady: req/s spread 13.0% over 3 runs"), "{:?}", unsteady.notes);
}

#[test]
fn each_generator_containers_share_and_cpu_are_noted() {
    let mut r = record("stack", "01", &[level(100, 4600.0, 21_000)]);
    r.levels[0].generators = [(2400.0, 98.0), (2200.0, 45.0)]
        .map(|(rps, cpu_pct)| record::GeneratorRecord {
            engine: "unix:///var/run/docker.sock".into(),
            container: "generator".into(),
            connections: 50,
            requests: (rps * 5.0) as u64,
            rps,
            errors: 0,
            cpu_pct,
        })
        .to_vec();
    let report = report::build(&named(vec![r]));
    let notes = &report.groups[0].rows[0].notes;
    assert!(notes.iter().any(|n| n == "2 generators: 2.40k req/s at CPU 98%, 2.20k req/s at CPU 45%"), "{notes:?}");
}
