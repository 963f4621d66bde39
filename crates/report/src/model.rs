//! The comparison as data: one row per stack, workload and connection level,
//! repeats folded into a median with their spread, and a verdict.

use std::collections::BTreeMap;

use record::Workload;
use record::{CapacityRecord, LevelRecord, LevelStatus, RunRecord, ServerUsage};
use serde::Serialize;

/// One workload's capacity searches across stacks, the highest capacity first.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityGroup {
    /// The endpoint's request (`GET /health (health)`).
    #[serde(flatten)]
    pub workload: Workload,
    pub rows: Vec<CapacityRow>,
}

/// A stack's capacity at its objectives; with repeats, the median of those that found one.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityRow {
    pub stack: String,
    /// `found`, `generator_bound`, `budget_exhausted` or `none` (of the first search, unless one found it).
    pub status: String,
    pub capacity_rps: Option<f64>,
    /// The highest rate that passed: the capacity is at least this much.
    pub at_least_rps: f64,
    /// At the capacity (the passing hold): p99, the server's CPU, and req/s per server CPU-second.
    pub p99_us: Option<u64>,
    pub server_cpu_pct: Option<f64>,
    /// Server CPU per completed request at the capacity's hold, in µs (lower is better).
    pub cpu_us_per_request: Option<f64>,
    /// The capacity, the hold's p99 (µs) and its CPU per request over the searches that found a capacity,
    /// each with its interval (their medians are the figures above).
    pub capacity_spread: Option<Spread>,
    pub p99_spread: Option<Spread>,
    pub cpu_spread: Option<Spread>,
    pub slo: loadgen::capacity::Slo,
    /// How long a search took (median), when the records kept it.
    pub search_s: Option<f64>,
    /// The first search's probes, in the order run (for the stack page's table and chart).
    #[serde(skip)]
    pub probes: Vec<ProbePoint>,
    /// The last search's profile at its capacity, with its confirming hold's req/s.
    #[serde(skip)]
    pub profile: Option<(record::ProfileRecord, f64)>,
    /// A mix's kinds at the capacity (the last search's hold, `units::kinds_line`); empty without a mix.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kinds: String,
    /// What the searches say beside their figures: each time the server exited under a probe.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One probe of a search as the stack page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbePoint {
    pub offered: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub passed: bool,
    /// The objectives it failed (`p99`, `errors`, `achieved`, `generator`).
    pub failed: Vec<String>,
    /// When its outcome was certain before its length, the seconds of window it took.
    pub decided_after_s: Option<f64>,
}

impl CapacityRow {
    /// What rankings sort by, best first: a capacity found (2), then a lower
    /// bound of one (1), each with its rate.
    pub fn rank(&self) -> (u8, f64) {
        match self.capacity_rps {
            Some(rps) => (2, rps),
            None => (1, self.at_least_rps),
        }
    }
}

/// Best first: the higher kind of figure (see [`CapacityRow::rank`]), then the higher rate.
pub fn by_rank(a: (u8, f64), b: (u8, f64)) -> std::cmp::Ordering {
    b.0.cmp(&a.0).then(b.1.total_cmp(&a.1))
}

