// Generated from crates/xinfang-app/src/command_list.rs (the command table) by
// `UPDATE_BINDINGS=1 cargo test -p xinfang-desk bindings`: do not edit.
import type { AppInfo } from './bindings/AppInfo'
import type { AuditQuery } from './bindings/AuditQuery'
import type { AuditRow } from './bindings/AuditRow'
import type { BacklogBoard } from './bindings/BacklogBoard'
import type { BacklogCase } from './bindings/BacklogCase'
import type { BacklogCasePage } from './bindings/BacklogCasePage'
import type { BacklogFilter } from './bindings/BacklogFilter'
import type { BackupDone } from './bindings/BackupDone'
import type { BackupReminder } from './bindings/BackupReminder'
import type { CallOutcome } from './bindings/CallOutcome'
import type { CardFill } from './bindings/CardFill'
import type { ClassifyInput } from './bindings/ClassifyInput'
import type { ClearInput } from './bindings/ClearInput'
import type { Completeness } from './bindings/Completeness'
import type { Conflict } from './bindings/Conflict'
import type { ConnectionInfo } from './bindings/ConnectionInfo'
import type { ConnectionTest } from './bindings/ConnectionTest'
import type { ConsultationInput } from './bindings/ConsultationInput'
import type { ConsultationRecord } from './bindings/ConsultationRecord'
import type { ContactField } from './bindings/ContactField'
import type { ContinueMediationInput } from './bindings/ContinueMediationInput'
import type { Desk } from './bindings/Desk'
import type { Draft } from './bindings/Draft'
import type { DueList } from './bindings/DueList'
import type { EnrolledDesk } from './bindings/EnrolledDesk'
import type { EvaluationInput } from './bindings/EvaluationInput'
import type { EvaluationRecord } from './bindings/EvaluationRecord'
import type { FlagInput } from './bindings/FlagInput'
import type { FollowUpInput } from './bindings/FollowUpInput'
import type { FoundServer } from './bindings/FoundServer'
import type { HallSettings } from './bindings/HallSettings'
import type { HandoffInfo } from './bindings/HandoffInfo'
import type { HistoryEntry } from './bindings/HistoryEntry'
import type { IdCheck } from './bindings/IdCheck'
import type { InstallStarted } from './bindings/InstallStarted'
import type { InvestigationInput } from './bindings/InvestigationInput'
import type { MatterPage } from './bindings/MatterPage'
import type { MediationInput } from './bindings/MediationInput'
import type { MediationRecord } from './bindings/MediationRecord'
import type { MergeRecord } from './bindings/MergeRecord'
import type { MySettings } from './bindings/MySettings'
import type { NewStaffInput } from './bindings/NewStaffInput'
import type { NoteInput } from './bindings/NoteInput'
import type { OtherHallMatters } from './bindings/OtherHallMatters'
import type { PasswordChange } from './bindings/PasswordChange'
import type { PeoplePage } from './bindings/PeoplePage'
import type { PersonBrief } from './bindings/PersonBrief'
import type { PersonMatter } from './bindings/PersonMatter'
import type { PrintedNotice } from './bindings/PrintedNotice'
import type { PrintedSlip } from './bindings/PrintedSlip'
import type { ProposeRouteInput } from './bindings/ProposeRouteInput'
import type { PublicityInput } from './bindings/PublicityInput'
import type { PublicityPage } from './bindings/PublicityPage'
import type { PublicityRecord } from './bindings/PublicityRecord'
import type { QueueItem } from './bindings/QueueItem'
import type { RateMattersPage } from './bindings/RateMattersPage'
import type { ReaderSettings } from './bindings/ReaderSettings'
import type { RecoveryInput } from './bindings/RecoveryInput'
import type { ReferenceLists } from './bindings/ReferenceLists'
import type { RegisterResult } from './bindings/RegisterResult'
import type { RestoreDone } from './bindings/RestoreDone'
import type { Role } from './bindings/Role'
import type { SessionInfo } from './bindings/SessionInfo'
import type { SetupInput } from './bindings/SetupInput'
import type { SplitInput } from './bindings/SplitInput'
import type { SplitOutcome } from './bindings/SplitOutcome'
import type { Staff } from './bindings/Staff'
import type { StatsPage } from './bindings/StatsPage'
import type { SyncConflicts } from './bindings/SyncConflicts'
import type { SyncStatus } from './bindings/SyncStatus'
import type { TrustedCa } from './bindings/TrustedCa'
import type { UpdateCheck } from './bindings/UpdateCheck'
import type { VisitDetail } from './bindings/VisitDetail'
import type { VisitInput } from './bindings/VisitInput'
import type { VisitRow } from './bindings/VisitRow'
import type { VisitorInput } from './bindings/VisitorInput'
import type { VisitorPhoto } from './bindings/VisitorPhoto'
import type { VisitorProfile } from './bindings/VisitorProfile'
import type { WrittenFile } from './bindings/WrittenFile'

