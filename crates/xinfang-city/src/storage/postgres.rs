//! The PostgreSQL backend (`--database postgres://…`): several `xinfang-city` instances on one
//! database, none keeping state of its own.
//!
//! **Server sequence** (docs/sync.md "Server sequence"): every write transaction first takes
//! transaction-level advisory locks (`pg_advisory_xact_lock…`), held to its commit. A write of
//! one hall's data (a push, a relay, a device's audit entries) takes the city's lock shared and
//! its hall's lock exclusive; any other write takes the city's lock exclusive. Writes of one
//! hall, from all instances, are therefore serialised like the SQLite backend's single writer,
//! while different halls commit at once, and `changes.server_seq` (from a sequence, drawn inside
//! the hall's lock) becomes visible in commit order within a hall: PostgreSQL makes a commit
//! visible before it releases the transaction's locks, so a reader of a hall that sees number
//! n+1 sees the hall's n. Every reader by server sequence reads one hall. Reads run in
//! REPEATABLE READ snapshots and take no lock.
//!
//! The trait is synchronous (handlers call it on tokio's blocking threads, the CLI without a
//! runtime), so the backend drives tokio-postgres on a small runtime of its own.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::NaiveDate;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};
use tokio_postgres_rustls::MakeRustlsConnect;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::clock::Clock;
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

use super::stats_feed::{StatRow, StatsQuery, StatsSource};
use super::{
    AdminLogin, AdminToken, AdminUser, AuditDevice, Device, DeviceEnrolment, DeviceOverview, Done,
    EnrolCode, Hall, LogEntry, MatterFacts, MatterSubject, NewEnrolment, NewLogEntry, NewRecord,
    PRELOADED_HALLS, PublicityRow, RateBucket, Result, Storage, StorageError, StoredRecord, Tx,
    TxBody, VisitFacts, lookup_key,
};

/// The versioned migrations of the PostgreSQL store, applied in order, each once.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_city.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_hall_queue.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_queue_letters.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/0004_updates.sql"),
    ),
    (
        5,
        include_str!("../../migrations/postgres/0005_admin_console.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/0006_rate_buckets.sql"),
    ),
    (
        7,
        include_str!("../../migrations/postgres/0007_stats_days.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_stats_days_due.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_hall_counts.sql"),
    ),
    (
        10,
        include_str!("../../migrations/postgres/0010_facts_on_change.sql"),
    ),
    (
        11,
        include_str!("../../migrations/postgres/0011_records_hall_bytes.sql"),
    ),
    (
        12,
        include_str!("../../migrations/postgres/0012_stats_evaluations.sql"),
    ),
];

/// A page of a snapshot's records of one entity ($1) of a hall ($3) after the id $2, at most $4,
/// in byte order (`COLLATE "C"`, as SQLite pages: the cursor is an entity id), read from
/// `records_hall_bytes`. A record the asking desk ($5) alone wrote — its base, no later field
/// and no deletion by another — is not read at all: `protocol::snapshot` checks the rest.
pub const SNAPSHOT_RECORDS_SQL: &str = concat!(
    "SELECT entity_id, data::text, versions, base_hlc, base_device, deleted_hlc, deleted_device
     FROM records WHERE entity = $1 AND hall_code = $3
       AND entity_id COLLATE \"C\" > $2 AND ",
    not_written_by_alone!("$5"),
    " ORDER BY entity_id COLLATE \"C\" LIMIT $4"
);

/// The channel instances announce stored changes on (`NOTIFY`), for the desks listening to
/// any of them (docs/sync.md "Live notifications").
const CHANGES_CHANNEL: &str = "xinfang_changes";

/// `hall`, the sequence and the pushing device (empty for a relay), tab-separated: hall codes
/// and device ids hold no tab.
fn change_payload(hall: &str, server_seq: i64, origin: Option<&str>) -> String {
    format!("{hall}\t{server_seq}\t{}", origin.unwrap_or(""))
}

fn parse_change(payload: &str) -> Option<(&str, i64, Option<&str>)> {
    let mut parts = payload.splitn(3, '\t');
    let hall = parts.next().filter(|h| !h.is_empty())?;
    let seq = parts.next()?.parse().ok()?;
    let origin = parts.next().filter(|o| !o.is_empty());
    Some((hall, seq, origin))
}

/// One LISTEN connection: every notification on [`CHANGES_CHANNEL`] to `on_change`, until the
/// connection ends.
async fn listen(
    config: &tokio_postgres::Config,
    tls: &MakeRustlsConnect,
    on_change: &super::ChangeListener,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls.clone()).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The connection is driven here: its messages carry the notifications.
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message? {
                tokio_postgres::AsyncMessage::Notification(n) => {
                    if tx.send(n.payload().to_owned()).is_err() {
                        break;
                    }
                }
                _ => continue,
            }
        }
        Ok::<(), tokio_postgres::Error>(())
    });
    client
        .batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))
        .await?;
    tracing::info!("change listener: listening");
    while let Some(payload) = rx.recv().await {
        match parse_change(&payload) {
            Some((hall, seq, origin)) => on_change(hall, seq, origin),
            None => tracing::warn!(%payload, "change listener: unreadable notification"),
        }
    }
    drop(client);
    driver.await.unwrap_or(Ok(()))
}

/// The city's advisory lock, held to its commit by every write transaction: exclusive by a
/// city-wide write, shared by a write of one hall's data (an arbitrary constant).
const WRITE_LOCK: i64 = 0x7869_6e66_616e_6701;
/// The first key of a hall's advisory lock (the two-key form, a key space of its own); the
/// second is the hash of the hall's code. Two halls whose codes hash alike share a lock: they
/// only wait for each other.
const HALL_LOCKS: i32 = 0x7866_6c6b;

/// What a transaction locks before its first statement.
#[derive(Clone, Copy)]
enum Lock<'a> {
    /// A read-only snapshot: nothing.
    Read,
    /// A city-wide write: the city's lock, exclusive.
    City,
    /// A write of this hall's data only: the city's lock shared, the hall's exclusive.
    Hall(&'a str),
    /// A write whose statements hold by themselves, each atomic (one row updated, a row
    /// inserted unless a unique key holds one): no lock, so a device's contact at every sync
    /// waits for no one.
    Rows,
}
/// The advisory lock of the migrations, so two instances starting at once migrate once.
const MIGRATE_LOCK: i64 = 0x7869_6e66_616e_6702;

type Params<'a> = [&'a (dyn ToSql + Sync)];

fn pg(e: tokio_postgres::Error) -> StorageError {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StorageError::Conflict(e.to_string()),
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            StorageError::Conflict(e.to_string())
        }
        _ => StorageError::Backend(match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => format!(
                "{e}: {}",
                std::error::Error::source(&e).map_or_else(String::new, ToString::to_string)
            ),
        }),
    }
}

fn backend<E: std::fmt::Display>(e: E) -> StorageError {
    StorageError::Backend(e.to_string())
}

/// A connection the pool could not make: TLS and the server's refusals in clear Chinese
/// ([`super::pg_tls::explain`]), as the administrator starting the server sees them.
fn pool_err(e: deadpool_postgres::PoolError) -> StorageError {
    match super::pg_tls::explain(&e) {
        Some(message) => StorageError::Backend(message),
        None => backend(e),
    }
}

pub struct PgStorage {
    /// Drives the connections; `None` only while dropping.
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// For the connection that LISTENs ([`Storage::listen_changes`]): not one of the pool's.
    config: tokio_postgres::Config,
    /// The URI's TLS (`sslmode`, `sslrootcert`), for the pool and the listener alike.
    tls: MakeRustlsConnect,
    /// Set once `listen_changes` started its listener.
    listening: std::sync::atomic::AtomicBool,
    calendar: xinfang_core::calendar::HolidayCalendar,
    clock: Arc<dyn Clock>,
    /// Statements sent in transactions, each a round trip (see [`PgStorage::statements`]).
    statements: AtomicU64,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStorage").finish_non_exhaustive()
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        // Dropped from async code too (the server's state): never block there.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl PgStorage {
    /// Connects to `uri`, migrates the schema to the latest version and preloads the halls of a
    /// new store; the city's own holiday years come from `data_dir` when given.
    pub fn open(uri: &str, data_dir: Option<&Path>, clock: Arc<dyn Clock>) -> Result<PgStorage> {
        let super::pg_tls::PgConnect { config, tls, .. } =
            super::pg_tls::parse(uri).map_err(StorageError::Backend)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("xinfang-pg")
            .enable_all()
            .build()
            .map_err(backend)?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(backend)?;
        let storage = PgStorage {
            rt: Some(rt),
            pool,
            config,
            tls,
            listening: std::sync::atomic::AtomicBool::new(false),
            calendar: data_dir.map_or_else(
                xinfang_core::calendar::HolidayCalendar::bundled,
                super::derive::city_calendar,
            ),
            clock,
            statements: AtomicU64::new(0),
        };
        storage.migrate()?;
        Ok(storage)
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("runtime lives until drop")
    }

