//! The life of a petition matter (信访事项) and its time limits (信访工作条例, DOMAIN.md §3).
//!
//! ```text
//! 登记 ─┬─ 受理 ── 办理中 ── 办结 ─┬─ 复查中 ── 已复查 ─┬─ 复核中 ── 已复核 ── 终结
//!       ├─ 不予受理 ───────────────┼───────────────────┼────────────────────── 终结
//!       ├─ 导入法定途径 ───────────┴─(期限届满未请求)──┴─(期限届满未请求)──── 终结
//!       └─ 转送 / 交办 ── (有权机关决定) 受理 / 不予受理 / 导入法定途径 ……
//! ```
//!
//! The store keeps the events; a [`MatterState`] is their fold through [`apply`], which refuses
//! anything out of order with a Chinese message that says what is allowed instead. A status
//! never goes back ([`MatterStatus::ord`] only grows). Deadlines are recomputed on every event
//! and can be recomputed with [`deadlines`] when a newer holiday calendar arrives.
//!
//! Late acts by an authority (a decision after 15 days, a conclusion after 60) are recorded, not
//! refused: the record must show what happened, and the monthly rates count them as late. Late
//! requests by the visitor (review or re-review after their 30 days) are refused.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::HolidayCalendar;
use crate::deadline::deadline;
use crate::error::FieldError;

mod form;
pub use form::{StepField, StepInput, step_fields};

/// Days the authority has to decide on acceptance (and the hall to dispose of an appeal).
pub const DECISION_DAYS: u32 = 15;
/// Days from acceptance to conclusion.
pub const CONCLUSION_DAYS: u32 = 60;
/// Longest single extension of the conclusion limit.
pub const MAX_EXTENSION_DAYS: u32 = 30;
/// Days the visitor has to ask for a review or re-review, and the body has to answer.
pub const REVIEW_DAYS: u32 = 30;

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
            Self::Closed => "终结",
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

/// The kinds of [`MatterEvent`], for the UI's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Accept,
    Reject,
    Forward,
    Assign,
    GuideToLegalRoute,
    ReportBack,
    StartHandling,
    Extend,
    Conclude,
    OpinionReceived,
    RequestReview,
    ReviewOpinion,
    RequestReReview,
    Hearing,
    ReReviewOpinion,
    Close,
}

impl EventKind {
    pub const ALL: [Self; 16] = [
        Self::Accept,
        Self::Reject,
        Self::Forward,
        Self::Assign,
        Self::GuideToLegalRoute,
        Self::ReportBack,
        Self::StartHandling,
        Self::Extend,
        Self::Conclude,
        Self::OpinionReceived,
        Self::RequestReview,
        Self::ReviewOpinion,
        Self::RequestReReview,
        Self::Hearing,
        Self::ReReviewOpinion,
        Self::Close,
    ];

    /// Button text.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Accept => "受理",
            Self::Reject => "不予受理",
            Self::Forward => "转送",
            Self::Assign => "交办",
            Self::GuideToLegalRoute => "导入法定途径",
            Self::ReportBack => "登记报告反馈",
            Self::StartHandling => "开始办理",
            Self::Extend => "延期",
            Self::Conclude => "办结",
            Self::OpinionReceived => "登记意见送达",
            Self::RequestReview => "请求复查",
            Self::ReviewOpinion => "出具复查意见",
            Self::RequestReReview => "请求复核",
            Self::Hearing => "举行听证",
            Self::ReReviewOpinion => "出具复核意见",
            Self::Close => "终结",
        }
    }

    /// When the event may happen, for refusals.
    fn requirement_zh(self) -> &'static str {
        match self {
            Self::Accept | Self::Reject => {
                "受理或不予受理须在登记后、或转送/交办后由有权机关决定，且只决定一次"
            }
            Self::Forward | Self::Assign => "转送、交办只能在登记后、作出受理决定前进行",
            Self::GuideToLegalRoute => "导入法定途径只能在登记后（或转送/交办后）、受理前进行",
            Self::ReportBack => "登记报告反馈须在转送或交办并约定报告期限之后，且只登记一次",
            Self::StartHandling => "开始办理须在受理之后",
            Self::Extend => "延期须在受理后、办结前，且只能延期一次",
            Self::Conclude => "办结须在受理之后",
            Self::OpinionReceived => {
                "登记意见送达须在出具处理意见、复查意见或复核意见之后，且每份意见只登记一次"
            }
            Self::RequestReview => "请求复查须在办结并出具信访处理意见书之后",
            Self::ReviewOpinion => "出具复查意见须在收到复查请求之后",
            Self::RequestReReview => "请求复核须在出具复查意见之后",
            Self::Hearing => "听证须在收到复核请求之后、出具复核意见之前举行，且只记录一次",
            Self::ReReviewOpinion => "出具复核意见须在收到复核请求之后",
            Self::Close => "终结须在不予受理、导入法定途径、办结、复查或复核之后",
        }
    }
}

