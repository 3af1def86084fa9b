-- Issue 17: the letter a desk puts before the queue numbers it issues on its own when it cannot
-- reach its server (`B017`). The server gives each desk of a hall its own at enrolment (or at
-- its next sync), so two desks cut off at once never issue the same label; a revoked desk's
-- letter may be given again.
CREATE TABLE queue_letters (
    hall_code TEXT NOT NULL,
    letter    TEXT NOT NULL,
    device_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (hall_code, letter)
) STRICT;
