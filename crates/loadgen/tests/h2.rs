//! HTTP/2 against a real server: the `h2` crate's, in process on 127.0.0.1:0, whose encoder uses HPACK's
//! dynamic table and Huffman codes. First the framing (`loadgen::h2`) on a socket of the test's own, then
//! whole runs: exact counts on both sides, streams per connection honoured, the server's limit kept.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use loadgen::h2::{encode_request, Blocked, Connection, Event, Settings, StreamFailure};
use loadgen::{Config, Http2, RunLength, Target};

use crate::util::{run, secs, write, Server, TestCa, OK};

/// Streams the server allows open on a connection.
const SERVER_STREAMS: u32 = 4;

/// What the server saw: requests answered, and the most streams open at once on one connection.
#[derive(Default)]
struct Seen {
    requests: AtomicU64,
    most_open: AtomicUsize,
}

/// Starts the server (see `answer`), allowing `SERVER_STREAMS` streams per connection.
fn server() -> SocketAddr {
    serve(SERVER_STREAMS, None).0
}

/// Starts the server allowing `max_streams` per connection, over TLS (ALPN `h2`) with `tls`.
fn serve(max_streams: u32, tls: Option<Arc<rustls::ServerConfig>>) -> (SocketAddr, Arc<Seen>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let seen = Arc::new(Seen::default());
    let counts = seen.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let (seen, acceptor) = (counts.clone(), acceptor.clone());
                tokio::spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            let Ok(tls) = acceptor.accept(socket).await else { return };
                            connection(tls, max_streams, seen).await
                        }
                        None => connection(socket, max_streams, seen).await,
                    }
                });
            }
        });
    });
    (rx.recv().unwrap(), seen)
}

async fn connection<T>(io: T, max_streams: u32, seen: Arc<Seen>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let builder = h2::server::Builder::new().max_concurrent_streams(max_streams).clone();
    let Ok(mut conn) = builder.handshake::<_, Bytes>(io).await else { return };
    let open = Arc::new(AtomicUsize::new(0));
    while let Some(Ok((request, respond))) = conn.accept().await {
        let (seen, open) = (seen.clone(), open.clone());
        let now_open = open.fetch_add(1, Ordering::SeqCst) + 1;
        seen.most_open.fetch_max(now_open, Ordering::SeqCst);
        tokio::spawn(async move {
            answer(request, respond).await;
            open.fetch_sub(1, Ordering::SeqCst);
            seen.requests.fetch_add(1, Ordering::SeqCst);
        });
    }
}

/// `/status/N` answers N; `/bytes/N` sends N bytes; `/echo` says what it was sent; `/long-header` carries
/// a 40,000-byte header (CONTINUATION frames); `/sleep` answers after 20 ms, `/stall` after 10 s; anything
/// else is refused.
async fn answer(request: http::Request<h2::RecvStream>, mut respond: h2::server::SendResponse<Bytes>) {
    let (head, mut body) = request.into_parts();
    let mut received = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        received.extend_from_slice(&chunk);
    }
    let path = head.uri.path().to_string();
    let mut response = http::Response::builder().status(200);
    let body = if let Some(code) = path.strip_prefix("/status/") {
        response = response.status(code.parse::<u16>().unwrap());
        Bytes::new()
    } else if let Some(n) = path.strip_prefix("/bytes/") {
        Bytes::from(vec![b'x'; n.parse().unwrap()])
    } else if path == "/echo" {
        let trace = head.headers.get("x-trace").map_or("-", |v| v.to_str().unwrap());
        let said = format!(
            "{} {} {} {} {}",
            head.method,
            head.uri,
            head.version == http::Version::HTTP_2,
            trace,
            received.len()
        );
        Bytes::from(said)
    } else if path == "/stall" {
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        Bytes::new()
    } else if path == "/sleep" {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Bytes::from_static(b"slept")
    } else if path == "/long-header" {
        response = response.header("x-long", "y".repeat(40_000));
        Bytes::from_static(b"long")
    } else {
        respond.send_reset(h2::Reason::REFUSED_STREAM);
        return;
    };
    let end = body.is_empty();
    let mut send = respond.send_response(response.body(()).unwrap(), end).unwrap();
    if !end {
        send.send_data(body, true).unwrap();
    }
}

