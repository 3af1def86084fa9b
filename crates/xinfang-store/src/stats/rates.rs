//! The four audited rates (及时受理率, 按期办结率, 参评率, 满意率) and the matters behind each:
//! which side of a rate a matter falls on is decided by `xinfang_core::stats`, from the
//! matter's state (its events), never from a typed figure.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::DeadlineKind;
use xinfang_core::stats::{self, Evaluation, Period, Rate, RateKind};

use super::evaluations::parse_evaluation;
use super::{Count, MatterFacts, StatsQuery, parse_date};
use crate::matters::{category_name_in, visitor_names};
use crate::{Result, Store, figures};

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

impl Store {
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
            });
        }
        Ok(out)
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
