//! Runs read-only SQL statements against a store and prints their rows (tab-separated) and
//! how long each took (on stderr): for looking at a benchmark store by hand.
//!
//! `cargo run --release -p xinfang-store --example sql -- DATA_DIR USER PASSWORD 'SELECT …' …`

use std::path::PathBuf;

use rusqlite::types::ValueRef;
use xinfang_store::{DB_FILE, Store, open_raw};

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("DATA_DIR"));
    let user = args.next().expect("USER");
    let password = args.next().expect("PASSWORD");
    let (store, _) = Store::login(&dir, &user, &password).expect("login");
    let conn = open_raw(&dir.join(DB_FILE), store.data_key().as_ref()).expect("open");
    for sql in args {
        let at = std::time::Instant::now();
        run(&conn, &sql);
        eprintln!("{:.1} ms: {sql}", at.elapsed().as_secs_f64() * 1e3);
    }
}

fn run(conn: &rusqlite::Connection, sql: &str) {
    let mut stmt = conn.prepare(sql).expect("prepare");
    let n = stmt.column_count();
    let mut rows = stmt.query([]).expect("query");
    while let Some(r) = rows.next().expect("row") {
        let cells: Vec<String> = (0..n)
            .map(|i| match r.get_ref(i).expect("cell") {
                ValueRef::Null => "NULL".to_owned(),
                ValueRef::Integer(v) => v.to_string(),
                ValueRef::Real(v) => v.to_string(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
            })
            .collect();
        println!("{}", cells.join("\t"));
    }
}
