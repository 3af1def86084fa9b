-- A hall's records in byte order of their ids, as the snapshot pages them (`entity_id COLLATE
-- "C"`, the order SQLite pages in and the cursor a desk sends back). The index of 0001 sorted
-- the ids by the database's collation: on a database created with any locale but C (a Debian
-- cluster takes the system's, e.g. zh_CN.UTF-8) every page of a snapshot read all of the hall's
-- records of the entity and sorted them. This one answers a page from the index.
CREATE INDEX records_hall_bytes ON records(entity, hall_code, entity_id COLLATE "C");
DROP INDEX records_hall;
