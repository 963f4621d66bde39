//! Matrix variants in the report: each family against the numeric key it varies
//! (the table and both charts), and the best stack per CPU budget.

use loadgen::capacity::Status;
use record::RunRecord;
use report::Exporter;

use crate::util::{level, named, record, searched};

/// `family[key=value,...]` with its values and the server's CPU limit recorded as the runner does.
fn variant(mut run: RunRecord, family: &str, values: &[(&str, &str)], cpus: f64) -> RunRecord {
    let list: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    run.scenario.name = format!("{family}[{}]", list.join(","));
    run.scenario.slug = format!("{family}_{}", list.join("_").replace('=', "-"));
    run.scenario.family = family.into();
    run.scenario.matrix = values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    run.provenance.server_cpus = cpus;
    run
}

/// Two families: one swept over CPU budgets for two Python versions (peak req/s
/// only), one over workers with capacity searches; and a plain stack at 1 CPU.
fn fixture() -> report::Report {
    let mut runs = Vec::new();
    for (python, scale) in [("3.11", 1.0), ("3.13", 1.2)] {
        for cpus in ["0.25", "0.5", "1"] {
            let budget: f64 = cpus.parse().unwrap();
            let rps = 4000.0 * budget.powf(0.9) * scale;
            let run = record("fastapi", "s1", &[level(10, rps, 2_000), level(100, rps * 1.05, 20_000)]);
            runs.push(variant(run, "fastapi", &[("cpus", cpus), ("python", python)], budget));
        }
    }
    for (workers, capacity) in [("1", 3000.0), ("2", 5200.0), ("4", 4800.0)] {
        let probes = [(capacity * 0.6, true, 5_000), (capacity * 1.2, false, 90_000), (capacity, true, 9_000)];
        let run = searched("granian", "s1", Status::Found, &probes);
        runs.push(variant(run, "granian", &[("workers", workers)], 1.0));
    }
    runs.push(record("go-nethttp", "s1", &[level(10, 9000.0, 1_000)]));
    report::build(&named(runs))
}

#[test]
fn a_family_is_drawn_against_the_key_it_varies() {
    let report = fixture();
    let keys: Vec<(&str, &str)> = report.scaling.iter().map(|s| (s.family.as_str(), s.key.as_str())).collect();
    assert_eq!(keys, [("fastapi", "cpus"), ("granian", "workers")]);
    let fastapi = &report.scaling[0];
    assert_eq!(fastapi.series.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(), ["python=3.11", "python=3.13"]);
    let markdown = report::export::Markdown.render(&report);
    let scaling = &markdown[markdown.find("## Scaling").unwrap()..markdown.find("## Reading the figures").unwrap()];
    insta::assert_snapshot!("scaling_markdown", scaling);
    insta::assert_snapshot!("scaling_chart", report::html::scaling_chart(fastapi));
}

#[test]
fn the_best_stack_per_cpu_budget_is_stated() {
    let report = fixture();
    let lines: Vec<String> = report.best_per_budget.iter().map(|b| b.line()).collect();
    insta::assert_snapshot!("best_per_budget", lines.join("\n"));
    // In the summary, under its workload's table, and on the page.
    let markdown = report::export::Markdown.render(&report);
    assert!(markdown.contains(&lines[0]), "{markdown}");
    let html = report::Html.render(&report);
    assert!(html.contains(&lines[0].replace('/', "&#x2F;")), "the page states it");
    // A variant's page is named by its slug, and the summary links to it.
    assert!(html.contains("href=\"fastapi_cpus-0.25_python-3.11.html\""));
    let pages = report::html::scenario_pages(&report);
    assert!(pages.iter().any(|(name, _)| name == "fastapi_cpus-0.25_python-3.11.html"));
}
