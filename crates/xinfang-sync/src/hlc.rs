//! Hybrid logical clock (Kulkarni et al.): a timestamp that follows wall-clock time when clocks
//! agree and still orders causally related events when they do not.
//!
//! A timestamp packs physical milliseconds since the Unix epoch in the high 47 bits and a logical
//! counter in the low 16 bits of an `i64`, so it sorts as an integer, fits an SQLite `INTEGER`
//! and a JSON number, and two timestamps compare by `<`. Ties between devices are broken by the
//! device id (see [`crate::merge`]).
//!
//! [`Clock`] is the pure algorithm (time is passed in); [`now`] and [`observe`] use one clock
//! per process, fed by the system time, so every change this process stamps is later than every
//! change it stamped or received before — across all stores it opens.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

const LOGICAL_BITS: u32 = 16;
const LOGICAL_MASK: i64 = (1 << LOGICAL_BITS) - 1;
/// The largest physical time a timestamp can hold (about year 6429).
const MAX_PHYSICAL_MS: i64 = i64::MAX >> LOGICAL_BITS;

/// How far a timestamp may run ahead of the wall clock that judges it: the city server refuses
/// changes stamped later than its time + this, and a desk never moves its clock further than
/// its own wall clock + this for what it receives or finds on disk. Five minutes: well above
/// what NTP-less office PCs drift in a day, far below a wrong year or month.
pub const MAX_DRIFT_MS: i64 = 5 * 60 * 1000;

/// One hybrid-logical-clock timestamp.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Hlc(pub i64);

impl Hlc {
    pub const ZERO: Hlc = Hlc(0);

    /// Physical times outside `0..=MAX_PHYSICAL_MS` are clamped (no overflow whatever the
    /// input).
    pub fn new(physical_ms: i64, logical: u16) -> Hlc {
        Hlc((physical_ms.clamp(0, MAX_PHYSICAL_MS) << LOGICAL_BITS) | i64::from(logical))
    }

    /// Milliseconds since the Unix epoch.
    pub fn physical_ms(self) -> i64 {
        self.0 >> LOGICAL_BITS
    }

    pub fn logical(self) -> u16 {
        (self.0 & LOGICAL_MASK) as u16
    }

    /// The smallest timestamp at wall-clock time `ms`.
    pub fn from_physical(ms: i64) -> Hlc {
        Hlc::new(ms.max(0), 0)
    }

    /// Whether this timestamp is later than wall-clock `now_ms` + [`MAX_DRIFT_MS`]: stamped by
    /// a clock that runs ahead (or forged).
    pub fn is_beyond(self, now_ms: i64) -> bool {
        self > drift_bound(now_ms)
    }
}

impl std::fmt::Display for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.physical_ms(), self.logical())
    }
}

/// The latest timestamp a clock reading `now_ms` accepts: its last one at `now_ms` +
/// [`MAX_DRIFT_MS`].
pub fn drift_bound(now_ms: i64) -> Hlc {
    Hlc(Hlc::from_physical(now_ms.saturating_add(MAX_DRIFT_MS)).0 | LOGICAL_MASK)
}

/// The clock's state: the last timestamp issued or seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    last: Hlc,
}

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A timestamp for a local event at wall-clock `now_ms`: later than anything before.
    /// If the logical counter would overflow, the physical part moves on by one millisecond
    /// (the packed integer simply carries), so timestamps still only grow. Saturates at
    /// `i64::MAX` rather than overflow: a poisoned clock must not make a desk panic.
    pub fn tick(&mut self, now_ms: i64) -> Hlc {
        let wall = Hlc::from_physical(now_ms);
        self.last = if wall > self.last {
            wall
        } else {
            Hlc(self.last.0.saturating_add(1))
        };
        self.last
    }

    /// Takes in a timestamp received from elsewhere (or read back from disk) so that the next
    /// [`Clock::tick`] is later than it — but never further than wall-clock `now_ms` +
    /// [`MAX_DRIFT_MS`]: a desk whose clock runs years ahead (or a forged `i64::MAX`) must not
    /// drag every clock that hears from it into the future.
    pub fn observe(&mut self, seen: Hlc, now_ms: i64) {
        let seen = seen.min(drift_bound(now_ms));
        if seen > self.last {
            self.last = seen;
        }
    }

    /// Pulls a clock that already ran ahead (a poisoned value from before the bound existed)
    /// back to wall-clock `now_ms` + [`MAX_DRIFT_MS`]. Returns whether it moved.
    pub fn clamp(&mut self, now_ms: i64) -> bool {
        if self.last.is_beyond(now_ms) {
            self.last = drift_bound(now_ms);
            true
        } else {
            false
        }
    }
}

static PROCESS_CLOCK: Mutex<Clock> = Mutex::new(Clock { last: Hlc(0) });

