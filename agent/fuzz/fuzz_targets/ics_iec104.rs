//! Fuzz target: the IEC 60870-5-104 dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::tcp("iec104", data));
