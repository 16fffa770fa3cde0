//! Reads vendor, model and version hints out of free-text system descriptions (LLDP and SNMP
//! sysDescr, CDP software version), e.g.
//! `Siemens, SIMATIC NET, SCALANCE X212-2, 6GK5 212-2BB00-2AA3, HW: 7, FW: V4.02` or
//! `Cisco IOS Software, C3560 Software (...), Version 12.2(44)SE, RELEASE SOFTWARE (fc1)`.

use shoko_proto::Identity;

/// Names of the bits set in `bits` (bit i named `names[i]`), comma-separated; `None` when none is.
pub fn bit_names(bits: u32, names: &[&str]) -> Option<String> {
    let v: Vec<&str> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    (!v.is_empty()).then(|| v.join(","))
}

/// The token after `marker` (up to a comma, space or line end).
fn after<'a>(s: &'a str, marker: &str) -> Option<&'a str> {
    let i = s.find(marker)? + marker.len();
    let t = s[i..].trim_start();
    let end = t.find([',', ' ', '\n', '\r', ';']).unwrap_or(t.len());
    let tok = t[..end].trim_end_matches('.');
    (!tok.is_empty()).then_some(tok)
}

/// A Siemens order number (MLFB) such as `6GK5 212-2BB00-2AA3` or `6ES7 315-2EH14-0AB0`.
fn siemens_order_number(s: &str) -> Option<&str> {
    s.split(',').map(str::trim).find(|t| {
        let b = t.as_bytes();
        b.len() >= 18
            && b[0] == b'6'
            && b[1].is_ascii_uppercase()
            && b[2].is_ascii_uppercase()
            && b[3].is_ascii_digit()
            && t.matches('-').count() == 2
    })
}

/// Fills vendor, model, firmware and hardware revision of `id` from a description, where found.
pub fn fill_from_description(id: &mut Identity, desc: &str) {
    let first = desc.split([',', '\n']).next().unwrap_or("").trim();
    if id.vendor.is_none() {
        let lower = desc.to_ascii_lowercase();
        id.vendor = [
            ("cisco", "Cisco"),
            ("siemens", "Siemens"),
            ("hirschmann", "Hirschmann"),
            ("rockwell", "Rockwell Automation"),
            ("schneider", "Schneider Electric"),
            ("moxa", "Moxa"),
            ("dell inc", "Dell"),
            ("hewlett", "HP"),
            ("juniper", "Juniper"),
            ("phoenix contact", "Phoenix Contact"),
            ("westermo", "Westermo"),
            ("ruggedcom", "Siemens RUGGEDCOM"),
        ]
        .iter()
        .find(|(k, _)| lower.contains(k))
        .map(|(_, v)| v.to_string());
    }
    if id.firmware.is_none() {
        id.firmware = ["FW: ", "Version ", "SW: ", "Firmware: "]
            .iter()
            .find_map(|m| after(desc, m))
            .map(str::to_owned);
    }
    if id.hardware_revision.is_none() {
        id.hardware_revision = after(desc, "HW: ").map(str::to_owned);
    }
    if id.model.is_none() {
        id.model = siemens_order_number(desc).map(str::to_owned);
    }
    if id.product.is_none() && !first.is_empty() {
        id.product = Some(desc.lines().next().unwrap_or(first).trim().to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalance_and_cisco_and_hirschmann() {
        let mut id = Identity::new("lldp", 80);
        fill_from_description(
            &mut id,
            "Siemens, SIMATIC NET, SCALANCE X212-2, 6GK5 212-2BB00-2AA3, HW: 7, FW: V4.02",
        );
        assert_eq!(id.vendor.as_deref(), Some("Siemens"));
        assert_eq!(id.model.as_deref(), Some("6GK5 212-2BB00-2AA3"));
        assert_eq!(id.firmware.as_deref(), Some("V4.02"));
        assert_eq!(id.hardware_revision.as_deref(), Some("7"));

        let mut id = Identity::new("cdp", 80);
        fill_from_description(
            &mut id,
            "Cisco IOS Software, C3560 Software (C3560-ADVIPSERVICESK9-M), Version 12.2(44)SE, RELEASE SOFTWARE (fc1)\nCopyright",
        );
        assert_eq!(id.firmware.as_deref(), Some("12.2(44)SE"));
        assert_eq!(id.vendor.as_deref(), Some("Cisco"));

        let mut id = Identity::new("lldp", 80);
        fill_from_description(&mut id, "Hirschmann MAR - SW: L2P-09.0.00");
        assert_eq!(id.firmware.as_deref(), Some("L2P-09.0.00"));
        assert_eq!(id.vendor.as_deref(), Some("Hirschmann"));
    }
}
