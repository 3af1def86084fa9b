//! The embedded SQLite backend: one file in the data dir, one writer connection.
//!
//! Writes are serialised by the connection's mutex, so `changes.server_seq` (the rowid) is handed
//! out in commit order: a reader can never see seq n+1 committed while n is still in flight.
//! Per-device cursors make pulls gap-free regardless (docs/sync.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use serde_json::{Map, Value};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::clock::{Clock, SystemClock};
use xinfang_core::people::{Merge, VisitMove};
use xinfang_core::stats::Period;
use xinfang_core::tally::Figures;
use xinfang_sync::audit::{AuditBreak, AuditEntry, ChainFault};
use xinfang_sync::merge::{Record, Version};
use xinfang_sync::staff_sig::RootKey;
use xinfang_sync::wire::{
    AuditHead, HallCounts, MAX_PULL_CHANGES, OwnChangesResponse, Quarantine, QuarantinedChange,
    SnapshotRecord, SnapshotRequest, SnapshotResponse, snapshot_as_changes,
};
use xinfang_sync::{Change, Hlc, Op, RemoteChange};

use super::{
    AdminLogin, AdminToken, AdminUser, AuditDevice, Device, DeviceEnrolment, DeviceOverview, Done,
    EnrolCode, Hall, LogEntry, MatterFacts, MatterSubject, NewEnrolment, NewLogEntry,
    PRELOADED_HALLS, RateBucket, Result, Storage, StorageError, StoredRecord, Tx, TxBody,
    VisitFacts, lookup_key,
};

pub const DB_FILE: &str = "city.db";

// Lookups by `records.lookup`, run for each pushed step and visitor. They name their index:
// without statistics SQLite prefers the primary key's `entity` prefix to the partial index
// `records_lookup` (which is not covering), reads every record of the entity, and a hall's
// first sync of a year's history slowed with every record stored (docs/performance.md "The
// city's first sync"). `lookup IS NOT NULL` is the index's own condition, which it requires.
const STEPS_OF_MATTER: &str =
    "SELECT entity_id, data, base_hlc FROM records INDEXED BY records_lookup
     WHERE entity = 'matter_event' AND lookup = ?1 AND lookup IS NOT NULL AND hall_code = ?2";
const VISITORS_BY_ID_NUMBER: &str = "SELECT entity_id FROM records INDEXED BY records_lookup
     WHERE entity = 'visitor' AND lookup = ?1 AND lookup IS NOT NULL AND deleted_hlc IS NULL";
const VISITS_OF_VISITOR: &str =
    "SELECT json_extract(data, '$.visit_id') FROM records INDEXED BY records_lookup
     WHERE entity = 'visit_visitor' AND lookup = ?1 AND lookup IS NOT NULL AND deleted_hlc IS NULL";