/// One workload at one connection level, across stacks.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The endpoint's request (`GET /health (health)`).
    #[serde(flatten)]
    pub workload: Workload,
    pub connections: usize,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub stack: String,
    /// Measured repeats folded into this row.
    pub runs: usize,
    pub requests: u64,
    pub rps: Spread,
    /// Valid responses within the timeout per second (median); `None` for
    /// results from before it was measured.
    pub goodput_rps: Option<f64>,
    pub latency_mean_us: f64,
    pub latency_p50_us: u64,
    pub latency_p99_us: u64,
    /// Each repeat's p99 (µs), with its interval: `latency_p99_us` is its median.
    pub latency_p99: Spread,
    pub latency_max_us: u64,
    /// Errors other than timeouts, and timeouts (medians over repeats).
    pub errors: u64,
    pub timeouts: u64,
    /// Of the timeouts, those answered later (completed, their latency
    /// included), and those given up on (medians over repeats).
    pub late: u64,
    pub abandoned: u64,
    pub server_cpu_pct: Option<f64>,
    pub server_cpu_limit_pct: Option<f64>,
    pub server_memory_peak: Option<u64>,
    /// Server CPU per completed request over each repeat's window (its cgroup's CPU time between the
    /// window's first and last reading over the requests completed), in µs: median and spread over
    /// repeats (lower is better). It counts the work a request costs, not how fast the CPU ran it.
    pub cpu_us_per_request: Option<Spread>,
    pub generator_cpu_pct: f64,
    /// Its repeats disagree (`notes::NOISY_CV`); set, with the verdict and notes, by `notes::say`.
    pub unsteady: bool,
    pub verdict: Verdict,
    pub notes: Vec<String>,
    /// Against the baseline run, when one was given.
    pub baseline: Option<Change>,
    /// For charts: the latency percentile curve of all repeats merged (quantile, µs).
    #[serde(skip)]
    pub percentiles: Vec<(f64, f64)>,
    /// The server's memory limit (bytes), from the run's provenance.
    pub server_memory_limit: Option<u64>,
    /// For charts and diagnoses: the first repeat's measured window, second by second.
    #[serde(skip)]
    pub per_second: Vec<Second>,
    /// The last repeat's profile of this level, with that repeat's own req/s
    /// (the folded stacks stay in the results files).
    #[serde(skip)]
    pub profile: Option<(record::ProfileRecord, f64)>,
}

/// One second of a level's measured window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Second {
    pub second: u64,
    pub requests: u64,
    /// Errors, timeouts included.
    pub errors: u64,
    pub p99_us: Option<u64>,
}

/// A row against the same row of a baseline run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Change {
    pub rps: f64,
    /// Relative change of the median req/s, in percent.
    pub rps_change_pct: f64,
    pub p99_change_pct: f64,
    /// Whether req/s changed beyond the noise: the two 95% intervals do not overlap
    /// ([`crate::gate::judge`], the regression gate's rule); `None` when a side
    /// has too few repeats to know its noise.
    pub beyond_noise: Option<bool>,
}

/// The median of a figure over repeats, how far the repeats spread, and the 95% interval of the median
/// (`stats::Interval`: the one rule of how sure a figure is, for every table, ranking and the gate).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    pub median: f64,
    /// Standard deviation over mean; 0 for a single run.
    pub cv: f64,
    pub min: f64,
    pub max: f64,
    /// The 95% interval of the median; `lo = hi = median` for one run (`runs` says so).
    pub lo: f64,
    pub hi: f64,
    pub runs: usize,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let Some(interval) = stats::Interval::of(values) else {
            return Spread { median: 0.0, cv: 0.0, min: 0.0, max: 0.0, lo: 0.0, hi: 0.0, runs: 0 };
        };
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var =
            if values.len() > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
        Spread {
            median: interval.median,
            cv: if mean > 0.0 { var.sqrt() / mean } else { 0.0 },
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            lo: interval.lo,
            hi: interval.hi,
            runs: interval.runs,
        }
    }

    /// The interval as `stats` has it.
    pub fn interval(&self) -> stats::Interval {
        let method = stats::Method::for_runs(self.runs);
        stats::Interval { median: self.median, lo: self.lo, hi: self.hi, runs: self.runs, method }
    }

    /// Whether the two can be told apart (`stats::Interval::apart`).
    pub fn apart(&self, other: &Spread) -> bool {
        self.interval().apart(&other.interval())
    }
}

/// A figure with the 95% interval of its median over repeats, `1.46k (1.02k-1.48k)`, or `1.46k (1 run)`
/// when it rests on one run; `unit` writes the bounds as the figure is written.
pub fn with_interval(figure: String, spread: &Spread, unit: fn(f64) -> String) -> String {
    if spread.runs <= 1 {
        return format!("{figure} (1 run)");
    }
    format!("{figure} ({}-{})", unit(spread.lo), unit(spread.hi))
}

