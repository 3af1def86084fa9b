-- Drafts of forms not yet submitted (登记表等), so that nothing a clerk typed is lost to an idle
-- lock or a crash. Local to this desk: no change-log rows, never synced; inside the encrypted
-- database like every other record. One draft per staff member and form.
CREATE TABLE drafts (
    staff_id   TEXT NOT NULL,
    form       TEXT NOT NULL,                -- 'register', 'consultation', 'mediation'
    json       TEXT NOT NULL,                -- the form's state as the UI holds it
    updated_at TEXT NOT NULL,                -- RFC 3339, China Standard Time
    PRIMARY KEY (staff_id, form)
) STRICT, WITHOUT ROWID;
