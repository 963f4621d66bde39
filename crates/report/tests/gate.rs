//! The regression gate: which figures regress, and its Markdown comparison.

use loadgen::capacity::Status;
use report::gate::{compare, Judgement};

use crate::util::{level, record, searched};

/// One run per value, each with one `/health` level at 100 connections.
fn runs(stack: &str, tag: &str, rps: &[f64], mean_us: u64) -> Vec<record::RunRecord> {
    rps.iter().enumerate().map(|(i, &r)| record(stack, &format!("{tag}{i}"), &[level(100, r, mean_us)])).collect()
}

fn judged(then: &[record::RunRecord], now: &[record::RunRecord]) -> Vec<(String, Judgement)> {
    let gate = compare(&then.iter().collect::<Vec<_>>(), &now.iter().collect::<Vec<_>>());
    gate.figures.iter().map(|f| (format!("{} {:?}", f.stack, f.measure), f.judgement())).collect()
}

#[test]
fn the_same_stack_within_its_spread_passes() {
    let then = runs("app", "b", &[5000.0, 5100.0, 4900.0], 2_000);
    let now = runs("app", "n", &[5050.0, 4950.0, 5150.0], 2_000);
    let judged = judged(&then, &now);
    assert_eq!(
        judged,
        vec![("app Rps".into(), Judgement::WithinNoise), ("app P99".into(), Judgement::WithinNoise)],
        "{judged:?}"
    );
}

#[test]
fn a_slower_stack_regresses_and_a_faster_one_improves() {
    let then = runs("app", "b", &[5000.0, 5100.0, 4900.0], 2_000);
    let slower = runs("app", "n", &[3000.0, 3100.0, 2950.0], 3_500);
    assert!(judged(&then, &slower).iter().all(|(_, j)| *j == Judgement::Regression));
    let faster = runs("app", "n", &[7000.0, 7100.0, 6950.0], 1_000);
    assert!(judged(&then, &faster).iter().all(|(_, j)| *j == Judgement::Improvement));
}

#[test]
fn too_few_runs_are_not_judged_however_large_the_change() {
    let then = runs("app", "b", &[5000.0, 5100.0], 2_000);
    let now = runs("app", "n", &[1000.0, 1100.0, 1050.0], 9_000);
    assert!(judged(&then, &now).iter().all(|(_, j)| *j == Judgement::NoRepeats));
}

/// The comparison as a pull request shows it: regressions first, a capacity no
/// longer found, figures only one side has.
#[test]
fn the_markdown_comparison() {
    let mut then = runs("app", "b", &[5000.0, 5100.0, 4900.0], 2_000);
    let mut now = runs("app", "n", &[3000.0, 3100.0, 2950.0], 3_500);
    let found = [(500.0, true, 5_000), (1000.0, true, 10_000), (2000.0, false, 90_000), (1000.0, true, 11_000)];
    let lost = [(500.0, false, 80_000), (250.0, false, 70_000)];
    for i in 0..3 {
        then.push(searched("api", &format!("b{i}"), Status::Found, &found));
        now.push(searched("api", &format!("n{i}"), Status::None, &lost));
    }
    then.extend(runs("gone", "b", &[100.0; 3], 1_000));
    now.extend(runs("new", "n", &[100.0; 3], 1_000));
    let gate = compare(&then.iter().collect::<Vec<_>>(), &now.iter().collect::<Vec<_>>());
    assert_eq!(gate.regressions(), 3);
    insta::assert_snapshot!(gate.markdown());
}

/// Runs on another CPU model are not a baseline: the gate judges nothing, whatever the figures say.
#[test]
fn a_baseline_on_another_cpu_is_not_judged() {
    let then = runs("app", "b", &[5000.0, 5100.0, 4900.0], 2_000);
    let mut now = runs("app", "n", &[3000.0, 3100.0, 2950.0], 3_500);
    let gate = compare(&then.iter().collect::<Vec<_>>(), &now.iter().collect::<Vec<_>>());
    assert_eq!(gate.outcome(), report::gate::Outcome::Regressed(2));
    for r in &mut now {
        r.provenance.cpu_model = "Other CPU".into();
    }
    let gate = compare(&then.iter().collect::<Vec<_>>(), &now.iter().collect::<Vec<_>>());
    assert_eq!(gate.outcome(), report::gate::Outcome::NotJudged);
    let md = gate.markdown();
    assert!(md.contains("**Not judged**: the baseline ran on Test CPU, this run on Other CPU"), "{md}");
    assert!(!md.contains("**regression**"), "{md}");
}
