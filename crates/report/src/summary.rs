//! The answer first: per workload, one row per stack with its capacity at the
//! objectives and its best level, ranked.
//!
//! Invariant: a summary row holds nothing the detailed tables do not; it
//! picks among their rows (the level with the most req/s) and capacities.

use std::collections::BTreeMap;

use record::Workload;
use serde::Serialize;

use crate::model::{by_rank, CapacityGroup, CapacityRow, Group, Row, Spread, Verdict};

/// One workload (endpoint, method, path, keep-alive) across stacks, best first.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryGroup {
    /// The endpoint's request (`GET /health (health)`).
    #[serde(flatten)]
    pub workload: Workload,
    pub rows: Vec<SummaryRow>,
}

/// A stack on one workload: its capacity (when searched) and its peak level.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    pub stack: String,
    pub capacity: Option<CapacityRow>,
    /// The level with the most req/s among those not error-bound (among all,
    /// when every level was), and its connections; `None` when only the
    /// capacity was measured.
    pub peak: Option<(usize, Row)>,
    /// What its levels show together (`notes::diagnosis::across`), then the peak level's notes.
    pub diagnosis: Vec<String>,
    /// Its place in the ranking, from 1; a row that cannot be told apart from the first row of the rank
    /// above shares that rank (`tied`): see [`SummaryRow::apart`].
    pub rank: usize,
    pub tied: bool,
}

impl SummaryRow {
    /// What the ranking sorts by: its capacity's rank, else peak req/s alone (0).
    fn rank(&self) -> (u8, f64) {
        match &self.capacity {
            Some(c) => c.rank(),
            None => (0, self.peak.as_ref().map_or(0.0, |(_, r)| r.rps.median)),
        }
    }

    /// The figure a bar chart of the ranking shows: the capacity, its lower bound, or peak req/s.
    pub fn bar(&self) -> f64 {
        self.rank().1
    }

    /// The 95% interval of [`Self::bar`] over repeats, when it rests on two runs or more.
    pub fn bar_interval(&self) -> Option<(f64, f64)> {
        self.ranked().filter(|s| s.runs > 1).map(|s| (s.lo, s.hi))
    }

    /// The ranked figure's repeats: the capacity's, or peak req/s's; `None` for a lower bound only.
    fn ranked(&self) -> Option<&Spread> {
        match &self.capacity {
            Some(c) => c.capacity_spread.as_ref(),
            None => self.peak.as_ref().map(|(_, r)| &r.rps),
        }
    }

    /// The figure a comparison of this row's protocols reads, named, with its repeats: a capacity found,
    /// else peak req/s when no capacity was searched; `None` for a lower bound of a capacity (no interval).
    pub fn compared_figure(&self) -> Option<(&'static str, &Spread)> {
        match &self.capacity {
            Some(c) if c.capacity_rps.is_some() => c.capacity_spread.as_ref().map(|s| ("capacity", s)),
            Some(_) => None,
            None => self.peak.as_ref().map(|(_, r)| ("peak req/s", &r.rps)),
        }
    }

    /// Server CPU per request, with its repeats: at the capacity's hold where one was found, else at the
    /// peak level.
    pub fn cpu_per_request(&self) -> Option<Spread> {
        match &self.capacity {
            Some(c) if c.capacity_rps.is_some() => c.cpu_spread,
            _ => self.peak.as_ref().and_then(|(_, r)| r.cpu_us_per_request),
        }
    }

    /// Whether this row, ranked below `above`, is told apart from it: the same kind of figure (a capacity
    /// found, a lower bound, peak req/s alone) by `stats::Interval::apart` (95% intervals that do not
    /// overlap, or, for a figure of one run, a factor of `stats::ONE_RUN_FACTOR`); a different kind always is.
    fn apart(&self, above: &SummaryRow) -> bool {
        if self.rank().0 != above.rank().0 {
            return true;
        }
        match (self.ranked(), above.ranked()) {
            (Some(a), Some(b)) => a.apart(b),
            _ => false,
        }
    }

    /// The rank as the tables show it: `2`, or `2=` when tied with the row above.
    pub fn rank_label(&self) -> String {
        format!("{}{}", self.rank, if self.tied { "=" } else { "" })
    }
}

/// (path, endpoint, method, keep-alive off): workloads in order of path, keep-alive first.
type Key = (String, String, String, bool, record::Protocol);

fn key(w: &Workload) -> Key {
    (w.path.clone(), w.endpoint.clone(), w.method.clone(), !w.keepalive, w.protocol)
}

/// The summary of `groups` (levels) and `capacities`, one group per workload,
/// in order of path.
pub fn build(groups: &[Group], capacities: &[CapacityGroup]) -> Vec<SummaryGroup> {
    let mut workloads: BTreeMap<Key, BTreeMap<String, SummaryRow>> = BTreeMap::new();
    fn row<'a>(
        workloads: &'a mut BTreeMap<Key, BTreeMap<String, SummaryRow>>,
        key: Key,
        stack: &str,
    ) -> &'a mut SummaryRow {
        workloads.entry(key).or_default().entry(stack.to_string()).or_insert_with(|| SummaryRow {
            stack: stack.to_string(),
            capacity: None,
            peak: None,
            diagnosis: Vec::new(),
            rank: 0,
            tied: false,
        })
    }
    // Each stack's levels of each workload, fewest connections first.
    let mut levels: BTreeMap<(Key, String), Vec<(usize, &Row)>> = BTreeMap::new();
    for g in groups {
        for r in &g.rows {
            let key = key(&g.workload);
            levels.entry((key, r.stack.clone())).or_default().push((g.connections, r));
        }
    }
    for ((key, stack), mut levels) in levels {
        levels.sort_by_key(|(c, _)| *c);
        let summary = row(&mut workloads, key, &stack);
        for &(connections, r) in &levels {
            if summary.peak.as_ref().is_none_or(|(_, best)| better(r, best)) {
                summary.peak = Some((connections, r.clone()));
            }
        }
        summary.diagnosis = crate::notes::diagnosis::across(&levels);
        summary.diagnosis.extend(summary.peak.iter().flat_map(|(_, r)| r.notes.iter().cloned()));
    }
    for c in capacities {
        for r in &c.rows {
            let key = key(&c.workload);
            let summary = row(&mut workloads, key, &r.stack);
            summary.diagnosis.extend(r.notes.iter().cloned());
            summary.capacity = Some(r.clone());
        }
    }
    workloads
        .into_iter()
        .map(|((path, endpoint, method, keepalive_off, protocol), stacks)| {
            let mut rows: Vec<SummaryRow> = stacks.into_values().collect();
            rows.sort_by(|a, b| by_rank(a.rank(), b.rank()).then_with(|| a.stack.cmp(&b.stack)));
            // A row shares a rank when it cannot be told apart from the first row of that rank (so that a
            // chain of small steps does not tie the last with the first).
            let mut leader = 0;
            for i in 0..rows.len() {
                let tied = i > 0 && !rows[i].apart(&rows[leader]);
                if !tied {
                    leader = i;
                }
                rows[i].tied = tied;
                rows[i].rank = leader + 1;
            }
            let workload = Workload { endpoint, method, path, keepalive: !keepalive_off, protocol };
            SummaryGroup { workload, rows }
        })
        .collect()
}

/// A level that did not fail beats one that did; then more req/s wins.
fn better(candidate: &Row, best: &Row) -> bool {
    let ok = |r: &Row| r.verdict != Verdict::ErrorBound;
    match (ok(candidate), ok(best)) {
        (true, false) => true,
        (false, true) => false,
        _ => candidate.rps.median > best.rps.median,
    }
}
