-- shoko collector store, SQLite engine, schema version 2: host agents' machine ids.

-- The asset each host agent's machine id belongs to: its primary interface's MAC asset (the one a
-- sensor sees), or an asset of its own ('host:<machine id>') when it has no stable MAC.
CREATE TABLE asset_host_ids (
    host_id     TEXT PRIMARY KEY,
    asset_id    INTEGER NOT NULL REFERENCES assets(id),
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
CREATE INDEX asset_host_ids_asset ON asset_host_ids (asset_id);
