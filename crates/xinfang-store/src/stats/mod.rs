//! Statistics of the hall (DOMAIN.md §7): counts, the three monthly rates and the matters behind
//! each, the completeness check (有一录一), the visitor's evaluations, publicity activities, and
//! the ledger rows that Excel export and import work with.
//!
//! Counts are SQL over the records; which side of a rate a matter falls on is decided by
//! `xinfang_core::stats`, from the matter's state (its events), never from a typed figure.

mod completeness;
mod counts;
mod evaluations;
mod ledger;
pub(crate) mod people;
mod publicity;
mod rates;

use chrono::NaiveDate;
use rusqlite::OptionalExtension;
use serde::Serialize;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::MatterState;
use xinfang_core::reference::AppealKind;
use xinfang_core::stats::Period;

pub use completeness::{Completeness, CompletenessCounts, Gap};
pub use counts::{
    BacklogCounts, ConsultationCounts, Count, DeskCounts, MediationCounts, OverdueCounts,
    Statistics, VisitCounts,
};
pub use evaluations::EvaluationRecord;
pub use ledger::{
    ImportOutcome, LedgerConsultation, LedgerImportRow, LedgerMediation, LedgerPerson, LedgerVisit,
};
pub use publicity::PublicityRecord;
pub use rates::{RateMatter, RateMattersPage, Rates};

use crate::{Result, Store, StoreError};

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

/// A list read a row at a time (`read` hands each to its callback until that returns false),
/// each row to `f` until `f` fails: `f`'s error, or the store's as `E`. An export writes each
/// row as it is read and stops at the first it cannot write.
fn until_error<T, E: From<StoreError>>(
    read: impl FnOnce(&mut dyn FnMut(T) -> bool) -> Result<()>,
    mut f: impl FnMut(T) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let mut failed = None;
    read(&mut |row| match f(row) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    })?;
    failed.map_or(Ok(()), Err)
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
}
