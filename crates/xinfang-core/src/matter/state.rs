//! Where a matter stands: its status and what its events have recorded (transfer, decision,
//! extension, opinions, reviews), folded from the events by [`super::apply`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{EventKind, MatterEvent, NamedDeadline, apply, deadlines};
use crate::calendar::HolidayCalendar;
use crate::error::FieldError;

/// Where a matter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MatterStatus {
    Registered,
    Forwarded,
    Assigned,
    Accepted,
    NotAccepted,
    GuidedToLegalRoute,
    InProgress,
    Concluded,
    UnderReview,
    Reviewed,
    UnderReReview,
    ReReviewed,
    Closed,
}

impl MatterStatus {
    pub const ALL: [Self; 13] = [
        Self::Registered,
        Self::Forwarded,
        Self::Assigned,
        Self::Accepted,
        Self::NotAccepted,
        Self::GuidedToLegalRoute,
        Self::InProgress,
        Self::Concluded,
        Self::UnderReview,
        Self::Reviewed,
        Self::UnderReReview,
        Self::ReReviewed,
        Self::Closed,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Registered => "登记",
            Self::Forwarded => "转送",
            Self::Assigned => "交办",
            Self::Accepted => "受理",
            Self::NotAccepted => "不予受理",
            Self::GuidedToLegalRoute => "导入法定途径",
            Self::InProgress => "办理中",
            Self::Concluded => "办结",
            Self::UnderReview => "复查中",
            Self::Reviewed => "已复查",
            Self::UnderReReview => "复核中",
            Self::ReReviewed => "已复核",
            // 终结 is the close of a matter decided on 复核; every other close is 结案归档
            // (see `MatterState::status_label`).
            Self::Closed => "结案归档",
        }
    }

    /// The label of a matter in this status that was (or not) decided on 复核: a closed one is
    /// then 终结, else 结案归档 ([`MatterState::status_label`]).
    pub fn label_after(self, re_reviewed: bool) -> &'static str {
        if self == Self::Closed && re_reviewed {
            "终结"
        } else {
            self.label_zh()
        }
    }

    /// Rank along the procedure; every accepted event keeps or raises it. Alternatives at the
    /// same step (转送/交办; 受理/不予受理/导入法定途径) share a rank.
    pub fn ord(self) -> u8 {
        match self {
            Self::Registered => 0,
            Self::Forwarded | Self::Assigned => 1,
            Self::Accepted | Self::NotAccepted | Self::GuidedToLegalRoute => 2,
            Self::InProgress => 3,
            Self::Concluded => 4,
            Self::UnderReview => 5,
            Self::Reviewed => 6,
            Self::UnderReReview => 7,
            Self::ReReviewed => 8,
            Self::Closed => 9,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// 转送
    Forward,
    /// 交办
    Assign,
}

/// 转送/交办 to another authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Transfer {
    pub kind: TransferKind,
    pub at: NaiveDate,
    pub to_authority: String,
    pub report_back_by: Option<NaiveDate>,
    pub reported_back_on: Option<NaiveDate>,
    pub report_summary: Option<String>,
    /// The day the authority received it; its limits run from here (from `at` until known).
    pub received_on: Option<NaiveDate>,
    pub objection: Option<TransferObjection>,
}

impl TransferKind {
    /// 转送 or 交办, for messages, limits and notices.
    pub fn label_zh(self) -> &'static str {
        match self {
            TransferKind::Forward => "转送",
            TransferKind::Assign => "交办",
        }
    }
}

impl Transfer {
    /// The day the receiving authority's periods start.
    pub fn period_start(&self) -> NaiveDate {
        self.received_on.unwrap_or(self.at)
    }
}

