//! Per-thread counters and histograms, merged once when the threads are done.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::result::{ErrorCounts, SecondSummary};

/// Latencies up to an hour are tracked exactly (to 3 significant digits);
/// longer ones are clamped to it.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Kinds of failure, as indexes into a plain counter array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Connect = 0,
    Read,
    Write,
    Timeout,
    Status,
    Body,
    Parse,
    AddrUnavailable,
}

const N_ERROR_KINDS: usize = 8;

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant histogram bounds are valid")
}

/// One second of the measured window.
#[derive(Debug, Clone, Default)]
pub struct Second {
    pub requests: u64,
    pub errors: u64,
    /// Two significant digits: enough for a per-second p50/p99 at a tenth of the memory.
    pub latency: Option<Histogram<u32>>,
}

/// One kind of a mix's measured responses, and its failed requests.
#[derive(Debug, Clone)]
pub struct KindStats {
    pub requests: u64,
    pub errors: u64,
    pub latency: Histogram<u64>,
}

/// What one generator thread measured. Owned by its thread; no sharing.
#[derive(Debug, Clone)]
pub struct ThreadStats {
    pub latency: Histogram<u64>,
    /// Rate mode only: latency from the actual send time.
    pub latency_raw: Option<Histogram<u64>>,
    pub errors: [u64; N_ERROR_KINDS],
    pub requests: u64,
    pub sent: u64,
    pub bytes_read: u64,
    pub late: u64,
    pub unsent: u64,
    /// Responses that passed their checks within the timeout.
    pub good: u64,
    /// Responses that came after the timeout.
    pub late_responses: u64,
    pub abandoned: u64,
    pub in_flight_at_end: u64,
    pub connections_opened: u64,
    pub seconds: Vec<Second>,
    pub last_completion: Option<Instant>,
    pub cpu_user: Duration,
    pub cpu_sys: Duration,
    /// A mix's kinds, in its order (empty without a mix).
    pub kinds: Vec<KindStats>,
    /// TLS connections' handshakes (`None` over plain TCP).
    pub tls: Option<Box<TlsStats>>,
    /// HTTP/2's streams and connection errors (`None` with HTTP/1.1).
    pub h2: Option<Box<H2Stats>>,
}

/// What HTTP/2 connections went through: streams sent again after the server's GOAWAY refused them and
/// streams it reset (in the measured window), the most streams it allowed, and the first error's words
/// (whenever it came).
#[derive(Debug, Clone, Default)]
pub struct H2Stats {
    pub retried: u64,
    pub resets: u64,
    pub server_max_streams: Option<u32>,
    pub first_error: Option<String>,
}

impl H2Stats {
    fn merge(&mut self, other: H2Stats) {
        self.retried += other.retried;
        self.resets += other.resets;
        self.server_max_streams = self.server_max_streams.max(other.server_max_streams);
        self.first_error = self.first_error.take().or(other.first_error);
    }
}

/// Handshakes finished or failed in the measured window, their time apart from requests' latency, and
/// what the first one agreed on or why the first failure failed (whenever they came).
#[derive(Debug, Clone)]
pub struct TlsStats {
    pub handshakes: u64,
    pub resumed: u64,
    pub failed: u64,
    /// From the TCP connection's establishment to the handshake's end, µs.
    pub handshake_us: Histogram<u64>,
    pub negotiated: Option<crate::tls::Negotiated>,
    pub first_failure: Option<String>,
}

impl TlsStats {
    pub fn new() -> TlsStats {
        TlsStats {
            handshakes: 0,
            resumed: 0,
            failed: 0,
            handshake_us: new_histogram(),
            negotiated: None,
            first_failure: None,
        }
    }

    fn merge(&mut self, other: TlsStats) {
        self.handshakes += other.handshakes;
        self.resumed += other.resumed;
        self.failed += other.failed;
        self.handshake_us.add(&other.handshake_us).expect("histograms with equal bounds merge");
        self.negotiated = self.negotiated.take().or(other.negotiated);
        self.first_failure = self.first_failure.take().or(other.first_failure);
    }
}

impl ThreadStats {
    /// `kinds`: how many kinds of request a mix has (0 without one).
    pub fn new(rate_mode: bool, kinds: usize) -> ThreadStats {
        ThreadStats {
            latency: new_histogram(),
            latency_raw: rate_mode.then(new_histogram),
            errors: [0; N_ERROR_KINDS],
            requests: 0,
            sent: 0,
            bytes_read: 0,
            late: 0,
            unsent: 0,
            good: 0,
            late_responses: 0,
            abandoned: 0,
            in_flight_at_end: 0,
            connections_opened: 0,
            seconds: Vec::new(),
            last_completion: None,
            cpu_user: Duration::ZERO,
            cpu_sys: Duration::ZERO,
            kinds: (0..kinds).map(|_| KindStats { requests: 0, errors: 0, latency: new_histogram() }).collect(),
            tls: None,
            h2: None,
        }
    }

    /// A mix's kind `kind` had a measured response (`latency_us`), or `failed` requests; nothing without a mix.
    #[inline]
    pub fn record_kind(&mut self, kind: usize, latency_us: Option<u64>, failed: u64) {
        if let Some(k) = self.kinds.get_mut(kind) {
            if let Some(latency) = latency_us {
                k.requests += 1;
                k.latency.saturating_record(latency.max(1));
            }
            k.errors += failed;
        }
    }

