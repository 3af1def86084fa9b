-- The counts of the administrator's list of halls, kept per hall (as SQLite's 0017, which says
-- why). Statement triggers with transition tables: a push writes its records and changes in a
-- few statements, so a hall's row is updated a few times per push, not once per row (each
-- update of a row is a new version of it until the transaction ends).
CREATE TABLE hall_counts (
    hall_code TEXT NOT NULL,
    what      TEXT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (hall_code, what)
);

INSERT INTO hall_counts(hall_code, what, n)
SELECT hall_code, entity, count(*) FROM records
 WHERE deleted_hlc IS NULL AND entity IN ('visitor', 'visit', 'matter')
 GROUP BY hall_code, entity;
INSERT INTO hall_counts(hall_code, what, n)
SELECT hall_code, 'change', count(*) FROM changes GROUP BY hall_code;

CREATE FUNCTION hall_counts_add(hall text, counted text, d bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO hall_counts(hall_code, what, n) VALUES (hall, counted, d)
    ON CONFLICT (hall_code, what) DO UPDATE SET n = hall_counts.n + excluded.n;
$$;

-- Records not deleted, of the counted kinds: +1 inserted, -1 deleted, ±1 soft-deleted or back.
CREATE FUNCTION hall_counts_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM hall_counts_add(hall_code, entity, count(*)) FROM new_rows
          WHERE deleted_hlc IS NULL AND entity IN ('visitor', 'visit', 'matter')
          GROUP BY hall_code, entity;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM hall_counts_add(hall_code, entity, -count(*)) FROM old_rows
          WHERE deleted_hlc IS NULL AND entity IN ('visitor', 'visit', 'matter')
          GROUP BY hall_code, entity;
    ELSE
        PERFORM hall_counts_add(hall_code, entity, sum(d)::bigint) FROM (
            SELECT hall_code, entity, 1 AS d FROM new_rows WHERE deleted_hlc IS NULL
            UNION ALL
            SELECT hall_code, entity, -1 FROM old_rows WHERE deleted_hlc IS NULL) rows
          WHERE entity IN ('visitor', 'visit', 'matter')
          GROUP BY hall_code, entity HAVING sum(d) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER hall_counts_records_insert AFTER INSERT ON records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hall_counts_records();
CREATE TRIGGER hall_counts_records_update AFTER UPDATE ON records
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hall_counts_records();
CREATE TRIGGER hall_counts_records_delete AFTER DELETE ON records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hall_counts_records();

CREATE FUNCTION hall_counts_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM hall_counts_add(hall_code, 'change', count(*)) FROM new_rows GROUP BY hall_code;
    ELSE
        PERFORM hall_counts_add(hall_code, 'change', -count(*)) FROM old_rows GROUP BY hall_code;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER hall_counts_changes_insert AFTER INSERT ON changes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hall_counts_changes();
CREATE TRIGGER hall_counts_changes_delete AFTER DELETE ON changes
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hall_counts_changes();
