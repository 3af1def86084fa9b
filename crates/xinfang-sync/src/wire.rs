//! What travels between a desk and the city server, as JSON. Both sides use these types, and the
//! city server's OpenAPI document is generated from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hlc::Hlc;

/// Largest number of changes in one push; larger batches get 413.
pub const MAX_PUSH_CHANGES: usize = 2000;
/// Largest request body the server reads, in bytes; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest number of audit entries in one push; larger batches get 413.
pub const MAX_AUDIT_ENTRIES: usize = 2000;
/// Most changes one pull answer holds.
pub const MAX_PULL_CHANGES: u32 = 2000;
/// Bytes of changes (or of records) one page carries, at most: a push, a pull, a snapshot
/// page, a desk's own changes handed back. Half the body limit, so a page is an answer a slow
/// county line brings within a sync's patience whatever its records hold (2,000 visitors'
/// photos in one page would be ≈ 250 MB).
pub const MAX_PAGE_BYTES: usize = MAX_BODY_BYTES / 2;

/// How many of `items`, from the first, fit in `budget` bytes, `size` each; at least one, so
/// a record larger than the budget still travels, alone.
pub fn fitting<T>(items: &[T], budget: usize, size: impl Fn(&T) -> usize) -> usize {
    let mut used = 0usize;
    items
        .iter()
        .position(|item| {
            used = used.saturating_add(size(item));
            used > budget
        })
        .map_or(items.len(), |i| i.max(1))
}

/// What a change weighs in a page: its fields as JSON and what goes around them.
pub fn change_bytes(change: &Change) -> usize {
    json_len(&change.fields) + 200
}

/// Bytes `value` takes as JSON, counted without writing it out.
pub fn json_len(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).map_or(0, |()| count.0)
}

/// The sync protocol this build speaks. 2: restores recover their own changes
/// (`POST /v1/sync/own`), refused changes are set aside one by one, clocks are bounded.
pub const PROTOCOL_VERSION: u32 = 2;
/// Request header carrying the desk's protocol version (a request without it is protocol 1).
pub const PROTOCOL_HEADER: &str = "x-xinfang-protocol";
/// Request header carrying the desk's store schema version (SQLite `user_version`).
pub const SCHEMA_HEADER: &str = "x-xinfang-schema";

/// What a change does to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Insert,
    Update,
    /// A tombstone: the record is marked deleted, never removed.
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        match s {
            "insert" => Some(Op::Insert),
            "update" => Some(Op::Update),
            "delete" => Some(Op::Delete),
            _ => None,
        }
    }
}

/// One row of a desk's change log, as pushed. `(device id, seq)` names it everywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// Device sequence number: 1, 2, 3, … per device, without holes.
    pub seq: i64,
    /// Kind of record, e.g. `visitor`, `visit`, `visit_visitor`, `matter`, `staff`.
    pub entity: String,
    /// The record's id (UUIDv7; `visit_id:visitor_id` for a visit's visitor).
    pub entity_id: String,
    pub op: Op,
    /// The changed fields and their new values (all fields for an insert).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: Map<String, Value>,
    /// Hybrid-logical-clock timestamp of the change.
    pub hlc: Hlc,
    /// The desk's wall-clock time of the change (RFC 3339), for people; ordering uses `hlc`.
    pub changed_at: String,
}

/// A change as the server hands it out: with the device it came from and its server sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoteChange {
    pub device_id: String,
    /// Order of arrival at the server; pull answers are sorted by it (causal order).
    pub server_seq: i64,
    pub change: Change,
}

/// `POST /v1/enrol`: a desk trades a one-time code for a device token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolRequest {
    /// The one-time code from `xinfang-city enrol-code`.
    pub code: String,
    /// The desk's device id (UUID, minted when its store was created).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9-]{8,64}$"))]
    pub device_id: String,
    /// The desk's hall (6-digit GB/T 2260 code); must be the code's hall.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9]{6}$"))]
    pub hall_code: String,
    /// A label for the city administrator, e.g. the computer's name.
    #[serde(default)]
    pub device_name: String,
    /// The hall id key this desk derived its visitor ids with before enrolling; the city
    /// keeps it when the hall has none yet (docs/sync.md "Enrolment").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[0-9a-f]{64}$"))]
    pub hall_id_key: Option<HallIdKey>,
    /// The desk's first admin(s), whose own keys sign their accounts: the city pins them as
    /// roots of the hall's staff changes (docs/security.md "Signed staff changes").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub root_keys: Vec<crate::staff_sig::RootKey>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolResponse {
    pub device_id: String,
    pub hall_code: String,
    pub hall_name: String,
    /// Bearer token for every later call. Shown once; the server keeps only its hash.
    pub token: String,
    /// The hall's id key: every desk of the hall derives visitor ids with it. Absent from
    /// servers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[0-9a-f]{64}$"))]
    pub hall_id_key: Option<HallIdKey>,
    /// The hall's pinned root keys (every enrolled desk's first admins): a desk checks the
    /// staff changes it pulls back to them. Absent from servers that predate them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hall_roots: Vec<crate::staff_sig::RootKey>,
    /// The letter of the queue numbers this desk issues when it cannot reach the server
    /// (`B017`), its own in the hall. Absent from servers that predate it, and for hubs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_letter: Option<String>,
    /// The city's update key (minisign public key, `RW…`): the desk pins it and checks every
    /// update package against it, never taking another later (docs/security.md "Signed
    /// updates"). Absent when the city has none, and from servers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_key: Option<String>,
}

