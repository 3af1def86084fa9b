-- Issue 21 (every screen fast at the benchmark scale): the 疑似重复人员 screen grouped every
-- visitor four times (same document; same name and birth date; same sound and birth date with
-- another name; same phone), each a sort of the whole table: 60 s at 1,000,000 visitors, with
-- the store held meanwhile. The keys two or more people share are now kept as they change, and
-- the screen reads only those keys' people, by index.
--
-- `a`, `b`, `c` by kind:
--   document    id_type, id_number, ''
--   name_birth  birth_date, pinyin_full, name
--   sound_birth birth_date, pinyin_full, ''    (shared by two or more names)
--   phone       the phone's digits, '', ''
CREATE TABLE people_dups (
    kind TEXT NOT NULL,
    a    TEXT NOT NULL,
    b    TEXT NOT NULL,
    c    TEXT NOT NULL,
    PRIMARY KEY (kind, a, b, c)
) STRICT, WITHOUT ROWID;

-- The people of a name and birth date, of a sound and birth date, of a phone: found by index
-- when a key is checked and when the screen lists a key's people.
CREATE INDEX visitors_birth_sound ON visitors(birth_date, pinyin_full, name)
    WHERE birth_date IS NOT NULL AND merged_into IS NULL;
CREATE INDEX visitors_phone_digits ON visitors(replace(phone, '-', ''))
    WHERE length(phone) >= 7 AND merged_into IS NULL;

-- A person's key fields as they were or are now, when they come (insert), go (delete, a merge)
-- or change: the one trigger below checks each of their keys again by counting its people, so
-- the keys and the rule of each kind are written once.
CREATE TABLE people_dups_stale (
    id_type     TEXT NOT NULL,
    id_number   TEXT NOT NULL,
    name        TEXT NOT NULL,
    birth_date  TEXT,
    pinyin_full TEXT NOT NULL,
    phone       TEXT
) STRICT;

CREATE TRIGGER people_dups_keep AFTER INSERT ON people_dups_stale BEGIN
    DELETE FROM people_dups
     WHERE kind = 'document' AND a = NEW.id_type AND b = NEW.id_number AND c = '';
    INSERT INTO people_dups(kind, a, b, c)
    SELECT 'document', NEW.id_type, NEW.id_number, ''
     WHERE (SELECT count(*) FROM (SELECT 1 FROM visitors
             WHERE id_number = NEW.id_number AND id_type = NEW.id_type AND merged_into IS NULL
             LIMIT 2)) > 1;
    DELETE FROM people_dups
     WHERE kind = 'name_birth' AND a = NEW.birth_date AND b = NEW.pinyin_full AND c = NEW.name;
    INSERT INTO people_dups(kind, a, b, c)
    SELECT 'name_birth', NEW.birth_date, NEW.pinyin_full, NEW.name
     WHERE NEW.birth_date IS NOT NULL
       AND (SELECT count(*) FROM (SELECT 1 FROM visitors
             WHERE birth_date = NEW.birth_date AND pinyin_full = NEW.pinyin_full
               AND name = NEW.name AND merged_into IS NULL LIMIT 2)) > 1;
    DELETE FROM people_dups
     WHERE kind = 'sound_birth' AND a = NEW.birth_date AND b = NEW.pinyin_full AND c = '';
    INSERT INTO people_dups(kind, a, b, c)
    SELECT 'sound_birth', NEW.birth_date, NEW.pinyin_full, ''
     WHERE NEW.birth_date IS NOT NULL AND NEW.pinyin_full <> ''
       AND (SELECT count(DISTINCT name) FROM visitors
             WHERE birth_date = NEW.birth_date AND pinyin_full = NEW.pinyin_full
               AND merged_into IS NULL) > 1;
    DELETE FROM people_dups
     WHERE kind = 'phone' AND a = replace(NEW.phone, '-', '') AND b = '' AND c = '';
    INSERT INTO people_dups(kind, a, b, c)
    SELECT 'phone', replace(NEW.phone, '-', ''), '', ''
     WHERE length(NEW.phone) >= 7
       AND (SELECT count(*) FROM (SELECT 1 FROM visitors
             WHERE replace(phone, '-', '') = replace(NEW.phone, '-', '') AND length(phone) >= 7
               AND merged_into IS NULL LIMIT 2)) > 1;
    DELETE FROM people_dups_stale WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER people_dups_insert AFTER INSERT ON visitors WHEN NEW.merged_into IS NULL BEGIN
    INSERT INTO people_dups_stale
    VALUES (NEW.id_type, NEW.id_number, NEW.name, NEW.birth_date, NEW.pinyin_full, NEW.phone);
END;
CREATE TRIGGER people_dups_delete AFTER DELETE ON visitors WHEN OLD.merged_into IS NULL BEGIN
    INSERT INTO people_dups_stale
    VALUES (OLD.id_type, OLD.id_number, OLD.name, OLD.birth_date, OLD.pinyin_full, OLD.phone);
END;
CREATE TRIGGER people_dups_update AFTER UPDATE OF
    id_type, id_number, name, birth_date, pinyin_full, phone, merged_into ON visitors
BEGIN
    INSERT INTO people_dups_stale
    SELECT OLD.id_type, OLD.id_number, OLD.name, OLD.birth_date, OLD.pinyin_full, OLD.phone
     WHERE OLD.merged_into IS NULL;
    INSERT INTO people_dups_stale
    SELECT NEW.id_type, NEW.id_number, NEW.name, NEW.birth_date, NEW.pinyin_full, NEW.phone
     WHERE NEW.merged_into IS NULL;
END;

-- The keys shared today, each kind in one pass (the three last in the order of their index).
INSERT INTO people_dups(kind, a, b, c)
SELECT 'document', id_type, id_number, '' FROM visitors WHERE merged_into IS NULL
 GROUP BY id_number, id_type HAVING count(*) > 1;
INSERT INTO people_dups(kind, a, b, c)
SELECT 'name_birth', birth_date, pinyin_full, name FROM visitors
 WHERE birth_date IS NOT NULL AND merged_into IS NULL
 GROUP BY birth_date, pinyin_full, name HAVING count(*) > 1;
INSERT INTO people_dups(kind, a, b, c)
SELECT 'sound_birth', birth_date, pinyin_full, '' FROM visitors
 WHERE birth_date IS NOT NULL AND merged_into IS NULL AND pinyin_full <> ''
 GROUP BY birth_date, pinyin_full HAVING count(DISTINCT name) > 1;
INSERT INTO people_dups(kind, a, b, c)
SELECT 'phone', replace(phone, '-', ''), '', '' FROM visitors
 WHERE length(phone) >= 7 AND merged_into IS NULL
 GROUP BY replace(phone, '-', '') HAVING count(*) > 1;
