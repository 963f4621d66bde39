//! `stackbench k8s FILE`: one level of a scenario as Kubernetes objects (a
//! `List` for `kubectl apply -f`), and `stackbench merge`: the generator pods'
//! results added up. Nothing here talks to a cluster.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;

use crate::summary;
use scenario::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct K8sOpts {
    /// The scenario file
    pub file: PathBuf,
    /// A matrix file's variant, by its values, e.g. 'worker=gevent,workers=1' (one variant per render)
    #[arg(long, value_name = "KEY=VALUE,...")]
    pub only: Option<scenario::Only>,
    /// A registry the cluster pulls from, holding stackbench/NAME images and stackbench/generator
    #[arg(long)]
    pub registry: String,
    /// Generator pods (an Indexed Job); each runs its share of the connections
    #[arg(long, default_value_t = 2)]
    pub generators: usize,
    /// The endpoint to load [default: the scenario's first]
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Connections in all [default: the endpoint's first level]
    #[arg(long)]
    pub connections: Option<usize>,
    /// Whole CPUs for each generator pod
    #[arg(long, default_value_t = 1)]
    pub generator_cpus: u32,
    #[arg(long, default_value = "stackbench")]
    pub namespace: String,
    /// The generators start together this long after rendering: apply the objects before then
    #[arg(long, value_parser = parse_duration, default_value = "120s")]
    pub start_in: Duration,
    /// The generator image's tag [default: the one `bench --generators` builds from this binary]
    #[arg(long)]
    pub generator_tag: Option<String>,
    /// The project the paths in the scenario file are relative to [default: the file's folder]
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(opts: K8sOpts) -> anyhow::Result<ExitCode> {
    let root = scenario::project_of(&opts.file, opts.root.as_deref());
    let pick = scenario::Pick { lists: Vec::new(), only: opts.only.iter().cloned().collect() };
    let expanded = scenario::load_file(&opts.file, &root, &pick)?;
    let loaded = match <[_; 1]>::try_from(expanded.variants) {
        Ok([loaded]) => loaded,
        Err(variants) => {
            let names: Vec<String> = variants.iter().map(scenario::Loaded::stack_name).collect();
            anyhow::bail!(
                "{}: one scenario is rendered at a time, and {} variant(s) are picked{}; name one with --only KEY=VALUE,...",
                opts.file.display(),
                variants.len(),
                if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) }
            )
        }
    };
    let plan = k8s::plan(&loaded, opts.generator_cpus)?;
    let endpoint = opts.endpoint.clone().unwrap_or_else(|| plan.endpoints[0].name.clone());
    let connections = match (opts.connections, plan.endpoints.iter().find(|e| e.name == endpoint)) {
        (Some(c), _) => c,
        (None, Some(e)) => e.connections[0],
        (None, None) => 0, // render names the missing endpoint
    };
    let generator_tag = match &opts.generator_tag {
        Some(tag) => tag.clone(),
        None => {
            let exe = std::env::current_exe().context("cannot find this binary")?;
            runner::generator_tag(&exe).with_context(|| format!("cannot read {}", exe.display()))?
        }
    };
    let now = SystemTime::now();
    let options = k8s::RenderOptions {
        run_id: k8s::run_id(&loaded, now),
        namespace: opts.namespace,
        registry: opts.registry,
        generator_tag,
        endpoint,
        connections,
        generators: opts.generators,
        generator_cpus: opts.generator_cpus,
        start_at: (now + opts.start_in).duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64().round(),
    };
    let objects = k8s::render(&plan, &options)?;
    println!("{}", serde_json::to_string_pretty(&k8s::list(objects))?);
    eprintln!(
        "==> run {}: apply within {} (kubectl apply -f FILE); then collect each generator pod's log into a file and \
         `stackbench merge` them (docs/kubernetes.md)",
        options.run_id,
        humantime::format_duration(opts.start_in)
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, Args)]
pub struct MergeOpts {
    /// Results of generators that ran together (`stackbench load --json` output, e.g. pod logs)
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print the merged result as JSON instead of the summary
    #[arg(long)]
    pub json: bool,
}

pub fn merge(opts: MergeOpts) -> anyhow::Result<ExitCode> {
    let mut parts = Vec::new();
    for file in &opts.files {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read '{}'", file.display()))?;
        let part: loadgen::LoadResult = serde_json::from_str(&text)
            .with_context(|| format!("'{}' is not a `stackbench load --json` result", file.display()))?;
        parts.push(part);
    }
    let merged = loadgen::merge(&parts)?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&merged)?);
    } else {
        for (file, part) in opts.files.iter().zip(&parts) {
            println!(
                "{}: {} connections, {} requests, {} req/s, generator CPU {:.0}%",
                file.display(),
                part.options.connections,
                part.requests,
                summary::metric(part.rps),
                part.generator_cpu_pct()
            );
        }
        print!("{}", summary::render(&merged, false)?);
    }
    Ok(ExitCode::SUCCESS)
}
