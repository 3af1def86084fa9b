//! Audit entries sync to the city server, which checks each device's hash chain: real desk stores
//! in temp dirs, the real `xinfang-city` binary on a loopback port, real HTTP.

mod common;

use common::{Desk, Server};
use rusqlite::Connection;
use serde_json::{Value, json};
use xinfang_store::{AuditAction, Store};
use xinfang_sync::DeskReplica;
use xinfang_sync::audit::AuditEntry;
use xinfang_sync::client;

const HALL: &str = "140521";

/// A desk enrolled with `server`.
fn enrolled_desk(server: &Server, seed: u64) -> Desk {
    let desk = Desk::new(HALL, seed);
    desk.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    desk
}

/// Writes `n` audit entries at the desk (full ID numbers shown), as the app does.
fn audit(desk: &Desk, n: usize) {
    let store = desk.open();
    for i in 0..n {
        store
            .audit(
                &desk.clerk.id,
                AuditAction::ViewFullId,
                "visitor",
                &format!("visitor-{i}"),
                "来访人页面",
            )
            .unwrap();
    }
}

/// The desk's device token.
fn token(desk: &Desk) -> String {
    let store = desk.open();
    let settings = store.sync_settings().unwrap().expect("enrolled");
    settings.token.expose().to_owned()
}

/// The desk's own audit entries, as they are pushed.
fn local_entries(store: &Store) -> Vec<AuditEntry> {
    store.audit_entries_after(0, 10_000).unwrap()
}

/// (seq, hash) of a device's entries as the city holds them.
fn city_chain(server: &Server, device_id: &str) -> Vec<(i64, String)> {
    server
        .rows(&format!(
            "SELECT seq, hash FROM audit_entries WHERE device_id = '{device_id}' ORDER BY seq"
        ))
        .iter()
        .map(|row| {
            let (seq, hash) = row.split_once('|').unwrap();
            (seq.parse().unwrap(), hash.to_owned())
        })
        .collect()
}

fn chain_of(entries: &[AuditEntry]) -> Vec<(i64, String)> {
    entries.iter().map(|e| (e.seq, e.hash.clone())).collect()
}

/// The city administrator's view of one device's chain.
fn admin_view(server: &Server, admin: &str, device_id: &str) -> Value {
    let (status, body) = server.get("/v1/city/audit", Some(admin));
    assert_eq!(status, 200, "{body}");
    body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device_id"] == device_id)
        .cloned()
        .unwrap_or_else(|| panic!("{device_id} missing from {body}"))
}

/// `xinfang-city audit-verify` on the server's data dir: (exit code, stdout, stderr).
fn audit_verify(server: &Server) -> (i32, String, String) {
    let out = server.run(&["audit-verify"]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Changes a row of a plaintext SQLite file past its append-only triggers, as someone with the
/// file and a SQLite shell could.
fn tamper(db: &std::path::Path, table: &str, sql: &str) {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS {table}_no_update; DROP TRIGGER IF EXISTS {table}_no_delete; {sql}"
    ))
    .unwrap();
}

