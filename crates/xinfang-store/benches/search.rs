//! Search and registration against a store seeded with 1,000,000 visitors / 3,000,000 visits
//! (`make bench-data`), each next to bare SQLite doing the same indexed work in the same run.
//!
//! Besides criterion's means, prints p50/p99 over many distinct queries per kind, because the
//! budgets in ARCHITECTURE.md are p99. Each search is timed next to two bare statements: the
//! rowids from the index alone (the floor), and the same rowids with the rows the search shows
//! read in the same statement.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, params, params_from_iter};
use xinfang_core::id::{IdType, Sex};
use xinfang_core::reference::AppealKind;
use xinfang_core::visit::{ValidVisit, ValidVisitor};
use xinfang_store::{DB_FILE, Registered, Store, classify_query};

const SAMPLES: usize = 2_000;

fn bench_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("XINFANG_BENCH_DIR").expect("XINFANG_BENCH_DIR: run `make bench-data` first"),
    )
}

/// Queries of each kind, drawn from the data itself.
struct Queries {
    ids: Vec<String>,
    one_char: Vec<String>,
    two_char: Vec<String>,
    initials: Vec<String>,
    full_prefix: Vec<String>,
    phone4: Vec<String>,
}

fn sample_queries(conn: &Connection) -> Queries {
    let max: i64 = conn
        .query_row("SELECT max(rowid) FROM visitors", [], |r| r.get(0))
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut q = Queries {
        ids: vec![],
        one_char: vec![],
        two_char: vec![],
        initials: vec![],
        full_prefix: vec![],
        phone4: vec![],
    };
    let mut stmt = conn
        .prepare("SELECT id_number, name, pinyin_initials, pinyin_full, phone FROM visitors WHERE rowid = ?1")
        .unwrap();
    while q.ids.len() < SAMPLES {
        let row: Option<(String, String, String, String, String)> = stmt
            .query_row([rng.random_range(1..=max)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .ok();
        let Some((id, name, initials, full, phone)) = row else {
            continue;
        };
        let chars: Vec<char> = name.chars().collect();
        q.ids.push(id);
        q.one_char.push(chars[chars.len() - 1].to_string());
        q.two_char.push(chars[..2].iter().collect());
        q.initials.push(initials);
        q.full_prefix.push(full[..full.len().min(5)].to_owned());
        let at = rng.random_range(0..=phone.len() - 4);
        q.phone4.push(phone[at..at + 4].to_owned());
    }
    q
}

fn percentiles(mut t: Vec<Duration>) -> (f64, f64) {
    t.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(t[t.len() / 2]), ms(t[t.len() * 99 / 100]))
}

/// The bare-SQLite twin of each search: the same indexed SELECT of rowids, nothing else.
fn bare_sql(query: &str) -> (&'static str, String) {
    use xinfang_store::SearchKind::*;
    let (kind, q) = classify_query(query).unwrap();
    match kind {
        IdNumber => ("SELECT rowid FROM visitors WHERE id_number = ?1 LIMIT 50", q),
        Pinyin => (
            "SELECT rowid FROM visitors WHERE pinyin_initials = ?1
             UNION ALL SELECT rowid FROM visitors WHERE pinyin_full >= ?1 AND pinyin_full < ?1 || '{' LIMIT 50",
            q,
        ),
        Name | Phone => {
            // The same token query the store builds (its tokens are an implementation detail,
            // so ask FTS for the rowids the store would get for this query).
            ("SELECT rowid FROM visitor_tokens WHERE visitor_tokens MATCH ?1 LIMIT 50", fts_query(kind, &q))
        }
    }
}

/// The rows a search shows, read by bare SQLite: [`bare_sql`]'s rowids and, in the same
/// statement, the columns of each row the store's result line is made from. The store's work
/// beyond this (masking, merged records, the order) is its own; [`bare_sql`] alone is the floor.
fn bare_rows_sql(query: &str) -> (String, String) {
    let (rowids, arg) = bare_sql(query);
    (
        format!(
            "SELECT v.rowid, v.id, v.name, v.id_type, v.id_number, v.phone, v.sex, v.birth_date,
                    v.visit_count, v.last_visit_at, v.merged_into
               FROM visitors v WHERE v.rowid IN ({rowids})"
        ),
        arg,
    )
}

/// Reads every column of a [`bare_rows_sql`] row, as the store reads its hits.
fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, [Option<String>; 10])> {
    let text = |i: usize| r.get::<_, Option<String>>(i);
    Ok((
        r.get(0)?,
        [
            text(1)?,
            text(2)?,
            text(3)?,
            text(4)?,
            text(5)?,
            text(6)?,
            text(7)?,
            r.get::<_, Option<i64>>(8)?.map(|n| n.to_string()),
            text(9)?,
            text(10)?,
        ],
    ))
}

