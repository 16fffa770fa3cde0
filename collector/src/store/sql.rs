//! SQL both engines run, written once in SQLite's dialect with `?N` placeholders; PostgreSQL runs
//! it through [`numbered`] (`$N`). Statements that differ between the dialects (upserts with
//! MIN/MAX or LEAST/GREATEST, array parameters) stay with their engine.

use std::borrow::Cow;

/// The statement with PostgreSQL's `$N` placeholders.
pub fn numbered(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            '$'
        } else {
            c
        });
    }
    Cow::Owned(out)
}

/// The highest stored sequence of an agent.
pub const HIGHEST_SEQ: &str = "SELECT highest_seq FROM agents WHERE agent_id = ?1";

/// Every asset.
pub const ASSETS: &str = "SELECT id, asset_key, mac, router, first_seen, last_seen FROM assets WHERE merged_into IS NULL ORDER BY id";

/// Every address of every asset.
pub const ADDRESSES: &str = "SELECT asset_id, ip FROM asset_addresses ORDER BY asset_id, ip";

/// Every VLAN of every asset.
pub const VLANS: &str = "SELECT asset_id, vlan FROM asset_vlans ORDER BY asset_id, vlan";

/// Every service of every asset.
pub const SERVICES: &str =
    "SELECT asset_id, ip, transport, port, protocol, detected_by, first_seen, last_seen, observation_id
    FROM asset_services ORDER BY asset_id, ip, transport, port";

/// A new baseline; its id.
pub const INSERT_BASELINE: &str =
    "INSERT INTO baselines (name, approved_by, approved_at, comment, scope) VALUES (?1, ?2, ?3, ?4, ?5)
    RETURNING id";

/// Every baseline with its asset count.
pub const BASELINES: &str = "SELECT b.id, b.name, b.approved_by, b.approved_at, b.comment, b.scope,
    (SELECT COUNT(*) FROM baseline_assets WHERE baseline_id = b.id)
    FROM baselines b ORDER BY b.id";

/// The asset snapshots of a baseline, with the asset each belongs to now.
pub const SNAPSHOTS: &str =
    "SELECT asset_id, snapshot FROM baseline_assets WHERE baseline_id = ?1 ORDER BY asset_id";

/// The observations about an asset.
pub const ASSET_OBSERVATIONS: &str =
    "SELECT id, agent_id, seq, idx, kind, observed_at FROM observations WHERE asset_id = ?1 ORDER BY id";

/// Every agent.
pub const AGENTS: &str =
    "SELECT agent_id, first_seen, last_seen, highest_seq, batches, clock_offset_ns, clock_measured_at
    FROM agents ORDER BY agent_id";

/// The columns of change records with their latest decision and when their observation was
/// received (the shared start of `CHANGES` and `CHANGES_AFTER`).
macro_rules! changes_select {
    () => {
        "SELECT c.id, c.asset_id, c.kind, c.subject, c.old_value, c.new_value, c.observed_at,
    c.observation_id, c.previous_observation_id,
    COALESCE(d.decision, 'open'), d.reference, d.decided_by, d.decided_at, b.received_at
    FROM changes c
    LEFT JOIN change_decisions d ON d.id =
    (SELECT MAX(id) FROM change_decisions WHERE change_id = c.id)
    LEFT JOIN observations o ON o.id = c.observation_id
    LEFT JOIN batches b ON b.agent_id = o.agent_id AND b.seq = o.seq"
    };
}

/// Every change with its latest decision (`open` without one) and when the collector received the
/// observation showing it.
pub const CHANGES: &str = concat!(changes_select!(), " ORDER BY c.id");

/// Change records after an id, oldest first, at most `?2`.
pub const CHANGES_AFTER: &str = concat!(changes_select!(), " WHERE c.id > ?1 ORDER BY c.id LIMIT ?2");

/// Claims a batch; no row when it is already stored.
pub const CLAIM_BATCH: &str =
    "INSERT INTO batches (agent_id, seq, protocol_version, sent_at, received_at, observation_count)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";

/// The asset of a machine id.
pub const HOST_ASSET: &str = "SELECT asset_id FROM asset_host_ids WHERE host_id = ?1";

/// The asset most recently holding an IP.
pub const ASSET_OF_IP: &str =
    "SELECT asset_id FROM asset_addresses WHERE ip = ?1 ORDER BY last_seen DESC, asset_id LIMIT 1";

