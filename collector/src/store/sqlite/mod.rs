//! The embedded SQLite engine: one database file per data directory, WAL journal, full fsync on
//! commit (a batch is acknowledged only after its transaction is durable), versioned migrations.

mod write;

use super::{
    AgentView, AssetView, ChangeView, Decision, FeedImport, FeedImportView, IngestOutcome, ObservationRef,
    PruneReport, SavedAssessment, ServiceView, SoftwareView, Store, StoreCounts, StoreError,
    StoredObservation,
};
use crate::access::records::{AuditEntry, CredentialRecord, NewCredential, NewUser, UserRecord};
use crate::assess::attest::{AttestationView, NewAttestation};
use crate::baseline::{self, BaselineView, NewBaseline, Snapshot};
use crate::fuse::claims::ClaimView;
use crate::fuse::flows::{FlowKey, FlowTotals};
use crate::store::chain::{self, ChainHead, SealedBatch, StoredRow};
use crate::store::sql;
use crate::store::{Receipt, ReceiptWindow};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use shoko_proto::{Envelope, Timestamp};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

/// Schema migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/0001_init.sql"),
    include_str!("../../../migrations/sqlite/0002_host_ids.sql"),
    include_str!("../../../migrations/sqlite/0003_identities_changes.sql"),
    include_str!("../../../migrations/sqlite/0004_change_decisions.sql"),
    include_str!("../../../migrations/sqlite/0005_claims_flows_baselines.sql"),
    include_str!("../../../migrations/sqlite/0006_assessments_records.sql"),
    include_str!("../../../migrations/sqlite/0007_advisories.sql"),
    include_str!("../../../migrations/sqlite/0008_evidence_chain.sql"),
    include_str!("../../../migrations/sqlite/0009_siem_deliveries.sql"),
    include_str!("../../../migrations/sqlite/0010_access.sql"),
    include_str!("../../../migrations/sqlite/0011_time_integrity.sql"),
    include_str!("../../../migrations/sqlite/0012_countersignatures.sql"),
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
    /// Runs an insert returning the new row's id, as the writer.
    fn insert_returning_id(&self, statement: &str, params: impl rusqlite::Params) -> Result<i64, StoreError> {
        self.writer()?
            .prepare_cached(statement)
            .map_err(db)?
            .query_row(params, |r| r.get(0))
            .map_err(db)
    }

    /// Runs an update that must change one row; NotFound (named by `what`) when it changes none.
    fn update_one(
        &self,
        statement: &str,
        params: impl rusqlite::Params,
        what: impl FnOnce() -> String,
    ) -> Result<(), StoreError> {
        let changed = self
            .writer()?
            .prepare_cached(statement)
            .map_err(db)?
            .execute(params)
            .map_err(db)?;
        if changed == 0 {
            return Err(StoreError::NotFound(what()));
        }
        Ok(())
    }

    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // A new database is readable by the collector's user only, whatever the umask; SQLite
        // gives its WAL and shared-memory files the same mode.
        if !path.exists() {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .or_else(|e| match e.kind() {
                    // Another process made it meanwhile: it is the one to open.
                    std::io::ErrorKind::AlreadyExists => Ok(std::fs::File::open(path)?),
                    _ => Err(e),
                })
                .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
        }
        let mut writer = Connection::open(path).map_err(db)?;
        writer
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db)?;
        wal_mode(&writer)?;
        writer
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
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

impl SqliteStore {
    /// The writing connection, held until the guard drops.
    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        let writer = self
            .writer
            .as_ref()
            .ok_or_else(|| StoreError::Database("store opened read-only".into()))?;
        Ok(writer.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)?;
    c.busy_timeout(std::time::Duration::from_secs(30)).map_err(db)?;
    Ok(c)
}

