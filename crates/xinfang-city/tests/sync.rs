//! Desks and the city server over real HTTP on loopback: the real `xinfang-city` binary, desks as
//! real data dirs (through the store API and the real `xinfang` CLI).

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use common::{Desk, FaultyProxy, Server, last_word, xinfang_bin};
use serde_json::{Value, json};
use xinfang_sync::client::SyncError;

const PASSWORD: &str = "correct horse battery";

/// Runs the real desk CLI on `dir` with `--json`; returns (exit code, parsed stdout).
fn cli(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut cmd = Command::new(xinfang_bin());
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("XINFANG_PASSWORD", PASSWORD)
        .env("XINFANG_NEW_PASSWORD", PASSWORD)
        .env("XINFANG_LOG", "warn")
        .env_remove("XINFANG_SERVER_URL")
        // The desk is encrypted: every command, sync and enrol too, unlocks it with a login.
        .env("XINFANG_USER", "admin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or(Value::String(stdout.into_owned()));
    (out.status.code().unwrap_or(-1), value)
}

/// A desk made entirely with the CLI: init, a clerk account.
fn cli_desk(hall: &str, env: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    let (code, out) = cli(
        dir.path(),
        &["init", "--hall", hall, "--admin", "admin"],
        env,
    );
    assert_eq!(code, 0, "{out}");
    let mut env2 = env.to_vec();
    env2.push(("XINFANG_USER", "admin"));
    let (code, out) = cli(
        dir.path(),
        &[
            "staff",
            "add",
            "--username",
            "clerk",
            "--name",
            "王接待",
            "--role",
            "clerk",
        ],
        &env2,
    );
    assert_eq!(code, 0, "{out}");
    dir
}

fn cli_visit(
    dir: &std::path::Path,
    name: &str,
    id_number: &str,
    phone: &str,
    env: &[(&str, &str)],
) -> Value {
    let file = dir.join(format!("visit-{id_number}-{phone}.json"));
    std::fs::write(
        &file,
        json!({
            "visited_at": "",
            "visitors": [{ "name": name, "id_number": id_number, "phone": phone }],
            "head_count": 1,
            "representatives": [],
            "appeal": "拖欠工资，请求协调支付。",
            "appeal_kind": "claim",
            "category": "劳动和社会保障",
            "agency": "县人社局",
            "place_code": "140521"
        })
        .to_string(),
    )
    .unwrap();
    let mut env2 = env.to_vec();
    env2.push(("XINFANG_USER", "clerk"));
    let (code, out) = cli(
        dir,
        &["visit", "add", "--file", file.to_str().unwrap()],
        &env2,
    );
    assert_eq!(code, 0, "{out}");
    out
}

fn resident_id(body17: &str) -> String {
    format!(
        "{body17}{}",
        xinfang_core::id::resident_id_check_char(body17).unwrap()
    )
}

fn snapshot_of(dir: &std::path::Path) -> std::collections::BTreeMap<&'static str, Vec<String>> {
    common::snapshot(&common::desk_conn(dir, "clerk", PASSWORD))
}

