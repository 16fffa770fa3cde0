-- Four eyes: documents, not-applicable statements and mitigations of known-exploited
-- vulnerabilities take effect once a second administrator countersigns them.
ALTER TABLE attestations ADD COLUMN countersigned_by TEXT;
ALTER TABLE attestations ADD COLUMN countersigned_at BIGINT;
