//! `cargo xtask`: project chores (tests, benchmarks) as one small binary.
//!
//! Each subcommand lives in its own file; heavy lifting belongs in the
//! library crates, not here.

mod bench_loadgen;
mod sys;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  test                 run the whole test suite (installs what the tests need)
  bench-loadgen        compare `stackbench load` with wrk against nginx on this machine
                       [--duration 10s] [--rounds 3] [--connections 50,1000] [--big 19000]
  bench FILE...        run scenario files (not built yet: see issue 3)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("bench-loadgen") => bench_loadgen::run(&args[1..]),
        Some("bench") => Err(anyhow::anyhow!(
            "scenario runs are not built yet (issue 3); until then drive a server you started yourself with \
             `cargo run --release -p stackbench -- load http://127.0.0.1:PORT/`"
        )),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(anyhow::anyhow!("{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The project's test command, as README.md and `.ci/run` call it.
fn test(args: &[String]) -> anyhow::Result<()> {
    let root = sys::project_root();
    sys::step("running cargo test --workspace");
    sys::run(
        std::process::Command::new(sys::cargo())
            .current_dir(&root)
            .args(["test", "--workspace", "--locked"])
            .args(args),
    )
}
