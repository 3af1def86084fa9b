//! The HTTP side of signed updates (issue 20; rules in [`crate::updates`]): the manifest and
//! the packages, for any enrolled desk or hub (a device token). A hall hub serves the same two
//! from what it relayed, so its hall's desks update while the city is out of reach.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use xinfang_sync::update::UpdateManifest;
use xinfang_sync::wire::ApiError;

use crate::api::{AppState, Failure, blocking, device};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/updates/manifest", get(update_manifest))
        .route("/v1/updates/package/{version}/{kind}", get(update_package))
}

/// The latest signed package of each kind this server holds. A desk checks every package
/// against the update key it pinned at enrolment, not against anything this answer says.
#[utoipa::path(get, path = "/v1/updates/manifest", tag = "updates", security(("bearer" = [])),
    responses(
        (status = 200, description = "Latest package per kind (none published: an empty list)", body = UpdateManifest),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
    ))]
pub(crate) async fn update_manifest(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<UpdateManifest>, Failure> {
    device(&state, &headers).await?;
    let storage = state.storage.clone();
    let manifest = blocking(move || Ok(crate::updates::manifest(storage.as_ref())?)).await?;
    Ok(Json(manifest))
}

/// The bytes of one package (`application/octet-stream`), as published.
#[utoipa::path(get, path = "/v1/updates/package/{version}/{kind}", tag = "updates", security(("bearer" = [])),
    params(
        ("version" = String, Path, description = "Semantic version, e.g. 0.2.0"),
        ("kind" = String, Path, description = "desk-deb or desk-rpm"),
    ),
    responses(
        (status = 200, description = "The package", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 404, description = "No such package here", body = ApiError),
    ))]
pub(crate) async fn update_package(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((version, kind)): Path<(String, String)>,
) -> Result<Response, Failure> {
    device(&state, &headers).await?;
    let storage = state.storage.clone();
    let bytes =
        blocking(move || Ok(crate::updates::package(storage.as_ref(), &version, &kind)?)).await?;
    let Some(bytes) = bytes else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "package_unknown",
            "本服务器没有这个版本的安装包。",
        ));
    };
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
