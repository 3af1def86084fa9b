-- The days whose figures a write dropped are listed as due and added up in the background (as
-- SQLite's 0016, which says why). Keyed by hall: two halls' pushes run at once (each holds its
-- hall's lock) and would otherwise wait for each other's uncommitted row of the same day, or
-- deadlock taking two days in opposite orders.
CREATE TABLE stats_days_due (
    day       TEXT NOT NULL,
    hall_code TEXT NOT NULL,
    PRIMARY KEY (day, hall_code)
);

-- "These days' rows changed": their kept figures go, and they are due.
CREATE FUNCTION stats_days_drop(days text[], hall text) RETURNS void LANGUAGE sql AS $$
    DELETE FROM stats_days WHERE day = ANY(days);
    INSERT INTO stats_days_due(day, hall_code)
    SELECT DISTINCT d, hall FROM unnest(days) d WHERE d IS NOT NULL
    ON CONFLICT DO NOTHING;
$$;

CREATE OR REPLACE FUNCTION records_stats_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM stats_days_drop(ARRAY(SELECT stats_days_of(OLD)), OLD.hall_code);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM stats_days_drop(ARRAY(SELECT stats_days_of(NEW)), NEW.hall_code);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION facts_stats_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'stats_matters' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM stats_days_drop(ARRAY[OLD.received_on, OLD.concluded_on], OLD.hall_code);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM stats_days_drop(ARRAY[NEW.received_on, NEW.concluded_on], NEW.hall_code);
        END IF;
    ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM stats_days_drop(ARRAY[OLD.done_on], OLD.hall_code);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM stats_days_drop(ARRAY[NEW.done_on], NEW.hall_code);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- The days a city upgraded to this version holds rows of but has not kept are due now.
INSERT INTO stats_days_due(day, hall_code)
SELECT d, hall_code FROM (
    SELECT substr(data->>'visited_at', 1, 10) AS d, hall_code FROM records
     WHERE entity = 'visit' AND deleted_hlc IS NULL
    UNION SELECT received_on, hall_code FROM stats_matters
    UNION SELECT concluded_on, hall_code FROM stats_matters
    UNION SELECT done_on, hall_code FROM stats_deadlines) days
 WHERE d IS NOT NULL AND d NOT IN (SELECT day FROM stats_days)
ON CONFLICT DO NOTHING;
