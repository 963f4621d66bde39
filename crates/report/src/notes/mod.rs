//! What a row says: its verdict, its notes and its diagnoses, each by one rule
//! with its threshold a named constant here. The report's tables and pages, the
//! terminal table and the level lines printed as a run goes all say it through
//! this module, in the same words.
//!
//! Invariant: a note names the figures it read, so a reader can check it; the
//! figures themselves are computed in [`crate::model`].

pub mod diagnosis;

use record::{Churn, GeneratorRecord, LevelRecord, LevelStatus, RunRecord, ServerUsage};

use crate::model::{Row, Seen, Verdict};

/// Spread (coefficient of variation of req/s over repeats) above which a row's
/// repeats disagree: the row is unsteady (not the noisy machine of [`INTERFERENCE_NOISY_PCT`]).
pub const UNSTEADY_CV: f64 = 0.05;
/// Errors (timeouts included) above this share of requests make a row error-bound.
pub const ERROR_SHARE: f64 = 0.01;
pub use loadgen::result::{generator_busy, GENERATOR_BUSY};
/// A server above this share of its CPU limit is saturated.
pub const SERVER_BUSY: f64 = 0.90;
/// Closed loop: if requests in flight (req/s x mean latency, Little's law, plus
/// the connections that waited out a timeout) are below this share of the
/// connections, they spent their time on the generator's side, not waiting for the server.
pub const LITTLE_SHARE: f64 = 0.80;
/// A server at this share of its memory limit or more is at its limit.
pub const MEMORY_NEAR_LIMIT: f64 = 0.95;
/// A window in which other processes took more than this (percent of one
/// CPU) on the run's CPUs was on a noisy machine: the figures may be low by about as much.
pub const INTERFERENCE_NOISY_PCT: f64 = 5.0;

/// The verdict's rule for the server: its CPU at [`SERVER_BUSY`] or more of its limit (both in percent of one CPU).
pub fn server_busy(cpu_pct: f64, limit_pct: f64) -> bool {
    cpu_pct >= SERVER_BUSY * limit_pct
}

/// Sets `row`'s verdict and notes from its figures and what was `seen` in its repeats `runs`.
pub(crate) fn say(row: &mut Row, seen: &Seen, runs: &[(&LevelRecord, &RunRecord)]) {
    let error_share = (row.errors + row.timeouts) as f64 / row.requests.max(1) as f64;
    let generator_busy = generator_busy(row.generator_cpu_pct, seen.n_generator_cpus);
    // Closed loop: fewer requests in flight than connections means they waited on the generator's side.
    let idle_connections = seen.in_flight.filter(|&n| n < LITTLE_SHARE * seen.connections as f64);
    let server_busy = match (row.server_cpu_pct, row.server_cpu_limit_pct) {
        (Some(cpu), Some(limit)) => server_busy(cpu, limit),
        _ => false,
    };
    row.verdict = if seen.any_failed || row.runs == 0 || error_share > ERROR_SHARE {
        Verdict::ErrorBound
    } else if (generator_busy && !server_busy) || idle_connections.is_some() {
        Verdict::GeneratorBound
    } else {
        Verdict::ServerBound
    };
    row.unsteady = row.runs > 1 && row.rps.cv > UNSTEADY_CV;

    let mut notes: Vec<String> =
        runs.iter().filter_map(|(l, _)| l.failure.as_ref().map(|f| f.message.clone())).collect();
    if row.unsteady {
        notes.push(format!("unsteady: req/s spread {:.1}% over {} runs", row.rps.cv * 100.0, row.runs));
    }
    if row.timeouts > 0 {
        notes.push(match (row.late, row.abandoned) {
            (0, 0) => format!("{} timeouts", row.timeouts),
            (late, abandoned) => format!("{} timeouts ({late} answered late, {abandoned} abandoned)", row.timeouts),
        });
    }
    if row.errors > 0 {
        notes.push(format!("{} errors ({})", row.errors, error_kinds(runs)));
    }
    if generator_busy {
        notes.push(format!("generator CPU {:.0}%", row.generator_cpu_pct));
    }
    if let Some(in_flight) = idle_connections.filter(|_| !generator_busy) {
        notes.push(format!("only {in_flight:.0} of {} connections busy (Little's law)", seen.connections));
    }
    if server_busy && seen.throttled {
        notes.push("server throttled at its CPU limit".to_string());
    }
    notes.extend(runs.iter().find_map(|(l, _)| generators_note(&l.generators)));
    notes.extend(server_trouble(runs));
    notes.extend(diagnosis::level(row));
    row.notes = notes;
}

/// The kinds of the errors other than timeouts: with their counts for one
/// repeat (`3 connect errors, 2 read errors`), else the kinds any repeat had.
fn error_kinds(runs: &[(&LevelRecord, &RunRecord)]) -> String {
    let kinds: Vec<Vec<(u64, &str)>> = runs
        .iter()
        .filter_map(|(l, _)| l.load.as_ref())
        .map(|l| l.errors.kinds().into_iter().filter(|(_, kind)| *kind != "timeouts").collect())
        .collect();
    if let [one] = kinds.as_slice() {
        return one.iter().map(|(n, kind)| format!("{n} {kind}")).collect::<Vec<_>>().join(", ");
    }
    let mut names: Vec<&str> = kinds.iter().flatten().map(|(_, kind)| *kind).collect();
    names.sort_unstable();
    names.dedup();
    names.join(", ")
}

