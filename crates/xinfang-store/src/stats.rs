//! Statistics of the hall (DOMAIN.md §7): counts, the three monthly rates and the matters behind
//! each, the completeness check (有一录一), the visitor's evaluations, publicity activities, and
//! the ledger rows that Excel export and import work with.
//!
//! Counts are SQL over the records; which side of a rate a matter falls on is decided by
//! `xinfang_core::stats`, from the matter's state (its events), never from a typed figure.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::{DeadlineKind, MatterState};
use xinfang_core::reference::{AppealKind, ReferenceData};
use xinfang_core::stats::{
    self, Disposition, Evaluation, EvaluationChannel, EvaluationInput, Period, PublicitySummary,
    Rate, RateKind, ValidEvaluation, ValidPublicity,
};
use xinfang_core::tally::StatsAccumulator;
use xinfang_core::visit::ValidVisit;

use crate::changelog::{self, Op};
use crate::figures;
use crate::matters::{category_name_in, load_matter, visitor_names};
use crate::visits::{VisitIds, register_in};
use crate::{Registered, Result, Store, StoreError, now_text};

/// What a statistics query covers: a period and, optionally, one hall (a desk may hold several
/// halls' records after a city-level sync; by default all it holds are counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatsQuery {
    pub period: Period,
    /// The day the figures are taken (usually today): limits running out after it are not yet
    /// late, evaluations recorded after it are not counted.
    pub today: NaiveDate,
    pub hall: Option<String>,
}

impl StatsQuery {
    pub fn new(period: Period, today: NaiveDate) -> StatsQuery {
        StatsQuery {
            period,
            today,
            hall: None,
        }
    }

    fn as_of(&self) -> NaiveDate {
        self.period.as_of(self.today)
    }

    fn from(&self) -> String {
        self.period.from.to_string()
    }

    fn to(&self) -> String {
        self.period.to.to_string()
    }
}

/// One bar of a chart or one line of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Count {
    /// Code (category code, staff id, `2025-03` …); empty for "none recorded".
    pub key: String,
    /// What the screen shows.
    pub label: String,
    pub count: u64,
}

/// Visits in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitCounts {
    /// 来访批次
    pub visits: u64,
    /// 来访人次 (sum of head counts)
    pub people: u64,
    /// 初次访
    pub first_visits: u64,
    /// 重复访
    pub repeat_visits: u64,
    /// 集体访 (head count ≥ `GROUP_VISIT_MIN_PEOPLE`)
    pub group_visits: u64,
    /// People who came in group visits.
    pub group_people: u64,
    /// Distinct people who came (records merged into one person count once).
    pub visitors: u64,
}

/// Work of one desk: 接待员 (visits registered), 值班律师 (consultations), 人民调解员 (mediations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeskCounts {
    pub clerks: Vec<Count>,
    pub lawyers: Vec<Count>,
    pub mediators: Vec<Count>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConsultationCounts {
    pub total: u64,
    /// By the legal route the lawyer suggested.
    pub by_route: Vec<Count>,
    pub follow_up: u64,
    pub minutes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediationCounts {
    pub total: u64,
    /// 达成协议 / 未达成 / 终止
    pub by_outcome: Vec<Count>,
    pub by_dispute_type: Vec<Count>,
    /// Agreements sent for 司法确认.
    pub judicial_confirmation: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogCounts {
    /// Flagged in the period.
    pub opened: u64,
    /// Cleared (化解) in the period.
    pub cleared: u64,
    /// Open at the end of the period (or today, if earlier).
    pub open_at_end: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OverdueCounts {
    /// Matters not closed with at least one authority limit run out undone.
    pub matters: u64,
    /// By limit (登记处理期限, 办结期限 …).
    pub by_deadline: Vec<Count>,
}

/// The four audited rates and the evaluations behind the last two.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rates {
    /// 及时受理率
    pub timely_acceptance: Rate,
    /// 按期办结率
    pub on_time_conclusion: Rate,
    /// 参评率
    pub participation: Rate,
    /// 满意率
    pub satisfaction: Rate,
    /// 满意 / 基本满意 / 不满意, of the matters concluded in the period.
    pub evaluations: Vec<Count>,
}

/// 有一录一: counts of records that are missing something.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CompletenessCounts {
    pub visits_without_matter: u64,
    pub matters_without_disposition: u64,
    pub consultations_without_advice: u64,
}

/// Everything the statistics screen and `xinfang stats` show for a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Statistics {
    pub period: Period,
    pub as_of: NaiveDate,
    pub hall: Option<String>,
    pub visits: VisitCounts,
    pub by_hall: Vec<Count>,
    pub by_day: Vec<Count>,
    pub by_month: Vec<Count>,
    pub by_year: Vec<Count>,
    /// 建议意见类 / 检举控告类 / 申诉求决类
    pub by_appeal_kind: Vec<Count>,
    pub by_category: Vec<Count>,
    /// 涉及单位
    pub by_agency: Vec<Count>,
    /// How the matters received in the period were disposed of; key "" = not yet.
    pub by_disposition: Vec<Count>,
    /// Confirmed legal routes of the matters received in the period.
    pub by_legal_route: Vec<Count>,
    pub desks: DeskCounts,
    pub consultations: ConsultationCounts,
    pub mediations: MediationCounts,
    pub backlog: BacklogCounts,
    pub overdue: OverdueCounts,
    pub rates: Rates,
    pub completeness: CompletenessCounts,
}

