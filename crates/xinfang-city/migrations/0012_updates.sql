-- Issue 20: signed desk updates. The city's update key (minisign public key; the secret stays
-- with the administrator) and the published packages with their signatures. The bytes live in
-- the database, so every instance on one PostgreSQL serves the same packages, and a hall hub
-- keeps what it relayed the same way.
CREATE TABLE update_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    public_key TEXT NOT NULL,
    set_at     TEXT NOT NULL
) STRICT;

CREATE TABLE update_releases (
    version      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    signature    TEXT NOT NULL,
    notes        TEXT NOT NULL,
    published_at TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    PRIMARY KEY (version, kind)
) STRICT;
