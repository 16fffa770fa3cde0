//! The embedded SQLite engine: one database file per data directory, WAL journal, full fsync on
//! commit (a batch is acknowledged only after its transaction is durable), versioned migrations.

use super::{
    AgentView, AssetView, ChangeView, Decision, IngestOutcome, ServiceView, Store, StoreCounts, StoreError,
};
use crate::fuse::{self, AssetKey};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use shoko_proto::{AssetRef, ConfigCheck, Envelope, ObservationBody, SoftwareItem, Timestamp, Transport};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// Schema migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_host_ids.sql"),
    include_str!("../../migrations/sqlite/0003_identities_changes.sql"),
    include_str!("../../migrations/sqlite/0004_change_decisions.sql"),
];

/// SQLite store.
pub struct SqliteStore {
    /// The one writing connection; `None` for a store opened read-only.
    writer: Option<Mutex<Connection>>,
    reader: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn ts(v: i64) -> Timestamp {
    Timestamp(v)
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path).map_err(db)?;
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(db)?;
        writer
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        migrate(&mut writer)?;
        Ok(SqliteStore {
            writer: Some(Mutex::new(writer)),
            reader: Mutex::new(open_reader(path)?),
        })
    }

    /// Opens an existing database read-only (for CLI listings while a server runs).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Database(format!(
                "{}: no such database",
                path.display()
            )));
        }
        let reader = open_reader(path)?;
        let version: i64 = reader
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        if version as usize != MIGRATIONS.len() {
            return Err(StoreError::Database(format!(
                "{}: schema version {version}, this build expects {}",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        Ok(SqliteStore {
            writer: None,
            reader: Mutex::new(reader),
        })
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)?;
    c.busy_timeout(std::time::Duration::from_secs(30)).map_err(db)?;
    Ok(c)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if current as usize > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "database schema version {current} is newer than this build ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction().map_err(db)?;
        tx.execute_batch(sql).map_err(db)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(db)?;
        tx.commit().map_err(db)?;
        tracing::info!(version = i + 1, "store schema migrated");
    }
    Ok(())
}

/// A change of an asset: what changed, from which value to which, and the observation that showed
/// the old value.
struct Change<'a> {
    kind: &'a str,
    subject: &'a str,
    old: Option<&'a str>,
    new: Option<&'a str>,
    previous: Option<i64>,
}

/// Records a change of an asset, shown by observation `obs_id` at `at`.
fn record_change(
    tx: &Transaction<'_>,
    asset: i64,
    c: Change<'_>,
    at: i64,
    obs_id: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO changes
            (asset_id, kind, subject, old_value, new_value, observed_at, observation_id, previous_observation_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![asset, c.kind, c.subject, c.old, c.new, at, obs_id, c.previous],
    )
    .map_err(db)?;
    Ok(())
}

/// Something first seen (no value before): a new asset, a new service.
fn new_thing<'a>(kind: &'a str, subject: &'a str, value: Option<&'a str>) -> Change<'a> {
    Change {
        kind,
        subject,
        old: None,
        new: value,
        previous: None,
    }
}

/// Finds or creates the asset with `key`, widening its seen interval; a created asset is a
/// `new_asset` change shown by observation `obs_id`.
fn upsert_asset(
    tx: &Transaction<'_>,
    key: &AssetKey,
    router: bool,
    (first, last): (i64, i64),
    obs_id: i64,
) -> Result<i64, StoreError> {
    let mac = match key {
        AssetKey::Mac(m) => Some(m.to_string()),
        AssetKey::Ip(..) | AssetKey::Host(_) => None,
    };
    let text = key.as_text();
    let known: Option<i64> = tx
        .query_row("SELECT id FROM assets WHERE asset_key = ?1", params![text], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db)?;
    let id = tx
        .query_row(
            "INSERT INTO assets (asset_key, mac, router, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (asset_key) DO UPDATE SET
                router = MAX(router, excluded.router),
                first_seen = MIN(first_seen, excluded.first_seen),
                last_seen = MAX(last_seen, excluded.last_seen)
             RETURNING id",
            params![text, mac, router, first, last],
            |r| r.get(0),
        )
        .map_err(db)?;
    if known.is_none() {
        record_change(tx, id, new_thing("new_asset", &text, None), first, obs_id)?;
    }
    Ok(id)
}

