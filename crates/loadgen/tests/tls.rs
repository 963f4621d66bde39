//! HTTP/1.1 over TLS against an in-process rustls server on 127.0.0.1:0 with a certificate of a CA made
//! for the test: exact counts, handshakes counted with resumption on and off, verification refused and
//! turned off, bad settings as located errors.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use loadgen::tls::{TlsSettings, TlsVersion};
use loadgen::{Config, Control, RunLength, Target};
use rustls::{HandshakeKind, ServerConfig, ServerConnection, StreamOwned};

use crate::util::{run, secs, TestCa};

/// What the server saw: requests answered, handshakes finished, and of them those resumed.
#[derive(Default)]
struct Seen {
    requests: AtomicU64,
    handshakes: AtomicU64,
    resumed: AtomicU64,
}

struct TlsServer {
    port: u16,
    seen: Arc<Seen>,
    /// The test CA's certificate (PEM), which signed the server's.
    ca: tempfile::NamedTempFile,
}

impl TlsServer {
    /// Answers `ok` to each request, on a thread per connection; closes after a `Connection: close` one.
    /// Its certificate is for localhost and 127.0.0.1.
    fn start() -> TlsServer {
        TlsServer::for_names(&["localhost", "127.0.0.1"])
    }

    fn for_names(names: &[&str]) -> TlsServer {
        let ca = TestCa::new(names);
        let config = ca.server_config(&[b"http/1.1"]);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Seen::default());
        let counts = seen.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming().flatten() {
                let (config, seen) = (config.clone(), counts.clone());
                std::thread::spawn(move || serve(config, tcp, &seen));
            }
        });
        TlsServer { port, seen, ca: ca.ca }
    }

    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}/", self.port)
    }

    fn ca(&self) -> PathBuf {
        self.ca.path().to_path_buf()
    }
}

fn serve(config: Arc<ServerConfig>, tcp: std::net::TcpStream, seen: &Seen) {
    let _ = tcp.set_nodelay(true);
    let mut stream = StreamOwned::new(ServerConnection::new(config).unwrap(), tcp);
    let mut pending = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut counted_handshake = false;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !counted_handshake && !stream.conn.is_handshaking() {
            counted_handshake = true;
            seen.handshakes.fetch_add(1, Ordering::Relaxed);
            if stream.conn.handshake_kind() == Some(HandshakeKind::Resumed) {
                seen.resumed.fetch_add(1, Ordering::Relaxed);
            }
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head: Vec<u8> = pending.drain(..end + 4).collect();
            let close = String::from_utf8_lossy(&head).to_ascii_lowercase().contains("connection: close");
            seen.requests.fetch_add(1, Ordering::Relaxed);
            let answer: &[u8] = if close {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            };
            if stream.write_all(answer).and_then(|()| stream.flush()).is_err() {
                return;
            }
            if close {
                stream.conn.send_close_notify();
                let _ = stream.flush();
                return;
            }
        }
    }
}

fn config(url: &str, n_connections: usize, stop: RunLength, tls: TlsSettings) -> Config {
    Config { n_connections, n_threads: 1, stop, tls, ..Config::new(Target::parse(url).unwrap()) }
}

fn trusting(server: &TlsServer) -> TlsSettings {
    TlsSettings { ca: Some(server.ca()), ..TlsSettings::default() }
}

#[test]
fn a_request_count_over_tls_is_exact_on_both_sides() {
    let server = TlsServer::start();
    let r = run(&config(&server.url("127.0.0.1"), 4, RunLength::Requests(2000), trusting(&server)));
    assert_eq!(r.requests, 2000, "{r:?}");
    assert_eq!(r.errors.total(), 0, "{:?}", r.errors);
    assert_eq!(server.seen.requests.load(Ordering::Relaxed), 2000);
    let tls = r.tls.expect("an https run says how TLS went");
    assert_eq!((tls.version.as_str(), tls.alpn.as_deref()), ("TLSv1_3", Some("http/1.1")), "{tls:?}");
    assert!(tls.cipher.starts_with("TLS13_"), "{tls:?}");
    // Kept alive, the 4 connections finished their handshakes before the window: none is counted in it.
    assert_eq!((tls.handshakes, tls.failed, server.seen.handshakes.load(Ordering::Relaxed)), (0, 0, 4));
}

#[test]
fn a_tls_result_matches_the_schema() {
    let server = TlsServer::start();
    let r = run(&Config {
        keepalive: false,
        ..config(&server.url("127.0.0.1"), 2, RunLength::Requests(20), trusting(&server))
    });
    assert!(r.tls.as_ref().is_some_and(|t| t.handshakes > 0));
    crate::schema::check(&r);
}

