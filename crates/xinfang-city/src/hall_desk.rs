//! Hall-wide queue numbers and the call screen (叫号屏, issue 17), the same on a city server and
//! on a hall's hub.
//!
//! - `POST /v1/hall/queue-number` (device token): the next number of the caller's hall for a
//!   day, unique per (hall, day) and never issued again: one upsert of a counter row in one
//!   write transaction, which SQLite's single writer and PostgreSQL's row lock (and the
//!   backend's write lock) order, so two instances never hand out the same number.
//! - `POST /v1/hall/call` (device token): a number called to a room, kept, so a restarted
//!   server shows today's screen again.
//! - `GET /hall/screen` and `GET /hall/screen/state` (no login): the waiting room's page and
//!   what it polls. They show only numbers, rooms and times: a call keeps nothing else, so no
//!   name, appeal or ID number can reach the screen.
//!
//! The hall is always the calling device's (hall isolation): a request naming another hall is
//! refused.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use xinfang_core::queue::{Room, call_text, check_label, hall_label};
use xinfang_sync::queue::{
    CallRequest, HallCall, QueueNumber, QueueNumberRequest, RoomWaiting, ScreenState,
};
use xinfang_sync::wire::ApiError;

use crate::api::{ApiJson, AppState, Authed, Failure, blocking};
use crate::storage::{CallRow, Done, NewHallCall, Storage, WaitingRow};

/// The page the waiting room's TV shows; self-contained (no CDN: a hall's LAN may have no
/// internet).
const SCREEN_HTML: &str = include_str!("../assets/call_screen.html");
/// Calls the screen lists: the latest and the ones before it.
const SCREEN_CALLS: usize = 10;
/// Calls of the day read to leave the numbers already called off the waiting lists: more
/// than a hall calls in a day.
const CALLS_READ: i64 = 1000;
/// Waiting numbers the screen lists per room.
const SCREEN_WAITING: usize = 6;
/// Hand-offs read for the waiting numbers: more than a hall hands off in a day.
const WAITING_READ: i64 = 500;

/// The routes of this module, merged into the server's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/hall/queue-number", post(queue_number))
        .route("/v1/hall/call", post(call))
        .route("/hall/screen", get(screen))
        .route("/hall/screen/state", get(screen_state))
}

/// A request naming a hall: it must be the device's own.
fn own_hall(device_hall: &str, asked: Option<&str>) -> Result<(), Failure> {
    match asked {
        Some(h) if h.trim() != device_hall => Err(Failure::new(
            StatusCode::FORBIDDEN,
            "hall_forbidden",
            "本接待台只能为本大厅取号、叫号：不能操作其他大厅的排队号。",
        )),
        _ => Ok(()),
    }
}

fn day_of(state: &AppState, asked: Option<&str>) -> Result<String, Failure> {
    match asked {
        None => Ok(state.settings.clock.today().to_string()),
        Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map(|d| d.to_string())
            .map_err(|_| {
                Failure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "day_invalid",
                    "日期格式不正确：应为 YYYY-MM-DD，例如 2026-12-04。",
                )
            }),
    }
}

/// The next queue number of the caller's hall.
#[utoipa::path(post, path = "/v1/hall/queue-number", tag = "hall", security(("bearer" = [])),
    request_body = QueueNumberRequest,
    responses(
        (status = 200, description = "The number issued", body = QueueNumber),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Another hall was named", body = ApiError),
        (status = 422, description = "Not a date", body = ApiError),
    ))]
pub async fn queue_number(
    State(state): State<AppState>,
    Authed(device): Authed,
    ApiJson(req): ApiJson<QueueNumberRequest>,
) -> Result<Json<QueueNumber>, Failure> {
    own_hall(&device.hall_code, req.hall_code.as_deref())?;
    let day = day_of(&state, req.day.as_deref())?;
    let storage = state.storage.clone();
    let (hall, d) = (device.hall_code.clone(), day.clone());
    let number = blocking(move || {
        let mut n = 0;
        storage.write(&mut |tx| {
            n = tx.next_queue_number(&hall, &d)?;
            Ok(Done::Commit)
        })?;
        Ok(n)
    })
    .await?;
    tracing::info!(device_id = %device.id, hall = %device.hall_code, %day, number, "queue number issued");
    Ok(Json(QueueNumber {
        hall_code: device.hall_code,
        day,
        number,
        label: hall_label(number),
    }))
}

fn call_of(row: CallRow) -> HallCall {
    let room = Room::parse(&row.room).unwrap_or(Room::Registration);
    HallCall {
        id: row.id,
        text: call_text(&row.queue_label, room),
        queue_label: row.queue_label,
        room: room.code().to_owned(),
        room_label: room.label_zh().to_owned(),
        called_at: row.called_at,
    }
}

