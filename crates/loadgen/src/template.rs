//! Requests whose path, header values or body take a value drawn per request: `{rand:1..1000000}` (an
//! integer from the range, both ends included), `{seq}` (0, 1, 2, ... over the run; `{seq:100}` from
//! 100) and `{line:FILE}` (a line of a file, drawn). Any other `{` is text, so JSON bodies stay as they
//! are; a `{name}` or `{name:...}` whose name is not one of these is an error.
//!
//! A request with placeholders is rendered per send into its connection's buffer, which keeps its
//! capacity: after the first requests, rendering allocates nothing.

use std::sync::Arc;

use crate::config::Config;

/// One part of a templated text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// An integer drawn uniformly from `lo..=hi`.
    Rand {
        lo: u64,
        hi: u64,
    },
    /// The run's sequence from `start`: each request the next number (threads interleave).
    Seq {
        start: u64,
    },
    /// A line drawn from a file's lines (read when the template is parsed).
    Line {
        file: String,
        lines: Arc<Vec<String>>,
    },
    /// A value the connection captured from an earlier response (`Kind::capture`); `slot` is its place in
    /// the mix's capture names, set when the run is prepared (`RequestTemplate::bind`).
    Capture {
        name: String,
        slot: usize,
    },
}

/// A text with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Part>);

/// Where a template's values come from while it renders: the thread's generator and its place in the
/// run's sequence.
pub(crate) struct Draws {
    pub rng: fastrand::Rng,
    /// This thread's next number of `{seq}`, and the step between its numbers (the thread count).
    pub seq: u64,
    pub step: u64,
}

impl Template {
    /// Parses `text`; `read` gives a file's content for `{line:FILE}`. Errors say which placeholder and why.
    pub fn parse(text: &str, read: &dyn Fn(&str) -> Result<String, String>) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let name_len = after.bytes().take_while(u8::is_ascii_lowercase).count();
            let close = after.find('}');
            let is_placeholder =
                name_len > 0 && close.is_some() && matches!(after.as_bytes().get(name_len), Some(b':' | b'}'));
            if !is_placeholder {
                literal.push_str(&rest[..=open]);
                rest = after;
                continue;
            }
            let close = close.expect("checked");
            let inner = &after[..close];
            literal.push_str(&rest[..open]);
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(placeholder(inner, read)?);
            rest = &after[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template(parts))
    }

    /// Whether any value is drawn: else the text is sent as it is.
    pub fn is_fixed(&self) -> bool {
        self.0.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Appends the text with this request's values to `out`; `captured`: the connection's captured values
    /// by slot (one not captured yet is empty).
    pub(crate) fn render(&self, out: &mut Vec<u8>, draws: &mut Draws, captured: &[Vec<u8>]) {
        for part in &self.0 {
            match part {
                Part::Text(text) => out.extend_from_slice(text.as_bytes()),
                Part::Rand { lo, hi } => number(out, draws.rng.u64(*lo..=*hi)),
                Part::Seq { start } => number(out, start + draws.seq),
                Part::Line { lines, .. } => out.extend_from_slice(lines[draws.rng.usize(..lines.len())].as_bytes()),
                Part::Capture { slot, .. } => out.extend_from_slice(captured.get(*slot).map_or(&[][..], Vec::as_slice)),
            }
        }
    }
}

/// `text` with the files of its `{line:FILE}` placeholders found under `root` (a relative FILE is
/// joined to it), so that a generator anywhere in the project reads the same file; an error says which
/// placeholder is wrong and why (an unknown one, a file that cannot be read).
pub fn files_under(text: &str, root: &std::path::Path) -> Result<String, String> {
    let at = |file: &str| root.join(file);
    let template = Template::parse(text, &|file| std::fs::read_to_string(at(file)).map_err(|e| e.to_string()))?;
    Ok(template
        .0
        .iter()
        .map(|part| match part {
            Part::Text(text) => text.clone(),
            Part::Rand { lo, hi } => format!("{{rand:{lo}..{hi}}}"),
            Part::Seq { start } => format!("{{seq:{start}}}"),
            Part::Line { file, .. } => format!("{{line:{}}}", at(file).display()),
            Part::Capture { name, .. } => format!("{{capture:{name}}}"),
        })
        .collect())
}

/// One instance of `text` (its first draws with `seed`, and the values `captured` so far by name), as
/// a check of an endpoint sends it once.
pub fn sample(text: &str, seed: u64, captured: &[(String, Vec<u8>)]) -> Result<String, String> {
    let mut template = Template::parse(text, &|file| std::fs::read_to_string(file).map_err(|e| e.to_string()))?;
    for part in &mut template.0 {
        if let Part::Capture { name, slot } = part {
            *slot = captured.iter().position(|(n, _)| n == name).unwrap_or(usize::MAX);
        }
    }
    let values: Vec<Vec<u8>> = captured.iter().map(|(_, v)| v.clone()).collect();
    let mut out = Vec::new();
    template.render(&mut out, &mut Draws { rng: fastrand::Rng::with_seed(seed), seq: 0, step: 1 }, &values);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `n` in decimal, written into `digits` (no allocation).
pub(crate) fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(decimal(n, &mut [0; 20]));
}

