//! An HTTP/1.1 load generator: closed loop like wrk, open loop like wrk2,
//! one event loop per thread. Give [`run`] a [`Config`] and a [`Control`]; it
//! returns a [`LoadResult`]. It never prints.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

pub mod capacity;
pub mod config;
pub mod error;
pub mod http;
pub mod merge;
mod request;
pub mod result;
mod schedule;
pub mod session;
mod stats;
mod sys;
pub mod template;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use config::{
    check_connections, check_give_up, check_header, check_method, check_rate, check_shape, check_think, parse_cpu_list,
    Arrivals, Config, Expect, Kind, RunLength, Spread, Target, Think,
};
pub use error::{ConfigError, Error};
pub use hdrhistogram::Histogram;
pub use merge::{merge, shares};
pub use result::{decode_histogram, KindResult, LatencySummary, LoadResult};

use result::{encode_histogram, redacted_header, ErrorCounts, GeneratorUsage, RateSummary, Settings};
use stats::ThreadStats;
use worker::{Share, Shared, Slot, Worker};

/// In rate mode, a request written later than this after its intended time counts as late.
pub const LATE_AFTER: Duration = Duration::from_millis(1);

/// Descriptors a run needs besides one per connection (epoll, timers, stdio).
const SPARE_FILES: usize = 32;

/// Cancels a run and reads its live progress from another thread. Clones
/// share the same run; use a new `Control` for each run.
#[derive(Debug, Clone, Default)]
pub struct Control {
    inner: Arc<ControlInner>,
}

#[derive(Debug, Default)]
struct ControlInner {
    cancelled: Arc<AtomicBool>,
    live: OnceLock<Live>,
}

#[derive(Debug)]
struct Live {
    slots: Arc<[Slot]>,
    t0: Instant,
    measure_start: Instant,
}

/// A snapshot of a run in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Responses so far, warm-up included.
    pub completed: u64,
    /// Measured errors so far.
    pub errors: u64,
    /// Time since the run started.
    pub elapsed: Duration,
    /// The warm-up is over.
    pub measuring: bool,
}

impl Control {
    pub fn new() -> Control {
        Control::default()
    }

    /// Asks the run to stop; it returns what it measured so far.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Relaxed)
    }

    /// `None` until the run has started.
    pub fn progress(&self) -> Option<Progress> {
        let live = self.inner.live.get()?;
        let now = Instant::now();
        Some(Progress {
            completed: live.slots.iter().map(|s| s.completed.load(Ordering::Relaxed)).sum(),
            errors: live.slots.iter().map(|s| s.errors.load(Ordering::Relaxed)).sum(),
            elapsed: now.saturating_duration_since(live.t0),
            measuring: now >= live.measure_start,
        })
    }
}

