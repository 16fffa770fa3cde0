//! Asset discovery: which devices are on the network, with which addresses, offering which services.
//!
//! IPs are bound to a MAC only while that MAC does not look like a router: a MAC that sends from more
//! than `max_ips_per_mac` IPs forwards traffic for others, so its routed IPs become assets of their
//! own (without the router's MAC).

pub mod ports;

use crate::decode::{Decoded, Net, Transport as L4, tcp_flags};
use serde::Serialize;
use shoko_proto::{EvidenceFrame, MacAddr, Timestamp, Transport};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// Bounds of the inventory tables.
#[derive(Debug, Clone, Copy)]
pub struct InventoryLimits {
    /// Most MAC addresses tracked.
    pub max_macs: usize,
    /// Most IP addresses tracked.
    pub max_ips: usize,
    /// Most services tracked.
    pub max_services: usize,
    /// More distinct source IPs than this behind one MAC marks it a router.
    pub max_ips_per_mac: usize,
}

impl Default for InventoryLimits {
    fn default() -> Self {
        InventoryLimits {
            max_macs: 100_000,
            max_ips: 200_000,
            max_services: 200_000,
            max_ips_per_mac: 4,
        }
    }
}

/// A MAC address and what was seen from it.
#[derive(Debug, Clone)]
struct MacEntry {
    ips: BTreeSet<IpAddr>,
    vlans: BTreeSet<u16>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    packets: u64,
    bytes: u64,
}

/// An IP address and what was seen from it.
#[derive(Debug, Clone)]
struct IpEntry {
    /// The MAC the IP was last seen behind (possibly a router's).
    mac: Option<MacAddr>,
    /// The MAC that announced this IP as its own in ARP.
    arp_owner: Option<MacAddr>,
    vlan: Option<u16>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    packets: u64,
    bytes: u64,
}

/// A service offered by an IP.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRecord {
    /// The IP offering it.
    pub ip: IpAddr,
    /// Transport.
    pub transport: Transport,
    /// Port.
    pub port: u16,
    /// Protocol name, when known.
    pub protocol: Option<String>,
    /// `port` or `content`.
    pub detected_by: &'static str,
    /// First time the service was seen answering.
    pub first_seen: Timestamp,
    /// The frame that showed the service (bounded copy); serialised as its SHA-256.
    #[serde(serialize_with = "frame_digest")]
    pub evidence: EvidenceFrame,
}

/// Counters of what the bounds refused.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct InventoryDrops {
    /// New MACs refused because the table was full.
    pub macs: u64,
    /// New IPs refused because the table was full.
    pub ips: u64,
    /// New services refused because the table was full.
    pub services: u64,
}

/// The inventory built from decoded frames.
#[derive(Debug, Default)]
pub struct Inventory {
    limits: InventoryLimits,
    macs: HashMap<MacAddr, MacEntry>,
    ips: HashMap<IpAddr, IpEntry>,
    services: HashMap<(IpAddr, Transport, u16), ServiceRecord>,
    drops: InventoryDrops,
}

fn frame_digest<S: serde::Serializer>(f: &EvidenceFrame, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&f.sha256)
}

fn mac_list<S: serde::Serializer>(m: &Option<MacAddr>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.iter())
}

/// One discovered asset, ready for output (serialised as in the inventory document).
#[derive(Debug, Clone, Serialize)]
pub struct AssetRecord {
    /// The asset's own MAC (none for routed assets); serialised as the list `macs`.
    #[serde(rename = "macs", serialize_with = "mac_list")]
    pub mac: Option<MacAddr>,
    /// Its IPs.
    pub ips: Vec<IpAddr>,
    /// VLANs it was seen on.
    pub vlans: Vec<u16>,
    /// True when the MAC forwards traffic for other IPs.
    pub router: bool,
    /// First seen.
    pub first_seen: Timestamp,
    /// Last seen.
    pub last_seen: Timestamp,
    /// Frames sent.
    pub packets: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Services offered (by any of its IPs).
    pub services: Vec<ServiceRecord>,
}

