//! The request bytes, serialized once per run and written as they are.

use crate::config::Config;

/// Serializes the request of `config`. Adds `Host` unless the headers carry
/// one, `Content-Length` when there is a body or the method usually has one,
/// and `Connection: close` when keep-alive is off.
pub fn build(config: &Config) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + config.body.len());
    out.extend_from_slice(config.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(config.target.path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let has = |name: &str| config.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        header(&mut out, "Host", &config.target.host);
    }
    for (name, value) in &config.headers {
        header(&mut out, name, value);
    }
    let method_has_body = ["POST", "PUT", "PATCH"].iter().any(|m| config.method.eq_ignore_ascii_case(m));
    if (!config.body.is_empty() || method_has_body) && !has("content-length") {
        header(&mut out, "Content-Length", &config.body.len().to_string());
    }
    if !config.keepalive && !has("connection") {
        header(&mut out, "Connection", "close");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&config.body);
    out
}

fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
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
