//! Listening sockets from `/proc/net/{tcp,tcp6,udp,udp6}` (TCP in LISTEN, UDP unconnected, as
//! `ss -ltnu` shows them), with the owning process found through `/proc/<pid>/fd`.

use super::root::HostRoot;
use serde::Serialize;
use shoko_proto::Transport;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP_LISTEN in `/proc/net/tcp`.
const TCP_LISTEN: &str = "0A";
/// TCP_CLOSE: an unconnected UDP socket.
const UDP_UNCONNECTED: &str = "07";

/// A socket waiting for peers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ListeningSocket {
    /// TCP or UDP.
    pub transport: Transport,
    /// Bound address (`0.0.0.0` / `::` for all interfaces).
    pub address: IpAddr,
    /// Port.
    pub port: u16,
    /// True when bound to a loopback address only.
    pub loopback_only: bool,
    /// Owning process id and command name, when visible (other users' processes need root).
    pub process: Option<(u32, String)>,
    /// Socket inode.
    pub inode: u64,
}

/// An address of `/proc/net/*`: hex IPv4 in host byte order, or IPv6 as four host-order words.
fn address(hex: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = hex.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let ip = match a.len() {
        8 => IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(a, 16).ok()?.swap_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let w = u32::from_str_radix(a.get(i * 8..i * 8 + 8)?, 16)
                    .ok()?
                    .swap_bytes();
                chunk.copy_from_slice(&w.to_be_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// The listening sockets of one `/proc/net` table.
pub fn parse(text: &str, transport: Transport) -> Vec<ListeningSocket> {
    let wanted = if transport == Transport::Tcp {
        TCP_LISTEN
    } else {
        UDP_UNCONNECTED
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.get(3)? != &wanted {
                return None;
            }
            let (address, port) = address(f.get(1)?)?;
            Some(ListeningSocket {
                transport,
                loopback_only: address.is_loopback(),
                address,
                port,
                process: None,
                inode: f.get(9)?.parse().ok()?,
            })
        })
        .collect()
}

/// Socket inode to (pid, command), from the `socket:[inode]` links of `/proc/<pid>/fd`.
fn owners(root: &HostRoot) -> HashMap<u64, (u32, String)> {
    let mut map = HashMap::new();
    for pid in root
        .list("/proc")
        .into_iter()
        .filter_map(|p| p.parse::<u32>().ok())
    {
        let fd_dir = format!("/proc/{pid}/fd");
        let fds = root.list(&fd_dir);
        if fds.is_empty() {
            continue;
        }
        let comm = root
            .read(&format!("/proc/{pid}/comm"))
            .map(|c| c.trim().to_owned())
            .unwrap_or_default();
        for fd in fds {
            let Ok(target) = std::fs::read_link(root.path(&format!("{fd_dir}/{fd}"))) else {
                continue;
            };
            let t = target.to_string_lossy();
            if let Some(Ok(i)) = t
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::parse::<u64>)
            {
                map.entry(i).or_insert_with(|| (pid, comm.clone()));
            }
        }
    }
    map
}

/// Every listening socket of the host, with its process when visible.
pub fn collect(root: &HostRoot) -> Vec<ListeningSocket> {
    let mut all = Vec::new();
    for (file, transport) in [
        ("/proc/net/tcp", Transport::Tcp),
        ("/proc/net/tcp6", Transport::Tcp),
        ("/proc/net/udp", Transport::Udp),
        ("/proc/net/udp6", Transport::Udp),
    ] {
        if let Ok(text) = root.read(file) {
            all.extend(parse(&text, transport));
        }
    }
    let owners = owners(root);
    for s in &mut all {
        s.process = owners.get(&s.inode).cloned();
    }
    all.sort();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 23456 1 0\n\
   1: 0200000A:0016 0300000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 0 1 0\n";
        let s = parse(tcp, Transport::Tcp);
        assert_eq!(s.len(), 1);
        assert_eq!(
            (
                s[0].address.to_string(),
                s[0].port,
                s[0].loopback_only,
                s[0].inode
            ),
            ("127.0.0.1".into(), 5432, true, 23456)
        );
        let tcp6 = "hdr\n   0: 00000000000000000000000000000000:01F6 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 777 1\n\
   1: 0000000000000000FFFF00000100007F:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 778 1\n";
        let s = parse(tcp6, Transport::Tcp);
        assert_eq!(s[0].address.to_string(), "::");
        assert_eq!(s[0].port, 502);
        assert_eq!(s[1].address.to_string(), "::ffff:127.0.0.1");
        let udp = "hdr\n  1: 00000000:0044 00000000:0000 07 0 0 0 0 0 0 99 2\n";
        assert_eq!(parse(udp, Transport::Udp)[0].port, 68);
        assert!(parse("hdr\n garbage\n 1: zz:zz 0 0A\n", Transport::Tcp).is_empty());
    }
}
