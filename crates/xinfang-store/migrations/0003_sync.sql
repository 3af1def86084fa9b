-- Sync with the city server (issue 5, docs/sync.md).

-- Every change carries a hybrid-logical-clock timestamp (see xinfang-sync::hlc): the physical
-- milliseconds in the high bits, a counter in the low 16. Changes logged before sync existed get
-- one from their wall-clock time; the counter keeps them apart.
ALTER TABLE change_log ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;
UPDATE change_log
   SET hlc = (CAST(round((julianday(changed_at) - 2440587.5) * 86400000) AS INTEGER) << 16) + (seq & 65535)
 WHERE hlc = 0;

-- Key/value: server_url, device_token, pushed_seq (highest local seq the server confirmed),
-- last_sync_at, last_error.
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Per-device pull cursors: the highest device sequence received from each other device.
CREATE TABLE sync_cursors (
    device_id TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL
) STRICT;

-- Changes received from the hall's other devices. Applied to the tables, never re-logged in
-- change_log. Kept so a field's current version can be found (last-writer-wins), so verify can
-- tell a pulled record from a missing change, and so a change for a table this version does not
-- know yet (applied = 0) can be applied after an upgrade. applied = 2: refused by a local
-- constraint (e.g. a staff username already taken here); the change is kept, the row is not.
CREATE TABLE sync_remote_log (
    device_id  TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    server_seq INTEGER NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    fields     TEXT NOT NULL,
    hlc        INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    applied    INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX sync_remote_log_entity ON sync_remote_log(entity, entity_id);

-- City reference data as last received (categories, legal routes, holiday calendars).
CREATE TABLE sync_reference (
    name    TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    body    TEXT NOT NULL
) STRICT;
