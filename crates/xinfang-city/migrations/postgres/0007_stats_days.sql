-- The figures of each day, kept once added up (as SQLite's 0015, which says why); dropped by
-- the triggers below whenever a row a day's figures are made from is written.
CREATE TABLE stats_days (
    day             TEXT PRIMARY KEY,
    format          BIGINT NOT NULL,
    figures         TEXT NOT NULL,
    evaluated_until TEXT
);

-- The days a record's figures count on: a visit's own, a consultation's or mediation's visit's,
-- an evaluation's matter's day of conclusion.
CREATE FUNCTION stats_days_of(r records) RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT substr(r.data->>'visited_at', 1, 10) WHERE r.entity = 'visit'
    UNION ALL
    SELECT substr(v.data->>'visited_at', 1, 10) FROM records v
     WHERE r.entity IN ('consultation', 'mediation') AND v.entity = 'visit'
       AND v.entity_id = r.data->>'visit_id'
    UNION ALL
    SELECT s.concluded_on FROM stats_matters s
     WHERE r.entity = 'matter_evaluation' AND s.matter_id = r.data->>'matter_id'
$$;

CREATE FUNCTION records_stats_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM stats_days WHERE day IN (SELECT stats_days_of(OLD));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        DELETE FROM stats_days WHERE day IN (SELECT stats_days_of(NEW));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER records_stats_days_write AFTER INSERT OR UPDATE ON records
    FOR EACH ROW WHEN (NEW.entity IN ('visit', 'consultation', 'mediation', 'matter_evaluation'))
    EXECUTE FUNCTION records_stats_days();
CREATE TRIGGER records_stats_days_delete AFTER DELETE ON records
    FOR EACH ROW WHEN (OLD.entity IN ('visit', 'consultation', 'mediation', 'matter_evaluation'))
    EXECUTE FUNCTION records_stats_days();

-- A matter's facts count on the days it was received and concluded, a limit on the day done.
CREATE FUNCTION facts_stats_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'stats_matters' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            DELETE FROM stats_days WHERE day IN (OLD.received_on, OLD.concluded_on);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            DELETE FROM stats_days WHERE day IN (NEW.received_on, NEW.concluded_on);
        END IF;
    ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            DELETE FROM stats_days WHERE day = OLD.done_on;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            DELETE FROM stats_days WHERE day = NEW.done_on;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER stats_matters_days AFTER INSERT OR UPDATE OR DELETE ON stats_matters
    FOR EACH ROW EXECUTE FUNCTION facts_stats_days();
CREATE TRIGGER stats_deadlines_days AFTER INSERT OR UPDATE OR DELETE ON stats_deadlines
    FOR EACH ROW EXECUTE FUNCTION facts_stats_days();