/// With keep-alive off every request pays a handshake, counted apart from its latency; with resumption
/// on, the handshakes after the first resume a session (the server agrees), off none does.
#[test]
fn handshakes_are_counted_with_resumption_on_and_off() {
    for resumption in [true, false] {
        let server = TlsServer::start();
        let settings = TlsSettings { resumption, ..trusting(&server) };
        let r = run(&Config {
            keepalive: false,
            ..config(&server.url("localhost"), 2, RunLength::Requests(300), settings)
        });
        assert_eq!((r.requests, r.errors.total()), (300, 0), "{r:?}");
        let tls = r.tls.unwrap();
        // A connection per request; the two opened before the window shook hands there.
        assert!((297..=300).contains(&tls.handshakes), "resumption {resumption}: {tls:?}");
        assert!(tls.handshake_us.p50 > 0 && tls.handshake_us.max >= tls.handshake_us.p50, "{tls:?}");
        let server_resumed = server.seen.resumed.load(Ordering::Relaxed);
        if resumption {
            assert!(tls.resumed >= tls.handshakes - 3, "{tls:?}");
            assert!(server_resumed >= tls.resumed, "the server saw {server_resumed} resumed: {tls:?}");
        } else {
            assert_eq!((tls.resumed, server_resumed), (0, 0), "{tls:?}");
        }
    }
}

#[test]
fn a_certificate_that_does_not_verify_is_counted_and_said_and_verify_off_accepts_it() {
    let server = TlsServer::start();
    // The system's roots do not hold the test's CA.
    let stop = RunLength::Duration(secs(0.5));
    let r = run(&config(&server.url("127.0.0.1"), 2, stop, TlsSettings::default()));
    assert_eq!(r.requests, 0, "{r:?}");
    let tls = r.tls.unwrap();
    assert!(r.errors.connect > 0 && tls.failed == r.errors.connect, "{:?} {tls:?}", r.errors);
    let why = tls.first_failure.unwrap_or_default();
    assert!(why.contains("invalid peer certificate") && why.contains("UnknownIssuer"), "{why}");
    assert_eq!(server.seen.requests.load(Ordering::Relaxed), 0);

    // An address the certificate does not carry.
    let localhost_only = TlsServer::for_names(&["localhost"]);
    let wrong_name = run(&config(&localhost_only.url("127.0.0.1"), 1, stop, trusting(&localhost_only)));
    let why = wrong_name.tls.unwrap().first_failure.unwrap_or_default();
    assert!(why.contains("certificate not valid for name \"127.0.0.1\""), "{why}");

    let off = run(&config(&server.url("127.0.0.1"), 2, stop, TlsSettings { verify: false, ..TlsSettings::default() }));
    assert!(off.requests > 0 && off.errors.total() == 0, "{off:?}");
    assert!(!off.tls.unwrap().verify);
}

#[test]
fn the_version_and_suites_asked_for_are_the_ones_spoken() {
    let server = TlsServer::start();
    let settings = TlsSettings {
        version: Some(TlsVersion::V1_2),
        ciphers: vec!["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into()],
        ..trusting(&server)
    };
    let r = run(&config(&server.url("127.0.0.1"), 1, RunLength::Requests(50), settings));
    assert_eq!((r.requests, r.errors.total()), (50, 0), "{r:?}");
    let tls = r.tls.unwrap();
    assert_eq!(
        (tls.version.as_str(), tls.cipher.as_str()),
        ("TLSv1_2", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")
    );
}

#[test]
fn bad_tls_settings_are_errors_that_name_the_setting() {
    let server = TlsServer::start();
    let url = server.url("127.0.0.1");
    let error = |tls: TlsSettings| {
        let e = loadgen::run(&config(&url, 1, RunLength::Requests(1), tls), &Control::new()).unwrap_err();
        e.to_string()
    };
    let unknown = error(TlsSettings { ciphers: vec!["TLS_NOPE".into()], ..trusting(&server) });
    assert!(unknown.starts_with("tls-ciphers: no cipher suite 'TLS_NOPE'; known: TLS13_"), "{unknown}");
    let none_left = error(TlsSettings {
        version: Some(TlsVersion::V1_3),
        ciphers: vec!["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into()],
        ..trusting(&server)
    });
    assert!(none_left.starts_with("tls-ciphers: no cipher suite left for the TLS version"), "{none_left}");
    let missing = error(TlsSettings { ca: Some("/nonexistent/ca.pem".into()), ..TlsSettings::default() });
    assert!(missing.starts_with("tls-ca: cannot read certificates from /nonexistent/ca.pem"), "{missing}");
    let empty = tempfile::NamedTempFile::new().unwrap();
    let empty = error(TlsSettings { ca: Some(empty.path().to_path_buf()), ..TlsSettings::default() });
    assert!(empty.contains("holds no certificate to trust"), "{empty}");
    assert!("1.1".parse::<TlsVersion>().unwrap_err().contains("use 1.2 or 1.3"));
}
