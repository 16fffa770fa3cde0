//! The statements of a PostgreSQL write transaction, safe with other collectors writing at once:
//! rows are claimed and upserted on their unique keys ("created" is what the insert reports:
//! `xmax = 0` for a row this statement inserted), assets are locked (`FOR UPDATE`) before their
//! identities are compared, and a batch's observations go in as one statement.

use super::pg;
use crate::fuse::flows::{FlowKey, FlowRollup, FlowTotals};
use crate::store::StoreError;
use crate::store::chain::Seal;
use crate::store::ingest::{
    Change, ClaimRow, EncodedObservation, IdentityKey, IngestTx, Newest, ServiceRow, SoftwareRow,
    UpsertedAsset,
};
use crate::store::sql::{self, numbered};
use deadpool_postgres::{GenericClient, Transaction};
use shoko_proto::{Envelope, Timestamp};
use tokio::runtime::Runtime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// An open write transaction and the runtime its statements run on.
pub struct PgTx<'c> {
    /// The store's runtime.
    pub runtime: &'c Runtime,
    /// The transaction.
    pub tx: Transaction<'c>,
}

/// The agent's highest stored sequence (0 for none).
pub async fn highest_seq(c: &impl GenericClient, agent_id: &str) -> Result<u64, StoreError> {
    let row = c
        .query_opt(&*numbered(sql::HIGHEST_SEQ), &[&agent_id])
        .await
        .map_err(pg)?;
    Ok(row.map(|r| r.get::<_, i64>(0) as u64).unwrap_or(0))
}

impl PgTx<'_> {
    /// Runs a prepared (and cached) statement; the rows it returns.
    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        self.runtime.block_on(async {
            let statement = self.tx.prepare_cached(sql).await.map_err(pg)?;
            self.tx.query(&statement, params).await.map_err(pg)
        })
    }

    /// Runs a prepared (and cached) statement; the rows it changed.
    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        self.runtime.block_on(async {
            let statement = self.tx.prepare_cached(sql).await.map_err(pg)?;
            self.tx.execute(&statement, params).await.map_err(pg)
        })
    }

    /// The first column of the first row, if any.
    fn first<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<T>, StoreError> {
        Ok(self.query(sql, params)?.first().map(|r| r.get(0)))
    }
}

/// The newest value, time and observation of a row.
fn newest(r: &Row) -> Newest {
    Newest {
        value: r.get(0),
        last_seen: r.get(1),
        observation_id: r.get(2),
    }
}

