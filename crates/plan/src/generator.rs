//! A level's load settings as the command line of a generator container or
//! pod: `stackbench load` with every setting of the `loadgen::Config`, so that
//! a generator anywhere runs what the generator in this process would.

use std::time::Duration;

use loadgen::{Config, RunLength};

/// A request body that cannot go on a command line.
#[derive(Debug, thiserror::Error)]
#[error("the request body is not UTF-8, and generators take it on their command line")]
pub struct NonUtf8Body;

/// The `stackbench load` arguments that run share `share` (`I/N`; `I` may be
/// a placeholder the orchestrator fills in, such as Kubernetes'
/// `$(JOB_COMPLETION_INDEX)`) of `config`, starting at `start_at` (seconds
/// since 1970), and print the result as JSON. `stackbench load` parses them
/// back into `config` with its share of the connections, threads and rate.
pub fn generator_args(config: &Config, share: &str, start_at: f64) -> Result<Vec<String>, NonUtf8Body> {
    let body = String::from_utf8(config.body.clone()).map_err(|_| NonUtf8Body)?;
    let mut args = vec![
        "load".to_string(),
        config.target.url.clone(),
        "--connections".into(),
        config.n_connections.to_string(),
        "--share".into(),
        share.to_string(),
    ];
    match config.stop {
        RunLength::Duration(d) => args.extend(["--duration".into(), exact(d)]),
        RunLength::Requests(n) => args.extend(["--requests".into(), n.to_string()]),
    }
    args.extend([
        "--warmup".into(),
        exact(config.warmup),
        "--timeout".into(),
        exact(config.timeout),
        "--pipeline".into(),
        config.pipeline.to_string(),
        "--method".into(),
        config.method.clone(),
    ]);
    if let Some(give_up) = config.give_up {
        args.extend(["--give-up".into(), exact(give_up)]);
    }
    if let Some(status) = config.expect.status {
        args.extend(["--expect-status".into(), status.to_string()]);
    }
    args.extend(["--start-at".into(), start_at.to_string(), "--json".into()]);
    for (name, value) in &config.headers {
        args.extend(["--header".into(), format!("{name}: {value}")]);
    }
    if !body.is_empty() {
        args.extend(["--body".into(), body]);
    }
    if let Some(want) = &config.expect.body {
        args.extend(["--expect-body".into(), String::from_utf8_lossy(want).into_owned()]);
    }
    if !config.keepalive {
        args.push("--no-keepalive".into());
    }
    if let Some(rate) = config.rate {
        // The whole rate: `--share` takes this generator's part of it.
        args.extend(["--rate".into(), rate.to_string()]);
    }
    // The whole level's threads: `--share` takes no more than its connections.
    args.extend(["--threads".into(), config.n_threads.to_string()]);
    if let Some(cpus) = &config.cpus {
        args.extend(["--cpus".into(), cpus.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")]);
    }
    Ok(args)
}

/// A duration that parses back to the same nanoseconds: `10s`, `250ms`, or `1500ns`.
fn exact(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else {
        format!("{ns}ns")
    }
}
