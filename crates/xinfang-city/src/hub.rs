//! The hall hub (docs/sync.md "Hall hub"): this same server, run on an always-on PC of a county
//! hall, serves the hall's desks over the LAN with the same API and storage, and relays to the
//! city whenever the city is reachable. Both sides are here: what the city allows a hub (only
//! its own hall's desks, each change under its own desk's id and sequence number, so the city
//! stores it exactly once whichever way it arrives), and the hub's relay.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use xinfang_sync::client::{Client, SyncError};
use xinfang_sync::replica::Secret;
use xinfang_sync::wire::{
    EnrolRequest, HubAuditRequest, HubDevice, HubDevicesRequest, HubDevicesResponse,
    HubPullRequest, HubPushRequest, MAX_AUDIT_ENTRIES, MAX_PUSH_CHANGES,
};

use crate::protocol::{self, CityError, Refusal, RefusalKind};
use crate::storage::{Device, Done, NewEnrolment, NewLogEntry, Storage, relayed_token_hash};

/// Device ids of hubs start with this; a desk's id (a UUID) never does.
pub const HUB_PREFIX: &str = "hub-";

/// Whether a device id is a hub's.
pub fn is_hub_id(id: &str) -> bool {
    id.starts_with(HUB_PREFIX)
}

/// The file in a hub's data dir that links it to its city.
pub const LINK_FILE: &str = "hub.json";

/// A hub's link to its city: where, as whom, for which hall. The token is a secret like the
/// database key file next to it: the file is readable by the server's user only.
#[derive(Clone, Serialize, Deserialize)]
pub struct HubLink {
    pub upstream: String,
    pub hub_id: String,
    pub hall_code: String,
    pub hall_name: String,
    token: String,
}

impl std::fmt::Debug for HubLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubLink")
            .field("upstream", &self.upstream)
            .field("hub_id", &self.hub_id)
            .field("hall_code", &self.hall_code)
            .finish_non_exhaustive()
    }
}

impl HubLink {
    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(LINK_FILE)
    }

    /// The data dir's link, if it is a hub's.
    pub fn load(data_dir: &Path) -> Result<Option<HubLink>, String> {
        let path = Self::path(data_dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("大厅服务器配置 {} 已损坏（{e}）", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("无法读取 {}：{e}", path.display())),
        }
    }

    fn save(&self, data_dir: &Path) -> Result<(), String> {
        let path = Self::path(data_dir);
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .map_err(|e| format!("无法写入 {}：{e}", path.display()))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("无法写入 {}：{e}", path.display()))
    }

    fn client(&self) -> Result<Client, SyncError> {
        Client::new(&self.upstream, Some(Secret::new(self.token.clone())))
    }
}

// ---- The city's side: what a hub may ask ---------------------------------------------------

fn refused(kind: RefusalKind, code: &'static str, message: String) -> CityError {
    CityError::Refused(Refusal {
        kind,
        code,
        message,
    })
}

/// The caller must be a hub: a desk's token gets 403.
pub fn check_hub(caller: &Device) -> Result<(), CityError> {
    if is_hub_id(&caller.id) {
        Ok(())
    } else {
        Err(refused(
            RefusalKind::Forbidden,
            "hub_only",
            "此接口只供大厅服务器转发使用：接待台请直接同步。".into(),
        ))
    }
}

