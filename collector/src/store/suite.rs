//! The storage test suite: what every engine must do, written once against the [`Store`] trait.
//! Each engine instantiates it with [`store_suite!`] and a way to open handles on one fresh
//! database.

use super::{Decision, DecisionKind, IngestOutcome, Receipt, ReceiptWindow, Store, StoreCounts, StoreError};
use shoko_proto::{
    AssetRef, AssetSighting, Envelope, HostFacts, HostInterface, Identity, IdentityClaim, Observation,
    ObservationBody, ParserRef, Provenance, Service, SoftwareItem, Source, Timestamp, Transport,
};
use std::collections::BTreeSet;

/// One fresh database of an engine.
pub trait Engine: Sync {
    /// A new handle on the database (as a second collector process would open it).
    fn open(&self) -> Box<dyn Store>;
    /// Runs SQL on the database behind the store's back (to tamper with it).
    fn execute(&self, sql: &str);
}

/// Instantiates every test of the suite for an engine: `$engine` is an expression giving an
/// `Option` of an [`Engine`] (`None` skips, having said why).
macro_rules! store_suite {
    ($engine:expr) => {
        $crate::store::suite::store_suite!(@tests $engine;
            batches_are_stored_once_in_any_order,
            a_group_is_one_transaction_with_an_outcome_per_batch,
            a_host_inventory_and_the_sensors_sighting_of_its_mac_are_one_asset,
            routed_ips_behind_one_gateway_mac_stay_separate_assets,
            a_new_firmware_is_a_change_and_a_late_older_claim_is_not,
            claims_keep_every_source_and_show_conflicts,
            a_new_value_from_the_same_source_is_an_attribute_change,
            new_assets_and_services_are_changes_once,
            the_latest_decision_on_a_change_stands,
            concurrent_writers_store_each_batch_once,
            flows_are_summed_per_hour_and_conversation,
            drift_from_the_latest_baseline,
            retention_keeps_the_evidence_records_refer_to,
            software_and_device_changing_events_are_changes,
            an_asset_not_seen_for_a_while_is_a_change_once_per_absence,
            a_hosts_second_interface_and_a_shared_serial_merge_assets,
            attestations_are_kept_and_revoked_not_deleted,
            the_hash_chain_names_every_edit,
            verifying_beside_a_running_collector_finds_nothing_wrong,
            users_tokens_sessions_and_the_audit_log,
            capture_and_receipt_times_are_both_kept,
        );
    };
    (@tests $engine:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if let Some(engine) = $engine {
                    $crate::store::suite::$name(&engine);
                }
            }
        )*
    };
}
pub(crate) use store_suite;

/// An observation made at `at`.
fn obs(at: i64, body: ObservationBody) -> Observation {
    Observation {
        provenance: Provenance {
            source: Source::Agent,
            parser: ParserRef::new("test", "1"),
            observed_at: Timestamp(at),
            evidence: Default::default(),
        },
        body,
    }
}

/// A batch of observations.
fn batch(agent_id: &str, seq: u64, observations: Vec<Observation>) -> Envelope {
    Envelope {
        protocol_version: 1,
        agent_id: agent_id.into(),
        seq,
        sent_at: Timestamp(5),
        observations,
    }
}

/// A sighting of `ip` (behind `mac` when given), seen from 10 to 20.
fn sighting(mac: Option<&str>, ip: &str) -> ObservationBody {
    ObservationBody::AssetSighting(AssetSighting {
        mac: mac.map(|m| m.parse().unwrap()),
        ips: vec![ip.parse().unwrap()],
        first_seen: Timestamp(10),
        last_seen: Timestamp(20),
        ..Default::default()
    })
}

/// A one-observation batch: agent `agent_id`, sequence `seq`, an asset sighting of `ip` (with
/// `mac` when given).
pub fn sighting_batch(agent_id: &str, seq: u64, mac: Option<&str>, ip: &str) -> Envelope {
    batch(agent_id, seq, vec![obs(10, sighting(mac, ip))])
}

/// Change kinds and values, oldest first.
fn change_list(store: &dyn Store) -> Vec<(String, String, Option<String>, Option<String>)> {
    store
        .changes()
        .unwrap()
        .into_iter()
        .map(|c| (c.kind, c.subject, c.old_value, c.new_value))
        .collect()
}

fn stored(highest: u64) -> IngestOutcome {
    IngestOutcome::Stored { highest }
}

/// Re-sends are duplicates, a late lower sequence is stored, and a new handle sees it all.
pub fn batches_are_stored_once_in_any_order(engine: &impl Engine) {
    let store = engine.open();
    let b = |seq, mac| sighting_batch("a1", seq, Some(mac), "10.0.0.1");
    assert_eq!(store.highest_seq("a1").unwrap(), 0);
    assert_eq!(
        store.ingest(&b(1, "00:00:bc:00:00:01"), Timestamp(1)).unwrap(),
        stored(1)
    );
    assert_eq!(
        store.ingest(&b(1, "00:00:bc:00:00:01"), Timestamp(2)).unwrap(),
        IngestOutcome::Duplicate { highest: 1 }
    );
    assert_eq!(
        store.ingest(&b(3, "00:00:bc:00:00:02"), Timestamp(3)).unwrap(),
        stored(3)
    );
    assert_eq!(
        store.ingest(&b(2, "00:00:bc:00:00:01"), Timestamp(4)).unwrap(),
        stored(3)
    );
    drop(store);
    let again = engine.open();
    assert_eq!(
        again.counts().unwrap(),
        StoreCounts {
            agents: 1,
            batches: 3,
            observations: 3,
            assets: 2
        }
    );
    assert_eq!(again.highest_seq("a1").unwrap(), 3);
    let agents = again.agents().unwrap();
    assert_eq!(agents.len(), 1);
    assert_eq!(
        (
            agents[0].agent_id.as_str(),
            agents[0].highest_seq,
            agents[0].batches
        ),
        ("a1", 3, 3)
    );
    assert_eq!(
        (agents[0].first_seen, agents[0].last_seen),
        (Timestamp(1), Timestamp(4))
    );
    let assets = again.assets().unwrap();
    assert_eq!(assets[0].key, "mac:00:00:bc:00:00:01");
    assert_eq!(assets[0].ips, ["10.0.0.1".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(
        (assets[0].first_seen, assets[0].last_seen),
        (Timestamp(10), Timestamp(20))
    );
    let evidence: Vec<(u64, String)> = again
        .asset_observations(assets[0].id)
        .unwrap()
        .into_iter()
        .map(|o| (o.seq, o.kind))
        .collect();
    assert_eq!(
        evidence,
        [(1, "asset_sighting".into()), (2, "asset_sighting".into())]
    );
}

/// A group of batches is stored in one transaction with one outcome per batch, in order.
pub fn a_group_is_one_transaction_with_an_outcome_per_batch(engine: &impl Engine) {
    let store = engine.open();
    let b = |agent, seq, mac| sighting_batch(agent, seq, Some(mac), "10.0.0.1");
    // The same batch twice in one group: the second is a duplicate of the first.
    let group = [
        b("a1", 1, "00:00:bc:00:00:01"),
        b("a1", 1, "00:00:bc:00:00:01"),
        b("a2", 1, "00:00:bc:00:00:03"),
        b("a1", 2, "00:00:bc:00:00:02"),
    ];
    assert_eq!(
        store.ingest_many(&group, Timestamp(1)).unwrap(),
        [
            stored(1),
            IngestOutcome::Duplicate { highest: 1 },
            stored(1),
            stored(2)
        ]
    );
    let counts = store.counts().unwrap();
    assert_eq!((counts.batches, counts.observations, counts.assets), (3, 3, 3));
    assert_eq!(store.highest_seq("a2").unwrap(), 1);
}

/// A host agent's inventory and the sensor's sighting of its primary MAC are one asset; a host
/// without a stable MAC is an asset of its own, found again by its machine id.
pub fn a_host_inventory_and_the_sensors_sighting_of_its_mac_are_one_asset(engine: &impl Engine) {
    let store = engine.open();
    let host = |id: &str| AssetRef {
        host_id: Some(id.into()),
        ..Default::default()
    };
    let facts = ObservationBody::HostFacts(HostFacts {
        asset: host("4b6f1c9e"),
        hostname: "hmi-01".into(),
        interfaces: vec![HostInterface {
            name: "eth0".into(),
            mac: Some("00:50:56:94:71:5e".parse().unwrap()),
            addresses: vec!["10.10.1.10/24".into()],
            wireless: false,
        }],
        ..Default::default()
    });
    let software = |id: &str| {
        ObservationBody::SoftwareItem(SoftwareItem {
            asset: host(id),
            name: "openssl".into(),
            ..Default::default()
        })
    };
    let inventory = batch("hmi-01", 1, vec![obs(10, facts), obs(10, software("4b6f1c9e"))]);
    store.ingest(&inventory, Timestamp(1)).unwrap();
    let seen = sighting_batch("sensor-1", 1, Some("00:50:56:94:71:5e"), "10.10.1.10");
    store.ingest(&seen, Timestamp(2)).unwrap();
    let assets = store.assets().unwrap();
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0].attributes["hostname"], "hmi-01");
    let evidence: Vec<(String, String)> = store
        .asset_observations(assets[0].id)
        .unwrap()
        .into_iter()
        .map(|o| (o.agent_id, o.kind))
        .collect();
    assert_eq!(
        evidence,
        [
            ("hmi-01".into(), "host_facts".into()),
            ("hmi-01".into(), "software_item".into()),
            ("sensor-1".into(), "asset_sighting".into())
        ]
    );
    let bare = ObservationBody::HostFacts(HostFacts {
        asset: host("77aa"),
        ..Default::default()
    });
    let other = batch("eng-02", 1, vec![obs(10, bare), obs(10, software("77aa"))]);
    store.ingest(&other, Timestamp(3)).unwrap();
    let keys: Vec<String> = store.assets().unwrap().into_iter().map(|a| a.key).collect();
    assert_eq!(keys, ["mac:00:50:56:94:71:5e", "host:77aa"]);
    assert_eq!(store.asset_observations(2).unwrap().len(), 2);
}