    /// How many statements this store's transactions have sent so far (their begin, the write
    /// lock and their end included), each one round trip to PostgreSQL: what a push costs
    /// besides the rows themselves (docs/performance.md, "Province scale").
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    fn migrate(&self) -> Result<()> {
        let now = super::sqlite::now_text(&*self.clock);
        self.rt().block_on(async {
            let mut client = self.pool.get().await.map_err(pool_err)?;
            client
                .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
                .await
                .map_err(pg)?;
            let result = async {
                client
                    .batch_execute(
                        "SET client_min_messages TO warning;
                         CREATE TABLE IF NOT EXISTS schema_migrations (
                           version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
                    )
                    .await
                    .map_err(pg)?;
                let have: i32 = client
                    .query_one(
                        "SELECT coalesce(max(version), 0) FROM schema_migrations",
                        &[],
                    )
                    .await
                    .map_err(pg)?
                    .get(0);
                for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > have) {
                    let tx = client.transaction().await.map_err(pg)?;
                    tx.batch_execute(sql).await.map_err(pg)?;
                    tx.execute(
                        "INSERT INTO schema_migrations(version, applied_at) VALUES ($1, $2)",
                        &[version, &now],
                    )
                    .await
                    .map_err(pg)?;
                    tx.commit().await.map_err(pg)?;
                    tracing::info!(version, "PostgreSQL store migrated");
                }
                let tx = client.transaction().await.map_err(pg)?;
                let empty: bool = tx
                    .query_one("SELECT NOT EXISTS (SELECT 1 FROM halls)", &[])
                    .await
                    .map_err(pg)?
                    .get(0);
                if empty {
                    for (code, name) in PRELOADED_HALLS {
                        tx.execute(
                            "INSERT INTO halls(code, name, created_at) VALUES ($1, $2, $3)",
                            &[code, name, &now],
                        )
                        .await
                        .map_err(pg)?;
                    }
                }
                tx.commit().await.map_err(pg)
            }
            .await;
            client
                .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK])
                .await
                .map_err(pg)?;
            result
        })
    }

    /// Runs `f` in one transaction: a write one (holding the locks `lock` names) or a
    /// read-only snapshot. Committed when `f` says so; rolled back otherwise or on error.
    fn with_tx<T>(
        &self,
        lock: Lock<'_>,
        f: impl FnOnce(&mut PgTx<'_>) -> Result<(Done, T)>,
    ) -> Result<T> {
        let rt = self.rt();
        let mut client = rt.block_on(self.pool.get()).map_err(pool_err)?;
        // Begin, the lock of a write one; then the statements; then the end.
        self.statements.fetch_add(
            match lock {
                Lock::Read | Lock::Rows => 2,
                Lock::City | Lock::Hall(_) => 3,
            },
            Ordering::Relaxed,
        );
        let tx = rt
            .block_on(async {
                match lock {
                    Lock::Read => {
                        client
                            .build_transaction()
                            .isolation_level(IsolationLevel::RepeatableRead)
                            .read_only(true)
                            .start()
                            .await
                    }
                    Lock::Rows => client.transaction().await,
                    Lock::City => {
                        let tx = client.transaction().await?;
                        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
                            .await?;
                        Ok(tx)
                    }
                    Lock::Hall(hall) => {
                        // The city's lock first, always: a city-wide writer never waits for a
                        // hall's lock, so the two orders cannot deadlock.
                        let tx = client.transaction().await?;
                        tx.execute(
                            "SELECT pg_advisory_xact_lock_shared($1),
                                    pg_advisory_xact_lock($2, hashtext($3))",
                            &[&WRITE_LOCK, &HALL_LOCKS, &hall],
                        )
                        .await?;
                        Ok(tx)
                    }
                }
            })
            .map_err(pg)?;
        let mut t = PgTx {
            tx: Some(tx),
            rt,
            clock: &*self.clock,
            statements: &self.statements,
        };
        let result = f(&mut t);
        let tx = t.tx.take().expect("transaction");
        match result {
            Ok((Done::Commit, v)) => {
                rt.block_on(tx.commit()).map_err(pg)?;
                Ok(v)
            }
            Ok((Done::Rollback, v)) => {
                rt.block_on(tx.rollback()).map_err(pg)?;
                Ok(v)
            }
            Err(e) => {
                // The connection goes back clean; the error said what went wrong.
                let _ = rt.block_on(tx.rollback());
                Err(e)
            }
        }
    }

    fn read_with<T>(&self, f: impl FnOnce(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        self.with_tx(Lock::Read, |t| Ok((Done::Commit, f(t)?)))
    }

    fn write_with<T>(&self, f: impl FnOnce(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        self.with_tx(Lock::City, |t| Ok((Done::Commit, f(t)?)))
    }

    fn write_rows<T>(&self, f: impl FnOnce(&mut PgTx<'_>) -> Result<T>) -> Result<T> {
        self.with_tx(Lock::Rows, |t| Ok((Done::Commit, f(t)?)))
    }
}

/// One transaction's data operations.
pub struct PgTx<'a> {
    tx: Option<Transaction<'a>>,
    rt: &'a tokio::runtime::Runtime,
    clock: &'a dyn Clock,
    statements: &'a AtomicU64,
}

impl PgTx<'_> {
    fn tx(&self) -> &Transaction<'_> {
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.tx.as_ref().expect("open transaction")
    }

    fn query(&self, sql: &str, p: &Params<'_>) -> Result<Vec<Row>> {
        let tx = self.tx();
        self.rt
            .block_on(async {
                let st = tx.prepare_cached(sql).await?;
                tx.query(&st, p).await
            })
            .map_err(pg)
    }

    fn opt(&self, sql: &str, p: &Params<'_>) -> Result<Option<Row>> {
        let tx = self.tx();
        self.rt
            .block_on(async {
                let st = tx.prepare_cached(sql).await?;
                tx.query_opt(&st, p).await
            })
            .map_err(pg)
    }

    fn one(&self, sql: &str, p: &Params<'_>) -> Result<Row> {
        let tx = self.tx();
        self.rt
            .block_on(async {
                let st = tx.prepare_cached(sql).await?;
                tx.query_one(&st, p).await
            })
            .map_err(pg)
    }

    fn exec(&self, sql: &str, p: &Params<'_>) -> Result<u64> {
        let tx = self.tx();
        self.rt
            .block_on(async {
                let st = tx.prepare_cached(sql).await?;
                tx.execute(&st, p).await
            })
            .map_err(pg)
    }

    fn get<T: for<'r> tokio_postgres::types::FromSql<'r>>(r: &Row, i: usize) -> Result<T> {
        r.try_get(i).map_err(pg)
    }
}

fn change_from(r: &Row, at: usize) -> Result<Change> {
    let op: String = PgTx::get(r, at + 3)?;
    let fields: String = PgTx::get(r, at + 4)?;
    Ok(Change {
        seq: PgTx::get(r, at)?,
        entity: PgTx::get(r, at + 1)?,
        entity_id: PgTx::get(r, at + 2)?,
        op: Op::parse(&op).ok_or_else(|| backend(format!("bad op {op}")))?,
        fields: serde_json::from_str(&fields).map_err(backend)?,
        hlc: Hlc(PgTx::get(r, at + 5)?),
        changed_at: PgTx::get(r, at + 6)?,
    })
}

fn device_from(r: &Row) -> Result<Device> {
    Ok(Device {
        id: PgTx::get(r, 0)?,
        hall_code: PgTx::get(r, 1)?,
        name: PgTx::get(r, 2)?,
        enrolled_at: PgTx::get(r, 3)?,
        revoked_at: PgTx::get(r, 4)?,
    })
}

fn audit_from(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: PgTx::get(r, 0)?,
        id: PgTx::get(r, 1)?,
        at: PgTx::get(r, 2)?,
        device_id: PgTx::get(r, 3)?,
        staff_id: PgTx::get(r, 4)?,
        action: PgTx::get(r, 5)?,
        entity: PgTx::get(r, 6)?,
        entity_id: PgTx::get(r, 7)?,
        detail: PgTx::get(r, 8)?,
        prev_hash: PgTx::get(r, 9)?,
        hash: PgTx::get(r, 10)?,
    })
}

/// A `records` row as read: its first column (hall or id), the record as the merge sees it,
/// and its stored columns for a snapshot.
struct RecordRow {
    first: String,
    record: Record,
    data: String,
    base_hlc: i64,
    base_device: String,
    versions: BTreeMap<String, Version>,
    deleted: Option<(i64, String)>,
}

/// A stored record from (hall or id, data, versions, base_hlc, base_device, deleted_hlc,
/// deleted_device).
fn record_from(r: &Row) -> Result<RecordRow> {
    let first: String = PgTx::get(r, 0)?;
    let data: String = PgTx::get(r, 1)?;
    let versions: String = PgTx::get(r, 2)?;
    let base_hlc: i64 = PgTx::get(r, 3)?;
    let base_device: String = PgTx::get(r, 4)?;
    let deleted: Option<(i64, String)> =
        PgTx::get::<Option<i64>>(r, 5)?.zip(PgTx::get::<Option<String>>(r, 6)?);
    let data_map: Map<String, Value> = serde_json::from_str(&data).map_err(backend)?;
    let versions: BTreeMap<String, Version> = serde_json::from_str(&versions).map_err(backend)?;
    let base = Version::new(Hlc(base_hlc), base_device.clone());
    let mut record = Record::default();
    for (field, value) in data_map {
        let v = versions
            .get(&field)
            .cloned()
            .unwrap_or_else(|| base.clone());
        record.fields.insert(field, (value, v));
    }
    record.deleted = deleted.clone().map(|(h, d)| Version::new(Hlc(h), d));
    Ok(RecordRow {
        first,
        record,
        data,
        base_hlc,
        base_device,
        versions,
        deleted,
    })
}

const DEVICE_MAX_SEQ: &str = "SELECT greatest(
       (SELECT coalesce(max(seq), 0) FROM changes WHERE device_id = $1),
       (SELECT coalesce(max(seq), 0) FROM quarantine WHERE device_id = $1))";

