-- The facts of a matter written only where they changed (as SQLite's 0018, which says why):
-- every push of a matter deleted its facts and limits and inserted them again, and each of
-- those writes dropped the kept figures of the days they count on. The facts and the limits
-- are now upserted where they differ, a limit no longer in the state is deleted, and the facts
-- of a matter deleted (or without its day received) are deleted. A state listing one kind of
-- limit twice keeps the last, as SQLite does (an upsert may not touch a row twice).
CREATE OR REPLACE FUNCTION records_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    st jsonb;
    limits jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM stats_matters WHERE matter_id = OLD.entity_id;
        DELETE FROM stats_deadlines WHERE matter_id = OLD.entity_id;
        RETURN NULL;
    END IF;
    IF NEW.deleted_hlc IS NOT NULL OR NEW.data->>'received_on' IS NULL THEN
        DELETE FROM stats_matters WHERE matter_id = NEW.entity_id;
        DELETE FROM stats_deadlines WHERE matter_id = NEW.entity_id;
        RETURN NULL;
    END IF;
    st := CASE jsonb_typeof(NEW.data->'state')
        WHEN 'string' THEN json_or_null(NEW.data->>'state')
        WHEN 'object' THEN NEW.data->'state'
    END;
    IF jsonb_typeof(st) IS DISTINCT FROM 'object' THEN
        st := NULL;
    END IF;
    INSERT INTO stats_matters AS m VALUES (
        NEW.entity_id, NEW.hall_code, NEW.data->>'received_on', (st IS NOT NULL)::int,
        st #>> '{opinion,at}', st #>> '{transfer,kind}', st #>> '{transfer,at}',
        st ->> 'accepted_on', st #>> '{not_accepted,at}', st #>> '{legal_route,at}',
        NEW.data->>'legal_route')
    ON CONFLICT (matter_id) DO UPDATE SET hall_code = excluded.hall_code,
        received_on = excluded.received_on, has_state = excluded.has_state,
        concluded_on = excluded.concluded_on, transfer_kind = excluded.transfer_kind,
        transfer_at = excluded.transfer_at, accepted_on = excluded.accepted_on,
        not_accepted_on = excluded.not_accepted_on, legal_route_on = excluded.legal_route_on,
        legal_route = excluded.legal_route
    WHERE (m.hall_code, m.received_on, m.has_state, m.concluded_on, m.transfer_kind,
           m.transfer_at, m.accepted_on, m.not_accepted_on, m.legal_route_on, m.legal_route)
          IS DISTINCT FROM
          (excluded.hall_code, excluded.received_on, excluded.has_state, excluded.concluded_on,
           excluded.transfer_kind, excluded.transfer_at, excluded.accepted_on,
           excluded.not_accepted_on, excluded.legal_route_on, excluded.legal_route);
    limits := CASE WHEN jsonb_typeof(st->'deadlines') = 'array' THEN st->'deadlines' ELSE '[]' END;
    DELETE FROM stats_deadlines
     WHERE matter_id = NEW.entity_id
       AND kind NOT IN (SELECT d->>'kind' FROM jsonb_array_elements(limits) d
                         WHERE d->>'kind' IS NOT NULL AND d->>'party' IS NOT NULL
                           AND d->>'due' IS NOT NULL);
    INSERT INTO stats_deadlines AS l
    SELECT DISTINCT ON (d->>'kind') NEW.entity_id, NEW.hall_code, d->>'kind', d->>'party',
           d->>'due', d->>'done_on', (coalesce(st->>'status', '') = 'closed')::int
      FROM jsonb_array_elements(limits) WITH ORDINALITY AS e(d, i)
     WHERE d->>'kind' IS NOT NULL AND d->>'party' IS NOT NULL AND d->>'due' IS NOT NULL
     ORDER BY d->>'kind', i DESC
    ON CONFLICT (matter_id, kind) DO UPDATE SET hall_code = excluded.hall_code,
        party = excluded.party, due = excluded.due, done_on = excluded.done_on,
        closed = excluded.closed
    WHERE (l.hall_code, l.party, l.due, l.done_on, l.closed)
          IS DISTINCT FROM
          (excluded.hall_code, excluded.party, excluded.due, excluded.done_on, excluded.closed);
    RETURN NULL;
END
$$;
