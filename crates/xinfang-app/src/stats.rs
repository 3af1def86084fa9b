//! The statistics screen (统计) and publicity activities (法治宣传): thin commands over
//! xinfang-store's statistics, xinfang-ledger's Excel export and xinfang-print's monthly report,
//! in the same shape as [`crate::api`]. Every figure is counted by the store and every rate
//! decided by `xinfang_core::stats`; this module only reads the form's dates, checks the role and
//! says where the written file is.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use xinfang_core::FieldError;
use xinfang_core::hall::HallCode;
use xinfang_core::notice::hall_names;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::{Action, CONFIDENTIAL_MASK, Role, authorize};
use xinfang_core::stats::{
    EvaluationInput, PUBLICITY_KINDS, Period, PublicityInput, PublicitySummary, RateKind,
    ValidPublicity, validate_publicity,
};
use xinfang_print::report;
use xinfang_store::{
    Completeness, EvaluationRecord, FiguresKept, LedgerConsultation, LedgerVisit, PublicityRecord,
    RateMatter, RateMattersPage, Staff, Statistics, StatsQuery, Store,
};

use crate::api::{AppState, Choice};
use crate::error::{CmdResult, CommandError, ErrorKind};
use crate::export_file::{check_destination, write_beside, write_failed};
use crate::matters::{open_with_system, print_error, printer};

/// What the statistics screen shows and what the logged-in role may do there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatsPage {
    pub stats: Statistics,
    /// 沁水县信访接待大厅, or 全部大厅 when no hall is chosen and the desk holds several.
    pub hall_name: String,
    /// The halls the desk holds records of (for the hall filter).
    pub halls: Vec<Choice>,
    pub may_export: bool,
    /// Export with ID numbers and phones in full (audited).
    pub may_export_full: bool,
    pub may_evaluate: bool,
}

/// An export written where the user chose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WrittenFile {
    pub path: String,
    pub file_name: String,
    /// Rows written (lists) or 1 (statistics, report).
    pub rows: u32,
    pub full_ids: bool,
}

/// The publicity screen: activities of the period (of one campaign when chosen) and their
/// totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublicityPage {
    pub activities: Vec<PublicityRecord>,
    pub summary: PublicitySummary,
    pub kinds: Vec<Choice>,
    pub may_record: bool,
    /// Campaigns recorded before, most recent first: what the 活动名称 field offers.
    pub campaigns: Vec<String>,
}

fn bad_field(field: &str, code: &str, message: String) -> CommandError {
    FieldError::new(field, code, message).into()
}

fn parse_period(from: &str, to: &str) -> CmdResult<Period> {
    Ok(Period::parse(from, to)?)
}

/// A hall to count, or none (empty) for all of them.
fn hall_filter(hall: Option<String>) -> CmdResult<Option<String>> {
    match hall.filter(|h| !h.trim().is_empty()) {
        Some(h) => match HallCode::parse(&h) {
            Ok(code) => Ok(Some(code.into_string())),
            Err(mut e) => {
                e.message.push_str("留空则统计全部大厅。");
                Err(e.at("hall").into())
            }
        },
        None => Ok(None),
    }
}

fn query(from: &str, to: &str, hall: Option<String>, today: NaiveDate) -> CmdResult<StatsQuery> {
    Ok(StatsQuery {
        period: parse_period(from, to)?,
        today,
        hall: hall_filter(hall)?,
    })
}

fn hall_label(code: &str) -> String {
    hall_names(code, ReferenceData::bundled().regions).1
}

fn may(roles: &[Role], a: Action) -> bool {
    authorize(roles, a).is_ok()
}

fn written(path: &Path, rows: usize, full_ids: bool) -> WrittenFile {
    WrittenFile {
        path: path.display().to_string(),
        file_name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        rows: u32::try_from(rows).unwrap_or(u32::MAX),
        full_ids,
    }
}

/// The title of an export `kind` (also the start of its suggested file name).
fn ledger_title(kind: &str) -> CmdResult<&'static str> {
    Ok(match kind {
        "stats" => "统计",
        "visits" => "来访台账",
        "consultations" => "法律咨询台账",
        "mediations" => "人民调解台账",
        "publicity" => "法治宣传活动",
        other => {
            return Err(bad_field(
                "kind",
                "export_kind_unknown",
                format!(
                    "导出内容“{other}”无法识别，请选择统计（stats）、来访台账（visits）、法律咨询（consultations）、人民调解（mediations）或法治宣传（publicity）。"
                ),
            ));
        }
    })
}