impl Tx for PgTx<'_> {
    fn now_text(&self) -> String {
        super::sqlite::now_text(self.clock)
    }

    fn hall_name(&mut self, code: &str) -> Result<Option<String>> {
        self.opt("SELECT name FROM halls WHERE code = $1", &[&code])?
            .map(|r| Self::get(&r, 0))
            .transpose()
    }

    fn append_log(&mut self, e: &NewLogEntry) -> Result<()> {
        self.exec(
            "INSERT INTO city_log(at, action, actor, device_id, detail) VALUES ($1, $2, $3, $4, $5)",
            &[&self.now_text(), &e.action, &e.actor, &e.device_id, &e.detail],
        )?;
        Ok(())
    }

    fn insert_enrol_code(
        &mut self,
        code_hash: &str,
        hall_code: &str,
        expires_at: i64,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO enrol_codes(code_hash, hall_code, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            &[&code_hash, &hall_code, &self.now_text(), &expires_at],
        )?;
        Ok(())
    }

    fn enrol_code(&mut self, code_hash: &str) -> Result<Option<EnrolCode>> {
        self.opt(
            "SELECT hall_code, expires_at, used_at IS NOT NULL FROM enrol_codes WHERE code_hash = $1",
            &[&code_hash],
        )?
        .map(|r| {
            Ok(EnrolCode {
                hall_code: Self::get(&r, 0)?,
                expires_at: Self::get(&r, 1)?,
                used: Self::get(&r, 2)?,
            })
        })
        .transpose()
    }

    fn use_enrol_code(&mut self, code_hash: &str, device_id: &str) -> Result<()> {
        self.exec(
            "UPDATE enrol_codes SET used_at = $2, used_by = $3 WHERE code_hash = $1",
            &[&code_hash, &self.now_text(), &device_id],
        )?;
        Ok(())
    }

    fn device_enrolment(&mut self, device_id: &str) -> Result<Option<DeviceEnrolment>> {
        self.opt(
            "SELECT hall_code, revoked_at IS NOT NULL, reenrol_until, token_hash LIKE 'relayed:%' FROM devices WHERE id = $1",
            &[&device_id],
        )?
        .map(|r| {
            Ok(DeviceEnrolment {
                hall_code: Self::get(&r, 0)?,
                revoked: Self::get(&r, 1)?,
                reenrol_until: Self::get(&r, 2)?,
                relayed: Self::get(&r, 3)?,
            })
        })
        .transpose()
    }

    fn insert_device(&mut self, e: &NewEnrolment) -> Result<()> {
        self.exec(
            "INSERT INTO devices(id, hall_code, name, token_hash, enrolled_at) VALUES ($1, $2, $3, $4, $5)",
            &[&e.device_id, &e.hall_code, &e.device_name, &e.token_hash, &self.now_text()],
        )?;
        Ok(())
    }

    fn reenrol_device(&mut self, e: &NewEnrolment) -> Result<()> {
        self.exec(
            "UPDATE devices SET token_hash = $2, name = $3, reenrol_until = NULL WHERE id = $1",
            &[&e.device_id, &e.token_hash, &e.device_name],
        )?;
        Ok(())
    }

    fn pin_root(&mut self, hall_code: &str, root: &RootKey, device_id: &str) -> Result<()> {
        self.exec(
            "INSERT INTO hall_roots(hall_code, staff_id, sign_public, device_id, pinned_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hall_code, staff_id) DO NOTHING",
            &[
                &hall_code,
                &root.staff_id,
                &root.sign_public,
                &device_id,
                &self.now_text(),
            ],
        )?;
        Ok(())
    }

    fn hall_roots(&mut self, hall_code: &str) -> Result<Vec<RootKey>> {
        self.query(
            "SELECT staff_id, sign_public FROM hall_roots WHERE hall_code = $1
             ORDER BY pinned_at, staff_id COLLATE \"C\"",
            &[&hall_code],
        )?
        .iter()
        .map(|r| {
            Ok(RootKey {
                staff_id: Self::get(r, 0)?,
                sign_public: Self::get(r, 1)?,
            })
        })
        .collect()
    }

    fn device_max_seq(&mut self, device_id: &str) -> Result<i64> {
        Self::get(&self.one(DEVICE_MAX_SEQ, &[&device_id])?, 0)
    }

    fn stored_change(&mut self, device_id: &str, seq: i64) -> Result<Option<Change>> {
        self.opt(
            "SELECT seq, entity, entity_id, op, fields, hlc, changed_at FROM changes
              WHERE device_id = $1 AND seq = $2
             UNION ALL
             SELECT seq, entity, entity_id, op, fields, hlc, changed_at FROM quarantine
              WHERE device_id = $1 AND seq = $2",
            &[&device_id, &seq],
        )?
        .map(|r| change_from(&r, 0))
        .transpose()
    }

    fn insert_change(&mut self, device: &Device, c: &Change, fields_json: &str) -> Result<()> {
        // Inside the hall's write lock: the hall's numbers are handed out and committed in one
        // order.
        self.exec(
            "INSERT INTO changes(server_seq, device_id, seq, hall_code, entity, entity_id, op, fields, hlc, changed_at)
             VALUES (nextval('changes_server_seq'), $1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &device.id,
                &c.seq,
                &device.hall_code,
                &c.entity,
                &c.entity_id,
                &c.op.as_str(),
                &fields_json,
                &c.hlc.0,
                &c.changed_at,
            ],
        )?;
        Ok(())
    }

    fn insert_changes(&mut self, device: &Device, changes: &[(&Change, &str)]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        // Inside the hall's write lock: each row draws its number in batch order (`nextval` in
        // the select list runs after the sort), so server order stays the batch's order. Other
        // halls draw from the same sequence at the same time: the batch's numbers need not
        // follow each other, only rise.
        let mut seq = Vec::with_capacity(changes.len());
        let (mut entity, mut entity_id, mut op, mut fields, mut hlc, mut changed_at) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for (c, f) in changes {
            seq.push(c.seq);
            entity.push(c.entity.as_str());
            entity_id.push(c.entity_id.as_str());
            op.push(c.op.as_str());
            fields.push(*f);
            hlc.push(c.hlc.0);
            changed_at.push(c.changed_at.as_str());
        }
        self.exec(
            "INSERT INTO changes(server_seq, device_id, seq, hall_code, entity, entity_id, op, fields, hlc, changed_at)
             SELECT nextval('changes_server_seq'), $1, u.seq, $2, u.entity, u.entity_id, u.op, u.fields, u.hlc,
                    u.changed_at
               FROM unnest($3::int8[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[], $9::text[])
                    WITH ORDINALITY AS u(seq, entity, entity_id, op, fields, hlc, changed_at, ord)
              ORDER BY u.ord",
            &[
                &device.id,
                &device.hall_code,
                &seq,
                &entity,
                &entity_id,
                &op,
                &fields,
                &hlc,
                &changed_at,
            ],
        )?;
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
        // A change set aside for its malformed text is kept as readably as PostgreSQL can
        // (no NUL in its text).
        let clean = |s: &str| s.replace('\0', "\u{fffd}");
        let (entity_id, changed_at) = (clean(&c.entity_id), clean(&c.changed_at));
        self.exec(
            "INSERT INTO quarantine(device_id, seq, hall_code, entity, entity_id, op, fields, hlc,
               changed_at, code, reason, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &device.id,
                &c.seq,
                &device.hall_code,
                &c.entity,
                &entity_id,
                &c.op.as_str(),
                &fields_json,
                &c.hlc.0,
                &changed_at,
                &code,
                &reason,
                &self.now_text(),
            ],
        )?;
        Ok(())
    }

    fn hall_changes_after(
        &mut self,
        cursors: &[(String, i64)],
        limit: i64,
    ) -> Result<Vec<RemoteChange>> {
        let (devices, after): (Vec<&str>, Vec<i64>) =
            cursors.iter().map(|(d, a)| (d.as_str(), *a)).unzip();
        self.query(
            "SELECT c.seq, c.entity, c.entity_id, c.op, c.fields, c.hlc, c.changed_at,
                    c.server_seq, c.device_id
             FROM unnest($1::text[], $2::int8[]) AS cur(device_id, after)
             CROSS JOIN LATERAL (
                SELECT * FROM changes ch WHERE ch.device_id = cur.device_id AND ch.seq > cur.after
                ORDER BY ch.seq LIMIT $3) c
             ORDER BY c.server_seq LIMIT $3",
            &[&devices, &after, &limit],
        )?
        .iter()
        .map(|r| {
            Ok(RemoteChange {
                device_id: Self::get(r, 8)?,
                server_seq: Self::get(r, 7)?,
                change: change_from(r, 0)?,
            })
        })
        .collect()
    }

    fn max_server_seq(&mut self) -> Result<i64> {
        Self::get(
            &self.one("SELECT coalesce(max(server_seq), 0) FROM changes", &[])?,
            0,
        )
    }

    fn hall_device_ids(&mut self, hall_code: &str, except: &str) -> Result<Vec<String>> {
        self.query(
            "SELECT id FROM devices WHERE hall_code = $1 AND id <> $2 ORDER BY id COLLATE \"C\"",
            &[&hall_code, &except],
        )?
        .iter()
        .map(|r| Self::get(r, 0))
        .collect()
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
        let n = self.exec(
            "INSERT INTO records(entity, entity_id, hall_code, data, versions, base_hlc, base_device, lookup)
             VALUES ($1, $2, $3, $4::text::jsonb, '{}', $5, $6, $7)
             ON CONFLICT (entity, entity_id) DO NOTHING",
            &[&entity, &entity_id, &hall_code, &data_json, &hlc, &device_id, &lookup],
        )?;
        Ok(n == 1)
    }

    fn insert_new_records(&mut self, rows: &[NewRecord<'_>]) -> Result<Vec<bool>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let (mut entity, mut entity_id, mut hall, mut data, mut device) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in rows {
            entity.push(r.entity);
            entity_id.push(r.entity_id);
            hall.push(r.hall_code);
            data.push(r.data_json);
            device.push(r.device_id);
        }
        let hlc: Vec<i64> = rows.iter().map(|r| r.hlc).collect();
        let lookup: Vec<Option<&str>> = rows.iter().map(|r| r.lookup).collect();
        let stored: HashSet<(String, String)> = self
            .query(
                "INSERT INTO records(entity, entity_id, hall_code, data, versions, base_hlc, base_device, lookup)
                 SELECT u.entity, u.entity_id, u.hall_code, u.data::jsonb, '{}', u.hlc, u.device, u.lookup
                   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[])
                        WITH ORDINALITY AS u(entity, entity_id, hall_code, data, hlc, device, lookup, ord)
                  ORDER BY u.ord
                 ON CONFLICT (entity, entity_id) DO NOTHING
                 RETURNING entity, entity_id",
                &[&entity, &entity_id, &hall, &data, &hlc, &device, &lookup],
            )?
            .iter()
            .map(|r| Ok((Self::get(r, 0)?, Self::get(r, 1)?)))
            .collect::<Result<_>>()?;
        Ok(rows
            .iter()
            .map(|r| stored.contains(&(r.entity.to_owned(), r.entity_id.to_owned())))
            .collect())
    }

    fn load_record(&mut self, entity: &str, entity_id: &str) -> Result<Option<StoredRecord>> {
        self.opt(
            "SELECT hall_code, data::text, versions, base_hlc, base_device, deleted_hlc, deleted_device
             FROM records WHERE entity = $1 AND entity_id = $2",
            &[&entity, &entity_id],
        )?
        .map(|r| {
            let row = record_from(&r)?;
            Ok(StoredRecord {
                hall_code: row.first,
                record: row.record,
            })
        })
        .transpose()
    }

    fn save_record(&mut self, entity: &str, entity_id: &str, stored: &StoredRecord) -> Result<()> {
        let (base, versions, data) = super::sqlite::record_columns(stored)?;
        self.exec(
            "INSERT INTO records(entity, entity_id, hall_code, data, versions, base_hlc, base_device,
               deleted_hlc, deleted_device, lookup)
             VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (entity, entity_id) DO UPDATE SET data = excluded.data,
               versions = excluded.versions, base_hlc = excluded.base_hlc,
               base_device = excluded.base_device, deleted_hlc = excluded.deleted_hlc,
               deleted_device = excluded.deleted_device, lookup = excluded.lookup",
            &[
                &entity,
                &entity_id,
                &stored.hall_code,
                &Value::Object(data.clone()).to_string(),
                &versions,
                &base.hlc.0,
                &base.device_id,
                &stored.record.deleted.as_ref().map(|d| d.hlc.0),
                &stored.record.deleted.as_ref().map(|d| d.device_id.clone()),
                &lookup_key(entity, &data),
            ],
        )?;
        Ok(())
    }

    fn record_lookup(&mut self, entity: &str, entity_id: &str) -> Result<Option<String>> {
        Ok(self
            .opt(
                "SELECT lookup FROM records WHERE entity = $1 AND entity_id = $2",
                &[&entity, &entity_id],
            )?
            .map(|r| Self::get::<Option<String>>(&r, 0))
            .transpose()?
            .flatten())
    }

    fn record_in_hall(
        &mut self,
        entity: &str,
        entity_id: &str,
        hall_code: &str,
    ) -> Result<Option<Map<String, Value>>> {
        let data: Option<String> = self
            .opt(
                "SELECT data::text FROM records WHERE entity = $1 AND entity_id = $2 AND hall_code = $3",
                &[&entity, &entity_id, &hall_code],
            )?
            .map(|r| Self::get(&r, 0))
            .transpose()?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }

    fn matter_subject(
        &mut self,
        matter_id: &str,
        hall_code: &str,
    ) -> Result<Option<MatterSubject>> {
        self.opt(
            "SELECT m.data->>'received_on', m.data->>'appeal_kind', v.data->>'agency'
             FROM records m
             LEFT JOIN records v ON v.entity = 'visit' AND v.entity_id = m.data->>'first_visit_id'
               AND v.hall_code = m.hall_code
             WHERE m.entity = 'matter' AND m.entity_id = $1 AND m.hall_code = $2",
            &[&matter_id, &hall_code],
        )?
        .map(|r| {
            Ok(MatterSubject {
                received_on: Self::get(&r, 0)?,
                appeal_kind: Self::get(&r, 1)?,
                agency: Self::get(&r, 2)?,
            })
        })
        .transpose()
    }

    fn matter_steps(
        &mut self,
        matter_id: &str,
        hall_code: &str,
    ) -> Result<Vec<super::derive::StepRecord>> {
        let rows = self.query(
            "SELECT entity_id, data::text, base_hlc FROM records
             WHERE entity = 'matter_event' AND lookup = $1 AND hall_code = $2",
            &[&matter_id, &hall_code],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let data: String = Self::get(r, 1)?;
            if let Ok(data) = serde_json::from_str(&data) {
                out.push(super::derive::StepRecord {
                    id: Self::get(r, 0)?,
                    data,
                    base_hlc: Self::get(r, 2)?,
                });
            }
        }
        Ok(out)
    }

    fn set_matter_derived(
        &mut self,
        matter_id: &str,
        hall_code: &str,
        status: &str,
        state: &str,
        event_count: i64,
    ) -> Result<()> {
        self.exec(
            "UPDATE records SET data = data || jsonb_build_object('status', $2::text, 'state', $3::text,
               'event_count', $4::bigint)
             WHERE entity = 'matter' AND entity_id = $1 AND hall_code = $5",
            &[&matter_id, &status, &state, &event_count, &hall_code],
        )?;
        Ok(())
    }

    fn person_links(&mut self) -> Result<(Vec<Merge>, Vec<VisitMove>)> {
        let merges = self
            .query(
                "SELECT entity_id, data->>'survivor_id', data->>'merged_id', base_hlc
                 FROM records m WHERE entity = 'person_merge' AND deleted_hlc IS NULL
                   AND NOT EXISTS (SELECT 1 FROM records u WHERE u.entity = 'person_unmerge'
                                     AND u.deleted_hlc IS NULL
                                     AND u.data->>'merge_id' = m.entity_id)",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Merge {
                    id: Self::get(r, 0)?,
                    survivor: Self::get::<Option<String>>(r, 1)?.unwrap_or_default(),
                    merged: Self::get::<Option<String>>(r, 2)?.unwrap_or_default(),
                    hlc: Self::get(r, 3)?,
                })
            })
            .collect::<Result<_>>()?;
        let moves = self
            .query(
                "SELECT entity_id, data->>'visit_id', data->>'from_visitor', data->>'to_visitor', base_hlc
                 FROM records WHERE entity = 'visit_move' AND deleted_hlc IS NULL",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(VisitMove {
                    id: Self::get(r, 0)?,
                    visit_id: Self::get::<Option<String>>(r, 1)?.unwrap_or_default(),
                    from: Self::get::<Option<String>>(r, 2)?.unwrap_or_default(),
                    to: Self::get::<Option<String>>(r, 3)?.unwrap_or_default(),
                    hlc: Self::get(r, 4)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((merges, moves))
    }

    fn visitors_by_id_number(&mut self, id_number: &str) -> Result<Vec<String>> {
        self.query(
            "SELECT entity_id FROM records WHERE entity = 'visitor' AND lookup = $1 AND deleted_hlc IS NULL",
            &[&id_number],
        )?
        .iter()
        .map(|r| Self::get(r, 0))
        .collect()
    }

    fn visits_of_visitor(&mut self, visitor_id: &str) -> Result<Vec<String>> {
        Ok(self
            .query(
                "SELECT data->>'visit_id' FROM records
                 WHERE entity = 'visit_visitor' AND lookup = $1 AND deleted_hlc IS NULL",
                &[&visitor_id],
            )?
            .iter()
            .map(|r| Self::get::<Option<String>>(r, 0))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    fn visit_facts(&mut self, visit_id: &str) -> Result<Option<VisitFacts>> {
        self.opt(
            "SELECT r.hall_code, coalesce(h.name, ''), r.data->>'visited_at', r.data->>'category_code'
             FROM records r LEFT JOIN halls h ON h.code = r.hall_code
             WHERE r.entity = 'visit' AND r.entity_id = $1 AND r.deleted_hlc IS NULL",
            &[&visit_id],
        )?
        .map(|r| {
            Ok(VisitFacts {
                hall_code: Self::get(&r, 0)?,
                hall_name: Self::get(&r, 1)?,
                visited_at: Self::get(&r, 2)?,
                category_code: Self::get(&r, 3)?,
            })
        })
        .transpose()
    }

    fn visit_matter(&mut self, visit_id: &str) -> Result<Option<String>> {
        Ok(self
            .opt(
                "SELECT data->>'matter_id' FROM records
                 WHERE entity = 'visit' AND entity_id = $1 AND deleted_hlc IS NULL",
                &[&visit_id],
            )?
            .map(|r| Self::get::<Option<String>>(&r, 0))
            .transpose()?
            .flatten())
    }

    fn matter_facts(&mut self, matter_id: &str) -> Result<Option<MatterFacts>> {
        self.opt(
            "SELECT m.hall_code, coalesce(h.name, ''), coalesce(m.data->>'received_on', ''),
               coalesce(m.data->>'appeal_kind', ''), coalesce(m.data->>'category_code', ''),
               coalesce(jint(m.data->'confidential'), 0),
               coalesce(m.data->>'status', 'registered'), coalesce(m.data->>'state', ''),
               coalesce(v.data->>'appeal', ''), coalesce(v.data->>'agency', ''),
               coalesce(v.data->>'place_code', ''), coalesce(v.data->>'appeal_kind', '')
             FROM records m LEFT JOIN halls h ON h.code = m.hall_code
             LEFT JOIN records v ON v.entity = 'visit' AND v.entity_id = m.data->>'first_visit_id'
             WHERE m.entity = 'matter' AND m.entity_id = $1 AND m.deleted_hlc IS NULL",
            &[&matter_id],
        )?
        .map(|r| {
            Ok(MatterFacts {
                hall_code: Self::get(&r, 0)?,
                hall_name: Self::get(&r, 1)?,
                received_on: Self::get(&r, 2)?,
                appeal_kind: Self::get(&r, 3)?,
                category_code: Self::get(&r, 4)?,
                confidential: Self::get::<i64>(&r, 5)? != 0,
                status: Self::get(&r, 6)?,
                state: Self::get(&r, 7)?,
                appeal: Self::get(&r, 8)?,
                agency: Self::get(&r, 9)?,
                place_code: Self::get(&r, 10)?,
                visit_kind: Self::get(&r, 11)?,
            })
        })
        .transpose()
    }

    fn hall_counts(&mut self) -> Result<Vec<HallCounts>> {
        // One statement: every hall with its counts, kept by migration 0009's triggers
        // (counting the records and changes at every call read them all).
        self.query(
            "SELECT h.code, h.name,
               coalesce(r.visitors, 0), coalesce(r.visits, 0), coalesce(r.matters, 0),
               coalesce(d.n, 0), coalesce(r.changes, 0)
             FROM halls h
             LEFT JOIN (SELECT hall_code,
                          sum(n) FILTER (WHERE what = 'visitor')::int8 AS visitors,
                          sum(n) FILTER (WHERE what = 'visit')::int8 AS visits,
                          sum(n) FILTER (WHERE what = 'matter')::int8 AS matters,
                          sum(n) FILTER (WHERE what = 'change')::int8 AS changes
                        FROM hall_counts GROUP BY hall_code) r ON r.hall_code = h.code
             LEFT JOIN (SELECT hall_code, count(*) AS n FROM devices WHERE revoked_at IS NULL
                        GROUP BY hall_code) d ON d.hall_code = h.code
             ORDER BY h.code COLLATE \"C\"",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(HallCounts {
                hall_code: Self::get(r, 0)?,
                hall_name: Self::get(r, 1)?,
                visitors: Self::get(r, 2)?,
                visits: Self::get(r, 3)?,
                matters: Self::get(r, 4)?,
                devices: Self::get(r, 5)?,
                changes: Self::get(r, 6)?,
            })
        })
        .collect()
    }

    fn visitor_hall(&mut self, visitor_id: &str) -> Result<Option<String>> {
        self.opt(
            "SELECT hall_code FROM records WHERE entity = 'visitor' AND entity_id = $1 AND deleted_hlc IS NULL",
            &[&visitor_id],
        )?
        .map(|r| Self::get(&r, 0))
        .transpose()
    }

    fn audit_last(&mut self, device_id: &str) -> Result<Option<(i64, String)>> {
        self.opt(
            "SELECT seq, hash FROM audit_entries WHERE device_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&device_id],
        )?
        .map(|r| Ok((Self::get(&r, 0)?, Self::get(&r, 1)?)))
        .transpose()
    }

    fn audit_hash(&mut self, device_id: &str, seq: i64) -> Result<Option<String>> {
        self.opt(
            "SELECT hash FROM audit_entries WHERE device_id = $1 AND seq = $2",
            &[&device_id, &seq],
        )?
        .map(|r| Self::get(&r, 0))
        .transpose()
    }

    fn insert_audit(&mut self, device: &Device, e: &AuditEntry) -> Result<()> {
        self.exec(
            "INSERT INTO audit_entries(device_id, seq, hall_code, id, at, staff_id, action, entity,
               entity_id, detail, prev_hash, hash, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &device.id,
                &e.seq,
                &device.hall_code,
                &e.id,
                &e.at,
                &e.staff_id,
                &e.action,
                &e.entity,
                &e.entity_id,
                &e.detail,
                &e.prev_hash,
                &e.hash,
                &self.now_text(),
            ],
        )?;
        Ok(())
    }

    fn reported_head(&mut self, device_id: &str, seq: i64) -> Result<Option<String>> {
        self.opt(
            "SELECT hash FROM audit_heads WHERE device_id = $1 AND seq = $2",
            &[&device_id, &seq],
        )?
        .map(|r| Self::get(&r, 0))
        .transpose()
    }

    fn furthest_head(&mut self, device_id: &str) -> Result<i64> {
        Self::get(
            &self.one(
                "SELECT coalesce(max(seq), 0) FROM audit_heads WHERE device_id = $1",
                &[&device_id],
            )?,
            0,
        )
    }

    fn insert_head(&mut self, device_id: &str, head: &AuditHead) -> Result<()> {
        self.exec(
            "INSERT INTO audit_heads(device_id, seq, hash, first_seen_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, seq) DO NOTHING",
            &[&device_id, &head.seq, &head.hash, &self.now_text()],
        )?;
        Ok(())
    }

    fn record_break(&mut self, device: &Device, f: &ChainFault) -> Result<()> {
        self.exec(
            "INSERT INTO audit_breaks(device_id, seq, hall_code, reason, first_seen_at, last_seen_at, attempts)
             VALUES ($1, $2, $3, $4, $5, $5, 1)
             ON CONFLICT (device_id, seq) DO UPDATE SET last_seen_at = excluded.last_seen_at,
               attempts = audit_breaks.attempts + 1",
            &[&device.id, &f.seq, &device.hall_code, &f.reason, &self.now_text()],
        )?;
        Ok(())
    }

    fn audit_devices(&mut self) -> Result<Vec<AuditDevice>> {
        self.query(
            "SELECT d.id, d.name, d.hall_code, coalesce(h.name, '') FROM devices d
             LEFT JOIN halls h ON h.code = d.hall_code
             ORDER BY d.hall_code COLLATE \"C\", d.id COLLATE \"C\"",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(AuditDevice {
                device_id: Self::get(r, 0)?,
                device_name: Self::get(r, 1)?,
                hall_code: Self::get(r, 2)?,
                hall_name: Self::get(r, 3)?,
            })
        })
        .collect()
    }

    fn audit_entries(&mut self, device_id: &str) -> Result<Vec<AuditEntry>> {
        self.query(
            "SELECT seq, id, at, device_id, staff_id, action, entity, entity_id, detail, prev_hash, hash
             FROM audit_entries WHERE device_id = $1 ORDER BY seq",
            &[&device_id],
        )?
        .iter()
        .map(audit_from)
        .collect()
    }

    fn audit_breaks(&mut self, device_id: &str) -> Result<Vec<AuditBreak>> {
        self.query(
            "SELECT seq, reason, first_seen_at, attempts FROM audit_breaks
             WHERE device_id = $1 ORDER BY first_seen_at, seq",
            &[&device_id],
        )?
        .iter()
        .map(|r| {
            Ok(AuditBreak {
                seq: Self::get(r, 0)?,
                reason: Self::get(r, 1)?,
                source: "push".into(),
                detected_at: Self::get(r, 2)?,
                attempts: Self::get(r, 3)?,
            })
        })
        .collect()
    }

    fn next_queue_number(&mut self, hall_code: &str, day: &str) -> Result<i64> {
        // One statement: the row lock of the upsert orders instances issuing at once.
        Self::get(
            &self.one(
                "INSERT INTO hall_queue(hall_code, day, last_number) VALUES ($1, $2, 1)
                 ON CONFLICT (hall_code, day) DO UPDATE SET last_number = hall_queue.last_number + 1
                 RETURNING last_number",
                &[&hall_code, &day],
            )?,
            0,
        )
    }

    fn insert_hall_call(&mut self, c: &super::NewHallCall) -> Result<i64> {
        Self::get(
            &self.one(
                "INSERT INTO hall_calls(hall_code, day, queue_label, room, device_id, called_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &c.hall_code,
                    &c.day,
                    &c.queue_label,
                    &c.room,
                    &c.device_id,
                    &self.now_text(),
                ],
            )?,
            0,
        )
    }

    fn hall_calls(
        &mut self,
        hall_code: &str,
        day: &str,
        limit: i64,
    ) -> Result<Vec<super::CallRow>> {
        self.query(
            "SELECT id, queue_label, room, called_at FROM hall_calls
             WHERE hall_code = $1 AND day = $2 ORDER BY id DESC LIMIT $3",
            &[&hall_code, &day, &limit],
        )?
        .iter()
        .map(|r| {
            Ok(super::CallRow {
                id: Self::get(r, 0)?,
                queue_label: Self::get(r, 1)?,
                room: Self::get(r, 2)?,
                called_at: Self::get(r, 3)?,
            })
        })
        .collect()
    }

    fn queue_letters(&mut self, hall_code: &str) -> Result<Vec<super::LetterRow>> {
        self.query(
            "SELECT q.letter, q.device_id, d.revoked_at IS NOT NULL
             FROM queue_letters q LEFT JOIN devices d ON d.id = q.device_id
             WHERE q.hall_code = $1 ORDER BY q.letter",
            &[&hall_code],
        )?
        .iter()
        .map(|r| {
            Ok(super::LetterRow {
                letter: Self::get(r, 0)?,
                device_id: Self::get(r, 1)?,
                revoked: Self::get(r, 2)?,
            })
        })
        .collect()
    }

    fn set_queue_letter(&mut self, hall_code: &str, letter: &str, device_id: &str) -> Result<()> {
        self.exec(
            "INSERT INTO queue_letters(hall_code, letter, device_id) VALUES ($1, $2, $3)
             ON CONFLICT(hall_code, letter) DO UPDATE SET device_id = excluded.device_id",
            &[&hall_code, &letter, &device_id],
        )?;
        Ok(())
    }

    fn update_key(&mut self) -> Result<Option<String>> {
        self.opt("SELECT public_key FROM update_key WHERE id = 1", &[])?
            .map(|r| Self::get(&r, 0))
            .transpose()
    }

    fn set_update_key(&mut self, public_key: &str) -> Result<()> {
        let at = self.now_text();
        self.exec(
            "INSERT INTO update_key(id, public_key, set_at) VALUES (1, $1, $2)
             ON CONFLICT(id) DO UPDATE SET public_key = excluded.public_key, set_at = excluded.set_at",
            &[&public_key, &at],
        )?;
        Ok(())
    }

    fn releases(&mut self) -> Result<Vec<super::ReleaseRow>> {
        self.query(
            "SELECT version, kind, size, sha256, signature, notes, published_at
             FROM update_releases ORDER BY published_at, version, kind",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(super::ReleaseRow {
                version: Self::get(r, 0)?,
                kind: Self::get(r, 1)?,
                size: Self::get(r, 2)?,
                sha256: Self::get(r, 3)?,
                signature: Self::get(r, 4)?,
                notes: Self::get(r, 5)?,
                published_at: Self::get(r, 6)?,
            })
        })
        .collect()
    }

    fn insert_release(&mut self, r: &super::NewRelease<'_>) -> Result<()> {
        let size = r.bytes.len() as i64;
        self.exec(
            "INSERT INTO update_releases(version, kind, size, sha256, signature, notes, published_at, bytes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &r.version,
                &r.kind,
                &size,
                &r.sha256,
                &r.signature,
                &r.notes,
                &r.published_at,
                &r.bytes,
            ],
        )?;
        Ok(())
    }

    fn release_bytes(&mut self, version: &str, kind: &str) -> Result<Option<Vec<u8>>> {
        self.opt(
            "SELECT bytes FROM update_releases WHERE version = $1 AND kind = $2",
            &[&version, &kind],
        )?
        .map(|r| Self::get(&r, 0))
        .transpose()
    }

    fn hall_waiting(
        &mut self,
        hall_code: &str,
        day: &str,
        since_id: &str,
        limit: i64,
    ) -> Result<Vec<super::WaitingRow>> {
        self.query(
            "SELECT h.data->>'desk', v.data->>'queue_label'
             FROM records h JOIN records v
               ON v.entity = 'visit' AND v.entity_id = h.data->>'visit_id'
             WHERE h.entity = 'handoff' AND h.hall_code = $1 AND h.entity_id >= $3
               AND h.deleted_hlc IS NULL AND v.deleted_hlc IS NULL
               AND h.data->>'state' = 'waiting'
               AND h.data->>'desk' IN ('lawyer', 'mediator')
               AND substr(v.data->>'visited_at', 1, 10) = $2
               AND coalesce(v.data->>'queue_label', '') != ''
             ORDER BY h.entity_id LIMIT $4",
            &[&hall_code, &day, &since_id, &limit],
        )?
        .iter()
        .map(|r| {
            Ok(super::WaitingRow {
                desk: Self::get(r, 0)?,
                queue_label: Self::get(r, 1)?,
            })
        })
        .collect()
    }
}

