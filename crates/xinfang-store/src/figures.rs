//! The desk's row source for [`xinfang_core::tally::StatsAccumulator`]: the facts of a period,
//! selected through indexes on the period's days (migration 0010) and streamed row by row, so a
//! month reads a month's rows whatever the size of the store (issue 21).
//!
//! Which rows: see the accumulator's module docs. The SQL here only selects; every rule (which
//! side of a rate, overdue or not, the disposition) is the core's.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, Row, params};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::kept_days::{DayRows, KeptDay, Sink, add_days, evaluated_until_text};
use xinfang_core::matter::{DeadlineKind, DeadlineParty, TransferKind};
use xinfang_core::stats::{DispositionFacts, Evaluation, Period};
use xinfang_core::tally::{
    ConcludedRow, ConsultationRow, DeadlineRow, Figures, MediationRow, ReceivedRow,
    StatsAccumulator, VisitRow, registered_overdue_cutoff,
};

use crate::stats::people;
use crate::{Result, StoreError};

/// ?1 first day, ?2 last day, ?3 hall or NULL.
pub(crate) const VISITS: &str =
    "SELECT x.hall_code, x.visit_date, x.head_count, x.is_repeat, x.appeal_kind,
       x.category_code, coalesce(x.agency, ''), x.clerk_id,
       x.matter_id IS NOT NULL AND EXISTS (SELECT 1 FROM matters m WHERE m.id = x.matter_id),
       x.skip_level
     FROM visits x WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)";

pub(crate) const CONSULTATIONS: &str =
    "SELECT x.hall_code, k.lawyer_id, k.legal_route, k.follow_up <> 0,
       k.duration_minutes, trim(k.advice) <> '', x.visit_date
     FROM visits x JOIN consultations k ON k.visit_id = x.id
     WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)";

pub(crate) const MEDIATIONS: &str = "SELECT x.hall_code, m.mediator_id, m.outcome, m.dispute_type,
       m.judicial_confirmation <> 0, x.visit_date
     FROM visits x JOIN mediations m ON m.visit_id = x.id
     WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)";

/// The facts of the state that decide the disposition, columns 2–6 of [`RECEIVED`].
const DISPOSITION_COLUMNS: &str =
    "s.transfer_kind, s.transfer_at, s.accepted_on, s.not_accepted_on,
       s.legal_route_on";

pub(crate) fn received_sql() -> String {
    format!(
        "SELECT m.hall_code, m.received_on, {DISPOSITION_COLUMNS}, m.legal_route, m.id
         FROM matters m LEFT JOIN matter_stats s ON s.matter_id = m.id
         WHERE m.received_on BETWEEN ?1 AND ?2 AND (?3 IS NULL OR m.hall_code = ?3)"
    )
}

/// Limits done in the period that count in a rate. `matters_facts` (migration 0026) holds the
/// hall and status of a matter, so the join does not read the large matter rows; the planner,
/// without statistics, would take the primary key's index and then the row.
pub(crate) const DEADLINES_DONE: &str =
    "SELECT d.matter_id, m.hall_code, d.kind, d.party, d.due, d.done_on,
       m.status = 'closed'
     FROM matter_deadlines d JOIN matters m INDEXED BY matters_facts ON m.id = d.matter_id
     WHERE d.done_on BETWEEN ?1 AND ?2 AND d.kind IN ('disposition', 'conclusion')
       AND (?3 IS NULL OR m.hall_code = ?3)";

/// Authorities' limits undone that ran out before ?4 (the day the figures are taken): late in
/// a rate if due in the period, and overdue if the matter is not closed. The open-limits index
/// holds the matter's hall and status (migration 0029), so nothing else is read. `INDEXED BY`:
/// without statistics the planner took the index of every undone limit, visitors' windows
/// included (767,000 rows at 900,000 visits, against 11,600 open authority limits).
pub(crate) const DEADLINES_LATE: &str =
    "SELECT d.matter_id, d.hall_code, d.kind, 'authority', d.due, NULL, d.status = 'closed'
     FROM matter_deadlines d INDEXED BY matter_deadlines_open
     WHERE d.done_on IS NULL AND d.party = 'authority' AND d.due < ?4
       AND (?3 IS NULL OR d.hall_code = ?3) AND ?1 IS NOT NULL AND ?2 IS NOT NULL";

