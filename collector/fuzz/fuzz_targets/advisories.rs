//! Advisory files: any bytes are read as CSAF, OSV, the Debian tracker or KEV, or refused; the
//! version texts of what parses are read as ranges and compared with a firmware version.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_collector::advisory::version::{compare_firmware, parse_ranges};
use shoko_collector::advisory::{Product, parse};

fuzz_target!(|data: &[u8]| {
    if let Ok((_, advisories, _)) = parse(data) {
        for a in advisories {
            for af in a.affected {
                if let Some((ranges, _)) = parse_ranges(&af.text) {
                    for r in ranges {
                        let _ = r.contains("4.003", compare_firmware);
                    }
                }
                if let Product::Firmware { product, .. } = af.product {
                    let _ = compare_firmware(&product, "V2.9.1");
                }
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_ranges(text);
        let _ = compare_firmware(text, "V13.2 SP1");
    }
});