/// A stored identity of an asset.
pub const IDENTITY: &str = "SELECT firmware, last_seen, observation_id FROM asset_identities
    WHERE asset_id = ?1 AND vendor = ?2 AND product = ?3 AND serial = ?4 AND protocol = ?5";

/// Makes a claim an identity's newest: a first claim inserts it, a newer one replaces its
/// firmware (when it has one), time and observation.
pub const SAVE_IDENTITY: &str = "INSERT INTO asset_identities
    (asset_id, vendor, product, serial, firmware, first_seen, last_seen, observation_id, protocol)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)
    ON CONFLICT (asset_id, protocol, vendor, product, serial) DO UPDATE SET
    firmware = COALESCE(excluded.firmware, asset_identities.firmware),
    last_seen = excluded.last_seen,
    observation_id = excluded.observation_id";

/// A stored software item of an asset.
pub const SOFTWARE: &str = "SELECT version, last_seen, observation_id FROM asset_software
    WHERE asset_id = ?1 AND source = ?2 AND name = ?3";

/// True (a row) when an asset had software recorded before a time: its first inventory is not
/// new software.
pub const HAD_SOFTWARE: &str = "SELECT 1 FROM asset_software WHERE asset_id = ?1 AND first_seen < ?2 LIMIT 1";

/// Makes a software observation the item's newest (its version and purl, when it has them).
pub const SAVE_SOFTWARE: &str = "INSERT INTO asset_software
    (asset_id, source, name, version, purl, first_seen, last_seen, observation_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
    ON CONFLICT (asset_id, source, name) DO UPDATE SET
    version = COALESCE(excluded.version, asset_software.version),
    purl = COALESCE(excluded.purl, asset_software.purl),
    last_seen = excluded.last_seen,
    observation_id = excluded.observation_id";

/// The software of an asset.
pub const ASSET_SOFTWARE: &str = "SELECT source, name, version, purl, first_seen, last_seen, observation_id
    FROM asset_software WHERE asset_id = ?1 ORDER BY source, name";

/// An asset by its key, with the asset it was merged into.
pub const ASSET_BY_KEY: &str = "SELECT id, merged_into FROM assets WHERE asset_key = ?1";

/// The key of an asset.
pub const ASSET_KEY: &str = "SELECT asset_key FROM assets WHERE id = ?1";

/// Widens an asset's seen interval (and router flag).
pub const WIDEN_ASSET: &str = "UPDATE assets SET router = (router OR ?2),
    first_seen = CASE WHEN ?3 < first_seen THEN ?3 ELSE first_seen END,
    last_seen = CASE WHEN ?4 > last_seen THEN ?4 ELSE last_seen END
    WHERE id = ?1";

/// Reserves a key not seen yet for asset `?3` (a host's other interface).
pub const INSERT_ALIAS: &str =
    "INSERT INTO assets (asset_key, mac, router, first_seen, last_seen, merged_into)
    VALUES (?1, ?2, (1 = 0), ?4, ?4, ?3)";

/// The other assets whose own identity claims vendor `?1` and serial `?2` (not `?3`).
pub const SERIAL_TWINS: &str = "SELECT DISTINCT s.asset_id FROM asset_claims s
    JOIN asset_claims v ON v.asset_id = s.asset_id AND v.attribute = 'vendor' AND v.value = ?1
    JOIN assets a ON a.id = s.asset_id AND a.merged_into IS NULL
    WHERE s.attribute = 'serial' AND s.value = ?2 AND s.asset_id <> ?3
    ORDER BY s.asset_id";

/// Merges asset `?1` into asset `?2`, in order: its observations, changes and host ids point to
/// the survivor; its addresses, VLANs, services, identities, claims, software and baseline rows
/// move there (where the survivor has the same row, the survivor's stays); assets merged into it
/// and its own key point to the survivor, whose interval and router flag widen.
pub const MERGE_ASSET: &[&str] = &[
    "UPDATE observations SET asset_id = ?2 WHERE asset_id = ?1",
    "UPDATE changes SET asset_id = ?2 WHERE asset_id = ?1",
    "UPDATE asset_host_ids SET asset_id = ?2 WHERE asset_id = ?1",
    "INSERT INTO asset_addresses (asset_id, ip, vlan, first_seen, last_seen)
        SELECT CAST(?2 AS BIGINT), ip, vlan, first_seen, last_seen FROM asset_addresses WHERE asset_id = ?1
        ON CONFLICT DO NOTHING",
    "DELETE FROM asset_addresses WHERE asset_id = ?1",
    "INSERT INTO asset_vlans (asset_id, vlan) SELECT CAST(?2 AS BIGINT), vlan FROM asset_vlans WHERE asset_id = ?1
        ON CONFLICT DO NOTHING",
    "DELETE FROM asset_vlans WHERE asset_id = ?1",
    "INSERT INTO asset_services
        (asset_id, ip, transport, port, protocol, banner, detected_by, first_seen, last_seen, observation_id)
        SELECT CAST(?2 AS BIGINT), ip, transport, port, protocol, banner, detected_by, first_seen, last_seen,
            observation_id
        FROM asset_services WHERE asset_id = ?1
        ON CONFLICT DO NOTHING",
    "DELETE FROM asset_services WHERE asset_id = ?1",
    "INSERT INTO asset_identities
        (asset_id, protocol, vendor, product, serial, firmware, first_seen, last_seen, observation_id)
        SELECT CAST(?2 AS BIGINT), protocol, vendor, product, serial, firmware, first_seen, last_seen, observation_id
        FROM asset_identities WHERE asset_id = ?1
        ON CONFLICT DO NOTHING",
    "DELETE FROM asset_identities WHERE asset_id = ?1",
    "INSERT INTO asset_claims
        (asset_id, attribute, value, source, confidence, first_seen, last_seen, claims, observation_id)
        SELECT CAST(?2 AS BIGINT), attribute, value, source, confidence, first_seen, last_seen, claims, observation_id
        FROM asset_claims WHERE asset_id = ?1
        ON CONFLICT DO NOTHING",
    "DELETE FROM asset_claims WHERE asset_id = ?1",
    "INSERT INTO asset_software (asset_id, source, name, version, purl, first_seen, last_seen, observation_id)
        SELECT CAST(?2 AS BIGINT), source, name, version, purl, first_seen, last_seen, observation_id
        FROM asset_software WHERE asset_id = ?1
        ON CONFLICT DO NOTHING",
    "DELETE FROM asset_software WHERE asset_id = ?1",
    "INSERT INTO baseline_assets (baseline_id, asset_id, snapshot)
        SELECT baseline_id, CAST(?2 AS BIGINT), snapshot FROM baseline_assets WHERE asset_id = ?1
        ON CONFLICT DO NOTHING",
    "DELETE FROM baseline_assets WHERE asset_id = ?1",
    "UPDATE assets SET merged_into = ?2 WHERE merged_into = ?1",
    "UPDATE assets SET
        router = (router OR (SELECT f.router FROM assets f WHERE f.id = ?1)),
        first_seen = CASE WHEN (SELECT f.first_seen FROM assets f WHERE f.id = ?1) < first_seen
            THEN (SELECT f.first_seen FROM assets f WHERE f.id = ?1) ELSE first_seen END,
        last_seen = CASE WHEN (SELECT f.last_seen FROM assets f WHERE f.id = ?1) > last_seen
            THEN (SELECT f.last_seen FROM assets f WHERE f.id = ?1) ELSE last_seen END
        WHERE id = ?2",
    "UPDATE assets SET merged_into = ?2 WHERE id = ?1",
];

/// True when a statement of [`MERGE_ASSET`] names the survivor (`?2`), not only the merged asset.
pub fn names_survivor(statement: &str) -> bool {
    statement.contains("?2")
}

/// The newest value a source claimed for an attribute of an asset.
pub const LATEST_CLAIM: &str = "SELECT value, last_seen, observation_id FROM asset_claims
    WHERE asset_id = ?1 AND attribute = ?2 AND source = ?3 ORDER BY last_seen DESC, value LIMIT 1";

/// A new attestation; its id.
pub const INSERT_ATTESTATION: &str = "INSERT INTO attestations
    (kind, scope, title, version, owner, approved_on, next_review, file_name, sha256, expires, attested_by, attested_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id";

/// Every attestation, oldest first.
pub const ATTESTATIONS: &str =
    "SELECT id, kind, scope, title, version, owner, approved_on, next_review, file_name,
    sha256, expires, attested_by, attested_at, revoked_by, revoked_at, revoke_reason,
    countersigned_by, countersigned_at
    FROM attestations ORDER BY id";

/// Countersigns an attestation standing and not countersigned yet; no row when there is none.
pub const COUNTERSIGN_ATTESTATION: &str =
    "UPDATE attestations SET countersigned_by = ?2, countersigned_at = ?3
    WHERE id = ?1 AND revoked_at IS NULL AND countersigned_at IS NULL";

/// Revokes an attestation not revoked yet; no row when there is none.
pub const REVOKE_ATTESTATION: &str =
    "UPDATE attestations SET revoked_by = ?2, revoked_at = ?3, revoke_reason = ?4
    WHERE id = ?1 AND revoked_at IS NULL";

/// The columns of an hourly flow row as `store::flow_row` reads them (integers as BIGINT in both
/// engines).
macro_rules! flow_columns {
    () => {
        "SELECT hour, CAST(vlan AS BIGINT), transport, orig_ip, resp_ip, CAST(resp_port AS BIGINT), app_protocol,
    flows, packets, bytes, first_seen, last_seen FROM flow_hours "
    };
}
pub(crate) use flow_columns;

/// The hourly flow rows of hours from `?1` up to (not including) `?2`.
pub const FLOW_HOURS_BETWEEN: &str = concat!(
    flow_columns!(),
    "WHERE hour >= ?1 AND hour < ?2 ORDER BY hour, vlan, transport, orig_ip, resp_ip, resp_port, app_protocol"
);

/// The hourly flow rows in which `?1` took part.
pub const FLOW_HOURS_OF_IP: &str = concat!(flow_columns!(), "WHERE orig_ip = ?1 OR resp_ip = ?1");

/// A change record.
pub const INSERT_CHANGE: &str = "INSERT INTO changes
    (asset_id, kind, subject, old_value, new_value, observed_at, observation_id, previous_observation_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// A decision on a change; no row when the change does not exist.
pub const INSERT_DECISION: &str =
    "INSERT INTO change_decisions (change_id, decision, reference, decided_by, decided_at, comment)
    SELECT id, ?2, ?3, ?4, ?5, ?6 FROM changes WHERE id = ?1";

/// Row counts: agents, batches, observations, assets.
pub const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM agents), (SELECT COUNT(*) FROM batches),
    (SELECT COUNT(*) FROM observations), (SELECT COUNT(*) FROM assets WHERE merged_into IS NULL)";

/// The claims of one asset (`?1`), or of all (`?1` null).
pub const CLAIMS: &str =
    "SELECT asset_id, attribute, value, source, confidence, first_seen, last_seen, claims, observation_id
    FROM asset_claims WHERE CAST(?1 AS BIGINT) IS NULL OR asset_id = ?1
    ORDER BY asset_id, attribute, value, source";

/// Records an `asset_not_seen` change for each asset last seen before `?1`, noticed at `?2`,
/// with the newest observation of it as evidence; once per absence (an asset seen again and then
/// absent again has a newer observation, so a new record).
pub const RECORD_NOT_SEEN: &str = "INSERT INTO changes
    (asset_id, kind, subject, old_value, new_value, observed_at, observation_id, previous_observation_id)
    SELECT id, 'asset_not_seen', asset_key, NULL, NULL, ?2, last_id, NULL FROM (
        SELECT a.id, a.asset_key, (SELECT MAX(o.id) FROM observations o WHERE o.asset_id = a.id) AS last_id
        FROM assets a WHERE a.last_seen < ?1 AND a.merged_into IS NULL) candidates
    WHERE last_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM changes c
        WHERE c.asset_id = candidates.id AND c.kind = 'asset_not_seen' AND c.observation_id = candidates.last_id)";

/// Deletes, by `chunk`, the observations of batches received before a time that nothing refers
/// to: no change, identity, service, claim or software item keeps them as its evidence.`?1` is the time, `?2` the
/// chunk.
pub const PRUNE: &str = "DELETE FROM observations WHERE id IN (
    SELECT o.id FROM batches b JOIN observations o ON o.agent_id = b.agent_id AND o.seq = b.seq
    WHERE b.received_at < ?1
      AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.observation_id = o.id)
      AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.previous_observation_id = o.id)
      AND NOT EXISTS (SELECT 1 FROM asset_identities i WHERE i.observation_id = o.id)
      AND NOT EXISTS (SELECT 1 FROM asset_services s WHERE s.observation_id = o.id)
      AND NOT EXISTS (SELECT 1 FROM asset_claims a WHERE a.observation_id = o.id)
      AND NOT EXISTS (SELECT 1 FROM asset_software w WHERE w.observation_id = o.id)
    ORDER BY o.id
    LIMIT ?2)";

