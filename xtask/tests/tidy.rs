//! ARCHITECTURE.md's rules that a test can check, checked on the tree as it is
//! (rust-analyzer's tidy tests): library crates do not print, the crate graph
//! has none of its forbidden edges, the report crate's modules point one way,
//! and no source file grows past a size a reader can hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The workspace's crates by folder name (`crates/NAME`).
fn crates() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| root().join("crates").join(name).join("Cargo.toml").is_file())
        .collect();
    names.sort();
    names
}

/// The names in a crate's `[dependencies]` (not its dev-dependencies).
fn dependencies(krate: &str) -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_section = false;
    let mut names = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[dependencies]";
            continue;
        }
        if in_section && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap().trim();
            names.insert(name.to_string());
        }
    }
    names
}

/// Library crates return values and errors; only the binary (`cli`) and
/// `xtask` print. `testserver` serves tests, whose output is theirs.
#[test]
fn library_crates_do_not_print() {
    let printing = ["println!", "eprintln!", "print!(", "eprint!(", "dbg!("];
    let mut found = Vec::new();
    for krate in crates().into_iter().filter(|c| !matches!(c.as_str(), "cli" | "testserver")) {
        for file in rust_files(&root().join("crates").join(&krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (idx, line) in text.lines().enumerate() {
                if printing.iter().any(|p| line.contains(p)) && !line.trim_start().starts_with("//") {
                    found.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(root()).unwrap().display(),
                        idx + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "library crates print (return the text, or emit an event, instead):\n{}",
        found.join("\n")
    );
}

/// What each crate may not reach through its dependencies, however far (ARCHITECTURE.md's graph).
#[test]
fn the_crate_graph_has_none_of_its_forbidden_edges() {
    let workspace: BTreeSet<String> = crates().into_iter().collect();
    let graph: BTreeMap<String, BTreeSet<String>> = workspace.iter().map(|c| (c.clone(), dependencies(c))).collect();
    let reach = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.to_string()];
        while let Some(krate) = todo.pop() {
            for dep in graph.get(&krate).into_iter().flatten() {
                if seen.insert(dep.clone()) && workspace.contains(dep) {
                    todo.push(dep.clone());
                }
            }
        }
        seen
    };
    let forbidden: [(&str, &[&str]); 6] = [
        ("scenario", &["docker", "bollard", "tokio", "reqwest", "runner", "report"]),
        ("loadgen", &["docker", "bollard", "tokio", "scenario", "record", "report", "runner"]),
        ("plan", &["docker", "bollard", "tokio", "reqwest", "runner", "report"]),
        ("k8s", &["docker", "bollard", "tokio", "reqwest", "runner", "report"]),
        ("report", &["docker", "bollard", "tokio", "reqwest", "runner", "plan"]),
        ("record", &["docker", "bollard", "tokio", "reqwest", "runner", "report", "plan", "scenario"]),
    ];
    let mut broken = Vec::new();
    for (krate, never) in forbidden {
        let reached = reach(krate);
        broken.extend(never.iter().filter(|n| reached.contains(**n)).map(|n| format!("{krate} reaches {n}")));
    }
    assert!(broken.is_empty(), "{broken:?}");
    // The check sees edges at all: the runner reaches Docker through its crate.
    assert!(reach("runner").contains("bollard"));
}

/// The report crate's modules point one way (no two modules use each other, however far round).
#[test]
fn the_report_crates_modules_point_one_way() {
    let src = root().join("crates/report/src");
    let module_of = |file: &Path| -> String {
        let rel = file.strip_prefix(&src).unwrap().with_extension("");
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        first
    };
    let files = rust_files(&src);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).filter(|m| m != "lib").collect();
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(file);
        let text = std::fs::read_to_string(file).unwrap();
        // Tests may use anything, and a doc link is no use: only the code above the tests counts.
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (at, _) in code.match_indices("crate::") {
            let to: String =
                code[at + "crate::".len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if to != from && modules.contains(&to) {
                uses.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    assert!(!uses.is_empty(), "the check found no module using another");
    // A module reaching itself through others is a circle.
    for start in uses.keys() {
        let mut todo: Vec<&String> = uses[start].iter().collect();
        let mut seen = BTreeSet::new();
        while let Some(next) = todo.pop() {
            assert_ne!(next, start, "report modules in a circle through {start}: {uses:?}");
            if seen.insert(next) {
                todo.extend(uses.get(next).into_iter().flatten());
            }
        }
    }
}

/// No source file under `crates/` is longer than this: past it, split by idea.
const MAX_LINES: usize = 800;

#[test]
fn no_source_file_is_too_long() {
    let long: Vec<String> = rust_files(&root().join("crates"))
        .into_iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "tests"))
        .filter_map(|f| {
            let lines = std::fs::read_to_string(&f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", f.strip_prefix(root()).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}
