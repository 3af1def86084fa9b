//! Matters (信访事项), the due lists, backlog cases (积案) and printed notices: thin commands over
//! xinfang-store and xinfang-print, in the same shape as [`crate::api`]. The core decides every
//! step, date and refusal; this module only passes today's date (China Standard Time) and the
//! holiday calendar, turns the form of a step into a [`MatterEvent`], and says which parts of
//! the page the logged-in role may use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use xinfang_core::FieldError;
use xinfang_core::backlog::{ClearInput, FlagInput, NoteInput};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::classify::{Classification, ClassifyInput};
use xinfang_core::date::parse_date_field;
use xinfang_core::matter::{
    EventKind, MAX_EXTENSION_DAYS, MatterEvent, MatterState, StepField, StepInput, step_fields,
};
use xinfang_core::notice::{self, NoticeData, NoticeKind};
use xinfang_core::staff::{Action, CONFIDENTIAL_MASK, Role, authorize};
use xinfang_core::visit::ValidVisit;
use xinfang_print::{PrintError, Printer};
use xinfang_store::{
    AllowedEvent, BACKLOG_PAGE_SIZE, BacklogCase, BacklogCasePage, BacklogDashboard, BacklogFilter,
    DueList, MatterView, PersonMatter, PrintedEntry, Registered, RouteProposal, Staff, Store,
    StoredNotice,
};

use crate::api::{AppState, check_confidential, open_confidential};
use crate::error::{CmdResult, CommandError, ErrorKind};

/// The folder of the data dir where a printed notice is written only while it is printed or
/// viewed (the notices are kept in the encrypted store; [`clear_printed`]).
pub const NOTICES_DIR: &str = "notices";

/// The desk's holiday calendar: the compiled-in years and those the city server handed out at
/// sync (as the CLI counts).
fn cal(store: &Store) -> HolidayCalendar {
    store.holiday_calendar()
}

/// What the logged-in staff member may do on the matter page (the commands check again).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MatterPermissions {
    pub record_event: bool,
    pub classify: bool,
    pub propose_route: bool,
    pub print: bool,
    pub view_backlog: bool,
    pub manage_backlog: bool,
    pub note_backlog: bool,
}

impl MatterPermissions {
    fn of(roles: &[Role]) -> Self {
        let may = |a| authorize(roles, a).is_ok();
        MatterPermissions {
            record_event: may(Action::RecordMatterEvent),
            classify: may(Action::ClassifyMatter),
            propose_route: may(Action::ProposeLegalRoute),
            print: may(Action::PrintMatterNotice),
            view_backlog: may(Action::ViewBacklog),
            manage_backlog: may(Action::ManageBacklog),
            note_backlog: may(Action::NoteBacklog),
        }
    }
}

/// A notice the matter's record can fill now: one print button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NoticeChoice {
    pub kind: NoticeKind,
    pub title: String,
}

/// The matter page: the matter, what may happen next, and what this role may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MatterPage {
    pub matter: MatterView,
    /// Every other step, for 其他环节: recording one shows why the core refuses it and what is
    /// allowed instead (e.g. a second 延期).
    pub other_events: Vec<AllowedEvent>,
    pub notices: Vec<NoticeChoice>,
    /// The notices printed from it on this desk, newest first, each with its 文号.
    pub printed: Vec<PrintedEntry>,
    /// The matter's open backlog case, when the role may see backlog cases.
    pub backlog_case: Option<BacklogCase>,
    pub may: MatterPermissions,
    /// The day the days left were counted from (YYYY-MM-DD, China Standard Time): the default
    /// date of the forms.
    pub today: String,
}

/// A notice printed to PDF: kept in the encrypted store, written to the data dir's `notices/`
/// folder only for the printer, until the next print, logout or lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrintedNotice {
    pub kind: NoticeKind,
    pub title: String,
    /// Full path of the file written for printing (removed at the next print, logout or lock).
    pub path: String,
    /// File name inside `notices/` (for [`AppState::open_notice`]).
    pub file_name: String,
    pub bytes: u64,
}

/// The backlog page: the dashboard, and what this role may do with the cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogBoard {
    pub dashboard: BacklogDashboard,
    pub may: MatterPermissions,
}

/// What a form of the lawyer's route proposal sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ProposeRouteInput {
    pub route_code: String,
    pub note: String,
    pub consultation_id: Option<String>,
}

// ---- a step's form into a MatterEvent -----------------------------------------------------

/// Reads the form of a step (`{"kind":"extend","at":"2026-11-26","days":30,…}`) into an event.
/// Empty or malformed dates and missing fields come back at their field, in Chinese; whether
/// the step may happen is for [`xinfang_core::matter::apply`] to say.
pub fn parse_event(form: Value) -> Result<MatterEvent, FieldError> {
    let Value::Object(mut map) = form else {
        return Err(FieldError::new(
            "event",
            "event_invalid",
            "环节内容格式不对，请在事项页面上选择环节并填写表单后提交。",
        ));
    };
    let kind: Option<EventKind> = map
        .get("kind")
        .and_then(|k| serde_json::from_value(k.clone()).ok());
    let Some(kind) = kind else {
        return Err(FieldError::new(
            "event",
            "event_kind_unknown",
            "没有选择要登记的环节（如受理、转送、延期），请点击相应按钮后再填写。",
        ));
    };
    // The step's own inputs (the list the form shows) name the fields in messages.
    let fields = step_fields(kind);
    let label_of = |name: &str| -> String {
        fields
            .iter()
            .find(|f| f.name == name)
            .map_or(name, StepField::name_zh)
            .to_owned()
    };
    for field in fields.iter().filter(|f| f.input == StepInput::Date) {
        let name = field.name.as_str();
        let Some(v) = map.get(name) else { continue };
        let text = match v {
            Value::Null => String::new(),
            Value::String(s) => s.trim().to_owned(),
            _ => "?".to_owned(),
        };
        if text.is_empty() {
            if field.optional {
                // E.g. 转送 without an agreed report date.
                map.remove(name);
                continue;
            }
            return Err(FieldError::new(
                name,
                "date_required",
                format!("请选择{}（年-月-日）。", field.name_zh()),
            ));
        }
        parse_date_field(name, field.name_zh(), &text)?;
        map.insert(name.to_owned(), Value::String(text));
    }
    let days_ok = map
        .get("days")
        .and_then(Value::as_u64)
        .is_some_and(|d| u32::try_from(d).is_ok());
    if kind == EventKind::Extend && !days_ok {
        return Err(FieldError::new(
            "days",
            "days_required",
            format!("请填写延长天数（1至{MAX_EXTENSION_DAYS}之间的整数）。"),
        ));
    }
    for list_field in ["participants", "panel"] {
        if let Some(Value::String(p)) = map.get(list_field) {
            // One name a line, or separated by 、，, as typed.
            let list: Vec<Value> = p
                .split(['\n', '、', '，', ',', '；', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect();
            map.insert(list_field.into(), Value::Array(list));
        }
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(field) => FieldError::new(
                field,
                "required",
                format!("请填写{}后再提交。", label_of(field)),
            ),
            None => FieldError::new(
                "event",
                "event_invalid",
                format!(
                    "「{}」的内容不完整或格式不对，请检查各项后重新提交。",
                    kind.label_zh()
                ),
            ),
        }
    })
}

