//! The city server on a PostgreSQL that accepts TLS connections only (`ssl = on`, a
//! certificate of a test CA, `hostssl` alone in pg_hba.conf): with `sslmode=verify-full` and the
//! CA (`sslrootcert`) it serves and a desk enrols and pushes, every connection of the city —
//! the pool's and the LISTEN one — encrypted; without the CA, with another CA, or with
//! `sslmode=disable` it refuses to start with a clear Chinese message and no panic.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common::tls::Pki;
use common::{CITY_BIN, Desk, Server, pg};

fn with(uri: &str, query: &str) -> String {
    format!("{uri}?{query}")
}

/// `serve` on `uri`, which must not start: its exit status and what it said on stderr.
fn serve_refused(uri: &str) -> String {
    let dir = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(CITY_BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-encryption"])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--database", uri])
        .env("XINFANG_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    if !first.is_empty() {
        child.kill().unwrap();
        child.wait().unwrap();
        panic!("the server started on {uri}: {first}");
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// An administration command on `uri`: (success, stdout + stderr).
fn admin(uri: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(CITY_BIN)
        .args(args)
        .args(["--database", uri])
        .env("XINFANG_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_city_runs_on_a_tls_only_postgresql_with_verify_full_and_its_ca() {
    let (base, ca) = pg::fresh_tls_database();
    let uri = with(
        &base,
        &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
    );
    // A subcommand, then two instances serving, a desk enrolling on one and pushing to both.
    let (ok, out) = admin(&uri, &["hall", "list"]);
    assert!(ok && out.contains("沁水县"), "{out}");
    let a = Server::start_on(&uri);
    let b = Server::start_on(&uri);
    assert!(a.healthy() && b.healthy());
    let mut desk = Desk::new("140521", 61);
    desk.enrol(&a.url, &a.enrol_code("140521")).unwrap();
    desk.register_new(3);
    desk.sync().unwrap();
    desk.set_server(&b.url);
    desk.register_new(2);
    desk.sync().unwrap();
    assert_eq!(
        pg::query(
            &uri,
            "SELECT count(*) FROM changes WHERE entity = 'visitor'"
        ),
        "5"
    );
    // Every connection the instances hold is encrypted, the listeners' included.
    let sessions = |filter: &str| -> i64 {
        pg::query(
            &uri,
            &format!(
                "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND {filter}"
            ),
        )
        .parse()
        .unwrap()
    };
    assert!(sessions("s.ssl") >= 2, "both instances connected");
    assert_eq!(sessions("NOT s.ssl"), 0);
    assert_eq!(
        sessions("s.ssl AND a.query LIKE 'LISTEN%'"),
        2,
        "each instance's LISTEN connection"
    );

    // `require` without a CA encrypts too (libpq's meaning: no check of whom it talks to).
    let (ok, out) = admin(&with(&base, "sslmode=require"), &["hall", "list"]);
    assert!(ok, "{out}");
}

#[test]
fn without_the_right_ca_or_without_tls_the_city_refuses_clearly() {
    let (base, ca) = pg::fresh_tls_database();
    // verify-full without a CA file: said before connecting.
    let e = serve_refused(&with(&base, "sslmode=verify-full"));
    assert!(
        e.contains("无法连接数据库") && e.contains("sslrootcert=/路径/ca.pem"),
        "{e}"
    );
    // Another CA's file: the database server's certificate is not trusted.
    let other = Pki::new();
    let e = serve_refused(&with(
        &base,
        &format!("sslmode=verify-full&sslrootcert={}", other.path("ca.pem")),
    ));
    assert!(e.contains("数据库服务器的证书不受信任"), "{e}");
    // verify-ca checks the CA just the same.
    let e = serve_refused(&with(
        &base,
        &format!("sslmode=verify-ca&sslrootcert={}", other.path("ca.pem")),
    ));
    assert!(e.contains("数据库服务器的证书不受信任"), "{e}");
    // No TLS: the hostssl-only server refuses it, and the administrator is told what to set.
    let e = serve_refused(&with(&base, "sslmode=disable"));
    assert!(
        e.contains("数据库服务器只接受加密连接") && e.contains("sslmode=verify-full"),
        "{e}"
    );
    // A file that is not a certificate, and one that is not there.
    let not_pem = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_pem.path(), "not a certificate").unwrap();
    let e = serve_refused(&with(
        &base,
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            not_pem.path().display()
        ),
    ));
    assert!(e.contains("没有 PEM 格式的证书"), "{e}");
    let (ok, out) = admin(
        &with(&base, "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"),
        &["hall", "list"],
    );
    assert!(!ok && out.contains("无法读取数据库的 CA 证书文件"), "{out}");
    // The right CA: in.
    let (ok, out) = admin(
        &with(
            &base,
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        ),
        &["hall", "list"],
    );
    assert!(ok, "{out}");
}

/// A plain PostgreSQL (the other tests' cluster, no `ssl`): `require` is refused with a clear
/// message, `prefer` (libpq's default) goes on without TLS.
#[test]
fn a_database_without_tls_is_refused_when_tls_is_required() {
    let uri = pg::fresh_database();
    let e = serve_refused(&with(&uri, "sslmode=require"));
    assert!(e.contains("数据库服务器不支持加密连接"), "{e}");
    let (ok, out) = admin(&with(&uri, "sslmode=prefer"), &["hall", "list"]);
    assert!(ok, "{out}");
}
