//! `stackbench new NAME --like STACK`: a new scenario and build context copied
//! from an existing scenario, checked before anything is left on disk.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct NewOpts {
    /// The new scenario's name (lower-case letters, digits and dashes)
    pub name: String,
    /// The scenario to start from, by name (scenarios/STACK.toml)
    #[arg(long, value_name = "STACK")]
    pub like: String,
    /// The project root [default: the current folder]
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(opts: NewOpts) -> anyhow::Result<()> {
    let root = crate::project_root(opts.root.as_deref())?;
    let scenarios = root.join("scenarios");
    let like_path = scenarios.join(format!("{}.toml", opts.like));
    if !like_path.is_file() {
        anyhow::bail!(
            "--like {}: there is no {}; scenarios you can start from: {}",
            opts.like,
            like_path.display(),
            available(&scenarios).join(", ")
        );
    }
    // A matrix file is copied whole: its matrix and placeholders are kept, as the first variant shows them.
    let pick = scenario::Pick::default();
    let like = scenario::load_file(&like_path, &root, &pick)?.variants.remove(0);
    let made = scenario::scaffold(&like, &opts.name)?;
    let toml_path = scenarios.join(format!("{}.toml", opts.name));
    let context = root.join(&made.context);
    for taken in [&toml_path, &context] {
        if taken.exists() {
            anyhow::bail!("{} already exists: pick another name, or remove it first", taken.display());
        }
    }
    // Write both, check the result, and take both back if anything fails: nothing half-made is left.
    let written = copy_dir(&made.copy_from, &context)
        .with_context(|| format!("cannot copy {} to {}", made.copy_from.display(), context.display()))
        .and_then(|()| {
            std::fs::write(&toml_path, &made.text).with_context(|| format!("cannot write {}", toml_path.display()))
        })
        .and_then(|()| Ok(scenario::load_file(&toml_path, &root, &pick)?));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&toml_path);
        let _ = std::fs::remove_dir_all(&context);
        return Err(e);
    }
    println!(
        "created scenarios/{name}.toml and {context}/ (copied from {})",
        like.path.display(),
        name = opts.name,
        context = made.context
    );
    println!("next:");
    println!("  1. change the app and Dockerfile in {}/", made.context);
    println!("  2. change `command` and `description` in scenarios/{}.toml", opts.name);
    let bench = crate::invoked_as("bench");
    println!("  3. {bench} --verify-only scenarios/{}.toml   (builds, starts, checks every endpoint)", opts.name);
    println!("  4. {bench} scenarios/{}.toml", opts.name);
    Ok(())
}

/// Scenario names in `dir`, sorted.
fn available(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".toml").map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Copies the folder `from` to the new folder `to` (files and folders; symbolic links are refused).
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst)?;
        } else {
            return Err(std::io::Error::other(format!("{} is not a file or a folder", src.display())));
        }
    }
    Ok(())
}
