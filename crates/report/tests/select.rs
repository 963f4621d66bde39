//! Which results files a report reads.

use std::path::Path;

use report::Selection;

use crate::util::{level, record};

fn write(dir: &Path, name: &str, stack: &str, suite: &str) {
    let path = dir.join("reports/results").join(stack).join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    record(stack, suite, &[level(10, 100.0, 1000)]).write(&path).unwrap();
}

#[test]
fn latest_takes_every_repeat_of_the_latest_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "20261124T000001Z.json", "a", "20261124T000001Z-1");
    write(root, "20261124T000009Z.json", "a", "20261124T000009Z-7");
    write(root, "20261124T000010Z-r2.json", "a", "20261124T000009Z-7");
    write(root, "20261124T000002Z.json", "b", "20261124T000002Z-3");
    let results = root.join("reports/results");
    let names = |s: &Selection| -> Vec<String> {
        report::select(&results, s, root).unwrap().into_iter().map(|(name, _)| name).collect()
    };
    assert_eq!(
        names(&Selection::Latest),
        vec![
            "reports/results/a/20261124T000009Z.json",
            "reports/results/a/20261124T000010Z-r2.json",
            "reports/results/b/20261124T000002Z.json",
        ]
    );
    assert_eq!(names(&Selection::All).len(), 4);
    assert_eq!(names(&Selection::Paths(vec![results.join("b")])), vec!["reports/results/b/20261124T000002Z.json"]);
}

#[test]
fn empty_or_broken_results_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("reports/results");
    std::fs::create_dir_all(results.join("x")).unwrap();
    let err = report::select(&results, &Selection::Latest, tmp.path()).unwrap_err().to_string();
    assert!(err.contains("run `cargo xtask bench scenarios/NAME.toml` first"), "{err}");
    std::fs::write(results.join("x/bad.json"), "{ not json").unwrap();
    let err = report::select(&results, &Selection::Latest, tmp.path()).unwrap_err().to_string();
    assert!(err.starts_with("cannot read results") && err.contains("bad.json"), "{err}");
}
