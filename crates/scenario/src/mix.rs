//! A mix: an endpoint's weighted requests (`requests = [...]`), as written and as checked.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::values::{Name, ProjectPath};
use crate::{default_method, default_status, Endpoint, Error, Loaded, SloTable, Spanned};

/// One request of a mix (`requests = [...]` on an endpoint).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixRequest {
    pub name: Name,
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_file: Option<Spanned<ProjectPath>>,
    /// Its share of the mix: its weight over the weights' sum [default: 1].
    #[serde(default = "default_weight")]
    pub weight: u32,
    #[serde(default = "default_status")]
    pub expect_status: u16,
    #[serde(default)]
    pub expect_body: Option<String>,
    /// This kind's own objectives, besides the endpoint's on the whole mix.
    #[serde(default)]
    pub slo: Option<SloTable>,
    /// Values taken from its responses' JSON for the connection's later requests: NAME = "field", used
    /// as `{capture:NAME}` in a path, header or body.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// A new connection sends it first (a login), then draws by weight.
    #[serde(default)]
    pub first: bool,
}

fn default_weight() -> u32 {
    1
}

/// The names of the `{capture:NAME}` placeholders in `text`.
fn captures_named(text: &str) -> Vec<String> {
    let parsed = loadgen::template::Template::parse(text, &|_| Ok("-".into()));
    parsed.map_or(Vec::new(), |t| {
        t.0.into_iter()
            .filter_map(|p| match p {
                loadgen::template::Part::Capture { name, .. } => Some(name),
                _ => None,
            })
            .collect()
    })
}

/// A mix: requests of their own (each checked as a request), named apart, weighed above 0 in all.
pub(crate) fn check(l: &Loaded, endpoint: &Endpoint, mix: &Spanned<Vec<MixRequest>>) -> Result<(), Error> {
    let at = mix.span();
    let what = |r: &MixRequest| format!("endpoint '{}' request '{}'", endpoint.name, r.name);
    if !endpoint.path.is_empty() {
        let why = format!("endpoint '{}' is a mix: its requests give their own paths", endpoint.name);
        return Err(l.error_at(at, why, Some("drop the endpoint's path")));
    }
    let own = !endpoint.headers.is_empty()
        || endpoint.body.is_some()
        || endpoint.body_file.is_some()
        || endpoint.expect_body.is_some()
        || endpoint.expect_status != default_status()
        || endpoint.method != default_method();
    if own {
        let why = format!(
            "endpoint '{}' is a mix: its requests carry their own method, headers, body and checks",
            endpoint.name
        );
        return Err(l.error_at(at, why, Some("move them into the requests that need them")));
    }
    if mix.get_ref().iter().map(|r| u64::from(r.weight)).sum::<u64>() == 0 {
        let why = format!("endpoint '{}': the requests' weights sum to 0", endpoint.name);
        return Err(l.error_at(at, why, Some("give at least one request a weight above 0")));
    }
    let captured: Vec<&String> = mix.get_ref().iter().flat_map(|r| r.capture.keys()).collect();
    for (i, r) in mix.get_ref().iter().enumerate() {
        crate::check_request(l, at.clone(), &what(r), &r.method, &r.path, &r.headers)?;
        let texts =
            std::iter::once(r.path.as_str()).chain(r.headers.values().map(String::as_str)).chain(r.body.as_deref());
        for name in texts.flat_map(captures_named) {
            if !captured.iter().any(|c| **c == name) {
                let why = format!("{}: {{capture:{name}}} names no capture of the mix", what(r));
                let hint = format!("add capture = {{ {name} = \"FIELD\" }} to the request whose JSON answer holds it");
                return Err(l.error_at(at, why, Some(&hint)));
            }
        }
        if r.method.eq_ignore_ascii_case("HEAD") {
            return Err(l.error_at(at, format!("{}: a HEAD request cannot be part of a mix", what(r)), None));
        }
        if mix.get_ref()[..i].iter().any(|o| o.name == r.name) {
            return Err(l.error_at(
                at,
                format!("endpoint '{}': two requests are named '{}'", endpoint.name, r.name),
                None,
            ));
        }
    }
    Ok(())
}