fn fts_query(kind: xinfang_store::SearchKind, q: &str) -> String {
    match kind {
        xinfang_store::SearchKind::Phone => q
            .as_bytes()
            .windows(4)
            .map(|w| format!("p{}", String::from_utf8_lossy(w)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => {
            let c: Vec<char> = q.chars().collect();
            if c.len() == 1 {
                format!("n{:06x}", c[0] as u32)
            } else {
                c.windows(2)
                    .map(|w| format!("n{:06x}{:06x}", w[0] as u32, w[1] as u32))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        }
    }
}

fn report_percentiles(store: &Store, bare: &Connection, q: &Queries) {
    let kinds: [(&str, &Vec<String>); 6] = [
        ("ID number", &q.ids),
        ("name, 1 char", &q.one_char),
        ("name, 2 chars", &q.two_char),
        ("pinyin initials", &q.initials),
        ("full-pinyin prefix", &q.full_prefix),
        ("phone, 4 digits", &q.phone4),
    ];
    println!(
        "\n{:<20} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "search (50 results)",
        "store p50",
        "store p99",
        "bare p50",
        "bare p99",
        "rows p50",
        "rows p99"
    );
    for (label, queries) in kinds {
        // [store, bare, rows]; each query runs all three, the first of them in turn, so that
        // none is always the one that brings the pages into the OS cache for the others.
        let mut times: [Vec<Duration>; 3] = Default::default();
        for (i, query) in queries.iter().enumerate() {
            let mut found = [0usize; 3];
            for k in (0..3).map(|k| (k + i) % 3) {
                let t = Instant::now();
                found[k] = match k {
                    0 => store.search(query, 50).unwrap().len(),
                    1 => {
                        let (sql, arg) = bare_sql(query);
                        let mut stmt = bare.prepare_cached(sql).unwrap();
                        stmt.query_map([&arg], |r| r.get::<_, i64>(0))
                            .unwrap()
                            .count()
                    }
                    _ => {
                        let (sql, arg) = bare_rows_sql(query);
                        let mut stmt = bare.prepare_cached(&sql).unwrap();
                        stmt.query_map([&arg], read_row)
                            .unwrap()
                            .collect::<rusqlite::Result<Vec<_>>>()
                            .unwrap()
                            .len()
                    }
                };
                times[k].push(t.elapsed());
            }
            assert!(found[0] > 0, "{label} {query} found nothing");
            assert!(found[1] > 0, "{label} {query}: bare query found nothing");
            assert_eq!(
                found[2], found[1],
                "{label} {query}: bare rows not the rowids'"
            );
        }
        let [store_t, bare_t, rows_t] = times;
        let (sp50, sp99) = percentiles(store_t);
        let (bp50, bp99) = percentiles(bare_t);
        let (rp50, rp99) = percentiles(rows_t);
        println!(
            "{label:<20} {sp50:>10.3}ms {sp99:>10.3}ms {bp50:>10.3}ms {bp99:>10.3}ms {rp50:>10.3}ms {rp99:>10.3}ms"
        );
    }
    println!(
        "(bare: the rowids from the index alone; rows: bare SQLite reading the rows shown with them)"
    );
}

fn visit_for(i: u64) -> ValidVisit {
    let body = format!("140521{}{:03}", 19_700_101 + (i % 28), i % 1000);
    let check = xinfang_core::id::resident_id_check_char(&body).unwrap();
    let at: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-11-26T10:00:00+08:00").unwrap();
    ValidVisit {
        visited_at: at,
        visitors: vec![ValidVisitor {
            name: format!(
                "基准{}",
                char::from_u32(0x4e00 + (i % 2000) as u32).unwrap()
            ),
            id_type: IdType::ResidentId,
            id_number: format!("{body}{check}"),
            sex: Some(if (i % 1000) % 2 == 1 {
                Sex::Male
            } else {
                Sex::Female
            }),
            birth_date: None,
            phone: Some(format!("139{:08}", i)),
            address: Some("山西省晋城市沁水县".into()),
            ethnicity: None,
            occupation: None,
        }],
        head_count: 1,
        representatives: vec![0],
        appeal: "基准测试：拖欠工资，请求协调支付。".into(),
        appeal_kind: AppealKind::Claim,
        category_code: "labour_social_security".into(),
        agency: String::new(),
        place_code: Some("140521".into()),
        warnings: vec![],
    }
}

/// Bare SQLite writing four narrow rows (visitor, visit, link, matter) in one fsync'd
/// transaction into a new, small file: the floor. [`SameRowsTwin`] writes the same rows as the
/// store. (Its criterion id, `bare/same_rows_one_txn`, is older than the twin and kept.)
fn bare_register(conn: &mut Connection, i: u64) {
    let v = visit_for(i);
    let tx = conn.transaction().unwrap();
    let p = &v.visitors[0];
    let (vid, visit, matter) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    tx.prepare_cached(
        "INSERT INTO visitors(id, name, id_number, phone, address) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .unwrap()
    .execute(params![vid, p.name, p.id_number, p.phone, p.address])
    .unwrap();
    tx.prepare_cached(
        "INSERT INTO visits(id, visited_at, appeal, category_code) VALUES (?1, ?2, ?3, ?4)",
    )
    .unwrap()
    .execute(params![
        visit,
        v.visited_at.to_rfc3339(),
        v.appeal,
        v.category_code
    ])
    .unwrap();
    tx.prepare_cached("INSERT INTO visit_visitors(visit_id, visitor_id) VALUES (?1, ?2)")
        .unwrap()
        .execute(params![visit, vid])
        .unwrap();
    tx.prepare_cached("INSERT INTO matters(id, first_visit_id) VALUES (?1, ?2)")
        .unwrap()
        .execute(params![matter, visit])
        .unwrap();
    tx.commit().unwrap();
}

/// A bare store: plaintext, or keyed like the store (SQLCipher, the same page encryption).
fn bare_store(dir: &std::path::Path, key: Option<&xinfang_store::DataKey>) -> Connection {
    let file = if key.is_some() {
        "bare-keyed.db"
    } else {
        "bare.db"
    };
    let conn = Connection::open(dir.join(file)).unwrap();
    if let Some(key) = key {
        conn.execute_batch(&format!("PRAGMA key = \"{}\";", &*key.pragma_literal()))
            .unwrap();
    }
    let _: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS visitors(id TEXT UNIQUE, name TEXT, id_number TEXT, phone TEXT, address TEXT);
         CREATE INDEX IF NOT EXISTS visitors_idn ON visitors(id_number);
         CREATE TABLE IF NOT EXISTS visits(id TEXT PRIMARY KEY, visited_at TEXT, appeal TEXT, category_code TEXT);
         CREATE TABLE IF NOT EXISTS visit_visitors(visit_id TEXT, visitor_id TEXT, PRIMARY KEY(visit_id, visitor_id)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS matters(id TEXT PRIMARY KEY, first_visit_id TEXT);",
    )
    .unwrap();
    conn
}

/// One row as a registration wrote it: its table, column names and values.
struct WrittenRow {
    table: &'static str,
    columns: Vec<String>,
    values: Vec<Value>,
}

/// Bare SQLite writing **the same rows** as the store's registration, in one fsync'd
/// transaction, into a copy of the seeded store — the same tables, indexes and triggers at the
/// same size, keyed the same — as ARCHITECTURE.md's registration budget reads ("bare SQLite
/// writing the same rows in one transaction"). The rows the store's code wrote (the visitor
/// and its search tokens, the visit, its link, the matter, the change-log entries) are read back
/// from the store after each registration, untimed, and inserted as they are; the twin's
/// triggers then write what the store's did. The four-row twin above writes four narrow rows
/// into a new, small file: the floor, not the same rows.
struct SameRowsTwin {
    twin: Connection,
    /// The store's own file, read back after each registration.
    store: Connection,
    last_seq: i64,
}

impl SameRowsTwin {
    fn new(dir: &std::path::Path, seeded: &Store, store_file: &std::path::Path) -> Self {
        let path = dir.join("twin.db");
        seeded.backup(&path).unwrap();
        let key = seeded.data_key();
        let twin = match &key {
            Some(k) => xinfang_store::open_raw(&path, Some(k)).unwrap(),
            None => Connection::open(&path).unwrap(),
        };
        let _: String = twin
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        // The store's own settings (schema.rs `configure`).
        twin.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -262144;",
        )
        .unwrap();
        let store = match &key {
            Some(k) => xinfang_store::open_raw(store_file, Some(k)).unwrap(),
            None => Connection::open(store_file).unwrap(),
        };
        let last_seq = store
            .query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
                r.get(0)
            })
            .unwrap();
        Self {
            twin,
            store,
            last_seq,
        }
    }

    fn read(
        &self,
        table: &'static str,
        condition: &str,
        key: &dyn rusqlite::ToSql,
    ) -> Vec<WrittenRow> {
        let mut stmt = self
            .store
            .prepare_cached(&format!("SELECT * FROM {table} WHERE {condition}"))
            .unwrap();
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let n = columns.len();
        stmt.query_map([key], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
            .unwrap()
            .map(|values| WrittenRow {
                table,
                columns: columns.clone(),
                values: values.unwrap(),
            })
            .collect()
    }

    /// The rows registration `r` wrote, in the order the store writes them.
    fn rows_of(&mut self, r: &Registered) -> Vec<WrittenRow> {
        let mut rows = Vec::new();
        for id in &r.visitor_ids {
            rows.extend(self.read("visitors", "id = ?1", id));
        }
        rows.extend(self.read("visits", "id = ?1", &r.visit_id));
        rows.extend(self.read("visit_visitors", "visit_id = ?1", &r.visit_id));
        rows.extend(self.read("matters", "id = ?1", &r.matter_id));
        let log = self.read("change_log", "seq > ?1", &self.last_seq);
        self.last_seq = self
            .store
            .query_row("SELECT max(seq) FROM change_log", [], |r| r.get(0))
            .unwrap();
        rows.extend(log);
        rows
    }

    /// Writes `rows` in one transaction: each inserted as it is (or set in place, for a
    /// returning visitor), a new visitor's search tokens with it.
    fn write(&mut self, rows: &[WrittenRow]) {
        let tx = self.twin.transaction().unwrap();
        for row in rows {
            let columns = row.columns.join(", ");
            let marks = vec!["?"; row.columns.len()].join(", ");
            let set = row
                .columns
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let changed = tx
                .prepare_cached(&format!(
                    "INSERT INTO {}({columns}) VALUES ({marks}) ON CONFLICT DO UPDATE SET {set}",
                    row.table
                ))
                .unwrap()
                .execute(params_from_iter(&row.values))
                .unwrap();
            if row.table == "visitors" && changed == 1 {
                let at = |name: &str| {
                    let i = row.columns.iter().position(|c| c == name).unwrap();
                    match &row.values[i] {
                        Value::Text(t) => Some(t.clone()),
                        _ => None,
                    }
                };
                let rowid: i64 = tx
                    .query_row(
                        "SELECT rowid FROM visitors WHERE id = ?1",
                        [at("id")],
                        |r| r.get(0),
                    )
                    .unwrap();
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO visitor_tokens(rowid, tokens) VALUES (?1, ?2)",
                )
                .unwrap()
                .execute(params![
                    rowid,
                    xinfang_store::search_tokens(&at("name").unwrap(), at("phone").as_deref())
                ])
                .unwrap();
            }
        }
        tx.commit().unwrap();
    }

    /// Each table's rows in the store and in its twin (the search tokens aside).
    fn counts(&self) -> Vec<(String, i64, i64)> {
        let tables: Vec<String> = self
            .store
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                   AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'visitor_tokens%'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let count = |c: &Connection, t: &str| -> i64 {
            c.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap()
        };
        tables
            .into_iter()
            .map(|t| {
                let (s, w) = (count(&self.store, &t), count(&self.twin, &t));
                (t, s, w)
            })
            .collect()
    }
}

/// The tables to which the store and its twin added a different number of rows since
/// `before`: none, or the twin did not write the same rows and the comparison is not fair.
fn unlike_tables(before: &[(String, i64, i64)], after: &[(String, i64, i64)]) -> Vec<String> {
    before
        .iter()
        .zip(after)
        .filter(|((_, s0, w0), (_, s1, w1))| s1 - s0 != w1 - w0)
        .map(|((t, ..), _)| t.clone())
        .collect()
}

/// Registration next to bare SQLite, plaintext and (when the store is encrypted) keyed the
/// same way as the store: every page a commit writes is encrypted and authenticated.
fn report_register(
    store: &mut Store,
    bare: &mut Connection,
    keyed: Option<&mut Connection>,
    twin: &mut SameRowsTwin,
    clerk: &str,
) {
    let n = 1_000u64;
    let mut s = Vec::new();
    let mut b = Vec::new();
    let mut k = Vec::new();
    let mut w = Vec::new();
    let mut keyed = keyed;
    let before = twin.counts();
    for i in 0..n {
        let v = visit_for(1_000_000 + i);
        let t = Instant::now();
        let registered = store.register_visit(&v, clerk).unwrap();
        s.push(t.elapsed());
        let rows = twin.rows_of(&registered);
        let t = Instant::now();
        twin.write(&rows);
        w.push(t.elapsed());
        let t = Instant::now();
        bare_register(bare, 1_000_000 + i);
        b.push(t.elapsed());
        if let Some(keyed) = keyed.as_deref_mut() {
            let t = Instant::now();
            bare_register(keyed, 1_000_000 + i);
            k.push(t.elapsed());
        }
    }
    let unlike = unlike_tables(&before, &twin.counts());
    assert!(
        unlike.is_empty(),
        "the same-rows twin wrote other rows than the store in {unlike:?}"
    );
    let (sp50, sp99) = percentiles(s);
    let (bp50, bp99) = percentiles(b);
    println!(
        "{:<20} {sp50:>10.3}ms {sp99:>10.3}ms {bp50:>10.3}ms {bp99:>10.3}ms",
        "register one visit"
    );
    if !k.is_empty() {
        let (kp50, kp99) = percentiles(k);
        println!(
            "{:<20} {:>12} {:>12} {kp50:>10.3}ms {kp99:>10.3}ms",
            "  bare keyed", "", ""
        );
    }
    let (wp50, wp99) = percentiles(w);
    println!(
        "{:<20} {:>12} {:>12} {wp50:>10.3}ms {wp99:>10.3}ms   (store ÷ twin: p50 {:.2}×, p99 {:.2}×)",
        "  bare, same rows",
        "",
        "",
        sp50 / wp50,
        sp99 / wp99
    );
}

/// The bench store: encrypted (made by `make bench-data` since issue 7, unlocked as the bench
/// account) or a plaintext one seeded before encryption.
fn open_bench(dir: &std::path::Path) -> Store {
    if Store::is_encrypted_dir(dir) {
        Store::login(dir, "bench", "bench-pass-2026").unwrap().0
    } else {
        Store::open_unencrypted(dir).unwrap()
    }
}

/// Bare SQLite on the same file (keyed like the store when it is encrypted).
fn open_bare(path: &std::path::Path, store: &Store) -> Connection {
    let conn = match store.data_key() {
        Some(key) => xinfang_store::open_raw(path, Some(&key)).unwrap(),
        None => Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap(),
    };
    // The store's page cache (schema.rs), so that both keep the pages they read; with SQLite's
    // default 2 MiB, bare decrypts most pages again at every query. The store's cap on SQLite's
    // memory is the process's, so it holds the bare connections too.
    conn.execute_batch("PRAGMA cache_size = -262144").unwrap();
    conn
}

fn benches(c: &mut Criterion) {
    let dir = bench_dir();
    let store = open_bench(&dir);
    let bare = open_bare(&dir.join(DB_FILE), &store);
    let q = sample_queries(&bare);
    report_percentiles(&store, &bare, &q);

    let mut g = c.benchmark_group("search");
    for (label, queries) in [
        ("id", &q.ids),
        ("name2", &q.two_char),
        ("initials", &q.initials),
        ("phone4", &q.phone4),
    ] {
        let mut i = 0;
        g.bench_function(format!("store/{label}"), |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                store.search(&queries[i], 50).unwrap()
            })
        });
        let mut i = 0;
        g.bench_function(format!("bare/{label}"), |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                let (sql, arg) = bare_sql(&queries[i]);
                bare.prepare_cached(sql)
                    .unwrap()
                    .query_map([&arg], |r| r.get::<_, i64>(0))
                    .unwrap()
                    .count()
            })
        });
    }
    g.finish();
}

