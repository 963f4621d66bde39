//! `cargo xtask`: project chores (tests, benchmarks) as one small binary.
//!
//! Each subcommand lives in its own file; heavy lifting belongs in the
//! library crates, not here.

mod bench;
mod bench_gate;
mod bench_loadgen;
mod bench_overload;
mod bench_profile;
mod new;
mod report;
mod setup;
mod sys;
mod test;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  bench FILE...        benchmark the stacks in scenario files (sets up Docker first)
                       [--duration 5s] [--connections 50,100] [--repeat N] [--generator-cpus 0]
                       [--verify-only] [--set SERVICE.KEY=VALUE] [--capacity-only | --no-capacity]
  new NAME --like STACK  scaffold scenarios/NAME.toml and docker/NAME/ from an existing scenario
  report [RESULTS...]  regenerate reports/ from stored results (nothing is re-run) [--all] [--out DIR]
  test                 run the whole test suite (sets up Docker first), then build and verify
                       every scenario [--no-scenarios] [cargo test arguments]
  setup                make sure a Docker engine answers (installs docker.io, starts dockerd)
  bench-loadgen        compare `stackbench load` with wrk against nginx on this machine
                       [--duration 10s] [--rounds 3] [--connections 50,1000] [--big 19000]
  bench-overload       wrk and `stackbench load` against a server past its capacity (40 slots x
                       100 ms, 2000 connections): completed req/s and latency side by side [--duration 10s]
  bench-gate           the regression gates calibrated: A/A and +3/+5/+10% CPU per request, N times,
                       paired `compare` and stored `--baseline` side by side [--n 20] [--sizes 3,5,10]
                       [--work 1000000] [--paired-only]
  bench-profile        the profiler's cost on three Python stacks: each level without, with and again
                       without it, repeated; the median cost per stack [--repeat 5] [--duration 5s]
                       [--profile-rate HZ] [SCENARIO:ENDPOINT...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("setup") => setup::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("report") => report::run(&args[1..]),
        Some("new") => new::run(&args[1..]),
        Some("bench-loadgen") => bench_loadgen::run(&args[1..]),
        Some("bench-overload") => bench_overload::run(&args[1..]),
        Some("bench-gate") => bench_gate::run(&args[1..]),
        Some("bench-profile") => bench_profile::run(&args[1..]),
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
