//! Snapshots of the human summary, from fixed results.

use loadgen::LatencySummary;

use crate::util::fixture;

#[test]
fn closed_loop_summary() {
    insta::assert_snapshot!(stackbench::summary::render(&fixture(false), false).unwrap());
}

#[test]
fn rate_summary_with_spectrum() {
    insta::assert_snapshot!(stackbench::summary::render(&fixture(true), true).unwrap());
}

/// An https:// run: what was agreed on and the handshakes, apart from latency; a failed handshake's
/// reason with what to do (a self-signed CA certificate gets its own advice).
#[test]
fn tls_lines() {
    let mut r = fixture(false);
    let summary = LatencySummary { p50: 1200, p99: 3400, max: 5100, ..LatencySummary::default() };
    r.tls = Some(loadgen::result::TlsResult {
        verify: true,
        resumption: true,
        version: "TLSv1_3".into(),
        cipher: "TLS13_AES_256_GCM_SHA384".into(),
        alpn: Some("http/1.1".into()),
        handshakes: 2357,
        resumed: 2355,
        failed: 0,
        first_failure: None,
        handshake_us: summary,
    });
    let lines = |r: &loadgen::LoadResult| {
        let out = stackbench::summary::render(r, false).unwrap();
        out.lines()
            .filter(|l| l.contains("TLS") || l.contains("andshake"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(lines(&r), @r"
    TLS: TLSv1_3 TLS13_AES_256_GCM_SHA384, ALPN http/1.1, certificate verified
    Handshakes in the window: 2357 (2355 resumed), p50 1.20ms, p99 3.40ms, max 5.10ms
    ");
    let tls = r.tls.as_mut().unwrap();
    (tls.version, tls.cipher, tls.alpn, tls.handshakes, tls.resumed) = (String::new(), String::new(), None, 0, 0);
    (tls.failed, tls.first_failure) = (716, Some("invalid peer certificate: UnknownIssuer".into()));
    insta::assert_snapshot!(lines(&r), @"TLS handshakes failed: 716 in the window, the first because: invalid peer certificate: UnknownIssuer; trust the server's CA with --tls-ca FILE, or skip verification with --insecure");
    r.tls.as_mut().unwrap().first_failure =
        Some("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))".into());
    insta::assert_snapshot!(lines(&r), @"TLS handshakes failed: 716 in the window, the first because: invalid peer certificate: Other(OtherError(CaUsedAsEndEntity)); the server's certificate is a CA's (self-signed, CA:TRUE), which no verifier accepts as a server's: skip verification with --insecure, or serve a certificate its CA signed");
}

#[test]
fn header_names_pinning_and_mode() {
    let opts = stackbench::LoadOpts {
        cpus: Some("0".into()),
        rate: Some(1000.0),
        ..parse(&["stackbench", "load", "http://127.0.0.1:9/x", "-c", "20", "-d", "3s", "--warmup", "1s"])
    };
    let config = opts.to_config().unwrap();
    insta::assert_snapshot!(stackbench::summary::header(&config), @r"
    Running 3.00s test @ http://127.0.0.1:9/x after a 1.00s warm-up
      1 threads and 20 connections, generator pinned to CPU 0, open loop at 1.00k req/s
    ");
}

/// An HTTP/2 run: its streams in the header; the server's limit, resets and retries, and the first error.
#[test]
fn http2_lines() {
    let opts =
        parse(&["stackbench", "load", "http://127.0.0.1:9/", "-c", "4", "-t", "1", "--http2", "--streams", "100"]);
    insta::assert_snapshot!(stackbench::summary::header(&opts.to_config().unwrap()), @r"
    Running 10.00s test @ http://127.0.0.1:9/
      1 threads and 4 connections of HTTP/2 (h2c, with prior knowledge), 100 streams each
    ");
    let mut r = fixture(false);
    let windows = loadgen::h2::Settings::default();
    r.http2 = Some(loadgen::Http2Result {
        streams: 100,
        stream_window: windows.stream_window,
        connection_window: windows.connection_window,
        server_max_streams: Some(128),
        retried: 0,
        resets: 0,
        first_error: None,
    });
    let lines = |r: &loadgen::LoadResult| {
        let out = stackbench::summary::render(r, false).unwrap();
        out.lines()
            .filter(|l| l.contains("HTTP/2") || l.contains("Streams"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!(lines(&r), @"HTTP/2: 100 streams per connection (the server allows 128)");
    let http2 = r.http2.as_mut().unwrap();
    (http2.resets, http2.retried) = (12, 40);
    http2.first_error = Some("the server reset a stream with REFUSED_STREAM".into());
    insta::assert_snapshot!(lines(&r), @r"
    HTTP/2: 100 streams per connection (the server allows 128)
    Streams in the window: 12 reset by the server, 40 refused by its GOAWAY and sent again on a new connection
    HTTP/2 went wrong, first: the server reset a stream with REFUSED_STREAM
    ");
}

fn parse(args: &[&str]) -> stackbench::LoadOpts {
    use clap::Parser;
    match stackbench::Opts::parse_from(args).command {
        stackbench::Command::Load(opts) => opts,
        other => panic!("not a load command: {other:?}"),
    }
}
