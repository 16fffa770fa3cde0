//! Siemens S7comm (ISO-on-TCP): identity from SZL (system status list) responses — 0x0011/0x0111
//! order number, hardware and firmware ("V3.2.6"), 0x001c PLC and module names, serial number,
//! plant id and copyright, 0x0424 operating mode — and events for PLC stop/start, block download,
//! upload, delete and activation, variable writes and password functions. S7comm-plus (0x72)
//! sessions are recognised and their readable identity strings kept.

use super::strings::{field, printable_runs};
use super::{event, ip_of};
use crate::dissect::StreamView;
use crate::dissect::reader::{Reader, text};
use crate::findings::{Findings, FrameRef};
use shoko_proto::{Identity, Severity, Transport};

const JOB: u8 = 1;
const ACK_DATA: u8 = 3;
const USERDATA: u8 = 7;

/// Longest SZL answer reassembled from userdata fragments.
const MAX_SZL: usize = 16 * 1024;

/// Dissects one S7comm PDU. `fragments` holds the data of an SZL answer sent in several userdata
/// PDUs ("more data units follow") until its last one.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, fragments: &mut Vec<u8>, out: &mut Findings) {
    let mut r = Reader::new(v.data);
    let (Some(0x32), Some(rosctr), Some(_), Some(_), Some(plen), Some(dlen)) =
        (r.u8(), r.u8(), r.u16be(), r.u16be(), r.u16be(), r.u16be())
    else {
        return;
    };
    if matches!(rosctr, 2 | ACK_DATA) {
        let (Some(class), Some(code)) = (r.u8(), r.u8()) else {
            return;
        };
        if class != 0 {
            out.tally(
                ip_of(&v.server),
                "s7comm",
                "error",
                u32::from(class) << 8 | u32::from(code),
            );
        }
    }
    let (Some(params), Some(data)) = (r.take(usize::from(plen)), r.take(usize::from(dlen))) else {
        return;
    };
    if !v.from_client {
        out.service(f, v.server.ip, Transport::Tcp, v.server.port, "s7comm", None);
    }
    match rosctr {
        JOB if v.from_client => job(v, f, params, out),
        USERDATA => userdata(v, f, params, data, fragments, out),
        _ => {}
    }
}

fn job(v: &StreamView<'_>, f: &FrameRef<'_>, p: &[u8], out: &mut Findings) {
    let Some(&func) = p.first() else { return };
    out.tally(ip_of(&v.server), "s7comm", "function", u32::from(func));
    let named = |at: usize| {
        p.get(at)
            .and_then(|&n| p.get(at + 1..at + 1 + usize::from(n)))
            .and_then(|s| text(s, 64))
    };
    let (kind, severity, detail) = match func {
        0x05 => ("write", Severity::Medium, None),
        0x1a => ("block_download", Severity::High, named(8)),
        0x1d => ("block_upload", Severity::Low, named(8)),
        0x29 => ("plc_stop", Severity::High, named(6)),
        0x28 => {
            // PI service: 7 unknown bytes, parameter block (length-prefixed), service name.
            let Some(blen) = p
                .get(8..10)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            else {
                return;
            };
            let Some(service) = named(10 + blen) else { return };
            let (kind, severity) = match service.as_str() {
                "P_PROGRAM" => ("plc_start", Severity::High),
                "_INSE" => ("block_activate", Severity::High),
                "_DELE" => ("block_delete", Severity::High),
                "_MODU" => ("copy_ram_to_rom", Severity::Medium),
                "_GARB" => ("compress_memory", Severity::Low),
                _ => ("pi_service", Severity::Medium),
            };
            (kind, severity, Some(service))
        }
        _ => return,
    };
    let mut details = vec![("function", format!("0x{func:02x}"))];
    if let Some(d) = detail {
        details.push(("argument", d));
    }
    event(v, f, out, "s7comm", kind, severity, &details);
}

