//! Capacity at a latency objective: the highest offered rate (open loop,
//! corrected latency) at which a probe meets every objective. The search grows
//! the rate geometrically until a probe fails, bisects until the bracket is
//! narrow, then holds the found rate for a full-length run, stepping down if
//! the hold fails. It runs probes through a function it is given, so the
//! caller can measure the server alongside; it never prints.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, RunLength};
use crate::result::{generator_busy, LatencySummary, LoadResult};

/// The version of the capacity JSON layout.
pub const CAPACITY_SCHEMA_VERSION: u32 = 1;
/// The error-and-timeout share objective when none is given.
pub const DEFAULT_ERROR_SHARE: f64 = 0.001;
/// A probe passes only if the generator sent at least this share of the
/// offered rate in the measured window, give or take one request (a generator or a connection pool that
/// cannot keep the schedule has not offered the rate).
pub const ACHIEVED_SHARE: f64 = 0.99;
/// Open-loop connections per request in flight at the objective latency.
const CONNECTION_HEADROOM: f64 = 2.0;
/// No probe runs on fewer connections than this.
const MIN_CONNECTIONS: usize = 4;
/// No probe measures without warming up at least this long: completions then
/// balance what was offered, unless the server falls behind.
const MIN_WARMUP: Duration = Duration::from_millis(500);

/// A latency percentile an objective can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Percentile {
    #[serde(rename = "p50")]
    P50,
    #[serde(rename = "p90")]
    P90,
    #[serde(rename = "p99")]
    P99,
    #[serde(rename = "p99.9")]
    P999,
}

impl Percentile {
    pub const ALL: [Percentile; 4] = [Percentile::P50, Percentile::P90, Percentile::P99, Percentile::P999];

    pub fn name(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
            Percentile::P999 => "p99.9",
        }
    }

    /// Its value in a latency summary, in µs.
    pub fn of(self, l: &LatencySummary) -> u64 {
        match self {
            Percentile::P50 => l.p50,
            Percentile::P90 => l.p90,
            Percentile::P99 => l.p99,
            Percentile::P999 => l.p99_9,
        }
    }
}

impl fmt::Display for Percentile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A share written as a percentage, `0.1%` to `100%`, as a fraction (0.001 to 1).
pub fn parse_percent(s: &str) -> Option<f64> {
    s.trim()
        .strip_suffix('%')
        .and_then(|p| p.trim().parse::<f64>().ok())
        .filter(|p| p.is_finite() && (0.0..=100.0).contains(p))
        .map(|p| p / 100.0)
}

/// The service level objectives a probe must meet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// Latency bounds, at most one per percentile, in µs.
    pub latency_us: Vec<(Percentile, u64)>,
    /// The largest share of requests that may fail or time out.
    pub error_share: f64,
    /// A mix's kinds' own objectives, by kind, besides the whole's (`LoadResult::kinds`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub kinds: std::collections::BTreeMap<String, Slo>,
}

impl Default for Slo {
    fn default() -> Slo {
        Slo { latency_us: Vec::new(), error_share: DEFAULT_ERROR_SHARE, kinds: Default::default() }
    }
}

impl Slo {
    /// Sets one objective from its name and value as written: `p99` and
    /// `50ms`, `errors` and `0.1%`. `parse_duration` reads durations (the one
    /// duration rule lives with the scenario parser). The error says what is wrong.
    pub fn set(
        &mut self,
        name: &str,
        value: &str,
        parse_duration: impl Fn(&str) -> Result<Duration, String>,
    ) -> Result<(), String> {
        if name == "errors" {
            self.error_share =
                parse_percent(value).ok_or_else(|| format!("errors = '{value}' is not a share such as 0.1%"))?;
            return Ok(());
        }
        let Some(percentile) = Percentile::ALL.into_iter().find(|p| p.name() == name) else {
            return Err(format!("'{name}' is not an objective; use p50, p90, p99, p99.9 or errors"));
        };
        let bound = parse_duration(value)?;
        if bound.is_zero() {
            return Err(format!("{name} = '{value}': a latency bound must be longer than 0"));
        }
        let bound_us = bound.as_micros() as u64;
        match self.latency_us.iter_mut().find(|(p, _)| *p == percentile) {
            Some(entry) => entry.1 = bound_us,
            None => self.latency_us.push((percentile, bound_us)),
        }
        self.latency_us.sort();
        Ok(())
    }

