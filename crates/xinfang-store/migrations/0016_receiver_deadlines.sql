-- Issue 16: a transfer's objection window belongs to the receiving authority (party
-- 'receiver'), which the CHECK of 0004 did not allow. SQLite cannot alter a CHECK: the index
-- table is rebuilt with the same rows and indexes, and the triggers of 0004 that fill it are
-- dropped first and made again unchanged (a rename checks the triggers naming the table).
DROP TRIGGER matters_deadlines_insert;
DROP TRIGGER matters_deadlines_update;
CREATE TABLE matter_deadlines_new (
    matter_id TEXT NOT NULL REFERENCES matters(id),
    kind      TEXT NOT NULL,                 -- xinfang_core::matter::DeadlineKind
    party     TEXT NOT NULL CHECK (party IN ('authority', 'visitor', 'receiver')),
    due       TEXT NOT NULL,                 -- YYYY-MM-DD, last day
    done_on   TEXT,
    PRIMARY KEY (matter_id, kind)
) STRICT, WITHOUT ROWID;
INSERT INTO matter_deadlines_new SELECT matter_id, kind, party, due, done_on FROM matter_deadlines;
DROP TABLE matter_deadlines;
ALTER TABLE matter_deadlines_new RENAME TO matter_deadlines;
CREATE INDEX matter_deadlines_open ON matter_deadlines(due)
    WHERE done_on IS NULL AND party = 'authority';
CREATE INDEX matter_deadlines_done ON matter_deadlines(done_on);
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
