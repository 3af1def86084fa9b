-- Issue 20: a matter's human-readable number (事项编号), `沁水-2026-11-B0017`, given once by the
-- desk that opens it and synced with the matter (xinfang_core::numbering). Matters from before
-- get a local number without a letter, `沁水-2026-11-0017`, when the store opens (numbers.rs).
ALTER TABLE matters ADD COLUMN number TEXT;
CREATE UNIQUE INDEX matters_number ON matters(number);
