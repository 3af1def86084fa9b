//! Sync benchmarks (docs/performance.md, "Sync"):
//! - push 10,000 pending changes from a desk to the real `xinfang-city` binary on loopback and see
//!   them applied (budget < 2 s);
//! - the server's ingest rate (storage layer: store + merge + apply, 1,000-change transactions)
//!   next to a bare SQLite insert of the same rows into a table of the same shape, same batches,
//!   same durability settings (budget ≥ 50%).
//!
//! Run: `cargo bench -p xinfang-city --bench sync` (or `make city-bench`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Desk, Server};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusqlite::{Connection, params};
use tempfile::TempDir;
use xinfang_city::auth;
use xinfang_city::protocol;
use xinfang_city::storage::{NewEnrolment, SqliteStorage, Storage};
use xinfang_store::Store;
use xinfang_sync::{Change, DeskReplica};

const VISITS: usize = 2500; // 4 changes each (visitor, visit, visit_visitor, matter) + 1 staff

/// A desk with ~10,000 pending changes, checkpointed so its file can be copied.
fn template() -> (Desk, Vec<Change>) {
    let mut desk = Desk::new("140521", 7);
    desk.register_bulk(VISITS);
    let store = desk.open();
    let changes = store.local_changes(0, 100_000).unwrap();
    drop(store);
    let conn = Connection::open(desk.dir.path().join(xinfang_store::DB_FILE)).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    (desk, changes)
}

fn copy_desk(template: &Desk) -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::copy(
        template.dir.path().join(xinfang_store::DB_FILE),
        dir.path().join(xinfang_store::DB_FILE),
    )
    .unwrap();
    dir
}

fn bench_push(c: &mut Criterion, template: &Desk, n: usize) {
    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("push_10k_changes_over_http", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let server = Server::start();
                let dir = copy_desk(template);
                let mut store = Store::open_unencrypted(dir.path()).unwrap();
                xinfang_sync::client::enrol(
                    &mut store,
                    &server.url,
                    &server.enrol_code("140521"),
                    "bench",
                )
                .unwrap();
                let start = Instant::now();
                let report = xinfang_sync::client::sync_once(&mut store).unwrap();
                let applied: i64 = server
                    .db()
                    .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
                    .unwrap();
                total += start.elapsed();
                assert_eq!(report.pushed as usize, n);
                assert_eq!(report.pending, 0);
                assert_eq!(applied as usize, n, "every change applied to a record");
            }
            total
        });
    });
    group.finish();
}

const BARE_DDL: &str = "CREATE TABLE changes (
    server_seq INTEGER PRIMARY KEY, device_id TEXT NOT NULL, seq INTEGER NOT NULL,
    hall_code TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL, op TEXT NOT NULL,
    fields TEXT NOT NULL, hlc INTEGER NOT NULL, changed_at TEXT NOT NULL,
    UNIQUE (device_id, seq)) STRICT;";

/// Bare SQLite: the same rows into a table of the same shape, same batches and pragmas.
fn bare_insert(changes: &[Change]) -> Duration {
    let dir = TempDir::new().unwrap();
    let mut conn = Connection::open(dir.path().join("bare.db")).unwrap();
    let _: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;")
        .unwrap();
    conn.execute_batch(BARE_DDL).unwrap();
    let start = Instant::now();
    for chunk in changes.chunks(1000) {
        let tx = conn.transaction().unwrap();
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO changes(device_id, seq, hall_code, entity, entity_id, op, fields, hlc, changed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .unwrap();
            for c in chunk {
                stmt.execute(params![
                    "device",
                    c.seq,
                    "140521",
                    c.entity,
                    c.entity_id,
                    c.op.as_str(),
                    serde_json::to_string(&c.fields).unwrap(),
                    c.hlc.0,
                    c.changed_at
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    start.elapsed()
}

/// The server's storage layer: store, merge and apply, in the batches the client sends.
fn server_ingest(changes: &[Change], device_id: &str) -> Duration {
    let dir = TempDir::new().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    let code = auth::new_code();
    protocol::add_enrol_code(&storage, &auth::code_hash(&code), "140521", i64::MAX).unwrap();
    protocol::enrol(
        &storage,
        &NewEnrolment {
            code_hash: auth::code_hash(&code),
            device_id: device_id.into(),
            hall_code: "140521".into(),
            device_name: "bench".into(),
            token_hash: auth::token_hash("t"),
            now: 0,
            roots: Vec::new(),
            hub: false,
            other_kind_hash: String::new(),
        },
    )
    .unwrap();
    let device = storage
        .device_by_token(&auth::token_hash("t"))
        .unwrap()
        .unwrap();
    let start = Instant::now();
    for chunk in changes.chunks(1000) {
        protocol::push(&storage, &device, chunk, xinfang_sync::hlc::wall_ms()).unwrap();
    }
    start.elapsed()
}

fn bench_ingest(c: &mut Criterion, changes: &[Change], device_id: &str) {
    // The ratio, measured in this run: medians of 7 alternating rounds.
    let (mut server, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        server.push(server_ingest(changes, device_id));
        bare.push(bare_insert(changes));
    }
    server.sort();
    bare.sort();
    let n = changes.len() as f64;
    let (s, b) = (server[3].as_secs_f64(), bare[3].as_secs_f64());
    eprintln!(
        "ingest of {} changes: server {:.0} changes/s ({:.1} ms), bare SQLite {:.0} rows/s ({:.1} ms): server at {:.0}% of bare",
        changes.len(),
        n / s,
        s * 1000.0,
        n / b,
        b * 1000.0,
        100.0 * b / s
    );

    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(changes.len() as u64));
    group.bench_function("server_storage_push_apply", |bch| {
        bch.iter_custom(|iters| (0..iters).map(|_| server_ingest(changes, device_id)).sum())
    });
    group.bench_function("bare_sqlite_insert_same_rows", |bch| {
        bch.iter_custom(|iters| (0..iters).map(|_| bare_insert(changes)).sum())
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let (desk, changes) = template();
    eprintln!("desk with {} pending changes", changes.len());
    bench_push(c, &desk, changes.len());
    bench_ingest(c, &changes, &desk.device_id());
}

criterion_group!(sync, benches);
criterion_main!(sync);
