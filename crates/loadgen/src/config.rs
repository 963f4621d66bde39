//! What a load run does: target, request, connections, stop rule, checks.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::error::ConfigError;

/// How an open loop spaces its requests at its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arrivals {
    /// Evenly, as wrk2: each connection every `connections / rate` seconds, the connections staggered
    /// across that interval.
    #[default]
    Constant,
    /// A Poisson process: each connection's gaps are drawn from an exponential distribution of mean
    /// `connections / rate` seconds, so that the connections' streams together are one Poisson stream at
    /// the rate. Seeded (with the connection's number): the same seed sends at the same times.
    Poisson { seed: u64 },
}

impl Arrivals {
    /// `constant` or `poisson` (as in scenarios and on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Arrivals::Constant => "constant",
            Arrivals::Poisson { .. } => "poisson",
        }
    }

    /// The arrivals called `name`, Poisson's seeded with `seed`.
    pub fn parse(name: &str, seed: u64) -> Result<Arrivals, String> {
        match name {
            "constant" => Ok(Arrivals::Constant),
            "poisson" => Ok(Arrivals::Poisson { seed }),
            other => Err(format!("'{other}' is not an arrival process: constant or poisson")),
        }
    }
}

/// One kind of request of a mix (`Config::mix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    pub name: String,
    /// Its share of the requests: its weight over the mix's total.
    pub weight: u32,
    pub method: String,
    /// Path and query, as sent on the request line (values may be drawn, `crate::template`).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub expect: Expect,
    /// Values taken from its responses' JSON bodies for later requests of the same connection
    /// (`{capture:NAME}`): `(NAME, field)`, e.g. `("token", "token")`.
    pub capture: Vec<(String, String)>,
    /// A new connection sends it first (each `first` kind once, in the mix's order), then draws by weight.
    pub first: bool,
}

impl Kind {
    /// A kind named `name` of weight `weight`, a GET of `path` expecting any 2xx or 3xx.
    pub fn get(name: &str, weight: u32, path: &str) -> Kind {
        Kind {
            name: name.into(),
            weight,
            method: "GET".into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            expect: Expect::default(),
            capture: Vec::new(),
            first: false,
        }
    }
}

impl Config {
    /// The names a mix's kinds capture, each once, in order: `{capture:NAME}`'s slots.
    pub fn capture_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (name, _) in self.mix.iter().flat_map(|k| &k.capture) {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// The run as it sends kind `kind` of its mix (or its one request): that kind's method, path,
    /// headers, body and checks.
    pub fn of_kind(&self, kind: &Kind) -> Config {
        Config {
            method: kind.method.clone(),
            target: Target { path: kind.path.clone(), ..self.target.clone() },
            headers: kind.headers.clone(),
            body: kind.body.clone(),
            expect: kind.expect.clone(),
            mix: Vec::new(),
            ..self.clone()
        }
    }
}

/// A user's wait between a response and the next request (`Config::think`), drawn per wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Think {
    pub mean: Duration,
    pub spread: Spread,
    /// Seeds the draws (with the thread's first connection): the same seed waits the same.
    pub seed: u64,
}

/// How think times spread around their mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spread {
    /// Exponential (Locust's and k6's random think times): users arrive at the server as a Poisson
    /// stream when the server is fast.
    #[default]
    Exponential,
    /// Uniform from 0 to twice the mean.
    Uniform,
    /// Always the mean.
    Constant,
}

impl Spread {
    /// `exponential`, `uniform` or `constant` (as in scenarios and on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Spread::Exponential => "exponential",
            Spread::Uniform => "uniform",
            Spread::Constant => "constant",
        }
    }

    pub fn parse(name: &str) -> Result<Spread, String> {
        match name {
            "exponential" => Ok(Spread::Exponential),
            "uniform" => Ok(Spread::Uniform),
            "constant" => Ok(Spread::Constant),
            other => Err(format!("'{other}' is not a spread of think times: exponential, uniform or constant")),
        }
    }
}