/// The observations of one kind made in a time range, oldest first.
pub const OBSERVATIONS_OF_KIND: &str = "SELECT id, asset_id, body FROM observations
    WHERE kind = ?1 AND observed_at >= ?2 AND observed_at < ?3 ORDER BY observed_at, id";

/// One observation by id.
pub const OBSERVATION_BY_ID: &str = "SELECT id, asset_id, body FROM observations WHERE id = ?1";

/// Saves an assessment, returning its id.
pub const INSERT_ASSESSMENT: &str = "INSERT INTO assessments
    (assessed_at, period_end, period_days, catalog_version, digest, body)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";

/// The newest saved assessments.
pub const ASSESSMENTS: &str = "SELECT id, assessed_at, period_end, period_days, catalog_version, digest, body
    FROM assessments ORDER BY id DESC LIMIT ?1";

/// Stores an advisory, replacing the one of that feed and id.
pub const UPSERT_ADVISORY: &str = "INSERT INTO advisories (feed, id, body, file_sha256, imported_at)
    VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (feed, id) DO UPDATE SET body = excluded.body, file_sha256 = excluded.file_sha256,
    imported_at = excluded.imported_at";

/// Stores a KEV entry, replacing an earlier one.
pub const UPSERT_KNOWN_EXPLOITED: &str =
    "INSERT INTO known_exploited (cve, body, imported_at) VALUES (?1, ?2, ?3)
    ON CONFLICT (cve) DO UPDATE SET body = excluded.body, imported_at = excluded.imported_at";

