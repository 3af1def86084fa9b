//! The city server's storage, behind one trait: data operations inside a transaction, no rules
//! (those are in [`crate::protocol`]). SQL lives in the backend modules, picked by the
//! `--database` URI.

/// SQL condition: the record was *not* written by the device `$device` (a placeholder) alone —
/// another device wrote its base, a later field or its deletion. The snapshot statements of
/// both backends read only such records (and the asker's with later fields of its own, which
/// `versions <> '{}'` keeps): a coarse pre-filter of `protocol::written_only_by`, which decides
/// those. A literal, so it goes into `concat!` and `prepare_cached` stays on `&'static str`.
macro_rules! not_written_by_alone {
    ($device:literal) => {
        concat!(
            "(base_device <> ",
            $device,
            " OR versions <> '{}' OR coalesce(deleted_device, ",
            $device,
            ") <> ",
            $device,
            ")"
        )
    };
}

pub mod derive;
pub mod pg_tls;
pub mod postgres;
pub mod sqlite;
pub mod stats_feed;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use xinfang_sync::audit::{AuditBreak, AuditEntry, AuditPushResponse, ChainFault};
use xinfang_sync::wire::{
    AuditHead, HallCounts, OwnChangesResponse, Quarantine, SnapshotRequest, SnapshotResponse,
};
use xinfang_sync::{Change, RemoteChange};

pub use postgres::PgStorage;
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

/// An account of the administrator's web console, as listed (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminUser {
    pub username: String,
    pub created_at: String,
}

/// What a console login needs to know of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminLogin {
    /// argon2 PHC string.
    pub password_hash: String,
    pub failed_attempts: i64,
    /// Unix seconds until which the account refuses logins (too many wrong passwords).
    pub locked_until: Option<i64>,
}

/// A device as the console lists it: with its last contact and what it pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeviceOverview {
    pub id: String,
    pub hall_code: String,
    pub hall_name: String,
    pub name: String,
    /// `desk` (接待台) or `hub` (大厅服务器).
    pub kind: String,
    pub enrolled_at: String,
    pub revoked_at: Option<String>,
    /// When the device last started a sync here (RFC 3339), if it has since this was recorded.
    pub last_contact_at: Option<String>,
    /// Changes received from the device (its highest sequence number stored).
    pub changes: i64,
    /// Of them, set aside for the administrator (quarantine).
    pub set_aside: i64,
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
    /// A hall hub joining (docs/sync.md "Hall hub"): its hall is the code's, not its own word.
    pub hub: bool,
    /// The hash the same code has as the other kind (hub for a desk, desk for a hub), so a
    /// code of the wrong kind is told apart from a wrong one.
    pub other_kind_hash: String,
}

/// A data error: what a backend can say about its own data, never a rule of the protocol
/// (those are [`crate::protocol::Refusal`]s). `api.rs` alone turns them into HTTP statuses.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The row asked for is not there.
    #[error("not found: {0}")]
    NotFound(String),
    /// A write clashed with data already there (a unique key, a concurrent writer).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage backend failed: {0}")]
    Backend(String),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A rate limit's shape: a burst of `burst` requests, then one per `period_ms`.
///
/// Kept as GCRA: a bucket is one number, its theoretical arrival time `tat` (ms). A request at
/// `now` would move it to `max(tat, now) + period`; it is allowed when that is no later than
/// `now + burst × period` (the time is then stored), else refused (nothing stored), and the
/// next token comes when the difference has passed. No row is the same as `tat <= now`.
///
/// `now` is never taken to be before the latest time a take on the bucket saw: a server clock
/// stepped back (or an instance's clock a little behind another's) neither drains the bucket
/// nor refills it; the bucket waits for the clock to catch up. Keep the instances' clocks in
/// step (NTP) as the sync protocol needs anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBucket {
    pub period_ms: i64,
    pub burst: i64,
}

impl RateBucket {
    pub fn new(period: std::time::Duration, burst: u32) -> RateBucket {
        RateBucket {
            period_ms: i64::try_from(period.as_millis())
                .unwrap_or(i64::MAX / 4)
                .max(1),
            burst: i64::from(burst.max(1)),
        }
    }

