-- Issue 15, item 9: printed notices (names, appeals, 检举控告 too) are kept here, in the
-- encrypted database, not as PDF files in the data dir. A file is written only to print and is
-- removed afterwards (xinfang-app). Local to this desk: no change-log rows, never synced.
CREATE TABLE notices (
    file_name  TEXT PRIMARY KEY,   -- e.g. 受理告知书-1a2b3c4d-20261202-093000.pdf
    matter_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    pdf        BLOB NOT NULL,
    printed_by TEXT NOT NULL,      -- staff id
    printed_at TEXT NOT NULL
) STRICT;
CREATE INDEX notices_matter ON notices(matter_id);
