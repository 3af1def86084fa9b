//! Load generator: N simulated desks, each enrolled, pushing and pulling realistic batches
//! (a visitor, their visit and the link: three changes a registration) against one or more
//! running `xinfang-city` instances, round robin per desk. Prints changes/s ingested, push
//! latency p50/p99 and errors; with `--bare`, a plain PostgreSQL `INSERT … ON CONFLICT` of the
//! same rows for comparison (docs/performance.md "Province scale").
//!
//! ```sh
//! cargo run --release -p xinfang-city --example load -- \
//!   --urls http://127.0.0.1:8751,http://127.0.0.1:8752 \
//!   --database postgres://xinfang@127.0.0.1:5432/xinfang --desks 200 --batches 5 --bare
//! ```
//! `--database` is where the enrolment codes are made (the servers' database). The short form
//! runs in `tests/postgres.rs` against two instances on one PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use xinfang_city::database::Database;
use xinfang_city::{auth, protocol, storage};
use xinfang_sync::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};
use xinfang_sync::{Change, Hlc, Op};

const HALLS: [&str; 6] = ["140502", "140521", "140522", "140524", "140525", "140581"];

pub struct Args {
    pub urls: Vec<String>,
    pub database: String,
    pub desks: usize,
    pub batches: usize,
    /// Registrations a batch (three changes each).
    pub per_batch: usize,
    /// Halls the desks are spread over: the first six are 晋城's counties; more are made up
    /// (a province has ~120 county halls for its ~1,000 desks).
    pub halls: usize,
    pub bare: bool,
}

/// What a run measured.
#[derive(Debug)]
pub struct Report {
    pub changes: usize,
    pub secs: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub errors: usize,
}

fn args() -> Args {
    let mut a = Args {
        urls: Vec::new(),
        database: String::new(),
        desks: 20,
        batches: 5,
        per_batch: 50,
        halls: HALLS.len(),
        bare: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().expect("a value after each option");
        match k.as_str() {
            "--urls" => a.urls = v().split(',').map(str::to_owned).collect(),
            "--database" => a.database = v(),
            "--desks" => a.desks = v().parse().expect("--desks N"),
            "--batches" => a.batches = v().parse().expect("--batches N"),
            "--per-batch" => a.per_batch = v().parse().expect("--per-batch N"),
            "--halls" => a.halls = v().parse().expect("--halls N"),
            "--bare" => a.bare = true,
            other => panic!("unknown option {other}"),
        }
    }
    assert!(
        !a.urls.is_empty() && !a.database.is_empty(),
        "--urls and --database are needed"
    );
    a
}

