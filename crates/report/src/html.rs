//! `index.html`: one self-contained page (no network, no scripts) with the
//! tables and inline SVG charts, rendered from a tera template.

use record::At;
use serde::Serialize;

use crate::charts::{bar_chart, line_chart, Axis, Series};
use crate::compose::Report;
use crate::export::{
    best_per_budget, capacity_cells, capacity_figure, has_baseline, headers, is_text_column, level_cells,
    scaling_table, scaling_title, summary_cells, summary_title, verdict_legend, Exporter, CAPACITY_HEADERS,
    CAPACITY_INTRO, INTRO, LEAD, SCALING_INTRO, SUMMARY_HEADERS,
};
use crate::model::{Group, Row};
use crate::scaling::Scaling;
use crate::units::{metric, time_us};

const TEMPLATE: &str = include_str!("../templates/report.html.tera");
const SCENARIO_TEMPLATE: &str = include_str!("../templates/scenario.html.tera");

pub struct Html;

#[derive(Serialize)]
struct Page<'a> {
    lead: &'static str,
    intro: &'a str,
    verdicts: String,
    environment: &'a [(String, String)],
    headers: Vec<&'static str>,
    summary_intro: String,
    summary_headers: &'static [&'static str],
    /// Per column of the summary and capacity tables: it holds text (left-aligned).
    summary_text: Vec<bool>,
    capacity_text: Vec<bool>,
    summary: Vec<SummaryView>,
    scaling_intro: &'static str,
    scaling: Vec<ScalingView>,
    capacity_intro: &'static str,
    capacity_headers: &'static [&'static str],
    capacities: Vec<CapacityView>,
    endpoints: Vec<EndpointView>,
    not_runnable: &'a [(String, String)],
    files: &'a [String],
    references_intro: &'static str,
    reference_headers: &'static [&'static str],
    reference_text: Vec<bool>,
    references: Vec<ReferenceView>,
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
}

#[derive(Serialize)]
struct ScalingView {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    chart: String,
    per_cpu_chart: String,
}

#[derive(Serialize)]
struct CapacityView {
    title: String,
    rows: Vec<Vec<String>>,
    /// Latency against the offered rate, each probe a point: the curve whose knee is the capacity.
    chart: String,
}

#[derive(Serialize)]
struct EndpointView {
    title: String,
    throughput_chart: String,
    cpu_chart: String,
    groups: Vec<GroupView>,
}

#[derive(Serialize)]
struct GroupView {
    title: String,
    rows: Vec<RowView>,
    latency_chart: String,
}

#[derive(Serialize)]
struct RowView {
    verdict: &'static str,
    cells: Vec<String>,
}

