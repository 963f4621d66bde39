//! Helpers shared by the subcommands: paths, child processes, installs.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

/// The workspace root, found from this crate's manifest directory.
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives one level below the root").to_path_buf()
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Cargo, without the variables `cargo run` set for this process
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...). Build scripts that watch one of
/// them (ring's watches `CARGO_MANIFEST_DIR`) would otherwise see a change
/// between a plain `cargo build` and a build started from here, and the two
/// would rebuild each other's dependencies in turn.
pub fn cargo_command() -> Command {
    let mut cmd = Command::new(cargo());
    for (key, _) in std::env::vars_os() {
        if let Some(key) = key.to_str().filter(|k| set_by_cargo_run(k)) {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The variables cargo sets for the program `cargo run` starts, and for no build.
fn set_by_cargo_run(key: &str) -> bool {
    matches!(
        key,
        "CARGO_MANIFEST_DIR"
            | "CARGO_MANIFEST_PATH"
            | "CARGO_MANIFEST_LINKS"
            | "CARGO_CRATE_NAME"
            | "CARGO_BIN_NAME"
            | "CARGO_PRIMARY_PACKAGE"
            | "CARGO_RUSTC_CURRENT_DIR"
    ) || key.starts_with("CARGO_PKG_")
}

/// Prints a step the way every subcommand announces what it does.
pub fn step(what: &str) {
    eprintln!("==> {what}");
}

/// Runs a command to completion; an exit other than 0 is an error naming it.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Makes sure `program` is on PATH (crate `setup`: apt-get as root on Debian).
pub fn ensure_installed(program: &str, package: &str) -> anyhow::Result<()> {
    Ok(setup::ensure_installed(program, package, &mut |line| step(line))?)
}

/// Keeps this process alive through SIGINT and SIGTERM while a child handles
/// them. A handler, not SIG_IGN: children get default handling back at exec.
pub fn ignore_interrupts_while_waiting() {
    extern "C" fn nothing(_: libc::c_int) {}
    // SAFETY: installs an async-signal-safe handler that does nothing.
    unsafe {
        libc::signal(libc::SIGINT, nothing as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, nothing as *const () as libc::sighandler_t);
    }
}

/// The release build of the `stackbench` binary, run as `SUBCOMMAND --root ROOT ARGS...`, with
/// results and reports in this checkout's `reports/`.
pub fn stackbench(subcommand: &str, args: &[String]) -> Command {
    let mut cmd = cargo_command();
    cmd.args(["run", "--quiet", "--release", "--locked", "-p", "stackbench", "--"]);
    stackbench_args(cmd, subcommand, args)
}

/// The `stackbench` binary at `binary` (a build made already), run as [`stackbench`] runs the release one.
pub fn stackbench_at(binary: &std::path::Path, subcommand: &str, args: &[String]) -> Command {
    stackbench_args(Command::new(binary), subcommand, args)
}

fn stackbench_args(mut cmd: Command, subcommand: &str, args: &[String]) -> Command {
    cmd.args([subcommand, "--root"])
        .arg(project_root())
        .args(args)
        .env("STACKBENCH_REPORTS", project_root().join("reports"))
        // What it prints names commands as they are typed here (`cargo xtask report`).
        .env("STACKBENCH_VIA", "cargo xtask");
    cmd
}
