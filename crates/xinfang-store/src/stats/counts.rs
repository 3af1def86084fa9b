//! The counts of a period: visits, people, the desks' work, backlog and overdue matters, each
//! by hall, day, month, kind, category, agency, disposition and route. Added up by
//! `xinfang_core::tally` from the period's rows; labels come from the reference lists.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::params;
use serde::Serialize;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::reference::{AppealKind, ReferenceData};
use xinfang_core::stats::{Disposition, Evaluation, Period};
use xinfang_core::tally::StatsAccumulator;

use super::{CompletenessCounts, Rates, StatsQuery};
use crate::figures::FiguresKept;
use crate::matters::category_name_in;
use crate::{Result, Store, figures};

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
    /// 越级访: visits to this hall about a place, or a matter being handled, below it.
    pub skip_level_visits: u64,
    /// 集体访 (head count ≥ `GROUP_VISIT_MIN_PEOPLE`)
    pub group_visits: u64,
    /// People who came in group visits.
    pub group_people: u64,
    /// Distinct people who came (records merged into one person count once).
    pub visitors: u64,
    /// 新收信访事项: matters registered in the period; a repeat visit joins its matter and does
    /// not open another, so it counts here once.
    pub matters_received: u64,
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

pub(super) fn kind_label(k: &str) -> String {
    AppealKind::parse(k).map_or_else(|| k.to_owned(), |a| a.label_zh().to_owned())
}

pub(super) fn route_label(k: &str) -> String {
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

/// The page cache of the desk's keeper of figures (KiB, as `PRAGMA cache_size` takes a negative
/// size).
const KEEPER_CACHE_KIB: i64 = 16 * 1024;

impl Store {
    /// Feeds the facts of the query's period (and hall) to `acc`: the desk's row source for the
    /// one statistics function, `xinfang_core::tally`. Public so a test can see which rows a
    /// period reads.
    pub fn feed_statistics(&self, q: &StatsQuery, acc: &mut StatsAccumulator<'_>) -> Result<()> {
        figures::feed(&self.conn, q.hall.as_deref(), acc)
    }

    /// Drops every day's kept figures (migration 0027) and every month's kept people (0042): the
    /// next statistics add them up from their rows again. Nothing else changes; for checking
    /// the kept figures against the rows.
    pub fn forget_kept_figures(&self) -> Result<()> {
        self.conn
            .execute_batch("DELETE FROM stats_days; DELETE FROM stats_month_people;")?;
        Ok(())
    }

    /// Adds up and keeps the figures of the days before `today` that have none kept, for every
    /// hall together, newest month first, at most `max_months` months that need it (the desk's
    /// keeper after a sync: see [`crate::figures::keep_due`]).
    pub fn keep_due_figures(
        &self,
        today: NaiveDate,
        cal: &HolidayCalendar,
        max_months: usize,
    ) -> Result<FiguresKept> {
        // The keeper reads each day's rows once.
        let cache = crate::small_page_cache(&self.conn, KEEPER_CACHE_KIB)?;
        let kept = figures::keep_due(&self.conn, today, cal, max_months);
        crate::restore_page_cache(&self.conn, cache)?;
        kept
    }

    /// How many (day, hall or every hall) figures are kept.
    pub fn kept_figure_days(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM stats_days", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The statistics of a period: every count, the four rates, backlog and overdue figures and
    /// the completeness counts, added up by `xinfang_core::tally` from the period's rows. `cal`
    /// gives the limits of matters that have no event yet.
    pub fn statistics(&self, q: &StatsQuery, cal: &HolidayCalendar) -> Result<Statistics> {
        let c = &self.conn;
        let reference = self.reference_data();
        let (from, to) = (q.from(), q.to());
        let hall = q.hall.as_deref();
        let f = figures::figures(c, hall, q.period, q.today, cal)?;
        let t = &f.total;
        let visitors = super::people::distinct_visitors(c, q.period, hall, q.today)?;
        let visits = VisitCounts {
            visits: t.visits,
            people: t.people,
            first_visits: t.first_visits,
            repeat_visits: t.repeat_visits,
            skip_level_visits: t.skip_level_visits,
            matters_received: t.matters_received,
            group_visits: t.group_visits,
            group_people: t.group_people,
            visitors,
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
}
