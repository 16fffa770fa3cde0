//! BACnet/IP (UDP 47808): I-Am announcements (device instance, vendor) and ReadProperty /
//! ReadPropertyMultiple acknowledgements of the device object (vendor-name, model-name,
//! firmware-revision, application-software-version, object-name, location, description) as
//! identities; WriteProperty, ReinitializeDevice, DeviceCommunicationControl and file writes are
//! events.

use super::{State, event, vendors};
use crate::dissect::StreamView;
use crate::dissect::reader::{Reader, text};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, Severity, Transport};

/// Object type of the device object.
const DEVICE: u32 = 8;

/// Dissects one BVLC datagram.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let mut r = Reader::new(v.data);
    let (Some(0x81), Some(function), Some(_len)) = (r.u8(), r.u8(), r.u16be()) else {
        return;
    };
    match function {
        0x0a | 0x0b => {}
        0x04 => {
            r.skip(6); // forwarded NPDU: original source address
        }
        _ => return,
    }
    // NPDU: version, control, optional destination and source, hop count.
    let (Some(1), Some(control)) = (r.u8(), r.u8()) else {
        return;
    };
    if control & 0x20 != 0 {
        let Some(dlen) = r.skip(2).and_then(|_| r.u8()) else {
            return;
        };
        r.skip(usize::from(dlen));
    }
    if control & 0x08 != 0 {
        let Some(slen) = r.skip(2).and_then(|_| r.u8()) else {
            return;
        };
        r.skip(usize::from(slen));
    }
    if control & 0x20 != 0 {
        r.skip(1);
    }
    if control & 0x80 != 0 {
        return; // network layer message
    }
    let apdu = r.rest();
    let Some(&head) = apdu.first() else { return };
    let sender = Subject::Ip(v.sender().ip);
    match head >> 4 {
        0 => confirmed_request(v, f, apdu, out),
        1 if apdu.get(1) == Some(&0) => i_am(&apdu[2..], sender, f, out),
        3 if head & 0x08 == 0 => {
            // Complex ACK, unsegmented: flags, invoke id, service.
            let Some(&service) = apdu.get(2) else { return };
            out.service(f, v.sender().ip, Transport::Udp, 47808, "bacnet", None);
            let body = &apdu[3..];
            match service {
                12 => read_property_ack(body, sender, f, out),
                14 => read_property_multiple_ack(body, sender, f, out),
                _ => {}
            }
        }
        _ => {}
    }
}

/// A tag: (number, context-specific, length or open/close marker, header length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    /// Application or context tag with a value of this length.
    Value { number: u8, context: bool, len: usize },
    /// Opening tag of a constructed context value.
    Open(u8),
    /// Closing tag.
    Close(u8),
}

fn tag(r: &mut Reader<'_>) -> Option<Tag> {
    let b = r.u8()?;
    let mut number = b >> 4;
    if number == 0x0f {
        number = r.u8()?;
    }
    let context = b & 0x08 != 0;
    let lvt = b & 0x07;
    Some(match lvt {
        6 if context => Tag::Open(number),
        7 if context => Tag::Close(number),
        5 => {
            let len = match r.u8()? {
                254 => usize::from(r.u16be()?),
                255 => usize::try_from(r.u32be()?).ok()?,
                n => usize::from(n),
            };
            Tag::Value { number, context, len }
        }
        n => Tag::Value {
            number,
            context,
            len: if !context && number == 1 {
                0
            } else {
                usize::from(n)
            },
        },
    })
}

fn uint(b: &[u8]) -> Option<u32> {
    (!b.is_empty() && b.len() <= 4).then(|| b.iter().fold(0u32, |a, &x| a << 8 | u32::from(x)))
}

/// A context-tagged value of the given number.
fn context<'a>(r: &mut Reader<'a>, want: u8) -> Option<&'a [u8]> {
    match tag(r)? {
        Tag::Value {
            number,
            context: true,
            len,
        } if number == want => r.take(len),
        _ => None,
    }
}

