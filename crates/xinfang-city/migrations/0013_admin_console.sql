-- Issue 20: the city administrator's web console (`/admin`). Accounts with an argon2 password
-- hash and a count of failed logins (a locked account waits until locked_until, Unix seconds);
-- sessions keep only the SHA-256 of their random token, with Unix-second times so the idle and
-- the absolute expiry are checked against the server's clock. In the database, so every
-- instance on one PostgreSQL sees the same sessions.
CREATE TABLE admin_users (
    username        TEXT PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER
) STRICT;

CREATE TABLE admin_sessions (
    token_hash   TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES admin_users(username) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;
CREATE INDEX admin_sessions_user ON admin_sessions(username);

-- When each device last called the server (its sync's first request), for the console.
ALTER TABLE devices ADD COLUMN last_contact_at TEXT;
