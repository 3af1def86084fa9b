-- A snapshot page (a new desk's first sync) asks for one hall's records of an entity after an
-- id; the key is (entity, entity_id), so SQLite read every hall's records of the entity and
-- left the others out — with a hundred halls, a hundred times the rows of the hall. PostgreSQL
-- has had this index from the start (records_hall, now records_hall_bytes).
CREATE INDEX records_hall ON records(entity, hall_code, entity_id);
