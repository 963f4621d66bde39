//! What the load speaks to the server: TLS or not (the server's), and HTTP/1.1 or HTTP/2 (the server's,
//! or an endpoint's own), with HTTP/2's streams per connection.
//!
//! Invariant: a scenario that parses has only versions [`Http::parse`] reads, streams only where it speaks
//! HTTP/2 and within `loadgen::check_http2`'s rules, and TLS placeholders only in a TLS server's command.

use crate::{Endpoint, Error, Loaded, Service, Spanned};

/// Where the run's certificate (and its CA's, after it) is in the server's container: `{tls_cert}`.
pub const TLS_CERT: &str = "/run/stackbench/tls/cert.pem";
/// Where the certificate's private key is in the server's container: `{tls_key}`.
pub const TLS_KEY: &str = "/run/stackbench/tls/key.pem";

/// An HTTP version the load speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Http {
    #[default]
    V1_1,
    /// HTTP/2: over TLS agreed by ALPN (`h2`), over plain TCP with prior knowledge (h2c).
    V2,
}

impl Http {
    pub fn parse(s: &str) -> Result<Http, String> {
        match s {
            "1.1" => Ok(Http::V1_1),
            "2" => Ok(Http::V2),
            other => Err(format!("'{other}' is not an HTTP version stackbench speaks: use \"1.1\" or \"2\"")),
        }
    }
}

impl Service {
    /// It speaks TLS on its port.
    pub fn tls(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| *tls.get_ref())
    }

    /// What its endpoints speak unless they say otherwise.
    pub fn http(&self) -> Http {
        version(&self.http)
    }
}

impl Endpoint {
    /// Its HTTP version: its own, else the server's.
    pub fn http(&self, server: &Service) -> Http {
        match &self.http {
            Some(_) => version(&self.http),
            None => server.http(),
        }
    }

    /// HTTP/2's streams per connection (its own, else 1); `None` when it speaks HTTP/1.1.
    pub fn http2_streams(&self, server: &Service) -> Option<u32> {
        (self.http(server) == Http::V2).then(|| self.streams.as_ref().map_or(1, |s| *s.get_ref()))
    }
}

fn version(http: &Option<Spanned<String>>) -> Http {
    http.as_ref().map_or(Http::V1_1, |h| Http::parse(h.get_ref()).expect("versions are checked while parsing"))
}

pub(crate) fn check(l: &Loaded) -> Result<(), Error> {
    let s = &l.scenario;
    for sidecar in &s.sidecars {
        let name = sidecar.name.as_ref().map_or("", |n| n.as_str());
        let tls = sidecar.tls.as_ref().map(|t| ("tls", t.span()));
        if let Some((key, span)) = tls.or(sidecar.http.as_ref().map(|h| ("http", h.span()))) {
            return Err(l.error_at(
                span,
                format!("sidecar '{name}' takes no `{key}`: the load and its checks speak to the server only"),
                Some("the server reaches its sidecars as it likes (`$STACKBENCH_<NAME>_URL`)"),
            ));
        }
    }
    let endpoints = s.workload.endpoints.get_ref();
    for http in std::iter::once(&s.server.http).chain(endpoints.iter().map(|e| &e.http)).flatten() {
        if let Err(why) = Http::parse(http.get_ref()) {
            return Err(l.error_at(http.span(), format!("http = {why}"), None));
        }
    }
    if !s.server.tls() {
        let command = &s.server.command;
        if let Some(p) =
            ["{tls_cert}", "{tls_key}"].into_iter().find(|p| command.get_ref().iter().any(|a| a.contains(p)))
        {
            return Err(l.error_at(
                command.span(),
                format!("the command names {p}, but the server does not speak TLS"),
                Some("add `tls = true` to [server]: stackbench then makes a certificate for the run"),
            ));
        }
    }
    for e in endpoints {
        let Some(streams) = e.http2_streams(&s.server) else {
            if let Some(streams) = &e.streams {
                return Err(l.error_at(
                    streams.span(),
                    format!("endpoint '{}': streams are HTTP/2's, and it speaks HTTP/1.1", e.name),
                    Some("add http = \"2\" to the endpoint, or to [server] for all of them"),
                ));
            }
            continue;
        };
        let http2 = loadgen::Http2 { streams, ..Default::default() };
        let pipeline = &s.workload.pipeline;
        if let Err((key, reason)) = loadgen::check_http2(&http2, *pipeline.get_ref(), e.keepalive(&s.workload)) {
            let span = match key {
                "pipeline" => pipeline.span(),
                _ => e.streams.as_ref().map_or(s.workload.endpoints.span(), |s| s.span()),
            };
            return Err(l.error_at(span, format!("endpoint '{}' speaks HTTP/2: {key}: {reason}", e.name), None));
        }
    }
    Ok(())
}