fn placeholder(inner: &str, read: &dyn Fn(&str) -> Result<String, String>) -> Result<Part, String> {
    let (name, arg) = inner.split_once(':').map_or((inner, None), |(n, a)| (n, Some(a)));
    match (name, arg) {
        ("rand", Some(range)) => {
            let parsed = range.split_once("..").and_then(|(lo, hi)| Some((lo.parse().ok()?, hi.parse().ok()?)));
            match parsed {
                Some((lo, hi)) if lo <= hi => Ok(Part::Rand { lo, hi }),
                _ => Err(format!("{{{inner}}}: give a range of whole numbers, low to high, e.g. {{rand:1..1000}}")),
            }
        }
        ("seq", None) => Ok(Part::Seq { start: 0 }),
        ("seq", Some(start)) => start
            .parse()
            .map(|start| Part::Seq { start })
            .map_err(|_| format!("{{{inner}}}: the sequence starts at a whole number, e.g. {{seq:100}}")),
        ("capture", Some(name)) if !name.is_empty() => Ok(Part::Capture { name: name.to_string(), slot: usize::MAX }),
        ("line", Some(file)) if !file.is_empty() => {
            let text = read(file).map_err(|why| format!("{{{inner}}}: cannot read '{file}': {why}"))?;
            let lines: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
            if lines.is_empty() {
                return Err(format!("{{{inner}}}: '{file}' has no line to draw"));
            }
            Ok(Part::Line { file: file.to_string(), lines: Arc::new(lines) })
        }
        _ => Err(format!(
            "{{{inner}}} is not a placeholder: {{rand:LOW..HIGH}}, {{seq}}, {{seq:START}}, {{line:FILE}} or \
             {{capture:NAME}} (other braces are sent as they are)"
        )),
    }
}

/// A request whose path, header values or body draw values: their templates, parsed once per run.
#[derive(Debug)]
pub(crate) struct RequestTemplate {
    path: Template,
    values: Vec<Template>,
    /// `None`: a body that is not UTF-8, sent as it is.
    body: Option<Template>,
}

impl RequestTemplate {
    /// `config`'s request as templates; `None` when nothing in it is drawn (it is serialized once).
    /// Files of `{line:FILE}` are read from the paths as given. An error names the setting (`path`,
    /// `header`, `body`) and what is wrong.
    pub(crate) fn of(config: &Config) -> Result<Option<RequestTemplate>, (&'static str, String)> {
        let read = |file: &str| std::fs::read_to_string(file).map_err(|e| e.to_string());
        let path = Template::parse(&config.target.path, &read).map_err(|e| ("path", e))?;
        let values = config
            .headers
            .iter()
            .map(|(_, v)| Template::parse(v, &read))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ("header", e))?;
        let body = match std::str::from_utf8(&config.body) {
            Ok(text) => Some(Template::parse(text, &read).map_err(|e| ("body", e))?),
            Err(_) => None,
        };
        let fixed =
            path.is_fixed() && body.as_ref().is_none_or(Template::is_fixed) && values.iter().all(Template::is_fixed);
        Ok((!fixed).then_some(RequestTemplate { path, values, body }))
    }
}

impl RequestTemplate {
    fn parts(&self) -> impl Iterator<Item = &Part> {
        let body = self.body.iter().flat_map(|b| &b.0);
        self.path.0.iter().chain(self.values.iter().flat_map(|v| &v.0)).chain(body)
    }

