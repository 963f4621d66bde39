//! `cargo xtask setup`: what `stackbench setup` does (crate `setup`), without
//! building stackbench first.

use crate::sys;

pub fn run() -> anyhow::Result<()> {
    Ok(setup::machine(&mut |line| sys::step(line))?)
}
