//! This checkout's own scenario files, as README.md and the project card name them.
//!
//! ARCHITECTURE.md, "Commands that stay": a command README or the project's card
//! names never stops working, and a stack is measured under one name only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scenario::Pick;

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The project card's command.
const CARD: &str = "cargo xtask bench scenarios/flask-gevent.toml";

/// Every `scenarios/NAME.toml` README names loads (but the one it shows `cargo xtask new` making), and the card's command is README's first, its file
/// the seed post's stack under the post's name.
#[test]
fn the_cards_command_and_every_scenario_readme_names_load() {
    let root = checkout();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let first = readme.lines().find(|l| l.starts_with("cargo xtask ")).expect("README names a cargo xtask command");
    assert!(first.starts_with(CARD), "README's first command is not the card's: {first}");
    let mut named: Vec<&str> = readme
        .match_indices("scenarios/")
        .filter_map(|(at, _)| {
            let rest = &readme[at..];
            let end = rest.find(".toml")? + ".toml".len();
            let name = &rest["scenarios/".len()..end - ".toml".len()];
            name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-').then(|| &rest[..end])
        })
        .collect();
    // What `cargo xtask new NAME` would write is the reader's to make.
    let made: Vec<String> = readme
        .match_indices("cargo xtask new ")
        .filter_map(|(at, m)| readme[at + m.len()..].split_whitespace().next())
        .map(|name| format!("scenarios/{name}.toml"))
        .collect();
    assert_eq!(made, ["scenarios/myframework.toml"]);
    named.retain(|file| !made.iter().any(|m| m == file));
    named.sort_unstable();
    named.dedup();
    assert!(named.contains(&"scenarios/flask-gevent.toml") && named.len() >= 2, "{named:?}");
    for file in &named {
        let loaded = scenario::load_file(&root.join(file), &root, &Pick::default());
        assert!(loaded.is_ok(), "README names {file}: {}", loaded.err().map(|e| e.to_string()).unwrap_or_default());
    }
    let card = scenario::load_file(&root.join("scenarios/flask-gevent.toml"), &root, &Pick::default()).unwrap();
    let names: Vec<String> = card.variants.iter().map(|v| v.stack_name()).collect();
    assert_eq!(names, ["flask-gevent"]);
}

/// No two variants of all the files run the same server: the same build, arguments, command,
/// environment and limits would be one stack measured under two names.
#[test]
fn no_stack_is_measured_under_two_names() {
    let root = checkout();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    for file in files {
        let expanded = scenario::load_file(&file, &root, &Pick::default()).unwrap();
        for variant in expanded.variants {
            let server = &variant.scenario.server;
            let key = format!(
                "{:?} {} {:?} {:?} {:?} {} {} tls {}",
                server.build.get_ref().as_path(),
                server.dockerfile,
                server.build_args,
                server.command.get_ref(),
                server.env,
                server.cpus.get_ref().0,
                server.memory.0,
                server.tls(),
            );
            let name = variant.stack_name();
            if let Some(other) = seen.insert(key, name.clone()) {
                panic!("{name} and {other} run the same server");
            }
        }
    }
}

/// The experiments beside the suite parse, every variant (CI then verifies them against their servers).
#[test]
fn every_experiment_parses() {
    let root = checkout();
    let dir = root.join("scenarios/experiments");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.iter().any(|f| f.ends_with("tls-go.toml")), "{files:?}");
    for file in files.iter().filter(|p| p.extension().is_some_and(|x| x == "toml")) {
        let expanded = scenario::load_file(file, &root, &Pick::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!expanded.variants.is_empty(), "{}", file.display());
    }
    let tls = scenario::load_file(&dir.join("tls-go.toml"), &root, &Pick::default()).unwrap();
    let served: Vec<bool> = tls.variants.iter().map(|v| v.scenario.server.tls()).collect();
    assert_eq!(served, [false, true]);
}
