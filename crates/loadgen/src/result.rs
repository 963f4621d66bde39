//! The result of a run, as serialized to JSON. `schema.json` beside this
//! crate describes it; bump [`SCHEMA_VERSION`] on any change that can break a reader.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The version of the JSON layout.
/// 2: `goodput_rps`, `late_responses`, `abandoned`, `in_flight_at_end` and
/// `options.give_up_s` (a request past its timeout keeps its connection until
/// the give-up bound). Version 1 files read with those as 0.
pub const SCHEMA_VERSION: u32 = 2;

/// Everything a run measured. Latencies are in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadResult {
    pub schema_version: u32,
    /// Responses completed in the measured window (whatever their status).
    pub requests: u64,
    /// Length of the measured window.
    pub duration_s: f64,
    /// `requests / duration_s`: completed responses per second, as wrk reports them.
    pub rps: f64,
    /// Responses that passed their checks within `timeout`, per second (goodput).
    #[serde(default)]
    pub goodput_rps: f64,
    /// Responses that came after `timeout`: counted as timeouts, and as
    /// completed responses with their real latency.
    #[serde(default)]
    pub late_responses: u64,
    /// Requests still unanswered at the give-up bound: their connections were
    /// closed and reopened.
    #[serde(default)]
    pub abandoned: u64,
    /// Requests still unanswered when the window closed, the warm-up's included.
    #[serde(default)]
    pub in_flight_at_end: u64,
    /// In rate mode, measured from each request's intended send time
    /// (corrected for coordinated omission); otherwise from its actual send time.
    pub latency_us: LatencySummary,
    /// Rate mode only: measured from each request's actual send time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_raw_us: Option<LatencySummary>,
    pub errors: ErrorCounts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateSummary>,
    pub per_second: Vec<SecondSummary>,
    pub options: Settings,
    /// Requests written in the measured window.
    pub sent: u64,
    /// Response bytes read in the measured window, headers included.
    pub bytes_read: u64,
    /// TCP connections opened during the whole run, warm-up included.
    pub connections_opened: u64,
    /// The run was cancelled before its end; the figures cover what finished.
    pub interrupted: bool,
    pub generator: GeneratorUsage,
    /// The full latency histogram (`latency_us`), HdrHistogram V2 + DEFLATE,
    /// base64: any percentile can be recomputed from it.
    pub latency_histogram: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_raw_histogram: Option<String>,
    /// An early stop (`Config::early_stop`) ended the window once the outcome was certain: passed (`true`)
    /// or failed (`false`); `None` when it ran its length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_early: Option<bool>,
    /// Seconds spent establishing the connections before the load started (its warm-up and window come
    /// after); 0 in results from before it was kept.
    #[serde(default)]
    pub connect_s: f64,
    /// A mix's kinds of request, each counted apart, in the mix's order (empty without a mix).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<KindResult>,
    /// `https://` targets: the handshakes, apart from the requests' latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsResult>,
    /// HTTP/2 runs: how streams were used, and what went wrong on the connections (`None`: HTTP/1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2: Option<Http2Result>,
}

/// An HTTP/2 run's settings and what its connections went through. Counts cover the measured window; the
/// server's stream limit and the first error's words come from whenever they happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Http2Result {
    /// Streams per connection asked for, and the receive windows offered (bytes).
    pub streams: u32,
    pub stream_window: u32,
    pub connection_window: u32,
    /// The most streams per connection the server allowed (SETTINGS_MAX_CONCURRENT_STREAMS), if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_max_streams: Option<u32>,
    /// Requests sent again on a new connection because the server's GOAWAY refused their streams unprocessed.
    pub retried: u64,
    /// Streams the server reset (RST_STREAM); each is also a read error.
    pub resets: u64,
    /// The first connection error, reset or malformed response, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// A TLS run's handshakes. Counts and times cover the measured window; what was agreed on and the first
/// failure's reason come from whenever they happened (a certificate refused in the warm-up says so).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsResult {
    /// The settings asked for: certificate verification, and session resumption.
    pub verify: bool,
    pub resumption: bool,
    /// What the first finished handshake agreed on (`TLSv1_3`, `TLS13_AES_256_GCM_SHA384`, `http/1.1`);
    /// empty when none finished.
    pub version: String,
    pub cipher: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// Handshakes finished in the window, and of them those that resumed a session.
    pub handshakes: u64,
    pub resumed: u64,
    /// Handshakes that failed in the window (each also a connect error).
    pub failed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
    /// From the TCP connection's establishment to the handshake's end.
    pub handshake_us: LatencySummary,
}

/// One kind of a mix's requests in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindResult {
    pub name: String,
    pub weight: u32,
    /// Measured responses of this kind (they sum to the run's `requests`).
    pub requests: u64,
    /// Its requests that failed: a wrong status or body, a timeout, a broken connection.
    pub errors: u64,
    pub latency_us: LatencySummary,
    /// As `LoadResult::latency_histogram`.
    pub latency_histogram: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencySummary {
    pub mean: f64,
    pub stdev: f64,
    pub max: u64,
    pub p50: u64,
    pub p75: u64,
    pub p90: u64,
    pub p99: u64,
    pub p99_9: u64,
    pub p99_99: u64,
}

impl LatencySummary {
    pub fn from_histogram(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary::default();
        }
        let q = |q: f64| h.value_at_quantile(q);
        LatencySummary {
            mean: h.mean(),
            stdev: h.stdev(),
            max: h.max(),
            p50: q(0.50),
            p75: q(0.75),
            p90: q(0.90),
            p99: q(0.99),
            p99_9: q(0.999),
            p99_99: q(0.9999),
        }
    }
}

