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

/// One hybrid-logical-clock timestamp.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Hlc(pub i64);

impl Hlc {
    pub const ZERO: Hlc = Hlc(0);

    pub fn new(physical_ms: i64, logical: u16) -> Hlc {
        Hlc((physical_ms << LOGICAL_BITS) | i64::from(logical))
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
}

impl std::fmt::Display for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.physical_ms(), self.logical())
    }
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
    /// (the packed integer simply carries), so timestamps still only grow.
    pub fn tick(&mut self, now_ms: i64) -> Hlc {
        let wall = Hlc::from_physical(now_ms);
        self.last = if wall > self.last {
            wall
        } else {
            Hlc(self.last.0 + 1)
        };
        self.last
    }

    /// Takes in a timestamp received from elsewhere (or read back from disk) so that the next
    /// [`Clock::tick`] is later than it.
    pub fn observe(&mut self, seen: Hlc) {
        if seen > self.last {
            self.last = seen;
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
    chrono::Utc::now().timestamp_millis() + skew_ms
}

/// A fresh timestamp from this process's clock.
pub fn now() -> Hlc {
    let mut clock = PROCESS_CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    clock.tick(wall_ms())
}

/// Moves this process's clock past `seen` (a received or stored timestamp).
pub fn observe(seen: Hlc) {
    let mut clock = PROCESS_CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    clock.observe(seen);
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
        // A desk a day behind receives a change from a correct desk, then edits: its edit must
        // be later, or last-writer-wins would throw the edit away.
        let day = 86_400_000;
        let mut slow = Clock::new();
        let remote = Hlc::new(10 * day, 3);
        slow.observe(remote);
        let local = slow.tick(9 * day);
        assert!(local > remote);
        assert_eq!(local, Hlc::new(10 * day, 4));
    }

    #[test]
    fn counter_overflow_carries_into_the_millisecond() {
        let mut c = Clock::new();
        c.observe(Hlc::new(10, u16::MAX));
        let next = c.tick(10);
        assert_eq!(next, Hlc::new(11, 0));
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