// ---- printing -----------------------------------------------------------------------------

/// The printer (fonts loaded once, for notices and reports alike), with the hall's adjusted
/// templates (`<data dir>/templates`) searched first when that folder exists.
pub(crate) fn printer(data_dir: &Path) -> Result<Arc<Printer>, PrintError> {
    static PRINTER: Mutex<Option<(PathBuf, Arc<Printer>)>> = Mutex::new(None);
    let mut cached = PRINTER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((dir, p)) = cached.as_ref()
        && dir == data_dir
    {
        return Ok(p.clone());
    }
    let overrides = Some(data_dir.join("templates")).filter(|d| d.is_dir());
    let p = Arc::new(Printer::bundled(overrides.as_deref())?);
    *cached = Some((data_dir.to_path_buf(), p.clone()));
    Ok(p)
}

/// A printing error as the form shows it: a character the font lacks is an error of `field`;
/// anything else says that `document` (文书, 月报) was not made.
pub(crate) fn print_error(
    field: &'static str,
    document: &'static str,
) -> impl Fn(PrintError) -> CommandError {
    move |e| match e {
        PrintError::MissingGlyphs { .. } => {
            FieldError::new(field, "glyph_missing", e.to_string()).into()
        }
        other => {
            tracing::error!(error = %other, field, "printing failed");
            CommandError::new(
                ErrorKind::Internal,
                "print_failed",
                format!("{other}（{document}没有生成。）"),
            )
        }
    }
}

/// Opens `path` with the system's default program; `otherwise` tells the user what to do when
/// that fails. Returns the path.
pub(crate) fn open_with_system(path: &Path, otherwise: &str) -> CmdResult<String> {
    let opener = if cfg!(target_os = "windows") {
        "explorer"
    } else if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(path)
        .spawn()
        .map_err(|e| {
            CommandError::new(
                ErrorKind::Internal,
                "open_failed",
                format!("无法打开 {}：{e}。{otherwise}", path.display()),
            )
        })?;
    Ok(path.display().to_string())
}

fn io_error(path: &Path, e: &std::io::Error) -> CommandError {
    CommandError::new(
        ErrorKind::Internal,
        "notice_save_failed",
        format!(
            "无法保存文书到 {}：{e}。请检查数据目录是否可写、磁盘是否已满后重试。",
            path.display()
        ),
    )
}

/// `受理告知书-1a2b3c4d-20261126-093000.pdf`
fn notice_file_name(kind: NoticeKind, matter_id: &str, now: DateTime<FixedOffset>) -> String {
    let short: String = matter_id
        .chars()
        .rev()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!(
        "{}-{short}-{}.pdf",
        kind.title_zh(),
        now.format("%Y%m%d-%H%M%S")
    )
}

// ---- use cases: the desk and the CLI call these with the logged-in staff member ------------
// Each checks the role itself, so an adapter cannot forget it, and checks 检举控告
// confidentiality before anything is read or written.

fn require(me: &Staff, action: Action) -> CmdResult<()> {
    authorize(&me.roles, action).map_err(CommandError::forbidden)
}

/// Refuses a step on a confidential matter to whom may not see it, before anything is written.
fn may_touch(store: &Store, me: &Staff, id: &str) -> CmdResult<()> {
    check_confidential(me, &store.matter_owner(id)?)
}

/// A person's matters (by document number), to attach a repeat visit to one (重复访); a
/// 检举控告 matter only for whom may see it (the others do not learn it exists).
pub fn person_matters(store: &Store, me: &Staff, id_number: &str) -> CmdResult<Vec<PersonMatter>> {
    require(me, Action::RegisterVisit)?;
    let mut list = store.matters_of_person(id_number)?;
    list.retain(|m| !m.confidential || may_touch(store, me, &m.matter_id).is_ok());
    Ok(list)
}

/// Registers a visit as a repeat visit of `matter_id` (no new matter; under 不再受理 the visit
/// is recorded and carries the refusal for the visitor, `xinfang_core::matter::
/// repeat_visit_refusal`).
pub fn register_repeat_visit(
    store: &mut Store,
    me: &Staff,
    visit: &ValidVisit,
    matter_id: &str,
    hall_label: Option<&str>,
) -> CmdResult<Registered> {
    require(me, Action::RegisterVisit)?;
    // The matter as typed in a visit file (`xinfang visit add`): its number, or its id.
    let matter_id = &find_matter(store, matter_id)?;
    may_touch(store, me, matter_id)?;
    Ok(store.register_repeat_visit_labelled(visit, &me.id, matter_id, hall_label)?)
}

