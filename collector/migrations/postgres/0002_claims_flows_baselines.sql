-- shoko collector store, PostgreSQL engine, schema version 2: attribute claims, flows per hour,
-- baselines, software, merged assets, attestations and retention indexes (SQLite schema 5).

-- Every value claimed for an attribute of an asset, per source, with its confidence, when it was
-- claimed first and last, how often, and the newest claim's observation.
CREATE TABLE asset_claims (
    asset_id        BIGINT NOT NULL REFERENCES assets(id),
    attribute       TEXT NOT NULL,
    value           TEXT NOT NULL,
    source          TEXT NOT NULL,
    confidence      INTEGER NOT NULL,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    claims          BIGINT NOT NULL,
    observation_id  BIGINT NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, attribute, value, source)
);

-- Flows rolled up per hour (by first packet) and conversation; hour and times in ns, vlan -1 when
-- untagged, app_protocol '' when unknown.
CREATE TABLE flow_hours (
    hour          BIGINT NOT NULL,
    vlan          INTEGER NOT NULL,
    transport     TEXT NOT NULL,
    orig_ip       TEXT NOT NULL,
    resp_ip       TEXT NOT NULL,
    resp_port     INTEGER NOT NULL,
    app_protocol  TEXT NOT NULL,
    flows         BIGINT NOT NULL,
    packets       BIGINT NOT NULL,
    bytes         BIGINT NOT NULL,
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    PRIMARY KEY (hour, vlan, transport, orig_ip, resp_ip, resp_port, app_protocol)
);
CREATE INDEX flow_hours_orig ON flow_hours (orig_ip);
CREATE INDEX flow_hours_resp ON flow_hours (resp_ip);

-- Baselines: an approved inventory (all assets, or those the scope filter selects), with who
-- approved it and when; each asset kept as a JSON snapshot of its addresses, best attribute values
-- and services. Drift is reported against the latest.
CREATE TABLE baselines (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL,
    approved_by  TEXT NOT NULL,
    approved_at  BIGINT NOT NULL,
    comment      TEXT NOT NULL DEFAULT '',
    scope        TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE baseline_assets (
    baseline_id  BIGINT NOT NULL REFERENCES baselines(id),
    asset_id     BIGINT NOT NULL REFERENCES assets(id),
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
    asset_id        BIGINT NOT NULL REFERENCES assets(id),
    source          TEXT NOT NULL,
    name            TEXT NOT NULL,
    version         TEXT,
    purl            TEXT,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    observation_id  BIGINT NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, source, name)
);
CREATE INDEX asset_software_observation ON asset_software (observation_id);

-- An asset found to be another one (a second interface of a host, the same serial number seen on
-- two MACs) is merged into it: everything of it moves there and its key points there.
ALTER TABLE assets ADD COLUMN merged_into BIGINT REFERENCES assets(id);

-- Attestations: what people state, kept apart from what was observed. Documents (a requirement or
-- group, title, version, owner, approval and next-review dates, the SHA-256 of the file),
-- mitigations (an asset or a vulnerability, the compensating control, an expiry) and
-- not-applicable statements; each with who and when; revoked, never deleted.
CREATE TABLE attestations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    attested_at    BIGINT NOT NULL,
    revoked_by     TEXT,
    revoked_at     BIGINT,
    revoke_reason  TEXT
);
CREATE INDEX attestations_scope ON attestations (scope);
