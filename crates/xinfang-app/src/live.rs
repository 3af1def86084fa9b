//! Live updates inside the hall (docs/sync.md "Live notifications"): the desk listens to its
//! server's notifications (`GET /v1/sync/events`) and asks for a sync on each, so a hand-off at
//! one desk reaches the others in about a second instead of at their next periodic sync. The
//! loop is blocking (a thread of its own) and knows nothing of Tauri: the desktop app and
//! `xinfang sync --watch` give it how to connect and what to do on an event.

use std::time::Duration;

use xinfang_sync::client::{EventStream, LiveEvent, SyncError};

/// How long to wait before looking again when there is nothing to listen to (nobody logged
/// in, the desk not enrolled): no network is used meanwhile.
pub const IDLE: Duration = Duration::from_secs(5);
/// First and longest wait after a failed connection; doubled on each failure in between.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Waits that double after each failure, from [`BACKOFF_MIN`] to [`BACKOFF_MAX`], back to the
/// start once a stream is live, so a server that restarts is back within a second or two and a
/// server that is away is not hammered.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: BACKOFF_MIN }
    }
}

impl Backoff {
    /// The wait after this failure.
    pub fn fail(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        now
    }

    pub fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

/// Listens until `keep_going` says no (asked after every event, keep-alives included, and
/// before every connection). `connect` opens the enrolled server's stream, or `None` when
/// there is nothing to listen to now. `on_event` gets `Ready` (sync once: what happened while
/// not listening) and every `Changed` (sync now). `pause` waits (injected: tests do not wait).
pub fn listen(
    mut connect: impl FnMut() -> Option<Result<EventStream, SyncError>>,
    mut on_event: impl FnMut(&LiveEvent),
    mut keep_going: impl FnMut() -> bool,
    mut pause: impl FnMut(Duration),
) {
    let mut backoff = Backoff::default();
    while keep_going() {
        let mut stream = match connect() {
            None => {
                pause(IDLE);
                continue;
            }
            Some(Err(e)) => {
                let wait = backoff.fail();
                tracing::debug!(error = %e, wait_ms = wait.as_millis() as u64, "live stream not opened");
                pause(wait);
                continue;
            }
            Some(Ok(stream)) => stream,
        };
        loop {
            match stream.next_event() {
                Ok(ev) => {
                    if ev == LiveEvent::Ready {
                        backoff.reset();
                    }
                    if ev != LiveEvent::KeepAlive {
                        on_event(&ev);
                    }
                    if !keep_going() {
                        return;
                    }
                }
                Err(e) => {
                    let wait = backoff.fail();
                    tracing::debug!(error = %e, wait_ms = wait.as_millis() as u64, "live stream ended");
                    pause(wait);
                    break;
                }
            }
        }
    }
}

/// The usual `connect` over a store: the enrolled server's stream; `None` when not enrolled.
pub fn connect_store(
    store: Option<Result<xinfang_store::Store, String>>,
) -> Option<Result<EventStream, SyncError>> {
    let mut store = store?.ok()?;
    match xinfang_sync::client::live_events(&mut store) {
        Err(SyncError::NotEnrolled) => None,
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_minute_and_starts_again_once_live() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..9).map(|_| b.fail().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        b.reset();
        assert_eq!(b.fail(), BACKOFF_MIN);
    }

    #[test]
    fn nothing_to_listen_to_waits_without_network_and_failures_back_off() {
        let mut calls = 0;
        let mut waits = Vec::new();
        listen(
            || {
                calls += 1;
                match calls {
                    1 => None,
                    _ => Some(Err(SyncError::Offline(
                        "http://127.0.0.1:1".into(),
                        "x".into(),
                    ))),
                }
            },
            |_| panic!("no event without a stream"),
            {
                let mut rounds = 0;
                move || {
                    rounds += 1;
                    rounds <= 4
                }
            },
            |d| waits.push(d),
        );
        assert_eq!(
            waits,
            [
                IDLE,
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(4)
            ]
        );
    }

    #[test]
    fn a_desk_not_enrolled_opens_nothing() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = xinfang_store::Store::create_unencrypted(dir.path(), "140521").unwrap();
        assert!(connect_store(Some(Ok(store))).is_none());
        assert!(connect_store(None).is_none());
    }
}