/// A matter with its deadlines counted from `today`. A confidential (检举控告) matter only for
/// the registering clerk, supervisors and admins, and every view of it audited (with `detail`,
/// where it was seen) before it is returned.
pub fn view_matter(
    store: &Store,
    me: &Staff,
    id: &str,
    today: NaiveDate,
    detail: &str,
) -> CmdResult<MatterView> {
    require(me, Action::ViewMatter)?;
    let owner = store.matter_owner(id)?;
    open_confidential(store, me, &owner, "matter", id, detail)?;
    Ok(store.matter(id, today, &cal(store))?)
}

/// The id of the matter a typed 事项编号 (or an id) names; not found says so with what was typed
/// when it was a number.
pub fn find_matter(store: &Store, number_or_id: &str) -> CmdResult<String> {
    store.find_matter(number_or_id)?.ok_or_else(|| {
        let t = number_or_id.trim();
        let what = if t.is_empty() || xinfang_core::numbering::is_record_id(t) {
            "该信访事项".to_owned()
        } else {
            format!(
                "事项编号为“{}”的信访事项，请核对编号",
                t.chars().take(40).collect::<String>()
            )
        };
        xinfang_store::StoreError::NotFound(what).into()
    })
}

/// A matter's 事项编号 (`沁水-2026-11-B0017`): shown where a matter is named, for whoever may
/// view matters (the number reveals nothing of a 检举控告).
pub fn matter_number(store: &Store, me: &Staff, matter_id: &str) -> CmdResult<String> {
    require(me, Action::ViewMatter)?;
    Ok(store
        .record_number("matter", matter_id)?
        .unwrap_or_default())
}

/// The matter registered with a visit: only an id, refused for a confidential visit to whom
/// may not see it (the matter itself is checked and audited when opened).
pub fn matter_of_visit(store: &Store, me: &Staff, visit_id: &str) -> CmdResult<String> {
    require(me, Action::ViewMatter)?;
    check_confidential(me, &store.visit_owner(visit_id)?)?;
    Ok(store.matter_of_visit(visit_id)?)
}

/// Records one step; whether it may happen is the core's to say, and a refusal writes nothing.
pub fn record_event(
    store: &mut Store,
    me: &Staff,
    id: &str,
    event: &MatterEvent,
) -> CmdResult<MatterState> {
    require(me, Action::RecordMatterEvent)?;
    may_touch(store, me, id)?;
    let state = store.record_event(id, event, &me.id, &cal(store))?;
    tracing::info!(matter_id = id, kind = ?event.kind(), "matter step recorded");
    Ok(state)
}

/// Sets kind, category and (claims only) legal route.
pub fn classify(
    store: &mut Store,
    me: &Staff,
    id: &str,
    input: &ClassifyInput,
) -> CmdResult<Classification> {
    require(me, Action::ClassifyMatter)?;
    may_touch(store, me, id)?;
    let reference = store.reference_data();
    Ok(store.classify_matter(id, input, &me.id, &reference)?)
}

/// The lawyer proposes a legal route for a claim; the clerk confirms it.
pub fn propose_route(
    store: &mut Store,
    me: &Staff,
    id: &str,
    input: &ProposeRouteInput,
) -> CmdResult<RouteProposal> {
    require(me, Action::ProposeLegalRoute)?;
    may_touch(store, me, id)?;
    let reference = store.reference_data();
    Ok(store.propose_route(
        id,
        &input.route_code,
        &input.note,
        input.consultation_id.as_deref(),
        &me.id,
        &reference,
    )?)
}

/// The clerk confirms the proposed route, or sets `route_code` instead when given.
pub fn confirm_route(
    store: &mut Store,
    me: &Staff,
    id: &str,
    route_code: Option<&str>,
) -> CmdResult<Classification> {
    require(me, Action::ClassifyMatter)?;
    may_touch(store, me, id)?;
    let reference = store.reference_data();
    Ok(store.confirm_route(id, route_code, &me.id, &reference)?)
}

/// A matter notice (`kind` by code or title) filled from the record. Printing shows the whole
/// matter: a confidential one is checked and the print audited before the data is returned.
/// `doc_no`: the 文号 typed at printing; it replaces the one the record has (the acceptance
/// notice's), and is checked for its shape first.
pub fn matter_notice(
    store: &Store,
    me: &Staff,
    id: &str,
    kind: &str,
    doc_no: Option<&str>,
    today: NaiveDate,
) -> CmdResult<NoticeData> {
    require(me, Action::PrintMatterNotice)?;
    require(me, Action::ViewMatter)?;
    let kind = NoticeKind::parse(kind)
        .filter(|k| k.is_matter_notice())
        .ok_or_else(|| {
            FieldError::new(
                "kind",
                "notice_kind_unknown",
                format!("文书种类“{kind}”不是信访事项的文书，请从事项页面的打印按钮中选择。"),
            )
        })?;
    let owner = store.matter_owner(id)?;
    let detail = format!("打印{}", kind.title_zh());
    open_confidential(store, me, &owner, "matter", id, &detail)?;
    let cal = cal(store);
    let doc_no = doc_no.map(notice::check_doc_no).transpose()?;
    let (facts, state) = store.matter_facts(id, &cal)?;
    let mut data =
        notice::matter_notice(kind, &facts, &state, &store.reference_data(), &cal, today)?;
    // The 文号 typed now; else the one this notice was last printed with (a reprint keeps it).
    match doc_no.filter(|n| !n.is_empty()) {
        Some(no) => data.doc_no = no,
        None => {
            if let Some(no) = store.last_doc_no(id, kind.code())? {
                data.doc_no = no;
            }
        }
    }
    Ok(data)
}

