//! Live notifications (`GET /v1/sync/events`, docs/sync.md "Live notifications"): the real
//! `xinfang-city` binary on loopback, real desks pushing, subscribers reading the stream with
//! the desk's own client. Nothing sleeps: each wait is a read of the stream with a timeout.

mod common;

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Desk, Server};
use xinfang_sync::Secret;
use xinfang_sync::client::{self, Client, EventStream, LiveEvent, SyncError};
use xinfang_sync::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};

/// The hall's budget for a hand-off to reach the other desks (issue 17).
const LIVE_BUDGET: Duration = Duration::from_secs(2);

fn enrolled(server: &Server, hall: &str, seed: u64) -> Desk {
    let desk = Desk::new(hall, seed);
    desk.enrol(&server.url, &server.enrol_code(hall)).unwrap();
    desk.sync().unwrap();
    desk
}

/// A desk's stream, checked to start with `ready`, read on a thread of its own: its events
/// (keep-alives left out) come out of the receiver with the moment they were read.
fn listen(desk: &Desk) -> mpsc::Receiver<(Instant, LiveEvent)> {
    let mut stream = client::live_events(&mut desk.open()).unwrap();
    assert_eq!(stream.next_event().unwrap(), LiveEvent::Ready);
    forward(stream)
}

fn forward(mut stream: EventStream) -> mpsc::Receiver<(Instant, LiveEvent)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(ev) = stream.next_event() {
            if ev != LiveEvent::KeepAlive && tx.send((Instant::now(), ev)).is_err() {
                break;
            }
        }
    });
    rx
}

fn changed(rx: &mpsc::Receiver<(Instant, LiveEvent)>, within: Duration) -> (Instant, i64) {
    match rx.recv_timeout(within) {
        Ok((at, LiveEvent::Changed { server_seq })) => (at, server_seq),
        other => panic!("expected a change notification within {within:?}, got {other:?}"),
    }
}

common::both_backends! {
fn a_push_reaches_the_halls_other_desks_at_once_and_no_other_hall() {
    let server = Server::start();
    let mut a = enrolled(&server, "140521", 1);
    let mut b = enrolled(&server, "140521", 2);
    let c = enrolled(&server, "140525", 3);
    let mut d = enrolled(&server, "140525", 6);
    let (from_a, from_b, from_c) = (listen(&a), listen(&b), listen(&c));

    // Desk A registers and pushes: desk B hears it within the budget.
    a.register_new(1);
    let pushed_at = Instant::now();
    assert!(a.sync().unwrap().pushed > 0);
    let (heard_at, seq_a) = changed(&from_b, LIVE_BUDGET);
    let took = heard_at.duration_since(pushed_at);
    assert!(took < LIVE_BUDGET, "desk B heard after {took:?}");
    // …and its sync then brings the visit.
    assert!(b.sync().unwrap().pulled >= 1);

    // A push of hall 140525 afterwards (desk D): desk C's first notification is that one, so
    // nothing of 140521's push reached it (the server sends in push order).
    d.register_new(1);
    d.sync().unwrap();
    let (_, seq_c) = changed(&from_c, LIVE_BUDGET);
    assert!(
        seq_c > seq_a,
        "desk C heard of another hall's push ({seq_a})"
    );

    // B pushes: A's first notification is B's push, not an echo of its own.
    b.register_new(1);
    b.sync().unwrap();
    let (_, seq_b) = changed(&from_a, LIVE_BUDGET);
    assert!(seq_b > seq_c, "desk A was told of its own push ({seq_a})");
    // A pushes again: B's next notification is it, not B's own push.
    a.register_new(1);
    a.sync().unwrap();
    let (_, seq_a2) = changed(&from_b, LIVE_BUDGET);
    assert!(seq_a2 > seq_b, "desk B was told of its own push ({seq_b})");

    // A sync that stores nothing new (a repeat) tells nobody: the next notification C gets is
    // its hall's next push.
    a.sync().unwrap();
    d.register_new(1);
    d.sync().unwrap();
    let (_, seq_c2) = changed(&from_c, LIVE_BUDGET);
    assert!(seq_c2 > seq_a2);
    assert!(
        from_b.try_recv().is_err(),
        "nothing more was stored for 140521"
    );
}
}

