//! Every endpoint of the city server, called as each kind of caller: nobody, a made-up token, a
//! revoked device, an enrolled device, the city administrator, and an administrator's token
//! that expired or was revoked (issue 15, item 14). The table below says who may
//! call what; the endpoints come from the OpenAPI document, so a new endpoint without a row
//! here fails the test. (Hall scoping of the data itself: `sync.rs`,
//! `another_halls_data_is_forbidden` and `desks_of_a_hall_share_records_…`.)

mod common;

use common::Server;
use utoipa::OpenApi;
use xinfang_city::api::ApiDoc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Anyone (health check; enrolment, which needs a one-time code in the body).
    Public,
    /// An enrolled, not revoked device (its hall is checked on the data).
    Device,
    /// The city administrator's token only.
    Admin,
    /// A hall hub's token only (docs/sync.md "Hall hub").
    Hub,
    /// An enrolled desk, a hall hub or the city administrator.
    AnyDevice,
    /// An enrolled desk or a hall hub (signed updates: a hub relays them to its desks).
    DeskOrHub,
}

const MATRIX: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("POST", "/v1/enrol", Access::Public),
    ("GET", "/v1/sync/state", Access::Device),
    ("POST", "/v1/sync/push", Access::Device),
    ("GET", "/v1/sync/events", Access::Device),
    ("POST", "/v1/sync/pull", Access::Device),
    ("POST", "/v1/sync/snapshot", Access::Device),
    ("POST", "/v1/sync/own", Access::Device),
    ("POST", "/v1/sync/person-matters", Access::Device),
    ("POST", "/v1/audit/push", Access::Device),
    ("GET", "/v1/reference", Access::AnyDevice),
    ("POST", "/v1/hub/devices", Access::Hub),
    ("POST", "/v1/hub/push", Access::Hub),
    ("POST", "/v1/hub/pull", Access::Hub),
    ("POST", "/v1/hub/audit", Access::Hub),
    ("GET", "/v1/city/halls", Access::Admin),
    ("GET", "/v1/city/repeat-visits", Access::Admin),
    ("GET", "/v1/city/stats", Access::Admin),
    ("GET", "/v1/city/publicity", Access::Admin),
    ("GET", "/v1/city/audit", Access::Admin),
    ("GET", "/v1/city/quarantine", Access::Admin),
    ("GET", "/v1/city/devices", Access::Admin),
    ("POST", "/v1/city/devices/{id}/revoke", Access::Admin),
    ("POST", "/v1/city/devices/{id}/allow-reenrol", Access::Admin),
    ("POST", "/v1/city/enrol-codes", Access::Admin),
    ("GET", "/v1/city/report", Access::Admin),
    // The web console's login and logout (a password or a cookie, never a token); who is
    // logged in is the administrator's (console.rs).
    ("POST", "/admin/api/login", Access::Public),
    ("POST", "/admin/api/logout", Access::Public),
    ("GET", "/admin/api/me", Access::Admin),
    ("POST", "/v1/hall/queue-number", Access::Device),
    ("POST", "/v1/hall/call", Access::Device),
    ("GET", "/v1/updates/manifest", Access::DeskOrHub),
    (
        "GET",
        "/v1/updates/package/{version}/{kind}",
        Access::DeskOrHub,
    ),
    // The waiting room's screen: numbers, rooms and times only (hall_queue.rs).
    ("GET", "/hall/screen", Access::Public),
    ("GET", "/hall/screen/state", Access::Public),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Nobody,
    MadeUp,
    Revoked,
    Device,
    Hub,
    Admin,
    ExpiredAdmin,
    RevokedAdmin,
}

fn allowed(access: Access, caller: Caller) -> bool {
    match access {
        Access::Public => true,
        Access::Device => caller == Caller::Device,
        Access::Admin => caller == Caller::Admin,
        Access::Hub => caller == Caller::Hub,
        Access::AnyDevice => matches!(caller, Caller::Device | Caller::Hub | Caller::Admin),
        Access::DeskOrHub => matches!(caller, Caller::Device | Caller::Hub),
    }
}

/// The documented operations, as (method, path).
fn documented() -> Vec<(String, String)> {
    let doc = ApiDoc::openapi();
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ] {
            if op.is_some() {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn the_matrix_names_every_documented_endpoint_and_nothing_else() {
    let mut documented = documented();
    documented.sort();
    let mut table: Vec<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    table.sort();
    assert_eq!(
        table, documented,
        "every endpoint needs a row in MATRIX (who may call it), and every row an endpoint"
    );
}

common::both_backends! {
fn each_endpoint_refuses_the_callers_the_matrix_refuses() {
    let server = Server::start();
    let device = server.enrol_device("140521", "matrix-desk");
    let revoked = server.enrol_device("140521", "matrix-revoked");
    server.admin(&["device", "revoke", "matrix-revoked"]);
    let hub_code = common::last_word(&server.admin(&["enrol-code", "--hall", "140521", "--hub"]));
    let (status, body) = server.post_json(
        "/v1/enrol",
        None,
        &serde_json::json!({ "code": hub_code, "device_id": "hub-matrix-hub", "hall_code": "" }),
    );
    assert_eq!(status, 200, "{body}");
    let hub = body["token"].as_str().unwrap().to_owned();
    let admin = server.admin_token();
    let expired = server.admin_token();
    let revoked_admin = server.admin_token();
    let hash_start = |token: &str| {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()[..12]
            .to_owned()
    };
    server.admin(&["revoke-admin-token", &hash_start(&revoked_admin)]);
    // Expired without waiting: its expiry moves back.
    server.execute(&format!(
        "UPDATE admin_tokens SET expires_at = 0 WHERE substr(token_hash, 1, 12) = '{}'",
        hash_start(&expired)
    ));
    let callers = [
        (Caller::Nobody, None),
        (Caller::MadeUp, Some("xft_0000000000000000")),
        (Caller::Revoked, Some(revoked.as_str())),
        (Caller::Device, Some(device.as_str())),
        (Caller::Hub, Some(hub.as_str())),
        (Caller::Admin, Some(admin.as_str())),
        (Caller::ExpiredAdmin, Some(expired.as_str())),
        (Caller::RevokedAdmin, Some(revoked_admin.as_str())),
    ];
    for (method, path, access) in MATRIX {
        for (caller, token) in callers {
            // An empty body: an allowed caller gets past the token check and is then told what
            // is wrong with the body (4xx, not 401/403); a refused one never gets that far.
            let (status, body) = match *method {
                "GET" => server.get(path, token),
                _ => server.post_json(path, token, &serde_json::json!({})),
            };
            let refused = status == 401 || status == 403;
            assert_eq!(
                !refused,
                allowed(*access, caller),
                "{method} {path} as {caller:?}: {status} {body}"
            );
            if refused {
                let message = body["message"].as_str().unwrap_or_default();
                assert!(
                    message
                        .chars()
                        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "{method} {path} as {caller:?}: the refusal should say why in Chinese: {body}"
                );
            }
        }
    }
}
}