/// Matters without steps (no stored state, so no stored limits) received before ?4, the
/// cutoff: only those can have run out.
pub(crate) const REGISTERED_LATE: &str = "SELECT m.id, m.hall_code, m.received_on FROM matters m
     WHERE m.status = 'registered' AND m.state IS NULL AND m.received_on < ?4
       AND (?3 IS NULL OR m.hall_code = ?3) AND ?1 IS NOT NULL AND ?2 IS NOT NULL";

/// Matters concluded in the period with their latest evaluation up to ?4, from the day index
/// alone (migration 0044 keeps each conclusion's hall and evaluations in it): only a matter
/// evaluated both before and after ?4 reads its evaluations.
pub(crate) const CONCLUDED: &str = "SELECT s.hall_code, s.concluded_on,
       CASE WHEN s.first_evaluated_on IS NULL OR s.first_evaluated_on > ?4 THEN NULL
            WHEN s.last_evaluated_on <= ?4 THEN s.last_evaluation
            ELSE (SELECT e.result FROM matter_evaluations e
                   WHERE e.matter_id = s.matter_id AND e.evaluated_on <= ?4
                   ORDER BY e.evaluated_on DESC, e.created_at DESC LIMIT 1) END,
       s.matter_id
     FROM matter_stats s INDEXED BY matter_stats_concluded
     WHERE s.concluded_on BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.hall_code = ?3)";

fn day(s: &str) -> Result<NaiveDate> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("日期格式不正确：{s}")))
}

fn opt_day(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref().map(day).transpose()
}

fn code<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| StoreError::Corrupt(format!("代码 {s} 无法识别")))
}

/// The disposition of a matter from columns `at..at + 5` of a row (see [`DISPOSITION_COLUMNS`]).
pub(crate) fn disposition_facts(r: &Row<'_>, at: usize) -> Result<DispositionFacts> {
    let kind: Option<String> = r.get(at)?;
    let transfer = match (kind, opt_day(r.get(at + 1)?)?) {
        (Some(k), Some(on)) => Some((code::<TransferKind>(&k)?, on)),
        _ => None,
    };
    Ok(DispositionFacts {
        transfer,
        accepted_on: opt_day(r.get(at + 2)?)?,
        not_accepted_on: opt_day(r.get(at + 3)?)?,
        legal_route_on: opt_day(r.get(at + 4)?)?,
    })
}

/// Feeds limits, each to the accumulator of the day it was done (or of its due day if undone).
fn feed_deadlines<'c>(
    conn: &Connection,
    sql: &str,
    p: &[&dyn rusqlite::ToSql],
    acc: &mut dyn Sink<'c>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(p)?;
    while let Some(r) = rows.next()? {
        let matter_id: String = r.get(0)?;
        let hall_code: String = r.get(1)?;
        let kind: DeadlineKind = code(&r.get::<_, String>(2)?)?;
        let party: DeadlineParty = code(&r.get::<_, String>(3)?)?;
        let (due, done_on) = (day(&r.get::<_, String>(4)?)?, opt_day(r.get(5)?)?);
        acc.at(done_on.unwrap_or(due)).deadline(&DeadlineRow {
            matter_id: &matter_id,
            hall_code: &hall_code,
            kind,
            party,
            due,
            done_on,
            matter_closed: r.get(6)?,
        });
    }
    Ok(())
}

/// Feeds the facts of the period (of one hall, or all) to `acc`, every row read.
pub(crate) fn feed(
    conn: &Connection,
    hall: Option<&str>,
    acc: &mut StatsAccumulator<'_>,
) -> Result<()> {
    let (from, to) = (acc.period().from.to_string(), acc.period().to.to_string());
    let as_of = acc.as_of().to_string();
    feed_days(conn, (&from, &to), hall, &as_of, acc)?;
    feed_open(conn, (&from, &to), hall, acc)
}

