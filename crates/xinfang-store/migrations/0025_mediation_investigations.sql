-- Issue 16: 调查记录 of a mediation (人民调解法第二十二条; the MoJ's 人民调解调查记录): when and
-- where, whom (被调查人) and who else was there, what was found; the mediator who recorded it
-- is its 记录人. Append-only rows of their own, synced like the sessions and 回访
-- (entity `mediation_investigation`).
CREATE TABLE mediation_investigations (
    id              TEXT PRIMARY KEY,           -- UUIDv7
    mediation_id    TEXT NOT NULL REFERENCES mediations(id),
    investigated_on TEXT NOT NULL,              -- YYYY-MM-DD
    place           TEXT NOT NULL,
    person          TEXT NOT NULL,
    present         TEXT NOT NULL,
    content         TEXT NOT NULL,
    by_staff        TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX mediation_investigations_mediation
    ON mediation_investigations(mediation_id, investigated_on);
