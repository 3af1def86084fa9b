//! Live notifications inside a hall (docs/sync.md "Live notifications"): one
//! `tokio::sync::broadcast` channel per hall, in memory. The push handler calls
//! [`HallNotifier::changed_by`] once a push committed; a hub calls [`HallNotifier::changed`]
//! after it stored changes relayed down from the city. `GET /v1/sync/events` turns a
//! [`Subscription`] into a Server-Sent Events stream. A notification says only that the hall's
//! records changed and the server sequence reached: never what changed.
//!
//! Several city instances behind one PostgreSQL database hear each other: a push is announced
//! through the database (`NOTIFY`, [`crate::api::tell_hall`]) and every instance's listener
//! (`LISTEN`, `Storage::listen_changes`) feeds its own notifier. A desk still syncs every 30 s,
//! so a missed notification delays, it never loses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, watch};

/// Notifications a slow subscriber may fall behind before it skips to the newest: one is
/// enough to make a desk sync, so little is kept.
const BACKLOG: usize = 16;
/// Streams open at once on one server, all halls together (each holds a connection).
pub const MAX_SUBSCRIBERS: usize = 4096;

/// Something of a hall was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The server sequence reached after the write.
    pub server_seq: i64,
    /// The device whose push it was (it already knows), `None` for a relay from upstream.
    pub origin: Option<String>,
}

/// Per-hall broadcast of [`Changed`]; cheap to clone, all clones share the channels.
#[derive(Clone)]
pub struct HallNotifier {
    inner: Arc<Inner>,
}

struct Inner {
    halls: Mutex<HashMap<String, broadcast::Sender<Changed>>>,
    /// Set once the server shuts down: every stream ends, so a graceful shutdown is not held
    /// up by desks that never hang up.
    closed: watch::Sender<bool>,
}

impl Default for HallNotifier {
    fn default() -> Self {
        HallNotifier {
            inner: Arc::new(Inner {
                halls: Mutex::new(HashMap::new()),
                closed: watch::Sender::new(false),
            }),
        }
    }
}

impl std::fmt::Debug for HallNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HallNotifier")
            .field("halls", &self.halls().len())
            .finish()
    }
}

/// One desk's end of its hall's channel.
pub struct Subscription {
    rx: broadcast::Receiver<Changed>,
    closed: watch::Receiver<bool>,
    /// The subscribing device: its own pushes are not echoed back to it.
    device_id: String,
}

impl HallNotifier {
    pub fn new() -> HallNotifier {
        HallNotifier::default()
    }

    fn halls(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<Changed>>> {
        self.inner.halls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes of `hall` were stored by a push of `device_id` (committed).
    pub fn changed_by(&self, hall: &str, server_seq: i64, device_id: &str) {
        self.send(
            hall,
            Changed {
                server_seq,
                origin: Some(device_id.to_owned()),
            },
        );
    }

    /// Changes of `hall` were stored that no desk of this server pushed (a hub's relay from
    /// the city): every subscriber of the hall is told.
    pub fn changed(&self, hall: &str, server_seq: i64) {
        self.send(
            hall,
            Changed {
                server_seq,
                origin: None,
            },
        );
    }

    fn send(&self, hall: &str, c: Changed) {
        let mut halls = self.halls();
        if let Some(tx) = halls.get(hall) {
            // No receiver left: drop the channel, so halls nobody listens to cost nothing.
            if tx.send(c).is_err() {
                halls.remove(hall);
            }
        }
    }

    /// Listens to `hall` as `device_id`; `None` when [`MAX_SUBSCRIBERS`] are listening.
    pub fn subscribe(&self, hall: &str, device_id: &str) -> Option<Subscription> {
        let mut halls = self.halls();
        let open: usize = halls.values().map(|tx| tx.receiver_count()).sum();
        if open >= MAX_SUBSCRIBERS {
            return None;
        }
        let rx = halls
            .entry(hall.to_owned())
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .subscribe();
        Some(Subscription {
            rx,
            closed: self.inner.closed.subscribe(),
            device_id: device_id.to_owned(),
        })
    }

    /// Desks listening to `hall` now.
    pub fn subscribers(&self, hall: &str) -> usize {
        self.halls().get(hall).map_or(0, |tx| tx.receiver_count())
    }

    /// Ends every subscription (server shutdown).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }
}

impl Subscription {
    /// The next change of the hall stored by someone else; `None` once the server closes.
    pub async fn next(&mut self) -> Option<Changed> {
        loop {
            if *self.closed.borrow() {
                return None;
            }
            tokio::select! {
                got = self.rx.recv() => match got {
                    Ok(c) if c.origin.as_deref() == Some(self.device_id.as_str()) => continue,
                    Ok(c) => return Some(c),
                    // Fell behind: what follows is newer, and one notification is as good as many.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                res = self.closed.changed() => {
                    if res.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hall_hears_its_own_changes_from_others_only() {
        let n = HallNotifier::new();
        let mut a = n.subscribe("140521", "desk-a").unwrap();
        let mut b = n.subscribe("140521", "desk-b").unwrap();
        let mut other = n.subscribe("140525", "desk-c").unwrap();
        n.changed_by("140521", 7, "desk-a");
        // desk-a pushed it: desk-b hears, desk-a does not, the other hall does not.
        assert_eq!(b.next().await.unwrap().server_seq, 7);
        n.changed("140521", 8);
        assert_eq!(a.next().await.unwrap().server_seq, 8);
        assert_eq!(b.next().await.unwrap().server_seq, 8);
        assert!(other.rx.try_recv().is_err());
        n.close();
        assert_eq!(other.next().await, None);
    }

    #[tokio::test]
    async fn a_hall_nobody_listens_to_keeps_no_channel() {
        let n = HallNotifier::new();
        n.changed("140521", 1);
        assert!(n.halls().is_empty());
        let s = n.subscribe("140521", "d").unwrap();
        assert_eq!(n.subscribers("140521"), 1);
        drop(s);
        n.changed("140521", 2);
        assert!(n.halls().is_empty());
    }
}