/// Something that happened to a matter, with what the record needs of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MatterEvent {
    /// 受理, with the number of the 受理告知书 once printed.
    Accept {
        at: NaiveDate,
        notice_no: Option<String>,
    },
    /// 不予受理; the reason goes into the 不予受理告知书.
    Reject {
        at: NaiveDate,
        reason: String,
    },
    /// 转送 to the authority that has power to handle it.
    Forward {
        at: NaiveDate,
        to_authority: String,
        report_back_by: Option<NaiveDate>,
    },
    /// 交办: like 转送, with a duty to report back by a date.
    Assign {
        at: NaiveDate,
        to_authority: String,
        report_back_by: NaiveDate,
    },
    /// 导入法定途径: litigation, arbitration, reconsideration …; `route_code` is a code of the
    /// legal-route reference list.
    GuideToLegalRoute {
        at: NaiveDate,
        route_code: String,
    },
    /// The forwarded/assigned authority reported back.
    ReportBack {
        at: NaiveDate,
        summary: String,
    },
    StartHandling {
        at: NaiveDate,
    },
    /// One extension of the conclusion limit, approved by the head of the unit; the visitor is
    /// told the reason.
    Extend {
        at: NaiveDate,
        days: u32,
        approver: String,
        reason: String,
    },
    /// 办结 with a 信访处理意见书.
    Conclude {
        at: NaiveDate,
        opinion_summary: String,
    },
    /// The visitor received the latest opinion (handling, review or re-review). The 30 days for
    /// the next request run from this day; without it they run from the opinion's date.
    OpinionReceived {
        at: NaiveDate,
    },
    /// 复查 requested from `body` (the next-higher authority).
    RequestReview {
        at: NaiveDate,
        body: String,
    },
    ReviewOpinion {
        at: NaiveDate,
        summary: String,
    },
    /// 复核 requested from `body`.
    RequestReReview {
        at: NaiveDate,
        body: String,
    },
    /// 听证 held for the re-review.
    Hearing {
        date: NaiveDate,
        chair: String,
        participants: Vec<String>,
        record: String,
    },
    ReReviewOpinion {
        at: NaiveDate,
        summary: String,
    },
    /// 终结.
    Close {
        at: NaiveDate,
    },
}

impl MatterEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Accept { .. } => EventKind::Accept,
            Self::Reject { .. } => EventKind::Reject,
            Self::Forward { .. } => EventKind::Forward,
            Self::Assign { .. } => EventKind::Assign,
            Self::GuideToLegalRoute { .. } => EventKind::GuideToLegalRoute,
            Self::ReportBack { .. } => EventKind::ReportBack,
            Self::StartHandling { .. } => EventKind::StartHandling,
            Self::Extend { .. } => EventKind::Extend,
            Self::Conclude { .. } => EventKind::Conclude,
            Self::OpinionReceived { .. } => EventKind::OpinionReceived,
            Self::RequestReview { .. } => EventKind::RequestReview,
            Self::ReviewOpinion { .. } => EventKind::ReviewOpinion,
            Self::RequestReReview { .. } => EventKind::RequestReReview,
            Self::Hearing { .. } => EventKind::Hearing,
            Self::ReReviewOpinion { .. } => EventKind::ReReviewOpinion,
            Self::Close { .. } => EventKind::Close,
        }
    }

    /// The day it happened.
    pub fn date(&self) -> NaiveDate {
        match self {
            Self::Accept { at, .. }
            | Self::Reject { at, .. }
            | Self::Forward { at, .. }
            | Self::Assign { at, .. }
            | Self::GuideToLegalRoute { at, .. }
            | Self::ReportBack { at, .. }
            | Self::StartHandling { at }
            | Self::Extend { at, .. }
            | Self::Conclude { at, .. }
            | Self::OpinionReceived { at }
            | Self::RequestReview { at, .. }
            | Self::ReviewOpinion { at, .. }
            | Self::RequestReReview { at, .. }
            | Self::ReReviewOpinion { at, .. }
            | Self::Close { at } => *at,
            Self::Hearing { date, .. } => *date,
        }
    }

    /// The form field that holds the date, for error messages.
    fn date_field(&self) -> &'static str {
        if matches!(self, Self::Hearing { .. }) {
            "date"
        } else {
            "at"
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
    pub chair: String,
    pub participants: Vec<String>,
    pub record: String,
}

/// A review (复查) or re-review (复核).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewStage {
    pub requested_on: NaiveDate,
    pub body: String,
    /// Only a re-review holds a hearing.
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
    pub accepted_on: Option<NaiveDate>,
    pub acceptance_notice_no: Option<String>,
    pub not_accepted: Option<Refusal>,
    pub legal_route: Option<LegalRouteGuidance>,
    pub handling_started_on: Option<NaiveDate>,
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
    /// A matter just registered on `received_on`.
    pub fn registered(received_on: NaiveDate, cal: &HolidayCalendar) -> Self {
        let mut state = Self {
            status: MatterStatus::Registered,
            received_on,
            last_event_on: received_on,
            transfer: None,
            accepted_on: None,
            acceptance_notice_no: None,
            not_accepted: None,
            legal_route: None,
            handling_started_on: None,
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

    /// The opinion the visitor is now answering: the latest one issued.
    pub fn latest_opinion(&self) -> Option<&Opinion> {
        fn of(s: &Option<ReviewStage>) -> Option<&Opinion> {
            s.as_ref().and_then(|s| s.opinion.as_ref())
        }
        of(&self.re_review)
            .or_else(|| of(&self.review))
            .or(self.opinion.as_ref())
    }

    fn latest_opinion_mut(&mut self) -> Option<&mut Opinion> {
        if let Some(o) = self.re_review.as_mut().and_then(|s| s.opinion.as_mut()) {
            return Some(o);
        }
        if let Some(o) = self.review.as_mut().and_then(|s| s.opinion.as_mut()) {
            return Some(o);
        }
        self.opinion.as_mut()
    }
}

/// Which limit a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The hall disposes of a registered appeal (accept, refuse, forward, assign, guide).
    Disposition,
    /// The forwarded/assigned authority decides whether to accept.
    AcceptanceDecision,
    /// The forwarded/assigned authority reports back.
    ReportBack,
    Conclusion,
    ReviewRequest,
    ReviewOpinion,
    ReReviewRequest,
    ReReviewOpinion,
}

impl DeadlineKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Disposition => "登记处理期限",
            Self::AcceptanceDecision => "受理决定期限",
            Self::ReportBack => "报告反馈期限",
            Self::Conclusion => "办结期限",
            Self::ReviewRequest => "复查申请期限",
            Self::ReviewOpinion => "复查意见期限",
            Self::ReReviewRequest => "复核申请期限",
            Self::ReReviewOpinion => "复核意见期限",
        }
    }

    /// Whose limit it is.
    pub fn party(self) -> DeadlineParty {
        match self {
            Self::ReviewRequest | Self::ReReviewRequest => DeadlineParty::Visitor,
            _ => DeadlineParty::Authority,
        }
    }
}

