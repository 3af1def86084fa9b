-- Issue 21: the pages a registration writes (examples/search_profile `btrees`, docs/performance.md).
--
-- The change log's index led with the record's kind: a registration's four entries (visitor,
-- visit, link, matter) went to four places in it, each a leaf of its own and, as those places
-- fill, a rebalance of their neighbours (6.3 pages a registration on a 30,000-visit store).
-- Led by the record's id, the visit's, the link's and the matter's ids — time-ordered, made in
-- the same millisecond — share one leaf. Every lookup names both columns.
DROP INDEX change_log_entity;
CREATE INDEX change_log_entity ON change_log(entity_id, entity);

-- A registration inserts its link with its person (visits.rs), so the link's person is set only
-- where the insert left it unset (a pulled link): the update moved the link's person index
-- entry from the unset range to the person's, two leaves apart, and made visit_people drop
-- and insert its entry again.
DROP TRIGGER visit_visitors_stats;
CREATE TRIGGER visit_visitors_stats AFTER INSERT ON visit_visitors BEGIN
    UPDATE visit_visitors
       SET person_id = coalesce((SELECT merged_into FROM visitors WHERE id = NEW.visitor_id), NEW.visitor_id)
     WHERE visit_id = NEW.visit_id AND visitor_id = NEW.visitor_id
       AND person_id IS NOT coalesce((SELECT merged_into FROM visitors WHERE id = NEW.visitor_id), NEW.visitor_id);
    UPDATE visitors SET
        visit_count = visit_count + 1,
        last_visit_at = max(coalesce(last_visit_at, ''), (SELECT visited_at FROM visits WHERE id = NEW.visit_id))
    WHERE id = coalesce((SELECT merged_into FROM visitors WHERE id = NEW.visitor_id), NEW.visitor_id);
END;