    /// How long a refused request waits: the stored `tat` (unchanged by the refusal) at the
    /// bucket's time `now_ms`.
    pub fn wait_ms(&self, tat: i64, now_ms: i64) -> i64 {
        (tat.max(now_ms) + self.period_ms - now_ms - self.burst * self.period_ms).max(1)
    }
}

/// What became of a pushed batch of audit entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPushOutcome {
    /// What was stored: the entries before the break, or all of them.
    pub response: AuditPushResponse,
    /// Where the batch stopped continuing the device's stored chain (recorded for the
    /// administrator); nothing from there on was stored.
    pub fault: Option<ChainFault>,
}

/// What a transaction's body asks of its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Commit,
    /// Undo everything the body wrote (a refused request).
    Rollback,
}

/// The body of one transaction. It may run more than once (a backend retries a transaction a
/// concurrent writer made fail), so it keeps its results in variables it overwrites.
pub type TxBody<'a> = dyn FnMut(&mut dyn Tx) -> Result<Done> + 'a;

/// Called with (hall, server sequence, pushing device) for every change announced.
pub type ChangeListener = Arc<dyn Fn(&str, i64, Option<&str>) + Send + Sync>;

/// Everything the server keeps, as data. The protocol's rules (enrolment, idempotency by
/// (device, seq), gaps, hall isolation, audit-chain continuation, merge) live above it in
/// [`crate::protocol`]; a backend only stores, finds and counts.
pub trait Storage: Send + Sync + 'static {
    /// Runs `body` in one write transaction. Server sequence numbers are assigned so that a
    /// change is visible to readers only once every change numbered before it is (docs/sync.md,
    /// "Server sequence").
    fn write(&self, body: &mut TxBody<'_>) -> Result<()>;
    /// Runs `body` in one write transaction that reads and writes `hall`'s data only (a
    /// device's push, a hub's relay, a device's audit entries): writes of one hall are
    /// serialised as [`Storage::write`]'s, and server sequence numbers are assigned so that a
    /// change is visible to the hall's readers only once every change of the hall numbered
    /// before it is. Writes of different halls may run at once (PostgreSQL); a city-wide write
    /// waits for them. The default is [`Storage::write`] (SQLite: one writer).
    fn write_hall(&self, hall: &str, body: &mut TxBody<'_>) -> Result<()> {
        let _ = hall;
        self.write(body)
    }
    /// Runs `body` in one read transaction: everything it reads as of the same moment.
    fn read(&self, body: &mut TxBody<'_>) -> Result<()>;
    /// The holiday calendar matters' deadlines are derived with (the city's reference data).
    fn calendar(&self) -> &xinfang_core::calendar::HolidayCalendar;

    /// Starts delivering every change any server instance on this database announces
    /// ([`Storage::announce_change`], this instance's own included) to `on_change`, until the
    /// storage is dropped; `false` when the backend has no channel between instances (SQLite:
    /// one process), and the caller tells its own subscribers itself.
    fn listen_changes(&self, on_change: ChangeListener) -> Result<bool> {
        let _ = on_change;
        Ok(false)
    }
    /// Whether [`Storage::listen_changes`] is delivering: changes are then announced to every
    /// instance through the database.
    fn shares_changes(&self) -> bool {
        false
    }
    /// Tells every instance's listener that `hall` changed up to `server_seq` (by `origin`'s
    /// push, or relayed). Only while [`Storage::shares_changes`].
    fn announce_change(&self, hall: &str, server_seq: i64, origin: Option<&str>) -> Result<()> {
        let _ = (hall, server_seq, origin);
        Ok(())
    }

    /// Takes one request's token from the rate bucket `key` (e.g. `enrol:global`,
    /// `enrol:addr:<ip>`), atomically in one statement, so every instance on one database
    /// shares the allowance: a burst of `burst` requests, then one per `period_ms` (GCRA; see
    /// [`RateBucket`]). `None`: allowed; `Some(ms)`: refused, the next token comes in `ms`. Full
    /// buckets' rows (their time passed before `now_ms`) are pruned on the way.
    fn take_rate_token(&self, key: &str, now_ms: i64, bucket: RateBucket) -> Result<Option<i64>>;

    fn halls(&self) -> Result<Vec<Hall>>;
    fn hall(&self, code: &str) -> Result<Option<Hall>>;
    /// The hall's visitor-id key (docs/security.md, item 4), created when first needed: from
    /// `offered` (the key the hall's first enrolling desk derived its ids with) or at random.
    /// Once kept it never changes.
    fn hall_id_key(&self, code: &str, offered: Option<&[u8; 32]>) -> Result<[u8; 32]>;
    /// The hall's pinned root keys of staff changes (docs/security.md "Signed staff changes").
    fn hall_roots(&self, code: &str) -> Result<Vec<xinfang_sync::staff_sig::RootKey>>;
    /// Adds a hall, or renames an existing one.
    fn put_hall(&self, code: &str, name: &str) -> Result<()>;

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>>;
    fn devices(&self) -> Result<Vec<Device>>;
    /// Revokes a device; false if there is no such device.
    fn revoke_device(&self, device_id: &str) -> Result<bool>;
    /// Allows `device_id` to enrol again with a fresh code until `until` (Unix seconds), e.g.
    /// after the desk was reinstalled or left its server; logged as `actor`'s. False if there is
    /// no such device.
    fn allow_reenrol(&self, device_id: &str, until: i64, actor: &str) -> Result<bool>;

    /// A token for the city administrator, valid until `expires_at` (Unix seconds).
    fn add_admin_token(&self, token_hash: &str, label: &str, expires_at: i64) -> Result<()>;
    /// The label of a valid (known, not expired at `now`, not revoked) admin token.
    fn admin_token_label(&self, token_hash: &str, now: i64) -> Result<Option<String>>;
    fn admin_tokens(&self) -> Result<Vec<AdminToken>>;
    /// Revokes the admin tokens whose hash starts with `prefix` (lower-case hex); how many.
    /// Logged.
    fn revoke_admin_tokens(&self, prefix: &str) -> Result<usize>;

    /// Adds a console account, or sets a new password for an existing one (its failures and
    /// lock cleared, its sessions ended); true when the account is new.
    fn put_admin_user(&self, username: &str, password_hash: &str) -> Result<bool>;
    fn admin_users(&self) -> Result<Vec<AdminUser>>;
    /// Removes a console account and its sessions; false if there is no such account.
    fn remove_admin_user(&self, username: &str) -> Result<bool>;
    fn admin_login(&self, username: &str) -> Result<Option<AdminLogin>>;
    /// Counts a wrong password; at `max_attempts` failures in a row the account is locked until
    /// `lock_until` (Unix seconds) and the count starts again.
    fn admin_login_failed(&self, username: &str, max_attempts: i64, lock_until: i64) -> Result<()>;
    /// A successful login: the account's failures cleared, the session (the token's hash)
    /// stored at `now`, and every session of any account no longer valid (last seen before
    /// `seen_after` or started before `started_after`) deleted.
    fn start_admin_session(
        &self,
        username: &str,
        token_hash: &str,
        now: i64,
        seen_after: i64,
        started_after: i64,
    ) -> Result<()>;
    /// The account of a valid session (last seen at or after `seen_after`, started at or after
    /// `started_after`), whose last seen moves to `now`.
    fn admin_session(
        &self,
        token_hash: &str,
        now: i64,
        seen_after: i64,
        started_after: i64,
    ) -> Result<Option<String>>;
    /// Ends a session (logout).
    fn end_admin_session(&self, token_hash: &str) -> Result<()>;
    /// Notes that the device called now (the start of its sync), for the console.
    fn touch_device(&self, device_id: &str) -> Result<()>;
    /// Every device with its hall's name, last contact and what it pushed.
    fn device_overview(&self) -> Result<Vec<DeviceOverview>>;

    /// Appends to the city's own log (what the administrator did or looked up).
    fn log(&self, entry: &NewLogEntry) -> Result<()>;
    /// The city's log, newest first.
    fn city_log(&self, limit: u32) -> Result<Vec<LogEntry>>;

    /// (highest device sequence stored for the device, applied or set aside; highest server
    /// sequence).
    fn device_heads(&self, device_id: &str) -> Result<(i64, i64)>;
    /// The device's own changes after `after` (applied and set aside), in sequence order.
    fn own_changes(&self, device: &Device, after: i64, limit: u32) -> Result<OwnChangesResponse>;
    /// The changes set aside, newest first, at most `limit`, with the total count.
    fn quarantine(&self, limit: u32) -> Result<Quarantine>;
    /// One page of the hall's records of one entity (docs/sync.md "Snapshot"): only records and
    /// changes of `device`'s hall, none of `device` itself.
    fn snapshot(&self, device: &Device, req: &SnapshotRequest) -> Result<SnapshotResponse>;
    /// Highest audit sequence stored for the device (0 for none).
    fn audit_max_seq(&self, device_id: &str) -> Result<i64>;

    /// One record's fields as merged here (`None`: no such record).
    fn record_data(
        &self,
        entity: &str,
        entity_id: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>>;
    /// The figures of `period` taken on `today` (the one statistics function,
    /// `xinfang_core::tally`, as on the desk): the period's visits with their consultations and
    /// mediations, the matters received or concluded in it, the limits settled in it or run out
    /// undone; each day's figures kept once added up (`stats_days`, dropped by trigger when one
    /// of the day's rows is written), the other days' rows selected through indexes, never
    /// every record. Deleted records are left out.
    fn statistics(
        &self,
        period: xinfang_core::stats::Period,
        today: chrono::NaiveDate,
        cal: &xinfang_core::calendar::HolidayCalendar,
    ) -> Result<xinfang_core::tally::Figures>;
    /// Adds up and keeps the figures of the newest days due — days a write touched since they
    /// were kept, at most a month of them — in one transaction; returns how many are no longer
    /// due (0: none was). The server calls it in the background until it returns 0
    /// ([`crate::stats::keep_due_days`]), so the administrator's [`Storage::statistics`] find
    /// the days kept and pushes wait at most a month's adding up for the store.
    fn keep_due_days(&self, cal: &xinfang_core::calendar::HolidayCalendar) -> Result<usize>;
    /// The publicity activities (法治宣传活动) the halls synced, held in the period and of the
    /// campaign when one is given (`Some("")`: of none), each with its hall; in (day, hall)
    /// order, deleted ones left out.
    fn publicity_activities(
        &self,
        period: &xinfang_core::stats::Period,
        campaign: Option<&str>,
    ) -> Result<Vec<PublicityRow>>;
}

/// An enrolment code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolCode {
    pub hall_code: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub used: bool,
}

/// What enrolment needs to know of a device id already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEnrolment {
    pub hall_code: String,
    pub revoked: bool,
    /// Unix seconds until which it may enrol again.
    pub reenrol_until: Option<i64>,
    /// Known only through a relay (docs/sync.md "Hall hub"): enrolled at the hall's hub (here,
    /// the city) or directly at the city (here, a hub); it holds no token of this server.
    pub relayed: bool,
}

