//! The embedded SQLite backend: one file in the data dir, one writer connection.
//!
//! Writes are serialised by the connection's mutex, so `changes.server_seq` (the rowid) is handed
//! out in commit order: a reader can never see seq n+1 committed while n is still in flight.
//! Per-device cursors make pulls gap-free regardless (docs/sync.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rusqlite_migration::{M, Migrations};
use serde_json::{Map, Value};
use xinfang_core::clock::{Clock, SystemClock};
use xinfang_core::tally::StatsAccumulator;
use xinfang_sync::audit::{
    AuditBreak, AuditChains, AuditEntry, AuditPushResponse, ChainFault, DeviceAuditChain, GENESIS,
    check_link, verify_chain,
};
use xinfang_sync::merge::{self, Record, Version};
use xinfang_sync::staff_sig::{self, RootKey};
use xinfang_sync::wire::{
    AuditHead, CityCounts, HallCounts, MAX_PULL_CHANGES, OtherHallMatter, OwnChangesResponse,
    PullResponse, PushResponse, Quarantine, QuarantinedChange, RepeatVisit, RepeatVisits, SetAside,
    SnapshotRecord, SnapshotRequest, SnapshotResponse, snapshot_as_changes,
};
use xinfang_sync::{Change, Hlc, Op, RemoteChange};

use super::{
    AdminToken, AuditPushOutcome, Device, Hall, LogEntry, NewEnrolment, NewLogEntry,
    PRELOADED_HALLS, Result, Storage, StorageError,
};

pub const DB_FILE: &str = "city.db";

/// The city database's key: 32 random bytes, kept in a file of its own as 64 hex digits
/// (`xinfang-city init-key F`, mode 0600). Wiped from memory when dropped.
pub struct CityKey(zeroize::Zeroizing<[u8; 32]>);

impl std::fmt::Debug for CityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CityKey(…)")
    }
}

impl CityKey {
    fn pragma(&self) -> zeroize::Zeroizing<String> {
        let mut s = zeroize::Zeroizing::new(String::from("PRAGMA key = \"x'"));
        for b in self.0.iter() {
            s.push_str(&format!("{b:02x}"));
        }
        s.push_str("'\";");
        s
    }

    /// Writes a fresh random key to `path`, which must not exist yet (mode 0600).
    pub fn generate(path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..]).map_err(std::io::Error::other)?;
        let mut text = zeroize::Zeroizing::new(String::with_capacity(65));
        for b in bytes.iter() {
            text.push_str(&format!("{b:02x}"));
        }
        text.push('\n');
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    }

    /// Reads a key file written by [`CityKey::generate`].
    pub fn read(path: &Path) -> std::io::Result<CityKey> {
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path)?);
        let hex = text.trim();
        let bad = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "密钥文件应为 64 位十六进制数字（用 `xinfang-city init-key` 生成）",
            )
        };
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(CityKey(key))
    }
}

fn backend<E: std::fmt::Display>(e: E) -> StorageError {
    StorageError::Backend(e.to_string())
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        backend(e)
    }
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_city.sql")),
        M::up(include_str!("../../migrations/0002_audit.sql")),
        M::up(include_str!("../../migrations/0003_quarantine.sql")),
        M::up(include_str!("../../migrations/0004_records.sql")),
        M::up(include_str!("../../migrations/0005_security.sql")),
        M::up(include_str!("../../migrations/0006_stats.sql")),
        M::up(include_str!("../../migrations/0007_audit_heads.sql")),
        M::up(include_str!("../../migrations/0008_hall_id_keys.sql")),
        M::up(include_str!("../../migrations/0009_hall_roots.sql")),
    ])
}

fn append_log(conn: &Connection, e: &NewLogEntry, at: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO city_log(at, action, actor, device_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![at, e.action, e.actor, e.device_id, e.detail])?;
    Ok(())
}

/// The time of `clock` as stored: RFC 3339 in seconds, China Standard Time.
fn now_text(clock: &dyn Clock) -> String {
    clock
        .now_cst()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub struct SqliteStorage {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Deadlines of matters derived from their steps are computed with it.
    calendar: xinfang_core::calendar::HolidayCalendar,
    /// The time stamps it writes come from here.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStorage {
    /// Opens (creating and migrating if needed) a plaintext `city.db` in `data_dir`: only
    /// for `--no-encryption` (the demo, tests that choose to).
    pub fn open(data_dir: &Path) -> Result<SqliteStorage> {
        Self::open_keyed(data_dir, None)
    }

    /// Opens (creating and migrating if needed) `city.db` in `data_dir`, encrypted with `key`
    /// (SQLCipher raw key) when given.
    pub fn open_keyed(data_dir: &Path, key: Option<&CityKey>) -> Result<SqliteStorage> {
        Self::open_keyed_at(data_dir, key, Arc::new(SystemClock))
    }

    /// [`SqliteStorage::open_keyed`] with the time of `clock` (tests set it).
    pub fn open_keyed_at(
        data_dir: &Path,
        key: Option<&CityKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<SqliteStorage> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StorageError::Backend(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        if let Some(key) = key {
            conn.execute_batch(&key.pragma())?;
        }
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(StorageError::Backend(if key.is_some() {
                    "数据库无法用这个密钥打开：密钥文件不对，或数据库未加密".to_owned()
                } else {
                    "数据库已加密：请用 --key-file 指定密钥文件".to_owned()
                }));
            }
            Err(e) => return Err(e.into()),
        }
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA cache_size = -65536;",
        )?;
        migrations().to_latest(&mut conn).map_err(backend)?;
        {
            let tx = conn.transaction()?;
            let empty: bool = tx.query_row("SELECT count(*) = 0 FROM halls", [], |r| r.get(0))?;
            if empty {
                let now = now_text(&*clock);
                for (code, name) in PRELOADED_HALLS {
                    tx.execute(
                        "INSERT INTO halls(code, name, created_at) VALUES (?1, ?2, ?3)",
                        params![code, name, now],
                    )?;
                }
            }
            tx.commit()?;
        }
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
            path,
            calendar: super::derive::city_calendar(data_dir),
            clock,
        })
    }

    fn now_text(&self) -> String {
        now_text(&*self.clock)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn hall_name(conn: &Connection, code: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT name FROM halls WHERE code = ?1")?
        .query_row([code], |r| r.get(0))
        .optional()?)
}

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        hall_code: r.get(1)?,
        name: r.get(2)?,
        enrolled_at: r.get(3)?,
        revoked_at: r.get(4)?,
    })
}

