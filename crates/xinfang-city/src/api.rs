//! The HTTP API (axum). Handlers check the caller and the request, then call [`Storage`]; they
//! hold no SQL. The OpenAPI document (`docs/openapi.yaml`) is generated from these handlers and
//! the wire types by utoipa: `xinfang-city openapi`.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};
use xinfang_core::clock::Clock;
use xinfang_core::hall::HallCode;
use xinfang_sync::Hlc;
use xinfang_sync::audit::{
    AuditBreak, AuditChains, AuditEntry, AuditPushRequest, AuditPushResponse, DeviceAuditChain,
    MAX_FIELD_CHARS, is_hash,
};
use xinfang_sync::wire::{
    ApiError, AuditHead, Change, CityCounts, DeviceState, EnrolRequest, EnrolResponse, HallCounts,
    HallIdKey, Health, HubAuditRequest, HubDevicesRequest, HubDevicesResponse, HubPullRequest,
    HubPushRequest, MAX_AUDIT_ENTRIES, MAX_BODY_BYTES, MAX_PULL_CHANGES, MAX_PUSH_CHANGES, Op,
    OtherHallMatter, OwnChangesRequest, OwnChangesResponse, PROTOCOL_HEADER, PROTOCOL_VERSION,
    PersonMattersRequest, PersonMattersResponse, PullRequest, PullResponse, PushRequest,
    PushResponse, Quarantine, QuarantinedChange, ReferenceBundle, RemoteChange, RepeatVisit,
    RepeatVisits, SCHEMA_HEADER, SetAside, SnapshotRecord, SnapshotRequest, SnapshotResponse,
    snapshot_as_changes,
};

use crate::auth;
use crate::notify::HallNotifier;
use crate::protocol::{self, CityError, RefusalKind};
use crate::reference;
use crate::storage::{Device, NewEnrolment, NewLogEntry, Storage, StorageError};

/// The server's clock: the system time, shifted by env `XINFANG_CLOCK_SKEW_SECS` when set (see
/// [`xinfang_sync::hlc::wall_ms`]). Tests pass a clock of their own, so they never wait for time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerClock;

impl Clock for ServerClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(xinfang_sync::hlc::wall_ms()).unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub settings: ServerSettings,
}

/// What a deployment may choose.
#[derive(Clone)]
pub struct ServerSettings {
    /// Lowest desk protocol version served (header `X-Xinfang-Protocol`; none = 1). Older
    /// desks get 426 `upgrade_required` (请升级).
    pub min_protocol: u32,
    /// The server's time: changes stamped beyond it + `hlc::MAX_DRIFT_MS` are set aside.
    pub clock: Arc<dyn Clock>,
    /// A hall hub's relay to its city, woken when a desk pushed (docs/sync.md "Hall hub").
    pub relay: Option<Arc<crate::hub::RelayWake>>,
    /// The hall a hub serves (`None` on the city): its console makes codes for it only.
    pub hub_hall: Option<String>,
    /// Who is told when a hall's records change (`GET /v1/sync/events`). Keep a clone to
    /// notify from outside a push (a hub's relay) or to end the streams at shutdown.
    pub notifier: HallNotifier,
    /// The console's session cookie is `Secure` (the browser reaches the server over HTTPS:
    /// TLS here, or a TLS proxy in front).
    pub secure_cookies: bool,
    /// The city's adjusted report templates (`<data dir>/templates`), if any.
    pub report_templates: Option<std::path::PathBuf>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            min_protocol: PROTOCOL_VERSION,
            clock: Arc::new(ServerClock),
            relay: None,
            hub_hall: None,
            notifier: HallNotifier::new(),
            secure_cookies: false,
            report_templates: None,
        }
    }
}

/// Flood limits (issue 15, item 12): requests beyond `max_in_flight` at once are answered 503
/// at once (load shedding in this instance, nothing queues), and `/v1/enrol` takes, from each
/// address, a burst of `enrol_burst_per_address` requests and then one per
/// `enrol_period_per_address`, and from all addresses together `enrol_burst` and then one per
/// `enrol_period` (429). Enrolment is rare, so the rates stop code guessing without hurting
/// anyone; one address's flood stays within its own allowance (checked first, its refusals use
/// none of the server's) and so does not hold up another hall's enrolment. The enrolment and
/// login allowances are kept in the database, shared by every instance on it
/// (`crate::rate_limit`).
///
/// Behind a reverse proxy every request comes from the proxy's address: the proxies named in
/// `trusted_proxies` are asked who their client was (the last `X-Forwarded-For` entry, the one
/// the proxy itself added), so each desk's address keeps its own allowance. Anyone else's
/// `X-Forwarded-For` is ignored: a client cannot pick its own key.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_in_flight: usize,
    pub enrol_burst: u32,
    pub enrol_period: std::time::Duration,
    pub enrol_burst_per_address: u32,
    pub enrol_period_per_address: std::time::Duration,
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: 64,
            enrol_burst: 20,
            enrol_period: std::time::Duration::from_secs(6),
            enrol_burst_per_address: 5,
            enrol_period_per_address: std::time::Duration::from_secs(30),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Largest body of `POST /v1/enrol`: a code, two ids and a name fit in far less.
pub const MAX_ENROL_BODY_BYTES: usize = 4 * 1024;
/// Root keys one desk may offer at enrolment (its first admins).
pub const MAX_ROOT_KEYS: usize = 8;

/// An error answer: status + `ApiError` body.
#[derive(Debug)]
pub struct Failure(StatusCode, ApiError);

impl Failure {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Failure {
        Failure(
            status,
            ApiError {
                code: code.to_owned(),
                message: message.into(),
            },
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// The one place refusals and data errors become HTTP statuses.
impl From<CityError> for Failure {
    fn from(e: CityError) -> Self {
        match e {
            CityError::Refused(r) => Failure::new(
                match r.kind {
                    RefusalKind::Forbidden => StatusCode::FORBIDDEN,
                    RefusalKind::Conflict => StatusCode::CONFLICT,
                    RefusalKind::NotFound => StatusCode::NOT_FOUND,
                },
                r.code,
                r.message,
            ),
            CityError::Storage(e) => e.into(),
        }
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(what) => {
                tracing::warn!(what = %what, "not found");
                Failure::new(StatusCode::NOT_FOUND, "not_found", "所请求的数据不存在。")
            }
            StorageError::Conflict(what) => {
                tracing::warn!(what = %what, "concurrent write");
                Failure::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "数据刚被同时修改：请稍后重试。",
                )
            }
            StorageError::Backend(msg) => {
                tracing::error!(error = %msg, "storage failure");
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "服务器内部错误：请稍后重试；如果一直出现，请联系市局管理员查看服务器日志。",
                )
            }
        }
    }
}

