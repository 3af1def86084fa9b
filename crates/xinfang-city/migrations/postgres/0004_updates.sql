-- Issue 20: signed desk updates (as SQLite's 0012_updates.sql): the update key and the
-- published packages, bytes included, shared by every instance on this database.
CREATE TABLE update_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    public_key TEXT NOT NULL,
    set_at     TEXT NOT NULL
);

CREATE TABLE update_releases (
    version      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    signature    TEXT NOT NULL,
    notes        TEXT NOT NULL,
    published_at TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    PRIMARY KEY (version, kind)
);
