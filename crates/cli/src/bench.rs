//! `stackbench bench FILE...`: runs scenario files one after another (and
//! `--repeat` times, interleaved), printing progress and the results table.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use plan::{Choices, Hosts};
use runner::{Cancel, Event, RunOptions, Runner, SuiteEnd};
use scenario::parse_duration;

use crate::progress::Screen;
use crate::{table, EXIT_INTERRUPTED};

#[derive(Debug, Clone, Args)]
#[command(after_help = "Exit codes: 0 the suite ran (a level the server failed under load is a result: the \
table says why); 1 a scenario could not be built, started or verified, another run holds the CPUs, or the \
engine or machine failed (the message says what to do); 2 bad arguments; 130 interrupted (finished levels \
are kept); 3 with --fail-on regression, a figure regressed against --baseline")]
pub struct BenchOpts {
    /// Scenario files (scenarios/*.toml)
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Measure each level this long instead of the scenario's duration
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Sweep these connection counts instead of the scenario's, e.g. 50,100
    #[arg(long, value_delimiter = ',')]
    pub connections: Option<Vec<usize>>,
    /// Only these endpoints (by name), e.g. health,sleep; scenarios with none of them are skipped
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub endpoints: Option<Vec<String>>,
    /// Matrix files: these values for KEY instead of the file's list, e.g. workers=1,2,4 (repeatable;
    /// files without KEY are run as they are)
    #[arg(long = "matrix", value_name = "KEY=V1,V2")]
    pub matrix: Vec<scenario::MatrixList>,
    /// Matrix files: only the variants with these values, e.g. 'worker=gevent' or 'worker=gevent,workers=2'
    /// (repeatable: a variant given by any is run); files with none are skipped
    #[arg(long, value_name = "KEY=VALUE,...")]
    pub only: Vec<scenario::Only>,
    /// Compare this run's figures (capacity, req/s and p99 at each level) with those of an earlier run: a results
    /// folder (the latest suite of each stack in it) or one results file; printed as Markdown, for a pull request
    #[arg(long, value_name = "RESULTS")]
    pub baseline: Option<PathBuf>,
    /// Exit 3 when a figure's 95% interval over repeats lies wholly on the worse side of the --baseline's
    /// (both need --repeat 3 or more; unpaired: `stackbench compare` pairs the two)
    #[arg(long, value_name = "WHAT", requires = "baseline")]
    pub fail_on: Option<FailOn>,
    /// Also write the comparison with --baseline to this file (Markdown)
    #[arg(long, value_name = "FILE", requires = "baseline")]
    pub comparison: Option<PathBuf>,
    /// Run the suite this many times, interleaved (A B A B, not A A B B)
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// CPUs for the load generator; the server side gets all the others
    #[arg(long, default_value = "0")]
    pub generator_cpus: String,
    /// The project the paths in scenario files are relative to and must stay inside [default: each
    /// scenario file's folder]
    #[arg(long)]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub reports: crate::ReportsFolder,
    /// Where results files go [default: REPORTS/results; with --verify-only, REPORTS/verify]
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Build every image, start it and check every endpoint once; no load
    #[arg(long)]
    pub verify_only: bool,
    /// Print what the command would run (variants, endpoints, levels, capacity searches, images to build)
    /// and about how long it would take, then stop: nothing runs
    #[arg(long, conflicts_with_all = ["verify_only", "resume", "baseline"])]
    pub plan: bool,
    /// Skip the connection levels: only search the capacity of the endpoints with objectives ([workload.slo])
    #[arg(long, conflicts_with = "no_capacity")]
    pub capacity_only: bool,
    /// Skip the capacity search after the connection levels
    #[arg(long)]
    pub no_capacity: bool,
    /// Profile the server: each endpoint's `profile_at` (a level, else its first, or its confirmed
    /// capacity) is run again with a sampling profiler on every server process (py-spy for Python, else
    /// perf), then once more without it; the cost of looking is the profiled run against the two
    /// unprofiled ones
    #[arg(long)]
    pub profile: bool,
    /// Profile every endpoint at this level (a connection count) or at `capacity` (the rate its
    /// capacity search confirms), over the scenario's `profile_at`; implies --profile
    #[arg(long, value_name = "N|capacity", value_parser = profile_at)]
    pub profile_at: Option<scenario::ProfileAt>,
    /// How open loops (capacity probes, levels at a `rate`) space their requests: evenly (constant,
    /// like wrk2) or as a Poisson process (poisson, seeded by the scenario's `seed`), over the
    /// scenario's `arrivals`
    #[arg(long, value_parser = ["constant", "poisson"])]
    pub arrivals: Option<String>,
    /// Go on with a suite that stopped before its end (Ctrl-C, a fault, the machine going down): run the
    /// same command with --resume, or name the suite (its id is printed at its start); the runs it
    /// finished are kept, a run it left half-way goes on from its first unfinished level, the rest run
    #[arg(long, value_name = "SUITE", num_args = 0..=1, default_missing_value = "latest", conflicts_with = "verify_only")]
    pub resume: Option<String>,
    /// When another stackbench run holds this machine's CPUs, wait for it to end instead of refusing (two
    /// runs on the same CPUs would both report wrong figures)
    #[arg(long)]
    pub wait: bool,
    /// py-spy's samples per second of each server thread in a profile (perf's rate is fixed)
    #[arg(long, value_name = "HZ", default_value_t = runner::PROFILE_RATE_HZ, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub profile_rate: u32,
    /// Set an environment variable on a service over the scenario's, e.g. db.ROWS=1000 (repeatable; recorded)
    #[arg(long = "set", value_name = "SERVICE.KEY=VALUE")]
    pub overrides: Vec<plan::Override>,
    /// Run the server and its sidecars on this Docker engine: unix:///PATH, tcp://HOST:PORT (TLS with
    /// DOCKER_TLS_VERIFY=1 and the certificates in DOCKER_CERT_PATH, as for the docker CLI) or
    /// https://HOST:PORT [default: DOCKER_HOST, else the local socket]
    #[arg(long, value_name = "ENDPOINT")]
    pub server_engine: Option<String>,
    /// The address the server binds and is loaded at: that host's address when --server-engine is
    /// another machine
    #[arg(long, default_value = "127.0.0.1")]
    pub server_address: std::net::IpAddr,
    /// Drive each level from this many generator containers (their results merged) instead of this process
    #[arg(long, value_name = "N")]
    pub generators: Option<usize>,
    /// A Docker engine for generator containers (repeatable: they are dealt out in turn) [default: the local one]
    #[arg(long = "generator-engine", value_name = "ENDPOINT")]
    pub generator_engines: Vec<String>,
}

