//! Hall-wide queue numbers and calls (issue 17), as JSON between a desk and its server (the
//! hall's hub or the city). The rules (labels, rooms) are `xinfang_core::queue`.

use serde::{Deserialize, Serialize};

/// `POST /v1/hall/queue-number`: the next number of the caller's hall.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueNumberRequest {
    /// `YYYY-MM-DD`; none: the server's today in China Standard Time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    /// The caller's hall, if it names one: another hall's is refused (403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall_code: Option<String>,
}

/// A number issued: unique in its hall for the day, never issued again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueNumber {
    pub hall_code: String,
    pub day: String,
    pub number: i64,
    /// What screens and slips show, e.g. `17`.
    pub label: String,
}

/// `POST /v1/hall/call`: call a number to a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallRequest {
    /// `17` (a hall number) or `B017` (a desk's own number).
    pub queue_label: String,
    /// `registration`, `lawyer` or `mediator`.
    pub room: String,
    /// The caller's hall, if it names one: another hall's is refused (403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall_code: Option<String>,
}

/// One call, as the call screen shows it: only the number, the room and the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HallCall {
    /// Grows with every call of the server: the screen chimes when it sees a new one.
    pub id: i64,
    pub queue_label: String,
    pub room: String,
    /// 登记窗口 / 律师咨询室 / 人民调解室
    pub room_label: String,
    /// RFC 3339, China Standard Time.
    pub called_at: String,
    /// What the screen says aloud: 请 17 号到律师咨询室.
    pub text: String,
}

/// `GET /hall/screen/state`: what the call screen shows. Never a name, an appeal or an ID
/// number: the server keeps none of them with a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScreenState {
    pub hall_code: String,
    pub hall_name: String,
    pub day: String,
    /// The latest call first, then the ones before it (at most 10), of the day.
    pub calls: Vec<HallCall>,
    /// The numbers waiting for the lawyer's and the mediator's rooms, next first: handed off
    /// today and not yet taken. A room nobody waits for is left out.
    #[serde(default)]
    pub waiting: Vec<RoomWaiting>,
}

/// The numbers waiting for one room, next first (at most 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomWaiting {
    pub room: String,
    /// 律师咨询室 / 人民调解室
    pub room_label: String,
    pub queue_labels: Vec<String>,
}
