//! Backlog cases (信访积案, DOMAIN.md §2–3): a matter left unresolved for a long time is flagged,
//! a named leader answers for it (包联领导), a plan and progress notes are kept, and the day it is
//! cleared (化解) is recorded. The dashboard counts are computed here from plain facts.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::parse_date_field;
use crate::error::{FieldError, ValidationErrors};

/// Longest plan, note or clearing summary, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

/// Flagging a matter as backlog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FlagInput {
    /// 包联领导, e.g. `李副县长`.
    pub leader: String,
    /// 化解方案.
    pub plan: String,
    /// `YYYY-MM-DD`; the day the case should be cleared (化解时限). Empty: none set.
    #[serde(default)]
    pub target_date: String,
    /// `YYYY-MM-DD`; the day it was flagged.
    pub flagged_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidFlag {
    pub leader: String,
    pub plan: String,
    pub target_date: Option<NaiveDate>,
    pub flagged_on: NaiveDate,
}

/// A progress note (工作进展).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NoteInput {
    pub noted_on: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidNote {
    pub noted_on: NaiveDate,
    pub note: String,
}

/// Clearing a case (化解销号).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClearInput {
    pub cleared_on: String,
    /// How it was resolved.
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidClear {
    pub cleared_on: NaiveDate,
    pub summary: String,
}

/// Where a backlog case stands, as the checks below need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFacts {
    pub hall_code: String,
    pub leader: String,
    pub flagged_on: NaiveDate,
    pub target_date: Option<NaiveDate>,
    pub cleared_on: Option<NaiveDate>,
}

impl CaseFacts {
    pub fn is_open(&self) -> bool {
        self.cleared_on.is_none()
    }

    /// Open past its target date.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.is_open() && self.target_date.is_some_and(|t| today > t)
    }
}

fn date(
    errors: &mut ValidationErrors,
    field: &str,
    value: &str,
    what: &str,
    required: bool,
) -> Option<NaiveDate> {
    let v = value.trim();
    if v.is_empty() {
        if required {
            errors.push(FieldError::new(
                field,
                "required",
                format!("请填写{what}（格式 2026-11-26）。"),
            ));
        }
        return None;
    }
    match parse_date_field(field, what, v) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn text(errors: &mut ValidationErrors, field: &str, value: &str, what: &str) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(
            field,
            "required",
            format!("请填写{what}。"),
        ));
    } else if v.chars().count() > MAX_TEXT_CHARS {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("{what}最多 {MAX_TEXT_CHARS} 字，请精简或分次记录。"),
        ));
    }
    v.to_owned()
}

/// Checks a flag. `open_case` is the matter's backlog case that is still open, if any.
pub fn validate_flag(
    input: &FlagInput,
    open_case: Option<&CaseFacts>,
) -> Result<ValidFlag, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if let Some(c) = open_case {
        errors.push(FieldError::new(
            "matter_id",
            "already_backlog",
            format!(
                "该事项已于{}列为积案（包联领导：{}），尚未化解，无需重复列入。如需更换包联领导，请使用“调整包联领导”。",
                c.flagged_on, c.leader
            ),
        ));
    }
    let leader = text(&mut errors, "leader", &input.leader, "包联领导");
    let plan = text(&mut errors, "plan", &input.plan, "化解方案");
    let flagged_on = date(
        &mut errors,
        "flagged_on",
        &input.flagged_on,
        "列入日期",
        true,
    );
    let target_date = date(
        &mut errors,
        "target_date",
        &input.target_date,
        "化解时限",
        false,
    );
    if let (Some(f), Some(t)) = (flagged_on, target_date)
        && t < f
    {
        errors.push(FieldError::new(
            "target_date",
            "target_before_flag",
            format!("化解时限{t}早于列入日期{f}，请填写列入之后的日期。"),
        ));
    }
    match (errors.is_empty(), flagged_on) {
        (true, Some(flagged_on)) => Ok(ValidFlag {
            leader,
            plan,
            target_date,
            flagged_on,
        }),
        _ => Err(errors),
    }
}

