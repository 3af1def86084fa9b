-- Issue 15, item 2: each account's reading key, to which a 检举控告's appeal is sealed
-- (box_keys.rs, sealed.rs). The public key and the secret wrapped under the account's password;
-- both sync hall-wide with the account.
ALTER TABLE staff ADD COLUMN box_public TEXT;
ALTER TABLE staff ADD COLUMN box_secret TEXT;
