//! The capacity search's pure parts: objectives, early stops, the search's steps.

use super::*;

#[test]
fn an_early_stop_calls_only_certain_outcomes() {
    let slo = Slo { latency_us: vec![(Percentile::P99, 20_000)], error_share: 0.001, ..Slo::default() };
    let rule = EarlyStop::of(&slo, 1000.0, Duration::from_secs(3)).unwrap();
    assert_eq!((rule.planned, rule.min_measured, rule.over_share), (3000, Duration::from_millis(2250), 0.01));
    let at = Duration::from_millis;
    // 31 of 3000 planned over the bound: p99 cannot come back under it, whatever the rest do.
    assert_eq!(rule.outcome(200, 31, 0, at(200)), Some(false));
    assert_eq!(rule.outcome(200, 30, 0, at(200)), None);
    // 4 errors of 3000 planned: over 0.1% already.
    assert_eq!(rule.outcome(200, 0, 4, at(200)), Some(false));
    // Not before three quarters of the probe, however clean; from then, once the upper bound of the share
    // over is within 1%.
    assert_eq!(rule.outcome(2200, 0, 0, at(2200)), None);
    assert_eq!(rule.outcome(2250, 0, 0, at(2250)), Some(true));
    assert_eq!(rule.outcome(2250, 21, 0, at(2250)), None, "21 of 2250: the share over may be above 1%");
    assert_eq!(rule.outcome(2250, 0, 1, at(2250)), None, "an error: the error share is not certain");
    // A long bound waits ten bounds (a queue just over capacity reaches it late).
    let long = Slo { latency_us: vec![(Percentile::P99, 400_000)], ..slo.clone() };
    assert_eq!(EarlyStop::of(&long, 1000.0, Duration::from_secs(5)).unwrap().min_measured, Duration::from_secs(4));
    // Several latency objectives: only a fail is called early.
    let two = Slo { latency_us: vec![(Percentile::P50, 5_000), (Percentile::P99, 20_000)], ..slo };
    let rule = EarlyStop::of(&two, 1000.0, Duration::from_secs(3)).unwrap();
    assert_eq!(rule.outcome(2000, 0, 0, at(2000)), None);
    assert_eq!(rule.outcome(200, 31, 0, at(200)), Some(false));
}

fn parse(s: &str) -> Result<Duration, String> {
    humantime_like(s)
}

fn humantime_like(s: &str) -> Result<Duration, String> {
    s.strip_suffix("ms")
        .and_then(|n| n.parse::<u64>().ok())
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{s}' is not a duration"))
}

#[test]
fn objectives_parse_and_say_what_is_wrong() {
    let mut slo = Slo::default();
    slo.set("p99", "50ms", parse).unwrap();
    slo.set("p50", "5ms", parse).unwrap();
    slo.set("errors", "0.5%", parse).unwrap();
    slo.set("p99", "40ms", parse).unwrap();
    assert_eq!(slo.latency_us, vec![(Percentile::P50, 5_000), (Percentile::P99, 40_000)]);
    assert_eq!(slo.error_share, 0.005);
    assert_eq!(slo.longest_bound(), Some(Duration::from_millis(40)));
    assert!(slo.set("p98", "5ms", parse).unwrap_err().contains("use p50, p90, p99, p99.9 or errors"));
    assert!(slo.set("errors", "lots", parse).unwrap_err().contains("is not a share"));
    assert!(slo.set("errors", "0.1", parse).unwrap_err().contains("is not a share"));
    assert!(slo.set("p90", "soon", parse).unwrap_err().contains("'soon' is not a duration"));
    assert!(slo.set("p90", "0ms", parse).unwrap_err().contains("longer than 0"));
}

/// What a probe at `next` measured: every request sent and answered, p99 as given.
fn measured(next: &NextProbe, p99_us: u64) -> LoadResult {
    let (rate, duration_s) = (next.rate(), 3.0);
    let sent = (rate * duration_s) as u64;
    LoadResult {
        schema_version: crate::result::SCHEMA_VERSION,
        requests: sent,
        duration_s,
        rps: rate,
        goodput_rps: rate,
        late_responses: 0,
        abandoned: 0,
        in_flight_at_end: 0,
        latency_us: crate::LatencySummary { p50: p99_us / 2, p99: p99_us, max: p99_us, ..Default::default() },
        latency_raw_us: None,
        errors: Default::default(),
        rate: None,
        per_second: Vec::new(),
        options: crate::settings(&next.config),
        sent,
        bytes_read: 0,
        connections_opened: next.config.n_connections as u64,
        interrupted: false,
        generator: crate::result::GeneratorUsage { threads: 1, cpu_user_s: 0.0, cpu_sys_s: 0.0, throttled_periods: 0 },
        latency_histogram: String::new(),
        latency_raw_histogram: None,
        stopped_early: None,
        connect_s: 0.0,
        kinds: Vec::new(),
        tls: None,
        http2: None,
    }
}

