//! The desk's local store: one SQLite file in the desk's data dir.
//!
//! Every write runs in one transaction that also appends one change-log row per changed entity,
//! so sync never misses a change and a crash never leaves half a visit behind.
//! SQL lives here and nowhere else on the desk.

mod audit;
mod backlog;
mod box_keys;
mod changelog;
mod compact;
mod confidential;
mod desk;
mod drafts;
mod encryption;
mod error;
mod figures;
mod hall_key;
mod hall_settings;
mod home;
mod keys;
mod local_settings;
mod maintenance;
mod matters;
mod mediation;
mod notices;
mod numbers;
mod other_halls;
mod people;
mod photos;
mod records;
mod reference;
mod schema;
mod search;
mod snapshot;
mod staff;
mod staff_admin;
mod staff_sign;
mod stats;
mod sync;
#[cfg(test)]
mod test_support;
mod visits;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use xinfang_core::clock::{Clock, SystemClock};

pub use audit::{AuditAction, AuditEntry, AuditFilter, ChainBreak, GENESIS};
pub use backlog::{
    BACKLOG_PAGE_SIZE, BacklogCase, BacklogCasePage, BacklogDashboard, BacklogFilter, BacklogNote,
    DASHBOARD_OVERDUE_SHOWN,
};
pub use changelog::ChangeRow;
pub use compact::CompactReport;
pub use desk::{
    ConsultationRecord, FollowUpRecord, HandoffInfo, HistoryEntry, InvestigationRecord,
    MediationDocument, MediationRecord, PartyRecord, QueueItem, RecordOwner, SessionRecord,
    VisitDetail, VisitRow, VisitorBrief, VisitorContact, VisitorProfile,
};
pub use drafts::{DRAFT_FORMS, DRAFT_MAX_BYTES, Draft, check_draft, check_draft_form};
pub use error::{Result, StoreError};
pub use figures::FiguresKept;
pub use hall_settings::{HALL_PHONE, MEDIATION_COMMITTEE};
pub use keys::{
    Credentials, DataKey, KEYSLOTS_FILE, KEYSLOTS_LOCK_FILE, KdfParams, RecoveryKey,
    throttle_seconds,
};
pub use local_settings::{DISPLAY, ID_READER};
pub use maintenance::{RestoreOutcome, VerifyReport, backup_keyslots_path};
pub use matters::{
    AllowedEvent, DeadlineView, DueItem, DueList, EventRecord, MatterView, RouteProposal,
};
pub use notices::{PrintedEntry, StoredNotice};
pub use other_halls::OtherHallsSeen;
pub use people::{
    DuplicatePair, LikelyDuplicates, MergeRecord, PAIRS_CAP, PersonBrief, SplitOutcome, SplitTarget,
};
pub use photos::VisitorPhoto;
pub use records::{Conflict, ConflictOption, QuarantinedChange, Resolution};
pub use search::{SearchKind, VisitorHit, classify_query, name_keys, tokens as search_tokens};
pub use staff::{NewStaff, Staff};
pub use stats::{
    BacklogCounts, Completeness, CompletenessCounts, ConsultationCounts, Count, DeskCounts,
    EvaluationRecord, Gap, ImportOutcome, LedgerConsultation, LedgerImportRow, LedgerMediation,
    LedgerPerson, LedgerVisit, MediationCounts, OverdueCounts, PublicityRecord, RateMatter,
    RateMattersPage, Rates, Statistics, StatsQuery, VisitCounts,
};
pub use visits::{PersonMatter, Registered, VisitSummary};

/// File name of the database inside a data dir.
pub const DB_FILE: &str = "xinfang.db";

/// An open store. Not `Sync`: one connection, used by one thread at a time.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    hall_code: String,
    device_id: String,
    /// The data key of an encrypted store (wiped on drop); `None` for a legacy plaintext store.
    key: Option<DataKey>,
    /// Every time stamp the store writes comes from here ([`SystemClock`] unless set).
    clock: Arc<dyn Clock>,
    /// The logged-in account's reading key, which opens the 检举控告 content sealed to it
    /// (`confidential.rs`); `None` for accounts that read none and for stores opened by key.
    opener: Option<xinfang_seal::Opener>,
    /// The logged-in admin's signing key, which signs staff changes (`staff_sign.rs`); `None`
    /// for other accounts and for stores opened by key.
    signer: Option<staff_sign::Signer>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("hall_code", &self.hall_code)
            .field("encrypted", &self.key.is_some())
            .finish()
    }
}

