//! Issue 15, item 4: keyed visitor ids. The city keeps one visitor-id key per hall and hands it
//! out at enrolment; desks derive visitor ids from the document with it (docs/security.md).
//! Real desks (stores in temp dirs) and the real `xinfang-city` binary on loopback.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{CITY_BIN, Desk, Server};
use rusqlite::params;

const HALL: &str = "140521";

fn visitor_ids(desk: &Desk, id_number: &str) -> Vec<String> {
    let db = desk.db();
    let mut stmt = db
        .prepare("SELECT id FROM visitors WHERE id_number = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([id_number], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn one_id(desk: &Desk, id_number: &str) -> String {
    let ids = visitor_ids(desk, id_number);
    assert_eq!(ids.len(), 1, "one record of {id_number}: {ids:?}");
    ids[0].clone()
}

fn hall_key(server: &Server) -> String {
    server.rows(&format!(
        "SELECT {} FROM hall_id_keys WHERE hall_code = '{HALL}'",
        server.hex_sql("key")
    ))[0]
        .clone()
}

/// A keyed id is a version-8 UUID (a UUIDv5 of the document was version 5).
fn is_keyed(id: &str) -> bool {
    id.len() == 36 && &id[14..15] == "8"
}

/// Rows of the desk that still hold one of `ids` anywhere a visitor id is kept.
fn rows_holding(desk: &Desk, ids: &[String]) -> Vec<String> {
    let db = desk.db();
    let mut found = Vec::new();
    for (table, column) in [
        ("visitors", "id"),
        ("visit_visitors", "visitor_id"),
        ("visit_visitors", "person_id"),
        ("change_log", "entity_id"),
        ("change_log", "fields"),
    ] {
        for id in ids {
            let n: i64 = db
                .query_row(
                    &format!("SELECT count(*) FROM {table} WHERE instr({column}, ?1) > 0"),
                    params![id],
                    |r| r.get(0),
                )
                .unwrap();
            if n > 0 {
                found.push(format!("{table}.{column}: {n}"));
            }
        }
    }
    found
}

common::both_backends! {
fn two_enrolled_desks_of_a_hall_give_one_person_one_keyed_id_offline() {
    let server = Server::start();
    let mut a = Desk::new(HALL, 1);
    let mut b = Desk::new(HALL, 2);
    a.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    b.enrol(&server.url, &server.enrol_code(HALL)).unwrap();

    // Both offline: the same person comes to each desk.
    let number = a.resident_id();
    a.register_returning(&number);
    b.register_returning(&number);
    let id = one_id(&a, &number);
    assert_eq!(id, one_id(&b, &number), "one id for one person in a hall");
    assert!(is_keyed(&id), "{id} is derived with the hall's key");

    a.sync().unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    assert_eq!(one_id(&a, &number), id);
    assert_eq!(one_id(&b, &number), id);
    assert_eq!(a.snapshot(), b.snapshot());
}
}

common::both_backends! {
fn a_desk_that_registered_before_enrolling_takes_the_halls_key_and_syncs_without_duplicates() {
    let server = Server::start();
    let mut a = Desk::new(HALL, 3);
    let mut b = Desk::new(HALL, 4);

    // Both desks work before they enrol (like `make run`'s seeded demo).
    let shared = a.resident_id();
    let own = b.resident_id();
    a.register_returning(&shared);
    let a_before = one_id(&a, &shared);
    b.register_returning(&shared);
    b.register_returning(&shared);
    b.register_returning(&own);
    let b_before = vec![one_id(&b, &shared), one_id(&b, &own)];
    assert_ne!(
        a_before, b_before[0],
        "before enrolling each desk has its own key"
    );

    // A enrols first: the city keeps A's key, A's ids stay.
    a.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    assert_eq!(one_id(&a, &shared), a_before);
    let a_key: String = a
        .db()
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'hall_id_key'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        hall_key(&server),
        a_key,
        "the city kept the first desk's key"
    );
    a.sync().unwrap();

    // B enrols second: it takes the hall's key and re-derives what it made, before any push.
    b.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    assert_eq!(
        one_id(&b, &shared),
        a_before,
        "B now gives the person A's id"
    );
    let b_own = one_id(&b, &own);
    assert_ne!(b_own, b_before[1]);
    assert!(is_keyed(&b_own));
    assert_eq!(rows_holding(&b, &b_before), Vec::<String>::new());
    let report = b.open().verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);

    b.sync().unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    for desk in [&a, &b] {
        assert_eq!(one_id(desk, &shared), a_before);
        assert_eq!(one_id(desk, &own), b_own);
        let visits: i64 = desk
            .db()
            .query_row(
                "SELECT count(*) FROM visit_visitors WHERE visitor_id = ?1",
                [&a_before],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(visits, 3, "A's visit and B's two under one person");
    }
    assert_eq!(a.snapshot(), b.snapshot());
    let city_records = server.int("SELECT count(*) FROM records WHERE entity = 'visitor'");
    assert_eq!(city_records, 2, "no duplicate person at the city");
}
}