/// One matter behind a rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RateMatter {
    pub matter_id: String,
    pub hall_code: String,
    pub received_on: NaiveDate,
    pub status_label: String,
    pub appeal_kind_label: String,
    pub category_name: String,
    /// Empty for confidential matters (检举控告): open the matter to see them.
    pub visitor_names: Vec<String>,
    /// Counted in the numerator (timely, on time, evaluated, satisfied).
    pub counted: bool,
    /// The limit's last day (timeliness rates).
    pub due: Option<NaiveDate>,
    /// When it was done (disposed, concluded, evaluated).
    pub done_on: Option<NaiveDate>,
    /// 满意 / 基本满意 / 不满意 (participation and satisfaction).
    pub evaluation: Option<String>,
}

/// One record the completeness check found wanting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Gap {
    /// `visit`, `matter` or `consultation`.
    pub entity: String,
    pub id: String,
    pub date: String,
    /// What is missing and what to do, in Chinese.
    pub problem: String,
}

/// 有一录一, with the records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Completeness {
    pub visits_without_matter: Vec<Gap>,
    pub matters_without_disposition: Vec<Gap>,
    pub consultations_without_advice: Vec<Gap>,
}

/// An evaluation as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EvaluationRecord {
    pub id: String,
    pub matter_id: String,
    pub result: Evaluation,
    pub result_label: String,
    pub channel: EvaluationChannel,
    pub channel_label: String,
    pub evaluated_on: NaiveDate,
    pub note: String,
    pub by_staff: String,
}

/// A publicity activity as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublicityRecord {
    pub id: String,
    pub hall_code: String,
    #[serde(flatten)]
    pub activity: ValidPublicity,
}

/// One person of a visit, as the ledger shows them (full numbers: the caller masks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerPerson {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub sex: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub representative: bool,
}

/// One visit as the visit ledger (台账) lists it; the columns of `docs/ledger.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerVisit {
    pub visit_id: String,
    pub hall_code: String,
    /// RFC 3339, +08:00.
    pub visited_at: String,
    pub queue_no: i64,
    pub clerk_name: String,
    pub people: Vec<LedgerPerson>,
    pub head_count: i64,
    pub appeal: String,
    pub appeal_kind: String,
    pub appeal_kind_label: String,
    pub category_code: String,
    pub category_name: String,
    pub agency: String,
    pub place_code: String,
    pub is_repeat: bool,
    pub confidential: bool,
    pub matter_id: Option<String>,
    pub status_label: String,
    pub disposition_label: String,
}

/// One consultation row of the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerConsultation {
    pub id: String,
    pub visit_id: String,
    pub date: String,
    pub lawyer_name: String,
    pub visitor_names: Vec<String>,
    pub question: String,
    pub advice: String,
    pub legal_route_name: String,
    pub laws_cited: String,
    pub duration_minutes: i64,
    pub follow_up: bool,
}

/// One mediation row of the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerMediation {
    pub id: String,
    pub visit_id: String,
    pub date: String,
    pub mediator_name: String,
    pub dispute_type_name: String,
    pub applicants: Vec<String>,
    pub respondents: Vec<String>,
    pub sessions: i64,
    pub outcome_label: String,
    pub judicial_confirmation: bool,
}

/// A good row of an imported ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerImportRow {
    /// See `docs/ledger.md`: a hash of the row's cells, the same whenever the file is read.
    pub fingerprint: String,
    /// 1-based row number in the file (the header is row 1).
    pub row_no: u32,
    pub visit: ValidVisit,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportOutcome {
    /// Rows registered now.
    pub imported: u32,
    /// Rows already imported from this or an earlier run, left alone.
    pub already_imported: Vec<u32>,
    pub visit_ids: Vec<String>,
}

/// The matters of the query's hall(s), with their states.
struct MatterFacts {
    id: String,
    hall_code: String,
    received_on: NaiveDate,
    appeal_kind: AppealKind,
    category_code: String,
    confidential: bool,
    first_visit_id: String,
    state: MatterState,
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("日期格式不正确：{s}")))
}

fn parse_evaluation(code: &str) -> Result<Evaluation> {
    Evaluation::parse(code).ok_or_else(|| StoreError::Corrupt(format!("评价结果 {code} 无法识别")))
}

/// An evaluation as the screens show it.
fn evaluation_record(
    id: String,
    matter_id: &str,
    e: ValidEvaluation,
    by: String,
) -> EvaluationRecord {
    EvaluationRecord {
        id,
        matter_id: matter_id.to_owned(),
        result: e.result,
        result_label: e.result.label_zh().to_owned(),
        channel: e.channel,
        channel_label: e.channel.label_zh().to_owned(),
        evaluated_on: e.evaluated_on,
        note: e.note,
        by_staff: by,
    }
}

fn same(k: &str) -> String {
    k.to_owned()
}

fn none_or(k: &str, f: impl Fn(&str) -> String) -> String {
    if k.is_empty() {
        "（未填写）".to_owned()
    } else {
        f(k)
    }
}

fn kind_label(k: &str) -> String {
    AppealKind::parse(k).map_or_else(|| k.to_owned(), |a| a.label_zh().to_owned())
}

fn route_label(k: &str) -> String {
    none_or(k, |k| {
        ReferenceData::bundled()
            .legal_route(k)
            .map_or_else(|| k.to_owned(), |r| r.name.clone())
    })
}

fn by_count(mut v: Vec<Count>) -> Vec<Count> {
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    v
}