/// A notice of one visit (`kind` by code or title; the 越级走访告知书) filled from the visit as
/// registered, with the visit's matter (the printed notice is kept under it). Whom the print
/// permission of the kind allows (`NoticeKind::action`); a 检举控告 visit only for whom may see
/// it, the print audited first.
pub fn visit_notice(
    store: &Store,
    me: &Staff,
    visit_id: &str,
    kind: &str,
    doc_no: Option<&str>,
    today: NaiveDate,
) -> CmdResult<(NoticeData, String)> {
    let kind = NoticeKind::parse(kind)
        .filter(|k| k.is_visit_notice())
        .ok_or_else(|| {
            FieldError::new(
                "kind",
                "notice_kind_unknown",
                format!("文书种类“{kind}”不是来访登记的文书，可打印的是越级走访告知书。"),
            )
        })?;
    require(me, kind.action())?;
    require(me, Action::ViewVisit)?;
    let doc_no = doc_no.map(notice::check_doc_no).transpose()?;
    // A 来访编号 as printed (沁水-2026-11-05-B017) names its visit, as an id does.
    let found = store.find_visit(visit_id)?;
    let visit_id = found.as_deref().unwrap_or(visit_id);
    let owner = store.visit_owner(visit_id)?;
    open_confidential(
        store,
        me,
        &owner,
        "visit",
        visit_id,
        &format!("打印{}", kind.title_zh()),
    )?;
    let facts = store.visit_facts(visit_id)?;
    let mut data = notice::visit_notice(kind, &facts, store.reference_data().regions, today)?;
    if let Some(no) = doc_no.filter(|n| !n.is_empty()) {
        data.doc_no = no;
    }
    Ok((data, store.matter_of_visit(visit_id)?))
}

/// Overdue limits and limits due within 3 days. The store leaves out the appeal and names of
/// confidential matters; the mask says why.
pub fn due_list(store: &Store, me: &Staff, today: NaiveDate) -> CmdResult<DueList> {
    require(me, Action::ViewDueList)?;
    let mut list = store.due_list(today, &cal(store))?;
    for item in list.overdue.iter_mut().chain(list.due_soon.iter_mut()) {
        if item.confidential {
            item.appeal = CONFIDENTIAL_MASK.to_owned();
        }
    }
    Ok(list)
}

/// One backlog case with its notes, overdue as of `today`.
pub fn backlog_case(
    store: &Store,
    me: &Staff,
    case_id: &str,
    today: NaiveDate,
) -> CmdResult<BacklogCase> {
    require(me, Action::ViewBacklog)?;
    Ok(store.backlog_case(&case_named(store, case_id)?, today)?)
}

/// The case a 事项编号 names (the matter's open case, else its latest), or `typed` as a case id.
fn case_named(store: &Store, typed: &str) -> CmdResult<String> {
    let case = match store.find_matter(typed)? {
        Some(matter) => store.backlog_case_of(&matter)?,
        None => None,
    };
    Ok(case.unwrap_or_else(|| typed.trim().to_owned()))
}

pub fn backlog_cases(
    store: &Store,
    me: &Staff,
    filter: BacklogFilter,
    today: NaiveDate,
) -> CmdResult<Vec<BacklogCase>> {
    require(me, Action::ViewBacklog)?;
    Ok(store.backlog_cases(filter, today)?)
}

/// A page of the backlog list from `offset`, [`BACKLOG_PAGE_SIZE`] cases long.
pub fn backlog_page(
    store: &Store,
    me: &Staff,
    filter: BacklogFilter,
    offset: u32,
    today: NaiveDate,
) -> CmdResult<BacklogCasePage> {
    require(me, Action::ViewBacklog)?;
    Ok(store.backlog_cases_page(filter, today, offset as usize, BACKLOG_PAGE_SIZE)?)
}

pub fn backlog_dashboard(
    store: &Store,
    me: &Staff,
    today: NaiveDate,
) -> CmdResult<BacklogDashboard> {
    require(me, Action::ViewBacklog)?;
    Ok(store.backlog_dashboard(today)?)
}

/// Flags a matter as a backlog case (积案); returns the case.
pub fn flag_backlog(
    store: &mut Store,
    me: &Staff,
    matter_id: &str,
    input: &FlagInput,
    today: NaiveDate,
) -> CmdResult<BacklogCase> {
    require(me, Action::ManageBacklog)?;
    let id = store.flag_backlog(matter_id, input, &me.id)?;
    Ok(store.backlog_case(&id, today)?)
}

/// Hands an open case to another leader.
pub fn set_backlog_leader(
    store: &mut Store,
    me: &Staff,
    case_id: &str,
    leader: &str,
    today: NaiveDate,
) -> CmdResult<BacklogCase> {
    require(me, Action::ManageBacklog)?;
    let case_id = &case_named(store, case_id)?;
    store.set_backlog_leader(case_id, leader, &me.id)?;
    Ok(store.backlog_case(case_id, today)?)
}

/// Adds a progress note.
pub fn note_backlog(
    store: &mut Store,
    me: &Staff,
    case_id: &str,
    input: &NoteInput,
    today: NaiveDate,
) -> CmdResult<BacklogCase> {
    require(me, Action::NoteBacklog)?;
    let case_id = &case_named(store, case_id)?;
    store.note_backlog(case_id, input, &me.id)?;
    Ok(store.backlog_case(case_id, today)?)
}

/// Records that a case was cleared (化解销号).
pub fn clear_backlog(
    store: &mut Store,
    me: &Staff,
    case_id: &str,
    input: &ClearInput,
    today: NaiveDate,
) -> CmdResult<BacklogCase> {
    require(me, Action::ManageBacklog)?;
    let case_id = &case_named(store, case_id)?;
    store.clear_backlog(case_id, input, &me.id)?;
    Ok(store.backlog_case(case_id, today)?)
}

/// The matter page: the matter (checked and audited), what may happen next, and what this
/// role may do.
fn page(store: &Store, me: &Staff, id: &str, today: NaiveDate) -> CmdResult<MatterPage> {
    let matter = view_matter(store, me, id, today, "事项页面")?;
    let may = MatterPermissions::of(&me.roles);
    let other_events = EventKind::ALL
        .into_iter()
        .filter(|k| !matter.allowed_events.iter().any(|a| a.kind == *k))
        .map(|k| AllowedEvent {
            kind: k,
            label: k.label_zh().to_owned(),
        })
        .collect();
    let notices = matter
        .notices
        .iter()
        .map(|k| NoticeChoice {
            kind: *k,
            title: k.title_zh().to_owned(),
        })
        .collect();
    let backlog_case = match store.open_backlog_case_of(id)? {
        Some(case) if may.view_backlog => Some(store.backlog_case(&case, today)?),
        _ => None,
    };
    let printed = if may.print {
        store.printed_notices(id)?
    } else {
        Vec::new()
    };
    Ok(MatterPage {
        matter,
        other_events,
        notices,
        printed,
        backlog_case,
        may,
        today: today.to_string(),
    })
}

