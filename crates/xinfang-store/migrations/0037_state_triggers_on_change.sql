-- Issue 21: a matter's step rewrote every row its state is copied into, whether it changed or
-- not — each limit deleted and inserted again, then updated again for the status (`UPDATE OF`
-- fires when a column is set, changed or not), its statistics facts deleted and inserted
-- again — and each of those writes dropped kept days of figures that had not changed. Each
-- trigger now writes only what changed, and a limit drops its day only when something the
-- figures read of it changed; what the rows hold afterwards is the same as before.

-- The limits: the ones gone are deleted, the others written where they differ.
DROP TRIGGER matters_deadlines_update;
CREATE TRIGGER matters_deadlines_update AFTER UPDATE OF state ON matters
WHEN json_extract(OLD.state, '$.deadlines') IS NOT json_extract(NEW.state, '$.deadlines')
BEGIN
    DELETE FROM matter_deadlines
     WHERE matter_id = NEW.id
       AND kind NOT IN (SELECT json_extract(value, '$.kind') FROM json_each(NEW.state, '$.deadlines'));
    INSERT INTO matter_deadlines(matter_id, kind, party, due, done_on, hall_code, status, received_on)
    SELECT NEW.id, json_extract(value, '$.kind'), json_extract(value, '$.party'),
           json_extract(value, '$.due'), json_extract(value, '$.done_on'),
           NEW.hall_code, NEW.status, NEW.received_on
      FROM json_each(NEW.state, '$.deadlines')
     WHERE NEW.state IS NOT NULL
    ON CONFLICT (matter_id, kind) DO UPDATE
       SET party = excluded.party, due = excluded.due, done_on = excluded.done_on,
           hall_code = excluded.hall_code, status = excluded.status,
           received_on = excluded.received_on
     WHERE matter_deadlines.party IS NOT excluded.party
        OR matter_deadlines.due IS NOT excluded.due
        OR matter_deadlines.done_on IS NOT excluded.done_on
        OR matter_deadlines.hall_code IS NOT excluded.hall_code
        OR matter_deadlines.status IS NOT excluded.status
        OR matter_deadlines.received_on IS NOT excluded.received_on;
END;

DROP TRIGGER matters_deadlines_facts;
CREATE TRIGGER matters_deadlines_facts AFTER UPDATE OF hall_code, status, received_on ON matters
WHEN OLD.hall_code IS NOT NEW.hall_code OR OLD.status IS NOT NEW.status
  OR OLD.received_on IS NOT NEW.received_on
BEGIN
    UPDATE matter_deadlines SET hall_code = NEW.hall_code, status = NEW.status,
           received_on = NEW.received_on
     WHERE matter_id = NEW.id;
END;

-- A limit counts on the day it was done, by its kind, party and due day, its matter's hall
-- and whether its matter is closed (figures.rs DEADLINES_DONE); its other columns (the
-- matter's status otherwise, its day received) serve the due list, which reads them live.
DROP TRIGGER stats_days_limit_update;
CREATE TRIGGER stats_days_limit_update AFTER UPDATE ON matter_deadlines
WHEN OLD.done_on IS NOT NEW.done_on OR OLD.due IS NOT NEW.due OR OLD.party IS NOT NEW.party
  OR OLD.kind IS NOT NEW.kind OR OLD.matter_id IS NOT NEW.matter_id
  OR OLD.hall_code IS NOT NEW.hall_code
  OR (OLD.status = 'closed') IS NOT (NEW.status = 'closed')
BEGIN
    DELETE FROM stats_days WHERE day = OLD.done_on;
    DELETE FROM stats_days WHERE day = NEW.done_on;
END;

-- The statistics facts: a state written where there was none (or taken away) always rewrites
-- the row, as before (a matter with a state has one).
DROP TRIGGER matters_stats_update;
CREATE TRIGGER matters_stats_update AFTER UPDATE OF state ON matters
WHEN (OLD.state IS NULL) IS NOT (NEW.state IS NULL)
  OR json_extract(OLD.state, '$.opinion.at') IS NOT json_extract(NEW.state, '$.opinion.at')
  OR json_extract(OLD.state, '$.transfer.kind') IS NOT json_extract(NEW.state, '$.transfer.kind')
  OR json_extract(OLD.state, '$.transfer.at') IS NOT json_extract(NEW.state, '$.transfer.at')
  OR json_extract(OLD.state, '$.accepted_on') IS NOT json_extract(NEW.state, '$.accepted_on')
  OR json_extract(OLD.state, '$.not_accepted.at') IS NOT json_extract(NEW.state, '$.not_accepted.at')
  OR json_extract(OLD.state, '$.legal_route.at') IS NOT json_extract(NEW.state, '$.legal_route.at')
BEGIN
    DELETE FROM matter_stats WHERE matter_id = NEW.id;
    INSERT INTO matter_stats
    SELECT NEW.id, json_extract(NEW.state, '$.opinion.at'), json_extract(NEW.state, '$.transfer.kind'),
           json_extract(NEW.state, '$.transfer.at'), json_extract(NEW.state, '$.accepted_on'),
           json_extract(NEW.state, '$.not_accepted.at'), json_extract(NEW.state, '$.legal_route.at')
     WHERE NEW.state IS NOT NULL;
END;

-- A registration writes a number no other matter has as shown with the row (visits.rs); only a
-- matter inserted without it shown (a pull, a restore, a number two desks gave) has the
-- matters of its number ranked, as before.
DROP TRIGGER matters_number_insert;
CREATE TRIGGER matters_number_insert AFTER INSERT ON matters
WHEN NEW.number IS NOT NULL AND NEW.shown_number IS NOT NEW.number BEGIN
    UPDATE matters SET shown_number = NULL WHERE number = NEW.number;
    UPDATE matters SET shown_number = number || coalesce('-' || nullif(
        (SELECT count(*) FROM matters o WHERE o.number = matters.number AND o.id < matters.id) + 1, 1), '')
    WHERE number = NEW.number;
END;
