-- Issue 16: the hall's own names, set by an administrator and the same on every desk of the
-- hall (synced as entity `hall_setting`, last writer wins): `mediation_committee`, the
-- 人民调解委员会 every mediation document is issued in.
CREATE TABLE hall_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
