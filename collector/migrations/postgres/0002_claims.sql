-- shoko collector store, PostgreSQL engine, schema version 2: attribute claims (SQLite schema 5).

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