/// A hall's visitor-id key: 32 random bytes as 64 lowercase hex digits, kept by the city per
/// hall and by every enrolled desk of the hall (docs/security.md, item 4). Without it a
/// visitor id says nothing about the ID number it was derived from. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HallIdKey(String);

impl HallIdKey {
    /// The key of these bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> HallIdKey {
        HallIdKey(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The key as written (checked by [`HallIdKey::bytes`]).
    pub fn from_hex(text: impl Into<String>) -> HallIdKey {
        HallIdKey(text.into())
    }

    /// The 32 bytes, or `None` when the text is not 64 hex digits.
    pub fn bytes(&self) -> Option<[u8; 32]> {
        let s = self.0.as_bytes();
        if s.len() != 64 || !s.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(out)
    }
}

impl std::fmt::Debug for HallIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HallIdKey(<redacted>)")
    }
}

impl std::fmt::Debug for EnrolResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrolResponse")
            .field("device_id", &self.device_id)
            .field("hall_code", &self.hall_code)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// `GET /v1/sync/state`: what the server holds of this device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceState {
    pub device_id: String,
    pub hall_code: String,
    pub hall_name: String,
    /// Highest device sequence the server has stored for this device (0 for none).
    pub server_max_seq: i64,
    /// Highest server sequence assigned so far.
    pub server_seq: i64,
    /// Version of the city reference data (`GET /v1/reference`); a desk holding another
    /// version fetches it. Absent from servers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_version: Option<String>,
    /// Highest audit-log sequence the server has stored for this device (0 for none); the
    /// desk pushes its audit entries after it (`POST /v1/audit/push`). Absent from servers
    /// that predate audit sync: the desk then keeps its entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_max_seq: Option<i64>,
    /// The server's wall-clock time (Unix milliseconds) when it answered: a desk whose clock
    /// differs by more than the allowed drift says 本机时间不准 and does not push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_time_ms: Option<i64>,
    /// Lowest protocol version the server accepts (header `X-Xinfang-Protocol`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_protocol: Option<u32>,
    /// The hall's id key, for a desk enrolled before the city handed it out at enrolment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[0-9a-f]{64}$"))]
    pub hall_id_key: Option<HallIdKey>,
    /// The hall's pinned root keys, as at enrolment (a desk enrolled later adds its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hall_roots: Vec<crate::staff_sig::RootKey>,
    /// This desk's letter for the queue numbers it issues offline, as at enrolment (given
    /// now to a desk enrolled before letters were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_letter: Option<String>,
    /// The city's update key, for a desk enrolled before the city had one: a desk pins the
    /// first it is given and never takes another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_key: Option<String>,
}

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// Consecutive changes of the calling device, in sequence order.
    pub changes: Vec<Change>,
    /// The head of the device's audit chain as it pushes (docs/sync.md "Audit entries"): the
    /// city keeps every head a device reported, so an entry rewritten on the desk after its
    /// head was reported is refused when it arrives, and a chain that goes back is flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<AuditHead>,
}

/// The last entry of a device's audit chain: its sequence and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// Changes stored for the first time.
    pub accepted: u64,
    /// Changes the server already had (a repeated push).
    pub duplicates: u64,
    /// Highest device sequence now stored for this device.
    pub server_max_seq: i64,
    /// Changes of this batch the server set aside (quarantined) instead of applying: each
    /// still takes its sequence number, the others were stored and applied. The city
    /// administrator sees them in `GET /v1/city/quarantine`.
    #[serde(default)]
    pub set_aside: Vec<SetAside>,
}

/// A pushed change the server set aside, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetAside {
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    /// Stable machine code, e.g. `clock_ahead`, `hall_forbidden`.
    pub code: String,
    /// Why, in Chinese.
    pub reason: String,
}

