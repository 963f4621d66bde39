//! Comparison reports from stored results files.
//!
//! Architecture invariant: the report reads results files and writes report
//! files; it never runs a benchmark. Same inputs, same bytes: nothing in the
//! output depends on the time or the order files were found in.

mod charts;
pub mod export;
mod html;
pub mod model;
pub mod units;

use std::path::{Path, PathBuf};

use record::RunRecord;

pub use export::Exporter;
pub use html::Html;
pub use model::{build, compare, Report, Row, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read results '{}': {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("no results files under '{}'; run `cargo xtask bench scenarios/NAME.toml` first", .0.display())]
    Empty(PathBuf),
    #[error("cannot write report '{}': {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// Which runs to report on.
#[derive(Debug, Clone, Default)]
pub enum Selection {
    /// For each scenario, the runs of its latest `bench` invocation (all its repeats).
    #[default]
    Latest,
    /// Every run found.
    All,
    /// These files, or every results file under these folders.
    Paths(Vec<PathBuf>),
}

/// Reads the selected results under `results_dir`. File names in the report
/// are relative to `base` (the project root), so that output is the same
/// wherever the project lives.
pub fn select(results_dir: &Path, selection: &Selection, base: &Path) -> Result<Vec<(String, RunRecord)>, Error> {
    let mut files = Vec::new();
    match selection {
        Selection::Paths(paths) => {
            for p in paths {
                if p.is_dir() {
                    collect(p, &mut files)?;
                } else {
                    files.push(p.clone());
                }
            }
        }
        Selection::Latest | Selection::All => collect(results_dir, &mut files)?,
    }
    files.sort();
    files.dedup();
    let mut records = Vec::new();
    for path in files {
        let record = RunRecord::read(&path).map_err(|e| Error::Read { path: path.clone(), reason: e.to_string() })?;
        let name = path.strip_prefix(base).unwrap_or(&path).display().to_string();
        records.push((name, record));
    }
    if let Selection::Latest = selection {
        let mut latest: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        for (_, r) in &records {
            let suite = suite_of(r);
            let entry = latest.entry(r.scenario.name.clone()).or_default();
            if suite > *entry {
                *entry = suite;
            }
        }
        records.retain(|(_, r)| latest.get(&r.scenario.name) == Some(&suite_of(r)));
    }
    if records.is_empty() {
        return Err(Error::Empty(results_dir.to_path_buf()));
    }
    Ok(records)
}

/// Runs from before suites were recorded count as a suite of their own.
fn suite_of(r: &RunRecord) -> String {
    if r.suite_id.is_empty() {
        r.started_at.clone()
    } else {
        r.suite_id.clone()
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Read { path: dir.to_path_buf(), reason: e.to_string() })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

/// Writes every export of `report` into `out`; returns the files written.
pub fn write(report: &Report, out: &Path) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(out).map_err(|source| Error::Write { path: out.to_path_buf(), source })?;
    let mut written = Vec::new();
    for exporter in export::all() {
        let path = out.join(exporter.file_name());
        std::fs::write(&path, exporter.render(report)).map_err(|source| Error::Write { path: path.clone(), source })?;
        written.push(path);
    }
    Ok(written)
}