/// The rows that belong to the days `from..=to` alone: visits and their consultations and
/// mediations, matters received, limits done, matters concluded with their latest evaluation
/// up to `evaluated_until`. What they add up to depends on nothing else, so a day's sum can be
/// kept (see [`figures`]).
fn feed_days<'c>(
    conn: &Connection,
    (from, to): (&str, &str),
    hall: Option<&str>,
    evaluated_until: &str,
    acc: &mut dyn Sink<'c>,
) -> Result<()> {
    let p: [&dyn rusqlite::ToSql; 3] = [&from, &to, &hall];
    {
        let mut stmt = conn.prepare_cached(VISITS)?;
        let mut rows = stmt.query(p)?;
        while let Some(r) = rows.next()? {
            let (hall_code, date): (String, String) = (r.get(0)?, r.get(1)?);
            let (kind, category, agency, clerk): (String, String, String, String) =
                (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
            let date = day(&date)?;
            acc.at(date).visit(&VisitRow {
                hall_code: &hall_code,
                date,
                head_count: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                is_repeat: r.get::<_, i64>(3)? != 0,
                appeal_kind: &kind,
                category_code: &category,
                agency: &agency,
                clerk_id: &clerk,
                has_matter: r.get(8)?,
                skip_level: r.get::<_, i64>(9)? != 0,
            });
        }
    }
    {
        let mut stmt = conn.prepare_cached(CONSULTATIONS)?;
        let mut rows = stmt.query(p)?;
        while let Some(r) = rows.next()? {
            let (hall_code, lawyer, route): (String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?);
            acc.at(day(&r.get::<_, String>(6)?)?)
                .consultation(&ConsultationRow {
                    hall_code: &hall_code,
                    lawyer_id: &lawyer,
                    legal_route: &route,
                    follow_up: r.get(3)?,
                    minutes: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    has_advice: r.get(5)?,
                });
        }
    }
    {
        let mut stmt = conn.prepare_cached(MEDIATIONS)?;
        let mut rows = stmt.query(p)?;
        while let Some(r) = rows.next()? {
            let (hall_code, mediator, outcome, dispute): (String, String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            acc.at(day(&r.get::<_, String>(5)?)?)
                .mediation(&MediationRow {
                    hall_code: &hall_code,
                    mediator_id: &mediator,
                    outcome: &outcome,
                    dispute_type: &dispute,
                    judicial_confirmation: r.get(4)?,
                });
        }
    }
    {
        let mut stmt = conn.prepare_cached(&received_sql())?;
        let mut rows = stmt.query(p)?;
        while let Some(r) = rows.next()? {
            let hall_code: String = r.get(0)?;
            let route: Option<String> = r.get(7)?;
            let received_on = day(&r.get::<_, String>(1)?)?;
            acc.at(received_on).received(&ReceivedRow {
                hall_code: &hall_code,
                received_on,
                disposition: disposition_facts(r, 2)?.disposition().map(|d| d.0),
                legal_route: route.as_deref(),
            });
        }
    }
    feed_deadlines(conn, DEADLINES_DONE, &p, acc)?;
    feed_concluded(conn, (from, to), hall, evaluated_until, acc)
}

/// The matters concluded on the days `from..=to`, each with its latest evaluation recorded
/// up to `evaluated_until`.
fn feed_concluded<'c>(
    conn: &Connection,
    (from, to): (&str, &str),
    hall: Option<&str>,
    evaluated_until: &str,
    acc: &mut dyn Sink<'c>,
) -> Result<()> {
    let p4: [&dyn rusqlite::ToSql; 4] = [&from, &to, &hall, &evaluated_until];
    let mut stmt = conn.prepare_cached(CONCLUDED)?;
    let mut rows = stmt.query(p4)?;
    while let Some(r) = rows.next()? {
        let hall_code: String = r.get(0)?;
        let evaluation = match r.get::<_, Option<String>>(2)? {
            Some(e) => Some(
                Evaluation::parse(&e)
                    .ok_or_else(|| StoreError::Corrupt(format!("评价结果 {e} 无法识别")))?,
            ),
            None => None,
        };
        let concluded_on = day(&r.get::<_, String>(1)?)?;
        acc.at(concluded_on).concluded(&ConcludedRow {
            hall_code: &hall_code,
            concluded_on,
            evaluation,
        });
    }
    Ok(())
}

/// The limits that ran out undone before the day the figures are taken: they depend on that
/// day, so they are read at every call (the open limits, not the period's).
fn feed_open(
    conn: &Connection,
    (from, to): (&str, &str),
    hall: Option<&str>,
    acc: &mut StatsAccumulator<'_>,
) -> Result<()> {
    let as_of = acc.as_of().to_string();
    let p4: [&dyn rusqlite::ToSql; 4] = [&from, &to, &hall, &as_of];
    feed_deadlines(conn, DEADLINES_LATE, &p4, acc)?;
    let cutoff = registered_overdue_cutoff(acc.as_of()).to_string();
    let mut stmt = conn.prepare_cached(REGISTERED_LATE)?;
    let mut rows = stmt.query(params![from, to, hall, cutoff])?;
    while let Some(r) = rows.next()? {
        let (id, hall_code, received): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        acc.registered_matter(&id, &hall_code, day(&received)?);
    }
    Ok(())
}

/// The format of the figures kept in `stats_days`: raise it when [`Figures`] changes shape, so
/// figures kept by an older version are added up again rather than misread.
pub(crate) const FORMAT: i64 = 1;

/// The figures of the period (of one hall, or all): each day's figures from `stats_days` where
/// kept (migration 0027 drops a day's whenever one of its rows is written), the other days
/// added up from their rows and kept ([`xinfang_core::kept_days`]), the limits run out undone
/// read at every call.
pub(crate) fn figures(
    conn: &Connection,
    hall: Option<&str>,
    period: Period,
    today: NaiveDate,
    cal: &HolidayCalendar,
) -> Result<Figures> {
    let mut acc = StatsAccumulator::new(period, today, cal);
    let (from, to) = (period.from.to_string(), period.to.to_string());
    feed_open(conn, (&from, &to), hall, &mut acc)?;
    let as_of = acc.as_of();
    let mut out = acc.finish();
    add_kept_days(conn, hall, period, as_of, cal, &mut out)?;
    Ok(out)
}

/// Adds the figures of every day of `period` (of one hall, or all) to `out`: the days kept in
/// `stats_days` from there, the others added up from their rows and kept. Returns how many days
/// were added up and kept now (0 when another connection wrote meanwhile and nothing was kept).
fn add_kept_days(
    conn: &Connection,
    hall: Option<&str>,
    period: Period,
    as_of: NaiveDate,
    cal: &HolidayCalendar,
    out: &mut Figures,
) -> Result<usize> {
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let scope = hall.unwrap_or("*");
    let mut kept: BTreeMap<NaiveDate, KeptDay> = BTreeMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT day, figures, evaluated_until FROM stats_days
              WHERE day BETWEEN ?1 AND ?2 AND scope = ?3 AND format = ?4",
        )?;
        let mut rows = stmt.query(params![from, to, scope, FORMAT])?;
        while let Some(r) = rows.next()? {
            // Figures that do not read are added up again, like a day never kept.
            if let Ok(figures) = serde_json::from_str::<Figures>(&r.get::<_, String>(1)?) {
                let evaluated_until = opt_day(r.get(2)?)?;
                kept.insert(
                    day(&r.get::<_, String>(0)?)?,
                    KeptDay {
                        figures,
                        evaluated_until,
                    },
                );
            }
        }
    }
    // The days added up now are kept in one go, inside the read: if another connection wrote
    // one of their rows meanwhile, the write fails (the read is stale) and nothing is kept.
    conn.execute_batch("SAVEPOINT stats_days")?;
    let result = add_days(&mut DeskRows { conn, hall }, period, as_of, cal, &kept, out);
    let kept_now = match &result {
        Ok(fresh) => keep(conn, scope, fresh).is_ok(),
        Err(_) => false,
    };
    conn.execute_batch(if kept_now {
        "RELEASE stats_days"
    } else {
        "ROLLBACK TO stats_days; RELEASE stats_days"
    })?;
    let fresh = result?;
    Ok(if kept_now { fresh.len() } else { 0 })
}

