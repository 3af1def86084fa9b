//! The city server's smaller security findings of issue 15, against the real binary on a
//! loopback port: re-enrolment (item 6), the order of authentication and body, body and flood
//! limits (item 12), admin tokens, plain HTTP, repeat-visit lookups and device names (item 14).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{CITY_BIN, Server};
use serde_json::json;
use xinfang_sync::wire::{PROTOCOL_HEADER, PROTOCOL_VERSION};

const DEVICE: &str = "01900000-0000-7000-8000-0000000000d6";

fn enrol(server: &Server, device_id: &str, name: &str) -> (u16, serde_json::Value) {
    let code = server.enrol_code("140521");
    server.post_json(
        "/v1/enrol",
        None,
        &json!({ "code": code, "device_id": device_id, "hall_code": "140521", "device_name": name }),
    )
}

/// The status line and the rest of a raw HTTP/1.1 answer read from `stream`.
fn read_answer(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no answer from the server: {e}"),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

common::both_backends! {
fn a_new_code_does_not_take_over_an_enrolled_device() {
    let server = Server::start();
    let (status, first) = enrol(&server, DEVICE, "沁水县接待台1");
    assert_eq!(status, 200, "{first}");
    let token = first["token"].as_str().unwrap().to_owned();

    // Someone who learned the device id (it travels with every pulled change) and got a code.
    let (status, body) = enrol(&server, DEVICE, "另一台电脑");
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("device_already_enrolled")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("允许重新登记"));
    // The enrolled desk keeps its token.
    assert_eq!(server.get("/v1/sync/state", Some(&token)).0, 200);
    let log = server.admin(&["log"]);
    assert!(
        log.contains("reenrol_refused") && log.contains(DEVICE),
        "{log}"
    );

    // The administrator allows it (a reinstalled desk): one re-enrolment, logged.
    let out = server.admin(&["device", "allow-reenrol", DEVICE, "--ttl", "1h"]);
    assert!(out.contains(DEVICE), "{out}");
    let (status, again) = enrol(&server, DEVICE, "沁水县接待台1");
    assert_eq!(status, 200, "{again}");
    let new_token = again["token"].as_str().unwrap();
    assert_eq!(server.get("/v1/sync/state", Some(&token)).0, 401);
    assert_eq!(server.get("/v1/sync/state", Some(new_token)).0, 200);
    let log = server.admin(&["log"]);
    assert!(
        log.contains("reenrol_allowed") && log.contains("reenrolled"),
        "{log}"
    );
    // The permission was used up.
    let (status, body) = enrol(&server, DEVICE, "沁水县接待台1");
    assert_eq!(status, 409, "{body}");
    // An unknown device cannot be allowed.
    let out = server.run(&["device", "allow-reenrol", "no-such-device"]);
    assert!(!out.status.success());
}
}