common::both_backends! {
fn pushed_ids_never_change_when_a_desk_learns_the_halls_key_late() {
    let server = Server::start();
    let mut a = Desk::new(HALL, 5);
    a.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    let pushed = a.resident_id();
    a.register_returning(&pushed);
    a.sync().unwrap();
    let pushed_id = one_id(&a, &pushed);

    // A desk upgraded while enrolled holds a key of its own until its next sync.
    {
        let db = rusqlite::Connection::open(a.dir.path().join(xinfang_store::DB_FILE)).unwrap();
        db.execute(
            "UPDATE sync_state SET value = ?1 WHERE key = 'hall_id_key'",
            [&"ab".repeat(32)],
        )
        .unwrap();
        db.execute(
            "UPDATE sync_state SET value = 'desk' WHERE key = 'hall_id_key_source'",
            [],
        )
        .unwrap();
    }
    let fresh = a.resident_id();
    a.register_returning(&fresh);
    let fresh_before = one_id(&a, &fresh);
    a.register_returning(&pushed);

    a.sync().unwrap();
    assert_eq!(one_id(&a, &pushed), pushed_id, "a pushed id never changes");
    let fresh_after = one_id(&a, &fresh);
    assert_ne!(
        fresh_after, fresh_before,
        "an unpushed one takes the hall's key"
    );

    // Another desk of the hall gives the late person the same id.
    let b = Desk::new(HALL, 6);
    b.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    b.sync().unwrap();
    assert_eq!(one_id(&b, &fresh), fresh_after);
    assert_eq!(one_id(&b, &pushed), pushed_id);
}
}

common::both_backends! {
fn the_hall_id_key_is_never_logged() {
    let dir = tempfile::TempDir::new().unwrap();
    let log = dir.path().join("server.log");
    let data = dir.path().join("data");
    let database: Vec<String> = common::database_for_backend()
        .map(|uri| vec!["--database".into(), uri])
        .unwrap_or_default();
    let mut child = Command::new(CITY_BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--no-encryption")
        .args(&database)
        .env("XINFANG_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let code = {
        let out = Command::new(CITY_BIN)
            .args(["enrol-code", "--hall", HALL, "--data-dir"])
            .arg(&data)
            .arg("--no-encryption")
            .args(&database)
            .output()
            .unwrap();
        assert!(out.status.success());
        common::last_word(&String::from_utf8_lossy(&out.stdout))
    };
    let mut desk = Desk::new(HALL, 7);
    let resp = {
        let mut store = desk.open();
        xinfang_sync::client::enrol(&mut store, &url, &code, "test desk").unwrap()
    };
    let number = desk.resident_id();
    desk.register_returning(&number);
    desk.sync().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();

    let hex = match database.get(1) {
        Some(uri) => common::pg::query(uri, "SELECT encode(key, 'hex') FROM hall_id_keys"),
        None => rusqlite::Connection::open(data.join("city.db"))
            .unwrap()
            .query_row("SELECT lower(hex(key)) FROM hall_id_keys", [], |r| r.get(0))
            .unwrap(),
    };
    let key: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(
        resp.hall_id_key
            .as_ref()
            .and_then(|k| k.bytes())
            .unwrap()
            .to_vec(),
        key
    );
    assert!(!format!("{resp:?}").contains(&hex));
    assert!(!format!("{:?}", resp.hall_id_key).contains(&hex));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.is_empty(), "the server logged at trace level");
    assert!(!logged.contains(&hex), "the key is in the server log");
}
}

common::both_backends! {
fn halls_have_keys_of_their_own_and_the_citys_repeat_visits_still_find_a_person_across_them() {
    let server = Server::start();
    let mut a = Desk::new(HALL, 8);
    let mut b = Desk::new("140525", 9);
    a.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    b.enrol(&server.url, &server.enrol_code("140525")).unwrap();
    let keys = server.int(
        "SELECT count(DISTINCT key) FROM hall_id_keys WHERE hall_code IN ('140521', '140525')",
    );
    assert_eq!(keys, 2, "one key per hall");

    // One person visits both halls.
    let number = a.resident_id();
    a.register_returning(&number);
    b.register_returning(&number);
    assert_ne!(one_id(&a, &number), one_id(&b, &number));
    a.sync().unwrap();
    b.sync().unwrap();

    let token = server.admin_token();
    let (status, body) = server.get(
        &format!("/v1/city/repeat-visits?id_number={number}"),
        Some(&token),
    );
    assert_eq!(status, 200, "{body}");
    let mut halls: Vec<&str> = body["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["hall_code"].as_str().unwrap())
        .collect();
    halls.sort();
    assert_eq!(halls, ["140521", "140525"]);
}
}