/// What became of one request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcome {
    status: Option<u16>,
    body: Vec<u8>,
    ended: bool,
    failed: Option<StreamFailure>,
}

/// Sends `requests` (HTTP/1.1 text) over one connection, as many at once as the server allows, and waits
/// for every outcome; also the most streams it saw open at once.
fn exchange(addr: SocketAddr, settings: Settings, requests: &[String]) -> (Vec<Outcome>, usize) {
    let mut socket = TcpStream::connect(addr).unwrap();
    let mut conn = Connection::new(settings);
    let encoded: Vec<_> = requests.iter().map(|r| encode_request(r.as_bytes(), false).unwrap()).collect();
    let mut outcomes: BTreeMap<u32, Outcome> = BTreeMap::new();
    let (mut next, mut most_open) = (0, 0);
    let mut buf = vec![0; 32 * 1024];
    while outcomes.values().filter(|o| o.ended || o.failed.is_some()).count() < requests.len() {
        while next < encoded.len() {
            match conn.open(next as u32, &encoded[next]) {
                Ok(_) => next += 1,
                Err(Blocked::Streams | Blocked::Starting) => break,
                Err(other) => panic!("blocked: {other:?}"),
            }
        }
        most_open = most_open.max(conn.open_streams());
        socket.write_all(&conn.out).unwrap();
        conn.out.clear();
        let n = socket.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed the connection");
        conn.on_bytes(&buf[..n], &mut |event| match event {
            Event::Status { tag, status } => outcomes.entry(tag).or_default().status = Some(status),
            Event::Data { tag, data } => outcomes.entry(tag).or_default().body.extend_from_slice(data),
            Event::End { tag } => outcomes.entry(tag).or_default().ended = true,
            Event::Failed { tag, failure } => outcomes.entry(tag).or_default().failed = Some(failure),
            Event::GoAway { .. } | Event::Opened => {}
        })
        .unwrap();
    }
    socket.write_all(&conn.out).unwrap();
    (outcomes.into_values().collect(), most_open)
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

#[test]
fn a_real_server_is_read_right_stream_by_stream() {
    let addr = server();
    let statuses = [200u16, 201, 204, 302, 404, 418, 503];
    let requests: Vec<String> = statuses.iter().map(|s| get(&format!("/status/{s}"))).collect();
    let (outcomes, most_open) = exchange(addr, Settings::default(), &requests);
    let got: Vec<_> = outcomes.iter().map(|o| (o.status, o.ended)).collect();
    assert_eq!(got, statuses.map(|s| (Some(s), true)));
    // Seven requests, but never more streams open than the server allows.
    assert_eq!(most_open, SERVER_STREAMS as usize);
}

#[test]
fn requests_arrive_as_sent_and_bodies_whole_through_flow_control() {
    let addr = server();
    let post =
        "POST /echo HTTP/1.1\r\nHost: test\r\nX-Trace: abc\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
    let requests = [post.to_string(), get("/bytes/1000000"), get("/bytes/70000"), get("/long-header"), get("/reset")];
    // Small windows: a megabyte needs many WINDOW_UPDATEs, on the stream and on the connection.
    let (outcomes, _) = exchange(addr, Settings { stream_window: 65_535, connection_window: 100_000 }, &requests);
    assert_eq!(String::from_utf8_lossy(&outcomes[0].body), "POST http://test/echo true abc 5");
    assert_eq!(outcomes[1].body.len(), 1_000_000);
    assert_eq!(outcomes[2].body.len(), 70_000);
    assert_eq!((outcomes[3].status, &outcomes[3].body[..]), (Some(200), &b"long"[..]));
    assert_eq!(outcomes[4].failed, Some(StreamFailure::Reset(loadgen::h2::code::REFUSED_STREAM)));
    assert!(outcomes[..4].iter().all(|o| o.ended && o.failed.is_none()));
}

/// A closed-loop run of `requests` over `connections` x `streams` against `url`.
fn h2_config(url: &str, connections: usize, streams: u32, requests: u64) -> Config {
    Config {
        n_connections: connections,
        n_threads: 1,
        stop: RunLength::Requests(requests),
        http2: Some(Http2 { streams, ..Http2::default() }),
        ..Config::new(Target::parse(url).unwrap())
    }
}

#[test]
fn a_run_over_h2c_counts_exactly_what_the_server_answered() {
    let (addr, seen) = serve(100, None);
    let result = run(&h2_config(&format!("http://{addr}/status/200"), 3, 10, 3000));
    assert_eq!((result.requests, result.errors.total()), (3000, 0), "{:?}", result.http2);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 3000);
    let http2 = result.http2.unwrap();
    assert_eq!((http2.streams, http2.server_max_streams, http2.resets, http2.retried), (10, Some(100), 0, 0));
    assert_eq!(result.connections_opened, 3);
}

