//! Counting a period of days as the Civil Code does (民法典 第二百零一条至第二百零三条).
//!
//! - The start day is not counted: a period of N days from `start` ends on `start + N`.
//! - If that last day is a statutory rest day (a weekend not declared a working day, or a public
//!   holiday), the period ends on the first working day after it.
//! - A make-up working day (调休上班) is a working day.
//! - Beyond the known holiday calendar only weekends are rest days, and the result says so.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::{HolidayCalendar, is_weekend};

/// A counted period and its last day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadline {
    /// The day the period starts (not counted).
    pub start: NaiveDate,
    /// Length in calendar days.
    pub days: u32,
    /// The last day, inclusive: the act is in time if done by 24:00 that day.
    pub due: NaiveDate,
    /// Whether `due` was moved past rest days.
    pub moved: bool,
    /// `false` when any day looked at lies beyond the known calendar, so only weekends were
    /// treated as rest days and the date may still move once the year's arrangement is known.
    pub calendar_known: bool,
}

impl Deadline {
    /// Whether the period has run out by `today` (the due day itself is still in time).
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        today > self.due
    }

    /// Calendar days from `today` to the due day: 0 on the due day, negative once overdue.
    pub fn days_left(&self, today: NaiveDate) -> i64 {
        (self.due - today).num_days()
    }

    /// Whether an act done on `done_on` was in time.
    pub fn met_by(&self, done_on: NaiveDate) -> bool {
        done_on <= self.due
    }
}

/// The last day of a period of `days` days starting on `start`.
pub fn deadline(start: NaiveDate, days: u32, cal: &HolidayCalendar) -> Deadline {
    // Saturate rather than panic: only a period of hundreds of thousands of years overflows.
    let last = start
        .checked_add_days(Days::new(days.into()))
        .unwrap_or(NaiveDate::MAX);
    let mut due = last;
    let mut calendar_known = true;
    loop {
        let rest = match cal.is_rest_day(due) {
            Some(rest) => rest,
            None => {
                calendar_known = false;
                is_weekend(due)
            }
        };
        if !rest {
            break;
        }
        // Holiday runs are at most a couple of weeks, so this loop is short.
        match due.succ_opt() {
            Some(next) => due = next,
            None => break,
        }
    }
    Deadline {
        start,
        days,
        due,
        moved: due != last,
        calendar_known,
    }
}

/// The last day of "within `n` working days of `start`" (收到之日起N个工作日内): the `n`th
/// working day after `start`, make-up working days counted and holidays skipped. `days` of the
/// result is the calendar span; `moved` is always false (the count itself steps over rest days).
pub fn working_days_deadline(start: NaiveDate, n: u32, cal: &HolidayCalendar) -> Deadline {
    let mut due = start;
    let mut calendar_known = true;
    let mut left = n;
    while left > 0 {
        let Some(next) = due.succ_opt() else { break };
        due = next;
        let rest = cal.is_rest_day(due).unwrap_or_else(|| {
            calendar_known = false;
            is_weekend(due)
        });
        if !rest {
            left -= 1;
        }
    }
    Deadline {
        start,
        days: u32::try_from((due - start).num_days()).unwrap_or(u32::MAX),
        due,
        moved: false,
        calendar_known,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn plain_weekday_is_not_moved() {
        let cal = HolidayCalendar::bundled();
        // Mon 2025-03-03 + 15 = Tue 2025-03-18.
        let dl = deadline(d("2025-03-03"), 15, &cal);
        assert_eq!(
            (dl.due, dl.moved, dl.calendar_known),
            (d("2025-03-18"), false, true)
        );
    }

    #[test]
    fn national_day_moves_to_the_9th() {
        let cal = HolidayCalendar::bundled();
        // 2025-09-16 + 15 = 2025-10-01, rest through 10-08.
        let dl = deadline(d("2025-09-16"), 15, &cal);
        assert_eq!((dl.due, dl.moved), (d("2025-10-09"), true));
    }

    #[test]
    fn serialises_with_plain_dates() {
        let cal = HolidayCalendar::bundled();
        let json = serde_json::to_value(deadline(d("2025-09-16"), 15, &cal)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "start": "2025-09-16", "days": 15, "due": "2025-10-09",
                "moved": true, "calendar_known": true
            })
        );
    }

    #[test]
    fn overdue_only_after_the_due_day() {
        let cal = HolidayCalendar::bundled();
        let dl = deadline(d("2025-03-03"), 15, &cal);
        assert!(!dl.is_overdue(d("2025-03-18")));
        assert!(dl.is_overdue(d("2025-03-19")));
        assert_eq!(dl.days_left(d("2025-03-16")), 2);
        assert!(dl.met_by(d("2025-03-18")) && !dl.met_by(d("2025-03-19")));
    }

    #[test]
    fn working_days_step_over_the_weekend_and_count_a_make_up_saturday() {
        let cal = HolidayCalendar::bundled();
        // Thu 2026-03-05 + 5 working days: Fri, Mon, Tue, Wed, Thu = 2026-03-12.
        let plain = working_days_deadline(d("2026-03-05"), 5, &cal);
        assert_eq!((plain.due, plain.days), (d("2026-03-12"), 7));
        // Received Thu 2025-09-25: Fri 26, Sun 28 (国庆节调休), Mon 29, Tue 30, then the
        // holiday runs to 10-08, so the fifth working day is Thu 2025-10-09.
        let across = working_days_deadline(d("2025-09-25"), 5, &cal);
        assert_eq!(across.due, d("2025-10-09"));
        assert!(across.calendar_known);
    }

    #[test]
    fn huge_period_saturates_instead_of_panicking() {
        let cal = HolidayCalendar::bundled();
        let dl = deadline(d("2025-01-01"), u32::MAX, &cal);
        assert!(!dl.calendar_known);
        assert!(dl.due > d("9999-12-31"));
    }
}
