//! NetBIOS over TCP/IP: name service registrations and answers (UDP 137) and browser host
//! announcements in datagrams (UDP 138, `\MAILSLOT\BROWSE`): host names and Windows versions.

use super::reader::{Reader, text};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::Identity;
use std::net::{IpAddr, Ipv4Addr};

/// Decodes a first-level encoded NetBIOS name (32 characters 'A'..'P'); returns the name and its
/// suffix byte.
fn decode_name(encoded: &[u8]) -> Option<(String, u8)> {
    if encoded.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (i, pair) in encoded.chunks_exact(2).enumerate() {
        let hi = pair[0].checked_sub(b'A').filter(|v| *v < 16)?;
        let lo = pair[1].checked_sub(b'A').filter(|v| *v < 16)?;
        raw[i] = hi << 4 | lo;
    }
    Some((text(&raw[..15], 15)?, raw[15]))
}

/// Reads a length-prefixed encoded name (with optional scope labels) at the cursor.
fn read_name(r: &mut Reader<'_>) -> Option<(String, u8)> {
    let first = r.u8()?;
    if first & 0xc0 == 0xc0 {
        r.skip(1)?; // compression pointer: the name was given before
        return None;
    }
    let name = decode_name(r.take(usize::from(first))?);
    // scope labels
    while let Some(len) = r.u8() {
        if len == 0 {
            break;
        }
        r.skip(usize::from(len))?;
    }
    name
}

/// Unique names of workstations and servers (not group, domain or browser names).
fn is_host_suffix(suffix: u8) -> bool {
    matches!(suffix, 0x00 | 0x20)
}

/// Parses a name service packet (UDP 137).
pub fn dissect_ns(payload: &[u8], f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(payload);
    let (Some(_), Some(flags), Some(qd), Some(an), Some(_), Some(ar)) =
        (r.u16be(), r.u16be(), r.u16be(), r.u16be(), r.u16be(), r.u16be())
    else {
        return;
    };
    let response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0x0f;
    let mut name = None;
    for _ in 0..qd.min(4) {
        name = read_name(&mut r).or(name);
        r.skip(4);
    }
    // Registrations (5), refreshes (8, 9) and positive answers carry NB records with the address.
    let records = if response {
        an
    } else if matches!(opcode, 5 | 8 | 9) {
        ar
    } else {
        0
    };
    for _ in 0..records.min(4) {
        let own = read_name(&mut r);
        let (Some(kind), Some(_), Some(_), Some(rdlen)) = (r.u16be(), r.u16be(), r.u32be(), r.u16be()) else {
            return;
        };
        let Some(rdata) = r.take(usize::from(rdlen)) else {
            return;
        };
        let Some((host, suffix)) = own.or_else(|| name.clone()) else {
            continue;
        };
        if kind != 0x0020 || !is_host_suffix(suffix) {
            continue;
        }
        for entry in rdata.chunks_exact(6) {
            let group = entry[0] & 0x80 != 0;
            let ip = Ipv4Addr::new(entry[2], entry[3], entry[4], entry[5]);
            if !group && !ip.is_unspecified() {
                let mut id = Identity::new("netbios-ns", 60);
                id.name = Some(host.clone());
                out.identity(f, Subject::Ip(IpAddr::V4(ip)), id);
            }
        }
    }
}

/// Server type bits of a host announcement worth naming.
fn server_types(bits: u32) -> String {
    const NAMES: [(u32, &str); 8] = [
        (0x0000_0001, "workstation"),
        (0x0000_0002, "server"),
        (0x0000_0008, "domain-controller"),
        (0x0000_0010, "backup-domain-controller"),
        (0x0000_0400, "print-server"),
        (0x0000_8000, "nt-server"),
        (0x0004_0000, "master-browser"),
        (0x8000_0000, "domain-enum"),
    ];
    NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses a datagram service packet (UDP 138) carrying a browser announcement.
pub fn dissect_datagram(payload: &[u8], f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(payload);
    let (Some(msg_type), Some(_), Some(_), Some(src)) = (r.u8(), r.u8(), r.u16be(), r.take(4)) else {
        return;
    };
    if !(0x10..=0x12).contains(&msg_type) || r.skip(2 + 2 + 2).is_none() {
        return;
    }
    let src_ip = IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3]));
    if read_name(&mut r).is_none() {
        return;
    }
    read_name(&mut r);
    let smb = r.rest();
    // SMB header (32 bytes), word count 17, transaction words; data offset is word 12.
    if smb.len() < 33 + 26 || &smb[..4] != b"\xffSMB" || smb[4] != 0x25 {
        return;
    }
    let data_offset = usize::from(u16::from_le_bytes([smb[33 + 24], smb[33 + 25]]));
    let Some(data) = smb.get(data_offset..) else {
        return;
    };
    let mut b = Reader::new(data);
    let Some(opcode) = b.u8() else { return };
    // 1 host announcement, 15 local master announcement, 12 domain announcement
    if !matches!(opcode, 1 | 15) || b.skip(1 + 4).is_none() {
        return;
    }
    let (Some(name), Some(major), Some(minor), Some(kind)) = (b.take(16), b.u8(), b.u8(), b.u32le()) else {
        return;
    };
    let Some(host) = text(name, 16) else { return };
    let mut id = Identity::new("netbios-browser", 70);
    id.name = Some(host);
    id.attributes
        .insert("os_version".into(), format!("{major}.{minor}"));
    let types = server_types(kind);
    if !types.is_empty() {
        id.attributes.insert("server_type".into(), types);
    }
    if b.skip(2 + 2).is_some()
        && let Some(comment) = text(b.rest(), 64)
    {
        id.attributes.insert("comment".into(), comment);
    }
    out.identity(f, Subject::Ip(src_ip), id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_first_level_names() {
        // "WIN2K3LAB021" padded with spaces, suffix 0x00
        let mut raw = *b"WIN2K3LAB021   \x00";
        raw[15] = 0;
        let enc: Vec<u8> = raw
            .iter()
            .flat_map(|b| [b'A' + (b >> 4), b'A' + (b & 0x0f)])
            .collect();
        assert_eq!(decode_name(&enc), Some(("WIN2K3LAB021".to_string(), 0)));
        assert_eq!(decode_name(b"ZZ"), None);
    }
}
