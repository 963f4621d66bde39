//! The terminal table printed after a suite, in the shape of the blog tables
//! people compare stacks with: one row per scenario, endpoint and level.

use std::fmt::Write as _;

use record::{RunRecord, RunStatus};

use report::export::CAPACITY_HEADERS;

/// The report's level tables as one table: a row per stack, endpoint and
/// connections (repeats folded, as the report folds them), in the order the
/// levels ran; the report's columns, notes and verdict (`report::notes`), with
/// the endpoint and connections after the stack. Then the capacity searches and
/// the summary.
pub fn render(records: &[RunRecord]) -> String {
    let named: Vec<(String, RunRecord)> = records.iter().map(|r| (String::new(), r.clone())).collect();
    let built = report::build(&named);
    let level_headers = report::export::level_headers(false);
    let headers: Vec<&str> =
        ["stack", "endpoint", "conns"].into_iter().chain(level_headers[1..].iter().copied()).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut shown = Vec::new();
    for record in records {
        if record.levels.is_empty() && record.capacities.is_empty() {
            let reason = record.reason.as_deref().unwrap_or("no levels ran");
            let first_line = reason.lines().next().unwrap_or_default();
            let mut cells = vec!["-".to_string(); headers.len()];
            cells[0] = record.scenario.name.clone();
            *cells.last_mut().expect("a notes column") = format!("{}: {first_line}", record.status);
            rows.push(cells);
        }
        for level in &record.levels {
            let key = (record.scenario.name.clone(), level.workload(), level.connections);
            if shown.contains(&key) {
                continue;
            }
            let Some(row) = built
                .groups
                .iter()
                .filter(|g| g.workload == key.1 && g.connections == key.2)
                .find_map(|g| g.rows.iter().find(|r| r.stack == key.0))
            else {
                continue;
            };
            let cells = report::export::level_cells(row, false);
            let mut line = vec![key.0.clone(), key.1.endpoint.clone(), key.2.to_string()];
            line.extend(cells.into_iter().skip(1));
            rows.push(line);
            shown.push(key);
        }
    }
    let mut out = String::new();
    // A capacity-only suite has no level to show: its capacity tables follow.
    if !rows.is_empty() {
        aligned(&mut out, &headers, &rows);
    }
    out.push_str(&render_capacities(&built.capacities));
    if !built.users.is_empty() {
        out.push_str("\nusers who think, within their objectives:\n");
        let rows: Vec<Vec<String>> = built.users.iter().map(report::users::cells).collect();
        aligned(&mut out, &report::users::HEADERS, &rows);
    }
    out.push_str(&render_summary(&built));
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
pub(crate) fn aligned(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
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
pub fn render_capacities(capacities: &[report::model::CapacityGroup]) -> String {
    let mut out = String::new();
    for group in capacities {
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

/// One line per finished level, printed as the sweep goes.
pub fn level_line(level: &record::LevelRecord) -> String {
    report::notes::level_line(level)
}

/// `bench --plan`: each run with what it measures and its estimated time, then the suite's total.
pub fn render_plan(cost: &runner::estimate::SuiteCost) -> String {
    use runner::estimate::{words, COLD_BUILD_S};
    let rows: Vec<Vec<String>> = cost
        .runs
        .iter()
        .map(|r| {
            let searches = match (r.searches, r.searches_known) {
                (0, _) => "0".to_string(),
                (n, 0) => format!("{n} (typical)"),
                (n, k) if k == n => format!("{n} (timed before)"),
                (n, k) => format!("{n} ({k} timed before)"),
            };
            vec![r.stack.clone(), r.endpoints.to_string(), r.levels.to_string(), searches, words(r.seconds)]
        })
        .collect();
    let mut out = String::new();
    aligned(&mut out, &["stack", "endpoints", "levels", "capacity searches", "time per run"], &rows);
    let levels: usize = cost.runs.iter().map(|r| r.levels).sum();
    let searches: usize = cost.runs.iter().map(|r| r.searches).sum();
    let builds = if cost.cold_images.is_empty() {
        format!("{} image(s), all built before (each build is a cache check)", cost.images)
    } else {
        format!(
            "{} image(s), {} not built yet from {} distinct build(s) (about {} each, a guess; the rest are cache hits)",
            cost.images,
            cost.cold_images.len(),
            cost.cold_builds,
            words(COLD_BUILD_S)
        )
    };
    out.push_str(&format!(
        "\n{} run(s) x {} repeat(s): {} level(s) and {} capacity search(es) in all; {builds}\n\
         about {} in all (levels from their settings; searches from this stack's earlier ones in the results \
         folder where there are some, else a typical search of {} probes)\n",
        cost.runs.len(),
        cost.repeat,
        levels * cost.repeat as usize,
        searches * cost.repeat as usize,
        words(cost.seconds()),
        runner::estimate::TYPICAL_PROBES,
    ));
    out
}