/// What the server's figures of each repeat show went wrong ([`trouble`])
/// that its failure does not already say, naming the repeat when there are
/// several; a record from before the memory limit was kept with each level
/// takes its run's.
fn server_trouble(runs: &[(&LevelRecord, &RunRecord)]) -> Vec<String> {
    let mut said = Vec::new();
    for (k, (level, run)) in runs.iter().enumerate() {
        for trouble in level_trouble(level, run.provenance.server_memory) {
            said.push(if runs.len() > 1 { format!("run {}: {trouble}", k + 1) } else { trouble });
        }
    }
    said
}

/// [`trouble`] of one level that its failure does not already say;
/// `memory_limit` stands in for a record that did not keep the level's own.
pub fn level_trouble(level: &LevelRecord, memory_limit: u64) -> Vec<String> {
    let Some(mut server) = level.server.clone() else { return Vec::new() };
    if server.memory_limit == 0 {
        server.memory_limit = memory_limit;
    }
    let failure = level.failure.as_ref().map_or("", |f| f.message.as_str());
    trouble(&server).into_iter().filter(|t| !failure.contains(t.as_str())).collect()
}

/// What went wrong around the server in a window, in words that name the
/// figures: its memory at the limit, OOM kills, processes replaced, figures
/// missing, other processes on its CPUs.
pub fn trouble(server: &ServerUsage) -> Vec<String> {
    let mib = |b: u64| b as f64 / 1048576.0;
    let memory_limit = server.memory_limit;
    let mut said = Vec::new();
    let near = memory_limit > 0 && server.memory_peak as f64 >= MEMORY_NEAR_LIMIT * memory_limit as f64;
    if near || server.oom_kills > 0 {
        let mut what =
            format!("memory at its limit of {:.0} MiB (peak {:.1} MiB", mib(memory_limit), mib(server.memory_peak));
        if server.oom_kills > 0 {
            what += &format!(", {} process(es) OOM-killed", server.oom_kills);
        }
        said.push(what + ")");
    }
    if let Some(Churn { ended, started }) = server.processes.filter(|c| c.ended > 0 || c.started > 0) {
        said.push(format!(
            "{ended} server process(es) ended and {started} started during the window (workers restarted, or a \
             process per connection)"
        ));
    }
    if server.missing_s > 0.0 {
        said.push(format!(
            "server figures missing for {:.1}s of the window (the engine did not answer): these are of the rest",
            server.missing_s
        ));
    }
    if let Some(other) = server.interference_pct.filter(|&p| p > INTERFERENCE_NOISY_PCT) {
        let busiest: Vec<String> =
            server.busiest_others.iter().map(|i| format!("{} {:.0}%", i.name, i.cpu_pct)).collect();
        let busiest = if busiest.is_empty() { String::new() } else { format!("; busiest: {}", busiest.join(", ")) };
        said.push(format!(
            "noisy machine: other processes took {other:.0}% of a CPU on the run's CPUs (over \
             {INTERFERENCE_NOISY_PCT:.0}%{busiest}): figures may be low"
        ));
    }
    said
}

/// Each generator container's share of a level and its CPU, so that a
/// saturated one shows: `2 generators: 2.50k req/s at CPU 97%, ...`.
pub fn generators_note(generators: &[GeneratorRecord]) -> Option<String> {
    if generators.is_empty() {
        return None;
    }
    let each: Vec<String> =
        generators.iter().map(|g| format!("{} req/s at CPU {:.0}%", crate::units::metric(g.rps), g.cpu_pct)).collect();
    Some(format!("{} generators: {}", generators.len(), each.join(", ")))
}

/// One line per finished level, printed as a run goes: its figures, its
/// failure, and what the server's figures show beyond it.
pub fn level_line(level: &LevelRecord) -> String {
    use crate::units::{metric, time_us};
    let status = if level.status == LevelStatus::Ok { "" } else { " FAILED:" };
    match &level.load {
        Some(l) => {
            format!(
                "{} conns:{status} {} req/s, p99 {}, {} errors, server CPU {}{}",
                level.connections,
                metric(l.rps),
                time_us(l.latency_us.p99 as f64),
                l.errors.total(),
                level.server.as_ref().map_or("-".to_string(), |s| format!("{:.0}%", s.cpu_pct_mean)),
                level.failure.as_ref().map(|f| format!(" ({})", f.message)).unwrap_or_default()
            ) + &crate::units::kinds_line(&l.kinds).map(|k| format!("; {k}")).unwrap_or_default()
                + &level_trouble(level, 0).iter().map(|t| format!("; {t}")).collect::<String>()
        }
        None => format!(
            "{} conns:{status} {}",
            level.connections,
            level.failure.as_ref().map_or("no result", |f| f.message.as_str())
        ),
    }
}
