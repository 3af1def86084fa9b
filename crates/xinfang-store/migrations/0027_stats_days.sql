-- Issue 21: a year's statistics read a year's rows (300,000 visits and as many matters, their
-- limits and conclusions at 900,000 visits: 4.5 s). The figures of each day are kept here
-- once added up (figures.rs), and a period adds up its days' figures. Whatever writes a row
-- that a day's figures are made from (a form, a pull from the hall or the city, a merge, a
-- restore of an older record) drops that day's figures through the triggers below, so a kept
-- day is never stale; the next statistics add that day up again from its rows.
CREATE TABLE stats_days (
    day             TEXT NOT NULL,    -- YYYY-MM-DD
    scope           TEXT NOT NULL,    -- a hall's code, or '*' for every hall on the desk
    format          INTEGER NOT NULL, -- figures.rs FORMAT: figures of another format are not read
    figures         TEXT NOT NULL,    -- xinfang_core::tally::Figures as JSON
    -- The latest evaluation of a matter concluded that day: figures taken before it must not
    -- count it, so they add that day up from its rows.
    evaluated_until TEXT,
    PRIMARY KEY (day, scope)
) STRICT, WITHOUT ROWID;

-- Visits, by their day.
CREATE TRIGGER stats_days_visit_insert AFTER INSERT ON visits BEGIN
    DELETE FROM stats_days WHERE day = NEW.visit_date;
END;
CREATE TRIGGER stats_days_visit_update AFTER UPDATE ON visits BEGIN
    DELETE FROM stats_days WHERE day = OLD.visit_date;
    DELETE FROM stats_days WHERE day = NEW.visit_date;
END;
CREATE TRIGGER stats_days_visit_delete AFTER DELETE ON visits BEGIN
    DELETE FROM stats_days WHERE day = OLD.visit_date;
END;

-- Consultations and mediations, by the day of their visit.
CREATE TRIGGER stats_days_consultation_insert AFTER INSERT ON consultations BEGIN
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE id = NEW.visit_id);
END;
CREATE TRIGGER stats_days_consultation_update AFTER UPDATE ON consultations BEGIN
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE id = OLD.visit_id);
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE id = NEW.visit_id);
END;
CREATE TRIGGER stats_days_consultation_delete AFTER DELETE ON consultations BEGIN
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE id = OLD.visit_id);
END;
CREATE TRIGGER stats_days_mediation_insert AFTER INSERT ON mediations BEGIN
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE id = NEW.visit_id);
END;
CREATE TRIGGER stats_days_mediation_update AFTER UPDATE ON mediations BEGIN
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE id = OLD.visit_id);
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE id = NEW.visit_id);
END;
CREATE TRIGGER stats_days_mediation_delete AFTER DELETE ON mediations BEGIN
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE id = OLD.visit_id);
END;

-- Matters: the day received, the days of the visits whose matter it is (有一录一 counts whether
-- the matter is on record), and, when its hall or day changes, the days its limits were done
-- and it was concluded (they count for its hall). A change of state alone reaches the figures
-- through matter_deadlines and matter_stats, below.
CREATE TRIGGER stats_days_matter_insert AFTER INSERT ON matters BEGIN
    DELETE FROM stats_days WHERE day = NEW.received_on;
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE matter_id = NEW.id);
END;
CREATE TRIGGER stats_days_matter_update AFTER UPDATE ON matters
WHEN OLD.hall_code IS NOT NEW.hall_code OR OLD.received_on IS NOT NEW.received_on
  OR OLD.legal_route IS NOT NEW.legal_route OR OLD.id IS NOT NEW.id
BEGIN
    DELETE FROM stats_days WHERE day = OLD.received_on;
    DELETE FROM stats_days WHERE day = NEW.received_on;
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE matter_id = OLD.id);
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE matter_id = NEW.id);
    DELETE FROM stats_days WHERE day IN (SELECT done_on FROM matter_deadlines WHERE matter_id = NEW.id);
    DELETE FROM stats_days WHERE day IN (SELECT concluded_on FROM matter_stats WHERE matter_id = NEW.id);
END;
CREATE TRIGGER stats_days_matter_delete AFTER DELETE ON matters BEGIN
    DELETE FROM stats_days WHERE day = OLD.received_on;
    DELETE FROM stats_days WHERE day IN (SELECT visit_date FROM visits WHERE matter_id = OLD.id);
    DELETE FROM stats_days WHERE day IN (SELECT done_on FROM matter_deadlines WHERE matter_id = OLD.id);
    DELETE FROM stats_days WHERE day IN (SELECT concluded_on FROM matter_stats WHERE matter_id = OLD.id);
END;

-- The facts of a matter's state: its disposition counts on the day received, its conclusion on
-- the day concluded, each limit on the day it was done.
CREATE TRIGGER stats_days_facts_insert AFTER INSERT ON matter_stats BEGIN
    DELETE FROM stats_days WHERE day = NEW.concluded_on;
    DELETE FROM stats_days WHERE day IN (SELECT received_on FROM matters WHERE id = NEW.matter_id);
END;
CREATE TRIGGER stats_days_facts_update AFTER UPDATE ON matter_stats BEGIN
    DELETE FROM stats_days WHERE day = OLD.concluded_on;
    DELETE FROM stats_days WHERE day = NEW.concluded_on;
    DELETE FROM stats_days WHERE day IN (SELECT received_on FROM matters WHERE id = NEW.matter_id);
END;
CREATE TRIGGER stats_days_facts_delete AFTER DELETE ON matter_stats BEGIN
    DELETE FROM stats_days WHERE day = OLD.concluded_on;
    DELETE FROM stats_days WHERE day IN (SELECT received_on FROM matters WHERE id = OLD.matter_id);
END;
CREATE TRIGGER stats_days_limit_insert AFTER INSERT ON matter_deadlines BEGIN
    DELETE FROM stats_days WHERE day = NEW.done_on;
END;
CREATE TRIGGER stats_days_limit_update AFTER UPDATE ON matter_deadlines BEGIN
    DELETE FROM stats_days WHERE day = OLD.done_on;
    DELETE FROM stats_days WHERE day = NEW.done_on;
END;
CREATE TRIGGER stats_days_limit_delete AFTER DELETE ON matter_deadlines BEGIN
    DELETE FROM stats_days WHERE day = OLD.done_on;
END;

-- Evaluations, on the day their matter was concluded.
CREATE TRIGGER stats_days_evaluation_insert AFTER INSERT ON matter_evaluations BEGIN
    DELETE FROM stats_days
     WHERE day IN (SELECT concluded_on FROM matter_stats WHERE matter_id = NEW.matter_id);
END;
CREATE TRIGGER stats_days_evaluation_update AFTER UPDATE ON matter_evaluations BEGIN
    DELETE FROM stats_days
     WHERE day IN (SELECT concluded_on FROM matter_stats WHERE matter_id = OLD.matter_id);
    DELETE FROM stats_days
     WHERE day IN (SELECT concluded_on FROM matter_stats WHERE matter_id = NEW.matter_id);
END;
CREATE TRIGGER stats_days_evaluation_delete AFTER DELETE ON matter_evaluations BEGIN
    DELETE FROM stats_days
     WHERE day IN (SELECT concluded_on FROM matter_stats WHERE matter_id = OLD.matter_id);
END;
