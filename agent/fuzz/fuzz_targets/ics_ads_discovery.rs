//! Fuzz target: the Beckhoff ADS discovery (UDP 48899) dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::udp(48899, data));
