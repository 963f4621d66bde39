//! `cargo xtask report [RESULTS...] [--all] [--out DIR]`: regenerates the
//! comparison from stored results (runs nothing, needs no Docker).

use std::process::Command;

use crate::sys;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut cmd = Command::new(sys::cargo());
    cmd.args(["run", "--quiet", "--release", "--locked", "-p", "stackbench", "--", "report", "--root"])
        .arg(sys::project_root())
        .args(args);
    sys::run(&mut cmd)
}
