//! Asset discovery: which devices are on the network, with which addresses, offering which services.
//!
//! IPs are bound to a MAC only while that MAC does not look like a router: a MAC that sends from more
//! than `max_ips_per_mac` IPs forwards traffic for others, so its routed IPs become assets of their
//! own (without the router's MAC).

pub mod oui;
pub mod ports;

pub mod roles;

use crate::decode::{Decoded, Net, Transport as L4, tcp_flags};
use crate::findings::{Findings, FrameRef, IdentityRecord, SoftwareRecord, Subject};
use foldhash::HashMap;
use serde::Serialize;
use shoko_proto::{EvidenceFrame, MacAddr, Timestamp, Transport};
use std::collections::{BTreeMap, BTreeSet};
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
    /// Banner or version string the service announced.
    pub banner: Option<String>,
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
    /// Vendor of the MAC's organisationally unique identifier (IEEE registry).
    pub vendor: Option<String>,
    /// Coarse device class (`plc`, `hmi-scada`, `network-device`, `it-host` ...).
    pub class: Option<&'static str>,
    /// Why the class was chosen.
    pub class_reasons: Vec<String>,
    /// Application protocols and the roles the asset plays in them (`modbus: [server]`).
    pub protocols: BTreeMap<String, BTreeSet<&'static str>>,
    /// Identity claims about the asset, from every protocol that made one.
    pub identities: Vec<IdentityRecord>,
    /// Software seen on the asset.
    pub software: Vec<SoftwareRecord>,
    /// Services offered (by any of its IPs).
    pub services: Vec<ServiceRecord>,
    /// Industrial protocol statistics: per protocol and category (function codes, unit ids,
    /// link addresses, ASDU types ...), how often each code was seen.
    pub protocol_stats: BTreeMap<&'static str, BTreeMap<&'static str, BTreeMap<u32, u64>>>,
}

impl AssetRecord {
    fn new(
        mac: Option<MacAddr>,
        ips: Vec<IpAddr>,
        vlans: Vec<u16>,
        first: Timestamp,
        last: Timestamp,
    ) -> Self {
        AssetRecord {
            mac,
            ips,
            vlans,
            router: false,
            first_seen: first,
            last_seen: last,
            packets: 0,
            bytes: 0,
            vendor: None,
            class: None,
            class_reasons: Vec::new(),
            protocols: BTreeMap::new(),
            identities: Vec::new(),
            software: Vec::new(),
            services: Vec::new(),
            protocol_stats: BTreeMap::new(),
        }
    }
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

