-- Issue 21: the first statistics call after a hall's history arrived added up every day it
-- touched (≈ 16 s for a year at the budget's million visits), and held the store meanwhile. The
-- days whose figures a write dropped are now also listed as due, and the server adds them up in
-- the background (`Storage::keep_due_days`), a month at a time, so the administrator's call
-- finds them kept. Keyed by hall too: on PostgreSQL two halls' pushes run at once and must not
-- wait for each other's row (see postgres/0008); here it is kept alike.
CREATE TABLE stats_days_due (
    day       TEXT NOT NULL,
    hall_code TEXT NOT NULL,
    PRIMARY KEY (day, hall_code)
) STRICT, WITHOUT ROWID;

-- "A day's rows changed": its kept figures go, and it is due. One verb for every trigger below.
CREATE VIEW stats_days_drop(day, hall_code) AS SELECT day, hall_code FROM stats_days_due WHERE 0;
CREATE TRIGGER stats_days_drop INSTEAD OF INSERT ON stats_days_drop WHEN NEW.day IS NOT NULL BEGIN
    DELETE FROM stats_days WHERE day = NEW.day;
    -- Not `OR IGNORE`: in a trigger, the conflict clause of the statement that fired it wins.
    INSERT INTO stats_days_due(day, hall_code)
    SELECT NEW.day, coalesce(NEW.hall_code, '')
     WHERE NOT EXISTS (SELECT 1 FROM stats_days_due
                        WHERE day = NEW.day AND hall_code = coalesce(NEW.hall_code, ''));
END;

-- 0015's triggers, each now dropping through the view.
DROP TRIGGER stats_days_visit_insert;
DROP TRIGGER stats_days_visit_update;
DROP TRIGGER stats_days_visit_delete;
DROP TRIGGER stats_days_session_insert;
DROP TRIGGER stats_days_session_update;
DROP TRIGGER stats_days_session_delete;
DROP TRIGGER stats_days_evaluation_insert;
DROP TRIGGER stats_days_evaluation_update;
DROP TRIGGER stats_days_evaluation_delete;
DROP TRIGGER stats_days_facts_replace;
DROP TRIGGER stats_days_facts_insert;
DROP TRIGGER stats_days_facts_update;
DROP TRIGGER stats_days_facts_delete;
DROP TRIGGER stats_days_limit_replace;
DROP TRIGGER stats_days_limit_insert;
DROP TRIGGER stats_days_limit_update;
DROP TRIGGER stats_days_limit_delete;

-- Visits, by their day.
CREATE TRIGGER stats_days_visit_insert AFTER INSERT ON records WHEN NEW.entity = 'visit' BEGIN
    INSERT INTO stats_days_drop VALUES (substr(json_extract(NEW.data, '$.visited_at'), 1, 10), NEW.hall_code);
END;
CREATE TRIGGER stats_days_visit_update AFTER UPDATE ON records WHEN NEW.entity = 'visit' BEGIN
    INSERT INTO stats_days_drop VALUES
        (substr(json_extract(OLD.data, '$.visited_at'), 1, 10), OLD.hall_code),
        (substr(json_extract(NEW.data, '$.visited_at'), 1, 10), NEW.hall_code);
END;
CREATE TRIGGER stats_days_visit_delete AFTER DELETE ON records WHEN OLD.entity = 'visit' BEGIN
    INSERT INTO stats_days_drop VALUES (substr(json_extract(OLD.data, '$.visited_at'), 1, 10), OLD.hall_code);
END;

-- Consultations and mediations, by their visit's day.
CREATE TRIGGER stats_days_session_insert AFTER INSERT ON records
WHEN NEW.entity IN ('consultation', 'mediation') BEGIN
    INSERT INTO stats_days_drop
    SELECT substr(json_extract(v.data, '$.visited_at'), 1, 10), NEW.hall_code FROM records v
     WHERE v.entity = 'visit' AND v.entity_id = json_extract(NEW.data, '$.visit_id');
END;
CREATE TRIGGER stats_days_session_update AFTER UPDATE ON records
WHEN NEW.entity IN ('consultation', 'mediation') BEGIN
    INSERT INTO stats_days_drop
    SELECT substr(json_extract(v.data, '$.visited_at'), 1, 10), NEW.hall_code FROM records v
     WHERE v.entity = 'visit'
       AND v.entity_id IN (json_extract(OLD.data, '$.visit_id'), json_extract(NEW.data, '$.visit_id'));
END;
CREATE TRIGGER stats_days_session_delete AFTER DELETE ON records
WHEN OLD.entity IN ('consultation', 'mediation') BEGIN
    INSERT INTO stats_days_drop
    SELECT substr(json_extract(v.data, '$.visited_at'), 1, 10), OLD.hall_code FROM records v
     WHERE v.entity = 'visit' AND v.entity_id = json_extract(OLD.data, '$.visit_id');
END;

-- Evaluations, on the day their matter was concluded.
CREATE TRIGGER stats_days_evaluation_insert AFTER INSERT ON records
WHEN NEW.entity = 'matter_evaluation' BEGIN
    INSERT INTO stats_days_drop
    SELECT concluded_on, hall_code FROM stats_matters
     WHERE matter_id = json_extract(NEW.data, '$.matter_id');
END;
CREATE TRIGGER stats_days_evaluation_update AFTER UPDATE ON records
WHEN NEW.entity = 'matter_evaluation' BEGIN
    INSERT INTO stats_days_drop
    SELECT concluded_on, hall_code FROM stats_matters
     WHERE matter_id IN (json_extract(OLD.data, '$.matter_id'), json_extract(NEW.data, '$.matter_id'));
END;
CREATE TRIGGER stats_days_evaluation_delete AFTER DELETE ON records
WHEN OLD.entity = 'matter_evaluation' BEGIN
    INSERT INTO stats_days_drop
    SELECT concluded_on, hall_code FROM stats_matters
     WHERE matter_id = json_extract(OLD.data, '$.matter_id');
END;

-- A matter's facts: received and concluded days; a limit: the day done. `BEFORE INSERT`: 0006
-- writes them with INSERT OR REPLACE, whose replaced row fires no delete trigger.
CREATE TRIGGER stats_days_facts_replace BEFORE INSERT ON stats_matters BEGIN
    INSERT INTO stats_days_drop
    SELECT received_on, hall_code FROM stats_matters WHERE matter_id = NEW.matter_id
    UNION SELECT concluded_on, hall_code FROM stats_matters WHERE matter_id = NEW.matter_id;
END;
CREATE TRIGGER stats_days_facts_insert AFTER INSERT ON stats_matters BEGIN
    INSERT INTO stats_days_drop VALUES (NEW.received_on, NEW.hall_code), (NEW.concluded_on, NEW.hall_code);
END;
CREATE TRIGGER stats_days_facts_update AFTER UPDATE ON stats_matters BEGIN
    INSERT INTO stats_days_drop VALUES
        (OLD.received_on, OLD.hall_code), (OLD.concluded_on, OLD.hall_code),
        (NEW.received_on, NEW.hall_code), (NEW.concluded_on, NEW.hall_code);
END;
CREATE TRIGGER stats_days_facts_delete AFTER DELETE ON stats_matters BEGIN
    INSERT INTO stats_days_drop VALUES (OLD.received_on, OLD.hall_code), (OLD.concluded_on, OLD.hall_code);
END;
CREATE TRIGGER stats_days_limit_replace BEFORE INSERT ON stats_deadlines BEGIN
    INSERT INTO stats_days_drop
    SELECT done_on, hall_code FROM stats_deadlines WHERE matter_id = NEW.matter_id AND kind = NEW.kind;
END;
CREATE TRIGGER stats_days_limit_insert AFTER INSERT ON stats_deadlines BEGIN
    INSERT INTO stats_days_drop VALUES (NEW.done_on, NEW.hall_code);
END;
CREATE TRIGGER stats_days_limit_update AFTER UPDATE ON stats_deadlines BEGIN
    INSERT INTO stats_days_drop VALUES (OLD.done_on, OLD.hall_code), (NEW.done_on, NEW.hall_code);
END;
CREATE TRIGGER stats_days_limit_delete AFTER DELETE ON stats_deadlines BEGIN
    INSERT INTO stats_days_drop VALUES (OLD.done_on, OLD.hall_code);
END;

-- The days a city upgraded to this version holds rows of but has not kept are due now.
INSERT OR IGNORE INTO stats_days_due(day, hall_code)
SELECT d, hall_code FROM (
    SELECT substr(json_extract(data, '$.visited_at'), 1, 10) AS d, hall_code FROM records
     WHERE entity = 'visit' AND deleted_hlc IS NULL
    UNION SELECT received_on, hall_code FROM stats_matters
    UNION SELECT concluded_on, hall_code FROM stats_matters
    UNION SELECT done_on, hall_code FROM stats_deadlines)
 WHERE d IS NOT NULL AND d NOT IN (SELECT day FROM stats_days);
