//! The city server's storage, behind one trait. Handlers see only [`Storage`]; SQL lives in the
//! backend modules (SQLite now; PostgreSQL plugs in behind the same trait later, picked by the
//! `--database` URI).

pub mod derive;
pub mod sqlite;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use xinfang_sync::Change;
use xinfang_sync::audit::{AuditChains, AuditEntry, AuditPushResponse, ChainFault};
use xinfang_sync::wire::{
    AuditHead, CityCounts, OtherHallMatter, OwnChangesResponse, PullResponse, PushResponse,
    Quarantine, RepeatVisits, SnapshotRequest, SnapshotResponse,
};

pub use sqlite::SqliteStorage;

/// A reception hall (GB/T 2260 code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hall {
    pub code: String,
    pub name: String,
}

/// An enrolled desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub id: String,
    pub hall_code: String,
    pub name: String,
    pub enrolled_at: String,
    pub revoked_at: Option<String>,
}

/// An admin token as listed: never the token, only the start of its hash as its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminToken {
    pub id: String,
    pub label: String,
    pub created_at: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub revoked_at: Option<String>,
}

/// An entry for the city's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogEntry {
    pub action: &'static str,
    pub actor: String,
    pub device_id: Option<String>,
    pub detail: String,
}

/// An entry of the city's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    pub id: i64,
    pub at: String,
    pub action: String,
    pub actor: String,
    pub device_id: Option<String>,
    pub detail: String,
}

/// A desk asking to enrol. Only hashes of the code and the new token reach storage.
#[derive(Debug, Clone)]
pub struct NewEnrolment {
    pub code_hash: String,
    pub device_id: String,
    pub hall_code: String,
    pub device_name: String,
    pub token_hash: String,
    /// Unix seconds.
    pub now: i64,
    /// The desk's first admins' keys, pinned as roots of the hall's staff changes.
    pub roots: Vec<xinfang_sync::staff_sig::RootKey>,
}

/// A request the rules refuse: an HTTP status, a stable code and a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error("storage backend failed: {0}")]
    Backend(String),
}

impl StorageError {
    pub fn refused(status: u16, code: &'static str, message: impl Into<String>) -> StorageError {
        StorageError::Refused(Refusal {
            status,
            code,
            message: message.into(),
        })
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// What became of a pushed batch of audit entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPushOutcome {
    /// What was stored: the entries before the break, or all of them.
    pub response: AuditPushResponse,
    /// Where the batch stopped continuing the device's stored chain (recorded for the
    /// administrator); nothing from there on was stored.
    pub fault: Option<ChainFault>,
}

/// Everything the server keeps. Implementations serialise writes so that server sequence
/// numbers are assigned in commit order; every method is a single transaction.
pub trait Storage: Send + Sync + 'static {
    fn halls(&self) -> Result<Vec<Hall>>;
    fn hall(&self, code: &str) -> Result<Option<Hall>>;
    /// The hall's visitor-id key (docs/security.md, item 4), created when first needed: from
    /// `offered` (the key the hall's first enrolling desk derived its ids with) or at random.
    /// Once kept it never changes.
    fn hall_id_key(&self, code: &str, offered: Option<&[u8; 32]>) -> Result<[u8; 32]>;
    /// Adds a hall, or renames an existing one.
    /// The hall's pinned root keys of staff changes (docs/security.md "Signed staff changes").
    fn hall_roots(&self, code: &str) -> Result<Vec<xinfang_sync::staff_sig::RootKey>>;
    fn put_hall(&self, code: &str, name: &str) -> Result<()>;

    fn add_enrol_code(&self, code_hash: &str, hall_code: &str, expires_at: i64) -> Result<()>;
    /// Consumes a one-time code and records the device; refuses wrong, used or expired codes,
    /// a code of another hall, and a revoked device.
    fn enrol(&self, e: &NewEnrolment) -> Result<Hall>;

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>>;
    fn devices(&self) -> Result<Vec<Device>>;
    /// Revokes a device; false if there is no such device.
    fn revoke_device(&self, device_id: &str) -> Result<bool>;