/// I-Am: device object id, max APDU, segmentation, vendor id (application tags).
fn i_am(b: &[u8], who: Subject, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(b);
    let mut values = Vec::new();
    for _ in 0..4 {
        let Some(Tag::Value { len, .. }) = tag(&mut r) else {
            return;
        };
        let Some(v) = r.take(len) else { return };
        values.push(v);
    }
    let (Some(object), Some(vendor)) = (uint(values[0]), uint(values[3])) else {
        return;
    };
    if object >> 22 != DEVICE {
        return;
    }
    let mut id = Identity::new("bacnet", 85);
    id.vendor = Some(vendors::BACNET.name(vendor));
    id.attributes
        .insert("device_instance".into(), (object & 0x3fffff).to_string());
    id.attributes.insert("vendor_id".into(), vendor.to_string());
    out.role(who, "bacnet", "device");
    out.identity(f, who, id);
}

/// Puts one property of the device object into the identity.
fn property(id: &mut Identity, prop: u32, value: &[u8]) {
    let mut r = Reader::new(value);
    let Some(Tag::Value { number, len, .. }) = tag(&mut r) else {
        return;
    };
    let Some(raw) = r.take(len) else { return };
    let text_value = || (number == 7).then(|| character_string(raw)).flatten();
    match prop {
        121 => id.vendor = text_value(),
        70 => id.model = text_value(),
        44 => id.firmware = text_value(),
        77 => id.name = text_value(),
        12 | 58 | 28 => {
            let key = match prop {
                12 => "application_software_version",
                58 => "location",
                _ => "description",
            };
            if let Some(t) = text_value() {
                id.attributes.insert(key.into(), t);
            }
        }
        120 => {
            if let Some(n) = uint(raw) {
                id.attributes.insert("vendor_id".into(), n.to_string());
            }
        }
        _ => {}
    }
}

/// A CharacterString value: a character set byte, then the characters (UTF-8 / ANSI X3.4,
/// UCS-2 big-endian, or ISO 8859-1).
fn character_string(raw: &[u8]) -> Option<String> {
    let (&charset, s) = raw.split_first()?;
    match charset {
        0 => text(s, 256),
        4 => {
            let units: Vec<u16> = s
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            text(String::from_utf16_lossy(&units).as_bytes(), 256)
        }
        5 => text(
            s.iter().map(|&c| char::from(c)).collect::<String>().as_bytes(),
            256,
        ),
        _ => None,
    }
}

/// ReadProperty-ACK: object id [0], property [1], optional index [2], value [3] { ... }.
fn read_property_ack(b: &[u8], who: Subject, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(b);
    let (Some(object), Some(prop)) = (
        context(&mut r, 0).and_then(uint),
        context(&mut r, 1).and_then(uint),
    ) else {
        return;
    };
    if object >> 22 != DEVICE {
        return;
    }
    let mut peek = r;
    if matches!(tag(&mut peek), Some(Tag::Value { number: 2, .. })) {
        let _ = context(&mut r, 2);
    }
    if tag(&mut r) != Some(Tag::Open(3)) {
        return;
    }
    let mut id = device_identity(object);
    property(&mut id, prop, r.rest());
    out.identity(f, who, id);
}

fn device_identity(object: u32) -> Identity {
    let mut id = Identity::new("bacnet", 90);
    id.attributes
        .insert("device_instance".into(), (object & 0x3fffff).to_string());
    id
}

/// ReadPropertyMultiple-ACK: per object, id [0], results [1] { property [2], [index [3]],
/// value [4] { ... } or error [5] { ... } }.
fn read_property_multiple_ack(b: &[u8], who: Subject, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(b);
    for _ in 0..8 {
        let Some(object) = context(&mut r, 0).and_then(uint) else {
            return;
        };
        if tag(&mut r) != Some(Tag::Open(1)) {
            return;
        }
        let mut id = device_identity(object);
        let mut prop = 0;
        let mut depth = 0;
        let mut value_start = None;
        for _ in 0..256 {
            match tag(&mut r) {
                Some(Tag::Close(1)) if depth == 0 => break,
                Some(Tag::Open(n)) => {
                    if depth == 0 && n == 4 {
                        value_start = Some(r.rest());
                    }
                    depth += 1;
                }
                Some(Tag::Close(_)) => {
                    depth -= 1;
                    if depth == 0
                        && let Some(v) = value_start.take()
                    {
                        property(&mut id, prop, v);
                    }
                }
                Some(Tag::Value { number, context, len }) => {
                    let raw = r.take(len);
                    if depth == 0 && context && number == 2 {
                        prop = raw.and_then(uint).unwrap_or(0);
                    }
                    if raw.is_none() {
                        return;
                    }
                }
                None => return,
            }
        }
        if object >> 22 == DEVICE {
            out.identity(f, who, id);
        }
        if r.remaining() == 0 {
            return;
        }
    }
}