/// A router's MAC is one asset; the IPs routed behind it are assets of their own, and a claim
/// about a routed IP goes to that IP's asset.
pub fn routed_ips_behind_one_gateway_mac_stay_separate_assets(engine: &impl Engine) {
    let store = engine.open();
    let router = ObservationBody::AssetSighting(AssetSighting {
        mac: Some("00:00:0c:9f:f0:01".parse().unwrap()),
        ips: vec!["10.10.1.1".parse().unwrap()],
        router: true,
        first_seen: Timestamp(10),
        last_seen: Timestamp(20),
        ..Default::default()
    });
    let claim = ObservationBody::IdentityClaim(IdentityClaim {
        asset: AssetRef {
            ip: Some("10.20.0.11".parse().unwrap()),
            ..Default::default()
        },
        identity: Identity {
            protocol: "cip".into(),
            vendor: Some("Rockwell Automation/Allen-Bradley".into()),
            product: Some("1756-L61".into()),
            firmware: Some("20.11".into()),
            ..Default::default()
        },
    });
    let observations = vec![
        obs(10, router),
        obs(10, sighting(None, "10.20.0.11")),
        obs(10, sighting(None, "10.20.0.12")),
        obs(11, claim),
    ];
    store
        .ingest(&batch("sensor-1", 1, observations), Timestamp(1))
        .unwrap();
    let assets = store.assets().unwrap();
    let keys: Vec<(&str, bool)> = assets.iter().map(|a| (a.key.as_str(), a.router)).collect();
    assert_eq!(
        keys,
        [
            ("mac:00:00:0c:9f:f0:01", true),
            ("ip:-:10.20.0.11", false),
            ("ip:-:10.20.0.12", false)
        ]
    );
    let kinds: Vec<String> = store
        .asset_observations(assets[1].id)
        .unwrap()
        .into_iter()
        .map(|o| o.kind)
        .collect();
    assert_eq!(kinds, ["asset_sighting", "identity_claim"]);
}

/// An identity claim of `firmware` at `at` about the device at 10.0.0.5.
fn plc_claim(at: i64, firmware: &str) -> Observation {
    claim_of(at, "cip", 90, firmware)
}

/// An identity claim by `protocol` with `confidence` of `firmware` at `at` about 10.0.0.5.
fn claim_of(at: i64, protocol: &str, confidence: u8, firmware: &str) -> Observation {
    obs(
        at,
        ObservationBody::IdentityClaim(IdentityClaim {
            asset: AssetRef {
                mac: Some("00:1d:9c:c7:b0:6c".parse().unwrap()),
                ip: Some("10.0.0.5".parse().unwrap()),
                ..Default::default()
            },
            identity: Identity {
                protocol: protocol.into(),
                vendor: Some("Rockwell Automation/Allen-Bradley".into()),
                product: Some("1756-EN2T/B".into()),
                serial: Some("0x00ab12cd".into()),
                firmware: Some(firmware.into()),
                confidence,
                ..Default::default()
            },
        }),
    )
}

/// A newer claim with another firmware is a firmware change referring to both observations; an
/// older claim arriving late is not.
pub fn a_new_firmware_is_a_change_and_a_late_older_claim_is_not(engine: &impl Engine) {
    let store = engine.open();
    store
        .ingest(&batch("s", 1, vec![plc_claim(100, "5.001")]), Timestamp(1))
        .unwrap();
    store
        .ingest(&batch("s", 2, vec![plc_claim(200, "5.001")]), Timestamp(2))
        .unwrap();
    store
        .ingest(&batch("s", 3, vec![plc_claim(300, "11.002")]), Timestamp(3))
        .unwrap();
    store
        .ingest(&batch("s", 4, vec![plc_claim(50, "4.003")]), Timestamp(4))
        .unwrap();
    let subject = "Rockwell Automation/Allen-Bradley 1756-EN2T/B 0x00ab12cd";
    assert_eq!(
        change_list(store.as_ref()),
        [
            ("new_asset".into(), "mac:00:1d:9c:c7:b0:6c".into(), None, None),
            (
                "firmware_change".into(),
                subject.into(),
                Some("5.001".into()),
                Some("11.002".into())
            )
        ]
    );
    let change = &store.changes().unwrap()[1];
    let evidence = store.asset_observations(change.asset_id).unwrap();
    let seq_of = |id| evidence.iter().find(|o| o.id == id).map(|o| o.seq);
    assert_eq!(
        (
            seq_of(change.observation_id),
            change.previous_observation_id.and_then(seq_of)
        ),
        (Some(3), Some(2))
    );
    assert_eq!(change.observed_at, Timestamp(300));
    // One after the other: the newest firmware, no conflict.
    let asset = &store.assets().unwrap()[0];
    assert_eq!(asset.attributes["firmware"], "11.002");
    assert!(asset.conflicts.is_empty());
}

