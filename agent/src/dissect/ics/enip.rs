//! EtherNet/IP encapsulation (TCP/UDP 44818, I/O on UDP 2222): ListIdentity responses as
//! identities, and the CIP messages carried by SendRRData / SendUnitData handed to [`super::cip`]
//! with their requests remembered per connection (by sender context or connected sequence number).

use super::framer::Frame;
use super::{State, TcpProtocol, cip, ip_of};
use crate::dissect::StreamView;
use crate::dissect::reader::Reader;
use crate::findings::{Findings, FrameRef, Subject};
use std::net::{IpAddr, Ipv4Addr};

/// EtherNet/IP over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "enip",
    port: 44818,
    signature: None,
    frame,
    dissect,
};

const HEADER: usize = 24;
const LIST_IDENTITY: u16 = 0x63;
const SEND_RR_DATA: u16 = 0x6f;
const SEND_UNIT_DATA: u16 = 0x70;

/// Requests awaiting responses on one connection (the most recent few).
#[derive(Debug, Default)]
pub struct Pending {
    slots: [(u64, cip::Request); 8],
    next: usize,
}

impl Pending {
    fn remember(&mut self, key: u64, req: cip::Request) {
        self.slots[self.next] = (key, req);
        self.next = (self.next + 1) % self.slots.len();
    }

    fn answer(&mut self, key: u64) -> Option<cip::Request> {
        let slot = self.slots.iter_mut().find(|(k, r)| *k == key && r.service != 0)?;
        Some(std::mem::take(&mut slot.1))
    }
}

/// Encapsulation framing: a 24-byte header whose length field counts the data after it.
pub fn frame(b: &[u8]) -> Frame {
    if b.len() < 4 {
        return Frame::More;
    }
    let cmd = u16::from_le_bytes([b[0], b[1]]);
    if !matches!(
        cmd,
        0x00 | 0x04 | 0x63 | 0x64 | 0x65 | 0x66 | 0x6f | 0x70 | 0x72 | 0x73
    ) {
        return Frame::Bad;
    }
    Frame::Len(HEADER + usize::from(u16::from_le_bytes([b[2], b[3]])))
}

/// Dissects one encapsulation message (a TCP PDU or a UDP datagram).
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, state: &mut State, out: &mut Findings) {
    let mut r = Reader::new(v.data);
    let (Some(cmd), Some(len), Some(_session), Some(status), Some(context)) =
        (r.u16le(), r.u16le(), r.u32le(), r.u32le(), r.take(8))
    else {
        return;
    };
    let Some(data) = r.skip(4).and_then(|_| r.take(usize::from(len))) else {
        return;
    };
    out.tally(ip_of(&v.server), "enip", "command", u32::from(cmd));
    if status != 0 {
        return;
    }
    let context = u64::from_le_bytes(context.try_into().unwrap_or_default());
    match cmd {
        LIST_IDENTITY if !data.is_empty() => list_identity(v, f, data, out),
        SEND_RR_DATA | SEND_UNIT_DATA => {
            if !matches!(state, State::Enip(_)) {
                *state = State::Enip(Pending::default());
            }
            let State::Enip(pending) = state else { return };
            for (item, body) in items(data) {
                let (key, msg) = match item {
                    0xb2 => (context, body),
                    0xb1 if body.len() >= 2 => (
                        u64::from(u16::from_le_bytes([body[0], body[1]])) | 1 << 63,
                        &body[2..],
                    ),
                    _ => continue,
                };
                let Some(&service) = msg.first() else { continue };
                if service & 0x80 == 0 {
                    if let Some(req) = cip::request(v, f, msg, None, out) {
                        pending.remember(key, req);
                    }
                } else {
                    cip::response(v, f, msg, pending.answer(key), out);
                }
            }
        }
        _ => {}
    }
}

/// The common packet format items after the interface handle and timeout.
fn items(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut r = Reader::new(data);
    let count = r.skip(6).and_then(|_| r.u16le()).unwrap_or(0).min(16);
    (0..count).map_while(move |_| {
        let t = r.u16le()?;
        let n = r.u16le()?;
        Some((t, r.take(usize::from(n))?))
    })
}

