-- Issue 21, found on a store of 900,000 visits: three lookups read every visit.
-- The visits of a matter: a person's matters at registration (28 s), a matter's repeat visits.
CREATE INDEX visits_matter ON visits(matter_id);
-- What a login re-seals for the current readers (docs/security.md): the 检举控告 visits and the
-- visits of confidential matters, a few in a hundred (5 s at every login before).
CREATE INDEX visits_reports ON visits(id) WHERE appeal_kind = 'report';
CREATE INDEX matters_confidential ON matters(id) WHERE confidential = 1;

-- The statistics of a period (issue 21): a matter row is large (its folded state), so the
-- period's limits, conclusions and receptions reached hall and status through one page read
-- per matter (a year: 2.8 s for the limits alone at 900,000 visits). These indexes hold what
-- the statistics read, so those reads stay in the narrow index pages.
CREATE INDEX matters_facts ON matters(id, hall_code, status, received_on);
DROP INDEX matters_received;
CREATE INDEX matters_received ON matters(received_on, hall_code, legal_route, id);
DROP INDEX matter_evaluations_matter;
CREATE INDEX matter_evaluations_matter
    ON matter_evaluations(matter_id, evaluated_on, created_at, result);