/// The statistics queries on PostgreSQL: a period's rows through the indexes of migration 0001.
/// `jint` reads a JSON flag or number as SQLite's json_extract does.
pub fn stats_sql(q: StatsQuery) -> &'static str {
    match q {
        StatsQuery::Visits => {
            "SELECT hall_code, substr(data->>'visited_at', 1, 10),
               coalesce(jint(data->'head_count'), 1), coalesce(jint(data->'is_repeat'), 0),
               coalesce(data->>'appeal_kind', ''), coalesce(data->>'category_code', ''),
               coalesce(data->>'agency', ''), coalesce(data->>'clerk_id', ''),
               data->>'matter_id' IS NOT NULL, coalesce(jint(data->'skip_level'), 0)
             FROM records
             WHERE entity = 'visit' AND substr(data->>'visited_at', 1, 10) BETWEEN $1 AND $2
               AND deleted_hlc IS NULL"
        }
        StatsQuery::Consultations => {
            "SELECT k.hall_code, coalesce(k.data->>'lawyer_id', ''), coalesce(k.data->>'legal_route', ''),
               coalesce(jint(k.data->'follow_up'), 0), coalesce(jint(k.data->'duration_minutes'), 0),
               trim(coalesce(k.data->>'advice', '')) <> '', substr(v.data->>'visited_at', 1, 10)
             FROM records v
             JOIN records k ON k.entity = 'consultation' AND k.data->>'visit_id' = v.entity_id
             WHERE v.entity = 'visit' AND substr(v.data->>'visited_at', 1, 10) BETWEEN $1 AND $2
               AND v.deleted_hlc IS NULL AND k.deleted_hlc IS NULL"
        }
        StatsQuery::Mediations => {
            "SELECT k.hall_code, coalesce(k.data->>'mediator_id', ''), coalesce(k.data->>'outcome', ''),
               coalesce(k.data->>'dispute_type', ''), coalesce(jint(k.data->'judicial_confirmation'), 0),
               substr(v.data->>'visited_at', 1, 10)
             FROM records v
             JOIN records k ON k.entity = 'mediation' AND k.data->>'visit_id' = v.entity_id
             WHERE v.entity = 'visit' AND substr(v.data->>'visited_at', 1, 10) BETWEEN $1 AND $2
               AND v.deleted_hlc IS NULL AND k.deleted_hlc IS NULL"
        }
        StatsQuery::Received => {
            "SELECT hall_code, received_on, transfer_kind, transfer_at, accepted_on,
               not_accepted_on, legal_route_on, legal_route
             FROM stats_matters WHERE received_on BETWEEN $1 AND $2"
        }
        StatsQuery::DeadlinesDone => {
            "SELECT matter_id, hall_code, kind, party, due, done_on, closed
             FROM stats_deadlines
             WHERE done_on BETWEEN $1 AND $2 AND kind IN ('disposition', 'conclusion')"
        }
        StatsQuery::DeadlinesLate => {
            "SELECT matter_id, hall_code, kind, party, due, done_on, closed
             FROM stats_deadlines
             WHERE done_on IS NULL AND party = 'authority' AND due < $3
               AND $1::text IS NOT NULL AND $2::text IS NOT NULL"
        }
        StatsQuery::RegisteredLate => {
            "SELECT matter_id, hall_code, received_on FROM stats_matters
             WHERE has_state = 0 AND received_on < $3 AND $1::text IS NOT NULL AND $2::text IS NOT NULL"
        }
        // From each matter's kept evaluations (migration 0012): only a matter evaluated both
        // before and after $3 reads its records.
        StatsQuery::Concluded => {
            "SELECT s.hall_code, s.concluded_on,
               CASE WHEN v.matter_id IS NULL OR v.first_evaluated_on > $3 THEN NULL
                    WHEN v.last_evaluated_on <= $3 THEN v.last_evaluation
                    ELSE (SELECT e.data->>'result' FROM records e
                           WHERE e.entity = 'matter_evaluation' AND e.data->>'matter_id' = s.matter_id
                             AND e.deleted_hlc IS NULL AND e.data->>'evaluated_on' <= $3
                           ORDER BY e.data->>'evaluated_on' DESC, e.data->>'created_at' DESC
                           LIMIT 1) END
             FROM stats_matters s LEFT JOIN stats_evaluations v ON v.matter_id = s.matter_id
             WHERE s.concluded_on BETWEEN $1 AND $2"
        }
        StatsQuery::LatestEvaluations => {
            "SELECT s.concluded_on, max(v.last_evaluated_on)
             FROM stats_matters s JOIN stats_evaluations v ON v.matter_id = s.matter_id
             WHERE s.concluded_on BETWEEN $1 AND $2
             GROUP BY s.concluded_on"
        }
    }
}

