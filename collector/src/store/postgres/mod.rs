//! The PostgreSQL engine: for organisations that outgrow one machine, several stateless
//! collectors share one database. A pool of connections (deadpool-postgres) driven by the store's
//! own small runtime; the [`Store`] calls block their (non-async) caller, like SQLite's. Schema
//! migrations are embedded and applied under an advisory lock, so collectors starting together
//! migrate once. A group of batches is one transaction, committed durably (PostgreSQL's
//! `synchronous_commit`) before any is acknowledged; a transaction that deadlocks with another
//! collector's is rolled back and run again.

pub mod scratch;
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
use crate::store::sql::{self, numbered};
use crate::store::{Receipt, ReceiptWindow};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use shoko_proto::{Envelope, Timestamp};
use std::collections::BTreeSet;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

/// Schema migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_init.sql"),
    include_str!("../../../migrations/postgres/0002_claims_flows_baselines.sql"),
    include_str!("../../../migrations/postgres/0003_assessments_records.sql"),
    include_str!("../../../migrations/postgres/0004_advisories.sql"),
    include_str!("../../../migrations/postgres/0005_evidence_chain.sql"),
    include_str!("../../../migrations/postgres/0006_siem_deliveries.sql"),
    include_str!("../../../migrations/postgres/0007_access.sql"),
    include_str!("../../../migrations/postgres/0008_time_integrity.sql"),
    include_str!("../../../migrations/postgres/0009_countersignatures.sql"),
];

/// Advisory locks are taken as (hash of the schema, job), so that stores in different schemas of
/// one database do not wait for each other. The job held while migrating:
const MIGRATION_LOCK: i32 = 1;

/// The job of retention: one collector runs it at a time.
const RETENTION_LOCK: i32 = 2;

/// The job of recording absent assets: one collector at a time.
const NOT_SEEN_LOCK: i32 = 3;

/// Connections in the pool: the writers, the sessions' progress queries and the API's readers.
const POOL_SIZE: usize = 8;

/// Write transactions committed at once: the server works on one while another waits for its
/// round trips or its commit.
const WRITERS: usize = 4;

/// Times a group that conflicted with another collector's transaction is run again.
const CONFLICT_RETRIES: u32 = 10;

