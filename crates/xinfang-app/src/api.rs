//! What each command does, as plain functions over [`AppState`] so the command-layer tests can
//! call them without a webview. Each one checks the session and the role through
//! `xinfang_core::staff::authorize`, then calls xinfang-core and xinfang-store; no SQL and no
//! domain rule lives here.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use xinfang_core::FieldError;
use xinfang_core::clock::{Clock, SystemClock};
use xinfang_core::date::parse_date_field;
use xinfang_core::desk::{
    AgreementForm, ConsultationInput, ContinueMediationInput, DISPUTE_TYPES, Desk, FollowUpInput,
    Fulfilment, IdCheck, InvestigationInput, MediationInput, MediationOutcome, PartyKind,
    PartyRole, StartedBy, check_confirmation_answer, check_hall_code, check_id_live,
    check_password_repeat, validate_consultation, validate_continuation, validate_follow_up,
    validate_investigation, validate_mediation,
};
use xinfang_core::id::IdType;
use xinfang_core::reference::{AppealKind, ReferenceData};
use xinfang_core::staff::{Action, CONFIDENTIAL_MASK, Role, authorize, may_view_confidential};
use xinfang_core::visit::{ValidVisit, VisitInput, VisitorInput, validate_visit};
use xinfang_store::{
    AuditAction, AuditEntry, AuditFilter, ConsultationRecord, Draft, HandoffInfo, HistoryEntry,
    MediationRecord, NewStaff, QueueItem, RecordOwner, Registered, Staff, Store, VisitDetail,
    VisitRow, VisitorProfile,
};
use xinfang_sync::client::SyncError;

use crate::error::{CmdResult, CommandError, ErrorKind};

/// Minutes without any command before the session ends, unless configured.
pub const DEFAULT_IDLE_MINUTES: u32 = 15;

/// Who may call a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Before login: app info, first-run setup, login, logout, the session itself.
    Public,
    /// Any logged-in staff member.
    LoggedIn,
    /// Staff whose roles the matrix allows for this action.
    Action(Action),
}

impl Access {
    pub fn allows(self, roles: &[Role]) -> bool {
        match self {
            Access::Public | Access::LoggedIn => true,
            Access::Action(a) => authorize(roles, a).is_ok(),
        }
    }
}

macro_rules! access_rule {
    (Public) => {
        Access::Public
    };
    (LoggedIn) => {
        Access::LoggedIn
    };
    ($action:ident) => {
        Access::Action(Action::$action)
    };
}

macro_rules! access_fn {
    ($($name:ident : $rule:ident, ($($arg:ident : $tn:ident $(<$inner:ty>)?),*) -> $ret:ty;)*) => {
        /// The access rule of each command of [`crate::command_table`]; `None` for a name that
        /// is not a command.
        pub fn access(command: &str) -> Option<Access> {
            Some(match command {
                $(stringify!($name) => access_rule!($rule),)*
                _ => return None,
            })
        }
    };
}

crate::command_table!(access_fn);

/// Sync state shown in the status bar, filled in by the background sync task
/// (`crate::sync_task`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    /// The last attempt reached the city server.
    pub online: bool,
    /// The desk holds an enrolment (server address and device token).
    pub enrolled: bool,
    /// At least one attempt (or enrolment check) was made since the app started.
    pub checked: bool,
    /// Changes not yet pushed to the city server.
    pub pending: i64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    /// Whole days since the last successful sync, once they reach
    /// [`crate::sync::UNSYNCED_WARN_DAYS`] (the warning is in `last_error`).
    pub unsynced_days: Option<i64>,
}

/// Where the app runs and whether its store exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    /// False: show the first-run screen.
    pub initialised: bool,
    pub idle_minutes: u32,
    /// Only in the answer to first-run setup: the store's recovery key, shown once and stored
    /// nowhere (empty otherwise).
    pub recovery_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionInfo {
    pub staff: Staff,
    pub hall_code: String,
    pub hall_name: String,
    pub idle_minutes: u32,
}

/// First-run form: the hall and its first admin.
/// The first-run form. `Debug` leaves the passwords out (a logged or panicking command must not
/// print them).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct SetupInput {
    pub hall_code: String,
    pub admin_username: String,
    pub admin_name: String,
    pub password: String,
    pub password_repeat: String,
}

impl std::fmt::Debug for SetupInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupInput")
            .field("hall_code", &self.hall_code)
            .field("admin_username", &self.admin_username)
            .field("admin_name", &self.admin_name)
            .finish_non_exhaustive()
    }
}

/// A new account from the admin's form. `Debug` leaves the password out.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct NewStaffInput {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub password: String,
}

impl std::fmt::Debug for NewStaffInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStaffInput")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// A choice in a select: stored value and Chinese label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Choice {
    pub value: String,
    pub label: String,
    /// A sentence the lawyer can read out (legal routes), else empty.
    pub hint: String,
    /// Pinyin initials of the label (劳动和社会保障 → `ldhshbz`): a select finds the choice by
    /// them as well as by the Chinese.
    pub initials: String,
}

fn choice(value: &str, label: &str) -> Choice {
    Choice {
        value: value.to_owned(),
        label: label.to_owned(),
        hint: String::new(),
        initials: xinfang_store::name_keys(label).1,
    }
}

/// The lists the forms choose from, all from xinfang-core's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReferenceLists {
    pub appeal_kinds: Vec<Choice>,
    pub categories: Vec<Choice>,
    pub legal_routes: Vec<Choice>,
    /// Regions of the hall's province, for 问题发生地.
    pub regions: Vec<Choice>,
    pub id_types: Vec<Choice>,
    pub sexes: Vec<Choice>,
    pub dispute_types: Vec<Choice>,
    pub outcomes: Vec<Choice>,
    pub party_roles: Vec<Choice>,
    pub party_kinds: Vec<Choice>,
    pub started_by: Vec<Choice>,
    pub agreement_forms: Vec<Choice>,
    pub fulfilments: Vec<Choice>,
    pub roles: Vec<Choice>,
    pub desks: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RegisterResult {
    pub registered: Registered,
    /// Non-blocking remarks (unknown region prefix …), each at its field.
    pub warnings: Vec<FieldError>,
    /// Why the queue number is this desk's own (`B017`) and not the hall's (Chinese); none
    /// when the hall's server issued it (`crate::hall_queue`).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_note: Option<String>,
}

/// Which number `reveal_visitor_contact` shows in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    IdNumber,
    Phone,
}

/// Filter of the audit view; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct AuditQuery {
    /// Staff id of the person who acted.
    pub staff_id: String,
    /// The record's id (matter, visit, visitor …).
    pub record_id: String,
    /// Inclusive dates `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
}