/// Think time fits a closed loop of one request at a time. (The scenario parser, the command line and
/// [`Config::validate`] all apply this rule.)
pub fn check_think(think: bool, pipeline: u32, open_loop: bool) -> Result<(), (&'static str, String)> {
    if think && open_loop {
        return Err((
            "think",
            "think time is for users in a closed loop; an open loop's rate spaces its requests".into(),
        ));
    }
    if think && pipeline > 1 {
        return Err(("think", "a user who thinks between requests sends one at a time; drop pipeline".into()));
    }
    Ok(())
}

/// Where requests go. Built from a URL; the address is resolved once, here,
/// and the generator connects to nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub addr: SocketAddr,
    /// The `Host` header value (host and port as written in the URL).
    pub host: String,
    /// Path and query, as sent on the request line.
    pub path: String,
    /// `https://`: connections speak TLS (`Config::tls`) to the server named `name`.
    pub tls: bool,
    /// The URL's host without its port: the name a TLS server's certificate must carry.
    pub name: String,
}

impl Target {
    /// Parses an `http://` URL and resolves its host.
    pub fn parse(url: &str) -> Result<Target, ConfigError> {
        let (target, host, port) = Target::parts(url)?;
        let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']');
        let addr = (host_for_lookup, port)
            .to_socket_addrs()
            .map_err(|e| ConfigError::Resolve { host: host.to_string(), reason: e.to_string() })?
            .next()
            .ok_or_else(|| ConfigError::Resolve { host: host.to_string(), reason: "no address".to_string() })?;
        Ok(Target { addr, ..target })
    }

    /// Parses an `http://` URL whose host is resolved where the load will
    /// run, not here (a Kubernetes Service's name): `addr` is the unspecified
    /// address with the URL's port, and nothing can connect to it.
    pub fn unresolved(url: &str) -> Result<Target, ConfigError> {
        Target::parts(url).map(|(target, _, _)| target)
    }

    /// The target with `addr` unspecified, its host and its port.
    fn parts(url: &str) -> Result<(Target, String, u16), ConfigError> {
        let parsed =
            url::Url::parse(url).map_err(|e| ConfigError::Url { url: url.to_string(), reason: e.to_string() })?;
        let tls = match parsed.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(ConfigError::Url {
                    url: url.to_string(),
                    reason: format!("scheme '{other}' is not supported, use http:// or https://"),
                })
            }
        };
        let host = parsed
            .host_str()
            .ok_or_else(|| ConfigError::Url { url: url.to_string(), reason: "no host".to_string() })?;
        let port = parsed.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
        let host_header = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let mut path = parsed.path().to_string();
        if let Some(q) = parsed.query() {
            path.push('?');
            path.push_str(q);
        }
        // A path that draws values (`crate::template`) is kept as written: the parser would
        // percent-encode its braces.
        let written = url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]));
        if let Some(written) = written.filter(|w| w.contains('{') && !w.contains('#')) {
            path = written.to_string();
        }
        let addr = SocketAddr::from(([0, 0, 0, 0], port));
        let target = Target { url: url.to_string(), addr, host: host_header, path, tls, name: host.to_string() };
        Ok((target, host.to_string(), port))
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunLength {
    /// Measure for this long after the warm-up.
    Duration(Duration),
    /// Send exactly this many requests after the warm-up, then wait for their
    /// responses (or errors, or timeouts).
    Requests(u64),
}

/// Checks applied to every measured response. A failed check is counted and
/// the run goes on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// The exact status wanted; `None` accepts any 2xx or 3xx.
    pub status: Option<u16>,
    /// A byte string the body must contain.
    pub body: Option<Vec<u8>>,
}

