//! Routed devices stay apart: real Modbus/TCP traffic (mb2.pcap, 38 hosts of 141.81.0.0/24) with
//! the frames of twelve of its hosts rewritten as a sensor on the other side of a router sees
//! them (their MAC replaced by the gateway's, as routing does), delivered to a collector. The
//! gateway is one router asset; each routed IP is an asset of its own, never merged through the
//! shared MAC.

use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};
use shoko_tests::*;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;

const GATEWAY: [u8; 6] = [0x00, 0x00, 0x0c, 0x9f, 0xf0, 0x0a];

/// Hosts .150 and above are behind the router.
fn routed(ip: Ipv4Addr) -> bool {
    ip.octets()[3] >= 150
}

/// Writes `src` to `out` with the MAC of every routed host replaced by the gateway's and their
/// ARP left out (ARP does not cross a router); returns the routed source IPs.
fn route(src: &Path, out: &Path) -> BTreeSet<Ipv4Addr> {
    let mut reader = PcapReader::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut writer = PcapWriter::with_header(std::fs::File::create(out).unwrap(), reader.header()).unwrap();
    let mut senders = BTreeSet::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap();
        let mut data = packet.data.to_vec();
        let arp_ip = |at: usize| Ipv4Addr::new(data[at], data[at + 1], data[at + 2], data[at + 3]);
        if data.len() >= 42 && data[12..14] == [0x08, 0x06] && (routed(arp_ip(28)) || routed(arp_ip(38))) {
            continue;
        }
        if data.len() >= 34 && data[12..14] == [0x08, 0x00] {
            let ip = |at: usize| Ipv4Addr::new(data[at], data[at + 1], data[at + 2], data[at + 3]);
            let (src_ip, dst_ip) = (ip(26), ip(30));
            if routed(src_ip) {
                data[6..12].copy_from_slice(&GATEWAY);
                senders.insert(src_ip);
            }
            if routed(dst_ip) {
                data[0..6].copy_from_slice(&GATEWAY);
            }
        }
        let rewritten = PcapPacket::new(packet.timestamp, packet.orig_len, &data);
        writer.write_packet(&rewritten).unwrap();
    }
    senders
}

#[test]
fn routed_ips_behind_one_gateway_mac_stay_separate_assets() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("mb2-routed.pcap");
    let senders = route(
        &dev_capture("ITI_ICS-Security-Tools/pcaps/ModbusTCP/mb2.pcap"),
        &pcap,
    );
    assert_eq!(senders.len(), 12);

    let data = DataDir::init();
    let collector = CollectorProcess::start(&data);
    let out = agent_send(&data.enroll("sensor-plant"), collector.ingest, &pcap);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let assets = collector.get_json("/api/v1/assets");
    let assets = assets.as_array().unwrap();
    let gateway = "00:00:0c:9f:f0:0a";
    let routers: Vec<&serde_json::Value> = assets.iter().filter(|a| a["router"] == true).collect();
    assert_eq!(routers.len(), 1);
    assert_eq!(routers[0]["key"], format!("mac:{gateway}"));
    // The gateway forwards for the routed hosts; none of their IPs is its own.
    let own: Vec<&str> = routers[0]["ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert!(own.iter().all(|ip| !routed(ip.parse().unwrap())), "{own:?}");
    // Each routed IP is an asset of its own, keyed by IP, with no MAC.
    let routed_assets: BTreeSet<String> = assets
        .iter()
        .filter(|a| a["key"].as_str().unwrap().starts_with("ip:"))
        .map(|a| {
            assert_eq!(a["macs"], serde_json::json!([]), "{a}");
            assert_eq!(a["ips"].as_array().unwrap().len(), 1, "{a}");
            a["ips"][0].as_str().unwrap().to_string()
        })
        .collect();
    let expected: BTreeSet<String> = senders.iter().map(ToString::to_string).collect();
    assert_eq!(routed_assets, expected);
    // No asset holds the gateway's MAC but the router itself.
    let with_gateway = assets
        .iter()
        .filter(|a| a["macs"].as_array().unwrap().iter().any(|m| m == gateway))
        .count();
    assert_eq!(with_gateway, 1);
}
