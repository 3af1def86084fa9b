//! 连接服务器: the desk's link to its server (docs/sync.md "Finding the hub"), once for the app
//! and the CLI — the servers announced on the LAN, the city's CA certificate chosen from a file,
//! enrolment with a one-time code, a connection test, what the desk is enrolled as, leaving the
//! server and taking over a copied store. All of it is the desk administrator's
//! (`ManageStaff`), checked here for every front end.

use serde::Serialize;
use xinfang_core::FieldError;
use xinfang_core::staff::{Action, authorize};
use xinfang_store::{AuditAction, Staff, Store};
use xinfang_sync::DeskReplica;
use xinfang_sync::client::{self, Client, Patience, SyncError};

use crate::api::AppState;
use crate::error::{CmdResult, CommandError, ErrorKind};

/// The `sync_state`-like desk setting with the name this desk enrolled under.
const DESK_NAME: &str = "desk_name";

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
    /// The name the server lists this desk under.
    pub desk_name: String,
}

/// A CA certificate the desk trusts for its server, as the administrator checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrustedCa {
    pub name: String,
    /// YYYY-MM-DD.
    pub valid_until: String,
}

/// What 连接服务器 shows about this desk's link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConnectionInfo {
    pub enrolled: bool,
    /// The server address (none before enrolment).
    pub server: Option<String>,
    pub hall_code: String,
    pub hall_name: String,
    /// The name the server lists this desk under (the computer's name unless given).
    pub desk_name: String,
    /// The last successful sync (RFC 3339), if any.
    pub last_sync_at: Option<String>,
    /// Local changes the server has not confirmed.
    pub pending: i64,
    /// The CA certificates chosen for the server (empty: the built-in roots only).
    pub trusted_ca: Vec<TrustedCa>,
    /// This store was copied from another computer: syncing waits for 由本机接替.
    pub copied: bool,
}

/// A connection test's outcome, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConnectionTest {
    pub ok: bool,
    pub message: String,
}

/// The computer's name: what the city's device list shows for a desk enrolled without one.
pub fn computer_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "信访接待台".to_owned())
}

fn field_error(field: &str, code: &str, message: impl Into<String>) -> CommandError {
    CommandError::validation(FieldError::new(field, code, message.into()).into())
}

/// A refused enrolment at the field it is about: the code's own refusals at the code, the
/// rest (address, certificate, network, this desk refused) at the address.
/// The server's refusal code is kept (`hall_mismatch`, `enrol_code_used`, …) for scripts.
fn enrol_error(e: SyncError) -> CommandError {
    let (field, code) = match &e {
        SyncError::Server { code, .. } if code.starts_with("enrol_code") => ("code", code.clone()),
        SyncError::Server { code, .. } => ("server", code.clone()),
        _ => ("server", "enrol_failed".to_owned()),
    };
    CommandError::validation(FieldError::new(field, &code, e.to_string()).into())
}

fn own(me: &Staff) -> CmdResult<()> {
    authorize(&me.roles, Action::ManageStaff).map_err(CommandError::forbidden)
}

/// Enrols the desk with `server` using a one-time `code`, under `desk_name` (the computer's
/// name when empty). A desk already enrolled must leave its server first.
pub fn enrol(
    store: &mut Store,
    me: &Staff,
    server: &str,
    code: &str,
    desk_name: &str,
) -> CmdResult<EnrolledDesk> {
    own(me)?;
    if let Some(current) = store.sync_server_url()? {
        return Err(field_error(
            "server",
            "already_enrolled",
            format!(
                "本机已登记到服务器 {current}：如要改连其他服务器，请先点“断开服务器”，再用新的登记码登记。"
            ),
        ));
    }
    if code.trim().is_empty() {
        return Err(field_error(
            "code",
            "required",
            "请填写管理员给的一次性登记码。",
        ));
    }
    let name = match desk_name.trim() {
        "" => computer_name(),
        given => given.chars().take(40).collect(),
    };
    let resp = client::enrol(store, server.trim(), code.trim(), &name).map_err(enrol_error)?;
    store.set_local_setting("", DESK_NAME, &name)?;
    store.audit(
        &me.id,
        AuditAction::ConnectServer,
        "store",
        store.device_id(),
        server.trim(),
    )?;
    Ok(EnrolledDesk {
        server: server.trim().to_owned(),
        hall_code: resp.hall_code,
        hall_name: resp.hall_name,
        desk_name: name,
    })
}

