//! `cargo xtask test`: the project's test command, as README.md and `.ci/run`
//! call it. The Docker tests need an engine, so it sets one up first; the
//! report's test renders the HTML in headless Chromium; the two-engine test
//! needs `ip` and `openssl`. Then every scenario
//! is built, started and verified (no load), with a small database.

use anyhow::Context;

use crate::{setup, sys};

/// Rows the MariaDB sidecar is seeded with when scenarios are only verified.
const VERIFY_DB_ROWS: &str = "db.DB_ROWS=1000";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let verify_scenarios = !args.iter().any(|a| a == "--no-scenarios");
    let cargo_args: Vec<&String> = args.iter().filter(|a| *a != "--no-scenarios").collect();
    setup::run()?;
    sys::ensure_installed("chromium", "chromium")?;
    // The two-engine test makes a bridge for the second dockerd and TLS certificates for it.
    sys::ensure_installed("ip", "iproute2")?;
    sys::ensure_installed("openssl", "openssl")?;
    sys::step("running cargo test --workspace");
    sys::run(
        sys::cargo_command()
            .current_dir(sys::project_root())
            .args(["test", "--workspace", "--locked"])
            .args(cargo_args),
    )?;
    if verify_scenarios {
        let scenarios = scenario_files()?;
        sys::step(&format!(
            "building and verifying {} scenario files, every variant of each matrix (no load; --no-scenarios skips this)",
            scenarios.len()
        ));
        let results = sys::project_root().join("target/verify-results").display().to_string();
        let mut bench_args =
            vec!["--verify-only".into(), "--set".into(), VERIFY_DB_ROWS.into(), "--results".into(), results];
        bench_args.extend(scenarios);
        sys::run(&mut sys::stackbench("bench", &bench_args))?;
    }
    Ok(())
}

/// `scenarios/*.toml`, sorted, as absolute paths.
fn scenario_files() -> anyhow::Result<Vec<String>> {
    let dir = sys::project_root().join("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    Ok(files)
}
