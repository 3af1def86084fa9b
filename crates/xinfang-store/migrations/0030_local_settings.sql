-- Issue 19: settings of this desk and of each account on it, kept in the encrypted store and
-- local to this desk (no change-log rows, never synced): the ID-card reader the desk has
-- (staff_id '', key 'id_reader'), each account's display mode (key 'display').
CREATE TABLE local_settings (
    staff_id TEXT NOT NULL,                 -- '' for the desk's own settings
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,                 -- JSON or a plain word, as the use case keeps it
    PRIMARY KEY (staff_id, key)
) STRICT, WITHOUT ROWID;