/// Trusts the CA certificates of `pem` (from a file the administrator chose) for the server,
/// or with `None` only the built-in roots again. A file without a certificate is refused and
/// changes nothing.
pub fn set_trusted_ca(
    store: &mut Store,
    me: &Staff,
    pem: Option<&str>,
) -> CmdResult<Vec<TrustedCa>> {
    own(me)?;
    let pem = pem.map(str::trim).filter(|p| !p.is_empty());
    if let Some(pem) = pem {
        client::parse_ca(pem.as_bytes()).map_err(|why| {
            field_error(
                "ca",
                "ca_unusable",
                format!(
                    "这个文件不能用作 CA 证书（{why}）：请选择市局提供的 .pem 或 .crt 证书文件。"
                ),
            )
        })?;
    }
    store.set_trusted_ca(pem)?;
    store.audit(
        &me.id,
        AuditAction::TrustCa,
        "store",
        store.device_id(),
        if pem.is_some() { "chosen" } else { "removed" },
    )?;
    Ok(trusted_ca(store)?)
}

fn trusted_ca(store: &Store) -> Result<Vec<TrustedCa>, xinfang_store::StoreError> {
    Ok(store
        .trusted_ca()?
        .map(|pem| {
            client::describe_ca(&pem)
                .into_iter()
                .map(|c| TrustedCa {
                    name: c.name,
                    valid_until: c.valid_until,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// What the desk is enrolled as.
pub fn connection(store: &mut Store, me: &Staff) -> CmdResult<ConnectionInfo> {
    own(me)?;
    let record = store.sync_record()?;
    let pending = pending_changes(store)?;
    let (_, hall_name) =
        xinfang_core::notice::hall_names(store.hall_code(), store.reference_data().regions);
    Ok(ConnectionInfo {
        enrolled: store.sync_settings()?.is_some(),
        server: store.sync_server_url()?,
        hall_code: store.hall_code().to_owned(),
        hall_name,
        desk_name: store
            .local_setting("", DESK_NAME)?
            .unwrap_or_else(computer_name),
        last_sync_at: record.last_sync_at,
        pending,
        trusted_ca: trusted_ca(store)?,
        copied: store.moved()?,
    })
}

/// Forgets the server (address and token); the data stays on the desk. With changes the server
/// has not confirmed it is refused unless `even_if_pending`: they would reach it only after
/// this desk enrols again.
pub fn leave(store: &mut Store, me: &Staff, even_if_pending: bool) -> CmdResult<()> {
    own(me)?;
    let Some(server) = store.sync_server_url()? else {
        return Err(field_error(
            "server",
            "not_enrolled",
            "本机还没有登记到服务器，无需断开。",
        ));
    };
    let pending = pending_changes(store)?;
    if pending > 0 && !even_if_pending {
        return Err(field_error(
            "even_if_pending",
            "pending_changes",
            format!(
                "本机还有 {pending} 条变更没有上传到服务器：断开后要等重新登记才能上传。请先联网同步；确需现在断开，请勾选“仍要断开”。"
            ),
        ));
    }
    store.audit(
        &me.id,
        AuditAction::LeaveServer,
        "store",
        store.device_id(),
        &server,
    )?;
    store.forget_enrolment()?;
    Ok(())
}

/// What a connection test found, in words: the address (or the enrolled one) answers over a
/// trusted link, and — enrolled — the server still knows this desk. No store is held.
/// What a connection test asks, read from the store (which is not held while it asks).
pub struct Link {
    server: String,
    token: Option<xinfang_sync::replica::Secret>,
    ca: Option<String>,
    device_id: String,
}

/// The link 测试连接 tries: `typed` (an address typed in before enrolment, asked without this
/// desk's token) or the enrolled server with its token.
pub fn link_to_test(store: &mut Store, me: &Staff, typed: Option<&str>) -> CmdResult<Link> {
    own(me)?;
    let settings = store.sync_settings()?;
    let typed = typed.map(str::trim).filter(|s| !s.is_empty());
    let (server, token) = match (typed, settings) {
        (Some(t), Some(s)) if t != s.server_url => (t.to_owned(), None),
        (Some(t), None) => (t.to_owned(), None),
        (_, Some(s)) => (
            client::effective_server_url(Some(&s.server_url)).unwrap_or(s.server_url),
            Some(s.token),
        ),
        (None, None) => {
            return Err(field_error(
                "server",
                "required",
                "请先填写服务器地址，再测试连接。",
            ));
        }
    };
    Ok(Link {
        server,
        token,
        ca: store.trusted_ca()?,
        device_id: store.device_id().to_owned(),
    })
}

/// Local changes the server has not confirmed.
pub fn pending_changes(store: &Store) -> Result<i64, xinfang_store::StoreError> {
    Ok((store.last_local_seq()? - store.pushed_seq()?).max(0))
}

pub fn test_connection(link: &Link) -> ConnectionTest {
    let Link {
        server,
        token,
        ca,
        device_id,
    } = link;
    let ca = ca.as_deref();
    let outcome = (|| {
        let client = Client::build(server, token.clone(), Patience::Quick, ca)?;
        let health = client.health()?;
        let mut message = format!(
            "连接正常：服务器 {} 已应答（版本 {}）。",
            server.trim(),
            health.version
        );
        if token.is_some() {
            match client.state() {
                Ok(state) if state.device_id == *device_id => {
                    message.push_str("本机的登记有效。");
                }
                Ok(_) => {
                    return Err(SyncError::Protocol("服务器认出的设备与本机不符".into()));
                }
                Err(e) if e.is_unauthorized() => {
                    return Ok(ConnectionTest {
                        ok: false,
                        message: format!(
                            "服务器 {} 可以连上，但不再接受本机的登记（已被吊销，或服务器不认识本机）：请点“断开服务器”，再向管理员索取新的登记码重新登记。",
                            server.trim()
                        ),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(ConnectionTest { ok: true, message })
    })();
    outcome.unwrap_or_else(|e: SyncError| ConnectionTest {
        ok: false,
        message: e.to_string(),
    })
}

impl AppState {
    /// 查找本大厅服务器: listens on the LAN for [`xinfang_sync::lan::BROWSE`], this desk's
    /// hall's servers first. The store is not held meanwhile: the desk keeps answering.
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

    /// 连接: [`enrol`]; the background sync starts at once.
    pub fn enrol_desk(&self, server: &str, code: &str, desk_name: &str) -> CmdResult<EnrolledDesk> {
        let done = self.act(Action::ManageStaff, |store, me| {
            enrol(store, me, server, code, desk_name)
        })?;
        self.sync_wake.notify_one();
        Ok(done)
    }

    pub fn connection_info(&self) -> CmdResult<ConnectionInfo> {
        self.act(Action::ManageStaff, connection)
    }

    pub fn set_trusted_ca(&self, pem: Option<String>) -> CmdResult<Vec<TrustedCa>> {
        self.act(Action::ManageStaff, |store, me| {
            set_trusted_ca(store, me, pem.as_deref())
        })
    }

    /// 测试连接 with `server` (the address typed in, before enrolment) or the enrolled one.
    pub fn test_connection(&self, server: Option<String>) -> CmdResult<ConnectionTest> {
        let link = self.act(Action::ManageStaff, |store, me| {
            link_to_test(store, me, server.as_deref())
        })?;
        Ok(test_connection(&link))
    }

    pub fn leave_server(&self, even_if_pending: bool) -> CmdResult<()> {
        self.act(Action::ManageStaff, |store, me| {
            leave(store, me, even_if_pending)
        })
    }

    /// 由本机接替: [`crate::backup::adopt_this_copy`]; syncing resumes at once.
    pub fn adopt_this_copy(&self) -> CmdResult<()> {
        self.act(Action::ManageStaff, crate::backup::adopt_this_copy)?;
        self.sync_wake.notify_one();
        Ok(())
    }
}
