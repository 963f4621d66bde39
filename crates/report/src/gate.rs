//! The regression gate (`stackbench bench --baseline RESULTS --fail-on
//! regression`): each figure of a run (capacity at the objectives, req/s and
//! p99 at each level) against the same figure of a baseline run. A figure is
//! worse only when its 95% interval over repeats lies wholly on the worse side
//! of the baseline's (`stats::Interval`); with fewer than [`MIN_REPEATS`] on a
//! side it is not judged. Unpaired (the two ran at different times), so a drift
//! of the machine between them counts as a change: `stackbench compare` pairs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use record::{At, LevelStatus, RunRecord};

use crate::units::{metric, time_us};

/// Said with every stored-baseline comparison: what it cannot see, and what does.
pub const UNPAIRED: &str = "the baseline ran at another time, so a drift of this machine's speed between the two \
runs reads as a change (on a shared VM the same level has read 2x apart within an hour), and a change smaller than \
the runs' spread goes unseen; `stackbench compare` runs both at once and alternates the load between them in short \
windows, and `cargo xtask bench-gate` (in stackbench's checkout) measures both gates on a machine";

/// Runs each side needs for a figure to be judged: with two, Student's t interval is so wide (the
/// mean ± 6.4 times the runs' distance) that almost nothing can be judged.
pub const MIN_REPEATS: usize = 3;

/// Which figure, and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measure {
    /// The highest offered rate held within the objectives (higher is better).
    Capacity,
    /// Completed requests per second at a level (higher is better).
    Rps,
    /// The 99th percentile latency at a level (lower is better).
    P99,
}

impl Measure {
    fn higher_is_better(self) -> bool {
        !matches!(self, Measure::P99)
    }

    fn name(self) -> &'static str {
        match self {
            Measure::Capacity => "capacity",
            Measure::Rps => "req/s",
            Measure::P99 => "p99",
        }
    }

    fn format(self, x: f64) -> String {
        match self {
            Measure::P99 => time_us(x),
            Measure::Capacity | Measure::Rps => metric(x),
        }
    }
}

/// One figure's repeats on one side: each run's value, and the interval it is
/// known within (a capacity search's: from the rate it held to the lowest it
/// failed; a level's: the value itself). `None`: the run measured nothing
/// (the level failed, or the search found no capacity).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    pub runs: Vec<Option<(f64, f64, f64)>>,
}

/// A figure's repeats on one side, summed up: what [`judge`] compares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    /// The 95% interval of the median (widened to what each run is known within).
    pub lo: f64,
    pub hi: f64,
    pub runs: usize,
}

/// The one rule of "changed beyond the noise" between two unpaired sets of runs, for the gate and the
/// report's baseline column: `now` is worse (better) than `then` when its interval lies wholly on the
/// worse (better) side of `then`'s; with fewer than [`MIN_REPEATS`] runs on a side it is not judged.
pub fn judge(higher_is_better: bool, then: Summary, now: Summary) -> Judgement {
    if then.runs < MIN_REPEATS || now.runs < MIN_REPEATS {
        return Judgement::NoRepeats;
    }
    let (now_above, now_below) = (now.lo > then.hi, now.hi < then.lo);
    match (now_above, now_below, higher_is_better) {
        (true, _, false) | (_, true, true) => Judgement::Regression,
        (true, _, true) | (_, true, false) => Judgement::Improvement,
        _ => Judgement::WithinNoise,
    }
}

impl Side {
    /// `None` when no run measured the figure.
    fn summary(&self) -> Option<Summary> {
        let interval = stats::Interval::of(&self.values())?;
        let lo = self.runs.iter().flatten().map(|(_, lo, _)| *lo).fold(interval.lo, f64::min);
        let hi = self.runs.iter().flatten().map(|(_, _, hi)| *hi).fold(interval.hi, f64::max);
        Some(Summary { median: interval.median, lo, hi, runs: self.runs.len() })
    }

    fn values(&self) -> Vec<f64> {
        self.runs.iter().flatten().map(|(v, _, _)| *v).collect()
    }

    fn median(&self) -> Option<f64> {
        stats::median(&self.values())
    }

    fn failed(&self) -> bool {
        self.runs.iter().any(Option::is_none)
    }

    fn describe(&self, measure: Measure) -> String {
        let Some(Summary { median, lo, hi, .. }) = self.summary() else {
            return format!("not measured ({} runs)", self.runs.len());
        };
        let failed = self.runs.len() - self.values().len();
        let failed = if failed > 0 { format!(", {failed} failed") } else { String::new() };
        match self.runs.len() {
            1 => format!("{} (1 run{failed})", measure.format(median)),
            n => {
                format!("{} ({}-{}, {n} runs{failed})", measure.format(median), measure.format(lo), measure.format(hi))
            }
        }
    }
}