/// Poisson arrivals are a random count around the rate: a probe is judged on sending what its
/// stream made due, constant ones on the rate itself.
#[test]
fn a_poisson_probe_is_judged_on_what_was_due() {
    let target = crate::Target::parse("http://127.0.0.1:1/").unwrap();
    let slo = Slo { latency_us: vec![(Percentile::P99, 20_000)], ..Slo::default() };
    let options = SearchOptions { start_rate: 1000.0, ..SearchOptions::default() };
    for (arrivals, unsent, passes) in [
        (crate::Arrivals::Constant, 0, false),
        (crate::Arrivals::Poisson { seed: 1 }, 0, true),
        (crate::Arrivals::Poisson { seed: 1 }, 100, false),
    ] {
        let base = Config { arrivals, ..Config::new(target.clone()) };
        let next = Search::new(&base, &slo, &options).next_probe().unwrap();
        // 97.5% of the rate sent: short of the rate, but all that a Poisson stream made due (unless unsent).
        let mut load = measured(&next, 5_000);
        load.sent = (load.sent as f64 * 0.975) as u64;
        load.rate = Some(crate::result::RateSummary { target: next.rate(), achieved: 0.0, late: 0, unsent });
        let probe = judge(&next.config, &slo, load, false);
        assert_eq!(probe.passed, passes, "{arrivals:?}, {unsent} unsent: {:?}", probe.failed);
    }
}

/// A server whose p99 passes 20 ms below `knee` req/s in short probes, but in a
/// full-length hold only below `hold_knee`: each failed hold steps down twice as far.
#[test]
fn failed_holds_step_down_ever_further() {
    let target = crate::Target::parse("http://127.0.0.1:1/").unwrap();
    let base = Config { stop: RunLength::Duration(Duration::from_secs(10)), ..Config::new(target) };
    let slo = Slo { latency_us: vec![(Percentile::P99, 20_000)], error_share: 0.001, ..Slo::default() };
    let options = SearchOptions { start_rate: 1000.0, ..SearchOptions::default() };
    let (knee, hold_knee) = (1500.0, 1050.0);
    let mut search = Search::new(&base, &slo, &options);
    let mut holds = Vec::new();
    while let Some(next) = search.next_probe() {
        let hold = next.config.stop == base.stop;
        let passes = next.rate() < if hold { hold_knee } else { knee };
        if hold {
            holds.push(next.rate().round());
        }
        search.record(next.clone(), measured(&next, if passes { 5_000 } else { 50_000 }));
    }
    let found = search.finish();
    // From about 1.47k: 5%, 10%, 20% lower, then it holds (equal 5% steps would need eight).
    assert_eq!(holds.len(), 4, "{holds:?}");
    assert!(holds.windows(2).all(|w| w[1] < w[0]), "{holds:?}");
    assert_eq!(found.status, Status::Found);
    let rps = found.capacity_rps.unwrap();
    assert!((900.0..hold_knee).contains(&rps), "{rps} from {holds:?}");
}

/// A generator throttled above 230 req/s: probes above fail, blamed on it; the
/// probes run out while bisecting below the first blamed failure. The server
/// held all the generator could offer: generator-bound, not out of budget.
#[test]
fn running_out_below_a_blamed_failure_is_generator_bound() {
    let target = crate::Target::parse("http://127.0.0.1:1/").unwrap();
    let base = Config { stop: RunLength::Duration(Duration::from_secs(10)), ..Config::new(target) };
    let slo = Slo { latency_us: vec![(Percentile::P99, 20_000)], error_share: 0.001, ..Slo::default() };
    let options = SearchOptions { start_rate: 1000.0, max_probes: 6, ..SearchOptions::default() };
    let run = |throttled_above: f64| {
        let mut search = Search::new(&base, &slo, &options);
        while let Some(next) = search.next_probe() {
            let passes = next.rate() < 230.0;
            let mut load = measured(&next, if passes { 5_000 } else { 50_000 });
            if next.rate() > throttled_above {
                load.generator.throttled_periods = 10;
            }
            search.record(next.clone(), load);
        }
        search.finish()
    };
    let bound = run(230.0);
    assert_eq!(
        bound.status,
        Status::GeneratorBound,
        "{:?}",
        bound.probes.iter().map(|p| p.offered).collect::<Vec<_>>()
    );
    assert!(bound.capacity_rps.is_none());
    // The same probes with a generator that kept up: the budget ran out.
    assert_eq!(run(f64::MAX).status, Status::BudgetExhausted);
}