common::both_backends! {
fn an_unauthenticated_push_is_refused_before_its_body_is_read() {
    let server = Server::start();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    // A body of 15 MiB is announced and never sent: the answer must come from the headers.
    write!(
        stream,
        "POST /v1/sync/push HTTP/1.1\r\nHost: city\r\nContent-Type: application/json\r\n\
         {PROTOCOL_HEADER}: {PROTOCOL_VERSION}\r\nContent-Length: {}\r\n\r\n{{\"changes\": [",
        15 * 1024 * 1024
    )
    .unwrap();
    let answer = read_answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // The same for the other endpoints that take a body.
    for path in ["/v1/sync/pull", "/v1/sync/own", "/v1/audit/push"] {
        let mut stream = TcpStream::connect(server.addr).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: city\r\nContent-Type: application/json\r\n\
             Authorization: Bearer xft_made_up\r\n{PROTOCOL_HEADER}: {PROTOCOL_VERSION}\r\n\
             Content-Length: 1000000\r\n\r\n{{"
        )
        .unwrap();
        let answer = read_answer(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 401"), "{path}: {answer}");
    }
    assert!(server.healthy());
}
}

common::both_backends! {
fn an_enrolment_body_is_small() {
    let server = Server::start();
    let code = server.enrol_code("140521");
    let (status, body) = server.post_json(
        "/v1/enrol",
        None,
        &json!({ "code": code, "device_id": DEVICE, "hall_code": "140521", "device_name": "x".repeat(8 * 1024) }),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("body_too_large")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("4 KB"), "{body}");
}
}

#[test]
fn enrolment_requests_are_rate_limited() {
    let server = Server::start_with(&["--enrol-burst", "3", "--enrol-every", "1h"]);
    let wrong = json!({ "code": "AAAA-BBBB-CCCC", "device_id": DEVICE, "hall_code": "140521" });
    let statuses: Vec<(u16, String)> = (0..5)
        .map(|_| {
            let (status, body) = server.post_json("/v1/enrol", None, &wrong);
            (status, body["code"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    let want: Vec<(u16, String)> = [
        (403, "enrol_code_invalid"),
        (403, "enrol_code_invalid"),
        (403, "enrol_code_invalid"),
        (429, "too_many_requests"),
        (429, "too_many_requests"),
    ]
    .iter()
    .map(|(s, c)| (*s, (*c).to_owned()))
    .collect();
    assert_eq!(statuses, want);
    // The rest of the server is not affected.
    assert!(server.healthy());
}

/// One address's flood of wrong codes uses up its own allowance, not the server's: another
/// address (another hall's desk) still enrols at once.
#[test]
fn one_addresss_flood_does_not_hold_up_anothers_enrolment() {
    let server = Server::start_with(&[
        "--enrol-burst-per-address",
        "2",
        "--enrol-every-per-address",
        "1h",
        "--enrol-burst",
        "4",
        "--enrol-every",
        "1h",
    ]);
    let from = |ip: &str, body: &serde_json::Value| -> (u16, String) {
        let client = reqwest::blocking::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap();
        let resp = client
            .post(format!("{}/v1/enrol", server.url))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .json(body)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().unwrap_or_default();
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    };
    let wrong = json!({ "code": "AAAA-BBBB-CCCC", "device_id": DEVICE, "hall_code": "140521" });
    let flood: Vec<u16> = (0..10).map(|_| from("127.0.0.1", &wrong).0).collect();
    assert_eq!(flood, [403, 403, 429, 429, 429, 429, 429, 429, 429, 429]);
    let code = server.enrol_code("140521");
    let (status, body) = from(
        "127.0.0.2",
        &json!({ "code": code, "device_id": DEVICE, "hall_code": "140521" }),
    );
    assert_eq!(status, 200, "{body}");
}

/// Behind a reverse proxy every desk comes from the proxy's address. The proxy named with
/// `--trusted-proxy` says who its client was (X-Forwarded-For, last entry), so one desk's flood
/// does not use up another's allowance; the same header from anyone else is ignored, so a
/// flooder cannot give itself fresh allowances by making up addresses.
#[test]
fn the_per_address_rate_counts_the_client_a_trusted_proxy_names() {
    let limits = [
        "--enrol-burst-per-address",
        "2",
        "--enrol-every-per-address",
        "1h",
        "--enrol-burst",
        "50",
    ];
    let post = |server: &Server, from: &str, forwarded: &str, body: &serde_json::Value| -> u16 {
        reqwest::blocking::Client::builder()
            .local_address(from.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
            .post(format!("{}/v1/enrol", server.url))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header("X-Forwarded-For", forwarded)
            .json(body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let wrong = json!({ "code": "AAAA-BBBB-CCCC", "device_id": DEVICE, "hall_code": "140521" });

    let mut args = limits.to_vec();
    args.extend(["--trusted-proxy", "127.0.0.1"]);
    let behind_proxy = Server::start_with(&args);
    // A flood from 10.0.0.7 through the proxy; the entries before the proxy's own are the
    // client's word and do not count.
    let flood: Vec<u16> = (0..4)
        .map(|i| {
            post(
                &behind_proxy,
                "127.0.0.1",
                &format!("10.9.9.{i}, 10.0.0.7"),
                &wrong,
            )
        })
        .collect();
    assert_eq!(flood, [403, 403, 429, 429]);
    let code = behind_proxy.enrol_code("140521");
    let ok = json!({ "code": code, "device_id": DEVICE, "hall_code": "140521" });
    assert_eq!(post(&behind_proxy, "127.0.0.1", "10.0.0.8", &ok), 200);

    // Not a trusted proxy: its X-Forwarded-For is ignored, the peer address counts.
    let direct = Server::start_with(&args);
    let made_up: Vec<u16> = (0..4)
        .map(|i| post(&direct, "127.0.0.2", &format!("10.0.1.{i}"), &wrong))
        .collect();
    assert_eq!(made_up, [403, 403, 429, 429]);
}

#[test]
fn requests_beyond_the_ceiling_are_shed_at_once() {
    let server = Server::start_with(&["--max-in-flight", "1"]);
    let (status, body) = enrol(&server, DEVICE, "沁水县接待台1");
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    // A push whose body is still arriving occupies the one slot.
    let payload = b"{\"changes\": []}";
    let mut slow = TcpStream::connect(server.addr).unwrap();
    write!(
        slow,
        "POST /v1/sync/push HTTP/1.1\r\nHost: city\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\n{PROTOCOL_HEADER}: {PROTOCOL_VERSION}\r\n\
         Content-Length: {}\r\n\r\n{{",
        payload.len()
    )
    .unwrap();
    slow.flush().unwrap();
    // Until the server has taken the slow request in, the probe may still get through; once it
    // has, the probe is shed with 503 at once (it does not wait for the slot).
    let deadline = Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        let (status, body) = server.get("/healthz", None);
        if status == 503 || Instant::now() > deadline {
            break (status, body);
        }
    };
    assert_eq!((status, body["code"].as_str()), (503, Some("overloaded")));
    // The slow request completes; the slot is free again.
    slow.write_all(&payload[1..]).unwrap();
    let answer = read_answer(&mut slow);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server.healthy());
}

common::both_backends! {
fn admin_tokens_expire_and_can_be_revoked() {
    let server = Server::start();
    let first = server.admin_token();
    let second = server.admin_token();
    assert_eq!(server.get("/v1/city/halls", Some(&first)).0, 200);
    assert_eq!(server.get("/v1/city/halls", Some(&second)).0, 200);

    // Revoked by the id `admin-tokens` lists (the start of its hash, never the token).
    let list = server.admin(&["admin-tokens"]);
    assert!(!list.contains(&first), "the list shows no token");
    let id = {
        use sha2::Digest;
        let h = sha2::Sha256::digest(first.as_bytes());
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()[..12].to_owned()
    };
    assert!(list.contains(&id), "{list}");
    server.admin(&["revoke-admin-token", &id]);
    let (status, body) = server.get("/v1/city/halls", Some(&first));
    assert_eq!(status, 401, "{body}");
    assert!(body["message"].as_str().unwrap().contains("吊销"));
    assert!(server.admin(&["admin-tokens"]).contains("已吊销"));
    assert!(server.admin(&["log"]).contains("admin_token_revoked"));

    // Expired: the token's time is moved back instead of waiting for it.
    server.execute("UPDATE admin_tokens SET expires_at = expires_at - 31 * 86400");
    assert_eq!(server.get("/v1/city/halls", Some(&second)).0, 401);
    // A life beyond 90 days is refused; a short one is accepted.
    assert!(
        !server
            .run(&["admin-token", "--ttl", "120d"])
            .status
            .success()
    );
    let short = common::last_word(&server.admin(&["admin-token", "--ttl", "12h"]));
    assert_eq!(server.get("/v1/city/halls", Some(&short)).0, 200);
}
}

common::both_backends! {
fn repeat_visit_lookups_are_in_the_city_log() {
    let server = Server::start();
    let admin = server.admin_token();
    let id = "140521198001010013";
    let (status, body) = server.get(
        &format!("/v1/city/repeat-visits?id_number={id}"),
        Some(&admin),
    );
    assert_eq!(status, 200, "{body}");
    let log = server.admin(&["log"]);
    let line = log
        .lines()
        .find(|l| l.contains("repeat_visits"))
        .unwrap_or_else(|| panic!("the lookup is not logged: {log}"));
    assert!(line.contains(id) && line.contains("市局管理员"), "{line}");
}
}

#[test]
fn plain_http_on_a_non_loopback_address_needs_an_explicit_flag() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut child = Command::new(CITY_BIN)
        .args([
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--no-encryption",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("XINFANG_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let status = status.expect("the server started serving plain HTTP on 0.0.0.0");
    assert!(!status.success());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("明文 HTTP") && err.contains("--tls-cert"),
        "{err}"
    );
}

common::both_backends! {
fn a_device_name_with_control_characters_is_refused() {
    let server = Server::start();
    let (status, body) = enrol(&server, DEVICE, "接待台\u{1b}]0;pwned\u{7}\u{1b}[2J");
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("device_name_invalid")),
        "{body}"
    );
    let list = server.admin(&["device", "list"]);
    assert!(!list.contains('\u{1b}'), "{list}");
}
}

common::both_backends! {
/// Item 2: staff and role changes are signed. A lawyer who writes the desk's database directly
/// (with the data key their account unlocks) to make themselves a supervisor gets the change
/// set aside at the city, listed for the city administrator, and never onto another desk; the
/// desk's first admin was pinned as a root of the hall at enrolment.
fn a_staff_change_without_an_admins_signature_is_set_aside_and_shown() {
    use common::cli_desk::{PASSWORD, desk, ok};
    let server = Server::start();
    let a = desk(&server);
    let b = desk(&server);
    let roots = server.int("SELECT count(*) FROM hall_roots WHERE hall_code = '140521'");
    assert_eq!(
        roots, 2,
        "each desk's first admin is pinned at its enrolment"
    );
    ok(
        a.path(),
        "admin",
        &[
            "staff",
            "add",
            "--username",
            "lawyer",
            "--name",
            "赵律师",
            "--role",
            "lawyer",
        ],
    );
    ok(a.path(), "admin", &["sync"]);
    ok(b.path(), "admin", &["sync"]);
    let roles_on = |dir: &std::path::Path| -> String {
        common::desk_conn(dir, "admin", PASSWORD)
            .query_row(
                "SELECT roles FROM staff WHERE username = 'lawyer'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(roles_on(b.path()), "lawyer", "the signed account reached B");

    let conn = common::desk_conn(a.path(), "lawyer", PASSWORD);
    let lawyer: String = conn
        .query_row("SELECT id FROM staff WHERE username = 'lawyer'", [], |r| {
            r.get(0)
        })
        .unwrap();
    conn.execute_batch(&format!(
        "UPDATE staff SET roles = 'lawyer,supervisor' WHERE id = '{lawyer}';
         INSERT INTO change_log(entity, entity_id, op, fields, changed_at, hlc) VALUES
           ('staff', '{lawyer}', 'update', '{{\"roles\":\"lawyer,supervisor\"}}',
            '2026-12-03T09:00:00+08:00', {});",
        xinfang_sync::hlc::now().0
    ))
    .unwrap();
    drop(conn);
    let report = ok(a.path(), "admin", &["sync"]);
    assert_eq!(report["set_aside"][0]["code"], "unsigned", "{report}");
    assert!(
        report["set_aside"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("管理员签名"),
        "{report}"
    );
    let (s, q) = server.get("/v1/city/quarantine", Some(&server.admin_token()));
    assert_eq!(s, 200);
    assert_eq!(q["changes"][0]["entity_id"], lawyer.as_str(), "{q}");
    assert_eq!(q["changes"][0]["code"], "unsigned", "{q}");
    let city_roles = server.rows(&format!(
        "SELECT {} FROM records WHERE entity = 'staff' AND entity_id = '{lawyer}'",
        server.json_sql("data", "roles")
    ))[0]
        .clone();
    assert_eq!(city_roles, "lawyer");
    ok(b.path(), "admin", &["sync"]);
    assert_eq!(
        roles_on(b.path()),
        "lawyer",
        "B never made the lawyer a supervisor"
    );
}
}

common::both_backends! {
/// Root keys offered at enrolment must be keys: anything else is refused before a code is used.
fn malformed_root_keys_are_refused_at_enrolment() {
    let server = Server::start();
    let code = server.enrol_code("140521");
    let (s, r) = server.post_json(
        "/v1/enrol",
        None,
        &json!({ "code": code, "device_id": DEVICE, "hall_code": "140521",
                 "root_keys": [{ "staff_id": "x';--", "sign_public": "zz" }] }),
    );
    assert_eq!(
        (s, r["code"].as_str()),
        (422, Some("root_keys_invalid")),
        "{r}"
    );
    let (s, _) = server.post_json(
        "/v1/enrol",
        None,
        &json!({ "code": code, "device_id": DEVICE, "hall_code": "140521" }),
    );
    assert_eq!(s, 200, "the code was not used up by the refused request");
}
}
