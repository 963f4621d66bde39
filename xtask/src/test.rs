//! `cargo xtask test`: the project's test command, as README.md and `.ci/run`
//! call it. The Docker tests need an engine, so it sets one up first; the
//! report's test renders the HTML in headless Chromium.

use std::process::Command;

use crate::{setup, sys};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    setup::run()?;
    sys::ensure_installed("chromium", "chromium")?;
    sys::step("running cargo test --workspace");
    sys::run(
        Command::new(sys::cargo())
            .current_dir(sys::project_root())
            .args(["test", "--workspace", "--locked"])
            .args(args),
    )
}