    /// Allows `device_id` to enrol again with a fresh code until `until` (Unix seconds), e.g.
    /// after the desk was reinstalled; logged. False if there is no such device.
    fn allow_reenrol(&self, device_id: &str, until: i64) -> Result<bool>;

    /// A token for the city administrator, valid until `expires_at` (Unix seconds).
    fn add_admin_token(&self, token_hash: &str, label: &str, expires_at: i64) -> Result<()>;
    /// The label of a valid (known, not expired at `now`, not revoked) admin token.
    fn admin_token_label(&self, token_hash: &str, now: i64) -> Result<Option<String>>;
    fn admin_tokens(&self) -> Result<Vec<AdminToken>>;
    /// Revokes the admin tokens whose id (the start of their hash) is `id`; how many. Logged.
    fn revoke_admin_token(&self, id: &str) -> Result<usize>;

    /// Appends to the city's own log (what the administrator did or looked up).
    fn log(&self, entry: &NewLogEntry) -> Result<()>;
    /// The city's log, newest first.
    fn city_log(&self, limit: u32) -> Result<Vec<LogEntry>>;

    /// (highest device sequence stored for the device, applied or set aside; highest server
    /// sequence).
    fn device_heads(&self, device_id: &str) -> Result<(i64, i64)>;
    /// Stores and applies a batch of one device's consecutive changes in one transaction. A
    /// change the rules refuse (stamped beyond `now_ms` + the allowed drift, another hall's
    /// record) is set aside in quarantine under its sequence number, and the rest of the
    /// batch goes on; a sequence gap or a number reused with other content refuses the batch.
    fn push(&self, device: &Device, changes: &[Change], now_ms: i64) -> Result<PushResponse>;
    /// The device's own changes after `after` (applied and set aside), in sequence order: what
    /// a desk restored from an old backup takes back.
    fn own_changes(&self, device: &Device, after: i64, limit: u32) -> Result<OwnChangesResponse>;
    /// The changes set aside, newest first, at most `limit`, with the total count.
    fn quarantine(&self, limit: u32) -> Result<Quarantine>;
    /// Changes of the device's hall's other devices after the given per-device cursors.
    fn pull(
        &self,
        device: &Device,
        cursors: &BTreeMap<String, i64>,
        limit: u32,
    ) -> Result<PullResponse>;
    /// One page of the hall's records of one entity for a new desk (docs/sync.md "Snapshot").
    fn snapshot(&self, device: &Device, req: &SnapshotRequest) -> Result<SnapshotResponse>;

    /// Highest audit sequence stored for the device (0 for none).
    fn audit_max_seq(&self, device_id: &str) -> Result<i64>;
    /// Stores a batch of the device's audit entries (all of the device, checked before) as
    /// long as each continues the device's stored chain (`xinfang_sync::audit::check_link`);
    /// an entry already stored with the same hash counts as a duplicate. At the first entry
    /// that does not, stops, records the break and keeps what came before it: one
    /// transaction.
    fn push_audit(&self, device: &Device, entries: &[AuditEntry]) -> Result<AuditPushOutcome>;
    /// Keeps the head of its audit chain a device reported with a change push. A head that
    /// contradicts an entry or a head received before, or goes back, is recorded as a break.
    fn report_audit_head(&self, device: &Device, head: &AuditHead) -> Result<()>;
    /// Every device's chain: what is stored, the refused pushes recorded, and a fresh check of
    /// the stored chain (which catches a changed database).
    fn audit_chains(&self) -> Result<AuditChains>;

