-- Issue 19: the visitor's live photo taken at registration (人证合一). One per visit, of the
-- visitor at the desk (`visitor_id`, the visit's first); the JPEG as base64 (a few tens of KB,
-- checked by `xinfang_core::photo`), kept only here in the encrypted store. A record of its
-- own, written once, so the change log carries the photo once and never with the visit's
-- later updates. Never read by a list or an export: only `Store::visitor_photo`.
CREATE TABLE visit_photos (
    visit_id   TEXT PRIMARY KEY REFERENCES visits(id),
    visitor_id TEXT NOT NULL REFERENCES visitors(id),
    jpeg       TEXT NOT NULL,
    taken_by   TEXT NOT NULL,
    taken_at   TEXT NOT NULL
) STRICT;
CREATE INDEX visit_photos_visitor ON visit_photos(visitor_id);