fn register_benches(c: &mut Criterion) {
    // It needs room for two copies of the seeded store (31 GB each at the budgets' scale).
    if std::env::var("XINFANG_BENCH_REGISTER").as_deref() == Ok("0") {
        println!(
            "registration not measured (XINFANG_BENCH_REGISTER=0): it writes to a copy of the store and to a twin of the same size"
        );
        return;
    }
    if std::env::var("XINFANG_BENCH_REGISTER").as_deref() == Ok("in-place") {
        register_in_place();
        return;
    }
    // Writes go to a copy, so the seeded store stays as generated.
    let scratch = tempfile::TempDir::new_in(bench_dir().parent().unwrap()).unwrap();
    let seeded = open_bench(&bench_dir());
    let copy = scratch.path().join(DB_FILE);
    seeded.backup(&copy).unwrap();
    let mut twin = SameRowsTwin::new(scratch.path(), &seeded, &copy);
    let mut store = match seeded.data_key() {
        Some(key) => {
            std::fs::rename(
                xinfang_store::backup_keyslots_path(&copy),
                scratch.path().join(xinfang_store::KEYSLOTS_FILE),
            )
            .unwrap();
            Store::open_with_key(scratch.path(), &key).unwrap()
        }
        None => Store::open_unencrypted(scratch.path()).unwrap(),
    };
    drop(seeded);
    let clerk = store
        .authenticate("bench", "bench-pass-2026")
        .map(|s| s.id)
        .unwrap_or_else(|_| "bench".into());
    let mut bare = bare_store(scratch.path(), None);
    let key = store.data_key();
    let mut keyed = key.as_ref().map(|k| bare_store(scratch.path(), Some(k)));
    report_register(&mut store, &mut bare, keyed.as_mut(), &mut twin, &clerk);
    drop(twin);

    let mut g = c.benchmark_group("register");
    g.sample_size(20);
    let mut i = 2_000_000u64;
    g.bench_function("store/register_visit", |b| {
        b.iter(|| {
            i += 1;
            store.register_visit(&visit_for(i), &clerk).unwrap()
        })
    });
    g.bench_function("bare/same_rows_one_txn", |b| {
        b.iter(|| {
            i += 1;
            bare_register(&mut bare, i)
        })
    });
    g.finish();
}

