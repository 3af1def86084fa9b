//! The supervisor's morning view: which limits of a hall's matters have run out, and which run
//! out within the next days.
//!
//! Only an authority's duties count (a visitor's window to ask for a review just closes), only
//! acts not yet done, and nothing of a matter that is closed (终结).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::matter::{DeadlineParty, MatterStatus, NamedDeadline};

/// "Due soon" means due today or within this many days.
pub const DUE_SOON_DAYS: i64 = 3;

/// Most lines of each due list (overdue, due soon) a screen shows; the totals count the rest.
/// A hall with more than this many overdue limits works from the top (the most overdue).
pub const DUE_LIST_LIMIT: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DueBucket {
    /// 已超期: the last day has passed.
    Overdue,
    /// 即将到期: due today or within [`DUE_SOON_DAYS`] days.
    DueSoon,
}

impl DueBucket {
    pub fn label_zh(self) -> &'static str {
        match self {
            DueBucket::Overdue => "已超期",
            DueBucket::DueSoon => "即将到期",
        }
    }
}

/// Whether a limit is an open duty that a supervisor must watch.
pub fn is_open_duty(
    party: DeadlineParty,
    done_on: Option<NaiveDate>,
    status: MatterStatus,
) -> bool {
    party == DeadlineParty::Authority && done_on.is_none() && status != MatterStatus::Closed
}

/// Where a limit due on `due` stands on `today`, if it belongs on the list at all.
pub fn bucket(due: NaiveDate, today: NaiveDate) -> Option<DueBucket> {
    let left = (due - today).num_days();
    if left < 0 {
        Some(DueBucket::Overdue)
    } else if left <= DUE_SOON_DAYS {
        Some(DueBucket::DueSoon)
    } else {
        None
    }
}

/// The last due day that can still be on the list: `today + DUE_SOON_DAYS`.
pub fn horizon(today: NaiveDate) -> NaiveDate {
    today
        .checked_add_days(chrono::Days::new(DUE_SOON_DAYS.unsigned_abs()))
        .unwrap_or(NaiveDate::MAX)
}

/// The bucket of one deadline of a matter, if it is an open duty on the list.
pub fn deadline_bucket(
    d: &NamedDeadline,
    status: MatterStatus,
    today: NaiveDate,
) -> Option<DueBucket> {
    if is_open_duty(d.party, d.done_on, status) {
        bucket(d.due, today)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn buckets_around_today() {
        let today = d("2026-11-26");
        assert_eq!(bucket(d("2026-11-25"), today), Some(DueBucket::Overdue));
        assert_eq!(bucket(d("2026-11-26"), today), Some(DueBucket::DueSoon));
        assert_eq!(bucket(d("2026-11-29"), today), Some(DueBucket::DueSoon));
        assert_eq!(bucket(d("2026-11-30"), today), None);
        assert_eq!(horizon(today), d("2026-11-29"));
    }

    #[test]
    fn only_open_authority_duties() {
        use MatterStatus as S;
        assert!(is_open_duty(DeadlineParty::Authority, None, S::Accepted));
        assert!(!is_open_duty(DeadlineParty::Visitor, None, S::Concluded));
        assert!(!is_open_duty(
            DeadlineParty::Authority,
            Some(d("2026-01-01")),
            S::Accepted
        ));
        assert!(!is_open_duty(DeadlineParty::Authority, None, S::Closed));
    }
}
