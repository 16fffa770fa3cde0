//! PROFINET on EtherType 0x8892: DCP (discovery and configuration) Identify/Get/Hello responses
//! name the responding device (NameOfStation, vendor text, vendor and device id, role, IP suite);
//! Set requests that change a device's name or IP, or reset it, are events. An Identify request
//! never names its sender: devices check their own name and controllers look for others'.
//! Cyclic real-time (RT) and time-sync (PTCP) frames mark their sender as a PROFINET producer.

use super::{event_between, vendors};
use crate::dissect::reader::{Reader, text};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, MacAddr, Severity};
use std::net::{IpAddr, Ipv4Addr};

const GET: u8 = 3;
const SET: u8 = 4;
const IDENTIFY: u8 = 5;
const HELLO: u8 = 6;

/// Dissects one PROFINET frame from `src` to `dst`.
pub fn dissect(payload: &[u8], src: MacAddr, dst: MacAddr, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(payload);
    let Some(frame_id) = r.u16be() else { return };
    match frame_id {
        0xfefc..=0xfeff => dcp(&mut r, src, dst, f, out),
        0x0000..=0x00ff | 0xff00..=0xff4f => out.role(Subject::Mac(src), "profinet-ptcp", "sender"),
        0x0100..=0xfbff => out.role(Subject::Mac(src), "profinet-rt", "producer"),
        _ => {}
    }
}

fn dcp(r: &mut Reader<'_>, src: MacAddr, dst: MacAddr, f: &FrameRef<'_>, out: &mut Findings) {
    let (Some(service), Some(kind), Some(_xid), Some(_), Some(len)) =
        (r.u8(), r.u8(), r.u32be(), r.u16be(), r.u16be())
    else {
        return;
    };
    let Some(blocks) = r.take(usize::from(len)) else {
        return;
    };
    let response = kind == 1;
    out.tally(
        Subject::Mac(src),
        "pn_dcp",
        "service",
        u32::from(service) << 8 | u32::from(kind),
    );
    match service {
        IDENTIFY | GET if response => described(blocks, src, f, out),
        HELLO => described(blocks, src, f, out),
        SET if kind == 0 => set(blocks, src, dst, f, out),
        _ => {}
    }
}

/// The blocks: option, suboption, length, then data padded to an even length.
fn blocks(b: &[u8]) -> impl Iterator<Item = (u8, u8, &[u8])> {
    let mut r = Reader::new(b);
    std::iter::from_fn(move || {
        let (opt, sub, len) = (r.u8()?, r.u8()?, usize::from(r.u16be()?));
        let data = r.take(len)?;
        if len % 2 == 1 {
            r.skip(1);
        }
        Some((opt, sub, data))
    })
    .take(32)
}

/// The device described by response (or Hello) blocks, each starting with a 2-byte block info.
fn described(b: &[u8], src: MacAddr, f: &FrameRef<'_>, out: &mut Findings) {
    let mut id = Identity::new("pn_dcp", 90);
    let mut ip = None;
    for (opt, sub, data) in blocks(b) {
        let data = data.get(2..).unwrap_or_default();
        match (opt, sub) {
            (1, 2) if data.len() >= 12 => {
                let a = |i: usize| Ipv4Addr::new(data[i], data[i + 1], data[i + 2], data[i + 3]);
                ip = Some(a(0));
                id.attributes
                    .insert("ip_suite".into(), format!("{} / {} / gw {}", a(0), a(4), a(8)));
            }
            (2, 1) => id.product = text(data, 240),
            (2, 2) => id.name = text(data, 240),
            (2, 3) if data.len() >= 4 => {
                let vendor = u16::from_be_bytes([data[0], data[1]]);
                id.vendor = Some(vendors::PROFINET.name(u32::from(vendor)));
                id.attributes.insert("vendor_id".into(), format!("{vendor:#06x}"));
                id.attributes.insert(
                    "device_id".into(),
                    format!("{:#06x}", u16::from_be_bytes([data[2], data[3]])),
                );
            }
            (2, 4) if !data.is_empty() => {
                id.device_type = Some(role_names(data[0]));
            }
            _ => {}
        }
    }
    if let Some(ip) = ip.filter(|a| !a.is_unspecified()) {
        out.address(src, IpAddr::V4(ip));
    }
    if id != Identity::new("pn_dcp", 90) {
        out.identity(f, Subject::Mac(src), id);
    }
}

/// Device role bits: IO-Device, IO-Controller, IO-Multidevice, IO-Supervisor.
fn role_names(bits: u8) -> String {
    let names: Vec<&str> = [
        (1, "IO-Device"),
        (2, "IO-Controller"),
        (4, "IO-Multidevice"),
        (8, "IO-Supervisor"),
    ]
    .iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, n)| *n)
    .collect();
    if names.is_empty() {
        format!("role {bits:#04x}")
    } else {
        names.join(", ")
    }
}

