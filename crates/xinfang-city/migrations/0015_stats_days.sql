-- Issue 21: the city's statistics of a year read a year's rows (1.6 s at 100,000 visits, 16 s
-- at the budget's million). As on the desk (its migration 0027), the figures of each day are
-- kept once added up (xinfang_core::kept_days), and a period adds up its days' figures. A day
-- holds every hall's figures of that day. Whatever writes a row a day's figures are made from
-- (a push, the city's fold of a matter's steps, a deletion) drops that day's figures through
-- the triggers below, so a kept day is never stale.
CREATE TABLE stats_days (
    day             TEXT PRIMARY KEY, -- YYYY-MM-DD
    format          INTEGER NOT NULL, -- stats_feed.rs FORMAT: figures of another format are not read
    figures         TEXT NOT NULL,    -- xinfang_core::tally::Figures as JSON
    -- The latest evaluation of a matter concluded that day: figures taken before it must not
    -- count it, so they add that day up from its rows.
    evaluated_until TEXT
) STRICT, WITHOUT ROWID;

-- Visits, by their day.
CREATE TRIGGER stats_days_visit_insert AFTER INSERT ON records WHEN NEW.entity = 'visit' BEGIN
    DELETE FROM stats_days WHERE day = substr(json_extract(NEW.data, '$.visited_at'), 1, 10);
END;
CREATE TRIGGER stats_days_visit_update AFTER UPDATE ON records WHEN NEW.entity = 'visit' BEGIN
    DELETE FROM stats_days WHERE day = substr(json_extract(OLD.data, '$.visited_at'), 1, 10);
    DELETE FROM stats_days WHERE day = substr(json_extract(NEW.data, '$.visited_at'), 1, 10);
END;
CREATE TRIGGER stats_days_visit_delete AFTER DELETE ON records WHEN OLD.entity = 'visit' BEGIN
    DELETE FROM stats_days WHERE day = substr(json_extract(OLD.data, '$.visited_at'), 1, 10);
END;

-- Consultations and mediations, by their visit's day.
CREATE TRIGGER stats_days_session_insert AFTER INSERT ON records
WHEN NEW.entity IN ('consultation', 'mediation') BEGIN
    DELETE FROM stats_days WHERE day IN (
        SELECT substr(json_extract(v.data, '$.visited_at'), 1, 10) FROM records v
         WHERE v.entity = 'visit' AND v.entity_id = json_extract(NEW.data, '$.visit_id'));
END;
CREATE TRIGGER stats_days_session_update AFTER UPDATE ON records
WHEN NEW.entity IN ('consultation', 'mediation') BEGIN
    DELETE FROM stats_days WHERE day IN (
        SELECT substr(json_extract(v.data, '$.visited_at'), 1, 10) FROM records v
         WHERE v.entity = 'visit'
           AND v.entity_id IN (json_extract(OLD.data, '$.visit_id'), json_extract(NEW.data, '$.visit_id')));
END;
CREATE TRIGGER stats_days_session_delete AFTER DELETE ON records
WHEN OLD.entity IN ('consultation', 'mediation') BEGIN
    DELETE FROM stats_days WHERE day IN (
        SELECT substr(json_extract(v.data, '$.visited_at'), 1, 10) FROM records v
         WHERE v.entity = 'visit' AND v.entity_id = json_extract(OLD.data, '$.visit_id'));
END;

-- Evaluations, on the day their matter was concluded.
CREATE TRIGGER stats_days_evaluation_insert AFTER INSERT ON records
WHEN NEW.entity = 'matter_evaluation' BEGIN
    DELETE FROM stats_days WHERE day IN (
        SELECT concluded_on FROM stats_matters WHERE matter_id = json_extract(NEW.data, '$.matter_id'));
END;
CREATE TRIGGER stats_days_evaluation_update AFTER UPDATE ON records
WHEN NEW.entity = 'matter_evaluation' BEGIN
    DELETE FROM stats_days WHERE day IN (
        SELECT concluded_on FROM stats_matters
         WHERE matter_id IN (json_extract(OLD.data, '$.matter_id'), json_extract(NEW.data, '$.matter_id')));
END;
CREATE TRIGGER stats_days_evaluation_delete AFTER DELETE ON records
WHEN OLD.entity = 'matter_evaluation' BEGIN
    DELETE FROM stats_days WHERE day IN (
        SELECT concluded_on FROM stats_matters WHERE matter_id = json_extract(OLD.data, '$.matter_id'));
END;

-- The facts of a matter's state (kept by 0006's triggers): its disposition counts on the day
-- received, its conclusion on the day concluded, each limit on the day it was done. `BEFORE
-- INSERT`: 0006 writes them with INSERT OR REPLACE, whose replaced row fires no delete trigger.
CREATE TRIGGER stats_days_facts_replace BEFORE INSERT ON stats_matters BEGIN
    DELETE FROM stats_days WHERE day IN (
        SELECT received_on FROM stats_matters WHERE matter_id = NEW.matter_id
        UNION SELECT concluded_on FROM stats_matters WHERE matter_id = NEW.matter_id);
END;
CREATE TRIGGER stats_days_facts_insert AFTER INSERT ON stats_matters BEGIN
    DELETE FROM stats_days WHERE day IN (NEW.received_on, NEW.concluded_on);
END;
CREATE TRIGGER stats_days_facts_update AFTER UPDATE ON stats_matters BEGIN
    DELETE FROM stats_days
     WHERE day IN (OLD.received_on, OLD.concluded_on, NEW.received_on, NEW.concluded_on);
END;
CREATE TRIGGER stats_days_facts_delete AFTER DELETE ON stats_matters BEGIN
    DELETE FROM stats_days WHERE day IN (OLD.received_on, OLD.concluded_on);
END;
CREATE TRIGGER stats_days_limit_replace BEFORE INSERT ON stats_deadlines BEGIN
    DELETE FROM stats_days WHERE day IN (
        SELECT done_on FROM stats_deadlines WHERE matter_id = NEW.matter_id AND kind = NEW.kind);
END;
CREATE TRIGGER stats_days_limit_insert AFTER INSERT ON stats_deadlines BEGIN
    DELETE FROM stats_days WHERE day = NEW.done_on;
END;
CREATE TRIGGER stats_days_limit_update AFTER UPDATE ON stats_deadlines BEGIN
    DELETE FROM stats_days WHERE day IN (OLD.done_on, NEW.done_on);
END;
CREATE TRIGGER stats_days_limit_delete AFTER DELETE ON stats_deadlines BEGIN
    DELETE FROM stats_days WHERE day = OLD.done_on;
END;
