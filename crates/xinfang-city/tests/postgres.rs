//! Several `xinfang-city` instances on one PostgreSQL (docs/sync.md "Server sequence"): writers
//! on two instances at once never let a reader that pages by server sequence skip a change;
//! desks pushing to both instances alternately converge, none lost or doubled, and a desk whose
//! instance is killed mid-push finishes on the other.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Desk, Server, pg};
use xinfang_city::storage::{Device, Done, NewEnrolment, PgStorage, Storage};
use xinfang_city::{auth, protocol};
use xinfang_core::clock::SystemClock;
use xinfang_sync::wire::SnapshotRequest;
use xinfang_sync::{Change, Hlc, Op};

// The load generator, in its short form (docs/performance.md "Province scale").
#[path = "../examples/load.rs"]
#[allow(dead_code)]
mod load;

fn open(uri: &str) -> Arc<PgStorage> {
    Arc::new(PgStorage::open(uri, None, Arc::new(SystemClock)).unwrap())
}

fn enrol(s: &dyn Storage, hall: &str, id: &str) -> Device {
    let code = auth::new_code();
    protocol::add_enrol_code(s, &auth::code_hash(&code), hall, i64::MAX).unwrap();
    let token = auth::token_hash(&format!("token-{id}"));
    protocol::enrol(
        s,
        &NewEnrolment {
            code_hash: auth::code_hash(&code),
            device_id: id.into(),
            hall_code: hall.into(),
            device_name: id.into(),
            token_hash: token.clone(),
            now: 0,
            roots: Vec::new(),
            hub: false,
            other_kind_hash: String::new(),
        },
    )
    .unwrap();
    s.device_by_token(&token).unwrap().unwrap()
}

fn visitor(device: &str, seq: i64) -> Change {
    let fields = serde_json::json!({ "name": format!("来访人{seq}"), "phone": "13800000000" });
    Change {
        seq,
        entity: "visitor".into(),
        entity_id: format!("{device}-visitor-{seq}"),
        op: Op::Insert,
        fields: fields.as_object().unwrap().clone(),
        hlc: Hlc::new(xinfang_sync::hlc::wall_ms(), 0),
        changed_at: "2026-03-02T09:15:07+08:00".into(),
    }
}

