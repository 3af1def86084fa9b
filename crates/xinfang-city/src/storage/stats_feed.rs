//! The city's statistics rows, once for every backend: each backend selects a period's rows
//! with its own SQL through its indexes ([`StatsQuery`]), and this feeds them to the one
//! statistics function (`xinfang_core::tally`), as the desk does.

use chrono::NaiveDate;
use xinfang_core::matter::{DeadlineKind, DeadlineParty, TransferKind};
use xinfang_core::stats::{DispositionFacts, Evaluation};
use xinfang_core::tally::{
    ConcludedRow, ConsultationRow, DeadlineRow, MediationRow, ReceivedRow, StatsAccumulator,
    VisitRow, registered_overdue_cutoff,
};

use super::Result;

/// The queries of the statistics; each backend has its SQL for each. Parameters are days as
/// text: the first and last day of the period, and a third as the query says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsQuery {
    /// hall, day, head count, is repeat, appeal kind, category, agency, clerk, has matter,
    /// skip level.
    Visits,
    /// hall, lawyer, legal route, follow up, minutes, has advice.
    Consultations,
    /// hall, mediator, outcome, dispute type, judicial confirmation.
    Mediations,
    /// hall, received on, transfer kind, transfer at, accepted on, not accepted on, legal
    /// route on, legal route.
    Received,
    /// matter, hall, kind, party, due, done on, closed.
    DeadlinesDone,
    /// As `DeadlinesDone`; third parameter: the day the figures are taken.
    DeadlinesLate,
    /// matter, hall, received on; third parameter: the cutoff of [`registered_overdue_cutoff`].
    RegisteredLate,
    /// hall, concluded on, evaluation; third parameter: the day the figures are taken.
    Concluded,
}

impl StatsQuery {
    pub const ALL: [StatsQuery; 8] = [
        StatsQuery::Visits,
        StatsQuery::Consultations,
        StatsQuery::Mediations,
        StatsQuery::Received,
        StatsQuery::DeadlinesDone,
        StatsQuery::DeadlinesLate,
        StatsQuery::RegisteredLate,
        StatsQuery::Concluded,
    ];

    /// How many parameters the query takes.
    pub fn params(self) -> usize {
        match self {
            StatsQuery::DeadlinesLate | StatsQuery::RegisteredLate | StatsQuery::Concluded => 3,
            _ => 2,
        }
    }
}

/// One row of a statistics query, by column.
pub trait StatRow {
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn flag(&self, i: usize) -> Result<bool>;
}

/// Where the rows come from: runs a query and hands each row to `f`.
pub trait StatsSource {
    fn each(
        &mut self,
        q: StatsQuery,
        params: &[&str],
        f: &mut dyn FnMut(&dyn StatRow) -> Result<()>,
    ) -> Result<()>;
}

/// A day as the desk wrote it; a record with a malformed day is left out (logged).
fn day(s: &str) -> Option<NaiveDate> {
    let d = s.parse().ok();
    if d.is_none() {
        tracing::warn!("statistics row with a malformed day skipped");
    }
    d
}

fn opt_day(s: Option<String>) -> Option<NaiveDate> {
    s.as_deref().and_then(day)
}

fn code<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

fn feed_deadlines(
    src: &mut dyn StatsSource,
    q: StatsQuery,
    p: &[&str],
    acc: &mut StatsAccumulator<'_>,
) -> Result<()> {
    src.each(q, p, &mut |r| {
        let (id, hall) = (r.text(0)?, r.text(1)?);
        let (Some(kind), Some(party), Some(due)) = (
            code::<DeadlineKind>(&r.text(2)?),
            code::<DeadlineParty>(&r.text(3)?),
            day(&r.text(4)?),
        ) else {
            return Ok(());
        };
        acc.deadline(&DeadlineRow {
            matter_id: &id,
            hall_code: &hall,
            kind,
            party,
            due,
            done_on: opt_day(r.opt_text(5)?),
            matter_closed: r.int(6)? != 0,
        });
        Ok(())
    })
}