/// Switches a database to WAL. SQLite answers "locked" at once, without waiting, when another
/// process is opening or migrating the same new file; that is retried for up to 30 s.
fn wal_mode(conn: &Connection) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    loop {
        match conn.execute_batch("PRAGMA journal_mode = WAL;") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < std::time::Duration::from_secs(30) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.map_err(db),
        }
    }
}

/// Applies the migrations the database lacks, in one transaction under the write lock, so that
/// two processes opening a new database at once migrate it once.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(db)?;
    let current: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if current as usize > MIGRATIONS.len() {
        return Err(StoreError::Database(format!(
            "database schema version {current} is newer than this build ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql).map_err(db)?;
        tracing::info!(version = i + 1, "store schema migrated");
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len() as i64)
        .map_err(db)?;
    tx.commit().map_err(db)
}

/// Every row of a statement, mapped.
fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db)? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// Claims of one asset, or of all; with their asset ids.
fn claim_rows(conn: &Connection, asset: Option<i64>) -> Result<Vec<(i64, ClaimView)>, StoreError> {
    all(conn, sql::CLAIMS, params![asset], |r| super::claim_row(r))
}

/// The agent's highest stored sequence (0 for none).
fn highest_seq(conn: &Connection, agent_id: &str) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached(sql::HIGHEST_SEQ)
        .map_err(db)?
        .query_row(params![agent_id], |r| r.get::<_, i64>(0))
        .optional()
        .map_err(db)?
        .unwrap_or(0) as u64)
}

impl Store for SqliteStore {
    fn ingest_many(
        &self,
        batches: &[Envelope],
        received_at: Timestamp,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let mut conn = self.writer()?;
        let mut tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let outcomes = super::ingest::store_batches(&mut tx, batches, received_at)?;
        tx.commit().map_err(db)?;
        Ok(outcomes)
    }

    fn highest_seq(&self, agent_id: &str) -> Result<u64, StoreError> {
        highest_seq(&self.reader.lock().unwrap_or_else(|e| e.into_inner()), agent_id)
    }

