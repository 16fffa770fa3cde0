//! DHCP (RFC 2131/2132, UDP 67/68) and DHCPv6 (RFC 8415, UDP 546/547): client host name, vendor
//! class, parameter-request-list fingerprint, and the address a server assigned.

use super::reader::{Reader, text};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, MacAddr};
use std::net::{IpAddr, Ipv4Addr};

const MAGIC: [u8; 4] = [0x63, 0x82, 0x53, 0x63];

/// Parses a DHCPv4 message.
pub fn dissect(payload: &[u8], f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(payload);
    let (Some(op), Some(htype), Some(hlen)) = (r.u8(), r.u8(), r.u8()) else {
        return;
    };
    if r.skip(1 + 4 + 2 + 2 + 4).is_none() {
        return;
    }
    let (Some(yiaddr), Some(_), Some(_)) = (r.take(4), r.take(4), r.take(4)) else {
        return;
    };
    let Some(chaddr) = r.take(16) else { return };
    if htype != 1 || hlen != 6 || r.skip(64 + 128).is_none() || r.take(4) != Some(&MAGIC[..]) {
        return;
    }
    let mac = MacAddr([chaddr[0], chaddr[1], chaddr[2], chaddr[3], chaddr[4], chaddr[5]]);
    if mac.is_zero() || mac.is_multicast() {
        return;
    }
    let mut id = Identity::new("dhcp", 70);
    let mut msg_type = 0;
    while let Some(code) = r.u8() {
        match code {
            0 => continue,
            255 => break,
            _ => {}
        }
        let Some(len) = r.u8() else { break };
        let Some(v) = r.take(usize::from(len)) else { break };
        match code {
            53 if len == 1 => msg_type = v[0],
            12 => id.name = text(v, 128),
            81 if v.len() > 3 && id.name.is_none() => id.name = text(&v[3..], 128),
            60 => {
                if let Some(vc) = text(v, 256) {
                    id.product = Some(vc.clone());
                    id.attributes.insert("dhcp_vendor_class".into(), vc);
                }
            }
            55 => {
                let prl: Vec<String> = v.iter().map(|b| b.to_string()).collect();
                id.attributes.insert("dhcp_prl".into(), prl.join(","));
            }
            _ => {}
        }
    }
    if op == 2 {
        // Server reply: an ACK (or a plain BOOTP reply) assigns the address; a host name in a
        // reply is the name the server gives the client.
        if matches!(msg_type, 0 | 5) {
            let ip = Ipv4Addr::new(yiaddr[0], yiaddr[1], yiaddr[2], yiaddr[3]);
            if !ip.is_unspecified() {
                out.address(mac, IpAddr::V4(ip));
            }
        }
        if let Some(name) = id.name.take() {
            let mut assigned = Identity::new("dhcp-server", 60);
            assigned.name = Some(name);
            out.identity(f, Subject::Mac(mac), assigned);
        }
        return;
    }
    if id.name.is_some() || !id.attributes.is_empty() {
        out.identity(f, Subject::Mac(mac), id);
    }
}

/// Parses a DHCPv6 client message sent from `src`.
pub fn dissect_v6(payload: &[u8], src: MacAddr, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(payload);
    let Some(msg_type) = r.u8() else { return };
    // Client messages: solicit 1, request 3, confirm 4, renew 5, rebind 6, release 8, decline 9,
    // information-request 11.
    if !matches!(msg_type, 1 | 3..=6 | 8 | 9 | 11) || r.skip(3).is_none() {
        return;
    }
    let mut id = Identity::new("dhcpv6", 70);
    while let (Some(code), Some(len)) = (r.u16be(), r.u16be()) {
        let Some(v) = r.take(usize::from(len)) else { break };
        match code {
            39 if v.len() > 1 => id.name = dns_labels(&v[1..]),
            16 if v.len() > 6 => {
                // enterprise number (4), then length-prefixed strings
                if let Some(vc) = text(&v[6..], 256) {
                    id.product = Some(vc.clone());
                    id.attributes.insert("dhcpv6_vendor_class".into(), vc);
                }
            }
            6 => {
                let oro: Vec<String> = v
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]).to_string())
                    .collect();
                id.attributes.insert("dhcpv6_oro".into(), oro.join(","));
            }
            _ => {}
        }
    }
    if id.name.is_some() || !id.attributes.is_empty() {
        out.identity(f, Subject::Mac(src), id);
    }
}

/// An uncompressed DNS name (length-prefixed labels) as dotted text.
fn dns_labels(b: &[u8]) -> Option<String> {
    let mut r = Reader::new(b);
    let mut labels = Vec::new();
    while let Some(len) = r.u8() {
        if len == 0 || labels.len() >= 32 {
            break;
        }
        labels.push(text(r.take(usize::from(len))?, 63)?);
    }
    (!labels.is_empty()).then(|| labels.join("."))
}
