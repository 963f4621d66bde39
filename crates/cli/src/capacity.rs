//! `stackbench capacity URL --slo p99=50ms`: the highest offered rate at
//! which the server meets its objectives, found by `loadgen::capacity`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use loadgen::capacity::{Capacity, Probe, SearchOptions, Slo, Status};
use loadgen::Control;
use scenario::parse_duration;

use crate::load::{install_interrupt_handler, LoadOpts, CURRENT};
use crate::summary::metric;
use crate::EXIT_INTERRUPTED;
use report::units::{objectives, time_us};

#[derive(Debug, Clone, Args)]
pub struct CapacityOpts {
    /// The load options (-c and -R are chosen per probe; -d is the length of the confirming hold)
    #[command(flatten)]
    pub load: LoadOpts,
    /// An objective, NAME=VALUE: p50, p90, p99 or p99.9 with a latency (p99=50ms), or errors with a share
    /// of requests (errors=0.1%, the default); repeat for more
    #[arg(long = "slo", value_name = "NAME=VALUE", required = true, value_parser = parse_objective)]
    pub slo: Vec<(String, String)>,
    /// The first rate probed, in requests per second
    #[arg(long, default_value_t = 100.0)]
    pub start_rate: f64,
    /// Stop narrowing once the bracket is within this share of its top, e.g. 5%
    #[arg(long, value_parser = parse_precision, default_value = "5%")]
    pub precision: f64,
    /// Probes in all, the confirming holds included
    #[arg(long, default_value_t = 12)]
    pub max_probes: u32,
    /// How long each search probe measures
    #[arg(long, value_parser = parse_duration, default_value = "3s")]
    pub probe_duration: Duration,
}

/// `NAME=VALUE`, checked as an objective.
fn parse_objective(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once('=').ok_or_else(|| format!("'{s}' is not NAME=VALUE, e.g. p99=50ms"))?;
    Slo::default().set(name.trim(), value.trim(), parse_duration)?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

/// A precision: a share above 0% and below 100%.
fn parse_precision(s: &str) -> Result<f64, String> {
    loadgen::capacity::parse_percent(s)
        .filter(|p| *p > 0.0 && *p < 1.0)
        .ok_or_else(|| format!("'{s}' is not a share such as 5%"))
}

impl CapacityOpts {
    /// The objectives, with the error share's default.
    pub fn slo(&self) -> Slo {
        let mut slo = Slo::default();
        for (name, value) in &self.slo {
            slo.set(name, value, parse_duration).expect("checked while parsing");
        }
        slo
    }
}

pub fn run(opts: CapacityOpts) -> anyhow::Result<ExitCode> {
    if opts.load.rate.is_some() {
        anyhow::bail!("--rate: the capacity search chooses the rate of each probe; leave it out");
    }
    if !(opts.start_rate.is_finite() && opts.start_rate > 0.0) {
        anyhow::bail!("--start-rate: {} is not a positive number of requests per second", opts.start_rate);
    }
    if opts.max_probes == 0 {
        anyhow::bail!("--max-probes: must be at least 1");
    }
    let base = opts.load.to_config()?;
    let slo = opts.slo();
    let options = SearchOptions {
        start_rate: opts.start_rate,
        precision: opts.precision,
        max_probes: opts.max_probes,
        probe: opts.probe_duration,
        max_connections: loadgen::max_connections(loadgen::open_files_limit()),
        ..SearchOptions::default()
    };
    install_interrupt_handler();
    if !opts.load.json {
        let pinned = match &base.cpus {
            Some(cpus) => format!("pinned to CPU {cpus:?}"),
            None => "not pinned (--cpus)".to_string(),
        };
        println!(
            "Capacity of {} at {}: probes of {}, a {} hold, at most {} probes; {} generator thread(s) {pinned}",
            base.target.url,
            objectives(&slo),
            humantime::format_duration(options.probe),
            humantime::format_duration(match base.stop {
                loadgen::RunLength::Duration(d) => d,
                loadgen::RunLength::Requests(_) => options.probe,
            }),
            options.max_probes,
            base.n_threads
        );
    }
    let json = opts.load.json;
    let run_probe = |config: &loadgen::Config| {
        let control = Control::new();
        *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(control.clone());
        loadgen::run(config, &control)
    };
    let cancelled = || CURRENT.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(Control::is_cancelled);
    let mut n_probes = 0;
    let on_probe = |probe: &Probe| {
        n_probes += 1;
        if !json {
            println!("  probe {n_probes:>2}: {}", probe_line(probe));
        }
    };
    let found = loadgen::capacity::search(&base, &slo, &options, run_probe, cancelled, on_probe);
    let interrupted = cancelled();
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let found = found?;
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        print!("{}", conclusion(&found, interrupted));
    }
    Ok(if interrupted { ExitCode::from(EXIT_INTERRUPTED) } else { ExitCode::SUCCESS })
}

/// A probe in a line: offered, achieved, p50, p99, errors, pass or what failed.
pub fn probe_line(p: &Probe) -> String {
    let outcome = if p.passed { "pass".to_string() } else { format!("FAIL ({})", p.failed.join(", ")) };
    let capped = if p.connections_capped { " (capped by the open-files limit)" } else { "" };
    format!(
        "offered {:>8} req/s, achieved {:>8} req/s, p50 {:>8}, p99 {:>8}, {} errors, {} connections{capped}: {outcome}",
        metric(p.offered),
        metric(p.achieved),
        time_us(p.latency_us.p50 as f64),
        time_us(p.latency_us.p99 as f64),
        p.errors,
        p.connections
    )
}

/// What the search found, in words.
pub fn conclusion(c: &Capacity, interrupted: bool) -> String {
    let mut out = String::new();
    let (low, high) = c.bracket;
    let _ = match (c.status, c.capacity_rps) {
        (Status::Found, Some(rps)) => writeln!(
            out,
            "Capacity: {} req/s at {} (held; bracket {}..{} req/s)",
            metric(rps),
            objectives(&c.slo),
            metric(low),
            metric(high)
        ),
        (Status::GeneratorBound, _) => writeln!(
            out,
            "Generator-bound: at least {} req/s; the generator saturated before the server failed an objective \
             (give it more CPUs, or more generators)",
            metric(low)
        ),
        (Status::BudgetExhausted | Status::Stopped, _) => {
            let ended = if c.status == Status::Stopped {
                format!("the search stopped after {} probes", c.probes.len())
            } else {
                format!("the {} probes ran out", c.probes.len())
            };
            let hint = if c.status == Status::Stopped { "" } else { " (raise --max-probes)" };
            writeln!(out, "No capacity yet: {ended} with it between {} and {} req/s{hint}", metric(low), metric(high))
        }
        _ => writeln!(
            out,
            "None: no rate probed, down to {} req/s, met {}",
            metric(c.probes.iter().map(|p| p.offered).fold(f64::INFINITY, f64::min)),
            objectives(&c.slo)
        ),
    };
    if interrupted {
        let _ = writeln!(out, "Interrupted after {} probes: the result covers what ran", c.probes.len());
    }
    out
}