/// Whose limit: an authority's duty (late = overdue, counts against the rates) or the visitor's
/// window (once past, the request is refused; nobody is late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeadlineParty {
    Authority,
    Visitor,
}

/// One limit of a matter, for the UI's deadline list and the monthly rates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NamedDeadline {
    pub kind: DeadlineKind,
    pub label_zh: String,
    /// How it is counted, e.g. `受理之日起60日，经批准延期30日`.
    pub basis_zh: String,
    pub party: DeadlineParty,
    pub start: NaiveDate,
    pub days: u32,
    pub due: NaiveDate,
    pub moved: bool,
    pub calendar_known: bool,
    /// When the act it limits was done, if it was.
    pub done_on: Option<NaiveDate>,
}

impl NamedDeadline {
    fn counted(
        kind: DeadlineKind,
        basis_zh: impl Into<String>,
        start: NaiveDate,
        days: u32,
        cal: &HolidayCalendar,
        done_on: Option<NaiveDate>,
    ) -> Self {
        let d = deadline(start, days, cal);
        Self {
            kind,
            label_zh: kind.label_zh().to_owned(),
            basis_zh: basis_zh.into(),
            party: kind.party(),
            start: d.start,
            days: d.days,
            due: d.due,
            moved: d.moved,
            calendar_known: d.calendar_known,
            done_on,
        }
    }

    /// `Some(true)` if done by the due day, `Some(false)` if done late, `None` if not done.
    pub fn on_time(&self) -> Option<bool> {
        self.done_on.map(|d| d <= self.due)
    }

    /// An authority's limit that ran out with the act still undone. A visitor's window is never
    /// "overdue": it just closes.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.party == DeadlineParty::Authority && self.done_on.is_none() && today > self.due
    }
}

/// All limits that apply to the matter so far, in procedural order.
pub fn deadlines(state: &MatterState, cal: &HolidayCalendar) -> Vec<NamedDeadline> {
    use DeadlineKind as K;
    let mut out = Vec::new();
    let decided_on = state
        .accepted_on
        .or(state.not_accepted.as_ref().map(|r| r.at))
        .or(state.legal_route.as_ref().map(|g| g.at));

    let disposed_on = state.transfer.as_ref().map(|t| t.at).or(decided_on);
    out.push(NamedDeadline::counted(
        K::Disposition,
        format!("登记之日起{DECISION_DAYS}日"),
        state.received_on,
        DECISION_DAYS,
        cal,
        disposed_on,
    ));

    if let Some(t) = &state.transfer {
        let what = match t.kind {
            TransferKind::Forward => "转送",
            TransferKind::Assign => "交办",
        };
        out.push(NamedDeadline::counted(
            K::AcceptanceDecision,
            format!("收到{what}之日起{DECISION_DAYS}日"),
            t.at,
            DECISION_DAYS,
            cal,
            decided_on,
        ));
        if let Some(by) = t.report_back_by {
            // A date fixed by the forwarding authority, not a counted period: not moved.
            out.push(NamedDeadline {
                kind: K::ReportBack,
                label_zh: K::ReportBack.label_zh().to_owned(),
                basis_zh: format!("{what}时约定的报告日期"),
                party: K::ReportBack.party(),
                start: t.at,
                days: u32::try_from((by - t.at).num_days()).unwrap_or(0),
                due: by,
                moved: false,
                calendar_known: true,
                done_on: t.reported_back_on,
            });
        }
    }

    if let Some(accepted) = state.accepted_on {
        // The extension lengthens the one period counted from acceptance.
        let ext = state.extension.as_ref().map_or(0, |e| e.days);
        let basis = if ext > 0 {
            format!("受理之日起{CONCLUSION_DAYS}日，经批准延期{ext}日")
        } else {
            format!("受理之日起{CONCLUSION_DAYS}日")
        };
        let done = state.opinion.as_ref().map(|o| o.at);
        out.push(NamedDeadline::counted(
            K::Conclusion,
            basis,
            accepted,
            CONCLUSION_DAYS + ext,
            cal,
            done,
        ));
    }

    let review_opinion = state.review.as_ref().and_then(|r| r.opinion.clone());
    let stages = [
        (
            &state.opinion,
            &state.review,
            K::ReviewRequest,
            K::ReviewOpinion,
            "信访处理意见书",
            "复查",
        ),
        (
            &review_opinion,
            &state.re_review,
            K::ReReviewRequest,
            K::ReReviewOpinion,
            "复查意见",
            "复核",
        ),
    ];
    for (opinion, stage, request_kind, opinion_kind, opinion_name, stage_name) in stages {
        if let Some(o) = opinion {
            let basis = if o.received_on.is_some() {
                format!("收到{opinion_name}之日起{REVIEW_DAYS}日")
            } else {
                format!("收到{opinion_name}之日起{REVIEW_DAYS}日（送达日期未登记，按出具日期计算）")
            };
            out.push(NamedDeadline::counted(
                request_kind,
                basis,
                o.window_start(),
                REVIEW_DAYS,
                cal,
                stage.as_ref().map(|s| s.requested_on),
            ));
        }
        if let Some(s) = stage {
            out.push(NamedDeadline::counted(
                opinion_kind,
                format!("收到{stage_name}请求之日起{REVIEW_DAYS}日"),
                s.requested_on,
                REVIEW_DAYS,
                cal,
                s.opinion.as_ref().map(|o| o.at),
            ));
        }
    }
    out
}