/// What the gate says of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Its interval wholly on the worse side of the baseline's, or failed
    /// where the baseline measured.
    Regression,
    /// Its interval wholly on the better side of the baseline's.
    Improvement,
    /// The two intervals overlap.
    WithinNoise,
    /// A side has fewer than [`MIN_REPEATS`] runs: its noise is not known well enough.
    NoRepeats,
}

/// One figure of one stack on both sides.
#[derive(Debug, Clone)]
pub struct Compared {
    pub stack: String,
    /// The workload and level: `GET /health, 10 connections`, or `GET /health` for a capacity.
    pub what: String,
    pub measure: Measure,
    pub baseline: Side,
    pub now: Side,
}

impl Compared {
    pub fn judgement(&self) -> Judgement {
        // A failure where the baseline measured needs no interval to tell.
        if self.now.failed() && !self.baseline.failed() {
            return Judgement::Regression;
        }
        match (self.baseline.summary(), self.now.summary()) {
            (Some(then), Some(now)) => judge(self.measure.higher_is_better(), then, now),
            // Neither measured it.
            _ if self.baseline.runs.len() < MIN_REPEATS || self.now.runs.len() < MIN_REPEATS => Judgement::NoRepeats,
            _ => Judgement::WithinNoise,
        }
    }

    fn change_pct(&self) -> Option<f64> {
        let (then, now) = (self.baseline.median()?, self.now.median()?);
        (then > 0.0).then(|| (now / then - 1.0) * 100.0)
    }
}

/// Every figure the two runs share, and what only one of them has.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    pub figures: Vec<Compared>,
    /// Stacks and workloads measured on one side only.
    pub unmatched: Vec<String>,
    /// When the two sides ran on different CPU models, the models in words: then no figure is judged.
    pub other_hardware: Option<String>,
}

type Key = (String, String, Measure);

/// Each figure of `records`, by stack, workload and level, one entry per run.
fn figures(records: &[&RunRecord]) -> BTreeMap<Key, Side> {
    let mut out: BTreeMap<Key, Side> = BTreeMap::new();
    for record in records {
        let stack = record.scenario.name.clone();
        for level in &record.levels {
            let what = format!("{}, {}", level.workload(), At::Connections(level.connections));
            let load = level.load.as_ref().filter(|_| level.status == LevelStatus::Ok);
            let rps = load.map(|l| (l.rps, l.rps, l.rps));
            let p99 = load.map(|l| l.latency_us.p99 as f64).map(|p| (p, p, p));
            out.entry((stack.clone(), what.clone(), Measure::Rps)).or_default().runs.push(rps);
            out.entry((stack.clone(), what, Measure::P99)).or_default().runs.push(p99);
        }
        for search in &record.capacities {
            let what = format!("{} at {}", search.workload(), crate::units::objectives(&search.capacity.slo));
            let found = search.capacity.capacity_rps.map(|c| (c, c, c.max(search.capacity.bracket.1)));
            out.entry((stack.clone(), what, Measure::Capacity)).or_default().runs.push(found);
        }
    }
    out
}

/// `now`'s figures against `baseline`'s.
/// What the gate says of a comparison as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No figure regressed, and every one was judged.
    Passed,
    /// This many figures regressed.
    Regressed(usize),
    /// None regressed, but some could not be judged (too few repeats), or there was nothing to compare.
    NotJudged,
}

/// The runs of a baseline: a folder's latest suite of each stack, or the one results file given. With
/// `judging` (`--fail-on regression`), runs with fewer than [`MIN_REPEATS`] repeats are refused before
/// anything runs.
pub fn read_baseline(path: &std::path::Path, judging: bool) -> Result<Vec<RunRecord>, crate::Error> {
    let selection = if path.is_dir() { crate::Selection::Latest } else { crate::Selection::Paths(vec![path.into()]) };
    let records: Vec<RunRecord> = match crate::select(path, &selection, path) {
        Ok(records) => records.into_iter().map(|(_, r)| r).collect(),
        Err(crate::Error::Empty(_)) => {
            return Err(crate::Error::Baseline(format!(
                "--baseline {}: no results there (a results folder, or a results file)",
                path.display()
            )))
        }
        Err(e) => return Err(e),
    };
    let most = records.iter().map(|r| r.repeat as usize).max().unwrap_or(1);
    if judging && most < MIN_REPEATS {
        return Err(crate::Error::Baseline(format!(
            "--baseline {}: its runs have {most} repeat(s), too few to know their noise, so --fail-on regression \
             cannot judge; run the baseline with --repeat {MIN_REPEATS} or more",
            path.display()
        )));
    }
    Ok(records)
}

