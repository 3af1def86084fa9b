//! What the city derives from the records it holds, by the same rules as the desks
//! (docs/sync.md, "Records, conflicts, quarantine"): a matter's status, state and deadlines are
//! the fold of all its steps (`xinfang_core::matter::fold_steps`), so the city's statistics
//! count the same status every desk shows once all have synced. SQL stays in the SQLite backend.

use std::path::Path;

use chrono::NaiveDate;
use serde_json::Value;
use xinfang_core::calendar::{HolidayCalendar, YearCalendar};
use xinfang_core::matter::{self, MatterEvent, Step};

/// The holiday calendar the city derives deadlines with: the compiled-in years with the city's
/// own years (its `reference/holidays/`) replacing them — what its desks receive and use.
pub fn city_calendar(data_dir: &Path) -> HolidayCalendar {
    let bundle = crate::reference::with_overrides(data_dir)
        .unwrap_or_else(|_| (*crate::reference::bundle()).clone());
    let mut cal = HolidayCalendar::bundled();
    for (name, value) in &bundle.lists {
        if !name.starts_with("holidays/") {
            continue;
        }
        let year = serde_json::from_value::<YearCalendar>(value.clone())
            .map_err(|e| e.to_string())
            .and_then(|y| HolidayCalendar::from_years(vec![y]).map_err(|e| e.to_string()));
        match year {
            Ok(y) => cal.merge(y),
            Err(e) => tracing::warn!(list = %name, error = %e, "city holiday year refused"),
        }
    }
    cal
}

/// One step record as stored: its id, data and insert stamp.
pub struct StepRecord {
    pub id: String,
    pub data: serde_json::Map<String, Value>,
    pub base_hlc: i64,
}

/// The derived fields of a matter (`status`, `state`, `event_count`) from its step records;
/// `None` when it has no readable step (its registration is its state).
pub fn matter_fields(
    received_on: &str,
    subject: matter::Subject<'_>,
    steps: &[StepRecord],
    cal: &HolidayCalendar,
) -> Option<(String, String, i64)> {
    let received: NaiveDate = received_on.parse().ok()?;
    let steps: Vec<Step> = steps
        .iter()
        .filter_map(|s| {
            let payload = s.data.get("payload")?.as_str()?;
            let event: MatterEvent = serde_json::from_str(payload).ok()?;
            Some(Step {
                id: s.id.clone(),
                hlc: s
                    .data
                    .get("hlc")
                    .and_then(Value::as_i64)
                    .unwrap_or(s.base_hlc),
                event,
                prev: matter::parse_prev(s.data.get("prev").and_then(Value::as_str)),
                voided: s.data.get("voided_by").is_some_and(|v| !v.is_null()),
            })
        })
        .collect();
    if steps.is_empty() {
        return None;
    }
    let folded = matter::fold_steps(received, subject, &steps, cal);
    let status = serde_json::to_value(folded.state.status)
        .ok()?
        .as_str()?
        .to_owned();
    let state = folded.state.stored_json().ok()?;
    Some((
        status,
        state,
        i64::try_from(folded.applied.len()).unwrap_or(i64::MAX),
    ))
}
