//! Fuzz target: the host inventory parsers (dpkg status, apk database, RPM headers, /proc/net
//! socket tables, os-release, resolv.conf, routes, APT package indexes) on arbitrary bytes, chosen
//! by the first byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::host::packages::{Package, apk, dpkg, rpm};
use shoko_agent::host::{patches, sockets, system};
use std::collections::HashMap;
use shoko_proto::Transport;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match sel % 8 {
        0 => drop(dpkg::parse(&text, ("debian", "12"))),
        1 => drop(apk::parse(&text, "3.20")),
        2 => drop(rpm::header(rest)),
        3 => drop(sockets::parse(&text, Transport::Tcp)),
        4 => drop(sockets::parse(&text, Transport::Udp)),
        5 => drop(system::key_values(&text)),
        6 => drop((system::resolvers(&text), system::ipv4_gateways(&text), system::ipv6_gateways(&text))),
        _ => {
            let p = Package {
                manager: "dpkg",
                name: "openssl".into(),
                version: "3.0.11-1".into(),
                arch: Some("amd64".into()),
                source: None,
                state: None,
                purl: String::new(),
            };
            let wanted = HashMap::from([("openssl", &p)]);
            let _ = patches::scan(rest, &wanted, &mut HashMap::new());
        }
    }
});