    fn second(&mut self, now: Instant, measure_start: Instant) -> &mut Second {
        let idx = now.saturating_duration_since(measure_start).as_secs() as usize;
        if idx >= self.seconds.len() {
            self.seconds.resize_with(idx + 1, Second::default);
        }
        &mut self.seconds[idx]
    }

    /// Records a measured response. `latency_us` is what the summary shows
    /// (corrected in rate mode); `raw_us` is the actual-send latency in rate mode.
    #[inline]
    pub fn record_response(&mut self, now: Instant, measure_start: Instant, latency_us: u64, raw_us: Option<u64>) {
        self.requests += 1;
        self.last_completion = Some(now);
        self.latency.saturating_record(latency_us.max(1));
        if let (Some(h), Some(raw)) = (self.latency_raw.as_mut(), raw_us) {
            h.saturating_record(raw.max(1));
        }
        let second = self.second(now, measure_start);
        second.requests += 1;
        second
            .latency
            .get_or_insert_with(|| {
                Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("constant histogram bounds are valid")
            })
            .saturating_record(latency_us.max(1));
    }

    pub fn record_errors(&mut self, kind: ErrorKind, count: u64, now: Instant, measure_start: Instant) {
        if count == 0 {
            return;
        }
        self.errors[kind as usize] += count;
        self.second(now, measure_start).errors += count;
    }

    pub fn error_total(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// Adds another thread's figures to these.
    pub fn merge(&mut self, other: ThreadStats) {
        self.latency.add(&other.latency).expect("histograms with equal bounds merge");
        if let (Some(a), Some(b)) = (self.latency_raw.as_mut(), other.latency_raw.as_ref()) {
            a.add(b).expect("histograms with equal bounds merge");
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        self.requests += other.requests;
        self.sent += other.sent;
        self.bytes_read += other.bytes_read;
        self.late += other.late;
        self.unsent += other.unsent;
        self.good += other.good;
        self.late_responses += other.late_responses;
        self.abandoned += other.abandoned;
        self.in_flight_at_end += other.in_flight_at_end;
        self.connections_opened += other.connections_opened;
        self.cpu_user += other.cpu_user;
        self.cpu_sys += other.cpu_sys;
        self.last_completion = self.last_completion.max(other.last_completion);
        match (self.tls.as_mut(), other.tls) {
            (Some(a), Some(b)) => a.merge(*b),
            (None, b) => self.tls = b,
            (Some(_), None) => {}
        }
        match (self.h2.as_mut(), other.h2) {
            (Some(a), Some(b)) => a.merge(*b),
            (None, b) => self.h2 = b,
            (Some(_), None) => {}
        }
        for (a, b) in self.kinds.iter_mut().zip(other.kinds) {
            a.requests += b.requests;
            a.errors += b.errors;
            a.latency.add(&b.latency).expect("histograms with equal bounds merge");
        }
        if other.seconds.len() > self.seconds.len() {
            self.seconds.resize_with(other.seconds.len(), Second::default);
        }
        for (a, b) in self.seconds.iter_mut().zip(other.seconds) {
            a.requests += b.requests;
            a.errors += b.errors;
            match (&mut a.latency, b.latency) {
                (Some(x), Some(y)) => x.add(&y).expect("histograms with equal bounds merge"),
                (x @ None, y) => *x = y,
                (Some(_), None) => {}
            }
        }
    }

    pub fn error_counts(&self) -> ErrorCounts {
        let e = |k: ErrorKind| self.errors[k as usize];
        ErrorCounts {
            connect: e(ErrorKind::Connect),
            read: e(ErrorKind::Read),
            write: e(ErrorKind::Write),
            timeout: e(ErrorKind::Timeout),
            status: e(ErrorKind::Status),
            body: e(ErrorKind::Body),
            parse: e(ErrorKind::Parse),
            addr_unavailable: e(ErrorKind::AddrUnavailable),
        }
    }

    /// The per-second series, padded with empty seconds up to `n_seconds`.
    pub fn per_second(&self, n_seconds: usize) -> Vec<SecondSummary> {
        (0..n_seconds.max(self.seconds.len()))
            .map(|i| {
                let s = self.seconds.get(i).cloned().unwrap_or_default();
                let q = |q: f64| s.latency.as_ref().map(|h| h.value_at_quantile(q));
                SecondSummary {
                    second: i as u64,
                    requests: s.requests,
                    errors: s.errors,
                    p50_us: q(0.5),
                    p99_us: q(0.99),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_everything() {
        let start = Instant::now();
        let mut a = ThreadStats::new(false, 0);
        let mut b = ThreadStats::new(false, 0);
        a.record_response(start, start, 100, None);
        b.record_response(start + Duration::from_millis(2500), start, 300, None);
        b.record_errors(ErrorKind::Timeout, 2, start + Duration::from_millis(1500), start);
        a.merge(b);
        assert_eq!(a.requests, 2);
        assert_eq!(a.latency.len(), 2);
        assert_eq!(a.error_counts().timeout, 2);
        let per_second = a.per_second(4);
        let counts: Vec<_> = per_second.iter().map(|s| (s.requests, s.errors)).collect();
        assert_eq!(counts, vec![(1, 0), (0, 2), (1, 0), (0, 0)]);
        assert_eq!(per_second[1].p50_us, None);
        // Two significant digits: 300 reads back as the top of its bucket.
        assert!(matches!(per_second[2].p50_us, Some(v) if v.abs_diff(300) <= 3), "{:?}", per_second[2]);
    }
}
