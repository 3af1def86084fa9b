//! The enrolment and console-login rate limits are kept in the database (issue 18): the bucket
//! arithmetic on both backends at chosen times (no waiting for the clock), takes racing from
//! two stores on one PostgreSQL, and two real server instances on one PostgreSQL sharing one
//! allowance — the 429 comes after the burst in total, not per instance.

mod common;

use std::sync::Arc;

use common::{Server, pg};
use serde_json::json;
use xinfang_city::storage::{PgStorage, RateBucket, SqliteStorage, Storage};
use xinfang_core::clock::SystemClock;
use xinfang_sync::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};

/// A fresh store of each backend, and how many bucket rows it holds.
struct Store {
    name: &'static str,
    storage: Arc<dyn Storage>,
    _dir: Option<tempfile::TempDir>,
    uri: Option<String>,
}

impl Store {
    fn rows(&self) -> i64 {
        match &self.uri {
            Some(uri) => pg::query(uri, "SELECT count(*) FROM rate_buckets")
                .parse()
                .unwrap(),
            None => rusqlite::Connection::open(self._dir.as_ref().unwrap().path().join("city.db"))
                .unwrap()
                .query_row("SELECT count(*) FROM rate_buckets", [], |r| r.get(0))
                .unwrap(),
        }
    }
}

fn stores() -> Vec<Store> {
    let dir = tempfile::TempDir::new().unwrap();
    let uri = pg::fresh_database();
    vec![
        Store {
            name: "sqlite",
            storage: Arc::new(SqliteStorage::open(dir.path()).unwrap()),
            _dir: Some(dir),
            uri: None,
        },
        Store {
            name: "postgres",
            storage: Arc::new(PgStorage::open(&uri, None, Arc::new(SystemClock)).unwrap()),
            _dir: None,
            uri: Some(uri),
        },
    ]
}

#[test]
fn a_bucket_gives_its_burst_then_one_token_per_period_on_both_backends() {
    const T0: i64 = 1_780_000_000_000;
    let three = RateBucket {
        period_ms: 10_000,
        burst: 3,
    };
    for s in stores() {
        let take =
            |key: &str, at: i64, b: RateBucket| s.storage.take_rate_token(key, at, b).unwrap();
        let name = s.name;
        // The burst, then the wait for the next token.
        let burst: Vec<_> = (0..4).map(|_| take("enrol:global", T0, three)).collect();
        assert_eq!(burst, [None, None, None, Some(10_000)], "{name}");
        // Refusals take nothing: the wait only shrinks as time passes.
        assert_eq!(
            take("enrol:global", T0 + 4_000, three),
            Some(6_000),
            "{name}"
        );
        assert_eq!(take("enrol:global", T0 + 9_999, three), Some(1), "{name}");
        // One token per period after the burst.
        assert_eq!(take("enrol:global", T0 + 10_000, three), None, "{name}");
        assert_eq!(
            take("enrol:global", T0 + 10_000, three),
            Some(10_000),
            "{name}"
        );
        // The clock steps back ten minutes: the bucket's time stands still, it is not drained
        // (the wait is what it was at its latest time) and not refilled.
        assert_eq!(
            take("enrol:global", T0 + 10_000 - 600_000, three),
            Some(10_000),
            "{name}"
        );
        let back = RateBucket {
            period_ms: 10_000,
            burst: 3,
        };
        assert_eq!(take("enrol:back", T0, back), None, "{name}");
        assert_eq!(take("enrol:back", T0 - 600_000, back), None, "{name}");
        assert_eq!(take("enrol:back", T0 - 600_000, back), None, "{name}");
        assert_eq!(
            take("enrol:back", T0 - 590_000, back),
            Some(10_000),
            "{name}"
        );
        // Another key has its own bucket.
        assert_eq!(
            take("enrol:addr:10.0.0.7", T0 + 10_000, three),
            None,
            "{name}"
        );
        // A burst of one: half a period after it, still no token.
        let one = RateBucket {
            period_ms: 6_000,
            burst: 1,
        };
        assert_eq!(take("login:addr:127.0.0.1", T0, one), None, "{name}");
        assert_eq!(
            take("login:addr:127.0.0.1", T0 + 3_000, one),
            Some(3_000),
            "{name}"
        );
        assert_eq!(
            take("login:addr:127.0.0.1", T0 + 6_000, one),
            None,
            "{name}"
        );
        assert_eq!(s.rows(), 4, "{name}");
        // Idle for a while: the bucket refills, but never beyond the burst.
        let later = T0 + 10 * three.period_ms;
        let refilled: Vec<_> = (0..4).map(|_| take("enrol:global", later, three)).collect();
        assert_eq!(refilled, [None, None, None, Some(10_000)], "{name}");
        // Full buckets' rows (the address's, the login's) were pruned on the way: rows do
        // not pile up.
        assert_eq!(s.rows(), 1, "{name}");
        for i in 0..50 {
            take(&format!("enrol:addr:10.1.0.{i}"), later, three);
        }
        assert_eq!(s.rows(), 51, "{name}");
        take("enrol:global", later + 1_000 * three.period_ms, three);
        assert_eq!(
            s.rows(),
            1,
            "{name}: only the bucket just taken from is left"
        );
    }
}