/// What fails the run (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A figure whose interval lies wholly on the worse side of the baseline's
    Regression,
}

/// Exit code of a run whose figures regressed against `--baseline` (with `--fail-on regression`).
pub const EXIT_REGRESSION: u8 = 3;

pub fn run(opts: BenchOpts) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // Check every file before running anything, so a typo in the last one does not waste an hour.
    let mut loaded = variants(&opts)?;
    if let Some(names) = &opts.endpoints {
        select_endpoints(&mut loaded, names)?;
    }
    for o in &opts.overrides {
        if !loaded.iter().any(|l| l.has_service(&o.service)) {
            anyhow::bail!(
                "--set {o}: no scenario given has a service named '{}' (use `server`, or a sidecar's `name`)",
                o.service
            );
        }
    }
    let generator_cpus = generator_cpus(&opts.generator_cpus)?;
    if opts.repeat == 0 {
        anyhow::bail!("--repeat: must be at least 1");
    }
    let min = report::gate::MIN_REPEATS;
    if opts.fail_on.is_some() && (opts.repeat as usize) < min {
        anyhow::bail!(
            "--fail-on regression: a figure is judged by the interval of its repeats, which {} run(s) do not \
             tell well enough; pass --repeat {min} or more",
            opts.repeat
        );
    }
    // Read before anything runs: a baseline that cannot be read, or has no repeats to judge with, wastes no run.
    let baseline = match &opts.baseline {
        Some(path) => Some(report::gate::read_baseline(path, opts.fail_on.is_some())?),
        None => None,
    };
    for &n in opts.connections.iter().flatten() {
        loadgen::check_connections(n).map_err(|reason| anyhow::anyhow!("--connections: {reason}"))?;
    }
    if opts.generators == Some(0) {
        anyhow::bail!("--generators: give at least 1, or leave it out to load from this process");
    }
    if !opts.generator_engines.is_empty() && opts.generators.is_none() {
        anyhow::bail!("--generator-engine: say how many generator containers with --generators N");
    }
    // Verification writes no benchmark results: keep its records (and build logs) apart.
    let results = match (&opts.results, opts.verify_only) {
        (Some(results), _) => results.clone(),
        (None, false) => opts.reports.results(),
        (None, true) => opts.reports.dir.join("verify"),
    };
    // Which suite goes on: its runs are read again once the CPUs are this run's.
    let resumed = match &opts.resume {
        Some(which) => Some(runner::StoredSuite::read(&results, which, &mut |w| eprintln!("warning: {w}"))?.id),
        None => None,
    };
    let options = RunOptions {
        results,
        choices: Choices {
            duration: opts.duration,
            connections: opts.connections.clone(),
            endpoints: opts.endpoints.clone(),
            generator_cpus,
            overrides: opts.overrides.clone(),
            server_address: opts.server_address,
            profile: opts.profile,
            profile_at: opts.profile_at.clone(),
            // The scenario's seed replaces this one (`plan::Plan::new`).
            arrivals: opts
                .arrivals
                .as_deref()
                .map(|a| loadgen::Arrivals::parse(a, 1))
                .transpose()
                .map_err(anyhow::Error::msg)?,
            // The runner makes the run's CA.
            tls_ca: None,
        },
        ca_bundle: Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")),
        started,
        suite_id: resumed.clone().unwrap_or_else(record::folder::new_suite_id),
        verify_only: opts.verify_only,
        sweep: !opts.capacity_only,
        capacity: !opts.no_capacity,
        profile_rate_hz: opts.profile_rate,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (code, records) = rt.block_on(run_suite(loaded, options, resumed.is_some(), &opts))?;
    match baseline {
        Some(baseline) if code == ExitCode::SUCCESS => gate(&baseline, &records, &opts),
        _ => Ok(code),
    }
}

