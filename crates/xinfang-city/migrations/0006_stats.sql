-- Statistics at scale (issue 21): the city reads a period's rows through indexes, as the desk
-- does, and feeds them to the one statistics function (xinfang_core::tally). See
-- docs/performance.md and docs/sync.md.

-- Visits by their local day; consultations, mediations and evaluations by their visit/matter.
CREATE INDEX records_visit_day ON records(substr(json_extract(data, '$.visited_at'), 1, 10))
    WHERE entity = 'visit';
CREATE INDEX records_consultation_visit ON records(json_extract(data, '$.visit_id'))
    WHERE entity = 'consultation';
CREATE INDEX records_mediation_visit ON records(json_extract(data, '$.visit_id'))
    WHERE entity = 'mediation';
CREATE INDEX records_evaluation_matter ON records(json_extract(data, '$.matter_id'))
    WHERE entity = 'matter_evaluation';

-- The facts of each matter's state that the statistics select by (days received, concluded,
-- disposed of), and its limits: derived from records by the triggers below, whoever writes
-- the record; a state that is not JSON gives no facts (the matter counts as registered).
CREATE TABLE stats_matters (
    matter_id       TEXT PRIMARY KEY,
    hall_code       TEXT NOT NULL,
    received_on     TEXT NOT NULL,
    has_state       INTEGER NOT NULL,
    concluded_on    TEXT,
    transfer_kind   TEXT,
    transfer_at     TEXT,
    accepted_on     TEXT,
    not_accepted_on TEXT,
    legal_route_on  TEXT,
    legal_route     TEXT
) STRICT, WITHOUT ROWID;
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
    closed    INTEGER NOT NULL,
    PRIMARY KEY (matter_id, kind)
) STRICT, WITHOUT ROWID;
CREATE INDEX stats_deadlines_done ON stats_deadlines(done_on);
CREATE INDEX stats_deadlines_open ON stats_deadlines(due)
    WHERE done_on IS NULL AND party = 'authority';

CREATE VIEW stats_matter_source AS
SELECT entity_id, hall_code, deleted_hlc, json_extract(data, '$.received_on') AS received_on,
       json_extract(data, '$.legal_route') AS legal_route,
       CASE WHEN json_valid(json_extract(data, '$.state')) THEN json_extract(data, '$.state') END
         AS state
  FROM records WHERE entity = 'matter';

CREATE TRIGGER records_stats_insert AFTER INSERT ON records WHEN NEW.entity = 'matter'
BEGIN
    INSERT OR REPLACE INTO stats_matters
    SELECT entity_id, hall_code, received_on, state IS NOT NULL,
           json_extract(state, '$.opinion.at'), json_extract(state, '$.transfer.kind'),
           json_extract(state, '$.transfer.at'), json_extract(state, '$.accepted_on'),
           json_extract(state, '$.not_accepted.at'), json_extract(state, '$.legal_route.at'),
           legal_route
      FROM stats_matter_source
     WHERE entity_id = NEW.entity_id AND deleted_hlc IS NULL AND received_on IS NOT NULL;
    INSERT OR REPLACE INTO stats_deadlines
    SELECT s.entity_id, s.hall_code, json_extract(d.value, '$.kind'),
           json_extract(d.value, '$.party'), json_extract(d.value, '$.due'),
           json_extract(d.value, '$.done_on'), coalesce(json_extract(s.state, '$.status') = 'closed', 0)
      FROM stats_matter_source s, json_each(s.state, '$.deadlines') d
     WHERE s.entity_id = NEW.entity_id AND s.deleted_hlc IS NULL AND s.received_on IS NOT NULL
       AND json_extract(d.value, '$.kind') IS NOT NULL AND json_extract(d.value, '$.party') IS NOT NULL
       AND json_extract(d.value, '$.due') IS NOT NULL;
END;

CREATE TRIGGER records_stats_update AFTER UPDATE ON records WHEN NEW.entity = 'matter'
BEGIN
    DELETE FROM stats_matters WHERE matter_id = NEW.entity_id;
    DELETE FROM stats_deadlines WHERE matter_id = NEW.entity_id;
    INSERT OR REPLACE INTO stats_matters
    SELECT entity_id, hall_code, received_on, state IS NOT NULL,
           json_extract(state, '$.opinion.at'), json_extract(state, '$.transfer.kind'),
           json_extract(state, '$.transfer.at'), json_extract(state, '$.accepted_on'),
           json_extract(state, '$.not_accepted.at'), json_extract(state, '$.legal_route.at'),
           legal_route
      FROM stats_matter_source
     WHERE entity_id = NEW.entity_id AND deleted_hlc IS NULL AND received_on IS NOT NULL;
    INSERT OR REPLACE INTO stats_deadlines
    SELECT s.entity_id, s.hall_code, json_extract(d.value, '$.kind'),
           json_extract(d.value, '$.party'), json_extract(d.value, '$.due'),
           json_extract(d.value, '$.done_on'), coalesce(json_extract(s.state, '$.status') = 'closed', 0)
      FROM stats_matter_source s, json_each(s.state, '$.deadlines') d
     WHERE s.entity_id = NEW.entity_id AND s.deleted_hlc IS NULL AND s.received_on IS NOT NULL
       AND json_extract(d.value, '$.kind') IS NOT NULL AND json_extract(d.value, '$.party') IS NOT NULL
       AND json_extract(d.value, '$.due') IS NOT NULL;
END;

CREATE TRIGGER records_stats_delete AFTER DELETE ON records WHEN OLD.entity = 'matter'
BEGIN
    DELETE FROM stats_matters WHERE matter_id = OLD.entity_id;
    DELETE FROM stats_deadlines WHERE matter_id = OLD.entity_id;
END;

-- The records synced before this migration.
INSERT INTO stats_matters
SELECT entity_id, hall_code, received_on, state IS NOT NULL,
       json_extract(state, '$.opinion.at'), json_extract(state, '$.transfer.kind'),
       json_extract(state, '$.transfer.at'), json_extract(state, '$.accepted_on'),
       json_extract(state, '$.not_accepted.at'), json_extract(state, '$.legal_route.at'),
       legal_route
  FROM stats_matter_source WHERE deleted_hlc IS NULL AND received_on IS NOT NULL;
INSERT OR REPLACE INTO stats_deadlines
SELECT s.entity_id, s.hall_code, json_extract(d.value, '$.kind'),
       json_extract(d.value, '$.party'), json_extract(d.value, '$.due'),
       json_extract(d.value, '$.done_on'), coalesce(json_extract(s.state, '$.status') = 'closed', 0)
  FROM stats_matter_source s, json_each(s.state, '$.deadlines') d
 WHERE s.deleted_hlc IS NULL AND s.received_on IS NOT NULL
   AND json_extract(d.value, '$.kind') IS NOT NULL AND json_extract(d.value, '$.party') IS NOT NULL
   AND json_extract(d.value, '$.due') IS NOT NULL;