/// One line of the audit view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub staff_id: String,
    /// Display name and username, or the id when the account is unknown on this desk.
    pub staff_name: String,
    pub action: String,
    pub action_label: String,
    pub entity: String,
    pub entity_label: String,
    pub entity_id: String,
    /// The record's 编号 as screens show it (matters and visits); empty for others, shown by
    /// their label alone.
    pub entity_number: String,
    pub device_id: String,
    pub detail: String,
}

/// At most this many entries per query of the audit view.
pub const AUDIT_VIEW_LIMIT: usize = 500;

fn entity_label(entity: &str) -> String {
    match entity {
        "matter" => "信访事项",
        "visit" => "来访记录",
        "visitor" => "来访人",
        "mediation" => "调解记录",
        "export" => "导出文件",
        "store" => "数据库",
        "staff" => "工作人员",
        "backlog_case" => "信访积案",
        other => other,
    }
    .to_owned()
}

/// Checks that `me` may see a confidential (检举控告) record and writes the audit entry of the
/// view before anything is returned. Nothing to do for a record that is not confidential.
pub(crate) fn open_confidential(
    store: &Store,
    me: &Staff,
    owner: &RecordOwner,
    entity: &str,
    id: &str,
    detail: &str,
) -> CmdResult<()> {
    if !owner.confidential {
        return Ok(());
    }
    check_confidential(me, owner)?;
    store.audit(&me.id, AuditAction::ViewConfidential, entity, id, detail)?;
    Ok(())
}

/// The refusal of a confidential record to someone who may not see it (no audit entry).
pub(crate) fn check_confidential(me: &Staff, owner: &RecordOwner) -> CmdResult<()> {
    if owner.confidential {
        may_view_confidential(&me.id, &me.roles, &owner.registered_by)
            .map_err(CommandError::forbidden)?;
    }
    Ok(())
}

/// A consultation record in full. One of a 检举控告 visit holds what the reporter said: only
/// for whom may see the visit, audited (entity `visit`) before it is returned.
pub fn open_consultation(store: &Store, me: &Staff, id: &str) -> CmdResult<ConsultationRecord> {
    authorize(&me.roles, Action::ViewConsultation).map_err(CommandError::forbidden)?;
    let c = store.consultation(id)?;
    let owner = store.visit_owner(&c.visit_id)?;
    open_confidential(store, me, &owner, "visit", &c.visit_id, "法律咨询记录")?;
    Ok(c)
}

/// A mediation record in full, with the same rule as [`open_consultation`]. The parties' numbers
/// are in it: screens show [`crate::contact::mask_parties`] of it, the printed agreement
/// [`crate::contact::mediation_agreement`].
pub fn open_mediation(store: &Store, me: &Staff, id: &str) -> CmdResult<MediationRecord> {
    authorize(&me.roles, Action::ViewMediation).map_err(CommandError::forbidden)?;
    let m = store.mediation(id)?;
    let owner = store.visit_owner(&m.visit_id)?;
    open_confidential(store, me, &owner, "visit", &m.visit_id, "人民调解记录")?;
    Ok(m)
}

fn desk_action(desk: Desk) -> Action {
    match desk {
        Desk::Lawyer => Action::LawyerDesk,
        Desk::Mediator => Action::MediatorDesk,
    }
}

/// 访调对接: the clerk puts a visit in the lawyer's or the mediator's queue.
pub fn hand_off(
    store: &mut Store,
    me: &Staff,
    visit_id: &str,
    desk: Desk,
    note: &str,
) -> CmdResult<HandoffInfo> {
    authorize(&me.roles, Action::HandOff).map_err(CommandError::forbidden)?;
    Ok(store.hand_off(visit_id, desk, note, &me.id)?)
}

/// A visit's 来访编号 (`沁水-2026-11-05-B017`), for the text that names the visit just handed on
/// (the number reveals nothing of a 检举控告).
pub fn visit_number(store: &Store, me: &Staff, visit_id: &str) -> CmdResult<String> {
    authorize(&me.roles, Action::HandOff).map_err(CommandError::forbidden)?;
    Ok(store.record_number("visit", visit_id)?.unwrap_or_default())
}

/// A desk's open queue, for its lawyer or mediator; a report's visitors masked as in lists.
pub fn desk_queue(store: &Store, me: &Staff, desk: Desk) -> CmdResult<Vec<QueueItem>> {
    authorize(&me.roles, desk_action(desk)).map_err(CommandError::forbidden)?;
    let mut items = store.queue(desk)?;
    for i in items.iter_mut() {
        mask_row(store, me, &mut i.visit)?;
    }
    Ok(items)
}

/// The next visitor of a desk's queue (the one this lawyer or mediator has already taken, else
/// the longest waiting), taken by them; `None` when nobody waits.
pub fn take_next(store: &mut Store, me: &Staff, desk: Desk) -> CmdResult<Option<QueueItem>> {
    authorize(&me.roles, desk_action(desk)).map_err(CommandError::forbidden)?;
    let mut item = store.take_next(desk, &me.id)?;
    if let Some(i) = item.as_mut() {
        mask_row(store, me, &mut i.visit)?;
    }
    Ok(item)
}

/// The queue slip (排队单) of a visit, as printed at registration: the hall, the queue number,
/// when, where to wait (the lawyer's or mediator's room once handed off), the hall's phone and
/// the visit's number for the QR code — nothing personal (issue 17).
pub fn queue_slip(
    store: &Store,
    me: &Staff,
    visit_id: &str,
    today: NaiveDate,
) -> CmdResult<xinfang_print::slip::QueueSlip> {
    authorize(&me.roles, Action::RegisterVisit).map_err(CommandError::forbidden)?;
    let detail = store.visit_detail(visit_id)?;
    let (_, hall_name) =
        xinfang_core::notice::hall_names(store.hall_code(), store.reference_data().regions);
    let waiting = detail
        .handoffs
        .iter()
        .find(|h| h.state == xinfang_core::desk::HandoffState::Waiting);
    let wait_at = match waiting.map(|h| h.desk) {
        Some(Desk::Lawyer) => "请到律师咨询室外等候叫号。",
        Some(Desk::Mediator) => "请到人民调解室外等候叫号。",
        None => "请在等候区就座，听到叫号后到登记窗口。",
    };
    let at = &detail.visit.visited_at;
    let visited_at_zh = DateTime::parse_from_rfc3339(at)
        .map(|t| t.format("%Y年%-m月%-d日 %H:%M").to_string())
        .unwrap_or_else(|_| at.clone());
    Ok(xinfang_print::slip::QueueSlip {
        hall_name,
        queue_no: detail.visit.queue_label.clone(),
        visited_at_zh,
        wait_at: wait_at.to_owned(),
        phone: store
            .hall_setting(xinfang_store::HALL_PHONE)?
            .unwrap_or_default(),
        // 来访编号, never the visit's id (issue 20).
        visit_ref: detail.visit.number.clone(),
        date: today,
    })
}

