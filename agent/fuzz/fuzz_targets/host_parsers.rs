//! Fuzz target: the host inventory parsers (dpkg status, apk database, RPM headers, /proc/net
//! socket tables, os-release, resolv.conf, routes, APT package indexes, dnf primary.xml and
//! updateinfo.xml, APK index archives, the Alpine secdb, APK version ordering) on arbitrary bytes,
//! chosen by the first byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoko_agent::host::packages::{Package, apk, dpkg, rpm};
use shoko_agent::host::patches::{apk as apk_index, apt, dnf};
use shoko_agent::host::{sockets, system};
use shoko_proto::Transport;
use std::collections::HashMap;

fn package(manager: &'static str, name: &str, version: &str) -> Package {
    Package {
        manager,
        name: name.into(),
        version: version.into(),
        arch: Some("x86_64".into()),
        source: Some("openssl".into()),
        state: None,
        purl: String::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let deb = package("dpkg", "openssl", "3.0.11-1");
    let rpm_pkg = package("rpm", "openssl", "1:3.0.7-27.el9");
    let apk_pkg = package("apk", "libcrypto3", "3.3.2-r0");
    match sel % 13 {
        0 => drop(dpkg::parse(&text, ("debian", "12"))),
        1 => drop(apk::parse(&text, "3.20")),
        2 => drop(rpm::header(rest)),
        3 => drop(sockets::parse(&text, Transport::Tcp)),
        4 => drop(sockets::parse(&text, Transport::Udp)),
        5 => drop(system::key_values(&text)),
        6 => drop((system::resolvers(&text), system::ipv4_gateways(&text), system::ipv6_gateways(&text))),
        7 => {
            let wanted = HashMap::from([("openssl", &deb)]);
            let _ = apt::scan(rest, &wanted, &mut HashMap::new());
        }
        8 => {
            let wanted = HashMap::from([("openssl", &rpm_pkg)]);
            let _ = dnf::scan_primary(rest, &wanted, &mut HashMap::new());
        }
        9 => {
            let wanted = HashMap::from([("openssl", &rpm_pkg)]);
            let _ = dnf::scan_updateinfo(rest, &wanted, &mut HashMap::new());
        }
        10 => {
            let _ = apk_index::read_index(flate2::read::MultiGzDecoder::new(rest));
            let _ = apk_index::read_index(rest);
        }
        11 => {
            let wanted = HashMap::from([("libcrypto3", &apk_pkg)]);
            let _ = apk_index::secfixes(&text, &wanted, &mut HashMap::new());
        }
        _ => {
            let (a, b) = text.split_once('\n').unwrap_or((&text, "1.0"));
            let _ = apk::compare(a, b);
        }
    }
});