/// A snapshot page: one hall's records of an entity after an id, in id order, those the asking
/// desk wrote alone left out. Through the hall's own range (migration 0019), not every hall's
/// records of the entity.
const SNAPSHOT_RECORDS: &str = concat!(
    "SELECT entity_id, data, versions, base_hlc, base_device, deleted_hlc, deleted_device
     FROM records INDEXED BY records_hall
     WHERE entity = ?1 AND entity_id > ?2 AND hall_code = ?3 AND ",
    not_written_by_alone!("?5"),
    " ORDER BY entity_id LIMIT ?4"
);

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
        M::up(include_str!("../../migrations/0010_hall_queue.sql")),
        M::up(include_str!("../../migrations/0011_queue_letters.sql")),
        M::up(include_str!("../../migrations/0012_updates.sql")),
        M::up(include_str!("../../migrations/0013_admin_console.sql")),
        M::up(include_str!("../../migrations/0014_rate_buckets.sql")),
        M::up(include_str!("../../migrations/0015_stats_days.sql")),
        M::up(include_str!("../../migrations/0016_stats_days_due.sql")),
        M::up(include_str!("../../migrations/0017_hall_counts.sql")),
        M::up(include_str!("../../migrations/0018_facts_on_change.sql")),
        M::up(include_str!("../../migrations/0019_records_hall.sql")),
        M::up(include_str!("../../migrations/0020_stats_evaluations.sql")),
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
pub(crate) fn now_text(clock: &dyn Clock) -> String {
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
        Self::open_file_at(&data_dir.join(DB_FILE), Some(data_dir), key, clock)
    }

    /// Opens (creating and migrating if needed) the database file `path` (`--database
    /// sqlite:///path`); the city's own holiday years are read from `data_dir` when given.
    pub fn open_file_at(
        path: &Path,
        data_dir: Option<&Path>,
        key: Option<&CityKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<SqliteStorage> {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = parent {
            std::fs::create_dir_all(dir).map_err(|e| {
                StorageError::Backend(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let path = path.to_path_buf();
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
            calendar: data_dir.map_or_else(
                xinfang_core::calendar::HolidayCalendar::bundled,
                super::derive::city_calendar,
            ),
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

/// `desk` or `hub`, for the console.
pub(crate) fn device_kind(id: &str) -> String {
    if crate::hub::is_hub_id(id) {
        "hub"
    } else {
        "desk"
    }
    .to_owned()
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

fn load_record(tx: &Connection, entity: &str, entity_id: &str) -> Result<Option<StoredRecord>> {
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
    Ok(Some(StoredRecord { hall_code, record }))
}

/// A record as stored by both backends: its base version (the one that wrote most fields), the
/// other fields' versions as JSON, and its values.
pub(crate) fn record_columns(
    stored: &StoredRecord,
) -> Result<(Version, String, Map<String, Value>)> {
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
    let versions = serde_json::to_string(&versions).map_err(backend)?;
    Ok((base, versions, stored.record.values()))
}

fn save_record(
    tx: &Connection,
    entity: &str,
    entity_id: &str,
    stored: &StoredRecord,
) -> Result<()> {
    let (base, versions, data) = record_columns(stored)?;
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
        versions,
        base.hlc.0,
        base.device_id,
        stored.record.deleted.as_ref().map(|d| d.hlc.0),
        stored.record.deleted.as_ref().map(|d| d.device_id.clone()),
        lookup_key(entity, &data),
    ])?;
    Ok(())
}

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

/// Keeps where a device's audit chain did not hold, for the administrator (GET /v1/city/audit).
fn record_break(tx: &Connection, device: &Device, f: &ChainFault, now: &str) -> Result<()> {
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
fn stored_change(tx: &Connection, device_id: &str, seq: i64) -> Result<Option<Change>> {
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

/// One transaction's data operations on the connection the storage's mutex guards.
struct SqliteTx<'a> {
    conn: &'a Connection,
    clock: &'a dyn Clock,
}

fn rows<T>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, f)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn one<T>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>> {
    Ok(conn.prepare_cached(sql)?.query_row(p, f).optional()?)
}

impl Tx for SqliteTx<'_> {
    fn now_text(&self) -> String {
        now_text(self.clock)
    }

    fn hall_name(&mut self, code: &str) -> Result<Option<String>> {
        hall_name(self.conn, code)
    }

    fn append_log(&mut self, entry: &NewLogEntry) -> Result<()> {
        append_log(self.conn, entry, &self.now_text())
    }

    fn insert_enrol_code(
        &mut self,
        code_hash: &str,
        hall_code: &str,
        expires_at: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO enrol_codes(code_hash, hall_code, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![code_hash, hall_code, self.now_text(), expires_at],
        )?;
        Ok(())
    }

    fn enrol_code(&mut self, code_hash: &str) -> Result<Option<EnrolCode>> {
        one(
            self.conn,
            "SELECT hall_code, expires_at, used_at IS NOT NULL FROM enrol_codes WHERE code_hash = ?1",
            [code_hash],
            |r| {
                Ok(EnrolCode {
                    hall_code: r.get(0)?,
                    expires_at: r.get(1)?,
                    used: r.get(2)?,
                })
            },
        )
    }

    fn use_enrol_code(&mut self, code_hash: &str, device_id: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE enrol_codes SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1",
            params![code_hash, self.now_text(), device_id],
        )?;
        Ok(())
    }

    fn device_enrolment(&mut self, device_id: &str) -> Result<Option<DeviceEnrolment>> {
        one(
            self.conn,
            "SELECT hall_code, revoked_at IS NOT NULL, reenrol_until, token_hash LIKE 'relayed:%' FROM devices WHERE id = ?1",
            [device_id],
            |r| {
                Ok(DeviceEnrolment {
                    hall_code: r.get(0)?,
                    revoked: r.get(1)?,
                    reenrol_until: r.get(2)?,
                    relayed: r.get(3)?,
                })
            },
        )
    }

    fn insert_device(&mut self, e: &NewEnrolment) -> Result<()> {
        self.conn.execute(
            "INSERT INTO devices(id, hall_code, name, token_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![e.device_id, e.hall_code, e.device_name, e.token_hash, self.now_text()],
        )?;
        Ok(())
    }

    fn reenrol_device(&mut self, e: &NewEnrolment) -> Result<()> {
        self.conn.execute(
            "UPDATE devices SET token_hash = ?2, name = ?3, reenrol_until = NULL WHERE id = ?1",
            params![e.device_id, e.token_hash, e.device_name],
        )?;
        Ok(())
    }

    fn pin_root(&mut self, hall_code: &str, root: &RootKey, device_id: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO hall_roots(hall_code, staff_id, sign_public, device_id, pinned_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(hall_code, staff_id) DO NOTHING",
            )?
            .execute(params![
                hall_code,
                root.staff_id,
                root.sign_public,
                device_id,
                self.now_text()
            ])?;
        Ok(())
    }

    fn hall_roots(&mut self, hall_code: &str) -> Result<Vec<RootKey>> {
        hall_roots(self.conn, hall_code)
    }

    fn device_max_seq(&mut self, device_id: &str) -> Result<i64> {
        device_max_seq(self.conn, device_id)
    }

    fn stored_change(&mut self, device_id: &str, seq: i64) -> Result<Option<Change>> {
        stored_change(self.conn, device_id, seq)
    }

    fn insert_change(&mut self, device: &Device, c: &Change, fields_json: &str) -> Result<()> {
        // `server_seq` is the rowid: handed out under the connection's mutex, so in commit order.
        self.conn
            .prepare_cached(
                "INSERT INTO changes(device_id, seq, hall_code, entity, entity_id, op, fields, hlc, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
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
        Ok(())
    }

    fn insert_changes(&mut self, device: &Device, changes: &[(&Change, &str)]) -> Result<()> {
        for (c, fields_json) in changes {
            self.insert_change(device, c, fields_json)?;
        }
        Ok(())
    }

    fn insert_quarantine(
        &mut self,
        device: &Device,
        c: &Change,
        fields_json: &str,
        code: &str,
        reason: &str,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO quarantine(device_id, seq, hall_code, entity, entity_id, op, fields, hlc,
                   changed_at, code, reason, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
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
        Ok(())
    }

    fn hall_changes_after(
        &mut self,
        cursors: &[(String, i64)],
        limit: i64,
    ) -> Result<Vec<RemoteChange>> {
        // No LATERAL join in SQLite: one limited term a device, under SQLite's limit on the
        // terms of a compound SELECT; the pages of several statements are merged here.
        const TERMS: usize = 200;
        let mut all = Vec::new();
        for part in cursors.chunks(TERMS) {
            let term = "SELECT * FROM (SELECT seq, entity, entity_id, op, fields, hlc, changed_at,
                        server_seq, device_id FROM changes WHERE device_id = ? AND seq > ?
                        ORDER BY seq LIMIT ?)";
            let sql = format!(
                "{} ORDER BY 8 LIMIT ?",
                vec![term; part.len()].join(" UNION ALL ")
            );
            let mut p: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(part.len() * 3 + 1);
            for (device, after) in part {
                p.extend([device as &dyn rusqlite::ToSql, after, &limit]);
            }
            p.push(&limit);
            // Not cached: the text differs with the hall's number of devices and would push
            // the hot statements out of the connection's cache.
            let mut stmt = self.conn.prepare(&sql)?;
            let found = stmt
                .query_map(p.as_slice(), |r| {
                    Ok((
                        change_from_row(r)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, String>(8)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (change, server_seq, device_id) in found {
                all.push(RemoteChange {
                    device_id,
                    server_seq,
                    change: change?,
                });
            }
        }
        if cursors.len() > TERMS {
            all.sort_by_key(|c| c.server_seq);
            all.truncate(limit.max(0) as usize);
        }
        Ok(all)
    }

    fn max_server_seq(&mut self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(server_seq), 0) FROM changes")?
            .query_row([], |r| r.get(0))?)
    }

    fn hall_device_ids(&mut self, hall_code: &str, except: &str) -> Result<Vec<String>> {
        rows(
            self.conn,
            "SELECT id FROM devices WHERE hall_code = ?1 AND id <> ?2 ORDER BY id",
            params![hall_code, except],
            |r| r.get(0),
        )
    }

    fn insert_new_record(
        &mut self,
        entity: &str,
        entity_id: &str,
        hall_code: &str,
        data_json: &str,
        hlc: i64,
        device_id: &str,
        lookup: Option<&str>,
    ) -> Result<bool> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO records(entity, entity_id, hall_code, data, versions, base_hlc, base_device, lookup)
                 VALUES (?1, ?2, ?3, ?4, '{}', ?5, ?6, ?7)
                 ON CONFLICT(entity, entity_id) DO NOTHING",
            )?
            .execute(params![entity, entity_id, hall_code, data_json, hlc, device_id, lookup])?;
        Ok(n == 1)
    }

    fn insert_new_records(&mut self, rows: &[super::NewRecord<'_>]) -> Result<Vec<bool>> {
        // One process, no round trips: a loop is as fast as a batch.
        rows.iter()
            .map(|r| {
                self.insert_new_record(
                    r.entity,
                    r.entity_id,
                    r.hall_code,
                    r.data_json,
                    r.hlc,
                    r.device_id,
                    r.lookup,
                )
            })
            .collect()
    }

    fn load_record(&mut self, entity: &str, entity_id: &str) -> Result<Option<StoredRecord>> {
        load_record(self.conn, entity, entity_id)
    }

    fn save_record(&mut self, entity: &str, entity_id: &str, stored: &StoredRecord) -> Result<()> {
        save_record(self.conn, entity, entity_id, stored)
    }

    fn record_lookup(&mut self, entity: &str, entity_id: &str) -> Result<Option<String>> {
        Ok(one(
            self.conn,
            "SELECT lookup FROM records WHERE entity = ?1 AND entity_id = ?2",
            [entity, entity_id],
            |r| r.get::<_, Option<String>>(0),
        )?
        .flatten())
    }

    fn record_in_hall(
        &mut self,
        entity: &str,
        entity_id: &str,
        hall_code: &str,
    ) -> Result<Option<Map<String, Value>>> {
        let data: Option<String> = one(
            self.conn,
            "SELECT data FROM records WHERE entity = ?1 AND entity_id = ?2 AND hall_code = ?3",
            [entity, entity_id, hall_code],
            |r| r.get(0),
        )?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }

    fn matter_subject(
        &mut self,
        matter_id: &str,
        hall_code: &str,
    ) -> Result<Option<MatterSubject>> {
        one(
            self.conn,
            "SELECT json_extract(m.data, '$.received_on'), json_extract(m.data, '$.appeal_kind'),
               json_extract(v.data, '$.agency')
             FROM records m
             LEFT JOIN records v ON v.entity = 'visit'
               AND v.entity_id = json_extract(m.data, '$.first_visit_id')
               AND v.hall_code = m.hall_code
             WHERE m.entity = 'matter' AND m.entity_id = ?1 AND m.hall_code = ?2",
            [matter_id, hall_code],
            |r| {
                Ok(MatterSubject {
                    received_on: r.get(0)?,
                    appeal_kind: r.get(1)?,
                    agency: r.get(2)?,
                })
            },
        )
    }

    fn matter_steps(
        &mut self,
        matter_id: &str,
        hall_code: &str,
    ) -> Result<Vec<super::derive::StepRecord>> {
        let found: Vec<(String, String, i64)> =
            rows(self.conn, STEPS_OF_MATTER, [matter_id, hall_code], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        Ok(found
            .into_iter()
            .filter_map(|(id, data, base_hlc)| {
                Some(super::derive::StepRecord {
                    id,
                    data: serde_json::from_str(&data).ok()?,
                    base_hlc,
                })
            })
            .collect())
    }

    fn set_matter_derived(
        &mut self,
        matter_id: &str,
        hall_code: &str,
        status: &str,
        state: &str,
        event_count: i64,
    ) -> Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE records SET data = json_set(data, '$.status', ?2, '$.state', ?3, '$.event_count', ?4)
                 WHERE entity = 'matter' AND entity_id = ?1 AND hall_code = ?5",
            )?
            .execute(params![matter_id, status, state, event_count, hall_code])?;
        Ok(())
    }

    fn person_links(&mut self) -> Result<(Vec<Merge>, Vec<VisitMove>)> {
        let merges = rows(
            self.conn,
            "SELECT entity_id, json_extract(data, '$.survivor_id'), json_extract(data, '$.merged_id'), base_hlc
             FROM records m WHERE entity = 'person_merge' AND deleted_hlc IS NULL
               AND NOT EXISTS (SELECT 1 FROM records u WHERE u.entity = 'person_unmerge'
                                 AND u.deleted_hlc IS NULL
                                 AND json_extract(u.data, '$.merge_id') = m.entity_id)",
            [],
            |r| {
                Ok(Merge {
                    id: r.get(0)?,
                    survivor: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    merged: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    hlc: r.get(3)?,
                })
            },
        )?;
        let moves = rows(
            self.conn,
            "SELECT entity_id, json_extract(data, '$.visit_id'), json_extract(data, '$.from_visitor'),
                    json_extract(data, '$.to_visitor'), base_hlc
             FROM records WHERE entity = 'visit_move' AND deleted_hlc IS NULL",
            [],
            |r| {
                Ok(VisitMove {
                    id: r.get(0)?,
                    visit_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    from: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    to: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    hlc: r.get(4)?,
                })
            },
        )?;
        Ok((merges, moves))
    }

    fn visitors_by_id_number(&mut self, id_number: &str) -> Result<Vec<String>> {
        rows(self.conn, VISITORS_BY_ID_NUMBER, [id_number], |r| r.get(0))
    }

    fn visits_of_visitor(&mut self, visitor_id: &str) -> Result<Vec<String>> {
        let found: Vec<Option<String>> =
            rows(self.conn, VISITS_OF_VISITOR, [visitor_id], |r| r.get(0))?;
        Ok(found.into_iter().flatten().collect())
    }

    fn visit_facts(&mut self, visit_id: &str) -> Result<Option<VisitFacts>> {
        one(
            self.conn,
            "SELECT r.hall_code, coalesce(h.name, ''), json_extract(r.data, '$.visited_at'),
                    json_extract(r.data, '$.category_code')
             FROM records r LEFT JOIN halls h ON h.code = r.hall_code
             WHERE r.entity = 'visit' AND r.entity_id = ?1 AND r.deleted_hlc IS NULL",
            [visit_id],
            |r| {
                Ok(VisitFacts {
                    hall_code: r.get(0)?,
                    hall_name: r.get(1)?,
                    visited_at: r.get(2)?,
                    category_code: r.get(3)?,
                })
            },
        )
    }

    fn visit_matter(&mut self, visit_id: &str) -> Result<Option<String>> {
        Ok(one(
            self.conn,
            "SELECT json_extract(data, '$.matter_id') FROM records
             WHERE entity = 'visit' AND entity_id = ?1 AND deleted_hlc IS NULL",
            [visit_id],
            |r| r.get::<_, Option<String>>(0),
        )?
        .flatten())
    }

    fn matter_facts(&mut self, matter_id: &str) -> Result<Option<MatterFacts>> {
        one(
            self.conn,
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
            [matter_id],
            |r| {
                Ok(MatterFacts {
                    hall_code: r.get(0)?,
                    hall_name: r.get(1)?,
                    received_on: r.get(2)?,
                    appeal_kind: r.get(3)?,
                    category_code: r.get(4)?,
                    confidential: r.get::<_, i64>(5)? != 0,
                    status: r.get(6)?,
                    state: r.get(7)?,
                    appeal: r.get(8)?,
                    agency: r.get(9)?,
                    place_code: r.get(10)?,
                    visit_kind: r.get(11)?,
                })
            },
        )
    }

    fn hall_counts(&mut self) -> Result<Vec<HallCounts>> {
        let mut halls: BTreeMap<String, HallCounts> = rows(
            self.conn,
            "SELECT code, name FROM halls ORDER BY code",
            [],
            |r| {
                let code: String = r.get(0)?;
                Ok((
                    code.clone(),
                    HallCounts {
                        hall_code: code,
                        hall_name: r.get(1)?,
                        visitors: 0,
                        visits: 0,
                        matters: 0,
                        devices: 0,
                        changes: 0,
                    },
                ))
            },
        )?
        .into_iter()
        .collect();
        // Kept by migration 0017's triggers: counting the records and changes at every call
        // read them all.
        let counts: Vec<(String, String, i64)> = rows(
            self.conn,
            "SELECT hall_code, what, n FROM hall_counts",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        for (hall, what, n) in counts {
            if let Some(h) = halls.get_mut(&hall) {
                match what.as_str() {
                    "visitor" => h.visitors = n,
                    "visit" => h.visits = n,
                    "matter" => h.matters = n,
                    _ => h.changes = n,
                }
            }
        }
        let devices: Vec<(String, i64)> = rows(
            self.conn,
            "SELECT hall_code, count(*) FROM devices WHERE revoked_at IS NULL GROUP BY hall_code",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        for (hall, n) in devices {
            if let Some(h) = halls.get_mut(&hall) {
                h.devices = n;
            }
        }
        Ok(halls.into_values().collect())
    }

    fn visitor_hall(&mut self, visitor_id: &str) -> Result<Option<String>> {
        one(
            self.conn,
            "SELECT hall_code FROM records WHERE entity = 'visitor' AND entity_id = ?1 AND deleted_hlc IS NULL",
            [visitor_id],
            |r| r.get(0),
        )
    }

    fn audit_last(&mut self, device_id: &str) -> Result<Option<(i64, String)>> {
        one(
            self.conn,
            "SELECT seq, hash FROM audit_entries WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
            [device_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    fn audit_hash(&mut self, device_id: &str, seq: i64) -> Result<Option<String>> {
        one(
            self.conn,
            "SELECT hash FROM audit_entries WHERE device_id = ?1 AND seq = ?2",
            params![device_id, seq],
            |r| r.get(0),
        )
    }

    fn insert_audit(&mut self, device: &Device, e: &AuditEntry) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit_entries(device_id, seq, hall_code, id, at, staff_id, action, entity,
                   entity_id, detail, prev_hash, hash, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
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
                self.now_text()
            ])?;
        Ok(())
    }

    fn reported_head(&mut self, device_id: &str, seq: i64) -> Result<Option<String>> {
        one(
            self.conn,
            "SELECT hash FROM audit_heads WHERE device_id = ?1 AND seq = ?2",
            params![device_id, seq],
            |r| r.get(0),
        )
    }

    fn furthest_head(&mut self, device_id: &str) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit_heads WHERE device_id = ?1")?
            .query_row([device_id], |r| r.get(0))?)
    }

    fn insert_head(&mut self, device_id: &str, head: &AuditHead) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit_heads(device_id, seq, hash, first_seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(device_id, seq) DO NOTHING",
            )?
            .execute(params![device_id, head.seq, head.hash, self.now_text()])?;
        Ok(())
    }

    fn record_break(&mut self, device: &Device, fault: &ChainFault) -> Result<()> {
        record_break(self.conn, device, fault, &self.now_text())
    }

    fn audit_devices(&mut self) -> Result<Vec<AuditDevice>> {
        rows(
            self.conn,
            "SELECT d.id, d.name, d.hall_code, coalesce(h.name, '') FROM devices d
             LEFT JOIN halls h ON h.code = d.hall_code ORDER BY d.hall_code, d.id",
            [],
            |r| {
                Ok(AuditDevice {
                    device_id: r.get(0)?,
                    device_name: r.get(1)?,
                    hall_code: r.get(2)?,
                    hall_name: r.get(3)?,
                })
            },
        )
    }

    fn audit_entries(&mut self, device_id: &str) -> Result<Vec<AuditEntry>> {
        rows(
            self.conn,
            "SELECT * FROM audit_entries WHERE device_id = ?1 ORDER BY seq",
            [device_id],
            audit_from_row,
        )
    }

    fn audit_breaks(&mut self, device_id: &str) -> Result<Vec<AuditBreak>> {
        rows(
            self.conn,
            "SELECT seq, reason, first_seen_at, attempts FROM audit_breaks
             WHERE device_id = ?1 ORDER BY first_seen_at, seq",
            [device_id],
            |r| {
                Ok(AuditBreak {
                    seq: r.get(0)?,
                    reason: r.get(1)?,
                    source: "push".into(),
                    detected_at: r.get(2)?,
                    attempts: r.get(3)?,
                })
            },
        )
    }

    fn next_queue_number(&mut self, hall_code: &str, day: &str) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached(
                "INSERT INTO hall_queue(hall_code, day, last_number) VALUES (?1, ?2, 1)
                 ON CONFLICT(hall_code, day) DO UPDATE SET last_number = last_number + 1
                 RETURNING last_number",
            )?
            .query_row(params![hall_code, day], |r| r.get(0))?)
    }

    fn insert_hall_call(&mut self, c: &super::NewHallCall) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO hall_calls(hall_code, day, queue_label, room, device_id, called_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                c.hall_code,
                c.day,
                c.queue_label,
                c.room,
                c.device_id,
                self.now_text()
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn hall_calls(
        &mut self,
        hall_code: &str,
        day: &str,
        limit: i64,
    ) -> Result<Vec<super::CallRow>> {
        rows(
            self.conn,
            "SELECT id, queue_label, room, called_at FROM hall_calls
             WHERE hall_code = ?1 AND day = ?2 ORDER BY id DESC LIMIT ?3",
            params![hall_code, day, limit],
            |r| {
                Ok(super::CallRow {
                    id: r.get(0)?,
                    queue_label: r.get(1)?,
                    room: r.get(2)?,
                    called_at: r.get(3)?,
                })
            },
        )
    }

    fn queue_letters(&mut self, hall_code: &str) -> Result<Vec<super::LetterRow>> {
        rows(
            self.conn,
            "SELECT q.letter, q.device_id, d.revoked_at IS NOT NULL
             FROM queue_letters q LEFT JOIN devices d ON d.id = q.device_id
             WHERE q.hall_code = ?1 ORDER BY q.letter",
            params![hall_code],
            |r| {
                Ok(super::LetterRow {
                    letter: r.get(0)?,
                    device_id: r.get(1)?,
                    revoked: r.get(2)?,
                })
            },
        )
    }

    fn set_queue_letter(&mut self, hall_code: &str, letter: &str, device_id: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO queue_letters(hall_code, letter, device_id) VALUES (?1, ?2, ?3)
                 ON CONFLICT(hall_code, letter) DO UPDATE SET device_id = excluded.device_id",
            )?
            .execute(params![hall_code, letter, device_id])?;
        Ok(())
    }

    fn update_key(&mut self) -> Result<Option<String>> {
        one(
            self.conn,
            "SELECT public_key FROM update_key WHERE id = 1",
            [],
            |r| r.get(0),
        )
    }

    fn set_update_key(&mut self, public_key: &str) -> Result<()> {
        let at = self.now_text();
        self.conn
            .prepare_cached(
                "INSERT INTO update_key(id, public_key, set_at) VALUES (1, ?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET public_key = excluded.public_key, set_at = excluded.set_at",
            )?
            .execute(params![public_key, at])?;
        Ok(())
    }

    fn releases(&mut self) -> Result<Vec<super::ReleaseRow>> {
        rows(
            self.conn,
            "SELECT version, kind, size, sha256, signature, notes, published_at
             FROM update_releases ORDER BY published_at, version, kind",
            [],
            |r| {
                Ok(super::ReleaseRow {
                    version: r.get(0)?,
                    kind: r.get(1)?,
                    size: r.get(2)?,
                    sha256: r.get(3)?,
                    signature: r.get(4)?,
                    notes: r.get(5)?,
                    published_at: r.get(6)?,
                })
            },
        )
    }

    fn insert_release(&mut self, r: &super::NewRelease<'_>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO update_releases(version, kind, size, sha256, signature, notes, published_at, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                r.version,
                r.kind,
                r.bytes.len() as i64,
                r.sha256,
                r.signature,
                r.notes,
                r.published_at,
                r.bytes
            ])?;
        Ok(())
    }

    fn release_bytes(&mut self, version: &str, kind: &str) -> Result<Option<Vec<u8>>> {
        one(
            self.conn,
            "SELECT bytes FROM update_releases WHERE version = ?1 AND kind = ?2",
            params![version, kind],
            |r| r.get(0),
        )
    }

    fn hall_waiting(
        &mut self,
        hall_code: &str,
        day: &str,
        since_id: &str,
        limit: i64,
    ) -> Result<Vec<super::WaitingRow>> {
        rows(
            self.conn,
            "SELECT json_extract(h.data, '$.desk'), json_extract(v.data, '$.queue_label')
             FROM records h JOIN records v
               ON v.entity = 'visit' AND v.entity_id = json_extract(h.data, '$.visit_id')
             WHERE h.entity = 'handoff' AND h.entity_id >= ?3 AND h.hall_code = ?1
               AND h.deleted_hlc IS NULL AND v.deleted_hlc IS NULL
               AND json_extract(h.data, '$.state') = 'waiting'
               AND json_extract(h.data, '$.desk') IN ('lawyer', 'mediator')
               AND substr(json_extract(v.data, '$.visited_at'), 1, 10) = ?2
               AND coalesce(json_extract(v.data, '$.queue_label'), '') != ''
             ORDER BY h.entity_id LIMIT ?4",
            params![hall_code, day, since_id, limit],
            |r| {
                Ok(super::WaitingRow {
                    desk: r.get(0)?,
                    queue_label: r.get(1)?,
                })
            },
        )
    }
}

