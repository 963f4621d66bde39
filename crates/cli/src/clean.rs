//! `stackbench clean`: removes what stackbench made, on an engine and in the
//! temporary folder, and says how much disk that freed. Nothing without
//! stackbench's labels is touched, nor anything a run still going uses.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct CleanOpts {
    /// The engine to clean: unix:///PATH, tcp://HOST:PORT or https://HOST:PORT [default: DOCKER_HOST, else
    /// the local socket]
    #[arg(long, value_name = "ENDPOINT")]
    pub engine: Option<String>,
}

pub fn run(opts: CleanOpts) -> anyhow::Result<ExitCode> {
    let rt =
        tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(async {
        let engine = match &opts.engine {
            Some(endpoint) => docker::Engine::connect_to(endpoint).await?,
            None => docker::Engine::connect().await?,
        };
        eprintln!("==> cleaning what stackbench made on {} and in {}", engine.endpoint, std::env::temp_dir().display());
        let benches = other_benches();
        let temporary = if benches.is_empty() { remove_temporary() } else { Vec::new() };
        let cleaned = engine.clean().await?;
        let list = |names: &[String]| {
            let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
            let more = names.len().saturating_sub(shown.len());
            shown.join(", ") + &if more > 0 { format!(" and {more} more") } else { String::new() }
        };
        println!(
            "removed {} container(s) of runs that are gone{}",
            cleaned.containers.len(),
            colon(&list(&cleaned.containers))
        );
        println!("removed {} image(s){}", cleaned.images.len(), colon(&list(&cleaned.images)));
        println!("removed {} temporary folder(s){}", temporary.len(), colon(&list(&temporary)));
        if !cleaned.running.is_empty() {
            println!(
                "left alone: {} container(s) of runs still going: {}",
                cleaned.running.len(),
                list(&cleaned.running)
            );
        }
        if !cleaned.in_use.is_empty() {
            println!("left alone: {} image(s) a container uses: {}", cleaned.in_use.len(), list(&cleaned.in_use));
        }
        if !benches.is_empty() {
            let pids: Vec<String> = benches.iter().map(u32::to_string).collect();
            println!("left alone: temporary folders, as `stackbench bench` is running (pid {})", pids.join(", "));
        }
        if !cleaned.inherited.is_empty() {
            println!(
                "left alone: {} image(s) built FROM an image of stackbench's, not by stackbench (they carry the {} \
                 label only through it): {}",
                cleaned.inherited.len(),
                docker::IMAGE_LABEL,
                list(&cleaned.inherited)
            );
        }
        if !cleaned.unlabelled.is_empty() {
            println!(
                "left alone: {} image(s) named stackbench/... without the {} label (built before stackbench \
                 labelled its images, or not by stackbench): `docker rmi` them if they are yours: {}",
                cleaned.unlabelled.len(),
                docker::IMAGE_LABEL,
                list(&cleaned.unlabelled)
            );
        }
        match (cleaned.freed, engine.disk().await) {
            (Some(freed), Some(disk)) => println!("freed {:.2} GiB ({disk})", freed as f64 / (1u64 << 30) as f64),
            _ => println!("the engine runs on another machine: the disk it freed cannot be read from here"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn colon(list: &str) -> String {
    if list.is_empty() {
        String::new()
    } else {
        format!(": {list}")
    }
}

/// Other processes running `stackbench bench` on this machine: their temporary folders are in use.
fn other_benches() -> Vec<u32> {
    let me = std::process::id();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let mut args = cmdline.split(|&b| b == 0).map(String::from_utf8_lossy);
        let program = args.next().unwrap_or_default();
        let is_stackbench = std::path::Path::new(program.as_ref()).file_name().is_some_and(|n| n == "stackbench");
        if pid != me && is_stackbench && args.next().is_some_and(|a| a == "bench") {
            pids.push(pid);
        }
    }
    pids
}

/// Removes stackbench's temporary folders (a debootstrap root with what it
/// mounted detached first); returns their names.
fn remove_temporary() -> Vec<String> {
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !docker::temporary::is_temporary(&name) {
            continue;
        }
        let path: PathBuf = entry.path();
        docker::remove_tree(&path);
        if !path.exists() {
            removed.push(name);
        }
    }
    removed
}