#[test]
fn streams_per_connection_are_honoured_and_so_is_the_servers_limit() {
    // Requests of 20 ms: each connection keeps its streams busy. 8 asked for, 100 allowed: 8 open.
    let (addr, seen) = serve(100, None);
    let result = run(&h2_config(&format!("http://{addr}/sleep"), 1, 8, 400));
    assert_eq!((result.requests, result.errors.total()), (400, 0));
    assert_eq!(seen.most_open.load(Ordering::SeqCst), 8);
    // 8 asked for, 3 allowed: never more than 3, and nothing refused.
    let (addr, seen) = serve(3, None);
    let result = run(&h2_config(&format!("http://{addr}/sleep"), 1, 8, 300));
    assert_eq!((result.requests, result.errors.total()), (300, 0));
    assert_eq!(seen.most_open.load(Ordering::SeqCst), 3);
    assert_eq!(result.http2.unwrap().server_max_streams, Some(3));
}

#[test]
fn reset_streams_are_errors_and_say_why() {
    let addr = server();
    let result = run(&h2_config(&format!("http://{addr}/reset"), 1, 4, 50));
    assert_eq!((result.requests, result.errors.read), (0, 50));
    let http2 = result.http2.unwrap();
    assert_eq!(http2.resets, 50);
    assert_eq!(http2.first_error.as_deref(), Some("the server reset a stream with REFUSED_STREAM"));
}

#[test]
fn h2c_to_a_server_of_http_1_1_says_so() {
    // As uvicorn or gunicorn answer HTTP/2's preface: 400, in HTTP/1.1.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut tcp in listener.incoming().flatten() {
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let config = Config { stop: RunLength::Duration(secs(0.3)), ..h2_config(&format!("http://{addr}/"), 1, 4, 1) };
    let result = run(&config);
    assert_eq!(result.requests, 0);
    assert!(result.errors.connect > 0, "{:?}", result.errors);
    assert_eq!(
        result.http2.unwrap().first_error.as_deref(),
        Some("HTTP_1_1_REQUIRED: the server answered in HTTP/1.1: it does not speak HTTP/2 with prior knowledge (h2c) here")
    );
    // A server that waits for more of what it takes for a request, and never sends SETTINGS.
    let server = Server::start(|_| vec![write(OK)]);
    let config =
        Config { stop: RunLength::Duration(secs(0.3)), timeout: secs(0.2), ..h2_config(&server.url(), 1, 4, 1) };
    let result = run(&config);
    assert_eq!(result.requests, 0);
    assert!(result.errors.connect > 0, "{:?}", result.errors);
    let said = result.http2.unwrap().first_error.unwrap();
    assert!(said.starts_with("the server sent no HTTP/2 SETTINGS within 200ms: it may not speak HTTP/2"), "{said}");
}

