//! A level's load settings as the command line of a generator container or
//! pod: `stackbench load` with every setting of the `loadgen::Config`, so that
//! a generator anywhere runs what the generator in this process would.

use std::time::Duration;

use loadgen::{Config, RunLength};

/// A level that cannot go on a generator's command line.
#[derive(Debug, thiserror::Error)]
pub enum NoCommandLine {
    #[error("the request body is not UTF-8, and generators take it on their command line")]
    Body,
    #[error("a mix of requests runs from this process only: drop --generators for it")]
    Mix,
    #[error("a TLS server is loaded from this process only (the run's CA is a file here): drop --generators for it")]
    Tls,
}

/// The `stackbench load` arguments that run share `share` (`I/N`; `I` may be
/// a placeholder the orchestrator fills in, such as Kubernetes'
/// `$(JOB_COMPLETION_INDEX)`) of `config`, starting at `start_at` (seconds
/// since 1970), and print the result as JSON. `stackbench load` parses them
/// back into `config` with its share of the connections, threads and rate.
pub fn generator_args(config: &Config, share: &str, start_at: f64) -> Result<Vec<String>, NoCommandLine> {
    if !config.mix.is_empty() {
        return Err(NoCommandLine::Mix);
    }
    if config.target.tls {
        return Err(NoCommandLine::Tls);
    }
    let body = String::from_utf8(config.body.clone()).map_err(|_| NoCommandLine::Body)?;
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
    if let Some(http2) = config.http2 {
        let windows = http2.windows;
        args.extend(["--http2".into(), "--streams".into(), http2.streams.to_string()]);
        args.extend(["--h2-window".into(), windows.stream_window.to_string()]);
        args.extend(["--h2-connection-window".into(), windows.connection_window.to_string()]);
    }
    if let Some(rate) = config.rate {
        // The whole rate: `--share` takes this generator's part of it.
        args.extend(["--rate".into(), rate.to_string()]);
        if let loadgen::Arrivals::Poisson { seed } = config.arrivals {
            args.extend(["--arrivals".into(), "poisson".into(), "--seed".into(), seed.to_string()]);
        }
    }
    if let Some(think) = config.think {
        args.extend([
            "--think".into(),
            exact(think.mean),
            "--think-spread".into(),
            think.spread.name().into(),
            "--seed".into(),
            think.seed.to_string(),
        ]);
    }
    if config.seed != 1 && !args.iter().any(|a| a == "--seed") {
        args.extend(["--seed".into(), config.seed.to_string()]);
    }
    // The whole level's threads: `--share` takes no more than its connections.
    args.extend(["--threads".into(), config.n_threads.to_string()]);
    if let Some(cpus) = &config.cpus {
        args.extend(["--cpus".into(), cpus.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")]);
    }
    Ok(args)
}

/// `--share I/N`: generator `index` (from 0) of `of`, as [`generator_args`] writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub index: usize,
    pub of: usize,
}

impl std::str::FromStr for Share {
    type Err = String;

    fn from_str(s: &str) -> Result<Share, String> {
        let parsed = s.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, of)) if index < of => Ok(Share { index, of }),
            _ => Err(format!("'{s}' is not a share I/N with 0 <= I < N, e.g. 0/4")),
        }
    }
}

/// One generator's part of a level whose whole settings [`generator_args`] wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    pub connections: usize,
    /// Its part of the rate, in proportion to its connections.
    pub rate: Option<f64>,
    /// The level's threads, but no more than its own connections.
    pub threads: Option<usize>,
}

impl Share {
    /// This generator's part of `connections` (`loadgen::shares`), `threads` and `rate`; an error when
    /// the connections do not make this many shares.
    pub fn part(self, connections: usize, threads: Option<usize>, rate: Option<f64>) -> Result<Part, String> {
        let shares = loadgen::shares(connections, self.of);
        let Some(&mine) = shares.get(self.index) else {
            return Err(format!(
                "--share {}/{}: {connections} connections make only {} shares",
                self.index,
                self.of,
                shares.len()
            ));
        };
        Ok(Part {
            connections: mine,
            rate: rate.map(|r| r * mine as f64 / connections as f64),
            threads: threads.map(|t| t.min(mine)),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `--share I/N` as written and as taken: connections as `loadgen::shares` deals them, the rate in
    /// proportion, threads no more than the part's connections.
    #[test]
    fn a_share_takes_its_part_of_the_level() {
        let share: Share = "1/3".parse().unwrap();
        assert_eq!(share, Share { index: 1, of: 3 });
        for bad in ["3/3", "1", "a/b", "-1/2"] {
            assert!(bad.parse::<Share>().unwrap_err().contains("is not a share I/N"), "{bad}");
        }
        let part = share.part(10, Some(8), Some(1000.0)).unwrap();
        assert_eq!(part, Part { connections: 3, rate: Some(300.0), threads: Some(3) });
        assert_eq!(share.part(10, None, None).unwrap(), Part { connections: 3, rate: None, threads: None });
        let err = Share { index: 2, of: 3 }.part(2, None, None).unwrap_err();
        assert_eq!(err, "--share 2/3: 2 connections make only 2 shares");
    }
}