/// The token hash a device known only through a relay is stored with: not a SHA-256 in hex,
/// so no token ever matches it (`devices.token_hash` is unique, hence the device's id).
pub fn relayed_token_hash(device_id: &str) -> String {
    format!("{RELAYED_PREFIX}{device_id}")
}

/// See [`relayed_token_hash`].
pub const RELAYED_PREFIX: &str = "relayed:";

/// A stored record, with its versions, as the merge rules see it.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub hall_code: String,
    pub record: xinfang_sync::merge::Record,
}

/// What deriving a matter's state needs of it: the day received, its kind, the agency its first
/// visit concerns.
#[derive(Debug, Clone, Default)]
pub struct MatterSubject {
    pub received_on: Option<String>,
    pub appeal_kind: Option<String>,
    pub agency: Option<String>,
}

/// A visit as the repeat-visit lookup shows it.
#[derive(Debug, Clone)]
pub struct VisitFacts {
    pub hall_code: String,
    pub hall_name: String,
    pub visited_at: Option<String>,
    pub category_code: Option<String>,
}

/// A matter as another hall is told of it, with its first visit's facts.
#[derive(Debug, Clone)]
pub struct MatterFacts {
    pub hall_code: String,
    pub hall_name: String,
    pub received_on: String,
    pub appeal_kind: String,
    pub category_code: String,
    pub confidential: bool,
    pub status: String,
    pub state: String,
    pub appeal: String,
    pub agency: String,
    pub place_code: String,
    pub visit_kind: String,
}