/// What lists show instead of a reporter's name to whom may not see the report.
pub const REPORTER_MASK: &str = "（检举人，已隐去）";

/// Lists never show the appeal of a confidential visit (open the visit: checked and audited),
/// and show who reported, and about which agency and place, only to whom may see the record
/// (the registering clerk, supervisors, admins).
pub(crate) fn mask_row(store: &Store, me: &Staff, row: &mut VisitRow) -> CmdResult<()> {
    if !row.confidential {
        return Ok(());
    }
    row.appeal = CONFIDENTIAL_MASK.to_owned();
    if check_confidential(me, &store.visit_owner(&row.visit_id)?).is_err() {
        for v in row.visitors.iter_mut() {
            REPORTER_MASK.clone_into(&mut v.name);
            v.id_number_masked.clear();
        }
        row.agency = None;
        row.place_name = None;
    }
    Ok(())
}

struct Session {
    staff: Staff,
    last_active: DateTime<Utc>,
    /// Export files this session wrote: `open_export` opens only these.
    written: Vec<PathBuf>,
}

#[derive(Default)]
struct Inner {
    store: Option<Store>,
    session: Option<Session>,
}

/// Everything the commands share. One store connection, one logged-in staff member.
pub struct AppState {
    data_dir: PathBuf,
    idle: Duration,
    idle_minutes: u32,
    inner: Mutex<Inner>,
    /// Today's date, the idle lock and every time stamp the use cases write come from here.
    clock: Arc<dyn Clock>,
    /// Shared with the background sync task.
    pub sync: Arc<Mutex<SyncStatus>>,
    /// Wakes the background sync task (after a login, after a registered visit).
    pub sync_wake: Arc<tokio::sync::Notify>,
    /// Set when the UI first asks for app info: start-up probe for the benchmark script.
    started: Instant,
    probe: bool,
    probed: Mutex<bool>,
}

