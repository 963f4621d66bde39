//! Replays the committed corpus of the `http_response` fuzz target, and every
//! input that once broke it (`fuzz/regressions/`), through the same property.

#[test]
fn http_response_corpus_keeps_the_parser_property() {
    let files = testserver::fuzz::inputs("http_response");
    assert!(files.len() >= 7, "the corpus is committed: {files:?}");
    for file in &files {
        eprintln!("replaying {}", file.display());
        loadgen::http::fuzzing::check(&std::fs::read(file).unwrap());
    }
}