fn date_or(d: &str, today: NaiveDate) -> String {
    if d.trim().is_empty() {
        today.to_string()
    } else {
        d.to_owned()
    }
}

impl AppState {
    /// A matter's page by its 事项编号 as printed or typed (`沁水-2026-11-B0017`), or by its id
    /// (the links of the lists).
    pub fn matter(&self, number_or_id: &str) -> CmdResult<MatterPage> {
        self.act(Action::ViewMatter, |store, me| {
            let id = find_matter(store, number_or_id)?;
            page(store, me, &id, self.local_date())
        })
    }

    /// The matter registered with a visit (every registered visit has one).
    pub fn matter_of_visit(&self, visit_id: &str) -> CmdResult<String> {
        self.act(Action::ViewMatter, |store, me| {
            matter_of_visit(store, me, visit_id)
        })
    }

    /// Records one step from its form; a refusal writes nothing and names the field.
    pub fn record_matter_event(&self, matter_id: &str, event: Value) -> CmdResult<MatterPage> {
        self.act(Action::RecordMatterEvent, |store, me| {
            // The confidentiality refusal comes before any remark about the form.
            may_touch(store, me, matter_id)?;
            let event = parse_event(event)?;
            record_event(store, me, matter_id, &event)?;
            page(store, me, matter_id, self.local_date())
        })
    }

    pub fn classify_matter(&self, matter_id: &str, input: ClassifyInput) -> CmdResult<MatterPage> {
        self.act(Action::ClassifyMatter, |store, me| {
            classify(store, me, matter_id, &input)?;
            page(store, me, matter_id, self.local_date())
        })
    }

    /// The lawyer proposes a legal route; the clerk confirms it.
    pub fn propose_route(
        &self,
        matter_id: &str,
        input: ProposeRouteInput,
    ) -> CmdResult<MatterPage> {
        self.act(Action::ProposeLegalRoute, |store, me| {
            propose_route(store, me, matter_id, &input)?;
            page(store, me, matter_id, self.local_date())
        })
    }

    /// The clerk confirms the proposed route, or sets `route_code` instead when given.
    pub fn confirm_route(
        &self,
        matter_id: &str,
        route_code: Option<String>,
    ) -> CmdResult<MatterPage> {
        self.act(Action::ClassifyMatter, |store, me| {
            confirm_route(store, me, matter_id, route_code.as_deref())?;
            page(store, me, matter_id, self.local_date())
        })
    }

    /// Overdue limits and limits due within 3 days, for the supervisor's morning.
    pub fn due_list(&self) -> CmdResult<DueList> {
        self.act(Action::ViewDueList, |store, me| {
            due_list(store, me, self.local_date())
        })
    }

    pub fn backlog_dashboard(&self) -> CmdResult<BacklogBoard> {
        self.act(Action::ViewBacklog, |store, me| {
            Ok(BacklogBoard {
                dashboard: backlog_dashboard(store, me, self.local_date())?,
                may: MatterPermissions::of(&me.roles),
            })
        })
    }

    /// A page of the backlog list: a city's backlog can hold thousands of cases.
    pub fn backlog_cases(&self, filter: BacklogFilter, offset: u32) -> CmdResult<BacklogCasePage> {
        self.act(Action::ViewBacklog, |store, me| {
            backlog_page(store, me, filter, offset, self.local_date())
        })
    }

    /// Flags a matter as a backlog case (an empty flag date is today).
    pub fn flag_backlog(&self, matter_id: &str, input: FlagInput) -> CmdResult<BacklogCase> {
        self.act(Action::ManageBacklog, |store, me| {
            let today = self.local_date();
            let input = FlagInput {
                flagged_on: date_or(&input.flagged_on, today),
                ..input
            };
            flag_backlog(store, me, matter_id, &input, today)
        })
    }

    pub fn set_backlog_leader(&self, case_id: &str, leader: &str) -> CmdResult<BacklogCase> {
        self.act(Action::ManageBacklog, |store, me| {
            set_backlog_leader(store, me, case_id, leader, self.local_date())
        })
    }

    /// Adds a progress note (an empty date is today).
    pub fn note_backlog(&self, case_id: &str, input: NoteInput) -> CmdResult<BacklogCase> {
        self.act(Action::NoteBacklog, |store, me| {
            let today = self.local_date();
            let input = NoteInput {
                noted_on: date_or(&input.noted_on, today),
                ..input
            };
            note_backlog(store, me, case_id, &input, today)
        })
    }

    /// Records that a case was cleared, 化解销号 (an empty date is today).
    pub fn clear_backlog(&self, case_id: &str, input: ClearInput) -> CmdResult<BacklogCase> {
        self.act(Action::ManageBacklog, |store, me| {
            let today = self.local_date();
            let input = ClearInput {
                cleared_on: date_or(&input.cleared_on, today),
                ..input
            };
            clear_backlog(store, me, case_id, &input, today)
        })
    }

    /// Fills a matter notice from the record (the store lock is held only for rendering's
    /// input), renders it to PDF with xinfang-print and keeps it in the encrypted store. The
    /// file handed to the printer is written to `<data dir>/notices/` only for that, and
    /// removed at the next print, at logout, at the idle lock and when the app starts
    /// ([`clear_printed`]; issue 15, item 9).
    pub fn print_matter_notice(
        &self,
        matter_id: &str,
        kind: &str,
        doc_no: Option<&str>,
    ) -> CmdResult<PrintedNotice> {
        let today = self.local_date();
        let data = self.act(Action::PrintMatterNotice, |store, me| {
            matter_notice(store, me, matter_id, kind, doc_no, today)
        })?;
        let printed = self.keep_printed(&data, Action::PrintMatterNotice, matter_id, matter_id)?;
        tracing::info!(matter_id, kind = data.kind.code(), "notice printed");
        Ok(printed)
    }

