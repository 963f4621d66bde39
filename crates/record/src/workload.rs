//! What a figure was measured on ([`Workload`]) and at which point
//! ([`At`]), each named one way by every table, page, gate and message.

use serde::{Deserialize, Serialize};

/// One endpoint's request as it was measured. Two endpoints may share a
/// method and path (other headers, body or keep-alive): the name tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Workload {
    /// The endpoint's name in its scenario.
    pub endpoint: String,
    pub method: String,
    pub path: String,
    pub keepalive: bool,
    /// What the load spoke (HTTP/1.1 in the clear unless said).
    #[serde(default, skip_serializing_if = "Protocol::is_plain_http1")]
    pub protocol: Protocol,
}

/// What the load spoke to the server: TLS or not, HTTP/1.1 or HTTP/2 with its streams per connection.
/// Figures of two protocols are two workloads: never ranked together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Protocol {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls: bool,
    /// HTTP/2's streams per connection; `None`: HTTP/1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2_streams: Option<u32>,
}

impl Protocol {
    /// HTTP/1.1 without TLS: what every figure was before TLS and HTTP/2, and what files without the
    /// field hold.
    pub fn is_plain_http1(&self) -> bool {
        *self == Protocol::default()
    }
}

impl std::fmt::Display for Protocol {
    /// `HTTP/1.1`, `HTTP/1.1 over TLS`, `HTTP/2 over TLS, 100 streams`, `h2c, 1 stream`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.tls, self.http2_streams) {
            (false, None) => f.write_str("HTTP/1.1"),
            (true, None) => f.write_str("HTTP/1.1 over TLS"),
            (tls, Some(streams)) => {
                let plural = if streams == 1 { "" } else { "s" };
                let how = if tls { "HTTP/2 over TLS" } else { "h2c" };
                write!(f, "{how}, {streams} stream{plural} per connection")
            }
        }
    }
}

/// The method a mix's records carry: its kinds have their own methods and paths.
pub const MIX_METHOD: &str = "MIX";

impl Workload {
    /// Its request as lines name it: `GET /health`, or a mix by its name, `crud (a mix)`.
    pub fn request(&self) -> String {
        if self.method == MIX_METHOD {
            format!("{} (a mix)", self.endpoint)
        } else {
            format!("{} {}", self.method, self.path)
        }
    }
}

impl std::fmt::Display for Workload {
    /// `GET /health (health)` (a mix: `crud (a mix)`), `, keep-alive off` when each request opened its
    /// own connection, and the protocol when it is not HTTP/1.1 in the clear (`, HTTP/1.1 over TLS`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.method == MIX_METHOD {
            f.write_str(&self.request())?;
        } else {
            write!(f, "{} ({})", self.request(), self.endpoint)?;
        }
        if !self.keepalive {
            f.write_str(", keep-alive off")?;
        }
        if !self.protocol.is_plain_http1() {
            write!(f, ", {}", self.protocol)?;
        }
        Ok(())
    }
}

/// Where on a workload a figure was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum At {
    /// A level: this many connections, closed loop.
    Connections(usize),
    /// An offered rate, open loop (req/s).
    Rate(f64),
    /// The rate a capacity search confirmed.
    Capacity,
}

impl At {
    /// Its part of a file name: `100`, `250rps`, `capacity`.
    pub fn slug(&self) -> String {
        match self {
            At::Connections(n) => n.to_string(),
            At::Rate(rate) => format!("{rate:.0}rps"),
            At::Capacity => "capacity".to_string(),
        }
    }
}

impl std::fmt::Display for At {
    /// `100 connections`, `250 req/s`, `its capacity`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Connections(n) => write!(f, "{n} connections"),
            At::Rate(rate) => write!(f, "{rate:.0} req/s"),
            At::Capacity => f.write_str("its capacity"),
        }
    }
}

impl Workload {
    /// A workload of HTTP/1.1 in the clear ([`Workload::over`] says otherwise).
    pub fn new(endpoint: &str, method: &str, path: &str, keepalive: bool) -> Workload {
        let protocol = Protocol::default();
        Workload { endpoint: endpoint.into(), method: method.into(), path: path.into(), keepalive, protocol }
    }

    /// The same workload spoken in `protocol`.
    pub fn over(self, protocol: Protocol) -> Workload {
        Workload { protocol, ..self }
    }
}

impl crate::LevelRecord {
    pub fn workload(&self) -> Workload {
        Workload::new(&self.endpoint, &self.method, &self.path, self.keepalive).over(self.protocol)
    }
}

impl crate::CapacityRecord {
    pub fn workload(&self) -> Workload {
        Workload::new(&self.endpoint, &self.method, &self.path, self.keepalive).over(self.protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prints_itself_one_way() {
        let w = |keepalive| Workload::new("health", "GET", "/health", keepalive);
        assert_eq!(w(true).to_string(), "GET /health (health)");
        assert_eq!(w(false).to_string(), "GET /health (health), keep-alive off");
        let tls = Protocol { tls: true, http2_streams: None };
        assert_eq!(w(false).over(tls).to_string(), "GET /health (health), keep-alive off, HTTP/1.1 over TLS");
        let h2 = |tls, streams| w(true).over(Protocol { tls, http2_streams: Some(streams) }).to_string();
        assert_eq!(h2(true, 100), "GET /health (health), HTTP/2 over TLS, 100 streams per connection");
        assert_eq!(h2(false, 1), "GET /health (health), h2c, 1 stream per connection");
        assert_eq!(At::Connections(100).to_string(), "100 connections");
        assert_eq!(At::Rate(249.6).to_string(), "250 req/s");
        assert_eq!(At::Capacity.to_string(), "its capacity");
        let slugs: Vec<String> = [At::Connections(100), At::Rate(249.6), At::Capacity].iter().map(At::slug).collect();
        assert_eq!(slugs, ["100", "250rps", "capacity"]);
    }
}
