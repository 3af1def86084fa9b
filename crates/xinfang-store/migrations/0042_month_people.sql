-- Issue 21: the distinct visitors of a period came from its whole range of visit_people — a
-- year at a million visitors is a million index entries (≈ 100 MB of pages) read into the
-- cache kept for search at every call. The people of a month that has ended are kept here,
-- once per hall and once for the whole store ('*'), as the statistics or the keeper of
-- figures first count them; a year is then twelve rows. Any link written or dropped in a month
-- drops that month's sets, so a kept set is always the month's rows.
CREATE TABLE stats_month_people (
    month  TEXT NOT NULL,   -- 'YYYY-MM'
    scope  TEXT NOT NULL,   -- a hall's code, or '*' for every hall the store holds
    people BLOB NOT NULL,   -- the persons that are UUIDs: 16 bytes each, big-endian, ascending
    others TEXT NOT NULL,   -- the other persons (older ids), a JSON array
    PRIMARY KEY (month, scope)
) STRICT;

CREATE TRIGGER stats_month_people_link_insert AFTER INSERT ON visit_people BEGIN
    DELETE FROM stats_month_people
     WHERE month = substr(NEW.visit_date, 1, 7) AND scope IN (NEW.hall_code, '*');
END;
CREATE TRIGGER stats_month_people_link_update AFTER UPDATE ON visit_people BEGIN
    DELETE FROM stats_month_people
     WHERE month = substr(OLD.visit_date, 1, 7) AND scope IN (OLD.hall_code, '*');
    DELETE FROM stats_month_people
     WHERE month = substr(NEW.visit_date, 1, 7) AND scope IN (NEW.hall_code, '*');
END;
CREATE TRIGGER stats_month_people_link_delete AFTER DELETE ON visit_people BEGIN
    DELETE FROM stats_month_people
     WHERE month = substr(OLD.visit_date, 1, 7) AND scope IN (OLD.hall_code, '*');
END;