    /// Prints one of a mediation's documents (协议书, 口头协议登记表, 调解记录, 回访记录) like a
    /// matter notice: rendered from the record ([`crate::contact::mediation_document`]: the
    /// mediator who recorded it or a supervisor, audited), kept in the encrypted store under the
    /// mediation's id, and written out only for the printer.
    pub fn print_mediation_document(
        &self,
        mediation_id: &str,
        kind: &str,
    ) -> CmdResult<PrintedNotice> {
        let today = self.local_date();
        let kind = NoticeKind::parse(kind)
            .filter(|k| k.is_mediation_document())
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    "notice_kind_unknown",
                    format!("文书种类“{kind}”不是人民调解文书，请从调解记录的打印按钮中选择。"),
                )
            })?;
        let data = self.act(Action::PrintMediationAgreement, |store, me| {
            crate::contact::mediation_document(store, me, mediation_id, kind, today)
        })?;
        let printed = self.keep_printed(
            &data,
            Action::PrintMediationAgreement,
            mediation_id,
            mediation_id,
        )?;
        tracing::info!(kind = data.kind.code(), "mediation document printed");
        Ok(printed)
    }

    /// Prints a notice of one visit (the 越级走访告知书, offered after registering a 越级访):
    /// filled by [`visit_notice`], rendered and kept in the encrypted store under the visit's
    /// matter, written out for the printer as [`Self::print_matter_notice`] does.
    pub fn print_visit_notice(
        &self,
        visit_id: &str,
        kind: &str,
        doc_no: Option<&str>,
    ) -> CmdResult<PrintedNotice> {
        let today = self.local_date();
        let (data, matter_id) = self.act(Action::PrintMatterNotice, |store, me| {
            visit_notice(store, me, visit_id, kind, doc_no, today)
        })?;
        let printed = self.keep_printed(&data, Action::PrintMatterNotice, &matter_id, visit_id)?;
        tracing::info!(visit_id, kind = data.kind.code(), "visit notice printed");
        Ok(printed)
    }

    /// Renders a filled notice, keeps it in the encrypted store under `kept_under` (the matter or
    /// mediation it is opened by) and writes it out for the printer; `name_key` goes into the
    /// file name. `action` is the print permission of the notice.
    fn keep_printed(
        &self,
        data: &NoticeData,
        action: Action,
        kept_under: &str,
        name_key: &str,
    ) -> CmdResult<PrintedNotice> {
        let pdf = printer(self.data_dir())
            .and_then(|p| p.render(data))
            .map_err(print_error("notice", "文书"))?;
        let file_name = notice_file_name(data.kind, name_key, self.now_cst());
        let kept = StoredNotice {
            file_name: file_name.clone(),
            matter_id: kept_under.to_owned(),
            kind: data.kind.code().to_owned(),
            pdf,
            doc_no: data.doc_no.clone(),
        };
        self.act(action, |store, me| Ok(store.save_notice(&kept, &me.id)?))?;
        let path = write_for_printing(self.data_dir(), &kept)?;
        Ok(PrintedNotice {
            kind: data.kind,
            title: data.kind.title_zh().to_owned(),
            path: path.display().to_string(),
            file_name,
            bytes: kept.pdf.len() as u64,
        })
    }

    /// Opens a printed notice (by its file name) in the system's PDF viewer: taken from the
    /// encrypted store, checked like the matter itself (a 检举控告's notice only for whom may see
    /// the report, audited), and written out only for the viewer.
    pub fn open_notice(&self, file_name: &str) -> CmdResult<String> {
        let notice = self.guarded(crate::api::Access::LoggedIn, |store, me| {
            let not_found = || {
                CommandError::new(
                    ErrorKind::NotFound,
                    "not_found",
                    format!("没有找到文书 {file_name}，请重新打印。"),
                )
            };
            // Who may open it is checked before it is opened (a 检举控告's notice is sealed to
            // its readers, and only they can open it anyway): a matter's notice as the matter,
            // a mediation's document as printing it.
            let (source_id, kind) = store.notice_source(file_name)?.ok_or_else(not_found)?;
            if NoticeKind::parse(&kind).is_some_and(NoticeKind::is_mediation_document) {
                authorize(&me.roles, Action::PrintMediationAgreement)
                    .map_err(CommandError::forbidden)?;
                crate::contact::mediation_agreement(store, me, &source_id)?;
            } else {
                authorize(&me.roles, Action::PrintMatterNotice).map_err(CommandError::forbidden)?;
                let owner = store.matter_owner(&source_id)?;
                open_confidential(
                    store,
                    me,
                    &owner,
                    "matter",
                    &source_id,
                    &format!("打开文书 {file_name}"),
                )?;
            }
            store.notice(file_name)?.ok_or_else(not_found)
        })?;
        let path = write_for_printing(self.data_dir(), &notice)?;
        open_with_system(&path, "请在文件管理器中打开该文件打印。")
    }
}

/// Removes the files written for printing (`<data dir>/notices/*.pdf`): the notices themselves
/// are in the encrypted store. Called at logout, at the idle lock, at login and at start.
pub fn clear_printed(data_dir: &Path) {
    let dir = data_dir.join(NOTICES_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "pdf") && std::fs::remove_file(&p).is_err() {
            tracing::warn!("a printed notice file could not be removed");
        }
    }
}

/// Writes `notice` for the printer or viewer, alone in `<data dir>/notices/` (owner only).
fn write_for_printing(data_dir: &Path, notice: &StoredNotice) -> CmdResult<PathBuf> {
    write_pdf_for_printing(data_dir, &notice.file_name, &notice.pdf)
}

/// Writes a PDF named `file_name` for the printer or viewer, alone in `<data dir>/notices/`
/// (owner only; removed at the next print, logout or lock).
pub(crate) fn write_pdf_for_printing(
    data_dir: &Path,
    file_name: &str,
    pdf: &[u8],
) -> CmdResult<PathBuf> {
    let dir = data_dir.join(NOTICES_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, &e))?;
    clear_printed(data_dir);
    let path = file_in_name(&dir, file_name).ok_or_else(|| {
        CommandError::new(
            ErrorKind::NotFound,
            "not_found",
            format!("没有找到文书 {file_name}，请重新打印。"),
        )
    })?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path).map_err(|e| io_error(&path, &e))?;
    std::io::Write::write_all(&mut f, pdf).map_err(|e| io_error(&path, &e))?;
    Ok(path)
}

