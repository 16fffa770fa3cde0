//! Fuzz target: the BACnet/IP dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::udp(47808, data));
