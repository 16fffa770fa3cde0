-- Records of practice become an attestation kind (an attested record that a procedure was carried
-- out on a date: a disconnection test, a commissioning scan). SQLite cannot change a CHECK, so the
-- table is rebuilt with the same rows.
CREATE TABLE attestations_new (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('document', 'record', 'mitigation', 'not_applicable')),
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
INSERT INTO attestations_new SELECT * FROM attestations;
DROP TABLE attestations;
ALTER TABLE attestations_new RENAME TO attestations;
CREATE INDEX attestations_scope ON attestations (scope);

-- Saved assessments: when, for which period end and length, under which catalog, the digest of the
-- evidence of all its scores, and the whole assessment (scores with their own digests,
-- thresholds and periods) as JSON, so a past score is shown as it was computed.
CREATE TABLE assessments (
    id               INTEGER PRIMARY KEY,
    assessed_at      INTEGER NOT NULL,
    period_end       INTEGER NOT NULL,
    period_days      INTEGER NOT NULL,
    catalog_version  TEXT NOT NULL,
    digest           TEXT NOT NULL,
    body             TEXT NOT NULL
);
CREATE INDEX assessments_period_end ON assessments (period_end);
