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

impl Store {
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
}
