//! Fuzz target: the Beckhoff ADS/AMS dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::tcp("ads", data));
