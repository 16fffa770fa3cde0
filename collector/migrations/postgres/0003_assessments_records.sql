-- Records of practice become an attestation kind (an attested record that a procedure was carried
-- out on a date: a disconnection test, a commissioning scan).
ALTER TABLE attestations DROP CONSTRAINT attestations_kind_check;
ALTER TABLE attestations ADD CONSTRAINT attestations_kind_check
    CHECK (kind IN ('document', 'record', 'mitigation', 'not_applicable'));

-- Saved assessments: when, for which period end and length, under which catalog, the digest of the
-- evidence of all its scores, and the whole assessment (scores with their own digests,
-- thresholds and periods) as JSON, so a past score is shown as it was computed.
CREATE TABLE assessments (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assessed_at      BIGINT NOT NULL,
    period_end       BIGINT NOT NULL,
    period_days      INTEGER NOT NULL,
    catalog_version  TEXT NOT NULL,
    digest           TEXT NOT NULL,
    body             TEXT NOT NULL
);
CREATE INDEX assessments_period_end ON assessments (period_end);