/// Failed requests by kind. A request counts once, under the first thing that went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorCounts {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
    /// Responses whose status failed the check.
    pub status: u64,
    /// Responses whose body failed the check.
    pub body: u64,
    pub parse: u64,
    /// The kernel had no local address or port left to connect from.
    pub addr_unavailable: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.connect
            + self.read
            + self.write
            + self.timeout
            + self.status
            + self.body
            + self.parse
            + self.addr_unavailable
    }

    /// Adds another run's counts to these.
    pub fn add(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.read += other.read;
        self.write += other.write;
        self.timeout += other.timeout;
        self.status += other.status;
        self.body += other.body;
        self.parse += other.parse;
        self.addr_unavailable += other.addr_unavailable;
    }

    /// Errors of the socket, not of a response's content.
    pub fn socket(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout + self.addr_unavailable
    }

    /// Each kind that occurred, with its count and a plural name ("connect errors").
    pub fn kinds(&self) -> Vec<(u64, &'static str)> {
        [
            (self.timeout, "timeouts"),
            (self.connect, "connect errors"),
            (self.addr_unavailable, "no local port left"),
            (self.read, "read errors"),
            (self.write, "write errors"),
            (self.status, "bad statuses"),
            (self.body, "bad bodies"),
            (self.parse, "malformed responses"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateSummary {
    /// Requests per second asked for.
    pub target: f64,
    /// Requests per second written in the measured window.
    pub achieved: f64,
    /// Requests written more than [`crate::LATE_AFTER`] after their intended time.
    pub late: u64,
    /// Requests whose intended time fell in the measured window but that were never written.
    pub unsent: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SecondSummary {
    /// Seconds since the start of the measured window.
    pub second: u64,
    pub requests: u64,
    pub errors: u64,
    /// Percentiles of that second's responses (two significant digits);
    /// `null` when none completed.
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
}

/// The options the run used, with secret header values redacted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Settings {
    pub url: String,
    pub method: String,
    pub headers: Vec<String>,
    pub body_bytes: usize,
    pub connections: usize,
    pub threads: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    pub warmup_s: f64,
    pub timeout_s: f64,
    /// A request unanswered this long has its connection closed and reopened (0 in version 1 files).
    #[serde(default)]
    pub give_up_s: f64,
    pub pipeline: u32,
    pub keepalive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Open loop: `constant` or `poisson` (absent in older files: constant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrivals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_seed: Option<u64>,
    /// Closed loop with users: their mean think time, its spread and seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_spread: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<Vec<usize>>,
}

/// What the generator itself cost, so a saturated generator shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorUsage {
    pub threads: usize,
    /// User CPU seconds of the generator threads over the whole run.
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    /// CPU-quota periods in which the generator's own cgroup was throttled
    /// during the run: a limited generator cannot keep its schedule.
    #[serde(default)]
    pub throttled_periods: u64,
}

/// A generator at this share of its CPUs or more is saturated: its figures
/// may describe the generator, not the server.
pub const GENERATOR_BUSY: f64 = 0.90;

/// The saturation rule for a generator: its CPU (in percent of one CPU) at
/// [`GENERATOR_BUSY`] or more of its `n_cpus` CPUs. The report's verdict, the
/// terminal table and the capacity search all use it.
pub fn generator_busy(cpu_pct: f64, n_cpus: usize) -> bool {
    cpu_pct >= GENERATOR_BUSY * 100.0 * n_cpus.max(1) as f64
}

impl LoadResult {
    /// The generator's CPU over its run (warm-up and measured window), in percent of one CPU.
    pub fn generator_cpu_pct(&self) -> f64 {
        let wall = self.options.warmup_s + self.duration_s;
        (self.generator.cpu_user_s + self.generator.cpu_sys_s) / wall.max(1e-9) * 100.0
    }
}

/// The histogram could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode latency histogram: {0}")]
pub struct HistogramDecodeError(String);

/// Serializes a histogram the way [`LoadResult::latency_histogram`] stores it.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).expect("serializing a histogram into memory cannot fail");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a histogram stored by [`encode_histogram`].
pub fn decode_histogram(encoded: &str) -> Result<Histogram<u64>, HistogramDecodeError> {
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| HistogramDecodeError(e.to_string()))?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).map_err(|e| HistogramDecodeError(format!("{e:?}")))
}

/// Header names whose values are secrets and never stored.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["authorization", "proxy-authorization", "cookie", "set-cookie"].contains(&name.as_str())
        || ["token", "secret", "password", "api-key", "apikey", "session"].iter().any(|s| name.contains(s))
}

/// `Name: value`, or `Name: <redacted>` for a secret.
pub fn redacted_header(name: &str, value: &str) -> String {
    if is_secret_header(name) {
        format!("{name}: <redacted>")
    } else {
        format!("{name}: {value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_round_trip() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for v in [1, 10, 100, 1000, 123_456] {
            h.record(v).unwrap();
        }
        let back = decode_histogram(&encode_histogram(&h)).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
        assert!(decode_histogram("not base64!").is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redacted_header("Authorization", "Bearer x"), "Authorization: <redacted>");
        assert_eq!(redacted_header("X-Auth-Token", "abc"), "X-Auth-Token: <redacted>");
        assert_eq!(redacted_header("Content-Type", "application/json"), "Content-Type: application/json");
    }
}