/// `POST /v1/sync/own`: the calling device's own changes as the server holds them, for a desk
/// restored from a backup that lacks them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnChangesRequest {
    /// Return the device's changes with `seq > after`.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub after: i64,
    /// Most changes to return (default and maximum 2000). A page also ends before 8 MiB of
    /// changes (`MAX_PAGE_BYTES`, photos); `more` then says more are waiting.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2000))]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnChangesResponse {
    /// The device's changes after `after`, in sequence order, set-aside ones included (each
    /// sequence number once, without holes), with their server sequence (0 for a set-aside
    /// one, which has none) so the desk can apply them in the order the hall's changes
    /// arrived.
    pub changes: Vec<RemoteChange>,
    /// More are waiting: ask again after the last one.
    pub more: bool,
    /// Highest device sequence stored for this device.
    pub server_max_seq: i64,
}

/// One change the server set aside (city administrator's view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuarantinedChange {
    pub device_id: String,
    pub hall_code: String,
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub op: Op,
    pub hlc: Hlc,
    pub changed_at: String,
    pub code: String,
    pub reason: String,
    pub received_at: String,
}

/// `GET /v1/city/quarantine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quarantine {
    pub total: i64,
    /// Newest first, at most 1,000.
    pub changes: Vec<QuarantinedChange>,
}

/// `POST /v1/sync/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullRequest {
    /// Per-device cursors: for each device, the highest device sequence already received.
    /// Devices not listed start at 0.
    #[serde(default)]
    pub cursors: BTreeMap<String, i64>,
    /// Most changes to return (default and maximum 2000). A page also ends before 8 MiB of
    /// changes (`MAX_PAGE_BYTES`, photos); `more` then says more are waiting.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2000))]
    pub limit: Option<u32>,
    /// The hall asked for; when given it must be the device's own hall.
    #[serde(default)]
    pub hall_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Changes of the hall's other devices after the cursors, in server-sequence order.
    pub changes: Vec<RemoteChange>,
    /// The cursors after these changes, for every device of the hall (own device excluded).
    pub cursors: BTreeMap<String, i64>,
    /// More changes are waiting: pull again with the new cursors.
    pub more: bool,
    /// Highest server sequence assigned when this answer was made.
    pub server_seq: i64,
}

/// `POST /v1/sync/snapshot`: one page of the hall's records of one entity, for a new desk's
/// first sync (docs/sync.md "Snapshot"). Records of most entities come as their merged state;
/// those whose fields the desk checks for conflicts, or that a desk's own records may clash
/// with, come as the changes that made them ([`snapshot_as_changes`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotRequest {
    /// The entity (`visit`, `matter_event`, …).
    pub entity: String,
    /// Where the last page ended ([`SnapshotResponse::next`]); absent for the first page.
    #[serde(default)]
    pub after: Option<String>,
    /// Most records or changes to return (default and maximum 2000). A page also ends before
    /// 8 MiB of them (`MAX_PAGE_BYTES`, photos); `next` then says where the rest starts.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2000))]
    pub limit: Option<u32>,
}

/// One record as the city holds it: its fields' merged values and their versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotRecord {
    pub entity_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Map<String, Value>,
    /// The version (hybrid logical clock, device) that wrote most fields.
    pub base_hlc: i64,
    pub base_device: String,
    /// Fields written by another version than the base: field → (hlc, device).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub versions: BTreeMap<String, (i64, String)>,
    /// The record was deleted (by this version).
    #[serde(default)]
    pub deleted: Option<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotResponse {
    /// For every other device of the hall, its highest sequence the city held when this page
    /// was read. Every record of a later page holds at least these changes; a desk pulls
    /// after the cursors of its first page.
    pub cursors: BTreeMap<String, i64>,
    /// Merged records, by id (entities not taken as changes).
    #[serde(default)]
    pub records: Vec<SnapshotRecord>,
    /// The changes that made the records, in server order (entities taken as changes; the
    /// asking device's own are left out).
    #[serde(default)]
    pub changes: Vec<RemoteChange>,
    /// Where the next page starts; absent when this was the entity's last page.
    pub next: Option<String>,
}

/// Whether a snapshot carries `entity` as the changes that made its records rather than as
/// merged records: a person's fields keep every concurrent write as a conflict (the merged
/// state alone would drop them), and a staff record may clash with a new desk's own accounts
/// (a pulled change refused here is kept and set aside, a record could not be).
pub fn snapshot_as_changes(entity: &str) -> bool {
    entity == "staff"
        || crate::merge::CONFLICT_FIELDS
            .iter()
            .any(|(e, _)| *e == entity)
}

