//! Published figures beside ours: a reference (`references/*.toml`) is one published table of req/s per
//! stack at one workload and level. Absolute numbers depend on the hardware, so each is set beside ours
//! as ratios between stacks (each to the reference's first stack that we measured too), and each ratio is
//! judged against our interval: it agrees, or ours is higher or lower beyond our noise.
//!
//! Invariant: a difference is claimed only where our own interval supports it (with one run, by the
//! one-run rule of `stats::Interval::apart`: more than [`stats::ONE_RUN_FACTOR`] apart).

use serde::{Deserialize, Serialize};

use crate::model::{Group, Spread};

/// One published table, as its file says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub title: String,
    /// Where it was published: the citation a reader can follow.
    pub source: String,
    pub hardware: String,
    pub tool: String,
    pub settings: String,
    /// How their setting differs from ours, in words, so that a reader weighs a disagreement.
    #[serde(default)]
    pub differences: String,
    /// Where our figures for it are: the endpoint's name in our scenarios, and the level's connections.
    pub endpoint: String,
    pub connections: usize,
    /// Their table, in their order; the first that we measured is the others' denominator.
    pub figures: Vec<Published>,
}

/// One row of a published table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// Their name for it.
    pub label: String,
    /// Our stack for it (a report's stack name); absent when we have none like it.
    #[serde(default)]
    pub stack: Option<String>,
    /// Their req/s.
    pub rps: f64,
}

impl Reference {
    /// Parses one reference file's text (`name` says which file in an error).
    pub fn parse(name: &str, text: &str) -> Result<Reference, crate::Error> {
        let reference: Reference = toml::from_str(text).map_err(|e| crate::Error::Reference(format!("{name}: {e}")))?;
        if reference.figures.iter().any(|f| !(f.rps > 0.0 && f.rps.is_finite())) {
            return Err(crate::Error::Reference(format!("{name}: every figure's rps must be above 0")));
        }
        Ok(reference)
    }

    /// Every `*.toml` in `dir`, by file name; none when `dir` does not exist.
    pub fn read_dir(dir: &std::path::Path) -> Result<Vec<Reference>, crate::Error> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
        let mut paths: Vec<_> = entries
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let text =
                    std::fs::read_to_string(p).map_err(|e| crate::Error::Reference(format!("{}: {e}", p.display())))?;
                Reference::parse(&p.display().to_string(), &text)
            })
            .collect()
    }
}

/// How one of our ratios stands against theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agreement {
    /// Theirs lies within our interval (or, with one run, within the one-run factor of ours).
    Agrees,
    /// Ours is higher than theirs beyond our interval.
    OursHigher,
    /// Ours is lower than theirs beyond our interval.
    OursLower,
    /// We have no figure for it at this level.
    NotMeasured,
    /// The denominator: its ratio is 1 on both sides.
    Denominator,
}

impl Agreement {
    pub fn words(self) -> &'static str {
        match self {
            Agreement::Agrees => "agrees",
            Agreement::OursHigher => "ours higher beyond our interval",
            Agreement::OursLower => "ours lower beyond our interval",
            Agreement::NotMeasured => "not measured here",
            Agreement::Denominator => "the denominator",
        }
    }
}

/// One row of a reference set beside ours.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceRow {
    pub label: String,
    pub stack: Option<String>,
    pub theirs_rps: f64,
    /// Their req/s over their denominator's.
    pub theirs_ratio: f64,
    /// Our req/s at the level (median and interval over our runs).
    pub ours_rps: Option<Spread>,
    /// Our ratio and the interval it could be in: the low end of ours over the high end of the
    /// denominator's, and the other way round.
    pub ours_ratio: Option<(f64, f64, f64)>,
    /// Our ratio rests on one run on either side (no interval: the one-run rule judged it).
    pub one_run: bool,
    pub agreement: Agreement,
}

/// A reference set beside our figures.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceSection {
    pub reference: Reference,
    /// The label of the row every ratio is to; `None` when we measured none of its stacks.
    pub denominator: Option<String>,
    pub rows: Vec<ReferenceRow>,
}

impl ReferenceSection {
    /// What the section found, in one sentence.
    pub fn verdict(&self) -> String {
        let count = |a: Agreement| self.rows.iter().filter(|r| r.agreement == a).count();
        let judged = self.rows.iter().filter(|r| r.ours_ratio.is_some() && r.agreement != Agreement::Denominator);
        let one_run = judged.clone().filter(|r| r.one_run).count();
        match &self.denominator {
            None => "None of its stacks was measured here at this level.".into(),
            Some(d) => format!(
                "Ratios to {d}: agreeing with ours {}; ours higher beyond our interval {}; ours lower beyond it {}; not \
                 measured here {}.{}",
                count(Agreement::Agrees),
                count(Agreement::OursHigher),
                count(Agreement::OursLower),
                count(Agreement::NotMeasured),
                if one_run > 0 {
                    format!(
                        " Of ours, {one_run} rest on one run, judged only beyond {}x.",
                        stats::ONE_RUN_FACTOR
                    )
                } else {
                    String::new()
                }
            ),
        }
    }
}