/// A device as the audit view lists it.
#[derive(Debug, Clone)]
pub struct AuditDevice {
    pub device_id: String,
    pub device_name: String,
    pub hall_code: String,
    pub hall_name: String,
}

/// The data operations of one transaction ([`Storage::write`], [`Storage::read`]). Each is one
/// statement or a few; none decides anything.
pub trait Tx {
    /// The time stamp the backend writes: RFC 3339 in seconds, China Standard Time.
    fn now_text(&self) -> String;

    fn hall_name(&mut self, code: &str) -> Result<Option<String>>;
    fn append_log(&mut self, entry: &NewLogEntry) -> Result<()>;

    // Enrolment.
    fn insert_enrol_code(
        &mut self,
        code_hash: &str,
        hall_code: &str,
        expires_at: i64,
    ) -> Result<()>;
    fn enrol_code(&mut self, code_hash: &str) -> Result<Option<EnrolCode>>;
    fn use_enrol_code(&mut self, code_hash: &str, device_id: &str) -> Result<()>;
    fn device_enrolment(&mut self, device_id: &str) -> Result<Option<DeviceEnrolment>>;
    fn insert_device(&mut self, e: &NewEnrolment) -> Result<()>;
    /// A new token and name for an enrolled device; its permission to re-enrol is used up.
    fn reenrol_device(&mut self, e: &NewEnrolment) -> Result<()>;
    /// Pins a root key for the hall unless the staff id has one already.
    fn pin_root(
        &mut self,
        hall_code: &str,
        root: &xinfang_sync::staff_sig::RootKey,
        device_id: &str,
    ) -> Result<()>;
    fn hall_roots(&mut self, hall_code: &str) -> Result<Vec<xinfang_sync::staff_sig::RootKey>>;