pub fn compare(baseline: &[&RunRecord], now: &[&RunRecord]) -> Gate {
    let mut then = figures(baseline);
    let mut gate = Gate::default();
    let models = |records: &[&RunRecord]| {
        let mut models: Vec<String> = records.iter().map(|r| r.provenance.cpu_model.clone()).collect();
        models.sort();
        models.dedup();
        models
    };
    let (before, after) = (models(baseline), models(now));
    if before != after {
        // As the report never pools two CPU models (`crate::machine`), the gate never compares them.
        gate.other_hardware = Some(format!(
            "the baseline ran on {}, this run on {}: another CPU changes every figure at once, so no figure is \
             judged (measure both on one machine: `stackbench compare` runs them side by side)",
            before.join(" and "),
            after.join(" and ")
        ));
    }
    for ((stack, what, measure), side) in figures(now) {
        match then.remove(&(stack.clone(), what.clone(), measure)) {
            Some(baseline) => gate.figures.push(Compared { stack, what, measure, baseline, now: side }),
            None if measure != Measure::P99 => gate.unmatched.push(format!("{stack}: {what} (not in the baseline)")),
            None => {}
        }
    }
    for (stack, what, measure) in then.into_keys() {
        if measure != Measure::P99 {
            gate.unmatched.push(format!("{stack}: {what} (only in the baseline)"));
        }
    }
    gate
}

impl Gate {
    pub fn regressions(&self) -> usize {
        self.figures.iter().filter(|f| f.judgement() == Judgement::Regression).count()
    }

    /// The figures whose noise is not known on some side.
    /// Regressed when a figure did; else not judged when one could not be, or none was compared.
    pub fn outcome(&self) -> Outcome {
        if self.other_hardware.is_some() {
            return Outcome::NotJudged;
        }
        match self.regressions() {
            0 if self.without_repeats() > 0 || self.figures.is_empty() => Outcome::NotJudged,
            0 => Outcome::Passed,
            n => Outcome::Regressed(n),
        }
    }

    pub fn without_repeats(&self) -> usize {
        self.figures.iter().filter(|f| f.judgement() == Judgement::NoRepeats).count()
    }

    /// The comparison as Markdown, for a pull request's comment.
    pub fn markdown(&self) -> String {
        let mut md = String::from("## stackbench: this run against the baseline\n\n");
        let regressions = self.regressions();
        let unjudged = self.without_repeats();
        let verdict = match (regressions, unjudged) {
            _ if self.other_hardware.is_some() => {
                format!("**Not judged**: {}.", self.other_hardware.as_deref().unwrap_or_default())
            }
            (0, 0) if self.figures.is_empty() => "**Nothing to compare**: the runs share no stack and workload.".into(),
            (0, 0) => format!("**No regression** in {} figure(s).", self.figures.len()),
            (0, n) => format!(
                "**Not judged**: {n} of {} figure(s) have fewer than {MIN_REPEATS} runs on a side, so their \
                 noise is not known (run both with `--repeat {MIN_REPEATS}` or more).",
                self.figures.len()
            ),
            (r, _) => format!("**{r} regression(s)** in {} figure(s).", self.figures.len()),
        };
        let _ = writeln!(md, "{verdict} A figure regresses when its 95% interval over repeats (for a capacity, widened to the search's step) lies wholly on the worse side of the baseline's, or it fails where the baseline measured. The two sides ran at different times, so a drift of the machine between them reads as a change; `stackbench compare` measures both in alternating windows instead.\n");
        if !self.figures.is_empty() {
            md.push_str("| stack | workload | figure | baseline | this run | change | |\n");
            md.push_str("|---|---|---|--:|--:|--:|---|\n");
            let mut rows: Vec<&Compared> = self.figures.iter().collect();
            rows.sort_by_key(|f| (f.judgement() != Judgement::Regression, f.stack.clone(), f.measure, f.what.clone()));
            for f in rows {
                let change = f.change_pct().map_or("-".into(), |c| format!("{c:+.1}%"));
                let judged = match f.judgement() {
                    _ if self.other_hardware.is_some() => "not judged (another CPU)",
                    Judgement::Regression => "**regression**",
                    Judgement::Improvement => "improvement",
                    Judgement::WithinNoise => "within noise",
                    Judgement::NoRepeats => "not judged (too few runs)",
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {change} | {judged} |",
                    f.stack,
                    f.what,
                    f.measure.name(),
                    f.baseline.describe(f.measure),
                    f.now.describe(f.measure)
                );
            }
        }
        if !self.unmatched.is_empty() {
            md.push_str("\nNot compared:\n\n");
            for line in &self.unmatched {
                let _ = writeln!(md, "- {line}");
            }
        }
        md
    }
}
