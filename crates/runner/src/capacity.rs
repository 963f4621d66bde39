//! The capacity search of an endpoint against the running server: each probe
//! runs like a level (from this process or the generator containers, the
//! server sampled through its measured window), `loadgen::capacity::Search`
//! judges it and picks the next, and the record keeps every probe with the
//! server's figures.

use loadgen::capacity::{Search, SearchOptions, Slo};
use plan::{server_target, EndpointPlan, Plan};
use record::{CapacityRecord, Failure, FailureKind, LevelRecord};

use crate::levels::Server;
use crate::service::{Containers, LOG_TAIL};
use crate::{Event, Halt, Runner};

/// The first rate probed when nothing was measured before the search.
const START_RATE: f64 = 100.0;
/// The first rate probed: this share of the capacity estimated from what was measured before
/// ([`estimate`]), a little below it so that the first probe usually passes.
const START_SHARE_OF_ESTIMATE: f64 = 0.9;
/// From an estimate, each probe until one fails runs this much faster than the last: the bracket it
/// leaves is a quarter wide, two bisections from the precision (doubling would leave four).
const GROWTH_FROM_ESTIMATE: f64 = 1.25;
/// A level held back by its connections rather than the server (Little's law: req/s x mean latency at
/// least this share of the connections, with the server's CPU under [`IDLE_SHARE`] of its limit) says
/// nothing of the capacity above it.
const LITTLE_SHARE: f64 = 0.8;
const IDLE_SHARE: f64 = 0.5;
/// A level whose mean latency is more than this many times the levels' least was queueing somewhere (a
/// pool, a lock): its connections did not hold it back.
const QUEUE_FACTOR: f64 = 1.5;

/// Without levels, a closed-loop estimate this long (after a warm-up as long)
/// at the endpoint's largest level, up to [`ESTIMATE_CONNECTIONS`] (an
/// endpoint that mostly waits, like /sleep, needs many connections to show
/// its rate: at 64, a 0.1 s wait caps the estimate at 640 req/s).
const ESTIMATE: std::time::Duration = std::time::Duration::from_secs(1);
const ESTIMATE_CONNECTIONS: usize = 2000;

/// What a closed-loop level says of the capacity (from its load result and the server's usage).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Seen {
    pub rps: f64,
    pub mean_latency_us: f64,
    pub connections: usize,
    /// The server's CPU (mean) and its limit, in percent of one CPU; its CPU per request, when known.
    pub cpu_pct: f64,
    pub cpu_limit_pct: f64,
    pub cpu_us_per_request: Option<f64>,
}

impl Seen {
    fn of(load: &loadgen::LoadResult, usage: Option<&record::ServerUsage>) -> Seen {
        Seen {
            rps: load.rps,
            mean_latency_us: load.latency_us.mean,
            connections: load.options.connections,
            cpu_pct: usage.map_or(0.0, |u| u.cpu_pct_mean),
            cpu_limit_pct: usage.map_or(0.0, |u| u.cpu_limit_pct),
            cpu_us_per_request: usage.and_then(|u| u.cpu_us_per_request(load.requests as f64, load.duration_s)),
        }
    }

    /// The most the server could complete at its CPU limit: the limit over the CPU a request costs.
    fn ceiling(&self) -> Option<f64> {
        let us = self.cpu_us_per_request?;
        (self.cpu_limit_pct > 0.0 && us > 0.0).then(|| self.cpu_limit_pct / 100.0 * 1e6 / us)
    }

    /// Held back by its connections, not the server: Little's law says they were all busy while the
    /// server's CPU stayed well under its limit, and its latency had not grown over the levels' least
    /// (`floor_us`: no queue anywhere, so more connections would have completed more).
    fn held_back(&self, floor_us: f64) -> bool {
        let busy = self.cpu_limit_pct > 0.0 && self.cpu_pct >= IDLE_SHARE * self.cpu_limit_pct;
        let in_flight = self.rps * self.mean_latency_us / 1e6;
        !busy && in_flight >= LITTLE_SHARE * self.connections as f64 && self.mean_latency_us <= QUEUE_FACTOR * floor_us
    }
}

/// Where a search starts from what was measured before it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Estimate {
    /// The capacity it points at.
    pub rate: f64,
    /// How fast to grow past it until a probe fails.
    pub growth: f64,
    pub why: String,
}