/// Context of one frame handed to the inventory.
pub struct FrameContext<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type.
    pub linktype: u32,
    /// Length on the wire.
    pub orig_len: u32,
    /// The raw frame (for evidence).
    pub raw: &'a [u8],
}

fn is_unicast_host(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || v4.octets()[3] == 255)
        }
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

impl Inventory {
    /// An empty inventory with the given bounds.
    pub fn new(limits: InventoryLimits) -> Self {
        Inventory {
            limits,
            ..Default::default()
        }
    }

    /// Counters of what the bounds refused.
    pub fn drops(&self) -> InventoryDrops {
        self.drops
    }

    /// Learns from one decoded frame.
    pub fn observe(&mut self, d: &Decoded<'_>, cx: &FrameContext<'_>) {
        let wire = u64::from(cx.orig_len);
        if let Some(mac) = d.src_mac.filter(|m| !m.is_multicast() && !m.is_zero()) {
            self.touch_mac(mac, d.vlan, cx.ts, wire);
        }
        match &d.net {
            Net::Arp(a) => {
                let ip = IpAddr::V4(a.sender_ip);
                if is_unicast_host(&ip) && !a.sender_mac.is_zero() {
                    self.bind(ip, Some(a.sender_mac), d.vlan, cx.ts, 0);
                    if let Some(e) = self.ips.get_mut(&ip) {
                        e.arp_owner = Some(a.sender_mac);
                    }
                }
            }
            Net::Ip(ip) => {
                if is_unicast_host(&ip.src) {
                    self.bind(ip.src, d.src_mac, d.vlan, cx.ts, wire);
                }
                self.learn_service(ip.src, &ip.transport, cx);
            }
            Net::Other { .. } => {}
        }
    }

    fn touch_mac(&mut self, mac: MacAddr, vlan: Option<u16>, ts: Timestamp, wire: u64) {
        let full = self.macs.len() >= self.limits.max_macs;
        match self.macs.get_mut(&mac) {
            Some(e) => {
                e.last_seen = e.last_seen.max(ts);
                e.first_seen = e.first_seen.min(ts);
                e.packets += 1;
                e.bytes += wire;
                if let Some(v) = vlan {
                    e.vlans.insert(v);
                }
            }
            None if full => self.drops.macs += 1,
            None => {
                self.macs.insert(
                    mac,
                    MacEntry {
                        ips: BTreeSet::new(),
                        vlans: vlan.into_iter().collect(),
                        first_seen: ts,
                        last_seen: ts,
                        packets: 1,
                        bytes: wire,
                    },
                );
            }
        }
    }

    fn bind(&mut self, ip: IpAddr, mac: Option<MacAddr>, vlan: Option<u16>, ts: Timestamp, wire: u64) {
        let full = self.ips.len() >= self.limits.max_ips;
        match self.ips.get_mut(&ip) {
            Some(e) => {
                e.last_seen = e.last_seen.max(ts);
                e.first_seen = e.first_seen.min(ts);
                e.packets += u64::from(wire > 0);
                e.bytes += wire;
                if mac.is_some() {
                    e.mac = mac;
                }
                e.vlan = vlan.or(e.vlan);
            }
            None if full => {
                self.drops.ips += 1;
                return;
            }
            None => {
                self.ips.insert(
                    ip,
                    IpEntry {
                        mac,
                        arp_owner: None,
                        vlan,
                        first_seen: ts,
                        last_seen: ts,
                        packets: u64::from(wire > 0),
                        bytes: wire,
                    },
                );
            }
        }
        if let Some(e) = mac.and_then(|m| self.macs.get_mut(&m)) {
            // Bounded: once over the router threshold, more IPs add nothing to the decision.
            if e.ips.len() <= self.limits.max_ips_per_mac {
                e.ips.insert(ip);
            }
        }
    }

