//! Transport and reference data, with the real binaries: the server over HTTPS (rustls) with a
//! certificate from a test CA that the desk trusts once its administrator chose the CA's file
//! (kept in the store), or through `XINFANG_CA_FILE`; plain HTTP refused
//! by the desk for anything but loopback; and a holiday year the city adds reaching the desk's
//! calendar at sync.

mod common;

use std::path::Path;

use chrono::NaiveDate;
use common::tls::Pki;
use common::{Desk, Server, desk_admin_cli as admin_cli, desk_cli as cli};
use serde_json::{Value, json};
use xinfang_sync::client::{self, SyncError};

/// Every error message of a CLI answer, joined (JSON errors on stdout, else stderr).
fn messages(out: &Value, stderr: &str) -> String {
    let mut all: Vec<String> = out["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    all.push(stderr.to_owned());
    all.join("\n")
}

/// How many of `desk`'s changes the server holds.
fn changes_on_server(server: &Server, desk: &Desk) -> i64 {
    server.int(&format!(
        "SELECT count(*) FROM changes WHERE device_id = '{}'",
        desk.device_id()
    ))
}

/// The desk's device token, as stored at enrolment.
fn device_token(desk: &Desk) -> String {
    desk.db()
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'device_token'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

common::both_backends! {
fn a_desk_syncs_over_https_when_it_trusts_the_citys_ca_and_refuses_otherwise() {
    let pki = Pki::new();
    let server = Server::start_tls(
        Path::new(&pki.path("server.pem")),
        Path::new(&pki.path("server.key")),
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let ca = pki.path("ca.pem");

    let mut desk = Desk::new("140521", 41);
    desk.register_new(3);

    // Without the CA the desk does not trust the server: a Chinese message naming the fix,
    // where the administrator makes it (no environment variable, no command).
    let code = server.enrol_code("140521");
    let (rc, out, err) = admin_cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &[],
    );
    assert_ne!(rc, 0, "{out}");
    let msg = messages(&out, &err);
    assert!(
        msg.contains("不受本机信任") && msg.contains("连接服务器") && msg.contains("CA 证书文件"),
        "{msg}"
    );
    assert!(!msg.contains("XINFANG_CA_FILE"), "{msg}");

    // A file that is no certificate: refused at its field, in Chinese, and nothing kept.
    let junk = pki.path("junk.pem");
    std::fs::write(&junk, "不是证书").unwrap();
    let (rc, out, err) = admin_cli(
        &desk,
        &[
            "enrol",
            "--server",
            &server.url,
            "--code",
            &code,
            "--ca-file",
            &junk,
        ],
        &[],
    );
    assert_eq!(rc, 1, "{out} {err}");
    assert!(
        messages(&out, &err).contains("不能用作 CA 证书"),
        "{out} {err}"
    );
    assert!(client::sync_once(&mut desk.open()).is_err());

    // The city's CA chosen from its file: kept in the store, so enrolment and every later sync
    // trust the server with nothing set in the environment.
    let (rc, out, err) = admin_cli(
        &desk,
        &[
            "enrol",
            "--server",
            &server.url,
            "--code",
            &code,
            "--ca-file",
            &ca,
            "--name",
            "登记窗口一",
        ],
        &[],
    );
    assert_eq!(rc, 0, "{out} {err}");
    assert_eq!(out["desk_name"], json!("登记窗口一"), "{out}");
    let (rc, out, err) = cli(&desk, &["sync"], &[]);
    assert_eq!(rc, 0, "{out} {err}");
    assert_eq!(out["pending"], json!(0), "{out}");
    assert!(out["pushed"].as_u64().unwrap() > 0, "{out}");
    let on_server = changes_on_server(&server, &desk);
    assert_eq!(on_server, out["pushed"].as_i64().unwrap());
    let named = server.rows(&format!(
        "SELECT name FROM devices WHERE id = '{}'",
        desk.device_id()
    ))[0]
        .clone();
    assert_eq!(named, "登记窗口一");

    // 测试连接: the server answers over the trusted link and still knows the desk.
    let (rc, out, err) = admin_cli(&desk, &["sync", "check"], &[]);
    assert_eq!(rc, 0, "{out} {err}");
    assert_eq!(out["ok"], json!(true), "{out}");
    assert!(
        out["message"].as_str().unwrap().contains("登记有效"),
        "{out}"
    );
}
}

#[test]
fn the_ca_file_named_by_the_environment_is_trusted_too_and_a_bad_one_is_named() {
    let pki = Pki::new();
    let server = Server::start_tls(
        Path::new(&pki.path("server.pem")),
        Path::new(&pki.path("server.key")),
    );
    let ca = pki.path("ca.pem");
    let trust = [("XINFANG_CA_FILE", ca.as_str())];
    let mut desk = Desk::new("140521", 43);
    desk.register_new(1);
    let code = server.enrol_code("140521");

    let junk = pki.path("junk.pem");
    std::fs::write(&junk, "不是证书").unwrap();
    let (rc, out, err) = admin_cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &[("XINFANG_CA_FILE", &junk)],
    );
    assert_ne!(rc, 0);
    assert!(
        messages(&out, &err).contains("XINFANG_CA_FILE"),
        "{out} {err}"
    );

    let (rc, out, err) = admin_cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &trust,
    );
    assert_eq!(rc, 0, "{out} {err}");
    let (rc, out, err) = cli(&desk, &["sync"], &trust);
    assert_eq!(rc, 0, "{out} {err}");

    // Later without it: offline, with the message that says where to choose the CA.
    let (rc, out, err) = cli(&desk, &["sync"], &[]);
    assert_ne!(rc, 0);
    assert!(messages(&out, &err).contains("不受本机信任"), "{out} {err}");
}

