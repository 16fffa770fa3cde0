//! Fuzz target: the Omron FINS over UDP dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::udp(9600, data));
