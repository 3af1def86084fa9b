-- The request rate limits (enrolment, console login), kept in the database so that every
-- server instance on it counts against one allowance (docs/security.md "Rate limits"). One row
-- per bucket key: its GCRA theoretical arrival time in milliseconds and the latest time a
-- take saw (a clock stepping back does not count as time going backwards); a row whose time has
-- passed is a full bucket, the same as no row, and is pruned.
CREATE TABLE rate_buckets (
    key     TEXT PRIMARY KEY,
    tat_ms  INTEGER NOT NULL,
    at_ms   INTEGER NOT NULL,
    allowed INTEGER NOT NULL
);
CREATE INDEX rate_buckets_tat ON rate_buckets(tat_ms);
