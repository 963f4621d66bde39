//! What a suite will cost before it runs (`bench --plan`), and how much of it is left as it runs: per run,
//! its levels (their warm-up, length and pause, as the plan says), its capacity searches (the median time
//! of this stack's earlier searches of the same workload in the results folder, else a typical search at
//! these settings) and its start; and the images that are not built yet.
//!
//! Invariant: an estimate runs nothing and changes nothing; it reads the results folder and asks the engine
//! which images it has.

use std::collections::{BTreeMap, BTreeSet};

use plan::Plan;
use record::{RunRecord, Workload};
use scenario::Loaded;

use crate::{Error, Runner};

/// Probes of a typical search started from the levels' estimate (6 to 8 in the searches of 2026-12-05,
/// issue 29), each its warm-up and on average half its length (a fail is certain at once, a pass at three
/// quarters), back to back, then the hold at the levels' warm-up and length.
pub const TYPICAL_PROBES: u32 = 7;
/// Starting a stack: its sidecars, its server, the readiness wait, the endpoint checks and the primer.
pub const START_S: f64 = 15.0;
/// An image not built yet: a guess (a Python stack's pip install, a Go build), said as one.
pub const COLD_BUILD_S: f64 = 120.0;

/// One run of one stack.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCost {
    pub stack: String,
    pub endpoints: usize,
    pub levels: usize,
    pub searches: usize,
    /// Of the searches, those timed from earlier ones of this stack.
    pub searches_known: usize,
    pub seconds: f64,
}

/// A suite's cost: its runs (once each; `repeat` times over), and its builds.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteCost {
    pub runs: Vec<RunCost>,
    pub repeat: u32,
    /// Images the suite builds that the engine does not have yet.
    pub cold_images: Vec<String>,
    /// Of those, the distinct builds (context, Dockerfile and build arguments): variants that differ only in
    /// how they run share one build, and the others' are retags from its cache.
    pub cold_builds: usize,
    pub images: usize,
}

impl SuiteCost {
    /// Every run `repeat` times, and the cold builds.
    pub fn seconds(&self) -> f64 {
        let runs: f64 = self.runs.iter().map(|r| r.seconds).sum();
        runs * f64::from(self.repeat) + self.cold_builds as f64 * COLD_BUILD_S
    }
}

/// The median time of each stack's earlier capacity searches in the results folder `results`, by workload
/// (a file that does not read is passed over: it only makes the estimate rougher).
pub fn searched_times(results: &std::path::Path) -> BTreeMap<(String, Workload), f64> {
    let mut times: BTreeMap<(String, Workload), Vec<f64>> = BTreeMap::new();
    let files = record::folder::files(results).unwrap_or_default();
    for r in files.iter().filter_map(|p| RunRecord::read(p).ok()) {
        // Searches from before probes connected ahead of a short warm-up (2026-12-05: no `connect_s`) took
        // about twice as long: they would price today's wrong.
        let as_now = |c: &&record::CapacityRecord| c.capacity.probes.iter().any(|p| p.load.connect_s > 0.0);
        for c in r.capacities.iter().filter(|c| c.elapsed_s > 0.0).filter(as_now) {
            times.entry((r.scenario.name.clone(), c.workload())).or_default().push(c.elapsed_s);
        }
    }
    times.into_iter().filter_map(|(k, v)| Some((k, stats::median(&v)?))).collect()
}

/// One run of `plan`: its levels when `sweep`, its searches when `capacity`.
pub fn run_cost(plan: &Plan, sweep: bool, capacity: bool, searched: &BTreeMap<(String, Workload), f64>) -> RunCost {
    let level_s = (plan.warmup + plan.duration + plan.pause).as_secs_f64();
    let search = loadgen::capacity::SearchOptions::default();
    let probe_warmup = search.probe_warmup_for(plan.warmup);
    let typical_search_s = f64::from(TYPICAL_PROBES) * (probe_warmup + search.probe / 2).as_secs_f64() + level_s;
    let mut cost = RunCost {
        stack: plan.name.clone(),
        endpoints: plan.endpoints.len(),
        levels: 0,
        searches: 0,
        searches_known: 0,
        seconds: START_S,
    };
    for e in &plan.endpoints {
        if sweep {
            cost.levels += e.connections.len();
            cost.seconds += level_s * e.connections.len() as f64;
        }
        if capacity && plan.searched_objectives(e).is_some() {
            cost.searches += 1;
            let workload = crate::workload(e);
            match searched.get(&(plan.name.clone(), workload)) {
                Some(s) => {
                    cost.searches_known += 1;
                    cost.seconds += s;
                }
                None => cost.seconds += typical_search_s,
            }
        }
    }
    cost
}