/// A ledger is a list, and lists never show what a 检举控告 says (the screens' rule): the
/// appeal of a confidential visit is the mask unless a supervisor exports in full (audited
/// as `export_full`); the writer leaves out the people of those rows the same way.
fn mask_confidential_visit(v: &mut LedgerVisit, full: bool) {
    if v.confidential && !full {
        v.appeal = CONFIDENTIAL_MASK.to_owned();
    }
}

/// The figures of a period (every count by the store, every rate by the core).
pub fn statistics(store: &Store, me: &Staff, q: &StatsQuery) -> CmdResult<Statistics> {
    authorize(&me.roles, Action::ViewStatistics).map_err(CommandError::forbidden)?;
    Ok(store.statistics(q, &store.holiday_calendar())?)
}

/// Months of days the desk's keeper adds up in one turn of the background sync: the statistics
/// screen opens on kept days after a hall's history arrived, and a turn does not hold the sync
/// back for long (a month of 100,000 visitors' history: 0.15–0.3 s).
pub const KEEP_MONTHS_PER_TURN: usize = 12;

/// The desk's keeper of figures, after each sync: adds up the days whose kept figures a sync or
/// a form dropped, newest month first, up to `max_months` months (see
/// [`Store::keep_due_figures`]). Shows nothing and needs no role: it derives figures from the
/// desk's own records, on the connection of the logged-in staff member's sync.
pub fn keep_figures(store: &Store, max_months: usize) -> CmdResult<FiguresKept> {
    let today = store.clock().today();
    Ok(store.keep_due_figures(today, &store.holiday_calendar(), max_months)?)
}

/// The matters behind one rate (its denominator; `counted` marks the numerator).
pub fn rate_matters(
    store: &Store,
    me: &Staff,
    q: &StatsQuery,
    kind: RateKind,
) -> CmdResult<Vec<RateMatter>> {
    authorize(&me.roles, Action::ViewStatistics).map_err(CommandError::forbidden)?;
    Ok(store.rate_matters(q, kind, &store.holiday_calendar())?)
}

/// Matters a page of the screen's list behind a rate shows.
pub const RATE_PAGE: usize = 100;

/// A page of the matters behind one rate: at most `limit` after the matter `after` (the
/// screen's list; a month's denominator at a city's scale is 72,000 matters).
pub fn rate_matters_page(
    store: &Store,
    me: &Staff,
    q: &StatsQuery,
    kind: RateKind,
    after: Option<&str>,
    limit: usize,
) -> CmdResult<RateMattersPage> {
    authorize(&me.roles, Action::ViewStatistics).map_err(CommandError::forbidden)?;
    Ok(store.rate_matters_page(q, kind, &store.holiday_calendar(), after, limit)?)
}

/// The matters behind one rate to `f` one at a time, as the store reads them (an export).
pub fn each_rate_matter(
    store: &Store,
    me: &Staff,
    q: &StatsQuery,
    kind: RateKind,
    f: impl FnMut(RateMatter) -> CmdResult<()>,
) -> CmdResult<()> {
    authorize(&me.roles, Action::ViewStatistics).map_err(CommandError::forbidden)?;
    store.each_rate_matter(q, kind, &store.holiday_calendar(), f)
}

/// 有一录一: the records the completeness check found wanting.
pub fn completeness(store: &Store, me: &Staff, q: &StatsQuery) -> CmdResult<Completeness> {
    authorize(&me.roles, Action::ViewStatistics).map_err(CommandError::forbidden)?;
    Ok(store.completeness(q, &store.holiday_calendar())?)
}

/// Records the visitor's evaluation of a concluded matter (at the desk or by phone).
pub fn evaluate_matter(
    store: &mut Store,
    me: &Staff,
    matter_id: &str,
    input: &EvaluationInput,
    today: NaiveDate,
) -> CmdResult<EvaluationRecord> {
    authorize(&me.roles, Action::EvaluateMatter).map_err(CommandError::forbidden)?;
    let cal = store.holiday_calendar();
    Ok(store.evaluate_matter(matter_id, input, &me.id, today, &cal)?)
}

