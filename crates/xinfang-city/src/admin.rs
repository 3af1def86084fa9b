//! The city administrator's web console (`/admin`): accounts (argon2id password hashes), login
//! with a limit on wrong passwords, and sessions kept in the database as the SHA-256 of a random
//! token (docs/security.md "Administrator's web console"). The CLI (`xinfang-city admin-user`)
//! and the HTTP handlers (`api.rs`) both call these.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::auth;
use crate::storage::{NewLogEntry, Result, Storage};

/// A session ends after this long without a request…
pub const IDLE_SECS: i64 = 30 * 60;
/// …and this long after the login, whatever the activity.
pub const MAX_SECS: i64 = 8 * 3600;
/// Wrong passwords in a row before the account is locked…
pub const MAX_ATTEMPTS: i64 = 5;
/// …for this long (kept in the database: every instance refuses).
pub const LOCK_SECS: i64 = 15 * 60;
/// The session cookie's name.
pub const COOKIE: &str = "xinfang_admin";
/// Shortest password of a console account.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Checks a new account's name: letters, digits, `.`, `_`, `-`, 2 to 32 characters.
pub fn valid_username(name: &str) -> bool {
    (2..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The argon2id PHC string of `password` (the crate's recommended parameters, a fresh salt).
pub fn hash_password(password: &str) -> std::result::Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to check wrong usernames against, so a login takes as long whether or not the
/// account exists.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("no such account").unwrap_or_default())
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The session token, for the cookie (only its hash is stored).
    Ok(String),
    /// Wrong username or password (not told apart).
    Wrong,
    /// Too many wrong passwords: locked until (Unix seconds).
    Locked(i64),
}

/// Checks the password and starts a session; wrong passwords count towards the lock. Logged.
pub fn login(storage: &dyn Storage, username: &str, password: &str, now: i64) -> Result<Login> {
    let account = storage.admin_login(username)?;
    let Some(account) = account else {
        let _ = password_matches(password, dummy_hash());
        storage.log(&NewLogEntry {
            action: "admin_login_failed",
            actor: format!("admin user {username}"),
            device_id: None,
            detail: "unknown account".into(),
        })?;
        return Ok(Login::Wrong);
    };
    if let Some(until) = account.locked_until.filter(|u| *u > now) {
        return Ok(Login::Locked(until));
    }
    if !password_matches(password, &account.password_hash) {
        storage.admin_login_failed(username, MAX_ATTEMPTS, now + LOCK_SECS)?;
        storage.log(&NewLogEntry {
            action: "admin_login_failed",
            actor: format!("admin user {username}"),
            device_id: None,
            detail: format!("wrong password ({} before)", account.failed_attempts),
        })?;
        return Ok(if account.failed_attempts + 1 >= MAX_ATTEMPTS {
            Login::Locked(now + LOCK_SECS)
        } else {
            Login::Wrong
        });
    }
    let token = auth::new_token();
    storage.start_admin_session(
        username,
        &auth::token_hash(&token),
        now,
        now - IDLE_SECS,
        now - MAX_SECS,
    )?;
    storage.log(&NewLogEntry {
        action: "admin_login",
        actor: format!("admin user {username}"),
        device_id: None,
        detail: "web console".into(),
    })?;
    Ok(Login::Ok(token))
}

/// The account of a valid session token (its idle time restarts), or `None`.
pub fn session(storage: &dyn Storage, token: &str, now: i64) -> Result<Option<String>> {
    storage.admin_session(
        &auth::token_hash(token),
        now,
        now - IDLE_SECS,
        now - MAX_SECS,
    )
}

/// Ends the session of `token`.
pub fn logout(storage: &dyn Storage, token: &str) -> Result<()> {
    storage.end_admin_session(&auth::token_hash(token))
}

/// The session token in a `Cookie` header, if any.
pub fn cookie_token(cookie_header: &str) -> Option<String> {
    cookie_header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value of a new session: HttpOnly (no script reads it), SameSite=Strict
/// (no other site's page sends it), Secure when the browser reaches the server over HTTPS.
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/; Max-Age={MAX_SECS}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn cleared_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_cookies() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(password_matches("correct horse", &h));
        assert!(!password_matches("wrong horse", &h));
        assert_eq!(
            cookie_token("a=1; xinfang_admin=xft_ab; b=2").as_deref(),
            Some("xft_ab")
        );
        assert_eq!(cookie_token("xinfang_admin="), None);
        assert!(session_cookie("t", true).ends_with("; Secure"));
        assert!(session_cookie("t", false).contains("HttpOnly; SameSite=Strict"));
        assert!(valid_username("admin.li"));
        assert!(!valid_username("a b"));
    }

    #[test]
    fn a_session_ends_after_eight_hours_however_busy() {
        let dir = tempfile::TempDir::new().unwrap();
        let storage = crate::storage::open(dir.path()).unwrap();
        let hash = hash_password("correct horse battery").unwrap();
        assert!(storage.put_admin_user("chen", &hash).unwrap());
        let t0 = 1_800_000_000;
        let Login::Ok(token) =
            login(storage.as_ref(), "chen", "correct horse battery", t0).unwrap()
        else {
            panic!("the right password logs in")
        };
        // A request every 20 minutes keeps it alive…
        let mut t = t0;
        while t + 20 * 60 < t0 + MAX_SECS {
            t += 20 * 60;
            assert_eq!(
                session(storage.as_ref(), &token, t).unwrap().as_deref(),
                Some("chen")
            );
        }
        // …until 8 hours after the login.
        assert_eq!(
            session(storage.as_ref(), &token, t0 + MAX_SECS + 1).unwrap(),
            None
        );
        assert_eq!(session(storage.as_ref(), "xft_other", t0).unwrap(), None);
    }
}