fn add_address(
    tx: &Transaction<'_>,
    asset: i64,
    ip: &str,
    vlan: Option<u16>,
    first: i64,
    last: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO asset_addresses (asset_id, ip, vlan, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (asset_id, ip) DO UPDATE SET
            first_seen = MIN(first_seen, excluded.first_seen),
            last_seen = MAX(last_seen, excluded.last_seen),
            vlan = COALESCE(excluded.vlan, vlan)",
        params![asset, ip, vlan, first, last],
    )
    .map_err(db)?;
    Ok(())
}

/// Records an identity claim of an asset; a firmware different from the one claimed before (by an
/// older observation) becomes a `firmware_change` record. Claims without a product or model, or
/// without a vendor and a serial, identify nothing and are left to the observations.
fn record_identity(
    tx: &Transaction<'_>,
    asset: i64,
    id: &shoko_proto::Identity,
    at: i64,
    obs_id: i64,
) -> Result<(), StoreError> {
    let Some(product) = id.product.as_deref().or(id.model.as_deref()) else {
        return Ok(());
    };
    if id.vendor.is_none() && id.serial.is_none() {
        return Ok(());
    }
    let (vendor, serial) = (
        id.vendor.as_deref().unwrap_or(""),
        id.serial.as_deref().unwrap_or(""),
    );
    let known: Option<(Option<String>, i64, i64)> = tx
        .query_row(
            "SELECT firmware, last_seen, observation_id FROM asset_identities
             WHERE asset_id = ?1 AND vendor = ?2 AND product = ?3 AND serial = ?4",
            params![asset, vendor, product, serial],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db)?;
    match known {
        None => {
            tx.execute(
                "INSERT INTO asset_identities
                    (asset_id, vendor, product, serial, firmware, first_seen, last_seen, observation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                params![asset, vendor, product, serial, id.firmware, at, obs_id],
            )
            .map_err(db)?;
        }
        // An older claim arriving late: it only widens the interval.
        Some((_, last, _)) if at < last => {
            tx.execute(
                "UPDATE asset_identities SET first_seen = MIN(first_seen, ?5)
                 WHERE asset_id = ?1 AND vendor = ?2 AND product = ?3 AND serial = ?4",
                params![asset, vendor, product, serial, at],
            )
            .map_err(db)?;
        }
        Some((firmware, _, previous)) => {
            if let (Some(old), Some(new)) = (&firmware, &id.firmware)
                && old != new
            {
                let subject = [vendor, product, serial]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                let change = Change {
                    kind: "firmware_change",
                    subject: &subject,
                    old: Some(old),
                    new: Some(new),
                    previous: Some(previous),
                };
                record_change(tx, asset, change, at, obs_id)?;
            }
            tx.execute(
                "UPDATE asset_identities SET firmware = COALESCE(?5, firmware), last_seen = ?6, observation_id = ?7
                 WHERE asset_id = ?1 AND vendor = ?2 AND product = ?3 AND serial = ?4",
                params![asset, vendor, product, serial, id.firmware, at, obs_id],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}

/// Records which asset a host agent's machine id belongs to.
fn set_host(tx: &Transaction<'_>, host_id: &str, asset: i64, at: i64) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO asset_host_ids (host_id, asset_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (host_id) DO UPDATE SET
            asset_id = excluded.asset_id,
            first_seen = MIN(first_seen, excluded.first_seen),
            last_seen = MAX(last_seen, excluded.last_seen)",
        params![host_id, asset, at],
    )
    .map_err(db)?;
    Ok(())
}

/// The asset a reference names: a host agent's machine by its machine id; by MAC if it has one,
/// else the asset most recently holding the IP, else a new routed asset for the IP.
fn resolve(tx: &Transaction<'_>, r: &AssetRef, at: i64, obs_id: i64) -> Result<Option<i64>, StoreError> {
    if let Some(host_id) = &r.host_id {
        let found: Option<i64> = tx
            .query_row(
                "SELECT asset_id FROM asset_host_ids WHERE host_id = ?1",
                params![host_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)?;
        if found.is_some() {
            return Ok(found);
        }
        if r.mac.is_none() && r.ip.is_none() {
            let id = upsert_asset(tx, &AssetKey::Host(host_id.clone()), false, (at, at), obs_id)?;
            set_host(tx, host_id, id, at)?;
            return Ok(Some(id));
        }
    }
    if r.mac.is_none()
        && let Some(ip) = r.ip
    {
        let found: Option<i64> = tx
            .query_row(
                "SELECT asset_id FROM asset_addresses WHERE ip = ?1 ORDER BY last_seen DESC LIMIT 1",
                params![ip.to_string()],
                |row| row.get(0),
            )
            .optional()
            .map_err(db)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let Some(key) = fuse::reference_key(r) else {
        return Ok(None);
    };
    let id = upsert_asset(tx, &key, false, (at, at), obs_id)?;
    if let Some(ip) = r.ip {
        add_address(tx, id, &ip.to_string(), r.vlan, at, at)?;
    }
    Ok(Some(id))
}

/// Applies one observation to the fused asset tables; returns the asset it is about.
fn fuse_observation(
    tx: &Transaction<'_>,
    body: &ObservationBody,
    at: i64,
    obs_id: i64,
) -> Result<Option<i64>, StoreError> {
    match body {
        ObservationBody::AssetSighting(s) => {
            let (first, last) = (s.first_seen.0, s.last_seen.0);
            let mut asset = None;
            for key in fuse::sighting_keys(s) {
                let router = s.router && matches!(key, AssetKey::Mac(_));
                let id = upsert_asset(tx, &key, router, (first, last), obs_id)?;
                let ips: Vec<_> = match &key {
                    AssetKey::Mac(_) | AssetKey::Host(_) => s.ips.clone(),
                    AssetKey::Ip(_, ip) => vec![*ip],
                };
                for ip in ips {
                    add_address(tx, id, &ip.to_string(), s.vlans.first().copied(), first, last)?;
                }
                for v in &s.vlans {
                    tx.execute(
                        "INSERT OR IGNORE INTO asset_vlans (asset_id, vlan) VALUES (?1, ?2)",
                        params![id, v],
                    )
                    .map_err(db)?;
                }
                asset.get_or_insert(id);
            }
            Ok(asset)
        }
        ObservationBody::HostFacts(f) => {
            let (Some(host_id), Some((key, ips))) = (&f.asset.host_id, fuse::host_key(f)) else {
                return Ok(None);
            };
            let id = upsert_asset(tx, &key, false, (at, at), obs_id)?;
            for ip in ips {
                add_address(tx, id, &ip.to_string(), None, at, at)?;
            }
            set_host(tx, host_id, id, at)?;
            Ok(Some(id))
        }
        ObservationBody::IdentityClaim(c) => {
            let Some(id) = resolve(tx, &c.asset, at, obs_id)? else {
                return Ok(None);
            };
            record_identity(tx, id, &c.identity, at, obs_id)?;
            Ok(Some(id))
        }
        // Installed software and checks of a host agent belong to its machine.
        ObservationBody::SoftwareItem(SoftwareItem { asset, .. })
        | ObservationBody::ConfigCheck(ConfigCheck { asset, .. })
            if asset.host_id.is_some() =>
        {
            resolve(tx, asset, at, obs_id)
        }
        ObservationBody::Service(s) => {
            let Some(id) = resolve(tx, &s.asset, at, obs_id)? else {
                return Ok(None);
            };
            let ip = s.asset.ip.or(s.bound).map(|i| i.to_string()).unwrap_or_default();
            let known: bool = tx
                .query_row(
                    "SELECT 1 FROM asset_services WHERE asset_id = ?1 AND ip = ?2 AND transport = ?3 AND port = ?4",
                    params![id, ip, s.transport.as_str(), s.port],
                    |_| Ok(()),
                )
                .optional()
                .map_err(db)?
                .is_some();
            if !known {
                let subject = format!("{}/{} on {ip}", s.transport.as_str(), s.port);
                let change = new_thing("new_service", &subject, s.protocol.as_deref());
                record_change(tx, id, change, at, obs_id)?;
            }
            tx.execute(
                "INSERT INTO asset_services
                    (asset_id, ip, transport, port, protocol, banner, detected_by, first_seen, last_seen, observation_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
                 ON CONFLICT (asset_id, ip, transport, port) DO UPDATE SET
                    protocol = COALESCE(excluded.protocol, protocol),
                    banner = COALESCE(excluded.banner, banner),
                    detected_by = COALESCE(excluded.detected_by, detected_by),
                    first_seen = MIN(first_seen, excluded.first_seen),
                    last_seen = MAX(last_seen, excluded.last_seen)",
                params![id, ip, s.transport.as_str(), s.port, s.protocol, s.banner, s.detected_by, at, obs_id],
            )
            .map_err(db)?;
            Ok(Some(id))
        }
        _ => Ok(None),
    }
}

/// Stores one batch inside `tx`: its record, the agent's progress, its observations and their
/// fusion into assets; a batch already stored is a duplicate.
fn store_batch(
    tx: &Transaction<'_>,
    batch: &Envelope,
    received_at: Timestamp,
) -> Result<IngestOutcome, StoreError> {
    let highest: u64 = tx
        .query_row(
            "SELECT highest_seq FROM agents WHERE agent_id = ?1",
            params![batch.agent_id],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(db)?
        .unwrap_or(0) as u64;
    let exists: bool = tx
        .query_row(
            "SELECT 1 FROM batches WHERE agent_id = ?1 AND seq = ?2",
            params![batch.agent_id, batch.seq as i64],
            |_| Ok(()),
        )
        .optional()
        .map_err(db)?
        .is_some();
    if exists {
        return Ok(IngestOutcome::Duplicate { highest });
    }
    tx.execute(
        "INSERT INTO batches (agent_id, seq, protocol_version, sent_at, received_at, observation_count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            batch.agent_id,
            batch.seq as i64,
            batch.protocol_version,
            batch.sent_at.0,
            received_at.0,
            batch.observations.len() as i64
        ],
    )
    .map_err(db)?;
    let new_highest = highest.max(batch.seq);
    tx.execute(
        "INSERT INTO agents (agent_id, first_seen, last_seen, highest_seq, batches) VALUES (?1, ?2, ?2, ?3, 1)
         ON CONFLICT (agent_id) DO UPDATE SET
            last_seen = excluded.last_seen, highest_seq = excluded.highest_seq, batches = batches + 1",
        params![batch.agent_id, received_at.0, new_highest as i64],
    )
    .map_err(db)?;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO observations (agent_id, seq, idx, kind, observed_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db)?;
        let mut set_asset = tx
            .prepare_cached("UPDATE observations SET asset_id = ?1 WHERE id = ?2")
            .map_err(db)?;
        for (idx, o) in batch.observations.iter().enumerate() {
            let body = rmp_serde::to_vec_named(o).map_err(|e| StoreError::Encoding(e.to_string()))?;
            let at = o.provenance.observed_at.0;
            insert
                .execute(params![
                    batch.agent_id,
                    batch.seq as i64,
                    idx as i64,
                    o.body.kind(),
                    at,
                    body
                ])
                .map_err(db)?;
            let obs_id = tx.last_insert_rowid();
            if let Some(asset) = fuse_observation(tx, &o.body, at, obs_id)? {
                set_asset.execute(params![asset, obs_id]).map_err(db)?;
            }
        }
    }
    Ok(IngestOutcome::Stored { highest: new_highest })
}

impl Store for SqliteStore {
    fn ingest_many(
        &self,
        batches: &[Envelope],
        received_at: Timestamp,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let writer = self
            .writer
            .as_ref()
            .ok_or_else(|| StoreError::Database("store opened read-only".into()))?;
        let mut conn = writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let outcomes = batches
            .iter()
            .map(|b| store_batch(&tx, b, received_at))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().map_err(db)?;
        Ok(outcomes)
    }

    fn highest_seq(&self, agent_id: &str) -> Result<u64, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(conn
            .query_row(
                "SELECT highest_seq FROM agents WHERE agent_id = ?1",
                params![agent_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map_err(db)?
            .unwrap_or(0) as u64)
    }

    fn assets(&self) -> Result<Vec<AssetView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.unchecked_transaction().map_err(db)?;
        let mut assets: Vec<AssetView> = tx
            .prepare("SELECT id, asset_key, mac, router, first_seen, last_seen FROM assets ORDER BY id")
            .map_err(db)?
            .query_map([], |r| {
                Ok(AssetView {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    macs: r
                        .get::<_, Option<String>>(2)?
                        .and_then(|m| m.parse().ok())
                        .into_iter()
                        .collect(),
                    ips: Vec::new(),
                    vlans: Vec::new(),
                    router: r.get(3)?,
                    first_seen: ts(r.get(4)?),
                    last_seen: ts(r.get(5)?),
                    services: Vec::new(),
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let index: HashMap<i64, usize> = assets.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        let mut stmt = tx
            .prepare("SELECT asset_id, ip FROM asset_addresses ORDER BY asset_id, ip")
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?;
        for row in rows {
            let (id, ip) = row.map_err(db)?;
            if let (Some(&i), Ok(ip)) = (index.get(&id), ip.parse()) {
                assets[i].ips.push(ip);
            }
        }
        let mut stmt = tx
            .prepare("SELECT asset_id, vlan FROM asset_vlans ORDER BY asset_id, vlan")
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u16>(1)?)))
            .map_err(db)?;
        for row in rows {
            let (id, vlan) = row.map_err(db)?;
            if let Some(&i) = index.get(&id) {
                assets[i].vlans.push(vlan);
            }
        }
        let mut stmt = tx
            .prepare(
                "SELECT asset_id, ip, transport, port, protocol, detected_by, first_seen, last_seen
                 FROM asset_services ORDER BY asset_id, ip, transport, port",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u16>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })
            .map_err(db)?;
        for row in rows {
            let (id, ip, transport, port, protocol, detected_by, first, last) = row.map_err(db)?;
            let (Some(&i), Ok(ip)) = (index.get(&id), ip.parse()) else {
                continue;
            };
            let transport = match transport.as_str() {
                "tcp" => Transport::Tcp,
                "udp" => Transport::Udp,
                _ => Transport::Other,
            };
            assets[i].services.push(ServiceView {
                ip,
                transport,
                port,
                protocol,
                detected_by,
                first_seen: ts(first),
                last_seen: ts(last),
            });
        }
        Ok(assets)
    }

    fn agents(&self) -> Result<Vec<AgentView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn
            .prepare(
                "SELECT agent_id, first_seen, last_seen, highest_seq, batches FROM agents ORDER BY agent_id",
            )
            .map_err(db)?;
        stmt.query_map([], |r| {
            Ok(AgentView {
                agent_id: r.get(0)?,
                first_seen: ts(r.get(1)?),
                last_seen: ts(r.get(2)?),
                highest_seq: r.get::<_, i64>(3)? as u64,
                batches: r.get::<_, i64>(4)? as u64,
            })
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
    }

    fn changes(&self) -> Result<Vec<ChangeView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn
            .prepare(
                "SELECT c.id, c.asset_id, c.kind, c.subject, c.old_value, c.new_value, c.observed_at,
                        c.observation_id, c.previous_observation_id,
                        COALESCE(d.decision, 'open'), d.reference, d.decided_by, d.decided_at
                 FROM changes c
                 LEFT JOIN change_decisions d ON d.id =
                    (SELECT MAX(id) FROM change_decisions WHERE change_id = c.id)
                 ORDER BY c.id",
            )
            .map_err(db)?;
        stmt.query_map([], |r| {
            Ok(ChangeView {
                id: r.get(0)?,
                asset_id: r.get(1)?,
                kind: r.get(2)?,
                subject: r.get(3)?,
                old_value: r.get(4)?,
                new_value: r.get(5)?,
                observed_at: ts(r.get(6)?),
                observation_id: r.get(7)?,
                previous_observation_id: r.get(8)?,
                status: r.get(9)?,
                reference: r.get(10)?,
                decided_by: r.get(11)?,
                decided_at: r.get::<_, Option<i64>>(12)?.map(ts),
            })
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
    }

    fn decide(&self, change_id: i64, decision: &Decision) -> Result<(), StoreError> {
        let writer = self
            .writer
            .as_ref()
            .ok_or_else(|| StoreError::Database("store opened read-only".into()))?;
        let conn = writer.lock().unwrap_or_else(|e| e.into_inner());
        let known = conn
            .query_row("SELECT 1 FROM changes WHERE id = ?1", params![change_id], |_| {
                Ok(())
            })
            .optional()
            .map_err(db)?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("change {change_id}")));
        }
        conn.execute(
            "INSERT INTO change_decisions (change_id, decision, reference, decided_by, decided_at, comment)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                change_id,
                decision.kind.as_str(),
                decision.reference,
                decision.by,
                decision.at.0,
                decision.comment
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let n = |sql: &str| {
            conn.query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|v| v as u64)
                .map_err(db)
        };
        Ok(StoreCounts {
            agents: n("SELECT COUNT(*) FROM agents")?,
            batches: n("SELECT COUNT(*) FROM batches")?,
            observations: n("SELECT COUNT(*) FROM observations")?,
            assets: n("SELECT COUNT(*) FROM assets")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(seq: u64, mac: &str) -> Envelope {
        crate::store::sighting_batch("a1", seq, Some(mac), "10.0.0.1")
    }

    #[test]
    fn a_host_inventory_and_the_sensors_sighting_of_its_mac_are_one_asset() {
        use shoko_proto::{HostFacts, HostInterface, Observation, ParserRef, Provenance, Source};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        let host = AssetRef {
            host_id: Some("4b6f1c9e".into()),
            ..Default::default()
        };
        let obs = |body| Observation {
            provenance: Provenance {
                source: Source::Agent,
                parser: ParserRef::new("test", "1"),
                observed_at: Timestamp(10),
                evidence: Default::default(),
            },
            body,
        };
        let mut inventory = crate::store::sighting_batch("hmi-01", 1, None, "10.10.1.10");
        inventory.observations = vec![
            obs(ObservationBody::HostFacts(HostFacts {
                asset: host.clone(),
                hostname: "hmi-01".into(),
                interfaces: vec![HostInterface {
                    name: "eth0".into(),
                    mac: Some("00:50:56:94:71:5e".parse().unwrap()),
                    addresses: vec!["10.10.1.10/24".into()],
                    wireless: false,
                }],
                ..Default::default()
            })),
            obs(ObservationBody::SoftwareItem(SoftwareItem {
                asset: host.clone(),
                name: "openssl".into(),
                ..Default::default()
            })),
        ];
        store.ingest(&inventory, Timestamp(1)).unwrap();
        // The sensor sees the same MAC with its IP.
        let sighting = crate::store::sighting_batch("sensor-1", 1, Some("00:50:56:94:71:5e"), "10.10.1.10");
        store.ingest(&sighting, Timestamp(2)).unwrap();
        assert_eq!(store.counts().unwrap().assets, 1);
        let db = Connection::open(&path).unwrap();
        let assets: Vec<Option<i64>> = db
            .prepare("SELECT asset_id FROM observations ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(assets, [Some(1), Some(1), Some(1)]);
        // A host without a stable MAC is an asset of its own, found again by its machine id.
        let mut other = inventory.clone();
        other.agent_id = "eng-02".into();
        let id = AssetRef {
            host_id: Some("77aa".into()),
            ..Default::default()
        };
        other.observations[0].body = ObservationBody::HostFacts(HostFacts {
            asset: id.clone(),
            ..Default::default()
        });
        other.observations[1].body = ObservationBody::SoftwareItem(SoftwareItem {
            asset: id,
            ..Default::default()
        });
        store.ingest(&other, Timestamp(3)).unwrap();
        assert_eq!(store.counts().unwrap().assets, 2);
        let keys: Vec<String> = store.assets().unwrap().into_iter().map(|a| a.key).collect();
        assert_eq!(keys, ["mac:00:50:56:94:71:5e", "host:77aa"]);
    }

    #[test]
    fn a_group_is_one_transaction_with_an_outcome_per_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let mut other = batch(1, "00:00:bc:00:00:03");
        other.agent_id = "a2".into();
        // The same batch twice in one group: the second is a duplicate of the first.
        let group = [
            batch(1, "00:00:bc:00:00:01"),
            batch(1, "00:00:bc:00:00:01"),
            other,
            batch(2, "00:00:bc:00:00:02"),
        ];
        assert_eq!(
            store.ingest_many(&group, Timestamp(1)).unwrap(),
            [
                IngestOutcome::Stored { highest: 1 },
                IngestOutcome::Duplicate { highest: 1 },
                IngestOutcome::Stored { highest: 1 },
                IngestOutcome::Stored { highest: 2 },
            ]
        );
        let counts = store.counts().unwrap();
        assert_eq!((counts.observations, counts.assets), (3, 3));
        assert_eq!(store.highest_seq("a2").unwrap(), 1);
    }

    #[test]
    fn batches_are_stored_once_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store
                .ingest(&batch(1, "00:00:bc:00:00:01"), Timestamp(1))
                .unwrap(),
            IngestOutcome::Stored { highest: 1 }
        );
        assert_eq!(
            store
                .ingest(&batch(1, "00:00:bc:00:00:01"), Timestamp(2))
                .unwrap(),
            IngestOutcome::Duplicate { highest: 1 }
        );
        // Out of order: a lower sequence arriving late is stored, the highest stays.
        assert_eq!(
            store
                .ingest(&batch(3, "00:00:bc:00:00:02"), Timestamp(3))
                .unwrap(),
            IngestOutcome::Stored { highest: 3 }
        );
        assert_eq!(
            store
                .ingest(&batch(2, "00:00:bc:00:00:01"), Timestamp(4))
                .unwrap(),
            IngestOutcome::Stored { highest: 3 }
        );
        drop(store);
        let ro = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(
            ro.counts().unwrap(),
            StoreCounts {
                agents: 1,
                batches: 3,
                observations: 3,
                assets: 2
            }
        );
        assert_eq!(ro.highest_seq("a1").unwrap(), 3);
        let assets = ro.assets().unwrap();
        assert_eq!(
            assets[0].ips,
            vec!["10.0.0.1".parse::<std::net::IpAddr>().unwrap()]
        );
        assert!(
            matches!(ro.ingest(&batch(4, "00:00:bc:00:00:01"), Timestamp(5)), Err(StoreError::Database(m)) if m == "store opened read-only")
        );
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(SqliteStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let e = SqliteStore::open(&path).err().unwrap().to_string();
        assert!(e.contains("schema version 99 is newer than this build"), "{e}");
    }
}
