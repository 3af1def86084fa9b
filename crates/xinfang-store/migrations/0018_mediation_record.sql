-- Issue 16: a mediation as 《人民调解法》 runs it.
-- * It may be saved while pending (outcome 'pending', 调解中: the other party being called in)
--   and continued: sessions added, the outcome decided later.
-- * How it began (当事人申请 / 主动调解) and the day the parties applied or agreed.
-- * An agreement's form (书面 / 口头) and its facts, points in dispute and each party's
--   responsibility (第二十九条), instead of the petition text.
-- * A party may be an organisation, by its 统一社会信用代码 (id_type 'uscc') and representative.
-- * 回访 records of the agreement's performance (第三十一条).
-- SQLite cannot change the CHECK on `outcome`: the mediation tables are rebuilt with the same
-- rows. The children are copied aside and dropped first, so dropping the parent breaks no
-- foreign key (migrations run with foreign keys on).
CREATE TABLE mediation_parties_copy AS SELECT * FROM mediation_parties;
CREATE TABLE mediation_sessions_copy AS SELECT * FROM mediation_sessions;
DROP TABLE mediation_parties;
DROP TABLE mediation_sessions;

CREATE TABLE mediations_new (
    id                     TEXT PRIMARY KEY,  -- UUIDv7
    visit_id               TEXT NOT NULL REFERENCES visits(id),
    handoff_id             TEXT REFERENCES handoffs(id),
    mediator_id            TEXT NOT NULL,
    dispute_type           TEXT NOT NULL,
    outcome                TEXT NOT NULL
        CHECK (outcome IN ('pending', 'agreed', 'not_agreed', 'terminated')),
    agreement_text         TEXT NOT NULL,
    judicial_confirmation  INTEGER NOT NULL,
    created_at             TEXT NOT NULL,
    agreement_effective_on TEXT,              -- YYYY-MM-DD, agreements only
    confirmation_result    TEXT,              -- confirmed / rejected
    started_by             TEXT NOT NULL DEFAULT 'application', -- application / initiative
    applied_on             TEXT,              -- YYYY-MM-DD; NULL on records before 0018
    agreement_form         TEXT,              -- written / oral, agreements only
    dispute_facts          TEXT NOT NULL DEFAULT '',
    points_in_dispute      TEXT NOT NULL DEFAULT '',
    responsibility         TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO mediations_new(id, visit_id, handoff_id, mediator_id, dispute_type, outcome,
    agreement_text, judicial_confirmation, created_at, agreement_effective_on,
    confirmation_result, agreement_form)
SELECT id, visit_id, handoff_id, mediator_id, dispute_type, outcome, agreement_text,
    judicial_confirmation, created_at, agreement_effective_on, confirmation_result,
    CASE WHEN outcome = 'agreed' THEN 'written' END
FROM mediations;
DROP TABLE mediations;
ALTER TABLE mediations_new RENAME TO mediations;
CREATE INDEX mediations_visit ON mediations(visit_id);
CREATE INDEX mediations_pending ON mediations(mediator_id) WHERE outcome = 'pending';

CREATE TABLE mediation_parties (
    id             TEXT PRIMARY KEY,           -- UUIDv7
    mediation_id   TEXT NOT NULL REFERENCES mediations(id),
    position       INTEGER NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('applicant', 'respondent')),
    name           TEXT NOT NULL,
    id_type        TEXT NOT NULL,              -- a person's document type, or 'uscc'
    id_number      TEXT NOT NULL,
    phone          TEXT,
    address        TEXT,
    kind           TEXT NOT NULL DEFAULT 'person', -- person / organisation
    representative TEXT                        -- an organisation's 法定代表人/负责人
) STRICT;
INSERT INTO mediation_parties(id, mediation_id, position, role, name, id_type, id_number,
    phone, address)
SELECT id, mediation_id, position, role, name, id_type, id_number, phone, address
FROM mediation_parties_copy;
DROP TABLE mediation_parties_copy;
CREATE INDEX mediation_parties_mediation ON mediation_parties(mediation_id, position);
CREATE INDEX mediation_parties_id_number ON mediation_parties(id_number);

CREATE TABLE mediation_sessions (
    id           TEXT PRIMARY KEY,           -- UUIDv7
    mediation_id TEXT NOT NULL REFERENCES mediations(id),
    position     INTEGER NOT NULL,
    held_on      TEXT NOT NULL,              -- YYYY-MM-DD
    notes        TEXT NOT NULL
) STRICT;
INSERT INTO mediation_sessions(id, mediation_id, position, held_on, notes)
SELECT id, mediation_id, position, held_on, notes FROM mediation_sessions_copy;
DROP TABLE mediation_sessions_copy;
CREATE INDEX mediation_sessions_mediation ON mediation_sessions(mediation_id, position);

-- 回访记录: append-only, synced like the sessions.
CREATE TABLE mediation_follow_ups (
    id           TEXT PRIMARY KEY,           -- UUIDv7
    mediation_id TEXT NOT NULL REFERENCES mediations(id),
    visited_on   TEXT NOT NULL,              -- YYYY-MM-DD
    fulfilment   TEXT NOT NULL CHECK (fulfilment IN ('fulfilled', 'partly', 'not_fulfilled')),
    notes        TEXT NOT NULL,
    by_staff     TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX mediation_follow_ups_mediation ON mediation_follow_ups(mediation_id, visited_on);