/// PostgreSQL store.
pub struct PostgresStore {
    pool: Pool,
    /// Drives the pool's connections; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

/// A PostgreSQL error as a store error: deadlocks and serialization failures are conflicts.
fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE => {
            StoreError::Conflict(e.to_string())
        }
        _ => StoreError::Database(match e.as_db_error() {
            Some(d) => format!("{}: {}", d.code().code(), d.message()),
            None => e.to_string(),
        }),
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg(e),
        other => StoreError::Database(other.to_string()),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db?options=...`), creating and migrating the
    /// schema if needed.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url)?;
        store.run(async {
            let mut client = store.pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(pg)?;
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)",
                &[&MIGRATION_LOCK],
            )
            .await
            .map_err(pg)?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS shoko_schema (version INTEGER NOT NULL)")
                .await
                .map_err(pg)?;
            let current = schema_version(&tx).await?;
            if current > MIGRATIONS.len() {
                return Err(newer_schema(current));
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
                tx.batch_execute(sql).await.map_err(pg)?;
                tracing::info!(version = i + 1, "store schema migrated");
            }
            tx.execute("DELETE FROM shoko_schema", &[]).await.map_err(pg)?;
            tx.execute(
                "INSERT INTO shoko_schema (version) VALUES ($1)",
                &[&(MIGRATIONS.len() as i32)],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)
        })?;
        Ok(store)
    }

    /// Connects to an existing, migrated database (for CLI listings) without changing it.
    pub fn open_read_only(url: &str) -> Result<Self, StoreError> {
        let store = Self::connect(url)?;
        store.run(async {
            let client = store.pool.get().await.map_err(pool_error)?;
            let exists: bool = client
                .query_one("SELECT to_regclass('shoko_schema') IS NOT NULL", &[])
                .await
                .map_err(pg)?
                .get(0);
            let version = if exists { schema_version(&client).await? } else { 0 };
            if version != MIGRATIONS.len() {
                return Err(StoreError::Database(format!(
                    "schema version {version}, this build expects {} (start the collector once to migrate)",
                    MIGRATIONS.len()
                )));
            }
            Ok(())
        })?;
        Ok(store)
    }

    fn connect(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("store URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("store-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Database(format!("store runtime: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database(e.to_string()))?;
        let store = PostgresStore {
            pool,
            runtime: Some(runtime),
        };
        // Fail now, naming the server, rather than at the first batch.
        store.run(async { store.pool.get().await.map(drop).map_err(pool_error) })?;
        Ok(store)
    }

    /// Runs a future on the store's runtime, blocking the caller.
    fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the store")
            .block_on(f)
    }

    /// Runs a read in one read-only snapshot transaction.
    fn read<T>(
        &self,
        f: impl AsyncFnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run(async {
            let mut client = self.pool.get().await.map_err(pool_error)?;
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(pg)?;
            let out = f(&tx).await?;
            tx.commit().await.map_err(pg)?;
            Ok(out)
        })
    }

    /// Every row of a shared statement (`sql::*`), mapped, in one read-only snapshot.
    fn all<T>(
        &self,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        map: impl Fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.read(async |tx| {
            let rows = tx.query(&*numbered(statement), params).await.map_err(pg)?;
            rows.iter().map(map).collect()
        })
    }

    /// Runs an insert returning the new row's id.
    fn insert_returning_id(
        &self,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<i64, StoreError> {
        self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let row = client
                .query_one(&*numbered(statement), params)
                .await
                .map_err(pg)?;
            Ok(row.get(0))
        })
    }

    /// Runs an update that must change one row; NotFound (named by `what`) when it changes none.
    fn update_one(
        &self,
        statement: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        what: impl FnOnce() -> String,
    ) -> Result<(), StoreError> {
        let changed = self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            client.execute(&*numbered(statement), params).await.map_err(pg)
        })?;
        if changed == 0 {
            return Err(StoreError::NotFound(what()));
        }
        Ok(())
    }

    /// Stores a group once; a conflict rolls it back for the caller to run again.
    fn ingest_once(
        &self,
        batches: &[Envelope],
        received_at: Timestamp,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the runtime lives as long as the store");
        let mut client = runtime.block_on(self.pool.get()).map_err(pool_error)?;
        let tx = runtime.block_on(client.transaction()).map_err(pg)?;
        let mut writer = write::PgTx { runtime, tx };
        let outcomes = super::ingest::store_batches(&mut writer, batches, received_at)?;
        runtime.block_on(writer.tx.commit()).map_err(pg)?;
        Ok(outcomes)
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Allowed anywhere, also inside another runtime's task.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn schema_version(c: &impl deadpool_postgres::GenericClient) -> Result<usize, StoreError> {
    let row = c
        .query_opt("SELECT version FROM shoko_schema", &[])
        .await
        .map_err(pg)?;
    Ok(row.map(|r| r.get::<_, i32>(0) as usize).unwrap_or(0))
}

fn newer_schema(current: usize) -> StoreError {
    StoreError::Database(format!(
        "database schema version {current} is newer than this build ({})",
        MIGRATIONS.len()
    ))
}

fn ts(v: i64) -> Timestamp {
    Timestamp(v)
}

fn asset_view(r: &Row) -> AssetView {
    AssetView {
        id: r.get(0),
        key: r.get(1),
        macs: r
            .get::<_, Option<String>>(2)
            .and_then(|m| m.parse().ok())
            .into_iter()
            .collect(),
        ips: Vec::new(),
        vlans: Vec::new(),
        router: r.get(3),
        first_seen: ts(r.get(4)),
        last_seen: ts(r.get(5)),
        services: Vec::new(),
        attributes: Default::default(),
        conflicts: Vec::new(),
    }
}

/// Claims of one asset, or of all; with their asset ids.
async fn claim_rows(
    c: &impl deadpool_postgres::GenericClient,
    asset: Option<i64>,
) -> Result<Vec<(i64, ClaimView)>, StoreError> {
    let rows = c.query(&*numbered(sql::CLAIMS), &[&asset]).await.map_err(pg)?;
    rows.iter().map(super::claim_row).collect()
}

fn service_view(r: &Row) -> (i64, Option<ServiceView>) {
    let ip: String = r.get(1);
    let view = ip.parse().ok().map(|ip| ServiceView {
        ip,
        transport: super::transport(r.get(2)),
        port: r.get::<_, i32>(3) as u16,
        protocol: r.get(4),
        detected_by: r.get(5),
        first_seen: ts(r.get(6)),
        last_seen: ts(r.get(7)),
        observation_id: r.get(8),
    });
    (r.get(0), view)
}

impl Store for PostgresStore {
    fn ingest_many(
        &self,
        batches: &[Envelope],
        received_at: Timestamp,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let mut attempt = 1;
        loop {
            match self.ingest_once(batches, received_at) {
                Err(StoreError::Conflict(e)) if attempt < CONFLICT_RETRIES => {
                    tracing::debug!(attempt, error = %e, "group conflicted with another writer; running it again");
                    std::thread::sleep(std::time::Duration::from_millis(10 * u64::from(attempt)));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn writers(&self) -> usize {
        WRITERS
    }

    fn highest_seq(&self, agent_id: &str) -> Result<u64, StoreError> {
        self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            write::highest_seq(&client, agent_id).await
        })
    }

    fn assets(&self) -> Result<Vec<AssetView>, StoreError> {
        self.read(async |tx| {
            let rows = tx.query(&*numbered(sql::ASSETS), &[]).await.map_err(pg)?;
            let mut assets: Vec<AssetView> = rows.iter().map(asset_view).collect();
            let rows = tx.query(&*numbered(sql::ADDRESSES), &[]).await.map_err(pg)?;
            let addresses = rows.iter().map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)));
            super::attach(&mut assets, addresses, |a, ip| {
                a.ips.extend(ip.parse::<std::net::IpAddr>())
            });
            let rows = tx.query(&*numbered(sql::VLANS), &[]).await.map_err(pg)?;
            let vlans = rows
                .iter()
                .map(|r| (r.get::<_, i64>(0), r.get::<_, i32>(1) as u16));
            super::attach(&mut assets, vlans, |a, vlan| a.vlans.push(vlan));
            let rows = tx.query(&*numbered(sql::SERVICES), &[]).await.map_err(pg)?;
            super::attach(&mut assets, rows.iter().map(service_view), |a, s| {
                a.services.extend(s)
            });
            super::summarise_claims(&mut assets, claim_rows(tx, None).await?);
            Ok(assets)
        })
    }

    fn changes(&self) -> Result<Vec<ChangeView>, StoreError> {
        self.all(sql::CHANGES, &[], super::change_view)
    }

    fn decide(&self, change_id: i64, decision: &Decision) -> Result<(), StoreError> {
        self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let inserted = client
                .execute(
                    &*numbered(sql::INSERT_DECISION),
                    &[
                        &change_id,
                        &decision.kind.as_str(),
                        &decision.reference,
                        &decision.by,
                        &decision.at.0,
                        &decision.comment,
                    ],
                )
                .await
                .map_err(pg)?;
            if inserted == 0 {
                return Err(StoreError::NotFound(format!("change {change_id}")));
            }
            Ok(())
        })
    }

    fn prune_observations(&self, before: Timestamp) -> Result<PruneReport, StoreError> {
        let prune = numbered(sql::PRUNE);
        self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let locked: bool = client
                .query_one(
                    "SELECT pg_try_advisory_lock(hashtext(current_schema()), $1)",
                    &[&RETENTION_LOCK],
                )
                .await
                .map_err(pg)?
                .get(0);
            if !locked {
                return Ok(PruneReport {
                    deleted: 0,
                    skipped: true,
                });
            }
            let mut report = PruneReport::default();
            let outcome = async {
                // The cut-off is marked first: `verify-store` then knows these may be gone.
                client
                    .execute(&*numbered(sql::RAISE_STORE_MARK), &[&"pruned_before", &before.0])
                    .await
                    .map_err(pg)?;
                loop {
                    let deleted = client
                        .execute(&*prune, &[&before.0, &super::PRUNE_CHUNK])
                        .await
                        .map_err(pg)?;
                    report.deleted += deleted;
                    if (deleted as i64) < super::PRUNE_CHUNK {
                        return Ok::<_, StoreError>(());
                    }
                }
            }
            .await;
            client
                .execute(
                    "SELECT pg_advisory_unlock(hashtext(current_schema()), $1)",
                    &[&RETENTION_LOCK],
                )
                .await
                .map_err(pg)?;
            outcome.map(|()| report)
        })
    }

    fn record_not_seen(&self, since: Timestamp, at: Timestamp) -> Result<Option<u64>, StoreError> {
        self.run(async {
            let mut client = self.pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(pg)?;
            let locked: bool = tx
                .query_one(
                    "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), $1)",
                    &[&NOT_SEEN_LOCK],
                )
                .await
                .map_err(pg)?
                .get(0);
            if !locked {
                return Ok(None);
            }
            let recorded = tx
                .execute(&*numbered(sql::RECORD_NOT_SEEN), &[&since.0, &at.0])
                .await
                .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            Ok(Some(recorded))
        })
    }

    fn attest(&self, a: &NewAttestation) -> Result<i64, StoreError> {
        self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let row = client
                .query_one(
                    &*numbered(sql::INSERT_ATTESTATION),
                    &[
                        &a.statement.kind.as_str(),
                        &a.statement.scope,
                        &a.statement.title,
                        &a.statement.version,
                        &a.statement.owner,
                        &a.statement.approved_on,
                        &a.statement.next_review,
                        &a.statement.file_name,
                        &a.statement.sha256,
                        &a.statement.expires,
                        &a.by,
                        &a.at.0,
                    ],
                )
                .await
                .map_err(pg)?;
            Ok(row.get(0))
        })
    }

    fn attestations(&self) -> Result<Vec<AttestationView>, StoreError> {
        self.all(sql::ATTESTATIONS, &[], super::attestation_view)
    }

    fn revoke_attestation(&self, id: i64, by: &str, at: Timestamp, reason: &str) -> Result<(), StoreError> {
        self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let revoked = client
                .execute(&*numbered(sql::REVOKE_ATTESTATION), &[&id, &by, &at.0, &reason])
                .await
                .map_err(pg)?;
            if revoked == 0 {
                return Err(StoreError::NotFound(format!(
                    "attestation {id} (not revoked yet)"
                )));
            }
            Ok(())
        })
    }

    fn countersign_attestation(&self, id: i64, by: &str, at: Timestamp) -> Result<(), StoreError> {
        self.update_one(sql::COUNTERSIGN_ATTESTATION, &[&id, &by, &at.0], || {
            format!("attestation {id} (standing and not countersigned yet)")
        })
    }

    fn approve_baseline(&self, b: &NewBaseline) -> Result<i64, StoreError> {
        let scope = baseline::scope_text(&b.scope)?;
        let snapshots = b
            .assets
            .iter()
            .map(|a| serde_json::to_string(a).map_err(|e| StoreError::Encoding(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<i64> = b.assets.iter().map(|a| a.asset_id).collect();
        self.run(async {
            let mut client = self.pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(pg)?;
            let id: i64 = tx
                .query_one(
                    &*numbered(sql::INSERT_BASELINE),
                    &[&b.name, &b.approved_by, &b.approved_at.0, &b.comment, &scope],
                )
                .await
                .map_err(pg)?
                .get(0);
            tx.execute(
                "INSERT INTO baseline_assets (baseline_id, asset_id, snapshot)
                 SELECT $1, * FROM unnest($2::int8[], $3::text[])",
                &[&id, &ids, &snapshots],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            Ok(id)
        })
    }

    fn baselines(&self) -> Result<Vec<BaselineView>, StoreError> {
        self.all(sql::BASELINES, &[], super::baseline_view)
    }

    fn baseline_snapshots(&self, baseline_id: i64) -> Result<Vec<Snapshot>, StoreError> {
        self.read(async |tx| {
            let rows = tx
                .query(&*numbered(sql::SNAPSHOTS), &[&baseline_id])
                .await
                .map_err(pg)?;
            rows.iter()
                .map(|r| baseline::snapshot_from_text(r.get(0), r.get(1)))
                .collect()
        })
    }

    fn flow_hours_between(
        &self,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<(FlowKey, FlowTotals)>, StoreError> {
        self.all(sql::FLOW_HOURS_BETWEEN, &[&start.0, &end.0], super::flow_row)
    }

    fn flow_hours(&self, ips: &[String]) -> Result<Vec<(FlowKey, FlowTotals)>, StoreError> {
        self.read(async |tx| {
            let sql = concat!(
                sql::flow_columns!(),
                "WHERE orig_ip = ANY($1) OR resp_ip = ANY($1)
                 ORDER BY hour, vlan, transport, orig_ip, resp_ip, resp_port, app_protocol"
            );
            let rows = tx.query(sql, &[&ips]).await.map_err(pg)?;
            rows.iter().map(super::flow_row).collect()
        })
    }

    fn claims(&self, asset_id: i64) -> Result<Vec<ClaimView>, StoreError> {
        self.read(async |tx| {
            Ok(claim_rows(tx, Some(asset_id))
                .await?
                .into_iter()
                .map(|(_, c)| c)
                .collect())
        })
    }

    fn asset_software(&self, asset_id: i64) -> Result<Vec<SoftwareView>, StoreError> {
        self.all(sql::ASSET_SOFTWARE, &[&asset_id], super::software_view)
    }

    fn asset_observations(&self, asset_id: i64) -> Result<Vec<ObservationRef>, StoreError> {
        self.all(sql::ASSET_OBSERVATIONS, &[&asset_id], super::observation_ref)
    }

    fn agents(&self) -> Result<Vec<AgentView>, StoreError> {
        self.all(sql::AGENTS, &[], super::agent_view)
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.read(async |tx| {
            let r = tx.query_one(&*numbered(sql::COUNTS), &[]).await.map_err(pg)?;
            let n = |i| r.get::<_, i64>(i) as u64;
            Ok(StoreCounts {
                agents: n(0),
                batches: n(1),
                observations: n(2),
                assets: n(3),
            })
        })
    }

    fn observations_of_kind(
        &self,
        kind: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        self.all(
            sql::OBSERVATIONS_OF_KIND,
            &[&kind, &start.0, &end.0],
            super::stored_observation,
        )
    }

    fn save_assessment(&self, a: &SavedAssessment) -> Result<i64, StoreError> {
        self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            let days = a.period_days as i32;
            let row = client
                .query_one(
                    &*numbered(sql::INSERT_ASSESSMENT),
                    &[
                        &a.assessed_at.0,
                        &a.period_end.0,
                        &days,
                        &a.catalog_version,
                        &a.digest,
                        &a.body,
                    ],
                )
                .await
                .map_err(pg)?;
            Ok(row.get(0))
        })
    }

    fn assessments(&self, limit: u32) -> Result<Vec<SavedAssessment>, StoreError> {
        self.all(sql::ASSESSMENTS, &[&i64::from(limit)], super::saved_assessment)
    }

    fn import_feed(&self, f: &FeedImport) -> Result<(), StoreError> {
        let count = (f.advisories.len() + f.known_exploited.len()) as i32;
        self.run(async {
            let mut client = self.pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(pg)?;
            let advisory = tx.prepare(&numbered(sql::UPSERT_ADVISORY)).await.map_err(pg)?;
            for (id, body) in &f.advisories {
                tx.execute(&advisory, &[&f.feed, id, body, &f.sha256, &f.imported_at.0])
                    .await
                    .map_err(pg)?;
            }
            let kev = tx
                .prepare(&numbered(sql::UPSERT_KNOWN_EXPLOITED))
                .await
                .map_err(pg)?;
            for (cve, body) in &f.known_exploited {
                tx.execute(&kev, &[cve, body, &f.imported_at.0])
                    .await
                    .map_err(pg)?;
            }
            tx.execute(
                &*numbered(sql::INSERT_FEED_IMPORT),
                &[&f.feed, &f.file, &f.sha256, &count, &f.imported_at.0],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)
        })
    }

    fn advisories(&self) -> Result<Vec<(String, Timestamp)>, StoreError> {
        self.all(sql::ADVISORIES, &[], super::advisory_row)
    }

    fn known_exploited(&self) -> Result<Vec<String>, StoreError> {
        self.all(sql::KNOWN_EXPLOITED, &[], super::first_text)
    }

    fn feed_imports(&self) -> Result<Vec<FeedImportView>, StoreError> {
        self.all(sql::FEED_IMPORTS, &[], super::feed_import_view)
    }

    fn all_software(&self) -> Result<Vec<(i64, SoftwareView)>, StoreError> {
        self.all(sql::ALL_SOFTWARE, &[], super::asset_software_row)
    }

    fn observation(&self, id: i64) -> Result<Option<StoredObservation>, StoreError> {
        Ok(self
            .all(sql::OBSERVATION_BY_ID, &[&id], super::stored_observation)?
            .pop())
    }

    fn changes_after(&self, after: i64, limit: u32) -> Result<Vec<ChangeView>, StoreError> {
        self.all(
            sql::CHANGES_AFTER,
            &[&after, &i64::from(limit)],
            super::change_view,
        )
    }

    fn observations_after(
        &self,
        kind: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        self.all(
            sql::OBSERVATIONS_AFTER,
            &[&kind, &after, &i64::from(limit)],
            super::stored_observation,
        )
    }

    fn siem_cursor(&self, destination: &str, stream: &str) -> Result<i64, StoreError> {
        Ok(self
            .all(sql::SIEM_CURSOR, &[&destination, &stream], |r| {
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
        let attempts = i64::from(attempts);
        self.run(async {
            let mut client = self.pool.get().await.map_err(pool_error)?;
            let tx = client.transaction().await.map_err(pg)?;
            let record = tx.prepare(&numbered(sql::RECORD_DELIVERY)).await.map_err(pg)?;
            for item in items {
                tx.execute(&record, &[&destination, &stream, item, &at.0, &attempts])
                    .await
                    .map_err(pg)?;
            }
            tx.execute(
                &*numbered(sql::ADVANCE_SIEM_CURSOR),
                &[&destination, &stream, last],
            )
            .await
            .map_err(pg)?;
            tx.commit().await.map_err(pg)
        })
    }

    fn first_deliveries(&self, stream: &str) -> Result<Vec<(i64, Timestamp)>, StoreError> {
        self.all(sql::FIRST_DELIVERIES, &[&stream], |r| {
            Ok((super::required_int(r, 0)?, Timestamp(super::required_int(r, 1)?)))
        })
    }

    fn receipt_between(
        &self,
        start: Timestamp,
        end: Timestamp,
        w: ReceiptWindow,
    ) -> Result<Receipt, StoreError> {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&start.0, &end.0, &w.late_after.0, &w.future_ns];
        Ok(self
            .all(sql::RECEIPT_BETWEEN, &params, super::receipt_row)?
            .pop()
            .unwrap_or_default())
    }

    fn agents_reporting_between(
        &self,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<BTreeSet<String>, StoreError> {
        let ids = self.all(sql::AGENTS_REPORTING_BETWEEN, &[&start.0, &end.0], |r| {
            super::required_text(r, 0)
        })?;
        Ok(ids.into_iter().collect())
    }

    fn assets_observed_between(&self, start: Timestamp, end: Timestamp) -> Result<BTreeSet<i64>, StoreError> {
        let ids = self.all(sql::ASSETS_OBSERVED_BETWEEN, &[&start.0, &end.0], |r| {
            super::required_int(r, 0)
        })?;
        Ok(ids.into_iter().collect())
    }

    fn record_clock(&self, agent_id: &str, offset_ns: i64, at: Timestamp) -> Result<(), StoreError> {
        self.run(async {
            let client = self.pool.get().await.map_err(pool_error)?;
            client
                .execute(&*numbered(sql::RECORD_CLOCK), &[&agent_id, &offset_ns, &at.0])
                .await
                .map_err(pg)
        })?;
        Ok(())
    }

    fn save_user(&self, u: &NewUser) -> Result<i64, StoreError> {
        self.insert_returning_id(
            sql::INSERT_USER,
            &[&u.name, &u.role, &u.password_hash, &u.created_at.0],
        )
    }

    fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.all(sql::USERS, &[], |r| super::user_record(r, 0))
    }

    fn disable_user(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        self.update_one(sql::DISABLE_USER, &[&id, &at.0], || {
            format!("user {id} (not disabled yet)")
        })
    }

    fn save_credential(&self, c: &NewCredential) -> Result<i64, StoreError> {
        self.insert_returning_id(
            sql::INSERT_CREDENTIAL,
            &[
                &c.kind,
                &c.name,
                &c.user_id,
                &c.secret_sha256,
                &c.created_at.0,
                &c.expires_at.map(|t| t.0),
            ],
        )
    }

    fn credential(&self, secret_sha256: &str) -> Result<Option<(CredentialRecord, UserRecord)>, StoreError> {
        Ok(self
            .all(sql::CREDENTIAL, &[&secret_sha256], super::credential_row)?
            .pop())
    }

    fn credentials(&self) -> Result<Vec<CredentialRecord>, StoreError> {
        self.all(sql::CREDENTIALS, &[], |r| Ok(super::credential_row(r)?.0))
    }

    fn revoke_credential(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        self.update_one(sql::REVOKE_CREDENTIAL, &[&id, &at.0], || {
            format!("credential {id} (not revoked yet)")
        })
    }

    fn record_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        self.insert_returning_id(
            sql::INSERT_AUDIT,
            &[&e.at.0, &e.actor, &e.action, &e.target, &e.detail, &e.source],
        )
    }

    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.all(sql::AUDIT_LOG, &[&i64::from(limit)], super::audit_row)
    }

    fn chain_heads(&self) -> Result<Vec<ChainHead>, StoreError> {
        self.all(sql::CHAIN_HEADS, &[], chain::chain_head_row)
    }

    fn sealed_batches(&self, agent_id: &str, from: i64, limit: u32) -> Result<Vec<SealedBatch>, StoreError> {
        self.all(
            sql::SEALED_BATCHES,
            &[&agent_id, &from, &i64::from(limit)],
            chain::sealed_batch_row,
        )
    }

    fn batch_rows(&self, agent_id: &str, seq: u64) -> Result<Vec<StoredRow>, StoreError> {
        self.all(sql::BATCH_ROWS, &[&agent_id, &(seq as i64)], chain::stored_row)
    }

    fn store_mark(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .all(sql::STORE_MARK, &[&name], |r| super::required_int(r, 0))?
            .pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::suite::{Engine, store_suite};
    use scratch::Scratch;

    impl Engine for Scratch {
        fn open(&self) -> Box<dyn Store> {
            Box::new(PostgresStore::open(&self.url()).unwrap())
        }
        fn execute(&self, sql: &str) {
            Scratch::execute(self, sql).unwrap();
        }
    }

    fn scratch() -> Option<Scratch> {
        Scratch::for_test("the storage suite")
    }

    store_suite!(scratch());

    #[test]
    fn newer_schema_is_refused_and_read_only_needs_the_current_one() {
        let Some(db) = scratch() else { return };
        let e = PostgresStore::open_read_only(&db.url())
            .err()
            .unwrap()
            .to_string();
        let expected = MIGRATIONS.len();
        assert!(
            e.contains(&format!("schema version 0, this build expects {expected}")),
            "{e}"
        );
        drop(db.open());
        assert!(PostgresStore::open_read_only(&db.url()).is_ok());
        let store = PostgresStore::open(&db.url()).unwrap();
        store
            .run(async {
                let client = store.pool.get().await.unwrap();
                client.execute("UPDATE shoko_schema SET version = 99", &[]).await
            })
            .unwrap();
        let e = PostgresStore::open(&db.url()).err().unwrap().to_string();
        assert!(
            e.contains(&format!(
                "schema version 99 is newer than this build ({expected})"
            )),
            "{e}"
        );
    }

    #[test]
    fn retention_runs_on_one_collector_at_a_time() {
        let Some(db) = scratch() else { return };
        let holder = PostgresStore::open(&db.url()).unwrap();
        let client = holder.run(holder.pool.get()).unwrap();
        let lock = "SELECT pg_advisory_lock(hashtext(current_schema()), 2)";
        holder.run(client.execute(lock, &[])).unwrap();
        let other = PostgresStore::open(&db.url()).unwrap();
        let skipped = other.prune_observations(Timestamp(i64::MAX)).unwrap();
        assert_eq!(
            skipped,
            PruneReport {
                deleted: 0,
                skipped: true
            }
        );
        let unlock = "SELECT pg_advisory_unlock(hashtext(current_schema()), 2)";
        holder.run(client.execute(unlock, &[])).unwrap();
        let ran = other.prune_observations(Timestamp(i64::MAX)).unwrap();
        assert_eq!(
            ran,
            PruneReport {
                deleted: 0,
                skipped: false
            }
        );
    }

    #[test]
    fn an_unreachable_server_is_named() {
        let e = PostgresStore::open("postgres://nobody@127.0.0.1:1/none")
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("database: "), "{e}");
        assert!(e.to_lowercase().contains("connect"), "{e}");
    }
}