/// What limited a row's throughput, by the rule documented on each variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// More than 1% of requests failed or timed out, or the level failed:
    /// the figures describe a failing server, not its capacity.
    ErrorBound,
    /// The generator's CPUs were at 90% or more while the server was below
    /// 90% of its limit, or (closed loop) req/s x mean latency was under 80% of
    /// the connections. Not the server's capacity.
    GeneratorBound,
    /// Otherwise: the server's CPU limit or its own latency set the pace.
    ServerBound,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::ErrorBound => "error-bound",
            Verdict::GeneratorBound => "generator-bound",
            Verdict::ServerBound => "server-bound",
        }
    }
}

/// What a row's figures alone do not hold, read from its repeats' records, for its verdict and notes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    /// The generator's CPUs (the busy rule divides by them).
    pub n_generator_cpus: usize,
    /// The server was throttled at its CPU limit in some repeat.
    pub throttled: bool,
    /// Closed loop: requests in flight over the window (Little's law, with the connections that waited
    /// unanswered), median over repeats.
    pub in_flight: Option<f64>,
    pub connections: usize,
    pub any_failed: bool,
}

/// A row of `stack`'s repeats `runs` of one level: its figures (the verdict and notes are
/// `notes::say`'s, from these and what was `Seen`).
pub(crate) fn row(stack: String, runs: &[(&LevelRecord, &RunRecord)]) -> (Row, Seen) {
    let measured: Vec<_> = runs.iter().filter_map(|(l, r)| l.load.as_ref().map(|load| (*l, *r, load))).collect();
    let med =
        |f: &dyn Fn(&loadgen::LoadResult) -> f64| median(&measured.iter().map(|(_, _, l)| f(l)).collect::<Vec<_>>());
    // Percentiles come from each run's stored histogram, so any of them can be added later.
    // Each is decoded once; an undecodable one counts as 0 in the medians and is left out of the curve.
    let histograms: Vec<Option<loadgen::Histogram<u64>>> =
        measured.iter().map(|(_, _, l)| loadgen::decode_histogram(&l.latency_histogram).ok()).collect();
    let quantile = |q: f64| {
        median(
            &histograms.iter().map(|h| h.as_ref().map_or(0.0, |h| h.value_at_quantile(q) as f64)).collect::<Vec<_>>(),
        )
    };
    let rps = Spread::of(&measured.iter().map(|(_, _, l)| l.rps).collect::<Vec<_>>());
    let server: Vec<_> = measured.iter().filter_map(|(l, _, _)| l.server.as_ref()).collect();
    let server_cpu_pct =
        (!server.is_empty()).then(|| median(&server.iter().map(|s| s.cpu_pct_mean).collect::<Vec<_>>()));
    let server_cpu_limit_pct = server.first().map(|s| s.cpu_limit_pct);
    let throttled = server.iter().any(|s| s.nr_throttled > 0);
    let generator_cpu_pct = median(&measured.iter().map(|(l, _, _)| l.generator_cpu_pct).collect::<Vec<_>>());
    let n_generator_cpus = runs.first().map_or(1, |(_, r)| r.provenance.generator_cpus.len().max(1));
    let requests = med(&|l| l.requests as f64) as u64;
    let errors = med(&|l| (l.errors.total() - l.errors.timeout) as f64) as u64;
    let timeouts = med(&|l| l.errors.timeout as f64) as u64;
    let late = med(&|l| l.late_responses as f64) as u64;
    let abandoned = med(&|l| l.abandoned as f64) as u64;
    let goodput_rps = measured.iter().all(|(_, _, l)| l.schema_version >= 2).then(|| med(&|l| l.goodput_rps));
    let latency_mean_us = med(&|l| l.latency_us.mean);
    let connections = runs.first().map_or(0, |(l, _)| l.connections);
    let closed_loop = measured.iter().all(|(_, _, l)| l.rate.is_none());
    // Little's law over answered requests (late ones included), plus the connections that waited
    // without an answer meanwhile: until the timeout closed them (results before schema 2), or,
    // kept open to the give-up bound, through the window (a request held since the warm-up
    // counts as a timeout when the window opens).
    let in_flight = med(&|l| {
        let unanswered = l.errors.timeout.saturating_sub(l.late_responses) as f64;
        let held_s = if l.schema_version >= 2 { l.options.give_up_s } else { l.options.timeout_s };
        l.rps * l.latency_us.mean / 1e6 + unanswered * held_s.min(l.duration_s) / l.duration_s.max(1e-9)
    });
    let seen = Seen {
        n_generator_cpus,
        throttled,
        in_flight: (closed_loop && connections > 0).then_some(in_flight),
        connections,
        any_failed: runs.iter().any(|(l, _)| l.status == LevelStatus::Failed),
    };
    let row = Row {
        stack,
        runs: measured.len(),
        requests,
        rps,
        goodput_rps,
        latency_mean_us,
        latency_p50_us: quantile(0.5) as u64,
        latency_p99_us: quantile(0.99) as u64,
        latency_p99: Spread::of(
            &histograms
                .iter()
                .map(|h| h.as_ref().map_or(0.0, |h| h.value_at_quantile(0.99) as f64))
                .collect::<Vec<_>>(),
        ),
        latency_max_us: quantile(1.0) as u64,
        errors,
        timeouts,
        late,
        abandoned,
        server_cpu_pct,
        server_cpu_limit_pct,
        server_memory_peak: server.iter().map(|s| s.memory_peak).max(),
        server_memory_limit: runs.first().map(|(_, r)| r.provenance.server_memory).filter(|&m| m > 0),
        cpu_us_per_request: {
            let each: Vec<f64> = measured
                .iter()
                .filter_map(|(l, _, load)| l.server.as_ref()?.cpu_us_per_request(load.requests as f64, load.duration_s))
                .collect();
            (!each.is_empty()).then(|| Spread::of(&each))
        },
        generator_cpu_pct,
        unsteady: false,
        verdict: Verdict::ErrorBound,
        notes: Vec::new(),
        baseline: None,
        percentiles: percentile_curve(&histograms),
        per_second: measured
            .first()
            .map(|(_, _, l)| {
                l.per_second
                    .iter()
                    .map(|s| Second { second: s.second, requests: s.requests, errors: s.errors, p99_us: s.p99_us })
                    .collect()
            })
            .unwrap_or_default(),
        profile: runs
            .iter()
            .rev()
            .find_map(|(l, _)| Some((l.profile.clone()?, l.load.as_ref().map_or(0.0, |load| load.rps)))),
    };
    (row, seen)
}