/// Checks a new leader for an open case.
pub fn validate_leader(leader: &str, case: &CaseFacts) -> Result<String, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if !case.is_open() {
        errors.push(cleared_error(case));
    }
    let leader = text(&mut errors, "leader", leader, "包联领导");
    errors.into_result(leader)
}

/// Checks a progress note on a case.
pub fn validate_note(input: &NoteInput, case: &CaseFacts) -> Result<ValidNote, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if !case.is_open() {
        errors.push(cleared_error(case));
    }
    let note = text(&mut errors, "note", &input.note, "工作进展");
    let noted_on = date(&mut errors, "noted_on", &input.noted_on, "记录日期", true);
    if let Some(d) = noted_on
        && d < case.flagged_on
    {
        errors.push(FieldError::new(
            "noted_on",
            "date_before_flag",
            format!("记录日期{d}早于列入积案的日期{}，请核对。", case.flagged_on),
        ));
    }
    match (errors.is_empty(), noted_on) {
        (true, Some(noted_on)) => Ok(ValidNote { noted_on, note }),
        _ => Err(errors),
    }
}

/// Checks clearing a case.
pub fn validate_clear(
    input: &ClearInput,
    case: &CaseFacts,
) -> Result<ValidClear, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if !case.is_open() {
        errors.push(cleared_error(case));
    }
    let summary = text(&mut errors, "summary", &input.summary, "化解情况");
    let cleared_on = date(
        &mut errors,
        "cleared_on",
        &input.cleared_on,
        "化解日期",
        true,
    );
    if let Some(d) = cleared_on
        && d < case.flagged_on
    {
        errors.push(FieldError::new(
            "cleared_on",
            "date_before_flag",
            format!("化解日期{d}早于列入积案的日期{}，请核对。", case.flagged_on),
        ));
    }
    match (errors.is_empty(), cleared_on) {
        (true, Some(cleared_on)) => Ok(ValidClear {
            cleared_on,
            summary,
        }),
        _ => Err(errors),
    }
}

fn cleared_error(case: &CaseFacts) -> FieldError {
    FieldError::new(
        "case_id",
        "already_cleared",
        format!(
            "该积案已于{}化解销号，不能再修改。如问题反复，请重新列为积案。",
            case.cleared_on.map(|d| d.to_string()).unwrap_or_default()
        ),
    )
}

/// Counts of one group of cases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
// In TypeScript under another name: the statistics have a `BacklogCounts` of their own.
#[cfg_attr(feature = "ts", ts(rename = "BacklogCaseCounts"))]
pub struct BacklogCounts {
    pub total: u32,
    pub open: u32,
    pub cleared: u32,
    /// Open past the target date.
    pub overdue: u32,
    /// Cleared ÷ total, in percent with one decimal; `None` when there is no case.
    pub clearance_rate: Option<f64>,
}

impl BacklogCounts {
    fn add(&mut self, c: &CaseFacts, today: NaiveDate) {
        self.total += 1;
        if c.is_open() {
            self.open += 1;
        } else {
            self.cleared += 1;
        }
        if c.is_overdue(today) {
            self.overdue += 1;
        }
        self.clearance_rate = rate(self.cleared, self.total);
    }
}

/// Percent with one decimal, rounded half away from zero.
pub fn rate(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| (f64::from(part) * 1000.0 / f64::from(whole)).round() / 10.0)
}

/// One row of the dashboard's "by hall" or "by leader" table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogGroup {
    /// Hall code or leader name.
    pub key: String,
    #[serde(flatten)]
    pub counts: BacklogCounts,
}

/// The backlog dashboard's numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogSummary {
    #[serde(flatten)]
    pub totals: BacklogCounts,
    /// Sorted by hall code.
    pub by_hall: Vec<BacklogGroup>,
    /// Sorted by leader name; a case counts under the leader it has now.
    pub by_leader: Vec<BacklogGroup>,
}

