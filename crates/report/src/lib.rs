//! Comparison reports from stored results files.
//!
//! Architecture invariant: the report reads results files and writes report
//! files; it never runs a benchmark. Same inputs, same bytes: nothing in the
//! output depends on the time or the order files were found in.
#![deny(clippy::print_stdout, clippy::print_stderr)] // a library returns what it has to say (ARCHITECTURE.md)

pub mod charts;
pub mod compose;
pub mod export;
pub mod gate;
pub mod history;
pub mod html;
pub mod machine;
pub mod model;
pub mod notes;
pub mod paired;
pub mod profile;
pub mod protocols;
pub mod reference;
pub mod scaling;
pub mod summary;
pub mod units;
pub mod users;

use std::path::{Path, PathBuf};

use record::RunRecord;

pub use compose::{build, compare, with_history, with_references, Report};
pub use export::Exporter;
pub use html::Html;
pub use model::{Row, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read results '{}': {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error(
        "no results files under '{}'; run `stackbench bench FILE.toml` first (`cargo xtask bench scenarios/NAME.toml` \
         in stackbench's checkout)",
        .0.display()
    )]
    Empty(PathBuf),
    /// A baseline the gate cannot judge with.
    #[error("{0}")]
    Baseline(String),
    /// A reference file (`references/*.toml`) that cannot be read as one.
    #[error("reference {0}")]
    Reference(String),
    #[error("cannot write report '{}': {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// Which runs to report on.
#[derive(Debug, Clone, Default)]
pub enum Selection {
    /// The runs of each scenario's latest `bench` invocation (all its repeats),
    /// and, from earlier invocations, the levels and capacities it did not
    /// measure again (a rerun of one endpoint or level hides nothing else).
    #[default]
    Latest,
    /// Every run found.
    All,
    /// These files, or every results file under these folders.
    Paths(Vec<PathBuf>),
}

/// `path` as the report names it: relative to `base` when under it, whichever way either is spelled
/// (`.`, `reports/..`, absolute), so the same results name the same sources from any folder.
fn relative(path: &Path, base: &Path) -> String {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (path, base) = (canonical(path), canonical(base));
    path.strip_prefix(&base).unwrap_or(&path).display().to_string()
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
                    files.extend(
                        record::folder::files(p).map_err(|e| Error::Read { path: p.clone(), reason: e.to_string() })?,
                    );
                } else {
                    files.push(p.clone());
                }
            }
        }
        Selection::Latest | Selection::All => files.extend(
            record::folder::files(results_dir)
                .map_err(|e| Error::Read { path: results_dir.to_path_buf(), reason: e.to_string() })?,
        ),
    }
    files.sort();
    files.dedup();
    let mut records = Vec::new();
    for path in files {
        let record = RunRecord::read(&path).map_err(|e| Error::Read { path: path.clone(), reason: e.to_string() })?;
        let name = relative(&path, base);
        records.push((name, record));
    }
    if let Selection::Latest = selection {
        latest(&mut records);
    }
    if records.is_empty() {
        return Err(Error::Empty(results_dir.to_path_buf()));
    }
    Ok(records)
}

/// What one bench invocation measured and a later one may measure again: a
/// stack's workload at a level (its connections), or its capacity (none).
type Point = (String, record::Workload, Option<usize>);

fn level_point(stack: &str, l: &record::LevelRecord) -> Point {
    (stack.to_string(), l.workload(), Some(l.connections))
}

fn capacity_point(stack: &str, c: &record::CapacityRecord) -> Point {
    (stack.to_string(), c.workload(), None)
}

/// Keeps each scenario's latest suite whole, and of earlier suites only what
/// no later suite measured again; an earlier run left with nothing goes.
fn latest(records: &mut Vec<(String, RunRecord)>) {
    use std::collections::BTreeMap;
    // Suite ids sort by time; keep the greatest seen.
    fn keep_newest(entry: &mut String, suite: &str) {
        if suite > entry.as_str() {
            *entry = suite.to_string();
        }
    }
    let mut newest: BTreeMap<String, String> = BTreeMap::new();
    let mut newest_of: BTreeMap<Point, String> = BTreeMap::new();
    for (_, r) in records.iter() {
        let suite = record::folder::suite_of(r).to_string();
        let name = &r.scenario.name;
        keep_newest(newest.entry(name.clone()).or_default(), &suite);
        let levels = r.levels.iter().map(|l| level_point(name, l));
        for m in levels.chain(r.capacities.iter().map(|c| capacity_point(name, c))) {
            keep_newest(newest_of.entry(m).or_default(), &suite);
        }
    }
    records.retain_mut(|(_, r)| {
        let suite = record::folder::suite_of(r).to_string();
        if newest.get(&r.scenario.name) == Some(&suite) {
            return true;
        }
        let name = r.scenario.name.clone();
        r.levels.retain(|l| newest_of.get(&level_point(&name, l)) == Some(&suite));
        r.capacities.retain(|c| newest_of.get(&capacity_point(&name, c)) == Some(&suite));
        !r.levels.is_empty() || !r.capacities.is_empty()
    });
}

/// Every export the report is written as, one file each.
pub fn exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(export::Markdown),
        Box::new(export::Csv),
        Box::new(export::CapacityCsv),
        Box::new(export::Json),
        Box::new(html::Html),
    ]
}

/// What [`write`] did in a report's folder.
#[derive(Debug, Default)]
pub struct Written {
    pub files: Vec<PathBuf>,
    /// Pages of stacks no longer in the report, removed so that none is read as current.
    pub removed: Vec<PathBuf>,
}

/// Writes every export of `report` into `out`, then removes the stack pages
/// there that it did not write (a stack that left the report: renamed, or its
/// results archived). A page is a stack page by its title (`stackbench: STACK`,
/// the stack page template's); no other file is touched.
pub fn write(report: &Report, out: &Path) -> Result<Written, Error> {
    std::fs::create_dir_all(out).map_err(|source| Error::Write { path: out.to_path_buf(), source })?;
    let mut written = Written::default();
    for exporter in exporters() {
        let path = out.join(exporter.file_name());
        std::fs::write(&path, exporter.render(report)).map_err(|source| Error::Write { path: path.clone(), source })?;
        written.files.push(path);
    }
    for (name, page) in html::scenario_pages(report) {
        let path = out.join(name);
        std::fs::write(&path, page).map_err(|source| Error::Write { path: path.clone(), source })?;
        written.files.push(path);
    }
    let entries = std::fs::read_dir(out).map_err(|source| Error::Write { path: out.to_path_buf(), source })?;
    for path in entries.filter_map(|e| Some(e.ok()?.path())) {
        let is_page = path.extension().is_some_and(|e| e == "html") && !written.files.contains(&path);
        if is_page && is_stack_page(&path) {
            std::fs::remove_file(&path).map_err(|source| Error::Write { path: path.clone(), source })?;
            written.removed.push(path);
        }
    }
    written.removed.sort();
    Ok(written)
}

/// Whether the HTML file at `path` is a stack page a report wrote (the stack page template's title).
fn is_stack_page(path: &Path) -> bool {
    let head: Vec<u8> = std::fs::read(path).unwrap_or_default().into_iter().take(512).collect();
    String::from_utf8_lossy(&head).contains(html::STACK_PAGE_TITLE)
}