/// The capacity searches of `records`, grouped by workload and ranked: the
/// report and the terminal table both show these rows.
pub fn capacities<'a>(records: impl IntoIterator<Item = &'a RunRecord>) -> Vec<CapacityGroup> {
    let mut searches: BTreeMap<Workload, BTreeMap<String, Vec<&CapacityRecord>>> = BTreeMap::new();
    for record in records {
        for c in &record.capacities {
            searches.entry(c.workload()).or_default().entry(record.scenario.name.clone()).or_default().push(c);
        }
    }
    searches
        .into_iter()
        .map(|(workload, stacks)| {
            let mut rows: Vec<CapacityRow> =
                stacks.into_iter().map(|(stack, runs)| capacity_row(stack, &runs)).collect();
            rows.sort_by(|a, b| by_rank(a.rank(), b.rank()).then_with(|| a.stack.cmp(&b.stack)));
            CapacityGroup { workload, rows }
        })
        .collect()
}

/// A search at its capacity: the rate, the p99 of the passing hold, the server during it, and the hold's
/// completed req/s.
type AtCapacity = (f64, u64, Option<ServerUsage>, f64);

fn capacity_row(stack: String, runs: &[&CapacityRecord]) -> CapacityRow {
    let at_capacity: Vec<AtCapacity> = runs
        .iter()
        .filter_map(|c| {
            let rps = c.capacity.capacity_rps?;
            let hold = c.capacity.confirm.as_ref()?;
            let held = c.capacity.probes.iter().rposition(|p| p == hold);
            Some((rps, hold.latency_us.p99, held.and_then(|i| c.servers.get(i).cloned().flatten()), hold.achieved))
        })
        .collect();
    let first = runs[0];
    let spread = |f: &dyn Fn(&AtCapacity) -> Option<f64>| {
        let values: Vec<f64> = at_capacity.iter().filter_map(f).collect();
        (!values.is_empty()).then(|| Spread::of(&values))
    };
    let med = |f: &dyn Fn(&AtCapacity) -> Option<f64>| spread(f).map(|s| s.median);
    let capacity_spread = spread(&|a| Some(a.0));
    let p99_spread = spread(&|a| Some(a.1 as f64));
    let cpu_spread = spread(&|a| a.2.as_ref()?.cpu_us_per_request(a.3, 1.0));
    let capacity_rps = capacity_spread.map(|s| s.median);
    let server_cpu_pct = med(&|a| a.2.as_ref().map(|s| s.cpu_pct_mean));
    CapacityRow {
        stack,
        status: if capacity_rps.is_some() { "found".to_string() } else { first.capacity.status.to_string() },
        capacity_rps,
        at_least_rps: median(&runs.iter().map(|c| c.capacity.bracket.0).collect::<Vec<_>>()),
        p99_us: p99_spread.map(|s| s.median as u64),
        server_cpu_pct,
        cpu_us_per_request: cpu_spread.map(|s| s.median),
        capacity_spread,
        p99_spread,
        cpu_spread,
        slo: first.capacity.slo.clone(),
        search_s: {
            let kept: Vec<f64> = runs.iter().map(|c| c.elapsed_s).filter(|&s| s > 0.0).collect();
            (!kept.is_empty()).then(|| median(&kept))
        },
        probes: first
            .capacity
            .probes
            .iter()
            .map(|p| ProbePoint {
                offered: p.offered,
                p50_us: p.latency_us.p50,
                p99_us: p.latency_us.p99,
                passed: p.passed,
                failed: p.failed.clone(),
                decided_after_s: p.load.stopped_early.map(|_| p.load.duration_s),
            })
            .collect(),
        profile: runs.iter().rev().find_map(|c| Some((c.profile.clone()?, c.capacity.confirm.as_ref()?.achieved))),
        kinds: runs
            .iter()
            .rev()
            .find_map(|c| crate::units::kinds_line(&c.capacity.confirm.as_ref()?.load.kinds))
            .unwrap_or_default(),
        notes: exit_notes(runs.iter().flat_map(|c| &c.server_exits)),
    }
}