/// The events the matter can take next, for the UI's buttons. Date limits are not checked
/// here (there is no "today"): a late request still shows and [`apply`] explains the refusal.
pub fn allowed_events(state: &MatterState) -> Vec<EventKind> {
    use EventKind as E;
    use MatterStatus as S;
    let mut out = match state.status {
        S::Registered => vec![
            E::Accept,
            E::Reject,
            E::Forward,
            E::Assign,
            E::GuideToLegalRoute,
        ],
        S::Forwarded | S::Assigned => vec![E::Accept, E::Reject, E::GuideToLegalRoute],
        S::Accepted => vec![E::StartHandling, E::Extend, E::Conclude],
        S::InProgress => vec![E::Extend, E::Conclude],
        S::NotAccepted | S::GuidedToLegalRoute => vec![E::Close],
        S::Concluded => vec![E::OpinionReceived, E::RequestReview, E::Close],
        S::UnderReview => vec![E::ReviewOpinion],
        S::Reviewed => vec![E::OpinionReceived, E::RequestReReview, E::Close],
        S::UnderReReview => vec![E::Hearing, E::ReReviewOpinion],
        S::ReReviewed => vec![E::OpinionReceived, E::Close],
        S::Closed => return Vec::new(),
    };
    out.retain(|k| match k {
        E::Extend => state.extension.is_none(),
        E::OpinionReceived => state
            .latest_opinion()
            .is_some_and(|o| o.received_on.is_none()),
        E::Hearing => state
            .re_review
            .as_ref()
            .is_some_and(|r| r.hearing.is_none()),
        _ => true,
    });
    let report_pending = state
        .transfer
        .as_ref()
        .is_some_and(|t| t.report_back_by.is_some() && t.reported_back_on.is_none());
    if report_pending {
        out.push(E::ReportBack);
        out.sort();
    }
    out
}

/// Apply one event: the new state, or why the event is refused.
pub fn apply(
    state: &MatterState,
    event: &MatterEvent,
    cal: &HolidayCalendar,
) -> Result<MatterState, FieldError> {
    use MatterEvent as Ev;
    use MatterStatus as S;

    if let Some(closed_on) = state.closed_on {
        return Err(FieldError::new(
            "event",
            "matter_closed",
            format!(
                "该事项已于{closed_on}终结，不能再登记「{}」或其他任何环节。\
                 信访人以同一事实和理由再次提出的，不予受理；如有新的事实和理由，请另行登记新事项。",
                event.kind().label_zh()
            ),
        ));
    }
    let kind = event.kind();
    let allowed = allowed_events(state);
    if !allowed.contains(&kind) {
        return Err(order_error(state, kind, &allowed));
    }
    let at = event.date();
    if at < state.last_event_on {
        return Err(FieldError::new(
            event.date_field(),
            "date_before_previous",
            format!(
                "日期{at}早于本事项上一环节的日期{}。各环节须按发生先后登记，请核对日期。",
                state.last_event_on
            ),
        ));
    }

    let mut next = state.clone();
    match event {
        Ev::Accept { at, notice_no } => {
            next.accepted_on = Some(*at);
            next.acceptance_notice_no = notice_no
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            next.status = S::Accepted;
        }
        Ev::Reject { at, reason } => {
            required(
                reason,
                "reason",
                "请填写不予受理的理由，该理由将写入不予受理告知书。",
            )?;
            next.not_accepted = Some(Refusal {
                at: *at,
                reason: reason.trim().to_owned(),
            });
            next.status = S::NotAccepted;
        }
        Ev::Forward {
            at,
            to_authority,
            report_back_by,
        } => {
            next.transfer = Some(transfer(
                TransferKind::Forward,
                *at,
                to_authority,
                *report_back_by,
            )?);
            next.status = S::Forwarded;
        }
        Ev::Assign {
            at,
            to_authority,
            report_back_by,
        } => {
            next.transfer = Some(transfer(
                TransferKind::Assign,
                *at,
                to_authority,
                Some(*report_back_by),
            )?);
            next.status = S::Assigned;
        }
        Ev::GuideToLegalRoute { at, route_code } => {
            required(
                route_code,
                "route_code",
                "请选择导入的法定途径（如诉讼、仲裁、行政复议），以便告知信访人。",
            )?;
            next.legal_route = Some(LegalRouteGuidance {
                at: *at,
                route_code: route_code.trim().to_owned(),
            });
            next.status = S::GuidedToLegalRoute;
        }
        Ev::ReportBack { at, summary } => {
            required(summary, "summary", "请填写有关机关报告的办理情况。")?;
            if let Some(t) = next.transfer.as_mut() {
                t.reported_back_on = Some(*at);
                t.report_summary = Some(summary.trim().to_owned());
            }
        }
        Ev::StartHandling { at } => {
            next.handling_started_on = Some(*at);
            next.status = S::InProgress;
        }
        Ev::Extend {
            at,
            days,
            approver,
            reason,
        } => {
            extend_checks(state, *at, *days, approver, reason, cal)?;
            next.extension = Some(Extension {
                at: *at,
                days: *days,
                approver: approver.trim().to_owned(),
                reason: reason.trim().to_owned(),
            });
        }
        Ev::Conclude {
            at,
            opinion_summary,
        } => {
            required(
                opinion_summary,
                "opinion_summary",
                "办结须出具信访处理意见书，请填写处理意见摘要。",
            )?;
            next.opinion = Some(opinion(*at, opinion_summary));
            next.status = S::Concluded;
        }
        Ev::OpinionReceived { at } => {
            if let Some(o) = next.latest_opinion_mut() {
                o.received_on = Some(*at);
            }
        }
        Ev::RequestReview { at, body } => {
            required(
                body,
                "body",
                "请填写受理复查请求的机关（原办理机关的上一级机关）。",
            )?;
            let issued = state.opinion.as_ref();
            request_in_time(
                cal,
                *at,
                issued,
                "信访处理意见书",
                "复查",
                "review_request_late",
            )?;
            next.review = Some(stage(*at, body));
            next.status = S::UnderReview;
        }
        Ev::ReviewOpinion { at, summary } => {
            required(summary, "summary", "请填写复查意见摘要。")?;
            if let Some(r) = next.review.as_mut() {
                r.opinion = Some(opinion(*at, summary));
            }
            next.status = S::Reviewed;
        }
        Ev::RequestReReview { at, body } => {
            required(
                body,
                "body",
                "请填写受理复核请求的机关（复查机关的上一级机关）。",
            )?;
            let issued = state.review.as_ref().and_then(|r| r.opinion.as_ref());
            request_in_time(
                cal,
                *at,
                issued,
                "复查意见",
                "复核",
                "re_review_request_late",
            )?;
            next.re_review = Some(stage(*at, body));
            next.status = S::UnderReReview;
        }
        Ev::Hearing {
            date,
            chair,
            participants,
            record,
        } => {
            required(chair, "chair", "请填写听证主持人。")?;
            if participants.iter().all(|p| p.trim().is_empty()) {
                return Err(FieldError::new(
                    "participants",
                    "required",
                    "请填写听证参加人（信访人、有关机关代表等）。",
                ));
            }
            required(record, "record", "请填写听证记录。")?;
            if let Some(r) = next.re_review.as_mut() {
                r.hearing = Some(HearingRecord {
                    date: *date,
                    chair: chair.trim().to_owned(),
                    participants: participants
                        .iter()
                        .map(|p| p.trim().to_owned())
                        .filter(|p| !p.is_empty())
                        .collect(),
                    record: record.trim().to_owned(),
                });
            }
        }
        Ev::ReReviewOpinion { at, summary } => {
            required(summary, "summary", "请填写复核意见摘要。")?;
            if let Some(r) = next.re_review.as_mut() {
                r.opinion = Some(opinion(*at, summary));
            }
            next.status = S::ReReviewed;
        }
        Ev::Close { at } => {
            close_checks(state, *at, cal)?;
            next.closed_on = Some(*at);
            next.status = S::Closed;
        }
    }
    next.last_event_on = at;
    next.deadlines = deadlines(&next, cal);
    debug_assert!(next.status.ord() >= state.status.ord(), "status went back");
    Ok(next)
}

