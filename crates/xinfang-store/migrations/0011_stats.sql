-- Statistics at scale (issue 21): every figure of a period is read through an index on the
-- period's days, never by loading every matter. See docs/performance.md.

-- Matters received in the period (their disposition, legal route, completeness).
CREATE INDEX matters_received ON matters(received_on);
-- Limits done in the period (及时受理率, 按期办结率); undone ones use matter_deadlines_open.
CREATE INDEX matter_deadlines_done ON matter_deadlines(done_on);

