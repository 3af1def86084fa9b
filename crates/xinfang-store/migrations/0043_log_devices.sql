-- Issue 21 (store size): every `log_base` row named the device of its base version by its
-- 36-character id — ≈ 250 bytes a visit for the handful of devices a hall has. Devices are
-- numbered here once, and the row holds the number. (Versions inside `kept` name devices by
-- number too once their record is folded again; ids written before still read.)
CREATE TABLE log_devices (
    id     INTEGER PRIMARY KEY,
    device TEXT NOT NULL UNIQUE
) STRICT;

INSERT INTO log_devices(device) SELECT DISTINCT base_device FROM log_base ORDER BY base_device;

CREATE TABLE log_base_by_number (
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    -- The version (hlc, device) of the fields listed in `kept.s`.
    base_hlc    INTEGER NOT NULL,
    base_device INTEGER NOT NULL REFERENCES log_devices(id),
    -- The greatest hlc among the compacted writes (a new local write is stamped after it).
    max_hlc     INTEGER NOT NULL,
    -- JSON: {"s": log_field_sets id, "v": {field: [hlc, device]},
    --        "w": {field: [[value, hlc, device, changed_at, by, base], ...]}}, each device a
    --        log_devices id (or, in rows folded before this migration, the device's id text).
    kept        TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id)
) STRICT, WITHOUT ROWID;

INSERT INTO log_base_by_number(entity, entity_id, base_hlc, base_device, max_hlc, kept)
SELECT b.entity, b.entity_id, b.base_hlc, d.id, b.max_hlc, b.kept
  FROM log_base b JOIN log_devices d ON d.device = b.base_device
 ORDER BY b.entity, b.entity_id;

DROP TABLE log_base;
ALTER TABLE log_base_by_number RENAME TO log_base;