impl Store {
    /// The facts of the matters with these ids, for the lists behind a figure.
    fn matters_by_id(
        &self,
        ids: impl IntoIterator<Item = String>,
        cal: &HolidayCalendar,
    ) -> Result<Vec<MatterFacts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, hall_code, received_on, appeal_kind, category_code, confidential,
               first_visit_id, state
             FROM matters WHERE id = ?1",
        )?;
        type Raw = (
            String,
            String,
            String,
            String,
            String,
            bool,
            String,
            Option<String>,
        );
        let mut out = Vec::new();
        for id in ids {
            let Some(row) = stmt.query_row([&id], |r| Raw::try_from(r)).optional()? else {
                continue;
            };
            let (id, hall_code, received, kind, category_code, confidential, first, state) = row;
            let received_on = parse_date(&received)?;
            let state = match state {
                Some(json) => serde_json::from_str(&json)?,
                None => MatterState::registered(received_on, cal),
            };
            out.push(MatterFacts {
                appeal_kind: AppealKind::parse(&kind).ok_or_else(|| {
                    StoreError::Corrupt(format!("事项 {id} 的诉求类别 {kind} 无法识别"))
                })?,
                id,
                hall_code,
                received_on,
                category_code,
                confidential,
                first_visit_id: first,
                state,
            });
        }
        out.sort_by(|a, b| (a.received_on, &a.id).cmp(&(b.received_on, &b.id)));
        Ok(out)
    }

    /// The ids of the matters that may count in `kind` for the query, selected through the
    /// period's indexes (as the statistics are): the rule then decides on each.
    fn rate_candidates(&self, q: &StatsQuery, kind: RateKind) -> Result<Vec<String>> {
        let (from, to, as_of) = (q.from(), q.to(), q.as_of().to_string());
        let hall = q.hall.as_deref();
        let mut ids = BTreeSet::new();
        let mut collect = |sql: &str, at: usize, extra: &str| -> Result<()> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let n = stmt.parameter_count();
            let p: [&dyn rusqlite::ToSql; 4] = [&from, &to, &hall, &extra];
            let mut rows = stmt.query(&p[..n])?;
            while let Some(r) = rows.next()? {
                ids.insert(r.get::<_, String>(at)?);
            }
            Ok(())
        };
        match kind {
            RateKind::TimelyAcceptance | RateKind::OnTimeConclusion => {
                collect(figures::DEADLINES_DONE, 0, "")?;
                collect(figures::DEADLINES_LATE, 0, &as_of)?;
                let cutoff = xinfang_core::tally::registered_overdue_cutoff(q.as_of());
                collect(figures::REGISTERED_LATE, 0, &cutoff.to_string())?;
            }
            RateKind::Participation | RateKind::Satisfaction => {
                collect(figures::CONCLUDED, 3, &as_of)?;
            }
        }
        Ok(ids.into_iter().collect())
    }

    /// The latest evaluation of a matter recorded up to `as_of`.
    fn latest_evaluation(
        &self,
        matter_id: &str,
        as_of: NaiveDate,
    ) -> Result<Option<(Evaluation, NaiveDate)>> {
        let row: Option<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT result, evaluated_on FROM matter_evaluations
                 WHERE matter_id = ?1 AND evaluated_on <= ?2
                 ORDER BY evaluated_on DESC, created_at DESC LIMIT 1",
            )?
            .query_row(params![matter_id, as_of.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(r, on)| Ok((parse_evaluation(&r)?, parse_date(&on)?)))
            .transpose()
    }

    /// Feeds the facts of the query's period (and hall) to `acc`: the desk's row source for the
    /// one statistics function, `xinfang_core::tally`. Public so a test can see which rows a
    /// period reads.
    pub fn feed_statistics(&self, q: &StatsQuery, acc: &mut StatsAccumulator<'_>) -> Result<()> {
        figures::feed(&self.conn, q.hall.as_deref(), acc)
    }

    /// The statistics of a period: every count, the four rates, backlog and overdue figures and
    /// the completeness counts, added up by `xinfang_core::tally` from the period's rows. `cal`
    /// gives the limits of matters that have no event yet.
    pub fn statistics(&self, q: &StatsQuery, cal: &HolidayCalendar) -> Result<Statistics> {
        let c = &self.conn;
        let reference = self.reference_data();
        let (from, to) = (q.from(), q.to());
        let hall = q.hall.as_deref();
        let p: [&dyn rusqlite::ToSql; 3] = [&from, &to, &hall];
        let mut acc = StatsAccumulator::new(q.period, q.today, cal);
        self.feed_statistics(q, &mut acc)?;
        let f = acc.finish();
        let t = &f.total;
        // Distinct people over the period: counted by SQL (a set of every visitor of a year
        // would not be bounded in memory). A person on file twice and merged is one person
        // (`person_id`: the record a visit's visitor is merged into, docs/sync.md "People").
        let visitors: i64 = c
            .prepare_cached(
                "SELECT count(DISTINCT coalesce(vv.person_id, vv.visitor_id)) FROM visits x
                   JOIN visit_visitors vv ON vv.visit_id = x.id
                 WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)",
            )?
            .query_row(p, |r| r.get(0))?;
        let visits = VisitCounts {
            visits: t.visits,
            people: t.people,
            first_visits: t.first_visits,
            repeat_visits: t.repeat_visits,
            group_visits: t.group_visits,
            group_people: t.group_people,
            visitors: u64::try_from(visitors).unwrap_or(0),
        };
        let keyed = |m: &BTreeMap<String, u64>, label: &dyn Fn(&str) -> String| -> Vec<Count> {
            m.iter()
                .map(|(k, n)| Count {
                    label: label(k),
                    key: k.clone(),
                    count: *n,
                })
                .collect()
        };
        let by_hall = f
            .halls
            .iter()
            .filter(|(_, h)| h.visits > 0)
            .map(|(k, h)| Count {
                key: k.clone(),
                label: k.clone(),
                count: h.visits,
            })
            .collect();
        let by_day = f
            .by_day
            .iter()
            .map(|(d, n)| Count {
                key: d.to_string(),
                label: d.to_string(),
                count: *n,
            })
            .collect();
        let staff_label = |k: &str| -> String {
            crate::matters::staff_display(c, k)
                .ok()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| k.to_owned())
        };
        let desks = DeskCounts {
            clerks: by_count(keyed(&f.by_clerk, &staff_label)),
            lawyers: by_count(keyed(&f.by_lawyer, &staff_label)),
            mediators: by_count(keyed(&f.by_mediator, &staff_label)),
        };
        let consultations = ConsultationCounts {
            total: t.consultations,
            follow_up: f.consultation_follow_up,
            minutes: f.consultation_minutes,
            by_route: by_count(keyed(&f.consultation_routes, &route_label)),
        };
        // Every outcome is listed, with 0 where none: the pie always has its three slices.
        let by_outcome = xinfang_core::desk::MediationOutcome::ALL
            .iter()
            .map(|o| Count {
                key: o.code().to_owned(),
                label: o.label_zh().to_owned(),
                count: f.mediation_outcomes.get(o.code()).copied().unwrap_or(0),
            })
            .collect();
        let mediations = MediationCounts {
            total: t.mediations,
            judicial_confirmation: f.judicial_confirmation,
            by_outcome,
            by_dispute_type: by_count(keyed(&f.mediation_dispute_types, &|k: &str| {
                xinfang_core::desk::dispute_type(k).map_or_else(|| k.to_owned(), |d| d.1.into())
            })),
        };
        let as_of = f.as_of;
        let backlog = {
            let one = |sql: &str, extra: &str| -> Result<u64> {
                let n: i64 = c
                    .prepare_cached(sql)?
                    .query_row(params![from, to, hall, extra], |r| r.get(0))?;
                Ok(u64::try_from(n).unwrap_or(0))
            };
            let last = as_of.min(q.period.to).to_string();
            BacklogCounts {
                opened: one(
                    "SELECT count(*) FROM backlog_cases WHERE flagged_on BETWEEN ?1 AND ?2
                       AND (?3 IS NULL OR hall_code = ?3) AND ?4 IS NOT NULL",
                    "",
                )?,
                cleared: one(
                    "SELECT count(*) FROM backlog_cases WHERE cleared_on BETWEEN ?1 AND ?2
                       AND (?3 IS NULL OR hall_code = ?3) AND ?4 IS NOT NULL",
                    "",
                )?,
                open_at_end: one(
                    "SELECT count(*) FROM backlog_cases WHERE flagged_on <= ?4
                       AND (cleared_on IS NULL OR cleared_on > ?4) AND (?3 IS NULL OR hall_code = ?3)
                       AND ?1 IS NOT NULL AND ?2 IS NOT NULL",
                    &last,
                )?,
            }
        };
        let by_disposition = f
            .by_disposition
            .iter()
            .map(|(d, count)| Count {
                key: d.map_or("", Disposition::code).to_owned(),
                label: d.map_or("未处理", Disposition::label_zh).to_owned(),
                count: *count,
            })
            .collect();
        let overdue = OverdueCounts {
            matters: t.overdue_matters,
            by_deadline: f
                .overdue_by_deadline
                .iter()
                .map(|(k, count)| Count {
                    key: serde_json::to_value(k)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    label: k.label_zh().to_owned(),
                    count: *count,
                })
                .collect(),
        };
        let rates = Rates {
            timely_acceptance: t.rate(0),
            on_time_conclusion: t.rate(1),
            participation: t.rate(2),
            satisfaction: t.rate(3),
            evaluations: Evaluation::ALL
                .iter()
                .map(|e| Count {
                    key: e.code().to_owned(),
                    label: e.label_zh().to_owned(),
                    count: f.evaluations.get(e).copied().unwrap_or(0),
                })
                .collect(),
        };
        let completeness = CompletenessCounts {
            visits_without_matter: f.visits_without_matter,
            matters_without_disposition: f.matters_without_disposition,
            consultations_without_advice: f.consultations_without_advice,
        };
        Ok(Statistics {
            period: q.period,
            as_of,
            hall: q.hall.clone(),
            visits,
            by_hall,
            by_day,
            by_month: keyed(&f.by_month, &same),
            by_year: keyed(&f.by_year, &same),
            by_appeal_kind: keyed(&f.by_appeal_kind, &kind_label),
            by_category: by_count(keyed(&f.by_category, &|k: &str| {
                category_name_in(k, &reference)
            })),
            by_agency: by_count(keyed(&f.by_agency, &|k: &str| none_or(k, same))),
            by_disposition,
            by_legal_route: by_count(keyed(&f.by_legal_route, &route_label)),
            desks,
            consultations,
            mediations,
            backlog,
            overdue,
            rates,
            completeness,
        })
    }

    /// The matters behind one rate: its denominator, each marked `counted` if in the numerator.
    pub fn rate_matters(
        &self,
        q: &StatsQuery,
        kind: RateKind,
        cal: &HolidayCalendar,
    ) -> Result<Vec<RateMatter>> {
        let as_of = q.as_of();
        let reference = self.reference_data();
        let mut out = Vec::new();
        let candidates = self.rate_candidates(q, kind)?;
        for m in self.matters_by_id(candidates, cal)? {
            let evaluation = self.latest_evaluation(&m.id, as_of)?;
            let Some(counted) = rate_side(&m, kind, &q.period, as_of, evaluation) else {
                continue;
            };
            let limit = match kind {
                RateKind::TimelyAcceptance => Some(DeadlineKind::Disposition),
                RateKind::OnTimeConclusion => Some(DeadlineKind::Conclusion),
                _ => None,
            };
            let deadline = limit.and_then(|k| m.state.deadlines.iter().find(|d| d.kind == k));
            let done_on = match kind {
                RateKind::TimelyAcceptance | RateKind::OnTimeConclusion => {
                    deadline.and_then(|d| d.done_on)
                }
                RateKind::Participation => stats::concluded_on(&m.state),
                RateKind::Satisfaction => evaluation.map(|e| e.1),
            };
            out.push(RateMatter {
                visitor_names: if m.confidential {
                    Vec::new()
                } else {
                    visitor_names(&self.conn, &m.first_visit_id)?
                },
                matter_id: m.id.clone(),
                hall_code: m.hall_code.clone(),
                received_on: m.received_on,
                status_label: m.state.status.label_zh().to_owned(),
                appeal_kind_label: m.appeal_kind.label_zh().to_owned(),
                category_name: category_name_in(&m.category_code, &reference),
                counted,
                due: deadline.map(|d| d.due),
                done_on,
                evaluation: evaluation.map(|e| e.0.label_zh().to_owned()),
            });
        }
        Ok(out)
    }

    fn visits_without_matter(&self, q: &StatsQuery) -> Result<Vec<Gap>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT x.id, x.visit_date FROM visits x
             WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
               AND (x.matter_id IS NULL OR NOT EXISTS (SELECT 1 FROM matters m WHERE m.id = x.matter_id))
             ORDER BY x.visit_date, x.queue_no",
        )?;
        let rows = stmt.query_map(params![q.from(), q.to(), q.hall], |r| {
            Ok(Gap {
                entity: "visit".into(),
                id: r.get(0)?,
                date: r.get(1)?,
                problem: "来访没有对应的信访事项：请在来访记录中补登事项，或核对同步是否完成。"
                    .into(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn consultations_without_advice(&self, q: &StatsQuery) -> Result<Vec<Gap>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT k.id, substr(k.created_at, 1, 10) FROM consultations k JOIN visits x ON x.id = k.visit_id
             WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
               AND trim(k.advice) = ''
             ORDER BY k.created_at",
        )?;
        let rows = stmt.query_map(params![q.from(), q.to(), q.hall], |r| {
            Ok(Gap {
                entity: "consultation".into(),
                id: r.get(0)?,
                date: r.get(1)?,
                problem: "法律咨询记录没有填写法律意见：请值班律师补填给出的意见。".into(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// 有一录一: visits without a matter, matters received in the period without a disposition,
    /// consultations without advice.
    pub fn completeness(&self, q: &StatsQuery, cal: &HolidayCalendar) -> Result<Completeness> {
        let as_of = q.as_of();
        let mut matters = Vec::new();
        let received: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(&figures::received_sql())?;
            let rows = stmt.query_map(params![q.from(), q.to(), q.hall], |r| r.get(8))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for m in self.matters_by_id(received, cal)? {
            if !q.period.contains(m.received_on) || stats::disposition(&m.state).is_some() {
                continue;
            }
            let due = m
                .state
                .deadlines
                .iter()
                .find(|d| d.kind == DeadlineKind::Disposition)
                .map(|d| d.due);
            let late = due.is_some_and(|d| d < as_of);
            matters.push(Gap {
                entity: "matter".into(),
                id: m.id,
                date: m.received_on.to_string(),
                problem: match due {
                    Some(d) if late => format!(
                        "事项尚未登记处理结果，处理期限 {d} 已过：请尽快登记受理、不予受理、转送、交办或导入法定途径。"
                    ),
                    Some(d) => format!(
                        "事项尚未登记处理结果：请在 {d} 前登记受理、不予受理、转送、交办或导入法定途径。"
                    ),
                    None => "事项尚未登记处理结果：请登记受理、不予受理、转送、交办或导入法定途径。"
                        .to_owned(),
                },
            });
        }
        Ok(Completeness {
            visits_without_matter: self.visits_without_matter(q)?,
            matters_without_disposition: matters,
            consultations_without_advice: self.consultations_without_advice(q)?,
        })
    }

    /// Records the visitor's evaluation of a concluded matter (at the desk or by phone).
    pub fn evaluate_matter(
        &mut self,
        matter_id: &str,
        input: &EvaluationInput,
        by: &str,
        today: NaiveDate,
        cal: &HolidayCalendar,
    ) -> Result<EvaluationRecord> {
        let tx = self.conn.transaction()?;
        let row = load_matter(&tx, matter_id)?;
        let state = row.state(cal)?;
        let valid = stats::validate_evaluation(input, stats::concluded_on(&state), today)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        tx.prepare_cached(
            "INSERT INTO matter_evaluations(id, matter_id, result, channel, evaluated_on, note, by_staff, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            id,
            matter_id,
            valid.result.code(),
            valid.channel.code(),
            valid.evaluated_on.to_string(),
            valid.note,
            by,
            now
        ])?;
        let mut f = Map::new();
        f.insert("matter_id".into(), json!(matter_id));
        f.insert("result".into(), json!(valid.result.code()));
        f.insert("channel".into(), json!(valid.channel.code()));
        f.insert("evaluated_on".into(), json!(valid.evaluated_on.to_string()));
        f.insert("note".into(), json!(valid.note));
        f.insert("by_staff".into(), json!(by));
        f.insert("created_at".into(), json!(now));
        changelog::append(&tx, "matter_evaluation", &id, Op::Insert, f, &now)?;
        tx.commit()?;
        tracing::info!(matter_id, evaluation_id = %id, "matter evaluated");
        Ok(evaluation_record(id, matter_id, valid, by.to_owned()))
    }

    /// A matter's evaluations, oldest first (the last one counts).
    pub fn evaluations_of(&self, matter_id: &str) -> Result<Vec<EvaluationRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, result, channel, evaluated_on, note, by_staff FROM matter_evaluations
             WHERE matter_id = ?1 ORDER BY evaluated_on, created_at",
        )?;
        let rows: Vec<(String, String, String, String, String, String)> = stmt
            .query_map([matter_id], |r| r.try_into())?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(id, result, channel, on, note, by)| {
                let channel = EvaluationChannel::parse(&channel)
                    .ok_or_else(|| StoreError::Corrupt(format!("评价方式 {channel} 无法识别")))?;
                let e = ValidEvaluation {
                    result: parse_evaluation(&result)?,
                    channel,
                    evaluated_on: parse_date(&on)?,
                    note,
                };
                Ok(evaluation_record(id, matter_id, e, by))
            })
            .collect()
    }

    /// Records a publicity activity (法治宣传活动) of this desk's hall.
    pub fn add_publicity(&mut self, a: &ValidPublicity, by: &str) -> Result<PublicityRecord> {
        let tx = self.conn.transaction()?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        let units = serde_json::to_string(&a.units)?;
        tx.prepare_cached(
            "INSERT INTO publicity_activities(id, hall_code, held_on, place, units, kind, leaflets,
               consulted, reached, posts, reads, note, by_staff, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            id,
            self.hall_code,
            a.held_on.to_string(),
            a.place,
            units,
            a.kind,
            a.leaflets,
            a.consulted,
            a.reached,
            a.posts,
            a.reads,
            a.note,
            by,
            now
        ])?;
        let mut f = Map::new();
        f.insert("hall_code".into(), json!(self.hall_code));
        f.insert("held_on".into(), json!(a.held_on.to_string()));
        f.insert("place".into(), json!(a.place));
        f.insert("units".into(), json!(units));
        f.insert("kind".into(), json!(a.kind));
        f.insert("leaflets".into(), json!(a.leaflets));
        f.insert("consulted".into(), json!(a.consulted));
        f.insert("reached".into(), json!(a.reached));
        f.insert("posts".into(), json!(a.posts));
        f.insert("reads".into(), json!(a.reads));
        f.insert("note".into(), json!(a.note));
        f.insert("by_staff".into(), json!(by));
        f.insert("created_at".into(), json!(now));
        changelog::append(&tx, "publicity_activity", &id, Op::Insert, f, &now)?;
        tx.commit()?;
        Ok(PublicityRecord {
            id,
            hall_code: self.hall_code.clone(),
            activity: a.clone(),
        })
    }

    /// Publicity activities held in the period, oldest first.
    pub fn publicity_list(&self, period: &Period) -> Result<Vec<PublicityRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, hall_code, held_on, place, units, kind, leaflets, consulted, reached, posts,
               reads, note FROM publicity_activities WHERE held_on BETWEEN ?1 AND ?2
             ORDER BY held_on, id",
        )?;
        type Raw = (
            String,
            String,
            String,
            String,
            String,
            String,
            [i64; 5],
            String,
        );
        let rows: Vec<Raw> = stmt
            .query_map(
                params![period.from.to_string(), period.to.to_string()],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?],
                        r.get(11)?,
                    ))
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(id, hall_code, held, place, units, kind, n, note)| {
                let n = n.map(|v| u32::try_from(v).unwrap_or(0));
                Ok(PublicityRecord {
                    id,
                    hall_code,
                    activity: ValidPublicity {
                        held_on: parse_date(&held)?,
                        place,
                        units: serde_json::from_str(&units)?,
                        kind_label: stats::publicity_kind(&kind)
                            .map_or_else(|| kind.clone(), |k| k.1.to_owned()),
                        kind,
                        leaflets: n[0],
                        consulted: n[1],
                        reached: n[2],
                        posts: n[3],
                        reads: n[4],
                        note,
                    },
                })
            })
            .collect()
    }

    /// The report's publicity figures for the period: events, distinct units, leaflets,
    /// consultations, beneficiaries, posts, reads; and the same per unit, kind and month.
    pub fn publicity_summary(&self, period: &Period) -> Result<PublicitySummary> {
        let acts: Vec<ValidPublicity> = self
            .publicity_list(period)?
            .into_iter()
            .map(|r| r.activity)
            .collect();
        Ok(stats::summarize_publicity(&acts))
    }

    /// The visit ledger of the period, in visiting order, with full document numbers (the
    /// caller masks them unless the role may see them in full).
    pub fn visit_ledger(&self, q: &StatsQuery, cal: &HolidayCalendar) -> Result<Vec<LedgerVisit>> {
        let reference = self.reference_data();
        let mut stmt = self.conn.prepare_cached(
            "SELECT x.id, x.hall_code, x.visited_at, x.queue_no, coalesce(s.display_name, ''), x.head_count,
               x.appeal, x.appeal_kind, x.category_code, coalesce(x.agency, ''), coalesce(x.place_code, ''),
               x.is_repeat, x.matter_id, m.id IS NOT NULL, coalesce(m.confidential, 0), m.received_on, m.state
             FROM visits x LEFT JOIN staff s ON s.id = x.clerk_id LEFT JOIN matters m ON m.id = x.matter_id
             WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
             ORDER BY x.visited_at, x.queue_no",
        )?;
        let mut people_stmt = self.conn.prepare_cached(
            "SELECT v.name, v.id_type, v.id_number, v.sex, v.phone, v.address, vv.is_representative
             FROM visit_visitors vv JOIN visitors v ON v.id = vv.visitor_id
             WHERE vv.visit_id = ?1 ORDER BY vv.position",
        )?;
        let mut rows = stmt.query(params![q.from(), q.to(), q.hall])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let visit_id: String = r.get(0)?;
            let kind: String = r.get(7)?;
            let category_code: String = r.get(8)?;
            let has_matter: bool = r.get(13)?;
            let (status_label, disposition_label) = if has_matter {
                let received = parse_date(&r.get::<_, String>(15)?)?;
                let state = match r.get::<_, Option<String>>(16)? {
                    Some(j) => serde_json::from_str(&j)?,
                    None => MatterState::registered(received, cal),
                };
                (
                    state.status.label_zh().to_owned(),
                    stats::disposition(&state)
                        .map_or("未处理", |d| d.0.label_zh())
                        .to_owned(),
                )
            } else {
                (String::new(), String::new())
            };
            let people = people_stmt
                .query_map([&visit_id], |p| {
                    let id_type: String = p.get(1)?;
                    Ok(LedgerPerson {
                        name: p.get(0)?,
                        id_type: xinfang_core::id::parse_id_type(&id_type)
                            .map_or(id_type, |t| t.label_zh().to_owned()),
                        id_number: p.get(2)?,
                        sex: p.get::<_, Option<String>>(3)?.map(|s| {
                            xinfang_core::id::Sex::parse(&s).map_or(s, |s| s.label_zh().to_owned())
                        }),
                        phone: p.get(4)?,
                        address: p.get(5)?,
                        representative: p.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(LedgerVisit {
                visit_id,
                hall_code: r.get(1)?,
                visited_at: r.get(2)?,
                queue_no: r.get(3)?,
                clerk_name: r.get(4)?,
                people,
                head_count: r.get(5)?,
                appeal: r.get(6)?,
                appeal_kind_label: kind_label(&kind),
                appeal_kind: kind,
                category_name: category_name_in(&category_code, &reference),
                category_code,
                agency: r.get(9)?,
                place_code: r.get(10)?,
                is_repeat: r.get(11)?,
                matter_id: r.get(12)?,
                confidential: r.get(14)?,
                status_label,
                disposition_label,
            });
        }
        Ok(out)
    }

    /// Consultations of the period, for the export.
    pub fn consultation_ledger(&self, q: &StatsQuery) -> Result<Vec<LedgerConsultation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT k.id, k.visit_id, substr(k.created_at, 1, 10), coalesce(s.display_name, ''), k.question,
               k.advice, k.legal_route, k.laws_cited, k.duration_minutes, k.follow_up, coalesce(m.confidential, 0)
             FROM consultations k JOIN visits x ON x.id = k.visit_id
               LEFT JOIN staff s ON s.id = k.lawyer_id LEFT JOIN matters m ON m.id = x.matter_id
             WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
             ORDER BY k.created_at",
        )?;
        let rows: Vec<(LedgerConsultation, bool)> = stmt
            .query_map(params![q.from(), q.to(), q.hall], |r| {
                let route: String = r.get(6)?;
                Ok((
                    LedgerConsultation {
                        id: r.get(0)?,
                        visit_id: r.get(1)?,
                        date: r.get(2)?,
                        lawyer_name: r.get(3)?,
                        visitor_names: Vec::new(),
                        question: r.get(4)?,
                        advice: r.get(5)?,
                        legal_route_name: route_label(&route),
                        laws_cited: r.get(7)?,
                        duration_minutes: r.get(8)?,
                        follow_up: r.get(9)?,
                    },
                    r.get(10)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(mut c, confidential)| {
                if !confidential {
                    c.visitor_names = visitor_names(&self.conn, &c.visit_id)?;
                }
                Ok(c)
            })
            .collect()
    }

    /// Mediations of the period, for the export.
    pub fn mediation_ledger(&self, q: &StatsQuery) -> Result<Vec<LedgerMediation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.visit_id, substr(m.created_at, 1, 10), coalesce(s.display_name, ''), m.dispute_type,
               (SELECT count(*) FROM mediation_sessions ms WHERE ms.mediation_id = m.id),
               m.outcome, m.judicial_confirmation
             FROM mediations m JOIN visits x ON x.id = m.visit_id LEFT JOIN staff s ON s.id = m.mediator_id
             WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
             ORDER BY m.created_at",
        )?;
        let rows: Vec<LedgerMediation> = stmt
            .query_map(params![q.from(), q.to(), q.hall], |r| {
                let dispute: String = r.get(4)?;
                let outcome: String = r.get(6)?;
                Ok(LedgerMediation {
                    id: r.get(0)?,
                    visit_id: r.get(1)?,
                    date: r.get(2)?,
                    mediator_name: r.get(3)?,
                    dispute_type_name: xinfang_core::desk::dispute_type(&dispute)
                        .map_or_else(|| dispute.clone(), |d| d.1.into()),
                    applicants: Vec::new(),
                    respondents: Vec::new(),
                    sessions: r.get(5)?,
                    outcome_label: xinfang_core::desk::MediationOutcome::parse(&outcome)
                        .map_or(outcome, |o| o.label_zh().to_owned()),
                    judicial_confirmation: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut parties = self.conn.prepare_cached(
            "SELECT role, name FROM mediation_parties WHERE mediation_id = ?1 ORDER BY position",
        )?;
        rows.into_iter()
            .map(|mut m| {
                for p in parties.query_map([&m.id], |r| <(String, String)>::try_from(r))? {
                    let (role, name) = p?;
                    if role == "applicant" {
                        m.applicants.push(name);
                    } else {
                        m.respondents.push(name);
                    }
                }
                Ok(m)
            })
            .collect()
    }

    /// Which of these ledger-row fingerprints were imported before.
    pub fn imported_ledger_rows(&self, fingerprints: &[String]) -> Result<HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM ledger_rows WHERE fingerprint = ?1")?;
        let mut out = HashSet::new();
        for f in fingerprints {
            if stmt.query_row([f], |_| Ok(())).optional()?.is_some() {
                out.insert(f.clone());
            }
        }
        Ok(out)
    }

    /// Imports the good rows of a ledger in one transaction: each row not imported before is
    /// registered as a visit (with its matter and change-log rows) and its fingerprint kept, so
    /// a second run on the same file imports nothing twice.
    pub fn import_ledger(
        &mut self,
        rows: &[LedgerImportRow],
        source: &str,
        clerk_id: &str,
    ) -> Result<ImportOutcome> {
        let tx = self.conn.transaction()?;
        let mut out = ImportOutcome::default();
        let mut seen = HashSet::new();
        for row in rows {
            let known: Option<i64> = tx
                .prepare_cached("SELECT 1 FROM ledger_rows WHERE fingerprint = ?1")?
                .query_row([&row.fingerprint], |r| r.get(0))
                .optional()?;
            if known.is_some() || !seen.insert(row.fingerprint.clone()) {
                out.already_imported.push(row.row_no);
                continue;
            }
            // Ids from the row: the same ledger imported at two desks of the hall is one set
            // of visits after sync, not two.
            let now = now_text(&*self.clock);
            let Registered { visit_id, .. } = register_in(
                &tx,
                &self.device_id,
                &self.hall_code,
                &row.visit,
                clerk_id,
                VisitIds::of_ledger_row(&self.hall_code, &row.fingerprint),
                &now,
            )?;
            tx.prepare_cached(
                "INSERT INTO ledger_rows(fingerprint, visit_id, source, row_no, by_staff, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![row.fingerprint, visit_id, source, row.row_no, clerk_id, now])?;
            let mut f = Map::new();
            f.insert("visit_id".into(), json!(visit_id));
            f.insert("source".into(), json!(source));
            f.insert("row_no".into(), json!(row.row_no));
            f.insert("by_staff".into(), json!(clerk_id));
            f.insert("imported_at".into(), json!(now));
            changelog::append(&tx, "ledger_row", &row.fingerprint, Op::Insert, f, &now)?;
            out.imported += 1;
            out.visit_ids.push(visit_id);
        }
        tx.commit()?;
        tracing::info!(
            imported = out.imported,
            skipped = out.already_imported.len(),
            "ledger imported"
        );
        Ok(out)
    }

    /// Records an export (who, what, how many rows, whether numbers were in full).
    pub fn log_export(
        &mut self,
        kind: &str,
        full_ids: bool,
        row_count: usize,
        file_name: &str,
        by: &str,
    ) -> Result<String> {
        let tx = self.conn.transaction()?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        tx.prepare_cached(
            "INSERT INTO export_log(id, kind, full_ids, row_count, file_name, by_staff, exported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![id, kind, full_ids, row_count as i64, file_name, by, now])?;
        let mut f = Map::new();
        f.insert("kind".into(), json!(kind));
        f.insert("full_ids".into(), json!(full_ids));
        f.insert("row_count".into(), json!(row_count));
        f.insert("file_name".into(), json!(file_name));
        f.insert("by_staff".into(), json!(by));
        f.insert("exported_at".into(), json!(now));
        changelog::append(&tx, "export_log", &id, Op::Insert, f, &now)?;
        // Every export is audited, in the same transaction; one with full numbers as such.
        let action = if full_ids {
            crate::AuditAction::ExportFull
        } else {
            crate::AuditAction::Export
        };
        crate::audit::append_in(
            &tx,
            &self.device_id,
            by,
            action,
            "export_log",
            &id,
            &format!("{kind}，{row_count} 行，{file_name}"),
            &now,
        )?;
        tx.commit()?;
        if full_ids {
            tracing::info!(export_id = %id, kind, rows = row_count, "export with full ID numbers");
        }
        Ok(id)
    }
}

/// Which side of `kind` the matter falls on in the period, if it is counted at all.
fn rate_side(
    m: &MatterFacts,
    kind: RateKind,
    period: &Period,
    as_of: NaiveDate,
    evaluation: Option<(Evaluation, NaiveDate)>,
) -> Option<bool> {
    match kind {
        RateKind::TimelyAcceptance => stats::timely_acceptance(&m.state, period, as_of),
        RateKind::OnTimeConclusion => stats::on_time_conclusion(&m.state, period, as_of),
        RateKind::Participation => stats::concluded_on(&m.state)
            .filter(|d| period.contains(*d))
            .map(|_| evaluation.is_some()),
        RateKind::Satisfaction => stats::concluded_on(&m.state)
            .filter(|d| period.contains(*d))
            .and(evaluation)
            .map(|(e, _)| e.is_satisfied()),
    }
}
