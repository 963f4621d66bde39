//! A paired, interleaved comparison of two stacks (`stackbench compare`): both run at once on the
//! server's CPUs, each with its own limits and sidecars; the load alternates between them in short
//! windows ordered in balanced blocks (`stats::order`: ABBA or BAAB), so that a drift of the machine's
//! speed falls on both alike, and each pair of adjacent windows gives a ratio CANDIDATE / BASE per
//! figure until `stats::paired::Sequence` says every figure is decided or the pairs run out.

use std::time::{Duration, Instant, SystemTime};

use loadgen::capacity::{probe_config, SearchOptions};
use loadgen::{Config, LoadResult, RunLength};
use plan::{server_target, EndpointPlan, Plan};
use record::comparison::{ComparisonRecord, EndpointComparison, Figure, FigureComparison, COMPARISON_VERSION};
use scenario::Loaded;
use stats::order::{Blocks, Side};
use stats::paired::{Better, Look, Sequence, Verdict};

use crate::levels::Server;
use crate::service::Containers;
use crate::{Error, Event, Halt, Runner};

/// The share of BASE's capacity the open-loop windows offer when no `--rate` is given: loaded, with
/// room below the knee, where latency and CPU per request are steady.
pub const SHARE_OF_CAPACITY: f64 = 0.7;

/// What a comparison is asked.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The open-loop windows' offered rate; else [`SHARE_OF_CAPACITY`] of BASE's capacity.
    pub rate: Option<f64>,
    /// The closed-loop windows' connections; else the middle of BASE's levels.
    pub connections: Option<usize>,
    /// Each window's measured length, after its warm-up.
    pub window: Duration,
    pub warmup: Duration,
    pub sequence: Sequence,
    /// The smallest change that matters: CPU per request, goodput and req/s; p99.
    pub min_effect: f64,
    pub min_effect_p99: f64,
    /// Seeds the order of the windows.
    pub seed: u64,
}

impl Default for CompareOptions {
    fn default() -> CompareOptions {
        CompareOptions {
            rate: None,
            connections: None,
            window: Duration::from_secs(1),
            warmup: Duration::from_millis(500),
            sequence: Sequence::default(),
            min_effect: 0.03,
            min_effect_p99: 0.10,
            seed: 1,
        }
    }
}

/// One of the two stacks, running.
struct Running {
    label: &'static str,
    plan: Plan,
    run_id: String,
    /// The sidecars' addresses, for a new server if this one exits.
    sidecar_env: Vec<String>,
    server: Server,
}

/// `figure`'s value in one window (`None` when the window gives none, or nothing above 0).
fn value(figure: Figure, load: &LoadResult, usage: Option<&record::ServerUsage>) -> Option<f64> {
    let value = match figure {
        Figure::CpuUsPerRequest => usage?.cpu_us_per_request(load.requests as f64, load.duration_s)?,
        Figure::P99Us => load.latency_us.p99 as f64,
        Figure::GoodputRps => load.goodput_rps,
        Figure::Rps => load.rps,
    };
    (value > 0.0 && value.is_finite()).then_some(value)
}

/// A figure's values on each side, and the ratios of its pairs.
#[derive(Default, Clone)]
struct Series {
    base: Vec<f64>,
    candidate: Vec<f64>,
    ratios: Vec<f64>,
}