impl StatRow for Row {
    fn text(&self, i: usize) -> Result<String> {
        PgTx::get(self, i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        PgTx::get(self, i)
    }
    fn int(&self, i: usize) -> Result<i64> {
        PgTx::get(self, i)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        PgTx::get(self, i)
    }
}

impl StatsSource for PgTx<'_> {
    fn each(
        &mut self,
        q: StatsQuery,
        params: &[&str],
        f: &mut dyn FnMut(&dyn StatRow) -> Result<()>,
    ) -> Result<()> {
        let p: Vec<&(dyn ToSql + Sync)> = params.iter().map(|s| s as &(dyn ToSql + Sync)).collect();
        for r in &self.query(stats_sql(q), &p)? {
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
        let rows = self.query(
            "SELECT day, figures, evaluated_until FROM stats_days
              WHERE day BETWEEN $1 AND $2 AND format = $3",
            &[&from as &(dyn ToSql + Sync), &to, &format],
        )?;
        rows.iter()
            .map(|r| Ok((PgTx::get(r, 0)?, PgTx::get(r, 1)?, PgTx::get(r, 2)?)))
            .collect()
    }

    fn keep_day(
        &mut self,
        day: &str,
        format: i64,
        figures: &str,
        evaluated_until: Option<&str>,
    ) -> Result<()> {
        self.exec(
            "INSERT INTO stats_days(day, format, figures, evaluated_until) VALUES ($1, $2, $3, $4)
             ON CONFLICT (day) DO UPDATE SET format = excluded.format, figures = excluded.figures,
               evaluated_until = excluded.evaluated_until",
            &[
                &day as &(dyn ToSql + Sync),
                &format,
                &figures,
                &evaluated_until,
            ],
        )?;
        self.clear_due(day, day)
    }

    fn due_days(&mut self, limit: usize) -> Result<Vec<String>> {
        let rows = self.query(
            "SELECT DISTINCT day FROM stats_days_due ORDER BY day DESC LIMIT $1",
            &[&(limit as i64)],
        )?;
        rows.iter().map(|r| PgTx::get(r, 0)).collect()
    }

    fn clear_due(&mut self, from: &str, to: &str) -> Result<()> {
        self.exec(
            "DELETE FROM stats_days_due WHERE day BETWEEN $1 AND $2",
            &[&from as &(dyn ToSql + Sync), &to],
        )?;
        Ok(())
    }
}

impl Storage for PgStorage {
    fn write(&self, body: &mut TxBody<'_>) -> Result<()> {
        self.with_tx(Lock::City, |t| Ok((body(t)?, ())))
    }