    /// The longest latency bound: what connections are sized for.
    pub fn longest_bound(&self) -> Option<Duration> {
        let own = self.latency_us.iter().map(|&(_, us)| Duration::from_micros(us));
        own.chain(self.kinds.values().filter_map(Slo::longest_bound)).max()
    }
}

/// When a probe may end before its length: its outcome against one latency objective (and the error
/// objective) is certain. Fail: more of the probe's planned requests are already over the bound (or
/// failed) than the objective allows of all of them, whatever the rest do. Pass: after `min_measured`, the
/// one-sided 95% upper bound of the share over the bound (Poisson, on the responses so far) is within the
/// objective's share and no request failed. ARCHITECTURE.md says why these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarlyStop {
    /// The latency bound, µs, of the objective judged early.
    pub bound_us: u64,
    /// The share of responses that may be over it (0.01 for p99).
    pub over_share: f64,
    /// The share of requests that may fail.
    pub error_share: f64,
    /// Requests the probe's whole length would send.
    pub planned: u64,
    /// A pass is never called before this much of the window (a queue building just over capacity
    /// takes time to push latency past the bound).
    pub min_measured: Duration,
    /// A pass may be called: the objectives bound one percentile only (with several, only a fail is).
    pub may_pass: bool,
}

/// The least of a probe's window a pass may rest on: 1 s, ten bounds (a queue that grows reaches a long
/// bound later), and three quarters of the probe (errors come in bursts near capacity: a pool at 97.5% of
/// its capacity passed 1 s of a 2 s probe clean, then failed its 4 s hold), whichever is longest.
pub const EARLY_PASS_FLOOR: Duration = Duration::from_secs(1);
pub const EARLY_PASS_BOUNDS: u32 = 10;
pub const EARLY_PASS_SHARE: f64 = 0.75;

/// The 95% one-sided upper bound of a Poisson mean after `k` events (exact for 0 to 5, then the normal
/// approximation with continuity).
fn poisson_upper_95(k: u64) -> f64 {
    const EXACT: [f64; 6] = [2.996, 4.744, 6.296, 7.754, 9.154, 10.513];
    match EXACT.get(k as usize) {
        Some(u) => *u,
        None => {
            let k = k as f64;
            k + 0.5 + 1.645 * (k + 0.5).sqrt()
        }
    }
}

impl EarlyStop {
    /// For a probe at `rate` for `length` against `slo`: judged on its highest percentile (p99 allows 1% of
    /// responses over its bound), when it bounds one.
    pub fn of(slo: &Slo, rate: f64, length: Duration) -> Option<EarlyStop> {
        let &(percentile, bound_us) = slo.latency_us.iter().max_by_key(|(p, _)| *p)?;
        let over_share = match percentile {
            Percentile::P50 => 0.5,
            Percentile::P90 => 0.1,
            Percentile::P99 => 0.01,
            Percentile::P999 => 0.001,
        };
        let min_measured = EARLY_PASS_FLOOR
            .max(Duration::from_micros(bound_us) * EARLY_PASS_BOUNDS)
            .max(length.mul_f64(EARLY_PASS_SHARE))
            .min(length);
        Some(EarlyStop {
            bound_us,
            over_share,
            error_share: slo.error_share,
            planned: (rate * length.as_secs_f64()).round() as u64,
            min_measured,
            // A kind's objective is judged on the kind's own figures, which the watch does not count.
            may_pass: slo.latency_us.len() == 1 && slo.kinds.is_empty(),
        })
    }

