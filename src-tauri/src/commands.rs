//! The Tauri commands: one line each over [`crate::api::AppState`]. Async so that they run off
//! the main thread (password hashing and disk writes never freeze the window).

use tauri::State;
use xinfang_core::desk::{ConsultationInput, Desk, IdCheck, MediationInput};
use xinfang_core::staff::Role;
use xinfang_core::visit::VisitInput;
use xinfang_store::{
    ConsultationRecord, Draft, HandoffInfo, HistoryEntry, MediationRecord, QueueItem, Staff,
    VisitDetail, VisitRow, VisitorProfile,
};

use crate::api::{
    AppInfo, AppState, AuditQuery, AuditRow, ContactField, NewStaffInput, ReferenceLists,
    RegisterResult, SessionInfo, SetupInput, SyncStatus,
};
use crate::error::CmdResult;

type S<'a> = State<'a, AppState>;

#[tauri::command]
pub async fn app_info(s: S<'_>) -> CmdResult<AppInfo> {
    Ok(s.app_info())
}

#[tauri::command]
pub async fn setup(s: S<'_>, input: SetupInput) -> CmdResult<AppInfo> {
    s.setup(input)
}

#[tauri::command]
pub async fn login(s: S<'_>, username: String, password: String) -> CmdResult<SessionInfo> {
    s.login(&username, &password)
}

#[tauri::command]
pub async fn logout(s: S<'_>) -> CmdResult<()> {
    s.logout();
    Ok(())
}

#[tauri::command]
pub async fn session(s: S<'_>) -> CmdResult<Option<SessionInfo>> {
    s.session()
}

#[tauri::command]
pub async fn reference(s: S<'_>) -> CmdResult<ReferenceLists> {
    s.reference()
}

#[tauri::command]
pub async fn sync_status(s: S<'_>) -> CmdResult<SyncStatus> {
    s.sync_status()
}

#[tauri::command]
pub async fn draft_save(s: S<'_>, form: String, json: String) -> CmdResult<String> {
    s.draft_save(&form, &json)
}

#[tauri::command]
pub async fn draft_load(s: S<'_>, form: String) -> CmdResult<Option<Draft>> {
    s.draft_load(&form)
}

#[tauri::command]
pub async fn draft_discard(s: S<'_>, form: String) -> CmdResult<bool> {
    s.draft_discard(&form)
}

#[tauri::command]
pub async fn check_id(
    s: S<'_>,
    id_type: String,
    number: String,
    sex: String,
    birth_date: String,
) -> CmdResult<IdCheck> {
    s.check_id(&id_type, &number, &sex, &birth_date)
}

#[tauri::command]
pub async fn history(s: S<'_>, query: String) -> CmdResult<Vec<HistoryEntry>> {
    s.history(&query)
}

#[tauri::command]
pub async fn register_visit(s: S<'_>, input: VisitInput) -> CmdResult<RegisterResult> {
    s.register_visit(input)
}

#[tauri::command]
pub async fn today(s: S<'_>) -> CmdResult<Vec<VisitRow>> {
    s.today()
}

#[tauri::command]
pub async fn visit_detail(s: S<'_>, visit_id: String) -> CmdResult<VisitDetail> {
    s.visit_detail(&visit_id)
}

#[tauri::command]
pub async fn hand_off(
    s: S<'_>,
    visit_id: String,
    desk: Desk,
    note: String,
) -> CmdResult<HandoffInfo> {
    s.hand_off(&visit_id, desk, &note)
}

#[tauri::command]
pub async fn close_visit(s: S<'_>, visit_id: String) -> CmdResult<VisitRow> {
    s.close_visit(&visit_id)
}

#[tauri::command]
pub async fn lawyer_queue(s: S<'_>) -> CmdResult<Vec<QueueItem>> {
    s.queue(Desk::Lawyer)
}

#[tauri::command]
pub async fn lawyer_take_next(s: S<'_>) -> CmdResult<Option<QueueItem>> {
    s.take_next(Desk::Lawyer)
}

#[tauri::command]
pub async fn log_consultation(s: S<'_>, input: ConsultationInput) -> CmdResult<ConsultationRecord> {
    s.log_consultation(input)
}

#[tauri::command]
pub async fn hand_on_to_mediator(
    s: S<'_>,
    visit_id: String,
    note: String,
) -> CmdResult<HandoffInfo> {
    s.hand_on_to_mediator(&visit_id, &note)
}

#[tauri::command]
pub async fn consultation(s: S<'_>, id: String) -> CmdResult<ConsultationRecord> {
    s.consultation(&id)
}

#[tauri::command]
pub async fn mediator_queue(s: S<'_>) -> CmdResult<Vec<QueueItem>> {
    s.queue(Desk::Mediator)
}

#[tauri::command]
pub async fn mediator_take_next(s: S<'_>) -> CmdResult<Option<QueueItem>> {
    s.take_next(Desk::Mediator)
}

#[tauri::command]
pub async fn log_mediation(s: S<'_>, input: MediationInput) -> CmdResult<MediationRecord> {
    s.log_mediation(input)
}

#[tauri::command]
pub async fn mediation(s: S<'_>, id: String) -> CmdResult<MediationRecord> {
    s.mediation(&id)
}

#[tauri::command]
pub async fn visitor_profile(s: S<'_>, visitor_id: String) -> CmdResult<VisitorProfile> {
    s.visitor_profile(&visitor_id)
}

#[tauri::command]
pub async fn list_staff(s: S<'_>) -> CmdResult<Vec<Staff>> {
    s.list_staff()
}

#[tauri::command]
pub async fn add_staff(s: S<'_>, input: NewStaffInput) -> CmdResult<Staff> {
    s.add_staff(input)
}

#[tauri::command]
pub async fn set_staff_active(s: S<'_>, staff_id: String, active: bool) -> CmdResult<Staff> {
    s.set_staff_active(&staff_id, active)
}

#[tauri::command]
pub async fn reset_password(s: S<'_>, staff_id: String, password: String) -> CmdResult<()> {
    s.reset_password(&staff_id, &password)
}

#[tauri::command]
pub async fn set_staff_roles(s: S<'_>, staff_id: String, roles: Vec<Role>) -> CmdResult<Staff> {
    s.set_staff_roles(&staff_id, &roles)
}

#[tauri::command]
pub async fn reveal_visitor_contact(
    s: S<'_>,
    visitor_id: String,
    field: ContactField,
) -> CmdResult<String> {
    s.reveal_visitor_contact(&visitor_id, field)
}

#[tauri::command]
pub async fn audit_entries(s: S<'_>, filter: AuditQuery) -> CmdResult<Vec<AuditRow>> {
    s.audit_entries(filter)
}