type ApiResult<T> = Result<Json<T>, Failure>;

/// `Json` whose rejections answer with our error body (400, 413, 415, 422).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(v)) => v,
            Err(rejection) => return Err(json_failure(&rejection)),
        };
        // serde would also read a struct from a JSON array; the API takes objects only.
        if !value.is_object() {
            return Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "json_shape",
                "请求体应为 JSON 对象（{…}）：请对照 docs/openapi.yaml。",
            ));
        }
        serde_json::from_value(value).map(ApiJson).map_err(|e| {
            Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "json_shape",
                format!(
                    "请求体的字段不符合接口定义（{}）：请对照 docs/openapi.yaml。",
                    short(&e.to_string())
                ),
            )
        })
    }
}

fn json_failure(rejection: &JsonRejection) -> Failure {
    let status = rejection.status();
    let detail = rejection.body_text();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "请求体必须是 JSON：请设置 Content-Type: application/json。",
        ),
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "请求体超过 {} MB 上限：请分批推送（每批不超过 {MAX_PUSH_CHANGES} 条）。",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        ),
        JsonRejection::JsonSyntaxError(_) => Failure::new(
            StatusCode::BAD_REQUEST,
            "json_syntax",
            format!("请求体不是有效的 JSON（{}）：请检查格式。", short(&detail)),
        ),
        JsonRejection::JsonDataError(_) => Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "json_shape",
            format!(
                "请求体的字段不符合接口定义（{}）：请对照 docs/openapi.yaml。",
                short(&detail)
            ),
        ),
        _ => Failure::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("无法读取请求体（{}）。", short(&detail)),
        ),
    }
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

pub(crate) async fn blocking<T, F>(f: F) -> Result<T, Failure>
where
    F: FnOnce() -> Result<T, CityError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Failure::from),
        Err(e) => {
            tracing::error!(error = %e, "storage task failed");
            Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "服务器内部错误：请稍后重试。",
            ))
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn unauthorized() -> Failure {
    Failure::new(
        StatusCode::UNAUTHORIZED,
        "token_invalid",
        "缺少或无法识别设备令牌：请先在“设置 → 连接服务器”中用登记码登记本机。",
    )
}

/// The calling device, from its bearer token; revoked devices are refused with 401.
pub(crate) async fn device(state: &AppState, headers: &HeaderMap) -> Result<Device, Failure> {
    let token = bearer(headers).ok_or_else(unauthorized)?;
    let hash = auth::token_hash(&token);
    let storage = state.storage.clone();
    let device = blocking(move || Ok(storage.device_by_token(&hash)?)).await?;
    match device {
        None => Err(unauthorized()),
        Some(d) if d.revoked_at.is_some() => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "token_revoked",
            "本设备已被市局注销，不能再同步：如有疑问，请联系市局管理员。",
        )),
        Some(d) => Ok(d),
    }
}

/// The calling desk, checked from the headers alone: as an extractor before the body one, it
/// refuses a caller without a valid token before a byte of the body is read or parsed. A hall
/// hub's token is not a desk's: it relays through `/v1/hub/*` only.
pub struct Authed(pub Device);

impl axum::extract::FromRequestParts<AppState> for Authed {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        desk(state, &parts.headers).await.map(Authed)
    }
}

/// The calling desk: a device that is not a hall hub.
async fn desk(state: &AppState, headers: &HeaderMap) -> Result<Device, Failure> {
    let d = device(state, headers).await?;
    if crate::hub::is_hub_id(&d.id) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "hub_token",
            "这是大厅服务器的令牌：大厅服务器只通过转发接口与市局同步，不能当作接待台使用。",
        ));
    }
    Ok(d)
}

/// The calling hall hub, checked from the headers alone (before the body, as [`Authed`]).
pub struct HubAuthed(pub Device);

impl axum::extract::FromRequestParts<AppState> for HubAuthed {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let d = device(state, &parts.headers).await?;
        crate::hub::check_hub(&d).map_err(Failure::from)?;
        Ok(HubAuthed(d))
    }
}

/// The header every request of a console session must carry: a page of another site cannot
/// send it without the server's leave (CORS, never given), so a session cookie alone does not
/// authorise a forged request (CSRF).
pub const ADMIN_HEADER: &str = "x-xinfang-admin";

/// The city administrator: from an admin token (known, not expired, not revoked; a device token
/// gets 403), or from a web console session (cookie + [`ADMIN_HEADER`]). Returns who, for the
/// city's log: the token's label, or `admin user NAME`.
pub(crate) async fn admin(state: &AppState, headers: &HeaderMap) -> Result<String, Failure> {
    if bearer(headers).is_none()
        && let Some(token) = crate::console::session_token(headers)
    {
        return console_admin(state, headers, token).await;
    }
    let token = bearer(headers).ok_or_else(|| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "token_invalid",
            "缺少管理员令牌：请用 `xinfang-city admin-token` 生成，并放在 Authorization: Bearer 头中。",
        )
    })?;
    let hash = auth::token_hash(&token);
    let storage = state.storage.clone();
    let now = state.settings.clock.now().timestamp();
    let (label, is_device) = blocking(move || {
        Ok((
            storage.admin_token_label(&hash, now)?,
            storage.device_by_token(&hash)?.is_some(),
        ))
    })
    .await?;
    if let Some(label) = label {
        Ok(label)
    } else if is_device {
        Err(Failure::new(
            StatusCode::FORBIDDEN,
            "admin_only",
            "市级视图只对市局管理员开放：接待台设备只能同步本大厅的数据。",
        ))
    } else {
        Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "token_invalid",
            "管理员令牌无效、已过期或已被吊销：请用 `xinfang-city admin-token` 重新生成。",
        ))
    }
}

