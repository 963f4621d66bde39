//! `cargo xtask bench-profile`: the cost of looking, measured. Each stack's
//! level runs A B A (without the profiler, with it, without it again) once
//! per repeat, on a server started anew for each; a profile's cost is its
//! req/s against the mean of the two unprofiled runs around it, and how far
//! those two differ is the noise of one run. One triple is noisy on this VM
//! (5 s levels differ by up to 20%), so the figure is the median over the
//! repeats, printed with each triple.

use std::path::Path;

use anyhow::{bail, Context};

use report::model::median;

use crate::{setup, sys};

/// Three Python stacks, each at a level where its server CPU is the limit:
/// a fast prefork worker, an async server with a database, a multi-worker one.
/// `SCENARIO[@KEY=VALUE,...]:ENDPOINT`: a matrix file's variant is picked with `--only`.
const STACKS: [&str; 3] =
    ["gunicorn-flask@worker=meinheld,workers=1,python=3.11:health", "starlette:db", "sanic:health"];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut repeat = "5".to_string();
    let mut duration = "5s".to_string();
    let mut rate = None;
    let mut stacks = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--repeat" => repeat = value()?,
            "--duration" => duration = value()?,
            "--profile-rate" => rate = Some(value()?),
            stack if stack.contains(':') && !stack.starts_with('-') => stacks.push(stack.to_string()),
            other => bail!(
                "bench-profile: unknown argument {other:?}; usage: cargo xtask bench-profile [--repeat 5] \
                 [--duration 5s] [--profile-rate HZ] [SCENARIO[@KEY=VALUE,...]:ENDPOINT...]"
            ),
        }
    }
    if stacks.is_empty() {
        stacks = STACKS.iter().map(ToString::to_string).collect();
    }
    setup::run()?;
    let root = sys::project_root();
    // The last run's results stay until the next.
    let results = root.join("target/bench-profile");
    if results.exists() {
        std::fs::remove_dir_all(&results).with_context(|| format!("cannot clear {}", results.display()))?;
    }
    sys::step(&format!(
        "the cost of looking: {} stack(s), each level A B A (without, with, without the profiler) x {repeat}, \
         10 connections, {duration} measured; generator and profiler on CPU 0, server on CPU 1; results in {}",
        stacks.len(),
        results.display()
    ));
    let mut rows = Vec::new();
    for (n, stack) in stacks.iter().enumerate() {
        let (scenario, endpoint) = stack.rsplit_once(':').expect("checked above");
        let (scenario, only) = scenario.split_once('@').map_or((scenario, None), |(s, only)| (s, Some(only)));
        // One folder per stack: the run's results folder inside is named by stackbench.
        let results = results.join(n.to_string());
        let mut bench: Vec<String> = [
            &format!("scenarios/{scenario}.toml"),
            "--profile",
            "--no-capacity",
            "--connections",
            "10",
            "--endpoints",
            endpoint,
            "--repeat",
            &repeat,
            "--duration",
            &duration,
            "--results",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        bench.push(results.display().to_string());
        if let Some(rate) = &rate {
            bench.extend(["--profile-rate".to_string(), rate.clone()]);
        }
        if let Some(only) = only {
            bench.extend(["--only".to_string(), only.to_string()]);
        }
        sys::run(&mut sys::stackbench("bench", &bench))?;
        let folders: Vec<_> = std::fs::read_dir(&results)
            .with_context(|| format!("no results in {}", results.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        let [folder] = folders.as_slice() else {
            bail!("{stack}: expected one run's folder in {}, found {}", results.display(), folders.len());
        };
        rows.push((stack, costs(folder)?));
    }
    println!(
        "\n{:<24} {:>8} {:>12} {:>7} {:>13}  cost of each triple (noise), %",
        "stack", "profiler", "median cost", "noise", "profiler CPU"
    );
    for (stack, (tool, triples)) in rows {
        let column = |i: usize| median(&triples.iter().filter_map(|t| t[i]).collect::<Vec<_>>());
        let (cost, noise, cpu) = (column(0), column(1), column(2));
        let each: Vec<String> =
            triples.iter().map(|t| format!("{:.1} ({:.1})", t[0].unwrap_or(0.0), t[1].unwrap_or(0.0))).collect();
        println!("{stack:<24} {tool:>8} {cost:>11.1}% {noise:>6.1}% {cpu:>12.1}%  {}", each.join(", "));
    }
    Ok(())
}

/// The profiler's rate and each profiled level's cost, noise and profiler CPU (in %) in the results under `dir`.
fn costs(dir: &Path) -> anyhow::Result<(String, Vec<[Option<f64>; 3]>)> {
    let mut tool = String::new();
    let mut triples = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("no results in {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for file in files {
        let record = record::RunRecord::read(&file).with_context(|| format!("reading {}", file.display()))?;
        for level in &record.levels {
            let (Some(profile), Some(load)) = (&level.profile, &level.load) else { continue };
            let cost = report::profile::cost_pct(profile, load.rps);
            let noise = report::profile::noise_pct(profile, load.rps);
            if cost.is_some() && noise.is_some() {
                tool = format!("{} Hz", profile.rate_hz);
                triples.push([cost, noise, profile.profiler_cpu_pct]);
            }
        }
    }
    if triples.is_empty() {
        bail!("no profiled level with both unprofiled runs in {}", dir.display());
    }
    Ok((tool, triples))
}
