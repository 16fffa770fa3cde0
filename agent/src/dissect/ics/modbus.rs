//! Modbus/TCP (port 502): unit ids and function-code statistics per server, Read Device
//! Identification (function 43, MEI 14) and Report Server ID (17) responses as identities, and
//! events for writes, diagnostics/restart and Schneider UMAS (function 90) program and run-state
//! functions.

use super::framer::Frame;
use super::{State, TcpProtocol, event, ip_of};
use crate::dissect::StreamView;
use crate::dissect::reader::{Reader, text};
use crate::findings::{Findings, FrameRef};
use shoko_proto::{Identity, Severity, Transport};

/// Modbus over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "modbus",
    port: 502,
    signature: None,
    frame,
    dissect,
};

/// MBAP framing: transaction id, protocol id 0, length of unit id + PDU (2..=254).
pub fn frame(b: &[u8]) -> Frame {
    if b.len() < 6 {
        return Frame::More;
    }
    let proto = u16::from_be_bytes([b[2], b[3]]);
    let len = usize::from(u16::from_be_bytes([b[4], b[5]]));
    if proto != 0 || !(2..=254).contains(&len) {
        return Frame::Bad;
    }
    Frame::Len(6 + len)
}

/// The name of a public function code.
pub fn function_name(fc: u8) -> Option<&'static str> {
    Some(match fc {
        1 => "read coils",
        2 => "read discrete inputs",
        3 => "read holding registers",
        4 => "read input registers",
        5 => "write single coil",
        6 => "write single register",
        7 => "read exception status",
        8 => "diagnostics",
        11 => "get comm event counter",
        12 => "get comm event log",
        15 => "write multiple coils",
        16 => "write multiple registers",
        17 => "report server id",
        20 => "read file record",
        21 => "write file record",
        22 => "mask write register",
        23 => "read/write multiple registers",
        24 => "read fifo queue",
        43 => "encapsulated interface transport",
        90 => "umas",
        _ => return None,
    })
}

/// Dissects one MBAP-framed PDU.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let mut r = Reader::new(v.data);
    let (Some(_), Some(_), Some(_), Some(unit), Some(fc)) = (r.u16be(), r.u16be(), r.u16be(), r.u8(), r.u8())
    else {
        return;
    };
    let server = ip_of(&v.server);
    let pdu = r.rest();
    if v.from_client {
        out.tally(server, "modbus", "function", u32::from(fc));
        out.tally(server, "modbus", "unit_id", u32::from(unit));
        request(v, f, unit, fc, pdu, out);
        return;
    }
    out.service(f, v.server.ip, Transport::Tcp, v.server.port, "modbus", None);
    if fc & 0x80 != 0 {
        out.tally(
            server,
            "modbus",
            "exception",
            u32::from(pdu.first().copied().unwrap_or(0)),
        );
        return;
    }
    match fc {
        43 if pdu.first() == Some(&14) => device_identification(&pdu[1..], v, f, out),
        17 => report_server_id(pdu, v, f, out),
        _ => {}
    }
}

fn request(v: &StreamView<'_>, f: &FrameRef<'_>, unit: u8, fc: u8, pdu: &[u8], out: &mut Findings) {
    if !matches!(fc, 5 | 6 | 8 | 15 | 16 | 21 | 22 | 23 | 90) {
        return; // reads: counted, not events
    }
    let mut r = Reader::new(pdu);
    let mut details = vec![("unit_id", unit.to_string()), ("function", fc.to_string())];
    let (kind, severity) = match fc {
        5 | 6 | 15 | 16 | 22 | 23 => {
            if let Some(addr) = r.u16be() {
                details.push(("address", addr.to_string()));
            }
            if matches!(fc, 15 | 16)
                && let Some(n) = r.u16be()
            {
                details.push(("quantity", n.to_string()));
            }
            ("write", Severity::Medium)
        }
        21 => ("write_file_record", Severity::Medium),
        8 => match r.u16be() {
            Some(1) => ("restart_communications", Severity::High),
            Some(4) => ("force_listen_only", Severity::High),
            Some(sub) => {
                details.push(("subfunction", sub.to_string()));
                ("diagnostics", Severity::Low)
            }
            None => return,
        },
        90 => {
            let Some(sub) = r.skip(1).and_then(|_| r.u8()) else {
                return;
            };
            out.tally(ip_of(&v.server), "modbus", "umas_function", u32::from(sub));
            details.push(("umas_function", format!("0x{sub:02x}")));
            match sub {
                0x29 => ("write_variables", Severity::Medium),
                0x30..=0x32 => ("program_download", Severity::High),
                0x33..=0x35 => ("program_upload", Severity::Low),
                0x40 => ("plc_start", Severity::High),
                0x41 => ("plc_stop", Severity::High),
                0x10 => ("take_reservation", Severity::Low),
                _ => return,
            }
        }
        _ => return,
    };
    if let Some(name) = function_name(fc) {
        details.push(("function_name", name.to_owned()));
    }
    event(v, f, out, "modbus", kind, severity, &details);
}