async fn console_admin(
    state: &AppState,
    headers: &HeaderMap,
    token: String,
) -> Result<String, Failure> {
    if headers.get(ADMIN_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "admin_header_missing",
            "请求缺少 X-Xinfang-Admin 头：网页管理后台的操作只能从管理后台页面发出（防止跨站请求伪造）。",
        ));
    }
    let storage = state.storage.clone();
    let now = state.settings.clock.now().timestamp();
    let user = blocking(move || Ok(crate::admin::session(storage.as_ref(), &token, now)?)).await?;
    match user {
        Some(u) => Ok(format!("admin user {u}")),
        None => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "登录已过期或已退出：请重新登录。",
        )),
    }
}

/// Service health.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "The server is up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

fn valid_device_id(s: &str) -> bool {
    (8..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Trade a one-time enrolment code for a device token.
#[utoipa::path(post, path = "/v1/enrol", tag = "sync", request_body = EnrolRequest,
    responses(
        (status = 200, description = "Enrolled; the token is shown once", body = EnrolResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 403, description = "Wrong, used or expired code; code of another hall; revoked device", body = ApiError),
        (status = 409, description = "The device id is enrolled already and the administrator has not allowed it to enrol again", body = ApiError),
        (status = 429, description = "Too many enrolment requests: try again later", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 422, description = "Fields do not match the schema", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum (请升级)", body = ApiError),
    ))]
async fn enrol(
    State(state): State<AppState>,
    body: Result<ApiJson<EnrolRequest>, Failure>,
) -> ApiResult<EnrolResponse> {
    let ApiJson(req) = body.map_err(|f| {
        if f.0 == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "登记请求超过 {} KB 上限：登记只需登记码、设备编号、大厅代码和设备名称。",
                    MAX_ENROL_BODY_BYTES / 1024
                ),
            )
        } else {
            f
        }
    })?;
    if !valid_device_id(&req.device_id) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "device_id_invalid",
            "设备编号格式不正确：应为接待台数据库中的设备 UUID。",
        ));
    }
    // A hall hub joins with a code of the hub kind and serves the hall its code names
    // (docs/sync.md "Hall hub"); a desk names its own hall.
    let hub = crate::hub::is_hub_id(&req.device_id);
    let hall_code = if hub {
        String::new()
    } else {
        HallCode::parse(&req.hall_code)
            .map_err(|e| {
                Failure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "hall_code_invalid",
                    e.message,
                )
            })?
            .into_string()
    };
    // The name reaches the administrator's terminal (`device list`): no escape sequences.
    if req.device_name.chars().any(char::is_control) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "device_name_invalid",
            "设备名称中有控制字符：请只用文字、数字和常见标点（例如“沁水县接待台1”）后再登记。",
        ));
    }
    let offered = match &req.hall_id_key {
        None => None,
        Some(k) => Some(k.bytes().ok_or_else(|| {
            Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "hall_id_key_invalid",
                "接待台提供的大厅标识密钥格式不正确：请升级接待台软件后再登记。",
            )
        })?),
    };
    if req.root_keys.len() > MAX_ROOT_KEYS
        || !req.root_keys.iter().all(|r| {
            valid_device_id(&r.staff_id)
                && r.sign_public.len() == 64
                && r.sign_public
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
    {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "root_keys_invalid",
            "接待台提供的管理员签名公钥格式不正确：请升级接待台软件后再登记。",
        ));
    }
    let token = auth::new_token();
    let (kind, other) = if hub {
        (auth::CodeKind::Hub, auth::CodeKind::Desk)
    } else {
        (auth::CodeKind::Desk, auth::CodeKind::Hub)
    };
    let enrolment = NewEnrolment {
        code_hash: auth::code_hash_of(kind, &req.code),
        device_id: req.device_id.clone(),
        hall_code,
        device_name: req.device_name.chars().take(100).collect(),
        token_hash: auth::token_hash(&token),
        now: state.settings.clock.now().timestamp(),
        roots: req.root_keys.clone(),
        hub,
        other_kind_hash: auth::code_hash_of(other, &req.code),
    };
    let storage = state.storage.clone();
    let (hall, key, roots, letter, update_key) = blocking(move || {
        let hall = protocol::enrol(storage.as_ref(), &enrolment)?;
        // The hall's key, or the offered one when the hall has none yet (docs/sync.md).
        let key = storage.hall_id_key(&hall.code, offered.as_ref())?;
        let roots = storage.hall_roots(&hall.code)?;
        // A desk's letter for the numbers it issues offline; a hub issues none of its own.
        let letter = if enrolment.hub {
            None
        } else {
            protocol::queue_letter(storage.as_ref(), &hall.code, &enrolment.device_id)?
        };
        // The update key the desk pins (docs/security.md "Signed updates").
        let update_key = crate::updates::update_key(storage.as_ref())?;
        Ok((hall, key, roots, letter, update_key))
    })
    .await?;
    tracing::info!(device_id = %req.device_id, hall = %hall.code, "device enrolled");
    Ok(Json(EnrolResponse {
        device_id: req.device_id,
        hall_code: hall.code,
        hall_name: hall.name,
        token,
        hall_id_key: Some(HallIdKey::from_bytes(&key)),
        hall_roots: roots,
        queue_letter: letter,
        update_key,
    }))
}

/// What the server holds of the calling device.
#[utoipa::path(get, path = "/v1/sync/state", tag = "sync", security(("bearer" = [])),
    responses(
        (status = 200, description = "Device state", body = DeviceState),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum (请升级)", body = ApiError),
    ))]
