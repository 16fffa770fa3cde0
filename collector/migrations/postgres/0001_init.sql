-- shoko collector store, PostgreSQL engine, schema version 1 (the tables of SQLite schema 4).
-- Times are nanoseconds since the Unix epoch (UTC). Several collectors may write at once: every
-- row that two of them could create has a unique key they upsert on.

-- Agents that have delivered batches, with the highest batch sequence stored.
CREATE TABLE agents (
    agent_id     TEXT PRIMARY KEY,
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    highest_seq  BIGINT NOT NULL DEFAULT 0,
    batches      BIGINT NOT NULL DEFAULT 0
);

-- Every stored batch, once: (agent_id, seq) makes re-sends idempotent, on any collector.
CREATE TABLE batches (
    agent_id          TEXT NOT NULL,
    seq               BIGINT NOT NULL,
    protocol_version  INTEGER NOT NULL,
    sent_at           BIGINT NOT NULL,
    received_at       BIGINT NOT NULL,
    observation_count INTEGER NOT NULL,
    PRIMARY KEY (agent_id, seq)
);

-- Fused assets: 'mac:<mac>', 'ip:<vlan>:<ip>' or 'host:<machine id>'.
CREATE TABLE assets (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_key   TEXT NOT NULL UNIQUE,
    mac         TEXT,
    router      BOOLEAN NOT NULL DEFAULT false,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL
);

-- Observations exactly as received (MessagePack with named fields), with their provenance.
CREATE TABLE observations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id     TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    idx          INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    observed_at  BIGINT NOT NULL,
    asset_id     BIGINT REFERENCES assets(id),
    body         BYTEA NOT NULL,
    UNIQUE (agent_id, seq, idx)
);
CREATE INDEX observations_kind ON observations (kind, observed_at);
CREATE INDEX observations_asset ON observations (asset_id);

CREATE TABLE asset_addresses (
    asset_id    BIGINT NOT NULL REFERENCES assets(id),
    ip          TEXT NOT NULL,
    vlan        INTEGER,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (asset_id, ip)
);
CREATE INDEX asset_addresses_ip ON asset_addresses (ip);

CREATE TABLE asset_vlans (
    asset_id  BIGINT NOT NULL REFERENCES assets(id),
    vlan      INTEGER NOT NULL,
    PRIMARY KEY (asset_id, vlan)
);

CREATE TABLE asset_services (
    asset_id        BIGINT NOT NULL REFERENCES assets(id),
    ip              TEXT NOT NULL,
    transport       TEXT NOT NULL,
    port            INTEGER NOT NULL,
    protocol        TEXT,
    banner          TEXT,
    detected_by     TEXT,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    observation_id  BIGINT NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, ip, transport, port)
);

-- The asset each host agent's machine id belongs to.
CREATE TABLE asset_host_ids (
    host_id     TEXT PRIMARY KEY,
    asset_id    BIGINT NOT NULL REFERENCES assets(id),
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL
);
CREATE INDEX asset_host_ids_asset ON asset_host_ids (asset_id);

-- What a device said it is, per protocol, with the firmware of the newest claim.
CREATE TABLE asset_identities (
    asset_id        BIGINT NOT NULL REFERENCES assets(id),
    protocol        TEXT NOT NULL,
    vendor          TEXT NOT NULL,
    product         TEXT NOT NULL,
    serial          TEXT NOT NULL,
    firmware        TEXT,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    observation_id  BIGINT NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, protocol, vendor, product, serial)
);

-- Changes of assets, with the observations that showed the value before and after.
CREATE TABLE changes (
    id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id                 BIGINT NOT NULL REFERENCES assets(id),
    kind                     TEXT NOT NULL,
    subject                  TEXT NOT NULL,
    old_value                TEXT,
    new_value                TEXT,
    observed_at              BIGINT NOT NULL,
    observation_id           BIGINT NOT NULL REFERENCES observations(id),
    previous_observation_id  BIGINT REFERENCES observations(id)
);
CREATE INDEX changes_asset ON changes (asset_id);

-- Decisions on changes (attested records, kept apart); the latest decision stands.
CREATE TABLE change_decisions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_id   BIGINT NOT NULL REFERENCES changes(id),
    decision    TEXT NOT NULL CHECK (decision IN ('acknowledged', 'rejected')),
    reference   TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    decided_at  BIGINT NOT NULL,
    comment     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX change_decisions_change ON change_decisions (change_id, id);
