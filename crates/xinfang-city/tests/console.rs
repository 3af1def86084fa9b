//! The city administrator's web console (issue 20): accounts made with the CLI, login with a
//! session cookie, the session refused without the CSRF header, after logout and after 30
//! idle minutes (the server's clock moved on, never waited for), wrong passwords locking the
//! account; a code made through the API enrols a desk, which the console lists and revokes.
//! The real server binary on loopback, on SQLite and on PostgreSQL.

mod common;

use std::process::Command;

use common::{CITY_BIN, Server};
use serde_json::{Value, json};

const PASSWORD: &str = "console-pass-2026";

/// `xinfang-city admin-user add` against the server's data (the password from the env).
fn add_admin_user(server: &Server, username: &str, password: &str) -> std::process::Output {
    let mut cmd = Command::new(CITY_BIN);
    cmd.args(["admin-user", "add", "--username", username])
        .arg("--data-dir")
        .arg(server.dir.path())
        .arg("--no-encryption")
        .env("XINFANG_LOG", "warn")
        .env("XINFANG_CITY_ADMIN_PASSWORD", password);
    if let Some(uri) = &server.database {
        cmd.arg("--database").arg(uri);
    }
    cmd.output().unwrap()
}

/// (status, Set-Cookie, body) of a login.
fn login(server: &Server, username: &str, password: &str) -> (u16, Option<String>, Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/admin/api/login", server.url))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, cookie, resp.json().unwrap_or(Value::Null))
}