impl Storage for SqliteStorage {
    fn write(&self, body: &mut TxBody<'_>) -> Result<()> {
        let mut conn = self.conn();
        // Immediate: another process on the file (an administration command, `hub relay` beside
        // the hub's server) waits for the write lock instead of failing when it upgrades a read.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let done = body(&mut SqliteTx {
            conn: &tx,
            clock: &*self.clock,
        })?;
        match done {
            Done::Commit => tx.commit()?,
            Done::Rollback => tx.rollback()?,
        }
        Ok(())
    }

    fn read(&self, body: &mut TxBody<'_>) -> Result<()> {
        let conn = self.conn();
        conn.execute_batch("BEGIN")?;
        let result = body(&mut SqliteTx {
            conn: &conn,
            clock: &*self.clock,
        });
        conn.execute_batch("COMMIT")?;
        result.map(|_| ())
    }

    fn calendar(&self) -> &xinfang_core::calendar::HolidayCalendar {
        &self.calendar
    }

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

    fn allow_reenrol(&self, device_id: &str, until: i64, actor: &str) -> Result<bool> {
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
                    actor: actor.to_owned(),
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

    fn revoke_admin_tokens(&self, id: &str) -> Result<usize> {
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

    fn put_admin_user(&self, username: &str, password_hash: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existed = tx
            .prepare_cached("SELECT 1 FROM admin_users WHERE username = ?1")?
            .exists([username])?;
        if existed {
            tx.execute(
                "UPDATE admin_users SET password_hash = ?2, failed_attempts = 0, locked_until = NULL
                 WHERE username = ?1",
                params![username, password_hash],
            )?;
            tx.execute("DELETE FROM admin_sessions WHERE username = ?1", [username])?;
        } else {
            tx.execute(
                "INSERT INTO admin_users(username, password_hash, created_at) VALUES (?1, ?2, ?3)",
                params![username, password_hash, self.now_text()],
            )?;
        }
        tx.commit()?;
        Ok(!existed)
    }

    fn admin_users(&self) -> Result<Vec<AdminUser>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT username, created_at FROM admin_users ORDER BY username")?;
        let rows = stmt.query_map([], |r| {
            Ok(AdminUser {
                username: r.get(0)?,
                created_at: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn remove_admin_user(&self, username: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM admin_sessions WHERE username = ?1", [username])?;
        let n = tx.execute("DELETE FROM admin_users WHERE username = ?1", [username])?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn admin_login(&self, username: &str) -> Result<Option<AdminLogin>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached(
                "SELECT password_hash, failed_attempts, locked_until FROM admin_users WHERE username = ?1",
            )?
            .query_row([username], |r| {
                Ok(AdminLogin {
                    password_hash: r.get(0)?,
                    failed_attempts: r.get(1)?,
                    locked_until: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn take_rate_token(&self, key: &str, now_ms: i64, bucket: RateBucket) -> Result<Option<i64>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.prepare_cached("DELETE FROM rate_buckets WHERE tat_ms < ?1 AND key <> ?2")?
            .execute(params![now_ms, key])?;
        // The SET expressions all read the row as it was; `now` is never before the bucket's
        // latest time (see `RateBucket`).
        let (allowed, tat, at): (bool, i64, i64) = tx
            .prepare_cached(
                "INSERT INTO rate_buckets(key, tat_ms, at_ms, allowed) VALUES (?1, ?2 + ?3, ?2, 1)
                 ON CONFLICT(key) DO UPDATE SET
                   allowed = (max(tat_ms, ?2, at_ms) + ?3 <= max(?2, at_ms) + ?3 * ?4),
                   tat_ms = CASE WHEN max(tat_ms, ?2, at_ms) + ?3 <= max(?2, at_ms) + ?3 * ?4
                                 THEN max(tat_ms, ?2, at_ms) + ?3 ELSE tat_ms END,
                   at_ms = max(?2, at_ms)
                 RETURNING allowed, tat_ms, at_ms",
            )?
            .query_row(params![key, now_ms, bucket.period_ms, bucket.burst], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        tx.commit()?;
        Ok((!allowed).then(|| bucket.wait_ms(tat, at)))
    }

    fn admin_login_failed(&self, username: &str, max_attempts: i64, lock_until: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE admin_users SET
                 locked_until = CASE WHEN failed_attempts + 1 >= ?2 THEN ?3 ELSE locked_until END,
                 failed_attempts = CASE WHEN failed_attempts + 1 >= ?2 THEN 0 ELSE failed_attempts + 1 END
             WHERE username = ?1",
            params![username, max_attempts, lock_until],
        )?;
        Ok(())
    }

    fn start_admin_session(
        &self,
        username: &str,
        token_hash: &str,
        now: i64,
        seen_after: i64,
        started_after: i64,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM admin_sessions WHERE last_seen_at < ?1 OR created_at < ?2",
            params![seen_after, started_after],
        )?;
        tx.execute(
            "UPDATE admin_users SET failed_attempts = 0, locked_until = NULL WHERE username = ?1",
            [username],
        )?;
        tx.execute(
            "INSERT INTO admin_sessions(token_hash, username, created_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?3)",
            params![token_hash, username, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn admin_session(
        &self,
        token_hash: &str,
        now: i64,
        seen_after: i64,
        started_after: i64,
    ) -> Result<Option<String>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached(
                "UPDATE admin_sessions SET last_seen_at = max(last_seen_at, ?2)
                 WHERE token_hash = ?1 AND last_seen_at >= ?3 AND created_at >= ?4
                 RETURNING username",
            )?
            .query_row(params![token_hash, now, seen_after, started_after], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn end_admin_session(&self, token_hash: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM admin_sessions WHERE token_hash = ?1",
            [token_hash],
        )?;
        Ok(())
    }

    fn touch_device(&self, device_id: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE devices SET last_contact_at = ?2 WHERE id = ?1",
            params![device_id, self.now_text()],
        )?;
        Ok(())
    }

    fn device_overview(&self) -> Result<Vec<DeviceOverview>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT d.id, d.hall_code, coalesce(h.name, ''), d.name, d.enrolled_at, d.revoked_at,
                    d.last_contact_at,
                    coalesce((SELECT max(seq) FROM changes c WHERE c.device_id = d.id), 0),
                    (SELECT count(*) FROM quarantine q WHERE q.device_id = d.id)
             FROM devices d LEFT JOIN halls h ON h.code = d.hall_code
             ORDER BY d.hall_code, d.enrolled_at",
        )?;
        let rows = stmt.query_map([], |r| {
            let id: String = r.get(0)?;
            Ok(DeviceOverview {
                kind: device_kind(&id),
                id,
                hall_code: r.get(1)?,
                hall_name: r.get(2)?,
                name: r.get(3)?,
                enrolled_at: r.get(4)?,
                revoked_at: r.get(5)?,
                last_contact_at: r.get(6)?,
                changes: r.get(7)?,
                set_aside: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
                // A record the asking desk alone wrote (its base, no later field and no deletion
                // by another) is not read at all: `protocol::snapshot` checks the rest.
                let mut stmt = conn.prepare_cached(SNAPSHOT_RECORDS)?;
                let rows = stmt.query_map(
                    params![req.entity, after, device.hall_code, limit, device.id],
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

    fn statistics(
        &self,
        period: Period,
        today: NaiveDate,
        cal: &HolidayCalendar,
    ) -> Result<Figures> {
        use super::stats_feed::{figures, keep};
        let conn = self.conn();
        // One transaction: every table as of the same moment. The days added up are kept inside
        // it, after a savepoint: if another process wrote meanwhile, the write fails (the read
        // is stale) and nothing is kept.
        conn.execute_batch("BEGIN")?;
        let mut src = stats_rows::Source(&conn);
        let result = figures(&mut src, period, today, cal, false).and_then(|f| {
            let f = f.ok_or_else(|| StorageError::Backend("statistics: no figures".into()))?;
            conn.execute_batch("SAVEPOINT keep_days")?;
            let kept = keep(&mut src, &f.fresh).is_ok();
            conn.execute_batch(if kept {
                "RELEASE keep_days"
            } else {
                "ROLLBACK TO keep_days; RELEASE keep_days"
            })?;
            Ok(f.figures)
        });
        conn.execute_batch("COMMIT")?;
        result
    }

    fn keep_due_days(&self, cal: &HolidayCalendar) -> Result<usize> {
        let conn = self.conn();
        let tx = conn.unchecked_transaction()?;
        let n = super::stats_feed::keep_due(&mut stats_rows::Source(&tx), cal)?;
        tx.commit()?;
        Ok(n)
    }
}

/// The city's row source for the one statistics function: the SQL that selects a period's rows
/// through the indexes of migration 0006 (never every record), streamed into the accumulator.
pub(crate) mod stats_rows {
    use rusqlite::{Connection, Row};

    use super::Result;
    use crate::storage::stats_feed::{StatRow, StatsQuery, StatsSource};

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
           trim(coalesce(json_extract(k.data, '$.advice'), '')) <> '',
           substr(json_extract(v.data, '$.visited_at'), 1, 10)
         FROM records v INDEXED BY records_visit_day
           CROSS JOIN records k INDEXED BY records_consultation_visit
           ON k.entity = 'consultation' AND json_extract(k.data, '$.visit_id') = +v.entity_id
         WHERE v.entity = 'visit' AND substr(json_extract(v.data, '$.visited_at'), 1, 10) BETWEEN ?1 AND ?2
           AND v.deleted_hlc IS NULL AND k.deleted_hlc IS NULL";

    pub(crate) const MEDIATIONS: &str = "SELECT k.hall_code, coalesce(json_extract(k.data, '$.mediator_id'), ''),
           coalesce(json_extract(k.data, '$.outcome'), ''), coalesce(json_extract(k.data, '$.dispute_type'), ''),
           coalesce(json_extract(k.data, '$.judicial_confirmation'), 0),
           substr(json_extract(v.data, '$.visited_at'), 1, 10)
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
    /// `INDEXED BY`: without statistics the planner took `stats_deadlines_done` on
    /// `done_on IS NULL`, every undone limit with visitors' windows (798,593 limits at 300,000
    /// visits, 0.14 s, against 12 ms for the 3,840 open authority limits).
    pub(crate) const DEADLINES_LATE: &str =
        "SELECT matter_id, hall_code, kind, party, due, done_on, closed
         FROM stats_deadlines INDEXED BY stats_deadlines_open
         WHERE done_on IS NULL AND party = 'authority' AND due < ?3
           AND ?1 IS NOT NULL AND ?2 IS NOT NULL";

    /// ?3: the cutoff of [`registered_overdue_cutoff`].
    pub(crate) const REGISTERED_LATE: &str =
        "SELECT matter_id, hall_code, received_on FROM stats_matters
         WHERE has_state = 0 AND received_on < ?3 AND ?1 IS NOT NULL AND ?2 IS NOT NULL";

    /// ?3: the last day of the evaluations that count.
    /// From each matter's kept evaluations (migration 0020): only a matter evaluated both
    /// before and after ?3 reads its records.
    pub(crate) const CONCLUDED: &str = "SELECT s.hall_code, s.concluded_on,
           CASE WHEN v.matter_id IS NULL OR v.first_evaluated_on > ?3 THEN NULL
                WHEN v.last_evaluated_on <= ?3 THEN v.last_evaluation
                ELSE (SELECT json_extract(e.data, '$.result') FROM records e INDEXED BY records_evaluation_matter
                       WHERE e.entity = 'matter_evaluation' AND json_extract(e.data, '$.matter_id') = +s.matter_id
                         AND e.deleted_hlc IS NULL AND json_extract(e.data, '$.evaluated_on') <= ?3
                       ORDER BY json_extract(e.data, '$.evaluated_on') DESC, json_extract(e.data, '$.created_at') DESC
                       LIMIT 1) END
         FROM stats_matters s INDEXED BY stats_matters_concluded
           LEFT JOIN stats_evaluations v ON v.matter_id = s.matter_id
         WHERE s.concluded_on BETWEEN ?1 AND ?2";

    pub(crate) const LATEST_EVALUATIONS: &str = "SELECT s.concluded_on, max(v.last_evaluated_on)
         FROM stats_matters s INDEXED BY stats_matters_concluded
           JOIN stats_evaluations v ON v.matter_id = s.matter_id
         WHERE s.concluded_on BETWEEN ?1 AND ?2
         GROUP BY s.concluded_on";

    /// The SQL of each statistics query.
    pub(crate) fn sql(q: StatsQuery) -> &'static str {
        match q {
            StatsQuery::Visits => VISITS,
            StatsQuery::Consultations => CONSULTATIONS,
            StatsQuery::Mediations => MEDIATIONS,
            StatsQuery::Received => RECEIVED,
            StatsQuery::DeadlinesDone => DEADLINES_DONE,
            StatsQuery::DeadlinesLate => DEADLINES_LATE,
            StatsQuery::RegisteredLate => REGISTERED_LATE,
            StatsQuery::Concluded => CONCLUDED,
            StatsQuery::LatestEvaluations => LATEST_EVALUATIONS,
        }
    }

    impl StatRow for Row<'_> {
        fn text(&self, i: usize) -> Result<String> {
            Ok(self.get(i)?)
        }
        fn opt_text(&self, i: usize) -> Result<Option<String>> {
            Ok(self.get(i)?)
        }
        fn int(&self, i: usize) -> Result<i64> {
            Ok(self.get(i)?)
        }
        fn flag(&self, i: usize) -> Result<bool> {
            Ok(self.get(i)?)
        }
    }

    /// The connection as the statistics' row source: rows streamed, never all held.
    pub(crate) struct Source<'a>(pub(crate) &'a Connection);

    impl StatsSource for Source<'_> {
        fn each(
            &mut self,
            q: StatsQuery,
            params: &[&str],
            f: &mut dyn FnMut(&dyn StatRow) -> Result<()>,
        ) -> Result<()> {
            let mut stmt = self.0.prepare_cached(sql(q))?;
            let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
            while let Some(r) = rows.next()? {
                f(r)?;
            }
            Ok(())
        }

        fn kept_days(
            &mut self,
            from: &str,
            to: &str,
            format: i64,
        ) -> Result<Vec<(String, String, Option<String>)>> {
            let mut stmt = self.0.prepare_cached(
                "SELECT day, figures, evaluated_until FROM stats_days
                  WHERE day BETWEEN ?1 AND ?2 AND format = ?3",
            )?;
            let rows = stmt.query_map(rusqlite::params![from, to, format], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        }

        fn keep_day(
            &mut self,
            day: &str,
            format: i64,
            figures: &str,
            evaluated_until: Option<&str>,
        ) -> Result<()> {
            self.0
                .prepare_cached(
                    "INSERT OR REPLACE INTO stats_days(day, format, figures, evaluated_until)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(rusqlite::params![day, format, figures, evaluated_until])?;
            self.clear_due(day, day)
        }

        fn due_days(&mut self, limit: usize) -> Result<Vec<String>> {
            let mut stmt = self.0.prepare_cached(
                "SELECT DISTINCT day FROM stats_days_due ORDER BY day DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        }

        fn clear_due(&mut self, from: &str, to: &str) -> Result<()> {
            self.0
                .prepare_cached("DELETE FROM stats_days_due WHERE day BETWEEN ?1 AND ?2")?
                .execute([from, to])?;
            Ok(())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use rusqlite::params;

        /// A city upgraded with history in it: the days of its rows not kept become due, so the
        /// keeper adds them up after the upgrade (kept ones do not), and each hall's records are
        /// counted.
        #[test]
        fn an_upgraded_city_has_its_days_not_kept_due_and_its_halls_counted() {
            let mut conn = Connection::open_in_memory().unwrap();
            let m = super::super::migrations();
            m.to_version(&mut conn, 15).unwrap();
            conn.execute_batch(
                "INSERT INTO records(entity, entity_id, hall_code, data, versions, base_hlc, base_device)
                 VALUES ('visit', 'v-1', '140521', '{\"visited_at\":\"2025-03-03 09:00\"}', '{}', 1, 'd'),
                        ('visit', 'v-2', '140522', '{\"visited_at\":\"2025-03-04 09:00\"}', '{}', 1, 'd');
                 INSERT INTO stats_days(day, format, figures) VALUES ('2025-03-04', 1, '{}');
                 INSERT INTO halls(code, name, created_at) VALUES ('140521', '沁水县', ''), ('140522', '阳城县', '');",
            )
            .unwrap();
            m.to_latest(&mut conn).unwrap();
            // And its halls' counts (migration 0017) are counted once.
            let visits: Vec<(String, i64)> = conn
                .prepare("SELECT hall_code, n FROM hall_counts WHERE what = 'visit' ORDER BY 1")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(visits, [("140521".to_owned(), 1), ("140522".to_owned(), 1)]);
            let due: Vec<(String, String)> = conn
                .prepare("SELECT day, hall_code FROM stats_days_due")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(due, [("2025-03-03".to_owned(), "140521".to_owned())]);
        }

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

        /// The open limits are read from their own index, not from every undone limit's.
        #[test]
        fn the_open_limits_are_read_from_their_own_index() {
            let dir = tempfile::TempDir::new().unwrap();
            let storage = super::super::SqliteStorage::open(dir.path()).unwrap();
            let conn = storage.conn();
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {DEADLINES_LATE}"))
                .unwrap();
            let plan: Vec<String> = stmt
                .query_map(params!["2025-03-01", "2025-03-31", "2025-04-01"], |r| {
                    r.get::<_, String>(3)
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                plan[0].contains("USING INDEX stats_deadlines_open"),
                "{plan:#?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth;
    use crate::protocol;
    use xinfang_sync::audit::GENESIS;

    /// The lookups a push runs for each step and visitor read the `records_lookup` index, not
    /// every record of the entity (that made a hall's first sync quadratic).
    #[test]
    fn the_lookups_of_a_push_use_the_lookup_index() {
        let dir = tempfile::TempDir::new().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let conn = storage.conn();
        for (sql, n) in [
            (STEPS_OF_MATTER, 2),
            (VISITORS_BY_ID_NUMBER, 1),
            (VISITS_OF_VISITOR, 1),
        ] {
            let p = ["01a248bd-07ce-777e-82f6-46058f25593c", "140521"];
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(&p[..n]), |r| {
                    r.get::<_, String>(3)
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                plan.iter().all(|p| p.contains("INDEX records_lookup")),
                "{sql}\n{plan:#?}"
            );
        }
    }

    /// A snapshot page reads the asking hall's records from their own range of the
    /// `records_hall` index, in id order without a sort: not every hall's records of the entity.
    #[test]
    fn a_snapshot_page_reads_only_its_halls_records() {
        let dir = tempfile::TempDir::new().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let conn = storage.conn();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SNAPSHOT_RECORDS}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map(
                rusqlite::params!["visit", "", "140521", 2000, "device-1"],
                |r| r.get::<_, String>(3),
            )
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(plan.len(), 1, "{plan:#?}");
        assert!(
            plan[0].contains("INDEX records_hall (entity=? AND hall_code=? AND entity_id>?)"),
            "{plan:#?}"
        );
    }

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
        protocol::add_enrol_code(&s, &auth::code_hash("AAAA-BBBB-CCCC"), "140521", i64::MAX)
            .unwrap();
        let token_hash = auth::token_hash("xft_test");
        protocol::enrol(
            &s,
            &NewEnrolment {
                code_hash: auth::code_hash("AAAA-BBBB-CCCC"),
                device_id: "dev-00000001".into(),
                hall_code: "140521".into(),
                device_name: "一号机".into(),
                token_hash: token_hash.clone(),
                now: 0,
                roots: Vec::new(),
                hub: false,
                other_kind_hash: String::new(),
            },
        )
        .unwrap();
        let device = s.device_by_token(&token_hash).unwrap().unwrap();
        (s, device)
    }

    #[test]
    fn a_stored_chain_changed_behind_the_servers_back_is_found() {
        let dir = tempfile::TempDir::new().unwrap();
        let (s, dev) = storage_with_device(dir.path());
        protocol::push_audit(&s, &dev, &chain(&dev.id, 3)).unwrap();
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
        let chains = protocol::audit_chains(&s).unwrap();
        let b = &chains.devices[0].breaks;
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].seq, b[0].source.as_str()), (2, "stored"));
    }
}
