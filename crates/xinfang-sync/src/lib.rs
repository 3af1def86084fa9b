//! Sync between desks and the city server.
//!
//! - [`wire`]: the JSON both sides speak (the city server's OpenAPI is generated from it);
//! - [`hlc`]: the hybrid logical clock that stamps every change;
//! - [`merge`]: the conflict rules every replica applies (field-level LWW, forward-only matter
//!   status, tombstones);
//! - [`audit`]: the audit chain's hash and linking rule, shared by the desk and the server;
//! - [`staff_sig`]: who may change a staff account, and the signature every replica checks;
//! - [`replica`]: what a desk store offers the sync client;
//! - `client` (feature `client`): enrolment and one full sync over HTTPS (rustls) or plain HTTP
//!   to loopback, and [`client::sync_status`] for a background loop.
//!
//! The protocol is written down in `docs/sync.md`.

pub mod audit;
pub mod hlc;
pub mod merge;
pub mod queue;
pub mod replica;
pub mod staff_sig;
pub mod update;
pub mod wire;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "lan")]
pub mod lan;

pub use hlc::Hlc;
pub use replica::{DeskReplica, Secret, SnapshotPosition, SyncRecord, SyncSettings};
pub use wire::{Change, Op, RemoteChange};
