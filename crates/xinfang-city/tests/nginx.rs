//! Two `xinfang-city` instances on one PostgreSQL behind nginx, with the example configuration of
//! the README (`deploy/nginx-city.conf`) as it is — only its ports and certificate paths changed —
//! and the real desk CLI trusting the city's CA (issue 18): desks enrol and sync over HTTPS
//! through nginx; an instance killed with -9 is skipped and nothing is lost or doubled; the live
//! notifications pass through at once; the enrolment limit counts each desk's address, not
//! nginx's.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::tls::Pki;
use common::{Desk, Server, desk_admin_cli, desk_cli, pg};
use xinfang_sync::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};

const CONFIG: &str = include_str!("../../../deploy/nginx-city.conf");
/// The example's upstream ports, replaced by the test instances' ports.
const EXAMPLE_PORTS: [&str; 2] = ["127.0.0.1:8751", "127.0.0.1:8752"];

/// nginx as installed by scripts/install-deps.sh.
fn nginx_bin() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("nginx is not installed: run scripts/install-deps.sh (Debian package nginx)")
}

/// nginx running the example site on a free loopback port, stopped on drop.
struct Nginx {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(pki: &Pki, upstreams: [&Server; 2]) -> Nginx {
        let dir = tempfile::TempDir::new().unwrap();
        // Workers run as an unprivileged user when the tests run as root: they need to reach
        // the certificate and their temp dirs.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut site = CONFIG
            .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"))
            .replace("/etc/xinfang/tls/city.crt", &pki.path("server.pem"))
            .replace("/etc/xinfang/tls/city.key", &pki.path("server.key"));
        for (example, server) in EXAMPLE_PORTS.iter().zip(upstreams) {
            assert!(site.contains(example), "the example names {example}");
            site = site.replace(example, &server.addr.to_string());
        }
        let d = dir.path().display();
        let conf = format!(
            "worker_processes 1;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{site}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new(nginx_bin())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            assert!(Instant::now() < deadline, "nginx did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx {
            child,
            url: format!("https://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn device_token(desk: &Desk) -> String {
    desk.db()
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'device_token'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn pushed_seq(desk: &Desk) -> i64 {
    desk.db()
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'pushed_seq'",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap()
        .parse()
        .unwrap()
}

fn run_ok(desk: &Desk, args: &[&str], ca: &str) -> serde_json::Value {
    let (rc, out, err) = desk_cli(desk, args, &[("XINFANG_CA_FILE", ca)]);
    assert_eq!(rc, 0, "xinfang {args:?}: {out} {err}");
    out
}

/// Reads the live stream on a thread of its own: each event's name as it arrives.
fn listen(url: &str, token: &str, ca: &Path) -> mpsc::Receiver<String> {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let resp = reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .use_rustls_tls()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
        .get(format!("{url}/v1/sync/events"))
        .bearer_auth(token)
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(resp).lines() {
            let Ok(line) = line else { break };
            if let Some(name) = line.strip_prefix("event:")
                && tx.send(name.trim().to_owned()).is_err()
            {
                break;
            }
        }
    });
    rx
}

#[test]
fn desks_sync_through_nginx_over_two_instances_and_one_killed_loses_nothing() {
    let uri = pg::fresh_database();
    let proxy = ["--trusted-proxy", "127.0.0.1"];
    let mut a = Server::start_on_with(&uri, &proxy);
    let b = Server::start_on_with(&uri, &proxy);
    let pki = Pki::new();
    let nginx = Nginx::start(&pki, [&a, &b]);
    let ca = pki.path("ca.pem");

    let mut desks: Vec<Desk> = (0..2).map(|i| Desk::new("140521", 70 + i)).collect();
    for d in &desks {
        let code = a.enrol_code("140521");
        let (rc, out, err) = desk_admin_cli(
            d,
            &["enrol", "--server", &nginx.url, "--code", &code],
            &[("XINFANG_CA_FILE", &ca)],
        );
        assert_eq!(rc, 0, "{out} {err}");
    }

    // The other desk hears of a push at once, through nginx.
    let events = listen(&nginx.url, &device_token(&desks[1]), Path::new(&ca));
    assert_eq!(
        events.recv_timeout(Duration::from_secs(20)).unwrap(),
        "ready"
    );
    desks[0].register_new(3);
    run_ok(&desks[0], &["sync"], &ca);
    assert_eq!(
        events.recv_timeout(Duration::from_secs(10)).as_deref(),
        Ok("changed"),
        "the event passes nginx unbuffered"
    );

    for round in 0..3 {
        for d in desks.iter_mut() {
            d.register_new(2 + round);
            run_ok(d, &["sync"], &ca);
        }
    }

    // One instance killed: nginx sends everything to the other.
    a.kill9();
    desks[1].register_bulk(300);
    for d in &desks {
        run_ok(d, &["sync"], &ca);
    }
    for d in &desks {
        run_ok(d, &["sync"], &ca);
        let seq = pushed_seq(d);
        let row = pg::query(
            &uri,
            &format!(
                "SELECT count(*) || '|' || count(DISTINCT seq) || '|' || coalesce(max(seq), 0)
                 FROM changes WHERE device_id = '{}'",
                d.device_id()
            ),
        );
        assert_eq!(row, format!("{seq}|{seq}|{seq}"), "none lost, none doubled");
    }
    assert_eq!(
        desks[0].snapshot(),
        desks[1].snapshot(),
        "both replicas converge"
    );
}

/// Behind nginx every request reaches the instances from 127.0.0.1. With `--trusted-proxy` they
/// count the address nginx saw (the last X-Forwarded-For entry, which nginx appends), so a
/// client that makes up X-Forwarded-For addresses gets no fresh allowance: seven wrong codes
/// through nginx, spread over both instances, are two refusals of the code in all (the
/// allowance is kept in the database, shared by the instances: docs/sync.md) and then 429.
#[test]
fn made_up_forwarded_addresses_get_no_fresh_enrolment_allowance_through_nginx() {
    let uri = pg::fresh_database();
    let args = [
        "--trusted-proxy",
        "127.0.0.1",
        "--enrol-burst-per-address",
        "2",
        "--enrol-every-per-address",
        "1h",
    ];
    let a = Server::start_on_with(&uri, &args);
    let b = Server::start_on_with(&uri, &args);
    let pki = Pki::new();
    let nginx = Nginx::start(&pki, [&a, &b]);
    let ca = reqwest::Certificate::from_pem(&std::fs::read(pki.path("ca.pem")).unwrap()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .add_root_certificate(ca)
        .use_rustls_tls()
        .build()
        .unwrap();
    let wrong = serde_json::json!({
        "code": "AAAA-BBBB-CCCC", "device_id": "nginx-desk", "hall_code": "140521"
    });
    let statuses: Vec<u16> = (0..7)
        .map(|i| {
            client
                .post(format!("{}/v1/enrol", nginx.url))
                .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
                .header("X-Forwarded-For", format!("10.8.0.{i}"))
                .json(&wrong)
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    let refused_codes = statuses.iter().filter(|s| **s == 403).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((refused_codes, limited), (2, 5), "{statuses:?}");
}