/// Every source's claims are kept; two firmwares claimed over the same period are a conflict,
/// the more confident one the best value.
pub fn claims_keep_every_source_and_show_conflicts(engine: &impl Engine) {
    let store = engine.open();
    store
        .ingest(
            &batch("s", 1, vec![claim_of(100, "cip", 90, "5.001")]),
            Timestamp(1),
        )
        .unwrap();
    store
        .ingest(
            &batch("t", 1, vec![claim_of(150, "snmp", 60, "5.002")]),
            Timestamp(2),
        )
        .unwrap();
    store
        .ingest(
            &batch("s", 2, vec![claim_of(200, "cip", 90, "5.001")]),
            Timestamp(3),
        )
        .unwrap();
    let asset = &store.assets().unwrap()[0];
    assert_eq!(asset.attributes["firmware"], "5.001");
    assert_eq!(asset.attributes["vendor"], "Rockwell Automation/Allen-Bradley");
    assert_eq!(asset.conflicts, ["firmware"]);
    let firmware: Vec<(String, String, u8, u64, Timestamp, Timestamp)> = store
        .claims(asset.id)
        .unwrap()
        .into_iter()
        .filter(|c| c.attribute == "firmware")
        .map(|c| {
            (
                c.value,
                c.source,
                c.confidence,
                c.claims,
                c.first_seen,
                c.last_seen,
            )
        })
        .collect();
    assert_eq!(
        firmware,
        [
            (
                "5.001".into(),
                "s/cip".into(),
                90,
                2,
                Timestamp(100),
                Timestamp(200)
            ),
            (
                "5.002".into(),
                "t/snmp".into(),
                60,
                1,
                Timestamp(150),
                Timestamp(150)
            ),
        ]
    );
    // No change record: the values are in conflict, not one after the other.
    let kinds: Vec<String> = store.changes().unwrap().into_iter().map(|c| c.kind).collect();
    assert_eq!(kinds, ["new_asset"]);
}

/// A source claiming a new value for an attribute is an `attribute_change` (a renamed host, an
/// upgraded OS); the same value again, or an older claim arriving late, is not.
pub fn a_new_value_from_the_same_source_is_an_attribute_change(engine: &impl Engine) {
    let store = engine.open();
    let facts = |hostname: &str, os: &str| {
        ObservationBody::HostFacts(HostFacts {
            asset: AssetRef {
                host_id: Some("77aa".into()),
                ..Default::default()
            },
            hostname: hostname.into(),
            os_name: Some(os.into()),
            ..Default::default()
        })
    };
    let reports = [
        (100, "eng-ws-01", "Debian GNU/Linux 11"),
        (200, "eng-ws-01", "Debian GNU/Linux 11"),
        (300, "eng-ws-07", "Debian GNU/Linux 12"),
        (250, "eng-ws-03", "Debian GNU/Linux 12"),
    ];
    for (seq, (at, hostname, os)) in reports.into_iter().enumerate() {
        let b = batch("eng", seq as u64 + 1, vec![obs(at, facts(hostname, os))]);
        store.ingest(&b, Timestamp(1)).unwrap();
    }
    let changes: Vec<(String, String, Option<String>, Option<String>)> = change_list(store.as_ref())
        .into_iter()
        .filter(|c| c.0 == "attribute_change")
        .collect();
    assert_eq!(
        changes,
        [
            (
                "attribute_change".into(),
                "hostname (eng/host)".into(),
                Some("eng-ws-01".into()),
                Some("eng-ws-07".into())
            ),
            (
                "attribute_change".into(),
                "os (eng/host)".into(),
                Some("Debian GNU/Linux 11".into()),
                Some("Debian GNU/Linux 12".into())
            ),
        ]
    );
    assert_eq!(store.assets().unwrap()[0].attributes["hostname"], "eng-ws-07");
}

/// Every asset and service first seen is one change record, however often it is seen again.
pub fn new_assets_and_services_are_changes_once(engine: &impl Engine) {
    let store = engine.open();
    let service = |port| {
        ObservationBody::Service(Service {
            asset: AssetRef {
                ip: Some("10.0.0.7".parse().unwrap()),
                ..Default::default()
            },
            transport: Transport::Tcp,
            port,
            protocol: Some("modbus".into()),
            banner: None,
            bound: None,
            process: None,
            detected_by: Some("port".into()),
        })
    };
    for seq in 1..=3 {
        let observations = vec![
            obs(10, sighting(Some("00:00:bc:00:00:07"), "10.0.0.7")),
            obs(10, service(502)),
        ];
        store
            .ingest(&batch("s", seq, observations), Timestamp(1))
            .unwrap();
    }
    store
        .ingest(&batch("s", 4, vec![obs(20, service(44818))]), Timestamp(2))
        .unwrap();
    assert_eq!(
        change_list(store.as_ref()),
        [
            ("new_asset".into(), "mac:00:00:bc:00:00:07".into(), None, None),
            (
                "new_service".into(),
                "tcp/502 on 10.0.0.7".into(),
                None,
                Some("modbus".into())
            ),
            (
                "new_service".into(),
                "tcp/44818 on 10.0.0.7".into(),
                None,
                Some("modbus".into())
            ),
        ]
    );
    let services: Vec<(u16, Timestamp)> = store.assets().unwrap()[0]
        .services
        .iter()
        .map(|s| (s.port, s.last_seen))
        .collect();
    assert_eq!(services, [(502, Timestamp(10)), (44818, Timestamp(20))]);
}

/// Decisions are kept apart from the change; the latest stands; an unknown change is refused.
pub fn the_latest_decision_on_a_change_stands(engine: &impl Engine) {
    let store = engine.open();
    store
        .ingest(
            &sighting_batch("s", 1, Some("00:00:bc:00:00:01"), "10.0.0.1"),
            Timestamp(1),
        )
        .unwrap();
    let decision = |kind, reference: &str, at| Decision {
        kind,
        reference: reference.into(),
        by: "j.doe".into(),
        at: Timestamp(at),
        comment: String::new(),
    };
    let id = store.changes().unwrap()[0].id;
    assert_eq!(store.changes().unwrap()[0].status, "open");
    store
        .decide(id, &decision(DecisionKind::Acknowledged, "CHG-1", 7))
        .unwrap();
    store
        .decide(id, &decision(DecisionKind::Rejected, "INC-9", 8))
        .unwrap();
    let c = &store.changes().unwrap()[0];
    assert_eq!(
        (
            c.status.as_str(),
            c.reference.as_deref(),
            c.decided_by.as_deref(),
            c.decided_at
        ),
        ("rejected", Some("INC-9"), Some("j.doe"), Some(Timestamp(8)))
    );
    let unknown = store.decide(id + 1000, &decision(DecisionKind::Acknowledged, "x", 9));
    assert!(matches!(unknown, Err(StoreError::NotFound(m)) if m == format!("change {}", id + 1000)));
}