/// Publicity activities of a period, of one campaign when given.
pub fn publicity_list(
    store: &Store,
    me: &Staff,
    period: &Period,
    campaign: Option<&str>,
) -> CmdResult<Vec<PublicityRecord>> {
    authorize(&me.roles, Action::ViewStatistics).map_err(CommandError::forbidden)?;
    Ok(store.publicity_list(period, campaign)?)
}

/// Their totals per unit, kind, month and campaign.
pub fn publicity_summary(
    store: &Store,
    me: &Staff,
    period: &Period,
    campaign: Option<&str>,
) -> CmdResult<PublicitySummary> {
    authorize(&me.roles, Action::ViewStatistics).map_err(CommandError::forbidden)?;
    Ok(store.publicity_summary(period, campaign)?)
}

/// Records a publicity activity already checked by `validate_publicity`.
pub fn add_publicity(
    store: &mut Store,
    me: &Staff,
    valid: &ValidPublicity,
) -> CmdResult<PublicityRecord> {
    authorize(&me.roles, Action::RecordPublicity).map_err(CommandError::forbidden)?;
    Ok(store.add_publicity(valid, &me.id)?)
}

/// The visit ledger to export (the desk's `exports/` or the CLI's `--out`), to `f` a visit at a
/// time as the store reads it (a month at a city's scale is 85,000 visits): full ID numbers and
/// phones only for a role that may export them.
pub fn each_ledger_visit(
    store: &Store,
    me: &Staff,
    q: &StatsQuery,
    full: bool,
    mut f: impl FnMut(LedgerVisit) -> CmdResult<()>,
) -> CmdResult<()> {
    authorize(&me.roles, Action::ExportLedger).map_err(CommandError::forbidden)?;
    if full {
        authorize(&me.roles, Action::ExportFullIds).map_err(CommandError::forbidden)?;
    }
    store.each_ledger_visit(q, &store.holiday_calendar(), |mut v| {
        mask_confidential_visit(&mut v, full);
        f(v)
    })
}

/// The consultation ledger to export, without question and advice for a role that may not
/// read consultations.
pub fn consultation_ledger(
    store: &Store,
    me: &Staff,
    q: &StatsQuery,
) -> CmdResult<Vec<LedgerConsultation>> {
    authorize(&me.roles, Action::ExportLedger).map_err(CommandError::forbidden)?;
    let mut rows = store.consultation_ledger(q)?;
    if !may(&me.roles, Action::ViewConsultation) {
        blank_legal_advice(&mut rows);
    }
    Ok(rows)
}

/// What a visitor asked the lawyer and what the lawyer advised are for the roles that may
/// read a consultation; a clerk's export keeps the dates, names and routes.
fn blank_legal_advice(rows: &mut [LedgerConsultation]) {
    for c in rows.iter_mut() {
        c.question.clear();
        c.advice.clear();
        c.laws_cited.clear();
    }
}

impl AppState {
    /// The statistics of a period (and one hall, or every hall the desk holds).
    pub fn statistics(&self, from: &str, to: &str, hall: Option<String>) -> CmdResult<StatsPage> {
        self.act(Action::ViewStatistics, |store, me| {
            let q = query(from, to, hall, self.local_date())?;
            let stats = statistics(store, me, &q)?;
            let mut codes: Vec<String> = stats.by_hall.iter().map(|c| c.key.clone()).collect();
            if !codes.iter().any(|c| c == store.hall_code()) {
                codes.insert(0, store.hall_code().to_owned());
            }
            codes.sort();
            let halls = codes
                .iter()
                .map(|c| Choice {
                    value: c.clone(),
                    label: hall_label(c),
                    hint: String::new(),
                    initials: String::new(),
                })
                .collect();
            let hall_name = match &q.hall {
                Some(h) => hall_label(h),
                None if codes.len() > 1 => "全部大厅".to_owned(),
                None => hall_label(store.hall_code()),
            };
            Ok(StatsPage {
                stats,
                hall_name,
                halls,
                may_export: may(&me.roles, Action::ExportLedger),
                may_export_full: may(&me.roles, Action::ExportFullIds),
                may_evaluate: may(&me.roles, Action::EvaluateMatter),
            })
        })
    }

