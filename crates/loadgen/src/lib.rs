//! An HTTP/1.1 load generator, plain or over TLS: closed loop like wrk, open loop like wrk2,
//! one event loop per thread. Give [`run`] a [`Config`] and a [`Control`]; it
//! returns a [`LoadResult`]. It never prints.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

pub mod capacity;
pub mod config;
pub mod error;
pub mod h2;
pub mod http;
pub mod merge;
mod request;
pub mod result;
mod schedule;
pub mod session;
mod stats;
mod sys;
pub mod template;
pub mod tls;
mod worker;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use config::{
    check_connections, check_give_up, check_header, check_http2, check_method, check_rate, check_shape, check_think,
    parse_cpu_list, Arrivals, Config, Expect, Http2, Kind, RunLength, Spread, Target, Think,
};
pub use error::{ConfigError, Error};
pub use hdrhistogram::Histogram;
pub use merge::{merge, shares};
pub use result::{decode_histogram, Http2Result, KindResult, LatencySummary, LoadResult};

use result::{encode_histogram, redacted_header, ErrorCounts, GeneratorUsage, RateSummary, Settings};
use stats::ThreadStats;
use worker::{Clock, Share, Shared, Slot, Worker};

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
    clock: Arc<OnceLock<Clock>>,
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

    /// `None` until the run has started (its connections established).
    pub fn progress(&self) -> Option<Progress> {
        let live = self.inner.live.get()?;
        let clock = live.clock.get()?;
        let now = Instant::now();
        Some(Progress {
            completed: live.slots.iter().map(|s| s.completed.load(Ordering::Relaxed)).sum(),
            errors: live.slots.iter().map(|s| s.errors.load(Ordering::Relaxed)).sum(),
            elapsed: now.saturating_duration_since(clock.t0),
            measuring: now >= clock.measure_start,
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
    let tls = match config.target.tls {
        true => Some(worker::TlsClient {
            config: tls::client_config(&config.tls, config.http2.is_some())?,
            name: tls::server_name(&config.target.name)?,
        }),
        false => None,
    };
    let connecting = Instant::now();
    let shared = Shared {
        tls,
        kinds,
        weights,
        config: config.clone(),
        total_connections: config.n_connections,
        clock: Arc::default(),
        established: AtomicUsize::new(0),
        cancelled: control.inner.cancelled.clone(),
        finish: AtomicBool::new(false),
    };
    let slots: Arc<[Slot]> = (0..config.n_threads).map(|_| Slot::default()).collect();
    // A Control is meant for one run; a second run keeps reporting the first's slots.
    let _ = control.inner.live.set(Live { slots: slots.clone(), clock: shared.clock.clone() });

    let shares = split(config);
    let decided = OnceLock::new();
    let outcomes: Vec<Result<ThreadStats, Error>> = std::thread::scope(|scope| {
        if let (Some(rule), RunLength::Duration(_), true) = (config.early_stop, config.stop, config.rate.is_some()) {
            let (shared, slots, decided) = (&shared, &slots, &decided);
            scope.spawn(move || watch_outcome(&rule, shared, slots, decided));
        }
        let handles: Vec<_> = shares
            .iter()
            .enumerate()
            .map(|(thread_idx, share)| {
                let (shared, slot) = (&shared, &slots[thread_idx]);
                let cpu = config.cpus.as_ref().map(|cpus| cpus[thread_idx % cpus.len()]);
                std::thread::Builder::new().name(format!("loadgen-{thread_idx}")).spawn_scoped(scope, move || {
                    let worker = cpu
                        .map_or(Ok(()), |cpu| {
                            sys::pin_current_thread(cpu).map_err(|source| Error::Affinity { cpu, source })
                        })
                        .and_then(|()| {
                            let mut worker = Worker::new(shared, slot, share)?;
                            worker.establish()?;
                            Ok(worker)
                        });
                    // Every thread, started or not, says it is done connecting: the clock waits for all.
                    let clock = start_clock(shared);
                    Ok(worker?.run(clock)?)
                })
            })
            .collect();
        let outcomes = handles
            .into_iter()
            .map(|h| match h {
                Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(e) => {
                    // The threads already started must not run on alone (nor wait for this one's connections).
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
    let clock = *shared.clock.get_or_init(|| Clock::starting(stopped, config));
    let mut result = finish(config, total, clock, stopped, interrupted);
    result.connect_s = clock.t0.saturating_duration_since(connecting).as_secs_f64();
    result.stopped_early = decided.get().copied();
    result.generator.throttled_periods = sys::throttled_periods().saturating_sub(throttled_before);
    Ok(result)
}

/// How often an early stop's watch reads the threads' counts.
const WATCH_EVERY: Duration = Duration::from_millis(20);

/// Waits until every thread's connections are established (or the run is cancelled), then returns the
/// run's clock, started by the first thread to see them all.
fn start_clock(shared: &Shared) -> Clock {
    shared.established.fetch_add(1, Ordering::AcqRel);
    while shared.established.load(Ordering::Acquire) < shared.config.n_threads
        && !shared.cancelled.load(Ordering::Relaxed)
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    *shared.clock.get_or_init(|| Clock::starting(Instant::now(), &shared.config))
}

/// Reads the threads' counts through the measured window until `rule` says the outcome is certain (then
/// ends the run, keeping the outcome in `decided`), the window ends, or the run is over.
fn watch_outcome(rule: &capacity::EarlyStop, shared: &Shared, slots: &[Slot], decided: &OnceLock<bool>) {
    loop {
        std::thread::sleep(WATCH_EVERY);
        let now = Instant::now();
        if shared.finish.load(Ordering::Relaxed) || shared.cancelled.load(Ordering::Relaxed) {
            return;
        }
        // Not started: the connections are being established.
        let Some(clock) = shared.clock.get() else { continue };
        if clock.end.is_some_and(|end| now >= end) {
            return;
        }
        let Some(elapsed) = now.checked_duration_since(clock.measure_start) else { continue };
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

fn finish(config: &Config, total: ThreadStats, clock: Clock, stopped: Instant, interrupted: bool) -> LoadResult {
    let window_end = match clock.end {
        Some(end) => end.min(stopped),
        None => total.last_completion.unwrap_or(stopped),
    };
    let duration = window_end.saturating_duration_since(clock.measure_start);
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
        connect_s: 0.0,
        tls: config.target.tls.then(|| {
            let stats = total.tls.map(|t| *t).unwrap_or_else(stats::TlsStats::new);
            let negotiated = stats.negotiated.unwrap_or_default();
            result::TlsResult {
                verify: config.tls.verify,
                resumption: config.tls.resumption,
                version: negotiated.version,
                cipher: negotiated.cipher,
                alpn: negotiated.alpn,
                handshakes: stats.handshakes,
                resumed: stats.resumed,
                failed: stats.failed,
                first_failure: stats.first_failure,
                handshake_us: LatencySummary::from_histogram(&stats.handshake_us),
            }
        }),
        http2: config.http2.map(|http2| {
            let stats = total.h2.map(|h| *h).unwrap_or_default();
            result::Http2Result {
                streams: http2.streams,
                stream_window: http2.windows.stream_window,
                connection_window: http2.windows.connection_window,
                server_max_streams: stats.server_max_streams,
                retried: stats.retried,
                resets: stats.resets,
                first_error: stats.first_error,
            }
        }),
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