/// Two handles (two collectors) storing the same batches at once, in opposite orders: each batch
/// is stored once, each asset created once.
pub fn concurrent_writers_store_each_batch_once(engine: &impl Engine) {
    let batches: Vec<Envelope> = (1..=40u64)
        .map(|seq| {
            let own = format!("00:00:bc:00:01:{seq:02x}");
            let observations = vec![
                obs(10, sighting(Some(&own), &format!("10.1.0.{seq}"))),
                obs(10, sighting(Some("00:00:0c:9f:f0:01"), "10.1.0.254")),
            ];
            batch(&format!("agent-{}", seq % 4), seq, observations)
        })
        .collect();
    let run = |reverse: bool| {
        let store = engine.open();
        let mut order = batches.clone();
        if reverse {
            order.reverse();
        }
        let mut stored = 0;
        for group in order.chunks(5) {
            for outcome in store.ingest_many(group, Timestamp(1)).unwrap() {
                stored += matches!(outcome, IngestOutcome::Stored { .. }) as usize;
            }
        }
        stored
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run(false));
        let b = s.spawn(|| run(true));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a + b, 40, "stored by the first writer {a}, by the second {b}");
    let store = engine.open();
    let counts = store.counts().unwrap();
    assert_eq!(
        (counts.agents, counts.batches, counts.observations, counts.assets),
        (4, 40, 80, 41)
    );
    let new_assets = store
        .changes()
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == "new_asset")
        .count();
    assert_eq!(new_assets, 41);
    assert_eq!(store.highest_seq("agent-0").unwrap(), 40);
}

/// A flow from `orig` to `resp`:502 starting at `first` ns with `packets` each way of 100 bytes.
fn flow(orig: &str, resp: &str, first: i64, packets: u64) -> ObservationBody {
    let endpoint = |ip: &str, port| shoko_proto::Endpoint {
        ip: ip.parse().unwrap(),
        port,
        mac: None,
    };
    ObservationBody::FlowSummary(shoko_proto::FlowSummary {
        vlan: Some(10),
        transport: Transport::Tcp,
        ip_proto: 6,
        orig: endpoint(orig, 40_000),
        resp: endpoint(resp, 502),
        orig_packets: packets,
        orig_bytes: packets * 100,
        resp_packets: packets,
        resp_bytes: packets * 100,
        first_seen: Timestamp(first),
        last_seen: Timestamp(first + 1_000),
        app_protocol: Some("modbus".into()),
        history: None,
        orig_payload_bytes: 0,
        resp_payload_bytes: 0,
        state: None,
    })
}

/// Flows add up per hour and conversation across batches; an asset's page sums its
/// conversations over the hours, each way.
pub fn flows_are_summed_per_hour_and_conversation(engine: &impl Engine) {
    use crate::fuse::flows::HOUR_NS;
    let store = engine.open();
    let (hmi, plc, eng) = ("10.0.0.9", "10.0.0.5", "10.0.0.20");
    let first = vec![
        obs(1, sighting(Some("00:00:bc:00:00:05"), plc)),
        obs(1, flow(hmi, plc, 10, 2)),
        obs(1, flow(hmi, plc, 20, 3)),
    ];
    store.ingest(&batch("s", 1, first), Timestamp(1)).unwrap();
    let second = vec![
        obs(1, flow(hmi, plc, 30, 5)),
        obs(1, flow(eng, plc, HOUR_NS + 5, 1)),
    ];
    store.ingest(&batch("s", 2, second), Timestamp(2)).unwrap();
    let rows: Vec<(i64, String, i64, i64, i64, i64, i64)> = store
        .flow_hours(&[plc.to_string()])
        .unwrap()
        .into_iter()
        .map(|(k, t)| {
            (
                k.hour,
                k.orig_ip,
                t.flows,
                t.packets,
                t.bytes,
                t.first_seen,
                t.last_seen,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (0, hmi.to_string(), 3, 20, 2_000, 10, 1_030),
            (HOUR_NS, eng.to_string(), 1, 2, 200, HOUR_NS + 5, HOUR_NS + 1_005)
        ]
    );
    let id = store.assets().unwrap()[0].id;
    let detail = super::AssetDetail::read(store.as_ref(), id).unwrap();
    let flows: Vec<(&str, &str, u16, i64, i64)> = detail
        .flows
        .iter()
        .map(|c| (c.direction, c.peer.as_str(), c.port, c.flows, c.bytes))
        .collect();
    assert_eq!(flows, [("in", hmi, 502, 3, 2_000), ("in", eng, 502, 1, 200)]);
    assert_eq!(detail.flows[0].app_protocol.as_deref(), Some("modbus"));
    assert_eq!(detail.flows[0].vlan, Some(10));
}

/// A baseline keeps the inventory it approved; drift names unknown, missing and changed assets.
pub fn drift_from_the_latest_baseline(engine: &impl Engine) {
    use crate::baseline::{approve, latest_drift};
    use crate::filter::AssetFilter;
    let store = engine.open();
    let none = latest_drift(
        store.as_ref(),
        Timestamp(1_000),
        std::time::Duration::from_nanos(500),
    );
    assert!(matches!(none, Err(StoreError::NotFound(_))), "{none:?}");
    let first = vec![
        plc_claim(100, "5.001"),
        obs(100, sighting(Some("00:00:bc:00:00:07"), "10.0.0.7")),
        obs(100, sighting(Some("00:00:bc:00:00:08"), "10.0.0.8")),
    ];
    store.ingest(&batch("s", 1, first), Timestamp(1)).unwrap();
    let scope = AssetFilter {
        text: Some("10.0.0.".into()),
        ..Default::default()
    };
    let approved = approve(store.as_ref(), "commissioning", "j.doe", "FAT", scope.clone()).unwrap();
    assert_eq!((approved.assets, approved.name.as_str()), (3, "commissioning"));
    let listed = store.baselines().unwrap();
    assert_eq!(listed, std::slice::from_ref(&approved));
    assert_eq!(listed[0].scope, scope);
    // Nothing drifted yet.
    let window = std::time::Duration::from_nanos(1_000);
    assert!(
        latest_drift(store.as_ref(), Timestamp(1_000), window)
            .unwrap()
            .is_empty()
    );
    // The PLC gets new firmware and a service, a new device appears; the others stay quiet.
    let service = ObservationBody::Service(Service {
        asset: AssetRef {
            ip: Some("10.0.0.5".parse().unwrap()),
            ..Default::default()
        },
        transport: Transport::Tcp,
        port: 2222,
        protocol: None,
        banner: None,
        bound: None,
        process: None,
        detected_by: None,
    });
    let later = vec![
        plc_claim(2_000, "5.002"),
        obs(2_000, service),
        obs(2_000, sighting(Some("00:00:bc:00:00:09"), "10.0.0.9")),
    ];
    store.ingest(&batch("s", 2, later), Timestamp(2)).unwrap();
    let drift = latest_drift(store.as_ref(), Timestamp(2_500), window).unwrap();
    assert_eq!(drift.baseline.id, approved.id);
    let keys = |v: &[crate::baseline::AssetRefView]| v.iter().map(|a| a.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&drift.unknown), ["mac:00:00:bc:00:00:09"]);
    // Seen last at 20 (the sightings' last packet), before 2,500 - 1,000.
    assert_eq!(
        keys(&drift.missing),
        ["mac:00:00:bc:00:00:07", "mac:00:00:bc:00:00:08"]
    );
    let changed: Vec<(String, Option<String>, Option<String>)> = drift
        .changed
        .into_iter()
        .map(|d| (d.what, d.baseline, d.current))
        .collect();
    assert_eq!(
        changed,
        [
            (
                "attribute:firmware".into(),
                Some("5.001".into()),
                Some("5.002".into())
            ),
            ("service".into(), None, Some("tcp/2222 on 10.0.0.5".into())),
        ]
    );
}

