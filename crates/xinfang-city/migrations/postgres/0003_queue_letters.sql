-- Issue 17: each desk's own letter for the queue numbers it issues offline (as SQLite's
-- 0011_queue_letters.sql).
CREATE TABLE queue_letters (
    hall_code TEXT NOT NULL,
    letter    TEXT NOT NULL,
    device_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (hall_code, letter)
);
