//! Transport and reference data, with the real binaries: the server over HTTPS (rustls) with a
//! certificate from a test CA that the desk trusts through `XINFANG_CA_FILE`; plain HTTP refused
//! by the desk for anything but loopback; and a holiday year the city adds reaching the desk's
//! calendar at sync.

mod common;

use std::path::Path;

use chrono::NaiveDate;
use common::tls::Pki;
use common::{Desk, Server, desk_cli as cli};
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

#[test]
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
    let trust = [("XINFANG_CA_FILE", ca.as_str())];

    let mut desk = Desk::new("140521", 41);
    desk.register_new(3);

    // Without the CA the desk does not trust the server: a Chinese message naming the fix.
    let code = server.enrol_code("140521");
    let (rc, out, err) = cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &[],
    );
    assert_ne!(rc, 0, "{out}");
    let msg = messages(&out, &err);
    assert!(
        msg.contains("不受本机信任") && msg.contains("XINFANG_CA_FILE"),
        "{msg}"
    );

    // A CA file that is not a certificate: said so, in Chinese.
    let junk = pki.path("junk.pem");
    std::fs::write(&junk, "不是证书").unwrap();
    let (rc, out, err) = cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &[("XINFANG_CA_FILE", &junk)],
    );
    assert_ne!(rc, 0);
    assert!(
        messages(&out, &err).contains("XINFANG_CA_FILE"),
        "{out} {err}"
    );

    // Trusting the CA: enrolment and sync over https (the code was not used up above).
    let (rc, out, err) = cli(
        &desk,
        &["enrol", "--server", &server.url, "--code", &code],
        &trust,
    );
    assert_eq!(rc, 0, "{out} {err}");
    let (rc, out, err) = cli(&desk, &["sync"], &trust);
    assert_eq!(rc, 0, "{out} {err}");
    assert_eq!(out["pending"], json!(0), "{out}");
    assert!(out["pushed"].as_u64().unwrap() > 0, "{out}");
    let on_server: i64 = server
        .db()
        .query_row(
            "SELECT count(*) FROM changes WHERE device_id = ?1",
            [desk.device_id()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(on_server, out["pushed"].as_i64().unwrap());

    // The same desk without the CA file later: offline with the same clear message.
    let (rc, out, err) = cli(&desk, &["sync"], &[]);
    assert_ne!(rc, 0);
    assert!(
        messages(&out, &err).contains("XINFANG_CA_FILE"),
        "{out} {err}"
    );
}

#[test]
fn plain_http_to_a_non_loopback_address_is_refused_before_connecting() {
    let server = Server::start();
    let desk = Desk::new("140521", 42);
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there, so a quick refusal proves no attempt.
    let started = std::time::Instant::now();
    let (rc, out, err) = cli(
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
