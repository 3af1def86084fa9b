-- Issue 21: the administrator's list of halls (`GET /v1/city/halls`) counted every record and
-- every change at each call: 2.3 s at one hall of 300,000 visits (2.87M changes), growing with
-- the city. The counts are now kept, per hall, by the triggers below.
CREATE TABLE hall_counts (
    hall_code TEXT NOT NULL,
    what      TEXT NOT NULL,    -- 'visitor', 'visit', 'matter' (records not deleted), 'change'
    n         INTEGER NOT NULL,
    PRIMARY KEY (hall_code, what)
) STRICT, WITHOUT ROWID;

INSERT INTO hall_counts(hall_code, what, n)
SELECT hall_code, entity, count(*) FROM records
 WHERE deleted_hlc IS NULL AND entity IN ('visitor', 'visit', 'matter')
 GROUP BY hall_code, entity;
INSERT INTO hall_counts(hall_code, what, n)
SELECT hall_code, 'change', count(*) FROM changes GROUP BY hall_code;

-- "Add d to a hall's count": one verb for the triggers below. Not an upsert: in a trigger, the
-- conflict clause of the statement that fired it wins.
CREATE VIEW hall_counts_add(hall_code, what, d) AS SELECT hall_code, what, n FROM hall_counts WHERE 0;
CREATE TRIGGER hall_counts_add INSTEAD OF INSERT ON hall_counts_add WHEN NEW.d <> 0 BEGIN
    INSERT INTO hall_counts(hall_code, what, n)
    SELECT NEW.hall_code, NEW.what, 0
     WHERE NOT EXISTS (SELECT 1 FROM hall_counts WHERE hall_code = NEW.hall_code AND what = NEW.what);
    UPDATE hall_counts SET n = n + NEW.d WHERE hall_code = NEW.hall_code AND what = NEW.what;
END;

CREATE TRIGGER hall_counts_record_insert AFTER INSERT ON records
WHEN NEW.entity IN ('visitor', 'visit', 'matter') AND NEW.deleted_hlc IS NULL BEGIN
    INSERT INTO hall_counts_add VALUES (NEW.hall_code, NEW.entity, 1);
END;
-- A record deleted (softly) or brought back; a record never moves to another hall or entity.
CREATE TRIGGER hall_counts_record_update AFTER UPDATE OF deleted_hlc ON records
WHEN NEW.entity IN ('visitor', 'visit', 'matter')
 AND (OLD.deleted_hlc IS NULL) <> (NEW.deleted_hlc IS NULL) BEGIN
    INSERT INTO hall_counts_add
    VALUES (NEW.hall_code, NEW.entity, CASE WHEN NEW.deleted_hlc IS NULL THEN 1 ELSE -1 END);
END;
CREATE TRIGGER hall_counts_record_delete AFTER DELETE ON records
WHEN OLD.entity IN ('visitor', 'visit', 'matter') AND OLD.deleted_hlc IS NULL BEGIN
    INSERT INTO hall_counts_add VALUES (OLD.hall_code, OLD.entity, -1);
END;
CREATE TRIGGER hall_counts_change_insert AFTER INSERT ON changes BEGIN
    INSERT INTO hall_counts_add VALUES (NEW.hall_code, 'change', 1);
END;
CREATE TRIGGER hall_counts_change_delete AFTER DELETE ON changes BEGIN
    INSERT INTO hall_counts_add VALUES (OLD.hall_code, 'change', -1);
END;