/// A Set request: blocks carry a 2-byte qualifier, then the new value.
fn set(b: &[u8], src: MacAddr, dst: MacAddr, f: &FrameRef<'_>, out: &mut Findings) {
    for (opt, sub, data) in blocks(b) {
        let value = data.get(2..).unwrap_or_default();
        let (kind, detail) = match (opt, sub) {
            (1, 2) if value.len() >= 4 => (
                "set_ip",
                Ipv4Addr::new(value[0], value[1], value[2], value[3]).to_string(),
            ),
            (2, 2) => ("set_name", text(value, 240).unwrap_or_default()),
            (5, 4 | 6) => ("reset_to_factory", String::new()),
            (5, 3) => ("signal", String::new()),
            _ => continue,
        };
        let severity = if kind == "signal" {
            Severity::Low
        } else {
            Severity::High
        };
        let details: Vec<(&str, String)> = if detail.is_empty() {
            Vec::new()
        } else {
            vec![("value", detail)]
        };
        let parties = (
            Some(Subject::Mac(src).asset_ref()),
            Some(Subject::Mac(dst).asset_ref()),
        );
        event_between(f, out, parties, "pn_dcp", kind, severity, &details);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::frame_ref;

    const DEV: MacAddr = MacAddr([8, 0, 6, 0x93, 0xcf, 0x32]);
    const PG: MacAddr = MacAddr([0, 0x0c, 0x29, 0xba, 9, 0xea]);

    fn pdu(frame_id: u16, service: u8, kind: u8, blocks: &[(u8, u8, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (o, s, d) in blocks {
            body.extend_from_slice(&[*o, *s]);
            body.extend_from_slice(&(d.len() as u16).to_be_bytes());
            body.extend_from_slice(d);
            if d.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut b = frame_id.to_be_bytes().to_vec();
        b.extend_from_slice(&[service, kind, 0, 0, 0, 1, 0, 0]);
        b.extend_from_slice(&(body.len() as u16).to_be_bytes());
        b.extend_from_slice(&body);
        b
    }

    #[test]
    fn identify_response_names_the_device_request_does_not() {
        let info = |d: &[u8]| [&[0u8, 0][..], d].concat();
        let resp = pdu(
            0xfeff,
            IDENTIFY,
            1,
            &[
                (2, 2, info(b"x208-bord")),
                (2, 1, info(b"INC")),
                (2, 3, info(&[0, 0x2a, 0x0a, 0x01])),
                (2, 4, info(&[1, 0])),
                (1, 2, info(&[192, 168, 0, 6, 255, 255, 255, 0, 0, 0, 0, 0])),
            ],
        );
        let mut out = Findings::default();
        dissect(&resp, DEV, PG, &frame_ref(), &mut out);
        let ((who, id), _) = out.identities.iter().next().unwrap();
        assert_eq!(*who, Subject::Mac(DEV));
        assert_eq!(id.name.as_deref(), Some("x208-bord"));
        assert_eq!(id.vendor.as_deref(), Some("Siemens AG"));
        assert_eq!(id.device_type.as_deref(), Some("IO-Device"));
        assert!(out.addresses[&DEV].contains(&"192.168.0.6".parse::<IpAddr>().unwrap()));
        // An Identify request filtering by name says nothing about its sender.
        let req = pdu(0xfefe, IDENTIFY, 0, &[(2, 2, b"switch3".to_vec())]);
        let mut out = Findings::default();
        dissect(&req, PG, DEV, &frame_ref(), &mut out);
        assert!(out.identities.is_empty());
    }

    #[test]
    fn set_ip_and_name_are_high_events() {
        let set_req = pdu(
            0xfefd,
            SET,
            0,
            &[
                (1, 2, vec![0, 1, 192, 168, 0, 10, 255, 255, 255, 0, 0, 0, 0, 0]),
                (2, 2, [&[0u8, 1][..], b"new"].concat()),
            ],
        );
        let mut out = Findings::default();
        dissect(&set_req, PG, DEV, &frame_ref(), &mut out);
        let kinds: Vec<_> = out
            .events
            .iter()
            .map(|e| (e.event.kind.as_str(), e.event.details["value"].as_str()))
            .collect();
        assert_eq!(kinds, [("set_ip", "192.168.0.10"), ("set_name", "new")]);
        assert_eq!(out.events[0].event.target.as_ref().unwrap().mac, Some(DEV));
        // Truncated block list: nothing, no panic.
        let mut out = Findings::default();
        dissect(&set_req[..20], PG, DEV, &frame_ref(), &mut out);
        assert!(out.events.is_empty());
    }
}
