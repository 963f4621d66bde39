//! The TCP addresses a container's processes listen on, read from `/proc`.
//! With host networking a server bound to 0.0.0.0 or `::` is open on every
//! interface of the machine; this is how the runner finds out.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bollard::query_parameters::TopOptionsBuilder;

use crate::{api, Engine, Error};

/// `st` of a listening socket in `/proc/net/tcp`.
const TCP_LISTEN: &str = "0A";

impl Engine {
    /// The TCP addresses the processes of container `id` listen on. It reads
    /// this host's `/proc`, so it needs a local engine and the right to read
    /// other processes' file descriptors (root).
    pub async fn listening(&self, id: &str) -> Result<Vec<SocketAddr>, Error> {
        let options = TopOptionsBuilder::default().ps_args("-eo pid").build();
        let top =
            self.docker.top_processes(id, Some(options)).await.map_err(api(format!("listing processes of {id}")))?;
        let pid_column = top.titles.unwrap_or_default().iter().position(|t| t == "PID").unwrap_or(0);
        let pids: Vec<u32> =
            top.processes.unwrap_or_default().iter().filter_map(|p| p.get(pid_column)?.parse().ok()).collect();
        let Some(&first) = pids.first() else { return Ok(Vec::new()) };
        let mut inodes = HashSet::new();
        for pid in &pids {
            // A process that exited since `top` has nothing left open.
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
            for fd in fds.flatten() {
                let Ok(link) = std::fs::read_link(fd.path()) else { continue };
                let link = link.to_string_lossy();
                if let Some(inode) = link.strip_prefix("socket:[").and_then(|l| l.strip_suffix(']')) {
                    inodes.insert(inode.to_string());
                }
            }
        }
        // Every process of a container shares one network namespace.
        let mut addrs = Vec::new();
        for table in ["tcp", "tcp6"] {
            let path = format!("/proc/{first}/net/{table}");
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Proc { path: path.clone(), source })?;
            addrs.extend(listening_sockets(&text).into_iter().filter(|(_, i)| inodes.contains(i)).map(|(a, _)| a));
        }
        addrs.sort();
        addrs.dedup();
        Ok(addrs)
    }
}

/// The listening sockets of a `/proc/net/tcp` or `/proc/net/tcp6` table, with their inodes.
fn listening_sockets(table: &str) -> Vec<(SocketAddr, String)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            (*state == TCP_LISTEN).then_some(())?;
            let (ip, port) = local.split_once(':')?;
            Some((SocketAddr::new(parse_ip(ip)?, u16::from_str_radix(port, 16).ok()?), inode.to_string()))
        })
        .collect()
}

/// The kernel prints an address as 32-bit words in this machine's byte order.
fn parse_ip(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

/// True if `addr` can only be reached from this machine (127.0.0.0/8, `::1`,
/// or an IPv4-mapped loopback address).
pub fn is_loopback_only(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_read_from_proc_tables() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0
   1: 00000000:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0
   2: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 20 4 30 10 -1
";
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0 100 0 0 10 0
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 666 1 0 100 0 0 10 0
";
        let got: Vec<(String, String, bool)> = listening_sockets(tcp)
            .into_iter()
            .chain(listening_sockets(tcp6))
            .map(|(a, i)| (a.to_string(), i, is_loopback_only(&a)))
            .collect();
        let want = [
            ("127.0.0.1:8080", "111", true),
            ("0.0.0.0:3306", "222", false),
            ("[::1]:8081", "444", true),
            ("[::]:80", "555", false),
            ("[::ffff:127.0.0.1]:8082", "666", true),
        ];
        let want: Vec<(String, String, bool)> =
            want.iter().map(|(a, i, l)| (a.to_string(), i.to_string(), *l)).collect();
        assert_eq!(got, want, "the connected socket (st 01) is not a listener");
    }

    #[test]
    fn only_loopback_is_private() {
        for (addr, private) in
            [("127.0.0.2:1", true), ("10.0.0.1:1", false), ("192.168.1.2:1", false), ("[2001:db8::1]:1", false)]
        {
            assert_eq!(is_loopback_only(&addr.parse().unwrap()), private, "{addr}");
        }
    }
}