/// ListIdentity response: one identity item per device.
fn list_identity(v: &StreamView<'_>, f: &FrameRef<'_>, data: &[u8], out: &mut Findings) {
    let mut r = Reader::new(data);
    let Some(count) = r.u16le() else { return };
    for _ in 0..count.min(8) {
        let (Some(kind), Some(len)) = (r.u16le(), r.u16le()) else {
            return;
        };
        let Some(item) = r.take(usize::from(len)) else {
            return;
        };
        if kind != 0x0c {
            continue;
        }
        let mut i = Reader::new(item);
        // Encapsulation version, then a big-endian sockaddr_in.
        let (Some(_), Some(_), Some(port), Some(addr)) = (i.u16le(), i.u16be(), i.u16be(), i.u32be()) else {
            return;
        };
        if i.skip(8).is_none() {
            return;
        }
        let Some(mut id) = cip::identity(&mut i, "enip") else {
            return;
        };
        if let Some(state) = i.u8() {
            id.attributes.insert("state".into(), state.to_string());
        }
        let announced = IpAddr::V4(Ipv4Addr::from(addr));
        id.attributes
            .insert("socket_address".into(), format!("{announced}:{port}"));
        let sender = v.sender();
        out.identity(f, Subject::Ip(sender.ip), id);
        if let Some(mac) = sender.mac.filter(|_| announced == sender.ip) {
            out.address(mac, announced);
        }
    }
}

/// Class 1 (implicit, cyclic) I/O on UDP 2222: the sender produces I/O data.
pub fn io(v: &StreamView<'_>, _: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    out.role(Subject::Ip(v.sender().ip), "enip-io", "producer");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    /// An encapsulation message with `data`.
    pub fn encap(cmd: u16, context: u8, data: &[u8]) -> Vec<u8> {
        let mut b = cmd.to_le_bytes().to_vec();
        b.extend_from_slice(&(data.len() as u16).to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&[context, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(data);
        b
    }

    fn rr(cip: &[u8]) -> Vec<u8> {
        let mut d = vec![0, 0, 0, 0, 10, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0];
        d.extend_from_slice(&(cip.len() as u16).to_le_bytes());
        d.extend_from_slice(cip);
        d
    }

    #[test]
    fn routed_identity_request_and_response_name_the_module() {
        // Unconnected Send to slot 2 carrying Get_Attributes_All on Identity/1.
        let embedded = [0x01, 0x02, 0x20, 0x01, 0x24, 0x01];
        let mut send = vec![0x52, 0x02, 0x20, 0x06, 0x24, 0x01, 0x0a, 0xf0, 6, 0];
        send.extend_from_slice(&embedded);
        send.extend_from_slice(&[1, 0, 0x01, 0x02]);
        let mut resp = vec![
            0x81, 0, 0, 0, 0x35, 0x01, 0x0c, 0, 83, 0, 1, 2, 0, 0, 0x77, 0xad, 0, 0, 5,
        ];
        resp.extend_from_slice(b"MVI56");
        let mut state = State::None;
        let mut out = Findings::default();
        let f = crate::dissect::ics::tests::frame_ref();
        dissect(&view(true, &encap(0x6f, 7, &rr(&send))), &f, &mut state, &mut out);
        // A response with another context is not paired.
        dissect(
            &view(false, &encap(0x6f, 8, &rr(&resp))),
            &f,
            &mut state,
            &mut out,
        );
        assert!(out.identities.is_empty());
        dissect(
            &view(false, &encap(0x6f, 7, &rr(&resp))),
            &f,
            &mut state,
            &mut out,
        );
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.product.as_deref(), Some("MVI56"));
        assert_eq!(id.vendor.as_deref(), Some("ProSoft Technology"));
        assert_eq!(id.attributes["chassis_slot"], "2");
    }

    #[test]
    fn firmware_class_and_reset_are_events_error_responses_are_counted() {
        let out = findings_for(
            dissect,
            &view(
                true,
                &encap(0x6f, 1, &rr(&[0x4d, 0x02, 0x20, 0xa1, 0x24, 0x01, 9, 9])),
            ),
        );
        assert_eq!(out.events[0].event.kind, "firmware_update");
        let out = findings_for(
            dissect,
            &view(true, &encap(0x6f, 1, &rr(&[0x05, 0x02, 0x20, 0x01, 0x24, 0x01]))),
        );
        assert_eq!(out.events[0].event.kind, "reset");
        let out = findings_for(dissect, &view(false, &encap(0x6f, 1, &rr(&[0x81, 0, 0x08, 0]))));
        assert!(out.tallies.keys().any(|k| k.2 == "error_status" && k.3 == 8));
        assert_eq!(frame(&encap(0x63, 0, &[])), Frame::Len(24));
        assert_eq!(frame(&[0x99, 0, 0, 0]), Frame::Bad);
    }
}
