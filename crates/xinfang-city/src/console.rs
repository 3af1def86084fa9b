//! The city administrator's web console: its login and the JSON endpoints only it needed
//! (devices with their last contact, enrolment codes, revocation, the monthly report), and the
//! built page itself at `/admin` (ui/admin, built to ui/dist-admin and embedded). Every
//! endpoint here but login is the administrator's: an admin token or a console session
//! ([`crate::api::admin`]).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xinfang_sync::wire::ApiError;

use crate::admin::{self, Login};
use crate::api::{ApiJson, AppState, Failure, admin, blocking};
use crate::auth::{self, CodeKind};
use crate::protocol;
use crate::storage::DeviceOverview;

/// `POST /admin/api/login`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AdminLoginRequest {
    pub username: String,
    pub password: String,
}

/// A console session: who, and how long it lasts.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AdminSession {
    pub username: String,
    /// Seconds without a request after which the session ends.
    pub idle_secs: i64,
    /// Seconds after the login after which the session ends.
    pub max_secs: i64,
}

/// Log in to the web console: a session cookie (HttpOnly, SameSite=Strict) for 30 minutes of
/// inactivity, 8 hours at most. Five wrong passwords in a row lock the account for 15 minutes.
#[utoipa::path(post, path = "/admin/api/login", tag = "console", request_body = AdminLoginRequest,
    responses(
        (status = 200, description = "Logged in; the session is in the `xinfang_admin` cookie", body = AdminSession),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 401, description = "Wrong user name or password", body = ApiError),
        (status = 422, description = "Fields do not match the schema", body = ApiError),
        (status = 429, description = "Too many attempts: the account is locked for a while, or this address tries too often", body = ApiError),
    ))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiJson<AdminLoginRequest>, Failure>,
) -> Result<Response, Failure> {
    let ApiJson(req) = body?;
    let username = req.username.trim().to_owned();
    if username.is_empty() || username.len() > 64 || req.password.len() > 1024 {
        return Err(wrong_login());
    }
    let now = state.settings.clock.now().timestamp();
    let storage = state.storage.clone();
    let (name, password) = (username.clone(), req.password);
    let outcome =
        blocking(move || Ok(admin::login(storage.as_ref(), &name, &password, now)?)).await?;
    match outcome {
        Login::Ok(token) => {
            let mut resp = Json(AdminSession {
                username,
                idle_secs: admin::IDLE_SECS,
                max_secs: admin::MAX_SECS,
            })
            .into_response();
            set_cookie(
                &mut resp,
                &admin::session_cookie(&token, secure(&state, &headers)),
            );
            Ok(resp)
        }
        Login::Wrong => Err(wrong_login()),
        Login::Locked(until) => {
            let minutes = ((until - now) + 59) / 60;
            Err(Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "account_locked",
                format!(
                    "密码连续输错 {} 次，这个账号已暂停登录：请 {minutes} 分钟后再试；忘记密码请在服务器上用 `xinfang-city admin-user add` 重设。",
                    admin::MAX_ATTEMPTS
                ),
            ))
        }
    }
}

fn wrong_login() -> Failure {
    Failure::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        "用户名或密码不对，请重新输入。",
    )
}

/// Whether the browser reached the server over HTTPS: TLS here, `--allow-plain-http` (a TLS
/// proxy in front), or a proxy saying so (`X-Forwarded-Proto: https`). Believing the header
/// costs nothing: a forged one only makes the cookie stricter.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
}

/// Log out of the web console: the session ends and its cookie is cleared.
#[utoipa::path(post, path = "/admin/api/logout", tag = "console",
    responses((status = 204, description = "Logged out (also when there was no session)")))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    if let Some(token) = session_token(&headers) {
        let storage = state.storage.clone();
        blocking(move || Ok(admin::logout(storage.as_ref(), &token)?)).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    set_cookie(&mut resp, &admin::cleared_cookie(secure(&state, &headers)));
    Ok(resp)
}

pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(admin::cookie_token)
}

/// Who is logged in (the console asks at start).
#[utoipa::path(get, path = "/admin/api/me", tag = "console", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The session's account", body = AdminSession),
        (status = 401, description = "No session, or it expired", body = ApiError),
    ))]
pub async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<AdminSession>, Failure> {
    let who = admin(&state, &headers).await?;
    Ok(Json(AdminSession {
        username: who.strip_prefix("admin user ").unwrap_or(&who).to_owned(),
        idle_secs: admin::IDLE_SECS,
        max_secs: admin::MAX_SECS,
    }))
}

