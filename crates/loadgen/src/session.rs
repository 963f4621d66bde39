//! One connection's conversation: which kind of request it sends next (a mix's `first` requests when it
//! is new, then drawn by weight), the request's bytes when they are rendered per send, and the values it
//! captured from earlier responses (a login's token) for later requests' `{capture:NAME}`.
//!
//! Architecture invariant: a session belongs to one connection and lives as long as it; a new connection
//! starts a new session (it sends its `first` requests again and has captured nothing).

use crate::request::Prepared;
use crate::template::Renderer;

/// A connection's conversation so far.
#[derive(Debug, Default)]
pub(crate) struct Session {
    /// The kind of request in flight (`Shared::kinds`).
    pub kind: usize,
    /// A request that draws values, as rendered for this send.
    rendered: Vec<u8>,
    /// The `first` kinds sent since the connection opened.
    firsts_sent: usize,
    /// Captured values, by capture slot (the mix's capture names in order); empty until captured.
    captured: Vec<Vec<u8>>,
    /// The body of a response whose kind captures, as it arrives.
    body: Vec<u8>,
}

impl Session {
    /// A new connection: its `first` requests again, nothing captured.
    pub(crate) fn restart(&mut self) {
        self.firsts_sent = 0;
        self.captured.iter_mut().for_each(Vec::clear);
        self.body.clear();
    }

    /// Chooses the next request and prepares its bytes; returns their length (`pipeline` requests of a
    /// fixed kind). `weights`: a mix's running sums of weights (empty without a mix).
    pub(crate) fn next(
        &mut self,
        kinds: &[Prepared],
        weights: &[u64],
        renderer: Option<&mut Renderer>,
        pipeline: u32,
    ) -> usize {
        let mut renderer = renderer;
        let first = kinds.iter().enumerate().filter(|(_, k)| k.first).nth(self.firsts_sent).map(|(i, _)| i);
        self.kind = match (first, renderer.as_deref_mut()) {
            (Some(i), _) => {
                self.firsts_sent += 1;
                i
            }
            (None, Some(renderer)) if !weights.is_empty() => renderer.pick(weights),
            _ => 0,
        };
        let kind = &kinds[self.kind];
        match (&kind.template, renderer) {
            (Some(template), Some(renderer)) => {
                renderer.render(template, &kind.config, &self.captured, &mut self.rendered);
                self.rendered.len()
            }
            _ => kind.len * pipeline as usize,
        }
    }

    /// The bytes of the request prepared, whole (the caller writes from where it got to).
    pub(crate) fn bytes<'a>(&'a self, kinds: &'a [Prepared], len: usize) -> &'a [u8] {
        let kind = &kinds[self.kind];
        if kind.template.is_some() {
            &self.rendered
        } else {
            &kind.batch[..len]
        }
    }

    /// A piece of the response's body: kept when its kind captures from it.
    pub(crate) fn on_body(&mut self, kinds: &[Prepared], chunk: &[u8]) {
        if !kinds[self.kind].captures.is_empty() {
            self.body.extend_from_slice(chunk);
        }
    }

    /// The response is complete and passed its checks: its kind's captures are taken from its body.
    pub(crate) fn on_response(&mut self, kinds: &[Prepared], passed: bool) {
        let captures = &kinds[self.kind].captures;
        if passed && !captures.is_empty() {
            for (slot, field) in captures {
                if self.captured.len() <= *slot {
                    self.captured.resize_with(slot + 1, Vec::new);
                }
                if let Some(value) = json_field(&self.body, field) {
                    self.captured[*slot].clear();
                    self.captured[*slot].extend_from_slice(value);
                }
            }
        }
        self.body.clear();
    }
}

/// The value of the first `"field": value` in a JSON text: a string's characters (escapes as written),
/// or a number's, `true`'s, etc. `None` when the field is not there.
pub fn json_field<'a>(json: &'a [u8], field: &str) -> Option<&'a [u8]> {
    let key = format!("\"{field}\"");
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&json[from..], key.as_bytes()) {
        let after = &json[from + at + key.len()..];
        let rest = after.trim_ascii_start();
        if let Some(value) = rest.strip_prefix(b":") {
            let value = value.trim_ascii_start();
            if let Some(string) = value.strip_prefix(b"\"") {
                let mut end = 0;
                while end < string.len() && string[end] != b'"' {
                    end += if string[end] == b'\\' { 2 } else { 1 };
                }
                return Some(&string[..end.min(string.len())]);
            }
            let end = value.iter().position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace());
            return Some(&value[..end.unwrap_or(value.len())]);
        }
        from += at + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::json_field;

    #[test]
    fn a_field_is_found_in_json_as_it_comes() {
        let body = br#"{"user": {"id": 7, "token" : "ab\"c.d"}, "ok": true, "n": -1.5}"#;
        assert_eq!(json_field(body, "token"), Some(&br#"ab\"c.d"#[..]));
        assert_eq!(json_field(body, "id"), Some(&b"7"[..]));
        assert_eq!(json_field(body, "ok"), Some(&b"true"[..]));
        assert_eq!(json_field(body, "n"), Some(&b"-1.5"[..]));
        assert_eq!(json_field(body, "missing"), None);
        // A key's text inside a value is not the key.
        assert_eq!(json_field(br#"{"note": "\"token\" is below", "token": "x"}"#, "token"), Some(&b"x"[..]));
    }
}
