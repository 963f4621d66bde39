//! The whole report: every level's rows with what they say, the capacity
//! searches, the summary, the scaling sections, the environment; and a run
//! against a baseline. The one place that puts the other modules together.

use std::collections::BTreeMap;

use record::{LevelRecord, RunRecord, RunStatus, Workload};
use serde::Serialize;

use crate::model::{capacities, row, CapacityGroup, Change, Group, Row, Spread};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The results files read, in order.
    pub files: Vec<String>,
    pub environment: Vec<(String, String)>,
    /// Per stack: what it is, how it was built and run (its page's environment).
    pub stacks: BTreeMap<String, Vec<(String, String)>>,
    pub groups: Vec<Group>,
    /// Capacity at the objectives, per workload, best first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacities: Vec<CapacityGroup>,
    /// Users who think: how many each stack served within its objectives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<crate::users::Users>,
    /// The answer first: per workload, each stack's capacity and peak level, ranked.
    pub summary: Vec<crate::summary::SummaryGroup>,
    /// Families of matrix variants against the numeric key they vary, per workload.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scaling: Vec<crate::scaling::Scaling>,
    /// The best stack at each CPU budget, per workload that ran at several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub best_per_budget: Vec<crate::scaling::BestPerBudget>,
    /// Each stack's request measured in several protocols (TLS, HTTP/2), side by side.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocols: Vec<crate::protocols::Protocols>,
    /// Each stack's page (`<stem>.html`), by stack.
    #[serde(skip)]
    pub pages: BTreeMap<String, String>,
    /// Each stack's family and matrix values (a file without `[matrix]` is a family of one).
    #[serde(skip)]
    pub variants: BTreeMap<String, crate::scaling::StackOf>,
    /// Scenarios that never reached a measured level, with the reason.
    pub not_runnable: Vec<(String, String)>,
    /// The command that made it, as the reader would run it again: `stackbench report` (the default), or
    /// `cargo xtask report` in stackbench's own checkout.
    #[serde(skip)]
    pub command: String,
    /// Headline figures across the commits the records span ([`with_history`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<crate::history::History>,
    /// The CPU model its figures come from, and the runs on others left out.
    #[serde(skip)]
    pub machine: crate::machine::OneMachine,
    /// Published tables set beside ours ([`with_references`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<crate::reference::ReferenceSection>,
}

/// Builds the report from `(file name, record)` pairs, in a stable order: from the runs on one CPU model
/// (`machine`), saying how many on others it left out.
pub fn build(records: &[(String, RunRecord)]) -> Report {
    let machine = crate::machine::OneMachine::of(records.iter().map(|(_, r)| r));
    if machine.left_out.is_empty() {
        return build_one_machine(records, machine);
    }
    let kept: Vec<(String, RunRecord)> = records.iter().filter(|(_, r)| machine.keeps(r)).cloned().collect();
    build_one_machine(&kept, machine)
}