/// The `name=value` part of a Set-Cookie.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// A console request: the session cookie, and the CSRF header when `csrf`.
fn call(
    server: &Server,
    method: &str,
    path: &str,
    cookie: &str,
    csrf: bool,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let url = format!("{}{path}", server.url);
    let mut req = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    }
    .header("cookie", cookie);
    if csrf {
        req = req.header("x-xinfang-admin", "1");
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn logged_in(server: &Server) -> String {
    let out = add_admin_user(server, "chen", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, cookie, body) = login(server, "chen", PASSWORD);
    assert_eq!(status, 200, "{body}");
    cookie_pair(&cookie.expect("a session cookie"))
}

common::both_backends! {
fn a_console_session_makes_a_code_that_enrols_a_desk_and_revokes_it() {
    let server = Server::start();
    let out = add_admin_user(&server, "chen", PASSWORD);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(server.admin(&["admin-user", "list"]).contains("chen"));

    // A wrong password is refused, and says nothing of which part was wrong.
    let (status, cookie, body) = login(&server, "chen", "not-the-password");
    assert_eq!((status, body["code"].as_str()), (401, Some("login_failed")));
    assert!(cookie.is_none());
    let (status, _, body) = login(&server, "nobody", PASSWORD);
    assert_eq!((status, body["code"].as_str()), (401, Some("login_failed")));

    let (status, set_cookie, body) = login(&server, "chen", PASSWORD);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "chen");
    let set_cookie = set_cookie.unwrap();
    assert!(set_cookie.starts_with("xinfang_admin=xft_"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    // Plain HTTP on loopback: no Secure flag (the browser would drop the cookie).
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    // Behind the HTTPS proxy (deploy/nginx-city.conf) it is Secure.
    let proxied = reqwest::blocking::Client::new()
        .post(format!("{}/admin/api/login", server.url))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "username": "chen", "password": PASSWORD }))
        .send()
        .unwrap();
    assert!(proxied.headers()["set-cookie"].to_str().unwrap().ends_with("; Secure"));
    let cookie = cookie_pair(&set_cookie);
    // Only the token's hash is stored.
    let token = cookie.trim_start_matches("xinfang_admin=");
    assert_eq!(server.int("SELECT count(*) FROM admin_sessions"), 2);
    assert!(server.rows("SELECT token_hash FROM admin_sessions").iter().all(|h| h != token));

    // The session without the CSRF header is refused; with it, the console's calls answer.
    let (status, body) = call(&server, "GET", "/v1/city/devices", &cookie, false, None);
    assert_eq!((status, body["code"].as_str()), (403, Some("admin_header_missing")));
    let (status, body) = call(
        &server, "POST", "/v1/city/enrol-codes", &cookie, false,
        Some(json!({ "hall_code": "140521" })),
    );
    assert_eq!((status, body["code"].as_str()), (403, Some("admin_header_missing")));
    let (status, body) = call(&server, "GET", "/admin/api/me", &cookie, true, None);
    assert_eq!((status, body["username"].as_str()), (200, Some("chen")));
    // Nobody, and a device, are not the administrator.
    let (status, _) = server.get("/v1/city/devices", None);
    assert_eq!(status, 401);

    // A code made through the API enrols a desk, once.
    let (status, made) = call(
        &server, "POST", "/v1/city/enrol-codes", &cookie, true,
        Some(json!({ "hall_code": "140521", "ttl": "1h" })),
    );
    assert_eq!(status, 200, "{made}");
    assert_eq!((made["kind"].as_str(), made["hall_code"].as_str()), (Some("desk"), Some("140521")));
    let code = made["code"].as_str().unwrap();
    let (status, enrolled) = server.post_json(
        "/v1/enrol",
        None,
        &json!({ "code": code, "device_id": "desk-console-0001", "hall_code": "140521",
                 "device_name": "沁水县接待台1" }),
    );
    assert_eq!(status, 200, "{enrolled}");
    let mut desk_token = enrolled["token"].as_str().unwrap().to_owned();

    // The desk left its server and comes back with a fresh code: refused until the console
    // allows it (允许重新登记), then it enrols once more under a new token.
    let enrol_again = |server: &Server, cookie: &str| {
        let (_, made) = call(
            server, "POST", "/v1/city/enrol-codes", cookie, true,
            Some(json!({ "hall_code": "140521" })),
        );
        server.post_json(
            "/v1/enrol",
            None,
            &json!({ "code": made["code"], "device_id": "desk-console-0001",
                     "hall_code": "140521", "device_name": "沁水县接待台1" }),
        )
    };
    let (status, body) = enrol_again(&server, &cookie);
    assert_eq!((status, body["code"].as_str()), (409, Some("device_already_enrolled")));
    let (status, _) = call(
        &server, "POST", "/v1/city/devices/desk-console-0001/allow-reenrol", &cookie, false, None,
    );
    assert_eq!(status, 403, "the CSRF header is needed");
    let (status, _) = call(
        &server, "POST", "/v1/city/devices/desk-console-0001/allow-reenrol", &cookie, true, None,
    );
    assert_eq!(status, 204);
    let (status, body) = enrol_again(&server, &cookie);
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.get("/v1/sync/state", Some(&desk_token)).0, 401, "the old token ends");
    desk_token = body["token"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &server, "POST", "/v1/city/devices/no-such-device-1/allow-reenrol", &cookie, true, None,
    );
    assert_eq!((status, body["code"].as_str()), (404, Some("device_unknown")));

    let (status, _) = server.get("/v1/city/devices", Some(&desk_token));
    assert_eq!(status, 403, "a device token is not the administrator's");
    let (status, _) = server.get("/v1/sync/state", Some(&desk_token));
    assert_eq!(status, 200);

    // The console lists it, with its last contact (the sync's first call).
    let (status, list) = call(&server, "GET", "/v1/city/devices", &cookie, true, None);
    assert_eq!(status, 200, "{list}");
    let desk = list["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "desk-console-0001")
        .expect("the desk is listed")
        .clone();
    assert_eq!(desk["kind"], "desk");
    assert_eq!(desk["name"], "沁水县接待台1");
    assert!(desk["last_contact_at"].is_string(), "{desk}");
    assert!(desk["revoked_at"].is_null());

    // A hub's code; codes for no hall, or for longer than a week, are refused.
    let (status, hub) = call(
        &server, "POST", "/v1/city/enrol-codes", &cookie, true,
        Some(json!({ "hall_code": "140521", "hub": true })),
    );
    assert_eq!((status, hub["kind"].as_str()), (200, Some("hub")), "{hub}");
    let (status, body) = call(
        &server, "POST", "/v1/city/enrol-codes", &cookie, true,
        Some(json!({ "hall_code": "999999" })),
    );
    assert_eq!((status, body["code"].as_str()), (404, Some("hall_unknown")));
    let (status, body) = call(
        &server, "POST", "/v1/city/enrol-codes", &cookie, true,
        Some(json!({ "hall_code": "140521", "ttl": "30d" })),
    );
    assert_eq!((status, body["code"].as_str()), (422, Some("ttl_invalid")));

    // Revoking needs the header too; then the desk is refused at once.
    let (status, _) = call(
        &server, "POST", "/v1/city/devices/desk-console-0001/revoke", &cookie, false, None,
    );
    assert_eq!(status, 403);
    let (status, _) = call(
        &server, "POST", "/v1/city/devices/desk-console-0001/revoke", &cookie, true, None,
    );
    assert_eq!(status, 204);
    let (status, body) = server.get("/v1/sync/state", Some(&desk_token));
    assert_eq!((status, body["code"].as_str()), (401, Some("token_revoked")));
    let (status, body) = call(
        &server, "POST", "/v1/city/devices/no-such-device-1/revoke", &cookie, true, None,
    );
    assert_eq!((status, body["code"].as_str()), (404, Some("device_unknown")));

    // What the administrator did is in the city's log, under the account's name.
    let log = server.rows(
        "SELECT action, actor FROM city_log WHERE action IN ('enrol_code_made', 'device_revoked', 'admin_login', 'reenrol_allowed') ORDER BY id",
    );
    assert_eq!(
        log,
        [
            "admin_login|admin user chen",
            "admin_login|admin user chen",
            "enrol_code_made|admin user chen",
            "enrol_code_made|admin user chen",
            "reenrol_allowed|admin user chen",
            "enrol_code_made|admin user chen",
            "enrol_code_made|admin user chen",
            "device_revoked|admin user chen"
        ]
    );

    // The admin token still works on the new endpoints (unchanged contract).
    let admin_token = server.admin_token();
    let (status, list) = server.get("/v1/city/devices", Some(&admin_token));
    assert_eq!(status, 200);
    assert!(list["devices"][0]["revoked_at"].is_string());

    // After logout the cookie is worth nothing.
    let (status, _) = call(&server, "POST", "/admin/api/logout", &cookie, true, None);
    assert_eq!(status, 204);
    let (status, body) = call(&server, "GET", "/v1/city/devices", &cookie, true, None);
    assert_eq!((status, body["code"].as_str()), (401, Some("session_expired")));
}
}