/// Retention deletes the observations received long ago that nothing refers to, keeps the
/// evidence of changes, identities and claims and everything received since, and leaves the
/// hourly flow totals and the batch records (a re-send is still a duplicate).
pub fn retention_keeps_the_evidence_records_refer_to(engine: &impl Engine) {
    use super::PruneReport;
    let store = engine.open();
    let (hmi, plc) = ("10.0.0.9", "10.0.0.5");
    let old = vec![
        obs(100, sighting(Some("00:00:bc:00:00:07"), "10.0.0.7")),
        obs(100, flow(hmi, plc, 100, 1)),
        plc_claim(100, "5.001"),
    ];
    store.ingest(&batch("s", 1, old), Timestamp(1)).unwrap();
    let again = vec![
        obs(200, sighting(Some("00:00:bc:00:00:07"), "10.0.0.7")),
        obs(200, flow(hmi, plc, 200, 1)),
    ];
    store.ingest(&batch("s", 2, again), Timestamp(2)).unwrap();
    // Observed as long ago, received later.
    let late = batch("s", 3, vec![obs(300, flow(hmi, plc, 300, 1))]);
    store.ingest(&late, Timestamp(5_000)).unwrap();
    let report = store.prune_observations(Timestamp(1_000)).unwrap();
    assert_eq!(
        report,
        PruneReport {
            deleted: 3,
            skipped: false
        }
    );
    let kept: Vec<(u64, String)> = (1..=2)
        .flat_map(|id| store.asset_observations(id).unwrap())
        .map(|o| (o.seq, o.kind))
        .collect();
    assert_eq!(kept, [(1, "asset_sighting".into()), (1, "identity_claim".into())]);
    assert_eq!(store.counts().unwrap().observations, 3);
    let flows: i64 = store
        .flow_hours(&[plc.to_string()])
        .unwrap()
        .iter()
        .map(|(_, t)| t.flows)
        .sum();
    assert_eq!(flows, 3);
    assert_eq!(store.prune_observations(Timestamp(1_000)).unwrap().deleted, 0);
    let chain = crate::evidence::chain::verify(&*store, |_, _| ()).unwrap();
    assert_eq!((chain.batches, chain.observations, chain.pruned), (3, 3, 3));
    assert!(chain.intact(), "{:?}", chain.problems);
    let resent = batch("s", 2, vec![obs(200, flow(hmi, plc, 200, 1))]);
    let outcome = store.ingest(&resent, Timestamp(6_000)).unwrap();
    assert_eq!(outcome, IngestOutcome::Duplicate { highest: 3 });
}

/// A host's software: its first inventory is no change; a package added later is `new_software`,
/// a new version `software_change`, an older report arriving late nothing. A protocol event that
/// changes a device (a PLC stop) is a change of its target; a register write is not.
pub fn software_and_device_changing_events_are_changes(engine: &impl Engine) {
    use shoko_proto::{ProtocolEvent, Severity};
    let store = engine.open();
    let host = AssetRef {
        host_id: Some("77aa".into()),
        ..Default::default()
    };
    let package = |name: &str, version: &str| {
        ObservationBody::SoftwareItem(SoftwareItem {
            asset: host.clone(),
            name: name.into(),
            version: Some(version.into()),
            source: "dpkg".into(),
            purl: Some(format!("pkg:deb/debian/{name}@{version}")),
            ..Default::default()
        })
    };
    let first = vec![
        obs(100, package("openssl", "3.0.11-1")),
        obs(100, package("bash", "5.2.15-2")),
    ];
    store.ingest(&batch("h", 1, first), Timestamp(1)).unwrap();
    let later = vec![
        obs(200, package("openssl", "3.0.13-1")),
        obs(200, package("netcat", "1.10-47")),
    ];
    store.ingest(&batch("h", 2, later), Timestamp(2)).unwrap();
    store
        .ingest(
            &batch("h", 3, vec![obs(50, package("bash", "5.1-6"))]),
            Timestamp(3),
        )
        .unwrap();
    let event = |kind: &str, severity| {
        ObservationBody::ProtocolEvent(ProtocolEvent {
            protocol: "s7comm".into(),
            kind: kind.into(),
            severity,
            actor: Some(AssetRef {
                ip: Some("10.0.0.20".parse().unwrap()),
                ..Default::default()
            }),
            target: Some(AssetRef {
                ip: Some("10.0.0.5".parse().unwrap()),
                ..Default::default()
            }),
            details: Default::default(),
        })
    };
    let ops = vec![
        obs(300, event("write", Severity::Medium)),
        obs(300, event("plc_stop", Severity::High)),
    ];
    store.ingest(&batch("s", 1, ops), Timestamp(4)).unwrap();
    let changes: Vec<(String, String, Option<String>, Option<String>)> = change_list(store.as_ref())
        .into_iter()
        .filter(|c| c.0 != "new_asset")
        .collect();
    assert_eq!(
        changes,
        [
            (
                "software_change".into(),
                "openssl (dpkg)".into(),
                Some("3.0.11-1".into()),
                Some("3.0.13-1".into())
            ),
            (
                "new_software".into(),
                "netcat (dpkg)".into(),
                None,
                Some("1.10-47".into())
            ),
            (
                "protocol_event".into(),
                "s7comm plc_stop from 10.0.0.20".into(),
                None,
                None
            ),
        ]
    );
    let plc = store
        .assets()
        .unwrap()
        .into_iter()
        .find(|a| a.key == "ip:-:10.0.0.5")
        .unwrap();
    assert_eq!(store.changes().unwrap().last().unwrap().asset_id, plc.id);
    let software: Vec<(String, Option<String>)> = store
        .asset_software(1)
        .unwrap()
        .into_iter()
        .map(|w| (w.name, w.version))
        .collect();
    assert_eq!(
        software,
        [
            ("bash".into(), Some("5.2.15-2".into())),
            ("netcat".into(), Some("1.10-47".into())),
            ("openssl".into(), Some("3.0.13-1".into()))
        ]
    );
}

/// An asset last seen before the limit is an `asset_not_seen` change with its newest observation
/// as evidence, once; seen again and absent again, it is another.
pub fn an_asset_not_seen_for_a_while_is_a_change_once_per_absence(engine: &impl Engine) {
    let store = engine.open();
    let seen = |seq, at| {
        let mut b = batch(
            "s",
            seq,
            vec![obs(at, sighting(Some("00:00:bc:00:00:07"), "10.0.0.7"))],
        );
        if let ObservationBody::AssetSighting(s) = &mut b.observations[0].body {
            s.first_seen = Timestamp(at);
            s.last_seen = Timestamp(at);
        }
        b
    };
    store.ingest(&seen(1, 100), Timestamp(1)).unwrap();
    store
        .ingest(
            &sighting_batch("s", 2, Some("00:00:bc:00:00:08"), "10.0.0.8"),
            Timestamp(2),
        )
        .unwrap();
    // Seen at 100 and at 20: by 50 only the second is absent.
    assert_eq!(
        store.record_not_seen(Timestamp(50), Timestamp(1_000)).unwrap(),
        Some(1)
    );
    assert_eq!(
        store.record_not_seen(Timestamp(50), Timestamp(1_100)).unwrap(),
        Some(0)
    );
    assert_eq!(
        store.record_not_seen(Timestamp(500), Timestamp(1_200)).unwrap(),
        Some(1)
    );
    store.ingest(&seen(3, 2_000), Timestamp(3)).unwrap();
    // The second is still in the same absence: only the first is recorded again.
    assert_eq!(
        store.record_not_seen(Timestamp(5_000), Timestamp(6_000)).unwrap(),
        Some(1)
    );
    let absences: Vec<(String, Timestamp)> = store
        .changes()
        .unwrap()
        .into_iter()
        .filter(|c| c.kind == "asset_not_seen")
        .map(|c| (c.subject, c.observed_at))
        .collect();
    assert_eq!(
        absences,
        [
            ("mac:00:00:bc:00:00:08".into(), Timestamp(1_000)),
            ("mac:00:00:bc:00:00:07".into(), Timestamp(1_200)),
            ("mac:00:00:bc:00:00:07".into(), Timestamp(6_000)),
        ]
    );
}

