//! Published tables beside ours: ratios between stacks, judged against our interval; rendered from fixtures.

use report::reference::{Agreement, Reference};
use report::Exporter;

use crate::util::{level, named, record};

const FIXTURE: &str = r#"
title = "A post: /health at 100 connections"
source = "https://example.org/post"
hardware = "4 cores"
tool = "wrk"
settings = "100 connections"
differences = "theirs ran 4 workers"
endpoint = "health"
connections = 100

[[figures]]
label = "Theirs absent here"
stack = "gone"
rps = 50000

[[figures]]
label = "Fast"
stack = "fast"
rps = 20000

[[figures]]
label = "Agrees"
stack = "agrees"
rps = 10000

[[figures]]
label = "Higher here"
stack = "higher"
rps = 2000

[[figures]]
label = "One run"
stack = "single"
rps = 5000

[[figures]]
label = "No stack of ours"
rps = 100
"#;

/// Our figures: three runs each of `fast` (about 10k), `agrees` (about 5k: 0.5, theirs 0.5) and `higher`
/// (about 5k: 0.5, theirs 0.1); one run of `single` (4.5k: 0.45, theirs 0.25, within 2x).
fn ours() -> report::Report {
    let mut runs = Vec::new();
    for (stack, rps) in [
        ("fast", [9800.0, 10_000.0, 10_200.0]),
        ("agrees", [4900.0, 5000.0, 5100.0]),
        ("higher", [4900.0, 5000.0, 5100.0]),
    ] {
        for (i, r) in rps.iter().enumerate() {
            runs.push(record(stack, &format!("s{i}"), &[level(100, *r, 10_000)]));
        }
    }
    runs.push(record("single", "s0", &[level(100, 4500.0, 10_000)]));
    let mut report = report::build(&named(runs));
    report::with_references(&mut report, &[Reference::parse("fixture.toml", FIXTURE).unwrap()]);
    report
}

#[test]
fn ratios_are_judged_against_our_interval() {
    let report = ours();
    let section = &report.references[0];
    assert_eq!(section.denominator.as_deref(), Some("Fast"), "the first stack we measured too");
    let agreement: Vec<(&str, Agreement)> = section.rows.iter().map(|r| (r.label.as_str(), r.agreement)).collect();
    assert_eq!(
        agreement,
        vec![
            ("Theirs absent here", Agreement::NotMeasured),
            ("Fast", Agreement::Denominator),
            ("Agrees", Agreement::Agrees),
            ("Higher here", Agreement::OursHigher),
            ("One run", Agreement::Agrees),
            ("No stack of ours", Agreement::NotMeasured),
        ]
    );
    let agrees = &section.rows[2];
    assert!((agrees.theirs_ratio - 0.5).abs() < 1e-9);
    let (m, lo, hi) = agrees.ours_ratio.unwrap();
    assert!(lo < 0.5 && 0.5 < hi && (m - 0.5).abs() < 1e-9, "{:?}", agrees.ours_ratio);
    assert!(section.rows[4].one_run);
}

#[test]
fn a_one_run_ratio_is_called_different_only_beyond_the_one_run_factor() {
    let text = FIXTURE.replace("rps = 5000", "rps = 1000"); // theirs 0.05 against our 0.45: 9x apart
    let mut report = ours();
    report::with_references(&mut report, &[Reference::parse("fixture.toml", &text).unwrap()]);
    assert_eq!(report.references[0].rows[4].agreement, Agreement::OursHigher);
}

#[test]
fn none_measured_says_so() {
    let text = FIXTURE.replace("connections = 100", "connections = 2000");
    let mut report = ours();
    report::with_references(&mut report, &[Reference::parse("fixture.toml", &text).unwrap()]);
    let section = &report.references[0];
    assert_eq!(section.denominator, None);
    assert_eq!(section.verdict(), "None of its stacks was measured here at this level.");
}

#[test]
fn a_bad_file_says_which_and_why() {
    let err = Reference::parse("references/x.toml", "title = 1").unwrap_err().to_string();
    assert!(err.starts_with("reference references/x.toml: "), "{err}");
    let err =
        Reference::parse("references/x.toml", &FIXTURE.replace("rps = 100\n", "rps = 0\n")).unwrap_err().to_string();
    assert!(err.contains("rps must be above 0"), "{err}");
}

#[test]
fn the_reference_section() {
    let md = report::export::Markdown.render(&ours());
    let start = md.find("## Published figures beside ours").expect("a section");
    let end = md[start..].find("## Reading the figures").unwrap() + start;
    insta::assert_snapshot!(&md[start..end]);
    let html = report::html::Html.render(&ours());
    assert!(html.contains(r#"<section id="references">"#) && html.contains("ours higher beyond our interval"));
}