    fn write_hall(&self, hall: &str, body: &mut TxBody<'_>) -> Result<()> {
        self.with_tx(Lock::Hall(hall), |t| Ok((body(t)?, ())))
    }

    fn read(&self, body: &mut TxBody<'_>) -> Result<()> {
        self.with_tx(Lock::Read, |t| body(t).map(|_| (Done::Commit, ())))
    }

    fn calendar(&self) -> &xinfang_core::calendar::HolidayCalendar {
        &self.calendar
    }

    fn listen_changes(&self, on_change: super::ChangeListener) -> Result<bool> {
        let (config, tls) = (self.config.clone(), self.tls.clone());
        self.rt().spawn(async move {
            // A dropped connection is opened again; a change announced meanwhile is missed,
            // which only delays the desks until their periodic sync.
            let mut pause = Duration::from_secs(1);
            loop {
                match listen(&config, &tls, &on_change).await {
                    Ok(()) => pause = Duration::from_secs(1),
                    Err(e) => {
                        let why = super::pg_tls::explain(&e).unwrap_or_else(|| e.to_string());
                        tracing::warn!(error = %why, "change listener: connection lost");
                    }
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        });
        self.listening
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }

    fn shares_changes(&self) -> bool {
        self.listening.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn announce_change(&self, hall: &str, server_seq: i64, origin: Option<&str>) -> Result<()> {
        let payload = change_payload(hall, server_seq, origin);
        self.rt().block_on(async {
            let client = self.pool.get().await.map_err(pool_err)?;
            client
                .execute("SELECT pg_notify($1, $2)", &[&CHANGES_CHANNEL, &payload])
                .await
                .map_err(pg)?;
            Ok(())
        })
    }

    fn halls(&self) -> Result<Vec<Hall>> {
        self.read_with(|t| {
            t.query(
                "SELECT code, name FROM halls ORDER BY code COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Hall {
                    code: PgTx::get(r, 0)?,
                    name: PgTx::get(r, 1)?,
                })
            })
            .collect()
        })
    }

    fn hall(&self, code: &str) -> Result<Option<Hall>> {
        self.read_with(|t| {
            Ok(t.hall_name(code)?.map(|name| Hall {
                code: code.to_owned(),
                name,
            }))
        })
    }

    fn hall_id_key(&self, code: &str, offered: Option<&[u8; 32]>) -> Result<[u8; 32]> {
        let fresh = offered.copied().unwrap_or_else(|| {
            let mut k = [0u8; 32];
            rand::Rng::fill(&mut rand::rng(), &mut k);
            k
        });
        // The unique key decides between instances: a second insert waits for the first's
        // commit and then inserts nothing, and the select reads what was committed.
        self.write_rows(|t| {
            // The first key a hall gets stays: a later offer (or another instance) takes it.
            t.exec(
                "INSERT INTO hall_id_keys(hall_code, key, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (hall_code) DO NOTHING",
                &[&code, &&fresh[..], &t.now_text()],
            )?;
            let kept: Vec<u8> = PgTx::get(
                &t.one(
                    "SELECT key FROM hall_id_keys WHERE hall_code = $1",
                    &[&code],
                )?,
                0,
            )?;
            kept.try_into()
                .map_err(|_| StorageError::Backend("hall id key of the wrong length".into()))
        })
    }

    fn hall_roots(&self, code: &str) -> Result<Vec<RootKey>> {
        self.read_with(|t| t.hall_roots(code))
    }

    fn put_hall(&self, code: &str, name: &str) -> Result<()> {
        self.write_with(|t| {
            t.exec(
                "INSERT INTO halls(code, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name",
                &[&code, &name, &t.now_text()],
            )?;
            Ok(())
        })
    }