/// `dir/name` when `name` is a plain `.pdf` file name (no path parts).
fn file_in_name(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = Path::new(name).file_name().is_some_and(|n| n == name) && name.ends_with(".pdf");
    plain.then(|| dir.join(name))
}

#[cfg(test)]
mod tests {
    use chrono::{Days, NaiveDate};
    use serde_json::json;
    use xinfang_core::deadline::deadline;
    use xinfang_core::id::resident_id_check_char;
    use xinfang_core::matter::{DeadlineKind, MatterStatus};
    use xinfang_core::visit::{VisitInput, VisitorInput};

    use super::*;
    use crate::api::{NewStaffInput, SetupInput};

    const PW: &str = "test-pass-2026";

    fn id(birth: &str, seq: &str) -> String {
        let first17 = format!("140521{birth}{seq}");
        format!("{first17}{}", resident_id_check_char(&first17).unwrap())
    }

    /// A hall with admin, clerk (王接待) and supervisor (李科长), set up through the commands.
    fn hall(dir: &Path) -> AppState {
        let state = AppState::new(dir.join("data"), 15);
        state
            .setup(SetupInput {
                hall_code: "140521".into(),
                admin_username: "admin".into(),
                admin_name: "管理员".into(),
                password: PW.into(),
                password_repeat: PW.into(),
            })
            .unwrap();
        state.login("admin", PW).unwrap();
        for (user, name, role) in [
            ("clerk", "王接待", Role::Clerk),
            ("supervisor", "李科长", Role::Supervisor),
        ] {
            state
                .add_staff(NewStaffInput {
                    username: user.into(),
                    display_name: name.into(),
                    roles: vec![role],
                    password: PW.into(),
                })
                .unwrap();
        }
        state.logout();
        state
    }

    /// Registers a claim as the clerk; returns its matter id.
    fn register(state: &AppState, visited_at: &str) -> String {
        state.login("clerk", PW).unwrap();
        let r = state
            .register_visit(VisitInput {
                visited_at: visited_at.into(),
                visitors: vec![VisitorInput {
                    name: "张三".into(),
                    id_number: id("19800115", "013"),
                    ..Default::default()
                }],
                appeal: "拖欠工资三个月，要求支付。".into(),
                appeal_kind: "claim".into(),
                category: "劳动和社会保障".into(),
                ..Default::default()
            })
            .unwrap();
        let matter = state.matter_of_visit(&r.registered.visit_id).unwrap();
        assert_eq!(matter, r.registered.matter_id);
        matter
    }

    fn conclusion_due(p: &MatterPage) -> NaiveDate {
        p.matter
            .deadlines
            .iter()
            .find(|d| d.deadline.kind == DeadlineKind::Conclusion)
            .expect("an accepted matter has a conclusion limit")
            .deadline
            .due
    }

    #[test]
    fn accept_extend_once_and_a_second_extension_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = hall(dir.path());
        let m = register(&state, "");
        let p = state.matter(&m).unwrap();
        assert_eq!(p.matter.status, MatterStatus::Registered);
        let allowed: Vec<EventKind> = p.matter.allowed_events.iter().map(|a| a.kind).collect();
        assert!(allowed.contains(&EventKind::Accept), "{allowed:?}");
        assert!(p.other_events.iter().any(|a| a.kind == EventKind::Extend));
        assert!(p.may.record_event && p.may.classify && !p.may.manage_backlog);
        let today: NaiveDate = p.today.parse().unwrap();

        let p = state
            .record_matter_event(
                &m,
                json!({"kind": "accept", "at": p.today, "notice_no": ""}),
            )
            .unwrap();
        assert_eq!(p.matter.status_label, "受理");
        assert_eq!(
            conclusion_due(&p),
            deadline(today, 60, &HolidayCalendar::bundled()).due
        );
        assert_eq!(p.matter.events[0].by_name, "王接待");
        assert!(p.notices.iter().any(|n| n.title == "受理告知书"));

        let extend = json!({"kind": "extend", "at": p.today, "days": 30,
            "approver": "李局长", "reason": "案情复杂，需要调查核实。"});
        let p = state.record_matter_event(&m, extend.clone()).unwrap();
        assert_eq!(
            conclusion_due(&p),
            deadline(today, 90, &HolidayCalendar::bundled()).due
        );
        assert!(
            !p.matter
                .allowed_events
                .iter()
                .any(|a| a.kind == EventKind::Extend)
        );
        assert!(p.other_events.iter().any(|a| a.kind == EventKind::Extend));