/// What one turn of [`keep_due`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FiguresKept {
    /// Days added up from their rows and kept.
    pub days: usize,
    /// Months that still have days not kept, for a later turn.
    pub months_left: usize,
}

/// The desk's keeper of figures (issue 21): a sync that brings a hall's history writes rows of
/// every day of it, and each write drops its day's kept figures (migration 0027), so the first
/// statistics after it would add up every day again (1.4–5.5 s for a year at 100,000 visitors).
/// This adds up, for every hall together (what the statistics screen opens on), the days before
/// `today` that have none kept, a month per pass, newest month first, at most `max_months`
/// months that need it. Every pass is [`add_kept_days`]: a write from another connection
/// meanwhile keeps nothing of that month, and a later turn adds it up again.
pub(crate) fn keep_due(
    conn: &Connection,
    today: NaiveDate,
    cal: &HolidayCalendar,
    max_months: usize,
) -> Result<FiguresKept> {
    // The first day any row counts on: limits are done and matters concluded after they were
    // received. Both minimums are read from an index's first entry.
    let first: Option<String> = conn.query_row(
        "SELECT min(d) FROM (SELECT min(visit_date) AS d FROM visits
                             UNION ALL SELECT min(received_on) FROM matters)",
        [],
        |r| r.get(0),
    )?;
    let Some(first) = first.as_deref().map(day).transpose()? else {
        return Ok(FiguresKept::default());
    };
    let mut out = FiguresKept::default();
    let mut months_done = 0;
    // Not today: every registration drops today's figures again, and a kept row there would
    // only cost each one a page to delete. The statistics add today up from its rows.
    let Some(mut month_end) = today.pred_opt() else {
        return Ok(out);
    };
    while month_end >= first {
        let month_start = month_end.with_day(1).unwrap_or(month_end).max(first);
        let period = Period {
            from: month_start,
            to: month_end,
        };
        let days = (month_end - month_start).num_days() + 1;
        let kept: i64 = conn.query_row(
            "SELECT count(*) FROM stats_days
              WHERE day BETWEEN ?1 AND ?2 AND scope = '*' AND format = ?3",
            params![month_start.to_string(), month_end.to_string(), FORMAT],
            |r| r.get(0),
        )?;
        // An ended month's people are kept too: a year's statistics read twelve sets.
        let first_of_month = month_end.with_day(1).unwrap_or(month_end);
        let ended = month_end.succ_opt().is_some_and(|d| d.day() == 1);
        let people_due = ended && !people::month_kept(conn, first_of_month)?;
        if kept < days || people_due {
            if months_done < max_months {
                if kept < days {
                    // The figures added up are not needed here, only kept.
                    let mut unused = StatsAccumulator::new(period, today, cal).finish();
                    out.days += add_kept_days(conn, None, period, today, cal, &mut unused)?;
                }
                if people_due {
                    people::keep_month(conn, first_of_month)?;
                }
                months_done += 1;
            } else {
                out.months_left += 1;
            }
        }
        match month_start.pred_opt() {
            Some(d) => month_end = d,
            None => break,
        }
    }
    Ok(out)
}