/// A host's second interface, seen by the sensor as an asset of its own, is merged with the host
/// (the older asset survives, with everything of both); its MAC keeps naming the survivor. Two
/// MACs whose own identity claims one vendor and serial are one device; placeholder serials merge
/// nothing.
pub fn a_hosts_second_interface_and_a_shared_serial_merge_assets(engine: &impl Engine) {
    let store = engine.open();
    let (eth0, eth1) = ("00:50:56:94:71:5e", "00:50:56:94:71:5f");
    store
        .ingest(
            &sighting_batch("sensor-1", 1, Some(eth1), "10.20.0.5"),
            Timestamp(1),
        )
        .unwrap();
    let nic = |name: &str, mac: &str, addr: &str| HostInterface {
        name: name.into(),
        mac: Some(mac.parse().unwrap()),
        addresses: vec![addr.into()],
        wireless: false,
    };
    let facts = ObservationBody::HostFacts(HostFacts {
        asset: AssetRef {
            host_id: Some("4b6f".into()),
            ..Default::default()
        },
        hostname: "hist-01".into(),
        interfaces: vec![
            nic("eth0", eth0, "10.10.1.10/24"),
            nic("eth1", eth1, "10.20.0.5/24"),
        ],
        ..Default::default()
    });
    store
        .ingest(&batch("hist-01", 1, vec![obs(30, facts)]), Timestamp(2))
        .unwrap();
    store
        .ingest(
            &sighting_batch("sensor-1", 2, Some(eth0), "10.10.1.10"),
            Timestamp(3),
        )
        .unwrap();
    let assets = store.assets().unwrap();
    assert_eq!(assets.len(), 1, "{assets:#?}");
    let host = &assets[0];
    assert_eq!((host.id, host.key.as_str()), (1, "mac:00:50:56:94:71:5f"));
    assert_eq!(host.attributes["hostname"], "hist-01");
    let ips: Vec<String> = host.ips.iter().map(ToString::to_string).collect();
    assert_eq!(ips, ["10.10.1.10", "10.20.0.5"]);
    let evidence: Vec<(String, u64)> = store
        .asset_observations(1)
        .unwrap()
        .into_iter()
        .map(|o| (o.agent_id, o.seq))
        .collect();
    assert_eq!(
        evidence,
        [
            ("sensor-1".into(), 1),
            ("hist-01".into(), 1),
            ("sensor-1".into(), 2)
        ]
    );
    let merged: Vec<(String, Option<String>, Option<String>)> = change_list(store.as_ref())
        .into_iter()
        .filter(|c| c.0 == "assets_merged")
        .map(|c| (c.1, c.2, c.3))
        .collect();
    assert_eq!(
        merged,
        [(
            "mac:00:50:56:94:71:5e is mac:00:50:56:94:71:5f: interface of host 4b6f".into(),
            Some("mac:00:50:56:94:71:5e".into()),
            Some("mac:00:50:56:94:71:5f".into())
        )]
    );
    assert_eq!(store.counts().unwrap().assets, 1);

    // One PLC answering on two ports: the same vendor and serial on two MACs.
    let claim = |mac: &str, ip: &str, serial: &str| {
        obs(
            50,
            ObservationBody::IdentityClaim(IdentityClaim {
                asset: AssetRef {
                    mac: Some(mac.parse().unwrap()),
                    ip: Some(ip.parse().unwrap()),
                    ..Default::default()
                },
                identity: Identity {
                    protocol: "s7comm".into(),
                    vendor: Some("Siemens".into()),
                    product: Some("6ES7 315-2EH14-0AB0".into()),
                    serial: Some(serial.into()),
                    ..Default::default()
                },
            }),
        )
    };
    let plcs = vec![
        claim("00:1b:1b:00:00:01", "10.0.0.11", "S C-X4U421302009"),
        claim("00:1b:1b:00:00:02", "10.0.1.11", "S C-X4U421302009"),
        claim("00:1b:1b:00:00:03", "10.0.0.12", "00000000"),
        claim("00:1b:1b:00:00:04", "10.0.1.12", "00000000"),
    ];
    store.ingest(&batch("sensor-1", 3, plcs), Timestamp(4)).unwrap();
    let keys: Vec<(String, Vec<String>)> = store
        .assets()
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|a| (a.key, a.ips.iter().map(ToString::to_string).collect()))
        .collect();
    assert_eq!(
        keys,
        [
            (
                "mac:00:1b:1b:00:00:01".into(),
                vec!["10.0.0.11".into(), "10.0.1.11".into()]
            ),
            ("mac:00:1b:1b:00:00:03".into(), vec!["10.0.0.12".into()]),
            ("mac:00:1b:1b:00:00:04".into(), vec!["10.0.1.12".into()]),
        ]
    );
}

/// Attestations are stored apart with who and when, listed oldest first, and revoked (once) rather
/// than deleted.
pub fn attestations_are_kept_and_revoked_not_deleted(engine: &impl Engine) {
    use crate::assess::attest::{AttestationKind, NewAttestation};
    use crate::assess::catalog::Catalog;
    let store = engine.open();
    let catalog = Catalog::embedded();
    let mitigation = NewAttestation::mitigation(
        "vulnerability:CVE-2022-1161",
        "PLC mode switch in RUN, engineering port blocked at the cell firewall",
        "2027-06-30",
        ("a.owner", Timestamp(10)),
    )
    .unwrap();
    let na = NewAttestation::not_applicable(
        &catalog,
        "NET 2",
        "no wireless in the plant",
        ("a.owner", Timestamp(11)),
    )
    .unwrap();
    let first = store.attest(&mitigation).unwrap();
    let second = store.attest(&na).unwrap();
    assert!(second > first);
    store
        .revoke_attestation(first, "auditor", Timestamp(20), "firewall rule removed")
        .unwrap();
    let again = store.revoke_attestation(first, "auditor", Timestamp(21), "twice");
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
    let listed = store.attestations().unwrap();
    let kinds: Vec<(AttestationKind, &str)> = listed
        .iter()
        .map(|a| (a.statement.kind, a.statement.scope.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (AttestationKind::Mitigation, "vulnerability:CVE-2022-1161"),
            (AttestationKind::NotApplicable, "NET 2")
        ]
    );
    let revoked: Vec<(Option<&str>, Option<&str>, Option<Timestamp>)> = listed
        .iter()
        .map(|a| {
            (
                a.statement.expires.as_deref(),
                a.revoked_by.as_deref(),
                a.revoked_at,
            )
        })
        .collect();
    assert_eq!(
        revoked,
        [
            (Some("2027-06-30"), Some("auditor"), Some(Timestamp(20))),
            (None, None, None)
        ]
    );
    assert_eq!(
        (listed[1].attested_by.as_str(), listed[1].attested_at),
        ("a.owner", Timestamp(11))
    );
    assert_eq!(listed[0].revoke_reason.as_deref(), Some("firewall rule removed"));
}

