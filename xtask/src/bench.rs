//! `cargo xtask bench FILE...`: the main job. Sets up Docker, then runs the
//! release build of `stackbench bench` with the project root.

use anyhow::{bail, Context};

use crate::{setup, sys};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if args.is_empty() {
        bail!("bench needs scenario files, e.g. `cargo xtask bench scenarios/flask-gevent.toml`");
    }
    setup::run()?;
    sys::step("building stackbench (release)");
    let mut cmd = sys::stackbench("bench", args);
    // stackbench handles Ctrl-C itself (keep the finished levels, remove the
    // containers); this process waits for it instead of exiting first.
    sys::ignore_interrupts_while_waiting();
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
