//! `stackbench init [DIR]`: writes the scenario that benchmarks the app in a folder (crate `init`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct InitOpts {
    /// The app's folder (its repository)
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite the files init writes if they exist
    #[arg(long)]
    pub force: bool,
    /// Measure these paths (e.g. /health,/api/items) instead of the three init ranks first
    #[arg(long, value_delimiter = ',', value_name = "PATHS")]
    pub routes: Option<Vec<String>>,
    /// Where `bench` will keep results (left out of the build context by the `.dockerignore` init writes)
    #[command(flatten)]
    pub reports: crate::ReportsFolder,
}

pub fn run(opts: InitOpts) -> anyhow::Result<ExitCode> {
    let made = init::init(&opts.dir, &opts.reports.dir, opts.routes.as_deref())?;
    for line in &made.found {
        eprintln!("==> found {line}");
    }
    // `stackbench.toml` rather than `./stackbench.toml` in the app's own folder.
    let at = |file: &str| if opts.dir == std::path::Path::new(".") { PathBuf::from(file) } else { opts.dir.join(file) };
    let mut files = vec![(at(init::SCENARIO_FILE), made.scenario.as_str())];
    if let Some(dockerfile) = &made.dockerfile {
        files.push((at(init::DOCKERFILE), dockerfile.as_str()));
    }
    if let Some(dockerignore) = &made.dockerignore {
        files.push((at(".dockerignore"), dockerignore.as_str()));
    }
    if !opts.force {
        if let Some((path, _)) = files.iter().find(|(path, _)| path.exists()) {
            anyhow::bail!("{} exists; leaving it as it is (--force overwrites it)", path.display());
        }
    }
    for (path, text) in &files {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("==> wrote {}", path.display());
    }
    let scenario = &files[0].0;
    eprintln!(
        "==> next: read the lines marked CHECK in {}, then `stackbench bench --verify-only {}` (builds, starts and \
         requests each endpoint once) and `stackbench bench {}`",
        scenario.display(),
        scenario.display(),
        scenario.display()
    );
    Ok(ExitCode::SUCCESS)
}
