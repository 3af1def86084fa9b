//! The HTTP side of what a hall hub asks its city (docs/sync.md "Hall hub"): a hub's token
//! only, and each request about one desk of the hub's own hall. The rules are in [`crate::hub`]
//! and [`crate::protocol`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use xinfang_sync::audit::AuditPushResponse;
use xinfang_sync::wire::{
    ApiError, HubAuditRequest, HubDevicesRequest, HubDevicesResponse, HubPullRequest,
    HubPushRequest, OwnChangesResponse, PushResponse,
};

use crate::api::{
    ApiJson, AppState, Failure, HubAuthed, blocking, check_audit_batch, check_batch, page_limit,
};
use crate::{hub, protocol};

type ApiResult<T> = Result<Json<T>, Failure>;

/// Desks one hub may tell of at once: a hall has a handful, a large one a few dozen.
pub const MAX_HUB_DEVICES: usize = 500;

/// A hub tells its desks and root keys; the city answers with its view of the hall.
#[utoipa::path(post, path = "/v1/hub/devices", tag = "hub", security(("bearer" = [])),
    request_body = HubDevicesRequest,
    responses(
        (status = 200, description = "The hall's desks as the city holds them", body = HubDevicesResponse),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Not a hub's token", body = ApiError),
        (status = 413, description = "Too many devices", body = ApiError),
        (status = 422, description = "Fields do not match the schema", body = ApiError),
    ))]
pub(crate) async fn hub_devices(
    State(state): State<AppState>,
    HubAuthed(hub): HubAuthed,
    body: Result<ApiJson<HubDevicesRequest>, Failure>,
) -> ApiResult<HubDevicesResponse> {
    let ApiJson(req) = body?;
    if req.devices.len() > MAX_HUB_DEVICES || req.roots.len() > MAX_HUB_DEVICES {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_devices",
            format!("一次最多报 {MAX_HUB_DEVICES} 台设备。"),
        ));
    }
    let storage = state.storage.clone();
    let now = state.settings.clock.now().timestamp();
    let resp = blocking(move || hub::city_hub_devices(storage.as_ref(), &hub, &req, now)).await?;
    Ok(Json(resp))
}

/// Changes of one desk of the hub's hall, under the desk's own id and sequence numbers: stored
/// exactly once, by the same rules as the desk's own push.
#[utoipa::path(post, path = "/v1/hub/push", tag = "hub", security(("bearer" = [])),
    request_body = HubPushRequest,
    responses(
        (status = 200, description = "Stored (or already stored)", body = PushResponse),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Not a hub's token; a desk of another hall; a revoked desk", body = ApiError),
        (status = 404, description = "A desk the city does not know yet", body = ApiError),
        (status = 409, description = "Sequence gap or conflict", body = ApiError),
        (status = 413, description = "Batch too large", body = ApiError),
        (status = 422, description = "Changes do not match the rules", body = ApiError),
    ))]
pub(crate) async fn hub_push(
    State(state): State<AppState>,
    HubAuthed(hub): HubAuthed,
    body: Result<ApiJson<HubPushRequest>, Failure>,
) -> ApiResult<PushResponse> {
    let ApiJson(req) = body?;
    check_batch(&req.changes)?;
    let storage = state.storage.clone();
    let now = state.settings.clock.now().timestamp_millis();
    let hub_id = hub.id.clone();
    let resp = blocking(move || {
        let desk = hub::relayed_device(storage.as_ref(), &hub, &req.device_id)?;
        protocol::push(storage.as_ref(), &desk, &req.changes, now)
    })
    .await?;
    tracing::info!(hub = %hub_id, accepted = resp.accepted, duplicates = resp.duplicates,
        server_max_seq = resp.server_max_seq, "relayed push");
    Ok(Json(resp))
}

/// One desk's changes as the city holds them, for the hub to hold the same.
#[utoipa::path(post, path = "/v1/hub/pull", tag = "hub", security(("bearer" = [])),
    request_body = HubPullRequest,
    responses(
        (status = 200, description = "The desk's changes after `after`, set-aside ones included", body = OwnChangesResponse),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Not a hub's token; a desk of another hall", body = ApiError),
        (status = 404, description = "A desk the city does not know", body = ApiError),
        (status = 422, description = "Fields do not match the schema", body = ApiError),
    ))]
pub(crate) async fn hub_pull(
    State(state): State<AppState>,
    HubAuthed(hub): HubAuthed,
    body: Result<ApiJson<HubPullRequest>, Failure>,
) -> ApiResult<OwnChangesResponse> {
    let ApiJson(req) = body?;
    if req.after < 0 {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "after_invalid",
            "after 应为不小于 0 的整数。",
        ));
    }
    let limit = page_limit(req.limit)?;
    let storage = state.storage.clone();
    let resp = blocking(move || {
        let desk = hub::relayed_device(storage.as_ref(), &hub, &req.device_id)?;
        protocol::own_changes(storage.as_ref(), &desk, req.after, limit)
    })
    .await?;
    Ok(Json(resp))
}

/// One desk's audit entries, continued on its chain at the city as if the desk pushed them.
#[utoipa::path(post, path = "/v1/hub/audit", tag = "hub", security(("bearer" = [])),
    request_body = HubAuditRequest,
    responses(
        (status = 200, description = "Stored (or already stored)", body = AuditPushResponse),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Not a hub's token; a desk of another hall; entries of another desk", body = ApiError),
        (status = 404, description = "A desk the city does not know", body = ApiError),
        (status = 409, description = "The chain does not continue", body = ApiError),
        (status = 413, description = "Too many entries", body = ApiError),
    ))]
pub(crate) async fn hub_audit(
    State(state): State<AppState>,
    HubAuthed(hub): HubAuthed,
    body: Result<ApiJson<HubAuditRequest>, Failure>,
) -> ApiResult<AuditPushResponse> {
    let ApiJson(req) = body?;
    check_audit_batch(&req.entries)?;
    if req.entries.iter().any(|e| e.device_id != req.device_id) {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "audit_device_forbidden",
            "转发的审计日志必须都属于请求中的那台设备。",
        ));
    }
    let storage = state.storage.clone();
    let outcome = blocking(move || {
        let desk = hub::relayed_device(storage.as_ref(), &hub, &req.device_id)?;
        protocol::push_audit(storage.as_ref(), &desk, &req.entries)
    })
    .await?;
    if let Some(f) = outcome.fault {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "audit_chain_broken",
            format!(
                "这台接待台的审计日志链在第 {} 条断裂：{}。市局已记录，供市局管理员核查。",
                f.seq, f.reason
            ),
        ));
    }
    Ok(Json(outcome.response))
}
