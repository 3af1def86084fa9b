-- Issue 15, items 6 and 14 (docs/security.md "City server endpoints").
-- A device id that is already enrolled enrols again only while the administrator allows it
-- (`xinfang-city device allow-reenrol`): Unix seconds until which it may, NULL = not allowed.
ALTER TABLE devices ADD COLUMN reenrol_until INTEGER;

-- Admin tokens expire and can be revoked. Tokens made before this had no expiry: they get 30
-- days from the upgrade, then must be made anew.
ALTER TABLE admin_tokens ADD COLUMN expires_at INTEGER;
ALTER TABLE admin_tokens ADD COLUMN revoked_at TEXT;
UPDATE admin_tokens SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) + 30 * 86400;

-- What the city administrator did or looked up, and refused re-enrolments: append-only.
CREATE TABLE city_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,               -- CST, RFC 3339
    action    TEXT NOT NULL,               -- reenrol_allowed | reenrolled | reenrol_refused | repeat_visits | admin_token_revoked
    actor     TEXT NOT NULL,               -- admin token label, `cli`, or the device id
    device_id TEXT,
    detail    TEXT NOT NULL
) STRICT;
CREATE TRIGGER city_log_no_update BEFORE UPDATE ON city_log
BEGIN SELECT RAISE(ABORT, 'city_log is append-only'); END;
CREATE TRIGGER city_log_no_delete BEFORE DELETE ON city_log
BEGIN SELECT RAISE(ABORT, 'city_log is append-only'); END;
