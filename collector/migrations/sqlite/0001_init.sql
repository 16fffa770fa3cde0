-- shoko collector store, SQLite engine, schema version 1.
-- Times are nanoseconds since the Unix epoch (UTC).

-- Agents that have delivered batches, with the highest batch sequence stored.
CREATE TABLE agents (
    agent_id     TEXT PRIMARY KEY,
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    highest_seq  INTEGER NOT NULL DEFAULT 0,
    batches      INTEGER NOT NULL DEFAULT 0
);

-- Every stored batch, once: (agent_id, seq) makes re-sends idempotent.
CREATE TABLE batches (
    agent_id          TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    protocol_version  INTEGER NOT NULL,
    sent_at           INTEGER NOT NULL,
    received_at       INTEGER NOT NULL,
    observation_count INTEGER NOT NULL,
    PRIMARY KEY (agent_id, seq)
) WITHOUT ROWID;

-- Fused assets. asset_key: 'mac:<mac>' for devices on a sensor's segment, 'ip:<vlan>:<ip>' for
-- routed devices seen only by IP.
CREATE TABLE assets (
    id          INTEGER PRIMARY KEY,
    asset_key   TEXT NOT NULL UNIQUE,
    mac         TEXT,
    router      INTEGER NOT NULL DEFAULT 0,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);

-- Observations exactly as received (MessagePack with named fields), with their provenance.
CREATE TABLE observations (
    id           INTEGER PRIMARY KEY,
    agent_id     TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    idx          INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    observed_at  INTEGER NOT NULL,
    asset_id     INTEGER REFERENCES assets(id),
    body         BLOB NOT NULL,
    UNIQUE (agent_id, seq, idx)
);
CREATE INDEX observations_kind ON observations (kind, observed_at);
CREATE INDEX observations_asset ON observations (asset_id);

CREATE TABLE asset_addresses (
    asset_id    INTEGER NOT NULL REFERENCES assets(id),
    ip          TEXT NOT NULL,
    vlan        INTEGER,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (asset_id, ip)
);
CREATE INDEX asset_addresses_ip ON asset_addresses (ip);

CREATE TABLE asset_vlans (
    asset_id  INTEGER NOT NULL REFERENCES assets(id),
    vlan      INTEGER NOT NULL,
    PRIMARY KEY (asset_id, vlan)
);

CREATE TABLE asset_services (
    asset_id        INTEGER NOT NULL REFERENCES assets(id),
    ip              TEXT NOT NULL,
    transport       TEXT NOT NULL,
    port            INTEGER NOT NULL,
    protocol        TEXT,
    banner          TEXT,
    detected_by     TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    observation_id  INTEGER NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, ip, transport, port)
);
