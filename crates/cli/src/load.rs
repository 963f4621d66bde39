//! `stackbench load`: the load generator as a standalone, wrk-like command.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use loadgen::{Config, ConfigError, Control, Expect, RunLength, Target};
use scenario::parse_duration;

use crate::{summary, EXIT_INTERRUPTED};

#[derive(Debug, Clone, Args)]
pub struct LoadOpts {
    /// The http:// or https:// URL to load
    pub url: String,
    /// Connections to keep open
    #[arg(short = 'c', long, default_value_t = 10)]
    pub connections: usize,
    /// Threads, each with its own event loop [default: CPUs in --cpus, else all CPUs, at most --connections]
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// How long to measure, e.g. 10s, 1m, 500ms (a bare number is seconds)
    #[arg(short = 'd', long, value_parser = parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Send exactly this many measured requests, then stop (like ab -n)
    #[arg(short = 'n', long)]
    pub requests: Option<u64>,
    /// Load to apply before measuring; not counted
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub warmup: Duration,
    /// A request unanswered this long is a timeout: counted once, while its connection waits on for a
    /// late response
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub timeout: Duration,
    /// A request unanswered this long is abandoned: its connection is closed and reopened [default: 10
    /// timeouts]
    #[arg(long, value_parser = parse_duration)]
    pub give_up: Option<Duration>,
    /// Pin the generator threads to these CPUs, e.g. 0 or 0-1,3
    #[arg(long)]
    pub cpus: Option<String>,
    /// Requests written back to back per connection before reading the responses
    #[arg(long, default_value_t = 1)]
    pub pipeline: u32,
    /// Send `Connection: close` and open a new connection per request (like ab without -k)
    #[arg(long)]
    pub no_keepalive: bool,
    /// https://: trust the certificates in this PEM file (the server's CA) instead of the system's
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// https://: accept any server certificate (a self-signed one of your own), like curl -k
    #[arg(short = 'k', long, conflicts_with = "tls_ca")]
    pub insecure: bool,
    /// https://: speak only this TLS version, 1.2 or 1.3 [default: either, the server picks]
    #[arg(long, value_name = "VERSION")]
    pub tls_version: Option<loadgen::tls::TlsVersion>,
    /// https://: never resume a session, so every new connection pays a full handshake
    #[arg(long)]
    pub no_tls_resumption: bool,
    /// https://: offer only these cipher suites, by IANA name (comma-separated), e.g. TLS13_AES_128_GCM_SHA256
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub tls_ciphers: Vec<String>,
    /// Speak HTTP/2: over TLS for https:// (the server must agree to h2 by ALPN), over plain TCP with
    /// prior knowledge (h2c) for http://
    #[arg(long)]
    pub http2: bool,
    /// HTTP/2: streams each connection keeps open at most, like h2load -m; each is a request slot, as a
    /// connection is with HTTP/1.1 (the server may allow fewer)
    #[arg(long, requires = "http2", default_value_t = 1)]
    pub streams: u32,
    /// HTTP/2: each stream's receive window, in bytes [default: 2^30-1, as h2load's]
    #[arg(long, requires = "http2", value_name = "BYTES")]
    pub h2_window: Option<u32>,
    /// HTTP/2: the connection's receive window, in bytes [default: 2^30-1]
    #[arg(long, requires = "http2", value_name = "BYTES")]
    pub h2_connection_window: Option<u32>,
    /// HTTP method
    #[arg(short = 'm', long, default_value = "GET")]
    pub method: String,
    /// A request header, "Name: value"; repeat for more
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// Request body
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Read the request body from a file
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// Content-Type of the body
    #[arg(short = 'T', long)]
    pub content_type: Option<String>,
    /// Count a response as failed unless it has this status [default: any 2xx or 3xx passes]
    #[arg(long)]
    pub expect_status: Option<u16>,
    /// Count a response as failed unless its body contains this text
    #[arg(long)]
    pub expect_body: Option<String>,
    /// Open loop: total requests per second, spread over the connections (like wrk2 -R)
    #[arg(short = 'R', long)]
    pub rate: Option<f64>,
    /// Open loop: space the requests evenly (constant, like wrk2) or as a Poisson process (poisson)
    #[arg(long, default_value = "constant", value_parser = ["constant", "poisson"], requires = "rate")]
    pub arrivals: String,
    /// Closed loop: each connection is a user who waits this long (the mean) between a response and the
    /// next request, like Locust's and k6's users
    #[arg(long, value_parser = parse_duration, conflicts_with = "rate")]
    pub think: Option<Duration>,
    /// How think times spread: exponential, uniform (0 to twice the mean) or constant
    #[arg(long, default_value = "exponential", value_parser = ["exponential", "uniform", "constant"], requires = "think")]
    pub think_spread: String,
    /// A weighted mix of GETs instead of the URL's path, one kind each: NAME=WEIGHT:PATH, e.g.
    /// 'read=75:/items/{rand:1..1000}' (repeat for more; each kind is counted apart, with the
    /// --expect-* checks)
    #[arg(long, value_name = "NAME=WEIGHT:PATH", value_parser = parse_mix_kind)]
    pub mix: Vec<loadgen::Kind>,
    /// Seeds what is drawn (Poisson arrivals, think times, {rand:..} and {line:..} values): the same seed
    /// draws the same
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the detailed latency percentile spectrum (wrk2's layout)
    #[arg(long)]
    pub latency: bool,
    /// Print the result as JSON (schema: crates/loadgen/schema.json) instead of the summary
    #[arg(long)]
    pub json: bool,
    /// Start at this wall-clock time, in seconds since 1970 (`date +%s.%N`), so that generators on
    /// several hosts run together
    #[arg(long, value_name = "UNIX_TIME")]
    pub start_at: Option<f64>,
    /// Run share I (from 0) of N of the connections and the rate, as one of N generators
    #[arg(long, value_name = "I/N")]
    pub share: Option<plan::Share>,
}

impl LoadOpts {
    /// Turns the options into a run description, checked; errors name the flag.
    pub fn to_config(&self) -> anyhow::Result<Config> {
        self.config_for(Target::parse(&self.url)?)
    }

