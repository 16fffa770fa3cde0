//! System facts: host name, OS release, kernel, architecture, uptime, CPUs, memory, machine id,
//! network interfaces, default gateways and DNS resolvers, from `/etc` and `/proc` under the root.

use super::Unknown;
use super::root::HostRoot;
use shoko_proto::{AssetRef, HostFacts, HostInterface, MacAddr};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `KEY=value` lines of an os-release style file, quotes removed.
pub fn key_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            if k.starts_with('#') {
                return None;
            }
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_owned(), v.replace("\\\"", "\"")))
        })
        .collect()
}

/// The OS release: (ID, NAME, VERSION_ID), from `/etc/os-release` or `/usr/lib/os-release`.
pub fn os_release(root: &HostRoot) -> Result<BTreeMap<String, String>, super::root::ReadError> {
    root.read("/etc/os-release")
        .or_else(|_| root.read("/usr/lib/os-release"))
        .map(|t| key_values(&t))
}

/// Collects the system facts; what cannot be read is listed in `unknown`.
pub fn collect(root: &HostRoot, unknown: &mut Vec<Unknown>) -> HostFacts {
    let mut facts = HostFacts::default();
    let mut note = |source: &str, e: &dyn std::fmt::Display| unknown.push(Unknown::new(source, e));
    match root
        .read("/etc/hostname")
        .or_else(|_| root.read("/proc/sys/kernel/hostname"))
    {
        Ok(h) => facts.hostname = h.trim().to_owned(),
        Err(e) => note("system.hostname", &e),
    }
    match os_release(root) {
        Ok(os) => {
            facts.os_name = os.get("NAME").cloned();
            facts.os_version = os.get("VERSION_ID").cloned();
        }
        Err(e) => note("system.os_release", &e),
    }
    match root.read("/etc/machine-id") {
        Ok(id) if !id.trim().is_empty() => {
            facts.asset = AssetRef {
                host_id: Some(id.trim().to_owned()),
                ..Default::default()
            }
        }
        Ok(_) => note("system.machine_id", &"/etc/machine-id: empty"),
        Err(e) => note("system.machine_id", &e),
    }
    facts.kernel = root
        .read("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_owned());
    facts.arch = root.is_live().then(|| std::env::consts::ARCH.to_owned());
    facts.uptime_s = root
        .read("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
        .map(|s| s as u64);
    facts.cpu_count = root
        .read("/proc/cpuinfo")
        .ok()
        .map(|c| c.lines().filter(|l| l.starts_with("processor")).count() as u32)
        .filter(|&n| n > 0);
    facts.memory_bytes = root.read("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| kib * 1024)
    });
    facts.dns_servers = root
        .read("/etc/resolv.conf")
        .map(|r| resolvers(&r))
        .unwrap_or_default();
    facts.default_gateways = root
        .read("/proc/net/route")
        .map(|r| ipv4_gateways(&r))
        .unwrap_or_default();
    if let Ok(r6) = root.read("/proc/net/ipv6_route") {
        facts.default_gateways.extend(ipv6_gateways(&r6));
    }
    facts.interfaces = interfaces(root);
    facts
}

/// `nameserver` lines of resolv.conf.
pub fn resolvers(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|v| v.trim().parse().ok())
        .collect()
}

/// Default routes in `/proc/net/route`: interface, gateway and the line that says so.
pub fn ipv4_default_routes(text: &str) -> Vec<(&str, IpAddr, &str)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (dest, gw, mask) = (f.get(1)?, f.get(2)?, f.get(7)?);
            (*dest == "00000000" && *mask == "00000000").then_some(())?;
            let g = u32::from_str_radix(gw, 16).ok()?;
            (g != 0).then(|| (f[0], IpAddr::V4(Ipv4Addr::from(g.swap_bytes())), l))
        })
        .collect()
}

/// Gateways of the default routes in `/proc/net/route`.
pub fn ipv4_gateways(text: &str) -> Vec<IpAddr> {
    ipv4_default_routes(text).into_iter().map(|(_, g, _)| g).collect()
}

/// Gateways of the default routes in `/proc/net/ipv6_route`.
pub fn ipv6_gateways(text: &str) -> Vec<IpAddr> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first()? == &"00000000000000000000000000000000" && f.get(1)? == &"00").then_some(())?;
            let g = u128::from_str_radix(f.get(4)?, 16).ok()?;
            (g != 0).then(|| IpAddr::V6(Ipv6Addr::from(g)))
        })
        .collect()
}

/// Interfaces: on the running system from the OS (names, MACs, addresses); under another root,
/// the names and MACs of `/sys/class/net` and the IPv6 addresses of `/proc/net/if_inet6`.
fn interfaces(root: &HostRoot) -> Vec<HostInterface> {
    if root.is_live() {
        return crate::capture::pnet::interfaces()
            .into_iter()
            .filter(|i| !i.loopback)
            .map(|i| HostInterface {
                wireless: root.path(&format!("/sys/class/net/{}/wireless", i.name)).exists(),
                mac: i.mac.and_then(|m| m.parse().ok()),
                addresses: i.addresses,
                name: i.name,
            })
            .collect();
    }
    let v6 = root.read("/proc/net/if_inet6").unwrap_or_default();
    root.list("/sys/class/net")
        .into_iter()
        .filter(|n| n != "lo")
        .map(|name| {
            let mac: Option<MacAddr> = root
                .read(&format!("/sys/class/net/{name}/address"))
                .ok()
                .and_then(|m| m.trim().parse().ok())
                .filter(|m: &MacAddr| !m.is_zero());
            let addresses = v6
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.get(5)? == &name.as_str()).then_some(())?;
                    let a = Ipv6Addr::from(u128::from_str_radix(f.first()?, 16).ok()?);
                    let prefix = u8::from_str_radix(f.get(2)?, 16).ok()?;
                    Some(format!("{a}/{prefix}"))
                })
                .collect();
            HostInterface {
                wireless: root.path(&format!("/sys/class/net/{name}/wireless")).exists(),
                name,
                mac,
                addresses,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        let os = key_values("NAME=\"Debian GNU/Linux\"\nVERSION_ID='12'\n# c=1\nID=debian\n");
        assert_eq!(os["NAME"], "Debian GNU/Linux");
        assert_eq!(os["VERSION_ID"], "12");
        assert!(!os.contains_key("# c"));
        assert_eq!(
            resolvers("# x\nnameserver 10.0.0.53\nnameserver fd00::53\nnameserver bogus\n"),
            [
                "10.0.0.53".parse::<IpAddr>().unwrap(),
                "fd00::53".parse().unwrap()
            ]
        );
        let route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n\
                     eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n\
                     eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n";
        assert_eq!(ipv4_gateways(route), ["192.0.2.1".parse::<IpAddr>().unwrap()]);
        let r6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n";
        assert_eq!(ipv6_gateways(r6), ["fe80::1".parse::<IpAddr>().unwrap()]);
    }
}
