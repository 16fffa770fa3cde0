//! The catalog, the declared zones and collector.toml: any text is checked or refused with a
//! line, never a panic; a configuration that reads writes back to one that reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_collector::assess::catalog::Catalog;
use shoko_collector::assess::declared::Declared;
use shoko_collector::config::CollectorConfig;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Catalog::parse(text, "fuzz");
        let _ = Declared::parse(text, "fuzz");
        let data = Path::new("/nonexistent/shoko");
        if let Ok(cfg) = CollectorConfig::parse(text, data)
            && cfg.siem.is_empty()
            && cfg.catalog.is_none()
            && cfg.zones.is_none()
        {
            let again = CollectorConfig::parse(&cfg.to_commented_toml(), data).expect("written back");
            assert_eq!(again, cfg);
        }
    }
});
