//! The terminal table printed after a suite, in the shape of the blog tables
//! people compare stacks with: one row per scenario, endpoint and level.

use std::fmt::Write as _;

use record::{LevelRecord, LevelStatus, RunRecord, RunStatus};

use report::export::CAPACITY_HEADERS;
use report::model::{generator_busy, generators_note, server_busy};
use report::units::{metric, time_us};

const HEADER: [&str; 15] = [
    "stack", "endpoint", "conns", "requests", "req/s", "goodput", "mean", "p99", "max", "errors", "timeouts", "CPU%",
    "mem", "capacity", "notes",
];
const NOTES: usize = HEADER.len() - 1;

pub fn render(records: &[RunRecord]) -> String {
    let mut rows: Vec<[String; HEADER.len()]> = Vec::new();
    for record in records {
        if record.levels.is_empty() {
            let reason = record.reason.as_deref().unwrap_or("no levels ran");
            let first_line = reason.lines().next().unwrap_or_default();
            rows.push(std::array::from_fn(|i| match i {
                0 => record.scenario.name.clone(),
                NOTES => format!("{}: {first_line}", record.status),
                _ => "-".into(),
            }));
        }
        let capacities = report::model::capacities([record]);
        for level in &record.levels {
            // The endpoint's capacity, searched in the same run, beside each of its levels.
            let capacity = capacities
                .iter()
                .find(|g| g.workload.endpoint == level.endpoint && g.workload.keepalive == level.keepalive)
                .and_then(|g| g.rows.first())
                .map_or("-".into(), report::export::capacity_figure);
            rows.push(row(&record.scenario.name, level, record.provenance.generator_cpus.len(), capacity));
        }
    }
    let rows: Vec<Vec<String>> = rows.into_iter().map(Vec::from).collect();
    let mut out = String::new();
    aligned(&mut out, &HEADER, &rows);
    out.push_str(&render_capacities(records));
    let named: Vec<(String, RunRecord)> = records.iter().map(|r| (String::new(), r.clone())).collect();
    out.push_str(&render_summary(&report::build(&named)));
    out
}

/// The answer first, as the report opens: per workload, the stacks ranked by
/// capacity, then peak req/s.
pub fn render_summary(report: &report::Report) -> String {
    let mut out = String::new();
    for group in &report.summary {
        let _ = writeln!(out, "\nsummary: {}", report::export::summary_title(group));
        let rows: Vec<Vec<String>> = group.rows.iter().map(report::export::summary_cells).collect();
        aligned(&mut out, &report::export::SUMMARY_HEADERS, &rows);
    }
    out
}

/// Rows under `headers` (comfy-table, no borders), two spaces between
/// columns: text left-aligned, figures right-aligned, by the report's one
/// rule (`report::export::is_text_column`); no line ends in spaces.
fn aligned(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    use comfy_table::{presets::NOTHING, CellAlignment, Table};
    let mut table = Table::new();
    table.load_preset(NOTHING).set_header(headers.to_vec());
    for row in rows {
        table.add_row(row.clone());
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        let text = report::export::is_text_column(headers[i]);
        column.set_cell_alignment(if text { CellAlignment::Left } else { CellAlignment::Right });
    }
    for line in table.lines() {
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// The capacity searches, one table per workload, highest capacity first;
/// nothing when no run searched.
pub fn render_capacities(records: &[RunRecord]) -> String {
    let mut out = String::new();
    for group in report::model::capacities(records) {
        let _ = writeln!(out, "\ncapacity: {}", group.workload);
        let rows: Vec<Vec<String>> = group.rows.iter().map(report::export::capacity_cells).collect();
        aligned(&mut out, &CAPACITY_HEADERS, &rows);
    }
    out
}

/// One line per scenario after `bench --verify-only`: verified, or why not.
pub fn render_verified(records: &[RunRecord]) -> String {
    let width = records.iter().map(|r| r.scenario.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for record in records {
        let name = &record.scenario.name;
        let _ = match (&record.status, &record.reason) {
            (RunStatus::Complete, _) => writeln!(out, "{name:<width$}  verified"),
            (status, reason) => {
                let reason = reason.as_deref().unwrap_or("no reason recorded");
                let first_line = reason.lines().next().unwrap_or_default();
                writeln!(out, "{name:<width$}  {}: {first_line}", status.to_string().to_uppercase())
            }
        };
    }
    let verified = records.iter().filter(|r| r.status == RunStatus::Complete).count();
    let _ = writeln!(out, "{verified} of {} scenario(s) verified", records.len());
    out
}

fn row(stack: &str, level: &LevelRecord, n_generator_cpus: usize, capacity: String) -> [String; HEADER.len()] {
    let dash = || "-".to_string();
    let load = level.load.as_ref();
    let lat = |f: fn(&loadgen::LatencySummary) -> f64| load.map_or_else(dash, |l| time_us(f(&l.latency_us)));
    [
        stack.to_string(),
        level.endpoint.clone(),
        level.connections.to_string(),
        load.map_or_else(dash, |l| l.requests.to_string()),
        load.map_or_else(dash, |l| format!("{:.1}", l.rps)),
        load.filter(|l| l.schema_version >= 2).map_or_else(dash, |l| format!("{:.1}", l.goodput_rps)),
        lat(|l| l.mean),
        lat(|l| l.p99 as f64),
        lat(|l| l.max as f64),
        load.map_or_else(dash, |l| (l.errors.total() - l.errors.timeout).to_string()),
        load.map_or_else(dash, |l| l.errors.timeout.to_string()),
        level.server.as_ref().map_or_else(dash, |s| format!("{:.0}", s.cpu_pct_mean)),
        level.server.as_ref().map_or_else(dash, |s| format!("{:.1}MiB", s.memory_peak as f64 / (1 << 20) as f64)),
        capacity,
        notes(level, n_generator_cpus),
    ]
}

/// What went wrong, in words.
pub fn notes(level: &LevelRecord, n_generator_cpus: usize) -> String {
    let mut notes = Vec::new();
    if let Some(f) = &level.failure {
        notes.push(f.message.clone());
    }
    if let Some(l) = &level.load {
        notes.extend(l.errors.kinds().into_iter().map(|(n, what)| format!("{n} {what}")));
    }
    notes.extend(generators_note(&level.generators));
    if generator_busy(level.generator_cpu_pct, n_generator_cpus) {
        notes.push(format!("generator CPU {:.0}%: may be generator-bound", level.generator_cpu_pct));
    }
    if let Some(s) = &level.server {
        if s.nr_throttled > 0 && server_busy(s.cpu_pct_mean, s.cpu_limit_pct) {
            notes.push("server at its CPU limit".to_string());
        }
    }
    notes.extend(trouble(level));
    notes.join("; ")
}

/// What the server's figures show went wrong, unless the failure already says it.
fn trouble(level: &LevelRecord) -> Vec<String> {
    let said = level.failure.as_ref().map_or("", |f| f.message.as_str());
    level.server.iter().flat_map(record::ServerUsage::trouble).filter(|t| !said.contains(t.as_str())).collect()
}

/// One line per finished level, printed as the sweep goes.
pub fn level_line(level: &LevelRecord) -> String {
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
            ) + &trouble(level).iter().map(|t| format!("; {t}")).collect::<String>()
        }
        None => format!(
            "{} conns:{status} {}",
            level.connections,
            level.failure.as_ref().map_or("no result", |f| f.message.as_str())
        ),
    }
}
