//! Sync off the happy path (issue 13): a desk restored from a backup, clocks far off, a change
//! the server refuses, desks older than the server. The real `xinfang-city` binary on loopback,
//! desks as real data dirs through the real `xinfang` CLI or the store API.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Desk, Server, xinfang_bin};
use serde_json::{Value, json};
use xinfang_sync::DeskReplica;
use xinfang_sync::wire::{PROTOCOL_HEADER, RemoteChange};

const PASSWORD: &str = "correct horse battery";
/// Ten years, in seconds.
const TEN_YEARS: &str = "315360000";

/// Runs the real desk CLI on `dir` with `--json` as `user`; returns (exit code, stdout).
fn cli(dir: &Path, user: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut cmd = Command::new(xinfang_bin());
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("XINFANG_PASSWORD", PASSWORD)
        .env("XINFANG_NEW_PASSWORD", PASSWORD)
        .env("XINFANG_LOG", "warn")
        .env("XINFANG_USER", user)
        .env_remove("XINFANG_SERVER_URL")
        .env_remove("XINFANG_CLOCK_SKEW_SECS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or(Value::String(stdout.into_owned()));
    (out.status.code().unwrap_or(-1), value)
}

/// A desk made with the CLI (encrypted, like a real one), with a clerk, enrolled.
fn cli_desk(server: &Server, env: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    let p = dir.path();
    let (rc, out) = cli(
        p,
        "admin",
        &["init", "--hall", "140521", "--admin", "admin"],
        env,
    );
    assert_eq!(rc, 0, "{out}");
    let add = [
        "staff",
        "add",
        "--username",
        "clerk",
        "--name",
        "王接待",
        "--role",
        "clerk",
    ];
    let (rc, out) = cli(p, "admin", &add, env);
    assert_eq!(rc, 0, "{out}");
    let code = server.enrol_code("140521");
    let (rc, out) = cli(
        p,
        "admin",
        &["enrol", "--server", &server.url, "--code", &code],
        env,
    );
    assert_eq!(rc, 0, "{out}");
    dir
}

fn resident_id(n: u32) -> String {
    let body = format!("14052119800101{n:03}");
    format!(
        "{body}{}",
        xinfang_core::id::resident_id_check_char(&body).unwrap()
    )
}

/// Registers one visit of a new person (`n` picks the person) through the CLI.
fn cli_visit(dir: &Path, n: u32, env: &[(&str, &str)]) {
    let file = dir.join(format!("visit-{n}.json"));
    std::fs::write(
        &file,
        json!({
            "visited_at": "",
            "visitors": [{ "name": format!("来访人{n}"), "id_number": resident_id(n),
                "phone": format!("139{n:08}") }],
            "head_count": 1,
            "representatives": [],
            "appeal": format!("第 {n} 件：拖欠工资，请求协调支付。"),
            "appeal_kind": "claim",
            "category": "劳动和社会保障",
            "agency": "县人社局",
            "place_code": "140521"
        })
        .to_string(),
    )
    .unwrap();
    let (rc, out) = cli(
        dir,
        "clerk",
        &["visit", "add", "--file", file.to_str().unwrap()],
        env,
    );
    assert_eq!(rc, 0, "{out}");
}

fn sync(dir: &Path, env: &[(&str, &str)]) -> Value {
    let (rc, out) = cli(dir, "clerk", &["sync"], env);
    assert_eq!(rc, 0, "{out}");
    out
}

/// Appeals of the visits a desk holds, sorted.
fn appeals(dir: &Path) -> Vec<String> {
    let conn = common::desk_conn(dir, "clerk", PASSWORD);
    let mut stmt = conn
        .prepare("SELECT appeal FROM visits ORDER BY appeal")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Appeals of the visits the city holds, sorted.
fn city_appeals(server: &Server) -> Vec<String> {
    let mut appeals = server.rows(&format!(
        "SELECT {} FROM records WHERE entity = 'visit'",
        server.json_sql("data", "appeal")
    ));
    // Sorted here: the two backends' collations order text differently.
    appeals.sort();
    appeals
}

fn expected(ns: impl IntoIterator<Item = u32>) -> Vec<String> {
    let mut v: Vec<String> = ns
        .into_iter()
        .map(|n| format!("第 {n} 件：拖欠工资，请求协调支付。"))
        .collect();
    v.sort();
    v
}

// Case 1 of issue 13: synced, backed up, 3 visits synced, restored, 4 more: the city used to
// get none of the 4 (their numbers were the 3 lost ones') and the desk never got the 3 back.
common::both_backends! {
fn a_desk_restored_from_a_backup_takes_back_what_it_lost_and_the_city_gets_everything() {
    let server = Server::start();
    let a = cli_desk(&server, &[]);
    let b = cli_desk(&server, &[]);
    cli_visit(a.path(), 1, &[]);
    sync(a.path(), &[]);
    let backup = a.path().join("before.db");
    let (rc, out) = cli(
        a.path(),
        "admin",
        &["backup", backup.to_str().unwrap()],
        &[],
    );
    assert_eq!(rc, 0, "{out}");
    for n in 2..=4 {
        cli_visit(a.path(), n, &[]);
    }
    sync(a.path(), &[]);

    // A backup that does not check out is refused before anything is replaced.
    let junk = a.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    std::fs::copy(
        xinfang_store::backup_keyslots_path(&backup),
        xinfang_store::backup_keyslots_path(&junk),
    )
    .unwrap();
    let (rc, out) = cli(a.path(), "admin", &["restore", junk.to_str().unwrap()], &[]);
    assert_eq!(rc, 1, "{out}");
    assert_eq!(out["errors"][0]["code"], "backup_unusable", "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("没有恢复")
    );
    assert_eq!(appeals(a.path()), expected(1..=4));
    // A clerk may not restore.
    let (rc, out) = cli(
        a.path(),
        "clerk",
        &["restore", backup.to_str().unwrap()],
        &[],
    );
    assert_eq!(rc, 1, "{out}");
    assert_eq!(appeals(a.path()), expected(1..=4));

    let (rc, out) = cli(
        a.path(),
        "admin",
        &["restore", backup.to_str().unwrap()],
        &[],
    );
    assert_eq!(rc, 0, "{out}");
    assert_eq!(appeals(a.path()), expected([1]));
    for n in 5..=8 {
        cli_visit(a.path(), n, &[]);
    }
    let report = sync(a.path(), &[]);
    assert!(report["recovered"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["pending"], 0, "{report}");
    assert!(report["push_error"].is_null(), "{report}");
    // Nothing lost anywhere: the desk took its 3 back, the city has all 8, another desk too.
    assert_eq!(appeals(a.path()), expected(1..=8));
    assert_eq!(city_appeals(&server), expected(1..=8));
    sync(b.path(), &[]);
    assert_eq!(appeals(b.path()), expected(1..=8));
    // A second sync has nothing to do, and the restored desk checks out.
    let again = sync(a.path(), &[]);
    assert_eq!(
        (again["recovered"].as_u64(), again["pushed"].as_u64()),
        (Some(0), Some(0))
    );
    let (rc, out) = cli(a.path(), "admin", &["verify"], &[]);
    assert_eq!(rc, 0, "{out}");
}
}

// The same through the store API with a plain file copy (no `xinfang restore`): the desk finds
// out by itself, from the server's count and content.
common::both_backends! {
fn a_store_copied_back_from_an_older_file_recovers_on_its_own() {
    let server = Server::start();
    let mut a = Desk::new("140521", 1);
    a.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    a.register_new(1);
    a.sync().unwrap();
    let saved = a.dir.path().join("saved.db");
    a.open().backup(&saved).unwrap();
    a.register_new(3);
    a.sync().unwrap();
    let city_before = server.int("SELECT count(*) FROM records WHERE entity = 'visit'");
    assert_eq!(city_before, 4);
    let db = a.dir.path().join(xinfang_store::DB_FILE);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(&saved, &db).unwrap();
    assert_eq!(a.count("visits"), 1);
    a.register_new(4);
    let r = a.sync().unwrap();
    assert!(r.recovered > 0);
    assert_eq!(r.pending, 0);
    assert_eq!(a.count("visits"), 8);
    let city = server.int("SELECT count(*) FROM records WHERE entity = 'visit'");
    assert_eq!(city, 8);
    assert!(a.open().verify().unwrap().ok());
}
}

// The city refuses a sequence number reused with other content instead of counting it as a
// duplicate (it used to compare only the record and the timestamp).
common::both_backends! {
fn a_sequence_reused_with_other_content_is_refused() {
    let server = Server::start();
    let mut desk = Desk::new("140521", 2);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    desk.register_new(1);
    desk.sync().unwrap();
    let store = desk.open();
    let token = store.sync_settings().unwrap().unwrap().token;
    let mut changes = store.local_changes(0, 100).unwrap();
    let last = changes.pop().unwrap();
    let mut other = last.clone();
    other.fields.insert("appeal".into(), json!("另一件事"));
    let (s, r) = server.post_json(
        "/v1/sync/push",
        Some(token.expose()),
        &json!({ "changes": [other] }),
    );
    assert_eq!((s, r["code"].as_str()), (409, Some("seq_conflict")), "{r}");
    // The very same change again is a duplicate.
    let (s, r) = server.post_json(
        "/v1/sync/push",
        Some(token.expose()),
        &json!({ "changes": [last] }),
    );
    assert_eq!((s, r["duplicates"].as_u64()), (200, Some(1)), "{r}");
}
}

// Case 5: a desk ten years ahead is told its clock is wrong and keeps its changes until it is
// set right; nothing of its clock spreads; a forged i64::MAX is set aside at the city and does
// not make anyone panic.
common::both_backends! {
fn a_desk_ten_years_ahead_is_told_and_nothing_of_its_clock_spreads() {
    let server = Server::start();
    let ahead = [("XINFANG_CLOCK_SKEW_SECS", TEN_YEARS)];
    let a = cli_desk(&server, &[]);
    let b = cli_desk(&server, &ahead);
    cli_visit(b.path(), 1, &ahead);
    let report = sync(b.path(), &ahead);
    let clock = report["clock_error"].as_str().unwrap_or_default();
    assert!(clock.contains("本机时间不准"), "{report}");
    assert!(clock.contains("快"), "{report}");
    assert!(report["clock_skew_secs"].as_i64().unwrap() > 300_000_000);
    assert_eq!(report["pushed"], 0, "{report}");
    assert!(report["pending"].as_i64().unwrap() > 0, "{report}");
    assert!(city_appeals(&server).is_empty());

    // A forged change stamped i64::MAX, pushed by a device of the hall, between good ones.
    let token = server.enrol_device("140521", "01900000-0000-7000-8000-00000000beef");
    let visitor = |seq: i64, id: &str, hlc: i64| {
        json!({ "seq": seq, "entity": "visitor", "entity_id": id, "op": "insert",
            "fields": { "name": format!("某{seq}"), "hall_code": "140521" },
            "hlc": hlc, "changed_at": "2026-12-01T10:00:00+08:00" })
    };
    let now_hlc = xinfang_sync::hlc::now().0;
    let (s, r) = server.post_json(
        "/v1/sync/push",
        Some(&token),
        &json!({ "changes": [visitor(1, "s-forged", i64::MAX), visitor(2, "s-good", now_hlc)] }),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["accepted"].as_u64(), r["server_max_seq"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(r["set_aside"][0]["seq"], 1, "{r}");
    assert_eq!(r["set_aside"][0]["code"], "clock_ahead", "{r}");
    assert!(
        r["set_aside"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("时间")
    );
    // The device's stream goes on after it.
    let (s, r) = server.post_json(
        "/v1/sync/push",
        Some(&token),
        &json!({ "changes": [visitor(3, "s-later", now_hlc + 1)] }),
    );
    assert_eq!((s, r["accepted"].as_u64()), (200, Some(1)), "{r}");
    // The administrator sees it, over HTTP and on the command line.
    let admin = server.admin_token();
    let (s, q) = server.get("/v1/city/quarantine", Some(&admin));
    assert_eq!((s, q["total"].as_i64()), (200, Some(1)), "{q}");
    assert_eq!(q["changes"][0]["entity_id"], "s-forged");
    let (s, _) = server.get("/v1/city/quarantine", Some(&token));
    assert_eq!(s, 403);
    let listed = server.admin(&["quarantine"]);
    assert!(
        listed.contains("s-forged") && listed.contains("时间"),
        "{listed}"
    );

    // A correct desk syncs, registers, and its clock stays its own.
    sync(a.path(), &[]);
    cli_visit(a.path(), 2, &[]);
    let report = sync(a.path(), &[]);
    assert!(report["clock_error"].is_null(), "{report}");
    let conn = common::desk_conn(a.path(), "clerk", PASSWORD);
    let max_hlc: i64 = conn
        .query_row(
            "SELECT max(h) FROM (SELECT max(hlc) h FROM change_log
               UNION ALL SELECT max(hlc) FROM sync_remote_log)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let bound = xinfang_sync::hlc::drift_bound(xinfang_sync::hlc::wall_ms()).0;
    assert!(
        max_hlc <= bound,
        "a future timestamp reached the correct desk"
    );
    let pulled: Vec<String> = conn
        .prepare("SELECT entity_id FROM sync_remote_log WHERE entity = 'visitor' ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(pulled.contains(&"s-good".to_owned()) && pulled.contains(&"s-later".to_owned()));
    assert!(!pulled.contains(&"s-forged".to_owned()));

    // The desk's clock is set right: its changes (stamped in the future) are re-stamped and go
    // up, and the other desk gets them.
    let report = sync(b.path(), &[]);
    assert!(report["clock_error"].is_null(), "{report}");
    assert_eq!(report["pending"], 0, "{report}");
    assert!(
        report["set_aside"].as_array().unwrap().is_empty(),
        "{report}"
    );
    sync(a.path(), &[]);
    assert_eq!(appeals(a.path()), expected([1, 2]));
    assert_eq!(city_appeals(&server), expected([1, 2]));
}
}

// A desk that already holds a poisoned timestamp (pulled from an older server, before the
// bound): registering afterwards must not panic, and its clock is pulled back.
#[test]
fn a_poisoned_timestamp_already_on_a_desk_is_clamped_and_nothing_panics() {
    let mut desk = Desk::new("140521", 3);
    let mut store = desk.open();
    let mut change = store.local_changes(0, 1).unwrap().remove(0);
    change.entity_id = "someone-else".into();
    change.fields.insert("username".into(), json!("forged_max"));
    change.hlc = xinfang_sync::Hlc(i64::MAX);
    change.seq = 1;
    let remote = RemoteChange {
        device_id: "01900000-0000-7000-8000-0000000000aa".into(),
        server_seq: 1,
        change,
    };
    let cursors = [(remote.device_id.clone(), 1)].into_iter().collect();
    store.apply_remote(&[remote], &cursors).unwrap();
    drop(store);
    desk.register_new(2);
    let store = desk.open();
    let bound = xinfang_sync::hlc::drift_bound(xinfang_sync::hlc::wall_ms()).0;
    let newest = store.local_changes(0, 1000).unwrap();
    assert!(newest.iter().all(|c| c.hlc.0 <= bound));
    let clock: i64 = desk
        .db()
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM sync_state WHERE key = 'clock'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(clock <= bound);
}

// Case 6: a change of this desk that the city refuses (here: another hall's device took the
// record's id first) is set aside; the desk's later changes flow, and the report says so.
common::both_backends! {
fn one_refused_change_does_not_block_the_devices_stream() {
    let server = Server::start();
    let mut a = Desk::new("140521", 4);
    let other_hall = Desk::new("140525", 6);
    a.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    other_hall
        .enrol(&server.url, &server.enrol_code("140525"))
        .unwrap();
    other_hall.sync().unwrap();
    a.register_new(1);
    let visitor_id: String = a
        .db()
        .query_row("SELECT id FROM visitors", [], |r| r.get(0))
        .unwrap();
    // The other hall's device writes a record under that id first.
    let token = other_hall.open().sync_settings().unwrap().unwrap().token;
    let (s, r) = server.post_json(
        "/v1/sync/push",
        Some(token.expose()),
        &json!({ "changes": [{ "seq": 3, "entity": "visitor", "entity_id": visitor_id,
            "op": "insert", "fields": { "name": "占位" }, "hlc": xinfang_sync::hlc::now().0,
            "changed_at": "" }] }),
    );
    assert_eq!((s, r["accepted"].as_u64()), (200, Some(1)), "{r}");
    a.register_new(2);
    let report = a.sync().unwrap();
    assert_eq!(report.pending, 0);
    assert_eq!(report.set_aside.len(), 1, "{report:?}");
    assert_eq!(report.set_aside[0].entity, "visitor");
    assert_eq!(report.set_aside[0].code, "hall_forbidden");
    assert!(report.warning().unwrap().contains("暂存"));
    let city_visits =
        server.int("SELECT count(*) FROM records WHERE entity = 'visit' AND hall_code = '140521'");
    assert_eq!(city_visits, 3);
}
}

// A push the server refuses outright (a malformed change: only a broken build writes one)
// stops the push there, but the pull still brings the hall's news (it used to be skipped).
common::both_backends! {
fn a_refused_push_does_not_skip_the_pull() {
    let server = Server::start();
    let mut a = Desk::new("140521", 11);
    let mut b = Desk::new("140521", 12);
    for d in [&a, &b] {
        d.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    }
    // A's first sync (an empty snapshot): B's changes below come to A by the pull.
    a.sync().unwrap();
    b.register_new(2);
    b.sync().unwrap();
    a.register_new(1);
    // A damaged log (a number missing after the visit's changes): the server refuses the batch
    // as a whole (its numbers do not follow each other).
    desk_raw(&a)
        .execute(
            "INSERT INTO change_log(seq, entity, entity_id, op, fields, changed_at, hlc)
             SELECT max(seq) + 5, 'visit_note', 'x', 'insert', '{\"a\":1}', '', 1 FROM change_log",
            [],
        )
        .unwrap();
    let report = a.sync().unwrap();
    assert!(
        report.push_error.as_deref().unwrap().contains("连续"),
        "{report:?}"
    );
    assert_eq!(
        report.pulled,
        // All of B's changes, numbered from 1 (B's log is compacted once the city has them).
        b.open().last_local_seq().unwrap() as u64
    );
    assert_eq!(a.count("visits"), 3);
    assert!(report.pending >= 1);
    let status = xinfang_sync::client::sync_status(&mut a.open());
    assert!(status.online);
    assert!(status.last_error.unwrap().contains("未能上传"));
}
}

common::both_backends! {
/// A malformed change in a desk's log (a broken build wrote it) is set aside by the server and
/// reported; the desk's later changes reach the city and the other desks.
fn a_malformed_change_is_set_aside_and_the_desks_later_changes_flow() {
    let server = Server::start();
    let mut a = Desk::new("140521", 13);
    let b = Desk::new("140521", 14);
    for d in [&a, &b] {
        d.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    }
    a.register_new(1);
    desk_raw(&a)
        .execute(
            "INSERT INTO change_log(entity, entity_id, op, fields, changed_at, hlc)
             VALUES ('Bad Entity', 'x', 'insert', '{\"a\":1}', '', 1)",
            [],
        )
        .unwrap();
    a.register_new(2);
    let report = a.sync().unwrap();
    assert_eq!(report.push_error, None, "{report:?}");
    assert_eq!(report.pending, 0);
    let codes: Vec<&str> = report.set_aside.iter().map(|s| s.code.as_str()).collect();
    assert_eq!(codes, ["entity_invalid"]);
    b.sync().unwrap();
    assert_eq!(
        b.count("visits"),
        3,
        "the visits after the bad change flowed"
    );
    let (_, q) = server.get("/v1/city/quarantine", Some(&server.admin_token()));
    assert_eq!(q["total"], 1, "{q}");
}
}

fn desk_raw(d: &Desk) -> rusqlite::Connection {
    rusqlite::Connection::open(d.dir.path().join(xinfang_store::DB_FILE)).unwrap()
}

// Versions: every request carries the protocol version; a desk older than the server's minimum
// is told to upgrade (426, 请升级), as is this build against a server that wants a newer one.
common::both_backends! {
fn desks_older_than_the_servers_minimum_are_told_to_upgrade() {
    let server = Server::start();
    let desk = Desk::new("140521", 7);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    let token = desk.open().sync_settings().unwrap().unwrap().token;
    // A request without the header is protocol 1, older than this server's minimum.
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/v1/sync/state", server.url))
        .bearer_auth(token.expose())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 426);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["code"], "upgrade_required");
    assert!(body["message"].as_str().unwrap().contains("请升级"));
    // With it, the state says the minimum and the server's time.
    let (s, state) = server.get("/v1/sync/state", Some(token.expose()));
    assert_eq!(s, 200);
    assert_eq!(
        state["min_protocol"].as_u64(),
        Some(u64::from(xinfang_sync::wire::PROTOCOL_VERSION))
    );
    let skew = state["server_time_ms"].as_i64().unwrap() - xinfang_sync::hlc::wall_ms();
    assert!(skew.abs() < 60_000);
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/v1/sync/state", server.url))
        .bearer_auth(token.expose())
        .header(PROTOCOL_HEADER, "1")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 426);

    // A server that wants a newer protocol than this build's: the desk says 请升级.
    let newer = Server::start_with(&["--min-protocol", "99"]);
    let mut late = Desk::new("140521", 8);
    let code = newer.enrol_code("140521");
    let e = late.enrol(&newer.url, &code).unwrap_err();
    assert!(e.is_upgrade_required());
    assert!(e.to_string().contains("请升级"), "{e}");
    late.register_new(1);
}
}

// Versions: fields a newer desk writes that this desk has no column for are kept, and applied
// once an upgrade adds the column.
common::both_backends! {
fn fields_this_desk_does_not_know_are_kept_and_applied_after_its_upgrade() {
    let server = Server::start();
    let mut newer = Desk::new("140521", 9);
    let older = Desk::new("140521", 10);
    for d in [&newer, &older] {
        d.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    }
    newer.register_new(1);
    // The newer desk's visitor insert carries a field this build has no column for.
    let store = newer.open();
    let token = store.sync_settings().unwrap().unwrap().token;
    let mut changes = store.local_changes(0, 100).unwrap();
    let visitor = changes.iter_mut().find(|c| c.entity == "visitor").unwrap();
    visitor.fields.insert("wechat_id".into(), json!("wx_lisi"));
    let id = visitor.entity_id.clone();
    let (s, r) = server.post_json(
        "/v1/sync/push",
        Some(token.expose()),
        &json!({ "changes": changes }),
    );
    assert_eq!(s, 200, "{r}");
    older.sync().unwrap();
    assert_eq!(older.count("visitors"), 1);
    // Only that change is kept partly applied: every field of this build has its column.
    let partly: i64 = older
        .db()
        .query_row(
            "SELECT count(*) FROM sync_remote_log WHERE applied = 3",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(partly, 1);
    // The upgrade: a migration adds the column. At the next open the kept value lands.
    desk_raw(&older)
        .execute("ALTER TABLE visitors ADD COLUMN wechat_id TEXT", [])
        .unwrap();
    drop(older.open());
    let value: Option<String> = older
        .db()
        .query_row("SELECT wechat_id FROM visitors WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(value.as_deref(), Some("wx_lisi"));
    assert_eq!(older.open().unapplied_remote_changes().unwrap(), 0);
    assert!(older.open().verify().unwrap().ok());
}
}

// Found by the simulation: what a restored desk takes back may depend on changes of other
// desks it has not pulled again yet (its cursors were restored too), and other desks' changes
// may depend on what it takes back. Both come back in the order they reached the server.
common::both_backends! {
fn a_restored_desk_takes_back_changes_that_depend_on_other_desks_and_vice_versa() {
    let server = Server::start();
    let mut a = Desk::new("140521", 13);
    let mut b = Desk::new("140521", 14);
    for d in [&a, &b] {
        d.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    }
    let saved = a.dir.path().join("saved.db");
    a.open().backup(&saved).unwrap();
    // B registers a person; A pulls them and registers a return visit (depends on B's).
    let person = a.resident_id();
    b.register_returning(&person);
    b.sync().unwrap();
    a.sync().unwrap();
    a.register_returning(&person);
    // A registers a new person; B pulls them and registers a return visit (depends on A's).
    let other = a.resident_id();
    a.register_returning(&other);
    a.sync().unwrap();
    b.sync().unwrap();
    b.register_returning(&other);
    b.sync().unwrap();
    // A is restored to before all of it.
    let db = a.dir.path().join(xinfang_store::DB_FILE);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(&saved, &db).unwrap();
    let r = a.sync().unwrap();
    assert!(r.recovered > 0);
    assert_eq!(a.snapshot(), b.snapshot());
    assert_eq!(a.count("visits"), 4);
    assert!(a.open().verify().unwrap().ok());
}
}

common::both_backends! {
/// A desk's data dir copied to another place (another computer, or another directory) carries
/// the desk's identity along: the copy does not sync, with a Chinese reason, while the
/// original goes on; after an administrator confirms the copy took over (`adopt`), it syncs,
/// and what it registered meanwhile reaches the other desks.
fn a_copied_store_does_not_sync_as_the_original_until_it_is_adopted() {
    use xinfang_sync::client::{SyncError, sync_once};
    let server = Server::start();
    let mut a = Desk::new("140521", 21);
    let b = Desk::new("140521", 22);
    for d in [&a, &b] {
        d.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    }
    a.register_new(1);
    a.sync().unwrap();
    let copy = tempfile::TempDir::new().unwrap();
    for entry in std::fs::read_dir(a.dir.path()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
        }
    }
    let mut copied = xinfang_store::Store::open_unencrypted(copy.path()).unwrap();
    let err = sync_once(&mut copied).unwrap_err();
    assert!(matches!(err, SyncError::Moved), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("复制") && message.contains("由本机接替"),
        "{message}"
    );
    assert!(
        !message.contains(copy.path().to_str().unwrap()),
        "no paths on screen"
    );
    // The original is where it was enrolled: it syncs as before.
    a.register_new(1);
    a.sync().unwrap();
    // The old computer goes out of use; an administrator confirms the copy.
    copied.adopt_this_copy().unwrap();
    drop(copied);
    let copied_desk_visits = {
        let mut s = xinfang_store::Store::open_unencrypted(copy.path()).unwrap();
        let report = sync_once(&mut s).unwrap();
        assert_eq!(report.push_error, None, "{report:?}");
        s.last_local_seq().unwrap()
    };
    assert!(copied_desk_visits > 0);
    b.sync().unwrap();
    assert_eq!(
        b.count("visits"),
        2,
        "both visits of the original reached desk B"
    );
}
}
