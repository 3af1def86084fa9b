-- 访调对接: hand-offs to the lawyer and mediator desks, consultations, mediations.

-- One row each time a visit is sent to a desk's queue.
CREATE TABLE handoffs (
    id          TEXT PRIMARY KEY,            -- UUIDv7
    visit_id    TEXT NOT NULL REFERENCES visits(id),
    desk        TEXT NOT NULL CHECK (desk IN ('lawyer', 'mediator')),
    state       TEXT NOT NULL CHECK (state IN ('waiting', 'taken', 'done')),
    note        TEXT,
    created_by  TEXT NOT NULL,               -- staff id
    created_at  TEXT NOT NULL,
    taken_by    TEXT,
    taken_at    TEXT,
    done_at     TEXT,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX handoffs_queue ON handoffs(desk, state, created_at);
CREATE INDEX handoffs_visit ON handoffs(visit_id);

-- A visit the clerk marked handled without (further) hand-off.
CREATE TABLE visit_closures (
    visit_id   TEXT PRIMARY KEY REFERENCES visits(id),
    closed_by  TEXT NOT NULL,
    closed_at  TEXT NOT NULL
) STRICT;

-- 法律咨询记录
CREATE TABLE consultations (
    id               TEXT PRIMARY KEY,       -- UUIDv7
    visit_id         TEXT NOT NULL REFERENCES visits(id),
    handoff_id       TEXT REFERENCES handoffs(id),
    lawyer_id        TEXT NOT NULL,
    question         TEXT NOT NULL,
    facts            TEXT NOT NULL,
    advice           TEXT NOT NULL,
    legal_route      TEXT NOT NULL,          -- code from assets/legal_routes.json
    laws_cited       TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    follow_up        INTEGER NOT NULL,
    follow_up_note   TEXT NOT NULL,
    created_at       TEXT NOT NULL
) STRICT;
CREATE INDEX consultations_visit ON consultations(visit_id);

-- 调解记录
CREATE TABLE mediations (
    id                    TEXT PRIMARY KEY,  -- UUIDv7
    visit_id              TEXT NOT NULL REFERENCES visits(id),
    handoff_id            TEXT REFERENCES handoffs(id),
    mediator_id           TEXT NOT NULL,
    dispute_type          TEXT NOT NULL,
    outcome               TEXT NOT NULL CHECK (outcome IN ('agreed', 'not_agreed', 'terminated')),
    agreement_text        TEXT NOT NULL,
    judicial_confirmation INTEGER NOT NULL,
    created_at            TEXT NOT NULL
) STRICT;
CREATE INDEX mediations_visit ON mediations(visit_id);

CREATE TABLE mediation_parties (
    id           TEXT PRIMARY KEY,           -- UUIDv7
    mediation_id TEXT NOT NULL REFERENCES mediations(id),
    position     INTEGER NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('applicant', 'respondent')),
    name         TEXT NOT NULL,
    id_type      TEXT NOT NULL,
    id_number    TEXT NOT NULL,
    phone        TEXT,
    address      TEXT
) STRICT;
CREATE INDEX mediation_parties_mediation ON mediation_parties(mediation_id, position);
CREATE INDEX mediation_parties_id_number ON mediation_parties(id_number);

CREATE TABLE mediation_sessions (
    id           TEXT PRIMARY KEY,           -- UUIDv7
    mediation_id TEXT NOT NULL REFERENCES mediations(id),
    position     INTEGER NOT NULL,
    held_on      TEXT NOT NULL,              -- YYYY-MM-DD
    notes        TEXT NOT NULL
) STRICT;
CREATE INDEX mediation_sessions_mediation ON mediation_sessions(mediation_id, position);
