-- Vulnerability advisories imported offline (CSAF, OSV, the Debian tracker) in the common model
-- (JSON), the CISA KEV catalog's entries, and a record of every imported file (EVENT 1.9: feeds
-- imported recently). A re-import replaces an advisory by its feed and id.
CREATE TABLE advisories (
    feed         TEXT NOT NULL,
    id           TEXT NOT NULL,
    body         TEXT NOT NULL,
    file_sha256  TEXT NOT NULL,
    imported_at  INTEGER NOT NULL,
    PRIMARY KEY (feed, id)
);
CREATE TABLE known_exploited (
    cve          TEXT PRIMARY KEY,
    body         TEXT NOT NULL,
    imported_at  INTEGER NOT NULL
);
CREATE TABLE feed_imports (
    id           INTEGER PRIMARY KEY,
    feed         TEXT NOT NULL,
    file         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    entries      INTEGER NOT NULL,
    imported_at  INTEGER NOT NULL
);