/// Records an imported file.
pub const INSERT_FEED_IMPORT: &str =
    "INSERT INTO feed_imports (feed, file, sha256, entries, imported_at) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Every advisory (JSON) with when it was imported, by feed and id.
pub const ADVISORIES: &str = "SELECT body, imported_at FROM advisories ORDER BY feed, id";

/// Every KEV entry (JSON), by CVE.
pub const KNOWN_EXPLOITED: &str = "SELECT body FROM known_exploited ORDER BY cve";

/// Imported files, oldest first.
pub const FEED_IMPORTS: &str =
    "SELECT feed, file, sha256, entries, imported_at FROM feed_imports ORDER BY id";

/// The software of every asset.
pub const ALL_SOFTWARE: &str =
    "SELECT source, name, version, purl, first_seen, last_seen, observation_id, asset_id
    FROM asset_software ORDER BY asset_id, source, name";

/// An agent's stored batch count and chain head (under the agent row's lock in the transaction
/// that just counted a batch).
pub const CHAIN_HEAD: &str = "SELECT batches, chain_head FROM agents WHERE agent_id = ?1";

/// Seals a stored batch into its agent's chain.
pub const SEAL_BATCH: &str = "UPDATE batches SET chain_pos = ?3, prev_digest = ?4, digest = ?5, leaves = ?6
    WHERE agent_id = ?1 AND seq = ?2";