async fn sync_state(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<DeviceState> {
    let dev = desk(&state, &headers).await?;
    let storage = state.storage.clone();
    let id = dev.id.clone();
    let hall = dev.hall_code.clone();
    let (heads, hall_name, audit_max_seq, key, roots, letter, update_key) = blocking(move || {
        // The start of a sync: the console shows it as the device's last contact.
        storage.touch_device(&id)?;
        Ok((
            storage.device_heads(&id)?,
            storage.hall(&hall)?.map(|h| h.name).unwrap_or_default(),
            storage.audit_max_seq(&id)?,
            storage.hall_id_key(&hall, None)?,
            storage.hall_roots(&hall)?,
            // Given at the first sync to desks enrolled before letters were.
            protocol::queue_letter(storage.as_ref(), &hall, &id)?,
            // Pinned by desks enrolled before the city had one; never replaces a pinned key.
            crate::updates::update_key(storage.as_ref())?,
        ))
    })
    .await?;
    Ok(Json(DeviceState {
        device_id: dev.id,
        hall_code: dev.hall_code,
        hall_name,
        server_max_seq: heads.0,
        server_seq: heads.1,
        reference_version: Some(reference::bundle().version.clone()),
        audit_max_seq: Some(audit_max_seq),
        server_time_ms: Some(state.settings.clock.now().timestamp_millis()),
        min_protocol: Some(state.settings.min_protocol),
        hall_id_key: Some(HallIdKey::from_bytes(&key)),
        hall_roots: roots,
        queue_letter: letter,
        update_key,
    }))
}

/// Tells the desks listening to `hall` that its records changed (by `origin`'s push, or
/// relayed): through the database to every instance when the backend shares changes
/// (PostgreSQL's LISTEN/NOTIFY), else to this server's own listeners. A failure only costs
/// the desks the wait for their next periodic sync.
pub fn tell_hall(storage: &dyn Storage, notifier: &HallNotifier, hall: &str, origin: Option<&str>) {
    let shared = storage.shares_changes();
    if !shared && notifier.subscribers(hall) == 0 {
        return;
    }
    let seq = match protocol::server_seq(storage) {
        Ok(seq) => seq,
        Err(e) => {
            tracing::warn!(error = %e, "no live notification: server sequence unread");
            return;
        }
    };
    if shared {
        match storage.announce_change(hall, seq, origin) {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "change not announced to the other instances"),
        }
    }
    match origin {
        Some(device) => notifier.changed_by(hall, seq, device),
        None => notifier.changed(hall, seq),
    }
}

pub(crate) fn check_batch(changes: &[Change]) -> Result<(), Failure> {
    let bad =
        |code: &str, msg: String| Err(Failure::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg));
    if changes.len() > MAX_PUSH_CHANGES {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "一次最多推送 {MAX_PUSH_CHANGES} 条变更，本次 {} 条：请分批推送。",
                changes.len()
            ),
        ));
    }
    for (i, c) in changes.iter().enumerate() {
        if c.seq < 1 {
            return bad(
                "seq_invalid",
                format!("第 {} 条变更的序号 {} 无效：序号从 1 开始。", i + 1, c.seq),
            );
        }
        if i > 0 && c.seq != changes[i - 1].seq + 1 {
            return bad(
                "batch_not_consecutive",
                format!(
                    "一批变更的序号必须连续递增：第 {} 条是 {}，应为 {}。",
                    i + 1,
                    c.seq,
                    changes[i - 1].seq + 1
                ),
            );
        }
    }
    Ok(())
}

/// Store a batch of the calling device's changes (idempotent by device id + sequence).
#[utoipa::path(post, path = "/v1/sync/push", tag = "sync", security(("bearer" = [])),
    request_body = PushRequest,
    responses(
        (status = 200, description = "Stored (or already stored); changes the rules refuse (another hall's record, a clock far ahead) are set aside and listed", body = PushResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
                (status = 409, description = "Sequence gap or conflict: resync from the server's position", body = ApiError),
        (status = 413, description = "Body or batch too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 422, description = "Changes do not match the rules", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum (请升级)", body = ApiError),
    ))]
async fn push(
    State(state): State<AppState>,
    Authed(dev): Authed,
    body: Result<ApiJson<PushRequest>, Failure>,
) -> ApiResult<PushResponse> {
    let ApiJson(req) = body?;
    check_batch(&req.changes)?;
    if let Some(head) = &req.audit_head
        && (head.seq < 1 || !is_hash(&head.hash))
    {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "audit_head_invalid",
            "审计日志头无效：序号应为正整数，摘要应为 64 位十六进制。",
        ));
    }
    let storage = state.storage.clone();
    let n = req.changes.len();
    let dev_id = dev.id.clone();
    let now = state.settings.clock.now().timestamp_millis();
    let notifier = state.settings.notifier.clone();
    let resp = blocking(move || {
        if let Some(head) = &req.audit_head {
            protocol::report_audit_head(storage.as_ref(), &dev, head)?;
        }
        let resp = protocol::push(storage.as_ref(), &dev, &req.changes, now)?;
        // Committed: the hall's other desks may sync now.
        if resp.accepted > 0 {
            tell_hall(storage.as_ref(), &notifier, &dev.hall_code, Some(&dev.id));
        }
        Ok(resp)
    })
    .await?;
    tracing::info!(device_id = %dev_id, received = n, accepted = resp.accepted,
        duplicates = resp.duplicates, set_aside = resp.set_aside.len(),
        server_max_seq = resp.server_max_seq, "push");
    if let Some(relay) = &state.settings.relay
        && resp.accepted + resp.set_aside.len() as u64 > 0
    {
        relay.wake();
    }
    Ok(Json(resp))
}

/// Seconds between two keep-alive comments of `GET /v1/sync/events`: well inside the idle
/// timeouts of proxies, and what a desk's read timeout is measured against.
pub const EVENTS_KEEP_ALIVE_SECS: u64 = 15;

/// One frame of the live stream as a client reads it: its `event:` line (`ready`, `changed`)
/// and its `data:` line (JSON: `{}`, `{"server_seq": N}`). For the OpenAPI document only.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LiveFrame {
    pub event: String,
    pub data: String,
}

/// Live notifications of the caller's hall: a Server-Sent Events stream that says only *that*
/// something changed, never what (docs/sync.md "Live notifications").
#[utoipa::path(get, path = "/v1/sync/events", tag = "sync", security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/event-stream", body = LiveFrame,
            description = "Server-Sent Events. First `event: ready` (data `{}`): the subscription is live, sync once to catch up. Then `event: changed`, data `{\"server_seq\": N}`, each time another device's changes of the caller's hall were stored (committed; the caller's own pushes are not echoed); a desk syncs on it. A comment line every 15 s keeps the connection alive. Never any record content. The stream ends when the server shuts down: reconnect with a backoff."),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum (请升级)", body = ApiError),
        (status = 503, description = "Too many streams open on this server: sync periodically and try again later", body = ApiError),
    ))]