/// The capacity the levels measured before a search point at: the best req/s of a level the server
/// limited, capped by the CPU ceiling (the server's CPU limit over its CPU per request: the most it could
/// complete), grown past in small steps; when every level was held back by its connections (an endpoint
/// that waits), their best, grown past by doubling. `None` when no level completed a request.
pub(crate) fn estimate(seen: &[Seen]) -> Option<Estimate> {
    let seen: Vec<&Seen> = seen.iter().filter(|s| s.rps > 0.0 && s.mean_latency_us > 0.0).collect();
    let floor_us = seen.iter().map(|s| s.mean_latency_us).fold(f64::INFINITY, f64::min);
    let ceiling = stats::median(&seen.iter().filter_map(|s| s.ceiling()).collect::<Vec<_>>());
    let best = |held: bool| seen.iter().filter(|s| s.held_back(floor_us) == held).map(|s| s.rps).fold(0.0, f64::max);
    let (limited, held) = (best(false), best(true));
    let estimate = match ceiling {
        _ if limited <= 0.0 && held <= 0.0 => return None,
        Some(c) if limited > 0.0 && c < limited => Estimate {
            rate: c,
            growth: GROWTH_FROM_ESTIMATE,
            why: format!("the CPU ceiling, {c:.0} req/s (below the levels' best, {limited:.0})"),
        },
        _ if limited > 0.0 => Estimate {
            rate: limited,
            growth: GROWTH_FROM_ESTIMATE,
            why: format!("the levels' best, {limited:.0} req/s"),
        },
        _ => Estimate {
            rate: held,
            growth: SearchOptions::default().growth,
            why: format!(
                "the levels' best, {held:.0} req/s, held back by their connections (the capacity is above it{})",
                ceiling.map_or(String::new(), |c| format!(", below the CPU ceiling of {c:.0}"))
            ),
        },
    };
    Some(estimate)
}

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
        sidecar_env: &[String],
        containers: &mut Containers,
        endpoint: &EndpointPlan,
        slo: &Slo,
        levels: &[LevelRecord],
        repeat: u32,
        server: &mut Server,
    ) -> Result<(CapacityRecord, Option<loadgen::Config>), Halt> {
        let started = std::time::Instant::now();
        // The levels refuse such a path one by one; a search has no level to fail.
        let target =
            server_target(server.addr, &endpoint.path, plan.server.tls).map_err(|e| Halt::Failed(e.to_string()))?;
        let mut known = estimate(
            &levels.iter().filter_map(|l| Some(Seen::of(l.load.as_ref()?, l.server.as_ref()))).collect::<Vec<_>>(),
        );
        if levels.is_empty() {
            let connections = endpoint.connections.iter().copied().max().unwrap_or(1).min(ESTIMATE_CONNECTIONS);
            let mut config = plan.load_config(endpoint, connections, target.clone());
            (config.stop, config.warmup, config.rate) = (loadgen::RunLength::Duration(ESTIMATE), ESTIMATE, None);
            if let (Ok((load, _)), usage) = self.measure(plan, run_id, config, server).await {
                known = estimate(&[Seen::of(&load, usage.as_ref())]);
            }
        }
        let (start_rate, growth) = match &known {
            Some(e) => {
                self.emit(Event::Step(&format!(
                    "{}: capacity estimated from {}",
                    crate::workload(endpoint).request(),
                    e.why
                )));
                ((e.rate * START_SHARE_OF_ESTIMATE).max(1.0), e.growth)
            }
            None => (START_RATE, SearchOptions::default().growth),
        };
        let options = SearchOptions {
            start_rate,
            growth,
            max_connections: loadgen::max_connections(self.hosts.generator().open_files),
            // Probes no longer than the scenario's levels.
            probe: plan.duration.min(SearchOptions::default().probe),
            ..SearchOptions::default()
        };
        self.emit(Event::Step(&format!(
            "{}: capacity search from {:.0} req/s, probes of {} warm-up + {}, a {} + {} hold, at most {} probes",
            crate::workload(endpoint).request(),
            options.start_rate,
            humantime::format_duration(options.probe_warmup_for(plan.warmup)),
            humantime::format_duration(options.probe),
            humantime::format_duration(plan.warmup),
            humantime::format_duration(plan.duration),
            options.max_probes
        )));
        let base = plan.load_config(endpoint, 1, target);
        let mut search = Search::new(&base, slo, &options);
        let mut servers = Vec::new();
        let mut failure = None;
        let mut server_exits = Vec::new();
        let mut lost = None;
        while let Some(next) = search.next_probe().filter(|_| failure.is_none()) {
            if self.cancel.is_cancelled() {
                break;
            }
            let rate = next.config.rate.unwrap_or_default();
            // At the server as it runs now: a new one (after an exit) listens on another port.
            let mut config = next.config.clone();
            config.target =
                server_target(server.addr, &endpoint.path, plan.server.tls).map_err(|e| Halt::Failed(e.to_string()))?;
            let (outcome, usage) = self.measure(plan, run_id, config, server).await;
            let mut failed = false;
            match outcome {
                Ok((load, _)) => {
                    servers.push(usage);
                    let probe = search.record(next, load);
                    failed = !probe.passed;
                    self.emit(Event::Probe(probe));
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
            // How the server ended, when it did not survive the probe.
            let exited = (!state.running).then(|| format!("the server exited {}", crate::levels::exit_words(&state)));
            if let Some(how) = &exited {
                let logs_tail = self.engine.logs_tail(&server.running.id, LOG_TAIL).await;
                server_exits.push(record::ProbeExit {
                    offered_rps: rate,
                    failure: Failure::new(FailureKind::ServerExited, how.clone(), logs_tail),
                });
            }
            // A failed probe leaves requests queued in the server: the next starts once it answers its
            // readiness check again (behind them), as a level after a level does; a server that exited, or
            // does not answer, is replaced.
            if (failed || exited.is_some()) && failure.is_none() && !self.cancel.is_cancelled() {
                let recovered = match &exited {
                    None => {
                        self.ready_or_new(plan, run_id, sidecar_env, server, containers, "after a failed probe").await
                    }
                    Some(how) => {
                        let why = format!("{how} under the probe at {rate:.0} req/s");
                        self.new_server(plan, run_id, sidecar_env, server, containers, &why).await
                    }
                };
                match recovered {
                    Ok(()) => {}
                    Err(Halt::Failed(why)) => {
                        let why = format!("no server for the next probe: {}", why.lines().next().unwrap_or_default());
                        failure = Some(Failure::new(FailureKind::ServerExited, why, String::new()));
                    }
                    Err(halt) => return Err(halt),
                }
            }
        }
        let capacity = search.finish();
        let hold = capacity.capacity_rps.map(|rate| loadgen::capacity::hold_config(&base, slo, &options, rate));
        let record = CapacityRecord {
            endpoint: endpoint.name.clone(),
            method: endpoint.method.clone(),
            path: endpoint.path.clone(),
            keepalive: endpoint.keepalive,
            protocol: endpoint.protocol,
            repeat,
            capacity,
            servers,
            failure,
            server_exits,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(rps: f64, mean_latency_ms: f64, connections: usize, cpu_pct: f64, us: Option<f64>) -> Seen {
        Seen {
            rps,
            mean_latency_us: mean_latency_ms * 1000.0,
            connections,
            cpu_pct,
            cpu_limit_pct: 100.0,
            cpu_us_per_request: us,
        }
    }

    #[test]
    fn a_server_bound_level_gives_its_req_s_grown_past_in_small_steps() {
        // 100 connections, 2000 req/s at 50 ms: all busy, but the server's CPU at its limit bound it.
        let e = estimate(&[seen(2000.0, 50.0, 100, 99.0, Some(490.0))]).unwrap();
        assert_eq!((e.rate, e.growth), (2000.0, GROWTH_FROM_ESTIMATE), "{}", e.why);
    }

    #[test]
    fn the_cpu_ceiling_caps_it() {
        // 1 CPU at 800 us a request: at most 1250 req/s, whatever the level read.
        let e = estimate(&[seen(2000.0, 5.0, 100, 99.0, Some(800.0))]).unwrap();
        assert_eq!(e.rate, 1250.0);
        assert!(e.why.contains("CPU ceiling"), "{}", e.why);
    }

    #[test]
    fn levels_held_back_by_their_connections_grow_by_doubling() {
        // /sleep: 10 and 100 connections at 100 ms, the server at 10%: the connections bound both.
        let e =
            estimate(&[seen(99.0, 100.0, 10, 1.0, Some(100.0)), seen(990.0, 100.0, 100, 10.0, Some(100.0))]).unwrap();
        assert_eq!((e.rate, e.growth), (990.0, 2.0));
        assert!(e.why.contains("held back") && e.why.contains("CPU ceiling of 10000"), "{}", e.why);
    }

    #[test]
    fn a_pool_that_queues_is_the_limit_not_the_connections() {
        // 40 threads at 100 ms: 400 req/s; at 100 connections the latency grew to 250 ms (a queue).
        let e =
            estimate(&[seen(99.0, 100.0, 10, 2.0, Some(300.0)), seen(400.0, 250.0, 100, 12.0, Some(300.0))]).unwrap();
        assert_eq!((e.rate, e.growth), (400.0, GROWTH_FROM_ESTIMATE), "{}", e.why);
    }

    #[test]
    fn nothing_completed_says_nothing() {
        assert_eq!(estimate(&[seen(0.0, 0.0, 10, 0.0, None)]), None);
    }
}
