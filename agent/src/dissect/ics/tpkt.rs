//! ISO-on-TCP (RFC 1006, port 102): TPKT framing and COTP (ISO 8073 class 0) data units,
//! reassembled across COTP segments within a bound, then handed to S7comm (0x32), S7comm-plus
//! (0x72) or, through the ISO session and presentation layers, to MMS.

use super::framer::{Frame, MAX_PDU};
use super::{State, TcpProtocol, mms, s7};
use crate::dissect::StreamView;
use crate::findings::{Findings, FrameRef};

/// ISO-on-TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "iso-tsap",
    port: 102,
    signature: None,
    frame,
    dissect,
};

/// COTP segments being reassembled, per direction (client to server first), and the S7 SZL
/// answer being joined from several userdata PDUs.
#[derive(Debug, Default)]
pub struct Reassembly {
    segments: [Vec<u8>; 2],
    szl_fragments: Vec<u8>,
}

/// TPKT framing: version 3, reserved 0, a length that includes the 4-byte header.
pub fn frame(b: &[u8]) -> Frame {
    if b.len() < 4 {
        return Frame::More;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if b[0] != 3 || b[1] != 0 || len < 7 {
        return Frame::Bad;
    }
    Frame::Len(len)
}

/// Dissects one TPKT: COTP data units are reassembled until end-of-TSDU, then dissected.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, state: &mut State, out: &mut Findings) {
    let Some(cotp) = v.data.get(4..) else { return };
    let Some((&li, rest)) = cotp.split_first() else {
        return;
    };
    let Some(header) = rest.get(..usize::from(li)) else {
        return;
    };
    let user = &rest[usize::from(li)..];
    if header.first().map(|t| t & 0xf0) != Some(0xf0) {
        return; // connection request/confirm, disconnect: nothing to dissect
    }
    let eot = header.get(1).is_some_and(|n| n & 0x80 != 0);
    if !matches!(state, State::Tpkt(_)) {
        *state = State::Tpkt(Box::default());
    }
    let State::Tpkt(r) = state else { return };
    let Reassembly {
        segments,
        szl_fragments,
    } = &mut **r;
    let held = &mut segments[usize::from(!v.from_client)];
    if !eot {
        if held.len() + user.len() <= MAX_PDU {
            held.extend_from_slice(user);
        } else {
            held.clear();
        }
        return;
    }
    let whole;
    let tsdu = if held.is_empty() {
        user
    } else {
        held.extend_from_slice(user);
        whole = std::mem::take(held);
        &whole[..]
    };
    let unit = StreamView { data: tsdu, ..*v };
    match tsdu.first() {
        Some(0x32) => s7::dissect(&unit, f, szl_fragments, out),
        Some(0x72) => s7::plus(&unit, f, out),
        Some(_) => mms::dissect(&unit, f, out),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{frame_ref, view};

    /// A TPKT carrying one COTP DT unit.
    pub fn tpkt(eot: bool, user: &[u8]) -> Vec<u8> {
        let mut b = vec![3, 0, 0, 0, 2, 0xf0, if eot { 0x80 } else { 0 }];
        b.extend_from_slice(user);
        let n = b.len() as u16;
        b[2..4].copy_from_slice(&n.to_be_bytes());
        b
    }

    #[test]
    fn framing_and_cotp_segments_are_joined() {
        assert_eq!(frame(&tpkt(true, &[1, 2])), Frame::Len(9));
        assert_eq!(frame(&[3, 0, 0, 5]), Frame::Bad);
        assert_eq!(frame(&[4, 0, 0, 9]), Frame::Bad);
        // An S7 job "PLC stop" split over two COTP segments.
        let job = [
            0x32, 1, 0, 0, 0, 1, 0, 16, 0, 0, 0x29, 0, 0, 0, 0, 0, 9, b'P', b'_', b'P', b'R', b'O', b'G',
            b'R', b'A', b'M',
        ];
        let mut state = State::None;
        let mut out = Findings::default();
        let f = frame_ref();
        dissect(&view(true, &tpkt(false, &job[..10])), &f, &mut state, &mut out);
        assert!(out.events.is_empty());
        dissect(&view(true, &tpkt(true, &job[10..])), &f, &mut state, &mut out);
        assert_eq!(out.events[0].event.kind, "plc_stop");
    }
}
