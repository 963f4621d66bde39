//! `index.html`: one self-contained page (no network, no scripts) with the
//! tables and inline SVG charts, rendered from a tera template.

use record::At;
use serde::Serialize;

use crate::charts::{line_chart, ranked_chart, Axis, Bar, Series};
use crate::compose::Report;
use crate::export::{
    best_per_budget, capacity_figure, has_baseline, headers, is_text_column, level_cells, scaling_table, scaling_title,
    summary_cells, summary_title, verdict_legend, Exporter, COMPACT_SUMMARY_HEADERS, LEAD, SCALING_INTRO,
    SUMMARY_HEADERS,
};
use crate::model::Row;
use crate::scaling::Scaling;
use crate::units::{metric, time_us};

const TEMPLATE: &str = include_str!("../templates/report.html.tera");
const SCENARIO_TEMPLATE: &str = include_str!("../templates/scenario.html.tera");

pub struct Html;

#[derive(Serialize)]
struct Page<'a> {
    lead: &'static str,
    intro: String,
    verdicts: String,
    environment: &'a [(String, String)],
    summary_intro: String,
    summary_headers: &'static [&'static str],
    /// Per column of the summary and capacity tables: it holds text (left-aligned).
    summary_text: Vec<bool>,
    summary: Vec<SummaryView>,
    scaling_intro: &'static str,
    scaling: Vec<ScalingView>,
    protocols_intro: &'static str,
    /// One stack's request in several protocols (the scaling sections' shape: a title, headers, rows).
    protocols: Vec<ScalingView>,
    not_runnable: &'a [(String, String)],
    files: &'a [String],
    references_intro: &'static str,
    reference_headers: &'static [&'static str],
    reference_text: Vec<bool>,
    references: Vec<ReferenceView>,
    users_intro: &'static str,
    users_headers: &'static [&'static str],
    users_text: Vec<bool>,
    users: Vec<Vec<String>>,
    /// The families in the summary, for its filter.
    families: Vec<String>,
    /// Whether the records span several commits, and the changes across them.
    history: bool,
    history_intro: &'static str,
    history_changes: Vec<String>,
}