    fn assets(&self) -> Result<Vec<AssetView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.unchecked_transaction().map_err(db)?;
        let mut assets: Vec<AssetView> = tx
            .prepare(sql::ASSETS)
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
                    attributes: Default::default(),
                    conflicts: Vec::new(),
                })
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let addresses = tx
            .prepare(sql::ADDRESSES)
            .map_err(db)?
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        super::attach(&mut assets, addresses, |a, ip| {
            a.ips.extend(ip.parse::<std::net::IpAddr>())
        });
        let vlans = tx
            .prepare(sql::VLANS)
            .map_err(db)?
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u16>(1)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        super::attach(&mut assets, vlans, |a, vlan| a.vlans.push(vlan));
        let services = tx
            .prepare(sql::SERVICES)
            .map_err(db)?
            .query_map([], |r| {
                let ip: String = r.get(1)?;
                let transport: String = r.get(2)?;
                let view = ServiceView {
                    ip: std::net::IpAddr::from([0, 0, 0, 0]),
                    transport: super::transport(&transport),
                    port: r.get(3)?,
                    protocol: r.get(4)?,
                    detected_by: r.get(5)?,
                    first_seen: ts(r.get(6)?),
                    last_seen: ts(r.get(7)?),
                    observation_id: r.get(8)?,
                };
                Ok((
                    r.get::<_, i64>(0)?,
                    ip.parse().ok().map(|ip| ServiceView { ip, ..view }),
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        super::attach(&mut assets, services, |a, s| a.services.extend(s));
        let claims = claim_rows(&tx, None)?;
        super::summarise_claims(&mut assets, claims);
        Ok(assets)
    }

    fn prune_observations(&self, before: Timestamp) -> Result<PruneReport, StoreError> {
        let mut report = PruneReport::default();
        // The cut-off is marked first: `verify-store` then knows these observations may be gone.
        self.writer()?
            .prepare_cached(sql::RAISE_STORE_MARK)
            .map_err(db)?
            .execute(params!["pruned_before", before.0])
            .map_err(db)?;
        loop {
            let conn = self.writer()?;
            let deleted = conn
                .prepare_cached(sql::PRUNE)
                .map_err(db)?
                .execute(params![before.0, super::PRUNE_CHUNK])
                .map_err(db)?;
            report.deleted += deleted as u64;
            if (deleted as i64) < super::PRUNE_CHUNK {
                return Ok(report);
            }
        }
    }

    fn record_not_seen(&self, since: Timestamp, at: Timestamp) -> Result<Option<u64>, StoreError> {
        let conn = self.writer()?;
        let recorded = conn
            .prepare_cached(sql::RECORD_NOT_SEEN)
            .map_err(db)?
            .execute(params![since.0, at.0])
            .map_err(db)?;
        Ok(Some(recorded as u64))
    }

    fn attest(&self, a: &NewAttestation) -> Result<i64, StoreError> {
        let conn = self.writer()?;
        conn.prepare_cached(sql::INSERT_ATTESTATION)
            .map_err(db)?
            .query_row(
                params![
                    a.statement.kind.as_str(),
                    a.statement.scope,
                    a.statement.title,
                    a.statement.version,
                    a.statement.owner,
                    a.statement.approved_on,
                    a.statement.next_review,
                    a.statement.file_name,
                    a.statement.sha256,
                    a.statement.expires,
                    a.by,
                    a.at.0
                ],
                |r| r.get(0),
            )
            .map_err(db)
    }

    fn attestations(&self) -> Result<Vec<AttestationView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::ATTESTATIONS, [], |r| super::attestation_view(r))
    }

    fn revoke_attestation(&self, id: i64, by: &str, at: Timestamp, reason: &str) -> Result<(), StoreError> {
        let revoked = self
            .writer()?
            .prepare_cached(sql::REVOKE_ATTESTATION)
            .map_err(db)?
            .execute(params![id, by, at.0, reason])
            .map_err(db)?;
        if revoked == 0 {
            return Err(StoreError::NotFound(format!(
                "attestation {id} (not revoked yet)"
            )));
        }
        Ok(())
    }

    fn countersign_attestation(&self, id: i64, by: &str, at: Timestamp) -> Result<(), StoreError> {
        self.update_one(sql::COUNTERSIGN_ATTESTATION, params![id, by, at.0], || {
            format!("attestation {id} (standing and not countersigned yet)")
        })
    }

    fn approve_baseline(&self, b: &NewBaseline) -> Result<i64, StoreError> {
        let mut conn = self.writer()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let id: i64 = tx
            .query_row(
                sql::INSERT_BASELINE,
                params![
                    b.name,
                    b.approved_by,
                    b.approved_at.0,
                    b.comment,
                    baseline::scope_text(&b.scope)?
                ],
                |r| r.get(0),
            )
            .map_err(db)?;
        {
            let mut insert = tx
                .prepare("INSERT INTO baseline_assets (baseline_id, asset_id, snapshot) VALUES (?1, ?2, ?3)")
                .map_err(db)?;
            for a in &b.assets {
                let snapshot = serde_json::to_string(a).map_err(|e| StoreError::Encoding(e.to_string()))?;
                insert.execute(params![id, a.asset_id, snapshot]).map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        Ok(id)
    }

    fn baselines(&self) -> Result<Vec<BaselineView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::BASELINES, [], |r| super::baseline_view(r))
    }

    fn baseline_snapshots(&self, baseline_id: i64) -> Result<Vec<Snapshot>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn.prepare(sql::SNAPSHOTS).map_err(db)?;
        let rows = stmt
            .query_map(params![baseline_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.iter()
            .map(|(asset, text)| baseline::snapshot_from_text(*asset, text))
            .collect()
    }

    fn flow_hours_between(
        &self,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<(FlowKey, FlowTotals)>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::FLOW_HOURS_BETWEEN, params![start.0, end.0], |r| {
            super::flow_row(r)
        })
    }

    fn flow_hours(&self, ips: &[String]) -> Result<Vec<(FlowKey, FlowTotals)>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut found = std::collections::BTreeMap::new();
        for ip in ips {
            found.extend(all(&conn, sql::FLOW_HOURS_OF_IP, params![ip], |r| {
                super::flow_row(r)
            })?);
        }
        Ok(found.into_iter().collect())
    }

    fn claims(&self, asset_id: i64) -> Result<Vec<ClaimView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(claim_rows(&conn, Some(asset_id))?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    fn asset_software(&self, asset_id: i64) -> Result<Vec<SoftwareView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::ASSET_SOFTWARE, params![asset_id], |r| {
            super::software_view(r)
        })
    }

    fn asset_observations(&self, asset_id: i64) -> Result<Vec<ObservationRef>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::ASSET_OBSERVATIONS, params![asset_id], |r| {
            super::observation_ref(r)
        })
    }

    fn agents(&self) -> Result<Vec<AgentView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::AGENTS, [], |r| super::agent_view(r))
    }

    fn changes(&self) -> Result<Vec<ChangeView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::CHANGES, [], |r| super::change_view(r))
    }

    fn decide(&self, change_id: i64, decision: &Decision) -> Result<(), StoreError> {
        let conn = self.writer()?;
        let inserted = conn
            .execute(
                sql::INSERT_DECISION,
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
        if inserted == 0 {
            return Err(StoreError::NotFound(format!("change {change_id}")));
        }
        Ok(())
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row(sql::COUNTS, [], |r| {
            let n = |i| r.get::<_, i64>(i).map(|v| v as u64);
            Ok(StoreCounts {
                agents: n(0)?,
                batches: n(1)?,
                observations: n(2)?,
                assets: n(3)?,
            })
        })
        .map_err(db)
    }

    fn observations_of_kind(
        &self,
        kind: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(
            &conn,
            sql::OBSERVATIONS_OF_KIND,
            params![kind, start.0, end.0],
            |r| super::stored_observation(r),
        )
    }

    fn save_assessment(&self, a: &SavedAssessment) -> Result<i64, StoreError> {
        let conn = self.writer()?;
        conn.prepare_cached(sql::INSERT_ASSESSMENT)
            .map_err(db)?
            .query_row(
                params![
                    a.assessed_at.0,
                    a.period_end.0,
                    a.period_days,
                    a.catalog_version,
                    a.digest,
                    a.body
                ],
                |r| r.get(0),
            )
            .map_err(db)
    }

    fn assessments(&self, limit: u32) -> Result<Vec<SavedAssessment>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::ASSESSMENTS, params![limit], |r| {
            super::saved_assessment(r)
        })
    }

    fn import_feed(&self, f: &FeedImport) -> Result<(), StoreError> {
        let mut conn = self.writer()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        {
            let mut advisory = tx.prepare_cached(sql::UPSERT_ADVISORY).map_err(db)?;
            for (id, body) in &f.advisories {
                advisory
                    .execute(params![f.feed, id, body, f.sha256, f.imported_at.0])
                    .map_err(db)?;
            }
            let mut kev = tx.prepare_cached(sql::UPSERT_KNOWN_EXPLOITED).map_err(db)?;
            for (cve, body) in &f.known_exploited {
                kev.execute(params![cve, body, f.imported_at.0]).map_err(db)?;
            }
            let entries = (f.advisories.len() + f.known_exploited.len()) as i64;
            tx.execute(
                sql::INSERT_FEED_IMPORT,
                params![f.feed, f.file, f.sha256, entries, f.imported_at.0],
            )
            .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn advisories(&self) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::ADVISORIES, [], |r| super::advisory_row(r))
    }

    fn known_exploited(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::KNOWN_EXPLOITED, [], |r| super::first_text(r))
    }

    fn feed_imports(&self) -> Result<Vec<FeedImportView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::FEED_IMPORTS, [], |r| super::feed_import_view(r))
    }

    fn all_software(&self) -> Result<Vec<(i64, SoftwareView)>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::ALL_SOFTWARE, [], |r| super::asset_software_row(r))
    }

    fn observation(&self, id: i64) -> Result<Option<StoredObservation>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(all(&conn, sql::OBSERVATION_BY_ID, params![id], |r| {
            super::stored_observation(r)
        })?
        .pop())
    }

    fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeView>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::CHANGES_AFTER, params![after, limit], |r| {
            super::change_view(r)
        })
    }

    fn observations_after(
        &self,
        kind: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::OBSERVATIONS_AFTER, params![kind, after, limit], |r| {
            super::stored_observation(r)
        })
    }

    fn siem_cursor(&self, destination: &str, stream: &str) -> Result<i64, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(all(&conn, sql::SIEM_CURSOR, params![destination, stream], |r| {
            super::required_int(r, 0)
        })?
        .pop()
        .unwrap_or(0))
    }

    fn record_deliveries(
        &self,
        destination: &str,
        stream: &str,
        items: &[i64],
        at: Timestamp,
        attempts: u32,
    ) -> Result<(), StoreError> {
        let Some(last) = items.iter().max() else {
            return Ok(());
        };
        let mut conn = self.writer()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        {
            let mut record = tx.prepare_cached(sql::RECORD_DELIVERY).map_err(db)?;
            for item in items {
                record
                    .execute(params![destination, stream, item, at.0, attempts])
                    .map_err(db)?;
            }
            tx.execute(sql::ADVANCE_SIEM_CURSOR, params![destination, stream, last])
                .map_err(db)?;
        }
        tx.commit().map_err(db)
    }

    fn first_deliveries(&self, stream: &str) -> Result<Vec<(i64, Timestamp)>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::FIRST_DELIVERIES, params![stream], |r| {
            Ok((super::required_int(r, 0)?, Timestamp(super::required_int(r, 1)?)))
        })
    }

    fn receipt_between(
        &self,
        start: Timestamp,
        end: Timestamp,
        w: ReceiptWindow,
    ) -> Result<Receipt, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let params = params![start.0, end.0, w.late_after.0, w.future_ns];
        Ok(
            all(&conn, sql::RECEIPT_BETWEEN, params, |r| super::receipt_row(r))?
                .pop()
                .unwrap_or_default(),
        )
    }

    fn agents_reporting_between(
        &self,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<BTreeSet<String>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let ids = all(
            &conn,
            sql::AGENTS_REPORTING_BETWEEN,
            params![start.0, end.0],
            |r| super::required_text(r, 0),
        )?;
        Ok(ids.into_iter().collect())
    }

    fn assets_observed_between(&self, start: Timestamp, end: Timestamp) -> Result<BTreeSet<i64>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let ids = all(
            &conn,
            sql::ASSETS_OBSERVED_BETWEEN,
            params![start.0, end.0],
            |r| super::required_int(r, 0),
        )?;
        Ok(ids.into_iter().collect())
    }

    fn record_clock(&self, agent_id: &str, offset_ns: i64, at: Timestamp) -> Result<(), StoreError> {
        self.writer()?
            .prepare_cached(sql::RECORD_CLOCK)
            .map_err(db)?
            .execute(params![agent_id, offset_ns, at.0])
            .map_err(db)?;
        Ok(())
    }

    fn save_user(&self, u: &NewUser) -> Result<i64, StoreError> {
        self.insert_returning_id(
            sql::INSERT_USER,
            params![u.name, u.role, u.password_hash, u.created_at.0],
        )
    }

    fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::USERS, [], |r| super::user_record(r, 0))
    }

    fn disable_user(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        self.update_one(sql::DISABLE_USER, params![id, at.0], || {
            format!("user {id} (not disabled yet)")
        })
    }

    fn save_credential(&self, c: &NewCredential) -> Result<i64, StoreError> {
        self.insert_returning_id(
            sql::INSERT_CREDENTIAL,
            params![
                c.kind,
                c.name,
                c.user_id,
                c.secret_sha256,
                c.created_at.0,
                c.expires_at.map(|t| t.0)
            ],
        )
    }

    fn credential(&self, secret_sha256: &str) -> Result<Option<(CredentialRecord, UserRecord)>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(all(&conn, sql::CREDENTIAL, params![secret_sha256], |r| {
            super::credential_row(r)
        })?
        .pop())
    }

    fn credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::CREDENTIALS, [], |r| Ok(super::credential_row(r)?.0))
    }

    fn revoke_credential(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        self.update_one(sql::REVOKE_CREDENTIAL, params![id, at.0], || {
            format!("credential {id} (not revoked yet)")
        })
    }

    fn record_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        self.insert_returning_id(
            sql::INSERT_AUDIT,
            params![e.at.0, e.actor, e.action, e.target, e.detail, e.source],
        )
    }

    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::AUDIT_LOG, params![limit], |r| super::audit_row(r))
    }

    fn chain_heads(&self) -> Result<Vec<ChainHead>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::CHAIN_HEADS, [], |r| chain::chain_head_row(r))
    }

    fn sealed_batches(&self, agent_id: &str, from: i64, limit: u32) -> Result<Vec<SealedBatch>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::SEALED_BATCHES, params![agent_id, from, limit], |r| {
            chain::sealed_batch_row(r)
        })
    }

    fn batch_rows(&self, agent_id: &str, seq: u64) -> Result<Vec<StoredRow>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        all(&conn, sql::BATCH_ROWS, params![agent_id, seq as i64], |r| {
            chain::stored_row(r)
        })
    }

    fn store_mark(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        Ok(all(&conn, sql::STORE_MARK, params![name], |r| {
            super::required_int(r, 0)
        })?
        .pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::suite::{self, Engine, store_suite};

    /// A database file in a temporary directory.
    struct File(tempfile::TempDir);

    impl File {
        fn path(&self) -> std::path::PathBuf {
            self.0.path().join("s.db")
        }
    }

    impl Engine for File {
        fn open(&self) -> Box<dyn Store> {
            Box::new(SqliteStore::open(&self.path()).unwrap())
        }
        fn execute(&self, sql: &str) {
            Connection::open(self.path()).unwrap().execute_batch(sql).unwrap();
        }
    }

    fn file() -> Option<File> {
        Some(File(tempfile::tempdir().unwrap()))
    }

    store_suite!(file());

    #[test]
    fn a_read_only_store_reads_and_refuses_writes() {
        let file = file().unwrap();
        let batch = |seq| suite::sighting_batch("a1", seq, Some("00:00:bc:00:00:01"), "10.0.0.1");
        file.open().ingest(&batch(1), Timestamp(1)).unwrap();
        let ro = SqliteStore::open_read_only(&file.path()).unwrap();
        assert_eq!(ro.highest_seq("a1").unwrap(), 1);
        assert!(
            matches!(ro.ingest(&batch(2), Timestamp(5)), Err(StoreError::Database(m)) if m == "store opened read-only")
        );
        let missing = SqliteStore::open_read_only(&file.0.path().join("none.db"))
            .err()
            .unwrap();
        assert!(
            missing.to_string().ends_with("none.db: no such database"),
            "{missing}"
        );
    }

    #[test]
    fn newer_schema_is_refused() {
        let file = file().unwrap();
        drop(file.open());
        Connection::open(file.path())
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let e = SqliteStore::open(&file.path()).err().unwrap().to_string();
        assert!(e.contains("schema version 99 is newer than this build"), "{e}");
    }
}