    /// The run description for `target` (the URL, resolved or not).
    pub fn config_for(&self, target: Target) -> anyhow::Result<Config> {
        let cpus = self.cpus.as_deref().map(loadgen::parse_cpu_list).transpose().map_err(flagged)?;
        let default_threads = cpus
            .as_ref()
            .map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), |cpus| cpus.len());
        let mut headers = self.headers.iter().map(|h| parse_header(h)).collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(ct) = &self.content_type {
            headers.push(("Content-Type".to_string(), ct.clone()));
        }
        let body = match (&self.body, &self.body_file) {
            (Some(body), _) => body.clone().into_bytes(),
            (None, Some(path)) => {
                std::fs::read(path).with_context(|| format!("--body-file: cannot read '{}'", path.display()))?
            }
            (None, None) => Vec::new(),
        };
        let stop = match (self.requests, self.duration) {
            (Some(n), _) => RunLength::Requests(n),
            (None, Some(d)) => RunLength::Duration(d),
            (None, None) => RunLength::Duration(Duration::from_secs(10)),
        };
        // As one of N generators: this one's part of the connections, threads and rate.
        let part = match self.share {
            Some(share) => share.part(self.connections, self.threads, self.rate).map_err(anyhow::Error::msg)?,
            None => plan::Part { connections: self.connections, rate: self.rate, threads: self.threads },
        };
        let (connections, rate) = (part.connections, part.rate);
        // One of N generators draws its own arrivals: the seed moved by its index.
        let seed = self.seed ^ (self.share.map_or(0, |s| s.index as u64) << 32);
        let arrivals = loadgen::Arrivals::parse(&self.arrivals, seed).map_err(anyhow::Error::msg)?;
        let spread = loadgen::Spread::parse(&self.think_spread).map_err(anyhow::Error::msg)?;
        let think = self.think.map(|mean| loadgen::Think { mean, spread, seed });
        let n_threads = part.threads.unwrap_or_else(|| default_threads.min(connections).max(1));
        let config = Config {
            method: self.method.to_ascii_uppercase(),
            headers,
            body,
            n_connections: connections,
            n_threads,
            stop,
            warmup: self.warmup,
            timeout: self.timeout,
            give_up: self.give_up,
            pipeline: self.pipeline,
            keepalive: !self.no_keepalive,
            rate,
            arrivals,
            think,
            seed,
            expect: Expect { status: self.expect_status, body: self.expect_body.clone().map(String::into_bytes) },
            cpus,
            tls: loadgen::tls::TlsSettings {
                verify: !self.insecure,
                ca: self.tls_ca.clone(),
                version: self.tls_version,
                resumption: !self.no_tls_resumption,
                ciphers: self.tls_ciphers.clone(),
            },
            http2: self.http2.then(|| {
                let defaults = loadgen::h2::Settings::default();
                let windows = loadgen::h2::Settings {
                    stream_window: self.h2_window.unwrap_or(defaults.stream_window),
                    connection_window: self.h2_connection_window.unwrap_or(defaults.connection_window),
                };
                loadgen::Http2 { streams: self.streams, windows }
            }),
            ..Config::new(target)
        };
        let expect = config.expect.clone();
        let mix = self.mix.iter().map(|kind| loadgen::Kind { expect: expect.clone(), ..kind.clone() }).collect();
        let config = Config { mix, ..config };
        config.validate().map_err(flagged)?;
        Ok(config)
    }
}

