//! The city's statistics rows, once for every backend: each backend selects a period's rows
//! with its own SQL through its indexes ([`StatsQuery`]), and this feeds them to the one
//! statistics function (`xinfang_core::tally`), as the desk does. Each day's figures are kept
//! once added up (`stats_days`, dropped by trigger when one of the day's rows is written), so a
//! period adds up its days' figures ([`xinfang_core::kept_days`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::kept_days::{DayRows, KeptDay, Sink, add_days, evaluated_until_text};
use xinfang_core::matter::{DeadlineKind, DeadlineParty, TransferKind};
use xinfang_core::stats::{DispositionFacts, Evaluation, Period};
use xinfang_core::tally::{
    ConcludedRow, ConsultationRow, DeadlineRow, Figures, MediationRow, ReceivedRow,
    StatsAccumulator, VisitRow, registered_overdue_cutoff,
};

use super::{Result, StorageError};

/// The queries of the statistics; each backend has its SQL for each. Parameters are days as
/// text: the first and last day of the period, and a third as the query says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsQuery {
    /// hall, day, head count, is repeat, appeal kind, category, agency, clerk, has matter,
    /// skip level.
    Visits,
    /// hall, lawyer, legal route, follow up, minutes, has advice, the visit's day.
    Consultations,
    /// hall, mediator, outcome, dispute type, judicial confirmation, the visit's day.
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
    /// hall, concluded on, evaluation; third parameter: the last day of evaluations that count.
    Concluded,
    /// concluded on, the latest day an evaluation was recorded for a matter concluded that day.
    LatestEvaluations,
}

impl StatsQuery {
    pub const ALL: [StatsQuery; 9] = [
        StatsQuery::Visits,
        StatsQuery::Consultations,
        StatsQuery::Mediations,
        StatsQuery::Received,
        StatsQuery::DeadlinesDone,
        StatsQuery::DeadlinesLate,
        StatsQuery::RegisteredLate,
        StatsQuery::Concluded,
        StatsQuery::LatestEvaluations,
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

/// Where the rows come from: runs a query and hands each row to `f`; and where the days'
/// figures are kept.
pub trait StatsSource {
    fn each(
        &mut self,
        q: StatsQuery,
        params: &[&str],
        f: &mut dyn FnMut(&dyn StatRow) -> Result<()>,
    ) -> Result<()>;

    /// The figures kept for the days `from..=to` in `format`: day, figures (JSON), evaluated
    /// until.
    fn kept_days(
        &mut self,
        from: &str,
        to: &str,
        format: i64,
    ) -> Result<Vec<(String, String, Option<String>)>>;

    /// Keeps a day's figures, replacing any kept before; the day is no longer due.
    fn keep_day(
        &mut self,
        day: &str,
        format: i64,
        figures: &str,
        evaluated_until: Option<&str>,
    ) -> Result<()>;

    /// The newest `limit` days due (`stats_days_due`: a row of theirs was written since their
    /// figures were kept, or they never were), newest first.
    fn due_days(&mut self, limit: usize) -> Result<Vec<String>>;

    /// The days `from..=to` are no longer due.
    fn clear_due(&mut self, from: &str, to: &str) -> Result<()>;
}

/// The format of the figures kept in `stats_days`: raise it when [`Figures`] changes shape, so
/// figures kept by an older version are added up again rather than misread.
pub const FORMAT: i64 = 1;

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

fn feed_deadlines<'c>(
    src: &mut dyn StatsSource,
    q: StatsQuery,
    p: &[&str],
    acc: &mut dyn Sink<'c>,
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
        let done_on = opt_day(r.opt_text(5)?);
        acc.at(done_on.unwrap_or(due)).deadline(&DeadlineRow {
            matter_id: &id,
            hall_code: &hall,
            kind,
            party,
            due,
            done_on,
            matter_closed: r.int(6)? != 0,
        });
        Ok(())
    })
}

