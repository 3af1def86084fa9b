//! Signed updates (issue 20, docs/deploy.md "Updates"): the real `xinfang-city` binary on
//! loopback (and a hall hub joined to it), the update key made and packages published with its
//! administration commands, desks made and checked with the real `xinfang` CLI.

mod common;

use std::path::Path;
use std::process::Command;

use common::{CITY_BIN, Server, last_word, xinfang_bin};
use serde_json::Value;
use tempfile::TempDir;

const PASSWORD: &str = "correct horse battery";
const KEY_PASSWORD: &str = "update key password";
const HALL: &str = "140521";

/// An administration command of `server` with env `XINFANG_UPDATE_KEY_PASSWORD` set.
fn city(server: &Server, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(CITY_BIN);
    cmd.args(args)
        .arg("--data-dir")
        .arg(server.dir.path())
        .arg("--no-encryption")
        .env("XINFANG_UPDATE_KEY_PASSWORD", KEY_PASSWORD)
        .env("XINFANG_LOG", "warn");
    if let Some(uri) = &server.database {
        cmd.arg("--database").arg(uri);
    }
    cmd.output().unwrap()
}

fn city_ok(server: &Server, args: &[&str]) -> String {
    let out = city(server, args);
    assert!(
        out.status.success(),
        "xinfang-city {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A key pair in a new dir: (dir, secret key path, public key path, public key).
fn key_pair(server: &Server) -> (TempDir, String, String, String) {
    let dir = TempDir::new().unwrap();
    let out = city_ok(
        server,
        &[
            "update-key",
            "generate",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    let sk = dir.path().join("xinfang-update.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sk).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the secret key is the owner's only");
    }
    let text = std::fs::read_to_string(&sk).unwrap();
    assert!(
        !text.contains(&last_word(&out)),
        "the secret key file is not the public key"
    );
    let pk = dir.path().join("xinfang-update.pub").display().to_string();
    (dir, sk.display().to_string(), pk, last_word(&out))
}

/// A package's bytes: what a .deb is to the server, an opaque file.
fn package_bytes(seed: u8) -> Vec<u8> {
    (0..200_000u32)
        .map(|i| (i.wrapping_mul(31) as u8) ^ seed)
        .collect()
}

fn publish(server: &Server, file: &Path, version: &str, sk: &str, notes: &str) {
    city_ok(
        server,
        &[
            "release",
            "publish",
            "--file",
            file.to_str().unwrap(),
            "--version",
            version,
            "--kind",
            "desk-deb",
            "--secret-key",
            sk,
            "--notes",
            notes,
        ],
    );
}

/// The real desk CLI on `dir` as `user`, with `--json`: (exit code, stdout parsed).
fn cli(dir: &Path, user: &str, args: &[&str]) -> (i32, Value) {
    let out = Command::new(xinfang_bin())
        .arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("XINFANG_PASSWORD", PASSWORD)
        .env("XINFANG_NEW_PASSWORD", PASSWORD)
        .env("XINFANG_USER", user)
        .env("XINFANG_PACKAGE_KIND", "desk-deb")
        .env("XINFANG_LOG", "warn")
        .env_remove("XINFANG_SERVER_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        Value::String(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    });
    (out.status.code().unwrap_or(-1), value)
}

/// A desk made with the CLI (admin and a clerk), enrolled at `url` with `code`.
fn desk(url: &str, code: &str) -> TempDir {
    let dir = TempDir::new().unwrap();
    let (rc, out) = cli(
        dir.path(),
        "admin",
        &["init", "--hall", HALL, "--admin", "admin"],
    );
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = cli(
        dir.path(),
        "admin",
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
    );
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = cli(
        dir.path(),
        "admin",
        &["enrol", "--server", url, "--code", code],
    );
    assert_eq!(rc, 0, "{out}");
    dir
}

fn pinned_key(desk: &Path) -> Option<String> {
    let conn = common::desk_conn(desk, "admin", PASSWORD);
    conn.query_row(
        "SELECT value FROM sync_state WHERE key = 'update_key'",
        [],
        |r| r.get(0),
    )
    .ok()
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Changes the stored package's bytes, and its size and SHA-256 to match (what someone
/// holding the server's database could do): only the signature still tells.
fn tamper(server: &Server, version: &str) {
    let fake = b"not the package the city signed";
    let sha = xinfang_sync::update::sha256_hex(fake);
    let sql_set = format!(
        "size = {}, sha256 = '{sha}' WHERE version = '{version}'",
        fake.len()
    );
    match server.database.as_deref() {
        Some(uri) => {
            common::pg::query(
                uri,
                &format!(
                    "UPDATE update_releases SET bytes = convert_to('{}', 'UTF8'), {sql_set}",
                    std::str::from_utf8(fake).unwrap()
                ),
            );
        }
        None => {
            let conn = rusqlite::Connection::open(server.dir.path().join("city.db")).unwrap();
            conn.execute(
                &format!("UPDATE update_releases SET bytes = ?1, {sql_set}"),
                [&fake[..]],
            )
            .unwrap();
        }
    }
}

common::both_backends! {
    /// A package published and signed at the city reaches an enrolled desk through the manifest
    /// and the download, verified against the key the desk pinned at enrolment; a clerk sees
    /// the offer but cannot install; the same package with its bytes changed on the server is
    /// refused and not kept.
    fn a_signed_package_is_accepted_and_a_tampered_one_refused() {
        let server = Server::start();
        let (_keys, sk, pk, public) = key_pair(&server);
        city_ok(&server, &["update-key", "install", "--public-key", &pk]);
        assert_eq!(city_ok(&server, &["update-key", "show"]).trim(), public);

        let desk = desk(&server.url, &server.enrol_code(HALL));
        assert_eq!(pinned_key(desk.path()).as_deref(), Some(public.as_str()));

        // Nothing published yet: the desk is up to date.
        let (rc, out) = cli(desk.path(), "clerk", &["update", "check"]);
        assert_eq!(rc, 0, "{out}");
        assert!(out["offer"].is_null(), "{out}");

        let work = TempDir::new().unwrap();
        let file = work.path().join("xinfang-desk_99.0.0_amd64.deb");
        let bytes = package_bytes(7);
        std::fs::write(&file, &bytes).unwrap();
        publish(&server, &file, "99.0.0", &sk, "修复打印问题");
        // An older version published later is not the latest.
        std::fs::write(work.path().join("old.deb"), package_bytes(3)).unwrap();
        publish(&server, &work.path().join("old.deb"), "98.5.0", &sk, "");
        // A version and kind are published once.
        let again = city(
            &server,
            &["release", "publish", "--file", file.to_str().unwrap(), "--version", "99.0.0",
              "--kind", "desk-deb", "--secret-key", &sk],
        );
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("已经发布过"));

        // The manifest, as any enrolled device may read it.
        let token = server.enrol_device(HALL, "11111111-2222-4333-8444-555555555555");
        let (status, manifest) = server.get("/v1/updates/manifest", Some(&token));
        assert_eq!(status, 200, "{manifest}");
        let releases = manifest["releases"].as_array().unwrap();
        assert_eq!(releases.len(), 1, "{manifest}");
        assert_eq!(releases[0]["version"], "99.0.0");
        assert_eq!(releases[0]["size"], bytes.len() as u64);
        assert_eq!(releases[0]["sha256"], xinfang_sync::update::sha256_hex(&bytes));
        assert_eq!(releases[0]["notes"], "修复打印问题");
        let (status, _) = server.get("/v1/updates/manifest", None);
        assert_eq!(status, 401);

        // A clerk is told of the new version, but may not install it.
        let (rc, out) = cli(desk.path(), "clerk", &["update", "check"]);
        assert_eq!(rc, 0, "{out}");
        assert_eq!(out["offer"]["version"], "99.0.0", "{out}");
        assert_eq!(out["offer"]["notes"], "修复打印问题");
        assert_eq!(out["can_install"], false);
        let clerk_dir = TempDir::new().unwrap();
        let (rc, out) = cli(
            desk.path(),
            "clerk",
            &["update", "download", "--out", clerk_dir.path().to_str().unwrap()],
        );
        assert_eq!(rc, 1, "{out}");
        assert!(out.to_string().contains("安装新版本"), "{out}");
        assert!(files_in(clerk_dir.path()).is_empty());

        // The admin downloads it: verified, the same bytes.
        let (rc, out) = cli(desk.path(), "admin", &["update", "check"]);
        assert_eq!(rc, 0, "{out}");
        assert_eq!(out["can_install"], true);
        let got = TempDir::new().unwrap();
        let (rc, out) = cli(
            desk.path(),
            "admin",
            &["update", "download", "--out", got.path().to_str().unwrap()],
        );
        assert_eq!(rc, 0, "{out}");
        assert_eq!(out["version"], "99.0.0");
        let path = out["path"].as_str().unwrap();
        assert_eq!(std::fs::read(path).unwrap(), bytes);
        assert_eq!(files_in(got.path()), ["xinfang-desk_99.0.0.deb"]);

        // Changed on the server after publishing: refused, nothing kept.
        tamper(&server, "99.0.0");
        let bad = TempDir::new().unwrap();
        let (rc, out) = cli(
            desk.path(),
            "admin",
            &["update", "download", "--out", bad.path().to_str().unwrap()],
        );
        assert_eq!(rc, 1, "{out}");
        assert!(out.to_string().contains("签名校验失败"), "{out}");
        assert!(files_in(bad.path()).is_empty(), "{:?}", files_in(bad.path()));
    }
}

/// A city that changes its update key: the desk keeps the key it pinned (from the device state
/// as from anything else the server says), so a package signed with the new key is refused;
/// a signature made with a key the city does not hold is refused at publishing already.
#[test]
fn the_pinned_key_never_changes_and_another_keys_signature_is_refused() {
    let server = Server::start();
    let (_a, sk_a, pk_a, public_a) = key_pair(&server);
    city_ok(&server, &["update-key", "install", "--public-key", &pk_a]);
    let desk = desk(&server.url, &server.enrol_code(HALL));
    assert_eq!(pinned_key(desk.path()).as_deref(), Some(public_a.as_str()));

    let (_b, sk_b, pk_b, public_b) = key_pair(&server);
    let work = TempDir::new().unwrap();
    let file = work.path().join("p.deb");
    std::fs::write(&file, package_bytes(9)).unwrap();

    // Signed elsewhere with key B (a .minisig beside the file) while the city holds key A.
    let sig = xinfang_city::updates::sign(
        &package_bytes(9),
        Path::new(&sk_b),
        KEY_PASSWORD,
        "99.1.0",
        "desk-deb",
    )
    .unwrap();
    let sig_file = work.path().join("p.deb.minisig");
    std::fs::write(&sig_file, &sig).unwrap();
    let refused = city(
        &server,
        &[
            "release",
            "publish",
            "--file",
            file.to_str().unwrap(),
            "--version",
            "99.1.0",
            "--kind",
            "desk-deb",
            "--signature",
            sig_file.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("不能用市局的更新公钥验证"));
    // Key A's own signature, but for another version than it names: refused too.
    let sig_a = xinfang_city::updates::sign(
        &package_bytes(9),
        Path::new(&sk_a),
        KEY_PASSWORD,
        "99.0.5",
        "desk-deb",
    )
    .unwrap();
    std::fs::write(&sig_file, &sig_a).unwrap();
    let refused = city(
        &server,
        &[
            "release",
            "publish",
            "--file",
            file.to_str().unwrap(),
            "--version",
            "99.1.0",
            "--kind",
            "desk-deb",
            "--signature",
            sig_file.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("可信注释"));
    std::fs::write(&sig_file, &sig).unwrap();

    // A different key replaces the city's only when asked to.
    let held = city(&server, &["update-key", "install", "--public-key", &pk_b]);
    assert!(!held.status.success());
    assert!(String::from_utf8_lossy(&held.stderr).contains("--replace"));
    city_ok(
        &server,
        &["update-key", "install", "--public-key", &pk_b, "--replace"],
    );
    city_ok(
        &server,
        &[
            "release",
            "publish",
            "--file",
            file.to_str().unwrap(),
            "--version",
            "99.1.0",
            "--kind",
            "desk-deb",
            "--signature",
            sig_file.to_str().unwrap(),
        ],
    );

    // The desk syncs: the state names key B, the desk keeps key A.
    let (rc, out) = cli(desk.path(), "admin", &["sync"]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(pinned_key(desk.path()).as_deref(), Some(public_a.as_str()));
    let token = server.enrol_device(HALL, "21111111-2222-4333-8444-555555555555");
    let (_, manifest) = server.get("/v1/updates/manifest", Some(&token));
    assert_eq!(manifest["public_key"], public_b.as_str());

    let dir = TempDir::new().unwrap();
    let (rc, out) = cli(
        desk.path(),
        "admin",
        &["update", "download", "--out", dir.path().to_str().unwrap()],
    );
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.to_string()
            .contains("不是用本机认可的市局更新密钥签名的"),
        "{out}"
    );
    assert!(files_in(dir.path()).is_empty());
}

common::both_backends! {
/// A hall hub takes the city's packages when it reaches the city and serves them to its hall's
/// desks while the city is down: the desk verifies the city's signature (the hub signs nothing).
fn a_hub_relays_a_signed_package_to_a_desk_while_the_city_is_down() {
    let mut city_server = Server::start();
    let (_keys, sk, pk, public) = key_pair(&city_server);
    city_ok(
        &city_server,
        &["update-key", "install", "--public-key", &pk],
    );
    let work = TempDir::new().unwrap();
    let file = work.path().join("p.deb");
    let bytes = package_bytes(11);
    std::fs::write(&file, &bytes).unwrap();
    publish(&city_server, &file, "99.2.0", &sk, "大厅服务器转发测试");

    // The hub joins (taking the city's update key) and relays once.
    let code = last_word(&city_server.admin(&["enrol-code", "--hall", HALL, "--hub"]));
    let hub_dir = TempDir::new().unwrap();
    // The hub joins and serves on one database of the test's backend.
    let hub_database = common::database_for_backend();
    let mut join = Command::new(CITY_BIN);
    join.args([
        "hub",
        "join",
        "--upstream",
        &city_server.url,
        "--code",
        &code,
    ])
    .arg("--data-dir")
    .arg(hub_dir.path())
    .arg("--no-encryption")
    .env("XINFANG_LOG", "error");
    if let Some(uri) = &hub_database {
        join.arg("--database").arg(uri);
    }
    let out = join.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hub = Server::start_in_on(hub_dir, hub_database, &["--relay-every", "1h"]);
    let out = hub.run(&["hub", "relay", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server's own relay (at its start) may have fetched it first: either way it is here.
    assert_eq!(hub.int("SELECT count(*) FROM update_releases"), 1);
    // Once is enough: a second relay fetches nothing.
    let report: Value =
        serde_json::from_slice(&hub.run(&["hub", "relay", "--json"]).stdout).unwrap();
    assert_eq!(report["updates_fetched"], 0, "{report}");

    // The city goes away; a desk enrols at the hub and updates from it.
    city_server.kill9();
    let desk = desk(&hub.url, &hub.enrol_code(HALL));
    assert_eq!(pinned_key(desk.path()).as_deref(), Some(public.as_str()));
    let (rc, out) = cli(desk.path(), "clerk", &["update", "check"]);
    assert_eq!(rc, 0, "{out}");
    assert_eq!(out["offer"]["version"], "99.2.0", "{out}");
    let got = TempDir::new().unwrap();
    let (rc, out) = cli(
        desk.path(),
        "admin",
        &["update", "download", "--out", got.path().to_str().unwrap()],
    );
    assert_eq!(rc, 0, "{out}");
    assert_eq!(std::fs::read(out["path"].as_str().unwrap()).unwrap(), bytes);

    // The hub's copy changed behind its back: the desk still refuses it.
    tamper(&hub, "99.2.0");
    let bad = TempDir::new().unwrap();
    let (rc, out) = cli(
        desk.path(),
        "admin",
        &["update", "download", "--out", bad.path().to_str().unwrap()],
    );
    assert_eq!(rc, 1, "{out}");
    assert!(out.to_string().contains("签名校验失败"), "{out}");
    assert!(files_in(bad.path()).is_empty());
}
}
