-- Each matter's evaluations kept in one narrow row, as SQLite's 0020 (which says why): the
-- first day, the latest day and that evaluation's result (the latest day, then the latest
-- written). Only a matter evaluated both before and after the day the figures are taken still
-- reads its records.
CREATE TABLE stats_evaluations (
    matter_id          TEXT PRIMARY KEY,
    first_evaluated_on TEXT NOT NULL,
    last_evaluated_on  TEXT NOT NULL,
    last_evaluation    TEXT
);

CREATE FUNCTION stats_evaluations_keep(m TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM stats_evaluations WHERE matter_id = m;
    INSERT INTO stats_evaluations(matter_id, first_evaluated_on, last_evaluated_on, last_evaluation)
    SELECT m,
           (SELECT min(f.data->>'evaluated_on') FROM records f
             WHERE f.entity = 'matter_evaluation' AND f.data->>'matter_id' = m
               AND f.deleted_hlc IS NULL),
           e.data->>'evaluated_on', e.data->>'result'
      FROM records e
     WHERE e.entity = 'matter_evaluation' AND e.data->>'matter_id' = m
       AND e.deleted_hlc IS NULL AND e.data->>'evaluated_on' IS NOT NULL
     ORDER BY e.data->>'evaluated_on' DESC, e.data->>'created_at' DESC
     LIMIT 1;
END
$$;

CREATE FUNCTION records_stats_evaluations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.data->>'matter_id' IS NOT NULL THEN
        PERFORM stats_evaluations_keep(OLD.data->>'matter_id');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.data->>'matter_id' IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.data->>'matter_id' IS DISTINCT FROM OLD.data->>'matter_id') THEN
        PERFORM stats_evaluations_keep(NEW.data->>'matter_id');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER records_stats_evaluations_write AFTER INSERT OR UPDATE ON records
    FOR EACH ROW WHEN (NEW.entity = 'matter_evaluation')
    EXECUTE FUNCTION records_stats_evaluations();
CREATE TRIGGER records_stats_evaluations_delete AFTER DELETE ON records
    FOR EACH ROW WHEN (OLD.entity = 'matter_evaluation')
    EXECUTE FUNCTION records_stats_evaluations();

SELECT stats_evaluations_keep(m)
  FROM (SELECT DISTINCT data->>'matter_id' AS m FROM records
         WHERE entity = 'matter_evaluation' AND data->>'matter_id' IS NOT NULL) AS matters;
