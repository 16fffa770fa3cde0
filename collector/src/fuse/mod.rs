//! Asset fusion rules: which stored asset an observation is about.
//!
//! A device on a sensor's segment is identified by its MAC, unless that MAC is a router's (a router
//! forwards for many IPs, so its MAC never identifies them). A device seen only through a router is
//! identified by its IP within its VLAN. A host agent's machine is the asset of its primary
//! interface's MAC (so the sensor's sighting of that MAC and the host's inventory are one asset),
//! or an asset of its own when it has no stable MAC.

pub mod apply;
pub mod claims;
pub mod events;
pub mod flows;
pub mod merge;

use shoko_proto::{AssetRef, AssetSighting, HostFacts, MacAddr};
use std::net::IpAddr;

/// The key of a stored asset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AssetKey {
    /// A device identified by its own MAC.
    Mac(MacAddr),
    /// A routed device identified by VLAN and IP.
    Ip(Option<u16>, IpAddr),
    /// A host agent's machine without a stable MAC, by machine id.
    Host(String),
}

impl AssetKey {
    /// The stored text form: `mac:00:1b:1b:02:e6:1f` or `ip:10:192.168.1.5` (`ip:-:...` untagged).
    pub fn as_text(&self) -> String {
        match self {
            AssetKey::Mac(m) => format!("mac:{m}"),
            AssetKey::Ip(Some(v), ip) => format!("ip:{v}:{ip}"),
            AssetKey::Ip(None, ip) => format!("ip:-:{ip}"),
            AssetKey::Host(id) => format!("host:{id}"),
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

/// The asset a host's facts describe, with the addresses of that interface: the first interface
/// (by name) with a globally administered MAC, else the machine id. `None` without either.
pub fn host_key(f: &HostFacts) -> Option<(AssetKey, Vec<IpAddr>)> {
    let mut interfaces: Vec<_> = f.interfaces.iter().collect();
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    let primary = interfaces.into_iter().find_map(|i| {
        Some((
            i.mac
                .filter(|m| !m.is_zero() && !m.is_local() && !m.is_multicast())?,
            i,
        ))
    });
    match primary {
        Some((mac, i)) => {
            let ips = i
                .addresses
                .iter()
                .filter_map(|a| a.split('/').next()?.parse().ok())
                .collect();
            Some((AssetKey::Mac(mac), ips))
        }
        None => Some((AssetKey::Host(f.asset.host_id.clone()?), Vec::new())),
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

    #[test]
    fn a_host_is_its_primary_interface_or_its_machine_id() {
        use shoko_proto::HostInterface;
        let nic = |name: &str, mac: &str, addr: &str| HostInterface {
            name: name.into(),
            mac: Some(mac.parse().unwrap()),
            addresses: vec![addr.into()],
            wireless: false,
        };
        let mut f = HostFacts {
            asset: AssetRef {
                host_id: Some("4b6f".into()),
                ..Default::default()
            },
            interfaces: vec![
                nic("eth1", "00:50:56:94:71:5f", "10.20.0.5/24"),
                nic("docker0", "02:42:ac:11:00:01", "172.17.0.1/16"),
                nic("eth0", "00:50:56:94:71:5e", "10.10.1.10/24"),
            ],
            ..Default::default()
        };
        let (key, ips) = host_key(&f).unwrap();
        assert_eq!(key.as_text(), "mac:00:50:56:94:71:5e");
        assert_eq!(ips, vec!["10.10.1.10".parse::<IpAddr>().unwrap()]);
        // Only a locally administered MAC: the machine id.
        f.interfaces.retain(|i| i.name == "docker0");
        assert_eq!(host_key(&f).unwrap().0.as_text(), "host:4b6f");
    }
}