/// A complete description of one load run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub target: Target,
    pub method: String,
    /// Extra request headers, sent in order after `Host`.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub n_connections: usize,
    pub n_threads: usize,
    pub stop: RunLength,
    /// Load before measuring; its responses are not counted.
    pub warmup: Duration,
    /// A request unanswered for this long is a timeout (counted once; its
    /// connection stays open and a late response still counts as completed);
    /// a connect pending this long is a connect error.
    pub timeout: Duration,
    /// A request unanswered this long is abandoned: its connection is closed
    /// and reopened, so a stalled server cannot hold the generator. `None`:
    /// [`GIVE_UP_TIMEOUTS`] times `timeout`.
    pub give_up: Option<Duration>,
    /// Requests written back to back on a connection before waiting for their responses.
    pub pipeline: u32,
    /// `false` sends `Connection: close` and opens a connection per request.
    pub keepalive: bool,
    /// Open loop: total requests per second, spread over the connections.
    pub rate: Option<f64>,
    /// Open loop: how the requests are spaced in time.
    pub arrivals: Arrivals,
    /// A weighted mix of requests: each request sent is drawn from these by weight (seeded by `seed`),
    /// and the result counts each kind apart (`LoadResult::kinds`). With a mix, its kinds are what is
    /// sent: the request of `method`, `target.path`, `headers`, `body` and `expect` is not.
    pub mix: Vec<Kind>,
    /// Seeds the values requests draw (`{rand:..}`, `{line:..}` in the path, headers or body; `template`).
    pub seed: u64,
    /// Closed loop: each connection is a user who waits this long between a response and its next
    /// request (`None`: at once, as wrk).
    pub think: Option<Think>,
    pub expect: Expect,
    /// CPUs to pin the generator's threads to, round-robin; `None` leaves
    /// placement to the kernel.
    pub cpus: Option<Vec<usize>>,
    /// Open loop for a length: end as soon as the outcome against an objective is certain
    /// (`capacity::EarlyStop`); the result says which (`LoadResult::stopped_early`).
    pub early_stop: Option<crate::capacity::EarlyStop>,
    /// How `https://` targets are spoken to (unused for `http://`).
    pub tls: crate::tls::TlsSettings,
    /// HTTP/2 instead of HTTP/1.1: over TLS when the server agrees to `h2` (ALPN), over plain TCP with
    /// prior knowledge (h2c). `None`: HTTP/1.1.
    pub http2: Option<Http2>,
}

/// How HTTP/2 is spoken: streams per connection and the receive windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2 {
    /// Streams each connection keeps open at most (as h2load's `-m`); the server may allow fewer. Each
    /// stream is a request slot of its own, as a connection is with HTTP/1.1: `connections x streams`
    /// requests in flight at most.
    pub streams: u32,
    pub windows: crate::h2::Settings,
}

impl Default for Http2 {
    fn default() -> Http2 {
        Http2 { streams: 1, windows: crate::h2::Settings::default() }
    }
}

/// HTTP/2's largest flow-control window (2^31 - 1 bytes).
const MAX_WINDOW: u32 = (1 << 31) - 1;

/// The most streams per connection a run may ask for.
pub const MAX_STREAMS: u32 = 10_000;

impl Config {
    /// The CPUs its threads run on, as the generator-busy rule counts them:
    /// the distinct CPUs they are pinned to, at most one per thread; unpinned,
    /// one per thread, at most the machine's.
    pub fn n_cpus(&self) -> usize {
        let available = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpus = match &self.cpus {
            Some(cpus) => cpus.iter().collect::<std::collections::BTreeSet<_>>().len(),
            None => available,
        };
        cpus.min(self.n_threads).max(1)
    }

    /// A closed-loop GET with wrk's defaults: 10 connections, 10 s, 2 s timeout.
    pub fn new(target: Target) -> Config {
        Config {
            target,
            method: "GET".to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            n_connections: 10,
            n_threads: 1,
            stop: RunLength::Duration(Duration::from_secs(10)),
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(2),
            give_up: None,
            pipeline: 1,
            keepalive: true,
            rate: None,
            arrivals: Arrivals::Constant,
            think: None,
            mix: Vec::new(),
            seed: 1,
            expect: Expect::default(),
            cpus: None,
            early_stop: None,
            tls: crate::tls::TlsSettings::default(),
            http2: None,
        }
    }

    /// Request slots: a connection each with HTTP/1.1, a stream each with HTTP/2.
    pub fn n_slots(&self) -> usize {
        self.n_connections * self.http2.map_or(1, |h| h.streams as usize)
    }

