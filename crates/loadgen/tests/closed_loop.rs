//! Closed-loop behaviour: exact counts, framing, pipelining, keep-alive, checks.

use loadgen::{Expect, RunLength};

use crate::util::{config_for, run, secs, write, Action, Server, OK};

#[test]
fn exact_request_count_is_sent() {
    let server = Server::fixed(OK);
    let config = loadgen::Config { n_threads: 2, ..config_for(&server, 8, RunLength::Requests(1000)) };
    let r = run(&config);
    assert_eq!(server.requests(), 1000);
    assert_eq!((r.requests, r.sent), (1000, 1000));
    assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
    assert!(r.latency_us.p50 > 0);
    assert_eq!(loadgen::decode_histogram(&r.latency_histogram).unwrap().len(), 1000);
}

#[test]
fn content_length_and_chunked_bodies() {
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
    for response in [OK, chunked, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"] {
        let server = Server::fixed(response);
        let r = run(&config_for(&server, 2, RunLength::Requests(200)));
        assert_eq!((r.requests, r.errors.total()), (200, 0), "{response:?}: {:?}", r.errors);
        // Keep-alive: the two connections carried everything.
        assert_eq!(server.connections(), 2, "{response:?}");
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::fixed(OK);
    let config = loadgen::Config { pipeline: 16, ..config_for(&server, 2, RunLength::Requests(1000)) };
    let r = run(&config);
    assert_eq!(server.requests(), 1000);
    assert_eq!((r.requests, r.errors.total()), (1000, 0), "{:?}", r.errors);
    assert_eq!(server.connections(), 2);
}

#[test]
fn no_keepalive_opens_a_connection_per_request() {
    let server = Server::fixed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    let config = loadgen::Config { keepalive: false, ..config_for(&server, 4, RunLength::Requests(300)) };
    let r = run(&config);
    assert_eq!((server.requests(), server.connections()), (300, 300));
    assert_eq!((r.requests, r.connections_opened, r.errors.total()), (300, 300, 0), "{:?}", r.errors);
}

#[test]
fn close_delimited_body_counts_as_a_response() {
    let server = Server::start(|_| vec![write("HTTP/1.1 200 OK\r\n\r\nbody until close"), Action::Close]);
    let config = loadgen::Config {
        expect: Expect { status: Some(200), body: Some(b"until".to_vec()) },
        ..config_for(&server, 2, RunLength::Requests(100))
    };
    let r = run(&config);
    assert_eq!((r.requests, r.errors.total()), (100, 0), "{:?}", r.errors);
    assert_eq!(server.connections(), 100);
}

#[test]
fn body_check_finds_text_split_across_reads() {
    // The needle "needle" is split over two writes with a pause between them,
    // so that the generator reads it in two pieces.
    let server = Server::start(|_| {
        vec![
            write("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\nhay nee"),
            Action::Sleep(secs(0.005)),
            write("dle hay!"),
        ]
    });
    let expect = |needle: &str| Expect { status: None, body: Some(needle.as_bytes().to_vec()) };
    let found = run(&loadgen::Config { expect: expect("needle"), ..config_for(&server, 2, RunLength::Requests(40)) });
    assert_eq!((found.requests, found.errors.body), (40, 0));
    let missing =
        run(&loadgen::Config { expect: expect("haystack"), ..config_for(&server, 2, RunLength::Requests(40)) });
    assert_eq!((missing.requests, missing.errors.body), (40, 40));
}

#[test]
fn status_check_counts_and_goes_on() {
    let server = Server::start(|n| {
        if n % 4 == 0 {
            vec![write("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")]
        } else {
            vec![write(OK)]
        }
    });
    let r = run(&config_for(&server, 1, RunLength::Requests(100)));
    assert_eq!((r.requests, r.errors.status), (100, 25));
    let server = Server::fixed("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n");
    let lenient = run(&config_for(&server, 1, RunLength::Requests(10)));
    assert_eq!(lenient.errors.status, 0, "3xx passes by default");
    let strict = run(&loadgen::Config {
        expect: Expect { status: Some(200), body: None },
        ..config_for(&server, 1, RunLength::Requests(10))
    });
    assert_eq!(strict.errors.status, 10);
}

#[test]
fn post_body_and_headers_reach_the_server() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let record = seen.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.ends_with(b"{\"user\":\"a\"}") {
            let n = s.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        record.lock().unwrap().extend_from_slice(&got);
        s.write_all(OK.as_bytes()).unwrap();
    });
    let config = loadgen::Config {
        method: "POST".into(),
        headers: vec![("Content-Type".into(), "application/json".into()), ("Token".into(), "secret-1".into())],
        body: br#"{"user":"a"}"#.to_vec(),
        ..loadgen::Config::new(loadgen::Target::parse(&format!("http://{addr}/login")).unwrap())
    };
    let r = run(&loadgen::Config { n_connections: 1, stop: RunLength::Requests(1), ..config });
    assert_eq!(r.requests, 1);
    let request = String::from_utf8(seen.lock().unwrap().clone()).unwrap();
    assert!(request.starts_with("POST /login HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("\r\nToken: secret-1\r\n") && request.contains("\r\nContent-Length: 12\r\n"), "{request}");
    // The stored options never carry the secret.
    assert_eq!(r.options.headers, vec!["Content-Type: application/json", "Token: <redacted>"]);
}

#[test]
fn duration_run_and_per_second_series() {
    let server = Server::fixed(OK);
    let config =
        loadgen::Config { warmup: secs(0.5), n_threads: 2, ..config_for(&server, 4, RunLength::Duration(secs(2.0))) };
    let r = run(&config);
    assert!((r.duration_s - 2.0).abs() < 0.01, "{}", r.duration_s);
    assert!(r.requests > 100, "{}", r.requests);
    // The warm-up's responses are not counted.
    assert!(server.requests() > r.requests);
    assert_eq!(r.per_second.len(), 2);
    assert_eq!(r.per_second.iter().map(|s| s.requests).sum::<u64>(), r.requests);
    assert!(r.per_second.iter().all(|s| s.requests > 0 && s.p99_us.is_some()));
    assert!((r.rps - r.requests as f64 / r.duration_s).abs() < 1e-6);
    assert!(!r.interrupted);
}

#[test]
fn cancel_returns_a_partial_result() {
    let server = Server::fixed(OK);
    let control = loadgen::Control::new();
    let canceller = control.clone();
    std::thread::spawn(move || {
        std::thread::sleep(secs(0.5));
        canceller.cancel();
    });
    let started = std::time::Instant::now();
    let r = loadgen::run(&config_for(&server, 2, RunLength::Duration(secs(30.0))), &control).unwrap();
    assert!(started.elapsed() < secs(2.0));
    assert!(r.interrupted);
    assert!(r.duration_s > 0.3 && r.duration_s < 1.5, "{}", r.duration_s);
    assert!(r.requests > 0);
    let progress = control.progress().unwrap();
    assert!(progress.completed >= r.requests && progress.measuring);
}

#[test]
fn users_who_think_send_at_users_over_think_time() {
    // 10 users thinking 100 ms against an instant server: about 100 req/s, where without thinking
    // they would send thousands.
    let server = Server::fixed(OK);
    for (spread, keepalive) in
        [(loadgen::Spread::Constant, true), (loadgen::Spread::Exponential, true), (loadgen::Spread::Uniform, false)]
    {
        let config = loadgen::Config {
            think: Some(loadgen::Think { mean: secs(0.1), spread, seed: 4 }),
            keepalive,
            n_threads: 2,
            ..config_for(&server, 10, RunLength::Duration(secs(3.0)))
        };
        let r = run(&config);
        // Little's law: 10 users / (100 ms + a fraction of a millisecond); random spreads vary by
        // about sqrt(300) / 300 = 6% over 3 s.
        assert!((r.rps / 100.0 - 1.0).abs() < 0.2, "{spread:?}: {} req/s", r.rps);
        assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
        assert_eq!(r.options.think_spread.as_deref(), Some(spread.name()));
        // Latency is the server's, not the thinking.
        assert!(r.latency_us.p99 < 50_000, "{spread:?}: p99 {}us", r.latency_us.p99);
    }
    // Thinking is a closed loop's: with a rate it is refused, naming the setting.
    let open = loadgen::Config {
        rate: Some(10.0),
        think: Some(loadgen::Think { mean: secs(0.1), spread: loadgen::Spread::Constant, seed: 1 }),
        ..config_for(&server, 1, RunLength::Duration(secs(1.0)))
    };
    assert!(matches!(open.validate(), Err(loadgen::ConfigError::Invalid { setting: "think", .. })));
}