/// Whether a new matter may be opened for a claim, given the earlier matters the clerk has
/// identified as the same facts and reasons (the software cannot judge "same facts"; the clerk
/// links them, as for 重复访). Call it before creating the new matter; on `Err` register the
/// visit as a repeat visit of the old matter instead.
pub fn may_accept_new_matter(same_facts: &[MatterState]) -> Result<(), FieldError> {
    let finalized = same_facts
        .iter()
        .find_map(|m| m.re_review.as_ref().and_then(|r| r.opinion.as_ref()));
    match finalized {
        None => Ok(()),
        Some(o) => Err(FieldError::new(
            "matter",
            "same_facts_finalized",
            format!(
                "同一事实和理由的诉求已于{}经复核出具意见，依照规定不再受理。请向信访人说明，\
                 并将本次来访登记为重复访；如有新的事实和理由，请在诉求中写明后再登记新事项。",
                o.at
            ),
        )),
    }
}

fn order_error(state: &MatterState, kind: EventKind, allowed: &[EventKind]) -> FieldError {
    let allowed_zh = if allowed.is_empty() {
        "（无）".to_owned()
    } else {
        allowed
            .iter()
            .map(|k| k.label_zh())
            .collect::<Vec<_>>()
            .join("、")
    };
    // Once-only steps get their own wording: the order is right, the repetition is not.
    let (code, why) = match kind {
        EventKind::Extend
            if state.extension.is_some()
                && matches!(
                    state.status,
                    MatterStatus::Accepted | MatterStatus::InProgress
                ) =>
        {
            let e = state.extension.as_ref().map_or(0, |e| e.days);
            let due = conclusion_due(state);
            (
                "extension_twice",
                format!(
                    "办理期限已经延长过一次（{e}日），按规定只能延期一次，请在延长后的期限{due}前办结"
                ),
            )
        }
        EventKind::Hearing if state.status == MatterStatus::UnderReReview => (
            "hearing_twice",
            "本次复核已记录过听证，不能重复记录".to_owned(),
        ),
        EventKind::OpinionReceived
            if matches!(
                state.status,
                MatterStatus::Concluded | MatterStatus::Reviewed | MatterStatus::ReReviewed
            ) =>
        {
            (
                "opinion_received_twice",
                "最近一份意见的送达日期已经登记过".to_owned(),
            )
        }
        _ => ("wrong_order", kind.requirement_zh().to_owned()),
    };
    FieldError::new(
        "event",
        code,
        format!(
            "事项当前状态为「{}」，不能「{}」：{why}。当前可进行：{allowed_zh}。",
            state.status.label_zh(),
            kind.label_zh()
        ),
    )
}

fn conclusion_due(state: &MatterState) -> String {
    state
        .deadlines
        .iter()
        .find(|d| d.kind == DeadlineKind::Conclusion)
        .map_or_else(|| "（未知）".to_owned(), |d| d.due.to_string())
}

fn required(value: &str, field: &str, message: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        Err(FieldError::new(field, "required", message))
    } else {
        Ok(())
    }
}

fn transfer(
    kind: TransferKind,
    at: NaiveDate,
    to_authority: &str,
    report_back_by: Option<NaiveDate>,
) -> Result<Transfer, FieldError> {
    let what = match kind {
        TransferKind::Forward => "转送",
        TransferKind::Assign => "交办",
    };
    required(
        to_authority,
        "to_authority",
        &format!("请填写{what}的有权处理机关、单位。"),
    )?;
    if let Some(by) = report_back_by
        && by < at
    {
        return Err(FieldError::new(
            "report_back_by",
            "report_back_before_transfer",
            format!("报告期限{by}早于{what}日期{at}，请填写{what}之后的日期。"),
        ));
    }
    Ok(Transfer {
        kind,
        at,
        to_authority: to_authority.trim().to_owned(),
        report_back_by,
        reported_back_on: None,
        report_summary: None,
    })
}