fn userdata(
    v: &StreamView<'_>,
    f: &FrameRef<'_>,
    p: &[u8],
    data: &[u8],
    fragments: &mut Vec<u8>,
    out: &mut Findings,
) {
    let mut r = Reader::new(p);
    let (Some(_head), Some(_plen), Some(_method), Some(type_group), Some(sub)) =
        (r.take(3), r.u8(), r.u8(), r.u8(), r.u8())
    else {
        return;
    };
    let (kind, group) = (type_group >> 4, type_group & 0x0f);
    let request = kind == 4;
    if request {
        out.tally(
            ip_of(&v.server),
            "s7comm",
            "userdata",
            u32::from(group) << 8 | u32::from(sub),
        );
    }
    match (group, sub, request) {
        (5, 1, true) => event(v, f, out, "s7comm", "plc_password", Severity::Medium, &[]),
        (5, 2, true) => event(v, f, out, "s7comm", "clear_password", Severity::Medium, &[]),
        (7, 2, true) => event(v, f, out, "s7comm", "set_clock", Severity::Low, &[]),
        (4, 1, false) => {
            // Response parameters: data unit reference, last-data-unit flag (0 = last), error.
            let more = p.get(9).is_some_and(|&m| m != 0);
            let first = fragments.is_empty();
            let part = if first {
                data
            } else {
                data.get(4..).unwrap_or_default()
            };
            if fragments.len() + part.len() > MAX_SZL {
                fragments.clear();
                return;
            }
            if more {
                fragments.extend_from_slice(part);
            } else if first {
                szl(v, f, data, out);
            } else {
                fragments.extend_from_slice(part);
                let whole = std::mem::take(fragments);
                szl(v, f, &whole, out);
            }
        }
        _ => {}
    }
}

/// An SZL response: return code, transport size, length, then id, index, entry length, count.
fn szl(v: &StreamView<'_>, f: &FrameRef<'_>, data: &[u8], out: &mut Findings) {
    let mut r = Reader::new(data);
    let (Some(0xff), Some(_), Some(_), Some(id), Some(_index), Some(size), Some(count)) = (
        r.u8(),
        r.u8(),
        r.u16be(),
        r.u16be(),
        r.u16be(),
        r.u16be(),
        r.u16be(),
    ) else {
        return;
    };
    let size = usize::from(size);
    if size == 0 {
        return;
    }
    let entries: Vec<&[u8]> = (0..count.min(64)).map_while(|_| r.take(size)).collect();
    let mut ident = Identity::new("s7comm", 95);
    ident.vendor = Some("Siemens".into());
    match id & 0x00ff {
        0x11 => module_identification(&entries, &mut ident),
        0x1c => component_identification(&entries, &mut ident),
        0x24 => {
            let Some(mode) = entries.first().and_then(|e| e.get(3)) else {
                return;
            };
            ident.attributes.insert("operating_mode".into(), mode_name(*mode));
        }
        _ => return,
    }
    if ident.model.is_some() || ident.name.is_some() || !ident.attributes.is_empty() {
        out.identity(f, ip_of(&v.server), ident);
    }
}

/// SZL 0x0011: index, order number (20 chars), module type, Ausbg, Ausbe.
fn module_identification(entries: &[&[u8]], id: &mut Identity) {
    for e in entries {
        let mut r = Reader::new(e);
        let (Some(index), Some(mlfb), Some(_), Some(ausbg), Some(ausbe)) =
            (r.u16be(), r.take(20), r.u16be(), r.take(2), r.take(2))
        else {
            continue;
        };
        let order = field(mlfb);
        match index {
            1 => {
                id.model = order;
                id.hardware_revision = Some(u16::from_be_bytes([ausbe[0], ausbe[1]]).to_string());
            }
            6 => {
                if let Some(o) = order {
                    id.attributes.insert("basic_hardware".into(), o);
                }
            }
            7 => id.firmware = version(ausbg, ausbe),
            0x81 => {
                if let Some(b) = version(ausbg, ausbe) {
                    id.attributes.insert("boot_loader".into(), b);
                }
            }
            _ => {}
        }
    }
}

/// A version packed as a letter and three numbers: `V3.2.6`, `A32.9.9`.
fn version(ausbg: &[u8], ausbe: &[u8]) -> Option<String> {
    let letter = char::from(ausbg[0]);
    letter
        .is_ascii_alphabetic()
        .then(|| format!("{letter}{}.{}.{}", ausbg[1], ausbe[0], ausbe[1]))
}

