//! Mitsubishi MELSEC: MELSOFT engineering traffic (GX Works, TCP 5562 / UDP 5560 discovery) and
//! the MC protocol / SLMP binary 3E frames (TCP/UDP 5000-5010): detection, command statistics, the
//! CPU model name from "read CPU model" answers, and events for remote run/stop/reset and writes.

use super::framer::Frame;
use super::strings::field;
use super::{State, TcpProtocol, event, ip_of, serves};
use crate::dissect::StreamView;
use crate::findings::{Findings, FrameRef};
use shoko_proto::{Identity, Severity};

/// MELSOFT engineering protocol over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "melsec",
    port: 5562,
    signature: None,
    frame,
    dissect,
};

/// MC protocol / SLMP over TCP (one of the usual ports).
pub const TCP_ALT: TcpProtocol = TcpProtocol {
    name: "melsec",
    port: 5007,
    signature: None,
    frame,
    dissect,
};

/// MELSOFT frames (0x57 request / 0xd7 response, 21-byte header, length at 19) and 3E frames
/// (0x50 0x00 request / 0xd0 0x00 response, 9-byte header, length at 7).
pub fn frame(b: &[u8]) -> Frame {
    match b.first() {
        None => Frame::More,
        Some(0x57 | 0xd7) if b.len() < 21 => Frame::More,
        Some(0x57 | 0xd7) => Frame::Len(21 + usize::from(u16::from_le_bytes([b[19], b[20]]))),
        Some(0x50 | 0xd0) if b.get(1).is_some_and(|&x| x != 0) => Frame::Bad,
        Some(0x50 | 0xd0) if b.len() < 9 => Frame::More,
        Some(0x50 | 0xd0) => Frame::Len(9 + usize::from(u16::from_le_bytes([b[7], b[8]]))),
        _ => Frame::Bad,
    }
}

/// Dissects one MELSOFT or 3E frame (TCP PDU or UDP datagram).
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let b = v.data;
    let server = ip_of(&v.server);
    match b.first() {
        Some(0x57 | 0x5a) if v.from_client => out.tally(server, "melsec", "melsoft_request", u32::from(b[0])),
        Some(0xd7 | 0xda) if !v.from_client => serves(v, f, out, "melsec"),
        Some(0x50) if v.from_client && b.get(1) == Some(&0) => mc_request(v, f, b, out),
        Some(0xd0) if !v.from_client && b.get(1) == Some(&0) => mc_response(v, f, b, out),
        _ => {}
    }
}

/// 3E request: header, monitoring timer, command, subcommand.
fn mc_request(v: &StreamView<'_>, f: &FrameRef<'_>, b: &[u8], out: &mut Findings) {
    let Some(cmd) = b.get(11..13).map(|c| u16::from_le_bytes([c[0], c[1]])) else {
        return;
    };
    out.tally(ip_of(&v.server), "melsec", "command", u32::from(cmd));
    let (kind, severity) = match cmd {
        0x1401 | 0x1402 | 0x1403 | 0x1406 => ("write", Severity::Medium),
        0x1001 => ("plc_run", Severity::High),
        0x1002 => ("plc_stop", Severity::High),
        0x1003 => ("plc_pause", Severity::High),
        0x1005 => ("latch_clear", Severity::High),
        0x1006 => ("plc_reset", Severity::High),
        _ => return,
    };
    event(
        v,
        f,
        out,
        "melsec",
        kind,
        severity,
        &[("command", format!("0x{cmd:04x}"))],
    );
}

/// 3E response: header, end code, data. A "read CPU model" answer is 16 characters and a code.
fn mc_response(v: &StreamView<'_>, f: &FrameRef<'_>, b: &[u8], out: &mut Findings) {
    serves(v, f, out, "melsec");
    let (Some(&[0, 0]), Some(data)) = (b.get(9..11), b.get(11..)) else {
        return;
    };
    if data.len() == 18 && data[..16].iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        let mut id = Identity::new("melsec", 70);
        id.vendor = Some("Mitsubishi Electric".into());
        id.model = field(&data[..16]);
        id.attributes.insert(
            "model_code".into(),
            format!("{:#06x}", u16::from_le_bytes([data[16], data[17]])),
        );
        out.identity(f, ip_of(&v.server), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    #[test]
    fn frames_model_and_remote_stop() {
        let mut melsoft = vec![0xd7; 19];
        melsoft.extend_from_slice(&[0x24, 0x00, 0x9c]);
        assert_eq!(frame(&melsoft), Frame::Len(57));
        assert_eq!(frame(&[0x50, 0, 0, 0xff, 0xff, 3, 0, 6, 0]), Frame::Len(15));
        assert_eq!(frame(&[0x50, 1]), Frame::Bad);
        let stop = [
            0x50, 0, 0, 0xff, 0xff, 3, 0, 8, 0, 0x10, 0, 0x02, 0x10, 0, 0, 1, 0,
        ];
        let out = findings_for(dissect, &view(true, &stop));
        assert_eq!(out.events[0].event.kind, "plc_stop");
        let mut model = vec![0xd0, 0, 0, 0xff, 0xff, 3, 0, 20, 0, 0, 0];
        model.extend_from_slice(b"Q03UDECPU       ");
        model.extend_from_slice(&[0x68, 0x02]);
        let out = findings_for(dissect, &view(false, &model));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.model.as_deref(), Some("Q03UDECPU"));
    }
}
