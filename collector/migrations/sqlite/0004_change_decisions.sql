-- shoko collector store, SQLite engine, schema version 4: decisions on changes.

-- An acknowledgement (authorised change, with the change reference) or a rejection of a change
-- record, with who decided and when: an attested record, kept apart from the observations and
-- from the change itself. The latest decision stands.
CREATE TABLE change_decisions (
    id          INTEGER PRIMARY KEY,
    change_id   INTEGER NOT NULL REFERENCES changes(id),
    decision    TEXT NOT NULL CHECK (decision IN ('acknowledged', 'rejected')),
    reference   TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    decided_at  INTEGER NOT NULL,
    comment     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX change_decisions_change ON change_decisions (change_id, id);

-- The status of a change is its latest decision ('open' without one).
ALTER TABLE changes DROP COLUMN status;
