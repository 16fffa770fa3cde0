//! IP reassembly in the pipeline: an SNMP GetResponse (built from RFC 1157/3416 BER) carried in UDP
//! and split into three IPv4 fragments that arrive out of order is reassembled, dissected once, and
//! counted as one datagram of one flow.

use shoko_agent::capture::{Packet, linktype};
use shoko_agent::pipeline::{Sensor, SensorLimits};
use shoko_proto::Timestamp;

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    if body.len() < 128 {
        v.push(body.len() as u8);
    } else {
        v.extend_from_slice(&[0x82, (body.len() >> 8) as u8, body.len() as u8]);
    }
    v.extend_from_slice(body);
    v
}

fn varbind(oid: &[u8], value: &[u8]) -> Vec<u8> {
    tlv(0x30, &[tlv(0x06, oid), tlv(0x04, value)].concat())
}

fn snmp_response() -> Vec<u8> {
    let descr = "Siemens, SIMATIC NET, SCALANCE X204-2, 6GK5 204-2BB10-2AA3, HW: 2, FW: V5.2.1, ".repeat(8);
    let binds = tlv(
        0x30,
        &[
            varbind(&[0x2b, 6, 1, 2, 1, 1, 1, 0], descr.as_bytes()),
            varbind(&[0x2b, 6, 1, 2, 1, 1, 5, 0], b"plant-switch-7"),
        ]
        .concat(),
    );
    let pdu = tlv(
        0xa2,
        &[tlv(0x02, &[0x12]), tlv(0x02, &[0]), tlv(0x02, &[0]), binds].concat(),
    );
    tlv(0x30, &[tlv(0x02, &[1]), tlv(0x04, b"public"), pdu].concat())
}

fn ipv4_fragment(payload: &[u8], offset: usize, more: bool) -> Vec<u8> {
    let mut f = vec![0x00, 0x1b, 0x1b, 0, 0, 2, 0x00, 0x1b, 0x1b, 0, 0, 7, 0x08, 0x00];
    let total = 20 + payload.len();
    let flags_off = ((offset / 8) as u16) | if more { 0x2000 } else { 0 };
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0x12, 0x34]);
    f.extend_from_slice(&flags_off.to_be_bytes());
    f.extend_from_slice(&[64, 17, 0, 0, 10, 0, 0, 7, 10, 0, 0, 2]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn fragmented_snmp_response_is_reassembled_and_dissected() {
    let snmp = snmp_response();
    let mut udp = Vec::new();
    udp.extend_from_slice(&161u16.to_be_bytes());
    udp.extend_from_slice(&50_000u16.to_be_bytes());
    udp.extend_from_slice(&((8 + snmp.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&snmp);
    assert!(udp.len() > 600);
    let frames = [
        ipv4_fragment(&udp[256..512], 256, true),
        ipv4_fragment(&udp[512..], 512, false),
        ipv4_fragment(&udp[..256], 0, true),
    ];
    let mut sensor = Sensor::new(SensorLimits::default());
    for (i, f) in frames.iter().enumerate() {
        let ts = Timestamp(1_700_000_000_000_000_000 + i as i64);
        sensor.process(&Packet {
            ts,
            linktype: linktype::ETHERNET,
            orig_len: f.len() as u32,
            data: f,
        });
    }
    let out = sensor.output();
    assert_eq!(out.stats.defrag.reassembled, 1);
    assert_eq!(out.flows.len(), 1);
    let flow = &out.flows[0];
    assert_eq!(
        (flow.orig_packets, flow.orig_payload_bytes),
        (1, snmp.len() as u64)
    );
    let switch = out
        .assets
        .iter()
        .find(|a| a.ips.iter().any(|ip| ip.to_string() == "10.0.0.7"))
        .unwrap();
    let snmp_id = switch
        .identities
        .iter()
        .find(|i| i.identity.protocol == "snmp")
        .unwrap();
    assert_eq!(snmp_id.identity.name.as_deref(), Some("plant-switch-7"));
    assert_eq!(snmp_id.identity.model.as_deref(), Some("6GK5 204-2BB10-2AA3"));
    assert_eq!(snmp_id.identity.firmware.as_deref(), Some("V5.2.1"));
    let svc = switch.services.iter().find(|s| s.port == 161).unwrap();
    assert_eq!(
        svc.banner.as_deref(),
        Some("SNMPv2c (community \"public\" in cleartext)")
    );
}