async fn events(
    State(state): State<AppState>,
    Authed(dev): Authed,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>>, Failure>
{
    let sub = state
        .settings
        .notifier
        .subscribe(&dev.hall_code, &dev.id)
        .ok_or_else(|| {
            tracing::warn!("live notification streams at their limit");
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "服务器的实时通知连接已满：接待台会照常定时同步，稍后自动重试。",
            )
        })?;
    tracing::info!(device_id = %dev.id, hall = %dev.hall_code, "events stream opened");
    let ready =
        futures_util::stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let changes = futures_util::stream::unfold(sub, |mut sub| async move {
        let c = sub.next().await?;
        let data = serde_json::json!({ "server_seq": c.server_seq }).to_string();
        Some((Ok(Event::default().event("changed").data(data)), sub))
    });
    Ok(
        Sse::new(futures_util::StreamExt::chain(ready, changes)).keep_alive(
            KeepAlive::new()
                .interval(std::time::Duration::from_secs(EVENTS_KEEP_ALIVE_SECS))
                .text("keep-alive"),
        ),
    )
}

/// The calling device's own changes as stored here, for a desk restored from an old backup.
#[utoipa::path(post, path = "/v1/sync/own", tag = "sync", security(("bearer" = [])),
    request_body = OwnChangesRequest,
    responses(
        (status = 200, description = "The device's changes after `after`, in sequence order", body = OwnChangesResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 422, description = "Fields do not match the schema", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum", body = ApiError),
    ))]
async fn own_changes(
    State(state): State<AppState>,
    Authed(dev): Authed,
    body: Result<ApiJson<OwnChangesRequest>, Failure>,
) -> ApiResult<OwnChangesResponse> {
    let ApiJson(req) = body?;
    if req.after < 0 {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "after_invalid",
            "after 应为不小于 0 的整数（本机已有的最后一个变更序号）。",
        ));
    }
    let limit = req.limit.unwrap_or(MAX_PULL_CHANGES);
    if !(1..=MAX_PULL_CHANGES).contains(&limit) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "limit_invalid",
            format!("limit 应在 1 到 {MAX_PULL_CHANGES} 之间，请调小后重试。"),
        ));
    }
    let storage = state.storage.clone();
    let dev_id = dev.id.clone();
    let resp =
        blocking(move || protocol::own_changes(storage.as_ref(), &dev, req.after, limit)).await?;
    tracing::info!(device_id = %dev_id, after = req.after, returned = resp.changes.len(),
        "own changes handed back");
    Ok(Json(resp))
}

/// The changes set aside at push, newest first (city administrator).
#[utoipa::path(get, path = "/v1/city/quarantine", tag = "city", security(("bearer" = [])),
    responses(
        (status = 200, description = "Changes set aside, newest first (at most 1,000), and the total", body = Quarantine),
        (status = 401, description = "Missing or unknown admin token", body = ApiError),
        (status = 403, description = "A device token: the city view is for the administrator", body = ApiError),
    ))]
async fn city_quarantine(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Quarantine> {
    admin(&state, &headers).await?;
    let storage = state.storage.clone();
    Ok(Json(blocking(move || Ok(storage.quarantine(1000)?)).await?))
}

/// Refuses desks older than the server's minimum protocol with 426 (请升级); requests without
/// the header are protocol 1.
async fn check_protocol(
    State(state): State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let (protocol, schema) = {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok())
        };
        (header(PROTOCOL_HEADER).unwrap_or(1), header(SCHEMA_HEADER))
    };
    if protocol < state.settings.min_protocol {
        tracing::warn!(
            protocol,
            ?schema,
            min = state.settings.min_protocol,
            "desk too old"
        );
        return Failure::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            format!(
                "接待台程序版本过旧（同步协议 {protocol}），市局服务器要求协议 {} 及以上：请升级接待台程序后再同步。升级前登记的数据都保留在本机，升级后自动上传。",
                state.settings.min_protocol
            ),
        )
        .into_response();
    }
    next.run(req).await
}

/// Checks the shape of an audit batch (what the schema promises), before its chain is looked at.
pub(crate) fn check_audit_batch(entries: &[AuditEntry]) -> Result<(), Failure> {
    if entries.len() > MAX_AUDIT_ENTRIES {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "一次最多上传 {MAX_AUDIT_ENTRIES} 条审计日志，本次 {} 条：请分批上传。",
                entries.len()
            ),
        ));
    }
    let bad =
        |code: &str, msg: String| Err(Failure::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg));
    for (i, e) in entries.iter().enumerate() {
        if e.seq < 1 {
            return bad(
                "seq_invalid",
                format!(
                    "第 {} 条审计日志的序号 {} 无效：序号从 1 开始。",
                    i + 1,
                    e.seq
                ),
            );
        }
        for ((name, value), (_, max)) in e.text_fields().into_iter().zip(MAX_FIELD_CHARS) {
            if value.chars().count() > max {
                return bad(
                    "audit_field_too_long",
                    format!(
                        "第 {} 条审计日志的 {name} 超过 {max} 个字符：请对照 docs/openapi.yaml。",
                        i + 1
                    ),
                );
            }
        }
        if !is_hash(&e.prev_hash) || !is_hash(&e.hash) {
            return bad(
                "audit_hash_invalid",
                format!(
                    "第 {} 条审计日志的哈希值格式不对：prev_hash 和 hash 都应为 64 位小写十六进制数字。",
                    i + 1
                ),
            );
        }
    }
    Ok(())
}

/// Store a batch of the calling device's audit entries; the server checks the device's chain.
#[utoipa::path(post, path = "/v1/audit/push", tag = "sync", security(("bearer" = [])),
    request_body = AuditPushRequest,
    responses(
        (status = 200, description = "Stored (or already stored with the same hash)", body = AuditPushResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "An entry of another device", body = ApiError),
        (status = 409, description = "The chain breaks: the entries before the break are stored, the break is recorded for the city administrator", body = ApiError),
        (status = 413, description = "Body or batch too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 422, description = "Entries do not match the schema", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum (请升级)", body = ApiError),
    ))]
