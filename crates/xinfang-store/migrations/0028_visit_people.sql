-- Issue 21: the distinct visitors of a period (来访人数, a person merged from two records counted
-- once) cannot be added up from days, so a year's were counted from a year's visit links, each
-- a seek by visit into visit_visitors (0.7 s at 900,000 visits, and most of the page cache).
-- Who came on which day, kept here by triggers in the order the count reads it: a period is one
-- range of this narrow index.
CREATE TABLE visit_people (
    visit_date TEXT NOT NULL,
    hall_code  TEXT NOT NULL,
    person     TEXT NOT NULL,   -- coalesce(person_id, visitor_id) of the visit's link
    visit_id   TEXT NOT NULL,
    PRIMARY KEY (visit_date, hall_code, person, visit_id)
) STRICT, WITHOUT ROWID;
INSERT INTO visit_people
SELECT x.visit_date, x.hall_code, coalesce(vv.person_id, vv.visitor_id), vv.visit_id
  FROM visit_visitors vv JOIN visits x ON x.id = vv.visit_id
 WHERE true
    ON CONFLICT DO NOTHING;

-- A link: its current row is read (another trigger of the insert sets its person_id, in an
-- order SQLite does not promise), so whichever runs first, the last one leaves the right entry.
CREATE TRIGGER visit_people_link_insert AFTER INSERT ON visit_visitors BEGIN
    INSERT OR IGNORE INTO visit_people
    SELECT x.visit_date, x.hall_code, coalesce(vv.person_id, vv.visitor_id), vv.visit_id
      FROM visit_visitors vv JOIN visits x ON x.id = vv.visit_id
     WHERE vv.visit_id = NEW.visit_id AND vv.visitor_id = NEW.visitor_id;
END;
CREATE TRIGGER visit_people_link_update AFTER UPDATE ON visit_visitors BEGIN
    DELETE FROM visit_people
     WHERE visit_date IN (SELECT visit_date FROM visits WHERE id = OLD.visit_id)
       AND visit_id = OLD.visit_id AND person = coalesce(OLD.person_id, OLD.visitor_id)
       -- Another link of the visit under the same person keeps the entry.
       AND NOT EXISTS (SELECT 1 FROM visit_visitors vv WHERE vv.visit_id = OLD.visit_id
                          AND coalesce(vv.person_id, vv.visitor_id) = coalesce(OLD.person_id, OLD.visitor_id));
    INSERT OR IGNORE INTO visit_people
    SELECT x.visit_date, x.hall_code, coalesce(NEW.person_id, NEW.visitor_id), NEW.visit_id
      FROM visits x WHERE x.id = NEW.visit_id;
END;
CREATE TRIGGER visit_people_link_delete AFTER DELETE ON visit_visitors BEGIN
    DELETE FROM visit_people
     WHERE visit_date IN (SELECT visit_date FROM visits WHERE id = OLD.visit_id)
       AND visit_id = OLD.visit_id AND person = coalesce(OLD.person_id, OLD.visitor_id)
       AND NOT EXISTS (SELECT 1 FROM visit_visitors vv WHERE vv.visit_id = OLD.visit_id
                          AND coalesce(vv.person_id, vv.visitor_id) = coalesce(OLD.person_id, OLD.visitor_id));
END;
-- A visit whose links came first (a pull applies records in the order they arrive), its people;
-- a visit moved to another day or hall takes its people along; a visit removed, its people.
CREATE TRIGGER visit_people_visit_insert AFTER INSERT ON visits BEGIN
    INSERT OR IGNORE INTO visit_people
    SELECT NEW.visit_date, NEW.hall_code, coalesce(vv.person_id, vv.visitor_id), vv.visit_id
      FROM visit_visitors vv WHERE vv.visit_id = NEW.id;
END;
CREATE TRIGGER visit_people_visit_update AFTER UPDATE OF visit_date, hall_code ON visits BEGIN
    DELETE FROM visit_people WHERE visit_date = OLD.visit_date AND visit_id = OLD.id;
    INSERT OR IGNORE INTO visit_people
    SELECT NEW.visit_date, NEW.hall_code, coalesce(vv.person_id, vv.visitor_id), vv.visit_id
      FROM visit_visitors vv WHERE vv.visit_id = NEW.id;
END;
CREATE TRIGGER visit_people_visit_delete AFTER DELETE ON visits BEGIN
    DELETE FROM visit_people WHERE visit_date = OLD.visit_date AND visit_id = OLD.id;
END;
