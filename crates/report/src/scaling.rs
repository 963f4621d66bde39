//! How stacks scale: per workload, each family of matrix variants against the
//! numeric key it varies (a CPU budget, workers, processes), and the best stack
//! per CPU budget.
//!
//! Invariant: like the summary, it picks from the summary's rows (the figure its
//! ranking and bars use: capacity where searched, else peak req/s) and computes
//! nothing but req/s per CPU of the limit.

use std::collections::BTreeMap;

use record::Workload;
use serde::Serialize;

use crate::summary::{SummaryGroup, SummaryRow};

/// What the records say about a stack: its scenario, its matrix values and its CPU limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackOf {
    pub family: String,
    pub matrix: BTreeMap<String, String>,
    pub cpus: f64,
}

/// One family's variants on one workload against the key they vary.
#[derive(Debug, Clone, Serialize)]
pub struct Scaling {
    /// The endpoint's request (`GET /health (health)`).
    #[serde(flatten)]
    pub workload: Workload,
    pub family: String,
    /// The matrix key on the x axis: `cpus` when it varies, else the first numeric key that does.
    pub key: String,
    /// One line per combination of the family's other values, in order.
    pub series: Vec<ScalingSeries>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScalingSeries {
    /// The other keys' values (`python=3.13, worker=gevent`); the family's name when there are none.
    pub label: String,
    /// By the key's value, ascending.
    pub points: Vec<ScalingPoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScalingPoint {
    pub x: f64,
    pub stack: String,
    /// The summary's figure for the stack: capacity, its lower bound, or peak req/s.
    pub rps: f64,
    pub kind: Figure,
    /// `rps` per CPU of the server's limit.
    pub per_cpu: f64,
}

/// Which of the summary's figures a point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    Capacity,
    AtLeast,
    Peak,
}

impl Figure {
    fn of(row: &SummaryRow) -> Figure {
        match &row.capacity {
            Some(c) if c.capacity_rps.is_some() => Figure::Capacity,
            Some(c) if c.at_least_rps > 0.0 => Figure::AtLeast,
            _ => Figure::Peak,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Figure::Capacity => "capacity",
            Figure::AtLeast => "capacity at least",
            Figure::Peak => "peak",
        }
    }
}

/// One workload's best stack at each CPU budget, when its stacks ran at more than one.
#[derive(Debug, Clone, Serialize)]
pub struct BestPerBudget {
    /// The endpoint's request (`GET /health (health)`).
    #[serde(flatten)]
    pub workload: Workload,
    /// (CPU limit, the best stack there, its figure), fewest CPUs first.
    pub budgets: Vec<(f64, String, f64, Figure)>,
}

impl BestPerBudget {
    /// The line the report prints.
    pub fn line(&self) -> String {
        let parts: Vec<String> = self
            .budgets
            .iter()
            .map(|(cpus, stack, rps, kind)| {
                format!("{cpus} CPU: {stack}, {} {} req/s", kind.label(), crate::units::metric(*rps))
            })
            .collect();
        format!("Best per CPU budget: {}.", parts.join("; "))
    }
}

/// The scaling of every family that varies a numeric key, and the best stack
/// per CPU budget, of each workload of `summary`.
pub fn build(summary: &[SummaryGroup], stacks: &BTreeMap<String, StackOf>) -> (Vec<Scaling>, Vec<BestPerBudget>) {
    let mut scalings = Vec::new();
    let mut best = Vec::new();
    for group in summary {
        let rows: Vec<(&SummaryRow, &StackOf)> =
            group.rows.iter().filter(|r| r.bar() > 0.0).filter_map(|r| Some((r, stacks.get(&r.stack)?))).collect();
        let mut families: BTreeMap<&str, Vec<(&SummaryRow, &StackOf)>> = BTreeMap::new();
        for &(row, of) in &rows {
            families.entry(of.family.as_str()).or_default().push((row, of));
        }
        for (family, members) in families {
            let Some(key) = varying_key(&members) else { continue };
            let mut series: Vec<Line> = Vec::new();
            for (row, of) in members {
                let others: Vec<(&String, &String)> = of.matrix.iter().filter(|(k, _)| **k != key).collect();
                let at = match series.iter().position(|(o, _)| *o == others) {
                    Some(at) => at,
                    None => {
                        series.push((others, Vec::new()));
                        series.len() - 1
                    }
                };
                let x = of.matrix[&key].parse::<f64>().expect("a numeric key");
                series[at].1.push(ScalingPoint {
                    x,
                    stack: row.stack.clone(),
                    rps: row.bar(),
                    kind: Figure::of(row),
                    per_cpu: row.bar() / of.cpus,
                });
            }
            series.sort_by(|a, b| by_values(&a.0, &b.0));
            let series = series
                .into_iter()
                .map(|(others, mut points)| {
                    points.sort_by(|a, b| a.x.total_cmp(&b.x));
                    let label: Vec<String> = others.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let label = if label.is_empty() { family.to_string() } else { label.join(", ") };
                    ScalingSeries { label, points }
                })
                .collect();
            scalings.push(Scaling { workload: group.workload.clone(), family: family.to_string(), key, series });
        }
        // The summary ranks its rows: the first at each budget is that budget's best.
        let mut budgets: Vec<(f64, String, f64, Figure)> = Vec::new();
        for &(row, of) in &rows {
            if !budgets.iter().any(|(cpus, ..)| *cpus == of.cpus) {
                budgets.push((of.cpus, row.stack.clone(), row.bar(), Figure::of(row)));
            }
        }
        if budgets.len() > 1 {
            budgets.sort_by(|a, b| a.0.total_cmp(&b.0));
            best.push(BestPerBudget { workload: group.workload.clone(), budgets });
        }
    }
    (scalings, best)
}

/// A line being drawn: the family's other values, and its points.
type Line<'a> = (Vec<(&'a String, &'a String)>, Vec<ScalingPoint>);

/// The key a family's members vary with numeric values: `cpus` when it does;
/// else the one that draws the most lines of two points or more, then the one
/// with the most values (a version such as `python` draws few), then by name.
fn varying_key(members: &[(&SummaryRow, &StackOf)]) -> Option<String> {
    let keys: Vec<&String> = members.first()?.1.matrix.keys().collect();
    let numbers = |key: &str| -> Option<Vec<f64>> {
        members.iter().map(|(_, of)| of.matrix.get(key).and_then(|v| v.parse::<f64>().ok())).collect()
    };
    // (lines of two points or more, distinct values) for a numeric key that varies.
    let reach = |key: &str| -> Option<(usize, usize)> {
        let xs = numbers(key)?;
        let mut distinct = xs.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() < 2 {
            return None;
        }
        let mut lines: BTreeMap<Vec<(&String, &String)>, usize> = BTreeMap::new();
        for (_, of) in members {
            *lines.entry(of.matrix.iter().filter(|(k, _)| k.as_str() != key).collect()).or_default() += 1;
        }
        Some((lines.values().filter(|n| **n >= 2).count(), distinct.len()))
    };
    if keys.iter().any(|k| k.as_str() == "cpus") && reach("cpus").is_some() {
        return Some("cpus".to_string());
    }
    let mut best: Option<(&String, (usize, usize))> = None;
    for key in keys {
        if let Some(r) = reach(key) {
            if best.is_none_or(|(_, b)| r > b) {
                best = Some((key, r));
            }
        }
    }
    best.map(|(k, _)| k.clone())
}

/// Two series' other values, each compared as numbers when both are.
fn by_values(a: &[(&String, &String)], b: &[(&String, &String)]) -> std::cmp::Ordering {
    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
        let order = ka.cmp(kb).then_with(|| match (va.parse::<f64>(), vb.parse::<f64>()) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            _ => va.cmp(vb),
        });
        if order.is_ne() {
            return order;
        }
    }
    a.len().cmp(&b.len())
}