/// Every enrolled device and hall hub, with its hall, last contact and what it pushed.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub devices: Vec<DeviceOverview>,
}

/// Devices and hall hubs (city administrator).
#[utoipa::path(get, path = "/v1/city/devices", tag = "city", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "Every device, by hall", body = DeviceList),
        (status = 401, description = "Missing or unknown admin token, or no valid session", body = ApiError),
        (status = 403, description = "A device token, or a session request without X-Xinfang-Admin", body = ApiError),
    ))]
pub async fn devices(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<DeviceList>, Failure> {
    admin(&state, &headers).await?;
    let storage = state.storage.clone();
    let devices = blocking(move || Ok(storage.device_overview()?)).await?;
    Ok(Json(DeviceList { devices }))
}

/// Revoke a device (city administrator): its token is refused at once. Logged.
#[utoipa::path(post, path = "/v1/city/devices/{id}/revoke", tag = "city", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The device's id")),
    responses(
        (status = 204, description = "Revoked (or revoked already)"),
        (status = 401, description = "Missing or unknown admin token, or no valid session", body = ApiError),
        (status = 403, description = "A device token, or a session request without X-Xinfang-Admin", body = ApiError),
        (status = 404, description = "No such device", body = ApiError),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    let actor = admin(&state, &headers).await?;
    let storage = state.storage.clone();
    device_done(blocking(move || protocol::revoke_device(storage.as_ref(), &id, &actor)).await?)
}

/// 204 when the device was there, else 404: the answer of the console's device actions.
fn device_done(found: bool) -> Result<StatusCode, Failure> {
    if !found {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "device_unknown",
            "没有这台设备：请刷新设备列表后再试。",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// How long 允许重新登记 from the console lasts.
const REENROL_WINDOW_SECS: i64 = 24 * 3600;

/// Allow a device to enrol once more with a fresh code within 24 h (city administrator): a
/// reinstalled desk, or one that left its server. Logged.
#[utoipa::path(post, path = "/v1/city/devices/{id}/allow-reenrol", tag = "city", security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The device's id")),
    responses(
        (status = 204, description = "Allowed for the next 24 hours"),
        (status = 401, description = "Missing or unknown admin token, or no valid session", body = ApiError),
        (status = 403, description = "A device token, or a session request without X-Xinfang-Admin", body = ApiError),
        (status = 404, description = "No such device", body = ApiError),
    ))]
pub async fn allow_reenrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, Failure> {
    let actor = admin(&state, &headers).await?;
    let storage = state.storage.clone();
    let until = state.settings.clock.now().timestamp() + REENROL_WINDOW_SECS;
    device_done(blocking(move || Ok(storage.allow_reenrol(&id, until, &actor)?)).await?)
}

/// `POST /v1/city/enrol-codes`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct EnrolCodeRequest {
    pub hall_code: String,
    /// A code for the hall's hub (`xinfang-city hub join`), not for a desk.
    #[serde(default)]
    pub hub: bool,
    /// How long the code is valid: 90s, 30m, 24h, 7d (at most 7d; default 24h).
    #[serde(default)]
    pub ttl: Option<String>,
}

/// A new one-time enrolment code, shown this once.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct EnrolCodeResponse {
    pub code: String,
    pub hall_code: String,
    pub hall_name: String,
    /// `desk` or `hub`.
    pub kind: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Longest life of a code made in the console.
const MAX_CODE_SECS: i64 = 7 * 86_400;

/// Make a one-time enrolment code for a hall's desk or hub (city administrator). Logged.
#[utoipa::path(post, path = "/v1/city/enrol-codes", tag = "city", security(("bearer" = []), ("session" = [])),
    request_body = EnrolCodeRequest,
    responses(
        (status = 200, description = "The code (only its hash is kept)", body = EnrolCodeResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 401, description = "Missing or unknown admin token, or no valid session", body = ApiError),
        (status = 403, description = "A device token, a session request without X-Xinfang-Admin, or a hub code asked of a hall hub", body = ApiError),
        (status = 404, description = "No such hall", body = ApiError),
        (status = 422, description = "Fields do not match the schema, or a malformed validity", body = ApiError),
    ))]
