//! The request bytes, serialized once per run and written as they are.

use memchr::memmem::Finder;

use crate::config::{Config, Kind};
use crate::template::RequestTemplate;

/// One kind of request as the generator sends it (a mix has several; a run without one, one).
pub(crate) struct Prepared {
    /// `pipeline` copies of the request, back to back; a single send is a prefix.
    pub batch: Vec<u8>,
    pub len: usize,
    /// A request that draws values: rendered per send into its connection's buffer (`batch` unused).
    pub template: Option<RequestTemplate>,
    pub body_finder: Option<Finder<'static>>,
    /// Its config (`Config::of_kind`): for rendering, and its checks (`expect`).
    pub config: Config,
    /// A mix's kind: what it captures from its responses, `(slot, JSON field)`, and whether a new
    /// connection sends it first.
    pub captures: Vec<(usize, String)>,
    pub first: bool,
    /// HTTP/2: the request as its frames carry it, encoded once (`None` for a template: per send).
    pub h2: Option<crate::h2::Request>,
}

impl Prepared {
    /// `config`'s request (a kind's config for a mix, `kind`), serialized once, or its template with
    /// its captures' slots among `names` (`Config::capture_names`).
    pub(crate) fn of(
        config: Config,
        kind: Option<&Kind>,
        names: &[String],
    ) -> Result<Prepared, (&'static str, String)> {
        let request = build(&config);
        let mut template = RequestTemplate::of(&config)?;
        if let Some(t) = template.as_mut() {
            t.bind(names);
        }
        let slot = |name: &String| names.iter().position(|n| n == name).expect("every capture is named");
        let h2 = match (config.http2, &template) {
            (Some(_), None) => Some(crate::h2::encode_request(&request, config.target.tls).map_err(|e| ("url", e))?),
            _ => None,
        };
        Ok(Prepared {
            h2,
            batch: request.repeat(config.pipeline as usize),
            len: request.len(),
            template,
            body_finder: config.expect.body.as_ref().map(|b| Finder::new(b).into_owned()),
            config,
            captures: kind.map_or(Vec::new(), |k| k.capture.iter().map(|(n, f)| (slot(n), f.clone())).collect()),
            first: kind.is_some_and(|k| k.first),
        })
    }
}

/// Serializes the request of `config`. Adds `Host` unless the headers carry
/// one, `Content-Length` when there is a body or the method usually has one,
/// and `Connection: close` when keep-alive is off.
pub fn build(config: &Config) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + config.body.len());
    let values = config.headers.iter().map(|(_, v)| v.as_bytes());
    write(&mut out, config, config.target.path.as_bytes(), values, &config.body);
    out
}

/// Appends `config`'s request to `out` with this `path`, these header values (in the order of
/// `config.headers`' names) and this `body`: the one serialization, of fixed requests and of rendered
/// templates (`template.rs`) alike.
pub(crate) fn write<'a>(
    out: &mut Vec<u8>,
    config: &Config,
    path: &[u8],
    values: impl Iterator<Item = &'a [u8]>,
    body: &[u8],
) {
    out.extend_from_slice(config.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path);
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let has = |name: &str| config.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        header(out, "Host", config.target.host.as_bytes());
    }
    for ((name, _), value) in config.headers.iter().zip(values) {
        header(out, name, value);
    }
    let method_has_body = ["POST", "PUT", "PATCH"].iter().any(|m| config.method.eq_ignore_ascii_case(m));
    if (!body.is_empty() || method_has_body) && !has("content-length") {
        let mut digits = [0; 20];
        header(out, "Content-Length", crate::template::decimal(body.len() as u64, &mut digits));
    }
    if !config.keepalive && !has("connection") {
        header(out, "Connection", b"close");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

fn header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Target;

    fn config() -> Config {
        Config::new(Target::parse("http://127.0.0.1:8080/login?a=1").unwrap())
    }

    #[test]
    fn get_is_minimal() {
        assert_eq!(build(&config()), b"GET /login?a=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
    }

    #[test]
    fn post_with_headers_and_no_keepalive() {
        let c = Config {
            method: "POST".into(),
            headers: vec![("Content-Type".into(), "application/json".into()), ("Token".into(), "t".into())],
            body: b"{\"a\":1}".to_vec(),
            keepalive: false,
            ..config()
        };
        assert_eq!(
            String::from_utf8(build(&c)).unwrap(),
            "POST /login?a=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nToken: t\r\n\
             Content-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}"
        );
    }

    #[test]
    fn user_host_wins() {
        let c = Config { headers: vec![("host".into(), "example".into())], ..config() };
        assert_eq!(build(&c), b"GET /login?a=1 HTTP/1.1\r\nhost: example\r\n\r\n");
    }
}
