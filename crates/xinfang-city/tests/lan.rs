//! Finding the hub on the LAN (docs/sync.md "Finding the hub"): the real `xinfang-city serve
//! --announce` and the real `xinfang discover --json`, over mDNS multicast on this computer.

mod common;

use std::process::Command;

use common::{CITY_BIN, Server, xinfang_bin};

#[test]
fn a_hub_started_with_announce_is_found_with_its_hall_and_address() {
    let dir = tempfile::TempDir::new().unwrap();
    // A hall's hub announces its one hall.
    let server = Server::start_in_with(dir, &["--announce", "140521"]);

    let out = Command::new(xinfang_bin())
        .args(["--json", "discover", "--seconds", "3"])
        .env("XINFANG_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours: Vec<&serde_json::Value> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["url"] == server.url.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "{found}");
    assert_eq!(ours[0]["halls"], serde_json::json!(["140521"]));

    // Found is an address to enrol with: it answers as the server.
    let (status, body) = server.get("/healthz", None);
    assert_eq!(status, 200, "{body}");
}

common::both_backends! {
fn a_hall_the_server_does_not_serve_is_not_announced() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut serve = Command::new(CITY_BIN);
    serve
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--no-encryption",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--announce",
            "999999",
        ])
        .env("XINFANG_LOG", "warn");
    // The halls it serves are read from its database.
    if let Some(uri) = common::database_for_backend() {
        serve.arg("--database").arg(uri);
    }
    let out = serve.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("本服务器没有这个大厅"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
}

#[test]
fn without_announce_nothing_is_announced() {
    let server = Server::start();
    let out = Command::new(xinfang_bin())
        .args(["--json", "discover", "--seconds", "1"])
        .env("XINFANG_LOG", "warn")
        .output()
        .unwrap();
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !found
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["url"] == server.url.as_str()),
        "{found}"
    );
}
