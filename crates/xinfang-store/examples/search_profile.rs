//! Where a search's and a registration's time goes, on a seeded store (docs/performance.md,
//! "Search and registration profiled"); run under `perf record` to see the functions.
//!
//! `cargo run --release -p xinfang-store --example search_profile -- DATA_DIR USER PASSWORD CACHE_KIB [MODE]`
//!
//! MODE: none — the store's search SQL by phase (candidates, fetch of the hit rows) on a raw
//! connection with a page cache of CACHE_KIB; `store` — `Store::search` p50/p99 per kind;
//! `register` — 3,000 registrations, p50/p99 (writes to the store: use a copy); `frames` —
//! WAL frames (pages) one registration writes (writes too); `btrees` — the tables and indexes
//! those pages belong to, a mean of 20 registrations (writes too; reads the whole file after each).

use std::path::PathBuf;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use xinfang_store::{DB_FILE, SearchKind, Store, classify_query, open_raw};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("DATA_DIR"));
    let user = args.next().expect("USER");
    let password = args.next().expect("PASSWORD");
    let cache: i64 = args.next().map(|s| s.parse().unwrap()).unwrap_or(262144);
    let mode = args.next();
    let (store, _) = Store::login(&dir, &user, &password).expect("login");
    let conn = open_raw(&dir.join(DB_FILE), store.data_key().as_ref()).expect("open");
    conn.execute_batch(&format!("PRAGMA cache_size = -{cache}"))
        .unwrap();
    let max: i64 = conn
        .query_row("SELECT max(rowid) FROM visitors", [], |r| r.get(0))
        .unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut qs: Vec<(&str, String)> = vec![];
    for _ in 0..2000 {
        let (name, full, phone): (String, String, String) = conn
            .query_row(
                "SELECT name, pinyin_full, phone FROM visitors WHERE rowid = ?1",
                [rng.random_range(1..=max)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        qs.push(("name1", name.chars().last().unwrap().to_string()));
        qs.push(("full", full[..full.len().min(5)].to_owned()));
        let at = rng.random_range(0..=phone.len() - 4);
        qs.push(("phone4", phone[at..at + 4].to_owned()));
    }
    if mode.as_deref() == Some("frames") {
        let (mut store, _) = Store::login(&dir, &user, &password).expect("login");
        let clerk = store.authenticate(&user, &password).unwrap().id;
        let frames = |c: &Connection| -> i64 {
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                .unwrap()
        };
        for i in 0..10u64 {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .unwrap();
            store
                .register_visit(&visit_for(6_000_000 + i), &clerk)
                .unwrap();
            println!("frames of one registration: {}", frames(&conn));
        }
        return;
    }
    if mode.as_deref() == Some("btrees") {
        let (mut store, _) = Store::login(&dir, &user, &password).expect("login");
        let clerk = store.authenticate(&user, &password).unwrap().id;
        let mut per_tree = std::collections::BTreeMap::<String, usize>::new();
        let n = 20u64;
        for i in 0..n {
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .unwrap();
            store
                .register_visit(&visit_for(7_000_000 + i), &clerk)
                .unwrap();
            let owner = page_owners(&conn);
            for page in wal_pages(&dir.join(format!("{DB_FILE}-wal"))) {
                let name = owner
                    .get(&page)
                    .cloned()
                    .unwrap_or_else(|| "(new page)".into());
                *per_tree.entry(name).or_default() += 1;
            }
        }
        // The last registration's change-log rows, and whether each id is the greatest of its
        // entity (an append to the index) or falls inside it (a leaf of its own).
        let mut stmt = conn
            .prepare(
                "SELECT c.entity, c.entity_id,
                        (SELECT count(*) FROM change_log d
                          WHERE d.entity = c.entity AND d.entity_id > c.entity_id)
                 FROM change_log c ORDER BY seq DESC LIMIT 8",
            )
            .unwrap();
        let mut q = stmt.query([]).unwrap();
        while let Some(r) = q.next().unwrap() {
            let (e, id, after): (String, String, i64) =
                (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap());
            println!("change log: {e} {id} ({after} ids of its entity after it)");
        }
        let mut rows: Vec<_> = per_tree.into_iter().collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.1));
        for (name, pages) in rows {
            println!("{:>6.2}  {name}", pages as f64 / n as f64);
        }
        return;
    }
    if mode.as_deref() == Some("register") {
        drop(conn);
        let (mut store, _) = Store::login(&dir, &user, &password).expect("login");
        let clerk = store.authenticate(&user, &password).unwrap().id;
        let mut t = vec![];
        for i in 0..3000u64 {
            let v = visit_for(5_000_000 + i);
            let at = Instant::now();
            store.register_visit(&v, &clerk).unwrap();
            t.push(at.elapsed().as_secs_f64() * 1e3);
        }
        t.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "register p50 {:.3} p99 {:.3}",
            t[t.len() / 2],
            t[t.len() * 99 / 100]
        );
        return;
    }
    if mode.as_deref() == Some("store") {
        for pass in 0..5 {
            for kind in ["name1", "full", "phone4"] {
                let mut t: Vec<f64> = qs
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, q)| {
                        let at = Instant::now();
                        let hits = store.search(q, 50).unwrap();
                        assert!(!hits.is_empty());
                        at.elapsed().as_secs_f64() * 1e3
                    })
                    .collect();
                t.sort_by(|a, b| a.partial_cmp(b).unwrap());
                println!(
                    "store pass {pass} {kind:<7} p50 {:.3} p99 {:.3}",
                    t[t.len() / 2],
                    t[t.len() * 99 / 100]
                );
            }
        }
        return;
    }
    for pass in 0..2 {
        for kind in ["name1", "full", "phone4"] {
            let (mut cand, mut t1, mut t2, mut n) = (0usize, 0f64, 0f64, 0);
            let mut worst = vec![];
            for (_, q) in qs.iter().filter(|(k, _)| *k == kind) {
                let (sk, q) = classify_query(q).unwrap();
                let t = Instant::now();
                let ids: Vec<i64> = match sk {
                    SearchKind::Pinyin => {
                        let mut ids: Vec<i64> = conn.prepare_cached("SELECT rowid FROM visitors WHERE pinyin_initials = ?1 ORDER BY rowid DESC LIMIT 50").unwrap()
                            .query_map([&q], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
                        let more: Vec<i64> = conn.prepare_cached("SELECT rowid FROM visitors WHERE pinyin_full >= ?1 AND pinyin_full < ?1 || '{' LIMIT 50").unwrap()
                            .query_map([&q], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
                        for m in more {
                            if !ids.contains(&m) {
                                ids.push(m)
                            }
                        }
                        ids.truncate(50);
                        ids
                    }
                    _ => {
                        let tok = if sk == SearchKind::Phone {
                            format!("p{q}")
                        } else {
                            format!("n{:06x}", q.chars().next().unwrap() as u32)
                        };
                        conn.prepare_cached("SELECT rowid FROM visitor_tokens WHERE visitor_tokens MATCH ?1 ORDER BY rowid DESC LIMIT 50").unwrap()
                            .query_map([&tok], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
                    }
                };
                let d1 = t.elapsed().as_secs_f64() * 1e3;
                cand += ids.len();
                let t = Instant::now();
                let json = serde_json::to_string(&ids).unwrap();
                let rows = conn.prepare_cached(
                    "SELECT v.rowid, v.id, v.name, v.id_type, v.id_number, v.phone, v.sex, v.birth_date, v.visit_count, v.last_visit_at, v.merged_into
                     FROM visitors v WHERE v.rowid IN (SELECT value FROM json_each(?1))").unwrap()
                    .query_map([json], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(9)?))).unwrap().count();
                assert!(rows > 0);
                let d2 = t.elapsed().as_secs_f64() * 1e3;
                t1 += d1;
                t2 += d2;
                n += 1;
                worst.push(d1 + d2);
            }
            worst.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let nf = n as f64;
            println!(
                "pass {pass} {kind:<7} n={n} candidates/query {:.1} | candidates {:.3} ms | fetch {:.3} ms | p50 {:.3} p99 {:.3}",
                cand as f64 / nf,
                t1 / nf,
                t2 / nf,
                worst[worst.len() / 2],
                worst[worst.len() * 99 / 100]
            );
        }
    }
}

fn visit_for(i: u64) -> xinfang_core::visit::ValidVisit {
    use xinfang_core::id::{IdType, Sex};
    use xinfang_core::visit::{ValidVisit, ValidVisitor};
    let body = format!("140521{}{:03}", 19_700_101 + (i % 28), i % 1000);
    let check = xinfang_core::id::resident_id_check_char(&body).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-26T10:00:00+08:00").unwrap();
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
        appeal_kind: xinfang_core::reference::AppealKind::Claim,
        category_code: "labour_social_security".into(),
        agency: String::new(),
        place_code: Some("140521".into()),
        warnings: vec![],
    }
}

/// Which table or index each page of the file belongs to (SQLite's `dbstat`).
fn page_owners(conn: &Connection) -> std::collections::HashMap<u32, String> {
    conn.prepare("SELECT pageno, name FROM dbstat")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The distinct pages in a WAL file's frames (the frame headers are not encrypted).
fn wal_pages(wal: &std::path::Path) -> std::collections::BTreeSet<u32> {
    let bytes = std::fs::read(wal).unwrap();
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let page_size = be(8) as usize;
    (32..bytes.len())
        .step_by(24 + page_size)
        .filter(|at| at + 24 <= bytes.len())
        .map(be)
        .collect()
}
