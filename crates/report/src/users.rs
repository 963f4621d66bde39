//! Users who think (`think` in a scenario): how many each stack serves within its objectives, from the
//! levels (`record::RunRecord::users_within`), ranked, with the interval over repeats.

use std::collections::BTreeMap;

use record::{RunRecord, Workload};

use crate::model::{with_interval, Spread};

/// One stack's users on one workload.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Users {
    pub stack: String,
    pub workload: Workload,
    /// Users within the objectives, over the runs (0: even the fewest measured missed them).
    pub users: Spread,
    /// Think time as the runs had it: `1s exponential`.
    pub think: String,
    pub objectives: String,
    /// The user counts measured.
    pub levels: Vec<usize>,
}

pub const HEADERS: [&str; 5] = ["stack", "endpoint", "users within objectives", "think", "levels measured"];

pub const INTRO: &str = "Each connection is a user who waits its think time between a response and the next \
    request (as Locust's and k6's users). A stack serves a number of users within its objectives when that level \
    and every smaller one met them; only the levels measured are known, so the true figure lies between it and the \
    next level up.";

/// One run's figure: users, think time, objectives, the levels measured.
type Run = (f64, String, String, Vec<usize>);

/// Every run's users within the objectives, one row per stack and workload, most users first.
pub fn build(records: &[(String, RunRecord)]) -> Vec<Users> {
    let mut runs: BTreeMap<(String, Workload), Vec<Run>> = BTreeMap::new();
    for (_, r) in records {
        for (endpoint, slo) in &r.user_objectives {
            let Some((users, levels)) = r.users_within(endpoint) else { continue };
            let Some(level) = r.levels.iter().find(|l| &l.endpoint == endpoint) else { continue };
            let think = level.load.as_ref().and_then(|l| {
                Some(format!(
                    "{} {}",
                    humantime::format_duration(std::time::Duration::from_secs_f64(l.options.think_s?)),
                    l.options.think_spread.as_deref().unwrap_or("exponential")
                ))
            });
            runs.entry((r.scenario.name.clone(), level.workload())).or_default().push((
                users as f64,
                think.unwrap_or_default(),
                crate::units::objectives(slo),
                levels,
            ));
        }
    }
    let mut rows: Vec<Users> = runs
        .into_iter()
        .map(|((stack, workload), runs)| {
            let values: Vec<f64> = runs.iter().map(|r| r.0).collect();
            let (_, think, objectives, levels) = runs.into_iter().next_back().expect("a run");
            Users { stack, workload, users: Spread::of(&values), think, objectives, levels }
        })
        .collect();
    rows.sort_by(|a, b| a.workload.cmp(&b.workload).then(b.users.median.total_cmp(&a.users.median)));
    rows
}

/// A row's cells under [`HEADERS`].
pub fn cells(u: &Users) -> Vec<String> {
    vec![
        u.stack.clone(),
        u.workload.to_string(),
        format!(
            "{} ({})",
            with_interval(format!("{:.0}", u.users.median), &u.users, |v| format!("{v:.0}")),
            u.objectives
        ),
        u.think.clone(),
        u.levels.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
    ]
}
