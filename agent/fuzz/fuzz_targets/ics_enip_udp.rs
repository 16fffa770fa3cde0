//! Fuzz target: the EtherNet/IP ListIdentity over UDP dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::udp(44818, data));
