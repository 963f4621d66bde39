//! A weighted mix of requests: each kind drawn by weight (seeded), counted, timed and checked apart.

use loadgen::{Expect, Kind, RunLength};

use crate::util::{config_for, run, secs, write, Action, Server, OK};

fn kind(name: &str, weight: u32, path: &str) -> Kind {
    Kind { expect: Expect { status: Some(200), body: None }, ..Kind::get(name, weight, path) }
}

/// A server whose `/slow` takes 20 ms and whose `/broken` answers 500.
fn server() -> Server {
    Server::seeing(|_, request| {
        let line = String::from_utf8_lossy(request).lines().next().unwrap_or_default().to_string();
        if line.contains("/slow") {
            vec![Action::Sleep(secs(0.02)), write(OK)]
        } else if line.contains("/broken") {
            vec![write("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")]
        } else {
            vec![write(OK)]
        }
    })
}

#[test]
fn each_kind_is_drawn_by_its_weight_and_counted_apart() {
    let server = server();
    let config = |seed| loadgen::Config {
        mix: vec![
            kind("fast", 6, "/fast"),
            kind("slow", 3, "/slow"),
            kind("broken", 1, "/broken"),
            kind("never", 0, "/x"),
        ],
        n_threads: 2,
        seed,
        ..config_for(&server, 8, RunLength::Requests(2000))
    };
    let r = run(&config(5));
    assert_eq!(r.requests, 2000);
    let counts: Vec<(&str, u64, u64)> = r.kinds.iter().map(|k| (k.name.as_str(), k.requests, k.errors)).collect();
    assert_eq!(r.kinds.iter().map(|k| k.requests).sum::<u64>(), r.requests, "the kinds sum to the whole: {counts:?}");
    // Binomial over 2,000 draws: within 3 standard deviations of each weight's share.
    for (k, share) in r.kinds.iter().zip([0.6f64, 0.3, 0.1, 0.0]) {
        let (expected, sd) = (2000.0 * share, (2000.0 * share * (1.0 - share)).sqrt());
        assert!(
            (k.requests as f64 - expected).abs() <= 3.0 * sd,
            "{}: {} of 2000, {expected} expected",
            k.name,
            k.requests
        );
    }
    // Checks are each kind's: only /broken fails, and all of it.
    assert_eq!(r.kinds[2].errors, r.kinds[2].requests, "{counts:?}");
    assert_eq!(r.kinds[0].errors + r.kinds[1].errors, 0, "{counts:?}");
    assert_eq!(r.errors.status, r.kinds[2].requests);
    // A slow kind shows in its own latency, not in the fast one's median.
    assert!(r.kinds[1].latency_us.p50 >= 20_000, "slow p50 {}", r.kinds[1].latency_us.p50);
    assert!(r.kinds[0].latency_us.p50 < 10_000, "fast p50 {}", r.kinds[0].latency_us.p50);
    // Seeded: the same seed draws the same kinds.
    let again = run(&config(5));
    assert_eq!(
        r.kinds.iter().map(|k| k.requests).collect::<Vec<_>>(),
        again.kinds.iter().map(|k| k.requests).collect::<Vec<_>>()
    );
}

#[test]
fn a_bad_mix_is_refused_naming_what_to_fix() {
    let server = Server::fixed(OK);
    let base = config_for(&server, 1, RunLength::Requests(1));
    let refused = |mix: Vec<Kind>| loadgen::Config { mix, ..base.clone() }.validate().unwrap_err().to_string();
    assert!(refused(vec![kind("a", 0, "/a")]).contains("the weights sum to 0"));
    let mut head = kind("h", 1, "/h");
    head.method = "HEAD".into();
    assert!(refused(vec![head]).contains("request 'h': a HEAD request cannot be part of a mix"));
    let e = refused(vec![kind("drawn", 1, "/{rnd:1..5}")]);
    assert!(e.contains("request 'drawn'") && e.contains("is not a placeholder"), "{e}");
}

#[test]
fn a_kind_is_judged_against_its_own_objectives_besides_the_whole() {
    use loadgen::capacity::{unmet, EarlyStop, Percentile, Slo};
    let server = server();
    let r = run(&loadgen::Config {
        mix: vec![kind("fast", 1, "/fast"), kind("slow", 1, "/slow")],
        ..config_for(&server, 4, RunLength::Requests(200))
    });
    let tight = Slo { latency_us: vec![(Percentile::P99, 10_000)], ..Slo::default() };
    let loose = Slo { latency_us: vec![(Percentile::P99, 1_000_000)], ..Slo::default() };
    // The whole within a loose bound, the slow kind over its own 10 ms.
    let slo =
        Slo { kinds: [("slow".to_string(), tight.clone()), ("fast".into(), tight.clone())].into(), ..loose.clone() };
    assert_eq!(unmet(&slo, &r), ["slow p99"]);
    assert!(unmet(&loose, &r).is_empty());
    // A search's probes cannot pass early on the whole alone when a kind has objectives of its own.
    assert!(EarlyStop::of(&loose, 100.0, secs(3.0)).unwrap().may_pass);
    assert!(!EarlyStop::of(&slo, 100.0, secs(3.0)).unwrap().may_pass);
    assert_eq!(slo.longest_bound(), Some(secs(1.0)));
}

#[test]
fn a_login_first_then_its_token_on_every_request_of_the_connection() {
    // POST /login answers a token of its own; /data wants it back, else 401.
    let server = Server::seeing(|n, request| {
        let text = String::from_utf8_lossy(request).into_owned();
        if text.starts_with("POST /login") {
            let body = format!("{{\"user\": 1, \"token\": \"t-{n}\"}}");
            vec![write(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()))]
        } else if text.lines().any(|l| l.starts_with("Authorization: Bearer t-")) {
            vec![write(OK)]
        } else {
            vec![write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")]
        }
    });
    let login = Kind {
        method: "POST".into(),
        capture: vec![("token".into(), "token".into())],
        first: true,
        ..kind("login", 0, "/login")
    };
    let data =
        Kind { headers: vec![("Authorization".into(), "Bearer {capture:token}".into())], ..kind("data", 1, "/data") };
    let config = loadgen::Config { mix: vec![login, data], ..config_for(&server, 4, RunLength::Requests(200)) };
    let r = run(&config);
    assert_eq!(r.errors.total(), 0, "{:?}", r.kinds);
    // Each connection logged in once (weight 0: never drawn again), and every other request used its token.
    assert_eq!(r.kinds[0].requests, r.connections_opened, "{:?}", r.kinds);
    assert_eq!(r.kinds[0].requests + r.kinds[1].requests, 200);
    // A token nobody captures is refused, naming what to add.
    let lost = Kind { headers: vec![("Authorization".into(), "{capture:tok}".into())], ..kind("lost", 1, "/data") };
    let e = loadgen::Config { mix: vec![lost], ..config.clone() }.validate().unwrap_err().to_string();
    assert!(e.contains("{capture:tok} names no capture of the mix: add capture = { tok = \"FIELD\" }"), "{e}");
}