    /// Checks that the settings fit together. Each error names the setting
    /// (its name in a scenario's `[workload]` and, with `--`, the flag of
    /// `stackbench load`), through the same rules the scenario parser applies.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |setting: &'static str, reason: String| Err(ConfigError::Invalid { setting, reason });
        if let Err(reason) = check_connections(self.n_connections) {
            return invalid("connections", reason);
        }
        if self.n_threads == 0 {
            return invalid("threads", "must be at least 1".into());
        }
        if self.n_threads > self.n_connections {
            return invalid(
                "threads",
                format!(
                    "{} threads for {} connections leaves threads idle; use at most {} threads",
                    self.n_threads, self.n_connections, self.n_connections
                ),
            );
        }
        match self.stop {
            RunLength::Duration(d) if d.is_zero() => return invalid("duration", "must be longer than 0".into()),
            RunLength::Requests(0) => return invalid("requests", "must be at least 1".into()),
            _ => {}
        }
        if self.timeout.is_zero() {
            return invalid("timeout", "must be longer than 0".into());
        }
        if let Err(reason) = check_give_up(self.timeout, self.give_up()) {
            return invalid("give-up", reason);
        }
        if let Err((setting, reason)) = check_shape(self.pipeline, self.keepalive, self.rate.is_some()) {
            return invalid(setting, reason);
        }
        if let Err((setting, reason)) = check_think(self.think.is_some(), self.pipeline, self.rate.is_some()) {
            return invalid(setting, reason);
        }
        if self.target.tls {
            crate::tls::client_config(&self.tls, self.http2.is_some())?;
            crate::tls::server_name(&self.target.name)?;
        } else if self.tls != crate::tls::TlsSettings::default() {
            return Err(ConfigError::Url {
                url: self.target.url.clone(),
                reason: "TLS settings need an https:// URL".into(),
            });
        }
        if let Some(http2) = self.http2 {
            check_http2(&http2, self.pipeline, self.keepalive).or_else(|(setting, reason)| invalid(setting, reason))?;
        }
        if !self.mix.is_empty() {
            return self.validate_mix();
        }
        match crate::template::RequestTemplate::of(self) {
            Ok(Some(_)) if self.pipeline > 1 => {
                return invalid(
                    "pipeline",
                    "requests that draw values are rendered one at a time; drop pipeline".into(),
                )
            }
            Err((setting, reason)) => return invalid(setting, reason),
            Ok(_) => {}
        }
        if let Err(reason) = check_method(&self.method) {
            return invalid("method", reason);
        }
        for (name, value) in &self.headers {
            if let Err(reason) = check_header(name, value) {
                return invalid("header", reason);
            }
        }
        if let Some(rate) = self.rate {
            if let Err(reason) = check_rate(rate) {
                return invalid("rate", reason);
            }
        }
        if let Some(status) = self.expect.status {
            if !(100..=999).contains(&status) {
                return invalid("expect-status", format!("{status} is not an HTTP status"));
            }
        }
        if let Some(cpus) = &self.cpus {
            if cpus.is_empty() {
                return invalid("cpus", "the list is empty".into());
            }
        }
        Ok(())
    }

    /// A mix's rules, then each kind's request as a request of its own; errors name the kind.
    fn validate_mix(&self) -> Result<(), ConfigError> {
        let invalid = |setting: &'static str, reason: String| Err(ConfigError::Invalid { setting, reason });
        if self.mix.iter().map(|k| u64::from(k.weight)).sum::<u64>() == 0 {
            return invalid("mix", "the weights sum to 0: give at least one request a weight above 0".into());
        }
        if self.pipeline > 1 {
            return invalid("pipeline", "a mix sends one request at a time on a connection; drop pipeline".into());
        }
        for kind in &self.mix {
            if kind.method.eq_ignore_ascii_case("HEAD") {
                return invalid("mix", format!("request '{}': a HEAD request cannot be part of a mix", kind.name));
            }
            let config = self.of_kind(kind);
            if let Err(ConfigError::Invalid { setting, reason }) = config.validate() {
                return invalid(setting, format!("request '{}': {reason}", kind.name));
            }
            let template = crate::template::RequestTemplate::of(&config).ok().flatten();
            let names = self.capture_names();
            let unknown = template
                .as_ref()
                .and_then(|t| t.captures().find(|c| !names.iter().any(|n| n == c)).map(str::to_string));
            if let Some(unknown) = unknown {
                let reason = format!(
                    "request '{}': {{capture:{unknown}}} names no capture of the mix: add capture = {{ {unknown} = \"FIELD\" }} to the request it comes from",
                    kind.name
                );
                return invalid("mix", reason);
            }
        }
        Ok(())
    }

    /// The give-up bound in force.
    pub fn give_up(&self) -> Duration {
        self.give_up.unwrap_or(self.timeout * GIVE_UP_TIMEOUTS)
    }

    pub fn is_head_request(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }
}