/// Seconds as a person reads them: `45 s`, `12 min`, `1 h 35 min`.
pub fn words(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..=89 => format!("{s} s"),
        90..=3599 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600 + 30) / 60),
    }
}

impl Runner<'_> {
    /// What `run_suite(loaded, repeat)` would cost, from the results folder's earlier runs and the engine's
    /// images; nothing runs.
    pub async fn estimate(&self, loaded: &[Loaded], repeat: u32) -> Result<SuiteCost, Error> {
        let searched = searched_times(&self.options.results);
        let mut runs = Vec::new();
        // Image tag -> what builds it.
        let mut images = BTreeMap::new();
        for l in loaded {
            let plan = Plan::new(l, &self.options.choices, self.hosts())?;
            for s in plan.sidecars.iter().chain(std::iter::once(&plan.server)) {
                images.insert(s.tag.clone(), (s.context.clone(), s.dockerfile.clone(), s.build_args.clone()));
            }
            runs.push(run_cost(&plan, self.options.sweep, self.options.capacity, &searched));
        }
        let mut cold_images = Vec::new();
        let mut cold_builds = BTreeSet::new();
        for (image, build) in &images {
            if !self.engine.has_image(image).await {
                cold_images.push(image.clone());
                cold_builds.insert(build);
            }
        }
        Ok(SuiteCost { runs, repeat, cold_builds: cold_builds.len(), cold_images, images: images.len() })
    }
}

/// The suite's time left when `done` of its runs (in order: each round of `runs`, `repeat` rounds) have
/// finished.
pub fn left(runs: &[f64], repeat: u32, done: usize) -> f64 {
    (0..repeat as usize).flat_map(|_| runs.iter()).skip(done).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn plan() -> Plan {
        let text = r#"
name = "est"
[server]
build = "ctx"
cpus = 1
memory = "256m"
[workload]
duration = "3s"
warmup = "2s"
connections = [10, 100]
[[workload.endpoints]]
name = "health"
path = "/health"
slo = { p99 = "20ms" }
[[workload.endpoints]]
name = "plain"
path = "/"
"#;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ctx")).unwrap();
        std::fs::write(dir.path().join("ctx/Dockerfile"), "FROM scratch\n").unwrap();
        let loaded = scenario::parse(&dir.path().join("est.toml"), text, dir.path()).unwrap();
        let machine = plan::Machine { n_cpus: 2, cpu_model: "test".into(), kernel: "test".into(), open_files: 65536 };
        Plan::new(&loaded, &plan::Choices::default(), &plan::Hosts::Shared(machine)).unwrap()
    }

    #[test]
    fn a_run_costs_its_levels_its_searches_and_its_start() {
        let plan = plan();
        let level_s = (plan.warmup + plan.duration + plan.pause).as_secs_f64();
        let search_s = f64::from(TYPICAL_PROBES) * Duration::from_millis(500 + 1500).as_secs_f64() + level_s;
        let cost = run_cost(&plan, true, true, &BTreeMap::new());
        assert_eq!((cost.endpoints, cost.levels, cost.searches, cost.searches_known), (2, 4, 1, 0));
        assert!((cost.seconds - (START_S + 4.0 * level_s + search_s)).abs() < 1e-9, "{cost:?}");
        // A search timed before costs what it took then; no sweep, no levels.
        let workload = Workload::new("health", "GET", "/health", true);
        let known = BTreeMap::from([(("est".to_string(), workload), 20.0)]);
        let cost = run_cost(&plan, false, true, &known);
        assert_eq!((cost.levels, cost.searches_known), (0, 1));
        assert!((cost.seconds - (START_S + 20.0)).abs() < 1e-9, "{cost:?}");
    }

    #[test]
    fn the_time_left_counts_the_runs_not_done_over_every_round() {
        assert_eq!(left(&[10.0, 20.0], 3, 0), 90.0);
        assert_eq!(left(&[10.0, 20.0], 3, 3), 50.0); // round 2's second run, then round 3
        assert_eq!(left(&[10.0, 20.0], 3, 6), 0.0);
    }

    #[test]
    fn seconds_in_words() {
        assert_eq!(words(45.0), "45 s");
        assert_eq!(words(720.0), "12 min");
        assert_eq!(words(5700.0), "1 h 35 min");
    }
}