fn extend_checks(
    state: &MatterState,
    at: NaiveDate,
    days: u32,
    approver: &str,
    reason: &str,
    cal: &HolidayCalendar,
) -> Result<(), FieldError> {
    if days == 0 || days > MAX_EXTENSION_DAYS {
        return Err(FieldError::new(
            "days",
            "extension_too_long",
            format!(
                "延长期限最多{MAX_EXTENSION_DAYS}日，填写的是{days}日。请填写1至{MAX_EXTENSION_DAYS}之间的天数。"
            ),
        ));
    }
    required(
        approver,
        "approver",
        "延期须经本机关、单位负责人批准，请填写批准人。",
    )?;
    required(reason, "reason", "请填写延期理由，该理由将告知信访人。")?;
    if let Some(accepted) = state.accepted_on {
        let due = deadline(accepted, CONCLUSION_DAYS, cal).due;
        if at > due {
            return Err(FieldError::new(
                "at",
                "extension_after_due",
                format!(
                    "办理期限已于{due}届满，届满后不能再延期。请尽快办结，超期情况将如实计入按期办结率。"
                ),
            ));
        }
    }
    Ok(())
}

fn request_in_time(
    cal: &HolidayCalendar,
    at: NaiveDate,
    issued: Option<&Opinion>,
    opinion_name: &str,
    stage_name: &str,
    code: &str,
) -> Result<(), FieldError> {
    let Some(o) = issued else { return Ok(()) };
    let window = deadline(o.window_start(), REVIEW_DAYS, cal);
    if at <= window.due {
        return Ok(());
    }
    let from = match o.received_on {
        Some(r) => format!("{opinion_name}于{r}送达"),
        None => format!(
            "{opinion_name}于{}出具（送达日期未登记，按出具日期计算；如实际送达较晚，请先登记意见送达日期）",
            o.at
        ),
    };
    Err(FieldError::new(
        "at",
        code,
        format!(
            "{from}，请求{stage_name}的期限为收到之日起{REVIEW_DAYS}日，至{}届满；{at}提出已超过期限，不能登记{stage_name}请求。\
             请向信访人说明；如有新的事实和理由，可另行登记新事项。",
            window.due
        ),
    ))
}

fn close_checks(
    state: &MatterState,
    at: NaiveDate,
    cal: &HolidayCalendar,
) -> Result<(), FieldError> {
    // The visitor keeps the right to ask for the next step until the window closes; closing
    // earlier would cut that right off.
    let (issued, next_step) = match state.status {
        MatterStatus::Concluded => (state.opinion.as_ref(), "复查"),
        MatterStatus::Reviewed => (
            state.review.as_ref().and_then(|r| r.opinion.as_ref()),
            "复核",
        ),
        _ => return Ok(()),
    };
    let Some(o) = issued else { return Ok(()) };
    let window = deadline(o.window_start(), REVIEW_DAYS, cal);
    if at > window.due {
        return Ok(());
    }
    Err(FieldError::new(
        "at",
        "close_before_window",
        format!(
            "请求{next_step}的期限至{}才届满，期限内信访人仍可请求{next_step}，暂不能终结。\
             请在{}或以后终结；如信访人已请求{next_step}，请登记「请求{next_step}」。",
            window.due,
            window.due.succ_opt().unwrap_or(window.due)
        ),
    ))
}

fn opinion(at: NaiveDate, summary: &str) -> Opinion {
    Opinion {
        at,
        summary: summary.trim().to_owned(),
        received_on: None,
    }
}