async fn audit_push(
    State(state): State<AppState>,
    Authed(dev): Authed,
    body: Result<ApiJson<AuditPushRequest>, Failure>,
) -> ApiResult<AuditPushResponse> {
    let ApiJson(req) = body?;
    check_audit_batch(&req.entries)?;
    if let Some((i, e)) = req
        .entries
        .iter()
        .enumerate()
        .find(|(_, e)| e.device_id != dev.id)
    {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "audit_device_forbidden",
            format!(
                "第 {} 条审计日志属于设备“{}”，而本设备是 {}：每台设备只能上传自己的审计日志。",
                i + 1,
                e.device_id,
                dev.id
            ),
        ));
    }
    let storage = state.storage.clone();
    let n = req.entries.len();
    let dev_id = dev.id.clone();
    let outcome =
        blocking(move || protocol::push_audit(storage.as_ref(), &dev, &req.entries)).await?;
    let r = &outcome.response;
    if let Some(f) = outcome.fault {
        tracing::warn!(device_id = %dev_id, seq = f.seq, accepted = r.accepted, "audit chain broken");
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "audit_chain_broken",
            format!(
                "本机的审计日志链在第 {} 条断裂：{}。市局服务器没有接收第 {} 条及以后的审计日志（此前的已接收），并已记录，供市局管理员核查。请联系市局管理员核对本机的审计日志。",
                f.seq, f.reason, f.seq
            ),
        ));
    }
    tracing::info!(device_id = %dev_id, received = n, accepted = r.accepted,
        duplicates = r.duplicates, server_max_seq = r.server_max_seq, "audit push");
    Ok(Json(outcome.response))
}

/// The matters the person with a document has at the city's other halls, for a registration.
#[utoipa::path(post, path = "/v1/sync/person-matters", tag = "sync", security(("bearer" = [])),
    request_body = PersonMattersRequest,
    responses(
        (status = 200, description = "The person's matters at the city's other halls (reports left out)", body = PersonMattersResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 422, description = "No document number, or one too long", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum (请升级)", body = ApiError),
    ))]
async fn person_matters(
    State(state): State<AppState>,
    Authed(dev): Authed,
    body: Result<ApiJson<PersonMattersRequest>, Failure>,
) -> ApiResult<PersonMattersResponse> {
    let ApiJson(req) = body?;
    let id = req.id_number.trim().to_ascii_uppercase();
    if id.is_empty() || id.chars().count() > 64 || id.chars().any(char::is_control) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "id_number_invalid",
            "请给出来访人的证件号码（不超过 64 个字符）。",
        ));
    }
    let storage = state.storage.clone();
    let matters = blocking(move || {
        let matters = protocol::person_matters(storage.as_ref(), &id, &dev.hall_code)?;
        // Who looked up whom at the other halls is in the city's log (the number masked: the
        // log is read by more people than the records).
        let masked: String = id
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i < 6 || i + 4 >= id.chars().count() {
                    c
                } else {
                    '*'
                }
            })
            .collect();
        storage.log(&NewLogEntry {
            action: "person_matters",
            actor: format!("device {}", dev.id),
            device_id: Some(dev.id.clone()),
            detail: format!("id_number {masked}; {} matters", matters.len()),
        })?;
        Ok(matters)
    })
    .await?;
    Ok(Json(PersonMattersResponse { matters }))
}

#[utoipa::path(post, path = "/v1/sync/pull", tag = "sync", security(("bearer" = [])),
    request_body = PullRequest,
    responses(
        (status = 200, description = "Changes in server order, with the new cursors", body = PullResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Another hall's data", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 422, description = "Fields do not match the schema", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum (请升级)", body = ApiError),
    ))]
async fn pull(
    State(state): State<AppState>,
    Authed(dev): Authed,
    body: Result<ApiJson<PullRequest>, Failure>,
) -> ApiResult<PullResponse> {
    let ApiJson(req) = body?;
    if let Some(h) = &req.hall_code
        && *h != dev.hall_code
    {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "hall_forbidden",
            format!(
                "本设备属于大厅 {}，不能读取大厅 {h} 的数据。",
                dev.hall_code
            ),
        ));
    }
    if req.cursors.len() > 10_000 || req.cursors.values().any(|v| *v < 0) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cursors_invalid",
            "游标无效：每台设备的游标应为不小于 0 的整数。",
        ));
    }
    let limit = page_limit(req.limit)?;
    let storage = state.storage.clone();
    let resp =
        blocking(move || protocol::pull(storage.as_ref(), &dev, &req.cursors, limit)).await?;
    Ok(Json(resp))
}

/// The page size a pull or snapshot asks for. Out-of-range limits are refused, not clamped:
/// the schema promises 1..=MAX_PULL_CHANGES.
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, Failure> {
    let limit = limit.unwrap_or(MAX_PULL_CHANGES);
    if !(1..=MAX_PULL_CHANGES).contains(&limit) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "limit_invalid",
            format!("limit 应在 1 到 {MAX_PULL_CHANGES} 之间，请调小后重试。"),
        ));
    }
    Ok(limit)
}

/// One page of the hall's records of one entity, for a new desk's first sync. The records
/// the asking desk alone wrote are left out (it pushed them before), so a page may hold fewer
/// than `limit`: `next` says where the records read end.
#[utoipa::path(post, path = "/v1/sync/snapshot", tag = "sync", security(("bearer" = [])),
    request_body = SnapshotRequest,
    responses(
        (status = 200, description = "Records (or the changes that made them) and the cursors to pull after", body = SnapshotResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "Not JSON", body = ApiError),
        (status = 422, description = "Fields do not match the schema", body = ApiError),
        (status = 426, description = "The desk's protocol is older than the server's minimum (请升级)", body = ApiError),
    ))]
