//! Open loop (--rate): the target rate is held, and latency is corrected for
//! coordinated omission the way wrk2 does it.

use std::sync::{Arc, Mutex};

use loadgen::RunLength;

use crate::util::{config_for, run, secs, write, Action, Server, OK};

#[test]
fn reaches_the_target_rate() {
    let server = Server::fixed(OK);
    let config =
        loadgen::Config { rate: Some(2000.0), n_threads: 2, ..config_for(&server, 20, RunLength::Duration(secs(3.0))) };
    let r = run(&config);
    let rate = r.rate.unwrap();
    assert!((rate.achieved / 2000.0 - 1.0).abs() < 0.02, "achieved {}", rate.achieved);
    assert!((r.rps / 2000.0 - 1.0).abs() < 0.02, "rps {}", r.rps);
    // Nothing is lost systematically; a scheduling hiccup at the very end may leave a few.
    assert!(rate.unsent < 10, "unsent {}", rate.unsent);
    assert_eq!(r.errors.total(), 0);
    let raw = r.latency_raw_us.unwrap();
    assert!(raw.p50 <= r.latency_us.p50);
}

#[test]
fn a_one_second_stall_shows_in_corrected_latency_only() {
    // A server-wide pause: request 1000 (about 1 s in) holds a lock for 1 s,
    // and every connection must take that lock to answer.
    let lock = Arc::new(Mutex::new(()));
    let server = Server::start(move |n| {
        let _guard = lock.lock().unwrap();
        if n == 1000 {
            std::thread::sleep(secs(1.0));
        }
        vec![write(OK)]
    });
    let config = loadgen::Config {
        rate: Some(1000.0),
        timeout: secs(3.0),
        ..config_for(&server, 10, RunLength::Duration(secs(4.0)))
    };
    let r = run(&config);
    let corrected = r.latency_us.p99;
    let raw = r.latency_raw_us.unwrap().p99;
    // A quarter of the requests fell into the stall, their delays spread
    // evenly over 0..1 s, so the corrected p99 is near 0.96 s (wrk2's rule).
    // Only the ten requests in flight waited on the wire, so the raw p99 stays low.
    assert!((800_000..=1_200_000).contains(&corrected), "corrected p99 {corrected}us");
    assert!(raw < 100_000, "raw p99 {raw}us");
    let rate = r.rate.unwrap();
    assert!(rate.late > 500, "late {}", rate.late);
    assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
}

#[test]
fn unsent_requests_are_counted() {
    // A server that takes 100 ms per answer on one connection can take 10 of
    // the 100 requests a second asked for.
    let server = Server::start(|_| vec![Action::Sleep(secs(0.1)), write(OK)]);
    let config = loadgen::Config { rate: Some(100.0), ..config_for(&server, 1, RunLength::Duration(secs(2.0))) };
    let r = run(&config);
    let rate = r.rate.unwrap();
    assert!(r.sent <= 22, "sent {}", r.sent);
    assert!(rate.unsent >= 170, "unsent {}", rate.unsent);
    assert_eq!(r.sent + rate.unsent, 200, "every intended request is sent or unsent");
}

/// The server's arrival times of `config`'s requests (each stamped as its head is read), sorted.
fn arrivals(config: impl Fn(&Server) -> loadgen::Config) -> Vec<std::time::Instant> {
    let stamps = Arc::new(Mutex::new(Vec::new()));
    let seen = stamps.clone();
    let server = Server::start(move |_| {
        seen.lock().unwrap().push(std::time::Instant::now());
        vec![write(OK)]
    });
    run(&config(&server));
    let mut stamps = stamps.lock().unwrap().clone();
    stamps.sort();
    stamps
}

/// The Kolmogorov-Smirnov distance between the gaps of `times` and an exponential distribution of their
/// mean. Only gaps over 2 ms count, less 2 ms: an exponential's excess over any bound is the same
/// exponential (it has no memory), and shorter gaps are where the server's and the generator's
/// scheduling blur arrival times (requests due within a late wakeup leave together), the more so while
/// other tests share the CPUs.
fn ks_exponential(times: &[std::time::Instant]) -> (f64, usize) {
    const BLUR: f64 = 0.002;
    let mut gaps: Vec<f64> =
        times.windows(2).map(|w| (w[1] - w[0]).as_secs_f64() - BLUR).filter(|g| *g > 0.0).collect();
    gaps.sort_by(f64::total_cmp);
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let d = gaps
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let cdf = 1.0 - (-g / mean).exp();
            (cdf - i as f64 / n).abs().max(((i + 1) as f64 / n - cdf).abs())
        })
        .fold(0.0, f64::max);
    (d, gaps.len())
}

