//! IEC 60870-5-104 (TCP 2404): controlling (client) and controlled (server) stations, common
//! addresses and ASDU type statistics, and events for commands (single, double, step, set-point,
//! bitstring), clock synchronisation and process reset.

use super::framer::Frame;
use super::{State, TcpProtocol, event, ip_of, serves};
use crate::dissect::StreamView;
use crate::findings::{Findings, FrameRef};
use shoko_proto::Severity;

/// IEC 104 over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "iec104",
    port: 2404,
    signature: None,
    frame,
    dissect,
};

/// APCI: start byte 0x68, length of the rest (4..=253).
pub fn frame(b: &[u8]) -> Frame {
    match b {
        [] | [0x68] => Frame::More,
        [0x68, len, ..] if (4..=253).contains(len) => Frame::Len(2 + usize::from(*len)),
        _ => Frame::Bad,
    }
}

/// Dissects one APDU.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let b = v.data;
    let Some(&control) = b.get(2) else { return };
    out.role(ip_of(&v.client), "iec104", "controlling-station");
    out.role(ip_of(&v.server), "iec104", "controlled-station");
    if !v.from_client {
        serves(v, f, out, "iec104");
    }
    if control & 0x01 != 0 {
        return; // S- or U-format: no ASDU
    }
    // ASDU: type id, variable structure qualifier, cause of transmission, originator, common address.
    let (Some(&type_id), Some(&cot), Some(ca)) = (b.get(6), b.get(8), b.get(10..12)) else {
        return;
    };
    let server = ip_of(&v.server);
    out.tally(server, "iec104", "asdu_type", u32::from(type_id));
    out.tally(
        server,
        "iec104",
        "common_address",
        u32::from(u16::from_le_bytes([ca[0], ca[1]])),
    );
    if cot & 0x3f != 6 {
        return; // only activations are commands
    }
    let (kind, severity) = match type_id {
        45..=51 | 58..=64 => ("command", Severity::Medium),
        103 => ("clock_sync", Severity::Low),
        105 => ("reset_process", Severity::High),
        _ => return,
    };
    let details = [
        ("type_id", type_id.to_string()),
        ("common_address", u16::from_le_bytes([ca[0], ca[1]]).to_string()),
    ];
    event(v, f, out, "iec104", kind, severity, &details);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    fn i_frame(type_id: u8, cot: u8) -> Vec<u8> {
        let asdu = [type_id, 1, cot, 0, 3, 0, 1, 0, 0, 0x81];
        let mut b = vec![0x68, 4 + asdu.len() as u8, 0, 0, 0, 0];
        b.extend_from_slice(&asdu);
        b
    }

    #[test]
    fn framing_commands_and_statistics() {
        assert_eq!(frame(&i_frame(45, 6)), Frame::Len(16));
        assert_eq!(frame(&[0x68, 2]), Frame::Bad);
        assert_eq!(frame(&[0x67, 4]), Frame::Bad);
        let out = findings_for(dissect, &view(true, &i_frame(45, 6)));
        assert_eq!(out.events[0].event.kind, "command");
        assert_eq!(out.events[0].event.details["common_address"], "3");
        // The confirmation (cause 7) of the same command is not another event.
        assert!(
            findings_for(dissect, &view(false, &i_frame(45, 7)))
                .events
                .is_empty()
        );
        let out = findings_for(dissect, &view(true, &i_frame(105, 6)));
        assert_eq!(out.events[0].event.severity, Severity::High);
        // U-format STARTDT: roles only.
        let out = findings_for(dissect, &view(true, &[0x68, 4, 0x07, 0, 0, 0]));
        assert!(out.tallies.is_empty() && out.roles.len() == 2);
    }
}