    /// Entries held: (MACs, IPs, services).
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.macs.len(), self.ips.len(), self.services.len())
    }

    /// Counters of what the bounds refused.
    pub fn drops(&self) -> InventoryDrops {
        self.drops
    }

    /// Learns from one decoded frame.
    pub fn observe(&mut self, d: &Decoded<'_>, cx: &FrameRef<'_>) {
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
            Net::Other { .. } | Net::Llc { .. } => {}
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

    fn learn_service(&mut self, src: IpAddr, l4: &L4<'_>, cx: &FrameRef<'_>) {
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
                banner: None,
                first_seen: cx.ts,
                evidence: cx.evidence(),
            },
        );
    }

    /// The assets found so far, with what the dissectors found about them.
    pub fn assets(&self, findings: &Findings) -> Vec<AssetRecord> {
        let routers: BTreeSet<MacAddr> = self
            .macs
            .iter()
            .filter(|(_, e)| e.ips.len() > self.limits.max_ips_per_mac)
            .map(|(m, _)| *m)
            .collect();
        let mut out: Vec<AssetRecord> = Vec::with_capacity(self.macs.len());
        let mut by_mac: HashMap<MacAddr, usize> = HashMap::default();
        for (mac, e) in &self.macs {
            let mut a = AssetRecord::new(
                Some(*mac),
                Vec::new(),
                e.vlans.iter().copied().collect(),
                e.first_seen,
                e.last_seen,
            );
            a.router = routers.contains(mac);
            (a.packets, a.bytes) = (e.packets, e.bytes);
            by_mac.insert(*mac, out.len());
            out.push(a);
        }
        let mut by_ip: HashMap<IpAddr, usize> = HashMap::default();
        for (ip, e) in &self.ips {
            // A router keeps the IPs it announced itself in ARP; the IPs it forwards are routed.
            let owner = e.arp_owner.or(e.mac.filter(|m| !routers.contains(m)));
            let i = match owner.and_then(|m| by_mac.get(&m)) {
                Some(&i) => i,
                None => {
                    let mut a = AssetRecord::new(
                        None,
                        Vec::new(),
                        e.vlan.into_iter().collect(),
                        e.first_seen,
                        e.last_seen,
                    );
                    (a.packets, a.bytes) = (e.packets, e.bytes);
                    out.push(a);
                    out.len() - 1
                }
            };
            out[i].ips.push(*ip);
            by_ip.insert(*ip, i);
        }
        // Addresses a device announced as its own (LLDP/CDP management address, DHCP lease).
        for (mac, ips) in &findings.addresses {
            let Some(&i) = by_mac.get(mac) else { continue };
            for ip in ips {
                if let std::collections::hash_map::Entry::Vacant(v) = by_ip.entry(*ip) {
                    v.insert(i);
                    out[i].ips.push(*ip);
                }
            }
        }
        for s in self.services.values() {
            if let Some(&i) = by_ip.get(&s.ip) {
                out[i].services.push(s.clone());
            }
        }
        let mut locate = |who: &Subject, out: &mut Vec<AssetRecord>| -> Option<usize> {
            match who {
                Subject::Mac(m) => Some(*by_mac.entry(*m).or_insert_with(|| {
                    out.push(AssetRecord::new(
                        Some(*m),
                        Vec::new(),
                        Vec::new(),
                        Timestamp(0),
                        Timestamp(0),
                    ));
                    out.len() - 1
                })),
                Subject::Ip(ip) => by_ip.get(ip).copied(),
            }
        };
        for ((who, id), seen) in &findings.identities {
            if let Some(i) = locate(who, &mut out) {
                out[i].identities.push(IdentityRecord {
                    identity: id.clone(),
                    seen: seen.clone(),
                });
            }
        }
        for ((who, sw), seen) in &findings.software {
            if let Some(i) = locate(who, &mut out) {
                out[i].software.push(SoftwareRecord {
                    software: sw.clone(),
                    seen: seen.clone(),
                });
            }
        }
        for ((who, protocol), roles) in &findings.roles {
            if let Some(i) = locate(who, &mut out) {
                out[i]
                    .protocols
                    .entry((*protocol).to_owned())
                    .or_default()
                    .extend(roles);
            }
        }
        for ((who, protocol, category, code), n) in &findings.tallies {
            if let Some(i) = locate(who, &mut out) {
                *out[i]
                    .protocol_stats
                    .entry(protocol)
                    .or_default()
                    .entry(category)
                    .or_default()
                    .entry(*code)
                    .or_default() += n;
            }
        }
        for ((ip, transport, port), (found, seen)) in &findings.services {
            let (Some(i), Some(first_frame)) = (locate(&Subject::Ip(*ip), &mut out), seen.frames.first())
            else {
                continue;
            };
            let services = &mut out[i].services;
            match services
                .iter_mut()
                .find(|s| s.ip == *ip && s.transport == *transport && s.port == *port)
            {
                Some(s) => {
                    s.protocol = Some(found.protocol.clone());
                    s.detected_by = "content";
                    s.banner = found.banner.clone().or(s.banner.take());
                }
                None => services.push(ServiceRecord {
                    ip: *ip,
                    transport: *transport,
                    port: *port,
                    protocol: Some(found.protocol.clone()),
                    detected_by: "content",
                    banner: found.banner.clone(),
                    first_seen: seen.first_seen,
                    evidence: first_frame.clone(),
                }),
            }
        }
        for a in &mut out {
            a.ips.sort();
            a.services.sort_by_key(|s| (s.ip, s.transport, s.port));
            a.identities.sort_by(|x, y| {
                (&x.identity.protocol, x.seen.first_seen).cmp(&(&y.identity.protocol, y.seen.first_seen))
            });
            a.software.sort_by(|x, y| x.software.cmp(&y.software));
            a.vendor = a
                .mac
                .filter(|m| !m.is_local() && !m.is_multicast())
                .and_then(|m| oui::vendor(m).map(str::to_owned));
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
