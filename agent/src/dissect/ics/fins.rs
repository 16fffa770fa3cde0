//! Omron FINS (UDP 9600, and TCP 9600 with its FINS/TCP header): the controller data read
//! answer (command 05 01: model and version) as an identity; run/stop, memory, parameter and
//! program area writes, program clears and clock writes are events.

use super::framer::Frame;
use super::strings::field;
use super::{State, TcpProtocol, event, ip_of, serves};
use crate::dissect::StreamView;
use crate::findings::{Findings, FrameRef};
use shoko_proto::{Identity, Severity};

/// FINS/TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "omron-fins",
    port: 9600,
    signature: Some(|b| b.starts_with(b"FINS")),
    frame,
    dissect: dissect_tcp,
};

/// FINS/TCP header: "FINS", length of what follows, command, error code.
pub fn frame(b: &[u8]) -> Frame {
    if b.len() < 8 {
        return if b"FINS".starts_with(&b[..b.len().min(4)]) {
            Frame::More
        } else {
            Frame::Bad
        };
    }
    if &b[..4] != b"FINS" {
        return Frame::Bad;
    }
    match usize::try_from(u32::from_be_bytes([b[4], b[5], b[6], b[7]])) {
        Ok(n) if n >= 8 => Frame::Len(8 + n),
        _ => Frame::Bad,
    }
}

fn dissect_tcp(v: &StreamView<'_>, f: &FrameRef<'_>, state: &mut State, out: &mut Findings) {
    // Command 2 carries a FINS frame after the 16-byte header.
    if v.data.get(8..12) == Some(&[0, 0, 0, 2]) {
        let inner = StreamView {
            data: &v.data[16..],
            ..*v
        };
        dissect_udp(&inner, f, state, out);
    }
}

/// Dissects one FINS frame: 10-byte header (ICF bit 6 set in responses), command code, then for
/// responses an end code before the data.
pub fn dissect_udp(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let b = v.data;
    let (Some(&icf), Some(cmd)) = (b.first(), b.get(10..12)) else {
        return;
    };
    if icf & 0x80 == 0 {
        return; // the gateway bit is always set
    }
    let cmd = u16::from_be_bytes([cmd[0], cmd[1]]);
    let response = icf & 0x40 != 0;
    if response {
        serves(v, f, out, "omron-fins");
        if cmd == 0x0501
            && b.get(12..14) == Some(&[0, 0])
            && let Some(data) = b.get(14..54)
        {
            let mut id = Identity::new("omron-fins", 90);
            id.vendor = Some("Omron".into());
            id.model = field(&data[..20]);
            id.firmware = field(&data[20..40]);
            out.identity(f, ip_of(&v.server), id);
        }
        return;
    }
    out.tally(ip_of(&v.server), "omron-fins", "command", u32::from(cmd));
    let (kind, severity) = match cmd {
        0x0401 => ("plc_run", Severity::High),
        0x0402 => ("plc_stop", Severity::High),
        0x0102..=0x0103 | 0x0105 => ("memory_write", Severity::Medium),
        0x0202 | 0x0203 => ("parameter_write", Severity::Medium),
        0x0307 => ("program_write", Severity::High),
        0x0308 => ("program_clear", Severity::High),
        0x0702 => ("clock_write", Severity::Low),
        0x2203 | 0x2205 | 0x2207 | 0x2208 => ("file_write", Severity::Medium),
        _ => return,
    };
    event(
        v,
        f,
        out,
        "omron-fins",
        kind,
        severity,
        &[("command", format!("{cmd:04x}"))],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    #[test]
    fn controller_data_and_stop() {
        let mut resp = vec![0xc0, 0, 2, 0, 0x01, 0, 0, 0xa4, 0, 0, 0x05, 0x01, 0, 0];
        resp.extend_from_slice(format!("{:<20}{:<20}", "CP1L-EL20DR-D", "01.00").as_bytes());
        let out = findings_for(dissect_udp, &view(false, &resp));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(
            (id.model.as_deref(), id.firmware.as_deref()),
            (Some("CP1L-EL20DR-D"), Some("01.00"))
        );
        let stop = [0x80, 0, 2, 0, 0x01, 0, 0, 0xa4, 0, 0, 0x04, 0x02, 0xff, 0xff];
        assert_eq!(
            findings_for(dissect_udp, &view(true, &stop)).events[0].event.kind,
            "plc_stop"
        );
        // The same over FINS/TCP.
        let mut tcp = b"FINS".to_vec();
        tcp.extend_from_slice(&((8 + stop.len()) as u32).to_be_bytes());
        tcp.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0]);
        tcp.extend_from_slice(&stop);
        assert_eq!(frame(&tcp), Frame::Len(tcp.len()));
        assert_eq!(findings_for(dissect_tcp, &view(true, &tcp)).events.len(), 1);
        assert_eq!(frame(b"FINX\0\0\0\x08"), Frame::Bad);
    }
}
