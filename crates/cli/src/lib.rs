//! The `stackbench` command line: argument parsing and glue. The work is done
//! by the library crates; this crate wires them up and prints.

mod bench;
mod capacity;
mod clean;
mod compare_cmd;
mod help;
mod init_cmd;
mod k8s_cmd;
mod load;
mod new;
mod progress;
mod report_cmd;
mod setup_cmd;
pub mod summary;
pub mod table;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

pub use bench::BenchOpts;
pub use capacity::CapacityOpts;
pub use clean::CleanOpts;
pub use compare_cmd::CompareOpts;
pub use init_cmd::InitOpts;
pub use k8s_cmd::{K8sOpts, MergeOpts};
pub use load::LoadOpts;
pub use new::NewOpts;
pub use report_cmd::ReportOpts;
pub use setup_cmd::SetupOpts;

/// Exit code of a run stopped by Ctrl-C or SIGTERM (it printed its partial result).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Repeatable, honest benchmarks of web server stacks.
#[derive(Debug, Parser)]
#[command(name = "stackbench", version, about, after_help = EXIT_CODES, disable_help_subcommand = true)]
pub struct Opts {
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success, 1 the run could not be done (the message says why), \
2 bad arguments, 3 a figure regressed against --baseline (bench --fail-on regression), 130 interrupted (the partial result \
was printed)";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive an HTTP server with load, like wrk (closed loop) or wrk2 (--rate)
    Load(LoadOpts),
    /// Build, start and load the stacks described by scenario files, and store the results
    Bench(BenchOpts),
    /// Compare two stacks, or one at two versions, in alternating windows on the same machine: paired
    /// ratios with intervals, and a regression gate
    Compare(CompareOpts),
    /// Find the highest offered rate at which a server meets latency and error objectives
    Capacity(CapacityOpts),
    /// Render the comparison (Markdown, CSV, JSON) from stored results; runs nothing
    Report(ReportOpts),
    /// Scaffold a new scenario and build context from an existing scenario
    New(NewOpts),
    /// Render one level of a scenario as Kubernetes objects (server and sidecar pods, a generator Job)
    K8s(K8sOpts),
    /// Merge the results of generators that ran together (histograms added exactly)
    Merge(MergeOpts),
    /// Remove what stackbench made: containers of runs that are gone, the images it built, its temporary
    /// folders; says how much disk that freed (nothing without stackbench's labels is touched)
    Clean(CleanOpts),
    /// Write a scenario (stackbench.toml) for the app in a folder: its Dockerfile, or a Python WSGI or ASGI app
    Init(InitOpts),
    /// Make this machine ready: a Docker engine that answers (installs and starts one as root on Debian) and
    /// debootstrap (base images without a registry)
    Setup(SetupOpts),
    /// Print this help, a command's, or `help scenario`: the scenario file format, every key annotated
    Help(help::HelpOpts),
}

/// The folder results files (`results/`) and reports go to unless a flag names another: `--reports`, else
/// `STACKBENCH_REPORTS` (`cargo xtask` sets this checkout's `reports/`), else `stackbench-results/` in the
/// current folder.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportsFolder {
    /// Where results files (in its `results/`) and reports go
    #[arg(
        id = "reports",
        long = "reports",
        value_name = "DIR",
        env = "STACKBENCH_REPORTS",
        default_value = "stackbench-results"
    )]
    pub dir: std::path::PathBuf,
}

impl ReportsFolder {
    /// Where results files go: `<results>/<stack>/<UTC time>.json`.
    pub fn results(&self) -> std::path::PathBuf {
        self.dir.join("results")
    }
}

/// `stackbench SUB` as the user would type it again: `cargo xtask SUB` when this run came through stackbench's
/// own `cargo xtask` (which says so in `STACKBENCH_VIA`), else `stackbench SUB`.
pub(crate) fn invoked_as(sub: &str) -> String {
    match std::env::var("STACKBENCH_VIA") {
        Ok(via) if via == "cargo xtask" => format!("cargo xtask {sub}"),
        _ => format!("stackbench {sub}"),
    }
}

/// The folder relative paths are relative to: `--root`, or the current folder.
fn project_root(root: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    match root {
        Some(root) => Ok(root.to_path_buf()),
        None => std::env::current_dir().context("cannot find the current folder"),
    }
}

/// Runs the parsed command and returns the process exit code.
pub fn run(opts: Opts) -> anyhow::Result<ExitCode> {
    match opts.command {
        Command::Load(load) => load::run(load),
        Command::Bench(bench) => bench::run(bench),
        Command::Capacity(opts) => capacity::run(opts),
        Command::Compare(opts) => compare_cmd::run(opts),
        Command::Report(opts) => report_cmd::run(opts),
        Command::New(opts) => new::run(opts).map(|()| ExitCode::SUCCESS),
        Command::K8s(opts) => k8s_cmd::run(opts),
        Command::Merge(opts) => k8s_cmd::merge(opts),
        Command::Clean(opts) => clean::run(opts),
        Command::Setup(opts) => setup_cmd::run(opts),
        Command::Init(opts) => init_cmd::run(opts),
        Command::Help(opts) => help::run(opts).map(|()| ExitCode::SUCCESS),
    }
}

/// An error as one line for the user: each cause after the message, unless the text before it already says
/// it after a colon (many library errors name their source in their own message, as `cannot read scenario
/// 'x': No such file or directory`, and `{:#}` would say it twice).
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain().map(ToString::to_string) {
        if !message.contains(&format!(": {cause}")) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&cause);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    /// A cause is said once: not again when the message before it already holds it.
    #[test]
    fn an_error_says_each_cause_once() {
        #[derive(Debug)]
        struct Read {
            source: std::io::Error,
        }
        impl std::fmt::Display for Read {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "cannot read 'x': {}", self.source)
            }
        }
        impl std::error::Error for Read {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.source)
            }
        }
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let said_twice = anyhow::Error::new(Read { source: io() });
        assert_eq!(format!("{said_twice:#}"), "cannot read 'x': No such file or directory: No such file or directory");
        assert_eq!(super::error_message(&said_twice), "cannot read 'x': No such file or directory");
        let chained = Err::<(), _>(io()).context("cannot read 'y'").context("bench").unwrap_err();
        assert_eq!(super::error_message(&chained), "bench: cannot read 'y': No such file or directory");
        // A cause whose words stand in the message but not as its cause is still said.
        let named = Err::<(), _>(std::io::Error::other("timeout")).context("no timeout given").unwrap_err();
        assert_eq!(super::error_message(&named), "no timeout given: timeout");
    }

    /// clap's own checks of every subcommand's arguments (unique names, ...), which it makes only when a
    /// subcommand is parsed.
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Opts::command().debug_assert();
    }
}
