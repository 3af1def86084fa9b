-- Issue 17: hall-wide queue numbers and the call screen (as SQLite's 0010_hall_queue.sql).
-- The counter row is updated in place, so its row lock makes instances issue numbers one
-- after the other.
CREATE TABLE hall_queue (
    hall_code   TEXT NOT NULL,
    day         TEXT NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (hall_code, day)
);

CREATE TABLE hall_calls (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hall_code   TEXT NOT NULL,
    day         TEXT NOT NULL,
    queue_label TEXT NOT NULL,
    room        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    called_at   TEXT NOT NULL
);

CREATE INDEX hall_calls_by_day ON hall_calls(hall_code, day, id);