fn build_one_machine(records: &[(String, RunRecord)], machine: crate::machine::OneMachine) -> Report {
    // (workload, connections) -> stack -> that level in each run.
    type Key = (Workload, usize);
    type Runs<'a> = Vec<(&'a LevelRecord, &'a RunRecord)>;
    let mut levels: BTreeMap<Key, BTreeMap<String, Runs<'_>>> = BTreeMap::new();
    let mut not_runnable = BTreeMap::new();
    for (_, record) in records {
        // A run of capacity searches only (`--capacity-only`) ran: it has no levels by choice.
        if record.levels.is_empty() && record.capacities.is_empty() && record.status != RunStatus::Running {
            let reason = record.reason.as_deref().unwrap_or("no level ran");
            not_runnable.insert(record.scenario.name.clone(), reason.lines().next().unwrap_or_default().to_string());
        }
        for level in &record.levels {
            let key = (level.workload(), level.connections);
            levels.entry(key).or_default().entry(record.scenario.name.clone()).or_default().push((level, record));
        }
    }
    let groups: Vec<Group> = levels
        .into_iter()
        .map(|((workload, connections), stacks)| {
            let mut rows: Vec<Row> = stacks
                .into_iter()
                .map(|(stack, runs)| {
                    let (mut row, seen) = row(stack, &runs);
                    crate::notes::say(&mut row, &seen, &runs);
                    row
                })
                .collect();
            rows.sort_by(|a, b| b.rps.median.total_cmp(&a.rps.median).then_with(|| a.stack.cmp(&b.stack)));
            Group { workload, connections, rows }
        })
        .collect();
    let capacities = capacities(records.iter().map(|(_, r)| r));
    let summary = crate::summary::build(&groups, &capacities);
    let stack_of: BTreeMap<String, crate::scaling::StackOf> = records
        .iter()
        .map(|(_, r)| {
            let of = crate::scaling::StackOf {
                family: r.scenario.family_name().to_string(),
                matrix: r.scenario.matrix.clone(),
                cpus: r.provenance.server_cpus,
            };
            (r.scenario.name.clone(), of)
        })
        .collect();
    let (scaling, best_per_budget) = crate::scaling::build(&summary, &stack_of);
    let protocols = crate::protocols::build(&summary, &stack_of);
    let variants = stack_of;
    Report {
        files: records.iter().map(|(f, _)| f.clone()).collect(),
        environment: {
            let mut environment = environment(&records.iter().map(|(_, r)| r).collect::<Vec<_>>());
            environment.push(("run-to-run spread".into(), run_to_run(&groups, &capacities)));
            environment.extend(machine.left_out_words().map(|words| ("other CPUs".to_string(), words)));
            environment.retain(|(_, value)| !value.is_empty());
            environment
        },
        stacks: stack_facts(records),
        pages: records.iter().map(|(_, r)| (r.scenario.name.clone(), r.scenario.stem().to_string())).collect(),
        summary,
        scaling,
        best_per_budget,
        protocols,
        variants,
        groups,
        capacities,
        users: crate::users::build(records),
        not_runnable: not_runnable.into_iter().collect(),
        references: Vec::new(),
        history: Vec::new(),
        command: "stackbench report".into(),
        machine,
    }
}

/// Follows each stack's headline figures across the commits `records` span (all of them, not only each
/// stack's latest suite), for the stacks in the report, on the report's CPU model.
pub fn with_history(report: &mut Report, records: &[(String, RunRecord)]) {
    let records: Vec<&RunRecord> = records
        .iter()
        .map(|(_, r)| r)
        .filter(|r| report.pages.contains_key(&r.scenario.name) && report.machine.keeps(r))
        .collect();
    report.history = crate::history::build(&records);
}

/// Sets each published table beside the report's figures for its workload and level.
pub fn with_references(report: &mut Report, references: &[crate::reference::Reference]) {
    report.references = crate::reference::sections(references, &report.groups);
}

/// Adds to each row its change against the same row (stack, workload,
/// level) of `baseline`.
pub fn compare(report: &mut Report, baseline: &Report) {
    for group in &mut report.groups {
        let Some(base_group) =
            baseline.groups.iter().find(|g| g.workload == group.workload && g.connections == group.connections)
        else {
            continue;
        };
        for row in &mut group.rows {
            let Some(base) = base_group.rows.iter().find(|b| b.stack == row.stack) else { continue };
            let change = |now: f64, then: f64| if then > 0.0 { (now / then - 1.0) * 100.0 } else { 0.0 };
            let rps_change_pct = change(row.rps.median, base.rps.median);
            let summary = |s: &Spread, runs| crate::gate::Summary { median: s.median, lo: s.lo, hi: s.hi, runs };
            let judged = crate::gate::judge(true, summary(&base.rps, base.runs), summary(&row.rps, row.runs));
            row.baseline = Some(Change {
                rps: base.rps.median,
                rps_change_pct,
                p99_change_pct: change(row.latency_p99_us as f64, base.latency_p99_us as f64),
                beyond_noise: match judged {
                    crate::gate::Judgement::NoRepeats => None,
                    crate::gate::Judgement::WithinNoise => Some(false),
                    crate::gate::Judgement::Regression | crate::gate::Judgement::Improvement => Some(true),
                },
            });
        }
    }
}

