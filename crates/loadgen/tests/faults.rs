//! Servers that misbehave: each fault is counted under its kind, never panics.

use loadgen::{Error, RunLength};

use crate::util::{config_for, run, secs, write, Action, Server, OK};

/// A 2 s run of `n_connections` against `server` that times out at `timeout` and gives up at `give_up`.
fn stalling(server: &Server, n_connections: usize, timeout: f64, give_up: f64) -> loadgen::Config {
    loadgen::Config {
        timeout: secs(timeout),
        give_up: Some(secs(give_up)),
        ..config_for(server, n_connections, RunLength::Duration(secs(2.0)))
    }
}

#[test]
fn stalled_requests_time_out_once_each() {
    let server = Server::start(|_| vec![Action::Stall]);
    // Giving up at the timeout: each request times out, is abandoned and its connection replaced.
    let r = run(&stalling(&server, 2, 0.3, 0.3));
    // Every request timed out exactly once, but for the two still in flight
    // when the run ended; about six per connection in 2 s.
    assert_eq!(r.errors.timeout + 2, r.sent, "{:?}", r.errors);
    assert!((8..=14).contains(&r.errors.timeout), "{}", r.errors.timeout);
    assert!(server.requests() + 2 >= r.sent && server.requests() <= r.sent);
    // Each timeout closed its connection and opened a new one.
    assert_eq!(r.connections_opened, r.errors.timeout + 2);
    assert_eq!((r.requests, r.errors.read, r.errors.parse), (0, 0, 0));
    assert_eq!((r.abandoned, r.late_responses, r.in_flight_at_end), (r.errors.timeout, 0, 2));
}

#[test]
fn a_late_response_is_completed_with_its_real_latency_on_the_same_connection() {
    let server = Server::start(|_| vec![Action::Sleep(secs(0.8)), write(OK)]);
    let config = loadgen::Config { timeout: secs(0.3), ..config_for(&server, 1, RunLength::Duration(secs(2.0))) };
    let r = run(&config);
    // Each request times out at 0.3 s, is counted once, and its response comes at 0.8 s.
    assert!(r.requests >= 2, "{r:?}");
    assert_eq!(r.late_responses, r.requests, "every response came after the timeout");
    assert!(r.errors.timeout >= r.requests && r.errors.timeout <= r.requests + 1, "{:?}", r.errors);
    assert!(r.latency_us.p50 >= 790_000 && r.latency_us.max < 1_500_000, "{:?}", r.latency_us);
    assert_eq!(r.goodput_rps, 0.0, "nothing came within the timeout");
    // The connection waited: one was opened, none abandoned.
    assert_eq!((r.connections_opened, r.abandoned), (1, 0));
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_stall_past_the_give_up_bound_closes_and_reopens_the_connection() {
    let server = Server::start(|_| vec![Action::Stall]);
    let r = run(&stalling(&server, 1, 0.2, 0.6));
    // A request every ~0.6 s: each times out once at 0.2 s and is abandoned at 0.6 s.
    assert!((2..=4).contains(&r.abandoned), "{r:?}");
    assert!(r.errors.timeout == r.abandoned || r.errors.timeout == r.abandoned + 1, "{:?}", r.errors);
    assert_eq!(r.connections_opened, r.abandoned + 1);
    assert_eq!((r.requests, r.late_responses), (0, 0));
    // The one still waiting when the window closed.
    assert_eq!(r.in_flight_at_end, 1);
}

#[test]
fn a_request_of_the_warm_up_still_held_is_a_timeout_of_the_window() {
    // The first request (of the warm-up) is held for good; the others are answered at once.
    let server = Server::start(|n| if n == 0 { vec![Action::Stall] } else { vec![write(OK)] });
    // The held request passes its 0.2 s timeout in the 1 s warm-up, long before the window opens.
    let config = loadgen::Config { warmup: secs(1.0), ..stalling(&server, 2, 0.2, 10.0) };
    let r = run(&config);
    // The connection it holds measured nothing in the window: its request counts as a timeout
    // there, once, and is still in flight at the end; the other connection was answered.
    assert_eq!((r.errors.timeout, r.in_flight_at_end, r.abandoned), (1, 2, 0), "{r:?}");
    assert!(r.requests > 100, "{r:?}");
    assert_eq!(r.late_responses, 0);
}

#[test]
fn close_mid_response_is_a_read_error() {
    let server = Server::start(|n| {
        if n % 2 == 1 {
            vec![write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"), Action::Close]
        } else {
            vec![write(OK)]
        }
    });
    let r = run(&config_for(&server, 1, RunLength::Requests(100)));
    assert_eq!((r.requests, r.errors.read), (50, 50), "{:?}", r.errors);
}

#[test]
fn malformed_responses_are_parse_errors() {
    let huge_head = format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n", "a".repeat(100_000));
    for response in [
        "garbage\r\n\r\n".to_string(),
        "HTTP/1.1 2x0 OK\r\n\r\n".to_string(),
        "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n".to_string(),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_string(),
        huge_head,
    ] {
        let server = Server::start(move |_| vec![write(&response), Action::Sleep(secs(0.05))]);
        let r = run(&config_for(&server, 1, RunLength::Requests(5)));
        assert_eq!((r.requests, r.errors.parse), (0, 5), "{:?}", r.errors);
    }
}

#[test]
fn unsolicited_bytes_are_parse_errors() {
    let server = Server::fixed(&format!("{OK}{OK}"));
    let r = run(&config_for(&server, 1, RunLength::Requests(10)));
    assert!(r.errors.parse >= 1, "{:?}", r.errors);
}

#[test]
fn refused_connections_are_connect_errors() {
    // Bind and drop: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let target = loadgen::Target::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let config =
        loadgen::Config { n_connections: 2, stop: RunLength::Duration(secs(0.5)), ..loadgen::Config::new(target) };
    let r = run(&config);
    assert_eq!(r.requests, 0);
    // Retries are paced (10 ms apart per connection), not a spin.
    assert!(r.errors.connect >= 10 && r.errors.connect <= 200, "{}", r.errors.connect);
}

#[test]
fn endless_body_times_out_with_bounded_memory() {
    let server = Server::start(|_| {
        let mut actions = vec![write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")];
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
        actions.extend(std::iter::repeat_n(write(chunk), 2000));
        actions
    });
    let config = loadgen::Config { timeout: secs(0.5), ..config_for(&server, 1, RunLength::Duration(secs(1.2))) };
    let r = run(&config);
    assert_eq!(r.requests, 0);
    assert!(r.errors.timeout >= 1, "{:?}", r.errors);
    // The body streamed through without being kept.
    assert!(r.bytes_read > 10 * 1024 * 1024, "{}", r.bytes_read);
}

#[test]
fn too_many_connections_for_the_file_limit() {
    let server = Server::fixed(OK);
    let err =
        loadgen::run(&config_for(&server, 10_000_000, RunLength::Requests(1)), &loadgen::Control::new()).unwrap_err();
    assert!(matches!(err, Error::FileLimit { .. }), "{err}");
    assert!(err.to_string().contains("ulimit -Hn"), "{err}");
}
