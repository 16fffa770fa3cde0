//! Fuzz target: the IEEE C37.118 dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::tcp("c37.118", data));