#[test]
fn plain_http_to_a_non_loopback_address_is_refused_before_connecting() {
    let server = Server::start();
    let desk = Desk::new("140521", 42);
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there, so a quick refusal proves no attempt.
    let started = std::time::Instant::now();
    let (rc, out, err) = admin_cli(
        &desk,
        &[
            "enrol",
            "--server",
            "http://192.0.2.10:8750",
            "--code",
            "AAAA-BBBB-CCCC",
        ],
        &[],
    );
    assert_ne!(rc, 0);
    let msg = messages(&out, &err);
    assert!(
        msg.contains("不加密的 http") && msg.contains("https://"),
        "{msg}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));

    // Enrolled over loopback http (allowed), then told by env to use a LAN address over http.
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    let (rc, out, err) = cli(
        &desk,
        &["sync"],
        &[("XINFANG_SERVER_URL", "http://198.51.100.7:8750")],
    );
    assert_ne!(rc, 0);
    let msg = messages(&out, &err);
    assert!(
        msg.contains("不加密的 http") && msg.contains("https://"),
        "{msg}"
    );
    // The client library refuses it the same way; the stored loopback address still works.
    let e = client::Client::new("http://198.51.100.7:8750", None).unwrap_err();
    assert!(matches!(e, SyncError::InsecureUrl(_)));
    assert!(client::sync_once(&mut desk.open()).is_ok());
}

#[test]
fn a_holiday_year_added_by_the_city_reaches_the_desks_calendar() {
    let dir = tempfile::TempDir::new().unwrap();
    let holidays = dir.path().join("reference").join("holidays");
    std::fs::create_dir_all(&holidays).unwrap();
    // A made-up 2031 arrangement: a week off in early January, a Saturday made a workday.
    std::fs::write(
        holidays.join("2031.json"),
        json!({
            "year": 2031,
            "holidays": (1..=7).map(|d| json!({"date": format!("2031-01-{d:02}"), "name": "测试假期"}))
                .collect::<Vec<_>>(),
            "workdays": [{"date": "2031-01-11", "name": "测试假期调休"}]
        })
        .to_string(),
    )
    .unwrap();
    let server = Server::start_in(dir);
    let desk = Desk::new("140521", 43);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();

    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let before = desk.open().holiday_calendar();
    assert!(!before.knows(d("2031-01-02")));
    assert!(before.knows(d("2026-10-01")));

    desk.sync().unwrap();
    let cal = desk.open().holiday_calendar();
    assert!(cal.knows(d("2031-01-02")));
    assert_eq!(cal.is_rest_day(d("2031-01-02")), Some(true)); // a Thursday, now a holiday
    assert_eq!(cal.day_name(d("2031-01-02")), Some("测试假期"));
    assert_eq!(cal.is_working_day(d("2031-01-11")), Some(true)); // a Saturday, made a workday
    // The compiled-in years are still there.
    assert_eq!(cal.is_rest_day(d("2026-10-01")), Some(true));
    let deadline = xinfang_core::deadline::deadline(d("2030-12-31"), 1, &cal);
    assert_eq!(deadline.due, d("2031-01-08"), "{deadline:?}");

    // The desk keeps the version it has, so it fetches the lists again only when they change.
    let version: String = desk
        .db()
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'reference_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let (_, reference) = server.get("/v1/reference", Some(&device_token(&desk)));
    assert_eq!(reference["version"], json!(version));
    desk.sync().unwrap();
    assert!(desk.open().holiday_calendar().knows(d("2031-06-01")));
}

/// The error codes and messages of a refused CLI answer.
fn refusal(out: &Value) -> (String, String) {
    let first = &out["errors"][0];
    (
        first["code"].as_str().unwrap_or_default().to_owned(),
        first["message"].as_str().unwrap_or_default().to_owned(),
    )
}

common::both_backends! {
fn a_desk_leaves_its_server_keeping_its_data_and_comes_back_when_the_city_allows_it() {
    let server = Server::start();
    let mut desk = Desk::new("140521", 44);
    let code = server.enrol_code("140521");
    let (rc, out, err) = admin_cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &[],
    );
    assert_eq!(rc, 0, "{out} {err}");
    desk.register_new(2);

    // Only the administrator may leave; with changes not yet pushed, only when told twice.
    let (rc, out, _) = cli(&desk, &["sync", "leave"], &[]);
    assert_eq!(rc, 1, "{out}");
    let (rc, out, _) = admin_cli(&desk, &["sync", "leave"], &[]);
    assert_eq!(rc, 1, "{out}");
    let (code_seen, message) = refusal(&out);
    assert_eq!(code_seen, "pending_changes");
    assert!(
        message.contains("没有上传") && message.contains("仍要断开"),
        "{message}"
    );
    let (rc, out, err) = cli(&desk, &["sync"], &[]);
    assert_eq!(rc, 0, "{out} {err}");
    let (rc, out, err) = admin_cli(&desk, &["sync", "leave"], &[]);
    assert_eq!(rc, 0, "{out} {err}");

    // Left: the data stays, syncing says where to enrol again.
    desk.register_new(1);
    let visits: i64 = desk
        .db()
        .query_row("SELECT count(*) FROM visits", [], |r| r.get(0))
        .unwrap();
    assert_eq!(visits, 3);
    let (rc, out, err) = cli(&desk, &["sync"], &[]);
    assert_ne!(rc, 0);
    let msg = messages(&out, &err);
    assert!(
        msg.contains("尚未登记") && msg.contains("连接服务器"),
        "{msg}"
    );
    let shown: String = msg.lines().filter(|l| !l.contains("WARN")).collect();
    assert!(
        !shown.contains("xinfang"),
        "no command in the message: {shown}"
    );

    // A fresh code alone does not take the device back; the city allows it, then it does.
    let code = server.enrol_code("140521");
    let (rc, out, _) = admin_cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &[],
    );
    assert_eq!(rc, 1, "{out}");
    let (code_seen, message) = refusal(&out);
    assert_eq!(code_seen, "device_already_enrolled");
    assert!(
        message.contains("允许重新登记") && !message.contains("xinfang-city"),
        "{message}"
    );
    server.admin(&["device", "allow-reenrol", &desk.device_id()]);
    let (rc, out, err) = admin_cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &[],
    );
    assert_eq!(rc, 0, "{out} {err}");
    let (rc, out, err) = cli(&desk, &["sync"], &[]);
    assert_eq!(rc, 0, "{out} {err}");
    assert_eq!(out["pending"], json!(0), "{out}");
    // Nothing lost or doubled: the server holds each of the desk's changes once.
    let on_server = changes_on_server(&server, &desk);
    let local: i64 = desk
        .db()
        .query_row("SELECT max(seq) FROM change_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(on_server, local);

    // Both steps are in the desk's audit log, under the administrator.
    let actions: Vec<String> = desk
        .db()
        .prepare("SELECT action FROM audit_log WHERE staff_id = ?1 ORDER BY seq")
        .unwrap()
        .query_map([&desk.admin.id], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        actions,
        ["connect_server", "leave_server", "connect_server"],
        "{actions:?}"
    );

    // Revoked by the city: the connection test says so, and what to do.
    server.admin(&["device", "revoke", &desk.device_id()]);
    let (rc, out, _) = admin_cli(&desk, &["sync", "check"], &[]);
    assert_eq!(rc, 1, "{out}");
    assert_eq!(out["ok"], json!(false));
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("不再接受本机的登记"),
        "{out}"
    );
}
}
