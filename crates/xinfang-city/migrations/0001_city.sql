-- The city server's SQLite store (docs/sync.md). Read by the SQLite backend only.

CREATE TABLE halls (
    code       TEXT PRIMARY KEY,           -- GB/T 2260
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- One-time enrolment codes; only their SHA-256 is kept.
CREATE TABLE enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    hall_code  TEXT NOT NULL REFERENCES halls(code),
    created_at TEXT NOT NULL,
    expires_at INTEGER NOT NULL,           -- Unix seconds
    used_at    TEXT,
    used_by    TEXT
) STRICT;

CREATE TABLE devices (
    id          TEXT PRIMARY KEY,          -- the desk's device id
    hall_code   TEXT NOT NULL REFERENCES halls(code),
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,      -- SHA-256 of the bearer token
    enrolled_at TEXT NOT NULL,
    revoked_at  TEXT
) STRICT;
CREATE INDEX devices_hall ON devices(hall_code);

CREATE TABLE admin_tokens (
    token_hash TEXT PRIMARY KEY,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

-- Every change ever pushed, once. server_seq is assigned by the single writer in commit order.
CREATE TABLE changes (
    server_seq INTEGER PRIMARY KEY,
    device_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    hall_code  TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL,
    fields     TEXT NOT NULL,
    hlc        INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    UNIQUE (device_id, seq)
) STRICT;

-- The merged state of every record: the server's own copy of the halls' tables.
-- data: field → value; versions: field → [hlc, device] for fields not written by the base
-- version (base_hlc, base_device), usually the insert.
CREATE TABLE records (
    entity         TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    hall_code      TEXT NOT NULL,
    data           TEXT NOT NULL,
    versions       TEXT NOT NULL,
    base_hlc       INTEGER NOT NULL,
    base_device    TEXT NOT NULL,
    deleted_hlc    INTEGER,
    deleted_device TEXT,
    lookup         TEXT,                   -- visitor: id_number; visit_visitor: visitor_id
    PRIMARY KEY (entity, entity_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX records_lookup ON records(entity, lookup) WHERE lookup IS NOT NULL;
