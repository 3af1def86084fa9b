//! Issue 15, item 2: the city holds a 检举控告's appeal only sealed — readable with the city
//! reviewer's secret, kept off the server, and by nobody holding the server's database.
//! The real server binary, a real desk syncing through the real client.

mod common;

use std::process::Command;

use common::{CITY_BIN, Desk, Server};
use tempfile::TempDir;
use xinfang_core::reference::ReferenceData;
use xinfang_core::visit::validate_visit;

const HALL: &str = "140521";
const SECRET: &str = "举报某镇党委书记挪用扶贫款";

fn city(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(CITY_BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .arg("--no-encryption")
        .env("XINFANG_LOG", "warn")
        .output()
        .unwrap()
}

common::both_backends! {
fn the_city_holds_a_report_sealed_and_only_the_reviewer_key_opens_it() {
    let dir = TempDir::new().unwrap();
    let keys = TempDir::new().unwrap();
    let secret = keys.path().join("reviewer.key");
    let out = city(
        dir.path(),
        &[
            "reviewer-key",
            "init",
            "--secret-out",
            secret.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = common::last_word(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(public.len(), 64, "{public}");
    // A second init would orphan what was sealed to the first key: refused.
    let again = city(
        dir.path(),
        &[
            "reviewer-key",
            "init",
            "--secret-out",
            keys.path().join("b").to_str().unwrap(),
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("已有市级审阅密钥"));

    let server = Server::start_in(dir);
    let mut desk = Desk::new(HALL, 1);
    desk.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    desk.sync().unwrap(); // brings the reviewer's public key
    let id = desk.resident_id();
    let person = desk.visitor(&id);
    let mut input = desk.visit_input(vec![person]);
    input.appeal = SECRET.into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let valid = validate_visit(&input, ReferenceData::bundled(), common::now()).unwrap();
    let visit = desk
        .open()
        .register_visit(&valid, &desk.clerk.id)
        .unwrap()
        .visit_id;
    desk.sync().unwrap();

    // Nothing of it in clear on the server: records nor changes.
    let n = server.int(&format!(
        "SELECT (SELECT count(*) FROM records WHERE CAST(data AS TEXT) LIKE '%{SECRET}%')
              + (SELECT count(*) FROM changes WHERE fields LIKE '%{SECRET}%')"
    ));
    assert_eq!(n, 0);
    let stored = server.int(&format!(
        "SELECT count(*) FROM records WHERE entity = 'visit' AND entity_id = '{visit}'"
    ));
    assert_eq!(stored, 1, "the visit reached the city");

    let opened = server.admin(&[
        "reviewer-key",
        "open",
        "--secret-file",
        secret.to_str().unwrap(),
        &visit,
    ]);
    assert_eq!(opened.trim(), SECRET);
    // Another key opens nothing.
    let other = keys.path().join("other.key");
    std::fs::write(&other, "11".repeat(32)).unwrap();
    let out = server.run(&[
        "reviewer-key",
        "open",
        "--secret-file",
        other.to_str().unwrap(),
        &visit,
    ]);
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET));
}
}