fn stage(at: NaiveDate, body: &str) -> ReviewStage {
    ReviewStage {
        requested_on: at,
        body: body.trim().to_owned(),
        hearing: None,
        opinion: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn run(received: &str, events: &[MatterEvent]) -> Result<MatterState, FieldError> {
        MatterState::replay(d(received), events, &HolidayCalendar::bundled())
    }

    fn due_of(state: &MatterState, kind: DeadlineKind) -> NaiveDate {
        state.deadlines.iter().find(|x| x.kind == kind).unwrap().due
    }

    #[test]
    fn registration_has_a_decision_deadline() {
        let cal = HolidayCalendar::bundled();
        // 2025-09-16 + 15 = 10-01, National Day rest through 10-08.
        let s = MatterState::registered(d("2025-09-16"), &cal);
        assert_eq!(s.deadlines.len(), 1);
        assert_eq!(s.deadlines[0].due, d("2025-10-09"));
        assert!(s.deadlines[0].moved);
        assert_eq!(
            allowed_events(&s),
            vec![
                EventKind::Accept,
                EventKind::Reject,
                EventKind::Forward,
                EventKind::Assign,
                EventKind::GuideToLegalRoute
            ]
        );
    }

    #[test]
    fn conclusion_deadline_includes_the_extension() {
        let s = run(
            "2025-03-03",
            &[
                MatterEvent::Accept {
                    at: d("2025-03-05"),
                    notice_no: None,
                },
                MatterEvent::StartHandling {
                    at: d("2025-03-05"),
                },
            ],
        )
        .unwrap();
        // 2025-03-05 + 60 = 2025-05-04, Labour Day rest through 05-05.
        assert_eq!(due_of(&s, DeadlineKind::Conclusion), d("2025-05-06"));
        let cal = HolidayCalendar::bundled();
        let ext = MatterEvent::Extend {
            at: d("2025-04-30"),
            days: 30,
            approver: "王科长".into(),
            reason: "涉及多个部门，需要调查核实".into(),
        };
        let s = apply(&s, &ext, &cal).unwrap();
        // 2025-03-05 + 90 = 2025-06-03, a Tuesday.
        assert_eq!(due_of(&s, DeadlineKind::Conclusion), d("2025-06-03"));
        assert!(!allowed_events(&s).contains(&EventKind::Extend));
    }

    #[test]
    fn wrong_order_names_what_is_allowed() {
        let err = run(
            "2025-03-03",
            &[MatterEvent::RequestReview {
                at: d("2025-03-04"),
                body: "市信访局".into(),
            }],
        )
        .unwrap_err();
        assert_eq!(err.code, "wrong_order");
        assert_eq!(err.field, "events[0].event");
        assert!(err.message.contains("请求复查须在办结"), "{}", err.message);
        assert!(
            err.message
                .contains("当前可进行：受理、不予受理、转送、交办、导入法定途径")
        );
    }

    #[test]
    fn dates_may_not_go_back() {
        let err = run(
            "2025-03-03",
            &[MatterEvent::Accept {
                at: d("2025-03-01"),
                notice_no: None,
            }],
        )
        .unwrap_err();
        assert_eq!(err.code, "date_before_previous");
    }

    #[test]
    fn extension_limits() {
        let base = [MatterEvent::Accept {
            at: d("2025-03-05"),
            notice_no: None,
        }];
        let cal = HolidayCalendar::bundled();
        let s = run("2025-03-03", &base).unwrap();
        let ext = |at: &str, days: u32, approver: &str| MatterEvent::Extend {
            at: d(at),
            days,
            approver: approver.into(),
            reason: "情况复杂".into(),
        };
        assert_eq!(
            apply(&s, &ext("2025-04-01", 31, "王科长"), &cal)
                .unwrap_err()
                .code,
            "extension_too_long"
        );
        assert_eq!(
            apply(&s, &ext("2025-04-01", 0, "王科长"), &cal)
                .unwrap_err()
                .code,
            "extension_too_long"
        );
        assert_eq!(
            apply(&s, &ext("2025-04-01", 30, " "), &cal)
                .unwrap_err()
                .field,
            "approver"
        );
        // The limit ended 2025-05-06; asking on 05-07 is too late.
        assert_eq!(
            apply(&s, &ext("2025-05-07", 10, "王科长"), &cal)
                .unwrap_err()
                .code,
            "extension_after_due"
        );
        assert!(apply(&s, &ext("2025-05-06", 10, "王科长"), &cal).is_ok());
    }

    #[test]
    fn forwarded_matter_gets_decision_and_report_deadlines() {
        let s = run(
            "2025-01-20",
            &[MatterEvent::Assign {
                at: d("2025-01-22"),
                to_authority: "泽州县人力资源和社会保障局".into(),
                report_back_by: d("2025-03-01"),
            }],
        )
        .unwrap();
        assert_eq!(s.status, MatterStatus::Assigned);
        // 2025-01-22 + 15 = 02-06, a Thursday after the Spring Festival break.
        assert_eq!(
            due_of(&s, DeadlineKind::AcceptanceDecision),
            d("2025-02-06")
        );
        assert_eq!(due_of(&s, DeadlineKind::ReportBack), d("2025-03-01"));
        let disposition = &s.deadlines[0];
        assert_eq!(disposition.on_time(), Some(true));
        assert!(allowed_events(&s).contains(&EventKind::ReportBack));
        let cal = HolidayCalendar::bundled();
        let s = apply(
            &s,
            &MatterEvent::ReportBack {
                at: d("2025-02-20"),
                summary: "已受理".into(),
            },
            &cal,
        )
        .unwrap();
        assert!(!allowed_events(&s).contains(&EventKind::ReportBack));
        assert_eq!(s.status, MatterStatus::Assigned);
    }

    #[test]
    fn close_waits_for_the_review_window() {
        let s = run(
            "2025-03-03",
            &[
                MatterEvent::Accept {
                    at: d("2025-03-05"),
                    notice_no: Some("泽信受〔2025〕12号".into()),
                },
                MatterEvent::Conclude {
                    at: d("2025-04-10"),
                    opinion_summary: "支持部分诉求".into(),
                },
            ],
        )
        .unwrap();
        let cal = HolidayCalendar::bundled();
        // 2025-04-10 + 30 = 05-10, a Saturday, so the window runs to Monday 05-12.
        assert_eq!(due_of(&s, DeadlineKind::ReviewRequest), d("2025-05-12"));
        let err = apply(
            &s,
            &MatterEvent::Close {
                at: d("2025-05-12"),
            },
            &cal,
        )
        .unwrap_err();
        assert_eq!(err.code, "close_before_window");
        assert!(err.message.contains("2025-05-13"), "{}", err.message);
        let closed = apply(
            &s,
            &MatterEvent::Close {
                at: d("2025-05-13"),
            },
            &cal,
        )
        .unwrap();
        assert_eq!(closed.status, MatterStatus::Closed);
        assert!(allowed_events(&closed).is_empty());
    }

    #[test]
    fn receipt_moves_the_review_window() {
        let s = run(
            "2025-03-03",
            &[
                MatterEvent::Accept {
                    at: d("2025-03-05"),
                    notice_no: None,
                },
                MatterEvent::Conclude {
                    at: d("2025-04-10"),
                    opinion_summary: "不支持".into(),
                },
                MatterEvent::OpinionReceived {
                    at: d("2025-04-15"),
                },
            ],
        )
        .unwrap();
        // 2025-04-15 + 30 = 05-15, a Thursday.
        assert_eq!(due_of(&s, DeadlineKind::ReviewRequest), d("2025-05-15"));
        assert!(!allowed_events(&s).contains(&EventKind::OpinionReceived));
    }

    #[test]
    fn new_matter_refused_after_re_review() {
        let full = run(
            "2025-01-06",
            &[
                MatterEvent::Accept {
                    at: d("2025-01-06"),
                    notice_no: None,
                },
                MatterEvent::Conclude {
                    at: d("2025-02-10"),
                    opinion_summary: "不支持".into(),
                },
                MatterEvent::RequestReview {
                    at: d("2025-02-20"),
                    body: "晋城市人民政府".into(),
                },
                MatterEvent::ReviewOpinion {
                    at: d("2025-03-10"),
                    summary: "维持".into(),
                },
                MatterEvent::RequestReReview {
                    at: d("2025-03-20"),
                    body: "山西省人民政府".into(),
                },
                MatterEvent::ReReviewOpinion {
                    at: d("2025-04-10"),
                    summary: "维持".into(),
                },
            ],
        )
        .unwrap();
        let err = may_accept_new_matter(std::slice::from_ref(&full)).unwrap_err();
        assert_eq!(err.code, "same_facts_finalized");
        let only_accepted = run(
            "2025-01-06",
            &[MatterEvent::Accept {
                at: d("2025-01-06"),
                notice_no: None,
            }],
        )
        .unwrap();
        assert!(may_accept_new_matter(&[only_accepted]).is_ok());
        assert!(may_accept_new_matter(&[]).is_ok());
    }

    #[test]
    fn status_and_events_serialise_snake_case() {
        assert_eq!(
            serde_json::to_value(MatterStatus::UnderReReview).unwrap(),
            "under_re_review"
        );
        let ev: MatterEvent = serde_json::from_value(serde_json::json!({
            "kind": "guide_to_legal_route", "at": "2025-03-03", "route_code": "litigation"
        }))
        .unwrap();
        assert_eq!(ev.kind(), EventKind::GuideToLegalRoute);
        assert_eq!(
            serde_json::to_value(EventKind::RequestReReview).unwrap(),
            "request_re_review"
        );
    }

    #[test]
    fn ranks_cover_every_status_in_order() {
        let ranks: Vec<u8> = MatterStatus::ALL.iter().map(|s| s.ord()).collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(MatterStatus::Closed.ord(), 9);
    }
}

/// What a step records as its `prev` when it is the first step of its matter (a word, not an
/// empty text: replicas store an empty text as "nothing").
pub const FIRST_STEP: &str = "first";

/// The `prev` a step was recorded with: `None` unknown (older steps), `FIRST_STEP`, or an id.
pub fn parse_prev(recorded: Option<&str>) -> Option<Option<String>> {
    match recorded {
        None | Some("") => None,
        Some(FIRST_STEP) => Some(None),
        Some(id) => Some(Some(id.to_owned())),
    }
}

/// One recorded step of a matter, as every replica holds it: each step is a record of its own
/// (a UUID), never overwritten by another desk's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: String,
    /// The hybrid-logical-clock stamp of the change that recorded it: orders steps of one day
    /// the way the desks saw them (a step recorded after pulling another sorts after it).
    pub hlc: i64,
    pub event: MatterEvent,
    /// The step that stood last on the recording desk when it was recorded: `Some(None)` for
    /// the first step of a matter, `None` when not known (steps recorded before it was kept).
    pub prev: Option<Option<String>>,
    /// Set aside by a supervisor resolving a conflict: not folded.
    pub voided: bool,
}

