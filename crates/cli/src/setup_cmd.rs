//! `stackbench setup`: a Docker engine that answers, and `debootstrap` (crate `setup`).

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Clone, Args)]
#[command(after_help = "As root on Debian (or Ubuntu) it installs docker.io and debootstrap with apt-get when they \
are missing and starts dockerd in the background (its log: /var/log/stackbench-dockerd.log); otherwise it says what \
to do. An engine named by DOCKER_HOST is used as it is.")]
pub struct SetupOpts {}

pub fn run(_opts: SetupOpts) -> anyhow::Result<ExitCode> {
    setup::machine(&mut |line| eprintln!("==> {line}"))?;
    eprintln!(
        "==> ready: `stackbench init` writes a scenario for the app in this folder, `stackbench bench FILE` runs one"
    );
    Ok(ExitCode::SUCCESS)
}
