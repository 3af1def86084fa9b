-- The sealed appeals the login's pass (confidential.rs) must look at again although the
-- readers did not change: visits written or changed since the last pass (registered here or
-- pulled, sealed by another desk for the readers it knew) and those the last pass could not
-- open. With the readers unchanged (`meta.reseal_readers`), a login reads only these, not
-- every sealed appeal of the store.
-- A row per touch, in order: a pass settles the touches it read (n up to the greatest it saw)
-- and leaves those made meanwhile by another process.
CREATE TABLE reseal_pending (
    n        INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: a pass deletes by it
    visit_id TEXT NOT NULL
) STRICT;

CREATE TRIGGER reseal_pending_visit_insert AFTER INSERT ON visits
WHEN NEW.appeal_kind = 'report'
  OR EXISTS (SELECT 1 FROM matters WHERE id = NEW.matter_id AND confidential = 1)
BEGIN
    INSERT INTO reseal_pending(visit_id) VALUES (NEW.id);
END;

CREATE TRIGGER reseal_pending_visit_update
AFTER UPDATE OF appeal, appeal_kind, clerk_id, matter_id ON visits
WHEN NEW.appeal_kind = 'report'
  OR EXISTS (SELECT 1 FROM matters WHERE id = NEW.matter_id AND confidential = 1)
BEGIN
    INSERT INTO reseal_pending(visit_id) VALUES (NEW.id);
END;

CREATE TRIGGER reseal_pending_matter_insert AFTER INSERT ON matters WHEN NEW.confidential = 1
BEGIN
    INSERT INTO reseal_pending(visit_id) SELECT id FROM visits WHERE matter_id = NEW.id;
END;

CREATE TRIGGER reseal_pending_matter_update AFTER UPDATE OF confidential ON matters
WHEN NEW.confidential = 1
BEGIN
    INSERT INTO reseal_pending(visit_id) SELECT id FROM visits WHERE matter_id = NEW.id;
END;