        let e = state.record_matter_event(&m, extend).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation);
        assert_eq!(
            (e.field.as_deref(), e.code.as_str()),
            (Some("event"), "extension_twice")
        );
        assert!(e.message.contains("只能延期一次"), "{}", e.message);
        // Nothing was written by the refusal.
        assert_eq!(state.matter(&m).unwrap().matter.events.len(), 2);
    }

    #[test]
    fn a_steps_form_errors_name_their_field() {
        let field = |v: Value| parse_event(v).unwrap_err();
        let e = field(json!({"kind": "accept", "at": ""}));
        assert_eq!((e.field.as_str(), e.code.as_str()), ("at", "date_required"));
        assert!(e.message.contains("日期"));
        let e = field(json!({"kind": "accept", "at": "2026/11/26"}));
        assert_eq!((e.field.as_str(), e.code.as_str()), ("at", "date_format"));
        let e = field(json!({"kind": "extend", "at": "2026-11-26", "days": null,
            "approver": "李局长", "reason": "复杂"}));
        assert_eq!(e.field, "days");
        let e = field(
            json!({"kind": "assign", "at": "2026-11-26", "to_authority": "县人社局",
            "report_back_by": ""}),
        );
        assert_eq!(e.field, "report_back_by");
        let e = field(json!({"kind": "conclude", "at": "2026-11-26"}));
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("opinion_summary", "required")
        );
        assert!(e.message.contains("处理意见摘要"));
        assert_eq!(
            field(json!({"at": "2026-11-26"})).code,
            "event_kind_unknown"
        );
        // A forward without a report date, and hearing participants as typed.
        assert!(matches!(
            parse_event(json!({"kind": "forward", "at": "2026-11-26",
                "to_authority": "县人社局", "report_back_by": ""})),
            Ok(MatterEvent::Forward {
                report_back_by: None,
                ..
            })
        ));
        match parse_event(
            json!({"kind": "hearing", "notice_on": "", "date": "2026-11-26", "chair": "王主任",
            "panel": "赵律师，钱代表", "participants": "张三、李四\n县人社局代表",
            "record": "记录", "opinion": "维持"}),
        ) {
            Ok(MatterEvent::Hearing {
                participants,
                panel,
                notice_on,
                ..
            }) => {
                assert_eq!(participants, ["张三", "李四", "县人社局代表"]);
                assert_eq!(panel, ["赵律师", "钱代表"]);
                assert_eq!(notice_on, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_due_list_shows_an_old_matter_overdue() {
        let dir = tempfile::tempdir().unwrap();
        let state = hall(dir.path());
        let old = state.local_date().checked_sub_days(Days::new(40)).unwrap();
        let m = register(&state, &format!("{old} 09:30"));
        register(&state, "");
        let due = state.due_list().unwrap();
        let item = due
            .overdue
            .iter()
            .find(|i| i.matter_id == m)
            .expect("the matter registered 40 days ago is overdue");
        assert_eq!(item.deadline_kind, DeadlineKind::Disposition);
        assert!(item.days_left < 0);
        assert_eq!(due.overdue.len(), 1, "today's matter is not overdue");
    }

    #[test]
    fn backlog_flag_note_clear_and_dashboard() {
        let dir = tempfile::tempdir().unwrap();
        let state = hall(dir.path());
        let m = register(&state, "");
        let flag = FlagInput {
            leader: "李副县长".into(),
            plan: "约谈用人单位，督促支付。".into(),
            target_date: String::new(),
            flagged_on: String::new(),
        };
        let e = state.flag_backlog(&m, flag.clone()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden, "a clerk may not flag");
        state.login("supervisor", PW).unwrap();
        let case = state.flag_backlog(&m, flag).unwrap();
        assert!(case.open);
        assert_eq!(case.flagged_on, state.local_date());
        let p = state.matter(&m).unwrap();
        assert_eq!(
            p.backlog_case.as_ref().map(|c| c.id.as_str()),
            Some(case.id.as_str())
        );

        state.login("clerk", PW).unwrap();
        let e = state
            .note_backlog(&case.id, NoteInput::default())
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation);
        assert_eq!(e.field.as_deref(), Some("note"));
        let c = state
            .note_backlog(
                &case.id,
                NoteInput {
                    noted_on: String::new(),
                    note: "已约谈用人单位。".into(),
                },
            )
            .unwrap();
        assert_eq!(c.notes.len(), 1);
        let board = state.backlog_dashboard().unwrap();
        assert_eq!(
            (
                board.dashboard.summary.totals.open,
                board.may.manage_backlog
            ),
            (1, false)
        );

        state.login("supervisor", PW).unwrap();
        let c = state
            .clear_backlog(
                &case.id,
                ClearInput {
                    cleared_on: String::new(),
                    summary: "工资已全部支付。".into(),
                },
            )
            .unwrap();
        assert!(!c.open);
        let board = state.backlog_dashboard().unwrap();
        let t = &board.dashboard.summary.totals;
        assert_eq!((t.total, t.cleared, t.clearance_rate), (1, 1, Some(100.0)));
        assert!(board.may.manage_backlog);
        assert_eq!(
            state.backlog_cases(BacklogFilter::Open, 0).unwrap().total,
            0
        );
        let cleared = state.backlog_cases(BacklogFilter::Cleared, 0).unwrap();
        assert_eq!((cleared.total, cleared.cases.len()), (1, 1));
    }

    #[test]
    fn a_printed_notice_is_kept_in_the_store_and_written_only_for_printing() {
        let dir = tempfile::tempdir().unwrap();
        let state = hall(dir.path());
        let m = register(&state, "");
        let e = state
            .print_matter_notice(&m, "acceptance", None)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation, "not accepted yet: {e:?}");
        let e = state
            .print_matter_notice(&m, "legal_opinion", None)
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("kind"));
        let today = state.local_date().to_string();
        state
            .record_matter_event(&m, json!({"kind": "accept", "at": today}))
            .unwrap();
        // A 文号 of the wrong shape is refused at its field before anything is printed.
        let e = state
            .print_matter_notice(&m, "acceptance", Some("十二号"))
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("doc_no"));
        let printed = state
            .print_matter_notice(&m, "acceptance", Some("沁信受[2026]12号"))
            .unwrap();
        assert_eq!(printed.title, "受理告知书");
        let path = PathBuf::from(&printed.path);
        assert_eq!(
            path.parent(),
            Some(state.data_dir().join(NOTICES_DIR).as_path())
        );
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"%PDF"));
        assert_eq!(bytes.len() as u64, printed.bytes);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner reads the printed file");
        }
        for bad in ["../xinfang.db", "no-such.pdf", "x/../../a.pdf"] {
            let e = state.open_notice(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::NotFound, "{bad}");
        }
        // A second print replaces the first file; the first notice stays in the store.
        let second = state.print_matter_notice(&m, "acceptance", None).unwrap();
        if second.file_name != printed.file_name {
            assert!(!path.exists());
        }
        // A new start removes what a crash left behind.
        std::fs::write(state.data_dir().join(NOTICES_DIR).join("left.pdf"), b"%PDF").unwrap();
        let _again = AppState::new(state.data_dir().to_path_buf(), 15);
        assert_eq!(
            std::fs::read_dir(state.data_dir().join(NOTICES_DIR))
                .unwrap()
                .count(),
            0
        );
    }
}