/// Each value of `f` over the runs, once each, in order: one when they agree.
fn values(records: &[&RunRecord], f: &dyn Fn(&RunRecord) -> String) -> String {
    // An empty value is a field older records lack: it says nothing.
    let mut all: Vec<String> = records.iter().map(|r| f(r)).filter(|v| !v.is_empty()).collect();
    all.sort();
    all.dedup();
    all.join("; ")
}

/// Per stack, what its page says about it: the scenario, its images, its
/// runs, then the environment of its runs alone.
fn stack_facts(records: &[(String, RunRecord)]) -> BTreeMap<String, Vec<(String, String)>> {
    let mut by_stack: BTreeMap<&str, Vec<(&str, &RunRecord)>> = BTreeMap::new();
    for (file, record) in records {
        by_stack.entry(record.scenario.name.as_str()).or_default().push((file.as_str(), record));
    }
    by_stack
        .into_iter()
        .map(|(stack, runs)| {
            let records: Vec<&RunRecord> = runs.iter().map(|(_, r)| *r).collect();
            let values = |f: &dyn Fn(&RunRecord) -> String| values(&records, f);
            let mut facts = vec![
                ("description".to_string(), values(&|r| r.scenario.description.clone())),
                (
                    "scenario file".into(),
                    values(&|r| {
                        format!(
                            "{} (sha256 {})",
                            r.scenario.file,
                            &r.scenario.sha256[..r.scenario.sha256.len().min(12)]
                        )
                    }),
                ),
                (
                    "images".into(),
                    values(&|r| {
                        let images: Vec<String> = r
                            .provenance
                            .images
                            .iter()
                            .map(|(name, id)| format!("{name} {}", &id[..id.len().min(19)]))
                            .collect();
                        images.join(", ")
                    }),
                ),
                ("network".into(), values(&|r| r.provenance.network.clone())),
                ("server engine".into(), values(&|r| r.provenance.server_engine.clone())),
            ];
            let overrides = values(&|r| r.scenario.overrides.join(" "));
            if !overrides.is_empty() {
                facts.push(("overrides (--set)".into(), overrides));
            }
            let built: Vec<String> = records
                .iter()
                .flat_map(|r| r.build_logs.keys().cloned())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            facts.push((
                "images built during these runs".into(),
                if built.is_empty() { "none (all were cached)".into() } else { built.join(", ") },
            ));
            let files: Vec<&str> = runs.iter().map(|(f, _)| *f).collect();
            facts.push((format!("runs ({})", files.len()), files.join(", ")));
            facts.extend(environment(&records));
            facts.retain(|(_, value)| !value.is_empty());
            (stack.to_string(), facts)
        })
        .collect()
}

/// How steady the CPU ran before the runs' suites (`record::MachineSpeed`): one suite's in words, several as
/// their range; empty when none was measured.
fn machine_speed(records: &[&RunRecord]) -> String {
    // A suite's runs share one reading, wherever they are among the records.
    let mut speeds: Vec<record::MachineSpeed> = Vec::new();
    for speed in records.iter().filter_map(|r| r.provenance.machine_speed) {
        if !speeds.contains(&speed) {
            speeds.push(speed);
        }
    }
    match speeds.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        many => {
            let cv = |f: fn(f64, f64) -> f64, init| many.iter().map(|s| s.cv * 100.0).fold(init, f);
            let slowest = many.iter().map(|s| s.slowest).fold(f64::INFINITY, f64::min);
            format!(
                "over {} suites, a fixed loop in {} ms slices varied {:.1}-{:.1}% (CV); the slowest slice ran at {:.0}% \
                 of its suite's median",
                many.len(),
                many[0].slice_ms,
                cv(f64::min, f64::INFINITY),
                cv(f64::max, 0.0),
                slowest * 100.0
            )
        }
    }
}

