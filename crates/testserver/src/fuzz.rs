//! The committed inputs of a fuzz target, for the tests that replay them.

use std::path::{Path, PathBuf};

/// Every file of `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`,
/// sorted, `README.md` files left out. Panics when either folder is missing:
/// a replay that finds no folder must not pass by replaying nothing.
pub fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let dir = fuzz.join(dir).join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.file_name().is_some_and(|n| n != "README.md")));
    }
    files.sort();
    files
}

/// Feeds every committed input of `target` to `check`, after making sure
/// there are at least `at_least` of them (the corpus is committed).
pub fn replay(target: &str, at_least: usize, check: impl Fn(&[u8])) {
    let files = inputs(target);
    assert!(files.len() >= at_least, "{target}: the corpus is committed: {files:?}");
    for file in &files {
        eprintln!("replaying {}", file.display());
        check(&std::fs::read(file).unwrap());
    }
}