/// A desk of the hub's hall the city knows and has not revoked: the one a relayed request may
/// name. Another hall's desk, a hub, an unknown or a revoked desk is refused.
pub fn relayed_device(
    storage: &dyn Storage,
    hub: &Device,
    device_id: &str,
) -> Result<Device, CityError> {
    check_hub(hub)?;
    let mut found = None;
    let id = device_id.to_owned();
    storage.read(&mut |tx| {
        found = tx.device_enrolment(&id)?;
        Ok(Done::Commit)
    })?;
    let Some(d) = found.filter(|_| !is_hub_id(device_id)) else {
        return Err(refused(
            RefusalKind::NotFound,
            "device_unknown",
            "市局还不知道大厅服务器转来的这台接待台：大厅服务器下次转发时会先报上设备名单。".into(),
        ));
    };
    if d.hall_code != hub.hall_code {
        return Err(refused(
            RefusalKind::Forbidden,
            "hall_forbidden",
            format!(
                "这台接待台属于其他大厅（{}），大厅服务器只能转发本大厅（{}）的数据。",
                d.hall_code, hub.hall_code
            ),
        ));
    }
    if d.revoked {
        return Err(refused(
            RefusalKind::Forbidden,
            "device_revoked",
            "这台接待台已被注销：它的变更不再接收。".into(),
        ));
    }
    Ok(Device {
        id: device_id.to_owned(),
        hall_code: d.hall_code,
        name: String::new(),
        enrolled_at: String::new(),
        revoked_at: None,
    })
}

/// A hub tells the city its desks and root keys; the city learns the desks it did not know
/// (of the hub's hall only), revokes those the hub revoked, pins the roots, and answers with
/// every desk of the hall it knows and how far it holds each.
pub fn city_hub_devices(
    storage: &dyn Storage,
    hub: &Device,
    req: &HubDevicesRequest,
    now: i64,
) -> Result<HubDevicesResponse, CityError> {
    check_hub(hub)?;
    let hall = hub.hall_code.clone();
    let mut refused_ids = Vec::new();
    let mut to_revoke = Vec::new();
    storage.write(&mut |tx| {
        refused_ids.clear();
        to_revoke.clear();
        for d in &req.devices {
            if is_hub_id(&d.id) || !valid_desk_id(&d.id) {
                refused_ids.push(d.id.clone());
                continue;
            }
            match tx.device_enrolment(&d.id)? {
                None => {
                    tx.insert_device(&relayed_enrolment(&d.id, &hall, &d.name, now))?;
                    tx.append_log(&NewLogEntry {
                        action: "relayed_device",
                        actor: hub.id.clone(),
                        device_id: Some(d.id.clone()),
                        detail: format!("hall {hall}"),
                    })?;
                }
                Some(known) if known.hall_code != hall => refused_ids.push(d.id.clone()),
                Some(known) => {
                    if d.revoked && !known.revoked {
                        to_revoke.push(d.id.clone());
                    }
                }
            }
        }
        for root in &req.roots {
            tx.pin_root(&hall, root, &hub.id)?;
        }
        Ok(Done::Commit)
    })?;
    for id in &to_revoke {
        storage.revoke_device(id)?;
        tracing::warn!(device_id = %id, hub = %hub.id, "device revoked at the hub: revoked here");
    }
    if !refused_ids.is_empty() {
        tracing::warn!(hub = %hub.id, refused = ?refused_ids, "hub told of devices it may not relay");
    }
    Ok(HubDevicesResponse {
        devices: hall_devices(storage, &hall)?,
        refused: refused_ids,
        hall_roots: storage.hall_roots(&hall)?,
        reference_version: crate::reference::bundle().version.clone(),
    })
}

