//! Results records built from a few numbers, deterministic to the byte.

use loadgen::capacity::{Probe, Status};
use loadgen::result::{encode_histogram, ErrorCounts, GeneratorUsage, LoadResult, Settings, SCHEMA_VERSION};
use loadgen::{Histogram, LatencySummary};
use record::{LevelRecord, LevelStatus, RunRecord, ServerUsage};

/// What one measured level looked like.
#[derive(Debug, Clone, Copy)]
pub struct Level {
    pub connections: usize,
    pub rps: f64,
    pub mean_us: u64,
    pub generator_cpu: f64,
    pub server_cpu: f64,
    pub timeouts: u64,
}

pub fn level(connections: usize, rps: f64, mean_us: u64) -> Level {
    Level { connections, rps, mean_us, generator_cpu: 60.0, server_cpu: 99.0, timeouts: 0 }
}

/// A run of `stack` whose only content is one capacity search of `/health`:
/// probes `(offered, passed, p99 µs)` in order, the last one the hold when
/// `status` is found.
pub fn searched(stack: &str, suite: &str, status: Status, probes: &[(f64, bool, u64)]) -> RunRecord {
    let probes: Vec<Probe> = probes
        .iter()
        .map(|&(offered, passed, p99)| Probe {
            offered,
            achieved: offered,
            connections: 10,
            latency_us: LatencySummary { p50: p99 / 2, p99, ..LatencySummary::default() },
            latency_raw_us: None,
            errors: 0,
            passed,
            failed: if passed { Vec::new() } else { vec!["p99".into()] },
            connections_capped: false,
            load: load(&level(10, offered, p99 / 2)),
        })
        .collect();
    let servers = probes
        .iter()
        .map(|p| {
            let cpu = (p.offered / 100.0).min(100.0);
            Some(ServerUsage {
                cpu_pct_mean: cpu,
                cpu_pct_max: cpu,
                cpu_limit_pct: 100.0,
                memory_mean: 40 << 20,
                memory_peak: 48 << 20,
                nr_throttled: 0,
                throttled_s: 0.0,
                ..ServerUsage::default()
            })
        })
        .collect();
    RunRecord {
        capacities: vec![record::fixture::search(status, probes, servers)],
        user_objectives: Default::default(),
        ..record::fixture::run(stack, suite)
    }
}

fn load(l: &Level) -> LoadResult {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    // Latencies spread evenly around the mean (0.5x .. 1.5x).
    for i in 0..1000u64 {
        h.record(l.mean_us / 2 + l.mean_us * i / 1000).unwrap();
    }
    let requests = (l.rps * 10.0) as u64;
    LoadResult {
        schema_version: SCHEMA_VERSION,
        requests,
        duration_s: 10.0,
        rps: l.rps,
        goodput_rps: l.rps,
        late_responses: 0,
        abandoned: 0,
        in_flight_at_end: 0,
        latency_us: LatencySummary { mean: l.mean_us as f64, ..LatencySummary::from_histogram(&h) },
        latency_raw_us: None,
        errors: ErrorCounts { timeout: l.timeouts, ..ErrorCounts::default() },
        rate: None,
        per_second: (0..10)
            .map(|second| loadgen::result::SecondSummary {
                second,
                requests: (l.rps * (0.95 + 0.01 * second as f64)) as u64,
                errors: 0,
                p50_us: Some(l.mean_us),
                p99_us: Some(l.mean_us * 3 / 2 + second * 10),
            })
            .collect(),
        options: Settings {
            url: "http://127.0.0.1:8000/health".into(),
            method: "GET".into(),
            headers: vec![],
            body_bytes: 0,
            connections: l.connections,
            threads: 1,
            duration_s: Some(10.0),
            requests: None,
            warmup_s: 1.0,
            timeout_s: 2.0,
            give_up_s: 20.0,
            pipeline: 1,
            keepalive: true,
            rate: None,
            expect_status: Some(200),
            expect_body: None,
            cpus: Some(vec![0]),
            ..Settings::default()
        },
        sent: requests,
        bytes_read: requests * 100,
        connections_opened: l.connections as u64,
        interrupted: false,
        generator: GeneratorUsage { threads: 1, cpu_user_s: 1.0, cpu_sys_s: 5.0, throttled_periods: 0 },
        latency_histogram: encode_histogram(&h),
        latency_raw_histogram: None,
        stopped_early: None,
        connect_s: 0.0,
        kinds: Vec::new(),
        tls: None,
        http2: None,
    }
}

/// A complete run of `stack` in suite `suite`, one `health` level per entry.
pub fn record(stack: &str, suite: &str, levels: &[Level]) -> RunRecord {
    RunRecord {
        levels: levels
            .iter()
            .map(|l| LevelRecord {
                endpoint: "health".into(),
                method: "GET".into(),
                path: "/health".into(),
                connections: l.connections,
                keepalive: true,
                protocol: Default::default(),
                repeat: 1,
                status: LevelStatus::Ok,
                failure: None,
                load: Some(load(l)),
                server: Some(ServerUsage {
                    cpu_pct_mean: l.server_cpu,
                    cpu_pct_max: l.server_cpu,
                    cpu_limit_pct: 100.0,
                    memory_mean: 40 << 20,
                    memory_peak: 48 << 20,
                    nr_throttled: 5,
                    throttled_s: 0.2,
                    ..ServerUsage::default()
                }),
                generator_cpu_pct: l.generator_cpu,
                generators: Vec::new(),
                profile: None,
            })
            .collect(),
        ..record::fixture::run(stack, suite)
    }
}

pub fn named(records: Vec<RunRecord>) -> Vec<(String, RunRecord)> {
    records.into_iter().map(|r| (format!("reports/results/{}/{}.json", r.scenario.name, r.suite_id), r)).collect()
}
