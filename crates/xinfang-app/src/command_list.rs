// Every command the webview may call, declared once: its name, who may call it, its
// arguments as the webview sends them, and its answer. Everything else derives from this
// table — `COMMANDS` (build.rs turns each into a permission `allow-…`, and
// capabilities/default.json grants exactly these), [`crate::api::access`], the
// `generate_handler!` list of the desktop app and the typed `ui/src/api/commands.ts` — so a
// command cannot exist without an access rule or a TypeScript signature.
//
// The access rule is `Public` (before login), `LoggedIn` (any staff member) or the name of the
// `xinfang_core::staff::Action` whose roles may call it. src-tauri's build.rs includes this
// file on its own, so it names no type of any crate.

/// Calls `$callback!` with the table: `name: rule, (argument: Type, …) -> Answer;` per command.
#[macro_export]
macro_rules! command_table {
    ($callback:ident) => {
        $callback! {
            app_info: Public, () -> AppInfo;
            setup: Public, (input: SetupInput) -> AppInfo;
            login: Public, (username: String, password: String) -> SessionInfo;
            logout: Public, () -> ();
            session: Public, () -> Option<SessionInfo>;
            // 忘记密码 on the login screen, and 修改密码 of one's own (account.rs).
            recover_password: Public, (input: RecoveryInput) -> ();
            change_password: LoggedIn, (form: PasswordChange) -> ();
            reference: LoggedIn, () -> ReferenceLists;
            sync_status: LoggedIn, () -> SyncStatus;
            // 连接服务器: the servers on the LAN, the city's CA from a file, enrolment with a
            // code, a connection test, leaving, taking over a copied store (enrolment.rs).
            discover_servers: ManageStaff, () -> Vec<FoundServer>;
            enrol_desk: ManageStaff, (server: String, code: String, desk_name: String) -> EnrolledDesk;
            connection_info: ManageStaff, () -> ConnectionInfo;
            set_trusted_ca: ManageStaff, (pem: Option<String>) -> Vec<TrustedCa>;
            test_connection: ManageStaff, (server: Option<String>) -> ConnectionTest;
            leave_server: ManageStaff, (even_if_pending: bool) -> ();
            adopt_this_copy: ManageStaff, () -> ();
            // Drafts of unsubmitted forms, the staff member's own (api.rs).
            draft_save: LoggedIn, (form: String, json: String) -> String;
            draft_load: LoggedIn, (form: String) -> Option<Draft>;
            draft_discard: LoggedIn, (form: String) -> bool;
            check_id: CheckDocument, (id_type: String, number: String, sex: String, birth_date: String) -> IdCheck;
            history: SearchVisitors, (query: String) -> Vec<HistoryEntry>;
            register_visit: RegisterVisit, (input: VisitInput) -> RegisterResult;
            // 重复访: a person's matters, and a visit that joins one of them (matters.rs).
            person_matters: RegisterVisit, (id_number: String) -> Vec<PersonMatter>;
            // A returning visitor chosen in the history panel fills the form (audited).
            returning_visitor: RegisterVisit, (visitor_id: String) -> VisitorInput;
            register_repeat_visit: RegisterVisit, (input: VisitInput, matter_id: String) -> RegisterResult;
            // The person's matters at the city's other halls, asked of the city (other_halls.rs).
            other_hall_matters: RegisterVisit, (id_number: String) -> OtherHallMatters;
            today: ViewToday, () -> Vec<VisitRow>;
            visit_detail: ViewVisit, (visit_id: String) -> VisitDetail;
            hand_off: HandOff, (visit_id: String, desk: Desk, note: String) -> HandoffInfo;
            close_visit: HandOff, (visit_id: String) -> VisitRow;
            lawyer_queue: LawyerDesk, () -> Vec<QueueItem>;
            lawyer_take_next: LawyerDesk, () -> Option<QueueItem>;
            log_consultation: LogConsultation, (input: ConsultationInput) -> ConsultationRecord;
            hand_on_to_mediator: HandOnToMediator, (visit_id: String, note: String) -> HandoffInfo;
            consultation: ViewConsultation, (id: String) -> ConsultationRecord;
            mediator_queue: MediatorDesk, () -> Vec<QueueItem>;
            mediator_take_next: MediatorDesk, () -> Option<QueueItem>;
            // 叫号: a number called to the room of the caller's desk on the hall's call screen
            // (hall_queue.rs); each room's own rule.
            call_registration: RegisterVisit, (queue_label: String) -> CallOutcome;
            // 排队单 at registration, opened for the print dialog (hall_queue.rs).
            print_queue_slip: RegisterVisit, (visit_id: String, size: String) -> PrintedSlip;
            lawyer_call: LawyerDesk, (queue_label: String) -> CallOutcome;
            mediator_call: MediatorDesk, (queue_label: String) -> CallOutcome;
            log_mediation: LogMediation, (input: MediationInput) -> MediationRecord;
            mediation: ViewMediation, (id: String) -> MediationRecord;
            // A pending mediation continued, the court's answer, 回访 (api.rs).
            pending_mediations: LogMediation, () -> Vec<MediationRecord>;
            continue_mediation: LogMediation, (input: ContinueMediationInput) -> MediationRecord;
            record_confirmation_result: LogMediation, (mediation_id: String, result: String) -> MediationRecord;
            add_mediation_follow_up: LogMediation, (mediation_id: String, input: FollowUpInput) -> MediationRecord;
            add_mediation_investigation: LogMediation, (mediation_id: String, input: InvestigationInput) -> MediationRecord;
            // The printed agreement: the parties' full numbers, audited (contact.rs).
            mediation_agreement: PrintMediationAgreement, (id: String) -> MediationRecord;
            visitor_profile: ViewVisitorDetail, (visitor_id: String) -> VisitorProfile;
            // The live photo: kept with the saved visit, shown with the person (photos.rs).
            save_visit_photo: RegisterVisit, (visit_id: String, visitor_id: String, jpeg: String) -> VisitorPhoto;
            visitor_photo: ViewVisitorDetail, (visitor_id: String) -> Option<VisitorPhoto>;
            list_staff: ListStaff, () -> Vec<Staff>;
            add_staff: ManageStaff, (input: NewStaffInput) -> Staff;
            set_staff_active: ManageStaff, (staff_id: String, active: bool) -> Staff;
            reset_password: ManageStaff, (staff_id: String, password: String) -> ();
            set_staff_roles: ManageStaff, (staff_id: String, roles: Vec<Role>) -> Staff;
            // Matters, due lists, backlog cases and notices (matters.rs).
            matter: ViewMatter, (matter_id: String) -> MatterPage;
            matter_of_visit: ViewMatter, (visit_id: String) -> String;
            record_matter_event: RecordMatterEvent, (matter_id: String, event: Value) -> MatterPage;
            classify_matter: ClassifyMatter, (matter_id: String, input: ClassifyInput) -> MatterPage;
            propose_route: ProposeLegalRoute, (matter_id: String, input: ProposeRouteInput) -> MatterPage;
            confirm_route: ClassifyMatter, (matter_id: String, route_code: Option<String>) -> MatterPage;
            due_list: ViewDueList, () -> DueList;
            backlog_dashboard: ViewBacklog, () -> BacklogBoard;
            // A page of the list, [`BACKLOG_PAGE_SIZE`] cases from `offset`.
            backlog_cases: ViewBacklog, (filter: BacklogFilter, offset: u32) -> BacklogCasePage;
            flag_backlog: ManageBacklog, (matter_id: String, input: FlagInput) -> BacklogCase;
            set_backlog_leader: ManageBacklog, (case_id: String, leader: String) -> BacklogCase;
            note_backlog: NoteBacklog, (case_id: String, input: NoteInput) -> BacklogCase;
            clear_backlog: ManageBacklog, (case_id: String, input: ClearInput) -> BacklogCase;
            print_matter_notice: PrintMatterNotice, (matter_id: String, kind: String, doc_no: Option<String>) -> PrintedNotice;
            // A matter's notice or a mediation's document: checked by its kind (matters.rs).
            print_mediation_document: PrintMediationAgreement, (mediation_id: String, kind: String) -> PrintedNotice;
            open_notice: LoggedIn, (file_name: String) -> String;
            // The 越级走访告知书 of a visit (matters.rs).
            print_visit_notice: PrintMatterNotice, (visit_id: String, kind: String, doc_no: Option<String>) -> PrintedNotice;
            // Statistics, Excel export, monthly report, publicity (stats.rs).
            statistics: ViewStatistics, (from: String, to: String, hall: Option<String>) -> StatsPage;
            rate_matters: ViewStatistics, (from: String, to: String, hall: Option<String>, rate: String, after: Option<String>) -> RateMattersPage;
            completeness: ViewStatistics, (from: String, to: String, hall: Option<String>) -> Completeness;
            // Exports go to a file the user names, outside the data dir (export_file.rs).
            suggest_export_path: ViewStatistics, (kind: String, from: String, to: String, hall: Option<String>, month: String) -> String;
            export_ledger: ExportLedger, (kind: String, from: String, to: String, hall: Option<String>, full: bool, dest: String, overwrite: bool) -> WrittenFile;
            monthly_report: ViewStatistics, (month: String, hall: Option<String>, dest: String, overwrite: bool) -> WrittenFile;
            open_export: ViewStatistics, (path: String) -> String;
            evaluate_matter: EvaluateMatter, (matter_id: String, input: EvaluationInput) -> EvaluationRecord;
            publicity: ViewStatistics, (from: String, to: String, campaign: Option<String>) -> PublicityPage;
            add_publicity: RecordPublicity, (input: PublicityInput) -> PublicityRecord;
            // Audited views: full ID number or phone, the audit log.
            reveal_visitor_contact: ViewFullContact, (visitor_id: String, field: ContactField) -> String;
            reveal_party_contact: ViewFullContact, (mediation_id: String, party: u32, field: ContactField) -> String;
            // The hall's names: its 人民调解委员会 (contact.rs).
            hall_settings: LoggedIn, () -> HallSettings;
            set_committee_name: ConfigureHall, (name: String) -> HallSettings;
            // This desk's ID-card reader, the account's display mode; a read of the card
            // (desk_settings.rs).
            my_settings: LoggedIn, () -> MySettings;
            set_display_mode: LoggedIn, (mode: String) -> MySettings;
            set_id_reader: ConfigureDesk, (settings: ReaderSettings) -> MySettings;
            test_id_reader: ConfigureDesk, (settings: ReaderSettings) -> CardFill;
            read_id_card: CheckDocument, () -> CardFill;
            audit_entries: Verify, (filter: AuditQuery) -> Vec<AuditRow>;
            // What a sync kept for the supervisor to decide (conflicts.rs).
            sync_conflicts: ResolveConflicts, () -> SyncConflicts;
            resolve_sync_conflict: ResolveConflicts, (id: String, choose: Option<u32>, value: Option<String>) -> Conflict;
            // Backup into a file the user names, restore from one (backup.rs).
            backup_store: Backup, (dest: String) -> BackupDone;
            // 该备份了: the last backup is a week old (none for roles that may not back up).
            backup_reminder: LoggedIn, () -> Option<BackupReminder>;
            // 有新版本: check (any account), install after a backup (update.rs).
            check_update: CheckUpdate, () -> UpdateCheck;
            install_update: InstallUpdate, (backup_dir: String) -> InstallStarted;
            restore_store: Backup, (backup: String, password: String) -> RestoreDone;
            // People: correct a document, likely duplicates, merge, unmerge, split (people.rs).
            people_duplicates: ManagePeople, () -> PeoplePage;
            merge_people: ManagePeople, (keep: String, other: String, reason: String) -> MergeRecord;
            unmerge_people: ManagePeople, (merge_id: String, reason: String) -> MergeRecord;
            correct_document: ManagePeople, (visitor_id: String, id_type: String, id_number: String, reason: String) -> PersonBrief;
            split_person: ManagePeople, (input: SplitInput) -> SplitOutcome;
        }
    };
}

macro_rules! command_names {
    ($($name:ident : $rule:ident, ($($arg:ident : $tn:ident $(<$inner:ty>)?),*) -> $ret:ty;)*) => {
        /// The command names, in the table's order.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];
    };
}

command_table!(command_names);
