-- Time integrity: observations found by capture time (what was observed in a period, and how
-- it was received), and each agent's clock as measured in its latest session handshake.
CREATE INDEX observations_observed ON observations (observed_at);
ALTER TABLE agents ADD COLUMN clock_offset_ns BIGINT;
ALTER TABLE agents ADD COLUMN clock_measured_at BIGINT;
