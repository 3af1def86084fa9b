//! The desk's application layer: every use case once — session and idle lock, the role check
//! of each command ([`api::access`]), 检举控告 confidentiality with its audit entry, masking,
//! exports, reports, notices, sync status — written against xinfang-core and xinfang-store.
//! No Tauri here: the desktop app (`src-tauri`) and the `xinfang` CLI are adapters that parse
//! input, call these functions and serialise the answer.

pub mod account;
pub mod api;
pub mod backup;
/// The command table: every command's name, access rule, arguments and answer, declared once.
pub mod command_list;
#[cfg(test)]
mod command_tests;
#[cfg(feature = "ts")]
pub mod commands_ts;
pub mod conflicts;
pub mod contact;
#[cfg(test)]
mod contact_tests;
pub mod desk_settings;
pub mod enrolment;
pub mod error;
pub mod export_file;
pub mod hall_queue;
pub mod live;
pub mod matters;
pub mod other_halls;
pub mod people;
pub mod photos;
pub mod security_doc;
pub mod stats;
pub mod sync;
pub mod update;

pub use api::{Access, AppState, access};
pub use error::{CmdResult, CommandError, ErrorKind};
