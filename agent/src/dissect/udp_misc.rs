//! Small UDP protocols: NTP (mode, stratum, reference), SSDP (SERVER header) and syslog receivers.

use super::reader::text;
use crate::findings::{Findings, FrameRef, Software, Subject};
use shoko_proto::Transport;
use std::net::IpAddr;

/// An NTP server answering (mode 4) or broadcasting (mode 5) from `src`.
pub fn ntp(payload: &[u8], src: IpAddr, f: &FrameRef<'_>, out: &mut Findings) {
    if payload.len() < 48 {
        return;
    }
    let mode = payload[0] & 0x07;
    let version = (payload[0] >> 3) & 0x07;
    if !matches!(mode, 4 | 5) {
        return;
    }
    let stratum = payload[1];
    let refid = &payload[12..16];
    let reference = if stratum <= 1 {
        text(refid, 4).unwrap_or_default()
    } else {
        format!("{}.{}.{}.{}", refid[0], refid[1], refid[2], refid[3])
    };
    let banner = format!("NTPv{version} stratum {stratum}, reference {reference}");
    out.service(f, src, Transport::Udp, 123, "ntp", Some(banner));
}

/// The SERVER header of an SSDP announcement or answer names the device's UPnP stack.
pub fn ssdp(payload: &[u8], src: IpAddr, f: &FrameRef<'_>, out: &mut Findings) {
    let Ok(s) = std::str::from_utf8(&payload[..payload.len().min(2048)]) else {
        return;
    };
    if !(s.starts_with("NOTIFY") || s.starts_with("HTTP/1.1 200")) {
        return;
    }
    for line in s.lines() {
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("server")
            && let Some(v) = text(v.as_bytes(), 256)
        {
            let sw = Software {
                name: v,
                version: None,
                source: "ssdp-server",
            };
            out.software(f, Subject::Ip(src), sw);
        }
    }
}

/// A syslog message (`<PRI>...`) sent to `dst` shows a log receiver there.
pub fn syslog(payload: &[u8], dst: IpAddr, f: &FrameRef<'_>, out: &mut Findings) {
    let pri_ok = payload.first() == Some(&b'<')
        && payload
            .iter()
            .skip(1)
            .take(4)
            .position(|&c| c == b'>')
            .is_some_and(|i| i > 0);
    if pri_ok {
        out.service(f, dst, Transport::Udp, 514, "syslog", None);
    }
}
