//! An address of this machine that is not loopback and reaches nowhere: a
//! bridge interface with no ports, holding one address of TEST-NET-2 (RFC 5737,
//! for documentation; no network routes it). Tests use it where something must
//! be on an interface other than loopback without being on any network. Needs
//! root and iproute2, as the Docker tests do.

use std::net::Ipv4Addr;
use std::process::Command;

/// The address every test bridge holds.
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

/// The bridge, deleted when dropped.
#[derive(Debug)]
pub struct Bridge {
    pub name: String,
}

impl Bridge {
    /// Creates `<prefix>-<pid>` (at most 15 characters) with [`ADDRESS`], up.
    pub fn create(prefix: &str) -> Bridge {
        let name = format!("{prefix}-{}", std::process::id() % 100_000);
        assert!(name.len() <= 15, "interface names have at most 15 characters: {name}");
        ip(&["link", "add", &name, "type", "bridge"]);
        let bridge = Bridge { name };
        ip(&["addr", "add", &format!("{ADDRESS}/24"), "dev", &bridge.name]);
        ip(&["link", "set", &bridge.name, "up"]);
        bridge
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.name]).output();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip (iproute2) is installed");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