/// One registration at a desk: the visitor, the visit and the link, as a desk sends them.
fn registration(device: &str, hall: &str, seq: &mut i64, n: usize) -> Vec<Change> {
    let now = xinfang_sync::hlc::wall_ms();
    let visitor = format!("{device}-p{n}");
    let visit = format!("{device}-v{n}");
    let mut out = Vec::new();
    for (entity, id, fields) in [
        (
            "visitor",
            visitor.clone(),
            json!({"name": "张三", "id_number": format!("1405211980{n:08}"), "phone": "13800000000",
                   "address": "晋城市沁水县龙港镇", "hall_code": hall}),
        ),
        (
            "visit",
            visit.clone(),
            json!({"visited_at": "2026-03-02T09:15:07+08:00", "appeal_kind": "claim",
                   "category_code": "0301", "agency": "县人社局", "head_count": 1,
                   "appeal": "讨要工资", "clerk_id": "staff-1", "hall_code": hall}),
        ),
        (
            "visit_visitor",
            format!("{visit}:{visitor}"),
            json!({"visit_id": visit, "visitor_id": visitor}),
        ),
    ] {
        *seq += 1;
        out.push(Change {
            seq: *seq,
            entity: entity.into(),
            entity_id: id,
            op: Op::Insert,
            fields: fields.as_object().unwrap().clone(),
            hlc: Hlc::new(now, 0),
            changed_at: "2026-03-02T09:15:07+08:00".into(),
        });
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let a = args();
    let r = run(&a);
    println!(
        "desks {} instances {} changes {} in {:.1}s: {:.0} changes/s; push p50 {:?} p99 {:?}; errors {}",
        a.desks,
        a.urls.len(),
        r.changes,
        r.secs,
        r.changes as f64 / r.secs,
        r.p50,
        r.p99,
        r.errors
    );
    println!("  over {} halls", a.halls);
    if a.bare
        && let Database::Postgres(uri) = Database::parse(&a.database).unwrap()
    {
        let halls = hall_codes(a.halls);
        let desks: Vec<(String, &str)> = (0..a.desks)
            .map(|i| (device_name(i), halls[i % halls.len()].as_str()))
            .collect();
        bare(&uri, &desks, a.batches, a.per_batch);
    }
}

fn device_name(i: usize) -> String {
    format!("load-{}-{i:05}", std::process::id())
}

/// The codes of `n` halls: 晋城's six counties first, then made-up county codes.
fn hall_codes(n: usize) -> Vec<String> {
    (0..n.max(1))
        .map(|k| match HALLS.get(k) {
            Some(h) => h.to_string(),
            None => format!("14{:02}{:02}", 12 + k / 60, 30 + k % 60),
        })
        .collect()
}

/// Enrols the desks, then has each push and pull its batches at once.
pub fn run(a: &Args) -> Report {
    let store = match Database::parse(&a.database).expect("--database") {
        Database::Postgres(uri) => storage::open_postgres(&uri, None).expect("open database"),
        Database::Sqlite(path) => storage::open_sqlite(&path, None, None).expect("open database"),
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    // Enrol every desk (codes straight into the database: the servers' rate limit is for
    // strangers, not for this).
    let halls = hall_codes(a.halls);
    for (k, h) in halls.iter().enumerate().skip(HALLS.len()) {
        store
            .put_hall(h, &format!("负载测试大厅 {k}"))
            .expect("hall");
    }
    let mut desks = Vec::new();
    for i in 0..a.desks {
        let hall = halls[i % halls.len()].clone();
        let code = auth::new_code();
        protocol::add_enrol_code(store.as_ref(), &auth::code_hash(&code), &hall, i64::MAX)
            .expect("enrol code");
        let url = &a.urls[i % a.urls.len()];
        let device = device_name(i);
        let resp: serde_json::Value = client
            .post(format!("{url}/v1/enrol"))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .json(&json!({"code": code, "device_id": device, "hall_code": hall, "device_name": "load"}))
            .send()
            .and_then(reqwest::blocking::Response::error_for_status)
            .expect("enrol")
            .json()
            .unwrap();
        desks.push((
            device,
            hall,
            url.clone(),
            resp["token"].as_str().unwrap().to_owned(),
        ));
    }
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let start = Instant::now();
    let threads: Vec<_> = desks
        .into_iter()
        .map(|(device, hall, url, token)| {
            let (client, latencies, errors) = (client.clone(), latencies.clone(), errors.clone());
            let (batches, per_batch) = (a.batches, a.per_batch);
            std::thread::spawn(move || {
                let mut seq = 0i64;
                let mut n = 0usize;
                for _ in 0..batches {
                    let mut changes = Vec::new();
                    for _ in 0..per_batch {
                        changes.extend(registration(&device, &hall, &mut seq, n));
                        n += 1;
                    }
                    let t = Instant::now();
                    let push = client
                        .post(format!("{url}/v1/sync/push"))
                        .bearer_auth(&token)
                        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
                        .json(&json!({"changes": changes}))
                        .send()
                        .and_then(reqwest::blocking::Response::error_for_status);
                    let took = t.elapsed();
                    match push {
                        Ok(_) => latencies.lock().unwrap().push(took),
                        Err(e) => {
                            eprintln!("push: {e}");
                            *errors.lock().unwrap() += 1;
                        }
                    }
                    let pull = client
                        .post(format!("{url}/v1/sync/pull"))
                        .bearer_auth(&token)
                        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
                        .json(&json!({"cursors": {}, "limit": 200}))
                        .send()
                        .and_then(reqwest::blocking::Response::error_for_status);
                    if let Err(e) = pull {
                        eprintln!("pull: {e}");
                        *errors.lock().unwrap() += 1;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let errors = *errors.lock().unwrap();
    Report {
        changes: a.desks * a.batches * a.per_batch * 3,
        secs: start.elapsed().as_secs_f64(),
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
        errors,
    }
}

/// The same rows, one transaction a batch, as plain `INSERT … ON CONFLICT DO NOTHING` into a
/// table shaped like `changes`, from as many connections as desks (at most 16, the pool's size).
fn bare(uri: &str, desks: &[(String, &str)], batches: usize, per_batch: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The URI as the server reads it (sslmode, sslrootcert): the same TLS as the instances.
        let pg = xinfang_city::storage::pg_tls::parse(uri).unwrap();
        let (client, conn) = pg.config.connect(pg.tls.clone()).await.unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(
                "DROP TABLE IF EXISTS bare_changes;
                 CREATE TABLE bare_changes (device_id TEXT, seq BIGINT, hall_code TEXT, entity TEXT,
                   entity_id TEXT, op TEXT, fields TEXT, hlc BIGINT, changed_at TEXT,
                   PRIMARY KEY (device_id, seq))",
            )
            .await
            .unwrap();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for chunk in desks.chunks(desks.len().div_ceil(16)) {
            let chunk: Vec<(String, String)> = chunk
                .iter()
                .map(|(d, h)| (d.clone(), (*h).to_owned()))
                .collect();
            let (config, tls) = (pg.config.clone(), pg.tls.clone());
            tasks.push(tokio::spawn(async move {
                let (mut client, conn) = config.connect(tls).await.unwrap();
                tokio::spawn(conn);
                let st = client
                    .prepare(
                        "INSERT INTO bare_changes VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                         ON CONFLICT DO NOTHING",
                    )
                    .await
                    .unwrap();
                for (device, hall) in &chunk {
                    let mut seq = 0i64;
                    let mut n = 0usize;
                    for _ in 0..batches {
                        let tx = client.transaction().await.unwrap();
                        for _ in 0..per_batch {
                            for c in registration(device, hall, &mut seq, n) {
                                let fields = serde_json::to_string(&c.fields).unwrap();
                                tx.execute(
                                    &st,
                                    &[
                                        device,
                                        &c.seq,
                                        hall,
                                        &c.entity,
                                        &c.entity_id,
                                        &c.op.as_str(),
                                        &fields,
                                        &c.hlc.0,
                                        &c.changed_at,
                                    ],
                                )
                                .await
                                .unwrap();
                            }
                            n += 1;
                        }
                        tx.commit().await.unwrap();
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let changes = desks.len() * batches * per_batch * 3;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "bare PostgreSQL INSERT … ON CONFLICT: {changes} rows in {secs:.1}s: {:.0} rows/s",
            changes as f64 / secs
        );
    });
}
