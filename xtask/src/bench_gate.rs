//! `cargo xtask bench-gate`: the regression gates calibrated on this machine. A Go server whose CPU per
//! request is a knob (`/work`, WORK iterations; `xtask/bench-gate/knob.toml`) is compared with itself
//! (A/A) and with copies made slower by +3%, +5% and +10% CPU per request (A/B), N times each, rounds
//! interleaved, by both gates: the paired `stackbench compare --fail-on regression` and the
//! stored-baseline `stackbench bench --baseline --fail-on regression` (3 repeats a side). It prints each
//! gate's false alarms, its detections at each size and the time a comparison took.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};

use crate::sys::{self, step};

const USAGE: &str = "usage: cargo xtask bench-gate [--n 20] [--sizes 3,5,10] [--work 1000000] [--paired-only]";

/// One gate's verdicts at one size: flagged (exit 3) of run, and the seconds each took.
#[derive(Default)]
struct Tally {
    flagged: usize,
    runs: usize,
    undecided: usize,
    seconds: Vec<f64>,
    /// The paired gate's CPU/req ratio estimates (the size measured, not the knob's).
    ratios: Vec<f64>,
}

struct Args {
    n: usize,
    sizes: Vec<f64>,
    work: u64,
    paired_only: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let mut parsed = Args { n: 20, sizes: vec![3.0, 5.0, 10.0], work: 1_000_000, paired_only: false };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--n" => parsed.n = value()?.parse().context("--n: a count")?,
            "--work" => parsed.work = value()?.parse().context("--work: a count of iterations")?,
            "--sizes" => {
                parsed.sizes = value()?
                    .split(',')
                    .map(|s| s.parse::<f64>().context("--sizes: percentages, e.g. 3,5,10"))
                    .collect::<anyhow::Result<_>>()?
            }
            "--paired-only" => parsed.paired_only = true,
            _ => bail!("{USAGE}"),
        }
    }
    if parsed.n == 0 {
        bail!("--n: at least 1");
    }
    Ok(parsed)
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let args = parse(args)?;
    let root = sys::project_root();
    crate::setup::run()?;
    step("building stackbench (release)");
    sys::run(sys::cargo_command().current_dir(&root).args(["build", "--release", "--locked", "-p", "stackbench"]))?;
    let stackbench = root.join("target/release/stackbench");
    let dir = root.join("target/bench-gate");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let template = std::fs::read_to_string(root.join("xtask/bench-gate/knob.toml"))?;
    let scenario = |work: u64| -> anyhow::Result<PathBuf> {
        let path = dir.join(format!("work-{work}.toml"));
        std::fs::write(&path, template.replace("{work}", &work.to_string()))?;
        Ok(path)
    };
    let base = scenario(args.work)?;
    let sb = |sub: &str| {
        let mut cmd = Command::new(&stackbench);
        cmd.arg(sub).arg("--root").arg(&root).env("STACKBENCH_REPORTS", dir.join("reports"));
        cmd
    };

    step("the open-loop rate: 70% of BASE's closed-loop req/s at 4 connections");
    let probe = dir.join("probe");
    sys::run(sb("bench").arg(&base).args(["--no-capacity", "--results"]).arg(&probe))?;
    let rps = first_rps(&probe)?;
    let rate = (rps * 0.7).round();
    step(&format!("{rps:.0} req/s closed loop: windows offer {rate:.0} req/s"));

    step("how much of a request's CPU the loop is: BASE against twice its work");
    let double = scenario(args.work * 2)?;
    let (_, share_json, _) = paired(&sb, &base, &double, rate, 0, &dir.join("share.json"))?;
    let share = (cpu_ratio(&share_json).context("no CPU/req ratio in the share comparison")? - 1.0).clamp(0.2, 1.0);
    step(&format!("the loop is {:.0}% of a request's CPU: +x% CPU per request is +x/{share:.2}% work", share * 100.0));

    let sizes: Vec<f64> = std::iter::once(0.0).chain(args.sizes.iter().copied()).collect();
    let mut paired_tally: Vec<Tally> = sizes.iter().map(|_| Tally::default()).collect();
    let mut stored_tally: Vec<Tally> = sizes.iter().map(|_| Tally::default()).collect();
    for round in 1..=args.n {
        for (i, &size) in sizes.iter().enumerate() {
            let work = (args.work as f64 * (1.0 + size / 100.0 / share)).round() as u64;
            let candidate = scenario(work)?;
            step(&format!("round {round} of {}: +{size}% CPU per request (WORK {work})", args.n));
            let out = dir.join(format!("paired-{round}-{size}.json"));
            let (code, json, seconds) = paired(&sb, &base, &candidate, rate, round as u64, &out)?;
            let t = &mut paired_tally[i];
            t.runs += 1;
            t.flagged += usize::from(code == 3);
            t.undecided += usize::from(code == 0 && json.contains("\"undecided\""));
            t.seconds.push(seconds);
            t.ratios.extend(cpu_ratio(&json));
            if !args.paired_only {
                let (code, seconds) = stored(&sb, &base, &candidate, &dir.join(format!("stored-{round}-{size}")))?;
                let t = &mut stored_tally[i];
                t.runs += 1;
                t.flagged += usize::from(code == 3);
                t.seconds.push(seconds);
            }
            println!("{}", table(&sizes, &paired_tally, &stored_tally, args.paired_only));
        }
    }
    let text = format!(
        "# cargo xtask bench-gate\n\nWORK {} ({} req/s closed loop; windows at {rate:.0} req/s); the loop is {:.0}% of a \
         request's CPU.\n\n{}",
        args.work,
        rps.round(),
        share * 100.0,
        table(&sizes, &paired_tally, &stored_tally, args.paired_only)
    );
    std::fs::write(dir.join("calibration.md"), &text)?;
    println!("\n{text}\n(written to {})", dir.join("calibration.md").display());
    Ok(())
}