/// [`tamper`] on the city's database, whichever backend: with the plaintext SQLite file, or
/// with a PostgreSQL superuser's shell.
fn tamper_city(server: &Server, table: &str, sql: &str) {
    let drop_guards = if server.on_postgres() {
        format!("DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
    } else {
        format!(
            "DROP TRIGGER IF EXISTS {table}_no_update; DROP TRIGGER IF EXISTS {table}_no_delete;"
        )
    };
    server.execute(&format!("{drop_guards} {sql}"));
}

common::both_backends! {
fn audit_entries_arrive_once_and_later_ones_follow_and_are_never_pulled() {
    let server = Server::start();
    let admin = server.admin_token();
    let mut a = enrolled_desk(&server, 1);
    let b = enrolled_desk(&server, 2);
    let a_id = a.device_id();
    a.register_new(2);
    audit(&a, 3);

    let report = a.sync().unwrap();
    assert_eq!(report.audit_pushed, 3);
    assert_eq!(report.audit_pending, 0);
    assert_eq!(report.audit_error, None);
    let local = local_entries(&a.open());
    assert_eq!(local.len(), 3);
    assert_eq!(city_chain(&server, &a_id), chain_of(&local));
    assert_eq!(a.open().audit_pushed_seq().unwrap(), 3);
    let (status, state) = server.get("/v1/sync/state", Some(&token(&a)));
    assert_eq!(status, 200);
    assert_eq!(state["audit_max_seq"], 3);

    // Nothing new: nothing sent, nothing doubled.
    let report = a.sync().unwrap();
    assert_eq!((report.audit_pushed, report.audit_error), (0, None));
    assert_eq!(city_chain(&server, &a_id).len(), 3);

    // The same entries sent again by hand are accepted as duplicates, not stored twice.
    let (status, body) = server.post_json(
        "/v1/audit/push",
        Some(&token(&a)),
        &json!({ "entries": local }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["accepted"].clone(), body["duplicates"].clone()),
        (json!(0), json!(3))
    );
    assert_eq!(body["server_max_seq"], 3);

    // Later entries follow, in order, after the ones the city has; a lost local mark is
    // corrected from the server's count (nothing is sent twice).
    audit(&a, 2);
    a.open().set_audit_pushed_seq(0).unwrap();
    let report = a.sync().unwrap();
    assert_eq!(report.audit_pushed, 2);
    let local = local_entries(&a.open());
    assert_eq!(local.len(), 5);
    assert_eq!(city_chain(&server, &a_id), chain_of(&local));
    let view = admin_view(&server, &admin, &a_id);
    assert_eq!(view["status"], "ok", "{view}");
    assert_eq!(view["entries"], 5);
    assert_eq!(view["last_seq"], 5);
    assert_eq!(view["hall_code"], HALL);

    // Another desk of the same hall pulls A's visits, never A's audit entries.
    b.sync().unwrap();
    assert!(b.count("visits") >= 2);
    let b_store = b.open();
    assert!(
        local_entries(&b_store)
            .iter()
            .all(|e| e.device_id == b_store.device_id())
    );
    let audit_pulled: i64 = b
        .db()
        .query_row(
            "SELECT count(*) FROM sync_remote_log WHERE entity LIKE '%audit%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audit_pulled, 0);

    // The city's own check agrees.
    let (code, out, err) = audit_verify(&server);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&a_id) && out.contains("完好"), "{out}");
}
}

common::both_backends! {
fn a_forged_batch_is_refused_at_its_first_bad_entry_and_nothing_after_it_is_stored() {
    let server = Server::start();
    let admin = server.admin_token();
    let desk = enrolled_desk(&server, 3);
    let device_id = desk.device_id();
    audit(&desk, 5);
    let token = token(&desk);
    let mut forged = local_entries(&desk.open());
    forged[2].detail = "改写过的内容".into();

    let (status, body) = server.post_json(
        "/v1/audit/push",
        Some(&token),
        &json!({ "entries": forged }),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "audit_chain_broken");
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("本机") && !msg.contains(&device_id),
        "no device id on screen: {msg}"
    );
    assert!(msg.contains("第 3 条"), "{msg}");
    assert!(msg.contains("这一条被修改"), "{msg}");
    // The two entries before the break are kept; none from the break on.
    assert_eq!(
        city_chain(&server, &device_id),
        chain_of(&local_entries(&desk.open())[..2])
    );

    // A batch that skips an entry breaks the chain too.
    let mut gap = local_entries(&desk.open());
    gap.remove(2);
    let (status, body) =
        server.post_json("/v1/audit/push", Some(&token), &json!({ "entries": gap }));
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("第 3 条缺失"),
        "{body}"
    );
    assert_eq!(city_chain(&server, &device_id).len(), 2);

    // The administrator sees the break, with the refused attempts.
    let view = admin_view(&server, &admin, &device_id);
    assert_eq!(view["status"], "broken", "{view}");
    let breaks = view["breaks"].as_array().unwrap();
    assert_eq!(breaks.len(), 1, "{view}");
    assert_eq!(breaks[0]["seq"], 3);
    assert_eq!(breaks[0]["source"], "push");
    assert_eq!(breaks[0]["attempts"], 2);
    let (code, out, err) = audit_verify(&server);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&device_id) && out.contains("第 3 条"), "{out}");
    assert!(err.contains("断裂"), "{err}");

    // A device token does not open the city view.
    let (status, body) = server.get("/v1/city/audit", Some(&token));
    assert_eq!(status, 403, "{body}");
}
}