/// Sets each reference beside the level tables' rows of its endpoint and level.
pub fn sections(references: &[Reference], groups: &[Group]) -> Vec<ReferenceSection> {
    references.iter().map(|r| section(r, groups)).collect()
}

fn section(reference: &Reference, groups: &[Group]) -> ReferenceSection {
    let rows_at = groups
        .iter()
        .find(|g| g.workload.endpoint == reference.endpoint && g.connections == reference.connections)
        .map(|g| g.rows.as_slice())
        .unwrap_or_default();
    let ours = |p: &Published| -> Option<Spread> {
        let stack = p.stack.as_deref()?;
        rows_at.iter().find(|r| r.stack == stack).map(|r| r.rps).filter(|s| s.median > 0.0)
    };
    let denominator = reference.figures.iter().find_map(|p| ours(p).map(|s| (p, s)));
    let rows = reference
        .figures
        .iter()
        .map(|p| {
            let ours_rps = ours(p);
            let (theirs_ratio, ours_ratio, one_run, agreement) = match (&denominator, &ours_rps) {
                (Some((d, _)), Some(_)) if std::ptr::eq(*d, p) => {
                    (1.0, Some((1.0, 1.0, 1.0)), false, Agreement::Denominator)
                }
                (Some((d, by)), Some(mine)) => {
                    let theirs = p.rps / d.rps;
                    let one_run = mine.runs < 2 || by.runs < 2;
                    let ratio = (mine.median / by.median, mine.lo / by.hi, mine.hi / by.lo);
                    (theirs, Some(ratio), one_run, judge(theirs, ratio, one_run))
                }
                (Some((d, _)), None) => (p.rps / d.rps, None, false, Agreement::NotMeasured),
                (None, _) => (0.0, None, false, Agreement::NotMeasured),
            };
            ReferenceRow {
                label: p.label.clone(),
                stack: p.stack.clone(),
                theirs_rps: p.rps,
                theirs_ratio,
                ours_rps,
                ours_ratio,
                one_run,
                agreement,
            }
        })
        .collect();
    ReferenceSection { reference: reference.clone(), denominator: denominator.map(|(d, _)| d.label.clone()), rows }
}

/// Theirs against our ratio `(median, lo, hi)`: within the interval, or with one run within the one-run factor.
fn judge(theirs: f64, (median, lo, hi): (f64, f64, f64), one_run: bool) -> Agreement {
    let (lo, hi) = if one_run { (median / stats::ONE_RUN_FACTOR, median * stats::ONE_RUN_FACTOR) } else { (lo, hi) };
    if theirs < lo {
        Agreement::OursHigher
    } else if theirs > hi {
        Agreement::OursLower
    } else {
        Agreement::Agrees
    }
}

/// The table's columns, and its cells (Markdown and HTML alike).
pub const HEADERS: [&str; 7] =
    ["theirs", "our stack", "their req/s", "their ratio", "our req/s", "our ratio (interval)", "agreement"];

/// A ratio to two significant figures at least: 0.62, 0.050, 0.00050.
fn ratio(r: f64) -> String {
    let decimals = if r >= 0.1 || r <= 0.0 { 2 } else { (1.0 - r.log10().floor()) as usize };
    format!("{r:.decimals$}")
}

pub fn cells(row: &ReferenceRow) -> Vec<String> {
    use crate::units::metric;
    let ours_rps =
        row.ours_rps.as_ref().map_or("-".into(), |s| crate::model::with_interval(metric(s.median), s, metric));
    let ours_ratio = match row.ours_ratio {
        None => "-".into(),
        Some(_) if row.agreement == Agreement::Denominator => "1".into(),
        Some((m, _, _)) if row.one_run => format!("{} (1 run)", ratio(m)),
        Some((m, lo, hi)) => format!("{} ({}-{})", ratio(m), ratio(lo), ratio(hi)),
    };
    vec![
        row.label.clone(),
        row.stack.clone().unwrap_or_else(|| "-".into()),
        metric(row.theirs_rps),
        if row.theirs_ratio > 0.0 { ratio(row.theirs_ratio) } else { "-".into() },
        ours_rps,
        ours_ratio,
        row.agreement.words().into(),
    ]
}

/// The section's heading line and the facts under it.
pub fn facts(section: &ReferenceSection) -> Vec<(&'static str, String)> {
    let r = &section.reference;
    let mut facts = vec![
        ("source", r.source.clone()),
        ("hardware", r.hardware.clone()),
        ("tool", r.tool.clone()),
        ("settings", r.settings.clone()),
        (
            "ours",
            format!(
                "peak req/s of endpoint `{}` at {} connections, this report's level tables",
                r.endpoint, r.connections
            ),
        ),
    ];
    if !r.differences.is_empty() {
        facts.push(("differences", r.differences.clone()));
    }
    facts
}
