//! The hall hub (issue 17, docs/sync.md "Hall hub"): the real server binary twice on loopback —
//! the city, and a hub of 140521 joined to it — with real desks enrolled at either.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{CITY_BIN, Desk, FaultyProxy, Server, last_word, photo_change};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tempfile::TempDir;
use xinfang_core::desk::Desk as DeskKind;
use xinfang_sync::client::SyncError;

const HALL: &str = "140521";

/// A hub's data dir and its database (`None`: the dir's SQLite file; else a database of the
/// test's backend).
struct HubDir {
    dir: TempDir,
    database: Option<String>,
}

/// A hub code from the city and a hub joined with it (`hub join`), through `upstream`.
fn join_hub(city: &Server, upstream: &str) -> HubDir {
    let code = last_word(&city.admin(&["enrol-code", "--hall", HALL, "--hub"]));
    let hub = HubDir {
        dir: TempDir::new().unwrap(),
        database: common::database_for_backend(),
    };
    let out = hub_cmd(
        &hub,
        &["hub", "join", "--upstream", upstream, "--code", &code],
    );
    assert!(
        out.status.success(),
        "hub join: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    hub
}

fn hub_cmd(hub: &HubDir, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(CITY_BIN);
    cmd.args(args)
        .arg("--data-dir")
        .arg(hub.dir.path())
        .arg("--no-encryption")
        .env("XINFANG_LOG", "error");
    if let Some(uri) = &hub.database {
        cmd.arg("--database").arg(uri);
    }
    cmd.output().unwrap()
}

/// A fresh hub's data dir and database, not joined yet.
fn fresh_hub() -> HubDir {
    HubDir {
        dir: TempDir::new().unwrap(),
        database: common::database_for_backend(),
    }
}

/// The hub's server, relaying every second and whenever a desk pushed.
fn start_hub(hub: HubDir) -> Server {
    Server::start_in_on(hub.dir, hub.database, &["--relay-every", "1s"])
}

/// One relay now with the hub's CLI (while its server may relay too): the report, or why not.
fn relay(hub: &Server) -> Result<Value, String> {
    let out = hub.run(&["hub", "relay", "--json"]);
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Waits for a condition the servers reach by themselves (a relay), at most 30 s.
fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every change a server holds, applied or set aside, by (device, seq): what the city and the
/// hub must hold alike, each once.
fn changes(s: &Server) -> Vec<String> {
    let mut rows = s.rows(
        "SELECT device_id, seq, entity, entity_id, op, fields, hlc FROM changes
         UNION ALL SELECT device_id, seq, entity, entity_id, op, fields, hlc FROM quarantine",
    );
    rows.sort();
    rows
}

fn records(s: &Server) -> Vec<String> {
    s.rows("SELECT entity, entity_id, data FROM records ORDER BY entity, entity_id")
}

/// Each device's changes on a server: numbered 1..=n without holes or doubles.
fn assert_each_once(s: &Server) {
    let mut per_device: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in changes(s) {
        let mut cols = row.split('|');
        let device = cols.next().unwrap().to_owned();
        let seq: i64 = cols.next().unwrap().parse().unwrap();
        per_device.entry(device).or_default().push(seq);
    }
    for (device, mut seqs) in per_device {
        seqs.sort_unstable();
        let want: Vec<i64> = (1..=seqs.len() as i64).collect();
        assert_eq!(seqs, want, "device {device}: changes lost or doubled");
    }
}

fn hub_token(hub: &Server) -> String {
    let link: Value =
        serde_json::from_str(&std::fs::read_to_string(hub.dir.path().join("hub.json")).unwrap())
            .unwrap();
    link["token"].as_str().unwrap().to_owned()
}

fn first_visit(d: &Desk) -> String {
    d.db()
        .query_row(
            "SELECT id FROM visits ORDER BY visited_at, id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

common::both_backends! {
fn the_hall_works_through_its_hub_while_the_city_is_down() {
    let mut city = Server::start();
    let hub = start_hub(join_hub(&city, &city.url));
    let (mut a, mut b, lawyer) = (Desk::new(HALL, 1), Desk::new(HALL, 2), Desk::new(HALL, 3));
    for d in [&a, &b, &lawyer] {
        d.enrol(&hub.url, &hub.enrol_code(HALL)).unwrap();
    }
    city.kill9();

    // The line to the city is down; the hall goes on.
    a.register_new(3);
    b.register_new(2);
    a.sync().unwrap();
    b.sync().unwrap();
    let visit = first_visit(&a);
    a.open()
        .hand_off(&visit, DeskKind::Lawyer, "劳动争议", &a.clerk.id)
        .unwrap();
    a.sync().unwrap();
    lawyer.sync().unwrap();
    let queue = lawyer.open().queue(DeskKind::Lawyer).unwrap();
    assert_eq!(queue.len(), 1, "the lawyer's queue after one sync");
    assert_eq!(queue[0].visit.visit_id, visit);
    assert_eq!(lawyer.count("visits"), 5);
    assert!(relay(&hub).unwrap_err().contains("转发到市局失败"));

    // The city is back: the hub relays by itself, everything arrives once.
    city.restart();
    wait_until("the city to hold what the hub holds", || {
        changes(&city) == changes(&hub)
    });
    assert_each_once(&city);
    assert_eq!(records(&city), records(&hub));

    // A desk of the hall enrolled at the city sees all of it, and what it writes reaches the
    // hall through the hub.
    let mut direct = Desk::new(HALL, 4);
    direct.enrol(&city.url, &city.enrol_code(HALL)).unwrap();
    direct.sync().unwrap();
    a.sync().unwrap();
    assert_eq!(direct.snapshot(), a.snapshot());
    direct.register_new(1);
    direct.sync().unwrap();
    relay(&hub).unwrap();
    lawyer.sync().unwrap();
    assert_eq!(lawyer.count("visits"), 6);
    assert_eq!(changes(&city), changes(&hub));
    assert_each_once(&hub);
}
}

/// This machine's name, as the hall's desks would call the hub's PC (`http://HUB:8750`).
fn machine_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let name = name.trim().to_owned();
    assert!(
        !name.is_empty() && !name.contains('.'),
        "a one-label machine name is needed for this test, got {name:?}"
    );
    name
}

common::both_backends! {
fn desks_enrol_with_their_hub_over_the_halls_lan_in_plain_http() {
    // The commands: `serve --listen 0.0.0.0:8750` on the hub, no TLS flags, and
    // `xinfang enrol --server http://HUB:8750` at the desk.
    let city = Server::start();
    let joined = join_hub(&city, &city.url);
    let hub = Server::start_listening_on(
        joined.dir,
        joined.database,
        "0.0.0.0:0".parse().unwrap(),
        &machine_name(),
        &[],
    );
    assert!(hub.addr.ip().is_unspecified(), "{}", hub.addr);
    let desk = Desk::new(HALL, 21);
    desk.enrol(&hub.url, &hub.enrol_code(HALL)).unwrap();
    desk.sync().unwrap();

    // The city is no hub: on every interface it still needs TLS (or a TLS proxy's flag).
    let dir = TempDir::new().unwrap();
    let out = Command::new(CITY_BIN)
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--no-encryption",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("XINFANG_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-cert"));

    // A desk still refuses plain http to an address out on the network, before connecting.
    let far = Desk::new(HALL, 22);
    let code = hub.enrol_code(HALL);
    let err = far.enrol("http://203.0.113.9:8750", &code).unwrap_err();
    assert!(matches!(err, SyncError::InsecureUrl(_)), "{err:?}");
}
}

common::both_backends! {
fn a_hub_relays_only_its_own_halls_desks() {
    // Many enrolments from one address in a moment: more than the default allowance.
    let city = Server::start_with(&["--enrol-burst-per-address", "50"]);
    let hub = start_hub(join_hub(&city, &city.url));
    let token = hub_token(&hub);

    // A desk of 140525 at the city: the 140521 hub may not push, pull or tell of it.
    let other = Desk::new("140525", 9);
    other.enrol(&city.url, &city.enrol_code("140525")).unwrap();
    let other_id = other.device_id();
    let change = json!({"seq": 1, "entity": "visit", "entity_id": "0190f000-0000-7000-8000-000000000001",
        "op": "insert", "fields": {"hall_code": "140525"}, "hlc": 1, "changed_at": "2026-12-01T09:00:00+08:00"});
    let (status, body) = city.post_json(
        "/v1/hub/push",
        Some(&token),
        &json!({"device_id": other_id, "changes": [change]}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("hall_forbidden"))
    );
    let (status, body) = city.post_json(
        "/v1/hub/pull",
        Some(&token),
        &json!({"device_id": other_id, "after": 0}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("hall_forbidden"))
    );
    let (status, body) = city.post_json(
        "/v1/hub/devices",
        Some(&token),
        &json!({"devices": [{"id": other_id, "name": "x", "revoked": true, "max_seq": 0, "audit_max_seq": 0}]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["refused"], json!([other_id]));
    assert!(
        city.rows("SELECT revoked_at FROM devices WHERE hall_code = '140525'")[0].is_empty(),
        "a hub must not revoke another hall's desk"
    );

    // A desk's token is not a hub's.
    let desk = Desk::new(HALL, 8);
    desk.enrol(&city.url, &city.enrol_code(HALL)).unwrap();
    let desk_token: String = desk
        .db()
        .query_row(
            "SELECT value FROM sync_state WHERE key = 'device_token'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let (status, body) = city.post_json(
        "/v1/hub/devices",
        Some(&desk_token),
        &json!({"devices": []}),
    );
    assert_eq!((status, body["code"].as_str()), (403, Some("hub_only")));

    // The hub makes codes for its own hall only, and enrols its own hall's desks only.
    let out = hub.run(&["enrol-code", "--hall", "140525"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("只能为本大厅的接待台生成登记码"));
    // The same rule at the hub's web console (its administrator's token): another hall's code
    // and a hub's code refused, its own hall's desk code made.
    let admin = hub.admin_token();
    for (body, code) in [
        (json!({"hall_code": "140525"}), "hall_not_this_hub"),
        (json!({"hall_code": HALL, "hub": true}), "hub_code_on_hub"),
    ] {
        let (status, answer) = hub.post_json("/v1/city/enrol-codes", Some(&admin), &body);
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some(code)),
            "{answer}"
        );
    }
    let (status, made) = hub.post_json(
        "/v1/city/enrol-codes",
        Some(&admin),
        &json!({"hall_code": HALL}),
    );
    assert_eq!(
        (status, made["hall_code"].as_str()),
        (200, Some(HALL)),
        "{made}"
    );
    let stranger = Desk::new("140525", 7);
    let err = stranger.enrol(&hub.url, &hub.enrol_code(HALL)).unwrap_err();
    assert!(
        matches!(&err, SyncError::Server { status: 403, code, .. } if code == "hall_mismatch"),
        "{err:?}"
    );

    // Codes of the wrong kind are told apart, in Chinese.
    let hub_code = last_word(&city.admin(&["enrol-code", "--hall", HALL, "--hub"]));
    let err = Desk::new(HALL, 6).enrol(&city.url, &hub_code).unwrap_err();
    assert!(
        matches!(&err, SyncError::Server { status: 403, code, .. } if code == "enrol_code_kind"),
        "{err:?}"
    );
    let fresh = fresh_hub();
    let out = hub_cmd(
        &fresh,
        &[
            "hub",
            "join",
            "--upstream",
            &city.url,
            "--code",
            &city.enrol_code(HALL),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("这是接待台的登记码"));
    let out = hub_cmd(
        &fresh,
        &[
            "hub",
            "join",
            "--upstream",
            "http://127.0.0.1:9",
            "--code",
            &hub_code,
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("连不上市局服务器"));
    // A used code.
    let used = fresh_hub();
    let out = hub_cmd(
        &used,
        &["hub", "join", "--upstream", &city.url, "--code", &hub_code],
    );
    assert!(out.status.success());
    let again = fresh_hub();
    let out = hub_cmd(
        &again,
        &["hub", "join", "--upstream", &city.url, "--code", &hub_code],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("已经使用过"));
}
}

common::both_backends! {
fn revocations_cross_the_relay_both_ways() {
    let city = Server::start();
    let hub = start_hub(join_hub(&city, &city.url));
    let (at_hub, at_city) = (Desk::new(HALL, 1), Desk::new(HALL, 2));
    at_hub.enrol(&hub.url, &hub.enrol_code(HALL)).unwrap();
    at_city.enrol(&city.url, &city.enrol_code(HALL)).unwrap();
    relay(&hub).unwrap();
    hub.admin(&["device", "revoke", &at_hub.device_id()]);
    city.admin(&["device", "revoke", &at_city.device_id()]);
    // The hub's server relays every second by itself: which relay carries the revocations
    // (this one or its own, a moment before) is a race, so the report's count is not asserted,
    // only that each revocation arrives on the other side.
    let r = relay(&hub).unwrap();
    assert!(r["revoked"].as_u64().is_some_and(|n| n <= 1), "{r}");
    let revoked = |s: &Server, id: &str| {
        !s.rows(&format!("SELECT revoked_at FROM devices WHERE id = '{id}'"))[0].is_empty()
    };
    wait_until("the hub's revocation at the city", || {
        revoked(&city, &at_hub.device_id())
    });
    wait_until("the city's revocation at the hub", || {
        revoked(&hub, &at_city.device_id())
    });
}
}

common::both_backends! {
fn a_desk_moves_from_the_city_to_the_hub_and_back() {
    let city = Server::start();
    let hub = start_hub(join_hub(&city, &city.url));
    let mut desk = Desk::new(HALL, 5);
    desk.enrol(&city.url, &city.enrol_code(HALL)).unwrap();
    desk.register_new(3);
    desk.sync().unwrap();

    // To the hub: it knows the desk from the city (or not yet); nothing is pushed twice.
    desk.enrol(&hub.url, &hub.enrol_code(HALL)).unwrap();
    desk.register_new(2);
    let first = desk.sync();
    if first.as_ref().is_ok_and(|r| r.push_error.is_some()) {
        // The hub had not brought the desk's earlier changes down yet: they come with a relay.
        relay(&hub).unwrap();
        desk.sync().unwrap();
    }
    relay(&hub).unwrap();
    assert_eq!(changes(&city), changes(&hub));
    assert_each_once(&city);
    assert_eq!(desk.sync().unwrap().pending, 0);

    // And back to the city, which the administrator allows (the city still knows its token).
    city.admin(&["device", "allow-reenrol", &desk.device_id()]);
    desk.enrol(&city.url, &city.enrol_code(HALL)).unwrap();
    desk.register_new(1);
    let r = desk.sync().unwrap();
    assert_eq!((r.pending, r.push_error), (0, None));
    relay(&hub).unwrap();
    assert_eq!(changes(&city), changes(&hub));
    assert_each_once(&city);
    assert_eq!(records(&city), records(&hub));
}
}

common::both_backends! {
fn relays_cut_at_random_and_a_killed_hub_lose_and_double_nothing() {
    // The PostgreSQL twin runs a shorter scenario (two hub kills instead of five) to keep the
    // suite's time: the SQLite run is the long one.
    let rounds: usize = std::env::var("XINFANG_HUB_RELAYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(match common::backend() {
            common::Backend::Sqlite => 200,
            common::Backend::Postgres => 80,
        });
    let city = Server::start();
    let proxy = FaultyProxy::start(city.addr, 0.4, 6000, 17);
    let joined = join_hub(&city, &city.url);
    // From now on the hub reaches the city only through the cutting proxy.
    let link_file = joined.dir.path().join("hub.json");
    let mut link: Value =
        serde_json::from_str(&std::fs::read_to_string(&link_file).unwrap()).unwrap();
    link["upstream"] = json!(proxy.url);
    std::fs::write(&link_file, link.to_string()).unwrap();
    let mut hub = start_hub(joined);
    let mut desks = [Desk::new(HALL, 11), Desk::new(HALL, 12)];
    for d in &desks {
        d.enrol(&hub.url, &hub.enrol_code(HALL)).unwrap();
    }
    let mut direct = Desk::new(HALL, 13);
    direct.enrol(&city.url, &city.enrol_code(HALL)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let (mut ok, mut failed) = (0, 0);
    for round in 0..rounds {
        let d = &mut desks[rng.random_range(0..2)];
        d.register_new(rng.random_range(1..3));
        // The hub may be down for a moment: the desk keeps its changes and syncs later.
        let _ = d.sync();
        if round % 10 == 3 {
            direct.register_new(1);
            direct.sync().unwrap();
        }
        match relay(&hub) {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
        if round % 40 == 17 {
            // kill -9 while its own relay thread may be mid-relay, then start it again.
            hub.restart();
        }
    }
    assert!(
        ok > 0 && failed > 0,
        "cuts: {failed} failed relays of {rounds}"
    );
    // Until one relay goes through whole and finds nothing left to move.
    wait_until(
        "a quiet relay",
        || matches!(relay(&hub), Ok(r) if r["pushed"] == 0 && r["pulled"] == 0),
    );
    for d in &desks {
        assert_eq!(d.sync().unwrap().pending, 0);
    }
    direct.sync().unwrap();
    wait_until(
        "a quiet relay",
        || matches!(relay(&hub), Ok(r) if r["pushed"] == 0 && r["pulled"] == 0),
    );
    for d in &desks {
        d.sync().unwrap();
    }
    direct.sync().unwrap();
    assert_eq!(changes(&city), changes(&hub));
    assert_each_once(&city);
    assert_eq!(records(&city), records(&hub));
    let want = direct.snapshot();
    for d in &desks {
        assert_eq!(d.snapshot(), want);
    }
    drop(proxy);
}
}

common::both_backends! {
/// A desk's photos reach the city through its hub however many there are: the relay up goes in
/// pages the city's body limit takes. 150 photos of 90 KB (≈ 18 MB) held while the line was down
/// were one push of the relay, which the city refused as too large, at every relay.
fn a_desks_photos_reach_the_city_through_its_hub_in_pages_the_city_takes() {
    let mut city = Server::start();
    let hub = start_hub(join_hub(&city, &city.url));
    let desk = hub.enrol_device(HALL, "desk-photo-0001");
    // The line is down while the desk pushes: the hub relays all of it at once when it is back.
    city.kill9();
    let ids: Vec<String> = (1..=150).map(|n| format!("v-{n:03}")).collect();
    for (b, batch) in ids.chunks(50).enumerate() {
        let changes: Vec<Value> =
            batch.iter().enumerate().map(|(i, id)| photo_change(b * 50 + i + 1, id)).collect();
        let (s, r) = hub.post_json("/v1/sync/push", Some(&desk), &json!({ "changes": changes }));
        assert_eq!((s, r["accepted"].as_u64()), (200, Some(50)), "{r}");
    }
    city.restart();
    let photos = |s: &Server| s.rows("SELECT entity_id FROM changes WHERE entity = 'visit_photo'");
    wait_until("the city to hold every photo", || photos(&city).len() == ids.len());
    let mut at_city = photos(&city);
    at_city.sort();
    assert_eq!(at_city, ids);
    assert_each_once(&city);
    assert_eq!(changes(&city), changes(&hub));
}
}