/// Every stored batch is sealed into its agent's chain: an intact store verifies, and editing an
/// observation, deleting one, altering a batch record or deleting an agent's newest batch are
/// each named.
pub fn the_hash_chain_names_every_edit(engine: &impl Engine) {
    use crate::evidence::chain::verify;
    let store = engine.open();
    for seq in 1..=3 {
        let observations = vec![
            obs(10, sighting(Some("00:00:bc:00:00:01"), "10.0.0.1")),
            obs(10, sighting(Some("00:00:bc:00:00:02"), "10.0.0.2")),
        ];
        store
            .ingest(&batch("a", seq, observations), Timestamp(seq as i64))
            .unwrap();
    }
    store
        .ingest(&sighting_batch("b", 1, None, "10.0.0.3"), Timestamp(9))
        .unwrap();
    let problems = |store: &dyn Store| -> Vec<(String, Option<u64>, String)> {
        let report = verify(store, |_, _| ()).unwrap();
        report
            .problems
            .into_iter()
            .map(|p| (p.agent_id, p.seq, p.what))
            .collect()
    };
    let report = verify(&*store, |_, _| ()).unwrap();
    assert_eq!((report.agents, report.batches, report.observations), (2, 4, 7));
    assert!(report.intact(), "{:?}", report.problems);
    assert_eq!(
        report.heads.iter().map(|h| h.position).collect::<Vec<_>>(),
        [3, 1]
    );
    assert_eq!(report.heads[0].digest.len(), 64);

    engine.execute("UPDATE observations SET observed_at = 11 WHERE agent_id = 'a' AND seq = 2 AND idx = 1");
    assert_eq!(
        problems(&*store),
        [(
            "a".into(),
            Some(2),
            "observation 1 was altered (asset_sighting)".into()
        )]
    );
    engine.execute("DELETE FROM observations WHERE agent_id = 'a' AND seq = 2 AND idx = 1");
    assert_eq!(
        problems(&*store),
        [(
            "a".into(),
            Some(2),
            "1 observations missing (first: 1) in a batch retention has not reached".into()
        )]
    );
    // Made to look older than the retention cut-off, and cut short.
    engine.execute(
        "UPDATE batches SET received_at = 0, observation_count = 1 WHERE agent_id = 'a' AND seq = 2",
    );
    engine.execute("INSERT INTO store_marks (name, value) VALUES ('pruned_before', 5)");
    assert_eq!(
        problems(&*store),
        [
            (
                "a".into(),
                Some(2),
                "the batch's digest does not match its record (batch record altered)".into()
            ),
            (
                "a".into(),
                Some(2),
                "64 leaf bytes for 1 observations (batch record altered)".into()
            )
        ]
    );
    engine.execute("DELETE FROM batches WHERE agent_id = 'b'");
    assert_eq!(
        problems(&*store).last().unwrap(),
        &(
            "b".to_string(),
            None,
            "1 stored batches but the chain ends at position 0 (batches deleted or unsealed)".to_string()
        )
    );
}

/// `verify-store` beside a running collector: a batch stored and observations pruned while it
/// reads are not tampering; a batch put beyond an agent's head behind the store's back is.
pub fn verifying_beside_a_running_collector_finds_nothing_wrong(engine: &impl Engine) {
    use crate::evidence::chain::verify;
    let store = engine.open();
    let (hmi, plc) = ("10.0.0.5", "10.0.0.9");
    let flows = |at| vec![obs(at, flow(hmi, plc, at, 1)), obs(at, flow(plc, hmi, at, 1))];
    store.ingest(&batch("a", 1, flows(1)), Timestamp(1)).unwrap();
    store.ingest(&batch("b", 1, flows(2)), Timestamp(2)).unwrap();
    // Once agent a is checked, agent b stores a batch and retention deletes batch 1's flows.
    let report = verify(&*store, |done, _| {
        if done == 1 {
            store.ingest(&batch("b", 2, flows(10)), Timestamp(10)).unwrap();
            assert_eq!(store.prune_observations(Timestamp(5)).unwrap().deleted, 4);
        }
    })
    .unwrap();
    assert!(report.intact(), "{:?}", report.problems);
    assert_eq!(
        (report.agents, report.batches, report.observations, report.pruned),
        (2, 2, 2, 2)
    );
    assert_eq!(
        report
            .heads
            .iter()
            .map(|h| (h.agent_id.as_str(), h.position))
            .collect::<Vec<_>>(),
        [("a", 1), ("b", 1)]
    );
    assert!(verify(&*store, |_, _| ()).unwrap().intact());

    // A copy of b's newest batch after it, linked to it, that the agent's head does not count.
    engine.execute(
        "INSERT INTO batches (agent_id, seq, protocol_version, sent_at, received_at, observation_count, chain_pos, prev_digest, digest, leaves)
         SELECT agent_id, 3, protocol_version, sent_at, received_at, observation_count, chain_pos + 1, digest, digest, leaves
         FROM batches WHERE agent_id = 'b' AND seq = 2",
    );
    let problems: Vec<(String, Option<u64>, String)> = verify(&*store, |_, _| ())
        .unwrap()
        .problems
        .into_iter()
        .map(|p| (p.agent_id, p.seq, p.what))
        .collect();
    assert_eq!(
        problems,
        [(
            "b".into(),
            Some(3),
            "a batch at position 3 beyond the agent's chain head (inserted)".into()
        )]
    );
}