#[test]
fn poisson_arrivals_pass_a_goodness_of_fit_check_and_constant_ones_fail_it() {
    // 200 req/s over 20 connections for 4 s: about 800 gaps of 5 ms mean, about 540 of them over 2 ms.
    let open = |arrivals| {
        move |server: &Server| loadgen::Config {
            rate: Some(200.0),
            arrivals,
            ..config_for(server, 20, RunLength::Duration(secs(4.0)))
        }
    };
    let poisson = arrivals(open(loadgen::Arrivals::Poisson { seed: 3 }));
    let (d, n) = ks_exponential(&poisson);
    // The 1% critical value of the KS distance is 1.63 / sqrt(n) (0.070 at 540).
    let critical = 1.63 / (n as f64).sqrt();
    assert!(n > 400, "{n} gaps");
    assert!(d < critical, "Poisson arrivals: KS distance {d:.3} >= {critical:.3} over {n} gaps");
    let constant = arrivals(open(loadgen::Arrivals::Constant));
    let (d, n) = ks_exponential(&constant);
    assert!(d > 3.0 * critical, "constant arrivals look exponential: KS distance {d:.3} over {n} gaps");
}

#[test]
fn poisson_arrivals_hold_the_rate_and_count_what_they_could_not_send() {
    let server = Server::fixed(OK);
    let config = loadgen::Config {
        rate: Some(2000.0),
        n_threads: 2,
        arrivals: loadgen::Arrivals::Poisson { seed: 11 },
        ..config_for(&server, 20, RunLength::Duration(secs(3.0)))
    };
    let r = run(&config);
    // 6,000 expected: a Poisson count's sd is 77 (1.3%).
    let achieved = r.rate.unwrap().achieved;
    assert!((achieved / 2000.0 - 1.0).abs() < 0.05, "achieved {achieved}");
    assert_eq!(r.options.arrivals.as_deref(), Some("poisson"));
    assert_eq!(r.options.arrival_seed, Some(11));
    // One slow connection: 10 a second answered of about 100 due; all due are sent or unsent.
    let slow = Server::start(|_| vec![Action::Sleep(secs(0.1)), write(OK)]);
    let config = loadgen::Config {
        rate: Some(100.0),
        arrivals: loadgen::Arrivals::Poisson { seed: 11 },
        ..config_for(&slow, 1, RunLength::Duration(secs(2.0)))
    };
    let r = run(&config);
    let due = r.sent + r.rate.unwrap().unsent;
    assert!(r.sent <= 22, "sent {}", r.sent);
    assert!((158..=242).contains(&due), "{due} due in 2 s at 100 req/s (Poisson: 200 +- 3 sd)");
}

#[test]
fn poisson_arrivals_go_to_an_idle_connection_not_behind_a_busy_one() {
    // 40 req/s over 16 connections to a server that takes 100 ms: about 4 requests in flight. Were each
    // arrival bound to its own connection, one due while that connection still waited would queue behind
    // it (a p99 near 300 ms that the server never caused); sent on an idle one, it takes the server's time.
    let server = Server::start(|_| vec![Action::Sleep(secs(0.1)), write(OK)]);
    let config = loadgen::Config {
        rate: Some(40.0),
        arrivals: loadgen::Arrivals::Poisson { seed: 2 },
        timeout: secs(3.0),
        ..config_for(&server, 16, RunLength::Duration(secs(4.0)))
    };
    let r = run(&config);
    assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
    assert!(r.latency_us.p99 < 150_000, "p99 {}us: arrivals waited for a busy connection", r.latency_us.p99);
    assert!((120..=200).contains(&r.sent), "{} sent in 4 s at 40 req/s", r.sent);
}

/// A listen backlog too short for the connect storm: the kernel drops the last SYNs, their clients send them
/// again 1 s later, and the load (its due times, its warm-up, its window) starts only once they are in.
/// Started at once, those connections' requests would have waited a second in the window.
#[test]
fn the_window_opens_once_the_connections_are_established() {
    // Linux keeps backlog + 1 connections waiting to be accepted: 2 of the 4 get in at once.
    let server = Server::slow_accept(1, secs(0.3), OK);
    let config = loadgen::Config {
        rate: Some(200.0),
        warmup: std::time::Duration::ZERO,
        ..config_for(&server, 4, RunLength::Duration(secs(0.5)))
    };
    let r = run(&config);
    assert!(r.connect_s > 0.9, "connections established after {} s: no SYN was dropped?", r.connect_s);
    assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
    assert!(r.latency_us.max < 300_000, "a connect's wait reached the window: {:?}", r.latency_us);
    assert!(r.requests > 80, "{} requests", r.requests);
}