/// The receiving authority's objection to a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TransferObjection {
    pub at: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Refusal {
    pub at: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LegalRouteGuidance {
    pub at: NaiveDate,
    pub route_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Extension {
    pub at: NaiveDate,
    pub days: u32,
    pub approver: String,
    pub reason: String,
}

/// A written opinion (处理意见书, 复查意见, 复核意见) and when the visitor received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Opinion {
    pub at: NaiveDate,
    pub summary: String,
    pub received_on: Option<NaiveDate>,
    /// Result, facts and reasons, laws applied (the 处理意见书 only).
    pub details: super::OpinionDetails,
}

impl Opinion {
    /// The day the visitor's 30 days start: receipt, or the opinion's date when no receipt was
    /// recorded (opinions are usually handed over in the hall the day they are issued).
    pub fn window_start(&self) -> NaiveDate {
        self.received_on.unwrap_or(self.at)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HearingRecord {
    pub date: NaiveDate,
    /// The day the parties were notified; the hearing time runs from here to `date`.
    pub notice_on: Option<NaiveDate>,
    pub chair: String,
    /// 听证员.
    pub panel: Vec<String>,
    pub participants: Vec<String>,
    pub record: String,
    /// 评议意见.
    pub opinion: String,
}

impl HearingRecord {
    /// Days of hearing time not counted in the stage's limit: the notice day through the
    /// hearing day (the hearing day alone when no notice was recorded).
    pub fn excluded_days(&self) -> u32 {
        let from = self.notice_on.unwrap_or(self.date);
        u32::try_from((self.date - from).num_days() + 1).unwrap_or(1)
    }
}

/// A review (复查) or re-review (复核).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewStage {
    pub requested_on: NaiveDate,
    pub body: String,
    pub hearing: Option<HearingRecord>,
    pub opinion: Option<Opinion>,
}

/// A matter as its events have made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MatterState {
    pub status: MatterStatus,
    /// The day the appeal was registered (received).
    pub received_on: NaiveDate,
    /// Date of the latest event; events may not go back before it.
    pub last_event_on: NaiveDate,
    pub transfer: Option<Transfer>,
    /// Transfers the receiving authority objected to, before the current one, oldest first.
    pub earlier_transfers: Vec<Transfer>,
    pub accepted_on: Option<NaiveDate>,
    pub acceptance_notice_no: Option<String>,
    pub not_accepted: Option<Refusal>,
    pub legal_route: Option<LegalRouteGuidance>,
    pub handling_started_on: Option<NaiveDate>,
    /// A hearing held while handling a major, complex or difficult matter.
    pub handling_hearing: Option<HearingRecord>,
    pub extension: Option<Extension>,
    /// The 信访处理意见书.
    pub opinion: Option<Opinion>,
    pub review: Option<ReviewStage>,
    pub re_review: Option<ReviewStage>,
    pub closed_on: Option<NaiveDate>,
    /// What [`deadlines`] gave after the latest event.
    pub deadlines: Vec<NamedDeadline>,
}

impl MatterState {
    /// The status as lists and notices name it: a closed matter decided on 复核 is 终结 (the
    /// regulation's final decision: the same facts and reasons are not accepted again); every
    /// other close is 结案归档.
    pub fn status_label(&self) -> &'static str {
        self.status.label_after(self.decided_on_re_review())
    }

    /// Whether the 复核 gave its opinion.
    pub fn decided_on_re_review(&self) -> bool {
        self.re_review.as_ref().is_some_and(|r| r.opinion.is_some())
    }

    /// The name of the closing step on this matter: 终结 after 复核, else 结案归档.
    pub fn close_label(&self) -> &'static str {
        if self.decided_on_re_review() {
            "终结"
        } else {
            EventKind::Close.label_zh()
        }
    }

    /// A matter just registered on `received_on`.
    pub fn registered(received_on: NaiveDate, cal: &HolidayCalendar) -> Self {
        let mut state = Self {
            status: MatterStatus::Registered,
            received_on,
            last_event_on: received_on,
            transfer: None,
            earlier_transfers: Vec::new(),
            accepted_on: None,
            acceptance_notice_no: None,
            not_accepted: None,
            legal_route: None,
            handling_started_on: None,
            handling_hearing: None,
            extension: None,
            opinion: None,
            review: None,
            re_review: None,
            closed_on: None,
            deadlines: Vec::new(),
        };
        state.deadlines = deadlines(&state, cal);
        state
    }

    /// Fold stored events into a state. An error names the event, e.g. `events[3].at`.
    pub fn replay(
        received_on: NaiveDate,
        events: &[MatterEvent],
        cal: &HolidayCalendar,
    ) -> Result<Self, FieldError> {
        let mut state = Self::registered(received_on, cal);
        for (i, event) in events.iter().enumerate() {
            state = apply(&state, event, cal).map_err(|e| {
                let field = format!("events[{i}].{}", e.field);
                e.at(field)
            })?;
        }
        Ok(state)
    }

    /// The state as the stores keep and log it: its JSON without the members that are null.
    /// A missing member reads back as `None` (serde's rule for an `Option` field, in every
    /// build that ever read a state), and SQL's `json_extract` gives NULL for both, so readers
    /// old and new see the same state; a matter's state is ≈ 20 % shorter (issue 21: it is
    /// stored with the matter and logged with each of its steps).
    pub fn stored_json(&self) -> serde_json::Result<String> {
        fn drop_nulls(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(members) => {
                    members.retain(|_, m| !m.is_null());
                    members.values_mut().for_each(drop_nulls);
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
                _ => {}
            }
        }
        let mut v = serde_json::to_value(self)?;
        drop_nulls(&mut v);
        Ok(v.to_string())
    }

    /// The opinion the visitor is now answering: the latest one issued.
    pub fn latest_opinion(&self) -> Option<&Opinion> {
        fn of(s: &Option<ReviewStage>) -> Option<&Opinion> {
            s.as_ref().and_then(|s| s.opinion.as_ref())
        }
        of(&self.re_review)
            .or_else(|| of(&self.review))
            .or(self.opinion.as_ref())
    }

    /// The hearing of the stage the matter is in (handling, review or re-review), if held.
    pub fn stage_hearing(&self) -> Option<&HearingRecord> {
        match self.status {
            MatterStatus::InProgress => self.handling_hearing.as_ref(),
            MatterStatus::UnderReview => self.review.as_ref().and_then(|r| r.hearing.as_ref()),
            MatterStatus::UnderReReview => self.re_review.as_ref().and_then(|r| r.hearing.as_ref()),
            _ => None,
        }
    }

    /// Where a hearing held now is recorded; `apply` only calls it in a stage that holds one.
    pub(super) fn stage_hearing_mut(&mut self) -> &mut Option<HearingRecord> {
        let stage = match self.status {
            MatterStatus::UnderReview => self.review.as_mut(),
            MatterStatus::UnderReReview => self.re_review.as_mut(),
            _ => None,
        };
        match stage {
            Some(s) => &mut s.hearing,
            None => &mut self.handling_hearing,
        }
    }

    pub(super) fn latest_opinion_mut(&mut self) -> Option<&mut Opinion> {
        if let Some(o) = self.re_review.as_mut().and_then(|s| s.opinion.as_mut()) {
            return Some(o);
        }
        if let Some(o) = self.review.as_mut().and_then(|s| s.opinion.as_mut()) {
            return Some(o);
        }
        self.opinion.as_mut()
    }
}
