//! The Tauri commands: one line each over [`xinfang_app::AppState`], which holds every use case
//! (session, role and confidentiality checks, audit). Async so that they run off the main
//! thread (password hashing and disk writes never freeze the window).

use serde_json::Value;
use tauri::State;
use xinfang_app::account::{PasswordChange, RecoveryInput};
use xinfang_app::api::{
    AppInfo, AppState, AuditQuery, AuditRow, ContactField, NewStaffInput, ReferenceLists,
    RegisterResult, SessionInfo, SetupInput, SyncStatus,
};
use xinfang_app::backup::BackupReminder;
use xinfang_app::backup::{BackupDone, RestoreDone};
use xinfang_app::conflicts::SyncConflicts;
use xinfang_app::contact::HallSettings;
use xinfang_app::desk_settings::{CardFill, MySettings, ReaderSettings};
use xinfang_app::enrolment::{
    ConnectionInfo, ConnectionTest, EnrolledDesk, FoundServer, TrustedCa,
};
use xinfang_app::error::CmdResult;
use xinfang_app::hall_queue::{CallOutcome, PrintedSlip};
use xinfang_app::matters::{BacklogBoard, MatterPage, PrintedNotice, ProposeRouteInput};
use xinfang_app::other_halls::OtherHallMatters;
use xinfang_app::people::{PeoplePage, SplitInput};
use xinfang_app::stats::{PublicityPage, StatsPage, WrittenFile};
use xinfang_app::update::{InstallStarted, UpdateCheck};
use xinfang_core::backlog::{ClearInput, FlagInput, NoteInput};
use xinfang_core::classify::ClassifyInput;
use xinfang_core::desk::{
    ConsultationInput, ContinueMediationInput, Desk, FollowUpInput, IdCheck, InvestigationInput,
    MediationInput,
};
use xinfang_core::queue::Room;
use xinfang_core::staff::Role;
use xinfang_core::stats::{EvaluationInput, PublicityInput};
use xinfang_core::visit::{VisitInput, VisitorInput};
use xinfang_store::{
    BacklogCase, BacklogCasePage, BacklogFilter, Completeness, Conflict, ConsultationRecord, Draft,
    DueList, EvaluationRecord, HandoffInfo, HistoryEntry, MediationRecord, MergeRecord,
    PersonBrief, PersonMatter, PublicityRecord, QueueItem, RateMattersPage, SplitOutcome, Staff,
    VisitDetail, VisitRow, VisitorPhoto, VisitorProfile,
};

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
pub async fn logout(s: S<'_>, webview: tauri::Webview) -> CmdResult<()> {
    s.logout();
    // The next account starts at the standard size until its own setting is read.
    let _ = webview.set_zoom(1.0);
    Ok(())
}

#[tauri::command]
pub async fn session(s: S<'_>) -> CmdResult<Option<SessionInfo>> {
    s.session()
}

#[tauri::command]
pub async fn recover_password(s: S<'_>, input: RecoveryInput) -> CmdResult<()> {
    s.recover_password(input)
}

