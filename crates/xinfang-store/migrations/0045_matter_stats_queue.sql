-- 0044 kept each conclusion's hall and evaluations by four triggers, each with its own copy of
-- the rule (the hall, the first evaluation, the latest: the latest day, then the latest
-- written). As the city's migration 0020: a matter whose kept columns may be stale is queued in
-- a one-row table, and the one trigger on that table reads them again. The same values as before.
CREATE TABLE matter_stats_stale (matter_id TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;

CREATE TRIGGER matter_stats_keep AFTER INSERT ON matter_stats_stale BEGIN
    UPDATE matter_stats SET
        hall_code = (SELECT hall_code FROM matters WHERE id = NEW.matter_id),
        first_evaluated_on = (SELECT min(evaluated_on) FROM matter_evaluations e
                               WHERE e.matter_id = NEW.matter_id),
        (last_evaluated_on, last_evaluation) = (
            SELECT evaluated_on, result FROM matter_evaluations e
             WHERE e.matter_id = NEW.matter_id
             ORDER BY evaluated_on DESC, created_at DESC LIMIT 1)
     WHERE matter_id = NEW.matter_id;
    DELETE FROM matter_stats_stale WHERE matter_id = NEW.matter_id;
END;

DROP TRIGGER matter_stats_kept_insert;
CREATE TRIGGER matter_stats_kept_insert AFTER INSERT ON matter_stats BEGIN
    INSERT OR IGNORE INTO matter_stats_stale VALUES (NEW.matter_id);
END;
DROP TRIGGER matter_stats_kept_hall;
CREATE TRIGGER matter_stats_kept_hall AFTER UPDATE OF hall_code ON matters
WHEN OLD.hall_code IS NOT NEW.hall_code BEGIN
    INSERT OR IGNORE INTO matter_stats_stale VALUES (NEW.id);
END;
DROP TRIGGER matter_stats_kept_evaluation_insert;
CREATE TRIGGER matter_stats_kept_evaluation_insert AFTER INSERT ON matter_evaluations BEGIN
    INSERT OR IGNORE INTO matter_stats_stale VALUES (NEW.matter_id);
END;
DROP TRIGGER matter_stats_kept_evaluation_update;
CREATE TRIGGER matter_stats_kept_evaluation_update AFTER UPDATE ON matter_evaluations BEGIN
    INSERT OR IGNORE INTO matter_stats_stale VALUES (OLD.matter_id);
    INSERT OR IGNORE INTO matter_stats_stale VALUES (NEW.matter_id);
END;
DROP TRIGGER matter_stats_kept_evaluation_delete;
CREATE TRIGGER matter_stats_kept_evaluation_delete AFTER DELETE ON matter_evaluations BEGIN
    INSERT OR IGNORE INTO matter_stats_stale VALUES (OLD.matter_id);
END;