/** Every command: its arguments as the webview sends them, `null` for none, and its answer. */
export interface Commands {
  app_info: { args: null; result: AppInfo }
  setup: { args: { input: SetupInput }; result: AppInfo }
  login: { args: { username: string; password: string }; result: SessionInfo }
  logout: { args: null; result: null }
  session: { args: null; result: SessionInfo | null }
  recover_password: { args: { input: RecoveryInput }; result: null }
  change_password: { args: { form: PasswordChange }; result: null }
  reference: { args: null; result: ReferenceLists }
  sync_status: { args: null; result: SyncStatus }
  discover_servers: { args: null; result: Array<FoundServer> }
  enrol_desk: { args: { server: string; code: string; deskName: string }; result: EnrolledDesk }
  connection_info: { args: null; result: ConnectionInfo }
  set_trusted_ca: { args: { pem: string | null }; result: Array<TrustedCa> }
  test_connection: { args: { server: string | null }; result: ConnectionTest }
  leave_server: { args: { evenIfPending: boolean }; result: null }
  adopt_this_copy: { args: null; result: null }
  draft_save: { args: { form: string; json: string }; result: string }
  draft_load: { args: { form: string }; result: Draft | null }
  draft_discard: { args: { form: string }; result: boolean }
  check_id: { args: { idType: string; number: string; sex: string; birthDate: string }; result: IdCheck }
  history: { args: { query: string }; result: Array<HistoryEntry> }
  register_visit: { args: { input: VisitInput }; result: RegisterResult }
  person_matters: { args: { idNumber: string }; result: Array<PersonMatter> }
  returning_visitor: { args: { visitorId: string }; result: VisitorInput }
  register_repeat_visit: { args: { input: VisitInput; matterId: string }; result: RegisterResult }
  other_hall_matters: { args: { idNumber: string }; result: OtherHallMatters }
  today: { args: null; result: Array<VisitRow> }
  visit_detail: { args: { visitId: string }; result: VisitDetail }
  hand_off: { args: { visitId: string; desk: Desk; note: string }; result: HandoffInfo }
  close_visit: { args: { visitId: string }; result: VisitRow }
  lawyer_queue: { args: null; result: Array<QueueItem> }
  lawyer_take_next: { args: null; result: QueueItem | null }
  log_consultation: { args: { input: ConsultationInput }; result: ConsultationRecord }
  hand_on_to_mediator: { args: { visitId: string; note: string }; result: HandoffInfo }
  consultation: { args: { id: string }; result: ConsultationRecord }
  mediator_queue: { args: null; result: Array<QueueItem> }
  mediator_take_next: { args: null; result: QueueItem | null }
  call_registration: { args: { queueLabel: string }; result: CallOutcome }
  print_queue_slip: { args: { visitId: string; size: string }; result: PrintedSlip }
  lawyer_call: { args: { queueLabel: string }; result: CallOutcome }
  mediator_call: { args: { queueLabel: string }; result: CallOutcome }
  log_mediation: { args: { input: MediationInput }; result: MediationRecord }
  mediation: { args: { id: string }; result: MediationRecord }
  pending_mediations: { args: null; result: Array<MediationRecord> }
  continue_mediation: { args: { input: ContinueMediationInput }; result: MediationRecord }
  record_confirmation_result: { args: { mediationId: string; result: string }; result: MediationRecord }
  add_mediation_follow_up: { args: { mediationId: string; input: FollowUpInput }; result: MediationRecord }
  add_mediation_investigation: { args: { mediationId: string; input: InvestigationInput }; result: MediationRecord }
  mediation_agreement: { args: { id: string }; result: MediationRecord }
  visitor_profile: { args: { visitorId: string }; result: VisitorProfile }
  save_visit_photo: { args: { visitId: string; visitorId: string; jpeg: string }; result: VisitorPhoto }
  visitor_photo: { args: { visitorId: string }; result: VisitorPhoto | null }
  list_staff: { args: null; result: Array<Staff> }
  add_staff: { args: { input: NewStaffInput }; result: Staff }
  set_staff_active: { args: { staffId: string; active: boolean }; result: Staff }
  reset_password: { args: { staffId: string; password: string }; result: null }
  set_staff_roles: { args: { staffId: string; roles: Array<Role> }; result: Staff }
  matter: { args: { matterId: string }; result: MatterPage }
  matter_of_visit: { args: { visitId: string }; result: string }
  record_matter_event: { args: { matterId: string; event: Record<string, unknown> }; result: MatterPage }
  classify_matter: { args: { matterId: string; input: ClassifyInput }; result: MatterPage }
  propose_route: { args: { matterId: string; input: ProposeRouteInput }; result: MatterPage }
  confirm_route: { args: { matterId: string; routeCode: string | null }; result: MatterPage }
  due_list: { args: null; result: DueList }
  backlog_dashboard: { args: null; result: BacklogBoard }
  backlog_cases: { args: { filter: BacklogFilter; offset: number }; result: BacklogCasePage }
  flag_backlog: { args: { matterId: string; input: FlagInput }; result: BacklogCase }
  set_backlog_leader: { args: { caseId: string; leader: string }; result: BacklogCase }
  note_backlog: { args: { caseId: string; input: NoteInput }; result: BacklogCase }
  clear_backlog: { args: { caseId: string; input: ClearInput }; result: BacklogCase }
  print_matter_notice: { args: { matterId: string; kind: string; docNo: string | null }; result: PrintedNotice }
  print_mediation_document: { args: { mediationId: string; kind: string }; result: PrintedNotice }
  open_notice: { args: { fileName: string }; result: string }
  print_visit_notice: { args: { visitId: string; kind: string; docNo: string | null }; result: PrintedNotice }
  statistics: { args: { from: string; to: string; hall: string | null }; result: StatsPage }
  rate_matters: { args: { from: string; to: string; hall: string | null; rate: string; after: string | null }; result: RateMattersPage }
  completeness: { args: { from: string; to: string; hall: string | null }; result: Completeness }
  suggest_export_path: { args: { kind: string; from: string; to: string; hall: string | null; month: string }; result: string }
  export_ledger: { args: { kind: string; from: string; to: string; hall: string | null; full: boolean; dest: string; overwrite: boolean }; result: WrittenFile }
  monthly_report: { args: { month: string; hall: string | null; dest: string; overwrite: boolean }; result: WrittenFile }
  open_export: { args: { path: string }; result: string }
  evaluate_matter: { args: { matterId: string; input: EvaluationInput }; result: EvaluationRecord }
  publicity: { args: { from: string; to: string; campaign: string | null }; result: PublicityPage }
  add_publicity: { args: { input: PublicityInput }; result: PublicityRecord }
  reveal_visitor_contact: { args: { visitorId: string; field: ContactField }; result: string }
  reveal_party_contact: { args: { mediationId: string; party: number; field: ContactField }; result: string }
  hall_settings: { args: null; result: HallSettings }
  set_committee_name: { args: { name: string }; result: HallSettings }
  my_settings: { args: null; result: MySettings }
  set_display_mode: { args: { mode: string }; result: MySettings }
  set_id_reader: { args: { settings: ReaderSettings }; result: MySettings }
  test_id_reader: { args: { settings: ReaderSettings }; result: CardFill }
  read_id_card: { args: null; result: CardFill }
  audit_entries: { args: { filter: AuditQuery }; result: Array<AuditRow> }
  sync_conflicts: { args: null; result: SyncConflicts }
  resolve_sync_conflict: { args: { id: string; choose: number | null; value: string | null }; result: Conflict }
  backup_store: { args: { dest: string }; result: BackupDone }
  backup_reminder: { args: null; result: BackupReminder | null }
  check_update: { args: null; result: UpdateCheck }
  install_update: { args: { backupDir: string }; result: InstallStarted }
  restore_store: { args: { backup: string; password: string }; result: RestoreDone }
  people_duplicates: { args: null; result: PeoplePage }
  merge_people: { args: { keep: string; other: string; reason: string }; result: MergeRecord }
  unmerge_people: { args: { mergeId: string; reason: string }; result: MergeRecord }
  correct_document: { args: { visitorId: string; idType: string; idNumber: string; reason: string }; result: PersonBrief }
  split_person: { args: { input: SplitInput }; result: SplitOutcome }
}

export type CommandName = keyof Commands
