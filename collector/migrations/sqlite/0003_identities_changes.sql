-- shoko collector store, SQLite engine, schema version 3: device identities and change records.

-- What a device said it is: one row per asset and identity (vendor, product or model, serial; a
-- chassis module is an identity of its own), with the firmware of the newest claim.
CREATE TABLE asset_identities (
    asset_id        INTEGER NOT NULL REFERENCES assets(id),
    vendor          TEXT NOT NULL,
    product         TEXT NOT NULL,
    serial          TEXT NOT NULL,
    firmware        TEXT,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    observation_id  INTEGER NOT NULL REFERENCES observations(id),
    PRIMARY KEY (asset_id, vendor, product, serial)
);

-- Changes: an attribute of an asset that took a new value, with the observations that showed the
-- value before and after. Status 'open' until acknowledged or rejected.
CREATE TABLE changes (
    id                       INTEGER PRIMARY KEY,
    asset_id                 INTEGER NOT NULL REFERENCES assets(id),
    kind                     TEXT NOT NULL,
    subject                  TEXT NOT NULL,
    old_value                TEXT,
    new_value                TEXT,
    observed_at              INTEGER NOT NULL,
    observation_id           INTEGER NOT NULL REFERENCES observations(id),
    previous_observation_id  INTEGER REFERENCES observations(id),
    status                   TEXT NOT NULL DEFAULT 'open'
);
CREATE INDEX changes_asset ON changes (asset_id);
