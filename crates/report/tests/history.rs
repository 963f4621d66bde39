//! Figures across commits: a point per commit with its interval, and a mark where a change is beyond
//! the noise.

use loadgen::capacity::Status;
use report::history::Figure;

use crate::util::{named, searched};

/// Six commits, three runs each of one stack's /health search; capacities about 1000 req/s (within 2%)
/// until the fourth commit, about 1300 from it.
fn stepped() -> Vec<(String, record::RunRecord)> {
    let mut runs = Vec::new();
    for commit in 0..6 {
        for run in 0..3 {
            let rate = if commit < 3 { 1000.0 } else { 1300.0 } + [-15.0, 0.0, 18.0][run] + commit as f64;
            let suite = format!("{commit}{run}");
            let mut r = searched(
                "app",
                &suite,
                Status::Found,
                &[(rate, true, 9000), (rate * 2.0, false, 90_000), (rate, true, 9000)],
            );
            r.provenance.git_commit = Some(format!("c{commit}{}", "0".repeat(39)));
            r.started_at = format!("2026-12-0{}T00:00:{suite}Z", commit + 1);
            runs.push(r);
        }
    }
    named(runs)
}

#[test]
fn a_step_is_marked_where_it_is_and_nowhere_else() {
    let records = stepped();
    let mut report = report::build(&records);
    report::with_history(&mut report, &records);
    let capacity: Vec<&report::history::History> =
        report.history.iter().filter(|h| h.figure == Figure::Capacity).collect();
    assert_eq!(capacity.len(), 1);
    let h = capacity[0];
    let commits: Vec<&str> = h.points.iter().map(|p| &p.commit[..2]).collect();
    assert_eq!(commits, ["c0", "c1", "c2", "c3", "c4", "c5"], "in the order the commits were first measured");
    assert!(h.points.iter().all(|p| p.value.runs == 3));
    assert_eq!(h.changes, vec![3], "the step, once");
    assert!(h.change_words(3).contains("(+30%, better) at c3"), "{}", h.change_words(3));
    let md = report::Exporter::render(&report::export::Markdown, &report);
    assert!(
        md.contains("## Across commits")
            && md.contains("- app, GET /health (health): capacity 1.00k req/s -> 1.30k req/s"),
        "{md}"
    );
    let (_, page) = report::html::scenario_pages(&report).into_iter().next().unwrap();
    assert!(page.contains("<h3>Across commits</h3>") && page.contains("changed (better)"), "{page}");
}

#[test]
fn one_commit_has_no_history() {
    let records: Vec<_> = stepped().into_iter().take(3).collect();
    let mut report = report::build(&records);
    report::with_history(&mut report, &records);
    assert!(report.history.is_empty());
    assert!(!report::Exporter::render(&report::export::Markdown, &report).contains("## Across commits"));
}
