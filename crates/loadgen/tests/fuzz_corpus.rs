//! Replays the committed corpus of the `http_response` fuzz target, and every
//! input that once broke it (`fuzz/regressions/`), through the same property.

#[test]
fn http_response_corpus_keeps_the_parser_property() {
    testserver::fuzz::replay("http_response", 7, loadgen::http::fuzzing::check);
}

#[test]
fn h2_frames_corpus_keeps_the_framing_property() {
    testserver::fuzz::replay("h2_frames", 12, loadgen::h2::fuzzing::check);
}
