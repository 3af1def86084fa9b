-- Issue 15, item 4 (docs/security.md): each hall's visitor-id key. Desks derive visitor ids
-- from a document with it, so an id alone no longer gives the ID number back. Created when a
-- hall first needs one (or taken from the first desk of the hall to enrol, which derived its
-- ids with it before enrolling); handed to every desk of the hall at enrolment. Never changes.
CREATE TABLE hall_id_keys (
    hall_code  TEXT PRIMARY KEY,
    key        BLOB NOT NULL CHECK (length(key) = 32),
    created_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;