/// How much repeats of one measurement differed here: the median coefficient of variation of req/s and of
/// CPU per request over the levels measured in several runs with the server busy (its CPU at 80% of its limit
/// or more in the median: where req/s is the server's, not a sleep's or a pool's), and of capacity over
/// repeated searches; empty without repeats. What size of difference means something on this machine.
fn run_to_run(groups: &[Group], capacities: &[crate::model::CapacityGroup]) -> String {
    let median_pct = |cvs: Vec<f64>| format!("{:.1}%", crate::model::median(&cvs) * 100.0);
    let busy = |row: &&Row| match (row.server_cpu_pct, row.server_cpu_limit_pct) {
        (Some(cpu), Some(limit)) => row.runs > 1 && cpu >= 0.8 * limit,
        _ => false,
    };
    let rows: Vec<&Row> = groups.iter().flat_map(|g| g.rows.iter()).filter(busy).collect();
    let searches: Vec<&Spread> = capacities
        .iter()
        .flat_map(|g| g.rows.iter())
        .filter_map(|r| r.capacity_spread.as_ref())
        .filter(|s| s.runs > 1)
        .collect();
    let mut said = Vec::new();
    if !rows.is_empty() {
        let cpu: Vec<f64> = rows.iter().filter_map(|r| r.cpu_us_per_request.as_ref()).map(|s| s.cv).collect();
        let (fewest, most) = (rows.iter().map(|r| r.runs).min(), rows.iter().map(|r| r.runs).max());
        let times = match (fewest, most) {
            (Some(a), Some(b)) if a < b => format!("{a}-{b}"),
            (_, b) => b.unwrap_or_default().to_string(),
        };
        said.push(format!(
            "over {} levels measured {times} times with the server busy, req/s varied by a median {} (CV){}",
            rows.len(),
            median_pct(rows.iter().map(|r| r.rps.cv).collect()),
            if cpu.is_empty() { String::new() } else { format!(" and CPU per request by {}", median_pct(cpu)) }
        ));
    }
    if !searches.is_empty() {
        said.push(format!(
            "over {} repeated capacity searches, capacity by {}",
            searches.len(),
            median_pct(searches.iter().map(|s| s.cv).collect())
        ));
    }
    said.join("; ")
}

/// Where the runs were made; a value that differs between runs lists each.
fn environment(records: &[&RunRecord]) -> Vec<(String, String)> {
    let values = |f: &dyn Fn(&RunRecord) -> String| values(records, f);
    let mut environment = vec![
        ("CPU".into(), values(&|r| format!("{} ({} CPUs)", r.provenance.cpu_model, r.provenance.n_cpus))),
        ("generator CPUs".into(), values(&|r| format!("{:?}", r.provenance.generator_cpus))),
        ("server cpuset".into(), values(&|r| r.provenance.server_cpuset.clone())),
        (
            "server limits".into(),
            values(&|r| format!("{} CPUs, {} MiB", r.provenance.server_cpus, r.provenance.server_memory >> 20)),
        ),
        ("kernel".into(), values(&|r| r.provenance.kernel.clone())),
        ("CPU speed before each suite".into(), machine_speed(records)),
        (
            "Docker".into(),
            values(&|r| format!("{} (API {})", r.provenance.docker_version, r.provenance.docker_api_version)),
        ),
        (
            "stackbench".into(),
            values(&|r| match &r.provenance.stackbench_commit {
                Some(c) => format!("{} (built from {})", r.provenance.stackbench_version, &c[..c.len().min(12)]),
                None => r.provenance.stackbench_version.clone(),
            }),
        ),
        (
            "project commit".into(),
            values(&|r| {
                let commit =
                    r.provenance.git_commit.as_deref().map_or("none (not a git checkout)", |c| &c[..c.len().min(12)]);
                match r.provenance.git_dirty {
                    Some(true) => format!("{commit} with uncommitted changes"),
                    _ => commit.to_string(),
                }
            }),
        ),
    ];
    // Left out where no run measured it (records from before it was kept), as the committed report's.
    environment.retain(|(_, value)| !value.is_empty());
    environment
}
