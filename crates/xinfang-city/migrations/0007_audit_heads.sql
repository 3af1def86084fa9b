-- Issue 15, item 8 (docs/sync.md "Audit entries"): the head (last sequence, hash) of its audit
-- chain that a device reported with each change push. An entry that arrives later must have the
-- hash its device reported for it: a desk that rewrites entries after reporting them is caught.
CREATE TABLE audit_heads (
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    hash          TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT, WITHOUT ROWID;
