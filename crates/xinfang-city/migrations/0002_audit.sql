-- Audit entries of every device, as pushed (docs/sync.md, "Audit entries"). A device's
-- entries form a hash chain: seq 1, 2, 3 … each with the previous entry's hash. The server
-- stores an entry only if it continues the device's stored chain.
CREATE TABLE audit_entries (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hall_code   TEXT NOT NULL,
    id          TEXT NOT NULL,
    at          TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT, WITHOUT ROWID;

-- Append-only, as on the desk: whoever drops these is caught by `xinfang-city audit-verify`.
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;

-- Where a device's pushed chain did not continue the stored one: one row per (device, first
-- bad seq), with how often a push was refused there. For the administrator (GET /v1/city/audit).
CREATE TABLE audit_breaks (
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    hall_code     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT;
