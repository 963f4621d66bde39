//! The worker's pure parts.

use memchr::memmem::Finder;

use super::*;

#[test]
fn body_match_across_pieces() {
    let finder = Finder::new(b"needle").into_owned();
    let text = b"hay hay needle hay";
    for piece in 1..=text.len() {
        let mut m = BodyMatch::default();
        for chunk in text.chunks(piece) {
            m.feed(&finder, chunk);
        }
        assert!(m.take(), "piece {piece}");
        assert!(!m.take(), "take resets");
    }
    let mut m = BodyMatch::default();
    for chunk in b"need le".chunks(3) {
        m.feed(&finder, chunk);
    }
    assert!(!m.take());
}