/// Registration into the seeded store itself (`XINFANG_BENCH_REGISTER=in-place`), for a store
/// too large to copy twice (31 GB at the budgets' scale): the store's own times at its full
/// size, next to the four-row floor. It adds its visits (dated 2026-11-26) to the store for good;
/// the same-rows twin, which needs the two copies, is not written.
fn register_in_place() {
    let dir = bench_dir();
    let mut store = open_bench(&dir);
    let clerk = store
        .authenticate("bench", "bench-pass-2026")
        .map(|s| s.id)
        .unwrap_or_else(|_| "bench".into());
    let scratch = tempfile::TempDir::new().unwrap();
    let key = store.data_key();
    let mut keyed = bare_store(scratch.path(), key.as_ref());
    let visits: i64 = open_bare(&dir.join(DB_FILE), &store)
        .query_row("SELECT count(*) FROM visits", [], |r| r.get(0))
        .unwrap();
    let (mut s, mut k) = (Vec::new(), Vec::new());
    // `visit_for` makes 7,000 people; each run's 300 follow the store's count of visits, so a
    // run registers people new to the store (as a copy's run does), not the last run's again.
    let first = 1_000_000 + visits as u64 % 7_000;
    for i in first..first + 300 {
        let v = visit_for(i);
        let t = Instant::now();
        store.register_visit(&v, &clerk).unwrap();
        s.push(t.elapsed());
        let t = Instant::now();
        bare_register(&mut keyed, i);
        k.push(t.elapsed());
    }
    let (sp50, sp99) = percentiles(s);
    let (kp50, kp99) = percentiles(k);
    println!(
        "register one visit, in place at {visits} visits: store p50 {sp50:.3} ms, p99 {sp99:.3} ms; \
         four-row floor{} p50 {kp50:.3} ms, p99 {kp99:.3} ms",
        if key.is_some() { " (keyed)" } else { "" }
    );
}

criterion_group!(all, benches, register_benches);
criterion_main!(all);
