//! Beckhoff ADS/AMS (TCP 48898, discovery on UDP 48899): ReadDeviceInfo answers (device name and
//! version per AMS port: PLC runtime, I/O server, system) as identities with the AMS Net ID;
//! writes and state changes (WriteControl: run/stop/config) are events.

use super::framer::Frame;
use super::strings::field;
use super::{State, TcpProtocol, event, ip_of, serves};
use crate::dissect::StreamView;
use crate::dissect::reader::{Reader, text};
use crate::findings::{Findings, FrameRef, Subject};
use shoko_proto::{Identity, Severity};

/// ADS over TCP.
pub const TCP: TcpProtocol = TcpProtocol {
    name: "ads",
    port: 48898,
    signature: None,
    frame,
    dissect,
};

const READ_DEVICE_INFO: u16 = 1;
const WRITE: u16 = 3;
const WRITE_CONTROL: u16 = 5;

/// AMS/TCP header: two reserved zero bytes, then the length of the AMS packet.
pub fn frame(b: &[u8]) -> Frame {
    if b.len() < 6 {
        return if b.iter().take(2).all(|&x| x == 0) {
            Frame::More
        } else {
            Frame::Bad
        };
    }
    let n = u32::from_le_bytes([b[2], b[3], b[4], b[5]]) as usize;
    if b[0] != 0 || b[1] != 0 || !(32..=65_536).contains(&n) {
        return Frame::Bad;
    }
    Frame::Len(6 + n)
}

fn net_id(b: &[u8]) -> String {
    b.iter().map(u8::to_string).collect::<Vec<_>>().join(".")
}

/// Dissects one AMS packet: target and source Net ID and port, command, state flags, length,
/// error, invoke id, then data.
pub fn dissect(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    let mut r = Reader::new(v.data);
    let (Some(_), Some(target), Some(target_port), Some(source), Some(source_port)) =
        (r.skip(6), r.take(6), r.u16le(), r.take(6), r.u16le())
    else {
        return;
    };
    let (Some(cmd), Some(flags), Some(_len), Some(_error), Some(_invoke)) =
        (r.u16le(), r.u16le(), r.u32le(), r.u32le(), r.u32le())
    else {
        return;
    };
    let response = flags & 1 != 0;
    if response {
        serves(v, f, out, "ads");
        if cmd == READ_DEVICE_INFO
            && let (Some(0), Some(major), Some(minor), Some(build), Some(name)) =
                (r.u32le(), r.u8(), r.u8(), r.u16le(), r.take(16))
        {
            let mut id = Identity::new("ads", 90);
            id.vendor = Some("Beckhoff".into());
            id.product = field(name);
            id.firmware = Some(format!("{major}.{minor}.{build}"));
            id.attributes.insert("ams_net_id".into(), net_id(source));
            id.attributes.insert("ams_port".into(), source_port.to_string());
            out.identity(f, ip_of(&v.server), id);
        }
        return;
    }
    out.tally(ip_of(&v.server), "ads", "command", u32::from(cmd));
    let details = [
        ("ams_net_id", net_id(target)),
        ("ams_port", target_port.to_string()),
    ];
    match cmd {
        WRITE => event(v, f, out, "ads", "write", Severity::Medium, &details),
        WRITE_CONTROL => {
            let state = r.u16le().map_or_else(String::new, |s| ads_state(s).to_owned());
            let mut d = details.to_vec();
            d.push(("ads_state", state));
            event(v, f, out, "ads", "state_change", Severity::High, &d);
        }
        _ => {}
    }
}

fn ads_state(s: u16) -> &'static str {
    match s {
        2 => "reset",
        5 => "run",
        6 => "stop",
        11 => "reconfig",
        15 => "config",
        16 => "reconfig",
        _ => "other",
    }
}

/// ADS discovery and route management (UDP 48899): a device's answer carries its name and
/// TwinCAT version.
pub fn discovery(v: &StreamView<'_>, f: &FrameRef<'_>, _: &mut State, out: &mut Findings) {
    // Magic, invoke id, service (high bit set in answers), Net ID, port, tag count, tags.
    let mut r = Reader::new(v.data);
    let (Some(0x7114_6603), Some(_), Some(service), Some(net), Some(_), Some(count)) =
        (r.u32le(), r.u32le(), r.u32le(), r.take(6), r.u16le(), r.u32le())
    else {
        return;
    };
    if service & 0x8000_0000 == 0 {
        return;
    }
    let mut id = Identity::new("ads", 80);
    id.vendor = Some("Beckhoff".into());
    id.attributes.insert("ams_net_id".into(), net_id(net));
    for _ in 0..count.min(16) {
        let (Some(tag), Some(len)) = (r.u16le(), r.u16le()) else {
            break;
        };
        let Some(value) = r.take(usize::from(len)) else {
            break;
        };
        match tag {
            5 => id.name = text(value, 64),
            3 if value.len() >= 4 => {
                id.firmware = Some(format!(
                    "{}.{}.{}",
                    value[0],
                    value[1],
                    u16::from_le_bytes([value[2], value[3]])
                ));
            }
            _ => {}
        }
    }
    if id.name.is_some() || id.firmware.is_some() {
        out.identity(f, Subject::Ip(v.sender().ip), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ics::tests::{findings_for, view};

    fn ams(cmd: u16, flags: u16, data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0];
        b.extend_from_slice(&((32 + data.len()) as u32).to_le_bytes());
        b.extend_from_slice(&[5, 13, 117, 96, 1, 1, 0x21, 0x03, 192, 168, 1, 1, 1, 1, 0x10, 0x27]);
        b.extend_from_slice(&cmd.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn device_info_and_write_control() {
        let mut info = vec![0, 0, 0, 0, 2, 11, 0xb4, 0x08];
        info.extend_from_slice(b"TwinCAT CE\0\0\0\0\0\0");
        let out = findings_for(dissect, &view(false, &ams(1, 5, &info)));
        let (_, id) = out.identities.keys().next().unwrap();
        assert_eq!(
            (id.product.as_deref(), id.firmware.as_deref()),
            (Some("TwinCAT CE"), Some("2.11.2228"))
        );
        assert_eq!(id.attributes["ams_net_id"], "192.168.1.1.1.1");
        let out = findings_for(dissect, &view(true, &ams(5, 4, &[6, 0, 0, 0])));
        assert_eq!(out.events[0].event.details["ads_state"], "stop");
        assert_eq!(frame(&[0, 0, 1, 0, 0, 0]), Frame::Bad);
        assert_eq!(frame(&ams(1, 4, &[])), Frame::Len(38));
    }
}
