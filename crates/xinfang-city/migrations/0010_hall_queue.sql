-- Issue 17: hall-wide queue numbers and the call screen. The last number issued per hall and
-- day (never reused: the row only grows), and the calls, so a restarted server shows today's
-- screen again. A call keeps only a number, a room and a time: never a person.
CREATE TABLE hall_queue (
    hall_code   TEXT NOT NULL,
    day         TEXT NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (hall_code, day)
) STRICT, WITHOUT ROWID;

CREATE TABLE hall_calls (
    id          INTEGER PRIMARY KEY,
    hall_code   TEXT NOT NULL,
    day         TEXT NOT NULL,
    queue_label TEXT NOT NULL,
    room        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    called_at   TEXT NOT NULL
) STRICT;

CREATE INDEX hall_calls_by_day ON hall_calls(hall_code, day, id);