/// Wall-clock milliseconds, shifted by env `XINFANG_CLOCK_SKEW_SECS` when set. The shift exists
/// so tests (and a support engineer reproducing a report) can run a desk whose clock is wrong;
/// it never needs setting in production.
pub fn wall_ms() -> i64 {
    let skew_ms = std::env::var("XINFANG_CLOCK_SKEW_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .saturating_mul(1000);
    use xinfang_core::clock::{Clock, SystemClock};
    SystemClock.now().timestamp_millis() + skew_ms
}

/// A fresh timestamp from this process's clock.
pub fn now() -> Hlc {
    let mut clock = PROCESS_CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    clock.tick(wall_ms())
}

/// This process's clock right now: the last timestamp it issued or took in.
pub fn last() -> Hlc {
    PROCESS_CLOCK
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .last()
}

/// Moves this process's clock past `seen` (a received or stored timestamp), up to the wall
/// clock + [`MAX_DRIFT_MS`]; a process clock already beyond that is pulled back.
pub fn observe(seen: Hlc) {
    let mut clock = PROCESS_CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    let now = wall_ms();
    clock.clamp(now);
    clock.observe(seen, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_unpacks() {
        let h = Hlc::new(1_760_000_000_123, 7);
        assert_eq!(h.physical_ms(), 1_760_000_000_123);
        assert_eq!(h.logical(), 7);
        assert!(Hlc::new(5, 0) > Hlc::new(4, 65535));
        assert_eq!(h.to_string(), "1760000000123.7");
    }

    #[test]
    fn follows_the_wall_clock_when_it_moves_forward() {
        let mut c = Clock::new();
        assert_eq!(c.tick(1000), Hlc::new(1000, 0));
        assert_eq!(c.tick(1005), Hlc::new(1005, 0));
    }

    #[test]
    fn never_goes_back_when_the_wall_clock_does() {
        let mut c = Clock::new();
        let a = c.tick(2000);
        let b = c.tick(1000);
        let d = c.tick(1000);
        assert!(a < b && b < d);
        assert_eq!(b, Hlc::new(2000, 1));
    }

    #[test]
    fn a_slow_clock_stamps_after_what_it_has_seen() {
        // A desk a minute behind receives a change from a correct desk, then edits: its edit
        // must be later, or last-writer-wins would throw the edit away. (Beyond the drift
        // bound the desk's clock is wrong, and it says so instead: see the next test.)
        let day = 86_400_000;
        let mut slow = Clock::new();
        let remote = Hlc::new(10 * day, 3);
        slow.observe(remote, 10 * day - 60_000);
        let local = slow.tick(10 * day - 60_000);
        assert!(local > remote);
        assert_eq!(local, Hlc::new(10 * day, 4));
    }

    #[test]
    fn counter_overflow_carries_into_the_millisecond() {
        let mut c = Clock::new();
        c.observe(Hlc::new(10, u16::MAX), 10);
        let next = c.tick(10);
        assert_eq!(next, Hlc::new(11, 0));
    }

    #[test]
    fn a_remote_clock_far_ahead_is_not_adopted() {
        // A desk ten years ahead: the receiving clock stops at its own wall clock + drift.
        let now = 1_760_000_000_000;
        let mut c = Clock::new();
        c.observe(Hlc::new(now + 10 * 365 * 86_400_000, 0), now);
        assert!(c.last() <= Hlc::new(now + MAX_DRIFT_MS, u16::MAX));
        assert!(c.last() >= Hlc::new(now + MAX_DRIFT_MS, 0));
        // Within the drift it is adopted as before.
        let mut d = Clock::new();
        let near = Hlc::new(now + 60_000, 5);
        d.observe(near, now);
        assert_eq!(d.last(), near);
        assert!(d.tick(now) > near);
    }

    #[test]
    fn extreme_values_saturate_instead_of_panicking() {
        // A pushed hlc of i64::MAX once made every later registration panic (add overflow).
        let mut c = Clock {
            last: Hlc(i64::MAX),
        };
        assert_eq!(c.tick(1000), Hlc(i64::MAX));
        assert_eq!(c.tick(i64::MAX), Hlc(i64::MAX));
        assert!(c.clamp(1000));
        assert!(c.last() < Hlc::new(1000 + MAX_DRIFT_MS + 1, 0));
        let mut d = Clock::new();
        d.observe(Hlc(i64::MAX), i64::MAX);
        d.tick(i64::MIN);
        assert_eq!(Hlc::new(i64::MAX, 7).physical_ms(), MAX_PHYSICAL_MS);
        assert_eq!(Hlc::new(-5, 0), Hlc::ZERO);
        assert!(Hlc(i64::MAX).is_beyond(1_760_000_000_000));
        assert!(!Hlc::new(1_760_000_000_000 + MAX_DRIFT_MS, 9).is_beyond(1_760_000_000_000));
        assert!(Hlc::new(1_760_000_000_000 + MAX_DRIFT_MS + 1, 0).is_beyond(1_760_000_000_000));
    }

    #[test]
    fn process_clock_is_monotonic() {
        let mut prev = now();
        for _ in 0..1000 {
            let next = now();
            assert!(next > prev);
            prev = next;
        }
        observe(Hlc::new(prev.physical_ms() + 60_000, 0));
        assert!(now() > Hlc::new(prev.physical_ms() + 60_000, 0));
    }
}
