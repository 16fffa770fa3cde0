//! Fuzz target: a sequence of pcapng blocks built from the input (sections of either byte order,
//! interface descriptions with options in any order and any values, Enhanced, Simple and obsolete
//! Packet Blocks, unknown blocks), so the fuzzer reaches the time bases and interface lists rather
//! than the framing. Reading must never panic, must hand out no more bytes than the file holds,
//! and must hand out exactly the packets the specification says: those on a described interface,
//! and Simple Packet Blocks once some packet carried a time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::capture::file::pcapng_writer::{InterfaceOption, PcapNgWriter};
use std::path::Path;

/// Takes bytes from the front of the input.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |v, _| (v << 8) | u64::from(self.byte().unwrap_or(0)))
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (b, rest) = self.0.split_at(n);
        self.0 = rest;
        b.to_vec()
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut w = PcapNgWriter::new(input.byte().unwrap_or(0) & 1 == 1);
    // Interfaces described in the current section, whether a timed packet was written, and the
    // packets the reader must hand out.
    let mut interfaces = 0u32;
    let mut timed = false;
    let mut expected = 0u64;
    while let Some(op) = input.byte() {
        match op % 6 {
            0 => {
                w.section(op & 0x80 != 0);
                interfaces = 0;
            }
            1 => {
                let mut options = Vec::new();
                for _ in 0..(op >> 4) {
                    options.push(match input.byte().unwrap_or(0) % 4 {
                        0 => InterfaceOption::TsResol(input.byte().unwrap_or(0)),
                        1 => InterfaceOption::TsOffset(input.u64() as i64),
                        2 => InterfaceOption::Name(String::from_utf8_lossy(&input.bytes(8)).into_owned()),
                        _ => {
                            let code = u16::from(input.byte().unwrap_or(0));
                            let len = usize::from(input.byte().unwrap_or(0) % 16);
                            InterfaceOption::Other(code, input.bytes(len))
                        }
                    });
                }
                w.interface(1, u32::from(input.byte().unwrap_or(0)), &options);
                interfaces += 1;
            }
            2 => {
                let iface = u32::from(op >> 4);
                let frame = input.bytes(usize::from(input.0.first().copied().unwrap_or(0) % 64));
                w.enhanced_packet(iface, input.u64(), &frame, frame.len() as u32);
                if iface < interfaces {
                    expected += 1;
                    timed = true;
                }
            }
            3 => {
                let frame = input.bytes(usize::from(op >> 2));
                w.simple_packet(&frame, u32::from(op));
                if interfaces > 0 && timed {
                    expected += 1;
                }
            }
            4 => {
                let frame = input.bytes(usize::from(op >> 3));
                let iface = u16::from(op >> 6);
                w.packet(iface, input.u64(), &frame);
                if u32::from(iface) < interfaces {
                    expected += 1;
                    timed = true;
                }
            }
            _ => {
                // A block of a type the reader does not know (256 and up are unassigned).
                let body = input.bytes(usize::from(op >> 3));
                w.block(0x100 + u32::from(input.byte().unwrap_or(0)), &body);
            }
        }
    }
    let file = w.finish();
    let mut bytes = 0usize;
    let summary = shoko_agent::capture::file::read_from(Path::new("fuzz"), file.as_slice(), &mut |p| {
        bytes += p.data.len();
    })
    .expect("a file of well-formed blocks is readable");
    assert!(bytes <= file.len());
    assert_eq!((summary.damaged, summary.packets), (None, expected));
});
