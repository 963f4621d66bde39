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
    /// `GET /health (health)` (a mix: `crud (a mix)`), and `, keep-alive off` when each request opened its
    /// own connection.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.method == MIX_METHOD {
            f.write_str(&self.request())?;
        } else {
            write!(f, "{} ({})", self.request(), self.endpoint)?;
        }
        if !self.keepalive {
            f.write_str(", keep-alive off")?;
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
    pub fn new(endpoint: &str, method: &str, path: &str, keepalive: bool) -> Workload {
        Workload { endpoint: endpoint.into(), method: method.into(), path: path.into(), keepalive }
    }
}

impl crate::LevelRecord {
    pub fn workload(&self) -> Workload {
        Workload::new(&self.endpoint, &self.method, &self.path, self.keepalive)
    }
}

impl crate::CapacityRecord {
    pub fn workload(&self) -> Workload {
        Workload::new(&self.endpoint, &self.method, &self.path, self.keepalive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_prints_itself_one_way() {
        let w =
            |keepalive| Workload { endpoint: "health".into(), method: "GET".into(), path: "/health".into(), keepalive };
        assert_eq!(w(true).to_string(), "GET /health (health)");
        assert_eq!(w(false).to_string(), "GET /health (health), keep-alive off");
        assert_eq!(At::Connections(100).to_string(), "100 connections");
        assert_eq!(At::Rate(249.6).to_string(), "250 req/s");
        assert_eq!(At::Capacity.to_string(), "its capacity");
        let slugs: Vec<String> = [At::Connections(100), At::Rate(249.6), At::Capacity].iter().map(At::slug).collect();
        assert_eq!(slugs, ["100", "250rps", "capacity"]);
    }
}
