//! `stackbench compare BASE CANDIDATE`: two stacks (two files, two variants of one, or one file at two
//! versions with `--baseline-ref`) run at once and loaded in alternating windows; the paired ratios
//! decide each figure (`runner::Runner::compare`, `stats::paired`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use plan::Choices;
use runner::{Cancel, CompareOptions, RunOptions, Runner};
use scenario::parse_duration;

use crate::bench::{print_event, watch_signals, EXIT_REGRESSION};
use crate::progress::Screen;
use crate::EXIT_INTERRUPTED;

#[derive(Debug, Clone, Args)]
#[command(after_help = "BASE and CANDIDATE are scenario files, or a matrix file's variant as \
FILE[key=value,...], e.g. 'scenarios/gunicorn-flask.toml[worker=sync,workers=1,python=3.11]'. With \
--baseline-ref, give CANDIDATE only: BASE is the same file at that git ref, built from a worktree.\n\nExit codes: 0 no \
figure worse (a warning when some are undecided); 1 the two cannot be compared (a build, start or verification \
failed, no endpoint in common), or another run holds the CPUs; 2 bad arguments; 3 with --fail-on regression, a \
figure is worse (with --fail-on undecided, also when one is undecided); 130 interrupted")]
pub struct CompareOpts {
    /// BASE then CANDIDATE (CANDIDATE alone with --baseline-ref)
    #[arg(required = true, num_args = 1..=2, value_name = "SCENARIO")]
    pub scenarios: Vec<String>,
    /// BASE is CANDIDATE's scenario at this git ref (a commit, branch or tag of its project's repository)
    #[arg(long, value_name = "GIT_REF")]
    pub baseline_ref: Option<String>,
    /// The open-loop windows' offered rate in req/s [default: 70% of BASE's capacity, searched first, for an
    /// endpoint with objectives; else no open-loop figures]
    #[arg(long)]
    pub rate: Option<f64>,
    /// The closed-loop windows' connections [default: the middle of BASE's levels]
    #[arg(long)]
    pub connections: Option<usize>,
    /// Each window's measured length
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub window: Duration,
    /// Each window's warm-up
    #[arg(long, value_parser = parse_duration, default_value = "500ms")]
    pub warmup: Duration,
    /// Stop after this many pairs of windows per figure even when undecided
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(stats::paired::MIN_PAIRS as u64..=400))]
    pub max_pairs: u64,
    /// The smallest change that matters for CPU per request, goodput and req/s, in percent
    #[arg(long, default_value_t = 3.0)]
    pub min_effect: f64,
    /// The smallest change that matters for p99, in percent
    #[arg(long, default_value_t = 10.0)]
    pub min_effect_p99: f64,
    /// Seeds the order of the windows
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Exit 3 when a figure is worse (`regression`), or worse or undecided (`undecided`)
    #[arg(long, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,
    /// Also write the comparison to this file (Markdown)
    #[arg(long, value_name = "FILE")]
    pub comparison: Option<PathBuf>,
    /// Print the comparison as JSON on stdout instead of the table
    #[arg(long)]
    pub json: bool,
    /// CPUs for the load generator; both servers get all the others
    #[arg(long, default_value = "0")]
    pub generator_cpus: String,
    /// The project the paths in scenario files are relative to [default: each scenario file's folder]
    #[arg(long)]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub reports: crate::ReportsFolder,
    /// Where results go; the comparison is written to its `comparisons/` [default: REPORTS/results]
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Set an environment variable on a service of both, e.g. db.ROWS=1000 (repeatable)
    #[arg(long = "set", value_name = "SERVICE.KEY=VALUE")]
    pub overrides: Vec<plan::Override>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// A figure worse beyond its interval and not shown smaller than the minimum effect
    Regression,
    /// As `regression`, and also a figure still undecided after --max-pairs
    Undecided,
}

/// `FILE` or `FILE[key=value,...]`: one scenario.
fn load_one(arg: &str, root: Option<&Path>) -> anyhow::Result<scenario::Loaded> {
    let (file, only) = match arg.strip_suffix(']').and_then(|a| a.split_once('[')) {
        Some((file, values)) => {
            (file, vec![values.parse::<scenario::Only>().map_err(|e| anyhow::anyhow!("{arg}: {e}"))?])
        }
        None => (arg, Vec::new()),
    };
    let file = Path::new(file);
    let pick = scenario::Pick { lists: Vec::new(), only };
    let mut expanded = scenario::load_file(file, &scenario::project_of(file, root), &pick)?;
    match expanded.variants.len() {
        1 => Ok(expanded.variants.remove(0)),
        0 => anyhow::bail!("{arg}: no variant of {} has those values", file.display()),
        n => anyhow::bail!(
            "{arg}: {} has {n} variants ({}); name one as FILE[key=value,...]",
            file.display(),
            expanded.keys.join(" x ")
        ),
    }
}

