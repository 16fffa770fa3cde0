//! Protocol dissectors, one module per protocol, and the dispatch that hands them frames and TCP
//! stream prefixes. Dissectors read untrusted bytes only through [`reader::Reader`] and report
//! into [`crate::findings::Findings`].
//!
//! Protocols are recognised by content where the content says so (SSH, HTTP, TLS, SMB, RDP, RFB,
//! Telnet, Niagara Fox, PC WORX, Crimson V3), by EtherType or SNAP id on layer 2 (LLDP, CDP, PROFINET, GOOSE, SV), and
//! by UDP port where the payload has no signature (DHCP, NetBIOS, DNS, SNMP, NTP, SSDP, syslog,
//! and the industrial UDP protocols of [`ics`]). Industrial TCP protocols are framed per PDU by
//! the flow table ([`crate::flow::pdu_stream`]).

pub mod banners;
pub mod ber;
pub mod cdp;
pub mod describe;
pub mod dhcp;
pub mod dns;
pub mod ics;
pub mod lldp;
pub mod netbios;
pub mod rdp;
pub mod reader;
pub mod smb;
pub mod snmp;
pub mod tls;
pub mod udp_misc;

use crate::decode::{Decoded, Net, Transport as L4};
use crate::findings::{Findings, FrameRef};
use shoko_proto::{Endpoint, Transport};
use std::net::IpAddr;

/// LLDP EtherType.
const ETHERTYPE_LLDP: u16 = 0x88cc;
/// PROFINET EtherType.
const ETHERTYPE_PROFINET: u16 = 0x8892;
/// Cisco SNAP organisation and CDP protocol id.
const CDP_SNAP: ([u8; 3], u16) = ([0x00, 0x00, 0x0c], 0x2000);

/// The reassembled start of one direction of a TCP connection.
#[derive(Debug, Clone, Copy)]
pub struct StreamView<'a> {
    /// The side that opened the connection.
    pub client: Endpoint,
    /// The side that accepted it.
    pub server: Endpoint,
    /// True when `data` flows from client to server.
    pub from_client: bool,
    /// TCP for streams; UDP when an industrial dissector is handed a datagram.
    pub transport: Transport,
    /// The first bytes of that direction, in order.
    pub data: &'a [u8],
}

impl StreamView<'_> {
    /// The side that sent `data`.
    pub fn sender(&self) -> &Endpoint {
        if self.from_client {
            &self.client
        } else {
            &self.server
        }
    }
}

/// Whether a stream dissector wants more of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Call again when more bytes arrived.
    More,
    /// Nothing more to learn from this direction.
    Done,
}

/// Dissects what a single frame carries (layer 2 and UDP protocols).
pub fn frame(d: &Decoded<'_>, f: &FrameRef<'_>, out: &mut Findings) {
    match &d.net {
        Net::Other {
            ether_type: ETHERTYPE_LLDP,
            payload,
        } => {
            if let Some(src) = d.src_mac {
                lldp::dissect(payload, src, f, out);
            }
        }
        Net::Other {
            ether_type: ETHERTYPE_PROFINET,
            payload,
        } => {
            if let (Some(src), Some(dst)) = (d.src_mac, d.dst_mac) {
                ics::pn_dcp::dissect(payload, src, dst, f, out);
            }
        }
        Net::Other {
            ether_type: t @ (ics::goose::ETHERTYPE_GOOSE | ics::goose::ETHERTYPE_SV),
            payload,
        } => {
            if let Some(src) = d.src_mac {
                ics::goose::dissect(*t, payload, src, f, out);
            }
        }
        Net::Llc {
            snap: Some(snap),
            payload,
            ..
        } if *snap == CDP_SNAP => {
            if let Some(src) = d.src_mac {
                cdp::dissect(payload, src, f, out);
            }
        }
        Net::Ip(ip) => {
            if let L4::Udp {
                sport,
                dport,
                payload,
            } = ip.transport
            {
                udp(d, ip.src, ip.dst, sport, dport, payload, f, out);
            }
        }
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn udp(
    d: &Decoded<'_>,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    payload: &[u8],
    f: &FrameRef<'_>,
    out: &mut Findings,
) {
    let ends = |ip, port, mac| Endpoint { ip, port, mac };
    if ics::udp(
        ends(src, sport, d.src_mac),
        ends(dst, dport, d.dst_mac),
        payload,
        f,
        out,
    ) {
        return;
    }
    let on = |p: u16| sport == p || dport == p;
    if on(67) || on(68) {
        dhcp::dissect(payload, f, out);
    } else if on(546) || on(547) {
        if let (Some(mac), 546) = (d.src_mac, sport) {
            dhcp::dissect_v6(payload, mac, f, out);
        }
    } else if sport == 137 || dport == 137 {
        netbios::dissect_ns(payload, f, out);
    } else if dport == 138 {
        netbios::dissect_datagram(payload, f, out);
    } else if sport == 53 {
        dns::dissect(payload, "dns", f, out);
    } else if on(5353) {
        dns::dissect(payload, "mdns", f, out);
    } else if sport == 5355 {
        dns::dissect(payload, "llmnr", f, out);
    } else if on(161) {
        let ends = snmp::Endpoints {
            src,
            dst,
            from_agent: sport == 161,
        };
        snmp::dissect(payload, &ends, f, out);
    } else if on(123) {
        udp_misc::ntp(payload, src, f, out);
    } else if on(1900) {
        udp_misc::ssdp(payload, src, f, out);
    } else if dport == 514 {
        udp_misc::syslog(payload, dst, f, out);
    }
}

/// Stream dissectors in the order they are tried; each answers `Done` at once when the bytes are
/// not its protocol.
type StreamDissector = fn(&StreamView<'_>, &FrameRef<'_>, &mut Findings) -> Want;
const STREAM_DISSECTORS: [StreamDissector; 11] = [
    banners::ssh,
    banners::http,
    tls::dissect,
    banners::greeting,
    banners::telnet,
    banners::rfb,
    smb::dissect,
    rdp::dissect,
    ics::fox::dissect,
    ics::pcworx::dissect,
    ics::crimson::dissect,
];

/// Per-direction progress of the stream dissectors: bit i set once dissector i said `Done`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamProgress(u16);

impl StreamProgress {
    /// True when every dissector is done with this direction.
    pub fn finished(self) -> bool {
        self.0 == (1 << STREAM_DISSECTORS.len()) - 1
    }
}

/// Offers the reassembled start of a direction to the stream dissectors still interested.
pub fn stream(s: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings, progress: &mut StreamProgress) {
    if s.data.is_empty() {
        return;
    }
    for (i, dissect) in STREAM_DISSECTORS.iter().enumerate() {
        if progress.0 & (1 << i) == 0 && dissect(s, f, out) == Want::Done {
            progress.0 |= 1 << i;
        }
    }
}
