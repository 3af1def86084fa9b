//! Hall-wide queue numbers and the call screen (issue 17), on the real server binary over
//! loopback HTTP, on both storage backends.

mod common;

use std::collections::BTreeSet;

use common::{Server, both_backends, last_word};
use serde_json::json;

const HALL: &str = "140521";
const OTHER: &str = "140525";

fn number(server: &Server, token: &str, body: serde_json::Value) -> i64 {
    let (status, out) = server.post_json("/v1/hall/queue-number", Some(token), &body);
    assert_eq!(status, 200, "{out}");
    out["number"].as_i64().unwrap()
}

fn screen_html(server: &Server, query: &str) -> (u16, String) {
    let resp = reqwest::blocking::get(format!("{}/hall/screen{query}", server.url)).unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

both_backends! {
    /// Two desks of a hall taking numbers at once get each number once; another hall and
    /// another day count on their own; on PostgreSQL, two server instances on one database at
    /// once do too.
    fn numbers_are_unique_per_hall_and_day() {
        let server = Server::start();
        // PostgreSQL: a second instance on the same database, taking numbers at the same time.
        let second = server.database.as_deref().map(Server::start_on);
        let servers: Vec<&Server> = std::iter::once(&server).chain(second.as_ref()).collect();
        let a = server.enrol_device(HALL, "desk-aaaa-0001");
        let b = server.enrol_device(HALL, "desk-bbbb-0002");
        let other = server.enrol_device(OTHER, "desk-cccc-0003");
        let day = json!({ "day": "2026-12-04" });

        let per_desk = 20;
        let taken: Vec<i64> = std::thread::scope(|s| {
            let handles: Vec<_> = [&a, &b]
                .into_iter()
                .enumerate()
                .map(|(i, token)| {
                    let srv = servers[i % servers.len()];
                    let day = day.clone();
                    s.spawn(move || {
                        (0..per_desk)
                            .map(|_| number(srv, token, day.clone()))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let distinct: BTreeSet<i64> = taken.iter().copied().collect();
        assert_eq!(distinct.len(), taken.len(), "a number was issued twice: {taken:?}");
        assert_eq!(distinct, (1..=2 * per_desk).collect::<BTreeSet<_>>());

        // Another hall's numbers start at 1; so does another day's of the same hall.
        assert_eq!(number(&server, &other, day.clone()), 1);
        assert_eq!(number(&server, &a, json!({ "day": "2026-12-05" })), 1);
        // Never reused: the next of the day follows the last.
        assert_eq!(number(&server, &b, day.clone()), 2 * per_desk + 1);

        // No token, a bad day, another hall named: refused.
        let (status, _) = server.post_json("/v1/hall/queue-number", None, &day);
        assert_eq!(status, 401);
        let (status, out) =
            server.post_json("/v1/hall/queue-number", Some(&a), &json!({ "day": "12/04" }));
        assert_eq!(status, 422, "{out}");
        let (status, out) = server.post_json(
            "/v1/hall/queue-number",
            Some(&other),
            &json!({ "hall_code": HALL }),
        );
        assert_eq!(status, 403, "{out}");
        assert!(out["message"].as_str().unwrap().contains("其他大厅"));
    }
}

both_backends! {
    /// A call reaches the hall's screen state (only numbers, rooms and times), survives a
    /// restart, and stays off other halls' screens; another hall's desk cannot call for it.
    fn a_call_reaches_the_screen_and_only_its_hall() {
        let mut server = Server::start();
        let a = server.enrol_device(HALL, "desk-aaaa-0001");
        let other = server.enrol_device(OTHER, "desk-cccc-0003");

        let (status, out) = server.post_json(
            "/v1/hall/call",
            Some(&a),
            &json!({ "queue_label": "17", "room": "lawyer" }),
        );
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["text"], "请 17 号到律师咨询室");
        let (status, out) = server.post_json(
            "/v1/hall/call",
            Some(&a),
            &json!({ "queue_label": "b017", "room": "mediator" }),
        );
        assert_eq!(status, 200, "{out}");

        // 140525's desk naming 140521: refused, and nothing reaches 140521's screen.
        let (status, out) = server.post_json(
            "/v1/hall/call",
            Some(&other),
            &json!({ "queue_label": "99", "room": "registration", "hall_code": HALL }),
        );
        assert_eq!(status, 403, "{out}");
        // Its own call goes to its own hall's screen only.
        let (status, _) = server.post_json(
            "/v1/hall/call",
            Some(&other),
            &json!({ "queue_label": "5", "room": "registration" }),
        );
        assert_eq!(status, 200);
        for (label, room) in [("张三", "lawyer"), ("17", "kitchen")] {
            let (status, out) = server.post_json(
                "/v1/hall/call",
                Some(&a),
                &json!({ "queue_label": label, "room": room }),
            );
            assert_eq!(status, 422, "{out}");
        }

        server.restart();
        let (status, state) = server.get(&format!("/hall/screen/state?hall={HALL}"), None);
        assert_eq!(status, 200, "{state}");
        let calls = state["calls"].as_array().unwrap();
        let shown: Vec<(&str, &str)> = calls
            .iter()
            .map(|c| (c["queue_label"].as_str().unwrap(), c["room_label"].as_str().unwrap()))
            .collect();
        assert_eq!(shown, [("B017", "人民调解室"), ("17", "律师咨询室")]);
        // A call carries a number, a room, a time and the words said: nothing else.
        for c in calls {
            let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                BTreeSet::from(["id", "queue_label", "room", "room_label", "called_at", "text"])
            );
        }
        let (_, theirs) = server.get(&format!("/hall/screen/state?hall={OTHER}"), None);
        let labels: Vec<&str> = theirs["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["queue_label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["5"]);
    }
}

/// Enrols a device of `hall` with a fresh code; the enrolment's answer.
fn enrol(server: &Server, hall: &str, device_id: &str) -> serde_json::Value {
    let code = server.enrol_code(hall);
    let (status, body) = server.post_json(
        "/v1/enrol",
        None,
        &json!({ "code": code, "device_id": device_id, "hall_code": hall }),
    );
    assert_eq!(status, 200, "{body}");
    body
}

both_backends! {
    /// Each desk of a hall is given its own letter for the numbers it issues offline, kept
    /// across re-enrolment and told at every sync; a revoked desk's letter is given again.
    fn each_desk_of_a_hall_gets_its_own_letter() {
        // Many enrolments from one address in a moment: more than the default allowance.
        let server = Server::start_with(&["--enrol-burst-per-address", "50"]);
        let letter = |b: &serde_json::Value| b["queue_letter"].as_str().unwrap_or("").to_owned();
        let a = enrol(&server, HALL, "desk-aaaa-0001");
        let b = enrol(&server, HALL, "desk-bbbb-0002");
        let c = enrol(&server, HALL, "desk-cccc-0003");
        let other = enrol(&server, OTHER, "desk-dddd-0004");
        assert_eq!(
            [letter(&a), letter(&b), letter(&c), letter(&other)],
            ["B", "C", "D", "B"]
        );
        // Told again at every sync, the same.
        let (status, st) = server.get("/v1/sync/state", b["token"].as_str());
        assert_eq!(status, 200, "{st}");
        assert_eq!(st["queue_letter"], "C");
        // Re-enrolled (the administrator allowed it): the same letter.
        server.admin(&["device", "allow-reenrol", "desk-bbbb-0002"]);
        assert_eq!(letter(&enrol(&server, HALL, "desk-bbbb-0002")), "C");
        // Revoked: its letter goes to the next desk of the hall.
        server.admin(&["device", "revoke", "desk-aaaa-0001"]);
        assert_eq!(letter(&enrol(&server, HALL, "desk-eeee-0005")), "B");
        assert_eq!(letter(&enrol(&server, HALL, "desk-ffff-0006")), "E");
        // A hub gets none: it issues the hall's numbers itself.
        let code = last_word(&server.admin(&["enrol-code", "--hall", HALL, "--hub"]));
        let (status, hub) = server.post_json(
            "/v1/enrol",
            None,
            &json!({ "code": code, "device_id": "hub-0000-0007", "hall_code": "" }),
        );
        assert_eq!(status, 200, "{hub}");
        assert!(hub.get("queue_letter").is_none(), "{hub}");
    }
}

both_backends! {
/// The page: the hall named, or the only hall with desks; otherwise a Chinese error page.
fn the_screen_page_finds_its_hall() {
    let server = Server::start();
    let (status, html) = screen_html(&server, "");
    assert_eq!(status, 404);
    assert!(html.contains("还没有登记任何大厅"), "{html}");

    server.enrol_device(HALL, "desk-aaaa-0001");
    let (status, html) = screen_html(&server, "");
    assert_eq!(status, 200);
    assert!(
        html.contains("沁水县") && html.contains("data-hall=\"140521\""),
        "{html}"
    );
    assert!(
        html.contains("speechSynthesis") && !html.contains("http://") && !html.contains("https://")
    );

    server.enrol_device(OTHER, "desk-cccc-0003");
    let (status, html) = screen_html(&server, "");
    assert_eq!(status, 404);
    assert!(html.contains("多个大厅"), "{html}");
    let (status, html) = screen_html(&server, "?hall=140525");
    assert_eq!(status, 200);
    assert!(html.contains("泽州县"));
    let (status, html) = screen_html(&server, "?hall=<script>");
    assert_eq!(status, 404);
    assert!(
        !html.contains("<script>") && html.contains("没有代码为"),
        "{html}"
    );
    let (status, out) = server.get("/hall/screen/state?hall=999999", None);
    assert_eq!(status, 404, "{out}");
}
}

/// Registers one visit with the real CLI at `dir`; returns its JSON.
fn register(dir: &std::path::Path, n: usize, name: &str, id_number: &str) -> serde_json::Value {
    let file = dir.join(format!("visit-{n}.json"));
    let body = json!({
        "visitors": [{ "name": name, "id_number": id_number }],
        "appeal": "要求解决拖欠工资问题。",
        "appeal_kind": "claim",
        "category": "劳动和社会保障",
        "agency": "县人社局",
    });
    std::fs::write(&file, body.to_string()).unwrap();
    cli_desk::ok(
        dir,
        "clerk",
        &["visit", "add", "--file", file.to_str().unwrap()],
    )
}

fn resident_id(body17: &str) -> String {
    format!(
        "{body17}{}",
        xinfang_core::id::resident_id_check_char(body17).unwrap()
    )
}

use common::cli_desk;

both_backends! {
/// Two clerk desks of a hall register at once through the server: every visit gets the hall's
/// number once. With the server stopped the desk numbers on its own, with its letter, and
/// nothing is refused. The lawyer's "take" calls the number to the screen, whose state carries
/// the number and the room and never the visitor's name, document number or appeal.
fn desks_number_through_the_server_and_fall_back_to_their_letter() {
    let mut server = Server::start();
    let a = cli_desk::desk(&server);
    let b = cli_desk::desk(&server);
    cli_desk::ok(
        a.path(),
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

    let per_desk = 4;
    let labels: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = [a.path(), b.path()]
            .into_iter()
            .enumerate()
            .map(|(d, dir)| {
                s.spawn(move || {
                    (0..per_desk)
                        .map(|i| {
                            let id = resident_id(&format!("14052119800110{d}{i:02}"));
                            let r = register(dir, d * 10 + i, "王某某", &id);
                            r["queue_label"].as_str().unwrap().to_owned()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let got: BTreeSet<String> = labels.iter().cloned().collect();
    let want: BTreeSet<String> = (1..=2 * per_desk).map(|n| n.to_string()).collect();
    assert_eq!(got, want, "hall numbers, each once: {labels:?}");

    // The server is down: the desk numbers on its own (a letter, its own count), still registers.
    server.kill9();
    let own1 = register(a.path(), 100, "赵某某", &resident_id("14052119900101021"));
    let own2 = register(a.path(), 101, "钱某某", &resident_id("14052119900101031"));
    let (l1, l2) = (
        own1["queue_label"].as_str().unwrap(),
        own2["queue_label"].as_str().unwrap(),
    );
    // Desk a was the hall's first desk at the server: it was given the letter B (b got C).
    assert_eq!((l1, l2), ("B001", "B002"), "{own1} {own2}");
    let b_own = register(b.path(), 102, "孙某某", &resident_id("14052119900101041"));
    assert_eq!(b_own["queue_label"], "C001", "{b_own}");
    // Offline, the lawyer still takes the visitor; the number is not called.
    let visit = own1["visit_id"].as_str().unwrap();
    cli_desk::ok(
        a.path(),
        "clerk",
        &["visit", "handoff", visit, "--desk", "lawyer"],
    );
    let taken = cli_desk::ok(a.path(), "lawyer", &["queue", "take", "--desk", "lawyer"]);
    assert_eq!(
        (taken["queue_label"].as_str(), taken["called"].as_bool()),
        (Some(l1), Some(false))
    );
    assert!(
        taken["call_note"].as_str().unwrap().contains("未连上"),
        "{taken}"
    );

    // Back up: taking again calls the number; the screen shows it, nothing personal.
    server.restart();
    let taken = cli_desk::ok(a.path(), "lawyer", &["queue", "take", "--desk", "lawyer"]);
    assert_eq!(taken["called"], true, "{taken}");
    assert_eq!(
        taken["queue_no"], own1["queue_no"],
        "the existing fields stay"
    );
    let (_, state) = server.get(&format!("/hall/screen/state?hall={HALL}"), None);
    assert_eq!(state["calls"][0]["queue_label"], l1);
    assert_eq!(state["calls"][0]["room_label"], "律师咨询室");
    let text = state.to_string();
    for never in [
        "赵某某",
        "14052119900101021",
        "拖欠工资",
        "张律师",
        "王接待",
    ] {
        assert!(!text.contains(never), "{never} on the screen state: {text}");
    }
    // A script's call; a lawyer may not call to the registration window.
    let called = cli_desk::ok(
        a.path(),
        "clerk",
        &["queue", "call", "--room", "registration", "--label", "17"],
    );
    assert_eq!(called["text"], "请 17 号到登记窗口");
    let (code, out) = cli_desk::cli(
        a.path(),
        "lawyer",
        &["queue", "call", "--room", "registration", "--label", "18"],
    );
    assert_ne!(code, 0, "{out}");
    let (_, state) = server.get(&format!("/hall/screen/state?hall={HALL}"), None);
    assert_eq!(state["calls"][0]["queue_label"], "17");
    assert_eq!(state["calls"].as_array().unwrap().len(), 2);
}
}

/// The rooms' waiting numbers of `state`: (room label, numbers), lawyer's room first.
fn waiting(state: &serde_json::Value) -> Vec<(String, Vec<String>)> {
    state["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let labels = w["queue_labels"].as_array().unwrap();
            (
                w["room_label"].as_str().unwrap().to_owned(),
                labels
                    .iter()
                    .map(|l| l.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

both_backends! {
    /// The screen lists the numbers waiting for the lawyer's and the mediator's rooms, in the
    /// order they were handed off, from what the desks synced; a number taken leaves the list
    /// and is called. Nothing but numbers and rooms.
    fn the_screen_shows_the_next_numbers_of_each_room() {
        let server = Server::start();
        let desk = cli_desk::desk(&server);
        let d = desk.path();
        for (user, name, role) in [("lawyer", "张律师", "lawyer"), ("mediator", "赵调解", "mediator")] {
            cli_desk::ok(d, "admin", &["staff", "add", "--username", user, "--name", name, "--role", role]);
        }
        let visits: Vec<serde_json::Value> = (0..3)
            .map(|i| register(d, 200 + i, "周某某", &resident_id(&format!("1405211975030400{i}"))))
            .collect();
        let label = |i: usize| visits[i]["queue_label"].as_str().unwrap().to_owned();
        let id = |i: usize| visits[i]["visit_id"].as_str().unwrap().to_owned();
        let (_, state) = server.get(&format!("/hall/screen/state?hall={HALL}"), None);
        assert!(waiting(&state).is_empty(), "{state}");

        for (i, to) in [(0, "lawyer"), (1, "mediator"), (2, "lawyer")] {
            cli_desk::ok(d, "clerk", &["visit", "handoff", &id(i), "--desk", to]);
        }
        cli_desk::ok(d, "admin", &["sync"]);
        let (status, state) = server.get(&format!("/hall/screen/state?hall={HALL}"), None);
        assert_eq!(status, 200, "{state}");
        assert_eq!(
            waiting(&state),
            [
                ("律师咨询室".to_owned(), vec![label(0), label(2)]),
                ("人民调解室".to_owned(), vec![label(1)]),
            ]
        );

        // The lawyer takes the next visitor: called, and off the waiting list at once (the
        // take not synced yet), and still once synced.
        let taken = cli_desk::ok(d, "lawyer", &["queue", "take", "--desk", "lawyer"]);
        assert_eq!(taken["queue_label"].as_str(), Some(label(0).as_str()), "{taken}");
        let (_, state) = server.get(&format!("/hall/screen/state?hall={HALL}"), None);
        assert_eq!(
            waiting(&state),
            [
                ("律师咨询室".to_owned(), vec![label(2)]),
                ("人民调解室".to_owned(), vec![label(1)]),
            ]
        );
        cli_desk::ok(d, "admin", &["sync"]);
        let (_, state) = server.get(&format!("/hall/screen/state?hall={HALL}"), None);
        assert_eq!(
            waiting(&state),
            [
                ("律师咨询室".to_owned(), vec![label(2)]),
                ("人民调解室".to_owned(), vec![label(1)]),
            ]
        );
        assert_eq!(state["calls"][0]["queue_label"].as_str(), Some(label(0).as_str()));
        let text = state.to_string();
        for never in ["周某某", "140521197503040", "拖欠工资", "张律师", "王接待"] {
            assert!(!text.contains(never), "{never} on the screen state: {text}");
        }
        // Another hall's screen shows none of it.
        server.enrol_device(OTHER, "desk-cccc-0009");
        let (_, theirs) = server.get(&format!("/hall/screen/state?hall={OTHER}"), None);
        assert!(waiting(&theirs).is_empty(), "{theirs}");
    }
}