    /// The matters behind one rate (its denominator; `counted` marks the numerator), a page of
    /// [`RATE_PAGE`] after the matter `after`.
    pub fn rate_matters(
        &self,
        from: &str,
        to: &str,
        hall: Option<String>,
        rate: &str,
        after: Option<&str>,
    ) -> CmdResult<RateMattersPage> {
        self.act(Action::ViewStatistics, |store, me| {
            let q = query(from, to, hall, self.local_date())?;
            let kind = RateKind::parse(rate).ok_or_else(|| {
                bad_field(
                    "rate",
                    "rate_unknown",
                    format!("比率“{rate}”无法识别，请选择及时受理率、按期办结率、参评率或满意率。"),
                )
            })?;
            rate_matters_page(store, me, &q, kind, after, RATE_PAGE)
        })
    }

    /// 有一录一: the records the completeness check found wanting.
    pub fn completeness(
        &self,
        from: &str,
        to: &str,
        hall: Option<String>,
    ) -> CmdResult<Completeness> {
        self.act(Action::ViewStatistics, |store, me| {
            let q = query(from, to, hall, self.local_date())?;
            completeness(store, me, &q)
        })
    }

    /// The file suggested for an export (`kind`: a ledger of [`Self::export_ledger`], or
    /// `report` for the monthly report of `month`): a dated name in the user's documents
    /// (`export_file::default_export_dir`), which the user may change.
    pub fn suggest_export_path(
        &self,
        kind: &str,
        from: &str,
        to: &str,
        hall: Option<String>,
        month: &str,
    ) -> CmdResult<String> {
        let name = self.act(Action::ViewStatistics, |store, _| {
            if kind == "report" {
                let (from, _) = report::month_bounds(month)?;
                let hall = hall_filter(hall)?.unwrap_or_else(|| store.hall_code().to_owned());
                return Ok(format!(
                    "月报-{hall}-{}{:02}.pdf",
                    from.year(),
                    from.month()
                ));
            }
            let q = query(from, to, hall, self.local_date())?;
            let stamp = self.now_cst().format("%Y%m%d-%H%M%S");
            let scope = q.hall.clone().unwrap_or_else(|| "all".to_owned());
            let (p, t) = (q.period.from, q.period.to);
            Ok(format!(
                "{}-{scope}-{p}-{t}-{stamp}.xlsx",
                ledger_title(kind)?
            ))
        })?;
        let dir = crate::export_file::home_dir()
            .map(|h| crate::export_file::default_export_dir(&h))
            .unwrap_or_default();
        Ok(dir.join(name).display().to_string())
    }

    /// Writes a ledger or the statistics to the `.xlsx` file `dest` the user chose (checked:
    /// `export_file::check_destination`; an existing file only with `overwrite`). ID numbers
    /// and phones are masked unless `full` is asked for by a role that may; every export is
    /// logged and audited.
    #[allow(clippy::too_many_arguments)]
    pub fn export_ledger(
        &self,
        kind: &str,
        from: &str,
        to: &str,
        hall: Option<String>,
        full: bool,
        dest: &str,
        overwrite: bool,
    ) -> CmdResult<WrittenFile> {
        let data_dir = self.data_dir().to_path_buf();
        let file = self.act(Action::ExportLedger, |store, me| {
            let q = query(from, to, hall, self.local_date())?;
            if full {
                authorize(&me.roles, Action::ExportFullIds).map_err(CommandError::forbidden)?;
            }
            ledger_title(kind)?;
            let path = check_destination(&data_dir, dest, ".xlsx", overwrite)?;
            let cal = store.holiday_calendar();
            let mut rows = 1;
            write_beside(&path, |p| {
                let done = match kind {
                    "stats" => xinfang_ledger::write_statistics(p, &store.statistics(&q, &cal)?),
                    "visits" => {
                        let failed = |e: xinfang_ledger::LedgerError| write_failed(&path, &e);
                        let mut sheet =
                            xinfang_ledger::ListSheet::visits(p, full).map_err(failed)?;
                        each_ledger_visit(store, me, &q, full, |v| sheet.push(&v).map_err(failed))?;
                        rows = sheet.rows();
                        sheet.save()
                    }
                    "consultations" => {
                        let list = consultation_ledger(store, me, &q)?;
                        rows = list.len();
                        xinfang_ledger::write_consultations(p, &list)
                    }
                    "mediations" => {
                        let list = store.mediation_ledger(&q)?;
                        rows = list.len();
                        xinfang_ledger::write_mediations(p, &list)
                    }
                    _ => {
                        let records = store.publicity_list(&q.period, None)?;
                        rows = records.len();
                        let summary = store.publicity_summary(&q.period, None)?;
                        xinfang_ledger::write_publicity(p, &records, &summary)
                    }
                };
                done.map_err(|e| write_failed(&path, &e))
            })?;
            let file = written(&path, rows, full);
            store.log_export(kind, full, rows, &file.file_name, &me.id)?;
            tracing::info!(kind, rows, full, "ledger exported");
            Ok(file)
        })?;
        self.remember_written(Path::new(&file.path));
        Ok(file)
    }

