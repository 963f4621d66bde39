//! Rows against a baseline: the change, and whether it is beyond the noise (the two intervals apart).

use crate::util::{level, named, record};

fn compared(now: &[f64], then: &[f64]) -> report::model::Change {
    let runs = |rps: &[f64], tag: &str| {
        named(
            rps.iter()
                .enumerate()
                .map(|(i, &r)| record("stack", &format!("{tag}{i}"), &[level(100, r, 20_000)]))
                .collect(),
        )
    };
    let mut report = report::build(&runs(now, "n"));
    report::compare(&mut report, &report::build(&runs(then, "b")));
    report.groups[0].rows[0].baseline.expect("the row has a baseline")
}

#[test]
fn a_change_beyond_the_noise_says_so() {
    let c = compared(&[5500.0, 5520.0, 5480.0], &[5000.0, 5010.0, 4990.0]);
    assert!((c.rps_change_pct - 10.0).abs() < 0.01, "{c:?}");
    assert_eq!(c.beyond_noise, Some(true));
}

#[test]
fn a_change_within_the_noise_says_so() {
    let c = compared(&[5100.0, 4600.0, 5600.0], &[5000.0, 4500.0, 5500.0]);
    assert_eq!(c.beyond_noise, Some(false), "{c:?}");
}

#[test]
fn single_runs_have_no_noise_to_judge_by() {
    let c = compared(&[5500.0], &[5000.0]);
    assert_eq!(c.beyond_noise, None);
    assert!((c.rps_change_pct - 10.0).abs() < 0.01);
}

#[test]
fn the_tables_gain_a_baseline_column() {
    use report::Exporter;
    let mut r = report::build(&named(vec![record("stack", "n", &[level(100, 5500.0, 20_000)])]));
    report::compare(&mut r, &report::build(&named(vec![record("stack", "b", &[level(100, 5000.0, 20_000)])])));
    let md = report::export::Markdown.render(&r);
    assert!(md.contains("| vs baseline |"), "{md}");
    assert!(md.contains("+10.0% req/s, +0.0% p99, noise unknown (too few runs)"), "{md}");
}

/// With a baseline column, the verdict is still the cell set in bold (it once was the baseline's).
#[test]
fn with_a_baseline_the_verdict_is_bold() {
    use report::Exporter;
    let failing = crate::util::Level { timeouts: 5000, ..level(100, 5500.0, 20_000) };
    let mut r = report::build(&named(vec![record("stack", "n", &[failing])]));
    report::compare(&mut r, &report::build(&named(vec![record("stack", "b", &[level(100, 5000.0, 20_000)])])));
    let md = report::export::Markdown.render(&r);
    let row = md.lines().find(|l| l.contains("+10.0% req/s")).unwrap();
    assert!(row.contains("| **error-bound** | +10.0% req/s"), "{row}");
}
