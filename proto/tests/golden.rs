//! Golden test vectors: the exact bytes of each message kind are checked into `tests/vectors/`.
//! A change to the model that would break agents already deployed fails here. Regenerate the files
//! deliberately (and bump the protocol version if old agents break) with `SHOKO_BLESS=1 cargo test
//! -p shoko-proto --test golden`.

use shoko_proto::codec::{decode_message, encode_message};
use shoko_proto::*;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

fn ts(s: i64) -> Timestamp {
    Timestamp::from_secs_nanos(s, 123_456_000)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn mac(s: &str) -> MacAddr {
    s.parse().unwrap()
}

fn net_provenance(parser: &str) -> Provenance {
    Provenance {
        source: Source::CaptureFile {
            path: "plant.pcap".into(),
        },
        parser: ParserRef::new(parser, "1"),
        observed_at: ts(1_700_000_000),
        evidence: Evidence {
            frames: vec![EvidenceFrame::capture(
                ts(1_700_000_000),
                1,
                60,
                &[0x00, 0x1b, 0x1b, 0x02, 0xe6, 0x1f, 0x08, 0x00],
            )],
            files: vec![],
        },
    }
}

fn host_provenance(collector: &str) -> Provenance {
    Provenance {
        source: Source::HostCollector {
            name: collector.into(),
        },
        parser: ParserRef::new(collector, "1"),
        observed_at: ts(1_700_000_100),
        evidence: Evidence {
            frames: vec![],
            files: vec![EvidenceFile {
                path: "/etc/ssh/sshd_config".into(),
                sha256: Sha256Digest::of(b"PermitRootLogin no\n"),
            }],
        },
    }
}

fn plc() -> AssetRef {
    AssetRef {
        mac: Some(mac("00:1b:1b:02:e6:1f")),
        ip: Some(ip("10.10.2.21")),
        vlan: Some(10),
        host_id: None,
    }
}

fn host() -> AssetRef {
    AssetRef {
        host_id: Some("4c4c4544003957108052b4c04f384833".into()),
        ..Default::default()
    }
}

fn observations() -> Vec<Observation> {
    let o = |provenance, body| Observation { provenance, body };
    vec![
        o(
            net_provenance("arp"),
            ObservationBody::AssetSighting(AssetSighting {
                mac: Some(mac("00:1b:1b:02:e6:1f")),
                ips: vec![ip("10.10.2.21"), ip("fe80::21b:1bff:fe02:e61f")],
                vlans: vec![10],
                router: false,
                first_seen: ts(1_700_000_000),
                last_seen: ts(1_700_000_060),
                packets: 42,
                bytes: 4200,
                class: Some("plc".into()),
                class_reasons: vec!["serves s7comm".into()],
                protocols: [("s7comm".to_owned(), vec!["server".to_owned()])].into(),
            }),
        ),
        o(
            net_provenance("s7comm"),
            ObservationBody::IdentityClaim(IdentityClaim {
                asset: plc(),
                identity: Identity {
                    protocol: "s7comm".into(),
                    vendor: Some("Siemens".into()),
                    product: Some("S7-300".into()),
                    model: Some("6ES7 315-2EH14-0AB0".into()),
                    firmware: Some("V3.2.6".into()),
                    hardware_revision: Some("4".into()),
                    serial: Some("S C-X4U421302009".into()),
                    name: Some("PLC_1".into()),
                    device_type: Some("PLC".into()),
                    confidence: 95,
                    attributes: BTreeMap::from([("plant_id".to_string(), "Line 3".to_string())]),
                },
            }),
        ),
        o(
            host_provenance("dpkg-status"),
            ObservationBody::SoftwareItem(SoftwareItem {
                asset: host(),
                name: "openssh-server".into(),
                version: Some("1:9.2p1-2+deb12u3".into()),
                source: "dpkg".into(),
                package_manager: Some("dpkg".into()),
                purl: Some("pkg:deb/debian/openssh-server@1:9.2p1-2+deb12u3?arch=amd64".into()),
                update: None,
            }),
        ),
        o(
            net_provenance("modbus"),
            ObservationBody::Service(Service {
                asset: plc(),
                transport: Transport::Tcp,
                port: 502,
                protocol: Some("modbus".into()),
                banner: None,
                detected_by: Some("content".into()),
                bound: None,
                process: None,
            }),
        ),
        o(
            net_provenance("flow"),
            ObservationBody::FlowSummary(FlowSummary {
                vlan: Some(10),
                transport: Transport::Tcp,
                ip_proto: 6,
                orig: Endpoint {
                    ip: ip("10.10.1.10"),
                    port: 49152,
                    mac: Some(mac("00:50:56:94:71:5e")),
                },
                resp: Endpoint {
                    ip: ip("10.10.2.21"),
                    port: 502,
                    mac: Some(mac("00:1b:1b:02:e6:1f")),
                },
                orig_packets: 10,
                orig_bytes: 640,
                resp_packets: 9,
                resp_bytes: 700,
                first_seen: ts(1_700_000_000),
                last_seen: ts(1_700_000_060),
                app_protocol: Some("modbus".into()),
                history: Some("ShADadFf".into()),
                orig_payload_bytes: 120,
                resp_payload_bytes: 220,
                state: Some("SF".into()),
            }),
        ),
        o(
            host_provenance("system"),
            ObservationBody::HostFacts(HostFacts {
                asset: host(),
                hostname: "hmi-01".into(),
                os_name: Some("Debian GNU/Linux".into()),
                os_version: Some("12".into()),
                kernel: Some("6.1.0-18-amd64".into()),
                arch: Some("x86_64".into()),
                uptime_s: Some(86_400),
                cpu_count: Some(4),
                memory_bytes: Some(8 << 30),
                interfaces: vec![HostInterface {
                    name: "eth0".into(),
                    mac: Some(mac("00:50:56:94:71:5e")),
                    addresses: vec!["10.10.1.10/24".into()],
                    wireless: false,
                }],
                default_gateways: vec![ip("10.10.1.1")],
                dns_servers: vec![ip("10.10.1.2")],
                ..Default::default()
            }),
        ),
        o(
            host_provenance("sshd"),
            ObservationBody::ConfigCheck(ConfigCheck {
                asset: host(),
                check_id: "ssh.permit_root_login".into(),
                requirements: vec!["COMP 1.1".into()],
                outcome: CheckOutcome::Pass,
                reason: "PermitRootLogin no".into(),
                excerpts: vec![],
            }),
        ),
        o(
            net_provenance("modbus"),
            ObservationBody::ProtocolEvent(ProtocolEvent {
                protocol: "modbus".into(),
                kind: "write".into(),
                severity: Severity::Medium,
                actor: Some(AssetRef {
                    ip: Some(ip("10.10.1.20")),
                    ..Default::default()
                }),
                target: Some(plc()),
                details: BTreeMap::from([
                    ("function_code".to_string(), "6".to_string()),
                    ("address".to_string(), "40001".to_string()),
                ]),
            }),
        ),
        o(
            Provenance {
                source: Source::Agent,
                parser: ParserRef::new("telemetry", "1"),
                observed_at: ts(1_700_000_200),
                evidence: Evidence::default(),
            },
            ObservationBody::AgentTelemetry(AgentTelemetry {
                agent_version: "0.1.0".into(),
                rss_bytes: 8 << 20,
                cpu_ms: 1500,
                uptime_s: 3600,
                packets_received: 1_000_000,
                packets_dropped: 0,
                spool_batches: 2,
                spool_bytes: 65536,
                host_cycle: None,
                spool_dropped: None,
            }),
        ),
    ]
}

fn vectors() -> Vec<(&'static str, Message)> {
    vec![
        (
            "hello",
            Message::Hello {
                agent_id: "sensor-01".into(),
                agent_version: "0.1.0".into(),
                protocol_versions: vec![1],
                agent_time: None,
            },
        ),
        (
            "hello_timed",
            Message::Hello {
                agent_id: "sensor-01".into(),
                agent_version: "0.2.0".into(),
                protocol_versions: vec![1],
                agent_time: Some(ts(1_700_000_000)),
            },
        ),
        (
            "welcome",
            Message::Welcome {
                protocol_version: 1,
                collector_version: "0.1.0".into(),
                highest_stored_seq: 41,
            },
        ),
        (
            "batch",
            Message::Batch(Envelope {
                protocol_version: 1,
                agent_id: "sensor-01".into(),
                seq: 42,
                sent_at: ts(1_700_000_300),
                observations: observations(),
            }),
        ),
        (
            "ack",
            Message::Ack {
                seq: 42,
                highest_stored_seq: 42,
                duplicate: false,
            },
        ),
        (
            "error",
            Message::Error {
                code: ErrorCode::AgentIdMismatch,
                message: "envelope agent id \"x\" differs from certificate \"sensor-01\"".into(),
            },
        ),
    ]
}

fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(format!("{name}.msgpack"))
}