common::both_backends! {
fn unknown_and_revoked_tokens_get_401_in_chinese() {
    let server = Server::start();
    let token = server.enrol_device("140521", "events-revoked");
    server.admin(&["device", "revoke", "events-revoked"]);
    for (token, code) in [
        ("xft_0000000000000000", "token_invalid"),
        (token.as_str(), "token_revoked"),
    ] {
        let err = Client::live(&server.url, Secret::new(token))
            .unwrap()
            .events()
            .unwrap_err();
        match err {
            SyncError::Server {
                status: 401,
                code: got,
                message,
            } => {
                assert_eq!(got, code);
                assert!(
                    message.contains("令牌") || message.contains("注销"),
                    "{message}"
                );
            }
            other => panic!("expected 401, got {other:?}"),
        }
    }
    // No token at all.
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/v1/sync/events", server.url))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}
}

common::both_backends! {
/// The raw bytes of the stream around a push of a visit: only the event names, `{}` and the
/// server sequence, and keep-alive comments; nothing of the visit.
fn the_stream_carries_no_record_contents() {
    let server = Server::start();
    let mut a = enrolled(&server, "140521", 4);
    let token = server.enrol_device("140521", "events-raw");
    let resp = reqwest::blocking::Client::builder()
        .timeout(LIVE_BUDGET * 5)
        .build()
        .unwrap()
        .get(format!("{}/v1/sync/events", server.url))
        .bearer_auth(&token)
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut lines = BufReader::new(resp).lines();
    let mut raw = Vec::new();
    let mut read_frame = |raw: &mut Vec<String>| loop {
        let line = lines.next().unwrap().unwrap();
        let end = line.is_empty();
        raw.push(line);
        if end {
            break;
        }
    };
    read_frame(&mut raw);
    a.register_new(2);
    a.sync().unwrap();
    read_frame(&mut raw);
    assert_eq!(raw[..3], ["event: ready", "data: {}", ""], "{raw:?}");
    assert_eq!(raw[3], "event: changed", "{raw:?}");
    let seq = raw[4]
        .strip_prefix("data: {\"server_seq\":")
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or_else(|| panic!("only the sequence: {raw:?}"));
    assert!(seq.parse::<i64>().unwrap() > 0);
    assert_eq!(raw.len(), 6, "{raw:?}");
    // Whatever the desk registered (Chinese names, appeals), none of it is on the wire.
    let wire = raw.join("\n");
    assert!(wire.is_ascii(), "{wire}");
    assert!(!wire.contains("140521"), "not even the hall: {wire}");
}
}

common::both_backends! {
/// A graceful shutdown ends the open streams instead of waiting for the desks to hang up.
fn a_shutdown_ends_the_streams() {
    let mut server = Server::start();
    let a = enrolled(&server, "140521", 5);
    let mut stream = client::live_events(&mut a.open()).unwrap();
    assert_eq!(stream.next_event().unwrap(), LiveEvent::Ready);
    let status = server.terminate(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "the server did not stop with a stream open: {status:?}"
    );
    assert!(matches!(stream.next_event(), Err(SyncError::Offline(..))));
}
}

common::both_backends! {
/// The desk's side: `xinfang sync --watch` on the lawyer's desk syncs at once when the clerk's
/// desk hands a visitor off, and the lawyer's queue has the visitor, within the budget.
fn a_hand_off_at_one_desk_reaches_the_lawyers_queue_at_another_desk() {
    use common::cli_desk::{PASSWORD, desk, ok};
    let server = Server::start();
    let (clerk_desk, lawyer_desk) = (desk(&server), desk(&server));
    let (a, b) = (clerk_desk.path(), lawyer_desk.path());
    ok(
        b,
        "admin",
        &[
            "staff",
            "add",
            "--username",
            "lawyer",
            "--name",
            "张律师",
            "--role",
            "lawyer",
        ],
    );
    ok(a, "admin", &["sync"]);
    ok(b, "admin", &["sync"]);

    let mut watch = std::process::Command::new(common::xinfang_bin())
        .arg("--data-dir")
        .arg(b)
        .args(["--json", "sync", "--watch"])
        .env("XINFANG_PASSWORD", PASSWORD)
        .env("XINFANG_USER", "admin")
        .env("XINFANG_LOG", "warn")
        .env_remove("XINFANG_SERVER_URL")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = {
        let (tx, rx) = mpsc::channel();
        let stdout = watch.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                if tx.send((Instant::now(), v)).is_err() {
                    break;
                }
            }
        });
        rx
    };
    // The sync on opening the stream: the desk is listening from here on.
    let (_, first) = lines.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(first["pulled"].is_u64(), "{first}");

    let body = "14052119800115013";
    let id_number = format!(
        "{body}{}",
        xinfang_core::id::resident_id_check_char(body).unwrap()
    );
    let file = a.join("visit.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "visited_at": "",
            "visitors": [{ "name": "赵大山", "id_number": id_number }],
            "head_count": 1,
            "representatives": [],
            "appeal": "拖欠工资，请求协调支付。",
            "appeal_kind": "claim",
            "category": "劳动和社会保障",
            "agency": "县人社局",
            "place_code": "140521"
        })
        .to_string(),
    )
    .unwrap();
    let v = ok(
        a,
        "clerk",
        &["visit", "add", "--file", file.to_str().unwrap()],
    );
    let visit_id = v["visit_id"].as_str().unwrap().to_owned();
    ok(
        a,
        "clerk",
        &["visit", "handoff", &visit_id, "--desk", "lawyer"],
    );
    let pushed_at = Instant::now();
    ok(a, "admin", &["sync"]);
    let (synced_at, report) = lines.recv_timeout(LIVE_BUDGET).unwrap_or_else(|e| {
        let _ = watch.kill();
        panic!("the lawyer's desk did not sync within {LIVE_BUDGET:?}: {e}")
    });
    let took = synced_at.duration_since(pushed_at);
    assert!(report["pulled"].as_u64().unwrap() > 0, "{report}");
    assert!(took < LIVE_BUDGET, "synced {took:?} after the push");
    let _ = watch.kill();
    let _ = watch.wait();

    let queue = ok(b, "lawyer", &["queue", "--desk", "lawyer"]);
    assert_eq!(queue[0]["visit_id"], visit_id.as_str(), "{queue}");
    assert_eq!(queue[0]["status"], "waiting");
}
}