/// A setting's error as the flag's: `--connections: ...`.
fn flagged(e: ConfigError) -> anyhow::Error {
    match e {
        ConfigError::Invalid { setting, reason } => anyhow::anyhow!("--{setting}: {reason}"),
        other => other.into(),
    }
}

/// One `--mix` kind, `NAME=WEIGHT:PATH`: a GET of PATH (drawn values allowed) named NAME.
fn parse_mix_kind(text: &str) -> Result<loadgen::Kind, String> {
    let shape = || format!("'{text}': expected NAME=WEIGHT:PATH, e.g. read=75:/items/{{rand:1..1000}}");
    let (name, rest) = text.split_once('=').ok_or_else(shape)?;
    let (weight, path) = rest.split_once(':').ok_or_else(shape)?;
    let weight =
        weight.trim().parse::<u32>().map_err(|_| format!("'{text}': the weight '{weight}' is not a whole number"))?;
    if name.trim().is_empty() || !path.starts_with('/') {
        return Err(shape());
    }
    Ok(loadgen::Kind::get(name.trim(), weight, path))
}

fn parse_header(header: &str) -> anyhow::Result<(String, String)> {
    let (name, value) =
        header.split_once(':').with_context(|| format!("--header '{header}': expected \"Name: value\""))?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

/// Sleeps until `at` (seconds since 1970), or until the run is cancelled.
fn wait_until(at: f64, control: &Control) -> anyhow::Result<()> {
    if !at.is_finite() || at < 0.0 {
        anyhow::bail!("--start-at: {at} is not a time in seconds since 1970");
    }
    let start = std::time::UNIX_EPOCH + Duration::from_secs_f64(at);
    while let Ok(left) = start.duration_since(std::time::SystemTime::now()) {
        if control.is_cancelled() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
    Ok(())
}

/// The control of the run in progress, for the Ctrl-C handler.
pub(crate) static CURRENT: Mutex<Option<Control>> = Mutex::new(None);

pub(crate) fn install_interrupt_handler() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // A second Ctrl-C while the first is being handled exits at once.
        let handler = || match CURRENT.lock().ok().and_then(|c| c.clone()) {
            Some(control) if !control.is_cancelled() => control.cancel(),
            _ => std::process::exit(i32::from(EXIT_INTERRUPTED)),
        };
        // Without a handler Ctrl-C still stops the process, just without the partial result.
        let _ = ctrlc::set_handler(handler);
    });
}

pub fn run(opts: LoadOpts) -> anyhow::Result<ExitCode> {
    let config = opts.to_config()?;
    let control = Control::new();
    install_interrupt_handler();
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(control.clone());

    if let Some(at) = opts.start_at {
        wait_until(at, &control)?;
    }
    let show_progress = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    if !opts.json {
        println!("{}", summary::header(&config));
    }
    let (tx, rx) = mpsc::channel();
    let result = std::thread::scope(|scope| {
        let (config, control) = (&config, &control);
        scope.spawn(move || {
            // The receiver waits for this send; it cannot be gone.
            let _ = tx.send(loadgen::run(config, control));
        });
        let mut last = (Duration::ZERO, 0u64);
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(result) => break result,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let (true, Some(p)) = (show_progress, control.progress()) {
                        let rate = crate::progress::rate_since(&mut last, &p);
                        let phase = if p.measuring { "" } else { " (warm-up)" };
                        eprint!(
                            "\r\x1b[2K  {:>6.1}s  {:>10} req/s  {} errors{phase}",
                            p.elapsed.as_secs_f64(),
                            summary::metric(rate),
                            p.errors
                        );
                        let _ = std::io::stderr().flush();
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    unreachable!("the run thread always sends")
                }
            }
        }
    });
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    let result = result.context("load run failed")?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", summary::render(&result, opts.latency)?);
    }
    Ok(if result.interrupted { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS })
}
