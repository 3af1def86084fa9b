//! Test helpers: the real `xinfang-city` binary on a free loopback port, desks as real data dirs,
//! and a fault-injecting TCP proxy; `march` the known data set of the statistics tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod march;
pub mod pg;
pub mod tls;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{Connection, OpenFlags};
use tempfile::TempDir;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Staff, Store};
use xinfang_sync::client::{self, SyncError, SyncReport};
use xinfang_sync::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};

pub const CITY_BIN: &str = env!("CARGO_BIN_EXE_xinfang-city");

/// The backend a test's servers keep their data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `city.db` in the server's data dir.
    Sqlite,
    /// A fresh database on the test binary's PostgreSQL cluster ([`pg`]).
    Postgres,
}

thread_local! {
    /// SQLite unless a test says otherwise ([`on`]) or `XINFANG_TEST_BACKEND=postgres` (to try
    /// a whole test binary on PostgreSQL).
    static BACKEND: std::cell::Cell<Backend> = std::cell::Cell::new(
        if std::env::var("XINFANG_TEST_BACKEND").as_deref() == Ok("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        },
    );
}

/// Runs `f` with every server it starts on `backend`.
pub fn on<T>(backend: Backend, f: impl FnOnce() -> T) -> T {
    BACKEND.set(backend);
    f()
}

pub fn backend() -> Backend {
    BACKEND.get()
}

/// `--database` for a new server of the current backend, if not the data dir.
pub fn database_for_backend() -> Option<String> {
    match backend() {
        Backend::Sqlite => None,
        Backend::Postgres => Some(pg::fresh_database()),
    }
}

/// One test, twice: `name::sqlite` and `name::postgres`, every server it starts on that
/// backend.
#[allow(unused_macros)]
macro_rules! both_backends {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() {
                common::on(common::Backend::Sqlite, || $body)
            }

            #[test]
            fn postgres() {
                common::on(common::Backend::Postgres, || $body)
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use both_backends;

/// The desk CLI, built next to the server binary (same workspace target dir).
pub fn xinfang_bin() -> PathBuf {
    let dir = Path::new(CITY_BIN).parent().expect("bin dir");
    let bin = dir.join("xinfang");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "xinfang-cli", "--bin", "xinfang"])
            .status()
            .expect("cargo build xinfang");
        assert!(status.success(), "building the xinfang CLI failed");
    }
    bin
}

/// A running `xinfang-city serve`, killed on drop.
pub struct Server {
    pub dir: TempDir,
    pub url: String,
    pub addr: SocketAddr,
    child: Option<Child>,
    /// `--database` given to the server and to every administration command, if any.
    pub database: Option<String>,
    /// Extra `serve` arguments, given again at a restart.
    extra: Vec<String>,
}

impl Server {
    /// Starts the real server binary on a free loopback port in a new temp data dir.
    pub fn start() -> Server {
        Self::start_in(TempDir::new().unwrap())
    }

    /// Starts the real server binary on a free loopback port in `dir` (which may hold a
    /// `reference/` dir of the city's own lists).
    pub fn start_in(dir: TempDir) -> Server {
        Self::launch(dir, &[], "http")
    }

    /// Starts the real server binary in `dir` with extra `serve` arguments.
    pub fn start_in_with(dir: TempDir, extra: &[&str]) -> Server {
        Self::launch(dir, extra, "http")
    }

    /// Starts the server in `dir` on the current backend ([`on`]).
    fn launch(dir: TempDir, extra: &[&str], scheme: &str) -> Server {
        Self::launch_on(dir, database_for_backend(), extra, scheme)
    }

    /// Starts the server in `dir` on `database` (`None`: the data dir's SQLite file), e.g. a hub
    /// on the database its `hub join` wrote to.
    pub fn start_in_on(dir: TempDir, database: Option<String>, extra: &[&str]) -> Server {
        Self::launch_on(dir, database, extra, "http")
    }

