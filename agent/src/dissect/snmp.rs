//! SNMP (UDP 161/162): version, the community string of v1/v2c (a cleartext credential), and
//! sysDescr / sysObjectID / sysName from responses.

use super::describe::fill_from_description;
use super::reader::text;
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, Transport};
use std::net::IpAddr;

/// One BER element: tag and contents; returns it and the rest.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, hdr) = if first & 0x80 == 0 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let bytes = b.get(2..2 + n)?;
        (bytes.iter().fold(0usize, |a, &x| a << 8 | usize::from(x)), 2 + n)
    };
    let body = b.get(hdr..hdr.checked_add(len)?)?;
    Some((tag, body, &b[hdr + len..]))
}

fn integer(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut v: i64 = if b[0] & 0x80 != 0 { -1 } else { 0 };
    for &x in b {
        v = v << 8 | i64::from(x);
    }
    Some(v)
}

/// Dotted form of a BER object identifier.
pub fn oid(b: &[u8]) -> Option<String> {
    let (&first, rest) = b.split_first()?;
    let mut parts = vec![
        (first / 40).min(2).to_string(),
        (first - (first / 40).min(2) * 40).to_string(),
    ];
    let mut acc: u64 = 0;
    for &x in rest {
        acc = acc.checked_mul(128)? | u64::from(x & 0x7f);
        if x & 0x80 == 0 {
            parts.push(acc.to_string());
            acc = 0;
        }
    }
    Some(parts.join("."))
}

/// What a packet says about an SNMP agent.
pub struct Endpoints {
    /// Sender.
    pub src: IpAddr,
    /// Receiver.
    pub dst: IpAddr,
    /// True when the sender is the agent (source port 161).
    pub from_agent: bool,
}

/// Parses one SNMP message.
pub fn dissect(payload: &[u8], ends: &Endpoints, f: &FrameRef<'_>, out: &mut Findings) {
    let Some((0x30, msg, _)) = tlv(payload) else {
        return;
    };
    let Some((0x02, version, rest)) = tlv(msg) else {
        return;
    };
    let version = match integer(version) {
        Some(0) => "v1",
        Some(1) => "v2c",
        Some(3) => "v3",
        _ => return,
    };
    let agent_ip = if ends.from_agent { ends.src } else { ends.dst };
    if version == "v3" {
        out.service(f, agent_ip, Transport::Udp, 161, "snmp", Some("SNMPv3".into()));
        return;
    }
    let Some((0x04, community, rest)) = tlv(rest) else {
        return;
    };
    let community = text(community, 64).unwrap_or_default();
    let banner = format!("SNMP{version} (community \"{community}\" in cleartext)");
    if ends.from_agent || matches!(rest.first(), Some(0xa0 | 0xa1 | 0xa3 | 0xa5)) {
        out.service(f, agent_ip, Transport::Udp, 161, "snmp", Some(banner));
    }
    // GetResponse PDU: request id, error status, error index, varbinds.
    let Some((0xa2, pdu, _)) = tlv(rest) else { return };
    let Some((_, _, pdu)) = tlv(pdu) else { return };
    let Some((_, _, pdu)) = tlv(pdu) else { return };
    let Some((_, _, pdu)) = tlv(pdu) else { return };
    let Some((0x30, mut binds, _)) = tlv(pdu) else {
        return;
    };
    let mut id = Identity::new("snmp", 80);
    let mut description = None;
    let mut count = 0;
    while let Some((0x30, bind, next)) = tlv(binds) {
        binds = next;
        count += 1;
        if count > 64 {
            break;
        }
        let Some((0x06, name, value)) = tlv(bind) else {
            continue;
        };
        let Some((tag, value, _)) = tlv(value) else {
            continue;
        };
        match (oid(name).as_deref(), tag) {
            (Some("1.3.6.1.2.1.1.1.0"), 0x04) => description = text(value, 512),
            (Some("1.3.6.1.2.1.1.5.0"), 0x04) => id.name = text(value, 128),
            (Some("1.3.6.1.2.1.1.2.0"), 0x06) => {
                if let Some(o) = oid(value) {
                    id.attributes.insert("sys_object_id".into(), o);
                }
            }
            _ => {}
        }
    }
    if let Some(d) = description {
        fill_from_description(&mut id, &d);
        id.attributes.insert("system_description".into(), d);
    }
    if id.name.is_some() || !id.attributes.is_empty() {
        out.identity(f, Subject::Ip(ends.src), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ber_and_oids() {
        assert_eq!(
            oid(&[0x2b, 6, 1, 2, 1, 1, 1, 0]).as_deref(),
            Some("1.3.6.1.2.1.1.1.0")
        );
        assert_eq!(
            oid(&[0x2b, 6, 1, 4, 1, 0x82, 0x37]).as_deref(),
            Some("1.3.6.1.4.1.311")
        );
        assert_eq!(tlv(&[0x04, 0x82, 0xff, 0xff]), None);
        assert_eq!(integer(&[0xff]), Some(-1));
    }
}