/// The classic gap: with numbers handed out before commit, a reader that has paged past n+1
/// never sees n committed late. Eight devices of two halls push through two instances at once
/// (the halls' writes run side by side, each hall's one at a time) while a third instance pages
/// each hall's visitor changes by server sequence (the snapshot of a new desk): each reader must
/// see every change of its hall exactly once.
#[test]
fn a_reader_paging_by_server_sequence_skips_nothing_while_two_instances_write() {
    const HALLS: [&str; 2] = ["140521", "140522"];
    let uri = pg::fresh_database();
    let (a, b, r) = (open(&uri), open(&uri), open(&uri));
    let readers: Vec<Device> = HALLS
        .iter()
        .map(|h| enrol(r.as_ref(), h, &format!("reader-{h}")))
        .collect();
    let (writers, batches, per_batch) = (8, 25, 4);
    let devices: Vec<Device> = (0..writers)
        .map(|i| enrol(a.as_ref(), HALLS[i % 2], &format!("writer-{i}")))
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(i, dev)| {
            let (a, b) = (a.clone(), b.clone());
            std::thread::spawn(move || {
                for batch in 0..batches {
                    let instance: &dyn Storage = if (i + batch) % 2 == 0 { &*a } else { &*b };
                    let first = (batch * per_batch) as i64 + 1;
                    let changes: Vec<Change> = (first..first + per_batch as i64)
                        .map(|seq| visitor(&dev.id, seq))
                        .collect();
                    let now = xinfang_sync::hlc::wall_ms();
                    let resp = protocol::push(instance, &dev, &changes, now).unwrap();
                    assert_eq!(resp.accepted, per_batch as u64);
                }
            })
        })
        .collect();
    let reading: Vec<_> = readers
        .into_iter()
        .map(|reader| {
            let (r, done) = (r.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen: Vec<(String, i64, i64)> = Vec::new();
                let mut after: Option<String> = None;
                loop {
                    // Read `done` first: a page read after it is the last word.
                    let finished = done.load(Ordering::SeqCst);
                    let page = r
                        .snapshot(
                            &reader,
                            &SnapshotRequest {
                                entity: "visitor".into(),
                                after: after.clone(),
                                limit: Some(7),
                            },
                        )
                        .unwrap();
                    if let Some(last) = page.changes.last() {
                        after = Some(last.server_seq.to_string());
                    }
                    let empty = page.changes.is_empty();
                    seen.extend(
                        page.changes
                            .into_iter()
                            .map(|c| (c.device_id, c.change.seq, c.server_seq)),
                    );
                    if finished && empty {
                        return seen;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for (h, reading) in HALLS.iter().zip(reading) {
        let seen = reading.join().unwrap();
        let total = writers / 2 * batches * per_batch;
        let distinct: BTreeSet<(String, i64)> =
            seen.iter().map(|(d, s, _)| (d.clone(), *s)).collect();
        assert_eq!(
            distinct.len(),
            total,
            "hall {h}: a change the reader paged past was skipped"
        );
        assert_eq!(seen.len(), total, "hall {h}: nothing seen twice");
        assert!(
            seen.windows(2).all(|w| w[0].2 < w[1].2),
            "hall {h}: pages in server order"
        );
    }
}

/// The write locks (docs/sync.md "Server sequence"): while a write of one hall is open, a
/// write of another hall commits; a second write of the same hall, and a city-wide write,
/// wait for it — also on another instance.
#[test]
fn a_halls_writes_wait_for_each_other_and_another_halls_do_not() {
    use std::sync::mpsc;
    let uri = pg::fresh_database();
    let (a, b) = (open(&uri), open(&uri));
    let (inside, is_inside) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let holder = std::thread::spawn({
        let a = a.clone();
        move || {
            a.write_hall("140521", &mut |_| {
                inside.send(()).unwrap();
                released.recv().unwrap();
                Ok(Done::Commit)
            })
            .unwrap()
        }
    });
    is_inside.recv().unwrap();
    let (finished, finishes) = mpsc::channel();
    let write = |what: &'static str, hall: Option<&'static str>| {
        let (b, finished) = (b.clone(), finished.clone());
        std::thread::spawn(move || {
            let mut body = |_: &mut dyn xinfang_city::storage::Tx| Ok(Done::Commit);
            match hall {
                Some(h) => b.write_hall(h, &mut body).unwrap(),
                None => b.write(&mut body).unwrap(),
            }
            finished.send(what).unwrap();
        })
    };
    write("another hall", Some("140522"));
    assert_eq!(
        finishes.recv_timeout(Duration::from_secs(60)),
        Ok("another hall"),
        "another hall's write commits while the first hall's is open"
    );
    write("the same hall", Some("140521"));
    write("city-wide", None);
    let waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted";
    wait_for("both writes waiting for a lock", || {
        pg::query(&uri, waiting) == "2"
    });
    assert!(
        finishes.try_recv().is_err(),
        "nothing finished while waiting"
    );
    release.send(()).unwrap();
    holder.join().unwrap();
    let mut rest = vec![
        finishes.recv_timeout(Duration::from_secs(60)).unwrap(),
        finishes.recv_timeout(Duration::from_secs(60)).unwrap(),
    ];
    rest.sort();
    assert_eq!(rest, ["city-wide", "the same hall"]);
}

/// Waits (polling the database, at most a minute) until `cond` holds.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every change each desk says it pushed is stored once: per device, as many rows as its
/// highest sequence, that sequence the desk's own.
fn check_stored(uri: &str, desks: &[Desk]) {
    for d in desks {
        let pushed: String = d
            .db()
            .query_row(
                "SELECT value FROM sync_state WHERE key = 'pushed_seq'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let row = pg::query(
            uri,
            &format!(
                "SELECT count(*) || '|' || count(DISTINCT seq) || '|' || coalesce(max(seq), 0)
                 FROM changes WHERE device_id = '{}'",
                d.device_id()
            ),
        );
        assert_eq!(
            row,
            format!("{pushed}|{pushed}|{pushed}"),
            "none lost, none doubled"
        );
    }
}

#[test]
fn desks_pushing_to_two_instances_converge_and_one_killed_mid_push_loses_and_doubles_nothing() {
    let uri = pg::fresh_database();
    let mut a = Server::start_on(&uri);
    let b = Server::start_on(&uri);
    let servers = [&a.url.clone(), &b.url.clone()];
    let mut desks: Vec<Desk> = (0..3).map(|i| Desk::new("140521", 40 + i)).collect();
    // A code made through one instance's database is good at the other: nothing in-process.
    for (i, d) in desks.iter().enumerate() {
        let code = a.enrol_code("140521");
        d.enrol(servers[(i + 1) % 2], &code).unwrap();
    }
    for round in 0..3 {
        for (i, d) in desks.iter_mut().enumerate() {
            d.register_new(4);
            d.set_server(servers[(i + round) % 2]);
            d.sync().unwrap();
        }
    }
    for round in 0..2 {
        for (i, d) in desks.iter().enumerate() {
            d.set_server(servers[(i + round) % 2]);
            assert_eq!(d.sync().unwrap().pending, 0);
        }
    }
    let first = desks[0].snapshot();
    for d in &desks[1..] {
        assert_eq!(d.snapshot(), first, "every replica converges");
    }
    check_stored(&uri, &desks);

    // Kill -9 the instance in the middle of a long push; the desk finishes on the other.
    let desk = &mut desks[0];
    desk.register_bulk(1500);
    desk.set_server(&a.url);
    let before: i64 = pg::query(&uri, "SELECT count(*) FROM changes")
        .parse()
        .unwrap();
    let dir = desk.dir.path().to_owned();
    let syncing = std::thread::spawn(move || {
        let mut store = xinfang_store::Store::open_unencrypted(&dir).unwrap();
        xinfang_sync::client::sync_once(&mut store)
    });
    wait_for("part of the push stored", || {
        pg::query(&uri, "SELECT count(*) FROM changes")
            .parse::<i64>()
            .unwrap()
            > before
    });
    a.kill9();
    let interrupted = syncing.join().unwrap();
    desk.set_server(&b.url);
    let report = desk.sync().unwrap();
    assert_eq!(report.pending, 0);
    eprintln!("first push: {:?}", interrupted.as_ref().map(|r| r.pushed));
    check_stored(&uri, &desks);
    for d in &desks[1..] {
        d.set_server(&b.url);
        d.sync().unwrap();
    }
    let first = desks[0].snapshot();
    for d in &desks[1..] {
        assert_eq!(
            d.snapshot(),
            first,
            "every replica converges after the kill"
        );
    }
    // A revocation made through any instance holds at the other at once.
    let revoked = desks[2].device_id();
    b.admin(&["device", "revoke", &revoked]);
    a.restart();
    desks[2].set_server(&a.url);
    let err = desks[2].sync().unwrap_err();
    assert!(format!("{err:?}").contains("token_revoked"), "{err:?}");
}

/// The load generator's short form: four desks against two instances on one PostgreSQL, every
/// push and pull answered, every change stored once.
#[test]
fn the_load_generator_runs_against_two_instances_without_errors() {
    let uri = pg::fresh_database();
    // Eight desks enrol from one address: the shared enrolment limit is raised, as the script does.
    let raised = ["--enrol-burst-per-address", "100", "--enrol-burst", "100"];
    let (a, b) = (
        Server::start_on_with(&uri, &raised),
        Server::start_on_with(&uri, &raised),
    );
    let report = load::run(&load::Args {
        urls: vec![a.url.clone(), b.url.clone()],
        database: uri.clone(),
        desks: 8,
        batches: 2,
        per_batch: 10,
        // Two made-up halls beside 晋城's six.
        halls: 8,
        bare: false,
    });
    assert_eq!((report.errors, report.changes), (0, 8 * 2 * 10 * 3));
    assert_eq!(
        pg::query(&uri, "SELECT count(*) FROM changes"),
        report.changes.to_string()
    );
    assert_eq!(
        pg::query(&uri, "SELECT count(*) FROM records WHERE entity = 'visit'"),
        (8 * 2 * 10).to_string()
    );
}
