//! `--database` (env `XINFANG_CITY_DATABASE`): the server and every administration command keep
//! their data where the URI says, not in the data dir.

mod common;

use std::process::Command;

use common::{Desk, Server};

#[test]
fn a_sqlite_uri_puts_the_database_where_it_says_for_the_server_and_every_command() {
    let elsewhere = tempfile::TempDir::new().unwrap();
    let file = elsewhere.path().join("sub").join("my-city.db");
    let uri = format!("sqlite://{}", file.display());
    let server = Server::start_on(&uri);
    let mut desk = Desk::new("140521", 7);
    desk.enrol(&server.url, &server.enrol_code("140521"))
        .unwrap();
    desk.register_new(3);
    desk.sync().unwrap();

    assert!(file.is_file(), "the database is at the URI's path");
    assert!(
        !server.dir.path().join("city.db").exists(),
        "nothing in the data dir"
    );
    // The same database through the environment, for each kind of command.
    let admin = |args: &[&str]| {
        let out = Command::new(common::CITY_BIN)
            .args(args)
            .arg("--no-encryption")
            .env("XINFANG_CITY_DATABASE", &uri)
            .env_remove("XINFANG_CITY_DATA_DIR")
            .env("XINFANG_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(admin(&["device", "list"]).contains(&desk.device_id()));
    assert!(admin(&["hall", "list"]).contains("140521\t沁水县"));
    assert_eq!(
        common::last_word(&admin(&["enrol-code", "--hall", "140522"])).len(),
        14
    );
    assert!(admin(&["audit-verify"]).contains(&desk.device_id()));
}

#[test]
fn a_database_uri_that_cannot_be_read_is_refused_in_chinese() {
    for (uri, says) in [
        ("mysql://root:pw@localhost/city", "看不懂"),
        ("sqlite://relative/city.db", "三个斜杠"),
    ] {
        let out = Command::new(common::CITY_BIN)
            .args(["hall", "list", "--no-encryption", "--database", uri])
            .env("XINFANG_LOG", "warn")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{uri}: {err}");
        assert!(!err.contains("pw@"), "no password in messages: {err}");
    }
}
