//! The desk's local store: one SQLite file in the desk's data dir.
//!
//! Every write runs in one transaction that also appends one change-log row per changed entity,
//! so sync never misses a change and a crash never leaves half a visit behind.
//! SQL lives here and nowhere else on the desk.

mod backlog;
mod changelog;
mod desk;
mod error;
mod maintenance;
mod matters;
mod schema;
mod search;
mod staff;
mod stats;
mod sync;
mod visits;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

pub use backlog::{BacklogCase, BacklogDashboard, BacklogFilter, BacklogNote};
pub use changelog::ChangeRow;
pub use desk::{
    ConsultationRecord, HandoffInfo, HistoryEntry, MediationRecord, PartyRecord, QueueItem,
    SessionRecord, VisitDetail, VisitRow, VisitorBrief, VisitorProfile,
};
pub use error::{Result, StoreError};
pub use maintenance::VerifyReport;
pub use matters::{
    AllowedEvent, DeadlineView, DueItem, DueList, EventRecord, MatterView, RouteProposal,
};
pub use search::{SearchKind, VisitorHit, classify_query, name_keys};
pub use staff::{NewStaff, Staff};
pub use stats::{
    BacklogCounts, Completeness, CompletenessCounts, ConsultationCounts, Count, DeskCounts,
    EvaluationRecord, Gap, ImportOutcome, LedgerConsultation, LedgerImportRow, LedgerMediation,
    LedgerPerson, LedgerVisit, MediationCounts, OverdueCounts, PublicityRecord, RateMatter, Rates,
    Statistics, StatsQuery, VisitCounts,
};
pub use visits::{Registered, VisitSummary};

/// File name of the database inside a data dir.
pub const DB_FILE: &str = "xinfang.db";

/// An open store. Not `Sync`: one connection, used by one thread at a time.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    hall_code: String,
    device_id: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("hall_code", &self.hall_code)
            .finish()
    }
}

impl Store {
    /// Whether `data_dir` already holds a store.
    pub fn exists(data_dir: &Path) -> bool {
        data_dir.join(DB_FILE).exists()
    }

    /// Creates a new store for `hall_code` in `data_dir`; refuses to touch an existing one.
    pub fn create(data_dir: &Path, hall_code: &str) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        if path.exists() {
            return Err(StoreError::AlreadyExists(path));
        }
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Io(data_dir.to_path_buf(), e))?;
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
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
        })
    }

    /// Opens the store in `data_dir`, migrating it to the current schema.
    pub fn open(data_dir: &Path) -> Result<Store> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StoreError::NotInitialised(data_dir.to_path_buf()));
        }
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
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
        Ok(Store {
            conn,
            path,
            hall_code,
            device_id,
        })
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

    /// The schema version (SQLite `user_version`, maintained by the migrations).
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

/// Current time as stored: RFC 3339 with milliseconds, China Standard Time.
pub(crate) fn now_text() -> String {
    let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
    chrono::Utc::now()
        .with_timezone(&cst)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}
