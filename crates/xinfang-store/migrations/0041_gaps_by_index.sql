-- Issue 21: 有一录一's gaps of a period. The visits without a matter were found by reading
-- every visit row of the period (the date index held neither the visit's hall nor its
-- matter): a year's rows, 120 MB of pages at 300,000 visitors, into the cache kept for search.
-- With both in the date index the check reads only the index and the matters' keys; a visit
-- row is read only for a gap. Same columns first, so the lists by day keep their order.
DROP INDEX visits_date;
CREATE INDEX visits_date ON visits(visit_date, queue_no, hall_code, matter_id);

-- The consultations without advice (the validator refuses them; they come only from older
-- desks or by sync) were found through every visit of the period; this index holds only them.
CREATE INDEX consultations_without_advice ON consultations(visit_id) WHERE trim(advice) = '';