    fn city_counts(&self) -> Result<CityCounts>;
    fn repeat_visits(&self, id_number: &str) -> Result<RepeatVisits>;
    /// The matters of the person with `id_number` at halls other than `except_hall`, newest
    /// visit first; 检举控告 matters (and confidential ones) left out.
    fn person_matters(&self, id_number: &str, except_hall: &str) -> Result<Vec<OtherHallMatter>>;
    /// One record's fields as merged here (`None`: no such record).
    fn record_data(
        &self,
        entity: &str,
        entity_id: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>>;
    /// Feeds the facts of the accumulator's period to it (the one statistics function,
    /// `xinfang_core::tally`, as on the desk): the period's visits with their consultations and
    /// mediations, the matters received or concluded in it, the limits settled in it or run
    /// out undone; selected through indexes, never every record. Deleted records are left out.
    fn feed_statistics(&self, acc: &mut xinfang_core::tally::StatsAccumulator<'_>) -> Result<()>;
    /// The publicity activities (法治宣传活动) the halls synced, held in the period and of the
    /// campaign when one is given (`Some("")`: of none), each with its hall; in (day, hall)
    /// order, deleted ones left out. A city holds a few hundred a year, so they are read by
    /// their entity, with no index of their own.
    fn publicity_activities(
        &self,
        period: &xinfang_core::stats::Period,
        campaign: Option<&str>,
    ) -> Result<Vec<PublicityRow>>;
}

/// A hall's publicity activity as synced: the hall it was recorded at is its county.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicityRow {
    pub hall_code: String,
    pub activity: xinfang_core::stats::ValidPublicity,
}

/// The Jincheng units every new store starts with (DOMAIN.md §1).
pub const PRELOADED_HALLS: &[(&str, &str)] = &[
    ("140500", "晋城市"),
    ("140502", "城区"),
    ("140521", "沁水县"),
    ("140522", "阳城县"),
    ("140524", "陵川县"),
    ("140525", "泽州县"),
    ("140581", "高平市"),
];

/// Opens the plaintext store in a data dir (SQLite, the embedded default): `--no-encryption`.
pub fn open(data_dir: &Path) -> Result<std::sync::Arc<dyn Storage>> {
    Ok(std::sync::Arc::new(SqliteStorage::open(data_dir)?))
}

/// Opens the store in a data dir, encrypted with `key` when given.
pub fn open_keyed(
    data_dir: &Path,
    key: Option<&sqlite::CityKey>,
) -> Result<std::sync::Arc<dyn Storage>> {
    Ok(std::sync::Arc::new(SqliteStorage::open_keyed(
        data_dir, key,
    )?))
}

fn valid_name(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= max
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Why one pushed change cannot be stored as it is, if it cannot. Such a change is set aside
/// like one the rules refuse (its sequence number taken), so the device's later changes still
/// flow: a desk with one bad change must not be stuck forever.
pub fn shape_refusal(c: &Change) -> Option<(&'static str, String)> {
    let n = c.seq;
    if !valid_name(&c.entity, 40) {
        return Some((
            "entity_invalid",
            format!("第 {n} 条变更的记录类型无效：应为小写字母、数字和下划线。"),
        ));
    }
    if c.entity_id.is_empty()
        || c.entity_id.len() > 100
        || c.entity_id.chars().any(char::is_control)
    {
        return Some((
            "entity_id_invalid",
            format!("第 {n} 条变更的记录编号无效（1–100 个字符）。"),
        ));
    }
    if c.fields.len() > 200 || c.fields.keys().any(|k| !valid_name(k, 64)) {
        return Some((
            "fields_invalid",
            format!("第 {n} 条变更的字段名无效：应为小写字母、数字和下划线。"),
        ));
    }
    if c.op != xinfang_sync::Op::Delete && c.fields.is_empty() {
        return Some(("fields_empty", format!("第 {n} 条变更没有任何字段。")));
    }
    if c.hlc <= xinfang_sync::Hlc::ZERO {
        return Some(("hlc_invalid", format!("第 {n} 条变更缺少时间戳（hlc）。")));
    }
    if c.changed_at.len() > 64 {
        return Some(("changed_at_invalid", format!("第 {n} 条变更的时间过长。")));
    }
    None
}