/// The paired gate once: its exit code, its JSON and how long it took.
fn paired(
    sb: &dyn Fn(&str) -> Command,
    base: &Path,
    candidate: &Path,
    rate: f64,
    seed: u64,
    out: &Path,
) -> anyhow::Result<(i32, String, f64)> {
    let started = Instant::now();
    let output = sb("compare")
        .arg(base)
        .arg(candidate)
        .args(["--rate", &rate.to_string(), "--seed", &seed.to_string(), "--fail-on", "regression", "--json"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run stackbench compare")?;
    let code = output.status.code().unwrap_or(-1);
    if code != 0 && code != 3 {
        bail!("stackbench compare exited {code}");
    }
    let json = String::from_utf8_lossy(&output.stdout).into_owned();
    std::fs::write(out, &json)?;
    Ok((code, json, started.elapsed().as_secs_f64()))
}

/// The stored-baseline gate once: BASE with 3 repeats, then CANDIDATE with 3 against it.
fn stored(sb: &dyn Fn(&str) -> Command, base: &Path, candidate: &Path, dir: &Path) -> anyhow::Result<(i32, f64)> {
    let started = Instant::now();
    let (then, now) = (dir.join("base"), dir.join("candidate"));
    sys::run(sb("bench").arg(base).args(["--repeat", "3", "--no-capacity", "--results"]).arg(&then))?;
    let status = sb("bench")
        .arg(candidate)
        .args(["--repeat", "3", "--no-capacity", "--fail-on", "regression", "--results"])
        .arg(&now)
        .arg("--baseline")
        .arg(&then)
        .status()?;
    let code = status.code().unwrap_or(-1);
    if code != 0 && code != 3 {
        bail!("stackbench bench --baseline exited {code}");
    }
    Ok((code, started.elapsed().as_secs_f64()))
}

/// The first level's req/s of the results under `dir`.
fn first_rps(dir: &Path) -> anyhow::Result<f64> {
    let file = record::folder::files(dir)?.into_iter().next().context("no results file")?;
    let run = record::RunRecord::read(&file)?;
    run.levels.first().and_then(|l| l.load.as_ref()).map(|l| l.rps).context("no level measured")
}

/// The CPU per request ratio a comparison's JSON estimates.
fn cpu_ratio(json: &str) -> Option<f64> {
    let c: record::comparison::ComparisonRecord = serde_json::from_str(json).ok()?;
    c.endpoints
        .first()?
        .figures
        .iter()
        .find(|f| f.figure == record::comparison::Figure::CpuUsPerRequest)
        .map(|f| f.ratio)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

fn table(sizes: &[f64], paired: &[Tally], stored: &[Tally], paired_only: bool) -> String {
    let mut out = String::from("| gate | change | flagged | undecided | CPU/req ratio measured (median) | seconds per comparison (median) |\n|---|--:|--:|--:|--:|--:|\n");
    let gates: &[(&str, &[Tally])] = if paired_only {
        &[("paired compare", paired)]
    } else {
        &[("paired compare", paired), ("stored baseline", stored)]
    };
    for (gate, tallies) in gates {
        for (size, t) in sizes.iter().zip(tallies.iter()) {
            let change = if *size == 0.0 { "A/A".to_string() } else { format!("+{size}%") };
            let ratio = if t.ratios.is_empty() { "-".into() } else { format!("{:.3}", median(&t.ratios)) };
            let undecided = if *gate == "paired compare" { t.undecided.to_string() } else { "-".into() };
            out.push_str(&format!(
                "| {gate} | {change} | {} of {} | {undecided} | {ratio} | {:.0} |\n",
                t.flagged,
                t.runs,
                median(&t.seconds)
            ));
        }
    }
    out
}
