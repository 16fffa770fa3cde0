//! Packet decoding: from a captured frame of any supported link type down to the transport payload.
//! Built on etherparse; the rest of the sensor sees only [`Decoded`], never etherparse types.

use crate::capture::{Packet, linktype};
use etherparse::{LinkExtSlice, LinkSlice, NetSlice, SlicedPacket, TransportSlice};
use shoko_proto::MacAddr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP flag bits as in the header.
pub mod defrag;

pub mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Source MAC (absent on link types without one).
    pub src_mac: Option<MacAddr>,
    /// Destination MAC.
    pub dst_mac: Option<MacAddr>,
    /// Outermost VLAN id (priority tags with VID 0 are not a VLAN).
    pub vlan: Option<u16>,
    /// The network layer.
    pub net: Net<'a>,
}

/// The network layer of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Net<'a> {
    /// ARP (Ethernet/IPv4).
    Arp(Arp),
    /// IPv4 or IPv6.
    Ip(Ip<'a>),
    /// An IEEE 802.3 frame with an LLC header (and SNAP, when DSAP and SSAP are 0xAA): CDP, STP ...
    Llc {
        /// Destination service access point.
        dsap: u8,
        /// Source service access point.
        ssap: u8,
        /// SNAP organisation code and protocol id.
        snap: Option<([u8; 3], u16)>,
        /// Payload after the LLC/SNAP header.
        payload: &'a [u8],
    },
    /// A layer-2 protocol the decoder does not open; the EtherType and payload are kept for
    /// dissectors (LLDP, PROFINET, GOOSE ...).
    Other {
        /// EtherType.
        ether_type: u16,
        /// Payload after the EtherType (and VLAN tags).
        payload: &'a [u8],
    },
}

/// An ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// 1 = request, 2 = reply.
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

/// An IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ip<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number of the payload.
    pub proto: u8,
    /// Total length of the IP packet as on the wire.
    pub len: u32,
    /// Fragment identification, offset and more-fragments flag, for fragments (whose transport
    /// is then not decoded).
    pub frag: Option<FragInfo>,
    /// The IP payload (after extension headers) as captured.
    pub payload: &'a [u8],
    /// The transport layer.
    pub transport: Transport<'a>,
}

/// Where a fragment belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragInfo {
    /// Identification field (IPv4) or fragment header identification (IPv6).
    pub id: u32,
    /// Offset of this fragment's data in bytes.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
}

/// The transport layer of an IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport<'a> {
    /// TCP.
    Tcp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Flag bits ([`tcp_flags`]).
        flags: u8,
        /// Sequence number.
        seq: u32,
        /// Payload bytes captured.
        payload: &'a [u8],
    },
    /// UDP.
    Udp {
        /// Source port.
        sport: u16,
        /// Destination port.
        dport: u16,
        /// Payload bytes captured.
        payload: &'a [u8],
    },
    /// ICMP, ICMPv6, a fragment, or another protocol.
    Other,
}

/// Why a frame was not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The link type is not one the decoder reads.
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
    /// The frame is malformed at some layer.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// Decodes one captured frame.
pub fn decode<'a>(pkt: &Packet<'a>) -> Result<Decoded<'a>, DecodeError> {
    let data = pkt.data;
    let sliced = match pkt.linktype {
        linktype::ETHERNET => SlicedPacket::from_ethernet(data),
        linktype::LINUX_SLL => SlicedPacket::from_linux_sll(data),
        linktype::LINUX_SLL2 => {
            // SLL2: protocol type (2), reserved (2), ifindex (4), hatype (2), pkttype (1),
            // addr len (1), address (8); 20 bytes.
            let hdr = data.get(..20).ok_or_else(|| malformed("short SLL2 header"))?;
            let ether_type = u16::from_be_bytes([hdr[0], hdr[1]]);
            SlicedPacket::from_ether_type(ether_type.into(), &data[20..])
        }
        linktype::NULL | linktype::LOOP => {
            let hdr = data.get(..4).ok_or_else(|| malformed("short loopback header"))?;
            let family = if pkt.linktype == linktype::NULL {
                // Host byte order of the capturing machine: accept either.
                let le = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
                if le < 256 {
                    le
                } else {
                    u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]])
                }
            } else {
                u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]])
            };
            match family {
                // AF_INET; AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS.
                2 | 24 | 28 | 30 => SlicedPacket::from_ip(&data[4..]),
                other => return Err(malformed(format!("loopback address family {other}"))),
            }
        }
        linktype::RAW | linktype::RAW_OPENBSD | linktype::RAW_BSDOS | linktype::IPV4 | linktype::IPV6 => {
            SlicedPacket::from_ip(data)
        }
        other => return Err(DecodeError::UnsupportedLinkType(other)),
    }
    .map_err(|e| malformed(e.to_string()))?;
    Ok(from_sliced(sliced))
}

