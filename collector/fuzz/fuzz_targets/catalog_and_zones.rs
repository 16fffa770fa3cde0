//! The catalog and the declared zones: any text is checked or refused with a line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_collector::assess::catalog::Catalog;
use shoko_collector::assess::declared::Declared;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Catalog::parse(text, "fuzz");
        let _ = Declared::parse(text, "fuzz");
    }
});