/// This run against `--baseline`: the Markdown comparison on stdout (and in
/// `--comparison`), and with `--fail-on regression` the exit code.
fn gate(baseline: &[record::RunRecord], records: &[record::RunRecord], opts: &BenchOpts) -> anyhow::Result<ExitCode> {
    let gate = report::gate::compare(&baseline.iter().collect::<Vec<_>>(), &records.iter().collect::<Vec<_>>());
    let markdown = gate.markdown();
    if let Some(file) = &opts.comparison {
        std::fs::write(file, &markdown).with_context(|| format!("cannot write {}", file.display()))?;
        eprintln!("==> comparison with the baseline: {}", file.display());
    }
    println!("\n{markdown}");
    eprintln!("warning: an unpaired comparison: {}", report::gate::UNPAIRED);
    match (opts.fail_on, gate.outcome()) {
        (None, _) | (_, report::gate::Outcome::Passed) => Ok(ExitCode::SUCCESS),
        (Some(FailOn::Regression), report::gate::Outcome::Regressed(n)) => {
            eprintln!("==> {n} figure(s) regressed against the baseline: exit {EXIT_REGRESSION}");
            Ok(ExitCode::from(EXIT_REGRESSION))
        }
        (Some(FailOn::Regression), report::gate::Outcome::NotJudged) => {
            eprintln!("==> the comparison could not judge every figure (see above): exit 1");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `--generator-cpus` (of `bench` and `compare`): a CPU list, its error naming the flag.
pub(crate) fn generator_cpus(value: &str) -> anyhow::Result<Vec<usize>> {
    match loadgen::parse_cpu_list(value) {
        Ok(cpus) => Ok(cpus),
        Err(loadgen::ConfigError::Invalid { reason, .. }) => anyhow::bail!("--generator-cpus: {reason}"),
        Err(e) => Err(e.into()),
    }
}

/// `--profile-at`: a connection count, or a word the plan checks.
fn profile_at(value: &str) -> Result<scenario::ProfileAt, String> {
    Ok(match value.parse() {
        Ok(n) => scenario::ProfileAt::Connections(n),
        Err(_) => scenario::ProfileAt::Named(value.to_string()),
    })
}

/// Keeps the scenarios that have an endpoint named in `--endpoints`; every
/// name must be some scenario's endpoint (a typo would measure nothing).
fn select_endpoints(loaded: &mut Vec<scenario::Loaded>, names: &[String]) -> anyhow::Result<()> {
    let has = |l: &scenario::Loaded, name: &str| {
        l.scenario.workload.endpoints.get_ref().iter().any(|e| e.name.as_str() == name)
    };
    if let Some(name) = names.iter().find(|n| !loaded.iter().any(|l| has(l, n))) {
        let mut known: Vec<&str> = loaded
            .iter()
            .flat_map(|l| l.scenario.workload.endpoints.get_ref().iter().map(|e| e.name.as_str()))
            .collect();
        known.sort_unstable();
        known.dedup();
        anyhow::bail!(
            "--endpoints: no scenario given has an endpoint named '{name}' (they have: {})",
            known.join(", ")
        );
    }
    loaded.retain(|l| {
        let keep = names.iter().any(|n| has(l, n));
        if !keep {
            eprintln!("==> skipping {}: none of its endpoints is named in --endpoints", l.stack_name());
        }
        keep
    });
    Ok(())
}

/// Every scenario the files stand for: a matrix file's variants as `--matrix`
/// and `--only` pick them, checked before anything runs.
fn variants(opts: &BenchOpts) -> anyhow::Result<Vec<scenario::Loaded>> {
    let pick = scenario::Pick { lists: opts.matrix.clone(), only: opts.only.clone() };
    let mut loaded = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for file in &opts.files {
        let expanded = scenario::load_file(file, &scenario::project_of(file, opts.root.as_deref()), &pick)?;
        if expanded.variants.is_empty() {
            eprintln!("==> skipping {}: --only picks none of its variants", file.display());
        } else if !expanded.keys.is_empty() {
            eprintln!(
                "==> {}: {} of its {} variant(s) ({})",
                file.display(),
                expanded.variants.len(),
                expanded.total,
                expanded.keys.join(" x ")
            );
        }
        keys.extend(expanded.keys);
        loaded.extend(expanded.variants);
    }
    let flags = opts
        .matrix
        .iter()
        .map(|m| ("--matrix", &m.key))
        .chain(opts.only.iter().flat_map(|o| o.0.iter().map(|(k, _)| ("--only", k))));
    for (flag, key) in flags {
        if !keys.contains(key) {
            keys.sort();
            keys.dedup();
            anyhow::bail!(
                "{flag}: no scenario given has a matrix key '{key}' ({})",
                if keys.is_empty() {
                    "none has a [matrix]".to_string()
                } else {
                    format!("they have: {}", keys.join(", "))
                }
            );
        }
    }
    if loaded.is_empty() {
        anyhow::bail!("--only: no variant of the files given has those values");
    }
    Ok(loaded)
}

async fn run_suite(
    loaded: Vec<scenario::Loaded>,
    options: RunOptions,
    resume: bool,
    opts: &BenchOpts,
) -> anyhow::Result<(ExitCode, Vec<record::RunRecord>)> {
    let repeat = opts.repeat;
    let server_address = options.choices.server_address;
    let runner::Engines { local, server: engine, generators } = runner::Engines::connect(
        opts.server_engine.as_deref(),
        &opts.generator_engines,
        opts.generators.unwrap_or(0),
        server_address,
        &mut |w| eprintln!("warning: {w}"),
    )
    .await?;
    eprintln!(
        "==> Docker {} (API {}) at {}, kernel {}",
        engine.version, engine.api_version, engine.endpoint, engine.kernel
    );
    let cancel = Cancel::new();
    tokio::spawn(watch_signals(cancel.clone()));
    let display = Screen::new(std::io::stderr().is_terminal());
    let generator_cpus = options.choices.generator_cpus.clone();
    let verify_only = options.verify_only;
    let mut builder = Runner::builder(engine.clone(), options)
        .cancel(cancel.clone())
        .observer(move |event| print_event(event, &display))
        .images_from(local);
    if !generators.is_empty() {
        let binary = std::env::current_exe().context("cannot find the stackbench binary for the generator image")?;
        builder = builder.generators(generators.clone(), binary);
    }
    let runner = builder.build()?;
    if opts.plan {
        let cost = runner.estimate(&loaded, repeat).await?;
        print!("{}", table::render_plan(&cost));
        return Ok((ExitCode::SUCCESS, Vec::new()));
    }
    runner.reap().await?;
    let apart = match runner.hosts() {
        Hosts::Shared(_) => "the server containers get the other CPUs of this machine",
        Hosts::Apart { .. } => "the server runs on another machine",
    };
    if generators.is_empty() {
        eprintln!("==> load generator pinned to CPU {generator_cpus:?}; {apart}");
    } else {
        let engines: Vec<&str> = generators.iter().map(|e| e.endpoint.as_str()).collect();
        eprintln!(
            "==> load from {} generator containers ({}), each pinned to CPU {generator_cpus:?}; the server at \
             {server_address} on {}; {apart}",
            engines.len(),
            engines.join(", "),
            engine.endpoint
        );
    }
    let suite = runner::SuiteOptions { repeat, resume, wait: opts.wait };
    let runner::SuiteRun { records, end } = runner.run_suite(&loaded, &suite).await?;
    if end == SuiteEnd::NothingRan {
        return Ok((ExitCode::from(EXIT_INTERRUPTED), Vec::new()));
    }
    if verify_only {
        println!("{}", table::render_verified(&records));
    } else {
        println!("{}", table::render(&records));
    }
    if let Some(t) = records.iter().find_map(|r| r.to_first_measured_s) {
        println!("time from command start to the first measured request: {t:.2}s");
    }
    let code = match end {
        SuiteEnd::Interrupted | SuiteEnd::NothingRan => ExitCode::from(EXIT_INTERRUPTED),
        SuiteEnd::Failed => ExitCode::FAILURE,
        SuiteEnd::Complete => ExitCode::SUCCESS,
    };
    Ok((code, records))
}

/// First SIGINT/SIGTERM: stop after recording what finished and removing
/// containers. Third: give up on cleanup and exit.
pub(crate) async fn watch_signals(cancel: Cancel) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return;
    };
    let mut count = 0;
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        count += 1;
        match count {
            1 => {
                eprintln!("\n==> stopping: keeping the finished levels and removing the containers");
                cancel.cancel();
            }
            2 => eprintln!(
                "==> still cleaning up; once more to exit at once (containers may be left, the next run removes them)"
            ),
            _ => std::process::exit(i32::from(EXIT_INTERRUPTED)),
        }
    }
}

