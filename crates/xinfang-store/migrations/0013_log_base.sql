-- Compaction of the change logs (docs/sync.md "Compaction"): what the merge rules still need
-- of a record's writes once the city has them, in place of the log rows themselves.
CREATE TABLE log_base (
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    -- The version (hlc, device) of the fields listed in `kept.i`: most of a record's fields
    -- were last written by one change (its registration).
    base_hlc    INTEGER NOT NULL,
    base_device TEXT NOT NULL,
    -- The greatest hlc among the compacted writes (a new local write is stamped after it).
    max_hlc     INTEGER NOT NULL,
    -- JSON: {"i": [fields at the base version], "v": {field: [hlc, device]},
    --        "w": {field: [[value, hlc, device, changed_at, by, base], ...]}}
    kept        TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
) STRICT, WITHOUT ROWID;
