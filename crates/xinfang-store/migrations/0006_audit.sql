-- Tamper-evident audit log: append-only, each entry holds the SHA-256 of the previous one.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,          -- 1, 2, 3 … without gaps
    id         TEXT NOT NULL UNIQUE,         -- UUIDv7
    at         TEXT NOT NULL,                -- RFC 3339, China Standard Time
    device_id  TEXT NOT NULL,
    staff_id   TEXT NOT NULL,                -- '' for the recovery key / system
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_staff ON audit_log(staff_id, at);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, '审计日志只能追加，不能修改'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, '审计日志只能追加，不能删除'); END;
