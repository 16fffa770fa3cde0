//! Observations and stores for the rules' tests.

use super::{Finding, Inputs, Observed, Outcome, Period};
use crate::assess::catalog::Catalog;
use crate::assess::declared::Declared;
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

/// A store holding observations, the embedded catalog and declared zones: what rules read.
pub struct Plant {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    catalog: Catalog,
    declared: Option<Declared>,
}

impl Plant {
    /// The observations stored, against `zones` (a zones.toml text) when given.
    pub fn new(observations: Vec<Observation>, zones: Option<&str>) -> Self {
        let (_dir, store) = store_with(observations);
        Plant {
            _dir,
            store,
            catalog: Catalog::embedded(),
            declared: zones.map(|z| Declared::parse(z, "zones.toml").unwrap()),
        }
    }

    /// The rules' inputs.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            store: &self.store,
            catalog: &self.catalog,
            declared: self.declared.as_ref(),
        }
    }

    /// What the rules read of the period from `start` to `end` (ns).
    pub fn observed(&self, start: i64, end: i64) -> Observed {
        let period = Period {
            start: Timestamp(start),
            end: Timestamp(end),
        };
        Observed::read(&self.inputs(), period).unwrap()
    }
}

/// (subject, outcome, detail) of the findings of `rule` (all with an empty rule).
pub fn outcomes(found: Vec<Finding>, rule: &str) -> Vec<(String, Outcome, String)> {
    found
        .into_iter()
        .filter(|f| rule.is_empty() || f.rule == rule)
        .map(|f| (f.subject, f.outcome, f.detail))
        .collect()
}