impl Exporter for Html {
    fn file_name(&self) -> &'static str {
        "index.html"
    }

    fn render(&self, report: &Report) -> String {
        let with_baseline = has_baseline(report);
        let mut endpoints: Vec<EndpointView> = Vec::new();
        for group in &report.groups {
            let title = format!("{} {} ({})", group.workload.method, group.workload.path, group.workload.endpoint);
            if endpoints.last().is_none_or(|e| e.title != title) {
                let same: Vec<&Group> = report
                    .groups
                    .iter()
                    .filter(|g| {
                        (&g.workload.method, &g.workload.path, &g.workload.endpoint)
                            == (&group.workload.method, &group.workload.path, &group.workload.endpoint)
                    })
                    .collect();
                endpoints.push(EndpointView {
                    throughput_chart: line_chart(
                        &format!("req/s by connections: {}", group.workload.path),
                        ("connections", Axis::Log),
                        ("req/s", Axis::Linear),
                        &by_stack(&same, |g, r| r.map(|r| (g.connections as f64, r.rps.median))),
                    ),
                    cpu_chart: line_chart(
                        &format!("server CPU by req/s: {}", group.workload.path),
                        ("req/s", Axis::Linear),
                        ("server CPU %", Axis::Linear),
                        &by_stack(&same, |_, r| r.and_then(|r| Some((r.rps.median, r.server_cpu_pct?)))),
                    ),
                    title,
                    groups: Vec::new(),
                });
            }
            let keepalive = if group.workload.keepalive { "" } else { ", keep-alive off" };
            let series = |f: &dyn Fn(&crate::model::Row) -> Vec<(f64, f64)>| -> Vec<Series> {
                group.rows.iter().map(|r| Series::of(&r.stack, f(r))).collect()
            };
            let view = GroupView {
                title: format!("{}{keepalive}", At::Connections(group.connections)),
                rows: group
                    .rows
                    .iter()
                    .map(|r| RowView { verdict: r.verdict.label(), cells: level_cells(r, with_baseline) })
                    .collect(),
                latency_chart: line_chart(
                    &format!("latency by percentile, {}", At::Connections(group.connections)),
                    ("percentile", Axis::Percentile),
                    ("latency ms", Axis::Linear),
                    &series(&|r| r.percentiles.iter().map(|&(q, us)| (q, us / 1000.0)).collect()),
                ),
            };
            endpoints.last_mut().expect("pushed above").groups.push(view);
        }
        let capacities = report.capacities.iter().map(capacity_view).collect();
        let summary = report
            .summary
            .iter()
            .map(|group| {
                let bars: Vec<(String, f64)> =
                    group.rows.iter().filter(|r| r.bar() > 0.0).map(|r| (r.stack.clone(), r.bar())).collect();
                SummaryView {
                    title: summary_title(group),
                    chart: bar_chart(
                        &format!("{} {}", group.workload.method, group.workload.path),
                        "req/s: capacity at the objectives where searched (at least, when not found), else peak",
                        &bars,
                    ),
                    rows: group
                        .rows
                        .iter()
                        .map(|r| SummaryRowView {
                            page: report.pages.get(&r.stack).unwrap_or(&r.stack).clone(),
                            cells: summary_cells(r),
                        })
                        .collect(),
                    best: best_per_budget(report, group).map(|b| b.line()).unwrap_or_default(),
                }
            })
            .collect();
        let scaling = report
            .scaling
            .iter()
            .map(|s| {
                let (headers, rows) = scaling_table(s);
                let (chart, per_cpu_chart) = scaling_charts(s);
                ScalingView { title: scaling_title(s), headers, rows, chart, per_cpu_chart }
            })
            .collect();
        let page = Page {
            lead: LEAD,
            intro: INTRO,
            summary_intro: crate::export::summary_intro(),
            summary_headers: &SUMMARY_HEADERS,
            summary_text: SUMMARY_HEADERS.iter().map(|h| is_text_column(h)).collect(),
            capacity_text: CAPACITY_HEADERS.iter().map(|h| is_text_column(h)).collect(),
            summary,
            scaling_intro: SCALING_INTRO,
            scaling,
            capacity_intro: CAPACITY_INTRO,
            capacity_headers: &CAPACITY_HEADERS,
            capacities,
            verdicts: verdict_legend(),
            environment: &report.environment,
            headers: headers(report),
            endpoints,
            not_runnable: &report.not_runnable,
            files: &report.files,
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

/// A workload's capacity table, and its latency by offered load: a p50 and a
/// p99 line per stack through its probes, in order of rate.
fn capacity_view(group: &crate::model::CapacityGroup) -> CapacityView {
    let keepalive = if group.workload.keepalive { ", keep-alive off" } else { "" };
    let mut series = Vec::new();
    for row in &group.rows {
        let mut probes = row.probes.clone();
        probes.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push(Series {
            name: format!("{} p50", row.stack),
            thin: true,
            ..Series::of(&row.stack, probes.iter().map(|p| (p.0, p.1 as f64 / 1000.0)).collect())
        });
        series.push(Series {
            name: format!("{} p99", row.stack),
            ..Series::of(&row.stack, probes.iter().map(|p| (p.0, p.2 as f64 / 1000.0)).collect())
        });
    }
    CapacityView {
        title: format!("{} {} ({}){keepalive}", group.workload.method, group.workload.path, group.workload.endpoint),
        rows: group.rows.iter().map(capacity_cells).collect(),
        chart: line_chart(
            &format!("latency by offered load: {}", group.workload.path),
            // Offered rates span decades between stacks (100 to 40k req/s on /health).
            ("offered req/s", Axis::Log),
            ("latency ms", Axis::Log),
            &series,
        ),
    }
}

/// One series per stack across `groups` (the levels of one workload).
fn by_stack(
    groups: &[&Group],
    point: impl Fn(&Group, Option<&crate::model::Row>) -> Option<(f64, f64)>,
) -> Vec<Series> {
    let mut stacks: Vec<&str> = groups.iter().flat_map(|g| g.rows.iter().map(|r| r.stack.as_str())).collect();
    stacks.sort();
    stacks.dedup();
    stacks
        .into_iter()
        .map(|stack| {
            Series::of(
                stack,
                groups.iter().filter_map(|g| point(g, g.rows.iter().find(|r| r.stack == stack))).collect(),
            )
        })
        .collect()
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
    /// Each probe: its number, offered req/s, p50, p99.
    probes: Vec<[String; 4]>,
    levels: Vec<ScenarioLevel>,
    /// The levels' profiles, then the one at the capacity.
    profiles: Vec<(String, ProfileView)>,
}

#[derive(Serialize)]
struct ScenarioLevel {
    connections: usize,
    cells: Vec<String>,
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
pub fn scaling_charts(s: &Scaling) -> (String, String) {
    let line = |per_cpu: bool| -> Vec<Series> {
        s.series
            .iter()
            .map(|series| {
                let points = series.points.iter().map(|p| (p.x, if per_cpu { p.per_cpu } else { p.rps })).collect();
                Series::of(&series.label, points)
            })
            .collect()
    };
    let what = format!("{} {}", s.family, s.workload.path);
    (
        line_chart(
            &format!("req/s by {}: {what}", s.key),
            (&s.key, Axis::Linear),
            ("req/s", Axis::Linear),
            &line(false),
        ),
        line_chart(
            &format!("req/s per CPU of the limit by {}: {what}", s.key),
            (&s.key, Axis::Linear),
            ("req/s per CPU", Axis::Linear),
            &line(true),
        ),
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
                            profile_view(profile, *own_rps, &format!("{stack}: {} at {at}", g.workload.path)),
                        ))
                    });
                    let capacity_profile = capacity.and_then(|c| c.profile.as_ref()).map(|(profile, hold_rps)| {
                        let title = format!("{stack}: {} at {}", g.workload.path, At::Capacity);
                        ("Profile at the capacity".to_string(), profile_view(profile, *hold_rps, &title))
                    });
                    let profiles = level_profiles.chain(capacity_profile).collect();
                    let levels = rows
                        .into_iter()
                        .map(|(connections, row)| ScenarioLevel {
                            connections,
                            cells: level_cells(row, with_baseline),
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
                        })
                        .collect();
                    ScenarioWorkload {
                        title: summary_title(g),
                        capacity: capacity
                            .map(|c| format!("{} ({})", capacity_figure(c), c.status))
                            .unwrap_or_default(),
                        probes: capacity
                            .map(|c| {
                                c.probes
                                    .iter()
                                    .enumerate()
                                    .map(|(i, p)| {
                                        [(i + 1).to_string(), metric(p.0), time_us(p.1 as f64), time_us(p.2 as f64)]
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
                headers: headers(report),
                workloads,
            };
            let context = tera::Context::from_serialize(&page).expect("the page serializes");
            let html = tera::Tera::one_off(SCENARIO_TEMPLATE, &context, true).expect("the built-in template renders");
            (format!("{}.html", report.pages.get(stack).map_or(stack, String::as_str)), html)
        })
        .collect()
}