    fn device_by_token(&self, token_hash: &str) -> Result<Option<Device>> {
        self.read_with(|t| {
            t.opt(
                "SELECT id, hall_code, name, enrolled_at, revoked_at FROM devices WHERE token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| device_from(&r))
            .transpose()
        })
    }

    fn devices(&self) -> Result<Vec<Device>> {
        self.read_with(|t| {
            t.query(
                "SELECT id, hall_code, name, enrolled_at, revoked_at FROM devices
                 ORDER BY hall_code COLLATE \"C\", enrolled_at",
                &[],
            )?
            .iter()
            .map(device_from)
            .collect()
        })
    }

    fn revoke_device(&self, device_id: &str) -> Result<bool> {
        self.write_with(|t| {
            Ok(t.exec(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
                &[&device_id, &t.now_text()],
            )? > 0)
        })
    }

    fn allow_reenrol(&self, device_id: &str, until: i64, actor: &str) -> Result<bool> {
        self.write_with(|t| {
            let n = t.exec(
                "UPDATE devices SET reenrol_until = $2 WHERE id = $1",
                &[&device_id, &until],
            )?;
            if n > 0 {
                t.append_log(&NewLogEntry {
                    action: "reenrol_allowed",
                    actor: actor.to_owned(),
                    device_id: Some(device_id.to_owned()),
                    detail: format!("until {until}"),
                })?;
            }
            Ok(n > 0)
        })
    }

    fn add_admin_token(&self, token_hash: &str, label: &str, expires_at: i64) -> Result<()> {
        self.write_with(|t| {
            t.exec(
                "INSERT INTO admin_tokens(token_hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&token_hash, &label, &t.now_text(), &expires_at],
            )?;
            Ok(())
        })
    }

    fn admin_token_label(&self, token_hash: &str, now: i64) -> Result<Option<String>> {
        self.read_with(|t| {
            t.opt(
                "SELECT label FROM admin_tokens
                 WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
                &[&token_hash, &now],
            )?
            .map(|r| PgTx::get(&r, 0))
            .transpose()
        })
    }

    fn admin_tokens(&self) -> Result<Vec<AdminToken>> {
        self.read_with(|t| {
            t.query(
                "SELECT substr(token_hash, 1, 12), label, created_at, coalesce(expires_at, 0), revoked_at
                 FROM admin_tokens ORDER BY created_at, token_hash COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(AdminToken {
                    id: PgTx::get(r, 0)?,
                    label: PgTx::get(r, 1)?,
                    created_at: PgTx::get(r, 2)?,
                    expires_at: PgTx::get(r, 3)?,
                    revoked_at: PgTx::get(r, 4)?,
                })
            })
            .collect()
        })
    }

    fn revoke_admin_tokens(&self, prefix: &str) -> Result<usize> {
        self.write_with(|t| {
            let n = t.exec(
                "UPDATE admin_tokens SET revoked_at = $2
                 WHERE substr(token_hash, 1, length($1)) = $1 AND revoked_at IS NULL",
                &[&prefix, &t.now_text()],
            )?;
            if n > 0 {
                t.append_log(&NewLogEntry {
                    action: "admin_token_revoked",
                    actor: "cli".into(),
                    device_id: None,
                    detail: format!("token {prefix}"),
                })?;
            }
            Ok(n as usize)
        })
    }

    fn put_admin_user(&self, username: &str, password_hash: &str) -> Result<bool> {
        self.write_with(|t| {
            let existed = t
                .opt("SELECT 1 FROM admin_users WHERE username = $1", &[&username])?
                .is_some();
            if existed {
                t.exec(
                    "UPDATE admin_users SET password_hash = $2, failed_attempts = 0, locked_until = NULL
                     WHERE username = $1",
                    &[&username, &password_hash],
                )?;
                t.exec("DELETE FROM admin_sessions WHERE username = $1", &[&username])?;
            } else {
                t.exec(
                    "INSERT INTO admin_users(username, password_hash, created_at) VALUES ($1, $2, $3)",
                    &[&username, &password_hash, &t.now_text()],
                )?;
            }
            Ok(!existed)
        })
    }

