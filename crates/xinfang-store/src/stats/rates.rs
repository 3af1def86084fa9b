//! The four audited rates (及时受理率, 按期办结率, 参评率, 满意率) and the matters behind each:
//! which side of a rate a matter falls on is decided by `xinfang_core::stats`, from the
//! matter's state (its events), never from a typed figure.

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::DeadlineKind;
use xinfang_core::stats::{self, Evaluation, Period, Rate, RateKind};

use super::evaluations::parse_evaluation;
use super::{Count, MatterFacts, StatsQuery, parse_date};
use crate::matters::{category_name_in, visitor_names};
use crate::{Result, Store, StoreError, figures};

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

/// A page of the matters behind a rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RateMattersPage {
    pub rows: Vec<RateMatter>,
    /// More follow the last row (ask again with it as `after`).
    pub more: bool,
}

/// One matter behind a rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RateMatter {
    pub matter_id: String,
    /// 事项编号 (`沁水-2026-11-B0017`).
    pub matter_number: String,
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

/// Limits of a kind (?3) done in the period: the done-limits index holds each limit's matter
/// and kind, so nothing else is read.
const LIMITS_DONE: &str = "SELECT matter_id FROM matter_deadlines INDEXED BY matter_deadlines_done
     WHERE done_on BETWEEN ?1 AND ?2 AND kind = ?3";

/// The same in one hall (?4): each limit's row is read for its hall.
const LIMITS_DONE_IN_HALL: &str = "SELECT matter_id FROM matter_deadlines
     INDEXED BY matter_deadlines_done
     WHERE done_on BETWEEN ?1 AND ?2 AND kind = ?3 AND hall_code = ?4";

/// An authority's limits of a kind (?2) undone that ran out before ?1 (the day the figures are
/// taken) and were due in the period (?4 to ?5), in the hall ?3 if one is asked: late. (Not
/// every overdue limit: 40,000 at 1M visits, each of whose matters a page had judged.)
const LIMITS_LATE: &str = "SELECT matter_id FROM matter_deadlines INDEXED BY matter_deadlines_open
     WHERE done_on IS NULL AND party = 'authority' AND due < ?1 AND kind = ?2
       AND (?3 IS NULL OR hall_code = ?3) AND due BETWEEN ?4 AND ?5";

impl Store {
    /// The ids of the matters that may count in `kind` for the query, in order, selected
    /// through the period's indexes (as the statistics are): the rule then decides on each.
    /// A timeliness rate reads only its own limit's kind (the rule looks at no other), from
    /// the index entries alone unless one hall is asked (a month at 1M visits: 0.9 s through
    /// the figures' statement of both kinds with their matters, 47 ms from the index).
    fn rate_candidates(&self, q: &StatsQuery, kind: RateKind) -> Result<Vec<String>> {
        let (from, to, as_of) = (q.from(), q.to(), q.as_of().to_string());
        let hall = q.hall.as_deref();
        let mut ids = Vec::new();
        let mut collect = |sql: &str, p: &[&dyn rusqlite::ToSql], at: usize| -> Result<()> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut rows = stmt.query(p)?;
            while let Some(r) = rows.next()? {
                ids.push(r.get::<_, String>(at)?);
            }
            Ok(())
        };
        let limit = match kind {
            RateKind::TimelyAcceptance => Some("disposition"),
            RateKind::OnTimeConclusion => Some("conclusion"),
            RateKind::Participation | RateKind::Satisfaction => None,
        };
        if let Some(limit) = limit {
            match hall {
                None => collect(LIMITS_DONE, &[&from, &to, &limit], 0)?,
                Some(h) => collect(LIMITS_DONE_IN_HALL, &[&from, &to, &limit, &h], 0)?,
            }
            collect(LIMITS_LATE, &[&as_of, &limit, &hall, &from, &to], 0)?;
        }
        match kind {
            RateKind::TimelyAcceptance => {
                // A matter without steps keeps no limits: its registration's limit is judged.
                let cutoff = xinfang_core::tally::registered_overdue_cutoff(q.as_of()).to_string();
                collect(figures::REGISTERED_LATE, &[&from, &to, &hall, &cutoff], 0)?;
            }
            RateKind::OnTimeConclusion => {}
            RateKind::Participation | RateKind::Satisfaction => {
                collect(figures::CONCLUDED, &[&from, &to, &hall, &as_of], 3)?;
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
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

    /// The matters behind one rate: its denominator, each marked `counted` if in the numerator.
    pub fn rate_matters(
        &self,
        q: &StatsQuery,
        kind: RateKind,
        cal: &HolidayCalendar,
    ) -> Result<Vec<RateMatter>> {
        let mut out = Vec::new();
        self.read_rate_matters(q, kind, cal, None, &mut |m| {
            out.push(m);
            true
        })?;
        Ok(out)
    }

    /// The matters behind one rate a page at a time, in the order of their ids (of their
    /// registration): at most `limit` after the matter `after`. A month's denominator at a
    /// city's scale is 72,000 matters; the screen shows a page and asks for the next.
    pub fn rate_matters_page(
        &self,
        q: &StatsQuery,
        kind: RateKind,
        cal: &HolidayCalendar,
        after: Option<&str>,
        limit: usize,
    ) -> Result<RateMattersPage> {
        let mut rows = Vec::new();
        let mut more = false;
        self.read_rate_matters(q, kind, cal, after, &mut |m| {
            if rows.len() == limit {
                more = true;
                return false;
            }
            rows.push(m);
            true
        })?;
        Ok(RateMattersPage { rows, more })
    }

    /// [`Store::rate_matters`] one matter at a time, to `f` as it is read (an export).
    pub fn each_rate_matter<E: From<StoreError>>(
        &self,
        q: &StatsQuery,
        kind: RateKind,
        cal: &HolidayCalendar,
        f: impl FnMut(RateMatter) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        super::until_error(|g| self.read_rate_matters(q, kind, cal, None, g), f)
    }

    /// The matters behind `kind` whose ids follow `after`, to `f` in order until it returns
    /// false: each candidate's facts are read and judged only when the one before was taken.
    fn read_rate_matters(
        &self,
        q: &StatsQuery,
        kind: RateKind,
        cal: &HolidayCalendar,
        after: Option<&str>,
        f: &mut dyn FnMut(RateMatter) -> bool,
    ) -> Result<()> {
        let as_of = q.as_of();
        let reference = self.reference_data();
        let candidates = self.rate_candidates(q, kind)?;
        let start = after.map_or(0, |a| candidates.partition_point(|id| id.as_str() <= a));
        for id in &candidates[start..] {
            let Some(m) = self.matters_by_id([id.clone()], cal)?.pop() else {
                continue;
            };
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
            let row = RateMatter {
                visitor_names: if m.confidential {
                    Vec::new()
                } else {
                    visitor_names(&self.conn, &m.first_visit_id)?
                },
                matter_number: self.record_number("matter", &m.id)?.unwrap_or_default(),
                matter_id: m.id.clone(),
                hall_code: m.hall_code.clone(),
                received_on: m.received_on,
                status_label: m.state.status_label().to_owned(),
                appeal_kind_label: m.appeal_kind.label_zh().to_owned(),
                category_name: category_name_in(&m.category_code, &reference),
                counted,
                due: deadline.map(|d| d.due),
                done_on,
                evaluation: evaluation.map(|e| e.0.label_zh().to_owned()),
            };
            if !f(row) {
                break;
            }
        }
        Ok(())
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
