-- People: correct, merge, split (issue 13; docs/sync.md "People: correct, merge, split").
-- Merges, unmerges and visit moves are records of their own, synced like visits; who shows
-- under whom is derived on every replica from the whole set of them (xinfang_core::people),
-- so replicas converge whatever order they see merges, unmerges and visits in.

-- A merge: the merged record's visits show under the survivor. No foreign keys: a merge may
-- arrive before one of its people; the derivation waits for them.
CREATE TABLE person_merges (
    id          TEXT PRIMARY KEY,          -- UUIDv7
    survivor_id TEXT NOT NULL,
    merged_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    by_staff    TEXT NOT NULL,
    at          TEXT NOT NULL,
    hall_code   TEXT NOT NULL,
    hlc         INTEGER NOT NULL DEFAULT 0, -- orders merges the same way on every replica
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX person_merges_survivor ON person_merges(survivor_id);
CREATE INDEX person_merges_merged ON person_merges(merged_id);

-- An unmerge: undoes the merge it names (a merge is active while no unmerge names it).
CREATE TABLE person_unmerges (
    id          TEXT PRIMARY KEY,
    merge_id    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    by_staff    TEXT NOT NULL,
    at          TEXT NOT NULL,
    hall_code   TEXT NOT NULL,
    hlc         INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX person_unmerges_merge ON person_unmerges(merge_id);

-- A split moves a visit's link to a person (visit_id, from_visitor) under another person; the
-- last move of a link (hlc, id) stands.
CREATE TABLE visit_moves (
    id           TEXT PRIMARY KEY,
    visit_id     TEXT NOT NULL,
    from_visitor TEXT NOT NULL,
    to_visitor   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    by_staff     TEXT NOT NULL,
    at           TEXT NOT NULL,
    hall_code    TEXT NOT NULL,
    hlc          INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX visit_moves_link ON visit_moves(visit_id, from_visitor);

-- Derived here, never synced: the person a visitor record shows under (NULL: itself), and the
-- person a visit's link shows under (its record's person, or where a split moved it).
ALTER TABLE visitors ADD COLUMN merged_into TEXT;
ALTER TABLE visit_visitors ADD COLUMN person_id TEXT;
UPDATE visit_visitors SET person_id = visitor_id;
CREATE INDEX visit_visitors_person ON visit_visitors(person_id, visit_id);

-- A person's visit count and last visit count every visit shown under them. A link made
-- later (registration, a pulled visit of a merged record) goes under its record's person at
-- once; splits are applied by the store's derivation (people.rs).
DROP TRIGGER visit_visitors_stats;
CREATE TRIGGER visit_visitors_stats AFTER INSERT ON visit_visitors BEGIN
    UPDATE visit_visitors
       SET person_id = coalesce((SELECT merged_into FROM visitors WHERE id = NEW.visitor_id), NEW.visitor_id)
     WHERE visit_id = NEW.visit_id AND visitor_id = NEW.visitor_id;
    UPDATE visitors SET
        visit_count = visit_count + 1,
        last_visit_at = max(coalesce(last_visit_at, ''), (SELECT visited_at FROM visits WHERE id = NEW.visit_id))
    WHERE id = coalesce((SELECT merged_into FROM visitors WHERE id = NEW.visitor_id), NEW.visitor_id);
END;
