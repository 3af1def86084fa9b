-- Issue 21: the next 事项编号 of a month is one more than the greatest count given with its
-- start (`沁水-2026-11-B`). Read from this index, one entry per registration, instead of every
-- number of the month (tens of thousands at a busy hall, most of a registration's time): the
-- start (the number without its trailing digits), then the count without its leading zeros by
-- length and digits, which is the count's numeric order (numbers.rs `last_count`).
CREATE INDEX matters_number_count ON matters(
    rtrim(number, '0123456789'),
    length(ltrim(substr(number, length(rtrim(number, '0123456789')) + 1), '0')),
    ltrim(substr(number, length(rtrim(number, '0123456789')) + 1), '0')
);

-- A desk's next queue label of the day is read from the day's labels (visits.rs
-- `local_queue_label`): from this index alone, not from every visit row of the day.
CREATE INDEX visits_date_label ON visits(visit_date, queue_label);