/// One line per way the server exited under the searches' probes: how often, and at what offered rates.
fn exit_notes<'a>(exits: impl Iterator<Item = &'a record::ProbeExit>) -> Vec<String> {
    let mut by_how: Vec<(&str, Vec<f64>)> = Vec::new();
    for exit in exits {
        match by_how.iter_mut().find(|(how, _)| *how == exit.failure.message) {
            Some((_, rates)) => rates.push(exit.offered_rps),
            None => by_how.push((&exit.failure.message, vec![exit.offered_rps])),
        }
    }
    by_how
        .into_iter()
        .map(|(how, rates)| {
            let (low, high) = rates.iter().fold((f64::INFINITY, 0.0f64), |(l, h), &r| (l.min(r), h.max(r)));
            match rates.len() {
                1 => format!(
                    "{how} under the probe at {} req/s: a new server took the next probe",
                    crate::units::metric(low)
                ),
                n => format!(
                    "{how} under {n} probes at {}-{} req/s: a new server took each next probe",
                    crate::units::metric(low),
                    crate::units::metric(high)
                ),
            }
        })
        .collect()
}

/// Where a percentile curve is drawn: enough points to show its shape on a
/// log scale of 1 / (1 - q), few enough to keep the page light.
const CURVE_QUANTILES: [f64; 12] = [0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999];

/// HdrHistogram's percentile curve of the repeats' histograms merged exactly.
fn percentile_curve(histograms: &[Option<loadgen::Histogram<u64>>]) -> Vec<(f64, f64)> {
    let mut merged: Option<loadgen::Histogram<u64>> = None;
    for h in histograms.iter().flatten() {
        match &mut merged {
            Some(m) => {
                let _ = m.add(h);
            }
            None => merged = Some(h.clone()),
        }
    }
    let Some(h) = merged.filter(|h| !h.is_empty()) else { return Vec::new() };
    CURVE_QUANTILES.iter().map(|&q| (q, h.value_at_quantile(q) as f64)).collect()
}

/// The median (`stats::median`), 0 for no values.
pub fn median(values: &[f64]) -> f64 {
    stats::median(values).unwrap_or(0.0)
}