/// Runs the load described by `config` and returns what it measured.
///
/// Blocks the calling thread; the load runs on `config.n_threads` threads of
/// its own. Cancelling through `control` ends the run early with a partial
/// result (`interrupted` set).
pub fn run(config: &Config, control: &Control) -> Result<LoadResult, Error> {
    config.validate()?;
    check_file_limit(config.n_connections)?;
    let names = config.capture_names();
    let kinds = match config.mix.as_slice() {
        [] => vec![request::Prepared::of(config.clone(), None, &names)],
        mix => mix.iter().map(|k| request::Prepared::of(config.of_kind(k), Some(k), &names)).collect(),
    };
    let kinds = kinds
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|(setting, reason)| ConfigError::Invalid { setting, reason })?;
    // A mix's draw: the running sums of its weights.
    let weights: Vec<u64> = config
        .mix
        .iter()
        .scan(0, |sum, k| {
            *sum += u64::from(k.weight);
            Some(*sum)
        })
        .collect();
    let throttled_before = sys::throttled_periods();
    let t0 = Instant::now();
    let measure_start = t0 + config.warmup;
    let end = match config.stop {
        RunLength::Duration(d) => Some(measure_start + d),
        RunLength::Requests(_) => None,
    };
    let shared = Shared {
        kinds,
        weights,
        config: config.clone(),
        total_connections: config.n_connections,
        t0,
        measure_start,
        end,
        cancelled: control.inner.cancelled.clone(),
        finish: AtomicBool::new(false),
    };
    let slots: Arc<[Slot]> = (0..config.n_threads).map(|_| Slot::default()).collect();
    // A Control is meant for one run; a second run keeps reporting the first's slots.
    let _ = control.inner.live.set(Live { slots: slots.clone(), t0, measure_start });

    let shares = split(config);
    let decided = OnceLock::new();
    let outcomes: Vec<Result<ThreadStats, Error>> = std::thread::scope(|scope| {
        if let (Some(rule), Some(end), true) = (config.early_stop, end, config.rate.is_some()) {
            let (shared, slots, decided) = (&shared, &slots, &decided);
            scope.spawn(move || watch_outcome(&rule, shared, slots, end, decided));
        }
        let handles: Vec<_> = shares
            .iter()
            .enumerate()
            .map(|(thread_idx, share)| {
                let (shared, slot) = (&shared, &slots[thread_idx]);
                let cpu = config.cpus.as_ref().map(|cpus| cpus[thread_idx % cpus.len()]);
                std::thread::Builder::new().name(format!("loadgen-{thread_idx}")).spawn_scoped(scope, move || {
                    if let Some(cpu) = cpu {
                        sys::pin_current_thread(cpu).map_err(|source| Error::Affinity { cpu, source })?;
                    }
                    let worker = Worker::new(shared, slot, share)?;
                    Ok(worker.run()?)
                })
            })
            .collect();
        let outcomes = handles
            .into_iter()
            .map(|h| match h {
                Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(e) => {
                    // The threads already started must not run on alone.
                    shared.cancelled.store(true, Ordering::Relaxed);
                    Err(Error::Io(e))
                }
            })
            .collect();
        // Every thread is done: an early stop's watch ends too.
        shared.finish.store(true, Ordering::Relaxed);
        outcomes
    });
    let stopped = Instant::now();
    let mut total = ThreadStats::new(config.rate.is_some(), config.mix.len());
    for outcome in outcomes {
        total.merge(outcome?);
    }
    let interrupted = control.is_cancelled();
    let mut result = finish(config, total, measure_start, end, stopped, interrupted);
    result.stopped_early = decided.get().copied();
    result.generator.throttled_periods = sys::throttled_periods().saturating_sub(throttled_before);
    Ok(result)
}

/// How often an early stop's watch reads the threads' counts.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// Reads the threads' counts through the measured window until `rule` says the outcome is certain (then
/// ends the run, keeping the outcome in `decided`), the window ends, or the run is over.
fn watch_outcome(rule: &capacity::EarlyStop, shared: &Shared, slots: &[Slot], end: Instant, decided: &OnceLock<bool>) {
    loop {
        std::thread::sleep(WATCH_EVERY);
        let now = Instant::now();
        if now >= end || shared.finish.load(Ordering::Relaxed) || shared.cancelled.load(Ordering::Relaxed) {
            return;
        }
        let Some(elapsed) = now.checked_duration_since(shared.measure_start) else { continue };
        let sum = |count: fn(&Slot) -> &std::sync::atomic::AtomicU64| {
            slots.iter().map(|s| count(s).load(Ordering::Relaxed)).sum::<u64>()
        };
        if let Some(outcome) = rule.outcome(sum(|s| &s.measured), sum(|s| &s.over), sum(|s| &s.errors), elapsed) {
            let _ = decided.set(outcome);
            shared.finish.store(true, Ordering::Relaxed);
            return;
        }
    }
}

/// Splits connections (and a request count) over the threads as evenly as integers allow.
fn split(config: &Config) -> Vec<Share> {
    let (n, t) = (config.n_connections, config.n_threads);
    (0..t)
        .map(|i| {
            let (lo, hi) = (i * n / t, (i + 1) * n / t);
            let quota = match config.stop {
                RunLength::Requests(total) => {
                    let at = |c: usize| (u128::from(total) * c as u128 / n as u128) as u64;
                    Some(at(hi) - at(lo))
                }
                RunLength::Duration(_) => None,
            };
            Share { thread: i, first_conn: lo, n_conns: hi - lo, quota }
        })
        .collect()
}

/// This process's hard open-files limit, which `run` raises the soft limit
/// to; reading it changes nothing. 0 when it cannot be read.
pub fn open_files_limit() -> u64 {
    sys::nofile_limit().map_or(0, |(_, hard)| hard)
}

