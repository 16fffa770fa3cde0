//! MAC address vendors from the IEEE registries (MA-L 24-bit, MA-M 28-bit, MA-S 36-bit, CID, IAB),
//! longest assignment first, from a table generated at build time (`build.rs`) out of the
//! oui-data crate's registries.

use shoko_proto::MacAddr;

include!(concat!(env!("OUT_DIR"), "/oui_table.rs"));

/// The organisation the IEEE registered the MAC's prefix to.
pub fn vendor(mac: MacAddr) -> Option<&'static str> {
    let value = mac.0.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b));
    [9u64, 7, 6].into_iter().find_map(|digits| {
        let key = (digits << 40) | (value >> (48 - digits * 4));
        let i = KEYS.binary_search(&key).ok()?;
        NAMES.get(STARTS[i] as usize..STARTS[i + 1] as usize)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_entry_is_found_as_the_crate_finds_it() {
        let mac = |s: &str| s.parse::<MacAddr>().unwrap();
        assert_eq!(vendor(mac("00:00:00:12:34:56")), Some("XEROX CORPORATION"));
        assert_eq!(vendor(mac("50:a6:d8:00:00:01")), Some("Apple, Inc."));
        // MA-M (28-bit) inside a 24-bit block that is registered as such.
        assert_eq!(vendor(mac("b8:4c:87:40:00:00")), Some("Blum Novotest GmbH"));
        let mut checked = 0;
        for prefix in oui_data::OUI_ENTRIES.keys() {
            let hex = format!("{prefix:0<12}");
            let m = MacAddr(std::array::from_fn(|i| {
                u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap()
            }));
            assert_eq!(
                vendor(m),
                oui_data::lookup(&hex).map(|r| r.organization()),
                "{prefix}"
            );
            checked += 1;
        }
        assert!(checked > 40_000, "{checked}");
    }
}
