//! Asset fusion rules: which stored asset an observation is about.
//!
//! A device on a sensor's segment is identified by its MAC, unless that MAC is a router's (a router
//! forwards for many IPs, so its MAC never identifies them). A device seen only through a router is
//! identified by its IP within its VLAN.

use shoko_proto::{AssetRef, AssetSighting, MacAddr};
use std::net::IpAddr;

/// The key of a stored asset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AssetKey {
    /// A device identified by its own MAC.
    Mac(MacAddr),
    /// A routed device identified by VLAN and IP.
    Ip(Option<u16>, IpAddr),
}

impl AssetKey {
    /// The stored text form: `mac:00:1b:1b:02:e6:1f` or `ip:10:192.168.1.5` (`ip:-:...` untagged).
    pub fn as_text(&self) -> String {
        match self {
            AssetKey::Mac(m) => format!("mac:{m}"),
            AssetKey::Ip(Some(v), ip) => format!("ip:{v}:{ip}"),
            AssetKey::Ip(None, ip) => format!("ip:-:{ip}"),
        }
    }
}

/// The assets a sighting describes: the MAC's device (a sensor reports a router with only the IPs
/// it announced as its own), or one routed device per IP when the sighting has no MAC.
pub fn sighting_keys(s: &AssetSighting) -> Vec<AssetKey> {
    match s.mac {
        Some(mac) => vec![AssetKey::Mac(mac)],
        None => {
            let vlan = s.vlans.first().copied();
            s.ips.iter().map(|ip| AssetKey::Ip(vlan, *ip)).collect()
        }
    }
}

/// The key an asset reference resolves to when no stored address matches better: its MAC, else its
/// IP. `None` when it names neither.
pub fn reference_key(r: &AssetRef) -> Option<AssetKey> {
    match (r.mac, r.ip) {
        (Some(mac), _) => Some(AssetKey::Mac(mac)),
        (None, Some(ip)) => Some(AssetKey::Ip(r.vlan, ip)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_ips_are_assets_of_their_own() {
        let routed = AssetSighting {
            mac: None,
            ips: vec!["10.20.0.11".parse().unwrap(), "10.20.0.12".parse().unwrap()],
            vlans: vec![10],
            ..Default::default()
        };
        assert_eq!(
            sighting_keys(&routed)
                .iter()
                .map(AssetKey::as_text)
                .collect::<Vec<_>>(),
            ["ip:10:10.20.0.11", "ip:10:10.20.0.12"]
        );
        let router: MacAddr = "00:00:0c:9f:f0:01".parse().unwrap();
        let own = AssetSighting {
            mac: Some(router),
            ips: vec!["10.10.1.1".parse().unwrap()],
            router: true,
            ..Default::default()
        };
        assert_eq!(sighting_keys(&own), vec![AssetKey::Mac(router)]);
    }
}