/// The most connections one run can open under a hard open-files limit of
/// `open_files`: the limit less the descriptors a run needs besides.
pub fn max_connections(open_files: u64) -> usize {
    (open_files as usize).saturating_sub(SPARE_FILES)
}

fn check_file_limit(n_connections: usize) -> Result<(), Error> {
    let (soft, hard) = sys::raise_nofile_limit()?;
    let wanted = (n_connections + SPARE_FILES) as u64;
    if wanted > soft {
        return Err(Error::FileLimit { needed: n_connections, wanted, soft, hard });
    }
    Ok(())
}

fn finish(
    config: &Config,
    total: ThreadStats,
    measure_start: Instant,
    end: Option<Instant>,
    stopped: Instant,
    interrupted: bool,
) -> LoadResult {
    let window_end = match (end, config.stop) {
        (Some(end), _) => end.min(stopped),
        (None, _) => total.last_completion.unwrap_or(stopped),
    };
    let duration = window_end.saturating_duration_since(measure_start);
    let duration_s = duration.as_secs_f64();
    let per_s = |n: u64| {
        if duration_s > 0.0 {
            n as f64 / duration_s
        } else {
            0.0
        }
    };
    let errors: ErrorCounts = total.error_counts();
    LoadResult {
        schema_version: result::SCHEMA_VERSION,
        requests: total.requests,
        duration_s,
        rps: per_s(total.requests),
        goodput_rps: per_s(total.good),
        late_responses: total.late_responses,
        abandoned: total.abandoned,
        in_flight_at_end: total.in_flight_at_end,
        latency_us: LatencySummary::from_histogram(&total.latency),
        latency_raw_us: total.latency_raw.as_ref().map(LatencySummary::from_histogram),
        errors,
        rate: config.rate.map(|target| RateSummary {
            target,
            achieved: per_s(total.sent),
            late: total.late,
            unsent: total.unsent,
        }),
        per_second: total.per_second(duration_s.ceil() as usize),
        options: settings(config),
        sent: total.sent,
        bytes_read: total.bytes_read,
        connections_opened: total.connections_opened,
        interrupted,
        generator: GeneratorUsage {
            threads: config.n_threads,
            cpu_user_s: total.cpu_user.as_secs_f64(),
            cpu_sys_s: total.cpu_sys.as_secs_f64(),
            throttled_periods: 0,
        },
        latency_histogram: encode_histogram(&total.latency),
        latency_raw_histogram: total.latency_raw.as_ref().map(encode_histogram),
        kinds: config
            .mix
            .iter()
            .zip(&total.kinds)
            .map(|(kind, k)| result::KindResult {
                name: kind.name.clone(),
                weight: kind.weight,
                requests: k.requests,
                errors: k.errors,
                latency_us: LatencySummary::from_histogram(&k.latency),
                latency_histogram: encode_histogram(&k.latency),
            })
            .collect(),
        stopped_early: None,
    }
}

fn settings(config: &Config) -> Settings {
    let (duration_s, requests) = match config.stop {
        RunLength::Duration(d) => (Some(d.as_secs_f64()), None),
        RunLength::Requests(n) => (None, Some(n)),
    };
    Settings {
        url: config.target.url.clone(),
        method: config.method.clone(),
        headers: config.headers.iter().map(|(n, v)| redacted_header(n, v)).collect(),
        body_bytes: config.body.len(),
        connections: config.n_connections,
        threads: config.n_threads,
        duration_s,
        requests,
        warmup_s: config.warmup.as_secs_f64(),
        timeout_s: config.timeout.as_secs_f64(),
        give_up_s: config.give_up().as_secs_f64(),
        pipeline: config.pipeline,
        keepalive: config.keepalive,
        rate: config.rate,
        arrivals: config.rate.map(|_| config.arrivals.name().to_string()),
        arrival_seed: match config.arrivals {
            Arrivals::Poisson { seed } if config.rate.is_some() => Some(seed),
            _ => None,
        },
        think_s: config.think.map(|t| t.mean.as_secs_f64()),
        think_spread: config.think.map(|t| t.spread.name().to_string()),
        think_seed: config.think.map(|t| t.seed),
        expect_status: config.expect.status,
        expect_body: config.expect.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
        cpus: config.cpus.clone(),
    }
}
