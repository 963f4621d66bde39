//! The run sequence of one scenario: images, sidecars, server, checks,
//! primer, then each connection level, recorded as it completes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use docker::{CgroupCounters, Running};
use loadgen::{Config, Control, LoadResult, RunLength};
use plan::{server_target, EndpointPlan, Plan, ProfileAt};
use record::{Failure, FailureKind, GeneratorRecord, LevelRecord, LevelStatus, RunRecord};
use tokio::sync::oneshot;

use crate::generators::GeneratorError;
use crate::profile::{Looked, Seen};
use crate::service::{Containers, LOG_TAIL};
use crate::{sampler, save, Event, Halt, Measured, Runner};

/// The longest wait for a server that ran a level or probe to answer its readiness check again: past it, a
/// new server starts (seconds) rather than this one draining a queue it cannot (gunicorn's sync worker
/// behind 2000 connections of /sleep: 200 s; the suite of 2026-12-05 waited out 60 s readiness timeouts
/// for it several times).
pub(crate) const SETTLE_AT_MOST: Duration = Duration::from_secs(15);

/// The server as it runs now (it is restarted if it dies between levels).
pub(crate) struct Server {
    pub(crate) running: Running,
    pub(crate) port: u16,
    pub(crate) addr: SocketAddr,
    /// The cgroups of the run's containers on this machine when it started (its sidecars', its own).
    pub(crate) ours: Vec<CgroupCounters>,
}

