-- Issue 20: a matter's human-readable number (事项编号), `沁水-2026-11-B0017`, given once by the
-- desk that opens it and synced with the matter as `number` (xinfang_core::numbering). Matters
-- from before get a local number without a letter, `沁水-2026-11-0017`, when the store opens
-- (numbers.rs).
ALTER TABLE matters ADD COLUMN number TEXT;
CREATE INDEX matters_number_given ON matters(number);

-- The number shown, unique on this replica: `number`, or for a number that two desks gave
-- with one letter (a hub and the city each give letters; an unenrolled desk takes one from its
-- id) `number-2`, `-3`… by order of id. Derived here, never synced: every replica holding the
-- same matters shows the same numbers, whatever order they arrived in, and no desk has to
-- write anything to settle it.
ALTER TABLE matters ADD COLUMN shown_number TEXT;
CREATE UNIQUE INDEX matters_shown_number ON matters(shown_number);

-- A number's matters are ranked again whenever one gets it or leaves it: cleared first, as
-- the unique index is checked row by row.
CREATE TRIGGER matters_number_insert AFTER INSERT ON matters WHEN NEW.number IS NOT NULL BEGIN
    UPDATE matters SET shown_number = NULL WHERE number = NEW.number;
    UPDATE matters SET shown_number = number || coalesce('-' || nullif(
        (SELECT count(*) FROM matters o WHERE o.number = matters.number AND o.id < matters.id) + 1, 1), '')
    WHERE number = NEW.number;
END;

-- A legacy number given with its shown number (numbers.rs `fill_legacy`: unique by making) needs
-- no ranking: at the first open after the upgrade that is every old matter.
CREATE TRIGGER matters_number_update AFTER UPDATE OF number ON matters
WHEN OLD.number IS NOT NULL OR NEW.shown_number IS NOT NEW.number BEGIN
    UPDATE matters SET shown_number = NULL
    WHERE number IN (NEW.number, OLD.number) OR id = NEW.id;
    UPDATE matters SET shown_number = number || coalesce('-' || nullif(
        (SELECT count(*) FROM matters o WHERE o.number = matters.number AND o.id < matters.id) + 1, 1), '')
    WHERE number IN (NEW.number, OLD.number);
END;