/// Error body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable machine code, e.g. `token_revoked`, `hall_forbidden`, `body_too_large`.
    pub code: String,
    /// What is wrong and how to fix it, in Chinese.
    pub message: String,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// City reference data (`GET /v1/reference`): each list as the JSON the assets hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferenceBundle {
    /// Changes whenever any list changes (a hash of their contents).
    pub version: String,
    /// Name → JSON document, e.g. `categories`, `legal_routes`, `holidays/2026`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub lists: BTreeMap<String, Value>,
}

/// One hall's figures in the city view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HallCounts {
    pub hall_code: String,
    pub hall_name: String,
    pub visitors: i64,
    pub visits: i64,
    pub matters: i64,
    pub devices: i64,
    /// Changes received from the hall's devices.
    pub changes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CityCounts {
    pub halls: Vec<HallCounts>,
    pub total_visitors: i64,
    pub total_visits: i64,
    pub total_matters: i64,
}

/// `POST /v1/sync/person-matters`: at registration, a desk asks which matters the person with
/// this document has at the city's other halls (重复访 joins, 不再受理 and 越级访 are judged on
/// them). The number goes in the body, never in a URL that proxies log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonMattersRequest {
    pub id_number: String,
}

/// One matter of the person at another hall, as the city holds it. A 检举控告 matter is never
/// listed: it stays with its hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OtherHallMatter {
    pub hall_code: String,
    pub hall_name: String,
    pub matter_id: String,
    pub received_on: String,
    pub appeal_kind: String,
    pub category_code: String,
    /// The appeal of its first visit, the unit it concerns and where the problem arose.
    pub appeal: String,
    pub agency: String,
    pub place_code: String,
    /// Its status code and derived state (`xinfang_core::matter::MatterState` as JSON; empty
    /// before the first step).
    pub status: String,
    pub state: String,
    /// Its visits (the first and its repeat visits) and the latest one (RFC 3339).
    pub visits: i64,
    pub last_visit_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonMattersResponse {
    /// Newest visit first; the asking desk's own hall is left out (the desk holds those).
    pub matters: Vec<OtherHallMatter>,
}

/// One visit of a person found by resident ID across halls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepeatVisit {
    pub hall_code: String,
    pub hall_name: String,
    pub visitor_id: String,
    pub visit_id: String,
    pub visited_at: String,
    pub category_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepeatVisits {
    pub id_number: String,
    /// Distinct halls the person has visited.
    pub halls: Vec<String>,
    /// Visits, newest first.
    pub visits: Vec<RepeatVisit>,
}

// ---- Hall hub (docs/sync.md "Hall hub") ---------------------------------------------------

/// A device of a hall as a hub and its city tell each other of it at every relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubDevice {
    pub id: String,
    pub name: String,
    /// Revoked where it is told from: revoked on the other side at this relay.
    pub revoked: bool,
    /// Highest device sequence stored on the side that tells (applied or set aside).
    pub max_seq: i64,
    /// Highest audit sequence stored on the side that tells.
    pub audit_max_seq: i64,
}

/// `POST /v1/hub/devices`: the hub's devices and root keys; the city answers with its own view
/// of the hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubDevicesRequest {
    pub devices: Vec<HubDevice>,
    /// Root keys of staff changes pinned at the hub (its desks' first admins).
    #[serde(default)]
    pub roots: Vec<crate::staff_sig::RootKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubDevicesResponse {
    /// Every desk of the hub's hall the city knows, with what it holds of each.
    pub devices: Vec<HubDevice>,
    /// Device ids the hub told of that the city refused (of another hall, not a desk id).
    pub refused: Vec<String>,
    /// The hall's pinned root keys.
    pub hall_roots: Vec<crate::staff_sig::RootKey>,
    /// The version of the city's reference data (`GET /v1/reference`).
    pub reference_version: String,
}

/// `POST /v1/hub/push`: changes of one desk of the hub's hall, as the desk made them (its
/// device id and sequence numbers), stored by the city exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubPushRequest {
    pub device_id: String,
    pub changes: Vec<Change>,
}

/// `POST /v1/hub/pull`: one desk's changes as the city holds them after `after` (applied and
/// set aside, each sequence number once), for the hub to hold the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubPullRequest {
    pub device_id: String,
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub after: i64,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2000))]
    pub limit: Option<u32>,
}

/// `POST /v1/hub/audit`: one desk's audit entries, continued on its chain at the city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HubAuditRequest {
    pub device_id: String,
    pub entries: Vec<crate::audit::AuditEntry>,
}
