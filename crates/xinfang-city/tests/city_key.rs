//! The city server's database is encrypted with a key file: `init-key`, `--key-file`,
//! env XINFANG_CITY_KEY_FILE, and the refusal to start without a key.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const CITY_BIN: &str = env!("CARGO_BIN_EXE_xinfang-city");

fn city(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(CITY_BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("XINFANG_LOG", "warn")
        .env_remove("XINFANG_CITY_KEY_FILE")
        .output()
        .unwrap()
}

#[test]
fn the_city_database_is_encrypted_with_its_key_file() {
    let tmp = tempfile::TempDir::new().unwrap();
    let data = tmp.path().join("data");
    let key = tmp.path().join("city.key");
    let key_s = key.to_str().unwrap();

    // init-key: 64 hex digits, owner-only, never overwritten.
    let out = city(&["init-key", key_s], &data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&key).unwrap();
    assert_eq!(text.trim().len(), 64);
    assert!(text.trim().chars().all(|c| c.is_ascii_hexdigit()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!city(&["init-key", key_s], &data).status.success());
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);

    // No key, no --no-encryption: refused, with the way out in the message.
    let out = city(&["serve", "--listen", "127.0.0.1:0"], &data);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--key-file") && err.contains("init-key"),
        "{err}"
    );

    // With the key (flag or env) the admin commands and the server work.
    let out = city(
        &[
            "hall",
            "add",
            "--code",
            "140521",
            "--name",
            "沁水县",
            "--key-file",
            key_s,
        ],
        &data,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = Command::new(CITY_BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("XINFANG_CITY_KEY_FILE", &key)
        .env("XINFANG_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let body = reqwest::blocking::get(format!("{url}/healthz"))
        .unwrap()
        .text()
        .unwrap();
    assert!(body.contains("ok"), "{body}");
    let _ = child.kill();
    let _ = child.wait();

    // The file is unreadable without the key, and with --no-encryption the server refuses
    // rather than starting on it.
    let db = data.join("city.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert!(
        conn.query_row("SELECT count(*) FROM halls", [], |r| r.get::<_, i64>(0))
            .is_err()
    );
    drop(conn);
    let bytes = std::fs::read(&db).unwrap();
    assert!(
        !bytes
            .windows("沁水县".len())
            .any(|w| w == "沁水县".as_bytes())
    );
    let out = city(&["hall", "list", "--no-encryption"], &data);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("已加密"));
    let out = city(&["hall", "list", "--key-file", key_s], &data);
    assert!(String::from_utf8_lossy(&out.stdout).contains("沁水县"));
}
