-- A matter's steps are found by their matter (records.lookup), so the city derives the
-- matter's status from all its steps (docs/sync.md, "Records, conflicts, quarantine").
UPDATE records SET lookup = json_extract(data, '$.matter_id') WHERE entity = 'matter_event';