/// Calls a number to a room: the call screen shows it and says it aloud.
#[utoipa::path(post, path = "/v1/hall/call", tag = "hall", security(("bearer" = [])),
    request_body = CallRequest,
    responses(
        (status = 200, description = "Called", body = HallCall),
        (status = 401, description = "Missing, unknown or revoked token", body = ApiError),
        (status = 403, description = "Another hall was named", body = ApiError),
        (status = 422, description = "Not a queue number or not a room", body = ApiError),
    ))]
pub async fn call(
    State(state): State<AppState>,
    Authed(device): Authed,
    ApiJson(req): ApiJson<CallRequest>,
) -> Result<Json<HallCall>, Failure> {
    own_hall(&device.hall_code, req.hall_code.as_deref())?;
    let label = check_label(&req.queue_label)
        .map_err(|e| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, &e.code, e.message))?;
    let room = Room::parse(&req.room).ok_or_else(|| {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "room_invalid",
            "叫号的房间应为 registration（登记窗口）、lawyer（律师咨询室）或 mediator（人民调解室）。",
        )
    })?;
    let new = NewHallCall {
        hall_code: device.hall_code.clone(),
        day: state.settings.clock.today().to_string(),
        queue_label: label,
        room: room.code().to_owned(),
        device_id: device.id.clone(),
    };
    let storage = state.storage.clone();
    let row = blocking(move || {
        let mut row = None;
        storage.write(&mut |tx| {
            let id = tx.insert_hall_call(&new)?;
            row = Some(CallRow {
                id,
                queue_label: new.queue_label.clone(),
                room: new.room.clone(),
                called_at: tx.now_text(),
            });
            Ok(Done::Commit)
        })?;
        Ok(row.expect("the body ran"))
    })
    .await?;
    tracing::info!(device_id = %device.id, hall = %device.hall_code, call = row.id, "number called");
    Ok(Json(call_of(row)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ScreenQuery {
    /// The hall's GB/T 2260 code; may be left out on a server that serves one hall.
    pub hall: Option<String>,
}

/// The hall a screen shows: the one asked for, else the only hall with enrolled desks.
fn screen_hall(storage: &dyn Storage, asked: Option<&str>) -> Result<(String, String), String> {
    let asked = asked.map(str::trim).filter(|h| !h.is_empty());
    let code = match asked {
        Some(h) => h.to_owned(),
        None => {
            let mut halls: Vec<String> = storage
                .devices()
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|d| d.revoked_at.is_none())
                .map(|d| d.hall_code)
                .collect();
            halls.sort();
            halls.dedup();
            match halls.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(
                        "本服务器还没有登记任何大厅的接待台：请先登记接待台，或在地址后加上 ?hall=大厅代码（如 ?hall=140521）。"
                            .to_owned(),
                    );
                }
                _ => {
                    return Err(
                        "本服务器服务多个大厅：请在地址后加上 ?hall=大厅代码，例如 /hall/screen?hall=140521。"
                            .to_owned(),
                    );
                }
            }
        }
    };
    match storage.hall(&code).map_err(|e| e.to_string())? {
        Some(h) => Ok((h.code, h.name)),
        None => Err(format!(
            "没有代码为“{}”的大厅：请核对地址中的 hall=（如 ?hall=140521）。",
            code.chars().take(12).collect::<String>()
        )),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn error_page(message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>叫号屏</title></head>\
         <body style=\"font-family:sans-serif;font-size:32px;padding:2em\"><h1>叫号屏无法显示</h1><p>{}</p></body></html>",
        escape(message)
    );
    (StatusCode::NOT_FOUND, Html(body)).into_response()
}

/// The waiting room's call screen: a plain page, no login.
#[utoipa::path(get, path = "/hall/screen", tag = "hall", params(ScreenQuery),
    responses(
        (status = 200, description = "The call screen (HTML)", content_type = "text/html"),
        (status = 404, description = "No such hall, or the hall must be named (HTML)", content_type = "text/html"),
    ))]
pub async fn screen(State(state): State<AppState>, Query(q): Query<ScreenQuery>) -> Response {
    let storage = state.storage.clone();
    let found =
        tokio::task::spawn_blocking(move || screen_hall(storage.as_ref(), q.hall.as_deref()))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
    match found {
        Ok((code, name)) => Html(
            SCREEN_HTML
                .replace("{{HALL_CODE}}", &escape(&code))
                .replace("{{HALL_NAME}}", &escape(&name)),
        )
        .into_response(),
        Err(message) => {
            tracing::warn!(%message, "call screen not shown");
            error_page(&message)
        }
    }
}

/// What the call screen shows: numbers, rooms and times only.
#[utoipa::path(get, path = "/hall/screen/state", tag = "hall", params(ScreenQuery),
    responses(
        (status = 200, description = "Today's calls, latest first", body = ScreenState),
        (status = 404, description = "No such hall, or the hall must be named", body = ApiError),
    ))]