    /// The monthly report (`YYYY-MM`) of one hall (default: this desk's) to the PDF file
    /// `dest` the user chose, checked as [`Self::export_ledger`]'s.
    pub fn monthly_report(
        &self,
        month: &str,
        hall: Option<String>,
        dest: &str,
        overwrite: bool,
    ) -> CmdResult<WrittenFile> {
        let data_dir = self.data_dir().to_path_buf();
        let today = self.local_date();
        let (stats, hall_code, path) = self.act(Action::ViewStatistics, |store, _| {
            let (from, to) = report::month_bounds(month)?;
            let hall = hall_filter(hall)?;
            let hall = hall.unwrap_or_else(|| store.hall_code().to_owned());
            let path = check_destination(&data_dir, dest, ".pdf", overwrite)?;
            let q = StatsQuery {
                period: Period::new(from, to)?,
                today,
                hall: Some(hall.clone()),
            };
            let cal = store.holiday_calendar();
            Ok((store.statistics(&q, &cal)?, hall, path))
        })?;
        let (issuer, hall_name) = hall_names(&hall_code, ReferenceData::bundled().regions);
        let r = report::monthly(&stats, &issuer, &hall_name, today);
        let pdf = printer(&data_dir)
            .and_then(|p| p.render_report(&r))
            .map_err(print_error("report", "月报"))?;
        write_beside(&path, |p| {
            std::fs::write(p, &pdf).map_err(|e| write_failed(&path, &e))
        })?;
        let file = written(&path, 1, false);
        // A file leaving the app is in the audit log, like every export.
        self.act(Action::ViewStatistics, |store, me| {
            Ok(store.log_export("report", false, 1, &file.file_name, &me.id)?)
        })?;
        tracing::info!(hall = %hall_code, month, "monthly report printed");
        self.remember_written(&path);
        Ok(file)
    }

    /// Opens an export this session wrote (`path` as the export returned it) with the system's
    /// default program.
    pub fn open_export(&self, path: &str) -> CmdResult<String> {
        self.act(Action::ViewStatistics, |_, _| Ok(()))?;
        let path = PathBuf::from(path);
        if !self.session_wrote(&path) || !path.is_file() {
            return Err(CommandError::new(
                ErrorKind::NotFound,
                "not_found",
                "只能打开本次登录后导出且仍在原位置的文件：请重新导出。",
            ));
        }
        open_with_system(&path, "请在文件管理器中打开该文件。")
    }

    /// Records the visitor's evaluation of a concluded matter (at the desk or by phone).
    pub fn evaluate_matter(
        &self,
        matter_id: &str,
        input: EvaluationInput,
    ) -> CmdResult<EvaluationRecord> {
        self.act(Action::EvaluateMatter, |store, me| {
            evaluate_matter(store, me, matter_id, &input, self.local_date())
        })
    }

    /// Publicity activities of a period (of one campaign when `campaign` is given and not
    /// blank) with their totals per unit, kind, month and campaign.
    pub fn publicity(
        &self,
        from: &str,
        to: &str,
        campaign: Option<String>,
    ) -> CmdResult<PublicityPage> {
        self.act(Action::ViewStatistics, |store, me| {
            let period = parse_period(from, to)?;
            let campaign = campaign.as_deref().filter(|c| !c.trim().is_empty());
            Ok(PublicityPage {
                activities: publicity_list(store, me, &period, campaign)?,
                summary: publicity_summary(store, me, &period, campaign)?,
                campaigns: store.publicity_campaigns()?,
                kinds: PUBLICITY_KINDS
                    .iter()
                    .map(|(c, n)| Choice {
                        value: (*c).to_owned(),
                        label: (*n).to_owned(),
                        hint: String::new(),
                        initials: String::new(),
                    })
                    .collect(),
                may_record: may(&me.roles, Action::RecordPublicity),
            })
        })
    }

    /// Records a publicity activity (法治宣传活动) of this desk's hall.
    pub fn add_publicity(&self, input: PublicityInput) -> CmdResult<PublicityRecord> {
        self.act(Action::RecordPublicity, |store, me| {
            let valid = validate_publicity(&input, self.local_date())?;
            add_publicity(store, me, &valid)
        })
    }
}