impl Runner<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_inner(
        &self,
        plan: &Plan,
        run_id: &str,
        path: &Path,
        record: &mut RunRecord,
        containers: &mut Containers,
    ) -> Result<(), Halt> {
        let repeat = record.repeat;
        if let Some(disk) = self.engine.disk().await.filter(docker::Disk::nearly_full) {
            self.emit(Event::Warning(&format!(
                "the engine's disk is nearly full ({disk}): a build or a run may fail for want of space; \
                 `stackbench clean` removes the containers and images stackbench made"
            )));
        }
        for svc in plan.sidecars.iter().chain(std::iter::once(&plan.server)) {
            self.build(svc, &plan.project, record, path).await?;
        }
        save(record, path)?;
        let mut sidecar_env = Vec::new();
        for svc in &plan.sidecars {
            let (_, port) = self.start_ready(svc, plan, run_id, &[], containers).await?;
            sidecar_env.extend(svc.address_env(port));
        }
        let mut server = self.start_server(plan, run_id, &sidecar_env, containers).await?;
        for endpoint in &plan.endpoints {
            self.verify(endpoint, server.addr, plan.server.tls, &server.running).await?;
        }
        self.emit(Event::Step(&format!("verified {} endpoint(s)", plan.endpoints.len())));
        if self.options.verify_only {
            return Ok(());
        }
        // A profiler that cannot be built costs the profiles, not the run: each says why.
        let mut no_profiler = None;
        for endpoint in &plan.endpoints {
            let (skipped, flag) = match endpoint.profile_at {
                Some(ProfileAt::Capacity) if !self.options.capacity => ("its capacity", "--no-capacity"),
                Some(ProfileAt::Connections(_)) if !self.options.sweep => ("one of its levels", "--capacity-only"),
                _ => continue,
            };
            self.emit(Event::Warning(&format!(
                "{} is profiled at {skipped}, which {flag} skips: no profile of it in this run",
                crate::workload(endpoint).request()
            )));
        }
        if plan.endpoints.iter().any(|e| e.profile_at.is_some()) {
            match self.prepare_profiler(record).await {
                Err(Halt::Failed(why)) if !self.cancel.is_cancelled() => {
                    self.emit(Event::Warning(&format!("no profiles in this run: {why}")));
                    no_profiler = Some(why);
                }
                other => other?,
            }
        }
        if let Some(image) = &self.generator_image {
            self.prepare_generators(image).await?;
            record.provenance.images.insert("generator".into(), image.tag.clone());
        }
        self.prime(plan, &plan.endpoints[0], server.addr).await;

        let mut first = true;
        // The levels a resumed run measured before, by endpoint and connections.
        let mut kept: HashMap<(&str, usize), usize> = HashMap::new();
        let earlier: Vec<(String, usize)> = record.levels.iter().map(|l| (l.endpoint.clone(), l.connections)).collect();
        for (endpoint, connections) in &earlier {
            *kept.entry((endpoint.as_str(), *connections)).or_default() += 1;
        }
        for endpoint in &plan.endpoints {
            let levels = if self.options.sweep { endpoint.connections.as_slice() } else { &[] };
            for &connections in levels {
                if self.cancel.is_cancelled() {
                    return Ok(());
                }
                // Measured before this run was resumed (a sweep may hold a level more than once).
                if let Some(n) = kept.get_mut(&(endpoint.name.as_str(), connections)).filter(|n| **n > 0) {
                    *n -= 1;
                    continue;
                }
                // The first level follows the readiness check of the server's start.
                if !std::mem::take(&mut first) {
                    self.settle(plan, run_id, &sidecar_env, &mut server, containers).await?;
                    if self.cancel.is_cancelled() {
                        return Ok(());
                    }
                }
                let level_start = Instant::now();
                let level = self.run_level(plan, run_id, endpoint, connections, repeat, &server).await?;
                if record.to_first_measured_s.is_none() {
                    let first_measured = level_start + plan.warmup;
                    record.to_first_measured_s =
                        Some(first_measured.saturating_duration_since(self.options.started).as_secs_f64());
                }
                let profiled = endpoint.profile_at == Some(ProfileAt::Connections(connections));
                let before = profiled.then(|| Seen::level(&level)).filter(|seen| seen.failure.is_none());
                record.levels.push(level);
                save(record, path)?;
                self.emit(Event::Level(record.levels.last().expect("just pushed")));
                if profiled && before.is_none() {
                    self.emit(Event::Warning(&format!(
                        "{} at {connections} connections failed: it is not profiled",
                        crate::workload(endpoint).request()
                    )));
                }
                if let Some(before) = before.filter(|_| !self.cancel.is_cancelled()) {
                    let at = Looked {
                        plan,
                        run_id,
                        sidecar_env: &sidecar_env,
                        endpoint,
                        connections,
                        repeat,
                        open_loop: None,
                    };
                    let profile = self.profile(&at, &before, &mut server, containers, no_profiler.as_deref()).await?;
                    let level = record.levels.last_mut().expect("just pushed");
                    level.profile = Some(profile);
                    save(record, path)?;
                    let profile = record.levels.last().and_then(|l| l.profile.as_ref()).expect("just set");
                    self.emit(at.profiled(profile, before.rps, path));
                }
            }
            let Some(slo) = plan.searched_objectives(endpoint).filter(|_| self.options.capacity) else { continue };
            if record.capacities.iter().any(|c| c.endpoint == endpoint.name) {
                continue;
            }
            if !std::mem::take(&mut first) {
                self.settle(plan, run_id, &sidecar_env, &mut server, containers).await?;
            }
            if self.cancel.is_cancelled() {
                return Ok(());
            }
            let levels: Vec<LevelRecord> =
                record.levels.iter().filter(|l| l.endpoint == endpoint.name).cloned().collect();
            let (capacity, hold) = self
                .run_capacity(plan, run_id, &sidecar_env, containers, endpoint, slo, &levels, repeat, &mut server)
                .await?;
            let confirmed = capacity.capacity.confirm.as_ref().map(|c| (c.connections, c.achieved, c.latency_us.p99));
            record.capacities.push(capacity);
            save(record, path)?;
            self.emit(Event::Capacity(record.capacities.last().expect("just pushed")));
            let profiled = endpoint.profile_at == Some(ProfileAt::Capacity) && !self.cancel.is_cancelled();
            if let (true, Some(hold), Some((connections, rps, p99))) = (profiled, hold, confirmed) {
                let before = Seen { rps, p99_us: Some(p99), failure: None };
                let open_loop = Some(hold);
                let at = Looked { plan, run_id, sidecar_env: &sidecar_env, endpoint, connections, repeat, open_loop };
                let profile = self.profile(&at, &before, &mut server, containers, no_profiler.as_deref()).await?;
                let search = record.capacities.last_mut().expect("just pushed");
                search.profile = Some(profile);
                save(record, path)?;
                let profile = record.capacities.last().and_then(|c| c.profile.as_ref()).expect("just set");
                self.emit(at.profiled(profile, rps, path));
            } else if profiled {
                self.emit(Event::Warning(&format!(
                    "{}: no profile at the capacity, as the search found none",
                    crate::workload(endpoint).request()
                )));
            }
        }
        Ok(())
    }

    /// The pause between two measurements, then the server's readiness: a
    /// level can leave work behind (requests the generator gave up on are
    /// still being served), so the next starts once the server answers its
    /// readiness check again, within the scenario's ready timeout, or on a
    /// new server. Returns at once on a cancel.
    pub(crate) async fn settle(
        &self,
        plan: &Plan,
        run_id: &str,
        sidecar_env: &[String],
        server: &mut Server,
        containers: &mut Containers,
    ) -> Result<(), Halt> {
        let _ = self.until_cancelled(tokio::time::sleep(plan.pause)).await;
        if self.cancel.is_cancelled() {
            return Ok(());
        }
        self.ready_or_new(plan, run_id, sidecar_env, server, containers, "before the next level").await
    }

    /// Waits until the server answers its readiness check again (behind what the last load left queued),
    /// at most [`SETTLE_AT_MOST`] (or its readiness timeout if shorter), else removes it and starts a new
    /// one, saying so after `when`.
    pub(crate) async fn ready_or_new(
        &self,
        plan: &Plan,
        run_id: &str,
        sidecar_env: &[String],
        server: &mut Server,
        containers: &mut Containers,
        when: &str,
    ) -> Result<(), Halt> {
        let settle = plan.server.ready.timeout.0.min(SETTLE_AT_MOST);
        if let Err(stop) = self.wait_ready(&plan.server, &server.running, server.port, settle).await {
            if self.cancel.is_cancelled() {
                return Ok(());
            }
            let Halt::Failed(why) = stop else { return Err(stop) };
            // Its first line, without the lead-in to the log lines that follow it.
            let first = why.lines().next().unwrap_or_default();
            let why = format!("{when}: {}", first.trim_end_matches(crate::service::LAST_LINES));
            self.new_server(plan, run_id, sidecar_env, server, containers, &why).await?;
        }
        Ok(())
    }

    /// Removes `server` and starts another in its place, saying `why`.
    pub(crate) async fn new_server(
        &self,
        plan: &Plan,
        run_id: &str,
        sidecar_env: &[String],
        server: &mut Server,
        containers: &mut Containers,
        why: &str,
    ) -> Result<(), Halt> {
        self.emit(Event::Warning(&format!("{why}; starting a new server")));
        let _ = self.engine.remove(&server.running.id).await;
        *server = self.start_server(plan, run_id, sidecar_env, containers).await?;
        Ok(())
    }

    pub(crate) async fn start_server(
        &self,
        plan: &Plan,
        run_id: &str,
        sidecar_env: &[String],
        containers: &mut Containers,
    ) -> Result<Server, Halt> {
        let (running, port) = self.start_ready(&plan.server, plan, run_id, sidecar_env, containers).await?;
        Ok(Server { running, port, addr: plan.server.address(port), ours: containers.cgroups() })
    }

    /// A short burst so that the first level does not pay for cold caches.
    pub(crate) async fn prime(&self, plan: &Plan, endpoint: &EndpointPlan, server: SocketAddr) {
        let Ok(target) = server_target(server, &endpoint.path, plan.server.tls) else { return };
        let mut config = plan.load_config(endpoint, 4.min(endpoint.connections[0]), target);
        config.stop = RunLength::Requests(100);
        config.warmup = Duration::ZERO;
        config.rate = None;
        let control = Control::new();
        self.cancel.attach(&control);
        let _ = tokio::task::spawn_blocking(move || loadgen::run(&config, &control)).await;
        self.cancel.detach();
    }

    /// One connection level: load, with the server's cgroup sampled during
    /// the measured window, then a look at whether the server survived.
    pub(crate) async fn run_level(
        &self,
        plan: &Plan,
        run_id: &str,
        endpoint: &EndpointPlan,
        connections: usize,
        repeat: u32,
        server: &Server,
    ) -> Result<LevelRecord, Halt> {
        self.emit(Event::Step(&format!(
            "{}: {connections} connections, {} warm-up + {} measured",
            crate::workload(endpoint).request(),
            humantime::format_duration(plan.warmup),
            humantime::format_duration(plan.duration)
        )));
        let mut level = LevelRecord {
            endpoint: endpoint.name.clone(),
            method: endpoint.method.clone(),
            path: endpoint.path.clone(),
            connections,
            keepalive: endpoint.keepalive,
            protocol: endpoint.protocol,
            repeat,
            status: LevelStatus::Ok,
            failure: None,
            load: None,
            server: None,
            generator_cpu_pct: 0.0,
            generators: Vec::new(),
            profile: None,
        };
        let config = match server_target(server.addr, &endpoint.path, plan.server.tls) {
            Ok(target) => plan.load_config(endpoint, connections, target),
            Err(e) => return Ok(level.failed(Failure::new(FailureKind::Generator, e.to_string(), String::new()))),
        };
        let (outcome, usage) = self.measure(plan, run_id, config, server).await;
        level.server = usage;
        let result: LoadResult = match outcome {
            Ok((result, generators)) => {
                level.generators = generators;
                result
            }
            // A generator engine that stopped answering is no fault of the level's: the run ends.
            Err(GeneratorError::Docker(lost)) if lost.is_unreachable() => return Err(Halt::Fatal(lost.into())),
            Err(e) => return Ok(level.failed(Failure::new(FailureKind::Generator, e.to_string(), String::new()))),
        };
        level.generator_cpu_pct = match level.generators.iter().map(|g| g.cpu_pct).reduce(f64::max) {
            Some(busiest) => busiest,
            None => result.generator_cpu_pct(),
        };
        let state = match self.engine.state(&server.running.id).await {
            Ok(state) => state,
            // The load ran to its end: the level stands as measured, and the run ends once it is kept.
            Err(lost) if lost.is_unreachable() => {
                level.load = Some(result);
                return Err(Halt::Lost(Box::new(Measured::Level(level)), lost));
            }
            Err(e) => return Err(Halt::Fatal(e.into())),
        };
        let failure = if !state.running {
            Some(Failure::new(
                FailureKind::ServerExited,
                format!("the server exited during the level {}", exit_words(&state)),
                self.engine.logs_tail(&server.running.id, LOG_TAIL).await,
            ))
        } else if result.interrupted {
            Some(Failure::new(
                FailureKind::Interrupted,
                format!("interrupted after {:.1}s of the measured window", result.duration_s),
                String::new(),
            ))
        } else if result.requests == result.errors.status + result.errors.body {
            // Every response failed its check (or none came): nothing was measured that the scenario asked for.
            let mut errors: Vec<String> = result.errors.kinds().iter().map(|(n, what)| format!("{n} {what}")).collect();
            if errors.is_empty() {
                errors.push("no errors either".to_string());
            }
            if result.in_flight_at_end > 0 {
                errors.push(format!("{} requests still unanswered at its end", result.in_flight_at_end));
            }
            let errors = errors.join(", ");
            Some(Failure::new(
                FailureKind::NoResponses,
                format!("no valid responses in the measured window ({errors})"),
                self.engine.logs_tail(&server.running.id, LOG_TAIL).await,
            ))
        } else {
            None
        };
        if let Some(failure) = failure {
            // What the server's figures show beyond it (its memory limit, OOM kills, workers replaced) is said
            // beside it by `report::notes`, from the figures kept with the level.
            level = level.failed(failure);
        }
        level.load = Some(result);
        Ok(level)
    }

    /// Runs the load `config` (from this process, or from the generator
    /// containers) with the server's counters sampled through its measured window.
    pub(crate) async fn measure(
        &self,
        plan: &Plan,
        run_id: &str,
        config: Config,
        server: &Server,
    ) -> (Result<(LoadResult, Vec<GeneratorRecord>), GeneratorError>, Option<record::ServerUsage>) {
        let (stop_tx, stop_rx) = oneshot::channel();
        let mut sampling = None;
        let probe = sampler::Probe::of(&self.engine, &server.running);
        let watch = self.cpu_watch(plan, server);
        let warmup = config.warmup;
        let sample = |lead: Duration| probe.map(|p| sampler::spawn(p, watch, lead + warmup, stop_rx));
        let outcome = if self.generators.is_empty() {
            sampling = sample(Duration::ZERO);
            self.run_here(config).await
        } else {
            let on_start = |lead| sampling = sample(lead);
            let distributed = self.run_generators(plan, &config, run_id, on_start);
            distributed.await.map(|d| (d.merged, d.parts))
        };
        let _ = stop_tx.send(());
        let readings = match sampling {
            Some(task) => task.await.unwrap_or_default(),
            None => sampler::Readings::default(),
        };
        (outcome, sampler::summarize(&readings, plan.server.cpus, plan.server.memory))
    }

    /// What to read interference against: the run's CPUs when the server
    /// and the load both run here, the load in this process (generator
    /// containers' CPU is not told apart yet).
    fn cpu_watch(&self, plan: &Plan, server: &Server) -> Option<sampler::CpuWatch> {
        if !matches!(self.hosts, plan::Hosts::Shared(_)) || !self.generators.is_empty() || server.ours.is_empty() {
            return None;
        }
        let mut cpus = loadgen::parse_cpu_list(&plan.server_cpuset).ok()?;
        cpus.extend(&plan.generator_cpus);
        cpus.sort_unstable();
        cpus.dedup();
        Some(sampler::CpuWatch { cpus, ours: server.ours.clone() })
    }

    /// Runs `config` in this process, on a blocking thread; a cancel reaches it.
    async fn run_here(&self, config: Config) -> Result<(LoadResult, Vec<GeneratorRecord>), GeneratorError> {
        let control = Control::new();
        self.cancel.attach(&control);
        if let RunLength::Duration(d) = config.stop {
            self.emit(Event::Measuring { length: config.warmup + d, control: &control });
        }
        let outcome = tokio::task::spawn_blocking(move || loadgen::run(&config, &control))
            .await
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
        self.cancel.detach();
        outcome.map(|result| (result, Vec::new())).map_err(GeneratorError::Load)
    }
}

/// How a container that is no longer running ended: `(code 137) after running out of memory (OOM-killed)`.
pub(crate) fn exit_words(state: &docker::ContainerState) -> String {
    let cause = if state.oom_killed { " after running out of memory (OOM-killed)" } else { "" };
    format!("(code {}){cause}", state.exit_code.map_or("?".into(), |c| c.to_string()))
}