    fn admin_users(&self) -> Result<Vec<AdminUser>> {
        self.read_with(|t| {
            t.query(
                "SELECT username, created_at FROM admin_users ORDER BY username COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(AdminUser {
                    username: PgTx::get(r, 0)?,
                    created_at: PgTx::get(r, 1)?,
                })
            })
            .collect()
        })
    }

    fn remove_admin_user(&self, username: &str) -> Result<bool> {
        self.write_with(|t| {
            t.exec(
                "DELETE FROM admin_sessions WHERE username = $1",
                &[&username],
            )?;
            Ok(t.exec("DELETE FROM admin_users WHERE username = $1", &[&username])? > 0)
        })
    }

    fn admin_login(&self, username: &str) -> Result<Option<AdminLogin>> {
        self.read_with(|t| {
            t.opt(
                "SELECT password_hash, failed_attempts, locked_until FROM admin_users WHERE username = $1",
                &[&username],
            )?
            .map(|r| {
                Ok(AdminLogin {
                    password_hash: PgTx::get(&r, 0)?,
                    failed_attempts: PgTx::get(&r, 1)?,
                    locked_until: PgTx::get(&r, 2)?,
                })
            })
            .transpose()
        })
    }

    fn take_rate_token(&self, key: &str, now_ms: i64, bucket: RateBucket) -> Result<Option<i64>> {
        // One statement outside the write lock: the upsert is atomic on its row, whichever
        // instance sends it. The prune skips rows another instance holds, so it never waits.
        let row = self.rt().block_on(async {
            let client = self.pool.get().await.map_err(pool_err)?;
            client
                .query_one(
                    "WITH pruned AS (
                       DELETE FROM rate_buckets WHERE key IN (
                         SELECT key FROM rate_buckets WHERE tat_ms < $2 AND key <> $1
                         FOR UPDATE SKIP LOCKED))
                     INSERT INTO rate_buckets(key, tat_ms, at_ms, allowed)
                       VALUES ($1, $2 + $3, $2, TRUE)
                     ON CONFLICT (key) DO UPDATE SET
                       allowed = (GREATEST(rate_buckets.tat_ms, $2, rate_buckets.at_ms) + $3
                                  <= GREATEST($2, rate_buckets.at_ms) + $3 * $4),
                       tat_ms = CASE
                         WHEN GREATEST(rate_buckets.tat_ms, $2, rate_buckets.at_ms) + $3
                              <= GREATEST($2, rate_buckets.at_ms) + $3 * $4
                         THEN GREATEST(rate_buckets.tat_ms, $2, rate_buckets.at_ms) + $3
                         ELSE rate_buckets.tat_ms END,
                       at_ms = GREATEST($2, rate_buckets.at_ms)
                     RETURNING allowed, tat_ms, at_ms",
                    &[&key, &now_ms, &bucket.period_ms, &bucket.burst],
                )
                .await
                .map_err(pg)
        })?;
        let (allowed, tat, at): (bool, i64, i64) = (row.get(0), row.get(1), row.get(2));
        Ok((!allowed).then(|| bucket.wait_ms(tat, at)))
    }

    fn admin_login_failed(&self, username: &str, max_attempts: i64, lock_until: i64) -> Result<()> {
        self.write_with(|t| {
            t.exec(
                "UPDATE admin_users SET
                     locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END,
                     failed_attempts = CASE WHEN failed_attempts + 1 >= $2 THEN 0 ELSE failed_attempts + 1 END
                 WHERE username = $1",
                &[&username, &max_attempts, &lock_until],
            )?;
            Ok(())
        })
    }

    fn start_admin_session(
        &self,
        username: &str,
        token_hash: &str,
        now: i64,
        seen_after: i64,
        started_after: i64,
    ) -> Result<()> {
        self.write_with(|t| {
            t.exec(
                "DELETE FROM admin_sessions WHERE last_seen_at < $1 OR created_at < $2",
                &[&seen_after, &started_after],
            )?;
            t.exec(
                "UPDATE admin_users SET failed_attempts = 0, locked_until = NULL WHERE username = $1",
                &[&username],
            )?;
            t.exec(
                "INSERT INTO admin_sessions(token_hash, username, created_at, last_seen_at)
                 VALUES ($1, $2, $3, $3)",
                &[&token_hash, &username, &now],
            )?;
            Ok(())
        })
    }

    fn admin_session(
        &self,
        token_hash: &str,
        now: i64,
        seen_after: i64,
        started_after: i64,
    ) -> Result<Option<String>> {
        self.write_with(|t| {
            t.opt(
                "UPDATE admin_sessions SET last_seen_at = greatest(last_seen_at, $2)
                 WHERE token_hash = $1 AND last_seen_at >= $3 AND created_at >= $4
                 RETURNING username",
                &[&token_hash, &now, &seen_after, &started_after],
            )?
            .map(|r| PgTx::get(&r, 0))
            .transpose()
        })
    }

    fn end_admin_session(&self, token_hash: &str) -> Result<()> {
        self.write_with(|t| {
            t.exec(
                "DELETE FROM admin_sessions WHERE token_hash = $1",
                &[&token_hash],
            )?;
            Ok(())
        })
    }

    fn touch_device(&self, device_id: &str) -> Result<()> {
        self.write_rows(|t| {
            t.exec(
                "UPDATE devices SET last_contact_at = $2 WHERE id = $1",
                &[&device_id, &t.now_text()],
            )?;
            Ok(())
        })
    }

    fn device_overview(&self) -> Result<Vec<DeviceOverview>> {
        self.read_with(|t| {
            t.query(
                "SELECT d.id, d.hall_code, coalesce(h.name, ''), d.name, d.enrolled_at, d.revoked_at,
                        d.last_contact_at,
                        coalesce((SELECT max(seq) FROM changes c WHERE c.device_id = d.id), 0)::BIGINT,
                        (SELECT count(*) FROM quarantine q WHERE q.device_id = d.id)::BIGINT
                 FROM devices d LEFT JOIN halls h ON h.code = d.hall_code
                 ORDER BY d.hall_code COLLATE \"C\", d.enrolled_at",
                &[],
            )?
            .iter()
            .map(|r| {
                let id: String = PgTx::get(r, 0)?;
                Ok(DeviceOverview {
                    kind: super::sqlite::device_kind(&id),
                    id,
                    hall_code: PgTx::get(r, 1)?,
                    hall_name: PgTx::get(r, 2)?,
                    name: PgTx::get(r, 3)?,
                    enrolled_at: PgTx::get(r, 4)?,
                    revoked_at: PgTx::get(r, 5)?,
                    last_contact_at: PgTx::get(r, 6)?,
                    changes: PgTx::get(r, 7)?,
                    set_aside: PgTx::get(r, 8)?,
                })
            })
            .collect()
        })
    }

    fn log(&self, entry: &NewLogEntry) -> Result<()> {
        self.write_with(|t| t.append_log(entry))
    }

    fn city_log(&self, limit: u32) -> Result<Vec<LogEntry>> {
        self.read_with(|t| {
            t.query(
                "SELECT id, at, action, actor, device_id, detail FROM city_log ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit)],
            )?
            .iter()
            .map(|r| {
                Ok(LogEntry {
                    id: PgTx::get(r, 0)?,
                    at: PgTx::get(r, 1)?,
                    action: PgTx::get(r, 2)?,
                    actor: PgTx::get(r, 3)?,
                    device_id: PgTx::get(r, 4)?,
                    detail: PgTx::get(r, 5)?,
                })
            })
            .collect()
        })
    }

    fn device_heads(&self, device_id: &str) -> Result<(i64, i64)> {
        self.read_with(|t| Ok((t.device_max_seq(device_id)?, t.max_server_seq()?)))
    }

    fn own_changes(&self, device: &Device, after: i64, limit: u32) -> Result<OwnChangesResponse> {
        self.read_with(|t| {
            let limit = i64::from(limit.max(1));
            let rows = t.query(
                "SELECT seq, entity, entity_id, op, fields, hlc, changed_at, server_seq FROM (
                   SELECT seq, entity, entity_id, op, fields, hlc, changed_at, server_seq
                     FROM changes WHERE device_id = $1 AND seq > $2
                   UNION ALL
                   SELECT seq, entity, entity_id, op, fields, hlc, changed_at, 0
                     FROM quarantine WHERE device_id = $1 AND seq > $2) own
                 ORDER BY seq LIMIT $3",
                &[&device.id, &after, &(limit + 1)],
            )?;
            let mut changes = rows
                .iter()
                .map(|r| {
                    Ok(RemoteChange {
                        device_id: device.id.clone(),
                        server_seq: PgTx::get(r, 7)?,
                        change: change_from(r, 0)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let more = changes.len() as i64 > limit;
            changes.truncate(limit as usize);
            Ok(OwnChangesResponse {
                changes,
                more,
                server_max_seq: t.device_max_seq(&device.id)?,
            })
        })
    }

    fn quarantine(&self, limit: u32) -> Result<Quarantine> {
        self.read_with(|t| {
            let total: i64 = PgTx::get(&t.one("SELECT count(*) FROM quarantine", &[])?, 0)?;
            let changes = t
                .query(
                    "SELECT device_id, hall_code, seq, entity, entity_id, op, hlc, changed_at, code, reason,
                            received_at
                     FROM quarantine ORDER BY received_at DESC, device_id COLLATE \"C\", seq DESC LIMIT $1",
                    &[&i64::from(limit)],
                )?
                .iter()
                .map(|r| {
                    let op: String = PgTx::get(r, 5)?;
                    Ok(QuarantinedChange {
                        device_id: PgTx::get(r, 0)?,
                        hall_code: PgTx::get(r, 1)?,
                        seq: PgTx::get(r, 2)?,
                        entity: PgTx::get(r, 3)?,
                        entity_id: PgTx::get(r, 4)?,
                        op: Op::parse(&op).unwrap_or(Op::Update),
                        hlc: Hlc(PgTx::get(r, 6)?),
                        changed_at: PgTx::get(r, 7)?,
                        code: PgTx::get(r, 8)?,
                        reason: PgTx::get(r, 9)?,
                        received_at: PgTx::get(r, 10)?,
                    })
                })
                .collect::<Result<_>>()?;
            Ok(Quarantine { total, changes })
        })
    }

    fn snapshot(&self, device: &Device, req: &SnapshotRequest) -> Result<SnapshotResponse> {
        let limit = i64::from(
            req.limit
                .unwrap_or(MAX_PULL_CHANGES)
                .clamp(1, MAX_PULL_CHANGES),
        );
        self.read_with(|t| {
            let cursors: BTreeMap<String, i64> = t
                .query(
                    "SELECT d.id, coalesce((SELECT max(c.seq) FROM changes c WHERE c.device_id = d.id), 0)
                     FROM devices d WHERE d.hall_code = $1 AND d.id <> $2",
                    &[&device.hall_code, &device.id],
                )?
                .iter()
                .map(|r| Ok((PgTx::get(r, 0)?, PgTx::get(r, 1)?)))
                .collect::<Result<_>>()?;
            let mut resp = SnapshotResponse {
                cursors,
                records: Vec::new(),
                changes: Vec::new(),
                next: None,
            };
            if snapshot_as_changes(&req.entity) {
                let after: i64 = req.after.as_deref().and_then(|a| a.parse().ok()).unwrap_or(0);
                for r in &t.query(
                    "SELECT server_seq, device_id, seq, entity, entity_id, op, fields, hlc, changed_at
                     FROM changes WHERE server_seq > $1 AND entity = $2 AND hall_code = $3
                       AND device_id <> $4
                     ORDER BY server_seq LIMIT $5",
                    &[&after, &req.entity, &device.hall_code, &device.id, &limit],
                )? {
                    resp.changes.push(RemoteChange {
                        server_seq: PgTx::get(r, 0)?,
                        device_id: PgTx::get(r, 1)?,
                        change: change_from(r, 2)?,
                    });
                }
                if resp.changes.len() as i64 == limit {
                    resp.next = resp.changes.last().map(|c| c.server_seq.to_string());
                }
            } else {
                let after = req.after.clone().unwrap_or_default();
                for r in &t.query(
                    SNAPSHOT_RECORDS_SQL,
                    &[&req.entity, &after, &device.hall_code, &limit, &device.id],
                )? {
                    let row = record_from(r)?;
                    resp.records.push(SnapshotRecord {
                        entity_id: row.first,
                        data: serde_json::from_str(&row.data).map_err(backend)?,
                        base_hlc: row.base_hlc,
                        base_device: row.base_device,
                        versions: row
                            .versions
                            .into_iter()
                            .map(|(f, v)| (f, (v.hlc.0, v.device_id)))
                            .collect(),
                        deleted: row.deleted,
                    });
                }
                if resp.records.len() as i64 == limit {
                    resp.next = resp.records.last().map(|r| r.entity_id.clone());
                }
            }
            Ok(resp)
        })
    }

    fn audit_max_seq(&self, device_id: &str) -> Result<i64> {
        self.read_with(|t| {
            PgTx::get(
                &t.one(
                    "SELECT coalesce(max(seq), 0) FROM audit_entries WHERE device_id = $1",
                    &[&device_id],
                )?,
                0,
            )
        })
    }

    fn record_data(&self, entity: &str, entity_id: &str) -> Result<Option<Map<String, Value>>> {
        self.read_with(|t| {
            let data: Option<String> = t
                .opt(
                    "SELECT data::text FROM records WHERE entity = $1 AND entity_id = $2",
                    &[&entity, &entity_id],
                )?
                .map(|r| PgTx::get(&r, 0))
                .transpose()?;
            Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
        })
    }

    fn statistics(
        &self,
        period: Period,
        today: NaiveDate,
        cal: &HolidayCalendar,
    ) -> Result<Figures> {
        use super::stats_feed::{figures, keep};
        // Every day kept: a plain read, beside the pushes.
        if let Some(f) = self.read_with(|t| figures(t, period, today, cal, true))? {
            return Ok(f.figures);
        }
        // Days to add up: under the city's write lock, so no push changes a day's rows between
        // adding it up and keeping it (a kept day would otherwise miss that push for good).
        self.write_with(|t| {
            let f = figures(t, period, today, cal, false)?
                .ok_or_else(|| StorageError::Backend("statistics: no figures".into()))?;
            keep(t, &f.fresh)?;
            Ok(f.figures)
        })
    }

    fn keep_due_days(&self, cal: &HolidayCalendar) -> Result<usize> {
        // Under the city's write lock, as the statistics keep their days.
        self.write_with(|t| super::stats_feed::keep_due(t, cal))
    }

    fn publicity_activities(
        &self,
        period: &xinfang_core::stats::Period,
        campaign: Option<&str>,
    ) -> Result<Vec<PublicityRow>> {
        use xinfang_core::stats::{ValidPublicity, normalize_campaign, publicity_kind};
        let (from, to) = (period.from.to_string(), period.to.to_string());
        let campaign = campaign.map(normalize_campaign);
        self.read_with(|t| {
            let rows = t.query(
                "SELECT hall_code, data->>'held_on', coalesce(data->>'place', ''),
                        coalesce(data->>'units', '[]'), coalesce(data->>'kind', ''),
                        coalesce(jint(data->'leaflets'), 0), coalesce(jint(data->'consulted'), 0),
                        coalesce(jint(data->'reached'), 0), coalesce(jint(data->'posts'), 0),
                        coalesce(jint(data->'reads'), 0), coalesce(data->>'note', ''),
                        coalesce(data->>'campaign', '')
                 FROM records
                 WHERE entity = 'publicity_activity' AND deleted_hlc IS NULL
                   AND data->>'held_on' BETWEEN $1 AND $2
                   AND ($3::text IS NULL OR coalesce(data->>'campaign', '') = $3)
                 ORDER BY data->>'held_on', hall_code COLLATE \"C\", entity_id COLLATE \"C\"",
                &[&from, &to, &campaign],
            )?;
            let mut out = Vec::new();
            for r in &rows {
                let held: String = PgTx::get(r, 1)?;
                let units: String = PgTx::get(r, 3)?;
                let (Ok(held_on), Ok(units)) = (
                    held.parse::<chrono::NaiveDate>(),
                    serde_json::from_str::<Vec<String>>(&units),
                ) else {
                    tracing::warn!("publicity record with a malformed day or units skipped");
                    continue;
                };
                let kind: String = PgTx::get(r, 4)?;
                let n = |i: usize| -> Result<u32> {
                    Ok(u32::try_from(PgTx::get::<i64>(r, i)?).unwrap_or(0))
                };
                out.push(PublicityRow {
                    hall_code: PgTx::get(r, 0)?,
                    activity: ValidPublicity {
                        held_on,
                        place: PgTx::get(r, 2)?,
                        units,
                        kind_label: publicity_kind(&kind)
                            .map_or_else(|| kind.clone(), |k| k.1.into()),
                        kind,
                        leaflets: n(5)?,
                        consulted: n(6)?,
                        reached: n(7)?,
                        posts: n(8)?,
                        reads: n(9)?,
                        note: PgTx::get(r, 10)?,
                        campaign: PgTx::get(r, 11)?,
                    },
                });
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_notification_reads_back_as_sent() {
        let p = change_payload("140521", 42, Some("desk-aaaa-0001"));
        assert_eq!(
            parse_change(&p),
            Some(("140521", 42, Some("desk-aaaa-0001")))
        );
        let p = change_payload("140521", 7, None);
        assert_eq!(parse_change(&p), Some(("140521", 7, None)));
        for bad in ["", "140521", "140521\tx\t", "\t1\t"] {
            assert_eq!(parse_change(bad), None, "{bad:?}");
        }
    }
}
