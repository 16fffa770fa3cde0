//! Fuzz target: one frame of a fuzzed link type through the decoder (Ethernet, VLAN/QinQ, LLC/SNAP,
//! SLL, SLL2, BSD loopback, raw IP, ARP, IPv4/IPv6 with extension headers, TCP, UDP).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::capture::{Packet, linktype};

const LINKTYPES: [u32; 8] = [
    linktype::ETHERNET,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::NULL,
    linktype::LOOP,
    linktype::RAW,
    linktype::IPV4,
    linktype::IPV6,
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else { return };
    let pkt = Packet {
        ts: shoko_proto::Timestamp(0),
        linktype: LINKTYPES[usize::from(sel) % LINKTYPES.len()],
        orig_len: frame.len() as u32,
        data: frame,
    };
    let _ = shoko_agent::decode::decode(&pkt);
});