/// Two stores (two instances) on one PostgreSQL take from one bucket at the same moment from
/// many threads: exactly the burst is given out.
#[test]
fn racing_instances_never_give_out_more_than_the_burst() {
    let uri = pg::fresh_database();
    let a: Arc<dyn Storage> = Arc::new(PgStorage::open(&uri, None, Arc::new(SystemClock)).unwrap());
    let b: Arc<dyn Storage> = Arc::new(PgStorage::open(&uri, None, Arc::new(SystemClock)).unwrap());
    let bucket = RateBucket {
        period_ms: 3_600_000,
        burst: 20,
    };
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || {
                (0..10)
                    .filter(|_| {
                        s.take_rate_token("enrol:global", 1_000_000, bucket)
                            .unwrap()
                            .is_none()
                    })
                    .count()
            })
        })
        .collect();
    let given: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(given, 20);
}

/// (status, error code, Retry-After) of a request to `server`.
fn post(server: &Server, path: &str, body: &serde_json::Value) -> (u16, String, Option<u64>) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}{path}", server.url))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .json(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body: serde_json::Value = resp.json().unwrap_or_default();
    if status == 429 {
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("太频繁") && message.contains("秒后再试"),
            "{message}"
        );
    }
    (
        status,
        body["code"].as_str().unwrap_or_default().to_owned(),
        retry_after,
    )
}

/// Wrong enrolment codes sent to two instances on one PostgreSQL in turn: the address's
/// allowance of four is spent after four in total, not four per instance (with the old
/// in-process limits all eight were answered 403). Then the server-wide allowance, and the
/// console's login allowance, likewise.
#[test]
fn two_instances_on_one_postgresql_share_the_enrolment_and_login_allowances() {
    let uri = pg::fresh_database();
    let args = [
        "--enrol-burst-per-address",
        "4",
        "--enrol-every-per-address",
        "1h",
    ];
    let servers = [
        Server::start_on_with(&uri, &args),
        Server::start_on_with(&uri, &args),
    ];
    let wrong =
        json!({ "code": "AAAA-BBBB-CCCC", "device_id": "shared-desk", "hall_code": "140521" });
    let answers: Vec<_> = (0..8)
        .map(|i| post(&servers[i % 2], "/v1/enrol", &wrong))
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(
        statuses,
        [403, 403, 403, 403, 429, 429, 429, 429],
        "{answers:?}"
    );
    for (_, code, retry_after) in &answers[4..] {
        assert_eq!(code, "too_many_requests");
        // The next token of the address's bucket: about an hour away.
        let secs = retry_after.expect("Retry-After");
        assert!((3500..=3600).contains(&secs), "{secs}");
    }

    // The server-wide allowance (three, from any address), shared the same way.
    let uri = pg::fresh_database();
    let args = ["--enrol-burst", "3", "--enrol-every", "1h"];
    let servers = [
        Server::start_on_with(&uri, &args),
        Server::start_on_with(&uri, &args),
    ];
    let statuses: Vec<u16> = (0..6)
        .map(|i| post(&servers[i % 2], "/v1/enrol", &wrong).0)
        .collect();
    assert_eq!(statuses, [403, 403, 403, 429, 429, 429]);
    // A real code waits its turn too, on either instance: the allowance is the city's.
    let code = servers[0].enrol_code("140521");
    let ok = json!({ "code": code, "device_id": "shared-desk", "hall_code": "140521" });
    assert_eq!(post(&servers[1], "/v1/enrol", &ok).0, 429);

    // Ten console login attempts from one address, in total, then 429 on both instances.
    let statuses: Vec<u16> = (0..12)
        .map(|i| {
            let body = json!({ "username": format!("nobody{i}"), "password": "wrong password" });
            post(&servers[i % 2], "/admin/api/login", &body).0
        })
        .collect();
    assert!(statuses[..10].iter().all(|s| *s != 429), "{statuses:?}");
    assert_eq!(statuses[10..], [429, 429], "{statuses:?}");
}