    // Changes.
    /// Highest sequence stored for a device: applied or set aside.
    fn device_max_seq(&mut self, device_id: &str) -> Result<i64>;
    /// The change a device stored under `seq`, applied or set aside.
    fn stored_change(&mut self, device_id: &str, seq: i64) -> Result<Option<Change>>;
    /// Stores an applied change and gives it the next server sequence number.
    fn insert_change(&mut self, device: &Device, c: &Change, fields_json: &str) -> Result<()>;
    fn insert_quarantine(
        &mut self,
        device: &Device,
        c: &Change,
        fields_json: &str,
        code: &str,
        reason: &str,
    ) -> Result<()>;
    /// Stores applied changes of one device, numbered in this order, as [`Tx::insert_change`]
    /// each: one statement for a batch (docs/performance.md, "Province scale").
    fn insert_changes(&mut self, device: &Device, changes: &[(&Change, &str)]) -> Result<()>;
    /// The first `limit` changes, in server order, of the devices after their cursors
    /// (`(device_id, after)`): each device's changes after its cursor in sequence order, at most
    /// `limit` of each, merged by server sequence. One statement, so a pull reads and parses
    /// only the page it returns, not `limit` rows of every desk of the hall.
    fn hall_changes_after(
        &mut self,
        cursors: &[(String, i64)],
        limit: i64,
    ) -> Result<Vec<RemoteChange>>;
    /// The highest server sequence number readers may rely on.
    fn max_server_seq(&mut self) -> Result<i64>;
    /// Every device of the hall but `except`, by id.
    fn hall_device_ids(&mut self, hall_code: &str, except: &str) -> Result<Vec<String>>;

