-- Issue 20: the administrator's web console's accounts and sessions, and each device's last
-- contact (as SQLite's 0012_admin_console.sql).
CREATE TABLE admin_users (
    username        TEXT PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT
);

CREATE TABLE admin_sessions (
    token_hash   TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES admin_users(username) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX admin_sessions_user ON admin_sessions(username);

ALTER TABLE devices ADD COLUMN last_contact_at TEXT;