/// A published table beside ours.
#[derive(Serialize)]
struct ReferenceView {
    title: String,
    facts: Vec<(&'static str, String)>,
    verdict: String,
    rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct SummaryView {
    title: String,
    /// The ranking as bars: capacity where searched, else peak req/s.
    chart: String,
    rows: Vec<SummaryRowView>,
    /// The best stack per CPU budget, when the workload ran at several.
    best: String,
}

#[derive(Serialize)]
struct SummaryRowView {
    /// The stack's page, without `.html`.
    page: String,
    cells: Vec<String>,
    /// The stack as the table shows it: its family, then only its matrix values (the full name on hover).
    short: String,
    family: String,
    /// Its matrix values as ` key=value ` words, for the filter.
    matrix: String,
    /// The best-ranked of its family's variants in this table (when two or more are in it).
    best: bool,
}

#[derive(Serialize)]
struct ScalingView {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Exporter for Html {
    fn file_name(&self) -> &'static str {
        "index.html"
    }

    fn render(&self, report: &Report) -> String {
        let summary = report
            .summary
            .iter()
            .map(|group| {
                let bars: Vec<Bar> = group
                    .rows
                    .iter()
                    .filter(|r| r.bar() > 0.0)
                    .map(|r| Bar { name: r.stack.clone(), value: r.bar(), interval: r.bar_interval() })
                    .collect();
                SummaryView {
                    title: summary_title(group),
                    chart: ranked_chart(
                        &group.workload.request(),
                        "req/s: capacity at the objectives where searched (at least, when not found), else peak; \
                         the line: its 95% interval over repeats",
                        &bars,
                    ),
                    rows: summary_rows(report, group),
                    best: best_per_budget(report, group).map(|b| b.line()).unwrap_or_default(),
                }
            })
            .collect();
        let scaling = report
            .scaling
            .iter()
            .map(|s| {
                let (headers, rows) = scaling_table(s);
                ScalingView { title: scaling_title(s), headers, rows }
            })
            .collect();
        let protocols = report
            .protocols
            .iter()
            .map(|p| ScalingView {
                title: p.title.clone(),
                headers: crate::protocols::headers(p),
                rows: p.rows.iter().map(|r| crate::protocols::cells(p, r)).collect(),
            })
            .collect();
        let page = Page {
            lead: LEAD,
            intro: crate::export::intro(&report.command),
            summary_intro: crate::export::summary_intro(),
            summary_headers: &COMPACT_SUMMARY_HEADERS,
            summary_text: COMPACT_SUMMARY_HEADERS.iter().map(|h| is_text_column(h)).collect(),
            summary,
            scaling_intro: SCALING_INTRO,
            scaling,
            protocols_intro: crate::protocols::INTRO,
            protocols,
            verdicts: verdict_legend(),
            environment: &report.environment,
            not_runnable: &report.not_runnable,
            files: &report.files,
            families: {
                let mut families: Vec<String> = report
                    .summary
                    .iter()
                    .flat_map(|g| g.rows.iter())
                    .map(|r| report.variants.get(&r.stack).map_or(r.stack.clone(), |v| v.family.clone()))
                    .collect();
                families.sort();
                families.dedup();
                families
            },
            history: !report.history.is_empty(),
            history_intro: crate::history::INTRO,
            history_changes: crate::history::change_lines(&report.history),
            users_intro: crate::users::INTRO,
            users_headers: &crate::users::HEADERS,
            users_text: crate::users::HEADERS.iter().map(|h| is_text_column(h)).collect(),
            users: report.users.iter().map(crate::users::cells).collect(),
            references_intro: crate::export::REFERENCES_INTRO,
            reference_headers: &crate::reference::HEADERS,
            reference_text: crate::reference::HEADERS.iter().map(|h| is_text_column(h)).collect(),
            references: report
                .references
                .iter()
                .map(|r| ReferenceView {
                    title: r.reference.title.clone(),
                    facts: crate::reference::facts(r),
                    verdict: r.verdict(),
                    rows: r.rows.iter().map(crate::reference::cells).collect(),
                })
                .collect(),
        };
        let context = tera::Context::from_serialize(&page).expect("the page serializes");
        tera::Tera::one_off(TEMPLATE, &context, true).expect("the built-in template renders")
    }
}

/// The cells of [`COMPACT_SUMMARY_HEADERS`] from a full summary row's.
fn compact(cells: Vec<String>) -> Vec<String> {
    SUMMARY_HEADERS.iter().zip(cells).filter(|(h, _)| COMPACT_SUMMARY_HEADERS.contains(h)).map(|(_, c)| c).collect()
}

/// A summary table's rows: each stack by its family and values, the best of each family marked.
fn summary_rows(report: &Report, group: &crate::summary::SummaryGroup) -> Vec<SummaryRowView> {
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let of = |stack: &str| report.variants.get(stack);
    for r in &group.rows {
        *seen.entry(of(&r.stack).map_or(r.stack.as_str(), |v| v.family.as_str())).or_default() += 1;
    }
    let mut marked = std::collections::BTreeSet::new();
    group
        .rows
        .iter()
        .map(|r| {
            let (family, short, matrix) = match of(&r.stack) {
                Some(v) if !v.matrix.is_empty() => {
                    // The values in the name's order (the file's), not the keys' sorted order.
                    let inside = r.stack.split_once('[').map_or("", |(_, rest)| rest.trim_end_matches(']'));
                    let values: Vec<&str> =
                        inside.split(',').filter_map(|kv| kv.split_once('=').map(|(_, v)| v)).collect();
                    (
                        v.family.clone(),
                        format!("{} {}", v.family, values.join(" · ")),
                        v.matrix.iter().map(|(k, v)| format!(" {k}={v} ")).collect(),
                    )
                }
                Some(v) => (v.family.clone(), r.stack.clone(), String::new()),
                None => (r.stack.clone(), r.stack.clone(), String::new()),
            };
            // Rows are ranked: the first of a family of several is its best.
            let best = seen.get(family.as_str()).is_some_and(|n| *n > 1) && marked.insert(family.clone());
            SummaryRowView {
                page: report.pages.get(&r.stack).unwrap_or(&r.stack).clone(),
                cells: compact(summary_cells(r)),
                short,
                family,
                matrix,
                best,
            }
        })
        .collect()
}

/// Latency by offered load through a capacity search's probes (a p50 and a p99 line, in order of rate): the
/// curve whose knee is the capacity, with the p99 objective drawn across and the capacity found drawn up.
fn knee_chart(workload: &record::Workload, row: &crate::model::CapacityRow) -> String {
    let mut probes = row.probes.clone();
    probes.sort_by(|a, b| a.offered.total_cmp(&b.offered));
    let mut series = vec![
        Series {
            name: format!("{} p50", row.stack),
            thin: true,
            ..Series::of(&row.stack, probes.iter().map(|p| (p.offered, p.p50_us as f64 / 1000.0)).collect())
        },
        Series {
            name: format!("{} p99", row.stack),
            ..Series::of(&row.stack, probes.iter().map(|p| (p.offered, p.p99_us as f64 / 1000.0)).collect())
        },
    ];
    let (lo, hi) = (probes.first().map_or(0.0, |p| p.offered), probes.last().map_or(0.0, |p| p.offered));
    let p99_bound = row.slo.latency_us.iter().find(|(q, _)| *q == loadgen::capacity::Percentile::P99);
    if let Some((_, bound)) = p99_bound.filter(|_| lo > 0.0) {
        let ms = *bound as f64 / 1000.0;
        series.push(Series {
            name: format!("objective: p99 <= {}", time_us(*bound as f64)),
            thin: true,
            ..Series::of("objective", vec![(lo, ms), (hi, ms)])
        });
    }
    if let Some(capacity) = row.capacity_rps.filter(|c| *c > 0.0) {
        let latencies =
            probes.iter().flat_map(|p| [p.p50_us, p.p99_us]).filter(|&us| us > 0).map(|us| us as f64 / 1000.0);
        let (min, max) = latencies.fold((f64::INFINITY, 0.0_f64), |(a, b), v| (a.min(v), b.max(v)));
        if min.is_finite() {
            series.push(Series {
                name: format!("capacity: {}", metric(capacity)),
                thin: true,
                ..Series::of("capacity", vec![(capacity, min), (capacity, max)])
            });
        }
    }
    line_chart(
        &format!("latency by offered load: {}", workload.request()),
        ("offered req/s", Axis::Log),
        ("latency ms", Axis::Log),
        &series,
    )
}

#[derive(Serialize)]
struct ScenarioPage<'a> {
    stack: &'a str,
    /// The scenario, its images and runs, and where they ran.
    facts: &'a [(String, String)],
    description: Option<&'a str>,
    headers: Vec<&'static str>,
    workloads: Vec<ScenarioWorkload>,
}

#[derive(Serialize)]
struct ScenarioWorkload {
    title: String,
    capacity: String,
    /// Each probe: its number, offered req/s, p50, p99, and its outcome (pass, or the objectives it failed).
    probes: Vec<[String; 5]>,
    /// Latency by offered load through the probes (`knee_chart`); empty without a search.
    knee_chart: String,
    /// Its family's figure against each key the family varies (`scaling_chart`), this stack among the others.
    scaling_charts: Vec<String>,
    /// Its headline figures across the commits the records span (`history::table`); empty at one commit.
    history_headers: Vec<String>,
    history_rows: Vec<Vec<String>>,
    levels: Vec<ScenarioLevel>,
    /// The levels' profiles, then the one at the capacity.
    profiles: Vec<(String, ProfileView)>,
}

/// A level table's cells (or headers) split into all but the notes, which the stack page writes as a
/// line under the row, and the notes (`export::level_headers` keeps them last).
fn without_notes<T: Default>(mut cells: Vec<T>) -> (Vec<T>, T) {
    let notes = cells.pop().unwrap_or_default();
    (cells, notes)
}

#[derive(Serialize)]
struct ScenarioLevel {
    connections: usize,
    /// The level table's cells but its notes, which read as a line under the row.
    cells: Vec<String>,
    notes: String,
    rps_chart: String,
    p99_chart: String,
}

/// A profile on its stack's page: what it cost and found in words,
/// the top functions, and the flame graph (without script).
#[derive(Serialize)]
struct ProfileView {
    lines: Vec<String>,
    /// Each: function, samples, share.
    top: Vec<[String; 3]>,
    flame_graph: String,
}

fn profile_view(profile: &record::ProfileRecord, own_rps: f64, title: &str) -> ProfileView {
    let stacks = crate::profile::parse(&profile.folded);
    ProfileView {
        lines: crate::profile::describe(profile, own_rps),
        top: crate::profile::top_functions(&stacks, 15)
            .into_iter()
            .map(|h| [h.function, h.samples.to_string(), format!("{:.1}%", h.share * 100.0)])
            .collect(),
        flame_graph: if stacks.is_empty() {
            String::new()
        } else {
            crate::profile::static_flame_graph(&profile.folded, title)
                .unwrap_or_else(|e| format!("<p class=\"chart-error\">{e}</p>"))
        },
    }
}

/// A family's figure against the key it varies, and the same per CPU of the
/// server's limit: one line per combination of its other values.
pub fn scaling_chart(s: &Scaling) -> String {
    let series: Vec<Series> = s
        .series
        .iter()
        .map(|series| Series::of(&series.label, series.points.iter().map(|p| (p.x, p.rps)).collect()))
        .collect();
    line_chart(
        &format!("req/s by {}: {} {}", s.key, s.family, s.workload.request()),
        (&s.key, Axis::Linear),
        ("req/s", Axis::Linear),
        &series,
    )
}

/// How every stack page's title starts (the template's), by which a report finds the pages it wrote.
pub(crate) const STACK_PAGE_TITLE: &str = "<title>stackbench: ";

/// One page per stack (`<stem>.html`, its name as a file name): each workload's capacity probes, and
/// its levels with their second-by-second charts. Self-contained like the main page.
pub fn scenario_pages(report: &Report) -> Vec<(String, String)> {
    let with_baseline = has_baseline(report);
    let mut stacks: Vec<&str> = report.summary.iter().flat_map(|g| g.rows.iter().map(|r| r.stack.as_str())).collect();
    stacks.sort_unstable();
    stacks.dedup();
    stacks
        .into_iter()
        .map(|stack| {
            let workloads = report
                .summary
                .iter()
                .filter(|g| g.rows.iter().any(|r| r.stack == stack))
                .map(|g| {
                    let capacity = g.rows.iter().find(|r| r.stack == stack).and_then(|r| r.capacity.as_ref());
                    let followed: Vec<&crate::history::History> =
                        report.history.iter().filter(|h| h.stack == stack && h.workload == g.workload).collect();
                    let history_table =
                        if followed.is_empty() { (Vec::new(), Vec::new()) } else { crate::history::table(&followed) };
                    let rows: Vec<(usize, &Row)> = report
                        .groups
                        .iter()
                        .filter(|l| l.workload == g.workload)
                        .filter_map(|l| Some((l.connections, l.rows.iter().find(|r| r.stack == stack)?)))
                        .collect();
                    let level_profiles = rows.iter().filter_map(|(connections, row)| {
                        let (profile, own_rps) = row.profile.as_ref()?;
                        let at = At::Connections(*connections);
                        Some((
                            format!("Profile at {at}"),
                            profile_view(profile, *own_rps, &format!("{stack}: {} at {at}", g.workload.request())),
                        ))
                    });
                    let capacity_profile = capacity.and_then(|c| c.profile.as_ref()).map(|(profile, hold_rps)| {
                        let title = format!("{stack}: {} at {}", g.workload.request(), At::Capacity);
                        ("Profile at the capacity".to_string(), profile_view(profile, *hold_rps, &title))
                    });
                    let profiles = level_profiles.chain(capacity_profile).collect();
                    let levels = rows
                        .into_iter()
                        .map(|(connections, row)| {
                            let (cells, notes) = without_notes(level_cells(row, with_baseline));
                            ScenarioLevel {
                                connections,
                                cells,
                                notes,
                                rps_chart: line_chart(
                                    &format!("req/s each second, {connections} connections"),
                                    ("second", Axis::Linear),
                                    ("req/s", Axis::Linear),
                                    &[Series::of(
                                        stack,
                                        row.per_second.iter().map(|s| (s.second as f64, s.requests as f64)).collect(),
                                    )],
                                ),
                                p99_chart: line_chart(
                                    &format!("p99 each second, {connections} connections"),
                                    ("second", Axis::Linear),
                                    ("p99 ms", Axis::Linear),
                                    &[Series::of(
                                        stack,
                                        row.per_second
                                            .iter()
                                            .filter_map(|s| Some((s.second as f64, s.p99_us? as f64 / 1000.0)))
                                            .collect(),
                                    )],
                                ),
                            }
                        })
                        .collect();
                    ScenarioWorkload {
                        title: summary_title(g),
                        capacity: capacity
                            .map(|c| match c.kinds.as_str() {
                                "" => format!("{} ({})", capacity_figure(c), c.status),
                                kinds => format!("{} ({}); at it: {kinds}", capacity_figure(c), c.status),
                            })
                            .unwrap_or_default(),
                        knee_chart: capacity.map(|c| knee_chart(&g.workload, c)).unwrap_or_default(),
                        history_headers: history_table.0,
                        history_rows: history_table.1,
                        scaling_charts: report
                            .scaling
                            .iter()
                            .filter(|s| s.workload == g.workload)
                            .filter(|s| report.variants.get(stack).is_some_and(|v| v.family == s.family))
                            .map(scaling_chart)
                            .collect(),
                        probes: capacity
                            .map(|c| {
                                c.probes
                                    .iter()
                                    .enumerate()
                                    .map(|(i, p)| {
                                        [
                                            (i + 1).to_string(),
                                            metric(p.offered),
                                            time_us(p.p50_us as f64),
                                            time_us(p.p99_us as f64),
                                            format!(
                                                "{}{}",
                                                if p.passed {
                                                    "pass".into()
                                                } else {
                                                    format!("fail: {}", p.failed.join(", "))
                                                },
                                                p.decided_after_s
                                                    .map_or(String::new(), |s| format!(" (certain after {s:.1} s)"))
                                            ),
                                        ]
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        levels,
                        profiles,
                    }
                })
                .collect();
            let facts = report.stacks.get(stack).map_or(&[][..], Vec::as_slice);
            let page = ScenarioPage {
                stack,
                facts,
                description: facts.iter().find(|(key, _)| key == "description").map(|(_, v)| v.as_str()),
                headers: without_notes(headers(report)).0,
                workloads,
            };
            let context = tera::Context::from_serialize(&page).expect("the page serializes");
            let html = tera::Tera::one_off(SCENARIO_TEMPLATE, &context, true).expect("the built-in template renders");
            (format!("{}.html", report.pages.get(stack).map_or(stack, String::as_str)), html)
        })
        .collect()
}