#[test]
fn golden_vectors_match() {
    let bless = std::env::var_os("SHOKO_BLESS").is_some();
    for (name, msg) in vectors() {
        let bytes = encode_message(&msg).unwrap();
        let path = vector_path(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        }
        let stored = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with SHOKO_BLESS=1)", path.display()));
        assert_eq!(
            decode_message(&stored).unwrap(),
            msg,
            "{name}: stored vector no longer decodes to the same message"
        );
        assert_eq!(bytes, stored, "{name}: encoding changed");
    }
}

#[test]
fn every_observation_kind_has_a_vector() {
    let kinds: Vec<_> = observations().iter().map(|o| o.body.kind()).collect();
    assert_eq!(
        kinds,
        [
            "asset_sighting",
            "identity_claim",
            "software_item",
            "service",
            "flow_summary",
            "host_facts",
            "config_check",
            "protocol_event",
            "agent_telemetry"
        ]
    );
}

#[test]
fn newer_fields_are_ignored() {
    // A newer agent may add fields; an older collector must still read the message.
    let bytes = {
        let mut v = Vec::new();
        // {"ack": {"seq": 7, "highest_stored_seq": 7, "duplicate": false, "future": 1}}
        v.extend_from_slice(&[0x81, 0xa3, b'a', b'c', b'k', 0x84]);
        v.extend_from_slice(&[0xa3, b's', b'e', b'q', 0x07]);
        v.extend_from_slice(b"\xb2highest_stored_seq\x07");
        v.extend_from_slice(b"\xa9duplicate\xc2");
        v.extend_from_slice(b"\xa6future\x01");
        v
    };
    assert_eq!(
        decode_message(&bytes).unwrap(),
        Message::Ack {
            seq: 7,
            highest_stored_seq: 7,
            duplicate: false
        }
    );
}

#[test]
fn json_form_is_readable() {
    let vectors = vectors();
    let msg = &vectors.iter().find(|(name, _)| *name == "batch").unwrap().1;
    let json = serde_json::to_value(msg).unwrap();
    let first = &json["batch"]["observations"][0];
    assert_eq!(first["body"]["asset_sighting"]["mac"], "00:1b:1b:02:e6:1f");
    assert_eq!(
        first["provenance"]["evidence"]["frames"][0]["sha256"],
        Sha256Digest::of(&[0x00, 0x1b, 0x1b, 0x02, 0xe6, 0x1f, 0x08, 0x00]).to_hex()
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep; the fuzz target in proto/fuzz explores much further.
    let golden = encode_message(&vectors()[2].1).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let mut bytes = golden.clone();
        let flips = 1 + (next() % 8) as usize;
        for _ in 0..flips {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        let cut = (next() as usize) % (bytes.len() + 1);
        let _ = decode_message(&bytes[..cut]);
    }
}
