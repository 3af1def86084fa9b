//! The city server (`xinfang-city`): enrolment of hall devices, push/pull sync, city reference
//! data and city-level views, over HTTP(S) with axum. Storage is behind [`storage::Storage`].
//! The protocol is in `docs/sync.md`; the API in `docs/openapi.yaml` (generated from [`api`]).

pub mod admin;
pub mod api;
pub mod auth;
pub mod console;
pub mod database;
pub mod hall_desk;
pub mod hub;
pub mod hub_api;
pub mod notify;
pub mod protocol;
pub mod publicity;
mod rate_limit;
pub mod reference;
pub mod report;
pub mod reviewer;
pub mod stats;
pub mod storage;
pub mod updates;
pub mod updates_api;
