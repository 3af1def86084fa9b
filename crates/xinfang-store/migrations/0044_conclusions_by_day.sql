-- Issue 21 (a month's statistics after a reboot): a period's conclusions were read each with
-- its hall from `matters` and its latest evaluation from `matter_evaluations`, two reads by key
-- per conclusion — at 1,000,000 visitors, October's 71,000 conclusions took 2 s from a file the
-- OS had not cached. Each conclusion's hall and evaluations (the first day, the latest day and
-- its result) are now kept with its facts, and the day index holds them all: a period's
-- conclusions are one range of one index. Only a matter evaluated both before and after the
-- day the figures are taken still reads its evaluations.
ALTER TABLE matter_stats ADD COLUMN hall_code TEXT;
ALTER TABLE matter_stats ADD COLUMN first_evaluated_on TEXT;
ALTER TABLE matter_stats ADD COLUMN last_evaluated_on TEXT;
ALTER TABLE matter_stats ADD COLUMN last_evaluation TEXT;

-- The facts' rows as 0012 and 0037 write them, their columns now named (they gave values by
-- position).
DROP TRIGGER matters_stats_insert;
CREATE TRIGGER matters_stats_insert AFTER INSERT ON matters WHEN NEW.state IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO matter_stats(matter_id, concluded_on, transfer_kind, transfer_at,
                                        accepted_on, not_accepted_on, legal_route_on)
    VALUES (NEW.id, json_extract(NEW.state, '$.opinion.at'), json_extract(NEW.state, '$.transfer.kind'),
            json_extract(NEW.state, '$.transfer.at'), json_extract(NEW.state, '$.accepted_on'),
            json_extract(NEW.state, '$.not_accepted.at'), json_extract(NEW.state, '$.legal_route.at'));
END;
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
    INSERT INTO matter_stats(matter_id, concluded_on, transfer_kind, transfer_at, accepted_on,
                             not_accepted_on, legal_route_on)
    SELECT NEW.id, json_extract(NEW.state, '$.opinion.at'), json_extract(NEW.state, '$.transfer.kind'),
           json_extract(NEW.state, '$.transfer.at'), json_extract(NEW.state, '$.accepted_on'),
           json_extract(NEW.state, '$.not_accepted.at'), json_extract(NEW.state, '$.legal_route.at')
     WHERE NEW.state IS NOT NULL;
END;

-- A kept day depends on the facts below, not on the columns kept beside them here (an
-- evaluation drops its day by its own trigger, a hall's change by the matter's): listed, so
-- that writing those columns does not drop the day the matter was received on.
DROP TRIGGER stats_days_facts_update;
CREATE TRIGGER stats_days_facts_update AFTER UPDATE OF
    matter_id, concluded_on, transfer_kind, transfer_at, accepted_on, not_accepted_on,
    legal_route_on ON matter_stats
BEGIN
    DELETE FROM stats_days WHERE day = OLD.concluded_on;
    DELETE FROM stats_days WHERE day = NEW.concluded_on;
    DELETE FROM stats_days WHERE day IN (SELECT received_on FROM matters WHERE id = NEW.matter_id);
END;

-- The latest evaluation is the one `figures::CONCLUDED` took: the latest day, then the latest
-- written.
UPDATE matter_stats SET
    hall_code = (SELECT hall_code FROM matters WHERE id = matter_stats.matter_id),
    first_evaluated_on = (SELECT min(evaluated_on) FROM matter_evaluations e
                           WHERE e.matter_id = matter_stats.matter_id),
    (last_evaluated_on, last_evaluation) = (
        SELECT evaluated_on, result FROM matter_evaluations e
         WHERE e.matter_id = matter_stats.matter_id
         ORDER BY evaluated_on DESC, created_at DESC LIMIT 1);

DROP INDEX matter_stats_concluded;
CREATE INDEX matter_stats_concluded ON matter_stats(
    concluded_on, hall_code, first_evaluated_on, last_evaluated_on, last_evaluation
) WHERE concluded_on IS NOT NULL;

-- Kept whoever writes: the facts' row (rewritten whenever the state's facts change), the
-- matter's hall, and its evaluations.
CREATE TRIGGER matter_stats_kept_insert AFTER INSERT ON matter_stats BEGIN
    UPDATE matter_stats SET
        hall_code = (SELECT hall_code FROM matters WHERE id = NEW.matter_id),
        first_evaluated_on = (SELECT min(evaluated_on) FROM matter_evaluations e
                               WHERE e.matter_id = NEW.matter_id),
        (last_evaluated_on, last_evaluation) = (
            SELECT evaluated_on, result FROM matter_evaluations e
             WHERE e.matter_id = NEW.matter_id
             ORDER BY evaluated_on DESC, created_at DESC LIMIT 1)
     WHERE matter_id = NEW.matter_id;
END;
CREATE TRIGGER matter_stats_kept_hall AFTER UPDATE OF hall_code ON matters
WHEN OLD.hall_code IS NOT NEW.hall_code BEGIN
    UPDATE matter_stats SET hall_code = NEW.hall_code WHERE matter_id = NEW.id;
END;
CREATE TRIGGER matter_stats_kept_evaluation_insert AFTER INSERT ON matter_evaluations BEGIN
    UPDATE matter_stats SET
        first_evaluated_on = (SELECT min(evaluated_on) FROM matter_evaluations e
                               WHERE e.matter_id = NEW.matter_id),
        (last_evaluated_on, last_evaluation) = (
            SELECT evaluated_on, result FROM matter_evaluations e
             WHERE e.matter_id = NEW.matter_id
             ORDER BY evaluated_on DESC, created_at DESC LIMIT 1)
     WHERE matter_id = NEW.matter_id;
END;
CREATE TRIGGER matter_stats_kept_evaluation_update AFTER UPDATE ON matter_evaluations BEGIN
    UPDATE matter_stats SET
        first_evaluated_on = (SELECT min(evaluated_on) FROM matter_evaluations e
                               WHERE e.matter_id = matter_stats.matter_id),
        (last_evaluated_on, last_evaluation) = (
            SELECT evaluated_on, result FROM matter_evaluations e
             WHERE e.matter_id = matter_stats.matter_id
             ORDER BY evaluated_on DESC, created_at DESC LIMIT 1)
     WHERE matter_id IN (OLD.matter_id, NEW.matter_id);
END;
CREATE TRIGGER matter_stats_kept_evaluation_delete AFTER DELETE ON matter_evaluations BEGIN
    UPDATE matter_stats SET
        first_evaluated_on = (SELECT min(evaluated_on) FROM matter_evaluations e
                               WHERE e.matter_id = OLD.matter_id),
        (last_evaluated_on, last_evaluation) = (
            SELECT evaluated_on, result FROM matter_evaluations e
             WHERE e.matter_id = OLD.matter_id
             ORDER BY evaluated_on DESC, created_at DESC LIMIT 1)
     WHERE matter_id = OLD.matter_id;
END;
