//! Fuzz target: the PROFINET DCP/RT, IEC 61850 GOOSE and Sampled Values dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::layer2(data));