/// Users with roles, API tokens and sessions authenticate until revoked, expired or their user
/// is disabled; a wrong password, a duplicate user or an unknown role are refused; every write
/// and every login attempt is in the audit log, newest first.
pub fn users_tokens_sessions_and_the_audit_log(engine: &impl Engine) {
    use crate::access::records::NewCredential;
    use crate::access::{AccessError, Accounts, Role, secret_digest};
    let store = engine.open();
    let accounts = Accounts::new(&*store);
    let ada = accounts
        .add_user("ada", "admin", "correct horse battery", "cli:root", "cli")
        .unwrap();
    accounts
        .add_user("otto", "operator", "operator password", "cli:root", "cli")
        .unwrap();
    assert!(matches!(
        accounts.add_user("ada", "auditor", "another password", "cli:root", "cli"),
        Err(AccessError::Invalid(_))
    ));
    assert!(matches!(
        accounts.add_user("eve", "root", "another password", "cli:root", "cli"),
        Err(AccessError::Invalid(_))
    ));
    assert!(matches!(
        accounts.add_user("eve", "auditor", "short", "cli:root", "cli"),
        Err(AccessError::Invalid(_))
    ));

    let (token_id, token) = accounts
        .create_token("ada", "ci", Some(30), "cli:root", "cli")
        .unwrap();
    let who = accounts.authenticate(&token).unwrap().unwrap();
    assert_eq!(
        (who.user.as_str(), who.role, who.credential_id),
        ("ada", Role::Admin, token_id)
    );
    assert_eq!(accounts.authenticate("shoko_0000").unwrap(), None);
    assert_eq!(accounts.authenticate(&token[1..]).unwrap(), None);

    let checks = prometheus_client::metrics::counter::Counter::default();
    let verifier = &mut crate::access::password::Verifier::new(checks.clone());
    assert!(matches!(
        accounts.login("otto", "wrong password!", "10.0.0.9", verifier),
        Err(AccessError::LoginFailed)
    ));
    let (session, _) = accounts
        .login("otto", "operator password", "10.0.0.9", verifier)
        .unwrap();
    assert_eq!(
        accounts.authenticate(&session).unwrap().unwrap().role,
        Role::Operator
    );

    accounts.revoke(token_id, "user:ada", "10.0.0.1").unwrap();
    assert_eq!(accounts.authenticate(&token).unwrap(), None);
    assert!(matches!(
        accounts.revoke(token_id, "user:ada", "10.0.0.1"),
        Err(AccessError::Store(StoreError::NotFound(_)))
    ));
    accounts.disable_user("otto", "user:ada", "10.0.0.1").unwrap();
    assert_eq!(accounts.authenticate(&session).unwrap(), None);
    assert!(matches!(
        accounts.login("otto", "operator password", "10.0.0.9", verifier),
        Err(AccessError::LoginFailed)
    ));
    // A disabled user, an unknown one: one verification each, like any other attempt.
    assert!(matches!(
        accounts.login("nobody", "operator password", "10.0.0.9", verifier),
        Err(AccessError::LoginFailed)
    ));
    assert_eq!(checks.get(), 4);

    // An expired credential.
    store
        .save_credential(&NewCredential {
            kind: "token".into(),
            name: "old".into(),
            user_id: ada,
            secret_sha256: secret_digest("shoko_expired"),
            created_at: Timestamp(1),
            expires_at: Some(Timestamp(2)),
        })
        .unwrap();
    assert_eq!(accounts.authenticate("shoko_expired").unwrap(), None);

    let log: Vec<(String, String, String)> = store
        .audit_log(100)
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action, e.source))
        .collect();
    let e = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        log,
        [
            e("user:nobody", "login_failed", "10.0.0.9"),
            e("user:otto", "login_failed", "10.0.0.9"),
            e("user:ada", "user_disabled", "10.0.0.1"),
            e("user:ada", "credential_revoked", "10.0.0.1"),
            e("user:otto", "login", "10.0.0.9"),
            e("user:otto", "login_failed", "10.0.0.9"),
            e("cli:root", "token_created", "cli"),
            e("cli:root", "user_added", "cli"),
            e("cli:root", "user_added", "cli"),
        ]
    );
    let users: Vec<(String, String, bool)> = store
        .users()
        .unwrap()
        .into_iter()
        .map(|u| (u.name, u.role, u.disabled_at.is_some()))
        .collect();
    assert_eq!(
        users,
        [
            ("ada".into(), "admin".into(), false),
            ("otto".into(), "operator".into(), true)
        ]
    );
    let kinds: Vec<(String, bool)> = store
        .credentials()
        .unwrap()
        .into_iter()
        .map(|c| (c.kind, c.revoked_at.is_some()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("token".into(), true),
            ("session".into(), false),
            ("token".into(), false)
        ]
    );
}

/// What a period observed is found by capture time, and how it was received by the batch's
/// receipt: late (retrospective) and future observations are counted, nothing is interpolated
/// between two sightings, and an agent's clock offset is recorded once it has delivered.
pub fn capture_and_receipt_times_are_both_kept(engine: &impl Engine) {
    let store = engine.open();
    const DAY: i64 = 86_400_000_000_000;
    // The same device seen on day 1 (received on day 1) and on day 700 (received on day 700),
    // another seen on day 3 but delivered on day 20, one captured on day 40 by a clock a day fast
    // (received on day 39).
    let sighted = |seq, mac: &str, ip: &str, day: i64| {
        batch(
            "a1",
            seq,
            vec![
                obs(day * DAY, sighting(Some(mac), ip)),
                obs(day * DAY, ObservationBody::AgentTelemetry(Default::default())),
            ],
        )
    };
    store
        .ingest(
            &sighted(1, "00:00:bc:00:00:01", "10.0.0.1", 1),
            Timestamp(DAY + 60),
        )
        .unwrap();
    store
        .ingest(
            &sighted(2, "00:00:bc:00:00:01", "10.0.0.1", 700),
            Timestamp(700 * DAY + 60),
        )
        .unwrap();
    store
        .ingest(
            &sighted(3, "00:00:bc:00:00:02", "10.0.0.2", 3),
            Timestamp(20 * DAY),
        )
        .unwrap();
    store
        .ingest(
            &sighted(4, "00:00:bc:00:00:03", "10.0.0.3", 40),
            Timestamp(39 * DAY),
        )
        .unwrap();
    let id = |ip: &str| {
        store
            .assets()
            .unwrap()
            .into_iter()
            .find(|a| a.ips.iter().any(|x| x.to_string() == ip))
            .unwrap()
            .id
    };
    let (first, late, fast) = (id("10.0.0.1"), id("10.0.0.2"), id("10.0.0.3"));
    let between = |a: i64, b: i64| {
        store
            .assets_observed_between(Timestamp(a * DAY), Timestamp(b * DAY))
            .unwrap()
    };
    assert_eq!(between(0, 7), [first, late].into());
    assert_eq!(
        between(7, 14),
        BTreeSet::new(),
        "no sighting between day 1 and day 700"
    );
    assert_eq!(between(350, 357), BTreeSet::new());
    assert_eq!(between(699, 706), [first].into());
    assert_eq!(between(35, 42), [fast].into());
    // The first week: two observations (telemetry aside), one received after the week's end plus
    // 48 hours. The sixth: one, captured a day after it was received.
    let window = |end: i64| ReceiptWindow {
        late_after: Timestamp(end * DAY + 2 * DAY),
        future_ns: 300_000_000_000,
    };
    let receipt = |a: i64, b: i64| {
        store
            .receipt_between(Timestamp(a * DAY), Timestamp(b * DAY), window(b))
            .unwrap()
    };
    assert_eq!(
        receipt(0, 7),
        Receipt {
            observations: 2,
            late: 1,
            future: 0,
            days: 2
        }
    );
    assert_eq!(
        receipt(35, 42),
        Receipt {
            observations: 1,
            late: 0,
            future: 1,
            days: 1
        }
    );
    assert_eq!(receipt(7, 14), Receipt::default());
    assert_eq!(
        store
            .agents_reporting_between(Timestamp(19 * DAY), Timestamp(21 * DAY))
            .unwrap(),
        ["a1".to_string()].into()
    );
    assert!(
        store
            .agents_reporting_between(Timestamp(100 * DAY), Timestamp(107 * DAY))
            .unwrap()
            .is_empty()
    );
    store.record_clock("a1", -DAY, Timestamp(40 * DAY)).unwrap();
    store
        .record_clock("never-delivered", 5, Timestamp(40 * DAY))
        .unwrap();
    let agents: Vec<(String, Option<i64>, Option<Timestamp>)> = store
        .agents()
        .unwrap()
        .into_iter()
        .map(|a| (a.agent_id, a.clock_offset_ns, a.clock_measured_at))
        .collect();
    assert_eq!(
        agents,
        [("a1".to_string(), Some(-DAY), Some(Timestamp(40 * DAY)))]
    );
}
