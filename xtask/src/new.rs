//! `cargo xtask new NAME --like STACK`: scaffolds a scenario and its build
//! context from an existing scenario (`stackbench new`; needs no Docker).

use crate::sys;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    sys::run(&mut sys::stackbench("new", args))
}