    fn launch_on(dir: TempDir, database: Option<String>, extra: &[&str], scheme: &str) -> Server {
        let mut args: Vec<&str> = extra.to_vec();
        if let Some(uri) = &database {
            args.extend(["--database", uri.as_str()]);
        }
        let (child, addr) = spawn_server(dir.path(), "127.0.0.1:0".parse().unwrap(), &args);
        Server {
            dir,
            url: format!("{scheme}://{addr}"),
            addr,
            child: Some(child),
            database,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Starts the real server binary in `dir` listening on `listen` (e.g. `0.0.0.0:0`, every
    /// interface, as a hall hub on its LAN); `url` names the server by `host`.
    pub fn start_listening(dir: TempDir, listen: SocketAddr, host: &str, extra: &[&str]) -> Server {
        Self::start_listening_on(dir, None, listen, host, extra)
    }

    /// [`Server::start_listening`] on `database` (`None`: the data dir's SQLite file).
    pub fn start_listening_on(
        dir: TempDir,
        database: Option<String>,
        listen: SocketAddr,
        host: &str,
        extra: &[&str],
    ) -> Server {
        let mut args: Vec<&str> = extra.to_vec();
        if let Some(uri) = &database {
            args.extend(["--database", uri.as_str()]);
        }
        let (child, addr) = spawn_server(dir.path(), listen, &args);
        Server {
            dir,
            url: format!("http://{host}:{}", addr.port()),
            addr,
            child: Some(child),
            database,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Starts the real server binary with extra `serve` arguments (e.g. `--min-protocol 3`).
    pub fn start_with(extra: &[&str]) -> Server {
        Self::launch(TempDir::new().unwrap(), extra, "http")
    }

    /// Starts the real server binary on the database `uri` (`--database`), with a fresh data
    /// dir for everything else.
    pub fn start_on(uri: &str) -> Server {
        let dir = TempDir::new().unwrap();
        let (child, addr) = spawn_server(
            dir.path(),
            "127.0.0.1:0".parse().unwrap(),
            &["--database", uri],
        );
        Server {
            dir,
            url: format!("http://{addr}"),
            addr,
            child: Some(child),
            database: Some(uri.to_owned()),
            extra: Vec::new(),
        }
    }

    /// Starts the real server binary on the database `uri` with extra `serve` arguments: a
    /// second instance of the same city (issue 18).
    pub fn start_on_with(uri: &str, extra: &[&str]) -> Server {
        let dir = TempDir::new().unwrap();
        let mut args = vec!["--database", uri];
        args.extend_from_slice(extra);
        let (child, addr) = spawn_server(dir.path(), "127.0.0.1:0".parse().unwrap(), &args);
        Server {
            dir,
            url: format!("http://{addr}"),
            addr,
            child: Some(child),
            database: Some(uri.to_owned()),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Starts the real server binary serving HTTPS with the given PEM certificate and key.
    pub fn start_tls(cert: &Path, key: &Path) -> Server {
        let dir = TempDir::new().unwrap();
        let tls = [
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ];
        Self::launch(dir, &tls, "https")
    }

    /// Runs an administration command against this server's data dir, success or not.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(CITY_BIN);
        cmd.args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            // Plaintext: the tests read the server's database directly.
            .arg("--no-encryption")
            .env("XINFANG_LOG", "warn");
        if let Some(uri) = &self.database {
            cmd.arg("--database").arg(uri);
        }
        cmd.output().unwrap()
    }

    /// Runs an administration command that must succeed; returns stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "xinfang-city {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A fresh one-time enrolment code for `hall` (the last word of stdout).
    pub fn enrol_code(&self, hall: &str) -> String {
        last_word(&self.admin(&["enrol-code", "--hall", hall]))
    }

    pub fn admin_token(&self) -> String {
        last_word(&self.admin(&["admin-token"]))
    }

    /// Enrols a device of `hall` over `POST /v1/enrol`; returns its token.
    pub fn enrol_device(&self, hall: &str, device_id: &str) -> String {
        let code = self.enrol_code(hall);
        let (status, body) = self.post_json(
            "/v1/enrol",
            None,
            &serde_json::json!({ "code": code, "device_id": device_id, "hall_code": hall }),
        );
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// kill -9, no goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-9", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }

    /// SIGTERM (a graceful shutdown); waits for the exit at most `within`, else kills and
    /// returns `None`.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let end = Instant::now() + within;
        while Instant::now() < end {
            if let Ok(Some(status)) = c.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    /// Starts the binary again on the same address and data dir.
    pub fn restart(&mut self) {
        self.kill9();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The port may linger for a moment after the kill.
            if TcpListener::bind(self.addr).is_ok() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        if let Some(uri) = &self.database {
            args.extend(["--database", uri]);
        }
        let (child, addr) = spawn_server(self.dir.path(), self.addr, &args);
        assert_eq!(addr, self.addr);
        self.child = Some(child);
    }

    /// Starts the binary again on the same address, data dir and database with extra
    /// environment (e.g. `XINFANG_CLOCK_SKEW_SECS`: the server's clock moved on).
    pub fn restart_with_env(&mut self, env: &[(&str, &str)]) {
        self.kill9();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpListener::bind(self.addr).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        if let Some(uri) = &self.database {
            args.extend(["--database", uri]);
        }
        let (child, addr) = spawn_server_env(self.dir.path(), self.addr, &args, env);
        assert_eq!(addr, self.addr);
        self.child = Some(child);
    }

    /// The rows a query answers on the server's database, whichever backend, each row's
    /// columns as text joined by `|` (the SQL must be portable between SQLite and PostgreSQL).
    pub fn rows(&self, sql: &str) -> Vec<String> {
        match self.database.as_deref() {
            // Each row marked: psql prints a row of one NULL, and no row at all, as nothing.
            Some(uri) if uri.starts_with("postgres") => {
                pg::query(uri, &format!("SELECT 'r', q.* FROM ({sql}) q"))
                    .lines()
                    .filter_map(|l| l.strip_prefix("r|").map(str::to_owned))
                    .collect()
            }
            _ => {
                let db = self.db();
                let mut stmt = db.prepare(sql).unwrap();
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => String::new(),
                                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<_>>>()
                        .map(|cols| cols.join("|"))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
            }
        }
    }

    /// The one number a query answers on the server's database (0 when it cannot be read yet).
    pub fn int(&self, sql: &str) -> i64 {
        match self.database.as_deref() {
            Some(uri) if uri.starts_with("postgres") => pg::query(uri, sql).parse().unwrap_or(0),
            _ => self.db().query_row(sql, [], |r| r.get(0)).unwrap_or(0),
        }
    }

    /// Read-only view of the server's database.
    pub fn db(&self) -> Connection {
        Connection::open_with_flags(
            self.dir.path().join("city.db"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    /// Lets `secs` pass for the enrolment codes already made: their expiry moves back, so a
    /// test sees a code expire without waiting for the clock.
    pub fn age_enrol_codes(&self, secs: i64) {
        self.execute(&format!(
            "UPDATE enrol_codes SET expires_at = expires_at - {secs}"
        ));
    }

    /// Runs statements that change the server's database behind its back (as someone with a
    /// database shell could), whichever backend; the SQL must be portable.
    pub fn execute(&self, sql: &str) {
        match self.database.as_deref() {
            Some(uri) if uri.starts_with("postgres") => {
                pg::query(uri, sql);
            }
            _ => Connection::open(self.dir.path().join("city.db"))
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
        }
    }

    /// SQL of a binary column as lowercase hex, whichever backend.
    pub fn hex_sql(&self, column: &str) -> String {
        if self.on_postgres() {
            format!("encode({column}, 'hex')")
        } else {
            format!("lower(hex({column}))")
        }
    }

    /// SQL of a top-level field of a JSON column as text, whichever backend.
    pub fn json_sql(&self, column: &str, field: &str) -> String {
        if self.on_postgres() {
            format!("{column}->>'{field}'")
        } else {
            format!("json_extract({column}, '$.{field}')")
        }
    }

    /// Whether this server keeps its data on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.database
            .as_deref()
            .is_some_and(|uri| uri.starts_with("postgres"))
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let client = reqwest::blocking::Client::new();
        let mut req = client
            .get(format!("{}{path}", self.url))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        // A live stream never ends: its status is the answer.
        if resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
        {
            return (status, serde_json::Value::Null);
        }
        (status, resp.json().unwrap_or(serde_json::Value::Null))
    }

    pub fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let client = reqwest::blocking::Client::new();
        // As a desk of this build: with its protocol version.
        let mut req = client
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(serde_json::Value::Null))
    }

    pub fn post_json(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.post_raw(
            path,
            token,
            "application/json",
            body.to_string().into_bytes(),
        )
    }

    pub fn healthy(&self) -> bool {
        self.get("/healthz", None).0 == 200
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn spawn_server(dir: &Path, listen: SocketAddr, extra: &[&str]) -> (Child, SocketAddr) {
    spawn_server_env(dir, listen, extra, &[])
}

fn spawn_server_env(
    dir: &Path,
    listen: SocketAddr,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Child, SocketAddr) {
    let mut child = Command::new(CITY_BIN)
        .args(["serve", "--listen", &listen.to_string(), "--data-dir"])
        .arg(dir)
        .arg("--no-encryption")
        .args(extra)
        .env("XINFANG_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start xinfang-city");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .parse()
        .unwrap_or_else(|_| panic!("server did not print its address: {line:?}"));
    (child, addr)
}

/// A raw connection to a desk's database, encrypted (unlocked with `username`'s password) or
/// not.
pub fn desk_conn(dir: &Path, username: &str, password: &str) -> Connection {
    let key = if Store::is_encrypted_dir(dir) {
        let store = Store::unlock(
            dir,
            &xinfang_store::Credentials::password(username, password),
        )
        .expect("unlock the desk");
        store.data_key()
    } else {
        None
    };
    xinfang_store::open_raw(&dir.join(xinfang_store::DB_FILE), key.as_ref()).unwrap()
}

pub fn last_word(s: &str) -> String {
    s.split_whitespace()
        .last()
        .unwrap_or_default()
        .rsplit('：')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A desk: a real data dir with a store, a clerk, and a deterministic stream of visitors.
pub struct Desk {
    pub dir: TempDir,
    pub hall: String,
    /// The desk's administrator (enrols it, leaves its server).
    pub admin: Staff,
    pub clerk: Staff,
    rng: ChaCha8Rng,
    pub registered: usize,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "𠮷",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰",
];

impl Desk {
    pub fn new(hall: &str, seed: u64) -> Desk {
        let dir = TempDir::new().unwrap();
        // Plaintext stores: the harness reads their files directly (sync does not depend on
        // encryption at rest; CLI-made desks are encrypted, see `desk_conn`).
        let mut store = Store::create_unencrypted(dir.path(), hall).unwrap();
        // The desk's first admin: the root its enrolment offers, which signs the clerk.
        let admin = store
            .add_staff(&NewStaff {
                username: format!("admin{seed}"),
                display_name: "管理员".into(),
                roles: vec![Role::Admin],
                password: "correct horse battery".into(),
            })
            .unwrap();
        let clerk = store
            .add_staff(&NewStaff {
                username: format!("clerk{seed}"),
                display_name: "王接待".into(),
                roles: vec![Role::Clerk],
                password: "correct horse battery".into(),
            })
            .unwrap();
        Desk {
            dir,
            hall: hall.into(),
            admin,
            clerk,
            rng: ChaCha8Rng::seed_from_u64(seed),
            registered: 0,
        }
    }

    pub fn open(&self) -> Store {
        Store::open_unencrypted(self.dir.path()).unwrap()
    }

    pub fn device_id(&self) -> String {
        self.open().device_id().to_owned()
    }

    /// A valid resident ID number unique to this (seed, n).
    pub fn resident_id(&mut self) -> String {
        let birth = format!(
            "19{:02}{:02}{:02}",
            self.rng.random_range(40..99),
            self.rng.random_range(1..13),
            self.rng.random_range(1..29)
        );
        let body = format!("{}{birth}{:03}", self.hall, self.rng.random_range(0..1000));
        format!("{body}{}", resident_id_check_char(&body).unwrap())
    }

    pub fn visitor(&mut self, id_number: &str) -> VisitorInput {
        let name = format!(
            "{}{}",
            SURNAMES[self.rng.random_range(0..SURNAMES.len())],
            GIVEN[self.rng.random_range(0..GIVEN.len())]
        );
        VisitorInput {
            name,
            id_number: id_number.into(),
            phone: format!("13{:09}", self.rng.random_range(0..1_000_000_000u64)),
            ..Default::default()
        }
    }

    pub fn visit_input(&mut self, visitors: Vec<VisitorInput>) -> VisitInput {
        VisitInput {
            visited_at: String::new(),
            visitors,
            head_count: 0,
            representatives: vec![],
            appeal: format!("拖欠工资，请求协调支付（{}）。", self.registered),
            appeal_kind: "claim".into(),
            category: "劳动和社会保障".into(),
            agency: if self.registered.is_multiple_of(2) {
                String::new()
            } else {
                "县人社局".into()
            },
            place_code: self.hall.clone(),
        }
    }

    /// Registers `n` visits of new visitors in one transaction per visit.
    pub fn register_new(&mut self, n: usize) {
        let mut store = self.open();
        for _ in 0..n {
            let id = self.resident_id();
            let v = self.visitor(&id);
            self.register_with(&mut store, vec![v]);
        }
    }

    /// Registers `n` visits in one transaction (fast bulk for large tests).
    pub fn register_bulk(&mut self, n: usize) {
        let mut store = self.open();
        let mut visits = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.resident_id();
            let v = self.visitor(&id);
            let input = self.visit_input(vec![v]);
            visits.push(
                validate_visit(&input, ReferenceData::bundled(), now())
                    .unwrap_or_else(|e| panic!("{e:?}")),
            );
            self.registered += 1;
        }
        store.register_visits(&visits, &self.clerk.id).unwrap();
    }

    /// A visit of a visitor already on file (maybe pulled), with a new phone: a field update.
    pub fn register_returning(&mut self, id_number: &str) {
        let mut store = self.open();
        let v = self.visitor(id_number);
        self.register_with(&mut store, vec![v]);
    }

    fn register_with(&mut self, store: &mut Store, visitors: Vec<VisitorInput>) {
        let input = self.visit_input(visitors);
        let valid = validate_visit(&input, ReferenceData::bundled(), now())
            .unwrap_or_else(|e| panic!("{e:?}"));
        store.register_visit(&valid, &self.clerk.id).unwrap();
        self.registered += 1;
    }

    pub fn enrol(&self, server_url: &str, code: &str) -> Result<(), SyncError> {
        let mut store = self.open();
        client::enrol(&mut store, server_url, code, "test desk").map(|_| ())
    }

    pub fn sync(&self) -> Result<SyncReport, SyncError> {
        let mut store = self.open();
        client::sync_once(&mut store)
    }

    /// Points the stored server address elsewhere (e.g. at a proxy).
    pub fn set_server(&self, url: &str) {
        let conn = Connection::open(self.dir.path().join(xinfang_store::DB_FILE)).unwrap();
        conn.execute(
            "UPDATE sync_state SET value = ?1 WHERE key = 'server_url'",
            [url],
        )
        .unwrap();
    }

    pub fn db(&self) -> Connection {
        Connection::open_with_flags(
            self.dir.path().join(xinfang_store::DB_FILE),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    /// The synced records, table by table, one line per row (timestamps left out).
    pub fn snapshot(&self) -> BTreeMap<&'static str, Vec<String>> {
        snapshot(&self.db())
    }

    pub fn count(&self, table: &str) -> i64 {
        self.db()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

pub const SNAPSHOT: &[(&str, &str)] = &[
    (
        "visitors",
        "SELECT id, name, id_type, id_number, sex, birth_date, phone, address, ethnicity, occupation,
                pinyin_full, pinyin_initials, hall_code FROM visitors",
    ),
    (
        "visits",
        "SELECT id, hall_code, visited_at, visit_date, queue_no, clerk_id, head_count, appeal,
                appeal_kind, category_code, agency, place_code, is_repeat, matter_id FROM visits",
    ),
    (
        "visit_visitors",
        "SELECT visit_id, visitor_id, position, is_representative FROM visit_visitors",
    ),
    (
        "matters",
        "SELECT id, hall_code, first_visit_id, appeal_kind, category_code, confidential, status,
                received_on, number, shown_number FROM matters",
    ),
];

pub fn snapshot(conn: &Connection) -> BTreeMap<&'static str, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, sql) in SNAPSHOT {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let vals: Vec<String> = (0..n)
                    .map(|i| {
                        let v: rusqlite::types::Value = r.get(i).unwrap();
                        format!("{v:?}")
                    })
                    .collect();
                Ok(vals.join("|"))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        rows.sort();
        out.insert(*name, rows);
    }
    out
}

/// Now in China: the desks and the server under test run on the real clock.
pub fn now() -> chrono::DateTime<chrono::FixedOffset> {
    xinfang_core::clock::Clock::now_cst(&xinfang_core::clock::SystemClock)
}

/// A TCP proxy that cuts some connections after a random number of bytes in either direction.
pub struct FaultyProxy {
    pub url: String,
    stop: Arc<AtomicBool>,
    pub connections: Arc<AtomicU64>,
    pub cuts: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl FaultyProxy {
    /// `cut_probability`: share of connections cut; offsets uniform in `0..max_offset` bytes.
    pub fn start(
        upstream: SocketAddr,
        cut_probability: f64,
        max_offset: usize,
        seed: u64,
    ) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(AtomicU64::new(0));
        let rng = Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(seed)));
        let (s, conns, c) = (stop.clone(), connections.clone(), cuts.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        conns.fetch_add(1, Ordering::Relaxed);
                        let Ok(server) = TcpStream::connect(upstream) else {
                            continue;
                        };
                        let (up_cut, down_cut) = {
                            let mut r = rng.lock().unwrap();
                            if r.random_bool(cut_probability) {
                                c.fetch_add(1, Ordering::Relaxed);
                                // Cut one direction at a random byte; the other runs freely.
                                let at = r.random_range(0..max_offset.max(1));
                                if r.random_bool(0.5) {
                                    (Some(at), None)
                                } else {
                                    (None, Some(at))
                                }
                            } else {
                                (None, None)
                            }
                        };
                        let _ = client.set_nonblocking(false);
                        pump_pair(client, server, up_cut, down_cut);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FaultyProxy {
            url,
            stop,
            connections,
            cuts,
            handle: Some(handle),
        }
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn pump_pair(client: TcpStream, server: TcpStream, up_cut: Option<usize>, down_cut: Option<usize>) {
    let c2 = client.try_clone().unwrap();
    let s2 = server.try_clone().unwrap();
    let (c3, s3) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || pump(client, server, up_cut, (c3, s3)));
    let (c4, s4) = (c2.try_clone().unwrap(), s2.try_clone().unwrap());
    std::thread::spawn(move || pump(s2, c2, down_cut, (c4, s4)));
}

/// Copies `from` → `to`; after `cut` bytes, drops both connections in both directions.
fn pump(mut from: TcpStream, mut to: TcpStream, cut: Option<usize>, both: (TcpStream, TcpStream)) {
    let mut buf = [0u8; 4096];
    let mut sent = 0usize;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let n = match cut {
            Some(at) if sent + n >= at => {
                let _ = to.write_all(&buf[..at - sent]);
                let _ = both.0.shutdown(Shutdown::Both);
                let _ = both.1.shutdown(Shutdown::Both);
                return;
            }
            _ => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n;
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Runs the real desk CLI on `desk`'s data dir as its clerk, with `--json`; returns (exit code,
/// stdout JSON, stderr).
pub fn desk_cli(
    desk: &Desk,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, serde_json::Value, String) {
    desk_cli_as(desk, &desk.clerk, args, env)
}

/// [`desk_cli`] as the desk's administrator (enrolment, leaving the server).
pub fn desk_admin_cli(
    desk: &Desk,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, serde_json::Value, String) {
    desk_cli_as(desk, &desk.admin, args, env)
}

fn desk_cli_as(
    desk: &Desk,
    who: &Staff,
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, serde_json::Value, String) {
    let mut cmd = Command::new(xinfang_bin());
    cmd.arg("--data-dir")
        .arg(desk.dir.path())
        .arg("--user")
        .arg(&who.username)
        .arg("--json")
        .args(args)
        .env("XINFANG_PASSWORD", cli_desk::PASSWORD)
        .env("XINFANG_NEW_PASSWORD", cli_desk::PASSWORD)
        .env("XINFANG_LOG", "warn")
        .env_remove("XINFANG_SERVER_URL")
        .env_remove("XINFANG_CA_FILE")
        .env_remove("XINFANG_USER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(stdout.trim())
        .unwrap_or(serde_json::Value::String(stdout.into_owned()));
    (
        out.status.code().unwrap_or(-1),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A desk made and driven with the real `xinfang` CLI (an encrypted store), enrolled with a
/// server: what the tests of whole use cases across desks share.
pub mod cli_desk {
    use std::path::Path;
    use std::process::Command;

    use serde_json::Value;

    use super::{Server, xinfang_bin};

    pub const PASSWORD: &str = "correct horse battery";
    const HALL: &str = "140521";

    /// Runs the real desk CLI as `user` with `--json`; returns (exit code, parsed stdout).
    pub fn cli(dir: &Path, user: &str, args: &[&str]) -> (i32, Value) {
        let out = Command::new(xinfang_bin())
            .arg("--data-dir")
            .arg(dir)
            .arg("--json")
            .args(args)
            .env("XINFANG_PASSWORD", PASSWORD)
            .env("XINFANG_NEW_PASSWORD", PASSWORD)
            .env("XINFANG_LOG", "warn")
            .env_remove("XINFANG_SERVER_URL")
            .env("XINFANG_USER", user)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value = serde_json::from_str(stdout.trim()).unwrap_or(Value::String(format!(
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )));
        (out.status.code().unwrap_or(-1), value)
    }

    pub fn ok(dir: &Path, user: &str, args: &[&str]) -> Value {
        let (code, out) = cli(dir, user, args);
        assert_eq!(code, 0, "xinfang {args:?} as {user}: {out}");
        out
    }

    /// A desk made with the CLI, enrolled with `server`: admin, a clerk and a supervisor.
    pub fn desk(server: &Server) -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().unwrap();
        let d = dir.path();
        ok(d, "admin", &["init", "--hall", HALL, "--admin", "admin"]);
        for (user, name, role) in [
            ("clerk", "王接待", "clerk"),
            ("boss", "李主任", "supervisor"),
        ] {
            ok(
                d,
                "admin",
                &[
                    "staff",
                    "add",
                    "--username",
                    user,
                    "--name",
                    name,
                    "--role",
                    role,
                ],
            );
        }
        let code = server.enrol_code(HALL);
        ok(
            d,
            "admin",
            &["enrol", "--server", &server.url, "--code", &code],
        );
        dir
    }
}

/// A JPEG of `len` bytes (its markers and `fill`), as a photo travels: base64.
pub fn jpeg(len: usize, fill: u8) -> String {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.resize(len - 2, fill);
    b.extend([0xFF, 0xD9]);
    xinfang_core::photo::encode_photo(&b)
}

/// A change of `visit_photo` as a desk pushes it.
pub fn photo_change(seq: usize, id: &str) -> serde_json::Value {
    serde_json::json!({ "seq": seq, "entity": "visit_photo", "entity_id": id, "op": "insert",
            "fields": { "visitor_id": "p-1", "jpeg": jpeg(90_000, seq as u8), "taken_by": "s-1",
                        "taken_at": "2026-12-05T10:00:00+08:00" },
            "hlc": 1_000_000 + seq, "changed_at": "2026-12-05T10:00:00+08:00" })
}
