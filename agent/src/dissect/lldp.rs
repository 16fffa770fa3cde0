//! LLDP (IEEE 802.1AB, EtherType 0x88cc): chassis, port, system name and description, capabilities,
//! management address, and LLDP-MED inventory (TIA-1057) of the sending device.

use super::describe::{bit_names, fill_from_description};
use super::reader::{Reader, text};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, MacAddr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// LLDP-MED organisationally unique identifier (TIA).
const TIA_OUI: [u8; 3] = [0x00, 0x12, 0xbb];

fn capabilities(bits: u16) -> Option<String> {
    const NAMES: [&str; 11] = [
        "other",
        "repeater",
        "bridge",
        "wlan-ap",
        "router",
        "telephone",
        "docsis",
        "station",
        "c-vlan",
        "s-vlan",
        "two-port-mac-relay",
    ];
    bit_names(u32::from(bits), &NAMES)
}

fn mac_or_text(subtype: u8, value: &[u8]) -> Option<String> {
    match (subtype, value.len()) {
        (4, 6) => Some(MacAddr([value[0], value[1], value[2], value[3], value[4], value[5]]).to_string()),
        _ => text(value, 128),
    }
}

/// Parses one LLDPDU sent by `src`.
pub fn dissect(payload: &[u8], src: MacAddr, f: &FrameRef<'_>, out: &mut Findings) {
    let mut id = Identity::new("lldp", 80);
    let mut r = Reader::new(payload);
    let mut description = None;
    while let Some(head) = r.u16be() {
        let (kind, len) = (head >> 9, usize::from(head & 0x01ff));
        let Some(v) = r.take(len) else { break };
        match kind {
            0 => break,
            1 if len > 1 => {
                if let Some(c) = mac_or_text(v[0], &v[1..]) {
                    id.attributes.insert("chassis_id".into(), c);
                }
            }
            2 if len > 1 => {
                if let Some(p) = mac_or_text(v[0], &v[1..]) {
                    id.attributes.insert("port_id".into(), p);
                }
            }
            4 => {
                if let Some(p) = text(v, 128) {
                    id.attributes.insert("port_description".into(), p);
                }
            }
            5 => id.name = text(v, 128),
            6 => description = text(v, 512),
            7 if len >= 4 => {
                let enabled = u16::from_be_bytes([v[2], v[3]]);
                id.device_type =
                    capabilities(enabled).or_else(|| capabilities(u16::from_be_bytes([v[0], v[1]])));
            }
            8 => management_address(v, src, out),
            127 if len >= 4 && v[..3] == TIA_OUI => {
                let value = text(&v[4..], 128);
                match v[3] {
                    5 => id.hardware_revision = value,
                    6 => id.firmware = value,
                    7 => {
                        if let Some(s) = value {
                            id.attributes.insert("software_revision".into(), s);
                        }
                    }
                    8 => id.serial = value,
                    9 => id.vendor = value,
                    10 => id.model = value,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if let Some(d) = &description {
        id.attributes.insert("system_description".into(), d.clone());
        fill_from_description(&mut id, d);
    }
    out.identity(f, Subject::Mac(src), id);
}

fn management_address(v: &[u8], src: MacAddr, out: &mut Findings) {
    // addr string length (subtype + address), subtype (1 = IPv4, 2 = IPv6), address ...
    let mut r = Reader::new(v);
    let (Some(len), Some(subtype)) = (r.u8(), r.u8()) else {
        return;
    };
    let Some(addr) = r.take(usize::from(len).saturating_sub(1)) else {
        return;
    };
    let ip = match (subtype, addr.len()) {
        (1, 4) => IpAddr::V4(Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3])),
        (2, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(addr);
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return,
    };
    if !ip.is_unspecified() {
        out.address(src, ip);
    }
}
