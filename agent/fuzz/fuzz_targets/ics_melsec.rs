//! Fuzz target: the MELSEC MELSOFT/SLMP dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::tcp("melsec", data));