/// Makes a digest its agent's chain head.
pub const SET_CHAIN_HEAD: &str = "UPDATE agents SET chain_head = ?2 WHERE agent_id = ?1";

/// Every agent's batch count, unsealed batch count and chain head.
pub const CHAIN_HEADS: &str = "SELECT a.agent_id, a.batches,
        (SELECT COUNT(*) FROM batches b WHERE b.agent_id = a.agent_id AND b.chain_pos IS NULL),
        a.chain_head
    FROM agents a ORDER BY a.agent_id";

/// Observations of a kind after an id, by id, at most `?3`.
pub const OBSERVATIONS_AFTER: &str =
    "SELECT id, asset_id, body FROM observations WHERE kind = ?1 AND id > ?2 ORDER BY id LIMIT ?3";

/// A SIEM destination's progress through a stream.
pub const SIEM_CURSOR: &str = "SELECT last_id FROM siem_cursors WHERE destination = ?1 AND stream = ?2";

/// Advances a SIEM destination's progress through a stream (never back).
pub const ADVANCE_SIEM_CURSOR: &str = "INSERT INTO siem_cursors (destination, stream, last_id) VALUES (?1, ?2, ?3)
    ON CONFLICT (destination, stream) DO UPDATE SET last_id = CASE WHEN excluded.last_id > siem_cursors.last_id
        THEN excluded.last_id ELSE siem_cursors.last_id END";

/// Records an item delivered to a SIEM destination.
pub const RECORD_DELIVERY: &str =
    "INSERT INTO siem_deliveries (destination, stream, item_id, delivered_at, attempts)
    VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";

/// Every delivered item of a stream with its first delivery to any destination.
pub const FIRST_DELIVERIES: &str = "SELECT item_id, MIN(delivered_at) FROM siem_deliveries WHERE stream = ?1 GROUP BY item_id ORDER BY item_id";

