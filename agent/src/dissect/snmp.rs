//! SNMP (UDP 161/162): version, the community string of v1/v2c (a cleartext credential), and
//! sysDescr / sysObjectID / sysName from responses.

use super::ber::{integer, oid, tlv};
use super::describe::fill_from_description;
use super::reader::text;
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, Transport};
use std::net::IpAddr;

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