    /// The names of the captured values it uses.
    pub(crate) fn captures(&self) -> impl Iterator<Item = &str> {
        self.parts().filter_map(|p| match p {
            Part::Capture { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Gives each `{capture:NAME}` its slot among `names` (a name not there renders empty).
    pub(crate) fn bind(&mut self, names: &[String]) {
        let body = self.body.iter_mut().flat_map(|b| &mut b.0);
        for part in self.path.0.iter_mut().chain(self.values.iter_mut().flat_map(|v| &mut v.0)).chain(body) {
            if let Part::Capture { name, slot } = part {
                *slot = names.iter().position(|n| n == name).unwrap_or(usize::MAX);
            }
        }
    }
}

/// One thread's rendering: its draws and scratch buffers, which keep their capacity.
pub(crate) struct Renderer {
    draws: Draws,
    path: Vec<u8>,
    body: Vec<u8>,
    values: Vec<u8>,
    ends: Vec<usize>,
}

impl Renderer {
    /// Thread `thread` of `threads`, seeded with `seed`.
    pub(crate) fn new(seed: u64, thread: usize, threads: usize) -> Renderer {
        let draws = Draws {
            rng: fastrand::Rng::with_seed(seed ^ (thread as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            seq: thread as u64,
            step: threads as u64,
        };
        Renderer { draws, path: Vec::new(), body: Vec::new(), values: Vec::new(), ends: Vec::new() }
    }

    /// A mix's next kind: the index of the first running sum of `weights` above a draw below their total.
    pub(crate) fn pick(&mut self, weights: &[u64]) -> usize {
        let draw = self.draws.rng.u64(..*weights.last().expect("a mix has kinds"));
        weights.partition_point(|&sum| sum <= draw)
    }

    /// Replaces `out` with the next request of `template`, with the connection's `captured` values.
    pub(crate) fn render(
        &mut self,
        template: &RequestTemplate,
        config: &Config,
        captured: &[Vec<u8>],
        out: &mut Vec<u8>,
    ) {
        self.path.clear();
        template.path.render(&mut self.path, &mut self.draws, captured);
        self.body.clear();
        match &template.body {
            Some(body) => body.render(&mut self.body, &mut self.draws, captured),
            None => self.body.extend_from_slice(&config.body),
        }
        self.values.clear();
        self.ends.clear();
        for value in &template.values {
            value.render(&mut self.values, &mut self.draws, captured);
            self.ends.push(self.values.len());
        }
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        let values = starts.zip(&self.ends).map(|(start, &end)| &self.values[start..end]);
        out.clear();
        crate::request::write(out, config, &self.path, values, &self.body);
        self.draws.seq += self.draws.step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_files(_: &str) -> Result<String, String> {
        Err("no such file".into())
    }

    #[test]
    fn placeholders_are_found_and_other_braces_are_text() {
        let t = Template::parse("/db?id={rand:1..10}&n={seq:5}", &no_files).unwrap();
        assert_eq!(
            t.0,
            [
                Part::Text("/db?id=".into()),
                Part::Rand { lo: 1, hi: 10 },
                Part::Text("&n=".into()),
                Part::Seq { start: 5 }
            ]
        );
        let json = Template::parse("{\"a\": {\"b\": 1}, \"c\": {}}", &no_files).unwrap();
        assert!(json.is_fixed(), "{json:?}");
        for (bad, why) in [
            ("/{rnd:1..5}", "is not a placeholder"),
            ("/{rand:5..1}", "low to high"),
            ("/{rand:a..b}", "whole numbers"),
            ("/{seq:x}", "starts at a whole number"),
            ("/{line:ids.txt}", "cannot read 'ids.txt': no such file"),
        ] {
            let e = Template::parse(bad, &no_files).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn files_are_found_under_the_project_and_a_sample_draws_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ids.txt"), "7\n").unwrap();
        let text = files_under("/u/{line:ids.txt}?r={rand:1..1}&s={seq}", dir.path()).unwrap();
        assert_eq!(text, format!("/u/{{line:{}}}?r={{rand:1..1}}&s={{seq:0}}", dir.path().join("ids.txt").display()));
        assert_eq!(sample(&text, 1, &[]).unwrap(), "/u/7?r=1&s=0");
        let captured = [("token".to_string(), b"t0k".to_vec())];
        assert_eq!(sample("Bearer {capture:token}", 1, &captured).unwrap(), "Bearer t0k");
        let e = files_under("{line:missing.txt}", dir.path()).unwrap_err();
        assert!(e.contains("cannot read 'missing.txt'"), "{e}");
    }

    #[test]
    fn values_are_drawn_from_their_range_and_lines_in_sequence() {
        let read = |_: &str| Ok("alice\n\nbob\n".to_string());
        let t = Template::parse("{rand:7..9}/{line:users.txt}/{seq}", &read).unwrap();
        let mut draws = Draws { rng: fastrand::Rng::with_seed(1), seq: 3, step: 2 };
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for _ in 0..200 {
            out.clear();
            t.render(&mut out, &mut draws, &[]);
            let text = String::from_utf8(out.clone()).unwrap();
            let parts: Vec<&str> = text.split('/').collect();
            assert!(["7", "8", "9"].contains(&parts[0]) && ["alice", "bob"].contains(&parts[1]), "{text}");
            assert_eq!(parts[2], "3", "the worker moves the sequence on, not the render");
            seen.insert(parts[0].to_string());
        }
        assert_eq!(seen.len(), 3, "every value of the range drawn");
        let mut big = Vec::new();
        number(&mut big, u64::MAX);
        assert_eq!(big, u64::MAX.to_string().as_bytes());
    }
}
