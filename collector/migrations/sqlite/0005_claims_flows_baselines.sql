-- shoko collector store, SQLite engine, schema version 5: attribute claims, identities per
-- protocol, flows per hour, baselines, software,
-- merged assets, attestations, retention indexes.

-- Every value claimed for an attribute of an asset (vendor, model, firmware, hostname, class ...),
-- per source ('<agent id>/<protocol or collector>'), with its confidence, when it was claimed first
-- and last, how often, and the newest claim's observation. The best value and the conflicts are
-- derived from these rows, never stored over them.
CREATE TABLE asset_claims (
    asset_id        INTEGER NOT NULL REFERENCES assets(id),
    attribute       TEXT NOT NULL,
    value           TEXT NOT NULL,
    source          TEXT NOT NULL,
    confidence      INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    claims          INTEGER NOT NULL,
    observation_id  INTEGER NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, attribute, value, source)
) WITHOUT ROWID;

-- Identities are kept per protocol: a firmware change is one protocol telling a new value; two
-- protocols telling different values at once are conflicting claims. Rows stored before this
-- version have protocol ''.
CREATE TABLE asset_identities_v5 (
    asset_id        INTEGER NOT NULL REFERENCES assets(id),
    protocol        TEXT NOT NULL,
    vendor          TEXT NOT NULL,
    product         TEXT NOT NULL,
    serial          TEXT NOT NULL,
    firmware        TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    observation_id  INTEGER NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, protocol, vendor, product, serial)
);
INSERT INTO asset_identities_v5
    SELECT asset_id, '', vendor, product, serial, firmware, first_seen, last_seen, observation_id
    FROM asset_identities;
DROP TABLE asset_identities;
ALTER TABLE asset_identities_v5 RENAME TO asset_identities;

-- Flows rolled up per hour (by first packet) and conversation; hour and times in ns, vlan -1 when
-- untagged, app_protocol '' when unknown.
CREATE TABLE flow_hours (
    hour          INTEGER NOT NULL,
    vlan          INTEGER NOT NULL,
    transport     TEXT NOT NULL,
    orig_ip       TEXT NOT NULL,
    resp_ip       TEXT NOT NULL,
    resp_port     INTEGER NOT NULL,
    app_protocol  TEXT NOT NULL,
    flows         INTEGER NOT NULL,
    packets       INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    PRIMARY KEY (hour, vlan, transport, orig_ip, resp_ip, resp_port, app_protocol)
) WITHOUT ROWID;
CREATE INDEX flow_hours_orig ON flow_hours (orig_ip);
CREATE INDEX flow_hours_resp ON flow_hours (resp_ip);

-- Baselines: an approved inventory (all assets, or those the scope filter selects), with who
-- approved it and when; each asset kept as a JSON snapshot of its addresses, best attribute values
-- and services. Drift is reported against the latest.
CREATE TABLE baselines (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    approved_by  TEXT NOT NULL,
    approved_at  INTEGER NOT NULL,
    comment      TEXT NOT NULL DEFAULT '',
    scope        TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE baseline_assets (
    baseline_id  INTEGER NOT NULL REFERENCES baselines(id),
    asset_id     INTEGER NOT NULL REFERENCES assets(id),
    snapshot     TEXT NOT NULL,
    PRIMARY KEY (baseline_id, asset_id)
);

-- Retention deletes observations nothing refers to; these find the referenced ones quickly.
CREATE INDEX batches_received ON batches (received_at);
CREATE INDEX changes_observation ON changes (observation_id);
CREATE INDEX changes_previous_observation ON changes (previous_observation_id);
CREATE INDEX asset_identities_observation ON asset_identities (observation_id);
CREATE INDEX asset_services_observation ON asset_services (observation_id);
CREATE INDEX asset_claims_observation ON asset_claims (observation_id);

-- Software of an asset (host packages, announced software), per source and name, with the
-- version of the newest observation.
CREATE TABLE asset_software (
    asset_id        INTEGER NOT NULL REFERENCES assets(id),
    source          TEXT NOT NULL,
    name            TEXT NOT NULL,
    version         TEXT,
    purl            TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    observation_id  INTEGER NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, source, name)
);
CREATE INDEX asset_software_observation ON asset_software (observation_id);

-- An asset found to be another one (a second interface of a host, the same serial number seen on
-- two MACs) is merged into it: everything of it moves there and its key points there.
ALTER TABLE assets ADD COLUMN merged_into INTEGER REFERENCES assets(id);

-- Attestations: what people state, kept apart from what was observed. Documents (a requirement or
-- group, title, version, owner, approval and next-review dates, the SHA-256 of the file),
-- mitigations (an asset or a vulnerability, the compensating control, an expiry) and
-- not-applicable statements; each with who and when; revoked, never deleted.
CREATE TABLE attestations (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('document', 'mitigation', 'not_applicable')),
    scope          TEXT NOT NULL,
    title          TEXT NOT NULL,
    version        TEXT,
    owner          TEXT,
    approved_on    TEXT,
    next_review    TEXT,
    file_name      TEXT,
    sha256         TEXT,
    expires        TEXT,
    attested_by    TEXT NOT NULL,
    attested_at    INTEGER NOT NULL,
    revoked_by     TEXT,
    revoked_at     INTEGER,
    revoke_reason  TEXT
);
CREATE INDEX attestations_scope ON attestations (scope);