/// MEI 14 response: read device id code, conformity, more follows, next object, count, objects.
fn device_identification(b: &[u8], v: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(b);
    let (Some(_code), Some(_conformity), Some(_more), Some(_next), Some(count)) =
        (r.u8(), r.u8(), r.u8(), r.u8(), r.u8())
    else {
        return;
    };
    let mut id = Identity::new("modbus", 90);
    for _ in 0..count {
        let (Some(obj), Some(len)) = (r.u8(), r.u8()) else {
            break;
        };
        let Some(value) = r.take(usize::from(len)).and_then(|x| text(x, 245)) else {
            continue;
        };
        match obj {
            0 => id.vendor = Some(value),
            1 => id.model = Some(value),
            2 => id.firmware = Some(value),
            3 => {
                id.attributes.insert("vendor_url".into(), value);
            }
            4 => id.product = Some(value),
            5 => {
                id.attributes.insert("model_name".into(), value);
            }
            6 => id.name = Some(value),
            n => {
                id.attributes.insert(format!("object_{n:#04x}"), value);
            }
        }
    }
    if id != Identity::new("modbus", 90) {
        out.identity(f, ip_of(&v.server), id);
    }
}

/// Report Server ID response: byte count, server id, run indicator, device-specific data (often
/// a product string).
fn report_server_id(b: &[u8], v: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) {
    let mut r = Reader::new(b);
    let Some(n) = r.u8() else { return };
    let Some(data) = r.take(usize::from(n)) else {
        return;
    };
    let (Some(&server_id), Some(&run)) = (data.first(), data.get(1)) else {
        return;
    };
    let mut id = Identity::new("modbus", 60);
    id.attributes.insert("server_id".into(), server_id.to_string());
    id.attributes.insert(
        "run_indicator".into(),
        if run == 0xff { "on" } else { "off" }.into(),
    );
    id.product = data.get(2..).and_then(|x| text(x, 128));
    out.identity(f, ip_of(&v.server), id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    fn mbap(unit: u8, pdu: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 1, 0, 0];
        b.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
        b.push(unit);
        b.extend_from_slice(pdu);
        b
    }

    #[test]
    fn framing() {
        assert_eq!(frame(&mbap(1, &[3, 0, 0, 0, 10])), Frame::Len(12));
        assert_eq!(frame(&[0, 1, 0]), Frame::More);
        assert_eq!(frame(&[0, 1, 0, 1, 0, 6]), Frame::Bad);
        assert_eq!(frame(&[0, 1, 0, 0, 1, 0]), Frame::Bad);
    }

    #[test]
    fn device_identification_response_is_an_identity() {
        let mut pdu = vec![43, 14, 1, 0x83, 0, 0, 4];
        for (id, v) in [
            (0u8, &b"Schneider Electric"[..]),
            (1, b"BMX P34 2020"),
            (2, b"v2.7"),
            (6, b"PUMP-7"),
        ] {
            pdu.extend_from_slice(&[id, v.len() as u8]);
            pdu.extend_from_slice(v);
        }
        let out = findings_for(dissect, &view(false, &mbap(1, &pdu)));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.vendor.as_deref(), Some("Schneider Electric"));
        assert_eq!(id.model.as_deref(), Some("BMX P34 2020"));
        assert_eq!(id.firmware.as_deref(), Some("v2.7"));
        assert_eq!(id.name.as_deref(), Some("PUMP-7"));
    }

    #[test]
    fn writes_restarts_and_umas_stop_are_events_and_exceptions_counted() {
        let out = findings_for(dissect, &view(true, &mbap(3, &[16, 0, 100, 0, 2, 4, 0, 1, 0, 2])));
        let e = &out.events[0].event;
        assert_eq!((e.kind.as_str(), e.severity), ("write", Severity::Medium));
        assert_eq!(e.details["address"], "100");
        assert_eq!(e.details["quantity"], "2");
        let out = findings_for(dissect, &view(true, &mbap(1, &[8, 0, 1, 0, 0])));
        assert_eq!(out.events[0].event.kind, "restart_communications");
        let out = findings_for(dissect, &view(true, &mbap(1, &[90, 0, 0x41, 0xff])));
        assert_eq!(out.events[0].event.kind, "plc_stop");
        let out = findings_for(dissect, &view(false, &mbap(1, &[0x83, 2])));
        assert_eq!(out.tallies.values().sum::<u64>(), 1);
        // Truncated PDUs are ignored.
        let out = findings_for(dissect, &view(true, &mbap(1, &[16, 0])));
        assert_eq!(out.events[0].event.details.get("quantity"), None);
        assert!(
            findings_for(dissect, &view(false, &[0, 1, 0]))
                .identities
                .is_empty()
        );
    }
}
