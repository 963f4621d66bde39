//! The capacity search against servers whose capacity is known.

use loadgen::capacity::{search, Percentile, SearchOptions, Slo, Status};
use loadgen::{Control, RunLength};
use testserver::Slots;

use crate::util::{config_for, secs, write, Action, Server, OK};

#[test]
fn the_search_finds_a_known_capacity() {
    // 20 workers, 50 ms each, no queue (503 when all are busy): at most 400 requests a second.
    let slots = Slots::new(20);
    let server = Server::start(move |_| vec![Action::Pool(slots.clone(), secs(0.05)), write(OK)]);
    let base = loadgen::Config {
        warmup: secs(0.5),
        timeout: secs(1.0),
        ..config_for(&server, 1, RunLength::Duration(secs(4.0)))
    };
    // Past the capacity the pool turns requests away: the error objective fails as soon as more
    // than 1% are, whatever the probe's length. The latency bound leaves room for this machine's
    // jitter, and keeps the connections (2 x rate x bound) within the test server's listen backlog
    // (128), so that no connect waits for a SYN to be sent again.
    let slo = Slo { latency_us: vec![(Percentile::P99, 100_000)], error_share: 0.01, ..Slo::default() };
    // A first rate that does not double onto the capacity itself, where a short probe can still pass.
    let options = SearchOptions {
        start_rate: 120.0,
        growth: 2.0,
        precision: 0.05,
        max_probes: 12,
        probe: secs(2.0),
        probe_warmup: secs(0.5),
        max_connections: 2000,
    };
    let mut seen = Vec::new();
    let found = search(
        &base,
        &slo,
        &options,
        |config| loadgen::run(config, &Control::new()),
        || false,
        |probe| seen.push((probe.offered, probe.passed, probe.latency_us.p99, probe.failed.clone())),
    )
    .unwrap();
    eprintln!("probes (offered, passed, p99 µs, failed): {seen:?}");
    let capacity = found.capacity_rps.unwrap_or_else(|| panic!("{:?}: {seen:?}", found.status));
    assert_eq!(found.status, Status::Found);
    assert!((0.85 * 400.0..=400.0).contains(&capacity), "found {capacity} req/s: {seen:?}");
    assert!(found.probes.len() <= 12, "{} probes", found.probes.len());
    // The hold ran at the capacity for the full length and passed.
    let confirm = found.confirm.as_ref().unwrap();
    assert!(confirm.passed && confirm.offered == capacity);
    assert!((confirm.load.duration_s - 4.0).abs() < 0.2, "{}", confirm.load.duration_s);
    let (low, high) = found.bracket;
    assert!(low == capacity && high > low && (high - low) / high <= 0.06, "{:?}", found.bracket);
    // Every probe was open loop with room for the rate at the objective latency.
    for probe in &found.probes {
        assert!(
            probe.connections as f64 >= probe.offered * 0.08,
            "{} connections at {}",
            probe.connections,
            probe.offered
        );
        assert_eq!(probe.load.options.rate, Some(probe.offered));
    }
}

#[test]
fn a_server_that_never_meets_the_objective_has_no_capacity() {
    let server = Server::start(|_| vec![Action::Sleep(secs(0.05)), write(OK)]);
    let base = loadgen::Config { timeout: secs(1.0), ..config_for(&server, 1, RunLength::Duration(secs(1.0))) };
    let slo = Slo { latency_us: vec![(Percentile::P50, 10_000)], error_share: 0.001, ..Slo::default() };
    let options = SearchOptions { start_rate: 50.0, max_probes: 3, probe: secs(0.5), ..SearchOptions::default() };
    let found = search(&base, &slo, &options, |c| loadgen::run(c, &Control::new()), || false, |_| {}).unwrap();
    assert_eq!(found.capacity_rps, None);
    assert_eq!(found.probes.len(), 3);
    assert!(
        found.probes.iter().all(|p| p.failed == ["p50"]),
        "{:?}",
        found.probes.iter().map(|p| &p.failed).collect::<Vec<_>>()
    );
    assert_eq!(found.status, Status::BudgetExhausted);
    assert_eq!(found.bracket, (0.0, 12.5));
}

/// A probe ends as soon as its outcome is certain: a fast server passes after the floor (three quarters,
/// 3 s) of a 4 s probe; a slow one fails once more of the planned requests are over the bound than p99
/// allows.
#[test]
fn a_probe_ends_once_its_outcome_is_certain() {
    use loadgen::capacity::EarlyStop;
    let probe = |server: &Server, slo: &Slo| {
        let rate = 400.0;
        let config = loadgen::Config {
            n_connections: 40,
            rate: Some(rate),
            warmup: secs(0.2),
            timeout: secs(1.0),
            early_stop: EarlyStop::of(slo, rate, secs(4.0)),
            ..config_for(server, 40, RunLength::Duration(secs(4.0)))
        };
        crate::util::run(&config)
    };
    let fast = Server::start(|_| vec![write(OK)]);
    let slo = Slo { latency_us: vec![(Percentile::P99, 100_000)], error_share: 0.001, ..Slo::default() };
    let passed = probe(&fast, &slo);
    assert_eq!(passed.stopped_early, Some(true), "{passed:?}");
    assert!((3.0..3.5).contains(&passed.duration_s) && !passed.interrupted, "{}", passed.duration_s);
    // Its window is whole: what was offered over the shorter window was sent.
    assert!(passed.rate.as_ref().unwrap().unsent <= 4, "{:?}", passed.rate);

    let slow = Server::start(|_| vec![Action::Sleep(secs(0.05)), write(OK)]);
    let slo = Slo { latency_us: vec![(Percentile::P99, 10_000)], error_share: 0.001, ..Slo::default() };
    let failed = probe(&slow, &slo);
    assert_eq!(failed.stopped_early, Some(false), "{failed:?}");
    assert!(failed.duration_s < 1.0, "{}", failed.duration_s);
}