/// Feeds the rows that belong to the days `from..=to` alone, each to the accumulator of its
/// day (see [`DayRows::feed_days`]).
fn feed_days<'c>(
    src: &mut dyn StatsSource,
    (from, to): (&str, &str),
    evaluated_until: &str,
    acc: &mut dyn Sink<'c>,
) -> Result<()> {
    src.each(StatsQuery::Visits, &[from, to], &mut |r| {
        let Some(date) = day(&r.text(1)?) else {
            return Ok(());
        };
        let (hall, kind, category, agency, clerk) =
            (r.text(0)?, r.text(4)?, r.text(5)?, r.text(6)?, r.text(7)?);
        acc.at(date).visit(&VisitRow {
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
    src.each(StatsQuery::Consultations, &[from, to], &mut |r| {
        let Some(date) = day(&r.text(6)?) else {
            return Ok(());
        };
        let (hall, lawyer, route) = (r.text(0)?, r.text(1)?, r.text(2)?);
        acc.at(date).consultation(&ConsultationRow {
            hall_code: &hall,
            lawyer_id: &lawyer,
            legal_route: &route,
            follow_up: r.int(3)? != 0,
            minutes: u64::try_from(r.int(4)?).unwrap_or(0),
            has_advice: r.flag(5)?,
        });
        Ok(())
    })?;
    src.each(StatsQuery::Mediations, &[from, to], &mut |r| {
        let Some(date) = day(&r.text(5)?) else {
            return Ok(());
        };
        let (hall, mediator, outcome, dispute) = (r.text(0)?, r.text(1)?, r.text(2)?, r.text(3)?);
        acc.at(date).mediation(&MediationRow {
            hall_code: &hall,
            mediator_id: &mediator,
            outcome: &outcome,
            dispute_type: &dispute,
            judicial_confirmation: r.int(4)? != 0,
        });
        Ok(())
    })?;
    src.each(StatsQuery::Received, &[from, to], &mut |r| {
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
        acc.at(received_on).received(&ReceivedRow {
            hall_code: &hall,
            received_on,
            disposition: facts.disposition().map(|d| d.0),
            legal_route: route.as_deref(),
        });
        Ok(())
    })?;
    feed_deadlines(src, StatsQuery::DeadlinesDone, &[from, to], acc)?;
    feed_concluded(src, (from, to), evaluated_until, acc)
}

/// The matters concluded on the days `from..=to`, each with its latest evaluation recorded
/// up to `evaluated_until` (see [`DayRows::feed_concluded`]).
fn feed_concluded<'c>(
    src: &mut dyn StatsSource,
    (from, to): (&str, &str),
    evaluated_until: &str,
    acc: &mut dyn Sink<'c>,
) -> Result<()> {
    src.each(
        StatsQuery::Concluded,
        &[from, to, evaluated_until],
        &mut |r| {
            let Some(concluded_on) = day(&r.text(1)?) else {
                return Ok(());
            };
            let hall = r.text(0)?;
            let evaluation = r.opt_text(2)?.as_deref().and_then(Evaluation::parse);
            acc.at(concluded_on).concluded(&ConcludedRow {
                hall_code: &hall,
                concluded_on,
                evaluation,
            });
            Ok(())
        },
    )
}

/// Feeds what depends on the day the figures are taken: the limits run out undone before it,
/// read at every call (never kept with a day).
fn feed_open(src: &mut dyn StatsSource, acc: &mut StatsAccumulator<'_>) -> Result<()> {
    let (from, to) = (acc.period().from.to_string(), acc.period().to.to_string());
    let as_of = acc.as_of().to_string();
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
    )
}

/// The city's rows of days.
struct CityRows<'s>(&'s mut dyn StatsSource);

impl<'c> DayRows<'c> for CityRows<'_> {
    type Error = StorageError;

    fn feed_days(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
        evaluated_until: Option<NaiveDate>,
        sink: &mut dyn Sink<'c>,
    ) -> Result<()> {
        let until = evaluated_until_text(evaluated_until);
        feed_days(self.0, (&from.to_string(), &to.to_string()), &until, sink)
    }

    fn feed_concluded(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
        evaluated_until: Option<NaiveDate>,
        sink: &mut dyn Sink<'c>,
    ) -> Result<()> {
        let until = evaluated_until_text(evaluated_until);
        feed_concluded(self.0, (&from.to_string(), &to.to_string()), &until, sink)
    }

    fn latest_evaluations(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, NaiveDate>> {
        let mut out = BTreeMap::new();
        self.0.each(
            StatsQuery::LatestEvaluations,
            &[&from.to_string(), &to.to_string()],
            &mut |r| {
                if let (Some(d), Some(u)) = (day(&r.text(0)?), opt_day(r.opt_text(1)?)) {
                    out.insert(d, u);
                }
                Ok(())
            },
        )?;
        Ok(out)
    }
}

/// The figures kept for the days of `period`.
fn kept_days(src: &mut dyn StatsSource, period: Period) -> Result<BTreeMap<NaiveDate, KeptDay>> {
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let mut kept = BTreeMap::new();
    for (d, json, until) in src.kept_days(&from, &to, FORMAT)? {
        // Figures that do not read are added up again, like a day never kept.
        if let (Some(d), Ok(figures)) = (day(&d), serde_json::from_str::<Figures>(&json)) {
            let evaluated_until = opt_day(until);
            kept.insert(
                d,
                KeptDay {
                    figures,
                    evaluated_until,
                },
            );
        }
    }
    Ok(kept)
}

/// The figures of a period and the days added up for them from their rows, to keep.
pub struct PeriodFigures {
    pub figures: Figures,
    pub fresh: Vec<(NaiveDate, KeptDay)>,
}

/// The figures of `period` taken on `today`: each day's kept figures where kept, the other
/// days added up from their rows (returned in `fresh`, for [`keep`]), the limits run out
/// undone read anew. With `only_kept`, `None` when a day of the period is not kept, before
/// any row is read (a reader that cannot keep leaves the adding up to one that can).
pub fn figures(
    src: &mut dyn StatsSource,
    period: Period,
    today: NaiveDate,
    cal: &HolidayCalendar,
    only_kept: bool,
) -> Result<Option<PeriodFigures>> {
    let kept = kept_days(src, period)?;
    let days = period.from.iter_days().take_while(|d| *d <= period.to);
    if only_kept && days.count() != kept.len() {
        return Ok(None);
    }
    let mut acc = StatsAccumulator::new(period, today, cal);
    feed_open(src, &mut acc)?;
    let as_of = acc.as_of();
    let mut out = acc.finish();
    let fresh = add_days(&mut CityRows(src), period, as_of, cal, &kept, &mut out)?;
    Ok(Some(PeriodFigures {
        figures: out,
        fresh,
    }))
}

/// Keeps the days added up by [`figures`].
pub fn keep(src: &mut dyn StatsSource, fresh: &[(NaiveDate, KeptDay)]) -> Result<()> {
    for (d, k) in fresh {
        let json = serde_json::to_string(&k.figures)
            .map_err(|e| StorageError::Backend(format!("statistics figures: {e}")))?;
        let until = k.evaluated_until.map(|u| u.to_string());
        src.keep_day(&d.to_string(), FORMAT, &json, until.as_deref())?;
    }
    Ok(())
}

/// The most days [`keep_due`] adds up at once: a month, one run of
/// [`xinfang_core::kept_days::add_days`], so a push waits no longer than that for the store.
const DUE_RUN_DAYS: i64 = 31;

/// Adds up and keeps the newest days due, those of at most a month ([`DUE_RUN_DAYS`]) ending
/// with the newest: what the server does in the background after pushes, so that the
/// administrator's statistics find their days kept. Returns how many days are no longer due
/// (0: none was).
pub fn keep_due(src: &mut dyn StatsSource, cal: &HolidayCalendar) -> Result<usize> {
    let due = src.due_days(DUE_RUN_DAYS as usize)?;
    let mut days = Vec::new();
    for d in &due {
        match d.parse::<NaiveDate>() {
            Ok(d) => days.push(d),
            // A desk's malformed date: no day to add up.
            Err(_) => src.clear_due(d, d)?,
        }
    }
    let Some(&to) = days.first() else {
        return Ok(due.len());
    };
    let from = days
        .iter()
        .copied()
        .take_while(|d| (to - *d).num_days() < DUE_RUN_DAYS)
        .last()
        .unwrap_or(to);
    let period = Period { from, to };
    let kept = kept_days(src, period)?;
    // Only the days added up are wanted, not the period's sum: no kept day is read again for
    // evaluations after the day the sum is taken.
    let mut sum = StatsAccumulator::new(period, to, cal).finish();
    let fresh = add_days(
        &mut CityRows(src),
        period,
        NaiveDate::MAX,
        cal,
        &kept,
        &mut sum,
    )?;
    keep(src, &fresh)?;
    src.clear_due(&from.to_string(), &to.to_string())?;
    let malformed = due.len() - days.len();
    Ok(days.iter().filter(|d| **d >= from).count() + malformed)
}
