//! A real PostgreSQL for the tests: one cluster per test binary (`initdb` + `pg_ctl start` into
//! a temp dir on a free loopback port, as the unprivileged `postgres` user when the tests run
//! as root), a fresh database per test, the cluster stopped and removed when the binary exits.
//! No PostgreSQL installed is a failure with a clear message, never a skip.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

struct Cluster {
    bin: PathBuf,
    port: u16,
    /// The unprivileged user the server runs as, when the tests run as root.
    run_as: Option<&'static str>,
    /// A TLS-only cluster's CA (the one that signed its certificate).
    ca: Option<PathBuf>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
/// The second cluster, started on first use: `ssl = on` with a certificate of a test CA, and
/// only `hostssl` in pg_hba.conf, so a connection without TLS is refused.
static TLS_CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(1);

/// The bin dir of the newest PostgreSQL installed (Debian: /usr/lib/postgresql/N/bin), or
/// `XINFANG_PG_BIN`.
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("XINFANG_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): the PostgreSQL \
             backend's tests need it. Run scripts/install-deps.sh (Debian package `postgresql`) \
             or set XINFANG_PG_BIN to the dir of initdb and pg_ctl."
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn cmd(c: &Cluster, tool: &str) -> Command {
    let path = c.bin.join(tool);
    match c.run_as {
        Some(user) => {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", user, "--"]).arg(path);
            cmd
        }
        None => Command::new(path),
    }
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A loopback port no one listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Cluster {
    start_cluster(false)
}

fn start_tls() -> Cluster {
    start_cluster(true)
}

/// Writes `contents` to `path`, owned by the server's user with `mode`.
fn write_for(run_as: Option<&str>, path: &Path, contents: &[u8], mode: u32) {
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    if let Some(user) = run_as {
        let mut c = Command::new("chown");
        c.arg(format!("{user}:")).arg(path);
        run(c, "chown a cluster file");
    }
}

fn start_cluster(tls: bool) -> Cluster {
    let run_as = is_root().then_some("postgres");
    let base = std::env::temp_dir().join(format!(
        "xinfang-pg{}-{}",
        if tls { "-tls" } else { "" },
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    if let Some(user) = run_as {
        run(
            {
                let mut c = Command::new("chown");
                c.arg(format!("{user}:")).arg(&base);
                c
            },
            "chown the cluster dir",
        );
    }
    let mut c = Cluster {
        bin: bin_dir(),
        port: free_port(),
        run_as,
        ca: None,
    };
    let data = base.join("data");
    let mut initdb = cmd(&c, "initdb");
    initdb.arg("-D").arg(&data).args([
        "-A",
        "trust",
        "-U",
        "xinfang",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    run(initdb, "initdb");
    let mut ssl = String::new();
    if tls {
        // The repo's test PKI: a CA, and a certificate for 127.0.0.1 and localhost it signed.
        let pki = super::tls::Pki::new();
        let (cert, key, ca) = (
            base.join("server.crt"),
            base.join("server.key"),
            base.join("ca.pem"),
        );
        write_for(
            run_as,
            &cert,
            &std::fs::read(pki.path("server.pem")).unwrap(),
            0o644,
        );
        write_for(
            run_as,
            &key,
            &std::fs::read(pki.path("server.key")).unwrap(),
            0o600,
        );
        std::fs::copy(pki.path("ca.pem"), &ca).unwrap();
        // TLS over TCP only; the Unix socket stays for the tests' own psql.
        write_for(
            run_as,
            &data.join("pg_hba.conf"),
            b"local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            0o600,
        );
        ssl = format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            cert.display(),
            key.display()
        );
        c.ca = Some(ca);
    }
    // The port was free when asked for; another process (a parallel test's cluster) may take
    // it before the server binds it. Then the server does not start, and it tries another.
    for attempt in 1.. {
        let mut pg_ctl = cmd(&c, "pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(base.join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300{ssl}",
                c.port,
                base.display()
            ));
        pg_ctl.args(["-w", "start"]).stdout(Stdio::null());
        let out = pg_ctl.output().expect("pg_ctl start");
        if out.status.success() {
            break;
        }
        let log = std::fs::read_to_string(base.join("log")).unwrap_or_default();
        assert!(
            attempt < 3 && log.contains("could not bind"),
            "pg_ctl start failed: {}\n{log}",
            String::from_utf8_lossy(&out.stderr)
        );
        c.port = free_port();
    }
    watch_teardown(&c, &base, &data);
    c
}

/// Stops the cluster and removes its dir once this test binary has exited, however it ends.
fn watch_teardown(c: &Cluster, base: &Path, data: &Path) {
    let pg_ctl = c.bin.join("pg_ctl");
    let stop = match c.run_as {
        Some(user) => format!(
            "runuser -u {user} -- {} -D {} stop -m immediate",
            pg_ctl.display(),
            data.display()
        ),
        None => format!(
            "{} -D {} stop -m immediate",
            pg_ctl.display(),
            data.display()
        ),
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop} >/dev/null 2>&1; rm -rf {base}",
        pid = std::process::id(),
        base = base.display()
    );
    // Never waited for: it must outlive this process to see it gone.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the cluster's teardown watcher");
}

/// A new, empty database on the test cluster (started on first use): its URI.
pub fn fresh_database() -> String {
    fresh_on(CLUSTER.get_or_init(start))
}

/// A new, empty database on the TLS-only cluster (started on first use): its URI without
/// `sslmode`, and the CA file that signed the cluster's certificate.
pub fn fresh_tls_database() -> (String, PathBuf) {
    let c = TLS_CLUSTER.get_or_init(start_tls);
    (fresh_on(c), c.ca.clone().expect("a TLS cluster has a CA"))
}

/// A new, empty database on the test cluster whose collation and character classes are
/// `locale`'s (the cluster's own is C), as a cluster created with the system's locale has.
pub fn fresh_database_in_locale(locale: &str) -> String {
    create_on(
        CLUSTER.get_or_init(start),
        &format!("TEMPLATE template0 LC_COLLATE '{locale}' LC_CTYPE '{locale}'"),
    )
}

fn fresh_on(c: &Cluster) -> String {
    create_on(c, "")
}

fn create_on(c: &Cluster, options: &str) -> String {
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let mut psql = Command::new(c.bin.join("psql"));
    psql.args([
        "-h",
        "127.0.0.1",
        "-p",
        &c.port.to_string(),
        "-U",
        "xinfang",
        "-d",
        "postgres",
    ])
    .args([
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
        &format!("CREATE DATABASE {name} {options}"),
    ]);
    run(psql, "create the test database");
    format!("postgres://xinfang@127.0.0.1:{}/{name}", c.port)
}

/// One value (or `|`-separated row) a query on `uri` answers, through psql.
pub fn query(uri: &str, sql: &str) -> String {
    let out = Command::new(bin_dir().join("psql"))
        .args(["-At", "-v", "ON_ERROR_STOP=1", uri, "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
