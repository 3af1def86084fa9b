-- Issue 17: the queue number a visit shows (排队号), synced with the visit: the hall's number
-- from its server (`17`), or this desk's own with its letter (`B017`) when the server could
-- not be reached. `queue_no` stays the desk's local order of the day. Older visits have none:
-- they show their `queue_no`.
ALTER TABLE visits ADD COLUMN queue_label TEXT;