common::both_backends! {
fn a_desk_with_a_tampered_audit_row_still_syncs_its_changes_and_says_why_the_audit_was_refused() {
    let server = Server::start();
    let admin = server.admin_token();
    let mut desk = enrolled_desk(&server, 4);
    let device_id = desk.device_id();
    audit(&desk, 4);
    desk.register_new(3);
    tamper(
        &desk.dir.path().join(xinfang_store::DB_FILE),
        "audit_log",
        "UPDATE audit_log SET detail = '删改' WHERE seq = 3",
    );

    let mut store = desk.open();
    let status = client::sync_status(&mut store);
    assert!(status.online);
    assert_eq!(status.pending, 0, "the changes synced");
    assert!(status.last_sync_at.is_some());
    let err = status.last_error.expect("the audit refusal is reported");
    assert!(err.contains("审计日志"), "{err}");
    assert!(err.contains("第 3 条"), "{err}");
    assert!(err.contains("联系市局管理员"), "{err}");
    drop(store);

    let city_changes =
        server.int(&format!("SELECT count(*) FROM changes WHERE device_id = '{device_id}'"));
    let local_changes: i64 = desk
        .db()
        .query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(local_changes > 0);
    assert_eq!(city_changes, local_changes);
    assert_eq!(city_chain(&server, &device_id).len(), 2);

    // Later syncs keep working and keep saying so; the break is not stored.
    desk.register_new(1);
    let report = desk.sync().unwrap();
    assert_eq!(report.pending, 0);
    assert!(report.audit_error.unwrap().contains("第 3 条"));
    assert_eq!(report.audit_pending, 2);
    assert_eq!(city_chain(&server, &device_id).len(), 2);
    let view = admin_view(&server, &admin, &device_id);
    assert_eq!(view["breaks"][0]["seq"], 3, "{view}");
    assert_eq!(view["breaks"][0]["attempts"], 2, "{view}");
}
}

common::both_backends! {
fn a_device_cannot_push_another_devices_entries() {
    let server = Server::start();
    let a = enrolled_desk(&server, 5);
    let b = enrolled_desk(&server, 6);
    audit(&b, 2);
    let b_entries = local_entries(&b.open());

    let (status, body) = server.post_json(
        "/v1/audit/push",
        Some(&token(&a)),
        &json!({ "entries": b_entries }),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "audit_device_forbidden");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("只能上传自己的审计日志"),
        "{body}"
    );
    assert!(city_chain(&server, &a.device_id()).is_empty());
    assert!(city_chain(&server, &b.device_id()).is_empty());

    // Without a token, nothing at all.
    let (status, _) = server.post_json("/v1/audit/push", None, &json!({ "entries": [] }));
    assert_eq!(status, 401);
    // B itself may.
    b.sync().unwrap();
    assert_eq!(city_chain(&server, &b.device_id()), chain_of(&b_entries));
}
}

common::both_backends! {
fn garbage_is_refused_with_a_chinese_message() {
    let server = Server::start();
    let desk = enrolled_desk(&server, 7);
    audit(&desk, 1);
    let token = token(&desk);
    let good = serde_json::to_value(&local_entries(&desk.open())[0]).unwrap();
    let mut cases: Vec<(Value, u16)> = vec![
        (json!([]), 422),
        (json!({ "entries": "x" }), 422),
        (json!({ "entries": [{ "seq": 1 }] }), 422),
    ];
    for (field, value) in [
        ("seq", json!(0)),
        ("hash", json!("not a hash")),
        ("prev_hash", json!("A".repeat(64))),
        ("detail", json!("长".repeat(4001))),
    ] {
        let mut e = good.clone();
        e[field] = value;
        cases.push((json!({ "entries": [e] }), 422));
    }
    for (body, expected) in cases {
        let (status, answer) = server.post_json("/v1/audit/push", Some(&token), &body);
        assert_eq!(status, expected, "{body} → {answer}");
        let msg = answer["message"].as_str().unwrap();
        assert!(
            msg.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{msg}"
        );
    }
    let (status, _) = server.post_raw(
        "/v1/audit/push",
        Some(&token),
        "application/json",
        b"{".to_vec(),
    );
    assert_eq!(status, 400);
    assert!(city_chain(&server, &desk.device_id()).is_empty());
    assert!(server.healthy());

    let yaml = xinfang_city::api::openapi_yaml();
    for path in ["/v1/audit/push", "/v1/city/audit"] {
        assert!(
            yaml.contains(&format!("  {path}:")),
            "{path} missing from the OpenAPI document"
        );
    }
}
}