/// Feeds the accumulator's period from `src`.
pub fn feed(src: &mut dyn StatsSource, acc: &mut StatsAccumulator<'_>) -> Result<()> {
    let (from, to) = (acc.period().from.to_string(), acc.period().to.to_string());
    let as_of = acc.as_of().to_string();
    src.each(StatsQuery::Visits, &[&from, &to], &mut |r| {
        let Some(date) = day(&r.text(1)?) else {
            return Ok(());
        };
        let (hall, kind, category, agency, clerk) =
            (r.text(0)?, r.text(4)?, r.text(5)?, r.text(6)?, r.text(7)?);
        acc.visit(&VisitRow {
            hall_code: &hall,
            date,
            head_count: u32::try_from(r.int(2)?).unwrap_or(0),
            is_repeat: r.int(3)? != 0,
            appeal_kind: &kind,
            category_code: &category,
            agency: &agency,
            clerk_id: &clerk,
            has_matter: r.flag(8)?,
            skip_level: r.int(9)? != 0,
        });
        Ok(())
    })?;
    src.each(StatsQuery::Consultations, &[&from, &to], &mut |r| {
        let (hall, lawyer, route) = (r.text(0)?, r.text(1)?, r.text(2)?);
        acc.consultation(&ConsultationRow {
            hall_code: &hall,
            lawyer_id: &lawyer,
            legal_route: &route,
            follow_up: r.int(3)? != 0,
            minutes: u64::try_from(r.int(4)?).unwrap_or(0),
            has_advice: r.flag(5)?,
        });
        Ok(())
    })?;
    src.each(StatsQuery::Mediations, &[&from, &to], &mut |r| {
        let (hall, mediator, outcome, dispute) = (r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?);
        acc.mediation(&MediationRow {
            hall_code: &hall,
            mediator_id: &mediator,
            outcome: &outcome,
            dispute_type: &dispute,
            judicial_confirmation: r.int(4)? != 0,
        });
        Ok(())
    })?;
    src.each(StatsQuery::Received, &[&from, &to], &mut |r| {
        let Some(received_on) = day(&r.text(1)?) else {
            return Ok(());
        };
        let kind = r.opt_text(2)?;
        let transfer = match (
            kind.as_deref().and_then(code::<TransferKind>),
            opt_day(r.opt_text(3)?),
        ) {
            (Some(k), Some(at)) => Some((k, at)),
            _ => None,
        };
        let facts = DispositionFacts {
            transfer,
            accepted_on: opt_day(r.opt_text(4)?),
            not_accepted_on: opt_day(r.opt_text(5)?),
            legal_route_on: opt_day(r.opt_text(6)?),
        };
        let (hall, route) = (r.text(0)?, r.opt_text(7)?);
        acc.received(&ReceivedRow {
            hall_code: &hall,
            received_on,
            disposition: facts.disposition().map(|d| d.0),
            legal_route: route.as_deref(),
        });
        Ok(())
    })?;
    feed_deadlines(src, StatsQuery::DeadlinesDone, &[&from, &to], acc)?;
    feed_deadlines(src, StatsQuery::DeadlinesLate, &[&from, &to, &as_of], acc)?;
    let cutoff = registered_overdue_cutoff(acc.as_of()).to_string();
    src.each(
        StatsQuery::RegisteredLate,
        &[&from, &to, &cutoff],
        &mut |r| {
            let (id, hall) = (r.text(0)?, r.text(1)?);
            if let Some(received_on) = day(&r.text(2)?) {
                acc.registered_matter(&id, &hall, received_on);
            }
            Ok(())
        },
    )?;
    src.each(StatsQuery::Concluded, &[&from, &to, &as_of], &mut |r| {
        let Some(concluded_on) = day(&r.text(1)?) else {
            return Ok(());
        };
        let hall = r.text(0)?;
        let evaluation = r.opt_text(2)?.as_deref().and_then(Evaluation::parse);
        acc.concluded(&ConcludedRow {
            hall_code: &hall,
            concluded_on,
            evaluation,
        });
        Ok(())
    })
}