#[tauri::command]
pub async fn change_password(s: S<'_>, form: PasswordChange) -> CmdResult<()> {
    s.change_password(form)
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
pub async fn discover_servers(s: S<'_>) -> CmdResult<Vec<FoundServer>> {
    s.discover_servers()
}

#[tauri::command]
pub async fn enrol_desk(
    s: S<'_>,
    server: String,
    code: String,
    desk_name: String,
) -> CmdResult<EnrolledDesk> {
    s.enrol_desk(&server, &code, &desk_name)
}

#[tauri::command]
pub async fn connection_info(s: S<'_>) -> CmdResult<ConnectionInfo> {
    s.connection_info()
}

#[tauri::command]
pub async fn set_trusted_ca(s: S<'_>, pem: Option<String>) -> CmdResult<Vec<TrustedCa>> {
    s.set_trusted_ca(pem)
}

#[tauri::command]
pub async fn test_connection(s: S<'_>, server: Option<String>) -> CmdResult<ConnectionTest> {
    s.test_connection(server)
}

#[tauri::command]
pub async fn leave_server(s: S<'_>, even_if_pending: bool) -> CmdResult<()> {
    s.leave_server(even_if_pending)
}

#[tauri::command]
pub async fn adopt_this_copy(s: S<'_>) -> CmdResult<()> {
    s.adopt_this_copy()
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
pub async fn person_matters(s: S<'_>, id_number: String) -> CmdResult<Vec<PersonMatter>> {
    s.person_matters(&id_number)
}

/// Asks the city (a blocking HTTP call of a few seconds at most): the worker thread is handed
/// over to blocking work meanwhile, so the runtime's other tasks go on.
#[tauri::command]
pub async fn other_hall_matters(s: S<'_>, id_number: String) -> CmdResult<OtherHallMatters> {
    tokio::task::block_in_place(|| s.other_hall_matters(&id_number))
}

#[tauri::command]
pub async fn register_repeat_visit(
    s: S<'_>,
    input: VisitInput,
    matter_id: String,
) -> CmdResult<RegisterResult> {
    s.register_repeat_visit(input, &matter_id)
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
pub async fn call_registration(s: S<'_>, queue_label: String) -> CmdResult<CallOutcome> {
    s.call_number(&queue_label, Room::Registration)
}

#[tauri::command]
pub async fn print_queue_slip(s: S<'_>, visit_id: String, size: String) -> CmdResult<PrintedSlip> {
    s.print_queue_slip(&visit_id, &size)
}

#[tauri::command]
pub async fn lawyer_call(s: S<'_>, queue_label: String) -> CmdResult<CallOutcome> {
    s.call_number(&queue_label, Room::Lawyer)
}

#[tauri::command]
pub async fn mediator_call(s: S<'_>, queue_label: String) -> CmdResult<CallOutcome> {
    s.call_number(&queue_label, Room::Mediator)
}

#[tauri::command]
pub async fn log_mediation(s: S<'_>, input: MediationInput) -> CmdResult<MediationRecord> {
    s.log_mediation(input)
}

#[tauri::command]
pub async fn pending_mediations(s: S<'_>) -> CmdResult<Vec<MediationRecord>> {
    s.pending_mediations()
}

#[tauri::command]
pub async fn continue_mediation(
    s: S<'_>,
    input: ContinueMediationInput,
) -> CmdResult<MediationRecord> {
    s.continue_mediation(input)
}

#[tauri::command]
pub async fn record_confirmation_result(
    s: S<'_>,
    mediation_id: String,
    result: String,
) -> CmdResult<MediationRecord> {
    s.record_confirmation_result(&mediation_id, &result)
}

#[tauri::command]
pub async fn add_mediation_investigation(
    s: S<'_>,
    mediation_id: String,
    input: InvestigationInput,
) -> CmdResult<MediationRecord> {
    s.add_mediation_investigation(&mediation_id, input)
}

#[tauri::command]
pub async fn add_mediation_follow_up(
    s: S<'_>,
    mediation_id: String,
    input: FollowUpInput,
) -> CmdResult<MediationRecord> {
    s.add_mediation_follow_up(&mediation_id, input)
}

#[tauri::command]
pub async fn hall_settings(s: S<'_>) -> CmdResult<HallSettings> {
    s.hall_settings()
}

#[tauri::command]
pub async fn set_committee_name(s: S<'_>, name: String) -> CmdResult<HallSettings> {
    s.set_committee_name(&name)
}

/// 大字 is the webview's own zoom (125 %): every screen, its menus and dialogs alike, and the
/// layout reflows to the smaller CSS width. 高对比 is the UI's style sheet.
fn apply_display(webview: &tauri::Webview, settings: &MySettings) {
    let zoom = if settings.display == "large" {
        1.25
    } else {
        1.0
    };
    if let Err(e) = webview.set_zoom(zoom) {
        tracing::warn!("cannot set the webview's zoom: {e}");
    }
}

#[tauri::command]
pub async fn returning_visitor(s: S<'_>, visitor_id: String) -> CmdResult<VisitorInput> {
    s.returning_visitor(&visitor_id)
}

#[tauri::command]
pub async fn my_settings(s: S<'_>, webview: tauri::Webview) -> CmdResult<MySettings> {
    let settings = s.my_settings()?;
    apply_display(&webview, &settings);
    Ok(settings)
}

#[tauri::command]
pub async fn set_display_mode(
    s: S<'_>,
    webview: tauri::Webview,
    mode: String,
) -> CmdResult<MySettings> {
    let settings = s.set_display_mode(&mode)?;
    apply_display(&webview, &settings);
    Ok(settings)
}

#[tauri::command]
pub async fn set_id_reader(s: S<'_>, settings: ReaderSettings) -> CmdResult<MySettings> {
    s.set_id_reader(&settings)
}

#[tauri::command]
pub async fn test_id_reader(s: S<'_>, settings: ReaderSettings) -> CmdResult<CardFill> {
    s.test_id_reader(&settings)
}

#[tauri::command]
pub async fn read_id_card(s: S<'_>) -> CmdResult<CardFill> {
    s.read_id_card()
}

#[tauri::command]
pub async fn mediation(s: S<'_>, id: String) -> CmdResult<MediationRecord> {
    s.mediation(&id)
}

#[tauri::command]
pub async fn mediation_agreement(s: S<'_>, id: String) -> CmdResult<MediationRecord> {
    s.mediation_agreement(&id)
}

#[tauri::command]
pub async fn visitor_profile(s: S<'_>, visitor_id: String) -> CmdResult<VisitorProfile> {
    s.visitor_profile(&visitor_id)
}

#[tauri::command]
pub async fn save_visit_photo(
    s: S<'_>,
    visit_id: String,
    visitor_id: String,
    jpeg: String,
) -> CmdResult<VisitorPhoto> {
    s.save_visit_photo(&visit_id, &visitor_id, &jpeg)
}

#[tauri::command]
pub async fn visitor_photo(s: S<'_>, visitor_id: String) -> CmdResult<Option<VisitorPhoto>> {
    s.visitor_photo(&visitor_id)
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
pub async fn reveal_party_contact(
    s: S<'_>,
    mediation_id: String,
    party: u32,
    field: ContactField,
) -> CmdResult<String> {
    s.reveal_party_contact(&mediation_id, party, field)
}

#[tauri::command]
pub async fn audit_entries(s: S<'_>, filter: AuditQuery) -> CmdResult<Vec<AuditRow>> {
    s.audit_entries(filter)
}

// ---- matters ----

#[tauri::command]
pub async fn matter(s: S<'_>, matter_id: String) -> CmdResult<MatterPage> {
    s.matter(&matter_id)
}

#[tauri::command]
pub async fn matter_of_visit(s: S<'_>, visit_id: String) -> CmdResult<String> {
    s.matter_of_visit(&visit_id)
}

#[tauri::command]
pub async fn record_matter_event(
    s: S<'_>,
    matter_id: String,
    event: Value,
) -> CmdResult<MatterPage> {
    s.record_matter_event(&matter_id, event)
}

#[tauri::command]
pub async fn classify_matter(
    s: S<'_>,
    matter_id: String,
    input: ClassifyInput,
) -> CmdResult<MatterPage> {
    s.classify_matter(&matter_id, input)
}

#[tauri::command]
pub async fn propose_route(
    s: S<'_>,
    matter_id: String,
    input: ProposeRouteInput,
) -> CmdResult<MatterPage> {
    s.propose_route(&matter_id, input)
}

#[tauri::command]
pub async fn confirm_route(
    s: S<'_>,
    matter_id: String,
    route_code: Option<String>,
) -> CmdResult<MatterPage> {
    s.confirm_route(&matter_id, route_code)
}

#[tauri::command]
pub async fn due_list(s: S<'_>) -> CmdResult<DueList> {
    s.due_list()
}

#[tauri::command]
pub async fn backlog_dashboard(s: S<'_>) -> CmdResult<BacklogBoard> {
    s.backlog_dashboard()
}

#[tauri::command]
pub async fn backlog_cases(
    s: S<'_>,
    filter: BacklogFilter,
    offset: u32,
) -> CmdResult<BacklogCasePage> {
    s.backlog_cases(filter, offset)
}

#[tauri::command]
pub async fn flag_backlog(s: S<'_>, matter_id: String, input: FlagInput) -> CmdResult<BacklogCase> {
    s.flag_backlog(&matter_id, input)
}

#[tauri::command]
pub async fn set_backlog_leader(
    s: S<'_>,
    case_id: String,
    leader: String,
) -> CmdResult<BacklogCase> {
    s.set_backlog_leader(&case_id, &leader)
}

#[tauri::command]
pub async fn note_backlog(s: S<'_>, case_id: String, input: NoteInput) -> CmdResult<BacklogCase> {
    s.note_backlog(&case_id, input)
}

#[tauri::command]
pub async fn clear_backlog(s: S<'_>, case_id: String, input: ClearInput) -> CmdResult<BacklogCase> {
    s.clear_backlog(&case_id, input)
}

#[tauri::command]
pub async fn print_matter_notice(
    s: S<'_>,
    matter_id: String,
    kind: String,
    doc_no: Option<String>,
) -> CmdResult<PrintedNotice> {
    s.print_matter_notice(&matter_id, &kind, doc_no.as_deref())
}

#[tauri::command]
pub async fn print_mediation_document(
    s: S<'_>,
    mediation_id: String,
    kind: String,
) -> CmdResult<PrintedNotice> {
    s.print_mediation_document(&mediation_id, &kind)
}

#[tauri::command]
pub async fn print_visit_notice(
    s: S<'_>,
    visit_id: String,
    kind: String,
    doc_no: Option<String>,
) -> CmdResult<PrintedNotice> {
    s.print_visit_notice(&visit_id, &kind, doc_no.as_deref())
}

#[tauri::command]
pub async fn open_notice(s: S<'_>, file_name: String) -> CmdResult<String> {
    s.open_notice(&file_name)
}

// ---- stats ----

#[tauri::command]
pub async fn statistics(
    s: S<'_>,
    from: String,
    to: String,
    hall: Option<String>,
) -> CmdResult<StatsPage> {
    s.statistics(&from, &to, hall)
}

#[tauri::command]
pub async fn rate_matters(
    s: S<'_>,
    from: String,
    to: String,
    hall: Option<String>,
    rate: String,
    after: Option<String>,
) -> CmdResult<RateMattersPage> {
    s.rate_matters(&from, &to, hall, &rate, after.as_deref())
}

#[tauri::command]
pub async fn completeness(
    s: S<'_>,
    from: String,
    to: String,
    hall: Option<String>,
) -> CmdResult<Completeness> {
    s.completeness(&from, &to, hall)
}

#[tauri::command]
pub async fn suggest_export_path(
    s: S<'_>,
    kind: String,
    from: String,
    to: String,
    hall: Option<String>,
    month: String,
) -> CmdResult<String> {
    s.suggest_export_path(&kind, &from, &to, hall, &month)
}

#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn export_ledger(
    s: S<'_>,
    kind: String,
    from: String,
    to: String,
    hall: Option<String>,
    full: bool,
    dest: String,
    overwrite: bool,
) -> CmdResult<WrittenFile> {
    s.export_ledger(&kind, &from, &to, hall, full, &dest, overwrite)
}

#[tauri::command]
pub async fn monthly_report(
    s: S<'_>,
    month: String,
    hall: Option<String>,
    dest: String,
    overwrite: bool,
) -> CmdResult<WrittenFile> {
    s.monthly_report(&month, hall, &dest, overwrite)
}

#[tauri::command]
pub async fn open_export(s: S<'_>, path: String) -> CmdResult<String> {
    s.open_export(&path)
}

#[tauri::command]
pub async fn evaluate_matter(
    s: S<'_>,
    matter_id: String,
    input: EvaluationInput,
) -> CmdResult<EvaluationRecord> {
    s.evaluate_matter(&matter_id, input)
}

#[tauri::command]
pub async fn publicity(
    s: S<'_>,
    from: String,
    to: String,
    campaign: Option<String>,
) -> CmdResult<PublicityPage> {
    s.publicity(&from, &to, campaign)
}

#[tauri::command]
pub async fn add_publicity(s: S<'_>, input: PublicityInput) -> CmdResult<PublicityRecord> {
    s.add_publicity(input)
}

#[tauri::command]
pub async fn sync_conflicts(s: S<'_>) -> CmdResult<SyncConflicts> {
    s.sync_conflicts()
}

#[tauri::command]
pub async fn resolve_sync_conflict(
    s: S<'_>,
    id: String,
    choose: Option<u32>,
    value: Option<String>,
) -> CmdResult<Conflict> {
    s.resolve_sync_conflict(&id, choose, value)
}

#[tauri::command]
pub async fn backup_store(s: S<'_>, dest: String) -> CmdResult<BackupDone> {
    s.backup_store(&dest)
}

#[tauri::command]
pub async fn backup_reminder(s: S<'_>) -> CmdResult<Option<BackupReminder>> {
    s.backup_reminder()
}

#[tauri::command]
pub async fn check_update(s: S<'_>) -> CmdResult<UpdateCheck> {
    s.check_update()
}

#[tauri::command]
pub async fn install_update(s: S<'_>, backup_dir: String) -> CmdResult<InstallStarted> {
    s.install_update(&backup_dir)
}

#[tauri::command]
pub async fn restore_store(s: S<'_>, backup: String, password: String) -> CmdResult<RestoreDone> {
    s.restore_store(&backup, &password)
}

#[tauri::command]
pub async fn people_duplicates(s: S<'_>) -> CmdResult<PeoplePage> {
    s.people_duplicates()
}

#[tauri::command]
pub async fn merge_people(
    s: S<'_>,
    keep: String,
    other: String,
    reason: String,
) -> CmdResult<MergeRecord> {
    s.merge_people(&keep, &other, &reason)
}

#[tauri::command]
pub async fn unmerge_people(s: S<'_>, merge_id: String, reason: String) -> CmdResult<MergeRecord> {
    s.unmerge_people(&merge_id, &reason)
}

#[tauri::command]
pub async fn correct_document(
    s: S<'_>,
    visitor_id: String,
    id_type: String,
    id_number: String,
    reason: String,
) -> CmdResult<PersonBrief> {
    s.correct_document(&visitor_id, &id_type, &id_number, &reason)
}

#[tauri::command]
pub async fn split_person(s: S<'_>, input: SplitInput) -> CmdResult<SplitOutcome> {
    s.split_person(input)
}

#[cfg(test)]
mod tests {
    macro_rules! table {
        ($($name:ident : $rule:ident, ($($arg:ident : $tn:ident $(<$inner:ty>)?),*) -> $ret:ty;)*) => {
            &[$((
                stringify!($name),
                stringify!($($arg: $tn $(<$inner>)?),*),
                stringify!($ret),
            )),*]
        };
    }

    fn squeeze(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// The functions of this file take the arguments and give the answer the command table
    /// declares (which commands.ts is generated from): a signature changed here and not in
    /// the table fails.
    #[test]
    fn every_command_function_matches_the_table() {
        let table: &[(&str, &str, &str)] = xinfang_app::command_table!(table);
        let file = include_str!("commands.rs");
        // The webview is Tauri's to inject (the display mode's zoom), not an argument the page
        // sends, so it is not in the table.
        let src = squeeze(file.split("#[cfg(test)]").next().unwrap())
            .replace(",webview:tauri::Webview", "");
        for (name, args, ret) in table {
            let args = squeeze(args);
            let sep = if args.is_empty() { "" } else { "," };
            let want = format!(
                "pubasyncfn{name}(s:S<'_>{sep}{args}{})->CmdResult<{}>",
                if args.is_empty() { "" } else { "," },
                squeeze(ret)
            );
            let want_no_comma = want.replacen(",)", ")", 1);
            assert!(
                src.contains(&want) || src.contains(&want_no_comma),
                "the command {name} in commands.rs does not match the table: want {want_no_comma}"
            );
        }
        let fns = src.matches("#[tauri::command]").count();
        assert_eq!(fns, table.len(), "a command function not in the table");
    }
}
