-- Tamper evidence: each agent's batches form a hash chain in the order they were stored. A
-- batch keeps the SHA-256 of each of its observations (its leaves, 32 bytes each, by index), the
-- digest of the batch before it and its own digest over both; the agent keeps the newest digest.
-- `shoko-collector verify-store` recomputes every link. Batches stored before this migration
-- stay unsealed (NULL) and are counted as such.
ALTER TABLE batches ADD COLUMN chain_pos BIGINT;
ALTER TABLE batches ADD COLUMN prev_digest BYTEA;
ALTER TABLE batches ADD COLUMN digest BYTEA;
ALTER TABLE batches ADD COLUMN leaves BYTEA;
ALTER TABLE agents ADD COLUMN chain_head BYTEA;
CREATE INDEX batches_chain ON batches (agent_id, chain_pos);

-- Marks the store keeps about itself: 'pruned_before' is the newest retention cut-off (the
-- observations of batches received before it may have been deleted by retention).
CREATE TABLE store_marks (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