/// A git worktree of `reference` for the repository holding `project`, removed when dropped.
struct Worktree {
    repository: PathBuf,
    path: PathBuf,
    _folder: tempfile::TempDir,
}

impl Worktree {
    fn add(project: &Path, reference: &str) -> anyhow::Result<Worktree> {
        let git = |args: &[&str], dir: &Path| {
            std::process::Command::new("git").arg("-C").arg(dir).args(args).output().context("cannot run git")
        };
        let top = git(&["rev-parse", "--show-toplevel"], project)?;
        if !top.status.success() {
            anyhow::bail!("--baseline-ref: {} is not in a git repository", project.display());
        }
        let repository = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
        let folder = docker::temporary::folder("baseline-ref").context("cannot make a folder for the worktree")?;
        let path = folder.path().join("tree");
        let added = git(&["worktree", "add", "--detach", &path.to_string_lossy(), reference], &repository)?;
        if !added.status.success() {
            anyhow::bail!("--baseline-ref {reference}: {}", String::from_utf8_lossy(&added.stderr).trim());
        }
        Ok(Worktree { repository, path, _folder: folder })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let _ = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.repository)
            .args(["worktree", "remove", "--force"])
            .arg(&self.path)
            .output();
    }
}

pub fn run(opts: CompareOpts) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (base_arg, candidate_arg) = match (opts.scenarios.as_slice(), &opts.baseline_ref) {
        ([base, candidate], None) => (base.clone(), candidate.clone()),
        ([candidate], Some(_)) => (candidate.clone(), candidate.clone()),
        ([_], None) => anyhow::bail!("give BASE and CANDIDATE, or CANDIDATE with --baseline-ref GIT_REF"),
        (_, Some(_)) => anyhow::bail!("--baseline-ref: give CANDIDATE only (BASE is it at that ref)"),
        _ => unreachable!("clap takes one or two"),
    };
    let candidate = load_one(&candidate_arg, opts.root.as_deref())?;
    let mut worktree = None;
    let (base, base_source) = match &opts.baseline_ref {
        Some(reference) => {
            let tree = Worktree::add(&candidate.root, reference)?;
            let relative = std::fs::canonicalize(&candidate.path)?
                .strip_prefix(&tree.repository)
                .map(Path::to_path_buf)
                .context("the scenario file is not inside its repository")?;
            let root = opts.root.as_ref().and_then(|r| {
                std::fs::canonicalize(r).ok()?.strip_prefix(&tree.repository).ok().map(|r| tree.path.join(r))
            });
            let (file, variant) = match candidate_arg.split_once('[') {
                Some((_, rest)) => (tree.path.join(&relative), format!("[{rest}")),
                None => (tree.path.join(&relative), String::new()),
            };
            let base = load_one(&format!("{}{variant}", file.display()), root.as_deref())
                .with_context(|| format!("--baseline-ref {reference}: the scenario at that ref"))?;
            worktree = Some(tree);
            (base, format!("{} at {reference}", relative.display()))
        }
        None => (load_one(&base_arg, opts.root.as_deref())?, base_arg.clone()),
    };
    let generator_cpus = crate::bench::generator_cpus(&opts.generator_cpus)?;
    if let Some(n) = opts.connections {
        loadgen::check_connections(n).map_err(|reason| anyhow::anyhow!("--connections: {reason}"))?;
    }
    if let Some(rate) = opts.rate {
        loadgen::check_rate(rate).map_err(|reason| anyhow::anyhow!("--rate: {reason}"))?;
    }
    for (flag, pct) in [("--min-effect", opts.min_effect), ("--min-effect-p99", opts.min_effect_p99)] {
        if !(pct > 0.0 && pct < 100.0) {
            anyhow::bail!("{flag}: a percentage above 0 and below 100");
        }
    }
    let options = RunOptions {
        results: opts.results.clone().unwrap_or_else(|| opts.reports.results()),
        choices: Choices { generator_cpus, overrides: opts.overrides.clone(), ..Choices::default() },
        ca_bundle: Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")),
        started,
        suite_id: record::folder::new_suite_id(),
        verify_only: false,
        sweep: false,
        capacity: true,
        profile_rate_hz: runner::PROFILE_RATE_HZ,
    };
    let compare = CompareOptions {
        rate: opts.rate,
        connections: opts.connections,
        window: opts.window,
        warmup: opts.warmup,
        sequence: stats::paired::Sequence { max_pairs: opts.max_pairs as usize, ..Default::default() },
        min_effect: opts.min_effect / 100.0,
        min_effect_p99: opts.min_effect_p99 / 100.0,
        seed: opts.seed,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let sources = (base_source, candidate_arg.clone());
    let outcome = rt.block_on(async {
        let runner::Engines { local, server: engine, .. } =
            runner::Engines::connect(None, &[], 0, std::net::Ipv4Addr::LOCALHOST.into(), &mut |w| {
                eprintln!("warning: {w}")
            })
            .await?;
        let cancel = Cancel::new();
        tokio::spawn(watch_signals(cancel.clone()));
        let display = Screen::new(std::io::stderr().is_terminal());
        let runner = Runner::builder(engine, options)
            .cancel(cancel.clone())
            .observer(move |event| print_event(event, &display))
            .images_from(local)
            .build()?;
        runner.reap().await?;
        let compared = runner.compare(&base, &candidate, (&sources.0, &sources.1), &compare).await;
        anyhow::Ok((compared, cancel.is_cancelled()))
    })?;
    drop(worktree);
    let (compared, cancelled) = outcome;
    let compared = match compared {
        Err(e) if cancelled => {
            eprintln!("==> interrupted: {e}");
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
        other => other?,
    };
    let markdown = report::paired::markdown(&compared);
    if let Some(file) = &opts.comparison {
        std::fs::write(file, &markdown).with_context(|| format!("cannot write {}", file.display()))?;
        eprintln!("==> comparison: {}", file.display());
    }
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&compared)?);
    } else {
        let mut out = format!("\n{} against {}\n", compared.candidate, compared.base);
        crate::table::aligned(&mut out, &report::paired::HEADERS, &report::paired::rows(&compared));
        println!(
            "{out}\n{}\n{}",
            report::paired::verdict(&compared).replace("**", ""),
            report::paired::method(&compared)
        );
    }
    if cancelled {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    let (code, warning) = exit_code(report::paired::outcome(&compared), opts.fail_on);
    if let Some(w) = warning {
        eprintln!("warning: {w}");
        for line in report::paired::undecided(&compared) {
            eprintln!("  {line}");
        }
    }
    Ok(ExitCode::from(code))
}

