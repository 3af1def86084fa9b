-- Issue 21: the limits run out or running out (the due list, the overdue figures of any
-- period) were found by the open-limits index and then, one by one, their matter's hall and
-- status: 12,000 seeks across an index of 900,000 matters, whose pages filled the page cache.
-- The limits now carry their matter's hall, status and day received (kept by the triggers
-- below, whoever writes the matter), and the open-limits index holds all a reader needs.
ALTER TABLE matter_deadlines ADD COLUMN hall_code TEXT;
ALTER TABLE matter_deadlines ADD COLUMN status TEXT;
ALTER TABLE matter_deadlines ADD COLUMN received_on TEXT;
UPDATE matter_deadlines SET (hall_code, status, received_on) =
    (SELECT m.hall_code, m.status, m.received_on FROM matters m WHERE m.id = matter_deadlines.matter_id);
DROP INDEX matter_deadlines_open;
-- party and done_on are the same in every entry, but SQLite reads a column a query names from
-- the index only if the index has it.
CREATE INDEX matter_deadlines_open
    ON matter_deadlines(due, hall_code, status, received_on, party, done_on)
    WHERE done_on IS NULL AND party = 'authority';

DROP TRIGGER matters_deadlines_insert;
DROP TRIGGER matters_deadlines_update;
CREATE TRIGGER matters_deadlines_insert AFTER INSERT ON matters WHEN NEW.state IS NOT NULL
BEGIN
    INSERT INTO matter_deadlines(matter_id, kind, party, due, done_on, hall_code, status, received_on)
    SELECT NEW.id, json_extract(value, '$.kind'), json_extract(value, '$.party'),
           json_extract(value, '$.due'), json_extract(value, '$.done_on'),
           NEW.hall_code, NEW.status, NEW.received_on
      FROM json_each(NEW.state, '$.deadlines');
END;
CREATE TRIGGER matters_deadlines_update AFTER UPDATE OF state ON matters
BEGIN
    DELETE FROM matter_deadlines WHERE matter_id = NEW.id;
    INSERT INTO matter_deadlines(matter_id, kind, party, due, done_on, hall_code, status, received_on)
    SELECT NEW.id, json_extract(value, '$.kind'), json_extract(value, '$.party'),
           json_extract(value, '$.due'), json_extract(value, '$.done_on'),
           NEW.hall_code, NEW.status, NEW.received_on
      FROM json_each(NEW.state, '$.deadlines')
     WHERE NEW.state IS NOT NULL;
END;
CREATE TRIGGER matters_deadlines_facts AFTER UPDATE OF hall_code, status, received_on ON matters
BEGIN
    UPDATE matter_deadlines SET hall_code = NEW.hall_code, status = NEW.status,
           received_on = NEW.received_on
     WHERE matter_id = NEW.id;
END;
