//! The results folder: `RESULTS/<stack slug>/<UTC start>[-rN].json`, one file
//! per run of a stack; and which suite of it is the latest.

use std::path::{Path, PathBuf};

use crate::RunRecord;

/// `t` as a compact UTC stamp that sorts by time: `20261204T163214Z`.
pub fn compact_utc(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string().replace(['-', ':'], "")
}

/// A new suite's id: its start as [`compact_utc`] (so that ids sort by time, which [`latest_suite`]
/// relies on) and this process's id.
pub fn new_suite_id() -> String {
    format!("{}-{}", compact_utc(std::time::SystemTime::now()), std::process::id())
}

/// The folder of a results folder that holds `stackbench compare`'s records (not results files).
pub const COMPARISONS: &str = "comparisons";

/// Where a comparison started at `stamp` (compact UTC) is written.
pub fn comparison_file(results: &Path, stamp: &str) -> PathBuf {
    results.join(COMPARISONS).join(format!("{stamp}.json"))
}

/// Where run `repeat` (from 1) of the stack named `slug`, started at `stamp` (compact UTC), is written.
pub fn run_file(results: &Path, slug: &str, stamp: &str, repeat: u32) -> PathBuf {
    let suffix = if repeat > 1 { format!("-r{repeat}") } else { String::new() };
    results.join(slug).join(format!("{stamp}{suffix}.json"))
}

/// Where the flame graph of a profile of `workload` at `at` goes, beside its run's results file
/// (`RUN.profile-ENDPOINT-AT.svg`).
pub fn flame_graph_file(run_file: &Path, workload: &crate::Workload, at: crate::At) -> PathBuf {
    run_file.with_extension(format!("profile-{}-{}.svg", workload.endpoint, at.slug()))
}

/// Every results file below `dir`, at any depth, sorted (a folder of stacks,
/// one stack's folder, or a folder of such folders, as an archive is).
pub fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && path.file_name().is_some_and(|n| n != COMPARISONS) {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// The suite a run belongs to; runs from before suites were recorded count as a suite of their own.
pub fn suite_of(record: &RunRecord) -> &str {
    if record.suite_id.is_empty() {
        &record.started_at
    } else {
        &record.suite_id
    }
}

/// The latest suite among `records`: suite ids start with their UTC start, so the greatest.
pub fn latest_suite<'a>(records: impl IntoIterator<Item = &'a RunRecord>) -> Option<&'a str> {
    records.into_iter().map(suite_of).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_has_one_place_and_the_latest_suite_is_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let first = run_file(dir.path(), "flask-gevent", "20261204T100000Z", 1);
        let second = run_file(dir.path(), "flask-gevent", "20261204T100500Z", 2);
        assert_eq!(first, dir.path().join("flask-gevent/20261204T100000Z.json"));
        assert_eq!(second, dir.path().join("flask-gevent/20261204T100500Z-r2.json"));
        let health = crate::Workload::new("health", "GET", "/health", true);
        assert_eq!(
            flame_graph_file(&second, &health, crate::At::Capacity),
            dir.path().join("flask-gevent/20261204T100500Z-r2.profile-health-capacity.svg")
        );
        let older = RunRecord { suite_id: "20261203T090000Z-7".into(), ..crate::fixture::run("a", "00") };
        let newer = RunRecord { suite_id: "20261204T100000Z-9".into(), ..crate::fixture::run("a", "01") };
        let unnamed = RunRecord { suite_id: String::new(), ..crate::fixture::run("b", "02") };
        for (path, record) in [(&first, &older), (&second, &newer)] {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            record.write(path).unwrap();
        }
        std::fs::write(dir.path().join("flask-gevent/notes.txt"), "not a result").unwrap();
        assert_eq!(files(dir.path()).unwrap(), [first, second]);
        assert_eq!(latest_suite([&older, &newer]), Some("20261204T100000Z-9"));
        assert_eq!(suite_of(&unnamed), unnamed.started_at);
    }
}