impl Runner<'_> {
    /// Compares `candidate` with `base` (each named by where it came from, `*_source`), endpoint by
    /// endpoint; what it measured is written to `RESULTS/comparisons/` as it goes. `Err` when the two
    /// cannot be compared (a build, a start, a verification failed; no endpoint in common) or the run
    /// cannot go on.
    pub async fn compare(
        &self,
        base: &Loaded,
        candidate: &Loaded,
        sources: (&str, &str),
        options: &CompareOptions,
    ) -> Result<ComparisonRecord, Error> {
        let plans = (
            Plan::new(base, &self.options.choices, self.hosts())?,
            Plan::new(candidate, &self.options.choices, self.hosts())?,
        );
        let common: Vec<String> = plans
            .0
            .endpoints
            .iter()
            .filter(|e| plans.1.endpoints.iter().any(|c| c.name == e.name))
            .map(|e| e.name.clone())
            .collect();
        if common.is_empty() {
            return Err(Error::Compare(format!(
                "{} and {} have no endpoint of the same name to compare",
                plans.0.name, plans.1.name
            )));
        }
        let holder = format!("pid {}, compare {} with {}", std::process::id(), plans.1.name, plans.0.name);
        let Some(_cpus) = self.hold_cpus(&holder, false).await? else {
            return Err(Error::Compare("interrupted".into()));
        };
        let stamp = crate::compact_utc(SystemTime::now());
        let path = record::folder::comparison_file(&self.options.results, &stamp);
        let folder = path.parent().expect("in the comparisons folder").to_path_buf();
        std::fs::create_dir_all(&folder).map_err(|source| Error::Results { path: folder.clone(), source })?;
        let (base_name, candidate_name) = match (&plans.0.name, &plans.1.name) {
            (a, b) if a == b => (format!("{a} (BASE)"), format!("{b} (CANDIDATE)")),
            (a, b) => (a.clone(), b.clone()),
        };
        let mut record = ComparisonRecord {
            schema_version: COMPARISON_VERSION,
            base: base_name,
            candidate: candidate_name,
            base_source: sources.0.to_string(),
            candidate_source: sources.1.to_string(),
            started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            finished_at: None,
            status: "running".into(),
            window_s: options.window.as_secs_f64(),
            warmup_s: options.warmup.as_secs_f64(),
            seed: options.seed,
            server_cpuset: plans.0.server_cpuset.clone(),
            generator_cpus: plans.0.generator_cpus.clone(),
            endpoints: Vec::new(),
        };
        let mut containers = Containers::default();
        let outcome = self
            .compare_inner((base, candidate), plans, &common, &stamp, options, &path, &mut record, &mut containers)
            .await;
        let left = containers.remove_all().await;
        if !left.is_empty() {
            self.emit(Event::Warning(&format!(
                "could not remove {} (the engine did not answer): the next run removes them",
                left.join(", ")
            )));
        }
        record.finished_at = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
        record.status = match &outcome {
            Ok(()) if self.cancel.is_cancelled() => crate::INTERRUPTED.to_string(),
            Ok(()) => "complete".into(),
            Err(e) => e.to_string(),
        };
        record.write(&path).map_err(|source| Error::Results { path: path.clone(), source })?;
        self.emit(Event::Step(&format!("comparison: {}", path.display())));
        outcome.map(|()| record)
    }

    #[allow(clippy::too_many_arguments)]
    async fn compare_inner(
        &self,
        loaded: (&Loaded, &Loaded),
        plans: (Plan, Plan),
        common: &[String],
        stamp: &str,
        options: &CompareOptions,
        path: &std::path::Path,
        record: &mut ComparisonRecord,
        containers: &mut Containers,
    ) -> Result<(), Error> {
        let mut base = self.start_side("BASE", loaded.0, plans.0, stamp, containers).await?;
        let candidate = self.start_side("CANDIDATE", loaded.1, plans.1, stamp, containers).await?;
        self.emit(Event::Step(&format!(
            "both servers run on CPU(s) {} at once, each with its own limits; the load, from CPU(s) {}, \
             goes to one at a time",
            base.plan.server_cpuset,
            base.plan.generator_cpus.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
        )));
        for name in common {
            if self.cancel.is_cancelled() {
                break;
            }
            let compared = self.compare_endpoint(name, &mut base, &candidate, options, containers).await?;
            record.endpoints.push(compared);
            record.write(path).map_err(|source| Error::Results { path: path.to_path_buf(), source })?;
        }
        Ok(())
    }

    /// Builds, starts and verifies one side: its sidecars, then its server, then a primer.
    async fn start_side(
        &self,
        label: &'static str,
        loaded: &Loaded,
        plan: Plan,
        stamp: &str,
        containers: &mut Containers,
    ) -> Result<Running, Error> {
        let failed = |why: String| Error::Compare(format!("{label} ({}): {why}", plan.name));
        let halt = |h: Halt| match h {
            Halt::Failed(why) => failed(why),
            Halt::Fatal(e) => e,
            Halt::Lost(_, e) => Error::Docker(e),
        };
        let run_id = format!("{}-{stamp}-{}-{}", plan.slug, label.to_lowercase(), std::process::id());
        // Build logs of a failed build go beside the comparison.
        let logs = record::folder::comparison_file(&self.options.results, &format!("{stamp}-{}", label.to_lowercase()));
        let mut scratch = self.new_record(loaded, &plan, run_id.clone(), 1, SystemTime::now());
        self.emit(Event::Step(&format!("{label}: {}", plan.name)));
        for svc in plan.sidecars.iter().chain(std::iter::once(&plan.server)) {
            self.build(svc, &plan.project, &mut scratch, &logs).await.map_err(halt)?;
        }
        let mut sidecar_env = Vec::new();
        for svc in &plan.sidecars {
            let (_, port) = self.start_ready(svc, &plan, &run_id, &[], containers).await.map_err(halt)?;
            sidecar_env.extend(svc.address_env(port));
        }
        let server = self.start_server(&plan, &run_id, &sidecar_env, containers).await.map_err(halt)?;
        for endpoint in &plan.endpoints {
            self.verify(endpoint, server.addr, plan.server.tls, &server.running).await.map_err(halt)?;
        }
        for endpoint in &plan.endpoints {
            self.prime(&plan, endpoint, server.addr).await;
        }
        Ok(Running { label, plan, run_id, sidecar_env, server })
    }

    /// The open-loop rate for `endpoint`, and where it came from.
    async fn compare_rate(
        &self,
        base: &mut Running,
        endpoint: &EndpointPlan,
        options: &CompareOptions,
        containers: &mut Containers,
    ) -> (Option<f64>, String) {
        if let Some(rate) = options.rate {
            return (Some(rate), "--rate".into());
        }
        let Some(slo) = &endpoint.slo else {
            return (None, "no objectives and no --rate: req/s at fixed connections only".into());
        };
        self.emit(Event::Step(&format!(
            "{}: searching BASE's capacity for the open-loop rate ({:.0}% of it; --rate skips this)",
            crate::workload(endpoint),
            SHARE_OF_CAPACITY * 100.0
        )));
        match self
            .run_capacity(
                &base.plan,
                &base.run_id,
                &base.sidecar_env,
                containers,
                endpoint,
                slo,
                &[],
                1,
                &mut base.server,
            )
            .await
        {
            Ok((search, _)) => match search.capacity.capacity_rps {
                Some(capacity) => (
                    Some(capacity * SHARE_OF_CAPACITY),
                    format!("{:.0}% of BASE's capacity, {capacity:.0} req/s, searched now", SHARE_OF_CAPACITY * 100.0),
                ),
                None => (None, format!("BASE's capacity search found none ({}): req/s only", search.capacity.status)),
            },
            Err(_) => (None, "BASE's capacity search failed: req/s only".into()),
        }
    }

    async fn compare_endpoint(
        &self,
        name: &str,
        base: &mut Running,
        candidate: &Running,
        options: &CompareOptions,
        containers: &mut Containers,
    ) -> Result<EndpointComparison, Error> {
        let started = Instant::now();
        let endpoint = |side: &Running| side.plan.endpoints.iter().find(|e| e.name == name).expect("in common").clone();
        let (base_endpoint, candidate_endpoint) = (endpoint(base), endpoint(candidate));
        let (rate, rate_from) = self.compare_rate(base, &base_endpoint, options, containers).await;
        let connections = options.connections.unwrap_or_else(|| {
            let levels = &base_endpoint.connections;
            levels[levels.len() / 2]
        });
        let kinds: Vec<Figure> = Figure::ALL.into_iter().filter(|f| rate.is_some() || !f.open_loop()).collect();
        let figures: Vec<stats::paired::Figure> = kinds
            .iter()
            .map(|&f| stats::paired::Figure {
                better: if f.higher_is_better() { Better::Higher } else { Better::Lower },
                min_effect: if f == Figure::P99Us { options.min_effect_p99 } else { options.min_effect },
            })
            .collect();
        self.emit(Event::Step(&format!(
            "{}: windows of {} (+{} warm-up), {}closed loop at {connections} connections; pairs {} to {}",
            crate::workload(&base_endpoint),
            humantime::format_duration(options.window),
            humantime::format_duration(options.warmup),
            rate.map_or(String::new(), |r| format!("open loop at {r:.0} req/s and ")),
            options.sequence.min_pairs,
            options.sequence.max_pairs,
        )));
        let mut series = vec![Series::default(); kinds.len()];
        let mut orders = [Blocks::new(options.seed), Blocks::new(options.seed.wrapping_add(1))];
        let modes: &[bool] = if rate.is_some() { &[true, false] } else { &[false] };
        let mut look: Option<Look> = None;
        let mut blocks = 0;
        'blocks: loop {
            blocks += 1;
            for &open_loop in modes {
                if self.cancel.is_cancelled() {
                    break 'blocks;
                }
                // A mode whose figures are all decided runs no more windows: its figures keep their verdicts.
                let decided = look.as_ref().is_some_and(|l| {
                    kinds
                        .iter()
                        .zip(&l.verdicts)
                        .filter(|(k, _)| k.open_loop() == open_loop)
                        .all(|(_, v)| *v != Verdict::Undecided)
                });
                if decided {
                    continue;
                }
                let block = orders[usize::from(!open_loop)].next().expect("endless");
                let mut windows = Vec::with_capacity(4);
                for side in block {
                    let (running, endpoint) = match side {
                        Side::Base => (&*base, &base_endpoint),
                        Side::Candidate => (candidate, &candidate_endpoint),
                    };
                    let config = self.window_config(running, endpoint, open_loop, rate, connections, options)?;
                    windows.push((side, self.window(running, config).await?));
                }
                for pair in windows.chunks(2) {
                    for (i, &kind) in kinds.iter().enumerate().filter(|(_, k)| k.open_loop() == open_loop) {
                        let of = |side: Side| {
                            pair.iter()
                                .find(|(s, _)| *s == side)
                                .and_then(|(_, (load, usage))| value(kind, load, usage.as_ref()))
                        };
                        if let (Some(b), Some(c)) = (of(Side::Base), of(Side::Candidate)) {
                            series[i].base.push(b);
                            series[i].candidate.push(c);
                            series[i].ratios.push(c / b);
                        }
                    }
                }
                for running in [base, candidate] {
                    let state = self.engine.state(&running.server.running.id).await.map_err(Error::Docker)?;
                    if !state.running {
                        return Err(Error::Compare(format!(
                            "{}'s server ({}) exited during the comparison (code {})",
                            running.label,
                            running.plan.name,
                            state.exit_code.map_or("?".into(), |c| c.to_string())
                        )));
                    }
                }
            }
            let ratios: Vec<Vec<f64>> = series.iter().map(|s| s.ratios.clone()).collect();
            look = options.sequence.look(&ratios, &figures);
            if let Some(l) = &look {
                self.emit(Event::Step(&progress_line(&kinds, l)));
                if l.done {
                    break;
                }
            } else if blocks >= options.sequence.max_pairs {
                // Some figure had no value in twice the blocks its most pairs need (two pairs a block): stop.
                break;
            }
        }
        let verdicts =
            look.as_ref().map(|l| l.verdicts.clone()).unwrap_or_else(|| vec![Verdict::Undecided; kinds.len()]);
        let figures = kinds
            .iter()
            .zip(&figures)
            .enumerate()
            .map(|(i, (kind, figure))| {
                let s = &series[i];
                let estimate = look.as_ref().map(|l| l.estimates[i]);
                FigureComparison {
                    figure: *kind,
                    higher_is_better: kind.higher_is_better(),
                    min_effect: figure.min_effect,
                    base_median: stats::median(&s.base).unwrap_or(0.0),
                    candidate_median: stats::median(&s.candidate).unwrap_or(0.0),
                    ratio: estimate.map_or(0.0, |e| e.ratio),
                    lo: estimate.map_or(0.0, |e| e.lo),
                    hi: estimate.map_or(0.0, |e| e.hi),
                    p_worse: estimate.map_or(1.0, |e| e.p_worse),
                    verdict: verdicts[i].words().to_string(),
                    ratios: s.ratios.clone(),
                }
            })
            .collect();
        Ok(EndpointComparison {
            workload: crate::workload(&base_endpoint),
            rate,
            rate_from,
            connections,
            pairs: series.iter().map(|s| s.ratios.len()).max().unwrap_or(0),
            elapsed_s: started.elapsed().as_secs_f64(),
            figures,
        })
    }

    /// One window's load settings: open loop at `rate`, or closed loop at `connections`.
    fn window_config(
        &self,
        running: &Running,
        endpoint: &EndpointPlan,
        open_loop: bool,
        rate: Option<f64>,
        connections: usize,
        options: &CompareOptions,
    ) -> Result<Config, Error> {
        let target = server_target(running.server.addr, &endpoint.path, running.plan.server.tls)
            .map_err(|e| Error::Compare(e.to_string()))?;
        let mut config = match (open_loop, rate) {
            (true, Some(rate)) => {
                let base = running.plan.load_config(endpoint, 1, target);
                let search = SearchOptions {
                    max_connections: loadgen::max_connections(self.hosts().generator().open_files),
                    ..SearchOptions::default()
                };
                let slo = endpoint.slo.clone().unwrap_or_default();
                probe_config(&base, &slo, &search, rate, options.window).0
            }
            _ => running.plan.load_config(endpoint, connections, target),
        };
        config.stop = RunLength::Duration(options.window);
        config.warmup = options.warmup;
        Ok(config)
    }

    /// Runs one window against one side, its server's CPU read through it.
    async fn window(
        &self,
        running: &Running,
        config: Config,
    ) -> Result<(LoadResult, Option<record::ServerUsage>), Error> {
        let (outcome, usage) = self.measure(&running.plan, &running.run_id, config, &running.server).await;
        match outcome {
            Ok((load, _)) => Ok((load, usage)),
            Err(crate::GeneratorError::Docker(e)) => Err(Error::Docker(e)),
            Err(e) => Err(Error::Compare(format!("a window against {} could not run: {e}", running.label))),
        }
    }
}

/// The figures' intervals so far, as the comparison narrows them.
fn progress_line(kinds: &[Figure], look: &Look) -> String {
    let pairs = look.estimates.iter().map(|e| e.pairs).max().unwrap_or(0);
    let figures: Vec<String> = kinds
        .iter()
        .zip(look.estimates.iter().zip(&look.verdicts))
        .map(|(k, (e, v))| format!("{} x{:.3} ({:.3}-{:.3}) {}", k.name(), e.ratio, e.lo, e.hi, v.words()))
        .collect();
    format!("{pairs} pairs: {}", figures.join("; "))
}
