-- The lists of fields compaction keeps at a record's base version (`log_base.kept`), each
-- stored once: every visit, matter or step has the same list, and it was ≈ 40 % of the
-- compacted log (docs/performance.md "Compaction at scale"). `kept.s` names a row here;
-- rows written before keep their list in `kept.i`. Never deleted: a handful of rows.
CREATE TABLE log_field_sets (
    id     INTEGER PRIMARY KEY,
    fields TEXT NOT NULL UNIQUE             -- JSON array of field names, sorted
) STRICT;