/// A level's connection count: at least one. (The scenario parser, the
/// command lines and [`Config::validate`] all apply this rule.)
pub fn check_connections(n_connections: usize) -> Result<(), String> {
    if n_connections == 0 {
        return Err("every level needs at least 1 connection".into());
    }
    Ok(())
}

/// A request method: letters only (GET, POST, PROPFIND).
pub fn check_method(method: &str) -> Result<(), String> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!("'{method}' is not an HTTP method"));
    }
    Ok(())
}

/// The give-up bound by default, in timeouts.
pub const GIVE_UP_TIMEOUTS: u32 = 10;

/// A give-up bound: no shorter than the timeout it follows.
pub fn check_give_up(timeout: Duration, give_up: Duration) -> Result<(), String> {
    if give_up < timeout {
        return Err(format!(
            "{give_up:?} is shorter than the timeout ({timeout:?}); a request is abandoned only after it timed out"
        ));
    }
    Ok(())
}

/// An open-loop rate: a positive, finite number of requests per second.
pub fn check_rate(rate: f64) -> Result<(), String> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(format!("{rate} is not a positive number of requests per second"));
    }
    Ok(())
}

/// A header the generator can write as one line of the request: the name an
/// RFC 9110 token, the value without CR, LF or NUL.
pub fn check_header(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() || name.bytes().any(|b| !is_token_byte(b)) {
        return Err(format!(
            "'{}' is not a valid header name (letters, digits and -_.!#$%&'*+^`|~)",
            name.escape_debug()
        ));
    }
    if value.contains(['\r', '\n', '\0']) {
        return Err(format!("the value of '{name}' contains a line break or NUL"));
    }
    Ok(())
}

/// Settings that cannot go together; the error names the one to change.
pub fn check_shape(pipeline: u32, keepalive: bool, open_loop: bool) -> Result<(), (&'static str, String)> {
    if pipeline == 0 {
        return Err(("pipeline", "must be at least 1".into()));
    }
    if pipeline > 1 && !keepalive {
        return Err(("pipeline", "pipelining needs keep-alive; turn keep-alive on, or set pipeline to 1".into()));
    }
    if pipeline > 1 && open_loop {
        return Err(("rate", "an open-loop rate and pipelining do not mix; drop one".into()));
    }
    Ok(())
}

