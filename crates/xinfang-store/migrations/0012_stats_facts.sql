-- Statistics at scale (issue 21), second step: see 0010_stats.sql.

-- The facts of a matter's state that the statistics select and count by (concluded, disposed
-- of), in columns: reading them from the state's JSON cost a parse per matter. Kept by
-- triggers whoever writes the state, like matter_deadlines.
CREATE TABLE matter_stats (
    matter_id       TEXT PRIMARY KEY REFERENCES matters(id),
    concluded_on    TEXT,
    transfer_kind   TEXT,
    transfer_at     TEXT,
    accepted_on     TEXT,
    not_accepted_on TEXT,
    legal_route_on  TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX matter_stats_concluded ON matter_stats(concluded_on) WHERE concluded_on IS NOT NULL;

CREATE TRIGGER matters_stats_insert AFTER INSERT ON matters WHEN NEW.state IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO matter_stats
    VALUES (NEW.id, json_extract(NEW.state, '$.opinion.at'), json_extract(NEW.state, '$.transfer.kind'),
            json_extract(NEW.state, '$.transfer.at'), json_extract(NEW.state, '$.accepted_on'),
            json_extract(NEW.state, '$.not_accepted.at'), json_extract(NEW.state, '$.legal_route.at'));
END;
CREATE TRIGGER matters_stats_update AFTER UPDATE OF state ON matters
BEGIN
    DELETE FROM matter_stats WHERE matter_id = NEW.id;
    INSERT INTO matter_stats
    SELECT NEW.id, json_extract(NEW.state, '$.opinion.at'), json_extract(NEW.state, '$.transfer.kind'),
           json_extract(NEW.state, '$.transfer.at'), json_extract(NEW.state, '$.accepted_on'),
           json_extract(NEW.state, '$.not_accepted.at'), json_extract(NEW.state, '$.legal_route.at')
     WHERE NEW.state IS NOT NULL;
END;
INSERT INTO matter_stats
SELECT id, json_extract(state, '$.opinion.at'), json_extract(state, '$.transfer.kind'),
       json_extract(state, '$.transfer.at'), json_extract(state, '$.accepted_on'),
       json_extract(state, '$.not_accepted.at'), json_extract(state, '$.legal_route.at')
  FROM matters WHERE state IS NOT NULL;
