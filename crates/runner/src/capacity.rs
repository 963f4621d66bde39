//! The capacity search of an endpoint against the running server: each probe
//! runs like a level (from this process or the generator containers, the
//! server sampled through its measured window), `loadgen::capacity::Search`
//! judges it and picks the next, and the record keeps every probe with the
//! server's figures.

use loadgen::capacity::{Search, SearchOptions, Slo};
use plan::{server_target, EndpointPlan, Plan};
use record::{CapacityRecord, Failure, FailureKind, LevelRecord};

use crate::levels::Server;
use crate::service::LOG_TAIL;
use crate::{Event, Halt, Runner};

/// The first rate probed when nothing was measured before the search.
const START_RATE: f64 = 100.0;
/// The first rate probed: this share of the best req/s the endpoint reached
/// closed loop (its levels, or a short estimate), so the search brackets the
/// capacity in a few probes.
const START_SHARE_OF_PEAK: f64 = 0.5;
/// Without levels, a closed-loop estimate this long (after a warm-up as long)
/// at the endpoint's largest level, up to [`ESTIMATE_CONNECTIONS`] (an
/// endpoint that mostly waits, like /sleep, needs many connections to show
/// its rate: at 64, a 0.1 s wait caps the estimate at 640 req/s).
const ESTIMATE: std::time::Duration = std::time::Duration::from_secs(1);
const ESTIMATE_CONNECTIONS: usize = 2000;

impl Runner<'_> {
    /// Searches the capacity of `endpoint` under `slo`; `levels` are the
    /// endpoint's levels measured before, which give the first rate (without
    /// them, a short closed-loop estimate does). With the search, the load of
    /// its confirming hold when it found a capacity (to profile it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_capacity(
        &self,
        plan: &Plan,
        run_id: &str,
        endpoint: &EndpointPlan,
        slo: &Slo,
        levels: &[LevelRecord],
        repeat: u32,
        server: &Server,
    ) -> Result<(CapacityRecord, Option<loadgen::Config>), Halt> {
        let started = std::time::Instant::now();
        // The levels refuse such a path one by one; a search has no level to fail.
        let target = server_target(server.addr, &endpoint.path).map_err(|e| Halt::Failed(e.to_string()))?;
        let mut peak = levels.iter().filter_map(|l| l.load.as_ref()).map(|l| l.rps).fold(0.0, f64::max);
        if levels.is_empty() {
            let connections = endpoint.connections.iter().copied().max().unwrap_or(1).min(ESTIMATE_CONNECTIONS);
            let mut estimate = plan.load_config(endpoint, connections, target.clone());
            (estimate.stop, estimate.warmup, estimate.rate) = (loadgen::RunLength::Duration(ESTIMATE), ESTIMATE, None);
            if let (Ok((load, _)), _) = self.measure(plan, run_id, estimate, server).await {
                peak = load.rps;
            }
        }
        let options = SearchOptions {
            start_rate: if peak > 0.0 { (peak * START_SHARE_OF_PEAK).max(1.0) } else { START_RATE },
            max_connections: loadgen::max_connections(self.hosts.generator().open_files),
            // Probes no longer than the scenario's levels.
            probe: plan.duration.min(SearchOptions::default().probe),
            ..SearchOptions::default()
        };
        self.emit(Event::Step(&format!(
            "{} {}: capacity search from {:.0} req/s, probes of {}, a {} hold, at most {} probes",
            endpoint.method,
            endpoint.path,
            options.start_rate,
            humantime::format_duration(options.probe),
            humantime::format_duration(plan.duration),
            options.max_probes
        )));
        let base = plan.load_config(endpoint, 1, target);
        let mut search = Search::new(&base, slo, &options);
        let mut servers = Vec::new();
        let mut failure = None;
        let mut lost = None;
        while let Some(next) = search.next_probe().filter(|_| failure.is_none()) {
            if self.cancel.is_cancelled() {
                break;
            }
            let (outcome, usage) = self.measure(plan, run_id, next.config.clone(), server).await;
            match outcome {
                Ok((load, _)) => {
                    servers.push(usage);
                    self.emit(Event::Probe(search.record(next, load)));
                }
                Err(crate::GeneratorError::Docker(e)) if e.is_unreachable() => {
                    failure = Some(Failure::new(FailureKind::Interrupted, e.to_string(), String::new()));
                    lost = Some(e);
                    break;
                }
                Err(e) => failure = Some(Failure::new(FailureKind::Generator, e.to_string(), String::new())),
            }
            let state = match self.engine.state(&server.running.id).await {
                Ok(state) => state,
                Err(e) if e.is_unreachable() => {
                    lost = Some(e);
                    failure = Some(Failure::new(
                        FailureKind::Interrupted,
                        "the engine stopped answering during the search".into(),
                        String::new(),
                    ));
                    break;
                }
                Err(e) => return Err(Halt::Fatal(e.into())),
            };
            if !state.running {
                failure = Some(Failure::new(
                    FailureKind::ServerExited,
                    format!(
                        "the server exited during the capacity search (code {})",
                        state.exit_code.map_or("?".into(), |c| c.to_string())
                    ),
                    self.engine.logs_tail(&server.running.id, LOG_TAIL).await,
                ));
            }
        }
        let capacity = search.finish();
        let hold = capacity.capacity_rps.map(|rate| loadgen::capacity::hold_config(&base, slo, &options, rate));
        let record = CapacityRecord {
            endpoint: endpoint.name.clone(),
            method: endpoint.method.clone(),
            path: endpoint.path.clone(),
            keepalive: endpoint.keepalive,
            repeat,
            capacity,
            servers,
            failure,
            elapsed_s: started.elapsed().as_secs_f64(),
            profile: None,
        };
        match lost {
            // The probes so far are kept with the run (a resumed run searches again).
            Some(lost) => Err(Halt::Lost(Box::new(crate::Measured::Search(record)), lost)),
            None => Ok((record, hold)),
        }
    }
}