    /// The outcome, once certain: `Some(false)` fails, `Some(true)` passes, `None` goes on. `measured`
    /// responses so far, `over` of them over the bound, `errors` failed, `elapsed` of the window.
    /// A pass needs every objective's certainty: with several latency objectives, only a fail is called.
    pub fn outcome(&self, measured: u64, over: u64, errors: u64, elapsed: Duration) -> Option<bool> {
        let planned = self.planned.max(1) as f64;
        if over as f64 > self.over_share * planned || errors as f64 > self.error_share * planned {
            return Some(false);
        }
        let sure = measured > 0 && poisson_upper_95(over) / measured as f64 <= self.over_share;
        (self.may_pass && elapsed >= self.min_measured && errors == 0 && sure).then_some(true)
    }
}

/// How the search runs.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    /// The first rate probed, requests per second.
    pub start_rate: f64,
    /// Until a probe fails, each next rate is this many times the last: 2 from a guess, less from a first
    /// rate that an estimate of the capacity gave.
    pub growth: f64,
    /// Stop bisecting once (high - low) / high is at most this.
    pub precision: f64,
    /// Probes in all, the confirming holds included.
    pub max_probes: u32,
    /// Measured length of a search probe; the hold runs for the base config's own length.
    pub probe: Duration,
    /// A search probe's warm-up, no longer than the base config's and never under `MIN_WARMUP` (the hold keeps
    /// the base's own): its connections are established before it starts (`LoadResult::connect_s`), so it
    /// only brings the server to the rate.
    pub probe_warmup: Duration,
    /// The most connections a probe may open (the open-files limit).
    pub max_connections: usize,
}

impl SearchOptions {
    /// A search probe's warm-up, for levels that warm up for `base`.
    pub fn probe_warmup_for(&self, base: Duration) -> Duration {
        self.probe_warmup.min(base).max(MIN_WARMUP)
    }
}

impl Default for SearchOptions {
    fn default() -> SearchOptions {
        SearchOptions {
            start_rate: 100.0,
            growth: 2.0,
            precision: 0.05,
            max_probes: 12,
            probe: Duration::from_secs(3),
            probe_warmup: MIN_WARMUP,
            max_connections: usize::MAX,
        }
    }
}

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The capacity was found and held for a full-length run.
    Found,
    /// The generator saturated before the server failed an objective: the
    /// capacity is at least the highest passing rate, not that rate.
    GeneratorBound,
    /// The probe budget ran out; the bracket holds the capacity.
    BudgetExhausted,
    /// No probed rate met the objectives, down to the lowest tried.
    None,
    /// The search ended early, interrupted or with a probe that could not run
    /// (the caller says why); the bracket holds what was learnt.
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Found => "found",
            Status::GeneratorBound => "generator_bound",
            Status::BudgetExhausted => "budget_exhausted",
            Status::None => "none",
            Status::Stopped => "stopped",
        })
    }
}

/// One run at one offered rate, judged against the objectives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Requests per second offered.
    pub offered: f64,
    /// Responses completed per second.
    pub achieved: f64,
    pub connections: usize,
    /// Corrected (from the intended send time), and raw.
    pub latency_us: LatencySummary,
    pub latency_raw_us: Option<LatencySummary>,
    /// Errors and timeouts.
    pub errors: u64,
    pub passed: bool,
    /// The objectives it failed: `p99`, `errors`, `achieved`, `generator`.
    pub failed: Vec<String>,
    /// The connections were capped by the open-files limit.
    #[serde(default)]
    pub connections_capped: bool,
    /// The whole load result, histograms included.
    pub load: LoadResult,
}

/// What the search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub schema_version: u32,
    /// `None` unless `status` is `found`.
    pub capacity_rps: Option<f64>,
    pub status: Status,
    pub slo: Slo,
    /// The highest passing and lowest failing rate probed (0 and the first
    /// rate when none passed; the last passing rate twice when none failed).
    pub bracket: (f64, f64),
    pub probes: Vec<Probe>,
    /// The full-length hold at the found rate (the last one, after any step down).
    pub confirm: Option<Probe>,
}

/// A probe that could not run at all (the generator failed to start).
#[derive(Debug, thiserror::Error)]
#[error("a probe at {rate:.1} req/s could not run: {source}")]
pub struct ProbeError {
    pub rate: f64,
    #[source]
    pub source: crate::Error,
}

