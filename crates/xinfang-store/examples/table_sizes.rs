//! Where a store's bytes go: the size of every table and index (SQLite's `dbstat`), largest
//! first, with bytes per visit. For docs/performance.md (issue 21's store-size budget).
//!
//! `cargo run --release -p xinfang-store --example table_sizes -- DATA_DIR USER PASSWORD`

use std::path::PathBuf;

use xinfang_store::{DB_FILE, Store, open_raw};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("DATA_DIR"));
    let user = args.next().expect("USER");
    let password = args.next().expect("PASSWORD");
    let (store, _) = Store::login(&dir, &user, &password).expect("login");
    let conn = open_raw(&dir.join(DB_FILE), store.data_key().as_ref()).expect("open");
    let visits: f64 = conn
        .query_row("SELECT count(*) FROM visits", [], |r| r.get::<_, i64>(0))
        .expect("count") as f64;
    let mut stmt = conn
        .prepare(
            "SELECT name, sum(pgsize), count(*) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC",
        )
        .expect("dbstat");
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .expect("query");
    let mut total = 0i64;
    println!(
        "{:<40} {:>12} {:>10} {:>10}",
        "table or index", "bytes", "pages", "B/visit"
    );
    for row in rows {
        let (name, bytes, pages) = row.expect("row");
        total += bytes;
        if bytes as f64 / visits.max(1.0) >= 1.0 {
            println!(
                "{name:<40} {bytes:>12} {pages:>10} {:>10.0}",
                bytes as f64 / visits.max(1.0)
            );
        }
    }
    println!(
        "{:<40} {total:>12} {:>10} {:>10.0}   ({} visits)",
        "total",
        "",
        total as f64 / visits.max(1.0),
        visits
    );
}
