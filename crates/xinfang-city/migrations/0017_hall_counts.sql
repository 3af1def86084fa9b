-- Issue 21: the administrator's list of halls (`GET /v1/city/halls`) counted every record and
-- every change at each call: 2.3 s at one hall of 300,000 visits (2.87M changes), growing with
-- the city. The counts are now kept, per hall, by the triggers below.
CREATE TABLE hall_counts (
    hall_code TEXT NOT NULL,
    what      TEXT NOT NULL,    -- 'visitor', 'visit', 'matter' (records not deleted), 'change'
    n         INTEGER NOT NULL,
    PRIMARY KEY (hall_code, what)
) STRICT, WITHOUT ROWID;

-- Every hall has its four counts from the start, so the triggers below only add to them. Not
-- `OR IGNORE`: in a trigger, the conflict clause of the statement that fired it wins.
CREATE TRIGGER hall_counts_hall AFTER INSERT ON halls BEGIN
    INSERT INTO hall_counts(hall_code, what, n)
    SELECT NEW.code, w.what, 0
      FROM (SELECT 'visitor' AS what UNION ALL SELECT 'visit' UNION ALL SELECT 'matter'
            UNION ALL SELECT 'change') w
     WHERE NOT EXISTS (SELECT 1 FROM hall_counts WHERE hall_code = NEW.code);
END;
INSERT INTO hall_counts(hall_code, what, n)
SELECT h.code, w.what, 0
  FROM halls h,
       (SELECT 'visitor' AS what UNION ALL SELECT 'visit' UNION ALL SELECT 'matter'
        UNION ALL SELECT 'change') w;
UPDATE hall_counts SET n = g.n
  FROM (SELECT hall_code, entity AS what, count(*) AS n FROM records
         WHERE deleted_hlc IS NULL AND entity IN ('visitor', 'visit', 'matter')
         GROUP BY hall_code, entity
        UNION ALL
        SELECT hall_code, 'change', count(*) FROM changes GROUP BY hall_code) g
 WHERE g.hall_code = hall_counts.hall_code AND g.what = hall_counts.what;

-- Each trigger adds to its hall's count with one UPDATE, the hall's row already there.
-- (Records of a hall not in `halls` are not listed, so not counted.)
CREATE TRIGGER hall_counts_record_insert AFTER INSERT ON records
WHEN NEW.entity IN ('visitor', 'visit', 'matter') AND NEW.deleted_hlc IS NULL BEGIN
    UPDATE hall_counts SET n = n + 1 WHERE hall_code = NEW.hall_code AND what = NEW.entity;
END;
-- A record deleted (softly) or brought back; a record never moves to another hall or entity.
CREATE TRIGGER hall_counts_record_update AFTER UPDATE OF deleted_hlc ON records
WHEN NEW.entity IN ('visitor', 'visit', 'matter')
 AND (OLD.deleted_hlc IS NULL) <> (NEW.deleted_hlc IS NULL) BEGIN
    UPDATE hall_counts SET n = n + CASE WHEN NEW.deleted_hlc IS NULL THEN 1 ELSE -1 END
     WHERE hall_code = NEW.hall_code AND what = NEW.entity;
END;
CREATE TRIGGER hall_counts_record_delete AFTER DELETE ON records
WHEN OLD.entity IN ('visitor', 'visit', 'matter') AND OLD.deleted_hlc IS NULL BEGIN
    UPDATE hall_counts SET n = n - 1 WHERE hall_code = OLD.hall_code AND what = OLD.entity;
END;
CREATE TRIGGER hall_counts_change_insert AFTER INSERT ON changes BEGIN
    UPDATE hall_counts SET n = n + 1 WHERE hall_code = NEW.hall_code AND what = 'change';
END;
CREATE TRIGGER hall_counts_change_delete AFTER DELETE ON changes BEGIN
    UPDATE hall_counts SET n = n - 1 WHERE hall_code = OLD.hall_code AND what = 'change';
END;
