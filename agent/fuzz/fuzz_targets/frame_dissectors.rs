//! Fuzz target: each frame dissector (LLDP, CDP, DHCP, DHCPv6, NetBIOS name and datagram service,
//! DNS, SNMP, NTP, SSDP, syslog) on arbitrary payloads, chosen by the first byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::dissect::{cdp, dhcp, dns, lldp, netbios, snmp, udp_misc};
use shoko_agent::findings::{Findings, FrameRef};
use shoko_proto::{MacAddr, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, payload)) = data.split_first() else { return };
    let f = FrameRef { ts: Timestamp(0), linktype: 1, orig_len: payload.len() as u32, raw: payload };
    let mac = MacAddr([0, 0x1b, 0x1b, 1, 2, 3]);
    let ip = "10.0.0.1".parse().unwrap();
    let mut out = Findings::default();
    match sel % 11 {
        0 => lldp::dissect(payload, mac, &f, &mut out),
        1 => cdp::dissect(payload, mac, &f, &mut out),
        2 => dhcp::dissect(payload, &f, &mut out),
        3 => dhcp::dissect_v6(payload, mac, &f, &mut out),
        4 => netbios::dissect_ns(payload, &f, &mut out),
        5 => netbios::dissect_datagram(payload, &f, &mut out),
        6 => dns::dissect(payload, "dns", &f, &mut out),
        7 => {
            let ends = snmp::Endpoints { src: ip, dst: ip, from_agent: sel & 0x80 != 0 };
            snmp::dissect(payload, &ends, &f, &mut out)
        }
        8 => udp_misc::ntp(payload, ip, &f, &mut out),
        9 => udp_misc::ssdp(payload, ip, &f, &mut out),
        _ => udp_misc::syslog(payload, ip, &f, &mut out),
    }
});
