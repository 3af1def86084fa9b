//! 有一录一: the records that are missing something (a visit without a matter, a matter without
//! a disposition, a consultation without advice), counted and listed with what to do.

use rusqlite::params;
use serde::Serialize;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::DeadlineKind;
use xinfang_core::stats;

use super::StatsQuery;
use crate::{Result, Store, figures};

/// 有一录一: counts of records that are missing something.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CompletenessCounts {
    pub visits_without_matter: u64,
    pub matters_without_disposition: u64,
    pub consultations_without_advice: u64,
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

/// Visits of the period whose matter is not in the store. The date index holds the hall and
/// the matter (migration 0041), so the period is read from it and the matters' keys alone; a
/// visit's row is read only for a gap. A year's rows were 120 MB at 300,000 visitors.
const VISITS_WITHOUT_MATTER: &str = "SELECT x.id, x.visit_date FROM visits x
     WHERE x.rowid IN (
       SELECT v.rowid FROM visits v INDEXED BY visits_date
       WHERE v.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR v.hall_code = ?3)
         AND (v.matter_id IS NULL
              OR NOT EXISTS (SELECT 1 FROM matters m WHERE m.id = v.matter_id)))
     ORDER BY x.visit_date, x.queue_no";

/// Consultations without advice, from the index of only them (migration 0041), each with its
/// visit by key; `CROSS JOIN` keeps them first, or the planner may go through every visit of
/// the period.
const CONSULTATIONS_WITHOUT_ADVICE: &str = "SELECT k.id, substr(k.created_at, 1, 10)
     FROM consultations k INDEXED BY consultations_without_advice CROSS JOIN visits x
     WHERE x.id = k.visit_id AND trim(k.advice) = ''
       AND x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
     ORDER BY k.created_at";

/// The days of a period whose kept figures (figures.rs) count none of a gap — every hall's
/// figures, or the asked hall's — so that their rows need not be read. A kept day is dropped
/// whenever one of its rows is written (migration 0027), so its count is the rows'.
const DAYS_WITHOUT_GAPS: &str = "SELECT DISTINCT day FROM stats_days
     WHERE day BETWEEN ?1 AND ?2 AND scope IN (coalesce(?3, '*'), '*') AND format = ?4
       AND json_extract(figures, ?5) = 0";

/// A gap counted in the kept figures of each day, by its field there.
#[derive(Clone, Copy)]
enum Counted {
    VisitsWithoutMatter,
    MattersWithoutDisposition,
}

impl Counted {
    fn path(self) -> &'static str {
        match self {
            Self::VisitsWithoutMatter => "$.visits_without_matter",
            Self::MattersWithoutDisposition => "$.matters_without_disposition",
        }
    }
}

