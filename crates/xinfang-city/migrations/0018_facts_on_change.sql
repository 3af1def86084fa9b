-- Issue 21: every push of a matter (each step a desk records changes its record) deleted the
-- matter's statistics facts and limits and inserted them again, and each of those writes
-- dropped the kept figures of the days they count on (the day received, concluded, a limit
-- done), which the server then added up again from their rows — even for a step that moves no
-- figure. The facts are now upserted: a row is written only where it differs, a limit no
-- longer in the state is deleted, and the facts of a matter deleted (or without its day
-- received) are deleted. What the tables hold afterwards is the same as before (the desk's
-- migration 0037 did the same for its own copies).

-- The facts of a matter the statistics read, as 0006 selects them. A replaced row is now an
-- update, whose trigger sees the old row: the `BEFORE INSERT` triggers 0016 needed for
-- `INSERT OR REPLACE` would fire on every upsert too.
DROP TRIGGER stats_days_facts_replace;
DROP TRIGGER stats_days_limit_replace;
DROP TRIGGER records_stats_insert;
DROP TRIGGER records_stats_update;

CREATE VIEW stats_matter_facts AS
SELECT entity_id AS matter_id, hall_code, received_on, state IS NOT NULL AS has_state,
       json_extract(state, '$.opinion.at') AS concluded_on,
       json_extract(state, '$.transfer.kind') AS transfer_kind,
       json_extract(state, '$.transfer.at') AS transfer_at,
       json_extract(state, '$.accepted_on') AS accepted_on,
       json_extract(state, '$.not_accepted.at') AS not_accepted_on,
       json_extract(state, '$.legal_route.at') AS legal_route_on, legal_route
  FROM stats_matter_source
 WHERE deleted_hlc IS NULL AND received_on IS NOT NULL;

CREATE VIEW stats_deadline_facts AS
SELECT s.entity_id AS matter_id, s.hall_code, json_extract(d.value, '$.kind') AS kind,
       json_extract(d.value, '$.party') AS party, json_extract(d.value, '$.due') AS due,
       json_extract(d.value, '$.done_on') AS done_on,
       coalesce(json_extract(s.state, '$.status') = 'closed', 0) AS closed
  FROM stats_matter_source s, json_each(s.state, '$.deadlines') d
 WHERE s.deleted_hlc IS NULL AND s.received_on IS NOT NULL
   AND json_extract(d.value, '$.kind') IS NOT NULL AND json_extract(d.value, '$.party') IS NOT NULL
   AND json_extract(d.value, '$.due') IS NOT NULL;

CREATE TRIGGER records_stats_insert AFTER INSERT ON records WHEN NEW.entity = 'matter'
BEGIN
    INSERT INTO stats_matters
    SELECT * FROM stats_matter_facts WHERE matter_id = NEW.entity_id
    ON CONFLICT (matter_id) DO UPDATE
       SET hall_code = excluded.hall_code, received_on = excluded.received_on,
           has_state = excluded.has_state, concluded_on = excluded.concluded_on,
           transfer_kind = excluded.transfer_kind, transfer_at = excluded.transfer_at,
           accepted_on = excluded.accepted_on, not_accepted_on = excluded.not_accepted_on,
           legal_route_on = excluded.legal_route_on, legal_route = excluded.legal_route;
    INSERT INTO stats_deadlines
    SELECT * FROM stats_deadline_facts WHERE matter_id = NEW.entity_id
    ON CONFLICT (matter_id, kind) DO UPDATE
       SET hall_code = excluded.hall_code, party = excluded.party, due = excluded.due,
           done_on = excluded.done_on, closed = excluded.closed;
END;

CREATE TRIGGER records_stats_update AFTER UPDATE ON records WHEN NEW.entity = 'matter'
BEGIN
    DELETE FROM stats_matters
     WHERE matter_id = NEW.entity_id
       AND NOT EXISTS (SELECT 1 FROM stats_matter_facts WHERE matter_id = NEW.entity_id);
    DELETE FROM stats_deadlines
     WHERE matter_id = NEW.entity_id
       AND kind NOT IN (SELECT kind FROM stats_deadline_facts WHERE matter_id = NEW.entity_id);
    INSERT INTO stats_matters
    SELECT * FROM stats_matter_facts WHERE matter_id = NEW.entity_id
    ON CONFLICT (matter_id) DO UPDATE
       SET hall_code = excluded.hall_code, received_on = excluded.received_on,
           has_state = excluded.has_state, concluded_on = excluded.concluded_on,
           transfer_kind = excluded.transfer_kind, transfer_at = excluded.transfer_at,
           accepted_on = excluded.accepted_on, not_accepted_on = excluded.not_accepted_on,
           legal_route_on = excluded.legal_route_on, legal_route = excluded.legal_route
     WHERE stats_matters.hall_code IS NOT excluded.hall_code
        OR stats_matters.received_on IS NOT excluded.received_on
        OR stats_matters.has_state IS NOT excluded.has_state
        OR stats_matters.concluded_on IS NOT excluded.concluded_on
        OR stats_matters.transfer_kind IS NOT excluded.transfer_kind
        OR stats_matters.transfer_at IS NOT excluded.transfer_at
        OR stats_matters.accepted_on IS NOT excluded.accepted_on
        OR stats_matters.not_accepted_on IS NOT excluded.not_accepted_on
        OR stats_matters.legal_route_on IS NOT excluded.legal_route_on
        OR stats_matters.legal_route IS NOT excluded.legal_route;
    INSERT INTO stats_deadlines
    SELECT * FROM stats_deadline_facts WHERE matter_id = NEW.entity_id
    ON CONFLICT (matter_id, kind) DO UPDATE
       SET hall_code = excluded.hall_code, party = excluded.party, due = excluded.due,
           done_on = excluded.done_on, closed = excluded.closed
     WHERE stats_deadlines.hall_code IS NOT excluded.hall_code
        OR stats_deadlines.party IS NOT excluded.party
        OR stats_deadlines.due IS NOT excluded.due
        OR stats_deadlines.done_on IS NOT excluded.done_on
        OR stats_deadlines.closed IS NOT excluded.closed;
END;