async fn snapshot(
    State(state): State<AppState>,
    Authed(dev): Authed,
    body: Result<ApiJson<SnapshotRequest>, Failure>,
) -> ApiResult<SnapshotResponse> {
    let ApiJson(req) = body?;
    let limit = page_limit(req.limit)?;
    let bad_after = req.after.as_ref().is_some_and(|a| {
        a.len() > 200 || (snapshot_as_changes(&req.entity) && a.parse::<i64>().is_err())
    });
    if req.entity.len() > 64 || bad_after {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "snapshot_position_invalid",
            "快照请求无效：记录类型或续传位置不是服务器给出的值。请重新同步。",
        ));
    }
    let req = SnapshotRequest {
        limit: Some(limit),
        ..req
    };
    let storage = state.storage.clone();
    let resp = blocking(move || protocol::snapshot(storage.as_ref(), &dev, &req)).await?;
    Ok(Json(resp))
}

/// City reference data: appeal categories, legal routes, holiday calendars.
#[utoipa::path(get, path = "/v1/reference", tag = "sync", security(("bearer" = [])),
    responses(
        (status = 200, description = "Reference lists", body = ReferenceBundle),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
    ))]
async fn reference_data(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<ReferenceBundle> {
    if admin(&state, &headers).await.is_err() {
        device(&state, &headers).await?;
    }
    Ok(Json((*reference::bundle()).clone()))
}

/// Counts per hall (city administrator).
#[utoipa::path(get, path = "/v1/city/halls", tag = "city", security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts per hall", body = CityCounts),
        (status = 401, description = "Missing or unknown admin token", body = ApiError),
        (status = 403, description = "A device token: the city view is for the administrator", body = ApiError),
    ))]
async fn city_halls(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<CityCounts> {
    admin(&state, &headers).await?;
    let storage = state.storage.clone();
    Ok(Json(
        blocking(move || protocol::city_counts(storage.as_ref())).await?,
    ))
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
pub struct RepeatQuery {
    /// Resident ID number (18 characters; a lower-case x is accepted).
    #[param(pattern = "^[0-9]{17}[0-9Xx]$")]
    pub id_number: String,
}

/// Who came to which halls: visits of a person by resident ID, across halls (city administrator).
#[utoipa::path(get, path = "/v1/city/repeat-visits", tag = "city", security(("bearer" = [])),
    params(RepeatQuery),
    responses(
        (status = 200, description = "Visits, newest first", body = RepeatVisits),
        (status = 400, description = "Missing query parameter", body = ApiError),
        (status = 401, description = "Missing or unknown admin token", body = ApiError),
        (status = 403, description = "A device token: the city view is for the administrator", body = ApiError),
        (status = 422, description = "Not a resident ID number", body = ApiError),
    ))]
async fn repeat_visits(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<RepeatQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<RepeatVisits> {
    let label = admin(&state, &headers).await?;
    let Query(q) = query.map_err(|_| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "id_number_missing",
            "请用查询参数 id_number 给出居民身份证号码。",
        )
    })?;
    let id = q.id_number.trim().to_ascii_uppercase();
    let ok = id.len() == 18
        && id[..17].chars().all(|c| c.is_ascii_digit())
        && id[17..].chars().all(|c| c.is_ascii_digit() || c == 'X');
    if !ok {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "id_number_invalid",
            "身份证号码应为 18 位（前 17 位为数字，最后一位为数字或 X）。",
        ));
    }
    let storage = state.storage.clone();
    let visits = blocking(move || {
        // Looked up before the answer leaves: who asked for whose visits (they can show who
        // reported whom) is in the city's log.
        let visits = protocol::repeat_visits(storage.as_ref(), &id)?;
        storage.log(&NewLogEntry {
            action: "repeat_visits",
            actor: label,
            device_id: None,
            detail: format!("id_number {id}; {} visits", visits.visits.len()),
        })?;
        Ok(visits)
    })
    .await?;
    Ok(Json(visits))
}

/// Every device's audit chain: entries stored, refused pushes, and a fresh check of the stored
/// chain (city administrator).
#[utoipa::path(get, path = "/v1/city/audit", tag = "city", security(("bearer" = [])),
    responses(
        (status = 200, description = "Each device's chain and its breaks", body = AuditChains),
        (status = 401, description = "Missing or unknown admin token", body = ApiError),
        (status = 403, description = "A device token: the city view is for the administrator", body = ApiError),
    ))]
async fn city_audit(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<AuditChains> {
    admin(&state, &headers).await?;
    let storage = state.storage.clone();
    Ok(Json(
        blocking(move || protocol::audit_chains(storage.as_ref())).await?,
    ))
}

async fn not_found() -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "没有这个接口：请对照 docs/openapi.yaml。",
    )
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Device token from POST /v1/enrol, or the city administrator's token from `xinfang-city admin-token`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::admin::COOKIE,
                "The web console's session (POST /admin/api/login); every request with it must also carry the header `X-Xinfang-Admin: 1`.",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "信访接待台 city server (xinfang-city)", description = "Enrolment, sync and city views. Protocol: docs/sync.md."),
    paths(healthz, enrol, sync_state, push, events, own_changes, pull, person_matters, snapshot, audit_push, reference_data,
        city_halls, repeat_visits, city_audit, city_quarantine, crate::stats::city_stats,
        crate::publicity::city_publicity, crate::hub_api::hub_devices, crate::hub_api::hub_push,
        crate::hub_api::hub_pull, crate::hub_api::hub_audit, crate::hall_desk::queue_number,
        crate::hall_desk::call, crate::hall_desk::screen, crate::hall_desk::screen_state,
        crate::updates_api::update_manifest, crate::updates_api::update_package,
        crate::console::login, crate::console::logout, crate::console::me,
        crate::console::devices, crate::console::revoke, crate::console::allow_reenrol, crate::console::enrol_code,
        crate::console::report),
    components(schemas(ApiError, AuditHead, Change, Op, Hlc, RemoteChange, EnrolRequest, EnrolResponse,
        DeviceState, PushRequest, PushResponse, SetAside, OwnChangesRequest, OwnChangesResponse,
        Quarantine, QuarantinedChange, PullRequest, PullResponse, SnapshotRequest, SnapshotRecord,
        SnapshotResponse, Health,
        ReferenceBundle, HallCounts, CityCounts, RepeatVisit, RepeatVisits, PersonMattersRequest,
        PersonMattersResponse, OtherHallMatter, AuditEntry,
        AuditPushRequest, AuditPushResponse, AuditChains, DeviceAuditChain, AuditBreak,
        crate::stats::CityStats, crate::stats::HallStats, crate::stats::CityRate,
        crate::stats::CityCount, crate::publicity::CityPublicity,
        crate::publicity::HallPublicity, crate::publicity::CampaignPublicity,
        crate::publicity::PublicityFigures, xinfang_sync::wire::HubDevice,
        HubDevicesRequest, HubDevicesResponse, HubPushRequest, HubPullRequest, HubAuditRequest,
        LiveFrame,
        xinfang_sync::queue::QueueNumberRequest,
        xinfang_sync::queue::QueueNumber, xinfang_sync::queue::CallRequest,
        xinfang_sync::queue::HallCall, xinfang_sync::queue::ScreenState,
        xinfang_sync::queue::RoomWaiting, xinfang_sync::update::UpdateManifest,
        xinfang_sync::update::UpdateRelease, crate::console::AdminLoginRequest,
        crate::console::AdminSession, crate::console::DeviceList,
        crate::storage::DeviceOverview, crate::console::EnrolCodeRequest,
        crate::console::EnrolCodeResponse)),
    modifiers(&BearerAuth),
    tags((name = "service"), (name = "sync", description = "Desk ↔ city sync"), (name = "city", description = "City administrator's views"),
        (name = "hub", description = "A hall hub's relay to its city"),
        (name = "hall", description = "Queue numbers and the call screen (叫号屏)"),
        (name = "updates", description = "Signed desk update packages (docs/deploy.md \"Updates\")"),
        (name = "console", description = "The city administrator's web console (/admin): login and session"))
)]
pub struct ApiDoc;