#[test]
fn h2_over_tls_is_agreed_by_alpn_and_verified() {
    let ca = TestCa::new(&["localhost"]);
    let (addr, seen) = serve(100, Some(ca.server_config(&[b"h2", b"http/1.1"])));
    let mut config = h2_config(&format!("https://localhost:{}/status/200", addr.port()), 2, 4, 1000);
    config.tls.ca = Some(ca.ca.path().to_path_buf());
    let result = run(&config);
    assert_eq!((result.requests, result.errors.total()), (1000, 0), "{:?}", result.tls);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 1000);
    let tls = result.tls.unwrap();
    assert_eq!((tls.alpn.as_deref(), tls.failed), (Some("h2"), 0));
}

#[test]
fn a_tls_server_without_h2_says_what_it_agreed_to() {
    let ca = TestCa::new(&["localhost"]);
    let (addr, _) = serve(100, Some(ca.server_config(&[b"http/1.1"])));
    let mut config = h2_config(&format!("https://localhost:{}/", addr.port()), 1, 4, 1);
    config.stop = RunLength::Duration(secs(0.3));
    config.tls.ca = Some(ca.ca.path().to_path_buf());
    let result = run(&config);
    assert_eq!(result.requests, 0);
    assert!(result.errors.connect > 0, "{:?}", result.errors);
    assert_eq!(
        result.tls.unwrap().first_failure.as_deref(),
        Some("the server agreed to 'http/1.1', not HTTP/2 ('h2'): it does not serve HTTP/2 over TLS here")
    );
}

#[test]
fn an_open_loop_over_streams_holds_its_rate() {
    // 1000 req/s over 2 connections of 4 streams, constant and Poisson arrivals alike.
    let (addr, seen) = serve(100, None);
    for arrivals in [loadgen::Arrivals::Constant, loadgen::Arrivals::Poisson { seed: 7 }] {
        let before = seen.requests.load(Ordering::SeqCst);
        let config = Config {
            rate: Some(1000.0),
            arrivals,
            stop: RunLength::Duration(secs(2.0)),
            ..h2_config(&format!("http://{addr}/status/200"), 2, 4, 1)
        };
        let result = run(&config);
        let rate = result.rate.unwrap();
        assert!((rate.achieved / 1000.0 - 1.0).abs() < 0.1, "{arrivals:?}: achieved {}", rate.achieved);
        assert_eq!(result.errors.total(), 0, "{arrivals:?}");
        // Every request the generator counted, the server answered (and those of the warm-up and the end).
        assert!(seen.requests.load(Ordering::SeqCst) - before >= result.requests);
    }
}

#[test]
fn a_stalled_stream_times_out_and_is_cancelled_not_its_connection() {
    let (addr, _) = serve(100, None);
    let config = Config {
        stop: RunLength::Duration(secs(1.0)),
        timeout: secs(0.2),
        give_up: Some(secs(0.3)),
        ..h2_config(&format!("http://{addr}/stall"), 1, 2, 1)
    };
    let result = run(&config);
    assert_eq!(result.requests, 0);
    assert!(result.errors.timeout >= 4, "{:?}", result.errors);
    assert!(result.abandoned >= 4, "abandoned {}", result.abandoned);
    // Abandoned streams are reset (CANCEL); the connection stays.
    assert_eq!(result.connections_opened, 1);
}

#[test]
fn an_http2_result_matches_the_schema() {
    let (addr, _) = serve(100, None);
    let result = run(&h2_config(&format!("http://{addr}/status/200"), 1, 4, 100));
    assert!(result.http2.is_some());
    crate::schema::check(&result);
}
