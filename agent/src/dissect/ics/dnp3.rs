//! DNP3 (TCP/UDP 20000): link-layer addresses, master/outstation roles (from the direction bit),
//! application function codes, and events for writes, controls, restarts, application start/stop,
//! unsolicited-reporting changes and file transfer.

use super::framer::Frame;
use super::{State, TcpProtocol, event, serves};
use crate::dissect::StreamView;
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::Severity;

/// DNP3 over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "dnp3",
    port: 20000,
    signature: Some(|b| b.starts_with(&[0x05, 0x64])),
    frame,
    dissect,
};

/// Link frame: 0x05 0x64, length (5..=255, counting control, addresses and user data), then a
/// 10-byte header and 16-byte user-data blocks, each with a 2-byte CRC.
pub fn frame(b: &[u8]) -> Frame {
    match b {
        [] | [0x05] | [0x05, 0x64] => Frame::More,
        [0x05, 0x64, len, ..] if *len >= 5 => {
            let user = usize::from(*len) - 5;
            Frame::Len(10 + user + 2 * user.div_ceil(16))
        }
        _ => Frame::Bad,
    }
}

/// Dissects one link frame.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let b = v.data;
    if b.len() < 10 || frame(b) == Frame::Bad {
        return;
    }
    let control = b[3];
    let dst = u16::from_le_bytes([b[4], b[5]]);
    let src = u16::from_le_bytes([b[6], b[7]]);
    let sender = Subject::Ip(v.sender().ip);
    let receiver = Subject::Ip(if v.from_client { v.server.ip } else { v.client.ip });
    let from_master = control & 0x80 != 0;
    let (master, outstation) = if from_master {
        (sender, receiver)
    } else {
        (receiver, sender)
    };
    out.role(master, "dnp3", "master");
    out.role(outstation, "dnp3", "outstation");
    out.tally(sender, "dnp3", "link_address", u32::from(src));
    if dst != 0xffff {
        out.tally(receiver, "dnp3", "link_address", u32::from(dst));
    }
    if !from_master {
        serves(v, f, out, "dnp3");
    }
    // First user-data block: transport header, application control, function code.
    let user = &b[10..b.len().min(10 + 16)];
    let (Some(&transport), Some(&function)) = (user.first(), user.get(2)) else {
        return;
    };
    if transport & 0x40 == 0 || control & 0x40 == 0 {
        return; // not the first fragment, or a secondary (link) frame
    }
    out.tally(outstation, "dnp3", "function", u32::from(function));
    if !from_master {
        return;
    }
    let (kind, severity) = match function {
        2 => ("write", Severity::Medium),
        3..=6 => ("control", Severity::Medium),
        13 => ("cold_restart", Severity::High),
        14 => ("warm_restart", Severity::High),
        16 => ("initialize_application", Severity::High),
        17 => ("start_application", Severity::High),
        18 => ("stop_application", Severity::High),
        21 => ("disable_unsolicited", Severity::Medium),
        25..=30 => ("file_transfer", Severity::Medium),
        _ => return,
    };
    let details = [
        ("function", function.to_string()),
        ("destination", dst.to_string()),
    ];
    event(v, f, out, "dnp3", kind, severity, &details);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    /// A link frame from the master (DIR, PRM) with one user-data block (CRCs zeroed).
    fn request(function: u8) -> Vec<u8> {
        let user = [0xc0, 0xc1, function, 0x3c, 0x01, 0x06];
        let mut b = vec![
            0x05,
            0x64,
            5 + user.len() as u8,
            0xc4,
            0x04,
            0x00,
            0x03,
            0x00,
            0,
            0,
        ];
        b.extend_from_slice(&user);
        b.extend_from_slice(&[0, 0]);
        b
    }

    #[test]
    fn framing_roles_and_restart_event() {
        assert_eq!(frame(&request(1)), Frame::Len(18));
        assert_eq!(frame(&[0x05, 0x64, 0xff]), Frame::Len(10 + 250 + 32));
        assert_eq!(frame(&[0x05, 0x64, 4]), Frame::Bad);
        assert_eq!(frame(&[0x05, 0x65, 9]), Frame::Bad);
        let out = findings_for(dissect, &view(true, &request(13)));
        assert_eq!(out.events[0].event.kind, "cold_restart");
        assert_eq!(out.events[0].event.details["destination"], "4");
        let master = out.roles.iter().find(|(_, r)| r.contains("master")).unwrap().0;
        assert_eq!(master.0, Subject::Ip(view(true, &[]).client.ip));
        // A read (function 1) is counted, not an event; a cut frame is ignored.
        let out = findings_for(dissect, &view(true, &request(1)));
        assert!(out.events.is_empty());
        assert!(
            findings_for(dissect, &view(true, &request(13)[..9]))
                .roles
                .is_empty()
        );
    }
}
