//! The visitor's evaluations of concluded matters (满意, 基本满意, 不满意), recorded at the desk
//! or by phone; the latest one counts in the rates.

use chrono::NaiveDate;
use rusqlite::params;
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::stats::{self, Evaluation, EvaluationChannel, EvaluationInput, ValidEvaluation};

use super::parse_date;
use crate::changelog::{self, Op};
use crate::matters::load_matter;
use crate::{Result, Store, StoreError, now_text};

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

pub(super) fn parse_evaluation(code: &str) -> Result<Evaluation> {
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

impl Store {
    /// Records the visitor's evaluation of a concluded matter (at the desk or by phone).
    pub fn evaluate_matter(
        &mut self,
        matter_id: &str,
        input: &EvaluationInput,
        by: &str,
        today: NaiveDate,
        cal: &HolidayCalendar,
    ) -> Result<EvaluationRecord> {
        let tx = self.conn.savepoint()?;
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
}