/// The exit code of a comparison that ran to its end, and a warning to print: 3 when a figure is worse and
/// `--fail-on` was given (or one is undecided with `--fail-on undecided`); else 0, warning when some are
/// undecided.
fn exit_code(outcome: report::paired::Outcome, fail_on: Option<FailOn>) -> (u8, Option<String>) {
    use report::paired::Outcome;
    let undecided = |n| format!("{n} figure(s) undecided after the most pairs: not judged");
    match (outcome, fail_on) {
        (Outcome::Regressed(_), Some(_)) => (EXIT_REGRESSION, None),
        (Outcome::Undecided(n), Some(FailOn::Undecided)) => (EXIT_REGRESSION, Some(undecided(n))),
        (Outcome::Undecided(n), _) => (0, Some(undecided(n))),
        (Outcome::Regressed(_) | Outcome::Passed, None) | (Outcome::Passed, _) => (0, None),
    }
}

#[cfg(test)]
mod tests {
    use report::paired::Outcome;

    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(Outcome::Passed, Some(FailOn::Regression)), (0, None));
        assert_eq!(exit_code(Outcome::Regressed(2), Some(FailOn::Regression)).0, 3);
        assert_eq!(exit_code(Outcome::Regressed(2), None).0, 0, "without --fail-on it only reports");
        let (code, warning) = exit_code(Outcome::Undecided(1), Some(FailOn::Regression));
        assert_eq!(code, 0);
        assert!(warning.unwrap().contains("1 figure(s) undecided"));
        assert_eq!(exit_code(Outcome::Undecided(1), Some(FailOn::Undecided)).0, 3);
    }
}