/// The OpenAPI document as YAML (what `docs/openapi.yaml` holds).
pub fn openapi_yaml() -> String {
    ApiDoc::openapi()
        .to_yaml()
        .expect("the OpenAPI document serialises")
}

pub fn router(storage: Arc<dyn Storage>) -> Router {
    router_with(storage, ServerSettings::default())
}

/// The router with chosen settings (minimum protocol, an injected clock).
pub fn router_with(storage: Arc<dyn Storage>, settings: ServerSettings) -> Router {
    router_with_limits(storage, settings, Limits::default())
}

async fn overloaded(e: tower::BoxError) -> Failure {
    if e.is::<tower::load_shed::error::Overloaded>() {
        tracing::warn!("request shed: too many in flight");
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "市局服务器正忙：请稍后重试（接待台会自动重试同步）。",
        )
    } else {
        tracing::error!(error = %e, "request failed in a middleware");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误：请稍后重试。",
        )
    }
}

/// The router with chosen settings and flood limits.
pub fn router_with_limits(
    storage: Arc<dyn Storage>,
    settings: ServerSettings,
    limits: Limits,
) -> Router {
    let state = AppState { storage, settings };
    // Kept in the database: every instance on it shares the allowances (crate::rate_limit).
    let rates: crate::rate_limit::RateState = (
        state.clone(),
        Arc::new(crate::rate_limit::RateLimits::new(&limits)),
    );
    let enrol_route = post(enrol)
        .layer::<_, std::convert::Infallible>(axum::middleware::from_fn_with_state(
            rates.clone(),
            crate::rate_limit::enrol,
        ))
        // Inside the router's 16 MiB default, so this is the limit the body extractor sees.
        .layer(DefaultBodyLimit::max(MAX_ENROL_BODY_BYTES));
    let login_route = post(crate::console::login)
        .layer::<_, std::convert::Infallible>(axum::middleware::from_fn_with_state(
            rates,
            crate::rate_limit::login,
        ))
        .layer(DefaultBodyLimit::max(MAX_ENROL_BODY_BYTES));
    // What desks call carries their protocol version; old desks are told to upgrade.
    let desk = Router::new()
        .route("/v1/enrol", enrol_route)
        .route("/v1/sync/state", get(sync_state))
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/own", post(own_changes))
        .route("/v1/sync/pull", post(pull))
        .route("/v1/sync/person-matters", post(person_matters))
        .route("/v1/sync/snapshot", post(snapshot))
        .route("/v1/audit/push", post(audit_push))
        .route("/v1/hub/devices", post(crate::hub_api::hub_devices))
        .route("/v1/hub/push", post(crate::hub_api::hub_push))
        .route("/v1/hub/pull", post(crate::hub_api::hub_pull))
        .route("/v1/hub/audit", post(crate::hub_api::hub_audit))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            check_protocol,
        ));
    // A stream stays open for hours: it must not hold one of the in-flight slots of the load
    // shedding below (64 desks listening would shut everyone out); the notifier caps streams.
    let live = Router::new()
        .route("/v1/sync/events", get(events))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            check_protocol,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(desk)
        .route("/v1/reference", get(reference_data))
        .route("/v1/city/halls", get(city_halls))
        .route("/v1/city/repeat-visits", get(repeat_visits))
        .route("/v1/city/stats", get(crate::stats::city_stats))
        .route("/v1/city/publicity", get(crate::publicity::city_publicity))
        .route("/v1/city/audit", get(city_audit))
        .route("/v1/city/quarantine", get(city_quarantine))
        .route("/v1/city/devices", get(crate::console::devices))
        .route("/v1/city/devices/{id}/revoke", post(crate::console::revoke))
        .route(
            "/v1/city/devices/{id}/allow-reenrol",
            post(crate::console::allow_reenrol),
        )
        .route("/v1/city/enrol-codes", post(crate::console::enrol_code))
        .route("/v1/city/report", get(crate::console::report))
        .route("/admin/api/login", login_route)
        .route("/admin/api/logout", post(crate::console::logout))
        .route("/admin/api/me", get(crate::console::me))
        .route("/admin", get(crate::console::page))
        .route("/admin/", get(crate::console::page))
        .route("/admin/{*path}", get(crate::console::page))
        .merge(crate::hall_desk::routes())
        // Outside the protocol check: a desk told to upgrade must still reach its update.
        .merge(crate::updates_api::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    limits.max_in_flight.max(1),
                )),
        )
        .merge(live)
        .with_state(state)
}