/// HTTP/2's settings, and the HTTP/1.1 ones it has no use for.
pub fn check_http2(http2: &Http2, pipeline: u32, keepalive: bool) -> Result<(), (&'static str, String)> {
    if !(1..=MAX_STREAMS).contains(&http2.streams) {
        return Err(("streams", format!("{} streams per connection: use 1 to {MAX_STREAMS}", http2.streams)));
    }
    if pipeline > 1 {
        return Err(("pipeline", "HTTP/2 sends requests on streams, not pipelined; use streams instead".into()));
    }
    if !keepalive {
        return Err(("keepalive", "HTTP/2 keeps its connections; turning keep-alive off is for HTTP/1.1".into()));
    }
    let (stream, connection) = (http2.windows.stream_window, http2.windows.connection_window);
    if !(1..=MAX_WINDOW).contains(&stream) {
        return Err(("h2-window", format!("{stream} bytes: a stream's window is 1 to {MAX_WINDOW} bytes")));
    }
    if !(65_535..=MAX_WINDOW).contains(&connection) {
        return Err((
            "h2-connection-window",
            format!("{connection} bytes: a connection's window is 65535 (HTTP/2's default) to {MAX_WINDOW} bytes"),
        ));
    }
    Ok(())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a CPU list such as `0`, `0,2` or `0-3,6`.
pub fn parse_cpu_list(list: &str) -> Result<Vec<usize>, ConfigError> {
    let bad = |reason: String| ConfigError::Invalid { setting: "cpus", reason };
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim) {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (part, part),
        };
        let parse =
            |s: &str| s.parse::<usize>().map_err(|_| bad(format!("'{part}' in '{list}' is not a CPU number or range")));
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(bad(format!("range '{part}' runs backwards")));
        }
        cpus.extend(lo..=hi);
    }
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_parts() {
        let t = Target::parse("http://127.0.0.1:8080/a/b?x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(t.path, "/a/b?x=1");
        let t = Target::parse("http://[::1]:9/").unwrap();
        assert_eq!(t.addr, "[::1]:9".parse().unwrap());
        let t = Target::parse("http://127.0.0.1").unwrap();
        assert_eq!((t.addr.port(), t.path.as_str(), t.host.as_str()), (80, "/", "127.0.0.1"));
    }

    #[test]
    fn target_errors() {
        assert!(matches!(Target::parse("ftp://127.0.0.1/"), Err(ConfigError::Url { .. })));
        let secure = Target::parse("https://127.0.0.1/x").unwrap();
        assert!(secure.tls && secure.addr.port() == 443 && secure.name == "127.0.0.1", "{secure:?}");
        assert!(matches!(Target::parse("not a url"), Err(ConfigError::Url { .. })));
    }

    /// The generator-busy rule counts CPUs, not threads: two threads pinned to one CPU can use one.
    #[test]
    fn cpus_are_counted_as_the_threads_can_use_them() {
        let config = |n_threads, cpus: Option<Vec<usize>>| Config {
            n_threads,
            cpus,
            ..Config::new(Target::parse("http://127.0.0.1:1/").unwrap())
        };
        assert_eq!(config(2, Some(vec![0])).n_cpus(), 1);
        assert_eq!(config(2, Some(vec![0, 0])).n_cpus(), 1);
        assert_eq!(config(1, Some(vec![0, 1])).n_cpus(), 1);
        assert_eq!(config(4, Some(vec![0, 1, 2])).n_cpus(), 3);
        let machine = std::thread::available_parallelism().unwrap().get();
        assert_eq!(config(64, None).n_cpus(), machine.min(64));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert_eq!(parse_cpu_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_cpu_list("2-1").is_err());
        assert!(parse_cpu_list("a").is_err());
    }

    #[test]
    fn validation_names_the_option() {
        let base = Config::new(Target::parse("http://127.0.0.1:1/").unwrap());
        let option_of = |c: Config| match c.validate() {
            Err(ConfigError::Invalid { setting, .. }) => setting,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(option_of(Config { n_connections: 0, ..base.clone() }), "connections");
        assert_eq!(option_of(Config { n_threads: 11, ..base.clone() }), "threads");
        assert_eq!(option_of(Config { pipeline: 2, keepalive: false, ..base.clone() }), "pipeline");
        assert_eq!(option_of(Config { rate: Some(-1.0), ..base.clone() }), "rate");
        assert_eq!(option_of(Config { method: "G T".into(), ..base.clone() }), "method");
        assert_eq!(option_of(Config { headers: vec![("X".into(), "a\r\nb".into())], ..base.clone() }), "header");
        assert_eq!(option_of(Config { headers: vec![("X".into(), "a\0b".into())], ..base.clone() }), "header");
        assert_eq!(option_of(Config { rate: Some(10.0), pipeline: 2, ..base.clone() }), "rate");
        assert_eq!(option_of(Config { stop: RunLength::Requests(0), ..base.clone() }), "requests");
        assert!(base.validate().is_ok());
    }
}