/// SZL 0x001c: index and a 32-character (or longer) text.
fn component_identification(entries: &[&[u8]], id: &mut Identity) {
    for e in entries {
        let Some(index) = e.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
            continue;
        };
        let Some(value) = e.get(2..).and_then(field) else {
            continue;
        };
        let attr = match index {
            1 => {
                id.name = Some(value);
                continue;
            }
            5 => {
                id.serial = Some(value);
                continue;
            }
            7 => {
                id.product = Some(value);
                continue;
            }
            2 => "module_name",
            3 => "plant_id",
            4 => "copyright",
            8 => "memory_card_serial",
            0x0b => "location",
            _ => continue,
        };
        id.attributes.insert(attr.into(), value);
    }
}

/// The CPU operating mode of SZL 0x0424.
fn mode_name(m: u8) -> String {
    match m {
        1 => "STOP (update)",
        2 => "STOP (memory reset)",
        3 => "STOP (self initialization)",
        4 => "STOP",
        5 => "STARTUP (complete restart)",
        6 => "STARTUP (cold restart)",
        7 => "STARTUP (restart)",
        8 => "RUN",
        9 => "RUN (redundant)",
        10 => "HOLD",
        13 => "DEFECT",
        _ => return format!("mode {m:#04x}"),
    }
    .into()
}