impl Store {
    /// The runs of days of the period that may have a gap of the kind: every day but those
    /// whose kept figures count none. A year's gaps read a year of visits and matters by key
    /// (2 s at 1,000,000 visitors), where the few days with gaps are those of the last weeks.
    fn days_to_read(&self, q: &StatsQuery, gap: Counted) -> Result<Vec<(String, String)>> {
        let clean: std::collections::BTreeSet<String> = {
            let mut stmt = self.conn.prepare_cached(DAYS_WITHOUT_GAPS)?;
            let rows = stmt.query_map(
                params![q.from(), q.to(), q.hall, figures::FORMAT, gap.path()],
                |r| r.get(0),
            )?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut runs: Vec<(String, String)> = Vec::new();
        let mut last: Option<chrono::NaiveDate> = None;
        for d in q.period.from.iter_days().take_while(|d| *d <= q.period.to) {
            let day = d.to_string();
            if clean.contains(&day) {
                continue;
            }
            match runs.last_mut() {
                Some(run) if last.and_then(|l| l.succ_opt()) == Some(d) => run.1 = day,
                _ => runs.push((day.clone(), day)),
            }
            last = Some(d);
        }
        Ok(runs)
    }

    fn visits_without_matter(&self, q: &StatsQuery) -> Result<Vec<Gap>> {
        let mut gaps = Vec::new();
        let mut stmt = self.conn.prepare_cached(VISITS_WITHOUT_MATTER)?;
        for (from, to) in self.days_to_read(q, Counted::VisitsWithoutMatter)? {
            let rows = stmt.query_map(params![from, to, q.hall], |r| {
                Ok(Gap {
                    entity: "visit".into(),
                    id: r.get(0)?,
                    date: r.get(1)?,
                    problem: "来访没有对应的信访事项：请在来访记录中补登事项，或核对同步是否完成。"
                        .into(),
                })
            })?;
            for gap in rows {
                gaps.push(gap?);
            }
        }
        Ok(gaps)
    }

    fn consultations_without_advice(&self, q: &StatsQuery) -> Result<Vec<Gap>> {
        let mut stmt = self.conn.prepare_cached(CONSULTATIONS_WITHOUT_ADVICE)?;
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
        // Whether a matter has its disposition is read from its facts, as the figures count
        // it; only those without one are read whole (for their limit). A year's matters read
        // whole were a million states parsed at the benchmark's scale.
        let undisposed: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(&figures::received_sql())?;
            let mut ids = Vec::new();
            for (from, to) in self.days_to_read(q, Counted::MattersWithoutDisposition)? {
                let mut rows = stmt.query(params![from, to, q.hall])?;
                while let Some(r) = rows.next()? {
                    if figures::disposition_facts(r, 2)?.disposition().is_none() {
                        ids.push(r.get(8)?);
                    }
                }
            }
            ids
        };
        for m in self.matters_by_id(undisposed, cal)? {
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
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use xinfang_core::calendar::HolidayCalendar;
    use xinfang_core::matter::MatterEvent;
    use xinfang_core::stats::Period;

    use crate::StatsQuery;

    /// How many matters were read whole, on the connection traced with [`count`].
    static READ_WHOLE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn count(event: rusqlite::trace::TraceEvent<'_>) {
        if let rusqlite::trace::TraceEvent::Stmt(_, sql) = event
            && sql.contains("FROM matters WHERE id = ?1")
        {
            READ_WHOLE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The check lists the matters received in the period without a disposition, and reads
    /// whole only those: not the matters already accepted.
    #[test]
    fn only_the_matters_without_a_disposition_are_read_whole() {
        let dir = tempfile::TempDir::new().unwrap();
        let (mut store, clerk, visits) =
            crate::test_support::store_with_visits(dir.path(), 12, |n| {
                format!("2026-11-{:02}T09:30:00+08:00", 2 + n)
            });
        let cal = HolidayCalendar::bundled();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let mut open = Vec::new();
        for (n, visit_id) in visits.iter().enumerate() {
            let matter = store.matter_of_visit(visit_id).unwrap();
            if n % 4 == 0 {
                open.push(matter);
                continue;
            }
            let accept = MatterEvent::Accept {
                at: d("2026-11-20"),
                notice_no: None,
            };
            store.record_event(&matter, &accept, &clerk, &cal).unwrap();
        }
        store.conn.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
            Some(count),
        );
        let q = StatsQuery::new(
            Period::new(d("2026-11-01"), d("2026-11-30")).unwrap(),
            d("2026-11-21"),
        );
        let gaps = store.completeness(&q, &cal).unwrap();
        let mut listed: Vec<String> = gaps
            .matters_without_disposition
            .into_iter()
            .map(|g| g.id)
            .collect();
        listed.sort();
        open.sort();
        assert_eq!(listed, open);
        assert_eq!(
            READ_WHOLE.load(std::sync::atomic::Ordering::Relaxed),
            open.len()
        );
    }

    /// A period of visits is read from the date index alone, and the consultations from the
    /// index of those without advice: a visit's row only by its key, for a gap. Before 0041 a
    /// year's gaps read every visit row of the year.
    #[test]
    fn the_gaps_of_a_period_read_visits_only_from_the_date_index() {
        let dir = tempfile::TempDir::new().unwrap();
        let (store, _, visits) = crate::test_support::store_with_visits(dir.path(), 4, |n| {
            format!("2026-11-{:02}T09:30:00+08:00", 2 + n)
        });
        let cal = HolidayCalendar::bundled();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        // What only sync or an older desk leaves: a visit without a matter, one whose matter
        // has not arrived, a consultation without advice.
        store
            .conn
            .execute_batch(&format!(
                "UPDATE visits SET matter_id = NULL WHERE id = '{}';
                 UPDATE visits SET matter_id = 'not-yet-here' WHERE id = '{}';
                 INSERT INTO consultations(id, visit_id, lawyer_id, question, facts, advice,
                   legal_route, laws_cited, duration_minutes, follow_up, follow_up_note,
                   created_at)
                 VALUES ('k1', '{}', 'lawyer', '问', '', '  ', 'litigation', '', 10, 0, '',
                   '2026-11-05T10:00:00+08:00');",
                visits[1], visits[2], visits[3]
            ))
            .unwrap();
        let q = StatsQuery::new(
            Period::new(d("2026-11-01"), d("2026-11-30")).unwrap(),
            d("2026-11-21"),
        );
        let gaps = store.completeness(&q, &cal).unwrap();
        let ids = |g: &[super::Gap]| g.iter().map(|g| g.id.clone()).collect::<Vec<_>>();
        assert_eq!(
            ids(&gaps.visits_without_matter),
            [visits[1].clone(), visits[2].clone()]
        );
        assert_eq!(ids(&gaps.consultations_without_advice), ["k1"]);
        let october = StatsQuery::new(
            Period::new(d("2026-10-01"), d("2026-10-31")).unwrap(),
            d("2026-11-21"),
        );
        let none = store.completeness(&october, &cal).unwrap();
        assert!(none.visits_without_matter.is_empty());
        assert!(none.consultations_without_advice.is_empty());

        for sql in [
            super::VISITS_WITHOUT_MATTER,
            super::CONSULTATIONS_WITHOUT_ADVICE,
        ] {
            let mut stmt = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let plan: Vec<String> = stmt
                .query_map(
                    rusqlite::params!["2026-11-01", "2026-11-30", None::<String>],
                    |r| r.get::<_, String>(3),
                )
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            // Visits read over the period's range, not by key, come from the index alone.
            let rows_of_the_period: Vec<&String> = plan
                .iter()
                .filter(|p| p.contains("visit_date>?") && !p.contains("COVERING INDEX"))
                .collect();
            assert!(rows_of_the_period.is_empty(), "{sql}\n{plan:#?}");
            let scans: Vec<&String> = plan
                .iter()
                .filter(|p| p.starts_with("SCAN") && !p.contains("consultations_without_advice"))
                .collect();
            assert!(scans.is_empty(), "{sql}\n{plan:#?}");
        }
    }

    /// The statements run on the connection traced with [`record`], expanded.
    static RAN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

    fn record(event: rusqlite::trace::TraceEvent<'_>) {
        if let rusqlite::trace::TraceEvent::Stmt(stmt, _) = event {
            RAN.lock()
                .unwrap()
                .push(stmt.expanded_sql().unwrap_or_default());
        }
    }

    /// With the period's days kept (as the statistics screen leaves them), the gaps read the
    /// visits and matters only of the days whose figures count one: a day without a matter's
    /// visit, days with matters not disposed of.
    #[test]
    fn the_gaps_read_only_the_days_whose_kept_figures_count_one() {
        let dir = tempfile::TempDir::new().unwrap();
        let (mut store, clerk, visits) =
            crate::test_support::store_with_visits(dir.path(), 6, |n| {
                format!("2026-11-{:02}T09:30:00+08:00", 2 + n)
            });
        let cal = HolidayCalendar::bundled();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let mut matters = Vec::new();
        for (n, visit_id) in visits.iter().enumerate() {
            let matter = store.matter_of_visit(visit_id).unwrap();
            if n == 0 || n == 2 {
                let accept = MatterEvent::Accept {
                    at: d("2026-11-10"),
                    notice_no: None,
                };
                store.record_event(&matter, &accept, &clerk, &cal).unwrap();
            } else {
                matters.push(matter);
            }
        }
        store
            .conn
            .execute(
                "UPDATE visits SET matter_id = NULL WHERE id = ?1",
                [&visits[1]],
            )
            .unwrap();
        let q = StatsQuery::new(
            Period::new(d("2026-11-01"), d("2026-11-30")).unwrap(),
            d("2026-11-21"),
        );
        let unkept = store.completeness(&q, &cal).unwrap();
        store.statistics(&q, &cal).unwrap();

        RAN.lock().unwrap().clear();
        store.conn.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
            Some(record),
        );
        let gaps = store.completeness(&q, &cal).unwrap();
        store
            .conn
            .trace_v2(rusqlite::trace::TraceEventCodes::empty(), None);
        assert_eq!(gaps, unkept);
        let ids = |g: &[super::Gap]| {
            let mut ids: Vec<String> = g.iter().map(|g| g.id.clone()).collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(&gaps.visits_without_matter), [visits[1].clone()]);
        matters.sort();
        assert_eq!(ids(&gaps.matters_without_disposition), matters);

        let ran = RAN.lock().unwrap();
        let ranges = |from_table: &str| -> Vec<&str> {
            ran.iter()
                .filter(|sql| sql.contains(from_table))
                .map(|sql| {
                    let at = sql.find("BETWEEN '").expect("a range of days") + 8;
                    &sql[at..at + 29]
                })
                .collect()
        };
        assert_eq!(
            ranges("FROM visits v INDEXED BY visits_date"),
            ["'2026-11-03' AND '2026-11-03'"]
        );
        assert_eq!(
            ranges("LEFT JOIN matter_stats"),
            [
                "'2026-11-03' AND '2026-11-03'",
                "'2026-11-05' AND '2026-11-07'"
            ]
        );
    }
}
