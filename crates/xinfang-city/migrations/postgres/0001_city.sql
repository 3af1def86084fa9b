-- The city server's PostgreSQL store: the same tables as the SQLite store (migrations/sqlite,
-- all of its versions up to 0009 at once), in PostgreSQL's types. Read by the PostgreSQL
-- backend only (src/storage/postgres.rs); docs/sync.md says what each table is for.

-- A JSON value as an integer the way SQLite's json_extract reads it: true 1, false 0, a number
-- itself, anything else NULL. The statistics count flags desks write either way.
CREATE FUNCTION jint(v jsonb) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(v)
        WHEN 'boolean' THEN CASE WHEN v = 'true'::jsonb THEN 1 ELSE 0 END
        WHEN 'number' THEN trunc((v #>> '{}')::numeric)::bigint
    END
$$;

CREATE TABLE halls (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    hall_code  TEXT NOT NULL REFERENCES halls(code),
    created_at TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    TEXT,
    used_by    TEXT
);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    hall_code     TEXT NOT NULL REFERENCES halls(code),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT,
    reenrol_until BIGINT
);
CREATE INDEX devices_hall ON devices(hall_code);

CREATE TABLE admin_tokens (
    token_hash TEXT PRIMARY KEY,
    label      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at BIGINT,
    revoked_at TEXT
);

-- server_seq comes from the sequence while the writer holds the city's write lock (an advisory
-- lock held to commit, docs/sync.md "Server sequence"): numbers become visible in order.
CREATE SEQUENCE changes_server_seq;
CREATE TABLE changes (
    server_seq BIGINT PRIMARY KEY,
    device_id  TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    hall_code  TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL,
    fields     TEXT NOT NULL,
    hlc        BIGINT NOT NULL,
    changed_at TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX changes_hall_entity ON changes(hall_code, entity, server_seq);

CREATE TABLE records (
    entity         TEXT NOT NULL,
    entity_id      TEXT NOT NULL,
    hall_code      TEXT NOT NULL,
    data           JSONB NOT NULL,
    versions       TEXT NOT NULL,
    base_hlc       BIGINT NOT NULL,
    base_device    TEXT NOT NULL,
    deleted_hlc    BIGINT,
    deleted_device TEXT,
    lookup         TEXT,
    PRIMARY KEY (entity, entity_id)
);
CREATE INDEX records_lookup ON records(entity, lookup) WHERE lookup IS NOT NULL;
CREATE INDEX records_hall ON records(entity, hall_code, entity_id);

CREATE TABLE audit_entries (
    device_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hall_code   TEXT NOT NULL,
    id          TEXT NOT NULL,
    at          TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);

-- Append-only, as on the desk and in the SQLite store.
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION append_only();

CREATE TABLE audit_breaks (
    device_id     TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    hall_code     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    attempts      BIGINT NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE quarantine (
    device_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    hall_code   TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL,
    fields      TEXT NOT NULL,
    hlc         BIGINT NOT NULL,
    changed_at  TEXT NOT NULL,
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE city_log (
    id        BIGSERIAL PRIMARY KEY,
    at        TEXT NOT NULL,
    action    TEXT NOT NULL,
    actor     TEXT NOT NULL,
    device_id TEXT,
    detail    TEXT NOT NULL
);
CREATE TRIGGER city_log_append_only BEFORE UPDATE OR DELETE ON city_log
    FOR EACH ROW EXECUTE FUNCTION append_only();

CREATE TABLE audit_heads (
    device_id     TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    hash          TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE hall_id_keys (
    hall_code  TEXT PRIMARY KEY,
    key        BYTEA NOT NULL CHECK (length(key) = 32),
    created_at TEXT NOT NULL
);

CREATE TABLE hall_roots (
    hall_code   TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    sign_public TEXT NOT NULL CHECK (length(sign_public) = 64),
    device_id   TEXT NOT NULL,
    pinned_at   TEXT NOT NULL,
    PRIMARY KEY (hall_code, staff_id)
);

-- Statistics (as SQLite's 0006): a period's rows are read through these indexes.
CREATE INDEX records_visit_day ON records((substr(data->>'visited_at', 1, 10)))
    WHERE entity = 'visit';
CREATE INDEX records_consultation_visit ON records((data->>'visit_id'))
    WHERE entity = 'consultation';
CREATE INDEX records_mediation_visit ON records((data->>'visit_id'))
    WHERE entity = 'mediation';
CREATE INDEX records_evaluation_matter ON records((data->>'matter_id'))
    WHERE entity = 'matter_evaluation';
CREATE INDEX records_publicity_day ON records((data->>'held_on'))
    WHERE entity = 'publicity_activity';

CREATE TABLE stats_matters (
    matter_id       TEXT PRIMARY KEY,
    hall_code       TEXT NOT NULL,
    received_on     TEXT NOT NULL,
    has_state       BIGINT NOT NULL,
    concluded_on    TEXT,
    transfer_kind   TEXT,
    transfer_at     TEXT,
    accepted_on     TEXT,
    not_accepted_on TEXT,
    legal_route_on  TEXT,
    legal_route     TEXT
);
CREATE INDEX stats_matters_received ON stats_matters(received_on);
CREATE INDEX stats_matters_concluded ON stats_matters(concluded_on);
CREATE INDEX stats_matters_registered ON stats_matters(received_on) WHERE has_state = 0;

CREATE TABLE stats_deadlines (
    matter_id TEXT NOT NULL,
    hall_code TEXT NOT NULL,
    kind      TEXT NOT NULL,
    party     TEXT NOT NULL,
    due       TEXT NOT NULL,
    done_on   TEXT,
    closed    BIGINT NOT NULL,
    PRIMARY KEY (matter_id, kind)
);
CREATE INDEX stats_deadlines_done ON stats_deadlines(done_on);
CREATE INDEX stats_deadlines_open ON stats_deadlines(due)
    WHERE done_on IS NULL AND party = 'authority';

-- A matter's `state` is a JSON text inside its data (as the desks write it); one that is not
-- JSON gives no facts. SQLite's json_valid, here.
CREATE FUNCTION json_or_null(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN t::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- The facts of a matter's state the statistics select by, kept by trigger whoever writes the
-- record (as SQLite's records_stats_* triggers).
CREATE FUNCTION records_stats() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    st jsonb;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM stats_matters WHERE matter_id = OLD.entity_id;
        DELETE FROM stats_deadlines WHERE matter_id = OLD.entity_id;
    END IF;
    IF TG_OP = 'DELETE' OR NEW.deleted_hlc IS NOT NULL OR NEW.data->>'received_on' IS NULL THEN
        RETURN NULL;
    END IF;
    st := CASE jsonb_typeof(NEW.data->'state')
        WHEN 'string' THEN json_or_null(NEW.data->>'state')
        WHEN 'object' THEN NEW.data->'state'
    END;
    IF jsonb_typeof(st) IS DISTINCT FROM 'object' THEN
        st := NULL;
    END IF;
    INSERT INTO stats_matters VALUES (
        NEW.entity_id, NEW.hall_code, NEW.data->>'received_on', (st IS NOT NULL)::int,
        st #>> '{opinion,at}', st #>> '{transfer,kind}', st #>> '{transfer,at}',
        st ->> 'accepted_on', st #>> '{not_accepted,at}', st #>> '{legal_route,at}',
        NEW.data->>'legal_route')
    ON CONFLICT (matter_id) DO UPDATE SET hall_code = excluded.hall_code,
        received_on = excluded.received_on, has_state = excluded.has_state,
        concluded_on = excluded.concluded_on, transfer_kind = excluded.transfer_kind,
        transfer_at = excluded.transfer_at, accepted_on = excluded.accepted_on,
        not_accepted_on = excluded.not_accepted_on, legal_route_on = excluded.legal_route_on,
        legal_route = excluded.legal_route;
    IF jsonb_typeof(st->'deadlines') = 'array' THEN
        INSERT INTO stats_deadlines
        SELECT NEW.entity_id, NEW.hall_code, d->>'kind', d->>'party', d->>'due', d->>'done_on',
               (coalesce(st->>'status', '') = 'closed')::int
          FROM jsonb_array_elements(st->'deadlines') d
         WHERE d->>'kind' IS NOT NULL AND d->>'party' IS NOT NULL AND d->>'due' IS NOT NULL
        ON CONFLICT (matter_id, kind) DO UPDATE SET hall_code = excluded.hall_code,
            party = excluded.party, due = excluded.due, done_on = excluded.done_on,
            closed = excluded.closed;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER records_stats_write AFTER INSERT OR UPDATE ON records
    FOR EACH ROW WHEN (NEW.entity = 'matter') EXECUTE FUNCTION records_stats();
CREATE TRIGGER records_stats_delete AFTER DELETE ON records
    FOR EACH ROW WHEN (OLD.entity = 'matter') EXECUTE FUNCTION records_stats();