common::both_backends! {
fn desks_of_a_hall_share_records_other_halls_see_none_and_the_city_counts_all() {
    let server = Server::start();
    let a = cli_desk("140521", &[]);
    let b = cli_desk("140521", &[]);
    let c = cli_desk("140525", &[]);

    // Not enrolled yet: a clear error.
    let (code, out) = cli(a.path(), &["sync"], &[]);
    assert_eq!(code, 1);
    assert_eq!(out["errors"][0]["code"], "not_enrolled", "{out}");

    // A code of another hall is refused, and does not get used up.
    let code_525 = server.enrol_code("140525");
    let (code, out) = cli(
        a.path(),
        &["enrol", "--server", &server.url, "--code", &code_525],
        &[],
    );
    assert_eq!(code, 1);
    assert_eq!(out["errors"][0]["code"], "hall_mismatch", "{out}");
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("本大厅的登记码")
    );
    let (code, out) = cli(
        c.path(),
        &["enrol", "--server", &server.url, "--code", &code_525],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["hall_name"], "泽州县");
    for d in [&a, &b] {
        let code = server.enrol_code("140521");
        let (rc, out) = cli(
            d.path(),
            &["enrol", "--server", &server.url, "--code", &code],
            &[],
        );
        assert_eq!(rc, 0, "{out}");
    }

    // Offline work on each desk.
    cli_visit(
        a.path(),
        "张三",
        &resident_id("14052119800101001"),
        "13800000001",
        &[],
    );
    cli_visit(
        a.path(),
        "李四",
        &resident_id("14052119810202002"),
        "13800000002",
        &[],
    );
    cli_visit(
        b.path(),
        "王五",
        &resident_id("14052119820303003"),
        "13800000003",
        &[],
    );
    cli_visit(
        c.path(),
        "赵六",
        &resident_id("14052519830404004"),
        "13800000004",
        &[],
    );

    let (rc, out) = cli(a.path(), &["sync"], &[]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(out["pending"], 0);
    assert!(out["pushed"].as_u64().unwrap() >= 8, "{out}");
    assert_eq!(out["pulled"], 0);
    assert!(out["server_cursor"].as_i64().unwrap() > 0);
    // B's first sync: the hall's records as a snapshot (docs/sync.md "Snapshot").
    let (rc, out) = cli(b.path(), &["sync"], &[]);
    assert_eq!(rc, 0, "{out}");
    assert!(out["snapshot"].as_u64().unwrap() >= 8, "{out}");
    let (rc, _) = cli(c.path(), &["sync"], &[]);
    assert_eq!(rc, 0);
    let (rc, out) = cli(a.path(), &["sync"], &[]);
    assert_eq!(rc, 0);
    assert!(out["pulled"].as_u64().unwrap() >= 4, "{out}");
    // Nothing new: a second sync moves nothing.
    let (rc, out) = cli(a.path(), &["sync"], &[]);
    assert_eq!(
        (rc, out["pushed"].as_u64(), out["pulled"].as_u64()),
        (0, Some(0), Some(0))
    );

    let (sa, sb, sc) = (
        snapshot_of(a.path()),
        snapshot_of(b.path()),
        snapshot_of(c.path()),
    );
    assert_eq!(sa, sb, "the two desks of 140521 hold the same records");
    assert_eq!(sa["visits"].len(), 3);
    assert_eq!(sc["visits"].len(), 1);
    let names_c: String = sc["visitors"].join("\n");
    assert!(names_c.contains("赵六") && !names_c.contains("张三") && !names_c.contains("王五"));
    let names_a: String = sa["visitors"].join("\n");
    assert!(!names_a.contains("赵六"));

    // Search finds a pulled visitor on the other desk (the index is maintained).
    let (rc, out) = cli(b.path(), &["search", "张三"], &[("XINFANG_USER", "clerk")]);
    assert_eq!(rc, 0);
    assert_eq!(out["visitors"].as_array().unwrap().len(), 1, "{out}");
    // verify knows pulled records are not missing change-log rows.
    let (rc, out) = cli(b.path(), &["verify"], &[("XINFANG_USER", "admin")]);
    assert_eq!(rc, 0, "{out}");

    // The city view counts all of them.
    let token = server.admin_token();
    let (status, counts) = server.get("/v1/city/halls", Some(&token));
    assert_eq!(status, 200);
    assert_eq!(counts["total_visits"], 4);
    assert_eq!(counts["total_visitors"], 4);
    let hall = |code: &str| {
        counts["halls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["hall_code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(hall("140521")["visits"], 3);
    assert_eq!(hall("140521")["devices"], 2);
    assert_eq!(hall("140525")["visits"], 1);
    assert_eq!(hall("140581")["visits"], 0);
}
}

common::both_backends! {
fn the_city_finds_repeat_visits_across_halls_by_resident_id() {
    let server = Server::start();
    let mut a = Desk::new("140521", 1);
    let mut c = Desk::new("140525", 2);
    a.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    c.enrol(&server.url, &server.enrol_code("140525")).unwrap();
    let person = resident_id("14052119700101005");
    a.register_returning(&person);
    a.register_returning(&person);
    c.register_returning(&person);
    c.register_new(3);
    a.sync().unwrap();
    c.sync().unwrap();
    let token = server.admin_token();
    let (status, body) = server.get(
        &format!("/v1/city/repeat-visits?id_number={}", person.to_lowercase()),
        Some(&token),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["halls"], json!(["140521", "140525"]));
    assert_eq!(body["visits"].as_array().unwrap().len(), 3);
    // A desk's token may not use the city view; no token is 401.
    let desk_token = a.open().sync_settings_token();
    assert_eq!(server.get("/v1/city/halls", Some(&desk_token)).0, 403);
    assert_eq!(server.get("/v1/city/halls", None).0, 401);
    let (status, _) = server.get("/v1/city/repeat-visits?id_number=123", Some(&token));
    assert_eq!(status, 422);
}
}

/// Reads a desk's token for raw HTTP tests.
trait TokenOf {
    fn sync_settings_token(&self) -> String;
}

impl TokenOf for xinfang_store::Store {
    fn sync_settings_token(&self) -> String {
        use xinfang_sync::DeskReplica;
        self.sync_settings()
            .unwrap()
            .unwrap()
            .token
            .expose()
            .to_owned()
    }
}

common::both_backends! {
fn cut_connections_at_random_bytes_lose_and_double_nothing() {
    let server = Server::start();
    let mut desks = vec![
        Desk::new("140521", 11),
        Desk::new("140521", 12),
        Desk::new("140525", 13),
    ];
    for d in &desks {
        d.enrol(&server.url, &server.enrol_code(&d.hall)).unwrap();
    }
    let proxy = FaultyProxy::start(server.addr, 0.6, 3_000, 42);
    for d in &desks {
        d.set_server(&proxy.url);
    }
    let mut shared_ids: Vec<String> = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for attempt in 0..210usize {
        let i = attempt % desks.len();
        let d = &mut desks[i];
        match attempt % 5 {
            0 => d.register_new(2),
            1 => d.register_new(1),
            2 if d.hall == "140521" => {
                // Update a visitor another desk may also be updating: field-level LWW.
                if let Some(id) = shared_ids.get(attempt % shared_ids.len().max(1)).cloned() {
                    d.register_returning(&id);
                } else {
                    let id = d.resident_id();
                    d.register_returning(&id);
                    shared_ids.push(id);
                }
            }
            _ => {}
        }
        match d.sync() {
            Ok(_) => ok += 1,
            Err(SyncError::Offline(..) | SyncError::Protocol(_)) => failed += 1,
            Err(e) => panic!("unexpected sync error: {e} ({e:?})"),
        }
    }
    eprintln!(
        "{ok} syncs finished, {failed} cut; proxy saw {} connections, cut {}",
        proxy.connections.load(std::sync::atomic::Ordering::Relaxed),
        proxy.cuts.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(
        failed > 20,
        "the proxy should cut many syncs (cut {failed})"
    );
    // Final clean syncs, straight to the server: twice round so everyone has everything.
    for _ in 0..2 {
        for d in &desks {
            d.set_server(&server.url);
            let r = d.sync().unwrap();
            assert_eq!(r.pending, 0);
        }
    }
    let (a, b, c) = (
        desks[0].snapshot(),
        desks[1].snapshot(),
        desks[2].snapshot(),
    );
    assert_eq!(a, b, "the two desks of 140521 converge");
    // None lost: every visit either desk registered is there, once.
    assert_eq!(a["visits"].len(), desks[0].registered + desks[1].registered);
    assert_eq!(c["visits"].len(), desks[2].registered);
    let a_ids: BTreeSet<&str> = a["visits"]
        .iter()
        .map(|r| &r[..r.find('|').unwrap()])
        .collect();
    assert!(
        c["visits"]
            .iter()
            .all(|r| !a_ids.contains(&r[..r.find('|').unwrap()]))
    );
    // None doubled: the server stored each desk change exactly once.
    for d in &desks {
        // Its last number: the log itself is compacted as the city confirms it.
        let local: i64 = xinfang_sync::DeskReplica::last_local_seq(&d.open()).unwrap();
        let id = d.device_id();
        assert_eq!(
            server.rows(&format!(
                "SELECT count(*), count(DISTINCT seq) FROM changes WHERE device_id = '{id}'"
            )),
            [format!("{local}|{local}")]
        );
    }
    // The server's own tables agree with the desks.
    let server_visits = server
        .int("SELECT count(*) FROM records WHERE entity = 'visit' AND hall_code = '140521'");
    assert_eq!(server_visits as usize, a["visits"].len());
    // Phones merged by LWW: the server's value of each visitor equals the desks'.
    let phone = match common::backend() {
        common::Backend::Sqlite => "json_extract(data, '$.phone')",
        common::Backend::Postgres => "data->>'phone'",
    };
    let server_phones: BTreeSet<String> = server
        .rows(&format!(
            "SELECT entity_id, {phone} FROM records WHERE entity = 'visitor' AND hall_code = '140521'"
        ))
        .into_iter()
        .collect();
    let desk_phones: BTreeSet<String> = desks[0]
        .db()
        .prepare("SELECT id, phone FROM visitors")
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(server_phones, desk_phones);
}
}

common::both_backends! {
fn kill_9_of_the_server_mid_push_loses_and_doubles_nothing() {
    let mut server = Server::start();
    let mut desk = Desk::new("140521", 21);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    desk.register_bulk(2000); // about 8,000 changes: several push batches
    let total: i64 = desk.count("change_log");
    let dir = desk.dir.path().to_owned();
    let syncing = std::thread::spawn(move || {
        let mut store = xinfang_store::Store::open_unencrypted(&dir).unwrap();
        xinfang_sync::client::sync_once(&mut store)
    });
    // Wait until the server has stored part of the push, then kill it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = server.int("SELECT count(*) FROM changes");
        if n > 0 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    let first = syncing.join().unwrap();
    let stored = server.int("SELECT count(*) FROM changes");
    eprintln!(
        "killed with {stored} of {total} changes stored; first sync: {:?}",
        first.as_ref().map(|r| r.pushed)
    );
    assert!(first.is_err() || stored == total);
    server.restart();
    let r = desk.sync().unwrap();
    assert_eq!(r.pending, 0);
    assert_eq!(
        r.pushed as i64 + stored,
        total,
        "the second sync pushes exactly the rest"
    );
    assert_eq!(
        server.rows("SELECT count(*), count(DISTINCT seq), max(seq) FROM changes"),
        [format!("{total}|{total}|{total}")]
    );
    let visits = server.int("SELECT count(*) FROM records WHERE entity = 'visit'");
    assert_eq!(visits, 2000);
}
}

common::both_backends! {
fn the_same_batch_pushed_twice_changes_nothing_and_gaps_are_refused() {
    let server = Server::start();
    let mut desk = Desk::new("140521", 31);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    desk.register_new(3);
    let store = desk.open();
    let token = store.sync_settings_token();
    use xinfang_sync::DeskReplica;
    let changes = store.local_changes(0, 100).unwrap();
    let body = json!({ "changes": changes });
    let (s1, r1) = server.post_json("/v1/sync/push", Some(&token), &body);
    assert_eq!(s1, 200, "{r1}");
    assert_eq!(r1["accepted"], changes.len());
    let records_before: Vec<String> = server.rows("SELECT entity || entity_id || data || versions FROM records ORDER BY 1");
    let (s2, r2) = server.post_json("/v1/sync/push", Some(&token), &body);
    assert_eq!(s2, 200);
    assert_eq!(
        (r2["accepted"].as_u64(), r2["duplicates"].as_u64()),
        (Some(0), Some(changes.len() as u64))
    );
    let records_after: Vec<String> = server.rows("SELECT entity || entity_id || data || versions FROM records ORDER BY 1");
    assert_eq!(records_before, records_after);
    // A batch that skips ahead is refused with 409: nothing a reader could skip.
    let mut later = changes[0].clone();
    later.seq = 1000;
    let (s3, r3) = server.post_json(
        "/v1/sync/push",
        Some(&token),
        &json!({ "changes": [later] }),
    );
    assert_eq!((s3, r3["code"].as_str()), (409, Some("seq_gap")));
    // The same sequence with other content (a desk restored from an old backup) is refused.
    let mut other = changes[0].clone();
    other.entity_id = "0190aaaa-0000-7000-8000-000000000000".into();
    let (s4, r4) = server.post_json(
        "/v1/sync/push",
        Some(&token),
        &json!({ "changes": [other] }),
    );
    assert_eq!((s4, r4["code"].as_str()), (409, Some("seq_conflict")));
    // The client then syncs normally.
    let r = desk.sync().unwrap();
    assert_eq!((r.pushed, r.pending), (0, 0));
}
}

common::both_backends! {
fn a_desk_whose_clock_is_a_day_behind_still_wins_with_its_later_edit() {
    let server = Server::start();
    let slow = [("XINFANG_CLOCK_SKEW_SECS", "-86400")];
    let a = cli_desk("140521", &[]);
    let b = cli_desk("140521", &slow);
    for (d, env) in [(&a, &[][..]), (&b, &slow[..])] {
        let code = server.enrol_code("140521");
        let (rc, out) = cli(
            d.path(),
            &["enrol", "--server", &server.url, "--code", &code],
            env,
        );
        assert_eq!(rc, 0, "{out}");
    }
    let person = resident_id("14052119750505006");
    cli_visit(a.path(), "孙七", &person, "13900000001", &[]);
    assert_eq!(cli(a.path(), &["sync"], &[]).0, 0);
    // The slow desk pulls the visitor, then the visitor comes back with a new phone.
    let (rc, out) = cli(b.path(), &["sync"], &slow);
    assert_eq!(rc, 0, "{out}");
    cli_visit(b.path(), "孙七", &person, "13900000002", &slow);
    // The slow desk's own records (made offline, a day "earlier") arrive too.
    cli_visit(
        b.path(),
        "周八",
        &resident_id("14052119760606007"),
        "13900000003",
        &slow,
    );
    assert_eq!(cli(b.path(), &["sync"], &slow).0, 0);
    assert_eq!(cli(a.path(), &["sync"], &[]).0, 0);
    let (sa, sb) = (snapshot_of(a.path()), snapshot_of(b.path()));
    assert_eq!(sa, sb);
    let visitors = sa["visitors"].join("\n");
    assert!(
        visitors.contains("13900000002"),
        "the later edit wins: {visitors}"
    );
    assert!(!visitors.contains("13900000001"));
    assert!(visitors.contains("周八"));
    assert_eq!(sa["visits"].len(), 3);
}
}

common::both_backends! {
fn a_revoked_device_is_refused_with_401() {
    let server = Server::start();
    let mut desk = Desk::new("140521", 41);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    desk.register_new(1);
    desk.sync().unwrap();
    let list = server.admin(&["device", "list"]);
    assert!(list.contains(&desk.device_id()) && list.contains("有效"));
    server.admin(&["device", "revoke", &desk.device_id()]);
    assert!(server.admin(&["device", "list"]).contains("已注销"));
    desk.register_new(1);
    let err = desk.sync().unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(err.to_string().contains("注销"), "{err}");
    // Re-enrolling a revoked device with a fresh code is refused as well.
    let err = desk
        .enrol(&server.url, &server.enrol_code("140521"))
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Server { status: 403, ref code, .. } if code == "device_revoked"),
        "{err:?}"
    );
    // A made-up token is 401 too.
    let (status, body) = server.get("/v1/sync/state", Some("xft_0000"));
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_invalid"))
    );
}
}

