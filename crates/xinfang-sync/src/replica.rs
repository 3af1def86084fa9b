//! What a desk's store offers the sync client. `xinfang-store` implements it for `Store`; the
//! client never touches SQL.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::audit::AuditEntry;
use crate::wire::{Change, HallIdKey, ReferenceBundle, RemoteChange, SnapshotResponse};

/// A secret string (device token). `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where and as whom a desk syncs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    pub server_url: String,
    pub token: Secret,
}

/// The outcome of the last sync attempts, kept by the desk for its status bar.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncRecord {
    /// RFC 3339 time of the last successful sync.
    pub last_sync_at: Option<String>,
    /// Chinese message of the last failed attempt, cleared by a success.
    pub last_error: Option<String>,
}

/// How far a new desk's snapshot has come: the cursors its first page gave (pulls go on after
/// them), and the entity and position of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SnapshotPosition {
    pub cursors: Option<BTreeMap<String, i64>>,
    pub entity: String,
    pub after: Option<String>,
}

/// A desk's store, as the sync client sees it.
pub trait DeskReplica {
    type Error: std::error::Error + Send + Sync + 'static;

    fn device_id(&self) -> &str;
    fn hall_code(&self) -> &str;

    /// The desk's clock: the time of the syncs it records.
    fn clock(&self) -> &dyn xinfang_core::clock::Clock {
        &xinfang_core::clock::SystemClock
    }

    /// Server address and device token, once enrolled.
    fn sync_settings(&self) -> Result<Option<SyncSettings>, Self::Error>;
    /// Keeps the server address and token after a successful enrolment.
    fn save_enrolment(&mut self, server_url: &str, token: &Secret) -> Result<(), Self::Error>;

    /// The CA certificates (PEM) this desk trusts for its server besides the web roots: the
    /// city's own CA, chosen from a file by the desk's administrator.
    fn trusted_ca(&self) -> Result<Option<String>, Self::Error> {
        Ok(None)
    }

    /// The hall id key this desk derives visitor ids with before it has the hall's (offered at
    /// enrolment; the city keeps it when the hall has none). `None`: nothing to offer.
    fn hall_id_key_offer(&self) -> Result<Option<HallIdKey>, Self::Error> {
        Ok(None)
    }
    /// Takes the hall's id key from the city (at enrolment, or from the device state). A desk
    /// that derived ids with another key re-derives those nothing of which was pushed yet, in
    /// one transaction, before it pushes; pushed ids never change. A replica without keyed
    /// ids does nothing.
    fn adopt_hall_id_key(&mut self, key: &HallIdKey) -> Result<(), Self::Error> {
        let _ = key;
        Ok(())
    }

    /// Keeps the letter the server gave this desk for the queue numbers it issues offline
    /// (`B017`), at enrolment and from the device state of every sync.
    fn adopt_queue_letter(&mut self, letter: &str) -> Result<(), Self::Error> {
        let _ = letter;
        Ok(())
    }

    /// Pins the city's update key (minisign public key) if this desk has none yet: the first
    /// one given (at enrolment, or by the device state to a desk enrolled before the city had
    /// one) stays; another is ignored (docs/security.md "Signed updates").
    fn pin_update_key(&mut self, key: &str) -> Result<(), Self::Error> {
        let _ = key;
        Ok(())
    }
    /// The pinned update key, if any.
    fn update_key(&self) -> Result<Option<String>, Self::Error> {
        Ok(None)
    }

    /// The keys of this desk's first admins, offered at enrolment for the city to pin as roots
    /// of the hall's staff changes. A replica without signed staff offers none.
    fn root_key_offer(&self) -> Result<Vec<crate::staff_sig::RootKey>, Self::Error> {
        Ok(Vec::new())
    }
    /// Keeps the hall's pinned root keys (at enrolment, and from the device state of every
    /// sync) before pulling: pulled staff changes are checked back to them.
    fn adopt_hall_roots(&mut self, roots: &[crate::staff_sig::RootKey]) -> Result<(), Self::Error> {
        let _ = roots;
        Ok(())
    }

    /// Highest local sequence the server has confirmed.
    fn pushed_seq(&self) -> Result<i64, Self::Error>;
    fn set_pushed_seq(&mut self, seq: i64) -> Result<(), Self::Error>;
    /// Highest local sequence (0 for none).
    fn last_local_seq(&self) -> Result<i64, Self::Error>;
    /// Local changes after `after`, oldest first, at most `limit`.
    fn local_changes(&self, after: i64, limit: usize) -> Result<Vec<Change>, Self::Error>;

    /// Makes room for this device's own changes that the server holds and this replica lacks
    /// (it was restored from an older backup): local changes from `from_seq` on (written after
    /// the restore) move to `server_max + 1, + 2, …`, keeping their order, so the server's
    /// `from_seq..=server_max` can be taken back under their own numbers (by
    /// [`DeskReplica::apply_remote`], which applies and logs a change of this very device as
    /// its own). Atomic and repeatable. Returns how many local changes were moved.
    fn make_room(&mut self, from_seq: i64, server_max: i64) -> Result<usize, Self::Error>;