/// Runs a search to its end: `run` runs one probe's config; `cancelled` is
/// asked between probes; `on_probe` sees each probe as it is judged.
pub fn search(
    base: &Config,
    slo: &Slo,
    options: &SearchOptions,
    mut run: impl FnMut(&Config) -> Result<LoadResult, crate::Error>,
    cancelled: impl Fn() -> bool,
    mut on_probe: impl FnMut(&Probe),
) -> Result<Capacity, ProbeError> {
    let mut search = Search::new(base, slo, options);
    while let Some(next) = search.next_probe() {
        if cancelled() {
            break;
        }
        let load = run(&next.config).map_err(|source| ProbeError { rate: next.rate(), source })?;
        on_probe(search.record(next, load));
    }
    Ok(search.finish())
}

/// The next probe a search wants run.
#[derive(Debug, Clone)]
pub struct NextProbe {
    pub config: Config,
    /// Its connections were capped by the open-files limit.
    pub connections_capped: bool,
}

impl NextProbe {
    pub fn rate(&self) -> f64 {
        self.config.rate.unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Doubling the rate from the first one until a probe fails.
    Grow,
    /// Narrowing the bracket to the precision.
    Bisect,
    /// Holding the highest passing rate for a full-length run.
    Hold,
    Done(Status),
}

/// A capacity search as a state machine, for callers that run each probe
/// themselves (the runner measures the server alongside): ask for the next
/// probe, run it, record its result, until there is none; then finish.
/// Search: grow the rate geometrically from the first until a probe fails,
/// bisect until the bracket is within the precision, then hold the highest
/// passing rate for the base config's full length, stepping down while the
/// hold fails: by the precision, then twice as far after each failed hold
/// (a tail that fails near the bracket fails a little below it too, and
/// equal steps would spend the budget there). A failure blamed on the
/// generator ends the search (generator-bound); so does the probe budget.
#[derive(Debug, Clone)]
pub struct Search {
    base: Config,
    slo: Slo,
    options: SearchOptions,
    phase: Phase,
    /// The rate the next probe runs at.
    rate: f64,
    /// The highest passing and lowest failing rate so far.
    low: f64,
    high: Option<f64>,
    probes: Vec<Probe>,
    confirm: Option<Probe>,
    /// How far below a failed hold the next one runs (a share of its rate).
    step_down: f64,
}

/// A failed hold steps down at most this share of its rate.
const MAX_STEP_DOWN: f64 = 0.5;

impl Search {
    pub fn new(base: &Config, slo: &Slo, options: &SearchOptions) -> Search {
        Search {
            base: base.clone(),
            slo: slo.clone(),
            options: options.clone(),
            phase: Phase::Grow,
            rate: options.start_rate,
            low: 0.0,
            high: None,
            probes: Vec::new(),
            confirm: None,
            step_down: options.precision,
        }
    }

    /// The next probe to run, or `None` when the search is over.
    pub fn next_probe(&self) -> Option<NextProbe> {
        if matches!(self.phase, Phase::Done(_)) || self.probes.len() as u32 >= self.options.max_probes {
            return None;
        }
        if self.phase == Phase::Hold {
            let (config, connections_capped) = hold(&self.base, &self.slo, &self.options, self.rate);
            return Some(NextProbe { config, connections_capped });
        }
        let length = self.options.probe;
        let (mut config, connections_capped) = probe_config(&self.base, &self.slo, &self.options, self.rate, length);
        // A probe ends once its outcome is certain, after a short warm-up; a hold runs the base's warm-up
        // and its full length (it confirms the capacity).
        config.warmup = self.options.probe_warmup_for(self.base.warmup);
        config.early_stop = EarlyStop::of(&self.slo, self.rate, length);
        Some(NextProbe { config, connections_capped })
    }

