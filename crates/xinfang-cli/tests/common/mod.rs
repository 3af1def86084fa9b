//! Helpers shared by the CLI's test binaries: the real `xinfang` binary on a temp data dir, as a
//! script runs it (`--json`, the password from the environment).

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The password of every account these tests make.
pub const PASSWORD: &str = "admin-pass-1";

/// The binary on `dir`, with nothing taken from the caller's environment.
pub fn xinfang(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("xinfang").unwrap();
    cmd.env_remove("XINFANG_DATA_DIR")
        .env_remove("XINFANG_USER")
        .env_remove("XINFANG_ASSETS_DIR")
        .env("XINFANG_PASSWORD", PASSWORD)
        .arg("--data-dir")
        .arg(dir);
    cmd
}

/// Stdout as JSON; a panic with stdout and stderr when it is not.
pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Runs `args` as `user` with `--json`; returns the exit code and stdout.
pub fn run(dir: &Path, user: &str, args: &[&str]) -> (i32, Value) {
    let out = xinfang(dir)
        .args(["--json", "--user", user])
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), json_of(&out))
}

/// Runs `args` as `user`, which must succeed; returns stdout.
pub fn ok(dir: &Path, user: &str, args: &[&str]) -> Value {
    let (code, v) = run(dir, user, args);
    assert_eq!(code, 0, "{args:?}: {v}");
    v
}

/// A resident ID number: `body17` and its check character.
pub fn id_with_check(body17: &str) -> String {
    format!(
        "{body17}{}",
        xinfang_core::id::resident_id_check_char(body17).unwrap()
    )
}

/// The admin adds an account with PASSWORD.
pub fn add_staff(dir: &Path, username: &str, name: &str, role: &str) {
    xinfang(dir)
        .env("XINFANG_NEW_PASSWORD", PASSWORD)
        .args(["--user", "admin", "staff", "add", "--username", username])
        .args(["--name", name, "--role", role])
        .assert()
        .success();
}

/// A hall (沁水县 140521) with an admin and `staff` (username, name, role), all with PASSWORD.
pub fn hall_with(staff: &[(&str, &str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    xinfang(dir.path())
        .args(["init", "--hall", "140521", "--admin", "admin"])
        .assert()
        .success();
    for (username, name, role) in staff {
        add_staff(dir.path(), username, name, role);
    }
    dir
}

/// The clerk registers a visit of one visitor at `at` (RFC 3339); returns the command's JSON.
pub fn register(dir: &Path, at: &str, name: &str, number: &str, kind: &str) -> Value {
    let file = dir.join(format!("visit-{number}-{}.json", &at[..10]));
    let body = serde_json::json!({
        "visited_at": at,
        "visitors": [{ "name": name, "id_number": number }],
        "appeal": "要求解决问题。",
        "appeal_kind": kind,
        "category": "城乡建设",
        "agency": "县住建局",
    });
    std::fs::write(&file, body.to_string()).unwrap();
    ok(
        dir,
        "clerk",
        &["visit", "add", "--file", file.to_str().unwrap()],
    )
}