common::both_backends! {
fn enrolment_codes_wrong_expired_and_used_are_refused() {
    let server = Server::start();
    let desk = Desk::new("140521", 51);
    let err = desk.enrol(&server.url, "AAAA-BBBB-CCCC").unwrap_err();
    assert!(
        matches!(err, SyncError::Server { status: 403, ref code, .. } if code == "enrol_code_invalid"),
        "{err:?}"
    );
    assert!(err.to_string().contains("登记码不正确"));

    let out = server.admin(&["enrol-code", "--hall", "140521", "--ttl", "1s"]);
    let expired = last_word(&out);
    server.age_enrol_codes(2);
    let err = desk.enrol(&server.url, &expired).unwrap_err();
    assert!(
        matches!(err, SyncError::Server { ref code, .. } if code == "enrol_code_expired"),
        "{err:?}"
    );

    let code = server.enrol_code("140521");
    desk.enrol(&server.url, &code).unwrap();
    let other = Desk::new("140521", 52);
    let err = other.enrol(&server.url, &code).unwrap_err();
    assert!(
        matches!(err, SyncError::Server { ref code, .. } if code == "enrol_code_used"),
        "{err:?}"
    );

    // Plain HTTP to a non-loopback address is refused before any connection.
    let err = other.enrol("http://192.0.2.10:8750", &code).unwrap_err();
    assert!(matches!(err, SyncError::InsecureUrl(_)));
    assert!(err.to_string().contains("https://"));

    // Unknown hall for a code, bad ttl: clear errors from the admin CLI.
    let out = server.run(&["enrol-code", "--hall", "999999"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("没有代码为 999999 的大厅"));
}
}

common::both_backends! {
fn malformed_and_oversized_bodies_get_a_clear_4xx_and_the_server_stays_up() {
    let server = Server::start();
    let desk = Desk::new("140521", 61);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    let token = desk.open().sync_settings_token();
    let t = Some(token.as_str());
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("/v1/sync/push", "application/json", b"{\"changes\": [".to_vec(), 400, "json_syntax"),
        ("/v1/sync/push", "application/json", b"\xff\xfe\x00garbage".to_vec(), 400, "json_syntax"),
        ("/v1/sync/push", "text/plain", b"{}".to_vec(), 415, "content_type"),
        ("/v1/sync/push", "application/json", b"{\"changes\": 5}".to_vec(), 422, "json_shape"),
        ("/v1/sync/push", "application/json", br#"{"changes":[{"seq":1,"entity":"visit","entity_id":"x","op":"explode","fields":{},"hlc":1,"changed_at":""}]}"#.to_vec(), 422, "json_shape"),
        ("/v1/sync/pull", "application/json", br#"{"cursors":{"x":-5}}"#.to_vec(), 422, "cursors_invalid"),
        ("/v1/enrol", "application/json", br#"{"code":"x","device_id":"../../etc","hall_code":"140521"}"#.to_vec(), 422, "device_id_invalid"),
        ("/v1/sync/push", "application/json", vec![b' '; 17 * 1024 * 1024], 413, "body_too_large"),
    ];
    for (path, ct, body, want, code) in cases {
        let (status, resp) = server.post_raw(path, t, ct, body);
        assert_eq!(status, want, "{path} {code}: {resp}");
        assert_eq!(resp["code"], code, "{resp}");
        assert!(!resp["message"].as_str().unwrap_or_default().is_empty());
        assert!(server.healthy());
    }
    // Too many changes in one batch.
    let many: Vec<Value> = (1..=2001)
        .map(|i| json!({"seq": i, "entity": "visit", "entity_id": format!("v{i}"), "op": "insert", "fields": {"a": 1}, "hlc": 1, "changed_at": ""}))
        .collect();
    let (status, resp) = server.post_json("/v1/sync/push", t, &json!({ "changes": many }));
    assert_eq!(
        (status, resp["code"].as_str()),
        (413, Some("batch_too_large"))
    );
    // Unknown paths answer 404 in JSON.
    assert_eq!(server.get("/v1/nope", t).0, 404);
    assert!(server.healthy());
}
}

common::both_backends! {
fn a_malformed_change_is_set_aside_and_the_devices_later_changes_flow() {
    let server = Server::start();
    let desk = Desk::new("140521", 62);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    desk.sync().unwrap();
    let token = desk.open().sync_settings_token();
    let t = Some(token.as_str());
    let next: i64 = server.get("/v1/sync/state", t).1["server_max_seq"]
        .as_i64()
        .unwrap()
        + 1;
    // Bad content in changes with good sequence numbers: each is set aside (its number taken),
    // none refuses the batch, and a good change after them in the same batch is applied.
    let bad = |seq: i64, entity: &str, id: &str, fields: Value, hlc: i64| {
        json!({ "seq": seq, "entity": entity, "entity_id": id, "op": "update",
                "fields": fields, "hlc": hlc, "changed_at": "" })
    };
    let batch = json!({ "changes": [
        bad(next, "Robert'); DROP TABLE changes;--", "x", json!({"a": 1}), 1),
        bad(next + 1, "visit", "x\u{1b}[2J", json!({"a": 1}), 1),
        bad(next + 2, "visit", "x", json!({"Bad Name": 1}), 1),
        bad(next + 3, "visit", "x", json!({}), 1),
        bad(next + 4, "visit", "x", json!({"a": 1}), 0),
    ]});
    let (s, r) = server.post_json("/v1/sync/push", t, &batch);
    assert_eq!(s, 200, "{r}");
    let codes: Vec<&str> = r["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "entity_invalid",
            "entity_id_invalid",
            "fields_invalid",
            "fields_empty",
            "hlc_invalid"
        ]
    );
    assert_eq!(r["server_max_seq"], next + 4);
    // The same batch again is a duplicate, not a conflict.
    let (s, r) = server.post_json("/v1/sync/push", t, &batch);
    assert_eq!((s, r["duplicates"].as_i64()), (200, Some(5)), "{r}");
    // The device's next change flows.
    let (s, r) = server.post_json(
        "/v1/sync/push",
        t,
        &json!({ "changes": [bad(next + 5, "visit_note", "n-1", json!({"text": "好"}), 1)] }),
    );
    assert_eq!(
        (s, r["server_max_seq"].as_i64()),
        (200, Some(next + 5)),
        "{r}"
    );
    // The administrator sees the five, and the terminal gets no raw control character.
    let quarantine = server
        .get("/v1/city/quarantine", Some(&server.admin_token()))
        .1;
    assert_eq!(quarantine["total"], 5, "{quarantine}");
    let listed = server.admin(&["quarantine"]);
    assert!(listed.contains("共 5 条变更被暂存待查"), "{listed}");
    assert!(!listed.contains('\u{1b}'), "{listed}");
    assert!(listed.contains("x\\u{1b}[2J"), "{listed}");
}
}

common::both_backends! {
fn another_halls_data_is_forbidden() {
    let server = Server::start();
    let mut a = Desk::new("140521", 71);
    let c = Desk::new("140525", 72);
    a.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    c.enrol(&server.url, &server.enrol_code("140525")).unwrap();
    a.register_new(1);
    a.sync().unwrap();
    let token_c = c.open().sync_settings_token();
    let t = Some(token_c.as_str());
    // Asking for hall 140521 by name, or for a 140521 device's changes by cursor.
    let (s, r) = server.post_json("/v1/sync/pull", t, &json!({ "hall_code": "140521" }));
    assert_eq!((s, r["code"].as_str()), (403, Some("hall_forbidden")));
    let (s, r) = server.post_json(
        "/v1/sync/pull",
        t,
        &json!({ "cursors": { a.device_id(): 0 } }),
    );
    assert_eq!((s, r["code"].as_str()), (403, Some("hall_forbidden")));
    // Writing a record of hall 140521, or a new record claiming to be of 140521.
    let visit_id: String = a
        .db()
        .query_row("SELECT id FROM visits LIMIT 1", [], |r| r.get(0))
        .unwrap();
    // The desk's own first changes (its two staff rows) go up first, so seq 3 is next. A change
    // touching another hall's record is set aside (its seq taken), not applied, and the
    // device's next change still flows.
    c.sync().unwrap();
    let (s, r) = server.post_json(
        "/v1/sync/push",
        t,
        &json!({ "changes": [{ "seq": 3, "entity": "visit", "entity_id": visit_id, "op": "update",
            "fields": { "appeal": "改写" }, "hlc": 1, "changed_at": "" }] }),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["set_aside"][0]["code"], "hall_forbidden", "{r}");
    assert_eq!(
        (r["accepted"].as_u64(), r["server_max_seq"].as_i64()),
        (Some(0), Some(3))
    );
    let (s, r) = server.post_json(
        "/v1/sync/push",
        t,
        &json!({ "changes": [{ "seq": 4, "entity": "visit", "entity_id": "new-visit", "op": "insert",
            "fields": { "hall_code": "140521" }, "hlc": 1, "changed_at": "" }] }),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["set_aside"][0]["code"], "hall_forbidden", "{r}");
    assert_eq!(
        server.int("SELECT count(*) FROM records WHERE entity_id = 'new-visit'"),
        0
    );
    // Nothing of 140521 reached the other hall's desk.
    assert_eq!(c.count("visits"), 0);
    let appeal = server.rows(&format!(
        "SELECT {} FROM records WHERE entity = 'visit' AND entity_id = '{visit_id}'",
        server.json_sql("data", "appeal")
    ))[0]
        .clone();
    assert_ne!(appeal, "改写");
}
}

common::both_backends! {
fn server_admin_commands_and_health() {
    let server = Server::start();
    let halls = server.admin(&["hall", "list"]);
    for (code, name) in [
        ("140500", "晋城市"),
        ("140502", "城区"),
        ("140521", "沁水县"),
        ("140522", "阳城县"),
        ("140524", "陵川县"),
        ("140525", "泽州县"),
        ("140581", "高平市"),
    ] {
        assert!(halls.contains(&format!("{code}\t{name}")), "{halls}");
    }
    server.admin(&["hall", "add", "--code", "140599", "--name", "测试区"]);
    assert!(server.admin(&["hall", "list"]).contains("140599\t测试区"));
    let code = server.enrol_code("140599");
    assert_eq!(code.len(), 14);
    let (status, body) = server.get("/healthz", None);
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    // Without --data-dir nor env: a clear error.
    let out = Command::new(common::CITY_BIN)
        .args(["hall", "list"])
        .env_remove("XINFANG_CITY_DATA_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data-dir"));
}
}

common::both_backends! {
/// Two desks of one hall register the same person while both are offline: after syncing, every
/// replica holds one visitor with both visits, not two people with one ID number.
fn one_person_registered_offline_at_two_desks_is_one_visitor_everywhere() {
    let server = Server::start();
    let mut a = Desk::new("140521", 11);
    let mut b = Desk::new("140521", 12);
    a.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    b.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    let person = resident_id("14052119800202003");
    a.register_returning(&person);
    b.register_returning(&person);
    a.sync().unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    for desk in [&a, &b] {
        let conn = rusqlite::Connection::open_with_flags(
            desk.dir.path().join(xinfang_store::DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let visitors: Vec<String> = conn
            .prepare("SELECT id FROM visitors WHERE id_number = ?1")
            .unwrap()
            .query_map([&person], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(visitors.len(), 1, "one visitor on each desk");
        let visits: i64 = conn
            .query_row(
                "SELECT count(*) FROM visit_visitors WHERE visitor_id = ?1",
                [&visitors[0]],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(visits, 2, "both visits belong to the one visitor");
    }
    assert_eq!(snapshot_of(a.dir.path()), snapshot_of(b.dir.path()));
    let records = server.int("SELECT count(*) FROM records WHERE entity = 'visitor'");
    assert_eq!(records, 1, "the city holds one visitor record");
}
}

common::both_backends! {
/// 事项编号 (issue 20): two desks of a hall, each with the letter the server gave it, open
/// matters offline in one month; after syncing both ways (and on a desk that joins later, from
/// the city's snapshot) every replica holds every matter under the same number, none twice.
fn matter_numbers_made_offline_reach_every_desk_unchanged() {
    let server = Server::start();
    let mut a = Desk::new("140521", 41);
    let mut b = Desk::new("140521", 42);
    a.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    b.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    a.register_new(2);
    b.register_new(3);
    a.sync().unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    let numbers = |d: &Desk| -> Vec<(String, String)> {
        let conn = d.db();
        let mut stmt = conn
            .prepare("SELECT id, shown_number FROM matters ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let on_a = numbers(&a);
    assert_eq!(on_a.len(), 5);
    assert_eq!(numbers(&b), on_a);
    let distinct: BTreeSet<&String> = on_a.iter().map(|(_, n)| n).collect();
    assert_eq!(distinct.len(), 5, "{on_a:?}");
    // Two letters, the months of today, counts from 1 per letter.
    let month = common::now().format("%Y-%m").to_string();
    let mut counts: Vec<String> = on_a
        .iter()
        .map(|(_, n)| {
            n.strip_prefix(&format!("沁水-{month}-"))
                .unwrap_or_else(|| panic!("{n}"))
                .to_owned()
        })
        .collect();
    counts.sort();
    let letter = |c: &str| c.chars().next().unwrap();
    assert_ne!(letter(&counts[0]), letter(&counts[4]), "{counts:?}");
    assert!(counts.iter().all(|c| c[1..].len() == 4 && c.ends_with(['1', '2', '3'])), "{counts:?}");
    // A desk enrolled later takes the hall from the city: the same numbers.
    let c = Desk::new("140521", 43);
    c.enrol(&server.url, &server.enrol_code("140521")).unwrap();
    c.sync().unwrap();
    assert_eq!(numbers(&c), on_a);
}
}
