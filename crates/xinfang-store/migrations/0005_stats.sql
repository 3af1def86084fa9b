-- Statistics, Excel ledgers and publicity (issue 8).

-- 群众满意度评价: the visitor's evaluation of a concluded matter, at the desk or later by phone.
-- A matter may be evaluated again (e.g. by phone after the desk); the latest counts in the rates.
CREATE TABLE matter_evaluations (
    id           TEXT PRIMARY KEY,           -- UUIDv7
    matter_id    TEXT NOT NULL REFERENCES matters(id),
    result       TEXT NOT NULL CHECK (result IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    channel      TEXT NOT NULL CHECK (channel IN ('desk', 'phone')),
    evaluated_on TEXT NOT NULL,              -- YYYY-MM-DD
    note         TEXT NOT NULL,
    by_staff     TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX matter_evaluations_matter ON matter_evaluations(matter_id, evaluated_on);

-- 法治宣传活动. `units` is a JSON array of the organising units' names.
CREATE TABLE publicity_activities (
    id         TEXT PRIMARY KEY,             -- UUIDv7
    hall_code  TEXT NOT NULL,
    held_on    TEXT NOT NULL,                -- YYYY-MM-DD
    place      TEXT NOT NULL,
    units      TEXT NOT NULL,
    kind       TEXT NOT NULL,                -- code from xinfang_core::stats::PUBLICITY_KINDS
    leaflets   INTEGER NOT NULL CHECK (leaflets >= 0),
    consulted  INTEGER NOT NULL CHECK (consulted >= 0),
    reached    INTEGER NOT NULL CHECK (reached >= 0),
    posts      INTEGER NOT NULL CHECK (posts >= 0),
    reads      INTEGER NOT NULL CHECK (reads >= 0),
    note       TEXT NOT NULL,
    by_staff   TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX publicity_activities_held ON publicity_activities(hall_code, held_on);

-- Rows of an imported visit ledger (台账), by a fingerprint of the row's content, so importing
-- the same file again imports nothing twice.
CREATE TABLE ledger_rows (
    fingerprint TEXT PRIMARY KEY,            -- hex SHA-256 of the row's normalised cells
    visit_id    TEXT NOT NULL REFERENCES visits(id),
    source      TEXT NOT NULL,               -- file name the row came from
    row_no      INTEGER NOT NULL,            -- 1-based row number in that file
    by_staff    TEXT NOT NULL,
    imported_at TEXT NOT NULL
) STRICT;

-- Exports with ID numbers and phones in full (个人信息保护法): who, what, when.
CREATE TABLE export_log (
    id          TEXT PRIMARY KEY,            -- UUIDv7
    kind        TEXT NOT NULL,               -- visits, matters, consultations, …
    full_ids    INTEGER NOT NULL,
    row_count   INTEGER NOT NULL,
    file_name   TEXT NOT NULL,
    by_staff    TEXT NOT NULL,
    exported_at TEXT NOT NULL
) STRICT;
