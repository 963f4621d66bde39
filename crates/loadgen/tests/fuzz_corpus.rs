//! Replays the committed corpus of the `http_response` fuzz target, and every
//! input that once broke it (`fuzz/regressions/`), through the same property.

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut files: Vec<PathBuf> = ["corpus", "regressions"]
        .iter()
        .filter_map(|dir| std::fs::read_dir(fuzz.join(dir).join(target)).ok())
        .flatten()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn http_response_corpus_keeps_the_parser_property() {
    let files = inputs("http_response");
    assert!(files.len() >= 7, "the corpus is committed: {files:?}");
    for file in &files {
        eprintln!("replaying {}", file.display());
        loadgen::http::fuzzing::check(&std::fs::read(file).unwrap());
    }
}