fn valid_desk_id(s: &str) -> bool {
    (8..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A device known here only through a relay: no token of this server matches it.
fn relayed_enrolment(id: &str, hall: &str, name: &str, now: i64) -> NewEnrolment {
    NewEnrolment {
        code_hash: String::new(),
        device_id: id.to_owned(),
        hall_code: hall.to_owned(),
        device_name: name.chars().filter(|c| !c.is_control()).take(100).collect(),
        token_hash: relayed_token_hash(id),
        now,
        roots: Vec::new(),
        hub: false,
        other_kind_hash: String::new(),
    }
}

/// The desks of a hall held here (no hubs), with how far this side holds each.
fn hall_devices(storage: &dyn Storage, hall: &str) -> Result<Vec<HubDevice>, CityError> {
    let mut out = Vec::new();
    for d in storage.devices()? {
        if d.hall_code != hall || is_hub_id(&d.id) {
            continue;
        }
        out.push(HubDevice {
            max_seq: storage.device_heads(&d.id)?.0,
            audit_max_seq: storage.audit_max_seq(&d.id)?,
            revoked: d.revoked_at.is_some(),
            id: d.id,
            name: d.name,
        });
    }
    Ok(out)
}

// ---- The hub's side ------------------------------------------------------------------------

/// Joins this data dir to its city as the hub of the hall the code names: enrols with the
/// code, takes the hall, its id key and root keys, and keeps the link. Refused: a data dir
/// that is a hub already, a code of another kind, used or expired, a city out of reach.
pub fn join(
    data_dir: &Path,
    storage: &dyn Storage,
    upstream: &str,
    code: &str,
    name: &str,
) -> Result<HubLink, String> {
    if let Some(link) = HubLink::load(data_dir)? {
        return Err(format!(
            "这个数据目录已经是 {} {} 的大厅服务器（上级 {}）：一个数据目录只能加入一次。",
            link.hall_code, link.hall_name, link.upstream
        ));
    }
    let hub_id = format!("{HUB_PREFIX}{}", uuid_v4());
    let client = Client::new(upstream, None).map_err(|e| e.to_string())?;
    let resp = client
        .enrol(&EnrolRequest {
            code: code.trim().to_owned(),
            device_id: hub_id.clone(),
            hall_code: String::new(),
            device_name: name.to_owned(),
            hall_id_key: None,
            root_keys: Vec::new(),
        })
        .map_err(|e| match e {
            SyncError::Offline(..) => format!("连不上市局服务器 {upstream}：{e}"),
            other => other.to_string(),
        })?;
    let key = resp
        .hall_id_key
        .as_ref()
        .and_then(|k| k.bytes())
        .ok_or("市局服务器没有给出大厅标识密钥：请先升级市局服务器。")?;
    storage
        .put_hall(&resp.hall_code, &resp.hall_name)
        .map_err(|e| e.to_string())?;
    // The hall's key as the city keeps it: every desk enrolled here derives the same ids.
    let kept = storage
        .hall_id_key(&resp.hall_code, Some(&key))
        .map_err(|e| e.to_string())?;
    if kept != key {
        return Err("这个数据目录已有另一个大厅标识密钥：请用新的数据目录加入。".into());
    }
    pin_roots(storage, &resp.hall_code, &resp.hall_roots, &hub_id).map_err(|e| e.to_string())?;
    // The city's update key, handed on to the desks that enrol here (they pin it).
    if let Some(key) = &resp.update_key {
        storage
            .write(&mut |tx| {
                tx.set_update_key(key)?;
                Ok(Done::Commit)
            })
            .map_err(|e| e.to_string())?;
    }
    let link = HubLink {
        upstream: upstream.trim().to_owned(),
        hub_id,
        hall_code: resp.hall_code,
        hall_name: resp.hall_name,
        token: resp.token,
    };
    link.save(data_dir)?;
    tracing::info!(hub = %link.hub_id, hall = %link.hall_code, "joined the city as the hall's hub");
    Ok(link)
}

fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn pin_roots(
    storage: &dyn Storage,
    hall: &str,
    roots: &[xinfang_sync::staff_sig::RootKey],
    by: &str,
) -> crate::storage::Result<()> {
    storage.write(&mut |tx| {
        for r in roots {
            tx.pin_root(hall, r, by)?;
        }
        Ok(Done::Commit)
    })
}

/// What one relay did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RelayReport {
    /// Changes of the hall's desks the city stored for the first time.
    pub pushed: u64,
    /// Changes of the hall's desks written elsewhere, stored here.
    pub pulled: u64,
    /// Audit entries the city stored for the first time.
    pub audit_pushed: u64,
    /// Desks learned from the city (enrolled there, or at another hub of the hall).
    pub learned: u64,
    /// Desks revoked here because the city revoked them.
    pub revoked: u64,
    /// Whether the city's reference data was taken.
    pub reference_updated: bool,
    /// Update packages fetched from the city and kept for the hall's desks.
    pub updates_fetched: u64,
    /// What did not go through, per desk (in Chinese); the rest of the relay went on.
    pub problems: Vec<String>,
}

/// Pages of a relay: a desk's changes or audit entries per request.
const RELAY_PAGE: u32 = 500;

/// One relay with the city: the desk lists both ways, then for every desk of the hall the
/// changes one side holds and the other lacks (up to the city, down to the hub), the audit
/// entries up, and the city's reference data when it changed. Idempotent: a relay cut
/// anywhere is simply run again. An error means the city could not be reached (or refused the
/// hub itself); a desk's refused changes are listed in the report and the rest goes on.
pub fn relay_once(
    data_dir: &Path,
    storage: &dyn Storage,
    link: &HubLink,
    now: i64,
) -> Result<RelayReport, SyncError> {
    let client = link.client()?;
    let mut report = RelayReport::default();
    let local = |e: crate::storage::StorageError| SyncError::Local(e.to_string());
    let city_err = |e: CityError| SyncError::Local(e.to_string());
    let here = hall_devices(storage, &link.hall_code).map_err(city_err)?;
    let resp = client.hub_devices(&HubDevicesRequest {
        devices: here.clone(),
        roots: storage.hall_roots(&link.hall_code).map_err(local)?,
    })?;
    pin_roots(storage, &link.hall_code, &resp.hall_roots, &link.hub_id).map_err(local)?;
    // The city's desks: learn the new ones, revoke those it revoked.
    for d in &resp.devices {
        match here.iter().find(|h| h.id == d.id) {
            None => {
                storage
                    .write(&mut |tx| {
                        if tx.device_enrolment(&d.id)?.is_none() {
                            tx.insert_device(&relayed_enrolment(
                                &d.id,
                                &link.hall_code,
                                &d.name,
                                now,
                            ))?;
                        }
                        Ok(Done::Commit)
                    })
                    .map_err(local)?;
                report.learned += 1;
                if d.revoked {
                    storage.revoke_device(&d.id).map_err(local)?;
                    report.revoked += 1;
                }
            }
            Some(h) if d.revoked && !h.revoked => {
                storage.revoke_device(&d.id).map_err(local)?;
                report.revoked += 1;
                tracing::warn!(device_id = %d.id, "device revoked at the city: revoked here");
            }
            Some(_) => {}
        }
    }
    for d in &resp.devices {
        if d.revoked {
            continue;
        }
        let device = Device {
            id: d.id.clone(),
            hall_code: link.hall_code.clone(),
            name: d.name.clone(),
            enrolled_at: String::new(),
            revoked_at: None,
        };
        let mut city_max = d.max_seq;
        let mut hub_max = storage.device_heads(&d.id).map_err(local)?.0;
        // Up: what the hub holds beyond the city, in sequence order, set-aside ones included
        // (each number once, so the city sees no gap; it sets them aside by its own rules).
        while hub_max > city_max {
            // A page the city takes: at most so many changes, and so many bytes (photos).
            let own = protocol::own_changes(
                storage,
                &device,
                city_max,
                RELAY_PAGE.min(MAX_PUSH_CHANGES as u32),
            )
            .map_err(city_err)?;
            if own.changes.is_empty() {
                break;
            }
            let changes = own.changes.into_iter().map(|rc| rc.change).collect();
            match client.hub_push(&HubPushRequest {
                device_id: d.id.clone(),
                changes,
            }) {
                Ok(r) if r.server_max_seq > city_max => {
                    report.pushed += r.accepted;
                    city_max = r.server_max_seq;
                }
                Ok(_) => break,
                Err(e) if e.is_offline() || e.is_unauthorized() => return Err(e),
                Err(e) => {
                    report
                        .problems
                        .push(format!("设备 {}：{e}", short_id(&d.id)));
                    break;
                }
            }
        }
        // Down: what the city holds beyond the hub (the desk synced with the city directly).
        while city_max > hub_max {
            let page = client.hub_pull(&HubPullRequest {
                device_id: d.id.clone(),
                after: hub_max,
                limit: Some(RELAY_PAGE),
            })?;
            if page.changes.is_empty() {
                break;
            }
            let n = protocol::store_relayed(storage, &device, &page.changes).map_err(city_err)?;
            report.pulled += n;
            let now_max = storage.device_heads(&d.id).map_err(local)?.0;
            if now_max <= hub_max {
                report
                    .problems
                    .push(format!("设备 {}：市局的变更与本机不一致", short_id(&d.id)));
                break;
            }
            hub_max = now_max;
        }
        // Audit entries up, continued on the desk's chain at the city.
        let hub_audit = storage.audit_max_seq(&d.id).map_err(local)?;
        if hub_audit > d.audit_max_seq {
            let mut entries = Vec::new();
            let id = d.id.clone();
            storage
                .read(&mut |tx| {
                    entries = tx.audit_entries(&id)?;
                    Ok(Done::Commit)
                })
                .map_err(local)?;
            entries.retain(|e| e.seq > d.audit_max_seq);
            for chunk in entries.chunks(MAX_AUDIT_ENTRIES.min(RELAY_PAGE as usize)) {
                match client.hub_audit(&HubAuditRequest {
                    device_id: d.id.clone(),
                    entries: chunk.to_vec(),
                }) {
                    Ok(r) => report.audit_pushed += r.accepted,
                    Err(e) if e.is_offline() || e.is_unauthorized() => return Err(e),
                    Err(e) => {
                        report
                            .problems
                            .push(format!("设备 {} 的审计日志：{e}", short_id(&d.id)));
                        break;
                    }
                }
            }
        }
    }
    // The city's signed packages, kept here for the hall's desks (not re-signed: the desks
    // check the city's signature against the key they pinned).
    let (fetched, problems) = crate::updates::relay(storage, &client)?;
    report.updates_fetched = fetched;
    report.problems.extend(problems);
    if resp.reference_version != crate::reference::bundle().version {
        let bundle = client.reference()?;
        match crate::reference::replace(data_dir, bundle) {
            Ok(()) => report.reference_updated = true,
            Err(e) => report.problems.push(e),
        }
    }
    Ok(report)
}

/// The start of a device id, enough to tell desks apart in a message.
fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Relays every `every` (and at once when [`RelayWake::wake`] is called, e.g. after a desk
/// pushed) until `stop`; a failed relay is logged and tried again at the next turn.
pub fn run_relay(
    data_dir: PathBuf,
    storage: Arc<dyn Storage>,
    link: HubLink,
    every: Duration,
    wake: Arc<RelayWake>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let now = chrono::Utc::now().timestamp();
        match relay_once(&data_dir, storage.as_ref(), &link, now) {
            Ok(r) => {
                if r.pushed + r.pulled + r.audit_pushed + r.learned + r.revoked + r.updates_fetched
                    > 0
                    || !r.problems.is_empty()
                {
                    tracing::info!(pushed = r.pushed, pulled = r.pulled, audit = r.audit_pushed,
                        learned = r.learned, revoked = r.revoked, problems = ?r.problems, "relayed");
                }
                if r.pulled > 0 {
                    wake.pulled();
                }
            }
            Err(e) => tracing::warn!(error = %e, "relay to the city failed; trying again later"),
        }
        wake.wait(every);
    }
}

/// Wakes the relay early (a desk pushed) and tells who listens that changes came down.
#[derive(Default)]
pub struct RelayWake {
    pending: std::sync::Mutex<bool>,
    cond: std::sync::Condvar,
    on_pulled: std::sync::Mutex<Option<Box<dyn Fn() + Send>>>,
}

impl RelayWake {
    /// Relay soon.
    pub fn wake(&self) {
        *self.pending.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_all();
    }

    /// Calls `f` whenever a relay stored changes from the city (live notification of desks).
    pub fn on_pulled(&self, f: impl Fn() + Send + 'static) {
        *self.on_pulled.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(f));
    }

    fn pulled(&self) {
        if let Some(f) = self
            .on_pulled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            f();
        }
    }

    fn wait(&self, at_most: Duration) {
        let guard = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, _) = self
            .cond
            .wait_timeout_while(guard, at_most, |pending| !*pending)
            .unwrap_or_else(|e| e.into_inner());
        *guard = false;
    }
}