/// Sets the connection's page cache to `kib` KiB for a pass that reads its pages once (the
/// login's pass over sealed appeals, the keeper of figures): through the store's own cache
/// (256 MiB, for search) they would stay resident for nothing. Returns the size to give back
/// with [`restore_page_cache`].
pub(crate) fn small_page_cache(conn: &Connection, kib: i64) -> Result<i64> {
    let cache: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.execute_batch(&format!("PRAGMA cache_size = -{kib}"))?;
    Ok(cache)
}

/// Gives back the page cache [`small_page_cache`] replaced.
pub(crate) fn restore_page_cache(conn: &Connection, cache: i64) -> Result<()> {
    Ok(conn.execute_batch(&format!("PRAGMA cache_size = {cache}"))?)
}

/// Opens the SQLite file at `path`, keyed with `key` when given, and checks that the key opens
/// it. For tests and maintenance tools that look at the file directly; the desk's SQL stays in
/// this crate.
pub fn open_raw(path: &Path, key: Option<&DataKey>) -> Result<Connection> {
    open_connection(path, key, false)
}

pub(crate) fn open_connection(
    path: &Path,
    key: Option<&DataKey>,
    create: bool,
) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    if let Some(key) = key {
        let sql = zeroize::Zeroizing::new(format!("PRAGMA key = \"{}\";", &*key.pragma_literal()));
        conn.execute_batch(&sql)?;
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

impl Store {
    /// Whether `data_dir` already holds a store.
    pub fn exists(data_dir: &Path) -> bool {
        data_dir.join(DB_FILE).exists()
    }

    /// Whether the store in `data_dir` is encrypted (has key slots).
    pub fn is_encrypted_dir(data_dir: &Path) -> bool {
        keys::KeySlots::exists(data_dir)
    }

    /// Creates a new encrypted store for `hall_code` in `data_dir`; refuses to touch an
    /// existing one. Returns the recovery key, to be shown once and never stored.
    pub fn create(data_dir: &Path, hall_code: &str) -> Result<(Store, RecoveryKey)> {
        Self::create_at(data_dir, hall_code, Arc::new(SystemClock))
    }

    /// [`Store::create`] keeping the time of `clock` from its first record on.
    pub fn create_at(
        data_dir: &Path,
        hall_code: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<(Store, RecoveryKey)> {
        Self::create_with_kdf_at(data_dir, hall_code, KdfParams::for_new_store(), clock)
    }

    /// [`Store::create`] with explicit argon2id parameters for the password slots.
    pub fn create_with_kdf(
        data_dir: &Path,
        hall_code: &str,
        kdf: KdfParams,
    ) -> Result<(Store, RecoveryKey)> {
        Self::create_with_kdf_at(data_dir, hall_code, kdf, Arc::new(SystemClock))
    }

    fn create_with_kdf_at(
        data_dir: &Path,
        hall_code: &str,
        kdf: KdfParams,
        clock: Arc<dyn Clock>,
    ) -> Result<(Store, RecoveryKey)> {
        let path = data_dir.join(DB_FILE);
        if path.exists() {
            return Err(StoreError::AlreadyExists(path));
        }
        if keys::KeySlots::exists(data_dir) {
            return Err(StoreError::AlreadyExists(keys::KeySlots::path(data_dir)));
        }
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Io(data_dir.to_path_buf(), e))?;
        let (slots, key, recovery) = keys::KeySlots::new(kdf, &now_text(&*clock))?;
        slots.save(&keys::KeySlots::lock(data_dir)?)?;
        let made = (|| {
            let conn = open_connection(&path, Some(&key), true)?;
            let store = Self::init_new(conn, path.clone(), hall_code, Some(key), clock)?;
            // The slots were written with their MAC: a file without one is refused from now on.
            store.conn.execute(
                "INSERT INTO meta(key, value) VALUES ('keyslots_mac', '1')",
                [],
            )?;
            Ok(store)
        })();
        match made {
            Ok(store) => Ok((store, recovery)),
            Err(e) => {
                remove_store_files(data_dir);
                Err(e)
            }
        }
    }

    /// Creates a plaintext store (benchmark data and tests of the legacy path only).
    pub fn create_unencrypted(data_dir: &Path, hall_code: &str) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        if path.exists() {
            return Err(StoreError::AlreadyExists(path));
        }
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Io(data_dir.to_path_buf(), e))?;
        let conn = open_connection(&path, None, true)?;
        Self::init_new(conn, path, hall_code, None, Arc::new(SystemClock))
    }

    fn init_new(
        mut conn: Connection,
        path: PathBuf,
        hall_code: &str,
        key: Option<DataKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        sync::observe_stored_clock(&conn)?;
        let device_id = uuid::Uuid::now_v7().to_string();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('hall_code', ?1), ('device_id', ?2)",
            [hall_code, &device_id],
        )?;
        tx.commit()?;
        Ok(Store {
            conn,
            path,
            hall_code: hall_code.to_owned(),
            device_id,
            key,
            clock,
            opener: None,
            signer: None,
        })
    }

    /// Unlocks the encrypted store in `data_dir` with a staff password or the recovery key.
    /// Wrong passwords are counted per account and slow that account's next tries down.
    pub fn unlock(data_dir: &Path, creds: &Credentials) -> Result<Store> {
        Self::unlock_at(data_dir, creds, Arc::new(SystemClock))
    }

    /// [`Store::unlock`] with the time of `clock`, which counts the slowdown after wrong
    /// passwords (tests move a manual clock instead of waiting it out) and which the opened
    /// store keeps.
    pub fn unlock_at(data_dir: &Path, creds: &Credentials, clock: Arc<dyn Clock>) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::NotInitialised(data_dir.to_path_buf()));
        }
        if !keys::KeySlots::exists(data_dir) {
            return Err(StoreError::Encryption(format!(
                "数据目录 {} 中的数据库没有加密密钥槽：无法解锁。",
                data_dir.display()
            )));
        }
        let now = u64::try_from(clock.now().timestamp()).unwrap_or(0);
        let slots = keys::KeySlots::load(data_dir)?;
        let candidates = slots.unlock(data_dir, creds, now)?;
        let mut last = StoreError::WrongKey;
        for (i, key) in candidates.iter().enumerate() {
            match Self::open_with_key(data_dir, key) {
                Ok(store) => {
                    let mut store = store.with_clock(clock.clone());
                    store.authenticate_slots(&slots, &candidates)?;
                    if i > 0 {
                        // A rekey was interrupted after the database took the new key; its
                        // file is still authenticated under the old key.
                        let mut keys = vec![key.clone()];
                        keys.extend(candidates.iter().cloned());
                        keys::KeySlots::update_keyed(data_dir, &keys, |slots| {
                            slots.promote();
                            Ok(())
                        })?;
                        tracing::warn!("finished an interrupted rekey");
                    }
                    return Ok(store);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Checks the MAC of the key slots just used to unlock (`slots`, with the data keys they
    /// opened). A file from before the MAC existed is authenticated now, once: the database
    /// records that it was (meta `keyslots_mac`), so a file stripped of its MAC later is refused
    /// like an altered one.
    fn authenticate_slots(&mut self, slots: &keys::KeySlots, candidates: &[DataKey]) -> Result<()> {
        let recorded = self
            .conn
            .query_row("SELECT 1 FROM meta WHERE key = 'keyslots_mac'", [], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        match slots.authenticity(candidates)? {
            keys::Authenticity::Authentic => {}
            keys::Authenticity::Legacy if recorded => return Err(keys::tampered()),
            keys::Authenticity::Legacy => {
                let key = self.key.clone().expect("an unlocked store has its key");
                let lock = keys::KeySlots::lock(self.data_dir())?;
                let mut fresh = keys::KeySlots::load(self.data_dir())?;
                if fresh.authenticity(candidates)? == keys::Authenticity::Legacy {
                    fresh.authenticate(&key);
                    fresh.save(&lock)?;
                    tracing::info!("key slots authenticated for the first time");
                }
            }
        }
        if !recorded {
            self.conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('keyslots_mac', '1')",
                [],
            )?;
        }
        Ok(())
    }

    /// Unlocks with a staff member's password and checks the account: the login of the CLI
    /// and the app.
    pub fn login(data_dir: &Path, username: &str, password: &str) -> Result<(Store, Staff)> {
        Self::login_at(data_dir, username, password, Arc::new(SystemClock))
    }

    /// [`Store::login`] with the time of `clock` (see [`Store::unlock_at`]).
    pub fn login_at(
        data_dir: &Path,
        username: &str,
        password: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<(Store, Staff)> {
        let mut store =
            Self::unlock_at(data_dir, &Credentials::password(username, password), clock)?;
        let staff = store
            .conn
            .query_row(
                "SELECT * FROM staff WHERE username = ?1",
                [username.trim()],
                staff::staff_from_row,
            )
            .optional()?
            .ok_or(StoreError::BadCredentials)?;
        if !staff.active {
            return Err(StoreError::Disabled(staff.username));
        }
        store.open_reading_key(&staff, password)?;
        store.reseal_confidential()?;
        Ok((store, staff))
    }

    /// Opens the encrypted store in `data_dir` with its data key (e.g. a second connection
    /// for the background sync, from the key of the logged-in session).
    pub fn open_with_key(data_dir: &Path, key: &DataKey) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::NotInitialised(data_dir.to_path_buf()));
        }
        let conn = open_connection(&path, Some(key), false)?;
        Self::finish_open(conn, path, Some(key.clone()))
    }

    /// Opens a legacy plaintext store (benchmark data made before encryption). Refuses a
    /// store that has key slots.
    pub fn open_unencrypted(data_dir: &Path) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::NotInitialised(data_dir.to_path_buf()));
        }
        if keys::KeySlots::exists(data_dir) {
            return Err(StoreError::WrongKey);
        }
        let conn = open_connection(&path, None, false)?;
        Self::finish_open(conn, path, None)
    }

    fn finish_open(mut conn: Connection, path: PathBuf, key: Option<DataKey>) -> Result<Store> {
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        sync::observe_stored_clock(&conn)?;
        let meta = |key: &str| -> Result<String> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::Corrupt(format!("meta.{key} missing")))
        };
        let hall_code = meta("hall_code")?;
        let device_id = meta("device_id")?;
        sync::reapply_kept(&mut conn, &device_id)?;
        Ok(Store {
            conn,
            path,
            hall_code,
            device_id,
            key,
            clock: Arc::new(SystemClock),
            opener: None,
            signer: None,
        })
    }

    /// This store with its time taken from `clock` (tests set the time instead of waiting).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// Takes the time from `clock` from now on.
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// The clock every time stamp of this store comes from.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// Whether this store is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// A copy of the data key, for a second connection of the same session (the background
    /// sync). Keep it only while the session is unlocked; it is wiped when dropped.
    pub fn data_key(&self) -> Option<DataKey> {
        self.key.clone()
    }

    /// The data dir of this store.
    pub fn data_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn hall_code(&self) -> &str {
        &self.hall_code
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Runs a screen's reads in one read transaction: one snapshot, and one lock of the file
    /// for all of them. Each statement alone takes and drops the lock (fcntl calls, a check of
    /// the WAL's header): 40 % of today's list, which reads three rows per visit of the day.
    pub(crate) fn reading<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            return read(&self.conn);
        }
        let tx = self.conn.unchecked_transaction()?;
        let out = read(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The schema version (SQLite `user_version`, maintained by the migrations).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

/// Removes a store's files (a creation that failed half-way).
pub(crate) fn remove_store_files(data_dir: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(data_dir.join(format!("{DB_FILE}{suffix}")));
    }
    let _ = std::fs::remove_file(data_dir.join(KEYSLOTS_FILE));
}

/// The time of `clock` as stored: RFC 3339 with milliseconds, China Standard Time.
pub(crate) fn now_text(clock: &dyn Clock) -> String {
    clock
        .now_cst()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}
