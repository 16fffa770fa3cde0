//! Filters of the asset, change and event lists, the same for the API's query strings and the CLI's
//! flags. Every condition given must hold; text matches ignore case.

use crate::events::EventView;
use crate::store::{AssetView, ChangeView};
use serde::{Deserialize, Serialize};

/// Which assets to list (or to put in a baseline).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct AssetFilter {
    /// Device class claimed for the asset (`plc`, `hmi`, `engineering_station` ...), exactly.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Vendor containing this text.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// A service with this protocol (`modbus`, `enip`, `s7comm` ...), exactly.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Seen on this VLAN.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<u16>,
    /// Text anywhere: asset key, MAC, IP, or any attribute value.
    #[arg(long = "text")]
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

impl AssetFilter {
    /// True when the asset meets every condition given.
    pub fn matches(&self, a: &AssetView) -> bool {
        let attribute = |name: &str| a.attributes.get(name).map(String::as_str).unwrap_or("");
        self.class
            .as_ref()
            .is_none_or(|c| attribute("class").eq_ignore_ascii_case(c))
            && self
                .vendor
                .as_ref()
                .is_none_or(|v| contains(attribute("vendor"), v))
            && self.protocol.as_ref().is_none_or(|p| {
                a.services
                    .iter()
                    .any(|s| s.protocol.as_deref().is_some_and(|sp| sp.eq_ignore_ascii_case(p)))
            })
            && self.vlan.is_none_or(|v| a.vlans.contains(&v))
            && self.text.as_ref().is_none_or(|t| {
                contains(&a.key, t)
                    || a.macs.iter().any(|m| contains(&m.to_string(), t))
                    || a.ips.iter().any(|ip| contains(&ip.to_string(), t))
                    || a.attributes.values().any(|v| contains(v, t))
            })
    }
}

/// Which changes to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ChangeFilter {
    /// `open`, `acknowledged` or `rejected`.
    #[arg(long)]
    pub status: Option<String>,
    /// `new_asset`, `new_service`, `firmware_change` ...
    #[arg(long)]
    pub kind: Option<String>,
    /// Changes of this asset id.
    #[arg(long)]
    pub asset: Option<i64>,
}

impl ChangeFilter {
    /// True when the change meets every condition given.
    pub fn matches(&self, c: &ChangeView) -> bool {
        self.status.as_ref().is_none_or(|s| c.status == *s)
            && self.kind.as_ref().is_none_or(|k| c.kind == *k)
            && self.asset.is_none_or(|id| c.asset_id == id)
    }
}

/// Which protocol events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// Events of this protocol (`modbus`, `s7comm`, `iec104` ...).
    #[arg(long)]
    pub protocol: Option<String>,
    /// Events of this kind (`write`, `plc_stop`, `command` ...).
    #[arg(long)]
    pub kind: Option<String>,
    /// Events fused into this asset id.
    #[arg(long)]
    pub asset: Option<i64>,
    /// At most this many, the newest (default 1,000).
    #[arg(long)]
    pub limit: Option<usize>,
}

impl EventFilter {
    /// True when the event meets every condition given (the limit aside).
    pub fn matches(&self, e: &EventView) -> bool {
        self.protocol
            .as_ref()
            .is_none_or(|p| e.protocol.eq_ignore_ascii_case(p))
            && self.kind.as_ref().is_none_or(|k| e.kind.eq_ignore_ascii_case(k))
            && self.asset.is_none_or(|id| e.asset_id == Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoko_proto::{Timestamp, Transport};

    fn plc() -> AssetView {
        AssetView {
            id: 3,
            key: "mac:00:1d:9c:c7:b0:6c".into(),
            macs: vec!["00:1d:9c:c7:b0:6c".parse().unwrap()],
            ips: vec!["10.0.0.5".parse().unwrap()],
            vlans: vec![10],
            router: false,
            first_seen: Timestamp(1),
            last_seen: Timestamp(2),
            services: vec![crate::store::ServiceView {
                ip: "10.0.0.5".parse().unwrap(),
                transport: Transport::Tcp,
                port: 44818,
                protocol: Some("enip".into()),
                detected_by: None,
                first_seen: Timestamp(1),
                last_seen: Timestamp(2),
                observation_id: 1,
            }],
            attributes: [("vendor", "Rockwell Automation/Allen-Bradley"), ("class", "plc")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            conflicts: Vec::new(),
        }
    }

    #[test]
    fn every_condition_must_hold() {
        let a = plc();
        let f = |q: &str| -> AssetFilter { serde_json::from_str(q).unwrap() };
        assert!(f("{}").matches(&a));
        assert!(f(r#"{"vendor":"rockwell","class":"PLC","protocol":"enip","vlan":10}"#).matches(&a));
        assert!(f(r#"{"q":"B0:6C"}"#).matches(&a));
        assert!(f(r#"{"q":"allen-bradley"}"#).matches(&a));
        assert!(!f(r#"{"vendor":"siemens"}"#).matches(&a));
        assert!(!f(r#"{"vendor":"rockwell","protocol":"modbus"}"#).matches(&a));
        assert!(!f(r#"{"vlan":20}"#).matches(&a));
        assert!(serde_json::from_str::<AssetFilter>(r#"{"zone":"x"}"#).is_err());
    }
}
