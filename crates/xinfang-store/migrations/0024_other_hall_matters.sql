-- Issue 16: what the city last said of a person's matters at the city's other halls, so
-- registration still shows them (with their date) when the city cannot be reached. This
-- desk's own cache: never synced, never exported, replaced by each answer.
CREATE TABLE other_hall_matters (
    id_number  TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    matters    TEXT NOT NULL
) STRICT;