/// Counts over all cases, by hall and by leader, as of `today`.
pub fn summarize(cases: &[CaseFacts], today: NaiveDate) -> BacklogSummary {
    let mut totals = BacklogCounts::default();
    let mut halls: BTreeMap<&str, BacklogCounts> = BTreeMap::new();
    let mut leaders: BTreeMap<&str, BacklogCounts> = BTreeMap::new();
    for c in cases {
        totals.add(c, today);
        halls.entry(&c.hall_code).or_default().add(c, today);
        leaders.entry(&c.leader).or_default().add(c, today);
    }
    let groups = |m: BTreeMap<&str, BacklogCounts>| {
        m.into_iter()
            .map(|(k, counts)| BacklogGroup {
                key: k.to_owned(),
                counts,
            })
            .collect()
    };
    BacklogSummary {
        totals,
        by_hall: groups(halls),
        by_leader: groups(leaders),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn case(hall: &str, leader: &str, target: Option<&str>, cleared: Option<&str>) -> CaseFacts {
        CaseFacts {
            hall_code: hall.into(),
            leader: leader.into(),
            flagged_on: d("2026-01-05"),
            target_date: target.map(d),
            cleared_on: cleared.map(d),
        }
    }

    #[test]
    fn summary_counts_by_hall_and_leader() {
        let cases = [
            case("140521", "李副县长", Some("2026-06-30"), Some("2026-05-01")),
            case("140521", "李副县长", Some("2026-10-31"), None),
            case("140521", "赵局长", None, None),
            case("140525", "赵局长", Some("2026-12-31"), None),
        ];
        let s = summarize(&cases, d("2026-11-26"));
        assert_eq!(s.totals.total, 4);
        assert_eq!(s.totals.open, 3);
        assert_eq!(s.totals.cleared, 1);
        assert_eq!(s.totals.overdue, 1);
        assert_eq!(s.totals.clearance_rate, Some(25.0));
        assert_eq!(s.by_hall.len(), 2);
        assert_eq!(s.by_hall[0].key, "140521");
        assert_eq!(s.by_hall[0].counts.clearance_rate, Some(33.3));
        assert_eq!(s.by_leader[0].key, "李副县长");
        assert_eq!(s.by_leader[0].counts.overdue, 1);
        assert_eq!(s.by_leader[1].counts.cleared, 0);
        assert_eq!(s.by_leader[1].counts.clearance_rate, Some(0.0));
        assert_eq!(summarize(&[], d("2026-11-26")).totals.clearance_rate, None);
        assert_eq!(rate(2, 3), Some(66.7));
    }

    #[test]
    fn flag_checks() {
        let ok = validate_flag(
            &FlagInput {
                leader: " 李副县长 ".into(),
                plan: "包案化解".into(),
                target_date: "2026-12-31".into(),
                flagged_on: "2026-11-26".into(),
            },
            None,
        )
        .unwrap();
        assert_eq!(ok.leader, "李副县长");
        let e = validate_flag(
            &FlagInput {
                leader: "".into(),
                plan: "x".into(),
                target_date: "2026-11-01".into(),
                flagged_on: "2026-11-26".into(),
            },
            Some(&case("140521", "赵局长", None, None)),
        )
        .unwrap_err();
        let codes: Vec<&str> = e.0.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["already_backlog", "required", "target_before_flag"]);
    }

    #[test]
    fn cleared_case_is_frozen() {
        let c = case("140521", "赵局长", None, Some("2026-03-01"));
        let e = validate_note(
            &NoteInput {
                noted_on: "2026-04-01".into(),
                note: "回访".into(),
            },
            &c,
        )
        .unwrap_err();
        assert_eq!(e.0[0].code, "already_cleared");
        let open = case("140521", "赵局长", None, None);
        let e = validate_clear(
            &ClearInput {
                cleared_on: "2025-12-31".into(),
                summary: "已化解".into(),
            },
            &open,
        )
        .unwrap_err();
        assert_eq!(e.0[0].code, "date_before_flag");
        assert!(validate_leader("王书记", &open).is_ok());
        assert!(validate_leader("王书记", &c).is_err());
    }
}
