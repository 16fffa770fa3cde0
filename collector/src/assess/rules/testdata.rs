//! Observations and stores for the rules' tests.

use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use shoko_proto::{
    AssetRef, AssetSighting, Endpoint, Envelope, FlowSummary, Observation, ObservationBody, ParserRef,
    Provenance, Service, Source, Timestamp, Transport,
};

/// An observation made at 10 ns.
pub fn obs(body: ObservationBody) -> Observation {
    Observation {
        provenance: Provenance {
            source: Source::Agent,
            parser: ParserRef::new("test", "1"),
            observed_at: Timestamp(10),
            evidence: Default::default(),
        },
        body,
    }
}

/// One flow from `orig` (port 40000) to `resp`:`port`, seen from 10 to 20 ns.
pub fn flow(orig: &str, resp: &str, transport: Transport, port: u16) -> Observation {
    let end = |ip: &str, port| Endpoint {
        ip: ip.parse().unwrap(),
        port,
        mac: None,
    };
    obs(ObservationBody::FlowSummary(FlowSummary {
        vlan: None,
        transport,
        ip_proto: if transport == Transport::Udp { 17 } else { 6 },
        orig: end(orig, 40_000),
        resp: end(resp, port),
        orig_packets: 1,
        orig_bytes: 60,
        resp_packets: 1,
        resp_bytes: 60,
        first_seen: Timestamp(10),
        last_seen: Timestamp(20),
        app_protocol: None,
        history: None,
        orig_payload_bytes: 0,
        resp_payload_bytes: 0,
        state: None,
    }))
}

/// A sighting of `mac` with `ip`, of a device `class` when given.
pub fn sighting(mac: &str, ip: &str, class: Option<&str>) -> Observation {
    obs(ObservationBody::AssetSighting(AssetSighting {
        mac: Some(mac.parse().unwrap()),
        ips: vec![ip.parse().unwrap()],
        first_seen: Timestamp(10),
        last_seen: Timestamp(20),
        class: class.map(str::to_string),
        ..Default::default()
    }))
}

/// A service of `ip` recognised by content.
pub fn service(ip: &str, transport: Transport, port: u16, protocol: &str) -> Observation {
    obs(ObservationBody::Service(Service {
        asset: AssetRef {
            ip: Some(ip.parse().unwrap()),
            ..Default::default()
        },
        transport,
        port,
        protocol: Some(protocol.into()),
        banner: None,
        bound: None,
        process: None,
        detected_by: Some("content".into()),
    }))
}

/// A new SQLite store holding the observations (one batch), and the directory keeping it.
pub fn store_with(observations: Vec<Observation>) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let batch = Envelope {
        protocol_version: 1,
        agent_id: "s".into(),
        seq: 1,
        sent_at: Timestamp(1),
        observations,
    };
    store.ingest(&batch, Timestamp(1)).unwrap();
    (dir, store)
}
