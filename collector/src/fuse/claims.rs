//! Attribute claims: what each source says an asset is (vendor, model, firmware, hostname, class
//! ...), kept side by side rather than overwritten. The best value of an attribute is the most
//! confident claim, then the newest; two values are a conflict when they were claimed over
//! overlapping periods (a firmware claimed until an upgrade and the new one claimed after it are
//! a change, not a conflict).

use serde::Serialize;
use shoko_proto::{HostFacts, Identity, Timestamp};
use std::collections::BTreeMap;

/// Confidence of what a host agent reports of its own machine.
pub const HOST_CONFIDENCE: u8 = 100;

/// Confidence of a sensor's traffic-based device class.
pub const SIGHTING_CONFIDENCE: u8 = 50;

/// True for the attributes whose new value (from the same source) is a change record: all but
/// firmware (a `firmware_change` per identity already) and the sensor's device class (an
/// inference that sharpens as more traffic is seen, not a change of the device).
pub fn tracks_changes(attribute: &str) -> bool {
    !matches!(attribute, "firmware" | "class")
}

/// The attribute claims of a device identity (not a chassis module's).
pub fn identity_claims(id: &Identity) -> Vec<(&'static str, String)> {
    [
        ("vendor", &id.vendor),
        ("product", &id.product),
        ("model", &id.model),
        ("firmware", &id.firmware),
        ("hardware_revision", &id.hardware_revision),
        ("serial", &id.serial),
        ("name", &id.name),
        ("device_type", &id.device_type),
        ("os", &id.attributes.get("os").cloned()),
    ]
    .into_iter()
    .filter_map(|(attribute, value)| Some((attribute, value.as_ref()?.trim().to_string())))
    .filter(|(_, value)| !value.is_empty())
    .collect()
}

/// The attribute claims of a host agent's facts about its machine.
pub fn host_claims(f: &HostFacts) -> Vec<(&'static str, String)> {
    let os = match (&f.os_name, &f.os_version) {
        (Some(name), Some(version)) if !name.contains(version.as_str()) => Some(format!("{name} {version}")),
        (Some(name), _) => Some(name.clone()),
        (None, version) => version.clone(),
    };
    [
        ("hostname", Some(f.hostname.clone())),
        ("os", os),
        ("kernel", f.kernel.clone()),
    ]
    .into_iter()
    .filter_map(|(attribute, value)| Some((attribute, value?.trim().to_string())))
    .filter(|(_, value)| !value.is_empty())
    .collect()
}

/// One source's claim of a value, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimView {
    /// The attribute.
    pub attribute: String,
    /// The value claimed.
    pub value: String,
    /// `<agent id>/<protocol>`, `<agent id>/host` or `<agent id>/sensor`.
    pub source: String,
    /// Highest confidence of its claims, 0-100.
    pub confidence: u8,
    /// First claimed.
    pub first_seen: Timestamp,
    /// Last claimed.
    pub last_seen: Timestamp,
    /// How many observations claimed it.
    pub claims: u64,
    /// The newest of them.
    pub observation_id: i64,
}

/// An attribute of an asset: its best value, whether its values conflict, and every claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeView {
    /// The attribute.
    pub name: String,
    /// The best value: most confident, then newest.
    pub value: String,
    /// The values claimed over overlapping periods, when more than one was (else empty).
    pub conflicting: Vec<String>,
    /// Every claim, best first.
    pub claims: Vec<ClaimView>,
}

/// Groups one asset's claims into attributes (ordered by name).
pub fn attributes(claims: Vec<ClaimView>) -> Vec<AttributeView> {
    let mut by_name: BTreeMap<String, Vec<ClaimView>> = BTreeMap::new();
    for c in claims {
        by_name.entry(c.attribute.clone()).or_default().push(c);
    }
    by_name
        .into_iter()
        .map(|(name, mut claims)| {
            claims.sort_by(|a, b| {
                (b.confidence, b.last_seen, &a.value, &a.source).cmp(&(
                    a.confidence,
                    a.last_seen,
                    &b.value,
                    &b.source,
                ))
            });
            AttributeView {
                name,
                value: claims[0].value.clone(),
                conflicting: conflicting(&claims),
                claims,
            }
        })
        .collect()
}

/// The values whose claimed periods (over all their sources) overlap another value's.
fn conflicting(claims: &[ClaimView]) -> Vec<String> {
    let mut periods: BTreeMap<&str, (Timestamp, Timestamp)> = BTreeMap::new();
    for c in claims {
        let p = periods.entry(&c.value).or_insert((c.first_seen, c.last_seen));
        *p = (p.0.min(c.first_seen), p.1.max(c.last_seen));
    }
    let periods: Vec<_> = periods.into_iter().collect();
    periods
        .iter()
        .filter(|(value, (first, last))| {
            periods
                .iter()
                .any(|(other, (f, l))| other != value && f <= last && first <= l)
        })
        .map(|(value, _)| value.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(value: &str, source: &str, confidence: u8, first: i64, last: i64) -> ClaimView {
        ClaimView {
            attribute: "firmware".into(),
            value: value.into(),
            source: source.into(),
            confidence,
            first_seen: Timestamp(first),
            last_seen: Timestamp(last),
            claims: 1,
            observation_id: 1,
        }
    }

    #[test]
    fn an_upgrade_is_no_conflict_but_two_values_at_once_are() {
        let upgrade = attributes(vec![
            claim("4.003", "s/cip", 90, 10, 20),
            claim("4.007", "s/cip", 90, 30, 40),
        ]);
        assert_eq!(
            (upgrade[0].value.as_str(), upgrade[0].conflicting.len()),
            ("4.007", 0)
        );
        let at_once = attributes(vec![
            claim("4.003", "s/cip", 90, 10, 40),
            claim("4.007", "t/snmp", 60, 30, 35),
            claim("3.1", "t/snmp", 60, 1, 5),
        ]);
        assert_eq!(at_once[0].value, "4.003", "more confident wins over newer");
        assert_eq!(at_once[0].conflicting, ["4.003", "4.007"]);
        let sources: Vec<&str> = at_once[0].claims.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(sources, ["4.003", "4.007", "3.1"]);
    }

    #[test]
    fn identities_and_hosts_claim_their_non_empty_values() {
        let id = Identity {
            protocol: "cip".into(),
            vendor: Some("Rockwell Automation/Allen-Bradley".into()),
            product: Some("1756-L61/B LOGIX5561".into()),
            firmware: Some("20.11".into()),
            name: Some(" ".into()),
            ..Default::default()
        };
        assert_eq!(
            identity_claims(&id),
            [
                ("vendor", "Rockwell Automation/Allen-Bradley".to_string()),
                ("product", "1756-L61/B LOGIX5561".to_string()),
                ("firmware", "20.11".to_string())
            ]
        );
        let facts = HostFacts {
            hostname: "hmi-01".into(),
            os_name: Some("Debian GNU/Linux".into()),
            os_version: Some("12".into()),
            ..Default::default()
        };
        assert_eq!(
            host_claims(&facts),
            [
                ("hostname", "hmi-01".to_string()),
                ("os", "Debian GNU/Linux 12".to_string())
            ]
        );
    }
}