    // Records.
    /// Stores a record not yet held, every field at one version; false if it is held.
    #[allow(clippy::too_many_arguments)]
    fn insert_new_record(
        &mut self,
        entity: &str,
        entity_id: &str,
        hall_code: &str,
        data_json: &str,
        hlc: i64,
        device_id: &str,
        lookup: Option<&str>,
    ) -> Result<bool>;
    /// Stores the records not yet held, each as [`Tx::insert_new_record`] (their keys are
    /// distinct): one statement for a batch. For each, whether it was stored (false: held).
    fn insert_new_records(&mut self, rows: &[NewRecord<'_>]) -> Result<Vec<bool>>;
    fn load_record(&mut self, entity: &str, entity_id: &str) -> Result<Option<StoredRecord>>;
    fn save_record(&mut self, entity: &str, entity_id: &str, stored: &StoredRecord) -> Result<()>;
    /// The record's indexed lookup key (`records.lookup`).
    fn record_lookup(&mut self, entity: &str, entity_id: &str) -> Result<Option<String>>;
    /// A record's fields, if the hall holds it.
    fn record_in_hall(
        &mut self,
        entity: &str,
        entity_id: &str,
        hall_code: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>>;
    /// What a matter of `hall_code` is judged by (none when the hall holds no such matter).
    fn matter_subject(&mut self, matter_id: &str, hall_code: &str)
    -> Result<Option<MatterSubject>>;
    /// The steps of the matter that `hall_code`'s devices recorded: another hall's record naming
    /// the matter is not one of its steps.
    fn matter_steps(&mut self, matter_id: &str, hall_code: &str)
    -> Result<Vec<derive::StepRecord>>;
    fn set_matter_derived(
        &mut self,
        matter_id: &str,
        hall_code: &str,
        status: &str,
        state: &str,
        event_count: i64,
    ) -> Result<()>;

    // People (docs/sync.md "People").
    /// The merges not undone and the visit moves, not deleted.
    fn person_links(
        &mut self,
    ) -> Result<(
        Vec<xinfang_core::people::Merge>,
        Vec<xinfang_core::people::VisitMove>,
    )>;
    fn visitors_by_id_number(&mut self, id_number: &str) -> Result<Vec<String>>;
    /// The visits a visitor record is linked to (`visit_visitor`).
    fn visits_of_visitor(&mut self, visitor_id: &str) -> Result<Vec<String>>;
    fn visit_facts(&mut self, visit_id: &str) -> Result<Option<VisitFacts>>;
    fn visit_matter(&mut self, visit_id: &str) -> Result<Option<String>>;
    fn matter_facts(&mut self, matter_id: &str) -> Result<Option<MatterFacts>>;
    /// Per hall, what is held: visitor records, visits, matters, live devices, changes.
    fn hall_counts(&mut self) -> Result<Vec<HallCounts>>;
    fn visitor_hall(&mut self, visitor_id: &str) -> Result<Option<String>>;

    // Audit.
    /// The last stored entry of the device's chain: (seq, hash).
    fn audit_last(&mut self, device_id: &str) -> Result<Option<(i64, String)>>;
    fn audit_hash(&mut self, device_id: &str, seq: i64) -> Result<Option<String>>;
    fn insert_audit(&mut self, device: &Device, e: &AuditEntry) -> Result<()>;
    /// The hash a device reported with a change push for its audit entry `seq`.
    fn reported_head(&mut self, device_id: &str, seq: i64) -> Result<Option<String>>;
    fn furthest_head(&mut self, device_id: &str) -> Result<i64>;
    /// Keeps a reported head unless one is kept for that sequence already.
    fn insert_head(&mut self, device_id: &str, head: &AuditHead) -> Result<()>;
    /// Keeps where a device's chain did not hold (again: one more attempt).
    fn record_break(&mut self, device: &Device, fault: &ChainFault) -> Result<()>;
    fn audit_devices(&mut self) -> Result<Vec<AuditDevice>>;
    fn audit_entries(&mut self, device_id: &str) -> Result<Vec<AuditEntry>>;
    fn audit_breaks(&mut self, device_id: &str) -> Result<Vec<AuditBreak>>;

    // Queue numbers and calls (issue 17; `crate::hall_desk`).
    /// One more than the last number issued for the hall's day (1 for the first), kept: a
    /// number is never issued twice, even when the next transaction fails.
    fn next_queue_number(&mut self, hall_code: &str, day: &str) -> Result<i64>;
    /// Keeps a call; its id, which grows with every call.
    fn insert_hall_call(&mut self, call: &NewHallCall) -> Result<i64>;
    /// The hall's calls of the day, latest first, at most `limit`.
    fn hall_calls(&mut self, hall_code: &str, day: &str, limit: i64) -> Result<Vec<CallRow>>;
    /// The desk letters given out in the hall (`B017`'s `B`), with their desks.
    fn queue_letters(&mut self, hall_code: &str) -> Result<Vec<LetterRow>>;
    /// Gives `letter` of the hall to `device_id` (taking it from a revoked desk).
    fn set_queue_letter(&mut self, hall_code: &str, letter: &str, device_id: &str) -> Result<()>;
    // Signed updates (issue 20; `crate::updates`).
    /// The update key (minisign public key) packages are checked against, if set.
    fn update_key(&mut self) -> Result<Option<String>>;
    /// Sets the update key (replacing one).
    fn set_update_key(&mut self, public_key: &str) -> Result<()>;
    /// Every published package, without the bytes.
    fn releases(&mut self) -> Result<Vec<ReleaseRow>>;
    /// Keeps a package (refused by the primary key when the version and kind are held).
    fn insert_release(&mut self, r: &NewRelease<'_>) -> Result<()>;
    /// The bytes of a package, if held.
    fn release_bytes(&mut self, version: &str, kind: &str) -> Result<Option<Vec<u8>>>;

    /// The numbers waiting for the lawyer's and the mediator's rooms: the hall's hand-offs
    /// still `waiting` whose visit is of `day` and has a queue number, oldest hand-off first,
    /// at most `limit`. Only hand-offs with an id from `since_id` on are read: their ids are
    /// UUIDv7, so the bound keeps the read to the last days however old the hall's data.
    fn hall_waiting(
        &mut self,
        hall_code: &str,
        day: &str,
        since_id: &str,
        limit: i64,
    ) -> Result<Vec<WaitingRow>>;
}

/// A package to publish (issue 20): checked by [`crate::updates`] before it is kept.
#[derive(Debug, Clone, Copy)]
pub struct NewRelease<'a> {
    pub version: &'a str,
    pub kind: &'a str,
    pub sha256: &'a str,
    pub signature: &'a str,
    pub notes: &'a str,
    /// RFC 3339; a hub keeps the city's.
    pub published_at: &'a str,
    pub bytes: &'a [u8],
}

/// A published package as listed (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRow {
    pub version: String,
    pub kind: String,
    pub size: i64,
    pub sha256: String,
    pub signature: String,
    pub notes: String,
    pub published_at: String,
}

/// A record to store if it is not yet held ([`Tx::insert_new_records`]): every field at one
/// version (`hlc`, `device_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewRecord<'a> {
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub hall_code: &'a str,
    pub data_json: &'a str,
    pub hlc: i64,
    pub device_id: &'a str,
    pub lookup: Option<&'a str>,
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

/// Opens the SQLite file `path`, encrypted with `key` when given; the city's own holiday years
/// come from `data_dir` when given.
pub fn open_sqlite(
    path: &Path,
    data_dir: Option<&Path>,
    key: Option<&sqlite::CityKey>,
) -> Result<std::sync::Arc<dyn Storage>> {
    Ok(std::sync::Arc::new(SqliteStorage::open_file_at(
        path,
        data_dir,
        key,
        std::sync::Arc::new(xinfang_core::clock::SystemClock),
    )?))
}

/// Connects to the PostgreSQL database `uri` (migrating it); the city's own holiday years come
/// from `data_dir` when given.
pub fn open_postgres(uri: &str, data_dir: Option<&Path>) -> Result<std::sync::Arc<dyn Storage>> {
    Ok(std::sync::Arc::new(PgStorage::open(
        uri,
        data_dir,
        std::sync::Arc::new(xinfang_core::clock::SystemClock),
    )?))
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

/// The indexed lookup key of a record (`records.lookup`): what the repeat-visit lookup and the
/// derivation of a matter's state find records by.
pub fn lookup_key(
    entity: &str,
    data: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    let field = match entity {
        "visitor" => "id_number",
        "visit_visitor" => "visitor_id",
        "matter_event" => "matter_id",
        _ => return None,
    };
    data.get(field)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// A call to keep (issue 17): a number, a room, who called; never a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHallCall {
    pub hall_code: String,
    pub day: String,
    pub queue_label: String,
    pub room: String,
    pub device_id: String,
}

/// A desk letter given out, and whether its desk has been revoked since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRow {
    pub letter: String,
    pub device_id: String,
    pub revoked: bool,
}

/// A number waiting for a hand-off desk's room (`desk`: `lawyer` or `mediator`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingRow {
    pub desk: String,
    pub queue_label: String,
}

/// A call as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    pub id: i64,
    pub queue_label: String,
    pub room: String,
    pub called_at: String,
}