common::both_backends! {
fn the_city_finds_a_chain_changed_in_its_own_database() {
    let server = Server::start();
    let admin = server.admin_token();
    let desk = enrolled_desk(&server, 8);
    let device_id = desk.device_id();
    audit(&desk, 4);
    desk.sync().unwrap();
    assert_eq!(audit_verify(&server).0, 0);

    tamper_city(
        &server,
        "audit_entries",
        "UPDATE audit_entries SET detail = '市局库里被改' WHERE seq = 2",
    );
    let view = admin_view(&server, &admin, &device_id);
    assert_eq!(view["status"], "broken", "{view}");
    assert_eq!(view["breaks"][0]["seq"], 2);
    assert_eq!(view["breaks"][0]["source"], "stored");
    let (code, out, err) = audit_verify(&server);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(&device_id), "{out}");
    assert!(
        out.contains("第 2 条") && out.contains("服务器数据库"),
        "{out}"
    );

    // A removed row is caught as well.
    tamper_city(
        &server,
        "audit_entries",
        "UPDATE audit_entries SET detail = '来访人页面' WHERE seq = 2; DELETE FROM audit_entries WHERE seq = 3",
    );
    let view = admin_view(&server, &admin, &device_id);
    assert_eq!(view["breaks"][0]["seq"], 3, "{view}");
    assert!(
        view["breaks"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("缺失"),
        "{view}"
    );
}
}

common::both_backends! {
/// Issue 15, item 8: a desk that rewrites an audit entry after reporting its chain's head with a
/// change push (here: the sync cut between the change push and the audit push), even with the
/// data key and every hash recomputed so that `verify` passes on the desk, is caught by the city
/// when the entry arrives.
fn an_entry_rewritten_after_its_head_went_up_with_a_change_push_is_refused() {
    let server = Server::start();
    let admin = server.admin_token();
    let mut desk = enrolled_desk(&server, 8);
    let device_id = desk.device_id();
    audit(&desk, 3);
    desk.register_new(1);
    {
        let store = desk.open();
        let settings = store.sync_settings().unwrap().unwrap();
        let http = client::Client::new(&settings.server_url, Some(settings.token)).unwrap();
        let resp = http
            .push(&xinfang_sync::wire::PushRequest {
                changes: store.local_changes(0, 1000).unwrap(),
                audit_head: store.audit_head().unwrap(),
            })
            .unwrap();
        assert!(resp.accepted > 0);
    }
    // Entry 3 rewritten and its hash recomputed: the desk's own chain still holds.
    let mut third = local_entries(&desk.open())[2].clone();
    third.detail = "改写后的内容".into();
    third.hash = third.compute_hash();
    tamper(
        &desk.dir.path().join(xinfang_store::DB_FILE),
        "audit_log",
        &format!(
            "UPDATE audit_log SET detail = '{}', hash = '{}' WHERE seq = 3",
            third.detail, third.hash
        ),
    );
    assert!(desk.open().verify().unwrap().ok(), "the desk cannot tell");

    let report = desk.sync().unwrap();
    let err = report.audit_error.expect("the city refuses entry 3");
    assert!(
        err.contains("第 3 条") && err.contains("上报后被改写"),
        "{err}"
    );
    assert_eq!(city_chain(&server, &device_id).len(), 2);
    let view = admin_view(&server, &admin, &device_id);
    assert_eq!(view["breaks"][0]["seq"], 3, "{view}");
}
}

common::both_backends! {
/// A head reported lower than one reported before (the chain went back: an old backup, or
/// entries deleted) is flagged for the administrator; a malformed head is refused.
fn a_head_that_goes_back_is_flagged_and_a_malformed_one_refused() {
    let server = Server::start();
    let admin = server.admin_token();
    let desk = enrolled_desk(&server, 9);
    let device_id = desk.device_id();
    let token = token(&desk);
    let head =
        |seq: i64, hash: &str| json!({ "changes": [], "audit_head": { "seq": seq, "hash": hash } });
    let h = "ab".repeat(32);
    let (status, body) = server.post_json("/v1/sync/push", Some(&token), &head(5, &h));
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post_json("/v1/sync/push", Some(&token), &head(3, &h));
    assert_eq!(status, 200, "a flag, not a refusal: {body}");
    let view = admin_view(&server, &admin, &device_id);
    let reason = view["breaks"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains("回退"), "{view}");
    let (status, body) = server.post_json("/v1/sync/push", Some(&token), &head(0, "xyz"));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "audit_head_invalid");
}
}
