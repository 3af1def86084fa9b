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

-- A key whose people changed: the one trigger below counts them again, so the rule of each
-- kind is written once (as the day index's queue of 0045).
CREATE TABLE people_dups_stale (
    kind TEXT NOT NULL,
    a    TEXT NOT NULL,
    b    TEXT NOT NULL,
    c    TEXT NOT NULL,
    PRIMARY KEY (kind, a, b, c)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER people_dups_keep AFTER INSERT ON people_dups_stale BEGIN
    DELETE FROM people_dups WHERE kind = NEW.kind AND a = NEW.a AND b = NEW.b AND c = NEW.c;
    INSERT INTO people_dups(kind, a, b, c) SELECT NEW.kind, NEW.a, NEW.b, NEW.c
     WHERE CASE NEW.kind
        WHEN 'document' THEN (SELECT count(*) FROM (SELECT 1 FROM visitors
              WHERE id_number = NEW.b AND id_type = NEW.a AND merged_into IS NULL LIMIT 2))
        WHEN 'name_birth' THEN (SELECT count(*) FROM (SELECT 1 FROM visitors
              WHERE birth_date = NEW.a AND pinyin_full = NEW.b AND name = NEW.c
                AND merged_into IS NULL LIMIT 2))
        WHEN 'sound_birth' THEN (SELECT count(DISTINCT name) FROM visitors
              WHERE birth_date = NEW.a AND pinyin_full = NEW.b AND merged_into IS NULL)
        WHEN 'phone' THEN (SELECT count(*) FROM (SELECT 1 FROM visitors
              WHERE replace(phone, '-', '') = NEW.a AND length(phone) >= 7
                AND merged_into IS NULL LIMIT 2))
     END > 1;
    DELETE FROM people_dups_stale WHERE kind = NEW.kind AND a = NEW.a AND b = NEW.b AND c = NEW.c;
END;

-- A person's keys, queued when they come (insert), go (delete, a merge) or change.
CREATE TRIGGER people_dups_insert AFTER INSERT ON visitors WHEN NEW.merged_into IS NULL BEGIN
    INSERT OR IGNORE INTO people_dups_stale VALUES ('document', NEW.id_type, NEW.id_number, '');
    INSERT OR IGNORE INTO people_dups_stale SELECT 'name_birth', NEW.birth_date, NEW.pinyin_full, NEW.name
     WHERE NEW.birth_date IS NOT NULL;
    INSERT OR IGNORE INTO people_dups_stale SELECT 'sound_birth', NEW.birth_date, NEW.pinyin_full, ''
     WHERE NEW.birth_date IS NOT NULL AND NEW.pinyin_full <> '';
    INSERT OR IGNORE INTO people_dups_stale SELECT 'phone', replace(NEW.phone, '-', ''), '', ''
     WHERE length(NEW.phone) >= 7;
END;
CREATE TRIGGER people_dups_delete AFTER DELETE ON visitors WHEN OLD.merged_into IS NULL BEGIN
    INSERT OR IGNORE INTO people_dups_stale VALUES ('document', OLD.id_type, OLD.id_number, '');
    INSERT OR IGNORE INTO people_dups_stale SELECT 'name_birth', OLD.birth_date, OLD.pinyin_full, OLD.name
     WHERE OLD.birth_date IS NOT NULL;
    INSERT OR IGNORE INTO people_dups_stale SELECT 'sound_birth', OLD.birth_date, OLD.pinyin_full, ''
     WHERE OLD.birth_date IS NOT NULL AND OLD.pinyin_full <> '';
    INSERT OR IGNORE INTO people_dups_stale SELECT 'phone', replace(OLD.phone, '-', ''), '', ''
     WHERE length(OLD.phone) >= 7;
END;
CREATE TRIGGER people_dups_update AFTER UPDATE OF
    id_type, id_number, name, birth_date, pinyin_full, phone, merged_into ON visitors
BEGIN
    INSERT OR IGNORE INTO people_dups_stale SELECT 'document', OLD.id_type, OLD.id_number, ''
     WHERE OLD.merged_into IS NULL;
    INSERT OR IGNORE INTO people_dups_stale SELECT 'name_birth', OLD.birth_date, OLD.pinyin_full, OLD.name
     WHERE OLD.merged_into IS NULL AND OLD.birth_date IS NOT NULL;
    INSERT OR IGNORE INTO people_dups_stale SELECT 'sound_birth', OLD.birth_date, OLD.pinyin_full, ''
     WHERE OLD.merged_into IS NULL AND OLD.birth_date IS NOT NULL AND OLD.pinyin_full <> '';
    INSERT OR IGNORE INTO people_dups_stale SELECT 'phone', replace(OLD.phone, '-', ''), '', ''
     WHERE OLD.merged_into IS NULL AND length(OLD.phone) >= 7;
    INSERT OR IGNORE INTO people_dups_stale SELECT 'document', NEW.id_type, NEW.id_number, ''
     WHERE NEW.merged_into IS NULL;
    INSERT OR IGNORE INTO people_dups_stale SELECT 'name_birth', NEW.birth_date, NEW.pinyin_full, NEW.name
     WHERE NEW.merged_into IS NULL AND NEW.birth_date IS NOT NULL;
    INSERT OR IGNORE INTO people_dups_stale SELECT 'sound_birth', NEW.birth_date, NEW.pinyin_full, ''
     WHERE NEW.merged_into IS NULL AND NEW.birth_date IS NOT NULL AND NEW.pinyin_full <> '';
    INSERT OR IGNORE INTO people_dups_stale SELECT 'phone', replace(NEW.phone, '-', ''), '', ''
     WHERE NEW.merged_into IS NULL AND length(NEW.phone) >= 7;
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