    /// Judges the load `next` measured, moves the search on, and returns the probe.
    pub fn record(&mut self, next: NextProbe, load: LoadResult) -> &Probe {
        let probe = judge(&next.config, &self.slo, load, next.connections_capped);
        let (passed, blamed) = (probe.passed, blames_generator(&probe));
        let rate = next.rate();
        if self.phase == Phase::Hold {
            self.confirm = Some(probe.clone());
        }
        self.probes.push(probe);
        let precision = self.options.precision;
        self.phase = match self.phase {
            Phase::Done(status) => Phase::Done(status),
            // Blamed on the generator above a passing rate: the server held more than the generator
            // could offer. Before any pass, the generator may keep up at a lower rate: go down as
            // after a failure, and say generator-bound only if it never does.
            _ if blamed && self.low > 0.0 => Phase::Done(Status::GeneratorBound),
            Phase::Hold if passed => Phase::Done(Status::Found),
            Phase::Hold => {
                self.high = Some(rate);
                self.rate = rate * (1.0 - self.step_down);
                self.low = self.rate;
                self.step_down = (self.step_down * 2.0).min(MAX_STEP_DOWN);
                Phase::Hold
            }
            phase => {
                if passed {
                    self.low = rate;
                } else {
                    self.high = Some(rate);
                }
                match self.high {
                    None => {
                        self.rate = rate * self.options.growth.max(1.01);
                        phase
                    }
                    // Nothing passed yet: halve, down to a floor far below the first rate.
                    Some(high) if self.low == 0.0 => {
                        self.rate = high / 2.0;
                        if self.rate < self.options.start_rate / 64.0 {
                            let blamed_all = self.probes.iter().all(blames_generator);
                            Phase::Done(if blamed_all { Status::GeneratorBound } else { Status::None })
                        } else {
                            Phase::Bisect
                        }
                    }
                    Some(high) if (high - self.low) / high <= precision => {
                        self.rate = self.low;
                        Phase::Hold
                    }
                    Some(high) => {
                        self.rate = (self.low + high) / 2.0;
                        Phase::Bisect
                    }
                }
            }
        };
        self.probes.last().expect("just pushed")
    }

    /// Whether the lowest failing rate above the highest pass failed on the generator's side.
    fn first_failure_blamed(&self) -> bool {
        let above = self.probes.iter().filter(|p| !p.passed && p.offered > self.low);
        above.min_by(|a, b| a.offered.total_cmp(&b.offered)).is_some_and(blames_generator)
    }