    /// Re-stamps unpushed local changes stamped beyond wall-clock `now_ms` + the allowed drift
    /// (written while the clock was wrong) and pulls a stored clock back the same way. Returns
    /// how many changes were re-stamped. A replica without a clock of its own does nothing.
    fn repair_clock(&mut self, now_ms: i64) -> Result<u64, Self::Error> {
        let _ = now_ms;
        Ok(0)
    }

    /// The replica's schema version, sent to the server with every request (0: unknown).
    fn schema_version(&self) -> u32 {
        0
    }

    /// Per-device pull cursors.
    fn pull_cursors(&self) -> Result<BTreeMap<String, i64>, Self::Error>;
    /// Applies pulled changes and stores the new cursors, atomically; returns how many changes
    /// were new. Must not log them as local changes — except changes of this very device,
    /// taken back after a restore (see [`DeskReplica::make_room`]): those are applied and
    /// logged as its own under their sequence (skipped when already there).
    fn apply_remote(
        &mut self,
        changes: &[RemoteChange],
        cursors: &BTreeMap<String, i64>,
    ) -> Result<usize, Self::Error>;

    /// Where this replica stands with the snapshot a new desk starts from (docs/sync.md
    /// "Snapshot"): `None` when it has none to take (it has pulled before, took one, or keeps
    /// no records); a replica that never takes one replays the hall's whole history.
    fn snapshot_position(&self) -> Result<Option<SnapshotPosition>, Self::Error> {
        Ok(None)
    }
    /// The entities a snapshot brings, parents before children.
    fn snapshot_entities(&self) -> Vec<String> {
        Vec::new()
    }
    /// Applies one snapshot page of `entity` and keeps `next` as the position, atomically.
    /// Returns `false`, having applied nothing, when the page holds what a snapshot cannot
    /// bring here (a deleted record, fields or tables this version does not know, a record a
    /// local constraint refuses): the replica then replays the history instead, which the
    /// merge rules make safe over whatever earlier pages brought.
    fn apply_snapshot_page(
        &mut self,
        entity: &str,
        page: &SnapshotResponse,
        next: &SnapshotPosition,
    ) -> Result<bool, Self::Error> {
        let _ = (entity, page, next);
        Ok(false)
    }
    /// Ends the snapshot: with `cursors`, it is complete and pulls go on after them; with
    /// `None`, it was abandoned and pulls start from the beginning.
    fn end_snapshot(&mut self, cursors: Option<&BTreeMap<String, i64>>) -> Result<(), Self::Error> {
        let _ = cursors;
        Ok(())
    }

    fn sync_record(&self) -> Result<SyncRecord, Self::Error>;
    fn set_sync_record(&mut self, record: &SyncRecord) -> Result<(), Self::Error>;

    /// Highest sequence of this device's audit log (0 for none, or no audit log).
    fn last_audit_seq(&self) -> Result<i64, Self::Error> {
        Ok(0)
    }
    /// The last entry of the audit log (`None` for none, or no audit log), reported with every
    /// change push.
    fn audit_head(&self) -> Result<Option<crate::wire::AuditHead>, Self::Error> {
        Ok(None)
    }
    /// Highest audit-log sequence the city server has acknowledged (0 for none).
    fn audit_pushed_seq(&self) -> Result<i64, Self::Error> {
        Ok(0)
    }
    fn set_audit_pushed_seq(&mut self, seq: i64) -> Result<(), Self::Error> {
        let _ = seq;
        Ok(())
    }
    /// This device's audit entries after `after`, in sequence order, at most `limit`. Entries
    /// are pushed as stored: the server checks their chain. A replica without an audit log
    /// has none.
    fn audit_entries_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, Self::Error> {
        let _ = (after, limit);
        Ok(Vec::new())
    }

    /// Version of the city reference data kept here (`None`: none yet, or not kept).
    fn reference_version(&self) -> Result<Option<String>, Self::Error> {
        Ok(None)
    }
    /// Keeps the city reference data (categories, legal routes, holiday calendars). A replica
    /// that does not keep it ignores it.
    fn save_reference(&mut self, bundle: &ReferenceBundle) -> Result<(), Self::Error> {
        let _ = bundle;
        Ok(())
    }

    /// Whether this replica runs somewhere else than where it was enrolled (a copy of its
    /// store on another computer): it does not sync then, see [`SyncError::Moved`].
    ///
    /// [`SyncError::Moved`]: crate::client::SyncError::Moved
    fn moved(&mut self) -> Result<bool, Self::Error> {
        Ok(false)
    }

    /// After a sync: folds a bounded part of what the server now holds out of the replica's
    /// logs (docs/sync.md "Compaction"); returns the log rows removed. A replica that keeps no
    /// logs does nothing.
    fn compact(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
}
