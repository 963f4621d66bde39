//! `cargo xtask report [RESULTS...] [--all] [--out DIR]`: regenerates the
//! comparison from stored results (runs nothing, needs no Docker).

use crate::sys;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    sys::run(&mut sys::stackbench("report", args))
}