pub async fn enrol_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiJson<EnrolCodeRequest>, Failure>,
) -> Result<Json<EnrolCodeResponse>, Failure> {
    let actor = admin(&state, &headers).await?;
    let ApiJson(req) = body?;
    let ttl = req.ttl.as_deref().unwrap_or("24h");
    let secs = auth::parse_ttl(ttl)
        .filter(|s| *s <= MAX_CODE_SECS)
        .ok_or_else(|| {
            Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ttl_invalid",
                "有效期应写成 90s、30m、24h 或 7d 这样的形式，最长 7 天。",
            )
        })?;
    // A hall hub makes codes for its own desks only (as `xinfang-city enrol-code` there).
    protocol::check_code_on_hub(state.settings.hub_hall.as_deref(), &req.hall_code, req.hub)?;
    let kind = if req.hub {
        CodeKind::Hub
    } else {
        CodeKind::Desk
    };
    let now = state.settings.clock.now().timestamp();
    let storage = state.storage.clone();
    let hall = req.hall_code.clone();
    let made = blocking(move || {
        protocol::make_enrol_code(storage.as_ref(), &hall, kind, secs, now, &actor)
    })
    .await?;
    Ok(Json(EnrolCodeResponse {
        code: made.code,
        hall_code: made.hall.code,
        hall_name: made.hall.name,
        kind: if req.hub { "hub" } else { "desk" }.to_owned(),
        expires_at: made.expires_at,
    }))
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
pub struct ReportQuery {
    /// The month, YYYY-MM.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: String,
}

/// The city's monthly report (月度统计报告) as PDF, as `xinfang-city report` writes it (city
/// administrator).
#[utoipa::path(get, path = "/v1/city/report", tag = "city", security(("bearer" = []), ("session" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = String),
        (status = 400, description = "Missing query parameter", body = ApiError),
        (status = 401, description = "Missing or unknown admin token, or no valid session", body = ApiError),
        (status = 403, description = "A device token, or a session request without X-Xinfang-Admin", body = ApiError),
        (status = 422, description = "Not a month", body = ApiError),
    ))]
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Failure> {
    admin(&state, &headers).await?;
    let Query(q) = query.map_err(|_| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "month_missing",
            "请用查询参数 month 给出月份，例如 ?month=2025-03。",
        )
    })?;
    if let Err(e) = xinfang_print::report::month_bounds(&q.month) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "month_invalid",
            e.message,
        ));
    }
    let storage = state.storage.clone();
    let today = state.settings.clock.today();
    let templates = state.settings.report_templates.clone();
    let month = q.month.clone();
    let pdf = match tokio::task::spawn_blocking(move || {
        crate::report::month_pdf(storage.as_ref(), &month, today, templates.as_deref())
    })
    .await
    {
        Ok(Ok((_, pdf))) => pdf,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "monthly report failed");
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "report_failed",
                "无法生成月度报告：请稍后重试；如果一直出现，请联系市局管理员查看服务器日志。",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "report task failed");
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "服务器内部错误：请稍后重试。",
            ));
        }
    };
    let disposition = format!("attachment; filename=\"city-report-{}.pdf\"", q.month);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        pdf,
    )
        .into_response())
}

/// The built console (ui/admin → ui/dist-admin): embedded in release builds, read from the
/// folder in debug builds; missing until `make ui-build` ran.
#[derive(rust_embed::RustEmbed)]
#[folder = "../../ui/dist-admin/"]
#[allow_missing = true]
struct ConsoleFiles;

/// What `/admin` answers when the console was not built into this binary.
const NOT_BUILT: &str = "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>市局管理后台</title>\
<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>市局管理后台尚未构建</h1>\
<p>这个服务器程序构建时没有包含网页管理后台。请在源代码目录运行 <code>make release</code>（它先构建网页界面）后重新安装服务器程序。</p>\
<p>在此之前，市局管理员仍可用命令行（<code>xinfang-city --help</code>）管理大厅、登记码和设备。</p></body></html>";

/// `/admin` and everything under it: the console's files; any other path is its single page
/// (the router of the page picks the screen).
pub async fn page(uri: axum::http::Uri) -> Response {
    let path = uri
        .path()
        .trim_start_matches("/admin")
        .trim_start_matches('/');
    if path.starts_with("api/") {
        return Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "没有这个接口：请对照 docs/openapi.yaml。",
        )
        .into_response();
    }
    let file = if path.is_empty() { "index.html" } else { path };
    let (file, found) = match ConsoleFiles::get(file) {
        Some(f) => (file, Some(f)),
        None => ("index.html", ConsoleFiles::get("index.html")),
    };
    let Some(content) = found else {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response();
    };
    let mime = content.metadata.mimetype().to_owned();
    // Hashed asset names change with their content; the page itself is always fetched again.
    let cache = if file == "index.html" {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, cache.to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'".to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        content.data.into_owned(),
    )
        .into_response()
}
