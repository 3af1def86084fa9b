-- Issue 21, as the desk's migration 0044: a period's conclusions read each one's latest
-- evaluation from the records, a lookup by the JSON expression index and a parse of the
-- record's data per conclusion. Each matter's evaluations are now kept in one narrow row — the
-- first day, the latest day and that evaluation's result (the latest day, then the latest
-- written) — and only a matter evaluated both before and after the day the figures are taken
-- still reads its records.
CREATE TABLE stats_evaluations (
    matter_id          TEXT PRIMARY KEY,
    first_evaluated_on TEXT NOT NULL,
    last_evaluated_on  TEXT NOT NULL,
    last_evaluation    TEXT
) STRICT, WITHOUT ROWID;

-- A matter whose evaluations were written: the one trigger below reads them again, so the rule
-- of which is the latest is written once.
CREATE TABLE stats_evaluations_stale (matter_id TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;

CREATE TRIGGER stats_evaluations_keep AFTER INSERT ON stats_evaluations_stale BEGIN
    DELETE FROM stats_evaluations WHERE matter_id = NEW.matter_id;
    INSERT INTO stats_evaluations(matter_id, first_evaluated_on, last_evaluated_on, last_evaluation)
    SELECT NEW.matter_id,
           (SELECT min(json_extract(f.data, '$.evaluated_on'))
              FROM records f INDEXED BY records_evaluation_matter
             WHERE f.entity = 'matter_evaluation' AND json_extract(f.data, '$.matter_id') = NEW.matter_id
               AND f.deleted_hlc IS NULL),
           json_extract(e.data, '$.evaluated_on'), json_extract(e.data, '$.result')
      FROM records e INDEXED BY records_evaluation_matter
     WHERE e.entity = 'matter_evaluation' AND json_extract(e.data, '$.matter_id') = NEW.matter_id
       AND e.deleted_hlc IS NULL
       AND json_extract(e.data, '$.evaluated_on') IS NOT NULL
     ORDER BY json_extract(e.data, '$.evaluated_on') DESC, json_extract(e.data, '$.created_at') DESC
     LIMIT 1;
    DELETE FROM stats_evaluations_stale WHERE matter_id = NEW.matter_id;
END;

CREATE TRIGGER stats_evaluations_insert AFTER INSERT ON records
WHEN NEW.entity = 'matter_evaluation' BEGIN
    INSERT OR IGNORE INTO stats_evaluations_stale VALUES (json_extract(NEW.data, '$.matter_id'));
END;
CREATE TRIGGER stats_evaluations_update AFTER UPDATE ON records
WHEN NEW.entity = 'matter_evaluation' OR OLD.entity = 'matter_evaluation' BEGIN
    INSERT OR IGNORE INTO stats_evaluations_stale
    SELECT json_extract(OLD.data, '$.matter_id') WHERE OLD.entity = 'matter_evaluation';
    INSERT OR IGNORE INTO stats_evaluations_stale
    SELECT json_extract(NEW.data, '$.matter_id') WHERE NEW.entity = 'matter_evaluation';
END;
CREATE TRIGGER stats_evaluations_delete AFTER DELETE ON records
WHEN OLD.entity = 'matter_evaluation' BEGIN
    INSERT OR IGNORE INTO stats_evaluations_stale VALUES (json_extract(OLD.data, '$.matter_id'));
END;

INSERT OR IGNORE INTO stats_evaluations_stale
SELECT DISTINCT json_extract(data, '$.matter_id') FROM records
 WHERE entity = 'matter_evaluation' AND json_extract(data, '$.matter_id') IS NOT NULL;