/// A step the fold could not apply: it clashes with the steps before it (e.g. 受理 recorded
/// offline at one desk while another desk recorded 转送). Kept, and shown to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedStep {
    pub step_id: String,
    /// The applied step it clashes with.
    pub competitor: Option<String>,
    /// Why (Chinese).
    pub reason: String,
}

/// What the steps of a matter make of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub state: MatterState,
    /// Ids of the applied steps, in fold order.
    pub applied: Vec<String>,
    pub refused: Vec<RefusedStep>,
}

/// Folds all steps of a matter in the one order every replica agrees on — (the step's date,
/// its HLC stamp, its id) — so every replica holding the same steps derives the same status,
/// state and deadlines, whatever order the steps arrived in. A step is refused (kept, listed in
/// `refused`, not applied) when `apply` refuses it at its place, or when it was recorded
/// concurrently with another step — both on the same previous step — and both decide where the
/// matter goes (each changes its status from there: 受理 at one desk, 转送 at another), so a
/// person chooses. Concurrent steps that do not both move the status (延期 beside 开始办理)
/// both stand. Voided steps are skipped.
pub fn fold_steps(received_on: NaiveDate, steps: &[Step], cal: &HolidayCalendar) -> Folded {
    let mut order: Vec<&Step> = steps.iter().collect();
    order.sort_by(|a, b| (a.event.date(), a.hlc, &a.id).cmp(&(b.event.date(), b.hlc, &b.id)));
    let initial = MatterState::registered(received_on, cal);
    // The applied steps with the state after each.
    let mut history: Vec<(&Step, MatterState)> = Vec::new();
    let mut refused = Vec::new();
    for step in order {
        if step.voided {
            continue;
        }
        let last_id = history.last().map(|(s, _)| s.id.as_str());
        if let Some(prev) = &step.prev
            && prev.as_deref() != last_id
        {
            // Recorded without knowing the steps after `prev`: did it race the next one?
            let base = match prev.as_deref() {
                None => Some(0),
                Some(p) => history.iter().position(|(s, _)| s.id == p).map(|k| k + 1),
            };
            if let Some(k) = base
                && let Some((raced, raced_state)) = history.get(k)
            {
                let base_state = if k == 0 { &initial } else { &history[k - 1].1 };
                let raced_moves = raced_state.status != base_state.status;
                let mine_moves = apply(base_state, &step.event, cal)
                    .map_or(true, |n| n.status != base_state.status);
                if raced_moves && mine_moves {
                    refused.push(RefusedStep {
                        step_id: step.id.clone(),
                        competitor: Some(raced.id.clone()),
                        reason: format!(
                            "与其他设备同时登记的「{}」相冲突（两台设备在离线时对同一事项作出了不同的处理），\
                             请负责人确定保留哪一个环节。",
                            raced.event.kind().label_zh()
                        ),
                    });
                    continue;
                }
            }
        }
        let current = history.last().map_or(&initial, |(_, st)| st);
        match apply(current, &step.event, cal) {
            Ok(next) => history.push((step, next)),
            Err(e) => refused.push(RefusedStep {
                step_id: step.id.clone(),
                competitor: history.last().map(|(s, _)| s.id.clone()),
                reason: e.message,
            }),
        }
    }
    Folded {
        applied: history.iter().map(|(s, _)| s.id.clone()).collect(),
        state: history.pop().map_or(initial, |(_, st)| st),
        refused,
    }
}