#[cfg(test)]
mod tests {
    use xinfang_core::clock::{Clock, SystemClock};
    use xinfang_core::id::resident_id_check_char;
    use xinfang_core::matter::MatterEvent;
    use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
    use xinfang_store::{NewStaff, Store};

    use super::*;

    const PW: &str = "test-pass-2026";

    fn id(body: &str) -> String {
        format!("{body}{}", resident_id_check_char(body).unwrap())
    }

    /// March 2025: two visits, one accepted in time, one left undone past its limit.
    fn hall(dir: &Path) -> AppState {
        let data = dir.join("data");
        let admin = NewStaff {
            username: "admin".into(),
            display_name: "管理员".into(),
            roles: vec![Role::Admin],
            password: PW.into(),
        };
        let (mut store, _recovery) = Store::create_with_admin(&data, "140521", &admin).unwrap();
        for (u, role) in [("clerk", Role::Clerk), ("boss", Role::Supervisor)] {
            store
                .add_staff(&NewStaff {
                    username: u.into(),
                    display_name: role.label_zh().into(),
                    roles: vec![role],
                    password: PW.into(),
                })
                .unwrap();
        }
        let cal = store.holiday_calendar();
        for (i, (at, body)) in [
            ("2025-03-03 09:00", "14052119800115013"),
            ("2025-03-05 10:00", "14052119750301024"),
        ]
        .into_iter()
        .enumerate()
        {
            let input = VisitInput {
                visited_at: at.into(),
                visitors: vec![VisitorInput {
                    name: ["张三", "李四"][i].into(),
                    id_number: id(body),
                    ..Default::default()
                }],
                appeal: "拖欠工资三个月，要求支付。".into(),
                appeal_kind: "claim".into(),
                category: "劳动和社会保障".into(),
                ..Default::default()
            };
            let valid =
                validate_visit(&input, ReferenceData::bundled(), SystemClock.now_cst()).unwrap();
            let r = store.register_visit(&valid, "seed").unwrap();
            if i == 0 {
                let accept = MatterEvent::Accept {
                    at: "2025-03-10".parse().unwrap(),
                    notice_no: None,
                };
                store
                    .record_event(&r.matter_id, &accept, "seed", &cal)
                    .unwrap();
            }
        }
        drop(store);
        AppState::new(data, 15)
    }

    /// The keeper the desk runs after each sync, on the sync's own connection: it adds up the
    /// days a sync dropped, a bounded number of months per turn, and the screen shows the same.
    #[test]
    fn the_keeper_after_a_sync_adds_up_the_dropped_days_in_bounded_turns() {
        let dir = tempfile::tempdir().unwrap();
        let state = hall(dir.path());
        state.login("boss", PW).unwrap();
        // From the first visit on: the days before it have no rows, and are not the keeper's.
        let before = state.statistics("2025-03-03", "2025-03-31", None).unwrap();
        let store = state.sync_store().unwrap().unwrap();
        store.forget_kept_figures().unwrap();
        let first = keep_figures(&store, 2).unwrap();
        assert!(first.days > 0 && first.months_left > 0, "{first:?}");
        let rest = keep_figures(&store, usize::MAX).unwrap();
        assert!(rest.days > 0 && rest.months_left == 0, "{rest:?}");
        let kept = store.kept_figure_days().unwrap();
        assert_eq!(kept, (first.days + rest.days) as u64);
        assert_eq!(keep_figures(&store, usize::MAX).unwrap().days, 0);
        let after = state.statistics("2025-03-03", "2025-03-31", None).unwrap();
        assert_eq!(after.stats, before.stats);
        assert_eq!(
            store.kept_figure_days().unwrap(),
            kept,
            "nothing added up again"
        );
    }

