//! Which results files a report reads.

use std::path::Path;

use report::Selection;

use crate::util::{level, record, searched};
use loadgen::capacity::Status;

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
fn sources_are_named_from_the_root_however_the_paths_are_spelled() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "20261124T000001Z.json", "a", "20261124T000001Z-1");
    // An absolute results folder with a root spelled through `..`: the committed report once named its
    // sources by absolute path this way, and so differed in every other clone.
    let results = root.join("reports/results");
    let spelled = root.join("reports/..");
    let names: Vec<String> =
        report::select(&results, &Selection::Latest, &spelled).unwrap().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, vec!["reports/results/a/20261124T000001Z.json"]);
}

#[test]
fn a_later_partial_run_hides_only_what_it_measured_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let results = root.join("reports/results/a");
    std::fs::create_dir_all(&results).unwrap();
    // The first suite: levels 10 and 100, and a capacity.
    let mut first = record("a", "20261124T000001Z-1", &[level(10, 100.0, 1000), level(100, 200.0, 1000)]);
    first.capacities = searched("a", "20261124T000001Z-1", Status::Found, &[(50.0, true, 1000)]).capacities;
    first.write(&results.join("1.json")).unwrap();
    // The second measured level 100 again and nothing else.
    record("a", "20261124T000002Z-2", &[level(100, 300.0, 1000)]).write(&results.join("2.json")).unwrap();
    // The third searched the capacity again, and measured no level.
    let mut third = searched("a", "20261124T000003Z-3", Status::Found, &[(70.0, true, 1000)]);
    third.levels.clear();
    third.write(&results.join("3.json")).unwrap();

    let selected = report::select(&root.join("reports/results"), &Selection::Latest, root).unwrap();
    let what: Vec<(String, Vec<usize>, Vec<Option<f64>>)> = selected
        .iter()
        .map(|(name, r)| {
            let levels = r.levels.iter().map(|l| l.connections).collect();
            (name.clone(), levels, r.capacities.iter().map(|c| c.capacity.capacity_rps).collect())
        })
        .collect();
    assert_eq!(
        what,
        vec![
            ("reports/results/a/1.json".to_string(), vec![10], vec![]),
            ("reports/results/a/2.json".to_string(), vec![100], vec![]),
            ("reports/results/a/3.json".to_string(), vec![], vec![Some(70.0)]),
        ]
    );
}

#[test]
fn empty_or_broken_results_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("reports/results");
    std::fs::create_dir_all(results.join("x")).unwrap();
    let err = report::select(&results, &Selection::Latest, tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("run `stackbench bench FILE.toml` first (`cargo xtask bench scenarios/NAME.toml` in stackbench's"),
        "{err}"
    );
    std::fs::write(results.join("x/bad.json"), "{ not json").unwrap();
    let err = report::select(&results, &Selection::Latest, tmp.path()).unwrap_err().to_string();
    assert!(err.starts_with("cannot read results") && err.contains("bad.json"), "{err}");
}
