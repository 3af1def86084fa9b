-- Legal engine (issue 6): a matter's events, its cached state and deadlines, its legal route,
-- and backlog cases (积案).

-- The matter as its events made it (JSON of xinfang_core::matter::MatterState); NULL while the
-- matter has no event yet (then it is MatterState::registered(received_on)).
ALTER TABLE matters ADD COLUMN state TEXT;
ALTER TABLE matters ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0;
-- Confirmed legal route (code from assets/legal_routes.json), claims only.
ALTER TABLE matters ADD COLUMN legal_route TEXT;
-- A route proposed by the lawyer, waiting for the clerk to confirm.
ALTER TABLE matters ADD COLUMN proposed_route TEXT;
ALTER TABLE matters ADD COLUMN proposed_by TEXT;
ALTER TABLE matters ADD COLUMN proposed_at TEXT;
ALTER TABLE matters ADD COLUMN proposal_note TEXT;
ALTER TABLE matters ADD COLUMN proposal_consultation_id TEXT;
-- Matters waiting for the hall's first decision: their one deadline is computed from received_on.
CREATE INDEX matters_registered ON matters(received_on) WHERE status = 'registered';

-- Every step of a matter, in order. Never updated or deleted.
CREATE TABLE matter_events (
    id         TEXT PRIMARY KEY,             -- '<matter_id>:<seq>'
    matter_id  TEXT NOT NULL REFERENCES matters(id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    kind       TEXT NOT NULL,                -- xinfang_core::matter::EventKind
    payload    TEXT NOT NULL,                -- JSON of xinfang_core::matter::MatterEvent
    by_staff   TEXT NOT NULL,                -- staff id
    at         TEXT NOT NULL,                -- when it was recorded, RFC 3339 +08:00
    UNIQUE (matter_id, seq)
) STRICT;

-- The deadlines of matters that have events, derived from matters.state: a local index for the
-- due lists, not synced on its own.
CREATE TABLE matter_deadlines (
    matter_id TEXT NOT NULL REFERENCES matters(id),
    kind      TEXT NOT NULL,                 -- xinfang_core::matter::DeadlineKind
    party     TEXT NOT NULL CHECK (party IN ('authority', 'visitor')),
    due       TEXT NOT NULL,                 -- YYYY-MM-DD, last day
    done_on   TEXT,
    PRIMARY KEY (matter_id, kind)
) STRICT, WITHOUT ROWID;
CREATE INDEX matter_deadlines_open ON matter_deadlines(due)
    WHERE done_on IS NULL AND party = 'authority';

-- Kept in step with matters.state by triggers, whoever writes the state (a transition here, or
-- a change pulled from another desk of the hall).
CREATE TRIGGER matters_deadlines_insert AFTER INSERT ON matters WHEN NEW.state IS NOT NULL
BEGIN
    INSERT INTO matter_deadlines(matter_id, kind, party, due, done_on)
    SELECT NEW.id, json_extract(value, '$.kind'), json_extract(value, '$.party'),
           json_extract(value, '$.due'), json_extract(value, '$.done_on')
      FROM json_each(NEW.state, '$.deadlines');
END;
CREATE TRIGGER matters_deadlines_update AFTER UPDATE OF state ON matters
BEGIN
    DELETE FROM matter_deadlines WHERE matter_id = NEW.id;
    INSERT INTO matter_deadlines(matter_id, kind, party, due, done_on)
    SELECT NEW.id, json_extract(value, '$.kind'), json_extract(value, '$.party'),
           json_extract(value, '$.due'), json_extract(value, '$.done_on')
      FROM json_each(NEW.state, '$.deadlines')
     WHERE NEW.state IS NOT NULL;
END;

-- 信访积案: a matter flagged as backlog. A matter has at most one open case; a cleared one may
-- be flagged again if the problem comes back.
CREATE TABLE backlog_cases (
    id            TEXT PRIMARY KEY,          -- UUIDv7
    matter_id     TEXT NOT NULL REFERENCES matters(id),
    hall_code     TEXT NOT NULL,
    leader        TEXT NOT NULL,             -- 包联领导
    plan          TEXT NOT NULL,             -- 化解方案
    target_date   TEXT,                      -- YYYY-MM-DD, 化解时限
    flagged_on    TEXT NOT NULL,             -- YYYY-MM-DD
    flagged_by    TEXT NOT NULL,             -- staff id
    cleared_on    TEXT,                      -- YYYY-MM-DD, 化解日期
    cleared_by    TEXT,
    clear_summary TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX backlog_cases_open ON backlog_cases(matter_id) WHERE cleared_on IS NULL;
CREATE INDEX backlog_cases_hall ON backlog_cases(hall_code, cleared_on);

-- 化解进展: progress notes of a backlog case.
CREATE TABLE backlog_notes (
    id         TEXT PRIMARY KEY,             -- UUIDv7
    case_id    TEXT NOT NULL REFERENCES backlog_cases(id),
    noted_on   TEXT NOT NULL,                -- YYYY-MM-DD
    note       TEXT NOT NULL,
    by_staff   TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX backlog_notes_case ON backlog_notes(case_id, noted_on);