fn malformed(s: impl Into<String>) -> DecodeError {
    DecodeError::Malformed(s.into())
}

fn from_sliced(s: SlicedPacket<'_>) -> Decoded<'_> {
    let (src_mac, dst_mac, mut ether_type, mut payload) = match &s.link {
        Some(LinkSlice::Ethernet2(e)) => (
            Some(MacAddr(e.source())),
            Some(MacAddr(e.destination())),
            u16::from(e.ether_type()),
            e.payload_slice(),
        ),
        Some(LinkSlice::LinuxSll(l)) => {
            let h = l.to_header();
            let mac = (h.sender_address_valid_length >= 6).then(|| {
                let a = h.sender_address;
                MacAddr([a[0], a[1], a[2], a[3], a[4], a[5]])
            });
            (mac, None, 0, l.payload_slice())
        }
        _ => (None, None, 0, &[][..]),
    };
    let mut vlan = None;
    for ext in &s.link_exts {
        if let LinkExtSlice::Vlan(v) = ext {
            let id = v.vlan_identifier().value();
            if vlan.is_none() && id != 0 {
                vlan = Some(id);
            }
            ether_type = u16::from(v.ether_type());
            payload = v.payload_slice();
        }
    }
    let net = match s.net {
        Some(NetSlice::Arp(a)) => arp(a.to_packet()).unwrap_or(Net::Other { ether_type, payload }),
        Some(NetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let p = v4.payload();
            let frag = p.fragmented.then(|| FragInfo {
                id: u32::from(h.identification()),
                offset: usize::from(h.fragments_offset().value()) * 8,
                more: h.more_fragments(),
            });
            Net::Ip(Ip {
                src: IpAddr::V4(h.source_addr()),
                dst: IpAddr::V4(h.destination_addr()),
                proto: p.ip_number.0,
                len: u32::from(h.total_len()),
                frag,
                payload: p.payload,
                transport: transport(s.transport.as_ref(), p.fragmented),
            })
        }
        Some(NetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let p = v6.payload();
            let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                etherparse::Ipv6ExtensionSlice::Fragment(f) if f.is_fragmenting_payload() => {
                    let h = f.to_header();
                    Some(FragInfo {
                        id: h.identification,
                        offset: usize::from(h.fragment_offset.value()) * 8,
                        more: h.more_fragments,
                    })
                }
                _ => None,
            });
            Net::Ip(Ip {
                src: IpAddr::V6(Ipv6Addr::from(h.source())),
                dst: IpAddr::V6(Ipv6Addr::from(h.destination())),
                proto: p.ip_number.0,
                len: 40 + u32::from(h.payload_length()),
                frag,
                payload: p.payload,
                transport: transport(s.transport.as_ref(), p.fragmented),
            })
        }
        None if ether_type <= 1500 => llc(ether_type, payload),
        None => Net::Other { ether_type, payload },
    };
    Decoded {
        src_mac,
        dst_mac,
        vlan,
        net,
    }
}

/// An 802.3 frame: `length` bytes of LLC (and maybe SNAP) header and data; padding is cut off.
fn llc(length: u16, payload: &[u8]) -> Net<'_> {
    let data = &payload[..payload.len().min(usize::from(length))];
    match data {
        [0xaa, 0xaa, 0x03, o1, o2, o3, p1, p2, rest @ ..] => Net::Llc {
            dsap: 0xaa,
            ssap: 0xaa,
            snap: Some(([*o1, *o2, *o3], u16::from_be_bytes([*p1, *p2]))),
            payload: rest,
        },
        [dsap, ssap, _ctrl, rest @ ..] => Net::Llc {
            dsap: *dsap,
            ssap: *ssap,
            snap: None,
            payload: rest,
        },
        _ => Net::Other {
            ether_type: length,
            payload,
        },
    }
}

