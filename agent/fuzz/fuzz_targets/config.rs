//! Fuzz target: agent.toml. Any text is read or refused with the file named, never a panic; the
//! spool settings of one that reads convert to bounded spool settings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::config::AgentConfig;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match AgentConfig::parse(text, Path::new("/etc/shoko/agent.toml")) {
        Ok(cfg) => {
            let spool = cfg.spool.config(1 << 24);
            assert!(spool.segment_bytes >= 1 << 20);
            assert!(cfg.spool.dir.is_absolute());
        }
        Err(e) => assert!(e.to_string().starts_with("/etc/shoko/agent.toml")),
    }
});
