//! Vendor id tables of the industrial protocols, embedded from `agent/data/*.tsv` (each file names
//! its source). An id missing from a table is shown with the protocol and the number.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A vendor table: id to name.
pub struct VendorTable {
    names: LazyLock<HashMap<u32, &'static str>>,
    label: &'static str,
    hex: bool,
}

fn parse(text: &'static str, radix: u32) -> HashMap<u32, &'static str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (id, name) = l.split_once('\t')?;
            Some((u32::from_str_radix(id.trim(), radix).ok()?, name.trim()))
        })
        .collect()
}

impl VendorTable {
    /// The vendor's registered name, or the protocol's label and the id.
    pub fn name(&self, id: u32) -> String {
        match self.names.get(&id) {
            Some(n) => (*n).to_owned(),
            None if self.hex => format!("{} 0x{id:x}", self.label),
            None => format!("{} {id}", self.label),
        }
    }

    /// Whether the table knows the id.
    pub fn knows(&self, id: u32) -> bool {
        self.names.contains_key(&id)
    }
}

/// ODVA CIP vendor ids.
pub static CIP: VendorTable = VendorTable {
    names: LazyLock::new(|| parse(include_str!("../../../data/cip-vendors.tsv"), 10)),
    label: "CIP vendor",
    hex: false,
};

/// ASHRAE BACnet vendor ids.
pub static BACNET: VendorTable = VendorTable {
    names: LazyLock::new(|| parse(include_str!("../../../data/bacnet-vendors.tsv"), 10)),
    label: "BACnet vendor",
    hex: false,
};

/// PROFINET (PI) vendor ids.
pub static PROFINET: VendorTable = VendorTable {
    names: LazyLock::new(|| parse(include_str!("../../../data/profinet-vendors.tsv"), 16)),
    label: "PROFINET vendor",
    hex: true,
};

/// HART (FieldComm Group) manufacturer codes.
pub static HART: VendorTable = VendorTable {
    names: LazyLock::new(|| parse(include_str!("../../../data/hart-manufacturers.tsv"), 16)),
    label: "HART manufacturer",
    hex: true,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_load_and_fall_back() {
        assert_eq!(CIP.name(1), "Rockwell Automation/Allen-Bradley");
        assert_eq!(CIP.name(309), "ProSoft Technology");
        assert_eq!(CIP.name(65000), "CIP vendor 65000");
        assert_eq!(BACNET.name(5), "Johnson Controls, Inc.");
        assert_eq!(PROFINET.name(0x2a), "Siemens AG");
        assert_eq!(PROFINET.name(0xbeef), "PROFINET vendor 0xbeef");
        assert_eq!(HART.name(0x26), "Rosemount");
        assert!(CIP.knows(47) && !HART.knows(0xff));
    }
}
