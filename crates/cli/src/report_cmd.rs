//! `stackbench report`: the comparison from stored results, without re-running.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use report::Selection;

#[derive(Debug, Clone, Args)]
pub struct ReportOpts {
    /// Results files or folders [default: the latest run of each scenario under REPORTS/results]
    pub results: Vec<PathBuf>,
    /// Every run under REPORTS/results, not only each scenario's latest
    #[arg(long, conflicts_with = "results")]
    pub all: bool,
    #[command(flatten)]
    pub reports: crate::ReportsFolder,
    /// Where the report goes [default: REPORTS]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Compare every row with the same row of this results file or folder
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Paths in the report are written relative to this folder [default: the current folder]
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// Published tables the report sets beside its figures, under the project root (`report::reference`).
pub const REFERENCES: &str = "references";

pub fn run(opts: ReportOpts) -> anyhow::Result<ExitCode> {
    let root = crate::project_root(opts.root.as_deref())?;
    let selection = if opts.all {
        Selection::All
    } else if opts.results.is_empty() {
        Selection::Latest
    } else {
        Selection::Paths(opts.results.clone())
    };
    let records = report::select(&opts.reports.results(), &selection, &root)?;
    let mut built = report::build(&records);
    // Figures across commits are read from every run, not only each stack's latest suite.
    match selection {
        Selection::Latest => {
            report::with_history(&mut built, &report::select(&opts.reports.results(), &Selection::All, &root)?)
        }
        _ => report::with_history(&mut built, &records),
    }
    let references = report::reference::Reference::read_dir(&root.join(REFERENCES))?;
    report::with_references(&mut built, &references);
    built.command = crate::invoked_as("report");
    if let Some(baseline) = &opts.baseline {
        let base = report::select(baseline, &Selection::Paths(vec![baseline.clone()]), &root)?;
        report::compare(&mut built, &report::build(&base));
    }
    let out = opts.out.clone().unwrap_or_else(|| opts.reports.dir.clone());
    let mut text = String::new();
    let written = report::write(&built, &out)?;
    for path in &written.files {
        text.push_str(&format!("wrote {}\n", path.display()));
    }
    for path in &written.removed {
        text.push_str(&format!("removed {} (a stack no longer in the report)\n", path.display()));
    }
    text.push_str(&crate::table::render_summary(&built));
    text.push_str(&format!(
        "\nfrom {} run(s){}: {} workload/level group(s), {} not runnable\n",
        built.files.len(),
        match built.machine.left_out_runs() {
            0 => String::new(),
            n => format!(
                " on {} ({n} on other CPUs left out: see the report's environment)",
                built.machine.cpu_model.as_deref().unwrap_or_default()
            ),
        },
        built.groups.len(),
        built.not_runnable.len()
    ));
    // A reader that stops early (`stackbench report | head`) is not an error: the report files are written.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}