fn arp<'a>(a: etherparse::ArpPacket) -> Option<Net<'a>> {
    let sha: [u8; 6] = a.sender_hw_addr().try_into().ok()?;
    let spa: [u8; 4] = a.sender_protocol_addr().try_into().ok()?;
    let tpa: [u8; 4] = a.target_protocol_addr().try_into().ok()?;
    Some(Net::Arp(Arp {
        operation: a.operation.0,
        sender_mac: MacAddr(sha),
        sender_ip: Ipv4Addr::from(spa),
        target_ip: Ipv4Addr::from(tpa),
    }))
}

/// Decodes the transport header of a reassembled IP payload.
pub fn transport_of_payload(proto: u8, payload: &[u8]) -> Transport<'_> {
    match proto {
        6 => etherparse::TcpSlice::from_slice(payload)
            .map(|t| transport(Some(&TransportSlice::Tcp(t)), false))
            .unwrap_or(Transport::Other),
        17 => etherparse::UdpSlice::from_slice(payload)
            .map(|u| transport(Some(&TransportSlice::Udp(u)), false))
            .unwrap_or(Transport::Other),
        _ => Transport::Other,
    }
}

fn transport<'a>(t: Option<&TransportSlice<'a>>, fragmented: bool) -> Transport<'a> {
    if fragmented {
        return Transport::Other;
    }
    match t {
        Some(TransportSlice::Tcp(t)) => {
            let h = t.header_slice();
            Transport::Tcp {
                sport: t.source_port(),
                dport: t.destination_port(),
                flags: h.get(13).copied().unwrap_or(0),
                seq: t.sequence_number(),
                payload: t.payload(),
            }
        }
        Some(TransportSlice::Udp(u)) => Transport::Udp {
            sport: u.source_port(),
            dport: u.destination_port(),
            payload: u.payload(),
        },
        _ => Transport::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn pkt(linktype: u32, data: &[u8]) -> Packet<'_> {
        Packet {
            ts: shoko_proto::Timestamp(0),
            linktype,
            orig_len: data.len() as u32,
            data,
        }
    }

    #[test]
    fn decodes_vlan_tcp() {
        let b = PacketBuilder::ethernet2([0, 0x1b, 0x1b, 1, 2, 3], [0, 0, 0xbc, 4, 5, 6])
            .single_vlan(10.try_into().unwrap())
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(49152, 502, 7, 1024)
            .syn();
        let mut buf = Vec::new();
        b.write(&mut buf, &[]).unwrap();
        let d = decode(&pkt(linktype::ETHERNET, &buf)).unwrap();
        assert_eq!(d.vlan, Some(10));
        assert_eq!(d.src_mac.unwrap().to_string(), "00:1b:1b:01:02:03");
        let Net::Ip(ip) = d.net else { panic!() };
        assert_eq!(ip.src.to_string(), "10.0.0.1");
        assert_eq!(
            ip.transport,
            Transport::Tcp {
                sport: 49152,
                dport: 502,
                flags: tcp_flags::SYN,
                seq: 7,
                payload: &[]
            }
        );
    }

    #[test]
    fn decodes_bsd_loopback_and_refuses_unknown_linktypes() {
        let b = PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64).udp(1, 20000);
        let mut buf = vec![2, 0, 0, 0];
        b.write(&mut buf, b"xy").unwrap();
        let d = decode(&pkt(linktype::NULL, &buf)).unwrap();
        assert!(matches!(
            d.net,
            Net::Ip(Ip {
                transport: Transport::Udp { dport: 20000, .. },
                ..
            })
        ));
        assert_eq!(
            decode(&pkt(195, &buf)),
            Err(DecodeError::UnsupportedLinkType(195))
        );
    }

    #[test]
    fn truncated_frames_are_errors_not_panics() {
        for n in 0..60 {
            let data = vec![0x45u8; n];
            let _ = decode(&pkt(linktype::ETHERNET, &data));
            let _ = decode(&pkt(linktype::LINUX_SLL2, &data));
            let _ = decode(&pkt(linktype::NULL, &data));
        }
    }
}
