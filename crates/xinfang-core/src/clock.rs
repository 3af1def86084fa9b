//! The time, passed in. The rules of this crate take "now" or "today" as arguments and never
//! read a clock; the layers that do (the app layer, the store, the city server) hold a
//! [`Clock`]: [`SystemClock`] in the programs, a [`ManualClock`] in tests, which set the time
//! instead of sleeping.

use std::sync::Mutex;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

/// China Standard Time, UTC+8: the offset of every date a hall records and counts by.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// A source of the current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Now in China Standard Time.
    fn now_cst(&self) -> DateTime<FixedOffset> {
        self.now().with_timezone(&cst())
    }

    /// Today's date in China Standard Time.
    fn today(&self) -> NaiveDate {
        self.now_cst().date_naive()
    }
}

/// The computer's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(at))
    }

    /// A clock at `rfc3339`, e.g. `2026-11-26T09:30:00+08:00`.
    ///
    /// # Panics
    /// When the text is not RFC 3339 (a test's typo).
    pub fn at(rfc3339: &str) -> Self {
        let t = DateTime::parse_from_rfc3339(rfc3339)
            .unwrap_or_else(|e| panic!("{rfc3339} is not RFC 3339: {e}"));
        Self::new(t.with_timezone(&Utc))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_dates_are_chinese() {
        let c = ManualClock::at("2026-11-26T23:30:00+08:00");
        assert_eq!(c.today().to_string(), "2026-11-26");
        c.advance(Duration::minutes(45));
        // 00:15 in Beijing is still the 26th in UTC: the date is China's.
        assert_eq!(c.today().to_string(), "2026-11-27");
        assert_eq!(c.now().date_naive().to_string(), "2026-11-26");
        assert_eq!(c.now_cst().offset().local_minus_utc(), 8 * 3600);
    }
}