/// The indexed lookup key of a record (see `records.lookup`).
fn lookup_key(entity: &str, data: &Map<String, Value>) -> Option<String> {
    let field = match entity {
        "visitor" => "id_number",
        "visit_visitor" => "visitor_id",
        "matter_event" => "matter_id",
        _ => return None,
    };
    data.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// Who shows under whom at the city, by the desks' rule (`xinfang_core::people`) from the
/// merge, unmerge and visit-move records held here (few: read whole), and the moved links.
#[allow(clippy::type_complexity)]
fn city_people(
    conn: &Connection,
) -> Result<(
    xinfang_core::people::People,
    BTreeMap<(String, String), String>,
)> {
    use xinfang_core::people::{Merge, VisitMove, moved_links, resolve};
    let merges: Vec<Merge> = conn
        .prepare_cached(
            "SELECT entity_id, json_extract(data, '$.survivor_id'), json_extract(data, '$.merged_id'), base_hlc
             FROM records m WHERE entity = 'person_merge' AND deleted_hlc IS NULL
               AND NOT EXISTS (SELECT 1 FROM records u WHERE u.entity = 'person_unmerge'
                                 AND u.deleted_hlc IS NULL
                                 AND json_extract(u.data, '$.merge_id') = m.entity_id)",
        )?
        .query_map([], |r| {
            Ok(Merge {
                id: r.get(0)?,
                survivor: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                merged: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                hlc: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let moves: Vec<VisitMove> = conn
        .prepare_cached(
            "SELECT entity_id, json_extract(data, '$.visit_id'), json_extract(data, '$.from_visitor'),
                    json_extract(data, '$.to_visitor'), base_hlc
             FROM records WHERE entity = 'visit_move' AND deleted_hlc IS NULL",
        )?
        .query_map([], |r| {
            Ok(VisitMove {
                id: r.get(0)?,
                visit_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                from: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                to: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                hlc: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok((resolve(&merges), moved_links(&moves)))
}

/// A stored record, with its versions, as the merge rules see it.
struct Stored {
    hall_code: String,
    record: Record,
}

/// A `records` row read as (first column, data, versions, base_hlc, base_device, deleted_hlc,
/// deleted_device).
type RecordRow = (
    String,
    String,
    String,
    i64,
    String,
    Option<i64>,
    Option<String>,
);

fn record_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn load_record(tx: &Transaction<'_>, entity: &str, entity_id: &str) -> Result<Option<Stored>> {
    let row = tx
        .prepare_cached(
            "SELECT hall_code, data, versions, base_hlc, base_device, deleted_hlc, deleted_device
             FROM records WHERE entity = ?1 AND entity_id = ?2",
        )?
        .query_row(params![entity, entity_id], record_row)
        .optional()?;
    let Some((hall_code, data, versions, base_hlc, base_device, del_hlc, del_dev)) = row else {
        return Ok(None);
    };
    let data: Map<String, Value> = serde_json::from_str(&data).map_err(backend)?;
    let versions: BTreeMap<String, Version> = serde_json::from_str(&versions).map_err(backend)?;
    let base = Version::new(Hlc(base_hlc), base_device);
    let mut record = Record::default();
    for (field, value) in data {
        let v = versions
            .get(&field)
            .cloned()
            .unwrap_or_else(|| base.clone());
        record.fields.insert(field, (value, v));
    }
    record.deleted = match (del_hlc, del_dev) {
        (Some(h), Some(d)) => Some(Version::new(Hlc(h), d)),
        _ => None,
    };
    Ok(Some(Stored { hall_code, record }))
}

fn save_record(tx: &Transaction<'_>, entity: &str, entity_id: &str, stored: &Stored) -> Result<()> {
    // The base version is the one that wrote most fields; the others are listed.
    let mut tally: BTreeMap<&Version, usize> = BTreeMap::new();
    for (_, v) in stored.record.fields.values() {
        *tally.entry(v).or_default() += 1;
    }
    let base = tally
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
        .map(|(v, _)| (*v).clone())
        .or_else(|| stored.record.deleted.clone())
        .unwrap_or_else(|| Version::new(Hlc::ZERO, ""));
    let versions: BTreeMap<&String, &Version> = stored
        .record
        .fields
        .iter()
        .filter(|(_, (_, v))| *v != base)
        .map(|(k, (_, v))| (k, v))
        .collect();
    let data = stored.record.values();
    tx.prepare_cached(
        "INSERT INTO records(entity, entity_id, hall_code, data, versions, base_hlc, base_device,
           deleted_hlc, deleted_device, lookup)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(entity, entity_id) DO UPDATE SET data = excluded.data,
           versions = excluded.versions, base_hlc = excluded.base_hlc,
           base_device = excluded.base_device, deleted_hlc = excluded.deleted_hlc,
           deleted_device = excluded.deleted_device, lookup = excluded.lookup",
    )?
    .execute(params![
        entity,
        entity_id,
        stored.hall_code,
        Value::Object(data.clone()).to_string(),
        serde_json::to_string(&versions).map_err(backend)?,
        base.hlc.0,
        base.device_id,
        stored.record.deleted.as_ref().map(|d| d.hlc.0),
        stored.record.deleted.as_ref().map(|d| d.device_id.clone()),
        lookup_key(entity, &data),
    ])?;
    Ok(())
}

fn hall_forbidden(what: &str, hall: &str) -> StorageError {
    StorageError::refused(
        403,
        "hall_forbidden",
        format!("{what}属于其他大厅（{hall}），本设备无权读写：每台设备只能同步本大厅的数据。"),
    )
}

/// Derives a matter's status, state and step count from all the step records the city holds
/// (the desks' rule: `xinfang_core::matter::fold_steps`). A matter without steps keeps what
/// was pushed.
fn rederive_matter(
    tx: &Transaction<'_>,
    matter_id: &str,
    cal: &xinfang_core::calendar::HolidayCalendar,
) -> Result<()> {
    // The matter's kind and the unit its first visit concerns: the kind's procedure judges
    // the steps by them.
    let row: Option<(Option<String>, Option<String>, Option<String>)> = tx
        .prepare_cached(
            "SELECT json_extract(m.data, '$.received_on'), json_extract(m.data, '$.appeal_kind'),
               json_extract(v.data, '$.agency')
             FROM records m
             LEFT JOIN records v ON v.entity = 'visit'
               AND v.entity_id = json_extract(m.data, '$.first_visit_id')
             WHERE m.entity = 'matter' AND m.entity_id = ?1",
        )?
        .query_row([matter_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((Some(received), kind, agency)) = row else {
        return Ok(());
    };
    let subject = xinfang_core::matter::Subject {
        kind: kind
            .as_deref()
            .and_then(xinfang_core::reference::AppealKind::parse)
            .unwrap_or(xinfang_core::reference::AppealKind::Claim),
        agency: agency.as_deref(),
    };
    let steps: Vec<super::derive::StepRecord> = {
        let mut stmt = tx.prepare_cached(
            "SELECT entity_id, data, base_hlc FROM records
             WHERE entity = 'matter_event' AND lookup = ?1",
        )?;
        let rows: Vec<(String, String, i64)> = stmt
            .query_map([matter_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .filter_map(|(id, data, base_hlc)| {
                Some(super::derive::StepRecord {
                    id,
                    data: serde_json::from_str(&data).ok()?,
                    base_hlc,
                })
            })
            .collect()
    };
    if let Some((status, state, count)) =
        super::derive::matter_fields(&received, subject, &steps, cal)
    {
        tx.prepare_cached(
            "UPDATE records SET data = json_set(data, '$.status', ?2, '$.state', ?3, '$.event_count', ?4)
             WHERE entity = 'matter' AND entity_id = ?1",
        )?
        .execute(params![matter_id, status, state, count])?;
    }
    Ok(())
}

/// The matter a change may change the derived status of.
fn matter_of_change(tx: &Transaction<'_>, c: &Change) -> Result<Option<String>> {
    Ok(match c.entity.as_str() {
        "matter" => Some(c.entity_id.clone()),
        "matter_event" => match c.fields.get("matter_id").and_then(Value::as_str) {
            Some(m) => Some(m.to_owned()),
            None => tx
                .prepare_cached(
                    "SELECT lookup FROM records WHERE entity = 'matter_event' AND entity_id = ?1",
                )?
                .query_row([&c.entity_id], |r| r.get(0))
                .optional()?
                .flatten(),
        },
        _ => None,
    })
}

/// Applies one new change to the records: the merge rules of `xinfang_sync::merge`.
fn hall_roots(conn: &Connection, code: &str) -> Result<Vec<RootKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT staff_id, sign_public FROM hall_roots WHERE hall_code = ?1 ORDER BY pinned_at, staff_id",
    )?;
    let rows = stmt.query_map([code], |r| {
        Ok(RootKey {
            staff_id: r.get(0)?,
            sign_public: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A staff change is taken only when signed back to one of the hall's roots (docs/security.md
/// "Signed staff changes"); the signer is looked up as the city holds it, in this transaction.
fn check_staff_signature(tx: &Transaction<'_>, device: &Device, c: &Change) -> Result<()> {
    let roots = hall_roots(tx, &device.hall_code)?;
    let mut lookup = tx.prepare_cached(
        "SELECT data FROM records WHERE entity = 'staff' AND entity_id = ?1 AND hall_code = ?2",
    )?;
    let signer = |id: &str| -> Option<staff_sig::SignerState> {
        let data: String = lookup
            .query_row(params![id, device.hall_code], |r| r.get(0))
            .ok()?;
        let fields: Map<String, Value> = serde_json::from_str(&data).ok()?;
        Some(staff_sig::SignerState::from_fields(&fields))
    };
    staff_sig::verify(&device.hall_code, c, signer, &roots)
        .map_err(|r| StorageError::refused(403, r.code, r.message))
}

fn apply_change(
    tx: &Transaction<'_>,
    device: &Device,
    c: &Change,
    fields_json: &str,
) -> Result<()> {
    if c.entity == "staff" {
        check_staff_signature(tx, device, c)?;
    }
    if let Some(h) = c.fields.get("hall_code")
        && h.as_str() != Some(device.hall_code.as_str())
    {
        return Err(hall_forbidden("变更中的记录", h.as_str().unwrap_or("?")));
    }
    if c.op != Op::Delete {
        // The common case, a new record: stored as received, every field at this version, in
        // one statement (no read first). An existing record falls through to the merge.
        // Change metadata (`meta_base`, `meta_by`) and an insert's empty fields are no fields of it.
        let stripped;
        let no_field =
            |k: &str, v: &Value| merge::is_meta(k) || (c.op == Op::Insert && v.is_null());
        let fields_json = if c.fields.iter().any(|(k, v)| no_field(k, v)) {
            let kept: Map<String, Value> = c
                .fields
                .iter()
                .filter(|(k, v)| !no_field(k, v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            stripped = Value::Object(kept).to_string();
            stripped.as_str()
        } else {
            fields_json
        };
        let inserted = tx
            .prepare_cached(
                "INSERT INTO records(entity, entity_id, hall_code, data, versions, base_hlc, base_device, lookup)
                 VALUES (?1, ?2, ?3, ?4, '{}', ?5, ?6, ?7)
                 ON CONFLICT(entity, entity_id) DO NOTHING",
            )?
            .execute(params![
                c.entity,
                c.entity_id,
                device.hall_code,
                fields_json,
                c.hlc.0,
                device.id,
                lookup_key(&c.entity, &c.fields),
            ])?;
        if inserted == 1 {
            return Ok(());
        }
    }
    let version = Version::new(c.hlc, device.id.clone());
    match load_record(tx, &c.entity, &c.entity_id)? {
        None => {
            let mut record = Record::default();
            record.apply(&c.entity, &c.fields, c.op, &version);
            let stored = Stored {
                hall_code: device.hall_code.clone(),
                record,
            };
            save_record(tx, &c.entity, &c.entity_id, &stored)
        }
        Some(mut stored) => {
            if stored.hall_code != device.hall_code {
                return Err(hall_forbidden("该记录", &stored.hall_code));
            }
            stored.record.apply(&c.entity, &c.fields, c.op, &version);
            save_record(tx, &c.entity, &c.entity_id, &stored)
        }
    }
}

fn audit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get("seq")?,
        id: r.get("id")?,
        at: r.get("at")?,
        device_id: r.get("device_id")?,
        staff_id: r.get("staff_id")?,
        action: r.get("action")?,
        entity: r.get("entity")?,
        entity_id: r.get("entity_id")?,
        detail: r.get("detail")?,
        prev_hash: r.get("prev_hash")?,
        hash: r.get("hash")?,
    })
}

/// The first place where `entries` (in order) stop continuing a stored chain whose last entry
/// is `max` with hash `prev_hash`; `stored_hash(seq)` gives a stored entry's hash. Returns the
/// entries to store (a prefix of the new ones), the number of duplicates and the fault.
fn continue_chain(
    mut max: i64,
    mut prev_hash: String,
    entries: &[AuditEntry],
    mut stored_hash: impl FnMut(i64) -> Result<Option<String>>,
) -> Result<(Vec<&AuditEntry>, u64, Option<ChainFault>)> {
    let mut new = Vec::new();
    let mut duplicates = 0u64;
    let mut next_in_batch: Option<i64> = None;
    for e in entries {
        if let Some(n) = next_in_batch
            && e.seq != n
        {
            let reason = xinfang_sync::audit::LinkFault::Missing { found: e.seq }.reason(n);
            return Ok((new, duplicates, Some(ChainFault { seq: n, reason })));
        }
        next_in_batch = Some(e.seq.saturating_add(1));
        if e.seq <= max {
            let same =
                stored_hash(e.seq)?.is_some_and(|h| h == e.hash) && e.compute_hash() == e.hash;
            if same {
                duplicates += 1;
                continue;
            }
            let reason = format!(
                "与市局服务器已收到的第 {} 条不同（本机的审计日志被改写，或从旧备份恢复）",
                e.seq
            );
            return Ok((new, duplicates, Some(ChainFault { seq: e.seq, reason })));
        }
        let expected = max + 1;
        if let Err(f) = check_link(expected, &prev_hash, e) {
            return Ok((
                new,
                duplicates,
                Some(ChainFault {
                    seq: expected,
                    reason: f.reason(expected),
                }),
            ));
        }
        new.push(e);
        max = e.seq;
        prev_hash.clone_from(&e.hash);
    }
    Ok((new, duplicates, None))
}

/// Keeps where a device's audit chain did not hold, for the administrator (GET /v1/city/audit).
fn record_break(tx: &Transaction<'_>, device: &Device, f: &ChainFault, now: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit_breaks(device_id, seq, hall_code, reason, first_seen_at, last_seen_at, attempts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)
         ON CONFLICT(device_id, seq) DO UPDATE SET last_seen_at = excluded.last_seen_at,
           attempts = attempts + 1",
    )?
    .execute(params![device.id, f.seq, device.hall_code, f.reason, now])?;
    Ok(())
}

/// Highest sequence stored for a device: applied (`changes`) or set aside (`quarantine`).
fn device_max_seq(conn: &Connection, device_id: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT max((SELECT coalesce(max(seq), 0) FROM changes WHERE device_id = ?1),
                        (SELECT coalesce(max(seq), 0) FROM quarantine WHERE device_id = ?1))",
        )?
        .query_row([device_id], |r| r.get(0))?)
}

fn change_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Change>> {
    change_from_row_at(r, 0)
}

/// A change from the columns seq, entity, entity_id, op, fields, hlc, changed_at, the first at
/// index `at`.
fn change_from_row_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Result<Change>> {
    let op: String = r.get(at + 3)?;
    let fields: String = r.get(at + 4)?;
    Ok((|| {
        Ok(Change {
            seq: r.get(at)?,
            entity: r.get(at + 1)?,
            entity_id: r.get(at + 2)?,
            op: Op::parse(&op).ok_or_else(|| backend(format!("bad op {op}")))?,
            fields: serde_json::from_str(&fields).map_err(backend)?,
            hlc: Hlc(r.get(at + 5)?),
            changed_at: r.get(at + 6)?,
        })
    })())
}

/// The change a device stored under `seq`, applied or set aside.
fn stored_change(tx: &Transaction<'_>, device_id: &str, seq: i64) -> Result<Option<Change>> {
    let row = tx
        .prepare_cached(
            "SELECT seq, entity, entity_id, op, fields, hlc, changed_at FROM changes
              WHERE device_id = ?1 AND seq = ?2
             UNION ALL
             SELECT seq, entity, entity_id, op, fields, hlc, changed_at FROM quarantine
              WHERE device_id = ?1 AND seq = ?2",
        )?
        .query_row(params![device_id, seq], change_from_row)
        .optional()?;
    row.transpose()
}

/// Why a change stamped beyond the server's clock is set aside.
fn clock_ahead(c: &Change, now_ms: i64) -> (&'static str, String) {
    let ahead_min = c.hlc.physical_ms().saturating_sub(now_ms) / 60_000;
    let ahead = if ahead_min >= 2 * 24 * 60 {
        format!("{} 天", ahead_min / (24 * 60))
    } else if ahead_min >= 120 {
        format!("{} 小时", ahead_min / 60)
    } else {
        format!("{ahead_min} 分钟")
    };
    (
        "clock_ahead",
        format!(
            "第 {} 条变更的时间比市局服务器晚 {ahead}（允许误差 {} 分钟）：发出它的接待台时间不准。请校准该接待台的系统时间；这条变更已暂存待查，未被采用。",
            c.seq,
            xinfang_sync::hlc::MAX_DRIFT_MS / 60_000
        ),
    )
}

impl Storage for SqliteStorage {
    fn halls(&self) -> Result<Vec<Hall>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT code, name FROM halls ORDER BY code")?;
        let rows = stmt.query_map([], |r| {
            Ok(Hall {
                code: r.get(0)?,
                name: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn hall(&self, code: &str) -> Result<Option<Hall>> {
        let conn = self.conn();
        Ok(hall_name(&conn, code)?.map(|name| Hall {
            code: code.to_owned(),
            name,
        }))
    }

    fn record_data(
        &self,
        entity: &str,
        entity_id: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
        let data: Option<String> = self
            .conn()
            .query_row(
                "SELECT data FROM records WHERE entity = ?1 AND entity_id = ?2",
                params![entity, entity_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }

    fn hall_id_key(&self, code: &str, offered: Option<&[u8; 32]>) -> Result<[u8; 32]> {
        let conn = self.conn();
        let fresh = offered.copied().unwrap_or_else(|| {
            let mut k = [0u8; 32];
            rand::Rng::fill(&mut rand::rng(), &mut k);
            k
        });
        // The first key a hall gets stays: a later offer (or a race) takes the kept one.
        conn.prepare_cached(
            "INSERT INTO hall_id_keys(hall_code, key, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(hall_code) DO NOTHING",
        )?
        .execute(params![code, &fresh[..], self.now_text()])?;
        let kept: Vec<u8> = conn
            .prepare_cached("SELECT key FROM hall_id_keys WHERE hall_code = ?1")?
            .query_row([code], |r| r.get(0))?;
        kept.try_into()
            .map_err(|_| StorageError::Backend("hall id key of the wrong length".into()))
    }

    fn hall_roots(&self, code: &str) -> Result<Vec<RootKey>> {
        hall_roots(&self.conn(), code)
    }

    fn put_hall(&self, code: &str, name: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO halls(code, name, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(code) DO UPDATE SET name = excluded.name",
            params![code, name, self.now_text()],
        )?;
        Ok(())
    }

    fn add_enrol_code(&self, code_hash: &str, hall_code: &str, expires_at: i64) -> Result<()> {
        let conn = self.conn();
        if hall_name(&conn, hall_code)?.is_none() {
            return Err(StorageError::refused(
                404,
                "hall_unknown",
                format!("没有代码为 {hall_code} 的大厅：请先用 `xinfang-city hall add` 添加。"),
            ));
        }
        conn.execute(
            "INSERT INTO enrol_codes(code_hash, hall_code, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![code_hash, hall_code, self.now_text(), expires_at],
        )?;
        Ok(())
    }

    fn enrol(&self, e: &NewEnrolment) -> Result<Hall> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let code: Option<(String, i64, Option<String>)> = tx
            .query_row(
                "SELECT hall_code, expires_at, used_at FROM enrol_codes WHERE code_hash = ?1",
                [&e.code_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((hall_code, expires_at, used_at)) = code else {
            return Err(StorageError::refused(
                403,
                "enrol_code_invalid",
                "登记码不正确：请核对市局管理员给出的登记码（区分字母，不含空格），或请其重新生成。",
            ));
        };
        if used_at.is_some() {
            return Err(StorageError::refused(
                403,
                "enrol_code_used",
                "该登记码已经使用过：登记码只能用一次，请向市局管理员索取新的登记码。",
            ));
        }
        if expires_at <= e.now {
            return Err(StorageError::refused(
                403,
                "enrol_code_expired",
                "登记码已过期：请向市局管理员索取新的登记码（`xinfang-city enrol-code`）。",
            ));
        }
        let name = hall_name(&tx, &hall_code)?.unwrap_or_default();
        if hall_code != e.hall_code {
            let mine = hall_name(&tx, &e.hall_code)?.unwrap_or_default();
            return Err(StorageError::refused(
                403,
                "hall_mismatch",
                format!(
                    "登记码属于 {hall_code} {name}，而本机是 {} {mine} 的接待台：请使用本大厅的登记码。",
                    e.hall_code
                ),
            ));
        }
        let existing: Option<(String, Option<String>, Option<i64>)> = tx
            .query_row(
                "SELECT hall_code, revoked_at, reenrol_until FROM devices WHERE id = ?1",
                [&e.device_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match existing {
            Some((_, Some(_), _)) => {
                return Err(StorageError::refused(
                    403,
                    "device_revoked",
                    "本设备已被市局注销，不能再次登记：如需恢复，请联系市局管理员。",
                ));
            }
            Some((h, None, _)) if h != hall_code => {
                return Err(hall_forbidden("本设备", &h));
            }
            // A code alone must not take over an enrolled device's identity (and its token,
            // chain and changes): only while the administrator allows it.
            Some((_, None, until)) if until.is_none_or(|u| u <= e.now) => {
                append_log(
                    &tx,
                    &NewLogEntry {
                        action: "reenrol_refused",
                        actor: e.device_id.clone(),
                        device_id: Some(e.device_id.clone()),
                        detail: format!("hall {hall_code}"),
                    },
                    &self.now_text(),
                )?;
                // The refusal is recorded; the code stays unused.
                tx.commit()?;
                return Err(StorageError::refused(
                    409,
                    "device_already_enrolled",
                    "本设备编号已经登记过，不能用新的登记码再次登记：如果这台接待台重装过，请市局管理员先运行 \
                     `xinfang-city device allow-reenrol <设备编号>` 允许它重新登记，再用新的登记码登记。",
                ));
            }
            Some(_) => {
                tx.execute(
                    "UPDATE devices SET token_hash = ?2, name = ?3, reenrol_until = NULL WHERE id = ?1",
                    params![e.device_id, e.token_hash, e.device_name],
                )?;
                append_log(
                    &tx,
                    &NewLogEntry {
                        action: "reenrolled",
                        actor: e.device_id.clone(),
                        device_id: Some(e.device_id.clone()),
                        detail: format!("hall {hall_code}"),
                    },
                    &self.now_text(),
                )?;
            }
            None => {
                tx.execute(
                    "INSERT INTO devices(id, hall_code, name, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![e.device_id, hall_code, e.device_name, e.token_hash, self.now_text()],
                )?;
            }
        }
        tx.execute(
            "UPDATE enrol_codes SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1",
            params![e.code_hash, self.now_text(), e.device_id],
        )?;
        // The desk's first admins become roots of the hall's staff changes; a staff id keeps
        // the key first pinned for it.
        for root in &e.roots {
            tx.prepare_cached(
                "INSERT INTO hall_roots(hall_code, staff_id, sign_public, device_id, pinned_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(hall_code, staff_id) DO NOTHING",
            )?
            .execute(params![
                hall_code,
                root.staff_id,
                root.sign_public,
                e.device_id,
                self.now_text()
            ])?;
        }
        tx.commit()?;
        Ok(Hall {
            code: hall_code,
            name,
        })
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached(
                "SELECT id, hall_code, name, enrolled_at, revoked_at FROM devices WHERE token_hash = ?1",
            )?
            .query_row([token_hash], device_from_row)
            .optional()?)
    }

    fn devices(&self) -> Result<Vec<Device>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, hall_code, name, enrolled_at, revoked_at FROM devices ORDER BY hall_code, enrolled_at",
        )?;
        let rows = stmt.query_map([], device_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_device(&self, device_id: &str) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
            params![device_id, self.now_text()],
        )?;
        Ok(n > 0)
    }

    fn allow_reenrol(&self, device_id: &str, until: i64) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE devices SET reenrol_until = ?2 WHERE id = ?1",
            params![device_id, until],
        )?;
        if n > 0 {
            append_log(
                &tx,
                &NewLogEntry {
                    action: "reenrol_allowed",
                    actor: "cli".into(),
                    device_id: Some(device_id.to_owned()),
                    detail: format!("until {until}"),
                },
                &self.now_text(),
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    fn add_admin_token(&self, token_hash: &str, label: &str, expires_at: i64) -> Result<()> {
        self.conn().execute(
            "INSERT INTO admin_tokens(token_hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, label, self.now_text(), expires_at],
        )?;
        Ok(())
    }

    fn admin_token_label(&self, token_hash: &str, now: i64) -> Result<Option<String>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached(
                "SELECT label FROM admin_tokens
                 WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
            )?
            .query_row(params![token_hash, now], |r| r.get(0))
            .optional()?)
    }

    fn admin_tokens(&self) -> Result<Vec<AdminToken>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT substr(token_hash, 1, 12), label, created_at, expires_at, revoked_at
             FROM admin_tokens ORDER BY created_at, token_hash",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AdminToken {
                id: r.get(0)?,
                label: r.get(1)?,
                created_at: r.get(2)?,
                expires_at: r.get(3)?,
                revoked_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_admin_token(&self, id: &str) -> Result<usize> {
        // At least 8 hex digits: a short prefix must not revoke tokens by accident.
        if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(0);
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE admin_tokens SET revoked_at = ?2
             WHERE substr(token_hash, 1, length(?1)) = lower(?1) AND revoked_at IS NULL",
            params![id, self.now_text()],
        )?;
        if n > 0 {
            append_log(
                &tx,
                &NewLogEntry {
                    action: "admin_token_revoked",
                    actor: "cli".into(),
                    device_id: None,
                    detail: format!("token {}", id.to_ascii_lowercase()),
                },
                &self.now_text(),
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    fn log(&self, entry: &NewLogEntry) -> Result<()> {
        append_log(&self.conn(), entry, &self.now_text())
    }

    fn city_log(&self, limit: u32) -> Result<Vec<LogEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, at, action, actor, device_id, detail FROM city_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(LogEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                action: r.get(2)?,
                actor: r.get(3)?,
                device_id: r.get(4)?,
                detail: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn device_heads(&self, device_id: &str) -> Result<(i64, i64)> {
        let conn = self.conn();
        let max_seq = device_max_seq(&conn, device_id)?;
        let server_seq: i64 = conn
            .prepare_cached("SELECT coalesce(max(server_seq), 0) FROM changes")?
            .query_row([], |r| r.get(0))?;
        Ok((max_seq, server_seq))
    }

    fn push(&self, device: &Device, changes: &[Change], now_ms: i64) -> Result<PushResponse> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut max_seq = device_max_seq(&tx, &device.id)?;
        let (mut accepted, mut duplicates) = (0u64, 0u64);
        let mut set_aside = Vec::new();
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO changes(device_id, seq, hall_code, entity, entity_id, op, fields, hlc, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut quarantine = tx.prepare_cached(
                "INSERT INTO quarantine(device_id, seq, hall_code, entity, entity_id, op, fields, hlc,
                   changed_at, code, reason, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for c in changes {
                let fields_json = serde_json::to_string(&c.fields).map_err(backend)?;
                if c.seq <= max_seq {
                    // A repeat is a duplicate only with the same content; the same number with
                    // other content is a desk that reuses numbers (restored without recovery).
                    if stored_change(&tx, &device.id, c.seq)?.is_some_and(|had| {
                        had.entity == c.entity
                            && had.entity_id == c.entity_id
                            && had.op == c.op
                            && had.hlc == c.hlc
                            && had.fields == c.fields
                    }) {
                        duplicates += 1;
                        continue;
                    }
                    return Err(StorageError::refused(
                        409,
                        "seq_conflict",
                        format!(
                            "服务器已有本设备序号 {} 的另一条变更：本机数据可能是从旧备份恢复的。请把接待台程序升级到最新版本后再同步（新版本会先取回服务器上的变更），或联系市局管理员。",
                            c.seq
                        ),
                    ));
                }
                if c.seq != max_seq + 1 {
                    return Err(StorageError::refused(
                        409,
                        "seq_gap",
                        format!(
                            "推送的变更序号从 {} 开始，服务器需要的是 {}：请重新同步（客户端会自动从服务器的位置继续）。",
                            c.seq,
                            max_seq + 1
                        ),
                    ));
                }
                max_seq = c.seq;
                let refusal = if let Some(bad) = super::shape_refusal(c) {
                    Some(bad)
                } else if c.hlc.is_beyond(now_ms) {
                    Some(clock_ahead(c, now_ms))
                } else {
                    // Applied in a savepoint: a change the rules refuse is undone alone.
                    tx.execute_batch("SAVEPOINT change")?;
                    insert.execute(params![
                        device.id,
                        c.seq,
                        device.hall_code,
                        c.entity,
                        c.entity_id,
                        c.op.as_str(),
                        fields_json,
                        c.hlc.0,
                        c.changed_at,
                    ])?;
                    match apply_change(&tx, device, c, &fields_json) {
                        Ok(()) => {
                            // A step (or the matter itself) changed: the matter's state is
                            // folded again from all its steps, as on every desk.
                            if let Some(m) = matter_of_change(&tx, c)? {
                                rederive_matter(&tx, &m, &self.calendar)?;
                            }
                            tx.execute_batch("RELEASE change")?;
                            None
                        }
                        Err(StorageError::Refused(r)) => {
                            tx.execute_batch("ROLLBACK TO change; RELEASE change")?;
                            Some((r.code, r.message))
                        }
                        Err(e) => return Err(e),
                    }
                };
                match refusal {
                    None => accepted += 1,
                    Some((code, reason)) => {
                        tracing::warn!(device_id = %device.id, seq = c.seq, code, "change set aside");
                        quarantine.execute(params![
                            device.id,
                            c.seq,
                            device.hall_code,
                            c.entity,
                            c.entity_id,
                            c.op.as_str(),
                            fields_json,
                            c.hlc.0,
                            c.changed_at,
                            code,
                            reason,
                            self.now_text(),
                        ])?;
                        set_aside.push(SetAside {
                            seq: c.seq,
                            entity: c.entity.clone(),
                            entity_id: c.entity_id.clone(),
                            code: code.to_owned(),
                            reason,
                        });
                    }
                }
            }
        }
        tx.commit()?;
        Ok(PushResponse {
            accepted,
            duplicates,
            server_max_seq: max_seq,
            set_aside,
        })
    }

    fn own_changes(&self, device: &Device, after: i64, limit: u32) -> Result<OwnChangesResponse> {
        let conn = self.conn();
        conn.execute_batch("BEGIN")?;
        let result = (|| -> Result<OwnChangesResponse> {
            let limit = i64::from(limit.max(1));
            let mut stmt = conn.prepare_cached(
                "SELECT seq, entity, entity_id, op, fields, hlc, changed_at, server_seq FROM (
                   SELECT seq, entity, entity_id, op, fields, hlc, changed_at, server_seq
                     FROM changes WHERE device_id = ?1 AND seq > ?2
                   UNION ALL
                   SELECT seq, entity, entity_id, op, fields, hlc, changed_at, 0
                     FROM quarantine WHERE device_id = ?1 AND seq > ?2)
                 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![device.id, after, limit + 1], |r| {
                    Ok((change_from_row(r)?, r.get::<_, i64>(7)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut changes = Vec::with_capacity(rows.len());
            for (change, server_seq) in rows {
                changes.push(RemoteChange {
                    device_id: device.id.clone(),
                    server_seq,
                    change: change?,
                });
            }
            let more = changes.len() as i64 > limit;
            changes.truncate(limit as usize);
            Ok(OwnChangesResponse {
                changes,
                more,
                server_max_seq: device_max_seq(&conn, &device.id)?,
            })
        })();
        conn.execute_batch("COMMIT")?;
        result
    }

    fn quarantine(&self, limit: u32) -> Result<Quarantine> {
        let conn = self.conn();
        let total: i64 = conn.query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))?;
        let mut stmt = conn.prepare_cached(
            "SELECT device_id, hall_code, seq, entity, entity_id, op, hlc, changed_at, code, reason,
                    received_at
             FROM quarantine ORDER BY received_at DESC, device_id, seq DESC LIMIT ?1",
        )?;
        let changes = stmt
            .query_map([i64::from(limit)], |r| {
                let op: String = r.get(5)?;
                Ok(QuarantinedChange {
                    device_id: r.get(0)?,
                    hall_code: r.get(1)?,
                    seq: r.get(2)?,
                    entity: r.get(3)?,
                    entity_id: r.get(4)?,
                    op: Op::parse(&op).unwrap_or(Op::Update),
                    hlc: Hlc(r.get(6)?),
                    changed_at: r.get(7)?,
                    code: r.get(8)?,
                    reason: r.get(9)?,
                    received_at: r.get(10)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Quarantine { total, changes })
    }

    fn pull(
        &self,
        device: &Device,
        cursors: &BTreeMap<String, i64>,
        limit: u32,
    ) -> Result<PullResponse> {
        let conn = self.conn();
        // One read transaction: every device's changes as of the same moment.
        conn.execute_batch("BEGIN")?;
        let result = (|| -> Result<PullResponse> {
            let hall_devices: Vec<String> = conn
                .prepare_cached(
                    "SELECT id FROM devices WHERE hall_code = ?1 AND id <> ?2 ORDER BY id",
                )?
                .query_map(params![device.hall_code, device.id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for d in cursors.keys() {
                if *d != device.id && !hall_devices.contains(d) {
                    return Err(hall_forbidden("所请求的设备", "?"));
                }
            }
            let limit = limit.max(1) as usize;
            let mut all: Vec<RemoteChange> = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT server_seq, seq, entity, entity_id, op, fields, hlc, changed_at FROM changes
                 WHERE device_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            for d in &hall_devices {
                let after = cursors.get(d).copied().unwrap_or(0);
                let rows = stmt.query_map(params![d, after, (limit + 1) as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, String>(7)?,
                    ))
                })?;
                for row in rows {
                    let (server_seq, seq, entity, entity_id, op, fields, hlc, changed_at) = row?;
                    all.push(RemoteChange {
                        device_id: d.clone(),
                        server_seq,
                        change: Change {
                            seq,
                            entity,
                            entity_id,
                            op: Op::parse(&op).ok_or_else(|| backend(format!("bad op {op}")))?,
                            fields: serde_json::from_str(&fields).map_err(backend)?,
                            hlc: Hlc(hlc),
                            changed_at,
                        },
                    });
                }
            }
            // Server order is causal order: a change that depends on another arrived after it.
            all.sort_by_key(|c| c.server_seq);
            let more = all.len() > limit;
            all.truncate(limit);
            let mut out_cursors: BTreeMap<String, i64> = hall_devices
                .iter()
                .map(|d| (d.clone(), cursors.get(d).copied().unwrap_or(0)))
                .collect();
            for c in &all {
                let cur = out_cursors.entry(c.device_id.clone()).or_default();
                *cur = (*cur).max(c.change.seq);
            }
            let server_seq: i64 = conn
                .prepare_cached("SELECT coalesce(max(server_seq), 0) FROM changes")?
                .query_row([], |r| r.get(0))?;
            Ok(PullResponse {
                changes: all,
                cursors: out_cursors,
                more,
                server_seq,
            })
        })();
        conn.execute_batch("COMMIT")?;
        result
    }

    fn snapshot(&self, device: &Device, req: &SnapshotRequest) -> Result<SnapshotResponse> {
        let conn = self.conn();
        let limit = req
            .limit
            .unwrap_or(MAX_PULL_CHANGES)
            .clamp(1, MAX_PULL_CHANGES) as i64;
        // One read transaction: the cursors and the page as of the same moment.
        conn.execute_batch("BEGIN")?;
        let result = (|| -> Result<SnapshotResponse> {
            let cursors: BTreeMap<String, i64> = conn
                .prepare_cached(
                    "SELECT d.id, coalesce((SELECT max(c.seq) FROM changes c WHERE c.device_id = d.id), 0)
                     FROM devices d WHERE d.hall_code = ?1 AND d.id <> ?2",
                )?
                .query_map(params![device.hall_code, device.id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut resp = SnapshotResponse {
                cursors,
                records: Vec::new(),
                changes: Vec::new(),
                next: None,
            };
            if snapshot_as_changes(&req.entity) {
                let after: i64 = req
                    .after
                    .as_deref()
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(0);
                let mut stmt = conn.prepare_cached(
                    "SELECT server_seq, device_id, seq, entity, entity_id, op, fields, hlc, changed_at
                     FROM changes WHERE server_seq > ?1 AND entity = ?2 AND hall_code = ?3
                       AND device_id <> ?4
                     ORDER BY server_seq LIMIT ?5",
                )?;
                let rows = stmt.query_map(
                    params![after, req.entity, device.hall_code, device.id, limit],
                    |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            change_from_row_at(r, 2)?,
                        ))
                    },
                )?;
                for row in rows {
                    let (server_seq, device_id, change) = row?;
                    resp.changes.push(RemoteChange {
                        device_id,
                        server_seq,
                        change: change?,
                    });
                }
                if resp.changes.len() as i64 == limit {
                    resp.next = resp.changes.last().map(|c| c.server_seq.to_string());
                }
            } else {
                let after = req.after.clone().unwrap_or_default();
                let mut stmt = conn.prepare_cached(
                    "SELECT entity_id, data, versions, base_hlc, base_device, deleted_hlc, deleted_device
                     FROM records WHERE entity = ?1 AND entity_id > ?2 AND hall_code = ?3
                     ORDER BY entity_id LIMIT ?4",
                )?;
                let rows = stmt.query_map(
                    params![req.entity, after, device.hall_code, limit],
                    record_row,
                )?;
                for row in rows {
                    let (entity_id, data, versions, base_hlc, base_device, del_hlc, del_dev) = row?;
                    let versions: BTreeMap<String, Version> =
                        serde_json::from_str(&versions).map_err(backend)?;
                    resp.records.push(SnapshotRecord {
                        entity_id,
                        data: serde_json::from_str(&data).map_err(backend)?,
                        base_hlc,
                        base_device,
                        versions: versions
                            .into_iter()
                            .map(|(f, v)| (f, (v.hlc.0, v.device_id)))
                            .collect(),
                        deleted: del_hlc.zip(del_dev),
                    });
                }
                if resp.records.len() as i64 == limit {
                    resp.next = resp.records.last().map(|r| r.entity_id.clone());
                }
            }
            Ok(resp)
        })();
        conn.execute_batch("COMMIT")?;
        result
    }

    fn audit_max_seq(&self, device_id: &str) -> Result<i64> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit_entries WHERE device_id = ?1")?
            .query_row([device_id], |r| r.get(0))?)
    }

    fn push_audit(&self, device: &Device, entries: &[AuditEntry]) -> Result<AuditPushOutcome> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let last: Option<(i64, String)> = tx
            .prepare_cached(
                "SELECT seq, hash FROM audit_entries WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row([&device.id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (max, prev_hash) = last.unwrap_or((0, GENESIS.to_owned()));
        let (new, duplicates, fault) = {
            let mut stmt = tx.prepare_cached(
                "SELECT hash FROM audit_entries WHERE device_id = ?1 AND seq = ?2",
            )?;
            continue_chain(max, prev_hash, entries, |seq| {
                Ok(stmt
                    .query_row(params![device.id, seq], |r| r.get(0))
                    .optional()?)
            })?
        };
        // An entry must have the hash its device reported for it with a change push.
        let (new, fault) = {
            let mut reported = tx
                .prepare_cached("SELECT hash FROM audit_heads WHERE device_id = ?1 AND seq = ?2")?;
            let mut kept = Vec::new();
            let mut fault = fault;
            for e in new {
                let head: Option<String> = reported
                    .query_row(params![device.id, e.seq], |r| r.get(0))
                    .optional()?;
                if head.is_some_and(|h| h != e.hash) {
                    fault = Some(ChainFault {
                        seq: e.seq,
                        reason: format!(
                            "与本机此前随变更上报的第 {} 条审计日志摘要不同：本机的审计日志在上报后被改写",
                            e.seq
                        ),
                    });
                    break;
                }
                kept.push(e);
            }
            (kept, fault)
        };
        let now = self.now_text();
        let mut server_max_seq = max;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit_entries(device_id, seq, hall_code, id, at, staff_id, action, entity,
                   entity_id, detail, prev_hash, hash, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for e in &new {
                insert.execute(params![
                    device.id,
                    e.seq,
                    device.hall_code,
                    e.id,
                    e.at,
                    e.staff_id,
                    e.action,
                    e.entity,
                    e.entity_id,
                    e.detail,
                    e.prev_hash,
                    e.hash,
                    now
                ])?;
                server_max_seq = e.seq;
            }
        }
        if let Some(f) = &fault {
            record_break(&tx, device, f, &now)?;
        }
        tx.commit()?;
        Ok(AuditPushOutcome {
            response: AuditPushResponse {
                accepted: new.len() as u64,
                duplicates,
                server_max_seq,
            },
            fault,
        })
    }

    fn report_audit_head(&self, device: &Device, head: &AuditHead) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let now = self.now_text();
        let stored: Option<String> = tx
            .prepare_cached("SELECT hash FROM audit_entries WHERE device_id = ?1 AND seq = ?2")?
            .query_row(params![device.id, head.seq], |r| r.get(0))
            .optional()?;
        let reported: Option<String> = tx
            .prepare_cached("SELECT hash FROM audit_heads WHERE device_id = ?1 AND seq = ?2")?
            .query_row(params![device.id, head.seq], |r| r.get(0))
            .optional()?;
        let furthest: i64 = tx
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit_heads WHERE device_id = ?1")?
            .query_row([&device.id], |r| r.get(0))?;
        let fault = if stored.as_ref().is_some_and(|h| *h != head.hash) {
            Some(ChainFault {
                seq: head.seq,
                reason: format!(
                    "本机上报的第 {} 条审计日志摘要与市局服务器已收到的不同：本机的审计日志被改写",
                    head.seq
                ),
            })
        } else if reported.as_ref().is_some_and(|h| *h != head.hash) {
            Some(ChainFault {
                seq: head.seq,
                reason: format!(
                    "本机先后上报的第 {} 条审计日志摘要不同：本机的审计日志被改写",
                    head.seq
                ),
            })
        } else if furthest > head.seq {
            Some(ChainFault {
                seq: head.seq + 1,
                reason: format!(
                    "本机审计日志回退：此前上报到第 {furthest} 条，现在只到第 {} 条（本机可能从旧备份恢复，或审计日志被删改）",
                    head.seq
                ),
            })
        } else {
            None
        };
        if let Some(f) = &fault {
            tracing::warn!(device_id = %device.id, seq = f.seq, "audit head does not match");
            record_break(&tx, device, f, &now)?;
        }
        tx.prepare_cached(
            "INSERT INTO audit_heads(device_id, seq, hash, first_seen_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(device_id, seq) DO NOTHING",
        )?
        .execute(params![device.id, head.seq, head.hash, now])?;
        tx.commit()?;
        Ok(())
    }

    fn audit_chains(&self) -> Result<AuditChains> {
        let conn = self.conn();
        // One read transaction: every chain as of the same moment.
        conn.execute_batch("BEGIN")?;
        let result = (|| -> Result<AuditChains> {
            let devices: Vec<(String, String, String, String)> = conn
                .prepare_cached(
                    "SELECT d.id, d.name, d.hall_code, coalesce(h.name, '') FROM devices d
                     LEFT JOIN halls h ON h.code = d.hall_code ORDER BY d.hall_code, d.id",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut entries_of = conn
                .prepare_cached("SELECT * FROM audit_entries WHERE device_id = ?1 ORDER BY seq")?;
            let mut breaks_of = conn.prepare_cached(
                "SELECT seq, reason, first_seen_at, attempts FROM audit_breaks
                 WHERE device_id = ?1 ORDER BY first_seen_at, seq",
            )?;
            let now = self.now_text();
            let mut out = Vec::with_capacity(devices.len());
            for (device_id, device_name, hall_code, hall_name) in devices {
                let mut count = 0i64;
                let mut last_seq = 0i64;
                let mut last_at = None;
                let rows = entries_of
                    .query_map([&device_id], audit_from_row)?
                    .map(|r| {
                        r.inspect(|e| {
                            count += 1;
                            last_seq = last_seq.max(e.seq);
                            last_at = Some(e.at.clone());
                        })
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let stored_fault = verify_chain(rows);
                let mut breaks: Vec<AuditBreak> = breaks_of
                    .query_map([&device_id], |r| {
                        Ok(AuditBreak {
                            seq: r.get(0)?,
                            reason: r.get(1)?,
                            source: "push".into(),
                            detected_at: r.get(2)?,
                            attempts: r.get(3)?,
                        })
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                if let Some(f) = stored_fault {
                    breaks.push(AuditBreak {
                        seq: f.seq,
                        reason: f.reason,
                        source: "stored".into(),
                        detected_at: now.clone(),
                        attempts: 0,
                    });
                }
                out.push(DeviceAuditChain {
                    device_id,
                    device_name,
                    hall_code,
                    hall_name,
                    entries: count,
                    last_seq,
                    last_at,
                    status: (if breaks.is_empty() { "ok" } else { "broken" }).into(),
                    breaks,
                });
            }
            Ok(AuditChains {
                broken: out.iter().filter(|d| !d.breaks.is_empty()).count() as i64,
                devices: out,
            })
        })();
        conn.execute_batch("COMMIT")?;
        result
    }

    fn city_counts(&self) -> Result<CityCounts> {
        let conn = self.conn();
        let mut halls: BTreeMap<String, HallCounts> = BTreeMap::new();
        let mut stmt = conn.prepare_cached("SELECT code, name FROM halls ORDER BY code")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (code, name) = row?;
            halls.insert(
                code.clone(),
                HallCounts {
                    hall_code: code,
                    hall_name: name,
                    visitors: 0,
                    visits: 0,
                    matters: 0,
                    devices: 0,
                    changes: 0,
                },
            );
        }
        let mut stmt = conn.prepare_cached(
            "SELECT hall_code, entity, count(*) FROM records
             WHERE deleted_hlc IS NULL AND entity IN ('visitor', 'visit', 'matter')
             GROUP BY hall_code, entity",
        )?;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (hall, entity, n) = row?;
            if let Some(h) = halls.get_mut(&hall) {
                match entity.as_str() {
                    "visitor" => h.visitors = n,
                    "visit" => h.visits = n,
                    _ => h.matters = n,
                }
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT hall_code, count(*) FROM devices WHERE revoked_at IS NULL GROUP BY hall_code",
        )?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (hall, n) = row?;
            if let Some(h) = halls.get_mut(&hall) {
                h.devices = n;
            }
        }
        let mut stmt =
            conn.prepare_cached("SELECT hall_code, count(*) FROM changes GROUP BY hall_code")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (hall, n) = row?;
            if let Some(h) = halls.get_mut(&hall) {
                h.changes = n;
            }
        }
        // A record merged into another person is not a person of its own.
        let (people, _) = city_people(&conn)?;
        let mut hall_of = conn.prepare_cached(
            "SELECT hall_code FROM records WHERE entity = 'visitor' AND entity_id = ?1 AND deleted_hlc IS NULL",
        )?;
        for record in people.canon.keys() {
            if let Some(hall) = hall_of
                .query_row([record], |r| r.get::<_, String>(0))
                .optional()?
                && let Some(h) = halls.get_mut(&hall)
            {
                h.visitors -= 1;
            }
        }
        let halls: Vec<HallCounts> = halls.into_values().collect();
        Ok(CityCounts {
            total_visitors: halls.iter().map(|h| h.visitors).sum(),
            total_visits: halls.iter().map(|h| h.visits).sum(),
            total_matters: halls.iter().map(|h| h.matters).sum(),
            halls,
        })
    }

    fn person_matters(&self, id_number: &str, except_hall: &str) -> Result<Vec<OtherHallMatter>> {
        // The person's visits at every hall (merged records included), then their matters.
        let visits = self.repeat_visits(id_number)?.visits;
        let conn = self.conn();
        let mut matter_of = conn.prepare_cached(
            "SELECT json_extract(data, '$.matter_id') FROM records
             WHERE entity = 'visit' AND entity_id = ?1 AND deleted_hlc IS NULL",
        )?;
        let mut matter = conn.prepare_cached(
            "SELECT m.hall_code, coalesce(h.name, ''), coalesce(json_extract(m.data, '$.received_on'), ''),
               coalesce(json_extract(m.data, '$.appeal_kind'), ''),
               coalesce(json_extract(m.data, '$.category_code'), ''),
               coalesce(json_extract(m.data, '$.confidential'), 0),
               coalesce(json_extract(m.data, '$.status'), 'registered'),
               coalesce(json_extract(m.data, '$.state'), ''),
               coalesce(json_extract(v.data, '$.appeal'), ''), coalesce(json_extract(v.data, '$.agency'), ''),
               coalesce(json_extract(v.data, '$.place_code'), ''),
               coalesce(json_extract(v.data, '$.appeal_kind'), '')
             FROM records m LEFT JOIN halls h ON h.code = m.hall_code
             LEFT JOIN records v ON v.entity = 'visit'
               AND v.entity_id = json_extract(m.data, '$.first_visit_id')
             WHERE m.entity = 'matter' AND m.entity_id = ?1 AND m.deleted_hlc IS NULL",
        )?;
        let mut out: Vec<OtherHallMatter> = Vec::new();
        // Visits come newest first: a matter's first listing carries its latest visit.
        for v in visits.iter().filter(|v| v.hall_code != except_hall) {
            let Some(matter_id) = matter_of
                .query_row([&v.visit_id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten()
            else {
                continue;
            };
            if let Some(seen) = out.iter_mut().find(|m| m.matter_id == matter_id) {
                seen.visits += 1;
                continue;
            }
            let row = matter
                .query_row([&matter_id], |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, i64>(5)? != 0,
                        ),
                        (
                            r.get::<_, String>(6)?,
                            r.get::<_, String>(7)?,
                            r.get::<_, String>(8)?,
                            r.get::<_, String>(9)?,
                            r.get::<_, String>(10)?,
                            r.get::<_, String>(11)?,
                        ),
                    ))
                })
                .optional()?;
            let Some((head, (status, state, appeal, agency, place_code, visit_kind))) = row else {
                continue;
            };
            let (hall_code, hall_name, received_on, appeal_kind, category_code, confidential) =
                head;
            // A report stays with its hall: who reported whom is never told to another hall.
            if confidential || appeal_kind == "report" || visit_kind == "report" {
                continue;
            }
            out.push(OtherHallMatter {
                hall_code,
                hall_name,
                matter_id,
                received_on,
                appeal_kind,
                category_code,
                appeal,
                agency,
                place_code,
                status,
                state,
                visits: 1,
                last_visit_at: v.visited_at.clone(),
            });
        }
        Ok(out)
    }

    fn repeat_visits(&self, id_number: &str) -> Result<RepeatVisits> {
        let conn = self.conn();
        let found: Vec<String> = conn
            .prepare_cached(
                "SELECT entity_id FROM records
                 WHERE entity = 'visitor' AND lookup = ?1 AND deleted_hlc IS NULL",
            )?
            .query_map([id_number], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // One person whatever the records: the people of the records found, and every record
        // merged into them, with the desks' rule (docs/sync.md, "People").
        let (people, moved) = city_people(&conn)?;
        let persons: std::collections::BTreeSet<String> = found
            .iter()
            .map(|id| people.person_of(id).to_owned())
            .collect();
        let mut records: std::collections::BTreeSet<String> = persons.clone();
        for (record, person) in &people.canon {
            if persons.contains(person) {
                records.insert(record.clone());
            }
        }
        // Links a split moved to these people from records of others.
        for ((_, from), to) in &moved {
            if persons.contains(people.person_of(to)) {
                records.insert(from.clone());
            }
        }
        let visitors: Vec<(String, String)> =
            records.into_iter().map(|r| (r, String::new())).collect();
        let mut links = conn.prepare_cached(
            "SELECT json_extract(data, '$.visit_id') FROM records
             WHERE entity = 'visit_visitor' AND lookup = ?1 AND deleted_hlc IS NULL",
        )?;
        let mut visit = conn.prepare_cached(
            "SELECT r.hall_code, coalesce(h.name, ''), json_extract(r.data, '$.visited_at'),
                    json_extract(r.data, '$.category_code')
             FROM records r LEFT JOIN halls h ON h.code = r.hall_code
             WHERE r.entity = 'visit' AND r.entity_id = ?1 AND r.deleted_hlc IS NULL",
        )?;
        let mut visits = Vec::new();
        for (visitor_id, _) in &visitors {
            let visit_ids: Vec<Option<String>> = links
                .query_map([visitor_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for visit_id in visit_ids.into_iter().flatten() {
                let target = moved
                    .get(&(visit_id.clone(), visitor_id.clone()))
                    .map_or(visitor_id.as_str(), String::as_str);
                let person = people.person_of(target).to_owned();
                if !persons.contains(&person)
                    || visits.iter().any(|v: &RepeatVisit| v.visit_id == visit_id)
                {
                    continue;
                }
                let row = visit
                    .query_row([&visit_id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    })
                    .optional()?;
                if let Some((hall_code, hall_name, visited_at, category)) = row {
                    visits.push(RepeatVisit {
                        hall_code,
                        hall_name,
                        visitor_id: person,
                        visit_id,
                        visited_at: visited_at.unwrap_or_default(),
                        category_code: category.unwrap_or_default(),
                    });
                }
            }
        }
        visits.sort_by(|a, b| {
            b.visited_at
                .cmp(&a.visited_at)
                .then(a.visit_id.cmp(&b.visit_id))
        });
        let mut halls: Vec<String> = visits.iter().map(|v| v.hall_code.clone()).collect();
        halls.sort();
        halls.dedup();
        Ok(RepeatVisits {
            id_number: id_number.to_owned(),
            halls,
            visits,
        })
    }

    fn publicity_activities(
        &self,
        period: &xinfang_core::stats::Period,
        campaign: Option<&str>,
    ) -> Result<Vec<super::PublicityRow>> {
        use xinfang_core::stats::{ValidPublicity, normalize_campaign, publicity_kind};
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT hall_code, json_extract(data, '$.held_on'),
                    coalesce(json_extract(data, '$.place'), ''),
                    coalesce(json_extract(data, '$.units'), '[]'),
                    coalesce(json_extract(data, '$.kind'), ''),
                    coalesce(json_extract(data, '$.leaflets'), 0),
                    coalesce(json_extract(data, '$.consulted'), 0),
                    coalesce(json_extract(data, '$.reached'), 0),
                    coalesce(json_extract(data, '$.posts'), 0),
                    coalesce(json_extract(data, '$.reads'), 0),
                    coalesce(json_extract(data, '$.note'), ''),
                    coalesce(json_extract(data, '$.campaign'), '')
             FROM records
             WHERE entity = 'publicity_activity' AND deleted_hlc IS NULL
               AND json_extract(data, '$.held_on') BETWEEN ?1 AND ?2
               AND (?3 IS NULL OR coalesce(json_extract(data, '$.campaign'), '') = ?3)
             ORDER BY json_extract(data, '$.held_on'), hall_code, entity_id",
        )?;
        let mut rows = stmt.query(params![
            period.from.to_string(),
            period.to.to_string(),
            campaign.map(normalize_campaign)
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let held: String = r.get(1)?;
            let units: String = r.get(3)?;
            let (Ok(held_on), Ok(units)) = (
                held.parse::<chrono::NaiveDate>(),
                serde_json::from_str::<Vec<String>>(&units),
            ) else {
                tracing::warn!("publicity record with a malformed day or units skipped");
                continue;
            };
            let kind: String = r.get(4)?;
            let n = |i: usize| -> rusqlite::Result<u32> {
                Ok(u32::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
            };
            out.push(super::PublicityRow {
                hall_code: r.get(0)?,
                activity: ValidPublicity {
                    held_on,
                    place: r.get(2)?,
                    units,
                    kind_label: publicity_kind(&kind).map_or_else(|| kind.clone(), |k| k.1.into()),
                    kind,
                    leaflets: n(5)?,
                    consulted: n(6)?,
                    reached: n(7)?,
                    posts: n(8)?,
                    reads: n(9)?,
                    note: r.get(10)?,
                    campaign: r.get(11)?,
                },
            });
        }
        Ok(out)
    }

    fn feed_statistics(&self, acc: &mut StatsAccumulator<'_>) -> Result<()> {
        let conn = self.conn();
        // One read transaction: every table as of the same moment.
        conn.execute_batch("BEGIN")?;
        let result = stats_rows::feed(&conn, acc);
        conn.execute_batch("COMMIT")?;
        result
    }
}

/// The city's row source for the one statistics function: the SQL that selects a period's rows
/// through the indexes of migration 0006 (never every record), streamed into the accumulator.
pub(crate) mod stats_rows {
    use chrono::NaiveDate;
    use rusqlite::{Connection, Row, params};
    use xinfang_core::matter::{DeadlineKind, DeadlineParty, TransferKind};
    use xinfang_core::stats::{DispositionFacts, Evaluation};
    use xinfang_core::tally::{
        ConcludedRow, ConsultationRow, DeadlineRow, MediationRow, ReceivedRow, StatsAccumulator,
        VisitRow, registered_overdue_cutoff,
    };

    use super::Result;

    /// ?1 first day, ?2 last day. `INDEXED BY`: without statistics the planner would take the
    /// primary key's `entity` prefix, i.e. every visit ever synced.
    pub(crate) const VISITS: &str = "SELECT hall_code, substr(json_extract(data, '$.visited_at'), 1, 10),
           coalesce(json_extract(data, '$.head_count'), 1), coalesce(json_extract(data, '$.is_repeat'), 0),
           coalesce(json_extract(data, '$.appeal_kind'), ''), coalesce(json_extract(data, '$.category_code'), ''),
           coalesce(json_extract(data, '$.agency'), ''), coalesce(json_extract(data, '$.clerk_id'), ''),
           json_extract(data, '$.matter_id') IS NOT NULL, coalesce(json_extract(data, '$.skip_level'), 0)
         FROM records INDEXED BY records_visit_day
         WHERE entity = 'visit' AND substr(json_extract(data, '$.visited_at'), 1, 10) BETWEEN ?1 AND ?2
           AND deleted_hlc IS NULL";

    /// `+v.entity_id`: a bare TEXT column would lend its affinity to the comparison and keep
    /// the expression index out of it.
    pub(crate) const CONSULTATIONS: &str = "SELECT k.hall_code, coalesce(json_extract(k.data, '$.lawyer_id'), ''),
           coalesce(json_extract(k.data, '$.legal_route'), ''), coalesce(json_extract(k.data, '$.follow_up'), 0),
           coalesce(json_extract(k.data, '$.duration_minutes'), 0),
           trim(coalesce(json_extract(k.data, '$.advice'), '')) <> ''
         FROM records v INDEXED BY records_visit_day
           CROSS JOIN records k INDEXED BY records_consultation_visit
           ON k.entity = 'consultation' AND json_extract(k.data, '$.visit_id') = +v.entity_id
         WHERE v.entity = 'visit' AND substr(json_extract(v.data, '$.visited_at'), 1, 10) BETWEEN ?1 AND ?2
           AND v.deleted_hlc IS NULL AND k.deleted_hlc IS NULL";

    pub(crate) const MEDIATIONS: &str = "SELECT k.hall_code, coalesce(json_extract(k.data, '$.mediator_id'), ''),
           coalesce(json_extract(k.data, '$.outcome'), ''), coalesce(json_extract(k.data, '$.dispute_type'), ''),
           coalesce(json_extract(k.data, '$.judicial_confirmation'), 0)
         FROM records v INDEXED BY records_visit_day
           CROSS JOIN records k INDEXED BY records_mediation_visit
           ON k.entity = 'mediation' AND json_extract(k.data, '$.visit_id') = +v.entity_id
         WHERE v.entity = 'visit' AND substr(json_extract(v.data, '$.visited_at'), 1, 10) BETWEEN ?1 AND ?2
           AND v.deleted_hlc IS NULL AND k.deleted_hlc IS NULL";

    pub(crate) const RECEIVED: &str =
        "SELECT hall_code, received_on, transfer_kind, transfer_at, accepted_on,
           not_accepted_on, legal_route_on, legal_route
         FROM stats_matters WHERE received_on BETWEEN ?1 AND ?2";

    pub(crate) const DEADLINES_DONE: &str =
        "SELECT matter_id, hall_code, kind, party, due, done_on, closed
         FROM stats_deadlines
         WHERE done_on BETWEEN ?1 AND ?2 AND kind IN ('disposition', 'conclusion')";

    /// ?3: the day the figures are taken.
    pub(crate) const DEADLINES_LATE: &str =
        "SELECT matter_id, hall_code, kind, party, due, done_on, closed
         FROM stats_deadlines
         WHERE done_on IS NULL AND party = 'authority' AND due < ?3
           AND ?1 IS NOT NULL AND ?2 IS NOT NULL";

    /// ?3: the cutoff of [`registered_overdue_cutoff`].
    pub(crate) const REGISTERED_LATE: &str =
        "SELECT matter_id, hall_code, received_on FROM stats_matters
         WHERE has_state = 0 AND received_on < ?3 AND ?1 IS NOT NULL AND ?2 IS NOT NULL";

    /// ?3: the day the figures are taken.
    pub(crate) const CONCLUDED: &str = "SELECT s.hall_code, s.concluded_on,
           (SELECT json_extract(e.data, '$.result') FROM records e INDEXED BY records_evaluation_matter
             WHERE e.entity = 'matter_evaluation' AND json_extract(e.data, '$.matter_id') = +s.matter_id
               AND e.deleted_hlc IS NULL AND json_extract(e.data, '$.evaluated_on') <= ?3
             ORDER BY json_extract(e.data, '$.evaluated_on') DESC, json_extract(e.data, '$.created_at') DESC
             LIMIT 1)
         FROM stats_matters s WHERE s.concluded_on BETWEEN ?1 AND ?2";

    /// A day as the desk wrote it; a record with a malformed day is left out (logged).
    fn day(s: &str) -> Option<NaiveDate> {
        let d = s.parse().ok();
        if d.is_none() {
            tracing::warn!("statistics row with a malformed day skipped");
        }
        d
    }

    fn opt_day(s: Option<String>) -> Option<NaiveDate> {
        s.as_deref().and_then(day)
    }

    fn code<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    fn text(r: &Row<'_>, i: usize) -> rusqlite::Result<String> {
        r.get(i)
    }

    fn feed_deadlines(
        conn: &Connection,
        sql: &str,
        p: &[&dyn rusqlite::ToSql],
        acc: &mut StatsAccumulator<'_>,
    ) -> Result<()> {
        let mut stmt = conn.prepare_cached(sql)?;
        let mut rows = stmt.query(p)?;
        while let Some(r) = rows.next()? {
            let (id, hall) = (text(r, 0)?, text(r, 1)?);
            let (Some(kind), Some(party), Some(due)) = (
                code::<DeadlineKind>(&text(r, 2)?),
                code::<DeadlineParty>(&text(r, 3)?),
                day(&text(r, 4)?),
            ) else {
                continue;
            };
            acc.deadline(&DeadlineRow {
                matter_id: &id,
                hall_code: &hall,
                kind,
                party,
                due,
                done_on: opt_day(r.get(5)?),
                matter_closed: r.get::<_, i64>(6)? != 0,
            });
        }
        Ok(())
    }

    pub(crate) fn feed(conn: &Connection, acc: &mut StatsAccumulator<'_>) -> Result<()> {
        let (from, to) = (acc.period().from.to_string(), acc.period().to.to_string());
        let as_of = acc.as_of().to_string();
        {
            let mut stmt = conn.prepare_cached(VISITS)?;
            let mut rows = stmt.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                let Some(date) = day(&text(r, 1)?) else {
                    continue;
                };
                let (hall, kind, category, agency, clerk) = (
                    text(r, 0)?,
                    text(r, 4)?,
                    text(r, 5)?,
                    text(r, 6)?,
                    text(r, 7)?,
                );
                acc.visit(&VisitRow {
                    hall_code: &hall,
                    date,
                    head_count: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    is_repeat: r.get::<_, i64>(3)? != 0,
                    appeal_kind: &kind,
                    category_code: &category,
                    agency: &agency,
                    clerk_id: &clerk,
                    has_matter: r.get(8)?,
                    skip_level: r.get::<_, i64>(9)? != 0,
                });
            }
        }
        {
            let mut stmt = conn.prepare_cached(CONSULTATIONS)?;
            let mut rows = stmt.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                let (hall, lawyer, route) = (text(r, 0)?, text(r, 1)?, text(r, 2)?);
                acc.consultation(&ConsultationRow {
                    hall_code: &hall,
                    lawyer_id: &lawyer,
                    legal_route: &route,
                    follow_up: r.get::<_, i64>(3)? != 0,
                    minutes: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    has_advice: r.get(5)?,
                });
            }
        }
        {
            let mut stmt = conn.prepare_cached(MEDIATIONS)?;
            let mut rows = stmt.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                let (hall, mediator, outcome, dispute) =
                    (text(r, 0)?, text(r, 1)?, text(r, 2)?, text(r, 3)?);
                acc.mediation(&MediationRow {
                    hall_code: &hall,
                    mediator_id: &mediator,
                    outcome: &outcome,
                    dispute_type: &dispute,
                    judicial_confirmation: r.get::<_, i64>(4)? != 0,
                });
            }
        }
        {
            let mut stmt = conn.prepare_cached(RECEIVED)?;
            let mut rows = stmt.query(params![from, to])?;
            while let Some(r) = rows.next()? {
                let Some(received_on) = day(&text(r, 1)?) else {
                    continue;
                };
                let kind: Option<String> = r.get(2)?;
                let transfer = match (
                    kind.as_deref().and_then(code::<TransferKind>),
                    opt_day(r.get(3)?),
                ) {
                    (Some(k), Some(at)) => Some((k, at)),
                    _ => None,
                };
                let facts = DispositionFacts {
                    transfer,
                    accepted_on: opt_day(r.get(4)?),
                    not_accepted_on: opt_day(r.get(5)?),
                    legal_route_on: opt_day(r.get(6)?),
                };
                let (hall, route): (String, Option<String>) = (text(r, 0)?, r.get(7)?);
                acc.received(&ReceivedRow {
                    hall_code: &hall,
                    received_on,
                    disposition: facts.disposition().map(|d| d.0),
                    legal_route: route.as_deref(),
                });
            }
        }
        feed_deadlines(conn, DEADLINES_DONE, &[&from, &to], acc)?;
        feed_deadlines(conn, DEADLINES_LATE, &[&from, &to, &as_of], acc)?;
        {
            let cutoff = registered_overdue_cutoff(acc.as_of()).to_string();
            let mut stmt = conn.prepare_cached(REGISTERED_LATE)?;
            let mut rows = stmt.query(params![from, to, cutoff])?;
            while let Some(r) = rows.next()? {
                let (id, hall) = (text(r, 0)?, text(r, 1)?);
                if let Some(received_on) = day(&text(r, 2)?) {
                    acc.registered_matter(&id, &hall, received_on);
                }
            }
        }
        {
            let mut stmt = conn.prepare_cached(CONCLUDED)?;
            let mut rows = stmt.query(params![from, to, as_of])?;
            while let Some(r) = rows.next()? {
                let Some(concluded_on) = day(&text(r, 1)?) else {
                    continue;
                };
                let hall = text(r, 0)?;
                let evaluation = r
                    .get::<_, Option<String>>(2)?
                    .as_deref()
                    .and_then(Evaluation::parse);
                acc.concluded(&ConcludedRow {
                    hall_code: &hall,
                    concluded_on,
                    evaluation,
                });
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Every statistics query of the city reads through an index on the period (or on the
        /// open limits), never a scan of `records`.
        #[test]
        fn every_statistics_query_uses_an_index() {
            let dir = tempfile::TempDir::new().unwrap();
            let storage = super::super::SqliteStorage::open(dir.path()).unwrap();
            let conn = storage.conn();
            for sql in [
                VISITS,
                CONSULTATIONS,
                MEDIATIONS,
                RECEIVED,
                DEADLINES_DONE,
                DEADLINES_LATE,
                REGISTERED_LATE,
                CONCLUDED,
            ] {
                let p = params!["2025-03-01", "2025-03-31", "2025-04-01"];
                let n = if sql.contains("?3") { 3 } else { 2 };
                let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                let plan: Vec<String> = stmt
                    .query_map(&p[..n], |r| r.get::<_, String>(3))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                assert!(
                    plan[0].starts_with("SEARCH") && plan[0].contains("INDEX"),
                    "{sql}\n{plan:#?}"
                );
                assert!(
                    !plan.iter().any(|p| p.starts_with("SCAN")),
                    "{sql}\n{plan:#?}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth;

    fn chain(device_id: &str, n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    id: format!("0190a000-0000-7000-8000-{seq:012}"),
                    at: "2026-03-02T09:15:07+08:00".into(),
                    device_id: device_id.into(),
                    staff_id: "staff-1".into(),
                    action: "view_full_id".into(),
                    entity: "visitor".into(),
                    entity_id: format!("visitor-{seq}"),
                    detail: "来访人页面".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn storage_with_device(dir: &Path) -> (SqliteStorage, Device) {
        let s = SqliteStorage::open(dir).unwrap();
        s.add_enrol_code(&auth::code_hash("AAAA-BBBB-CCCC"), "140521", i64::MAX)
            .unwrap();
        let token_hash = auth::token_hash("xft_test");
        s.enrol(&NewEnrolment {
            code_hash: auth::code_hash("AAAA-BBBB-CCCC"),
            device_id: "dev-00000001".into(),
            hall_code: "140521".into(),
            device_name: "一号机".into(),
            token_hash: token_hash.clone(),
            now: 0,
            roots: Vec::new(),
        })
        .unwrap();
        let device = s.device_by_token(&token_hash).unwrap().unwrap();
        (s, device)
    }

    fn counts(o: &AuditPushOutcome) -> (u64, u64, i64, Option<i64>) {
        (
            o.response.accepted,
            o.response.duplicates,
            o.response.server_max_seq,
            o.fault.as_ref().map(|f| f.seq),
        )
    }

    #[test]
    fn a_chain_is_stored_once_and_continued() {
        let dir = tempfile::TempDir::new().unwrap();
        let (s, dev) = storage_with_device(dir.path());
        let full = chain(&dev.id, 6);
        assert_eq!(
            counts(&s.push_audit(&dev, &full[..3]).unwrap()),
            (3, 0, 3, None)
        );
        // The same batch again: duplicates, nothing doubled.
        assert_eq!(
            counts(&s.push_audit(&dev, &full[..3]).unwrap()),
            (0, 3, 3, None)
        );
        // Overlapping the stored end, then continuing.
        assert_eq!(
            counts(&s.push_audit(&dev, &full[1..]).unwrap()),
            (3, 2, 6, None)
        );
        assert_eq!(counts(&s.push_audit(&dev, &[]).unwrap()), (0, 0, 6, None));
        assert_eq!(s.audit_max_seq(&dev.id).unwrap(), 6);
        let chains = s.audit_chains().unwrap();
        assert_eq!(chains.broken, 0);
        let d = &chains.devices[0];
        assert_eq!((d.entries, d.last_seq, d.status.as_str()), (6, 6, "ok"));
        assert_eq!(d.hall_name, "沁水县");
    }

    #[test]
    fn each_break_stops_the_batch_there_and_is_recorded() {
        let dir = tempfile::TempDir::new().unwrap();
        let (s, dev) = storage_with_device(dir.path());
        let full = chain(&dev.id, 8);
        s.push_audit(&dev, &full[..2]).unwrap();

        // Edited content: entries before it are kept, none from it on.
        let mut edited = full[2..6].to_vec();
        edited[1].detail = "改过".into();
        let o = s.push_audit(&dev, &edited).unwrap();
        assert_eq!(counts(&o), (1, 0, 3, Some(4)));
        assert!(o.fault.unwrap().reason.contains("这一条被修改"));

        // Linked to something else than the stored entry before it.
        let mut relinked = full[3].clone();
        relinked.prev_hash = GENESIS.into();
        relinked.hash = relinked.compute_hash();
        let o = s.push_audit(&dev, &[relinked]).unwrap();
        assert_eq!(counts(&o), (0, 0, 3, Some(4)));
        assert!(o.fault.unwrap().reason.contains("上一条的哈希值不符"));

        // A hole, at the start of a batch and inside one.
        let o = s.push_audit(&dev, &full[5..]).unwrap();
        assert_eq!(counts(&o), (0, 0, 3, Some(4)));
        assert!(o.fault.unwrap().reason.contains("第 4 条缺失"));
        let o = s
            .push_audit(&dev, &[full[3].clone(), full[5].clone()])
            .unwrap();
        assert_eq!(counts(&o), (1, 0, 4, Some(5)));
        assert!(o.fault.unwrap().reason.contains("第 5 条缺失"));

        // Another entry under a number already stored (a rewritten or restored log).
        let mut other = full[1].clone();
        other.detail = "另一条".into();
        other.hash = other.compute_hash();
        let o = s.push_audit(&dev, &[other]).unwrap();
        assert_eq!(counts(&o), (0, 0, 4, Some(2)));
        assert!(o.fault.unwrap().reason.contains("已收到的第 2 条不同"));

        // The honest rest still goes on after the breaks.
        assert_eq!(
            counts(&s.push_audit(&dev, &full[4..]).unwrap()),
            (4, 0, 8, None)
        );

        let chains = s.audit_chains().unwrap();
        assert_eq!(chains.broken, 1);
        let d = &chains.devices[0];
        assert_eq!(d.status, "broken");
        let mut seqs: Vec<(i64, i64)> = d.breaks.iter().map(|b| (b.seq, b.attempts)).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, vec![(2, 1), (4, 3), (5, 1)]);
        assert!(d.breaks.iter().all(|b| b.source == "push"));
        // What is stored is still a sound chain.
        assert_eq!(d.last_seq, 8);
    }

    #[test]
    fn a_stored_chain_changed_behind_the_servers_back_is_found() {
        let dir = tempfile::TempDir::new().unwrap();
        let (s, dev) = storage_with_device(dir.path());
        s.push_audit(&dev, &chain(&dev.id, 3)).unwrap();
        {
            let conn = s.conn();
            let refused = conn.execute("UPDATE audit_entries SET detail = 'x' WHERE seq = 2", []);
            assert!(refused.is_err(), "the append-only trigger refuses it");
            conn.execute_batch(
                "DROP TRIGGER audit_entries_no_update;
                 UPDATE audit_entries SET detail = 'x' WHERE seq = 2;",
            )
            .unwrap();
        }
        let chains = s.audit_chains().unwrap();
        let b = &chains.devices[0].breaks;
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].seq, b[0].source.as_str()), (2, "stored"));
    }
}