/// How the observations captured in [?1, ?2) were received: how many, how many after ?3, how many
/// captured more than ?4 ns after their receipt.
pub const RECEIPT_BETWEEN: &str = "SELECT COUNT(*),
        CAST(COALESCE(SUM(CASE WHEN b.received_at > ?3 THEN 1 ELSE 0 END), 0) AS BIGINT),
        CAST(COALESCE(SUM(CASE WHEN o.observed_at > b.received_at + ?4 THEN 1 ELSE 0 END), 0) AS BIGINT),
        COUNT(DISTINCT o.observed_at / 86400000000000)
    FROM observations o JOIN batches b ON b.agent_id = o.agent_id AND b.seq = o.seq
    WHERE o.observed_at >= ?1 AND o.observed_at < ?2 AND o.kind <> 'agent_telemetry'";

/// Agents with a batch received in [?1, ?2).
pub const AGENTS_REPORTING_BETWEEN: &str =
    "SELECT DISTINCT agent_id FROM batches WHERE received_at >= ?1 AND received_at < ?2";

/// Assets with an observation captured in [?1, ?2).
pub const ASSETS_OBSERVED_BETWEEN: &str = "SELECT DISTINCT asset_id FROM observations
    WHERE observed_at >= ?1 AND observed_at < ?2 AND asset_id IS NOT NULL";

/// Records an agent's clock offset ?2 measured at ?3.
pub const RECORD_CLOCK: &str =
    "UPDATE agents SET clock_offset_ns = ?2, clock_measured_at = ?3 WHERE agent_id = ?1";

/// Sealed batches of an agent from a chain position on.
pub const SEALED_BATCHES: &str =
    "SELECT seq, received_at, observation_count, chain_pos, prev_digest, digest, leaves
    FROM batches WHERE agent_id = ?1 AND chain_pos >= ?2 ORDER BY chain_pos LIMIT ?3";

/// The stored observations of a batch.
pub const BATCH_ROWS: &str =
    "SELECT idx, kind, observed_at, body FROM observations WHERE agent_id = ?1 AND seq = ?2 ORDER BY idx";

/// A mark of the store.
pub const STORE_MARK: &str = "SELECT value FROM store_marks WHERE name = ?1";

/// Raises a mark of the store to a value (never lowers it).
pub const RAISE_STORE_MARK: &str = "INSERT INTO store_marks (name, value) VALUES (?1, ?2)
    ON CONFLICT (name) DO UPDATE SET value = CASE WHEN excluded.value > store_marks.value
        THEN excluded.value ELSE store_marks.value END";

/// Adds a user, returning its id.
pub const INSERT_USER: &str =
    "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id";

/// Every user.
pub const USERS: &str =
    "SELECT id, name, role, password_hash, created_at, disabled_at FROM users ORDER BY id";

/// Disables a user.
pub const DISABLE_USER: &str = "UPDATE users SET disabled_at = ?2 WHERE id = ?1 AND disabled_at IS NULL";

/// Stores a credential, returning its id.
pub const INSERT_CREDENTIAL: &str =
    "INSERT INTO credentials (kind, name, user_id, secret_sha256, created_at, expires_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";

/// The columns of a credential with its user's name, then the user's columns.
macro_rules! credential_select {
    () => {
        "SELECT c.id, c.kind, c.name, c.user_id, u.name, c.created_at, c.expires_at, c.revoked_at,
        u.id, u.name, u.role, u.password_hash, u.created_at, u.disabled_at
    FROM credentials c JOIN users u ON u.id = c.user_id"
    };
}

/// The credential with a secret's SHA-256, and its user.
pub const CREDENTIAL: &str = concat!(credential_select!(), " WHERE c.secret_sha256 = ?1");

/// Every credential with its user.
pub const CREDENTIALS: &str = concat!(credential_select!(), " ORDER BY c.id");

/// Revokes a credential.
pub const REVOKE_CREDENTIAL: &str =
    "UPDATE credentials SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL";

/// Records an audit entry, returning its id.
pub const INSERT_AUDIT: &str = "INSERT INTO audit_log (at, actor, action, target, detail, source)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";

/// The newest audit entries, newest first.
pub const AUDIT_LOG: &str =
    "SELECT id, at, actor, action, target, detail, source FROM audit_log ORDER BY id DESC LIMIT ?1";

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgresql() {
        assert_eq!(
            super::numbered("a = ?1 AND b = ?12 OR c IS ?"),
            "a = $1 AND b = $12 OR c IS ?"
        );
        assert_eq!(super::numbered(super::AGENTS), super::AGENTS);
    }
}
