-- Issue 21: a desk's next queue label of the day (visits.rs `local_queue_label`) read every
-- label of the day from 0034's index to take the greatest of its letter's — hundreds of
-- entries a registration at a busy hall, and a seed of 900,000 visits reads ≈ 800 a day. With
-- the letter and the number in the index, the greatest is its last entry for the day and the
-- letter: one step down the index, however busy the day.
DROP INDEX visits_date_label;
CREATE INDEX visits_date_label ON visits(
    visit_date, substr(queue_label, 1, 1), CAST(substr(queue_label, 2) AS INTEGER)
);
