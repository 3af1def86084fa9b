-- Records that sync loses nothing of (issue 13, docs/sync.md "Records, conflicts, quarantine").

-- 1. A matter's steps are records of their own: a UUIDv7 id (older ones keep '<matter>:<n>'),
-- never overwritten by another desk's step. (matter_id, seq) is no longer unique: two desks
-- number their steps independently. hlc orders the steps of one day; prev tells steps recorded
-- concurrently at two desks (the same prev) from steps in turn; voided_* is set when a
-- supervisor resolves a conflict by setting a step aside.
CREATE TABLE matter_events_new (
    id         TEXT PRIMARY KEY,
    matter_id  TEXT NOT NULL REFERENCES matters(id),
    seq        INTEGER NOT NULL CHECK (seq >= 1),   -- the recording desk's count, for display
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    by_staff   TEXT NOT NULL,
    at         TEXT NOT NULL,
    hlc        INTEGER NOT NULL DEFAULT 0,
    prev       TEXT,              -- the step that stood last when it was recorded: 'first' none, NULL unknown
    voided_by  TEXT,
    voided_at  TEXT
) STRICT;
INSERT INTO matter_events_new(id, matter_id, seq, kind, payload, by_staff, at, hlc)
SELECT e.id, e.matter_id, e.seq, e.kind, e.payload, e.by_staff, e.at,
       coalesce((SELECT min(c.hlc) FROM change_log c WHERE c.entity = 'matter_event' AND c.entity_id = e.id),
                (SELECT min(r.hlc) FROM sync_remote_log r WHERE r.entity = 'matter_event' AND r.entity_id = e.id),
                0)
  FROM matter_events e;
DROP TABLE matter_events;
ALTER TABLE matter_events_new RENAME TO matter_events;
CREATE INDEX matter_events_matter ON matter_events(matter_id);

-- 2. Conflicts for a person, derived on every replica from the synced facts (never synced
-- themselves): concurrent writes of a person's name, document, phone or address (kind
-- 'field'), and matter steps the fold refused (kind 'step'). options: JSON array.
CREATE TABLE record_conflicts (
    id        TEXT PRIMARY KEY,
    kind      TEXT NOT NULL CHECK (kind IN ('field', 'step')),
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    field     TEXT NOT NULL,       -- the field, or the refused step's id
    options   TEXT NOT NULL
) STRICT;
CREATE INDEX record_conflicts_record ON record_conflicts(entity, entity_id);

-- 3. Two open backlog cases of one matter (flagged offline at two desks) are one case: the
-- one with the smaller id stands, the other is merged into it (derived here, not synced), and
-- its notes show under the winner. Only cases not merged count for "one open case a matter".
ALTER TABLE backlog_cases ADD COLUMN merged_into TEXT;
DROP INDEX backlog_cases_open;
CREATE UNIQUE INDEX backlog_cases_open ON backlog_cases(matter_id)
    WHERE cleared_on IS NULL AND merged_into IS NULL;

-- 4. Pulled changes set aside (sync_remote_log.applied = 2): why, and since when. Retried
-- after every pulled page; listed for the supervisor (`xinfang sync quarantine`).
CREATE TABLE sync_quarantine (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    reason      TEXT NOT NULL,    -- 'missing_parent' | 'duplicate' | 'refused'
    detail      TEXT NOT NULL,    -- the local constraint, in English, for support
    since       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (device_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO sync_quarantine(device_id, seq, reason, detail, since)
SELECT device_id, seq, 'duplicate', 'refused by a local constraint before 0008', changed_at
  FROM sync_remote_log WHERE applied = 2;