/// Confirmed requests that change a device.
fn confirmed_request(v: &StreamView<'_>, f: &FrameRef<'_>, apdu: &[u8], out: &mut Findings) {
    let segmented = apdu[0] & 0x08 != 0;
    let Some(&service) = apdu.get(if segmented { 5 } else { 3 }) else {
        return;
    };
    if !v.from_client {
        return;
    }
    out.tally(Subject::Ip(v.server.ip), "bacnet", "service", u32::from(service));
    let (kind, severity) = match service {
        15 | 16 => ("write_property", Severity::Medium),
        20 => ("reinitialize_device", Severity::High),
        17 => ("device_communication_control", Severity::High),
        7 => ("atomic_write_file", Severity::High),
        _ => return,
    };
    event(
        v,
        f,
        out,
        "bacnet",
        kind,
        severity,
        &[("service", service.to_string())],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    fn bvlc(apdu: &[u8]) -> Vec<u8> {
        let mut b = vec![0x81, 0x0a, 0, 0, 0x01, 0x00];
        b.extend_from_slice(apdu);
        let n = b.len() as u16;
        b[2..4].copy_from_slice(&n.to_be_bytes());
        b
    }

    fn char_string(s: &str) -> Vec<u8> {
        let mut v = vec![0x75, s.len() as u8 + 1, 0];
        v.extend_from_slice(s.as_bytes());
        v
    }

    #[test]
    fn i_am_and_read_property_acks() {
        // I-Am device 1234, max APDU 1476, no segmentation, vendor 5.
        let iam = bvlc(&[
            0x10, 0x00, 0xc4, 0x02, 0x00, 0x04, 0xd2, 0x22, 0x05, 0xc4, 0x91, 0x03, 0x21, 0x05,
        ]);
        let out = findings_for(dissect, &view(false, &iam));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.vendor.as_deref(), Some("Johnson Controls, Inc."));
        assert_eq!(id.attributes["device_instance"], "1234");
        // ReadProperty-ACK of model-name.
        let mut ack = vec![0x30, 0x01, 12, 0x0c, 0x02, 0x3f, 0xff, 0xff, 0x19, 70, 0x3e];
        ack.extend_from_slice(&char_string("MS-NAE4510-2"));
        ack.push(0x3f);
        let out = findings_for(dissect, &view(false, &bvlc(&ack)));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.model.as_deref(), Some("MS-NAE4510-2"));
        // UCS-2 vendor name, as Johnson Controls devices send it.
        let ucs2 = [
            0x30, 0x01, 12, 0x0c, 0x02, 0x3f, 0xff, 0xff, 0x19, 121, 0x3e, 0x75, 7, 4, 0, b'J', 0, b'C', 0,
            b'I', 0x3f,
        ];
        let out = findings_for(dissect, &view(false, &bvlc(&ucs2)));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.vendor.as_deref(), Some("JCI"));
        // ReadPropertyMultiple-ACK with vendor-name, an error result and firmware-revision.
        let mut rpm = vec![
            0x30, 0x02, 14, 0x0c, 0x02, 0x00, 0x00, 0x01, 0x1e, 0x29, 121, 0x4e,
        ];
        rpm.extend_from_slice(&char_string("JCI"));
        rpm.extend_from_slice(&[0x4f, 0x29, 58, 0x5e, 0x91, 0x02, 0x91, 0x20, 0x5f, 0x29, 44, 0x4e]);
        rpm.extend_from_slice(&char_string("5.1.0.4400"));
        rpm.extend_from_slice(&[0x4f, 0x1f]);
        let out = findings_for(dissect, &view(false, &bvlc(&rpm)));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(
            (id.vendor.as_deref(), id.firmware.as_deref()),
            (Some("JCI"), Some("5.1.0.4400"))
        );
        // Truncated in the middle of a value: no panic, no identity from the cut object.
        let out = findings_for(dissect, &view(false, &bvlc(&rpm[..16])));
        assert!(out.identities.is_empty());
    }

    #[test]
    fn reinitialize_is_a_high_event() {
        let req = bvlc(&[0x00, 0x05, 0x01, 20, 0x09, 0x01]);
        let out = findings_for(dissect, &view(true, &req));
        assert_eq!(out.events[0].event.kind, "reinitialize_device");
        assert_eq!(out.events[0].event.severity, Severity::High);
    }
}