/// Dissects one S7comm-plus PDU (S7-1200/1500): the session is recorded, and readable strings of
/// the server's first answers (order number, firmware) kept as an identity.
pub fn plus(v: &StreamView<'_>, f: &FrameRef<'_>, out: &mut Findings) {
    let server = ip_of(&v.server);
    out.tally(
        server,
        "s7comm-plus",
        "opcode",
        u32::from(v.data.get(3).copied().unwrap_or(0)),
    );
    if v.from_client {
        return;
    }
    out.service(f, v.server.ip, Transport::Tcp, v.server.port, "s7comm-plus", None);
    let mut id = Identity::new("s7comm-plus", 60);
    for s in printable_runs(v.data, 8, 16) {
        if s.starts_with("6ES7") || s.starts_with("6AV") {
            id.model.get_or_insert(s);
        } else if s.len() < 32 && s.starts_with('V') && s[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
        {
            id.firmware.get_or_insert(s);
        }
    }
    if id.model.is_some() || id.firmware.is_some() {
        id.vendor = Some("Siemens".into());
        out.identity(f, server, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::view;

    fn findings_for_unit(
        dissect: fn(&StreamView<'_>, &FrameRef<'_>, &mut Vec<u8>, &mut Findings),
        v: &StreamView<'_>,
    ) -> Findings {
        let mut out = Findings::default();
        dissect(
            v,
            &crate::dissect::ics::tests::frame_ref(),
            &mut Vec::new(),
            &mut out,
        );
        out
    }

    fn userdata_response(szl_id: u16, entries: &[Vec<u8>]) -> Vec<u8> {
        let size = entries.first().map_or(0, Vec::len) as u16;
        let mut data = vec![0xff, 0x09, 0, 0];
        data.extend_from_slice(&szl_id.to_be_bytes());
        data.extend_from_slice(&[0, 0]);
        data.extend_from_slice(&size.to_be_bytes());
        data.extend_from_slice(&(entries.len() as u16).to_be_bytes());
        entries.iter().for_each(|e| data.extend_from_slice(e));
        let n = (data.len() - 4) as u16;
        data[2..4].copy_from_slice(&n.to_be_bytes());
        let params = [0, 1, 0x12, 8, 0x12, 0x84, 1, 1, 0, 0, 0, 0];
        let mut b = vec![0x32, 7, 0, 0, 0, 1];
        b.extend_from_slice(&(params.len() as u16).to_be_bytes());
        b.extend_from_slice(&(data.len() as u16).to_be_bytes());
        b.extend_from_slice(&params);
        b.extend_from_slice(&data);
        b
    }

    fn entry_0011(index: u16, mlfb: &str, ausbg: [u8; 2], ausbe: [u8; 2]) -> Vec<u8> {
        let mut e = index.to_be_bytes().to_vec();
        e.extend_from_slice(format!("{mlfb:<20}").as_bytes());
        e.extend_from_slice(&[0, 0]);
        e.extend_from_slice(&ausbg);
        e.extend_from_slice(&ausbe);
        e
    }

    #[test]
    fn szl_0011_order_number_and_firmware() {
        let pdu = userdata_response(
            0x0011,
            &[
                entry_0011(1, "6ES7 315-2EH14-0AB0", [0, 0], [0, 3]),
                entry_0011(7, "", [b'V', 3], [2, 7]),
            ],
        );
        let out = findings_for_unit(dissect, &view(false, &pdu));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.model.as_deref(), Some("6ES7 315-2EH14-0AB0"));
        assert_eq!(id.firmware.as_deref(), Some("V3.2.7"));
        assert_eq!(id.hardware_revision.as_deref(), Some("3"));
        // Truncated: count says two entries, one present.
        let short = &pdu[..pdu.len() - 28];
        assert!(
            findings_for_unit(dissect, &view(false, short))
                .identities
                .is_empty()
        );
    }

    #[test]
    fn szl_001c_names_and_0424_mode() {
        let text = |i: u16, s: &str| {
            let mut e = i.to_be_bytes().to_vec();
            e.extend_from_slice(format!("{s:\0<32}").as_bytes());
            e
        };
        let pdu = userdata_response(
            0x001c,
            &[text(1, "PLC_7"), text(5, "S C-X1"), text(7, "CPU 315-2 PN/DP")],
        );
        let out = findings_for_unit(dissect, &view(false, &pdu));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(
            (id.name.as_deref(), id.serial.as_deref(), id.product.as_deref()),
            (Some("PLC_7"), Some("S C-X1"), Some("CPU 315-2 PN/DP"))
        );
        let mode = vec![
            0x51, 0x44, 0xff, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let out = findings_for_unit(dissect, &view(false, &userdata_response(0x0424, &[mode])));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(id.attributes["operating_mode"], "STOP (self initialization)");
    }

    #[test]
    fn szl_answer_in_two_data_units_is_joined() {
        let text = |i: u16, s: &str| {
            let mut e = i.to_be_bytes().to_vec();
            e.extend_from_slice(format!("{s:\0<32}").as_bytes());
            e
        };
        let whole = userdata_response(0x001c, &[text(1, "PLC_9"), text(5, "S C-Y2")]);
        // Split the data after the first entry; the second PDU says it is the last data unit.
        let params_at = 10;
        let data_at = params_at + 12;
        let cut = data_at + 12 + 34;
        let mut first = whole[..cut].to_vec();
        first[params_at + 9] = 1; // more data units follow
        let mut second = whole[..data_at].to_vec();
        second.extend_from_slice(&[0xff, 0x09, 0, 34]);
        second.extend_from_slice(&whole[cut..]);
        for pdu in [&mut first, &mut second] {
            let n = (pdu.len() - data_at) as u16;
            pdu[8..10].copy_from_slice(&n.to_be_bytes());
        }
        let mut fragments = Vec::new();
        let mut out = Findings::default();
        let f = crate::dissect::ics::tests::frame_ref();
        dissect(&view(false, &first), &f, &mut fragments, &mut out);
        assert!(out.identities.is_empty());
        dissect(&view(false, &second), &f, &mut fragments, &mut out);
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(
            (id.name.as_deref(), id.serial.as_deref()),
            (Some("PLC_9"), Some("S C-Y2"))
        );
        assert!(fragments.is_empty());
    }

    #[test]
    fn pi_start_download_and_password_are_events() {
        let mut pi = vec![0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0, 0, 9];
        pi.extend_from_slice(b"P_PROGRAM");
        let mut b = vec![0x32, 1, 0, 0, 0, 1];
        b.extend_from_slice(&(pi.len() as u16).to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&pi);
        let out = findings_for_unit(dissect, &view(true, &b));
        assert_eq!(out.events[0].event.kind, "plc_start");
        assert_eq!(out.events[0].event.severity, Severity::High);
        let pw = [0x32, 7, 0, 0, 0, 1, 0, 8, 0, 0, 0, 1, 0x12, 4, 0x11, 0x45, 1, 0];
        let out = findings_for_unit(dissect, &view(true, &pw));
        assert_eq!(out.events[0].event.kind, "plc_password");
        // An error ack is counted, not dissected.
        let err = [0x32, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0x81, 0x04];
        let out = findings_for_unit(dissect, &view(false, &err));
        assert!(out.tallies.keys().any(|k| k.2 == "error" && k.3 == 0x8104));
    }
}