/// Draws a profile as a flame graph beside its results file
/// (`RUN.profile-ENDPOINT-AT.svg`, `AT` the level's connections or
/// `capacity`: `At::slug`); none without samples.
fn write_flame_graph(
    scenario: &str,
    workload: &record::Workload,
    at: record::At,
    profile: &record::ProfileRecord,
    results: &std::path::Path,
) -> Result<Option<PathBuf>, String> {
    if profile.folded.is_empty() {
        return Ok(None);
    }
    let title = format!("{scenario}: {} at {at} ({})", workload.request(), profile.tool);
    let svg = report::profile::flame_graph(&profile.folded, &title)?;
    let svg_path = record::folder::flame_graph_file(results, workload, at);
    std::fs::write(&svg_path, svg).map_err(|e| format!("cannot write {}: {e}", svg_path.display()))?;
    Ok(Some(svg_path))
}

pub(crate) fn print_event(event: Event<'_>, display: &Screen) {
    match event {
        Event::Detail(s) => return display.detail(s),
        Event::Measuring { length, control } => return display.measuring(length, control),
        _ => display.clear(),
    }
    match event {
        Event::Step(s) => eprintln!("==> {s}"),
        Event::Warning(s) => eprintln!("warning: {s}"),
        Event::Detail(_) | Event::Measuring { .. } => {}
        Event::Level(level) => eprintln!("    {}", table::level_line(level)),
        Event::Profile { scenario, workload, at, profile, before_rps, results } => {
            for line in report::profile::describe(profile, before_rps) {
                eprintln!("    {line}");
            }
            match write_flame_graph(scenario, &workload, at, profile, results) {
                Ok(Some(svg)) => eprintln!("    flame graph: {}", svg.display()),
                Ok(None) => {}
                // The folded stacks are in the results file: the report draws them again.
                Err(why) => eprintln!("warning: no flame graph beside the results: {why}"),
            }
        }
        Event::Probe(probe) => eprintln!("    {}", crate::capacity::probe_line(probe)),
        Event::Capacity(search) => {
            if let Some(failure) = &search.failure {
                eprintln!("    the search stopped: {}", failure.message);
            }
            eprint!("    {}", crate::capacity::conclusion(&search.capacity, false));
            eprintln!(
                "    the search took {} ({} probes)",
                humantime::format_duration(std::time::Duration::from_secs(search.elapsed_s.round() as u64)),
                search.capacity.probes.len()
            );
        }
    }
}