/// The desk's rows of days, of one hall or all.
struct DeskRows<'a> {
    conn: &'a Connection,
    hall: Option<&'a str>,
}

impl<'c> DayRows<'c> for DeskRows<'_> {
    type Error = StoreError;

    fn feed_days(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
        evaluated_until: Option<NaiveDate>,
        sink: &mut dyn Sink<'c>,
    ) -> Result<()> {
        let until = evaluated_until_text(evaluated_until);
        let (from, to) = (from.to_string(), to.to_string());
        feed_days(self.conn, (&from, &to), self.hall, &until, sink)
    }

    fn feed_concluded(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
        evaluated_until: Option<NaiveDate>,
        sink: &mut dyn Sink<'c>,
    ) -> Result<()> {
        let until = evaluated_until_text(evaluated_until);
        let (from, to) = (from.to_string(), to.to_string());
        feed_concluded(self.conn, (&from, &to), self.hall, &until, sink)
    }

    fn latest_evaluations(
        &mut self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, NaiveDate>> {
        latest_evaluations(self.conn, self.hall, (&from.to_string(), &to.to_string()))
    }
}

/// For each day of the range, the latest day an evaluation was recorded for a matter concluded
/// on it.
fn latest_evaluations(
    conn: &Connection,
    hall: Option<&str>,
    (from, to): (&str, &str),
) -> Result<BTreeMap<NaiveDate, NaiveDate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.concluded_on, max(s.last_evaluated_on)
           FROM matter_stats s INDEXED BY matter_stats_concluded
          WHERE s.concluded_on BETWEEN ?1 AND ?2 AND (?3 IS NULL OR s.hall_code = ?3)
            AND s.last_evaluated_on IS NOT NULL
          GROUP BY s.concluded_on",
    )?;
    let mut rows = stmt.query(params![from, to, hall])?;
    let mut out = BTreeMap::new();
    while let Some(r) = rows.next()? {
        out.insert(day(&r.get::<_, String>(0)?)?, day(&r.get::<_, String>(1)?)?);
    }
    Ok(out)
}