fn hall_name(code: &str) -> String {
    ReferenceData::bundled()
        .regions
        .name(code)
        .unwrap_or_else(|| code.to_owned())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn new(data_dir: PathBuf, idle_minutes: u32) -> Self {
        Self::with_clock(data_dir, idle_minutes, Arc::new(SystemClock))
    }

    /// An app state reading `clock` (tests set the time instead of waiting).
    pub fn with_clock(data_dir: PathBuf, idle_minutes: u32, clock: Arc<dyn Clock>) -> Self {
        // A crash or a power cut may have left a file written for printing.
        crate::matters::clear_printed(&data_dir);
        AppState {
            data_dir,
            idle: Duration::minutes(i64::from(idle_minutes)),
            idle_minutes,
            inner: Mutex::new(Inner::default()),
            clock,
            sync: Arc::new(Mutex::new(SyncStatus::default())),
            sync_wake: Arc::new(tokio::sync::Notify::new()),
            started: Instant::now(),
            probe: std::env::var_os("XINFANG_STARTUP_PROBE").is_some(),
            probed: Mutex::new(false),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Now, China Standard Time.
    pub fn now_cst(&self) -> DateTime<FixedOffset> {
        self.clock.now_cst()
    }

    /// Today's date, China Standard Time.
    pub fn local_date(&self) -> NaiveDate {
        self.clock.today()
    }

    fn idle_expired(&self, session: &Session) -> bool {
        self.clock.now() - session.last_active > self.idle
    }

    /// Runs `f` for the logged-in staff member if the command's access allows it; the call
    /// counts as activity that keeps the session alive.
    pub(crate) fn guarded<T>(
        &self,
        access: Access,
        f: impl FnOnce(&mut Store, &Staff) -> CmdResult<T>,
    ) -> CmdResult<T> {
        self.guarded_as(access, true, f)
    }

    /// [`Self::guarded`]; `activity` false for the status bar's polls, which run by themselves
    /// while the window is open and so must not keep an unattended session unlocked.
    fn guarded_as<T>(
        &self,
        access: Access,
        activity: bool,
        f: impl FnOnce(&mut Store, &Staff) -> CmdResult<T>,
    ) -> CmdResult<T> {
        let mut inner = lock(&self.inner);
        let Some(session) = inner.session.as_mut() else {
            return Err(CommandError::unauthenticated("not_logged_in", "请先登录。"));
        };
        if self.idle_expired(session) {
            inner.session = None;
            inner.store = None;
            crate::matters::clear_printed(&self.data_dir);
            tracing::info!("session ended after idle timeout");
            return Err(CommandError::unauthenticated(
                "session_expired",
                &format!(
                    "已超过 {} 分钟未操作，为保护来访人信息已自动退出，请重新登录。",
                    self.idle_minutes
                ),
            ));
        }
        if activity {
            session.last_active = self.clock.now();
        }
        if let Access::Action(action) = access {
            authorize(&session.staff.roles, action).map_err(CommandError::forbidden)?;
        }
        let staff = session.staff.clone();
        let store = inner
            .store
            .as_mut()
            .ok_or_else(|| CommandError::unauthenticated("not_logged_in", "请先登录。"))?;
        // A command that wrote a synced change (a hand-off, a taken visitor, a consultation…)
        // is pushed at once, so the hall's other desks hear of it now (docs/sync.md "Live
        // notifications"); reads and audit entries alone do not wake the sync.
        let before = xinfang_sync::DeskReplica::last_local_seq(store).ok();
        let result = f(store, &staff);
        if result.is_ok() && xinfang_sync::DeskReplica::last_local_seq(store).ok() > before {
            self.sync_wake.notify_one();
        }
        result
    }

    /// Notes that this session wrote the export at `path` (so that it may open it).
    pub(crate) fn remember_written(&self, path: &Path) {
        if let Some(s) = lock(&self.inner).session.as_mut() {
            s.written.push(path.to_path_buf());
        }
    }

    /// Whether this session wrote the export at `path`.
    pub(crate) fn session_wrote(&self, path: &Path) -> bool {
        lock(&self.inner)
            .session
            .as_ref()
            .is_some_and(|s| s.written.iter().any(|w| w == path))
    }

    pub(crate) fn act<T>(
        &self,
        action: Action,
        f: impl FnOnce(&mut Store, &Staff) -> CmdResult<T>,
    ) -> CmdResult<T> {
        self.guarded(Access::Action(action), f)
    }

    // ---- public -------------------------------------------------------------------------

    pub fn app_info(&self) -> AppInfo {
        if self.probe {
            let mut probed = lock(&self.probed);
            if !*probed {
                *probed = true;
                eprintln!(
                    "xinfang-desk: ui ready {} ms after start",
                    self.started.elapsed().as_millis()
                );
            }
        }
        AppInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            data_dir: self.data_dir.display().to_string(),
            initialised: Store::exists(&self.data_dir),
            idle_minutes: self.idle_minutes,
            recovery_key: String::new(),
        }
    }

    /// First run: creates the store with its hall and first admin.
    pub fn setup(&self, input: SetupInput) -> CmdResult<AppInfo> {
        if Store::exists(&self.data_dir) {
            return Err(CommandError::new(
                ErrorKind::Setup,
                "already_initialised",
                "本机已建立接待台数据库，请直接登录。",
            ));
        }
        let mut errors = xinfang_core::ValidationErrors::default();
        let hall = check_hall_code(&input.hall_code, ReferenceData::bundled().regions)
            .map_err(|e| errors.push(e))
            .ok();
        if let Err(e) = check_password_repeat(&input.password, &input.password_repeat) {
            errors.push(e);
        }
        let admin = NewStaff {
            username: input.admin_username.clone(),
            display_name: input.admin_name.clone(),
            roles: vec![Role::Admin],
            password: input.password.clone(),
        };
        // Report the account's problems together with the hall's.
        if let Err(e) = admin.check() {
            for f in e.0 {
                errors.push(f);
            }
        }
        let Some(hall) = hall.filter(|_| errors.is_empty()) else {
            return Err(errors.into());
        };
        let (store, recovery) =
            Store::create_with_admin_at(&self.data_dir, &hall, &admin, self.clock.clone())?;
        tracing::info!(hall = %hall, "encrypted store created at first run");
        drop(store);
        Ok(AppInfo {
            recovery_key: recovery.as_str().to_owned(),
            ..self.app_info()
        })
    }

    pub fn login(&self, username: &str, password: &str) -> CmdResult<SessionInfo> {
        let mut inner = lock(&self.inner);
        // A new login closes the previous session's connection (and wipes its key) first,
        // and removes what the previous session wrote out for printing.
        inner.session = None;
        inner.store = None;
        crate::matters::clear_printed(&self.data_dir);
        // The account's key slot unlocks the data key; a legacy plaintext store is checked
        // against the password hash.
        let (store, staff) = if Store::is_encrypted_dir(&self.data_dir) {
            Store::login_at(&self.data_dir, username, password, self.clock.clone())?
        } else {
            let store = Store::open_unencrypted(&self.data_dir)?.with_clock(self.clock.clone());
            let staff = store.authenticate(username, password)?;
            (store, staff)
        };
        let store = inner.store.insert(store);
        let hall_code = store.hall_code().to_owned();
        tracing::info!(staff_id = %staff.id, "logged in");
        inner.session = Some(Session {
            staff: staff.clone(),
            last_active: self.clock.now(),
            written: Vec::new(),
        });
        self.sync_wake.notify_one();
        Ok(SessionInfo {
            staff,
            hall_name: hall_name(&hall_code),
            hall_code,
            idle_minutes: self.idle_minutes,
        })
    }

    /// Ends the session and closes the store (nothing stays unlocked without a login).
    pub fn logout(&self) {
        let mut inner = lock(&self.inner);
        inner.session = None;
        inner.store = None;
        crate::matters::clear_printed(&self.data_dir);
    }

    /// The current session, if it is still alive (also counts as activity).
    pub fn session(&self) -> CmdResult<Option<SessionInfo>> {
        match self.guarded(Access::LoggedIn, |store, me| {
            Ok(SessionInfo {
                staff: me.clone(),
                hall_code: store.hall_code().to_owned(),
                hall_name: hall_name(store.hall_code()),
                idle_minutes: self.idle_minutes,
            })
        }) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.code == "not_logged_in" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// 忘记密码: the recovery key of the store sets a new password for an account (audited);
    /// the staff member then logs in with it.
    pub fn recover_password(&self, input: crate::account::RecoveryInput) -> CmdResult<()> {
        crate::account::recover_password(&self.data_dir, self.clock.clone(), &input)
    }

    // ---- any logged-in staff ------------------------------------------------------------

    /// 修改密码: the logged-in staff member's own password.
    pub fn change_password(&self, form: crate::account::PasswordChange) -> CmdResult<()> {
        self.guarded(Access::LoggedIn, |store, me| {
            crate::account::change_own_password(store, me, &form)
        })
    }

    pub fn reference(&self) -> CmdResult<ReferenceLists> {
        self.guarded(Access::LoggedIn, |store, _| {
            // The lists the store checks submissions against: the city's where it sent them.
            let r = &store.reference_data();
            let province = &store.hall_code()[..2.min(store.hall_code().len())];
            Ok(ReferenceLists {
                appeal_kinds: AppealKind::ALL
                    .iter()
                    .map(|k| choice(k.code(), k.label_zh()))
                    .collect(),
                categories: r
                    .categories
                    .iter()
                    .filter(|c| !c.retired)
                    .map(|c| choice(&c.code, &c.name))
                    .collect(),
                legal_routes: r
                    .legal_routes
                    .iter()
                    .filter(|l| !l.retired)
                    .map(|l| Choice {
                        hint: l.description.clone(),
                        ..choice(&l.code, &l.name)
                    })
                    .collect(),
                regions: r
                    .regions
                    .codes()
                    .filter(|c| c.starts_with(province))
                    .filter_map(|c| {
                        let name = r.regions.name(c)?;
                        (!name.ends_with("市辖区")).then(|| choice(c, &format!("{name}（{c}）")))
                    })
                    .collect(),
                id_types: IdType::ALL
                    .iter()
                    .map(|t| choice(t.code(), t.label_zh()))
                    .collect(),
                sexes: xinfang_core::desk::sexes()
                    .iter()
                    .map(|(c, l)| choice(c, l))
                    .collect(),
                dispute_types: DISPUTE_TYPES.iter().map(|(c, n)| choice(c, n)).collect(),
                outcomes: MediationOutcome::ALL
                    .iter()
                    .map(|o| choice(o.code(), o.label_zh()))
                    .collect(),
                party_roles: PartyRole::ALL
                    .iter()
                    .map(|p| choice(p.code(), p.label_zh()))
                    .collect(),
                party_kinds: PartyKind::ALL
                    .iter()
                    .map(|p| choice(p.code(), p.label_zh()))
                    .collect(),
                started_by: StartedBy::ALL
                    .iter()
                    .map(|p| choice(p.code(), p.label_zh()))
                    .collect(),
                agreement_forms: AgreementForm::ALL
                    .iter()
                    .map(|p| choice(p.code(), p.label_zh()))
                    .collect(),
                fulfilments: Fulfilment::ALL
                    .iter()
                    .map(|p| choice(p.code(), p.label_zh()))
                    .collect(),
                roles: Role::ALL
                    .iter()
                    .map(|r| choice(r.code(), r.label_zh()))
                    .collect(),
                desks: Desk::ALL
                    .iter()
                    .map(|d| choice(d.code(), d.label_zh()))
                    .collect(),
            })
        })
    }

    pub fn sync_status(&self) -> CmdResult<SyncStatus> {
        // A poll every few seconds: not activity (docs/security.md, idle lock).
        self.guarded_as(Access::LoggedIn, false, |_, _| Ok(lock(&self.sync).clone()))
    }

    // ---- drafts: one's own unsubmitted forms, in the encrypted store, never synced ---------
    // The staff id is the session's: nobody reads or replaces a colleague's draft.

    /// Saves the logged-in staff member's draft of `form`; returns when it was saved.
    pub fn draft_save(&self, form: &str, json: &str) -> CmdResult<String> {
        self.guarded(Access::LoggedIn, |store, me| {
            Ok(store.save_draft(&me.id, form, json)?.updated_at)
        })
    }

    /// The logged-in staff member's draft of `form`, if any.
    pub fn draft_load(&self, form: &str) -> CmdResult<Option<Draft>> {
        self.guarded(Access::LoggedIn, |store, me| {
            Ok(store.load_draft(&me.id, form)?)
        })
    }

    /// Forgets the logged-in staff member's draft of `form` (submitted or cleared).
    pub fn draft_discard(&self, form: &str) -> CmdResult<bool> {
        self.guarded(Access::LoggedIn, |store, me| {
            Ok(store.discard_draft(&me.id, form)?)
        })
    }

    // ---- backup and restore ---------------------------------------------------------------

    pub fn backup_store(&self, dest: &str) -> CmdResult<crate::backup::BackupDone> {
        self.act(Action::Backup, |store, me| {
            crate::backup::backup(store, me, dest)
        })
    }

    /// 该备份了, for the supervisor's screen.
    pub fn backup_reminder(&self) -> CmdResult<Option<crate::backup::BackupReminder>> {
        self.guarded(Access::LoggedIn, |store, me| {
            crate::backup::backup_reminder(store, me)
        })
    }

    /// Replaces this desk's store by a backup, checked first with the logged-in account's
    /// password as the backup knows it. On success the session ends (the restored store is
    /// another state: log in again); on any refusal the store and the session stay as they were.
    pub fn restore_store(
        &self,
        backup: &str,
        password: &str,
    ) -> CmdResult<crate::backup::RestoreDone> {
        let username = self.act(Action::Backup, |_, me| Ok(me.username.clone()))?;
        let mut inner = lock(&self.inner);
        // The open connection may stay open while the files move (same inode); it is closed
        // right after, so nothing is written to the replaced store once it is aside.
        let (restored, outcome) = crate::backup::restore(
            &self.data_dir,
            backup,
            &xinfang_store::Credentials::password(&username, password),
            self.clock.clone(),
        )?;
        drop(restored);
        inner.session = None;
        inner.store = None;
        tracing::warn!("store restored from a backup in the app; session ended");
        self.sync_wake.notify_one();
        Ok(crate::backup::RestoreDone {
            hall_code: outcome.hall_code,
            last_seq: outcome.last_seq,
            kept_replaced: outcome.replaced.is_some(),
        })
    }

    /// A second connection to the store for the background sync task, while a staff member
    /// is logged in and the session is alive; `None` otherwise (nothing is opened without a
    /// login).
    pub fn sync_store(&self) -> Option<CmdResult<Store>> {
        let inner = lock(&self.inner);
        let session = inner.session.as_ref()?;
        let store = inner.store.as_ref()?;
        if self.idle_expired(session) {
            return None;
        }
        // The session's data key opens the second connection; it is dropped with it.
        let opened = match store.data_key() {
            Some(key) => Store::open_with_key(&self.data_dir, &key),
            None => Store::open_unencrypted(&self.data_dir),
        };
        Some(
            opened
                .map(|s| s.with_clock(self.clock.clone()))
                .map_err(Into::into),
        )
    }

    // ---- registration -------------------------------------------------------------------

    pub fn check_id(
        &self,
        id_type: &str,
        number: &str,
        sex: &str,
        birth_date: &str,
    ) -> CmdResult<IdCheck> {
        self.act(Action::CheckDocument, |_, _| {
            Ok(check_id_live(
                id_type,
                number,
                sex,
                birth_date,
                self.local_date(),
                ReferenceData::bundled().regions,
            ))
        })
    }

    pub fn history(&self, query: &str) -> CmdResult<Vec<HistoryEntry>> {
        self.act(Action::SearchVisitors, |store, me| {
            let mut entries = store.history(query, 10)?;
            for e in entries.iter_mut() {
                // By the visit's kind and its matter's: the store decides with the core's rule.
                for v in e.visits.iter_mut().filter(|v| v.confidential) {
                    v.appeal = CONFIDENTIAL_MASK.to_owned();
                }
                crate::contact::mask_hit(store, me, &mut e.hit)?;
            }
            Ok(entries)
        })
    }

    pub fn register_visit(&self, input: VisitInput) -> CmdResult<RegisterResult> {
        let number = self.ask_queue_number(&input)?;
        self.act(Action::RegisterVisit, |store, me| {
            let valid = validate_visit(&input, &store.reference_data(), self.now_cst())?;
            let result = register(store, me, &valid, None, number)?;
            // Push the new visit to the city now rather than at the next round.
            self.sync_wake.notify_one();
            Ok(result)
        })
    }

    /// The hall's next queue number for a valid form (an invalid one takes none), asked of the
    /// server before the store's transaction and without holding the store.
    fn ask_queue_number(&self, input: &VisitInput) -> CmdResult<Result<String, SyncError>> {
        let (client, day) = self.act(Action::RegisterVisit, |store, _| {
            let valid = validate_visit(input, &store.reference_data(), self.now_cst())?;
            Ok((xinfang_sync::client::hall_client(store), visit_day(&valid)))
        })?;
        Ok(crate::hall_queue::ask_number(client, day))
    }

    /// A person's matters, to attach the visit being registered to one (重复访).
    /// A returning visitor chosen in the history panel: their fields for the form, the number
    /// and phone in full (audited as a view of the full number).
    pub fn returning_visitor(&self, visitor_id: &str) -> CmdResult<VisitorInput> {
        self.act(Action::RegisterVisit, |store, me| {
            let profile = store.visitor_profile(visitor_id)?;
            // A reporter's number identifies the reporter (as reveal_visitor_contact).
            for v in &profile.visits {
                if v.confidential {
                    check_confidential(me, &store.visit_owner(&v.visit_id)?)?;
                }
            }
            let contact = store.visitor_contact(visitor_id)?;
            store.audit(
                &me.id,
                AuditAction::ViewFullId,
                "visitor",
                visitor_id,
                "重复来访登记带出",
            )?;
            Ok(VisitorInput {
                name: profile.name,
                id_type: contact.id_type,
                id_number: contact.id_number,
                phone: contact.phone.unwrap_or_default(),
                address: profile.address.unwrap_or_default(),
                sex: profile.sex.unwrap_or_default(),
                birth_date: profile.birth_date.unwrap_or_default(),
                ..Default::default()
            })
        })
    }

    pub fn person_matters(&self, id_number: &str) -> CmdResult<Vec<xinfang_store::PersonMatter>> {
        self.act(Action::RegisterVisit, |store, me| {
            crate::matters::person_matters(store, me, id_number)
        })
    }

    /// Registers a visit that joins the earlier matter `matter_id` (重复访); under 不再受理 the
    /// visit is recorded and the answer carries the refusal for the visitor.
    pub fn register_repeat_visit(
        &self,
        input: VisitInput,
        matter_id: &str,
    ) -> CmdResult<RegisterResult> {
        let number = self.ask_queue_number(&input)?;
        self.act(Action::RegisterVisit, |store, me| {
            let valid = validate_visit(&input, &store.reference_data(), self.now_cst())?;
            let result = register(store, me, &valid, Some(matter_id), number)?;
            self.sync_wake.notify_one();
            Ok(result)
        })
    }

    // ---- today and hand-off -------------------------------------------------------------

    pub fn today(&self) -> CmdResult<Vec<VisitRow>> {
        self.act(Action::ViewToday, |store, me| {
            let mut rows = store.visits_on(&self.local_date().to_string())?;
            for row in rows.iter_mut() {
                mask_row(store, me, row)?;
            }
            Ok(rows)
        })
    }

    /// One visit in full; a confidential one only for its clerk, supervisors and admins, and
    /// audited before it is returned.
    pub fn visit_detail(&self, visit_id: &str) -> CmdResult<VisitDetail> {
        self.act(Action::ViewVisit, |store, me| {
            let owner = store.visit_owner(visit_id)?;
            open_confidential(store, me, &owner, "visit", visit_id, "来访详情")?;
            let mut detail = store.visit_detail(visit_id)?;
            detail
                .mediations
                .iter_mut()
                .for_each(crate::contact::mask_parties);
            Ok(detail)
        })
    }

    pub fn hand_off(&self, visit_id: &str, desk: Desk, note: &str) -> CmdResult<HandoffInfo> {
        self.act(Action::HandOff, |store, me| {
            hand_off(store, me, visit_id, desk, note)
        })
    }

    pub fn close_visit(&self, visit_id: &str) -> CmdResult<VisitRow> {
        self.act(Action::HandOff, |store, me| {
            Ok(store.close_visit(visit_id, &me.id)?)
        })
    }

    // ---- desks --------------------------------------------------------------------------

    pub fn queue(&self, desk: Desk) -> CmdResult<Vec<QueueItem>> {
        self.act(desk_action(desk), |store, me| desk_queue(store, me, desk))
    }

    pub fn take_next(&self, desk: Desk) -> CmdResult<Option<QueueItem>> {
        self.act(desk_action(desk), |store, me| take_next(store, me, desk))
    }

    pub fn log_consultation(&self, input: ConsultationInput) -> CmdResult<ConsultationRecord> {
        self.act(Action::LogConsultation, |store, me| {
            let valid = validate_consultation(&input, &store.reference_data())?;
            let id = store.add_consultation(&valid, &me.id)?;
            Ok(store.consultation(&id)?)
        })
    }

    pub fn hand_on_to_mediator(&self, visit_id: &str, note: &str) -> CmdResult<HandoffInfo> {
        self.act(Action::HandOnToMediator, |store, me| {
            Ok(store.hand_on_to_mediator(visit_id, &me.id, note)?)
        })
    }

    pub fn consultation(&self, id: &str) -> CmdResult<ConsultationRecord> {
        self.act(Action::ViewConsultation, |store, me| {
            open_consultation(store, me, id)
        })
    }

    pub fn log_mediation(&self, input: MediationInput) -> CmdResult<MediationRecord> {
        self.act(Action::LogMediation, |store, me| {
            let valid = validate_mediation(&input, &store.reference_data(), self.local_date())?;
            let id = store.add_mediation(&valid, &me.id)?;
            let mut m = store.mediation(&id)?;
            crate::contact::mask_parties(&mut m);
            Ok(m)
        })
    }

    /// The pending mediations (调解中) this mediator recorded: the disputes still being
    /// mediated, to continue (parties' numbers masked).
    pub fn pending_mediations(&self) -> CmdResult<Vec<MediationRecord>> {
        self.act(Action::LogMediation, |store, me| {
            let mut list = Vec::new();
            for m in store.pending_mediations(&me.id)? {
                let mut m = open_mediation(store, me, &m.id)?;
                crate::contact::mask_parties(&mut m);
                list.push(m);
            }
            Ok(list)
        })
    }

    /// Continues a pending mediation: the sessions held since and, once known, the outcome.
    pub fn continue_mediation(&self, input: ContinueMediationInput) -> CmdResult<MediationRecord> {
        self.act(Action::LogMediation, |store, me| {
            let m = open_mediation(store, me, &input.mediation_id)?;
            let days: Vec<NaiveDate> = m
                .sessions
                .iter()
                .filter_map(|s| s.held_on.parse().ok())
                .collect();
            let (sessions, conclusion) =
                validate_continuation(&input, m.outcome, &days, m.applied_on, self.local_date())?;
            store.continue_mediation(&m.id, &sessions, &conclusion)?;
            let mut m = store.mediation(&m.id)?;
            crate::contact::mask_parties(&mut m);
            Ok(m)
        })
    }

    /// Records the court's answer to 司法确认 of an agreement (once).
    pub fn record_confirmation_result(
        &self,
        mediation_id: &str,
        result: &str,
    ) -> CmdResult<MediationRecord> {
        self.act(Action::LogMediation, |store, me| {
            let m = open_mediation(store, me, mediation_id)?;
            let result = check_confirmation_answer(
                m.outcome,
                m.judicial_confirmation,
                m.confirmation_result,
                result,
            )?;
            store.record_confirmation_result(&m.id, result)?;
            let mut m = store.mediation(&m.id)?;
            crate::contact::mask_parties(&mut m);
            Ok(m)
        })
    }

    /// Adds a 调查 of a mediation (pending or concluded): the 调查记录's facts.
    pub fn add_mediation_investigation(
        &self,
        mediation_id: &str,
        input: InvestigationInput,
    ) -> CmdResult<MediationRecord> {
        self.act(Action::LogMediation, |store, me| {
            let m = open_mediation(store, me, mediation_id)?;
            let began_on = m
                .applied_on
                .or_else(|| m.created_at.get(..10).and_then(|d| d.parse().ok()));
            let valid = validate_investigation(&input, began_on, self.local_date())?;
            store.add_mediation_investigation(&m.id, &valid, &me.id)?;
            let mut m = store.mediation(&m.id)?;
            crate::contact::mask_parties(&mut m);
            Ok(m)
        })
    }

    /// Adds a 回访 of an agreement: how far it has been performed.
    pub fn add_mediation_follow_up(
        &self,
        mediation_id: &str,
        input: FollowUpInput,
    ) -> CmdResult<MediationRecord> {
        self.act(Action::LogMediation, |store, me| {
            let m = open_mediation(store, me, mediation_id)?;
            let valid = validate_follow_up(
                &input,
                m.outcome,
                m.agreement_effective_on,
                self.local_date(),
            )?;
            store.add_mediation_follow_up(&m.id, &valid, &me.id)?;
            let mut m = store.mediation(&m.id)?;
            crate::contact::mask_parties(&mut m);
            Ok(m)
        })
    }

    /// A mediation record as the screens show it: the parties' numbers masked.
    pub fn mediation(&self, id: &str) -> CmdResult<MediationRecord> {
        self.act(Action::ViewMediation, |store, me| {
            let mut m = open_mediation(store, me, id)?;
            crate::contact::mask_parties(&mut m);
            Ok(m)
        })
    }

    /// The record to print its agreement from, with the parties' full numbers (audited).
    pub fn mediation_agreement(&self, id: &str) -> CmdResult<MediationRecord> {
        self.act(Action::PrintMediationAgreement, |store, me| {
            crate::contact::mediation_agreement(store, me, id)
        })
    }

    /// The hall's names (its 人民调解委员会), for every logged-in desk.
    pub fn hall_settings(&self) -> CmdResult<crate::contact::HallSettings> {
        self.guarded(Access::LoggedIn, |store, _| {
            crate::contact::hall_settings(store)
        })
    }

    pub fn set_committee_name(&self, name: &str) -> CmdResult<crate::contact::HallSettings> {
        self.act(Action::ConfigureHall, |store, me| {
            crate::contact::set_committee_name(store, me, name)
        })
    }

    // ---- this desk's reader, the account's display mode (desk_settings.rs) ------------------

    pub fn my_settings(&self) -> CmdResult<crate::desk_settings::MySettings> {
        self.guarded(Access::LoggedIn, |store, me| {
            crate::desk_settings::my_settings(store, me)
        })
    }

    pub fn set_display_mode(&self, mode: &str) -> CmdResult<crate::desk_settings::MySettings> {
        self.guarded(Access::LoggedIn, |store, me| {
            crate::desk_settings::set_display_mode(store, me, mode)
        })
    }

    pub fn set_id_reader(
        &self,
        settings: &crate::desk_settings::ReaderSettings,
    ) -> CmdResult<crate::desk_settings::MySettings> {
        self.act(Action::ConfigureDesk, |store, me| {
            crate::desk_settings::set_id_reader(store, me, settings)
        })
    }

    /// A test read on the reader of the settings form, saved or not. The role is checked
    /// first; the read itself holds no lock.
    pub fn test_id_reader(
        &self,
        settings: &crate::desk_settings::ReaderSettings,
    ) -> CmdResult<crate::desk_settings::CardFill> {
        self.act(Action::ConfigureDesk, |_, _| Ok(()))?;
        crate::desk_settings::read_card(settings, self.local_date())
    }

    /// Reads the card on this desk's reader, for the registration form.
    pub fn read_id_card(&self) -> CmdResult<crate::desk_settings::CardFill> {
        let settings = self.act(Action::CheckDocument, |store, _| {
            crate::desk_settings::reader_settings(store)
        })?;
        crate::desk_settings::read_card(&settings, self.local_date())
    }

    /// A mediation party's ID number or phone in full (audited).
    pub fn reveal_party_contact(
        &self,
        mediation_id: &str,
        party: u32,
        field: ContactField,
    ) -> CmdResult<String> {
        self.act(Action::ViewFullContact, |store, me| {
            crate::contact::reveal_party_contact(store, me, mediation_id, party, field)
        })
    }

    /// A visitor's whole record. Confidential visits are listed masked, with the consultations
    /// and mediations of them: opening the visit shows them to whom may see them (audited).
    pub fn visitor_profile(&self, visitor_id: &str) -> CmdResult<VisitorProfile> {
        self.act(Action::ViewVisitorDetail, |store, me| {
            let mut p = store.visitor_profile(visitor_id)?;
            // A reporter is nobody in particular to whom may not see each of their reports.
            if crate::contact::reporter_hidden(store, me, &p.visitor_id)? {
                REPORTER_MASK.clone_into(&mut p.name);
                p.id_number_masked.clear();
                p.phone_masked = None;
                p.sex = None;
                p.birth_date = None;
                p.address = None;
                let ids = [p.visitor_id.as_str(), visitor_id];
                for v in p.visits.iter_mut() {
                    crate::contact::hide_in_row(v, &ids);
                }
            }
            if !crate::contact::may_see_full_contact(me) {
                p.birth_date = None;
            }
            let secret: Vec<String> = p
                .visits
                .iter()
                .filter(|v| v.confidential)
                .map(|v| v.visit_id.clone())
                .collect();
            for v in p.visits.iter_mut() {
                mask_row(store, me, v)?;
            }
            for c in p.consultations.iter_mut() {
                if secret.contains(&c.visit_id) {
                    c.question = CONFIDENTIAL_MASK.to_owned();
                    c.facts.clear();
                    c.advice.clear();
                    c.follow_up_note.clear();
                }
            }
            for m in p.mediations.iter_mut() {
                // The profile is a page of lists: the parties' numbers stay masked too.
                crate::contact::mask_parties(m);
                if secret.contains(&m.visit_id) {
                    m.agreement_text = CONFIDENTIAL_MASK.to_owned();
                    m.sessions.clear();
                }
            }
            Ok(p)
        })
    }

    /// Shows a visitor's ID number or phone in full: an explicit action, audited before the
    /// number is returned (lists and the profile stay masked).
    pub fn reveal_visitor_contact(
        &self,
        visitor_id: &str,
        field: ContactField,
    ) -> CmdResult<String> {
        self.act(Action::ViewFullContact, |store, me| {
            // A reporter's number identifies the reporter: only for whom may see each of
            // their 检举控告 visits (refused before anything is read or audited).
            for v in store.visitor_profile(visitor_id)?.visits {
                if v.confidential {
                    check_confidential(me, &store.visit_owner(&v.visit_id)?)?;
                }
            }
            let contact = store.visitor_contact(visitor_id)?;
            let (action, value) = match field {
                ContactField::IdNumber => (AuditAction::ViewFullId, Some(contact.id_number)),
                ContactField::Phone => (AuditAction::ViewFullPhone, contact.phone),
            };
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                return Err(CommandError::new(
                    ErrorKind::NotFound,
                    "not_found",
                    "该来访人没有登记电话号码，无需显示。如需补充，请在下次来访登记时填写。",
                ));
            };
            store.audit(&me.id, action, "visitor", visitor_id, "")?;
            Ok(value)
        })
    }

    /// The audit log, newest first (at most [`AUDIT_VIEW_LIMIT`] entries).
    pub fn audit_entries(&self, query: AuditQuery) -> CmdResult<Vec<AuditRow>> {
        self.act(Action::Verify, |store, _| {
            let mut errors = xinfang_core::ValidationErrors::default();
            let mut date = |field: &str, label: &str, raw: &str| -> Option<String> {
                let v = raw.trim();
                if v.is_empty() {
                    return None;
                }
                if let Err(e) = parse_date_field(field, label, v) {
                    errors.push(e);
                    return None;
                }
                Some(v.to_owned())
            };
            let from = date("from", "开始日期", &query.from);
            let to = date("to", "结束日期", &query.to);
            if let (Some(f), Some(t)) = (&from, &to)
                && f > t
            {
                errors.push(FieldError::new(
                    "to",
                    "date_order",
                    "结束日期早于开始日期，请重新选择日期范围。",
                ));
            }
            if !errors.is_empty() {
                return Err(errors.into());
            }
            let blank = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
            // A 事项编号 or 来访编号 finds its record; anything else is taken as an id.
            let record = match blank(&query.record_id) {
                Some(typed) => Some(match store.find_matter(&typed)? {
                    Some(id) => id,
                    None => store.find_visit(&typed)?.unwrap_or(typed),
                }),
                None => None,
            };
            let entries = store.audit_entries(&AuditFilter {
                staff_id: blank(&query.staff_id),
                entity_id: record,
                from,
                to,
                limit: Some(AUDIT_VIEW_LIMIT),
            })?;
            let staff = store.list_staff()?;
            entries
                .into_iter()
                .map(|e| {
                    let number = store
                        .record_number(&e.entity, &e.entity_id)?
                        .unwrap_or_default();
                    Ok(audit_row(e, &staff, number))
                })
                .collect()
        })
    }

    // ---- staff admin --------------------------------------------------------------------

    pub fn list_staff(&self) -> CmdResult<Vec<Staff>> {
        self.act(Action::ListStaff, |store, _| Ok(store.list_staff()?))
    }

    pub fn add_staff(&self, input: NewStaffInput) -> CmdResult<Staff> {
        self.act(Action::ManageStaff, |store, _| {
            Ok(store.add_staff(&NewStaff {
                username: input.username,
                display_name: input.display_name,
                roles: input.roles,
                password: input.password,
            })?)
        })
    }

    pub fn set_staff_active(&self, staff_id: &str, active: bool) -> CmdResult<Staff> {
        self.act(Action::ManageStaff, |store, _| {
            Ok(store.set_staff_active(staff_id, active)?)
        })
    }

    pub fn reset_password(&self, staff_id: &str, password: &str) -> CmdResult<()> {
        self.act(Action::ManageStaff, |store, _| {
            Ok(store.reset_password(staff_id, password)?)
        })
    }

    pub fn set_staff_roles(&self, staff_id: &str, roles: &[Role]) -> CmdResult<Staff> {
        self.act(Action::ManageStaff, |store, _| {
            Ok(store.set_staff_roles(staff_id, roles)?)
        })
    }
}

fn audit_row(e: AuditEntry, staff: &[Staff], entity_number: String) -> AuditRow {
    let name_of = |id: &str| {
        staff
            .iter()
            .find(|s| s.id == id)
            .map(|s| format!("{}（{}）", s.display_name, s.username))
    };
    let staff_name = name_of(&e.staff_id).unwrap_or_else(|| e.staff_id.clone());
    // A staff record is shown by the person's name, as the actor is.
    let entity_number = match (e.entity.as_str(), entity_number.is_empty()) {
        ("staff", true) => name_of(&e.entity_id).unwrap_or_default(),
        _ => entity_number,
    };
    let action_label = AuditAction::ALL
        .iter()
        .find(|a| a.code() == e.action)
        .map_or_else(|| e.action.clone(), |a| a.label_zh().to_owned());
    AuditRow {
        seq: e.seq,
        at: e.at,
        staff_id: e.staff_id,
        staff_name,
        action: e.action,
        action_label,
        entity_label: entity_label(&e.entity),
        entity: e.entity,
        entity_id: e.entity_id,
        entity_number,
        device_id: e.device_id,
        detail: e.detail,
    }
}

/// Registers a validated visit: a new matter, or (`matter_id`) a repeat visit joining that one
/// (重复访, with 不再受理 when the law says so). 越级访 is decided by the store with the visit, in
/// its transaction. `hall_number` is the hall's queue number the server issued (asked before,
/// `crate::hall_queue::ask_number`), or why there is none: then the desk issues its own and
/// the answer says why. The use case of every front end (the desk, `xinfang visit add`).
pub fn register(
    store: &mut Store,
    me: &Staff,
    valid: &ValidVisit,
    matter_id: Option<&str>,
    hall_number: Result<String, SyncError>,
) -> CmdResult<RegisterResult> {
    authorize(&me.roles, Action::RegisterVisit).map_err(CommandError::forbidden)?;
    let label = hall_number.as_ref().ok().map(String::as_str);
    let registered = match matter_id.map(str::trim).filter(|m| !m.is_empty()) {
        None => store.register_visit_labelled(valid, &me.id, label)?,
        Some(id) => crate::matters::register_repeat_visit(store, me, valid, id, label)?,
    };
    let warnings = visit_warnings(valid, &registered);
    let queue_note = hall_number
        .err()
        .map(|e| crate::hall_queue::own_number_note(&e, &registered.queue_label));
    Ok(RegisterResult {
        registered,
        warnings,
        queue_note,
    })
}

/// The day a visit is numbered in: its own (China Standard Time), as the store dates it.
pub fn visit_day(valid: &ValidVisit) -> NaiveDate {
    valid
        .visited_at
        .with_timezone(&xinfang_core::clock::cst())
        .date_naive()
}

/// The form's own remarks, and 越级访 as stored with the visit: the remarks every front end
/// shows after registering.
pub fn visit_warnings(valid: &ValidVisit, registered: &Registered) -> Vec<FieldError> {
    let mut warnings = valid.warnings.clone();
    warnings.extend(registered.skip_level.warning());
    warnings
}
