-- Key/value facts about this desk: hall_code, device_id.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,          -- UUIDv7
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    roles         TEXT NOT NULL,             -- comma-separated role codes
    password_hash TEXT NOT NULL,             -- argon2id PHC string
    active        INTEGER NOT NULL DEFAULT 1,
    hall_code     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE visitors (
    id             TEXT NOT NULL UNIQUE,     -- UUIDv7; the rowid feeds the search index
    name           TEXT NOT NULL,
    id_type        TEXT NOT NULL,
    id_number      TEXT NOT NULL,            -- normalised (18 digits, upper-case X)
    sex            TEXT,
    birth_date     TEXT,
    phone          TEXT,
    address        TEXT,
    ethnicity      TEXT,
    occupation     TEXT,
    pinyin_full    TEXT NOT NULL,            -- e.g. zhangsanfeng
    pinyin_initials TEXT NOT NULL,           -- e.g. zsf
    hall_code      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    -- Derived on this replica by the trigger below, never synced: lists show them per hit,
    -- and counting 3,000,000 visits per keystroke would miss the search budget.
    visit_count    INTEGER NOT NULL DEFAULT 0,
    last_visit_at  TEXT
) STRICT;
CREATE INDEX visitors_id_number ON visitors(id_number);
CREATE INDEX visitors_pinyin_full ON visitors(pinyin_full);
CREATE INDEX visitors_pinyin_initials ON visitors(pinyin_initials);

-- Name characters and pairs, 4-digit phone windows: the app's own tokens (see search.rs).
CREATE VIRTUAL TABLE visitor_tokens USING fts5(
    tokens, content = '', contentless_delete = 1, detail = none, tokenize = 'ascii'
);

CREATE TABLE visits (
    id            TEXT PRIMARY KEY,          -- UUIDv7
    hall_code     TEXT NOT NULL,
    visited_at    TEXT NOT NULL,             -- RFC 3339, +08:00
    visit_date    TEXT NOT NULL,             -- YYYY-MM-DD in China Standard Time
    queue_no      INTEGER NOT NULL,
    clerk_id      TEXT NOT NULL,
    head_count    INTEGER NOT NULL CHECK (head_count >= 1),
    appeal        TEXT NOT NULL,
    appeal_kind   TEXT NOT NULL CHECK (appeal_kind IN ('suggestion', 'report', 'claim')),
    category_code TEXT NOT NULL,
    agency        TEXT,
    place_code    TEXT,
    is_repeat     INTEGER NOT NULL DEFAULT 0,
    matter_id     TEXT,
    created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX visits_date ON visits(visit_date, queue_no);

CREATE TABLE visit_visitors (
    visit_id          TEXT NOT NULL REFERENCES visits(id),
    visitor_id        TEXT NOT NULL REFERENCES visitors(id),
    position          INTEGER NOT NULL,
    is_representative INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (visit_id, visitor_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX visit_visitors_visitor ON visit_visitors(visitor_id, visit_id);

-- Whoever links a visitor to a visit (registration, sync, import), the visitor's count and last
-- visit follow. visited_at is always RFC 3339 in +08:00, so text order is time order.
CREATE TRIGGER visit_visitors_stats AFTER INSERT ON visit_visitors BEGIN
    UPDATE visitors SET
        visit_count = visit_count + 1,
        last_visit_at = max(coalesce(last_visit_at, ''), (SELECT visited_at FROM visits WHERE id = NEW.visit_id))
    WHERE id = NEW.visitor_id;
END;

-- One row per appeal; the legal lifecycle (status, deadlines, events) grows from here.
CREATE TABLE matters (
    id            TEXT PRIMARY KEY,          -- UUIDv7
    hall_code     TEXT NOT NULL,
    first_visit_id TEXT NOT NULL REFERENCES visits(id),
    appeal_kind   TEXT NOT NULL,
    category_code TEXT NOT NULL,
    confidential  INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'registered',
    received_on   TEXT NOT NULL,             -- YYYY-MM-DD
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

-- Every change to a synced table, in commit order. seq is the device sequence.
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    fields     TEXT NOT NULL,                -- JSON object of the changed fields and their values
    changed_at TEXT NOT NULL
) STRICT;
CREATE INDEX change_log_entity ON change_log(entity, entity_id);