common::both_backends! {
fn a_session_ends_after_thirty_idle_minutes() {
    let mut server = Server::start();
    let cookie = logged_in(&server);
    // 20 minutes on, then 25 more: each request restarts the idle time.
    for minutes in ["1200", "2700"] {
        server.restart_with_env(&[("XINFANG_CLOCK_SKEW_SECS", minutes)]);
        let (status, body) = call(&server, "GET", "/admin/api/me", &cookie, true, None);
        assert_eq!(status, 200, "{minutes}s on: {body}");
    }
    // 31 minutes after the last request: gone, with a message for the login screen.
    server.restart_with_env(&[("XINFANG_CLOCK_SKEW_SECS", "4560")]);
    let (status, body) = call(&server, "GET", "/admin/api/me", &cookie, true, None);
    assert_eq!((status, body["code"].as_str()), (401, Some("session_expired")));
    assert!(body["message"].as_str().unwrap().contains("重新登录"));
}
}

common::both_backends! {
fn five_wrong_passwords_lock_the_account() {
    let server = Server::start();
    let out = add_admin_user(&server, "chen", PASSWORD);
    assert!(out.status.success());
    for _ in 0..4 {
        assert_eq!(login(&server, "chen", "wrong-password-x").0, 401);
    }
    let (status, _, body) = login(&server, "chen", "wrong-password-x");
    assert_eq!((status, body["code"].as_str()), (429, Some("account_locked")));
    // Locked: even the right password waits.
    let (status, cookie, body) = login(&server, "chen", PASSWORD);
    assert_eq!((status, body["code"].as_str()), (429, Some("account_locked")));
    assert!(cookie.is_none());
    // A new password set on the server lifts the lock.
    assert!(add_admin_user(&server, "chen", "another-pass-2026").status.success());
    assert_eq!(login(&server, "chen", "another-pass-2026").0, 200);
}
}

common::both_backends! {
fn admin_user_commands_refuse_bad_names_and_short_passwords() {
    let server = Server::start();
    let out = add_admin_user(&server, "bad name", PASSWORD);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("用户名"));
    let out = add_admin_user(&server, "chen", "short");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("密码太短"));
    assert!(add_admin_user(&server, "chen", PASSWORD).status.success());
    server.admin(&["admin-user", "remove", "--username", "chen"]);
    assert_eq!(login(&server, "chen", PASSWORD).0, 401);
}
}

#[test]
fn the_console_page_is_served_at_admin() {
    let server = Server::start();
    let resp = reqwest::blocking::get(format!("{}/admin/", server.url)).unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = resp.text().unwrap();
    // Built (ui/dist-admin) or not, the page is Chinese.
    assert!(page.contains("市局管理后台"), "{page}");
    // A deep link is the same single page; an unknown API path is a JSON 404.
    let deep = reqwest::blocking::get(format!("{}/admin/devices", server.url)).unwrap();
    assert_eq!(deep.status().as_u16(), 200);
    let (status, body) = server.get("/admin/api/nothing", None);
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

common::both_backends! {
fn the_monthly_report_is_a_pdf_for_the_administrator_only() {
    let server = Server::start();
    let cookie = logged_in(&server);
    let client = reqwest::blocking::Client::new();
    let resp = client
        .get(format!("{}/v1/city/report?month=2025-03", server.url))
        .header("cookie", &cookie)
        .header("x-xinfang-admin", "1")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(resp.bytes().unwrap().starts_with(b"%PDF"));
    let (status, body) = call(
        &server,
        "GET",
        "/v1/city/report?month=2025-13",
        &cookie,
        true,
        None,
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("month_invalid"))
    );
    let (status, _) = server.get("/v1/city/report?month=2025-03", None);
    assert_eq!(status, 401);
}
}