/// Two instances on one PostgreSQL database (issue 18): a desk listening to one hears a push
/// stored through the other (LISTEN/NOTIFY through the database), within the hall's budget,
/// and never its own push echoed back.
#[test]
fn a_push_through_one_instance_reaches_desks_listening_to_another() {
    common::on(common::Backend::Postgres, || {
        let one = Server::start();
        let two = Server::start_on(one.database.as_deref().expect("a PostgreSQL server"));
        let mut a = enrolled(&one, "140521", 21);
        let mut b = enrolled(&two, "140521", 22);
        let (from_a, from_b) = (listen(&a), listen(&b));

        // B pushes through instance two: A, listening to instance one, hears it.
        b.register_new(1);
        let pushed_at = Instant::now();
        assert!(b.sync().unwrap().pushed > 0);
        let (heard_at, seq_b) = changed(&from_a, LIVE_BUDGET);
        let took = heard_at.duration_since(pushed_at);
        assert!(took < LIVE_BUDGET, "desk A heard after {took:?}");
        assert!(a.sync().unwrap().pulled >= 1);

        // A pushes through instance one: B hears it, and A's next notification is B's next
        // push, not an echo of its own.
        a.register_new(1);
        a.sync().unwrap();
        let (_, seq_a) = changed(&from_b, LIVE_BUDGET);
        assert!(seq_a > seq_b);
        b.register_new(1);
        b.sync().unwrap();
        let (_, seq_b2) = changed(&from_a, LIVE_BUDGET);
        assert!(seq_b2 > seq_a, "desk A was told of its own push ({seq_a})");
    })
}
