//! Fuzz target: a sequence of Ethernet frames (each prefixed by a 2-byte length) through the whole
//! sensor: decode, inventory, dissectors, flow table with reassembly, and the output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::capture::{Packet, linktype};
use shoko_agent::pipeline::{Sensor, SensorLimits};
use shoko_proto::Timestamp;

fuzz_target!(|data: &[u8]| {
    let mut sensor = Sensor::new(SensorLimits::default());
    let mut rest = data;
    let mut i = 0i64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        i += 1;
        sensor.process(&Packet {
            ts: Timestamp(i * 1_000_000_000),
            linktype: linktype::ETHERNET,
            orig_len: frame.len() as u32,
            data: frame,
        });
    }
    let out = sensor.output();
    let _ = out.to_observations(&shoko_proto::Source::Agent);
});