    fn learn_service(&mut self, src: IpAddr, l4: &L4<'_>, cx: &FrameContext<'_>) {
        let (server, transport, port, by_handshake) = match *l4 {
            L4::Tcp {
                sport, dport, flags, ..
            } => {
                let synack = flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN | tcp_flags::ACK;
                if synack {
                    (src, Transport::Tcp, sport, true)
                } else if flags & tcp_flags::SYN != 0 {
                    return;
                } else if let Some(side) = server_side(Transport::Tcp, sport, dport) {
                    if side {
                        (src, Transport::Tcp, sport, false)
                    } else {
                        return; // requests prove nothing until the server answers
                    }
                } else {
                    return;
                }
            }
            L4::Udp { sport, dport, .. } => match server_side(Transport::Udp, sport, dport) {
                Some(true) => (src, Transport::Udp, sport, false),
                _ => return,
            },
            L4::Other => return,
        };
        if !is_unicast_host(&server) {
            return;
        }
        let key = (server, transport, port);
        if self.services.contains_key(&key) {
            return;
        }
        let protocol = ports::well_known(transport, port);
        if protocol.is_none() && !by_handshake {
            return;
        }
        if self.services.len() >= self.limits.max_services {
            self.drops.services += 1;
            return;
        }
        self.services.insert(
            key,
            ServiceRecord {
                ip: server,
                transport,
                port,
                protocol: protocol.map(str::to_owned),
                detected_by: "port",
                first_seen: cx.ts,
                evidence: EvidenceFrame::capture(cx.ts, cx.linktype, cx.orig_len, cx.raw),
            },
        );
    }

    /// The assets found so far.
    pub fn assets(&self) -> Vec<AssetRecord> {
        let routers: BTreeSet<MacAddr> = self
            .macs
            .iter()
            .filter(|(_, e)| e.ips.len() > self.limits.max_ips_per_mac)
            .map(|(m, _)| *m)
            .collect();
        let mut by_mac: HashMap<MacAddr, AssetRecord> = HashMap::new();
        let mut routed = Vec::new();
        for (mac, e) in &self.macs {
            by_mac.insert(
                *mac,
                AssetRecord {
                    mac: Some(*mac),
                    ips: Vec::new(),
                    vlans: e.vlans.iter().copied().collect(),
                    router: routers.contains(mac),
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                    packets: e.packets,
                    bytes: e.bytes,
                    services: Vec::new(),
                },
            );
        }
        for (ip, e) in &self.ips {
            // A router keeps the IPs it announced itself in ARP; the IPs it forwards are routed.
            let owner = e.arp_owner.or(e.mac.filter(|m| !routers.contains(m)));
            match owner.and_then(|m| by_mac.get_mut(&m)) {
                Some(a) => a.ips.push(*ip),
                None => routed.push(AssetRecord {
                    mac: None,
                    ips: vec![*ip],
                    vlans: e.vlan.into_iter().collect(),
                    router: false,
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                    packets: e.packets,
                    bytes: e.bytes,
                    services: Vec::new(),
                }),
            }
        }
        let mut out: Vec<AssetRecord> = by_mac.into_values().chain(routed).collect();
        let mut index: HashMap<IpAddr, usize> = HashMap::new();
        for (i, a) in out.iter_mut().enumerate() {
            a.ips.sort();
            for ip in &a.ips {
                index.insert(*ip, i);
            }
        }
        for ((ip, _, _), s) in &self.services {
            if let Some(&i) = index.get(ip) {
                out[i].services.push(s.clone());
            }
        }
        for a in &mut out {
            a.services.sort_by_key(|s| (s.ip, s.transport, s.port));
        }
        out.sort_by(|a, b| (a.ips.first(), a.mac).cmp(&(b.ips.first(), b.mac)));
        out
    }
}

/// Which side of a packet is the server, judged by well-known ports: `Some(true)` when the source
/// port is a service port and the destination port is not, `Some(false)` for the reverse, `None`
/// when the ports do not tell.
fn server_side(t: Transport, sport: u16, dport: u16) -> Option<bool> {
    let s = ports::well_known(t, sport).is_some();
    let d = ports::well_known(t, dport).is_some();
    match (s, d) {
        (true, false) if dport >= 1024 || sport < dport => Some(true),
        (false, true) if sport >= 1024 || dport < sport => Some(false),
        (true, true) if sport < dport => Some(true),
        (true, true) if dport < sport => Some(false),
        _ => None,
    }
}