    /// What the search found: a capacity only when a hold passed.
    pub fn finish(self) -> Capacity {
        let status = match self.phase {
            Phase::Done(status) => status,
            // Every probe failed on the generator's side: nothing is known of the server.
            _ if self.low == 0.0 && !self.probes.is_empty() && self.probes.iter().all(blames_generator) => {
                Status::GeneratorBound
            }
            // Out of probes with the lowest failure above the highest pass blamed on the generator:
            // the server held all the generator could offer there, as when a blamed probe ends the search.
            _ if self.probes.len() as u32 >= self.options.max_probes
                && self.low > 0.0
                && self.first_failure_blamed() =>
            {
                Status::GeneratorBound
            }
            _ if self.probes.len() as u32 >= self.options.max_probes => Status::BudgetExhausted,
            // Ended by the caller before the search was over.
            _ => Status::Stopped,
        };
        let capacity_rps = (status == Status::Found).then_some(self.low);
        Capacity {
            schema_version: CAPACITY_SCHEMA_VERSION,
            capacity_rps,
            status,
            slo: self.slo,
            bracket: (self.low, self.high.unwrap_or(self.low)),
            probes: self.probes,
            confirm: self.confirm,
        }
    }
}

/// The config of a probe at `rate` for `length`: open loop, with connections
/// enough for the rate at the objective latency (with headroom), capped by
/// the open-files limit; the flag says whether the cap bound.
pub fn probe_config(base: &Config, slo: &Slo, options: &SearchOptions, rate: f64, length: Duration) -> (Config, bool) {
    let latency = slo.longest_bound().unwrap_or(base.timeout).min(base.timeout);
    let wanted = ((rate * latency.as_secs_f64() * CONNECTION_HEADROOM).ceil() as usize).max(MIN_CONNECTIONS);
    let connections = wanted.min(options.max_connections.max(1));
    let config = Config {
        n_connections: connections,
        n_threads: base.n_threads.min(connections).max(1),
        stop: RunLength::Duration(length),
        warmup: base.warmup.max(MIN_WARMUP),
        rate: Some(rate),
        pipeline: 1,
        // An open loop has no users to think.
        think: None,
        ..base.clone()
    };
    (config, connections < wanted)
}

/// The load of a confirming hold at `rate`, as a search from `base` runs it
/// (to run one again: a profile at the capacity).
pub fn hold_config(base: &Config, slo: &Slo, options: &SearchOptions, rate: f64) -> Config {
    hold(base, slo, options, rate).0
}

fn hold(base: &Config, slo: &Slo, options: &SearchOptions, rate: f64) -> (Config, bool) {
    probe_config(base, slo, options, rate, hold_length(base, options))
}

/// A hold runs for the base config's own length, else a probe's.
fn hold_length(base: &Config, options: &SearchOptions) -> Duration {
    match base.stop {
        RunLength::Duration(d) => d,
        _ => options.probe,
    }
}

/// The objectives `load` did not meet: its latency percentiles' names (`p99`) and `errors` (failed and
/// abandoned requests over their share of those sent). Any load, open loop or closed.
pub fn unmet(slo: &Slo, load: &LoadResult) -> Vec<String> {
    let errors = load.errors.total() + load.abandoned;
    let mut failed = missed(slo, &load.latency_us, errors, load.sent);
    // A mix's kinds against their own objectives, named `read p99`.
    for (name, kind_slo) in &slo.kinds {
        let Some(kind) = load.kinds.iter().find(|k| &k.name == name) else { continue };
        let sent = kind.requests.max(kind.errors);
        failed.extend(missed(kind_slo, &kind.latency_us, kind.errors, sent).into_iter().map(|m| format!("{name} {m}")));
    }
    failed
}

/// The objectives of `slo` that figures miss: latency percentiles by name, and `errors` (`errors` of `sent`).
fn missed(slo: &Slo, latency: &LatencySummary, errors: u64, sent: u64) -> Vec<String> {
    let mut failed: Vec<String> =
        slo.latency_us.iter().filter(|&&(p, bound)| p.of(latency) > bound).map(|(p, _)| p.name().to_string()).collect();
    if errors as f64 > slo.error_share * sent.max(1) as f64 {
        failed.push("errors".to_string());
    }
    failed
}

/// A probe's load judged against the objectives.
fn judge(config: &Config, slo: &Slo, load: LoadResult, connections_capped: bool) -> Probe {
    let offered = config.rate.unwrap_or_default();
    let mut failed = unmet(slo, &load);
    let errors = load.errors.total() + load.abandoned;
    // What was due: the schedule's requests in the window, sent or not (Poisson arrivals are a random
    // count around the rate; a seeded stream fell 1-2% short of it in every probe of one search).
    // One request of slack: a short probe at a low rate fits a whole number of sends.
    let due = match (&load.rate, config.arrivals) {
        (Some(rate), crate::Arrivals::Poisson { .. }) => (load.sent + rate.unsent) as f64,
        _ => offered * load.duration_s,
    };
    if ((load.sent + 1) as f64) < ACHIEVED_SHARE * due {
        failed.push("achieved".to_string());
    }
    if generator_busy(load.generator_cpu_pct(), config.n_cpus()) {
        failed.push("generator".to_string());
    }
    Probe {
        offered,
        achieved: load.rps,
        connections: config.n_connections,
        latency_us: load.latency_us,
        latency_raw_us: load.latency_raw_us,
        errors,
        passed: failed.is_empty(),
        failed,
        connections_capped,
        load,
    }
}

/// Whether a failed probe failed on the generator's side: its CPUs were
/// saturated, or its CPU quota throttled it (a generator in a limited
/// container or cgroup), while the server answered without errors. The
/// corrected latency then counts time the requests waited in the generator.
pub fn blames_generator(probe: &Probe) -> bool {
    !probe.passed
        && !probe.failed.iter().any(|f| f == "errors")
        && (probe.failed.iter().any(|f| f == "generator") || probe.load.generator.throttled_periods > 0)
}

#[cfg(test)]
#[path = "capacity_tests.rs"]
mod tests;
