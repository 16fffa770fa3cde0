-- Forwarding to SIEMs (EVENT 1.2 evidence): each destination's progress through each stream
-- (`change` records, protocol `event` observations), and every item delivered, with when and after
-- how many attempts.
CREATE TABLE siem_cursors (
    destination  TEXT NOT NULL,
    stream       TEXT NOT NULL,
    last_id      BIGINT NOT NULL,
    PRIMARY KEY (destination, stream)
);
CREATE TABLE siem_deliveries (
    destination  TEXT NOT NULL,
    stream       TEXT NOT NULL,
    item_id      BIGINT NOT NULL,
    delivered_at BIGINT NOT NULL,
    attempts     BIGINT NOT NULL,
    PRIMARY KEY (destination, stream, item_id)
);
CREATE INDEX siem_deliveries_item ON siem_deliveries (stream, item_id);
