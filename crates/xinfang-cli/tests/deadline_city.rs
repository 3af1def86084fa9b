//! `xinfang deadline` with `--user` counts with the holiday calendar the desk synced from the
//! city (it sits in the encrypted store); without a login, with the compiled-in one.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::{Value, json};
use tempfile::TempDir;
use xinfang_core::staff::Role;
use xinfang_store::{NewStaff, Store};
use xinfang_sync::DeskReplica;
use xinfang_sync::wire::ReferenceBundle;

const PASSWORD: &str = "clerk-pass-2026";

fn deadline(dir: &Path, user: Option<&str>) -> Value {
    let mut cmd = Command::cargo_bin("xinfang").unwrap();
    cmd.env_remove("XINFANG_DATA_DIR")
        .env_remove("XINFANG_USER")
        .env("XINFANG_PASSWORD", PASSWORD)
        .arg("--data-dir")
        .arg(dir);
    if let Some(u) = user {
        cmd.args(["--user", u]);
    }
    // 2026-12-20 + 15 days = 2027-01-04, a Monday.
    let out = cmd
        .args([
            "deadline",
            "--start",
            "2026-12-20",
            "--days",
            "15",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn deadline_uses_the_citys_holiday_year_after_login() {
    let dir = TempDir::new().unwrap();
    let (mut store, _) = Store::create(dir.path(), "140521").unwrap();
    store
        .add_staff(&NewStaff {
            username: "clerk".into(),
            display_name: "王接待".into(),
            roles: vec![Role::Clerk],
            password: PASSWORD.into(),
        })
        .unwrap();
    let mut lists = BTreeMap::new();
    lists.insert(
        "holidays/2027".to_owned(),
        json!({"year": 2027, "holidays": [
            {"date": "2027-01-01", "name": "元旦"},
            {"date": "2027-01-04", "name": "元旦"}
        ], "workdays": []}),
    );
    store
        .save_reference(&ReferenceBundle {
            version: "city-2027".into(),
            lists,
        })
        .unwrap();
    drop(store);

    // Without a login: the compiled-in calendar, which does not know 2027 yet.
    let plain = deadline(dir.path(), None);
    assert_eq!(plain["due"], "2027-01-04");
    assert_eq!(plain["calendar_known"], false);
    // Logged in: the city's 2027 makes 01-04 a holiday, so the deadline moves to 01-05.
    let synced = deadline(dir.path(), Some("clerk"));
    assert_eq!(synced["due"], "2027-01-05");
    assert_eq!(synced["moved"], true);
    assert_eq!(synced["calendar_known"], true);
}