pub async fn screen_state(
    State(state): State<AppState>,
    Query(q): Query<ScreenQuery>,
) -> Result<Json<ScreenState>, Failure> {
    let storage = state.storage.clone();
    let day = state.settings.clock.today().to_string();
    let d = day.clone();
    let found = blocking(move || {
        let hall = screen_hall(storage.as_ref(), q.hall.as_deref());
        let Ok((code, _)) = &hall else {
            return Ok((hall, Vec::new(), Vec::new()));
        };
        let (mut calls, mut waiting) = (Vec::new(), Vec::new());
        let code = code.clone();
        let since = waiting_since(&d);
        storage.read(&mut |tx| {
            calls = tx.hall_calls(&code, &d, CALLS_READ)?;
            waiting = tx.hall_waiting(&code, &d, &since, WAITING_READ)?;
            Ok(Done::Commit)
        })?;
        Ok((hall, calls, waiting))
    })
    .await?;
    match found {
        (Ok((hall_code, hall_name)), calls, waiting) => Ok(Json(ScreenState {
            hall_code,
            hall_name,
            day,
            waiting: waiting_by_room(waiting, &calls),
            calls: calls.into_iter().take(SCREEN_CALLS).map(call_of).collect(),
        })),
        (Err(message), _, _) => Err(Failure::new(StatusCode::NOT_FOUND, "hall_unknown", message)),
    }
}

/// The smallest UUIDv7 of a hand-off made from two days before `day` on (its first 48 bits
/// are the Unix time in ms): hand-offs of the day's visits are later, even from a desk whose
/// clock was a day behind.
fn waiting_since(day: &str) -> String {
    let ms = NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.checked_sub_days(chrono::Days::new(2)))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |t| t.and_utc().timestamp_millis().max(0));
    let ms = u64::try_from(ms).unwrap_or(0);
    format!("{:08x}-{:04x}", ms >> 16, ms & 0xffff)
}

/// Waiting numbers grouped by room (lawyer's first), each room's in hand-off order; a number
/// handed to a room twice is listed once, and a number already called to the room today is
/// not waiting any more (the desk that took it may not have synced yet).
fn waiting_by_room(rows: Vec<WaitingRow>, calls: &[CallRow]) -> Vec<RoomWaiting> {
    [Room::Lawyer, Room::Mediator]
        .into_iter()
        .filter_map(|room| {
            let called = |label: &str| {
                calls
                    .iter()
                    .any(|c| c.room == room.code() && c.queue_label == label)
            };
            let mut labels: Vec<String> = Vec::new();
            for r in rows.iter().filter(|r| r.desk == room.code()) {
                if labels.len() < SCREEN_WAITING
                    && !labels.contains(&r.queue_label)
                    && !called(&r.queue_label)
                {
                    labels.push(r.queue_label.clone());
                }
            }
            (!labels.is_empty()).then(|| RoomWaiting {
                room: room.code().to_owned(),
                room_label: room.label_zh().to_owned(),
                queue_labels: labels,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_bound_is_a_uuid7_prefix_two_days_back() {
        // A UUIDv7 made at `ms` (Unix time): its first 48 bits are `ms`, as `uuid` makes them.
        let made = |ms: u64| {
            format!(
                "{:08x}-{:04x}-7abc-8def-0123456789ab",
                ms >> 16,
                ms & 0xffff
            )
        };
        // 2026-12-03T00:00:00Z, two days before the day asked for.
        let start = 1_796_256_000_000u64;
        let since = waiting_since("2026-12-05");
        assert_eq!(since, made(start)[..13]);
        // A hand-off made on the day is above it, one from three days before below it.
        assert!(made(start + 2 * 86_400_000) > since);
        assert!(made(start - 86_400_000) < since);
        assert_eq!(waiting_since("not a day"), "00000000-0000");
    }

    #[test]
    fn waiting_numbers_are_grouped_by_room_once_each() {
        let row = |desk: &str, l: &str| WaitingRow {
            desk: desk.into(),
            queue_label: l.into(),
        };
        // 7 was called to the lawyer's room already; 3 to another room only.
        let call = |label: &str, room: &str| CallRow {
            id: 1,
            queue_label: label.into(),
            room: room.into(),
            called_at: String::new(),
        };
        let got = waiting_by_room(
            vec![
                row("mediator", "3"),
                row("lawyer", "5"),
                row("lawyer", "7"),
                row("lawyer", "B002"),
                row("lawyer", "5"),
            ],
            &[call("7", "lawyer"), call("3", "registration")],
        );
        let shown: Vec<(&str, Vec<&str>)> = got
            .iter()
            .map(|w| {
                (
                    w.room_label.as_str(),
                    w.queue_labels.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [("律师咨询室", vec!["5", "B002"]), ("人民调解室", vec!["3"])]
        );
        assert!(waiting_by_room(Vec::new(), &[]).is_empty());
    }
}
