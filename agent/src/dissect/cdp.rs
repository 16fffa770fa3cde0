//! Cisco Discovery Protocol (802.3 LLC/SNAP, OUI 00-00-0c, PID 0x2000): device id, platform,
//! software version, addresses, native VLAN.

use super::describe::{bit_names, fill_from_description};
use super::reader::{Reader, text};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, MacAddr};
use std::net::{IpAddr, Ipv4Addr};

fn capabilities(bits: u32) -> Option<String> {
    const NAMES: [&str; 7] = [
        "router",
        "transparent-bridge",
        "source-route-bridge",
        "switch",
        "host",
        "igmp",
        "repeater",
    ];
    bit_names(bits, &NAMES)
}

/// Parses one CDP packet (after the SNAP header) sent by `src`.
pub fn dissect(payload: &[u8], src: MacAddr, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(payload);
    if r.skip(4).is_none() {
        return; // version, ttl, checksum
    }
    let mut id = Identity::new("cdp", 85);
    id.vendor = Some("Cisco".into());
    let mut software = None;
    while let (Some(kind), Some(len)) = (r.u16be(), r.u16be()) {
        let Some(v) = r.take(usize::from(len).saturating_sub(4)) else {
            break;
        };
        match kind {
            0x0001 => id.name = text(v, 128),
            0x0002 | 0x0016 => addresses(v, src, out),
            0x0003 => {
                if let Some(p) = text(v, 128) {
                    id.attributes.insert("port_id".into(), p);
                }
            }
            0x0004 if v.len() == 4 => {
                id.device_type = capabilities(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
            }
            0x0005 => software = text(v, 512).or_else(|| String::from_utf8(v.to_vec()).ok()),
            0x0006 => {
                // "cisco WS-C3560-24TS": the model is the platform without the vendor word.
                id.model = text(v, 128).map(|p| {
                    p.strip_prefix("cisco ")
                        .or_else(|| p.strip_prefix("Cisco "))
                        .unwrap_or(&p)
                        .to_owned()
                });
                id.product = text(v, 128);
            }
            0x000a if v.len() == 2 => {
                id.attributes
                    .insert("native_vlan".into(), u16::from_be_bytes([v[0], v[1]]).to_string());
            }
            _ => {}
        }
    }
    if let Some(sw) = software {
        let first = sw.lines().next().unwrap_or(&sw).to_owned();
        fill_from_description(&mut id, &first);
        id.attributes.insert("software_version".into(), first);
    }
    out.identity(f, Subject::Mac(src), id);
}

fn addresses(v: &[u8], src: MacAddr, out: &mut Findings) {
    // count (4), then entries: protocol type (1), protocol length (1), protocol (n), address length
    // (2), address.
    let mut r = Reader::new(v);
    let Some(count) = r.u32be() else { return };
    for _ in 0..count.min(16) {
        let (Some(_), Some(plen)) = (r.u8(), r.u8()) else {
            return;
        };
        let Some(proto) = r.take(usize::from(plen)) else {
            return;
        };
        let Some(alen) = r.u16be() else { return };
        let Some(addr) = r.take(usize::from(alen)) else {
            return;
        };
        if proto == [0xcc] && addr.len() == 4 {
            let ip = Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]);
            if !ip.is_unspecified() {
                out.address(src, IpAddr::V4(ip));
            }
        }
    }
}
