-- Issue 15, item 2 (docs/security.md "Signed staff changes"): each hall's root keys. A desk's
-- first admin signs its own account; the city pins that key when the desk enrols with a
-- one-time code, and every staff change of the hall must be signed back to a root. A staff id
-- keeps the first key pinned for it.
CREATE TABLE hall_roots (
    hall_code   TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    sign_public TEXT NOT NULL CHECK (length(sign_public) = 64),
    device_id   TEXT NOT NULL,
    pinned_at   TEXT NOT NULL,
    PRIMARY KEY (hall_code, staff_id)
) STRICT, WITHOUT ROWID;
