//! Helpers: fixed results for snapshots, and running the real binary.

use std::process::{Command, Output};

use loadgen::result::{
    encode_histogram, ErrorCounts, GeneratorUsage, LoadResult, RateSummary, SecondSummary, Settings, SCHEMA_VERSION,
};
use loadgen::{Histogram, LatencySummary};

/// A deterministic histogram: `n` values spread over 100us..~10ms, plus a tail.
fn histogram(n: u64, scale: u64) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for i in 0..n {
        h.record(scale * (100 + (i * 37) % 900)).unwrap();
    }
    h.record(scale * 50_000).unwrap();
    h
}

/// A result as a closed-loop (or, with `rate`, an open-loop) run would give,
/// built from fixed numbers so that its rendering never changes.
pub fn fixture(rate: bool) -> LoadResult {
    let latency = histogram(10_000, if rate { 3 } else { 1 });
    let raw = rate.then(|| histogram(10_000, 1));
    LoadResult {
        schema_version: SCHEMA_VERSION,
        requests: 10_001,
        duration_s: 2.0,
        rps: 5000.5,
        goodput_rps: 5000.5,
        late_responses: 0,
        abandoned: 0,
        in_flight_at_end: 0,
        latency_us: LatencySummary::from_histogram(&latency),
        latency_raw_us: raw.as_ref().map(LatencySummary::from_histogram),
        errors: ErrorCounts { timeout: 3, status: 7, read: 1, ..ErrorCounts::default() },
        rate: rate.then_some(RateSummary { target: 5000.0, achieved: 4999.0, late: 12, unsent: 2 }),
        per_second: vec![
            SecondSummary { second: 0, requests: 4900, errors: 10, p50_us: Some(550), p99_us: Some(990) },
            SecondSummary { second: 1, requests: 5101, errors: 1, p50_us: Some(551), p99_us: Some(50_000) },
        ],
        options: Settings {
            url: "http://127.0.0.1:8080/".into(),
            method: "GET".into(),
            headers: vec![],
            body_bytes: 0,
            connections: 50,
            threads: 1,
            duration_s: Some(2.0),
            requests: None,
            warmup_s: 0.0,
            timeout_s: 2.0,
            give_up_s: 20.0,
            pipeline: 1,
            keepalive: true,
            rate: rate.then_some(5000.0),
            arrivals: rate.then(|| "constant".into()),
            expect_status: None,
            expect_body: None,
            cpus: Some(vec![0]),
            ..Settings::default()
        },
        sent: 10_020,
        bytes_read: 1_230_123,
        connections_opened: 54,
        interrupted: false,
        generator: GeneratorUsage { threads: 1, cpu_user_s: 0.25, cpu_sys_s: 0.75, throttled_periods: 0 },
        latency_histogram: encode_histogram(&latency),
        latency_raw_histogram: raw.as_ref().map(encode_histogram),
        stopped_early: None,
        connect_s: 0.0,
        kinds: Vec::new(),
        tls: None,
        http2: None,
    }
}

/// Held by tests that start `stackbench bench`: each start sweeps what dead
/// runs left, which would take another test's evidence if they overlapped.
static ENGINE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Taken by every test that starts `stackbench bench`, for its whole length.
pub fn engine_lock() -> std::sync::MutexGuard<'static, ()> {
    ENGINE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the `stackbench` binary with `args`.
pub fn stackbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackbench")).args(args).output().expect("the stackbench binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