    #[test]
    fn the_screen_gets_the_figures_the_rates_the_files_and_the_publicity_totals() {
        let dir = tempfile::tempdir().unwrap();
        let state = hall(dir.path());
        state.login("boss", PW).unwrap();
        let page = state.statistics("2025-03-01", "2025-03-31", None).unwrap();
        assert_eq!(page.hall_name, "沁水县信访接待大厅");
        assert_eq!(page.stats.visits.visits, 2);
        let r = page.stats.rates.timely_acceptance;
        assert_eq!((r.numerator, r.denominator, r.percent), (1, 2, Some(50.0)));
        assert!(page.may_export && page.may_export_full && page.may_evaluate);
        let page = state
            .rate_matters("2025-03-01", "2025-03-31", None, "timely_acceptance", None)
            .unwrap();
        assert!(!page.more);
        let rows = page.rows;
        let counted: Vec<(bool, &str)> = rows
            .iter()
            .map(|m| (m.counted, m.visitor_names[0].as_str()))
            .collect();
        assert_eq!(counted, [(true, "张三"), (false, "李四")]);
        let gaps = state
            .completeness("2025-03-01", "2025-03-31", None)
            .unwrap();
        assert_eq!(gaps.matters_without_disposition.len(), 1);

        // Files land where the user chose, outside the data dir; the report's suggested name
        // is after hall and month.
        let out = |name: &str| dir.path().join("导出").join(name).display().to_string();
        let x = state
            .export_ledger(
                "visits",
                "2025-03-01",
                "2025-03-31",
                None,
                true,
                &out("台账.xlsx"),
                false,
            )
            .unwrap();
        assert_eq!((x.rows, x.full_ids, x.path), (2, true, out("台账.xlsx")));
        let suggested = state
            .suggest_export_path("report", "", "", None, "2025-03")
            .unwrap();
        assert!(
            suggested.ends_with("/月报-140521-202503.pdf"),
            "{suggested}"
        );
        let pdf = state
            .monthly_report("2025-03", None, &out("月报-140521-202503.pdf"), false)
            .unwrap();
        assert_eq!(pdf.file_name, "月报-140521-202503.pdf");
        assert!(std::fs::read(&pdf.path).unwrap().starts_with(b"%PDF-"));
        let e = state.open_export("../secret.pdf").unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(!dir.path().join("data/exports").exists());

        // Every refusal names its field.
        let e = state
            .statistics("2025-03-31", "2025-03-01", None)
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("to"));
        assert!(e.message.contains("早于开始日期"), "{}", e.message);
        let e = state
            .monthly_report("2025-13", None, &out("x.pdf"), false)
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("month"));
        let e = state
            .export_ledger(
                "everything",
                "2025-03-01",
                "2025-03-31",
                None,
                false,
                &out("x.xlsx"),
                false,
            )
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("kind"));
        let e = state
            .rate_matters(
                "2025-03-01",
                "2025-03-31",
                Some("1405".into()),
                "满意率",
                None,
            )
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("hall"));

        // Publicity: recorded, then counted in the period's totals.
        let today = state.local_date();
        let input = PublicityInput {
            held_on: today.to_string(),
            place: "城关社区".into(),
            units: vec!["县司法局".into(), "县信访局".into()],
            kind: "进社区".into(),
            leaflets: 500,
            consulted: 40,
            reached: 300,
            campaign: " 宪法宣传周 ".into(),
            ..Default::default()
        };
        let added = state.add_publicity(input.clone()).unwrap();
        assert_eq!(added.activity.campaign, "宪法宣传周");
        state
            .add_publicity(PublicityInput {
                campaign: String::new(),
                ..input
            })
            .unwrap();
        let all = state
            .publicity(&today.to_string(), &today.to_string(), None)
            .unwrap();
        assert_eq!(all.activities.len(), 2);
        assert_eq!(all.campaigns, ["宪法宣传周"]);
        let p = state
            .publicity(
                &today.to_string(),
                &today.to_string(),
                Some("宪法宣传周".into()),
            )
            .unwrap();
        assert_eq!(p.activities.len(), 1);
        assert_eq!(p.activities[0].county, "沁水县");
        assert_eq!(
            (
                p.summary.totals.events,
                p.summary.totals.units,
                p.summary.totals.leaflets
            ),
            (1, 2, 500)
        );
        let e = state.add_publicity(PublicityInput::default()).unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert!(
            fields.contains(&"place") && fields.contains(&"units"),
            "{fields:?}"
        );

        // A clerk exports masked only.
        state.login("clerk", PW).unwrap();
        let e = state
            .export_ledger(
                "visits",
                "2025-03-01",
                "2025-03-31",
                None,
                true,
                &out("c.xlsx"),
                false,
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        let x = state
            .export_ledger(
                "visits",
                "2025-03-01",
                "2025-03-31",
                None,
                false,
                &out("c.xlsx"),
                false,
            )
            .unwrap();
        assert!(!x.full_ids);
    }
}
