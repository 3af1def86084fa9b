//! Connecting the desk to its server from the app (docs/sync.md "Finding the hub"): the servers
//! announced on the LAN, and enrolment with a one-time code, for the desk's administrator.

use serde::Serialize;
use xinfang_core::staff::Action;

use crate::api::AppState;
use crate::error::{CmdResult, CommandError, ErrorKind};

/// A server that answered on the LAN: what the enrol screen lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FoundServer {
    /// The address to enrol with.
    pub url: String,
    /// The halls it serves (a hub: its one hall).
    pub halls: Vec<String>,
    /// It serves this desk's hall.
    pub this_hall: bool,
}

/// The desk once enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EnrolledDesk {
    pub server: String,
    pub hall_code: String,
    pub hall_name: String,
}

impl AppState {
    /// 查找本大厅服务器: listens on the LAN for [`xinfang_sync::lan::BROWSE`], this desk's
    /// hall's servers first. The store is not held meanwhile: the desk keeps answering.
    /// Enrolment is the administrator's, like managing staff (`ManageStaff`).
    pub fn discover_servers(&self) -> CmdResult<Vec<FoundServer>> {
        let hall = self.act(Action::ManageStaff, |store, _| {
            Ok(store.hall_code().to_owned())
        })?;
        let found = xinfang_sync::lan::discover(xinfang_sync::lan::BROWSE).map_err(|e| {
            CommandError::new(ErrorKind::Internal, "discover_failed", e.to_string())
        })?;
        let mut out: Vec<FoundServer> = found
            .into_iter()
            .map(|f| FoundServer {
                this_hall: f.halls.contains(&hall),
                url: f.url,
                halls: f.halls,
            })
            .collect();
        out.sort_by_key(|f| !f.this_hall);
        Ok(out)
    }

    /// 连接服务器: enrols this desk with `server` using a one-time `code` from its
    /// administrator; the background sync starts at once.
    pub fn enrol_desk(&self, server: &str, code: &str) -> CmdResult<EnrolledDesk> {
        let resp = self.act(Action::ManageStaff, |store, _| {
            xinfang_sync::client::enrol(store, server.trim(), code.trim(), "信访接待台").map_err(
                |e| {
                    // The address is the form's first field: the message says which is wrong.
                    let mut errors = xinfang_core::ValidationErrors::default();
                    errors.push(xinfang_core::FieldError::new(
                        "server",
                        "enrol_failed",
                        e.to_string(),
                    ));
                    CommandError::validation(errors)
                },
            )
        })?;
        self.sync_wake.notify_one();
        Ok(EnrolledDesk {
            server: server.trim().to_owned(),
            hall_code: resp.hall_code,
            hall_name: resp.hall_name,
        })
    }
}
