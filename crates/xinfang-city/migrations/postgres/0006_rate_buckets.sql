-- The request rate limits shared by every instance (as SQLite's 0014_rate_buckets.sql).
CREATE TABLE rate_buckets (
    key     TEXT PRIMARY KEY,
    tat_ms  BIGINT NOT NULL,
    at_ms   BIGINT NOT NULL,
    allowed BOOLEAN NOT NULL
);
CREATE INDEX rate_buckets_tat ON rate_buckets(tat_ms);
