//! Fuzz target: the ISO-on-TCP: TPKT/COTP, S7comm, S7comm-plus, MMS dissector (harness in `src/lib.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shoko_agent_fuzz::tcp("iso-tsap", data));
