//! Fuzz target: arbitrary bytes as a capture file (pcap or pcapng, any byte order). Reading must
//! never panic; every frame handed out must be within the bytes given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let mut bytes = 0usize;
    let _ = shoko_agent::capture::file::read_from(Path::new("fuzz"), data, &mut |p| bytes += p.data.len());
    assert!(bytes <= data.len());
});
