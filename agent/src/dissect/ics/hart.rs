//! HART-IP (TCP/UDP 5094): the HART commands tunnelled to field devices. Command 0 (read unique
//! identifier) answers give the manufacturer, device type, revisions and device id; commands 13
//! and 20 the tag and long tag; write commands and device resets are events.

use super::framer::Frame;
use super::{State, TcpProtocol, event, ip_of, serves, vendors};
use crate::dissect::StreamView;
use crate::dissect::reader::text;
use crate::findings::{Findings, FrameRef};
use shoko_proto::{Identity, Severity};

/// HART-IP over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "hart-ip",
    port: 5094,
    signature: None,
    frame,
    dissect,
};

/// Header: version 1, message type, message id, status, sequence, byte count (whole message).
pub fn frame(b: &[u8]) -> Frame {
    if b.len() < 8 {
        return if b.first().is_none_or(|&v| v == 1) {
            Frame::More
        } else {
            Frame::Bad
        };
    }
    let n = usize::from(u16::from_be_bytes([b[6], b[7]]));
    if b[0] != 1 || b[1] > 15 || n < 8 {
        return Frame::Bad;
    }
    Frame::Len(n)
}

/// Dissects one HART-IP message.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let b = v.data;
    if b.len() < 8 || frame(b) == Frame::Bad {
        return;
    }
    let (msg_type, msg_id) = (b[1], b[2]);
    if msg_type == 1 {
        serves(v, f, out, "hart-ip");
    }
    if msg_id != 3 {
        return; // session and keep-alive messages
    }
    // The tunnelled HART PDU: delimiter, address (1 or 5 bytes), command, byte count, data.
    let pdu = &b[8..];
    let Some(&delimiter) = pdu.first() else { return };
    let addr_len = if delimiter & 0x80 != 0 { 5 } else { 1 };
    let (Some(&cmd), Some(&count)) = (pdu.get(1 + addr_len), pdu.get(2 + addr_len)) else {
        return;
    };
    let Some(data) = pdu.get(3 + addr_len..3 + addr_len + usize::from(count)) else {
        return;
    };
    out.tally(ip_of(&v.server), "hart-ip", "command", u32::from(cmd));
    let response = delimiter & 0x07 == 0x06;
    if response && data.len() >= 2 {
        let data = &data[2..]; // response code and field device status
        let mut id = Identity::new("hart", 85);
        match cmd {
            0 => read_unique_identifier(data, &mut id),
            13 if data.len() >= 6 => {
                id.name = Some(packed_ascii(&data[..6])).filter(|t| t.chars().any(|c| c != '@'))
            }
            20 => id.name = text(data, 32),
            _ => return,
        }
        if id != Identity::new("hart", 85) {
            out.identity(f, ip_of(&v.server), id);
        }
    } else if !response && v.from_client {
        let (kind, severity) = match cmd {
            42 => ("device_reset", Severity::High),
            6 | 17..=19 | 22 | 34..=38 | 40 | 41 | 43..=47 | 49 | 51 | 53 | 59 => {
                ("write_config", Severity::Medium)
            }
            _ => return,
        };
        event(v, f, out, "hart", kind, severity, &[("command", cmd.to_string())]);
    }
}

/// Command 0 data: 254, expanded device type (HART 7: manufacturer in the high byte), preambles,
/// universal revision, device revision, software revision, hardware revision, flags, device id.
fn read_unique_identifier(d: &[u8], id: &mut Identity) {
    let (Some(&254), Some(t)) = (d.first(), d.get(1..3)) else {
        return;
    };
    let device_type = u16::from_be_bytes([t[0], t[1]]);
    // HART 7 puts a 16-bit manufacturer id at bytes 17-18; older revisions only the high byte.
    let manufacturer = match d.get(17..19) {
        Some(m) if d.get(4).is_some_and(|&r| r >= 7) => u16::from_be_bytes([m[0], m[1]]),
        _ => u16::from(t[0]),
    };
    id.vendor = Some(vendors::HART.name(u32::from(manufacturer)));
    id.attributes
        .insert("manufacturer_id".into(), format!("{manufacturer:#04x}"));
    id.attributes
        .insert("expanded_device_type".into(), format!("{device_type:#06x}"));
    if let Some(r) = d.get(4..8) {
        id.attributes.insert("hart_revision".into(), r[0].to_string());
        id.attributes.insert("device_revision".into(), r[1].to_string());
        id.firmware = Some(r[2].to_string());
        id.hardware_revision = Some((r[3] >> 3).to_string());
    }
    if let Some(s) = d.get(9..12) {
        id.serial = Some(s.iter().map(|b| format!("{b:02x}")).collect());
    }
}

/// HART packed ASCII: four 6-bit characters in three bytes.
fn packed_ascii(b: &[u8]) -> String {
    let mut s = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &x| a << 8 | u32::from(x)) << (8 * (3 - chunk.len()));
        for shift in [18, 12, 6, 0] {
            let c = ((n >> shift) & 0x3f) as u8;
            s.push(char::from(if c < 0x20 { c + 0x40 } else { c }));
        }
    }
    s.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    fn message(msg_type: u8, pdu: &[u8]) -> Vec<u8> {
        let mut b = vec![1, msg_type, 3, 0, 0, 1];
        b.extend_from_slice(&((8 + pdu.len()) as u16).to_be_bytes());
        b.extend_from_slice(pdu);
        b
    }

    #[test]
    fn command_0_identity_and_reset_event() {
        let mut data = vec![0, 0, 254, 0x26, 0x4e, 5, 7, 4, 1, 0x08, 0, 0, 0, 0xd2];
        data.extend_from_slice(&[0; 5]);
        data.extend_from_slice(&[0x00, 0x26]);
        let mut pdu = vec![0x86, 0xa6, 0x4e, 0, 0, 0xd2, 0, data.len() as u8];
        pdu.extend_from_slice(&data);
        let out = findings_for(dissect, &view(false, &message(1, &pdu)));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.vendor.as_deref(), Some("Rosemount"));
        assert_eq!(id.attributes["expanded_device_type"], "0x264e");
        assert_eq!(id.serial.as_deref(), Some("0000d2"));
        let out = findings_for(
            dissect,
            &view(true, &message(0, &[0x82, 0xa6, 0x4e, 0, 0, 0xd2, 42, 0])),
        );
        assert_eq!(out.events[0].event.kind, "device_reset");
        assert_eq!(frame(&[2, 0, 0, 0, 0, 0, 0, 8]), Frame::Bad);
        assert_eq!(packed_ascii(&[0x06, 0x00, 0xa0]), "A B");
    }
}
