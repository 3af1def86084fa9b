-- Issue 15, item 2: each account's signing key (Ed25519, derived from its reading key), whose
-- public half verifies the staff changes the account signs (staff_sign.rs). Syncs hall-wide.
ALTER TABLE staff ADD COLUMN sign_public TEXT;