fn keep(conn: &Connection, scope: &str, days: &[(NaiveDate, KeptDay)]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO stats_days(day, scope, format, figures, evaluated_until)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (d, k) in days {
        let json = serde_json::to_string(&k.figures)
            .map_err(|e| StoreError::Corrupt(format!("统计数字无法保存：{e}")))?;
        stmt.execute(params![
            d.to_string(),
            scope,
            FORMAT,
            json,
            k.evaluated_until.map(|u| u.to_string())
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The open limits — the due list's and the overdue figures' — are read from the open-limits
    /// index alone (migration 0029): no seek into the matters per limit.
    #[test]
    fn open_limits_are_read_from_their_index_alone() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        for sql in [DEADLINES_LATE, crate::matters::DUE_LIMITS] {
            let mut stmt = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let n = stmt.parameter_count();
            let plan: Vec<String> = stmt
                .query_map(
                    &params!["2025-03-01", "2025-03-31", "140521", "2025-04-01"][..n],
                    |r| r.get::<_, String>(3),
                )
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            // The due list sorts the limits of one day by day received (a few) in memory.
            assert_eq!(
                plan[0], "SEARCH d USING COVERING INDEX matter_deadlines_open (due<?)",
                "{sql}"
            );
            assert!(
                plan[1..]
                    .iter()
                    .all(|p| p.starts_with("USE TEMP B-TREE FOR")),
                "{plan:?}"
            );
        }
    }

    /// A period's conclusions are one range of the day index, which holds each one's hall and
    /// evaluations (migration 0044): no read of its matter (before, one per conclusion, most
    /// of a month's time at 1M visitors from a file the OS had not cached).
    #[test]
    fn the_conclusions_are_read_from_the_day_index_alone() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CONCLUDED}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map(
                params!["2025-03-01", "2025-03-31", "140521", "2025-04-01"],
                |r| r.get::<_, String>(3),
            )
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan[0].contains("COVERING INDEX matter_stats_concluded"),
            "{plan:#?}"
        );
        // Only the evaluations of a matter evaluated both before and after the day the figures
        // are taken, in the subquery.
        let tables: Vec<&String> = plan.iter().filter(|p| p.starts_with("SEARCH")).collect();
        assert_eq!(tables.len(), 2, "{plan:#?}");
        assert!(tables[1].contains("matter_evaluations"), "{plan:#?}");
    }

    /// Every statistics query reads through an index on the period (or on the open limits),
    /// never a scan of a whole table.
    #[test]
    fn every_statistics_query_uses_an_index() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        let conn = &store.conn;
        for sql in [
            VISITS.to_owned(),
            CONSULTATIONS.to_owned(),
            MEDIATIONS.to_owned(),
            received_sql(),
            DEADLINES_DONE.to_owned(),
            DEADLINES_LATE.to_owned(),
            REGISTERED_LATE.to_owned(),
            CONCLUDED.to_owned(),
        ] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = stmt
                .query_map(
                    &params!["2025-03-01", "2025-03-31", None::<String>, "2025-04-01"]
                        [..if sql.contains("?4") { 4 } else { 3 }],
                    |r| r.get::<_, String>(3),
                )
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let first = &plan[0];
            assert!(
                first.starts_with("SEARCH") && first.contains("INDEX"),
                "{sql}\n{plan:#?}"
            );
            assert!(
                !plan.iter().any(|p| p.starts_with("SCAN")),
                "{sql}\n{plan:#?}"
            );
        }
    }
}
