//! Snapshots of the human summary, from fixed results.

use crate::util::fixture;

#[test]
fn closed_loop_summary() {
    insta::assert_snapshot!(stackbench::summary::render(&fixture(false), false).unwrap());
}

#[test]
fn rate_summary_with_spectrum() {
    insta::assert_snapshot!(stackbench::summary::render(&fixture(true), true).unwrap());
}

#[test]
fn header_names_pinning_and_mode() {
    let opts = stackbench::LoadOpts {
        cpus: Some("0".into()),
        rate: Some(1000.0),
        ..parse(&["stackbench", "load", "http://127.0.0.1:9/x", "-c", "20", "-d", "3s", "--warmup", "1s"])
    };
    let config = opts.to_config().unwrap();
    insta::assert_snapshot!(stackbench::summary::header(&config), @r"
    Running 3.00s test @ http://127.0.0.1:9/x after a 1.00s warm-up
      1 threads and 20 connections, generator pinned to CPU 0, open loop at 1.00k req/s
    ");
}

fn parse(args: &[&str]) -> stackbench::LoadOpts {
    use clap::Parser;
    match stackbench::Opts::parse_from(args).command {
        stackbench::Command::Load(opts) => opts,
        other => panic!("not a load command: {other:?}"),
    }
}
