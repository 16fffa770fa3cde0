//! DNS answers (UDP 53), multicast DNS (5353) and LLMNR (5355): names bound to addresses.

use super::reader::Reader;
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::Identity;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Reads a possibly compressed name starting at `pos` of `msg`. Bounded: at most 16 jumps and 255
/// bytes of name.
pub fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = Vec::new();
    let mut end = None;
    let mut jumps = 0;
    let mut total = 0;
    loop {
        let len = *msg.get(pos)?;
        if len & 0xc0 == 0xc0 {
            let target = usize::from(u16::from_be_bytes([len & 0x3f, *msg.get(pos + 1)?]));
            end.get_or_insert(pos + 2);
            jumps += 1;
            if jumps > 16 || target >= msg.len() {
                return None;
            }
            pos = target;
            continue;
        }
        if len == 0 {
            let next = end.unwrap_or(pos + 1);
            return Some((labels.join("."), next));
        }
        let label = msg.get(pos + 1..pos + 1 + usize::from(len))?;
        total += label.len() + 1;
        if total > 255 {
            return None;
        }
        labels.push(String::from_utf8_lossy(label).into_owned());
        pos += 1 + usize::from(len);
    }
}

/// Parses a DNS-format message; answers with A/AAAA records name their addresses.
pub fn dissect(payload: &[u8], protocol: &'static str, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(payload);
    let (Some(_), Some(flags), Some(qd), Some(an)) = (r.u16be(), r.u16be(), r.u16be(), r.u16be()) else {
        return;
    };
    if flags & 0x8000 == 0 || flags & 0x000f != 0 {
        return; // only successful responses
    }
    let mut pos = 12;
    for _ in 0..qd.min(16) {
        let Some((_, next)) = read_name(payload, pos) else {
            return;
        };
        pos = next + 4;
    }
    for _ in 0..an.min(32) {
        let Some((name, next)) = read_name(payload, pos) else {
            return;
        };
        let mut r = Reader::new(payload.get(next..).unwrap_or(&[]));
        let (Some(kind), Some(_), Some(_), Some(rdlen)) = (r.u16be(), r.u16be(), r.u32be(), r.u16be()) else {
            return;
        };
        let Some(rdata) = r.take(usize::from(rdlen)) else {
            return;
        };
        pos = next + 10 + usize::from(rdlen);
        let ip = match (kind, rdata.len()) {
            (1, 4) => IpAddr::V4(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])),
            (28, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(rdata);
                IpAddr::V6(Ipv6Addr::from(b))
            }
            _ => continue,
        };
        if name.is_empty() || name.len() > 253 {
            continue;
        }
        let mut id = Identity::new(protocol, 40);
        id.name = Some(name.trim_end_matches(".local").to_owned());
        out.identity(f, Subject::Ip(ip), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_loops_end() {
        // A pointer to itself must not loop forever.
        let msg = [0u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 12];
        assert_eq!(read_name(&msg, 12), None);
        let msg = b"\x03plc\x05plant\x00\xc0\x00";
        assert_eq!(read_name(msg, 0), Some(("plc.plant".into(), 11)));
        assert_eq!(read_name(msg, 11), Some(("plc.plant".into(), 13)));
    }
}
