//! Figures across commits: when a stack's results span several commits of its project (each record's
//! `provenance.git_commit`), each headline figure (capacity per workload; p99 and CPU per request at each
//! level) against commit order, one point per commit with its interval over that commit's runs, and a mark
//! where it changed.
//!
//! The change rule is the one every comparison of stored results uses, `stats::Interval::apart`: two
//! neighbouring commits' 95% intervals do not overlap (with one run on either side, their medians are more
//! than `stats::ONE_RUN_FACTOR` apart). `cargo xtask bench-gate` calibrates it as the stored-baseline gate:
//! no false alarm in its A/A runs, but it misses most changes of 3-5% (ARCHITECTURE.md); a mark is a change
//! beyond the noise, and no mark is not proof of none.

use std::collections::BTreeMap;

use record::{RunRecord, Workload};
use serde::Serialize;

use crate::model::Spread;

/// A headline figure followed across commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// Capacity at the objectives (req/s; higher is better).
    Capacity,
    /// p99 at a level (µs; lower is better).
    P99 { connections: usize },
    /// Server CPU per request at a level (µs; lower is better).
    CpuPerRequest { connections: usize },
}

impl Figure {
    pub fn higher_is_better(self) -> bool {
        self == Figure::Capacity
    }

    /// How its values are written: req/s, or a time.
    pub fn unit(self) -> fn(f64) -> String {
        match self {
            Figure::Capacity => crate::units::metric,
            Figure::P99 { .. } | Figure::CpuPerRequest { .. } => crate::units::time_us,
        }
    }

    pub fn name(self) -> String {
        match self {
            Figure::Capacity => "capacity".into(),
            Figure::P99 { connections } => format!("p99 at {connections} connections"),
            Figure::CpuPerRequest { connections } => format!("CPU/req at {connections} connections"),
        }
    }
}

/// One commit's value of a figure.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// The commit (12 characters), and when its first run started.
    pub commit: String,
    pub first_run: String,
    pub value: Spread,
}

/// A figure of a stack's workload across commits, in commit order.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub stack: String,
    pub workload: Workload,
    pub figure: Figure,
    pub points: Vec<Point>,
    /// The points (index) whose value is told apart from the one before: changes beyond the noise.
    pub changes: Vec<usize>,
}

impl History {
    /// A change at `points[i]` in words: `capacity 1.20k -> 1.50k req/s (+25%), better, at abc123`.
    pub fn change_words(&self, i: usize) -> String {
        let (before, after) = (&self.points[i - 1], &self.points[i]);
        let unit = |v: f64| match self.figure {
            Figure::Capacity => format!("{} req/s", crate::units::metric(v)),
            _ => self.figure.unit()(v),
        };
        let ratio = after.value.median / before.value.median;
        let better = (ratio > 1.0) == self.figure.higher_is_better();
        format!(
            "{} {} -> {} ({:+.0}%, {}) at {}",
            self.figure.name(),
            unit(before.value.median),
            unit(after.value.median),
            (ratio - 1.0) * 100.0,
            if better { "better" } else { "worse" },
            after.commit
        )
    }
}

/// Each stack's figures across the commits its records span; none for a stack measured at one commit.
pub fn build(records: &[&RunRecord]) -> Vec<History> {
    // (stack, workload, figure) -> commit -> (first run, values)
    type Values = BTreeMap<String, (String, Vec<f64>)>;
    let mut series: BTreeMap<(String, Workload, Figure), Values> = BTreeMap::new();
    for r in records {
        let Some(commit) = r.provenance.git_commit.as_deref() else { continue };
        let commit = commit[..commit.len().min(12)].to_string();
        let mut add = |workload: Workload, figure: Figure, value: Option<f64>| {
            let Some(value) = value.filter(|v| *v > 0.0 && v.is_finite()) else { return };
            let entry = series
                .entry((r.scenario.name.clone(), workload, figure))
                .or_default()
                .entry(commit.clone())
                .or_insert_with(|| (r.started_at.clone(), Vec::new()));
            entry.0 = entry.0.clone().min(r.started_at.clone());
            entry.1.push(value);
        };
        for c in &r.capacities {
            add(c.workload(), Figure::Capacity, c.capacity.capacity_rps);
        }
        for l in &r.levels {
            let Some(load) = &l.load else { continue };
            let connections = l.connections;
            add(l.workload(), Figure::P99 { connections }, Some(load.latency_us.p99 as f64));
            let cpu = l.server.as_ref().and_then(|u| u.cpu_us_per_request(load.requests as f64, load.duration_s));
            add(l.workload(), Figure::CpuPerRequest { connections }, cpu);
        }
    }
    series
        .into_iter()
        .filter(|(_, by_commit)| by_commit.len() > 1)
        .map(|((stack, workload, figure), by_commit)| {
            let mut points: Vec<Point> = by_commit
                .into_iter()
                .map(|(commit, (first_run, values))| Point { commit, first_run, value: Spread::of(&values) })
                .collect();
            points.sort_by(|a, b| a.first_run.cmp(&b.first_run).then_with(|| a.commit.cmp(&b.commit)));
            let changes = (1..points.len()).filter(|&i| points[i].value.apart(&points[i - 1].value)).collect();
            History { stack, workload, figure, points, changes }
        })
        .collect()
}

/// What the section on changes across commits says before its list.
pub const INTRO: &str = "Each stack's headline figures (capacity; p99 and CPU per request at each level) at each commit \
of its project the results hold (runs on the report's CPU model only), in the order the commits were first measured; a change is marked where two neighbouring \
commits' 95% intervals do not overlap (with one run on either side, where their medians are more than 2x apart), the \
rule of the stored-baseline gate. A mark is a change beyond the noise; no mark is not proof of none (that rule misses \
most changes of a few percent: `stackbench compare` pairs two commits).";

/// Every marked change, one line each: `stack, workload: change`.
pub fn change_lines(history: &[History]) -> Vec<String> {
    history
        .iter()
        .flat_map(|h| h.changes.iter().map(move |&i| format!("{}, {}: {}", h.stack, h.workload, h.change_words(i))))
        .collect()
}

/// A stack's workload across commits as a table: a row per commit, a column per figure (its value with the
/// interval, marked where it changed).
pub fn table(history: &[&History]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut commits: Vec<(&str, &str)> =
        history.iter().flat_map(|h| h.points.iter().map(|p| (p.first_run.as_str(), p.commit.as_str()))).collect();
    commits.sort();
    commits.dedup_by(|a, b| a.1 == b.1);
    let mut headers = vec!["commit".to_string(), "first run".to_string()];
    headers.extend(history.iter().map(|h| h.figure.name()));
    let rows = commits
        .iter()
        .map(|(first, commit)| {
            let mut row = vec![commit.to_string(), first.to_string()];
            for h in history {
                let cell = h.points.iter().position(|p| p.commit == *commit).map_or("-".to_string(), |i| {
                    let v = &h.points[i].value;
                    let unit = h.figure.unit();
                    let shown = crate::model::with_interval(unit(v.median), v, unit);
                    if h.changes.contains(&i) {
                        let up = v.median > h.points[i - 1].value.median;
                        let better = up == h.figure.higher_is_better();
                        format!(
                            "{shown} {} changed ({})",
                            if up { "\u{25B2}" } else { "\u{25BC}" },
                            if better { "better" } else { "worse" }
                        )
                    } else {
                        shown
                    }
                });
                row.push(cell);
            }
            row
        })
        .collect();
    (headers, rows)
}