impl IngestTx for PgTx<'_> {
    fn claim_batch(&mut self, batch: &Envelope, received_at: Timestamp) -> Result<bool, StoreError> {
        let inserted = self.execute(
            &numbered(sql::CLAIM_BATCH),
            &[
                &batch.agent_id,
                &(batch.seq as i64),
                &i32::from(batch.protocol_version),
                &batch.sent_at.0,
                &received_at.0,
                &(batch.observations.len() as i32),
            ],
        )?;
        Ok(inserted == 1)
    }

    fn advance_agent(&mut self, agent_id: &str, seq: u64, received_at: Timestamp) -> Result<u64, StoreError> {
        let highest: Option<i64> = self.first(
            "INSERT INTO agents (agent_id, first_seen, last_seen, highest_seq, batches) VALUES ($1, $2, $2, $3, 1)
             ON CONFLICT (agent_id) DO UPDATE SET
                last_seen = GREATEST(agents.last_seen, excluded.last_seen),
                highest_seq = GREATEST(agents.highest_seq, excluded.highest_seq),
                batches = agents.batches + 1
             RETURNING highest_seq",
            &[&agent_id, &received_at.0, &(seq as i64)],
        )?;
        Ok(highest.unwrap_or(0) as u64)
    }

    fn highest_seq(&mut self, agent_id: &str) -> Result<u64, StoreError> {
        self.runtime.block_on(highest_seq(&self.tx, agent_id))
    }

    fn chain_head(&mut self, agent_id: &str) -> Result<(i64, Option<Vec<u8>>), StoreError> {
        let rows = self.query(&numbered(sql::CHAIN_HEAD), &[&agent_id])?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Database(format!("agent {agent_id} not counted")))?;
        Ok((row.get(0), row.get(1)))
    }

    fn seal_batch(&mut self, agent_id: &str, seq: u64, seal: &Seal) -> Result<(), StoreError> {
        self.execute(
            &numbered(sql::SEAL_BATCH),
            &[
                &agent_id,
                &(seq as i64),
                &seal.position,
                &seal.prev.as_slice(),
                &seal.digest.as_slice(),
                &seal.leaves,
            ],
        )?;
        self.execute(
            &numbered(sql::SET_CHAIN_HEAD),
            &[&agent_id, &seal.digest.as_slice()],
        )?;
        Ok(())
    }

    fn insert_observations(
        &mut self,
        batch: &Envelope,
        rows: &[EncodedObservation],
    ) -> Result<Vec<i64>, StoreError> {
        let idx: Vec<i32> = rows.iter().map(|o| o.idx).collect();
        let kinds: Vec<&str> = rows.iter().map(|o| o.kind).collect();
        let at: Vec<i64> = rows.iter().map(|o| o.observed_at).collect();
        let bodies: Vec<&[u8]> = rows.iter().map(|o| o.body.as_slice()).collect();
        let returned = self.query(
            "INSERT INTO observations (agent_id, seq, idx, kind, observed_at, body)
             SELECT $1, $2, u.idx, u.kind, u.at, u.body
             FROM unnest($3::int4[], $4::text[], $5::int8[], $6::bytea[]) AS u(idx, kind, at, body)
             RETURNING idx, id",
            &[&batch.agent_id, &(batch.seq as i64), &idx, &kinds, &at, &bodies],
        )?;
        let mut ids: Vec<(i32, i64)> = returned.iter().map(|r| (r.get(0), r.get(1))).collect();
        ids.sort_unstable();
        Ok(ids.into_iter().map(|(_, id)| id).collect())
    }

    fn link_observations(&mut self, links: &[(i64, i64)]) -> Result<(), StoreError> {
        if links.is_empty() {
            return Ok(());
        }
        let (ids, assets): (Vec<i64>, Vec<i64>) = links.iter().copied().unzip();
        self.execute(
            "UPDATE observations o SET asset_id = COALESCE(a.merged_into, a.id)
             FROM unnest($1::int8[], $2::int8[]) AS u(id, asset) JOIN assets a ON a.id = u.asset
             WHERE o.id = u.id",
            &[&ids, &assets],
        )?;
        Ok(())
    }

    fn upsert_asset(
        &mut self,
        key: &str,
        mac: Option<&str>,
        router: bool,
        (first, last): (i64, i64),
    ) -> Result<UpsertedAsset, StoreError> {
        // Known assets (the common case) are updated without drawing an id from the sequence.
        let known = self.query(
            "UPDATE assets SET router = router OR $2, first_seen = LEAST(first_seen, $3),
                last_seen = GREATEST(last_seen, $4)
             WHERE asset_key = $1 RETURNING id, merged_into",
            &[&key, &router, &first, &last],
        )?;
        if let Some(row) = known.first() {
            return Ok(UpsertedAsset {
                id: row.get(0),
                created: false,
                merged_into: row.get(1),
            });
        }
        let rows = self.query(
            "INSERT INTO assets (asset_key, mac, router, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (asset_key) DO UPDATE SET
                router = assets.router OR excluded.router,
                first_seen = LEAST(assets.first_seen, excluded.first_seen),
                last_seen = GREATEST(assets.last_seen, excluded.last_seen)
             RETURNING id, xmax = 0, merged_into",
            &[&key, &mac, &router, &first, &last],
        )?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Database(format!("asset {key}: upsert returned nothing")))?;
        Ok(UpsertedAsset {
            id: row.get(0),
            created: row.get(1),
            merged_into: row.get(2),
        })
    }

    fn widen_asset(&mut self, asset: i64, router: bool, (first, last): (i64, i64)) -> Result<(), StoreError> {
        self.execute(&numbered(sql::WIDEN_ASSET), &[&asset, &router, &first, &last])?;
        Ok(())
    }

    fn asset_by_key(&mut self, key: &str) -> Result<Option<(i64, Option<i64>)>, StoreError> {
        let rows = self.query(&numbered(sql::ASSET_BY_KEY), &[&key])?;
        Ok(rows.first().map(|r| (r.get(0), r.get(1))))
    }

    fn asset_key(&mut self, asset: i64) -> Result<String, StoreError> {
        let key: Option<String> = self.first(&numbered(sql::ASSET_KEY), &[&asset])?;
        key.ok_or_else(|| StoreError::NotFound(format!("asset {asset}")))
    }

    fn insert_alias(&mut self, key: &str, mac: Option<&str>, into: i64, at: i64) -> Result<(), StoreError> {
        self.execute(&numbered(sql::INSERT_ALIAS), &[&key, &mac, &into, &at])?;
        Ok(())
    }

    fn serial_twins(&mut self, vendor: &str, serial: &str, except: i64) -> Result<Vec<i64>, StoreError> {
        let rows = self.query(&numbered(sql::SERIAL_TWINS), &[&vendor, &serial, &except])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn merge_assets(&mut self, from: i64, into: i64) -> Result<(), StoreError> {
        for statement in sql::MERGE_ASSET {
            if sql::names_survivor(statement) {
                self.execute(&numbered(statement), &[&from, &into])?;
            } else {
                self.execute(&numbered(statement), &[&from])?;
            }
        }
        Ok(())
    }

    fn lock_asset(&mut self, asset: i64) -> Result<(), StoreError> {
        self.execute("SELECT 1 FROM assets WHERE id = $1 FOR UPDATE", &[&asset])?;
        Ok(())
    }

    fn add_address(
        &mut self,
        asset: i64,
        ip: &str,
        vlan: Option<u16>,
        (first, last): (i64, i64),
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO asset_addresses (asset_id, ip, vlan, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (asset_id, ip) DO UPDATE SET
                first_seen = LEAST(asset_addresses.first_seen, excluded.first_seen),
                last_seen = GREATEST(asset_addresses.last_seen, excluded.last_seen),
                vlan = COALESCE(excluded.vlan, asset_addresses.vlan)",
            &[&asset, &ip, &vlan.map(i32::from), &first, &last],
        )?;
        Ok(())
    }

    fn add_vlan(&mut self, asset: i64, vlan: u16) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO asset_vlans (asset_id, vlan) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&asset, &i32::from(vlan)],
        )?;
        Ok(())
    }

    fn host_asset(&mut self, host_id: &str) -> Result<Option<i64>, StoreError> {
        self.first(&numbered(sql::HOST_ASSET), &[&host_id])
    }

    fn set_host(&mut self, host_id: &str, asset: i64, at: i64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO asset_host_ids (host_id, asset_id, first_seen, last_seen) VALUES ($1, $2, $3, $3)
             ON CONFLICT (host_id) DO UPDATE SET
                asset_id = excluded.asset_id,
                first_seen = LEAST(asset_host_ids.first_seen, excluded.first_seen),
                last_seen = GREATEST(asset_host_ids.last_seen, excluded.last_seen)",
            &[&host_id, &asset, &at],
        )?;
        Ok(())
    }

    fn asset_of_ip(&mut self, ip: &str) -> Result<Option<i64>, StoreError> {
        self.first(&numbered(sql::ASSET_OF_IP), &[&ip])
    }

    fn identity(&mut self, asset: i64, k: IdentityKey<'_>) -> Result<Option<Newest>, StoreError> {
        let rows = self.query(
            &numbered(sql::IDENTITY),
            &[&asset, &k.vendor, &k.product, &k.serial, &k.protocol],
        )?;
        Ok(rows.first().map(newest))
    }

    fn save_identity(
        &mut self,
        asset: i64,
        k: IdentityKey<'_>,
        firmware: Option<&str>,
        at: i64,
        observation_id: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            &numbered(sql::SAVE_IDENTITY),
            &[
                &asset,
                &k.vendor,
                &k.product,
                &k.serial,
                &firmware,
                &at,
                &observation_id,
                &k.protocol,
            ],
        )?;
        Ok(())
    }

    fn widen_identity(&mut self, asset: i64, k: IdentityKey<'_>, at: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE asset_identities SET first_seen = LEAST(first_seen, $5)
             WHERE asset_id = $1 AND vendor = $2 AND product = $3 AND serial = $4 AND protocol = $6",
            &[&asset, &k.vendor, &k.product, &k.serial, &at, &k.protocol],
        )?;
        Ok(())
    }

    fn software(&mut self, asset: i64, source: &str, name: &str) -> Result<Option<Newest>, StoreError> {
        let rows = self.query(&numbered(sql::SOFTWARE), &[&asset, &source, &name])?;
        Ok(rows.first().map(newest))
    }

    fn had_software(&mut self, asset: i64, at: i64) -> Result<bool, StoreError> {
        Ok(!self
            .query(&numbered(sql::HAD_SOFTWARE), &[&asset, &at])?
            .is_empty())
    }

    fn save_software(&mut self, asset: i64, w: &SoftwareRow<'_>) -> Result<(), StoreError> {
        self.execute(
            &numbered(sql::SAVE_SOFTWARE),
            &[
                &asset,
                &w.source,
                &w.name,
                &w.version,
                &w.purl,
                &w.at,
                &w.observation_id,
            ],
        )?;
        Ok(())
    }

    fn upsert_service(&mut self, asset: i64, s: &ServiceRow<'_>) -> Result<bool, StoreError> {
        let created: Option<bool> = self.first(
            "INSERT INTO asset_services
                (asset_id, ip, transport, port, protocol, banner, detected_by, first_seen, last_seen, observation_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
             ON CONFLICT (asset_id, ip, transport, port) DO UPDATE SET
                protocol = COALESCE(excluded.protocol, asset_services.protocol),
                banner = COALESCE(excluded.banner, asset_services.banner),
                detected_by = COALESCE(excluded.detected_by, asset_services.detected_by),
                first_seen = LEAST(asset_services.first_seen, excluded.first_seen),
                last_seen = GREATEST(asset_services.last_seen, excluded.last_seen)
             RETURNING xmax = 0",
            &[
                &asset,
                &s.ip,
                &s.transport,
                &i32::from(s.port),
                &s.protocol,
                &s.banner,
                &s.detected_by,
                &s.at,
                &s.observation_id,
            ],
        )?;
        Ok(created.unwrap_or(false))
    }

    fn latest_claim(
        &mut self,
        asset: i64,
        attribute: &str,
        source: &str,
    ) -> Result<Option<Newest>, StoreError> {
        let rows = self.query(&numbered(sql::LATEST_CLAIM), &[&asset, &attribute, &source])?;
        Ok(rows.first().map(newest))
    }

    fn upsert_claim(&mut self, asset: i64, c: &ClaimRow<'_>) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO asset_claims AS a
                (asset_id, attribute, value, source, confidence, first_seen, last_seen, claims, observation_id)
             VALUES ($1, $2, $3, $4, $5, $6, $6, 1, $7)
             ON CONFLICT (asset_id, attribute, value, source) DO UPDATE SET
                confidence = GREATEST(a.confidence, excluded.confidence),
                first_seen = LEAST(a.first_seen, excluded.first_seen),
                observation_id = CASE WHEN excluded.last_seen >= a.last_seen
                    THEN excluded.observation_id ELSE a.observation_id END,
                last_seen = GREATEST(a.last_seen, excluded.last_seen),
                claims = a.claims + 1",
            &[&asset, &c.attribute, &c.value, &c.source, &i32::from(c.confidence), &c.at, &c.observation_id],
        )?;
        Ok(())
    }

    fn add_flow_hours(&mut self, flows: &FlowRollup) -> Result<(), StoreError> {
        let (keys, totals): (Vec<&FlowKey>, Vec<&FlowTotals>) = flows.rows().unzip();
        let hour: Vec<i64> = keys.iter().map(|k| k.hour).collect();
        let vlan: Vec<i32> = keys.iter().map(|k| k.vlan).collect();
        let transport: Vec<&str> = keys.iter().map(|k| k.transport).collect();
        let orig: Vec<&str> = keys.iter().map(|k| k.orig_ip.as_str()).collect();
        let resp: Vec<&str> = keys.iter().map(|k| k.resp_ip.as_str()).collect();
        let port: Vec<i32> = keys.iter().map(|k| i32::from(k.resp_port)).collect();
        let app: Vec<&str> = keys.iter().map(|k| k.app_protocol.as_str()).collect();
        let count: Vec<i64> = totals.iter().map(|t| t.flows).collect();
        let packets: Vec<i64> = totals.iter().map(|t| t.packets).collect();
        let bytes: Vec<i64> = totals.iter().map(|t| t.bytes).collect();
        let first: Vec<i64> = totals.iter().map(|t| t.first_seen).collect();
        let last: Vec<i64> = totals.iter().map(|t| t.last_seen).collect();
        self.execute(
            "INSERT INTO flow_hours AS f (hour, vlan, transport, orig_ip, resp_ip, resp_port, app_protocol,
                flows, packets, bytes, first_seen, last_seen)
             SELECT * FROM unnest($1::int8[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::int4[],
                $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[])
             ON CONFLICT (hour, vlan, transport, orig_ip, resp_ip, resp_port, app_protocol) DO UPDATE SET
                flows = f.flows + excluded.flows,
                packets = f.packets + excluded.packets,
                bytes = f.bytes + excluded.bytes,
                first_seen = LEAST(f.first_seen, excluded.first_seen),
                last_seen = GREATEST(f.last_seen, excluded.last_seen)",
            &[
                &hour, &vlan, &transport, &orig, &resp, &port, &app, &count, &packets, &bytes, &first, &last,
            ],
        )?;
        Ok(())
    }

    fn record_change(
        &mut self,
        asset: i64,
        c: &Change<'_>,
        at: i64,
        observation_id: i64,
    ) -> Result<(), StoreError> {
        self.execute(
            &numbered(sql::INSERT_CHANGE),
            &[
                &asset,
                &c.kind,
                &c.subject,
                &c.old,
                &c.new,
                &at,
                &observation_id,
                &c.previous,
            ],
        )?;
        Ok(())
    }
}
