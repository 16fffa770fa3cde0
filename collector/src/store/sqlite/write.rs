//! The statements of an SQLite write transaction. One connection writes, so a row read and then
//! written cannot change in between: "created" is a read before the upsert.

use super::db;
use crate::fuse::flows::FlowRollup;
use crate::store::chain::Seal;
use crate::store::ingest::{
    Change, ClaimRow, EncodedObservation, IdentityKey, IngestTx, Newest, ServiceRow, SoftwareRow,
    UpsertedAsset,
};
use crate::store::{StoreError, sql};
use rusqlite::{OptionalExtension, Transaction, params};
use shoko_proto::{Envelope, Timestamp};

/// The newest value, time and observation of a row.
fn newest(r: &rusqlite::Row<'_>) -> rusqlite::Result<Newest> {
    Ok(Newest {
        value: r.get(0)?,
        last_seen: r.get(1)?,
        observation_id: r.get(2)?,
    })
}

impl IngestTx for Transaction<'_> {
    fn claim_batch(&mut self, batch: &Envelope, received_at: Timestamp) -> Result<bool, StoreError> {
        let inserted = self
            .prepare_cached(sql::CLAIM_BATCH)
            .map_err(db)?
            .execute(params![
                batch.agent_id,
                batch.seq as i64,
                batch.protocol_version,
                batch.sent_at.0,
                received_at.0,
                batch.observations.len() as i64
            ])
            .map_err(db)?;
        Ok(inserted == 1)
    }

    fn advance_agent(&mut self, agent_id: &str, seq: u64, received_at: Timestamp) -> Result<u64, StoreError> {
        self.prepare_cached(
            "INSERT INTO agents (agent_id, first_seen, last_seen, highest_seq, batches) VALUES (?1, ?2, ?2, ?3, 1)
             ON CONFLICT (agent_id) DO UPDATE SET
                last_seen = excluded.last_seen,
                highest_seq = MAX(highest_seq, excluded.highest_seq),
                batches = batches + 1
             RETURNING highest_seq",
        )
        .map_err(db)?
        .query_row(params![agent_id, received_at.0, seq as i64], |r| r.get::<_, i64>(0))
        .map(|h| h as u64)
        .map_err(db)
    }

    fn highest_seq(&mut self, agent_id: &str) -> Result<u64, StoreError> {
        super::highest_seq(self, agent_id)
    }

    fn chain_head(&mut self, agent_id: &str) -> Result<(i64, Option<Vec<u8>>), StoreError> {
        self.prepare_cached(sql::CHAIN_HEAD)
            .map_err(db)?
            .query_row(params![agent_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)
    }

    fn seal_batch(&mut self, agent_id: &str, seq: u64, seal: &Seal) -> Result<(), StoreError> {
        self.prepare_cached(sql::SEAL_BATCH)
            .map_err(db)?
            .execute(params![
                agent_id,
                seq as i64,
                seal.position,
                seal.prev.as_slice(),
                seal.digest.as_slice(),
                seal.leaves
            ])
            .map_err(db)?;
        self.prepare_cached(sql::SET_CHAIN_HEAD)
            .map_err(db)?
            .execute(params![agent_id, seal.digest.as_slice()])
            .map_err(db)?;
        Ok(())
    }

    fn insert_observations(
        &mut self,
        batch: &Envelope,
        rows: &[EncodedObservation],
    ) -> Result<Vec<i64>, StoreError> {
        let mut insert = self
            .prepare_cached(
                "INSERT INTO observations (agent_id, seq, idx, kind, observed_at, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db)?;
        rows.iter()
            .map(|o| {
                insert
                    .execute(params![
                        batch.agent_id,
                        batch.seq as i64,
                        o.idx,
                        o.kind,
                        o.observed_at,
                        o.body
                    ])
                    .map_err(db)?;
                Ok(self.last_insert_rowid())
            })
            .collect()
    }

    fn link_observations(&mut self, links: &[(i64, i64)]) -> Result<(), StoreError> {
        let mut update = self
            .prepare_cached(
                "UPDATE observations SET asset_id = (SELECT COALESCE(merged_into, id) FROM assets WHERE id = ?2)
                 WHERE id = ?1",
            )
            .map_err(db)?;
        for (id, asset) in links {
            update.execute(params![id, asset]).map_err(db)?;
        }
        Ok(())
    }

    fn upsert_asset(
        &mut self,
        key: &str,
        mac: Option<&str>,
        router: bool,
        (first, last): (i64, i64),
    ) -> Result<UpsertedAsset, StoreError> {
        let known = self.asset_by_key(key)?;
        let id = self
            .prepare_cached(
                "INSERT INTO assets (asset_key, mac, router, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (asset_key) DO UPDATE SET
                    router = MAX(router, excluded.router),
                    first_seen = MIN(first_seen, excluded.first_seen),
                    last_seen = MAX(last_seen, excluded.last_seen)
                 RETURNING id",
            )
            .map_err(db)?
            .query_row(params![key, mac, router, first, last], |r| r.get(0))
            .map_err(db)?;
        Ok(UpsertedAsset {
            id,
            created: known.is_none(),
            merged_into: known.and_then(|(_, into)| into),
        })
    }

    fn widen_asset(&mut self, asset: i64, router: bool, (first, last): (i64, i64)) -> Result<(), StoreError> {
        self.prepare_cached(sql::WIDEN_ASSET)
            .map_err(db)?
            .execute(params![asset, router, first, last])
            .map_err(db)?;
        Ok(())
    }

    fn asset_by_key(&mut self, key: &str) -> Result<Option<(i64, Option<i64>)>, StoreError> {
        self.prepare_cached(sql::ASSET_BY_KEY)
            .map_err(db)?
            .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(db)
    }

    fn asset_key(&mut self, asset: i64) -> Result<String, StoreError> {
        self.prepare_cached(sql::ASSET_KEY)
            .map_err(db)?
            .query_row(params![asset], |r| r.get(0))
            .map_err(db)
    }

    fn insert_alias(&mut self, key: &str, mac: Option<&str>, into: i64, at: i64) -> Result<(), StoreError> {
        self.prepare_cached(sql::INSERT_ALIAS)
            .map_err(db)?
            .execute(params![key, mac, into, at])
            .map_err(db)?;
        Ok(())
    }

    fn serial_twins(&mut self, vendor: &str, serial: &str, except: i64) -> Result<Vec<i64>, StoreError> {
        self.prepare_cached(sql::SERIAL_TWINS)
            .map_err(db)?
            .query_map(params![vendor, serial, except], |r| r.get(0))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn merge_assets(&mut self, from: i64, into: i64) -> Result<(), StoreError> {
        for statement in sql::MERGE_ASSET {
            let mut st = self.prepare_cached(statement).map_err(db)?;
            if sql::names_survivor(statement) {
                st.execute(params![from, into])
            } else {
                st.execute(params![from])
            }
            .map_err(db)?;
        }
        Ok(())
    }

    fn lock_asset(&mut self, _asset: i64) -> Result<(), StoreError> {
        // The one writing connection holds the database for the whole transaction.
        Ok(())
    }

    fn add_address(
        &mut self,
        asset: i64,
        ip: &str,
        vlan: Option<u16>,
        (first, last): (i64, i64),
    ) -> Result<(), StoreError> {
        self.prepare_cached(
            "INSERT INTO asset_addresses (asset_id, ip, vlan, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (asset_id, ip) DO UPDATE SET
                first_seen = MIN(first_seen, excluded.first_seen),
                last_seen = MAX(last_seen, excluded.last_seen),
                vlan = COALESCE(excluded.vlan, vlan)",
        )
        .map_err(db)?
        .execute(params![asset, ip, vlan, first, last])
        .map_err(db)?;
        Ok(())
    }

    fn add_vlan(&mut self, asset: i64, vlan: u16) -> Result<(), StoreError> {
        self.prepare_cached("INSERT OR IGNORE INTO asset_vlans (asset_id, vlan) VALUES (?1, ?2)")
            .map_err(db)?
            .execute(params![asset, vlan])
            .map_err(db)?;
        Ok(())
    }

    fn host_asset(&mut self, host_id: &str) -> Result<Option<i64>, StoreError> {
        self.prepare_cached(sql::HOST_ASSET)
            .map_err(db)?
            .query_row(params![host_id], |r| r.get(0))
            .optional()
            .map_err(db)
    }

    fn set_host(&mut self, host_id: &str, asset: i64, at: i64) -> Result<(), StoreError> {
        self.prepare_cached(
            "INSERT INTO asset_host_ids (host_id, asset_id, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (host_id) DO UPDATE SET
                asset_id = excluded.asset_id,
                first_seen = MIN(first_seen, excluded.first_seen),
                last_seen = MAX(last_seen, excluded.last_seen)",
        )
        .map_err(db)?
        .execute(params![host_id, asset, at])
        .map_err(db)?;
        Ok(())
    }

    fn asset_of_ip(&mut self, ip: &str) -> Result<Option<i64>, StoreError> {
        self.prepare_cached(sql::ASSET_OF_IP)
            .map_err(db)?
            .query_row(params![ip], |r| r.get(0))
            .optional()
            .map_err(db)
    }

    fn identity(&mut self, asset: i64, k: IdentityKey<'_>) -> Result<Option<Newest>, StoreError> {
        self.prepare_cached(sql::IDENTITY)
            .map_err(db)?
            .query_row(params![asset, k.vendor, k.product, k.serial, k.protocol], newest)
            .optional()
            .map_err(db)
    }

    fn save_identity(
        &mut self,
        asset: i64,
        k: IdentityKey<'_>,
        firmware: Option<&str>,
        at: i64,
        observation_id: i64,
    ) -> Result<(), StoreError> {
        self.prepare_cached(sql::SAVE_IDENTITY)
            .map_err(db)?
            .execute(params![
                asset,
                k.vendor,
                k.product,
                k.serial,
                firmware,
                at,
                observation_id,
                k.protocol
            ])
            .map_err(db)?;
        Ok(())
    }

    fn widen_identity(&mut self, asset: i64, k: IdentityKey<'_>, at: i64) -> Result<(), StoreError> {
        self.prepare_cached(
            "UPDATE asset_identities SET first_seen = MIN(first_seen, ?5)
             WHERE asset_id = ?1 AND vendor = ?2 AND product = ?3 AND serial = ?4 AND protocol = ?6",
        )
        .map_err(db)?
        .execute(params![asset, k.vendor, k.product, k.serial, at, k.protocol])
        .map_err(db)?;
        Ok(())
    }

    fn software(&mut self, asset: i64, source: &str, name: &str) -> Result<Option<Newest>, StoreError> {
        self.prepare_cached(sql::SOFTWARE)
            .map_err(db)?
            .query_row(params![asset, source, name], newest)
            .optional()
            .map_err(db)
    }

    fn had_software(&mut self, asset: i64, at: i64) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached(sql::HAD_SOFTWARE)
            .map_err(db)?
            .query_row(params![asset, at], |_| Ok(()))
            .optional()
            .map_err(db)?
            .is_some())
    }

    fn save_software(&mut self, asset: i64, w: &SoftwareRow<'_>) -> Result<(), StoreError> {
        self.prepare_cached(sql::SAVE_SOFTWARE)
            .map_err(db)?
            .execute(params![
                asset,
                w.source,
                w.name,
                w.version,
                w.purl,
                w.at,
                w.observation_id
            ])
            .map_err(db)?;
        Ok(())
    }

    fn upsert_service(&mut self, asset: i64, s: &ServiceRow<'_>) -> Result<bool, StoreError> {
        let known = self
            .prepare_cached(
                "SELECT 1 FROM asset_services WHERE asset_id = ?1 AND ip = ?2 AND transport = ?3 AND port = ?4",
            )
            .map_err(db)?
            .query_row(params![asset, s.ip, s.transport, s.port], |_| Ok(()))
            .optional()
            .map_err(db)?
            .is_some();
        self.prepare_cached(
            "INSERT INTO asset_services
                (asset_id, ip, transport, port, protocol, banner, detected_by, first_seen, last_seen, observation_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
             ON CONFLICT (asset_id, ip, transport, port) DO UPDATE SET
                protocol = COALESCE(excluded.protocol, protocol),
                banner = COALESCE(excluded.banner, banner),
                detected_by = COALESCE(excluded.detected_by, detected_by),
                first_seen = MIN(first_seen, excluded.first_seen),
                last_seen = MAX(last_seen, excluded.last_seen)",
        )
        .map_err(db)?
        .execute(params![
            asset,
            s.ip,
            s.transport,
            s.port,
            s.protocol,
            s.banner,
            s.detected_by,
            s.at,
            s.observation_id
        ])
        .map_err(db)?;
        Ok(!known)
    }

    fn latest_claim(
        &mut self,
        asset: i64,
        attribute: &str,
        source: &str,
    ) -> Result<Option<Newest>, StoreError> {
        self.prepare_cached(sql::LATEST_CLAIM)
            .map_err(db)?
            .query_row(params![asset, attribute, source], newest)
            .optional()
            .map_err(db)
    }

    fn upsert_claim(&mut self, asset: i64, c: &ClaimRow<'_>) -> Result<(), StoreError> {
        self.prepare_cached(
            "INSERT INTO asset_claims
                (asset_id, attribute, value, source, confidence, first_seen, last_seen, claims, observation_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1, ?7)
             ON CONFLICT (asset_id, attribute, value, source) DO UPDATE SET
                confidence = MAX(confidence, excluded.confidence),
                first_seen = MIN(first_seen, excluded.first_seen),
                observation_id = CASE WHEN excluded.last_seen >= last_seen
                    THEN excluded.observation_id ELSE observation_id END,
                last_seen = MAX(last_seen, excluded.last_seen),
                claims = claims + 1",
        )
        .map_err(db)?
        .execute(params![asset, c.attribute, c.value, c.source, c.confidence, c.at, c.observation_id])
        .map_err(db)?;
        Ok(())
    }

    fn add_flow_hours(&mut self, flows: &FlowRollup) -> Result<(), StoreError> {
        let mut upsert = self
            .prepare_cached(
                "INSERT INTO flow_hours (hour, vlan, transport, orig_ip, resp_ip, resp_port, app_protocol,
                    flows, packets, bytes, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (hour, vlan, transport, orig_ip, resp_ip, resp_port, app_protocol) DO UPDATE SET
                    flows = flows + excluded.flows,
                    packets = packets + excluded.packets,
                    bytes = bytes + excluded.bytes,
                    first_seen = MIN(first_seen, excluded.first_seen),
                    last_seen = MAX(last_seen, excluded.last_seen)",
            )
            .map_err(db)?;
        for (k, t) in flows.rows() {
            upsert
                .execute(params![
                    k.hour,
                    k.vlan,
                    k.transport,
                    k.orig_ip,
                    k.resp_ip,
                    k.resp_port,
                    k.app_protocol,
                    t.flows,
                    t.packets,
                    t.bytes,
                    t.first_seen,
                    t.last_seen
                ])
                .map_err(db)?;
        }
        Ok(())
    }

    fn record_change(
        &mut self,
        asset: i64,
        c: &Change<'_>,
        at: i64,
        observation_id: i64,
    ) -> Result<(), StoreError> {
        self.prepare_cached(sql::INSERT_CHANGE)
            .map_err(db)?
            .execute(params![
                asset,
                c.kind,
                c.subject,
                c.old,
                c.new,
                at,
                observation_id,
                c.previous
            ])
            .map_err(db)?;
        Ok(())
    }
}
