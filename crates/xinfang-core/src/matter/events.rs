//! What can happen to a matter: the kinds of step and the events with what the record needs
//! of each.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The kinds of [`MatterEvent`], for the UI's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Accept,
    Reject,
    Forward,
    Assign,
    ReceiveTransfer,
    ObjectTransfer,
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
    pub const ALL: [Self; 18] = [
        Self::Accept,
        Self::Reject,
        Self::Forward,
        Self::Assign,
        Self::ReceiveTransfer,
        Self::ObjectTransfer,
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
            Self::ReceiveTransfer => "登记有权机关收到",
            Self::ObjectTransfer => "登记有权机关异议",
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
            Self::Close => "结案归档",
        }
    }

    /// When the event may happen, for refusals.
    pub(super) fn requirement_zh(self) -> &'static str {
        match self {
            Self::Accept | Self::Reject => {
                "受理或不予受理须在登记后、或转送/交办后由有权机关决定，且只决定一次"
            }
            Self::Forward | Self::Assign => {
                "转送、交办只能在登记后、作出受理决定前进行；已转送、交办的，须有权机关提出异议后才能另行转送、交办"
            }
            Self::ReceiveTransfer => "登记有权机关收到须在转送或交办之后，且只登记一次",
            Self::ObjectTransfer => {
                "有权机关的异议须在转送或交办之后、作出受理决定之前登记，且每次转送、交办只登记一次"
            }
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
            Self::Hearing => {
                "听证须在办理中、复查中或复核中举行（出具意见之前），每个阶段只记录一次"
            }
            Self::ReReviewOpinion => "出具复核意见须在收到复核请求之后",
            Self::Close => "结案归档须在不予受理、导入法定途径、办结、复查或复核之后",
        }
    }
}

/// The parts a 信访处理意见书 states besides its summary: the result, the facts and reasons
/// found, and the laws applied. Empty on opinions recorded before the form asked for them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct OpinionDetails {
    /// One of [`OPINION_RESULTS`] (支持 …), or empty.
    pub result: String,
    /// 事实和理由.
    pub facts_reasons: String,
    /// 法律法规依据.
    pub legal_basis: String,
}

/// The results a 信访处理意见书 may give (支持、部分支持、不予支持、解释说明); a suggestion is
/// answered as 采纳、部分采纳 or 不予采纳.
pub const OPINION_RESULTS: [&str; 7] = [
    "支持",
    "部分支持",
    "不予支持",
    "解释说明",
    "采纳",
    "部分采纳",
    "不予采纳",
];

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
    /// The authority a matter was forwarded or assigned to received it; its 15 days to decide
    /// and its 5 working days to object run from this day.
    ReceiveTransfer {
        at: NaiveDate,
    },
    /// The receiving authority holds the matter is not within its powers and says why (within 5
    /// working days of receipt); the hall then forwards or assigns it again, or handles it.
    ObjectTransfer {
        at: NaiveDate,
        reason: String,
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
        #[serde(flatten)]
        details: OpinionDetails,
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
    /// 听证 held in handling (a major, complex or difficult matter), review or re-review. The
    /// days from the notice to the hearing are not counted in that stage's limit. `notice_on`,
    /// `panel` and `opinion` default for hearings recorded before they were asked for.
    Hearing {
        date: NaiveDate,
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional))]
        notice_on: Option<NaiveDate>,
        chair: String,
        #[serde(default)]
        panel: Vec<String>,
        participants: Vec<String>,
        record: String,
        /// 评议意见 of the panel.
        #[serde(default)]
        opinion: String,
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
            Self::ReceiveTransfer { .. } => EventKind::ReceiveTransfer,
            Self::ObjectTransfer { .. } => EventKind::ObjectTransfer,
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
            | Self::ReceiveTransfer { at }
            | Self::ObjectTransfer { at, .. }
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
    pub(super) fn date_field(&self) -> &'static str {
        if matches!(self, Self::Hearing { .. }) {
            "date"
        } else {
            "at"
        }
    }
}
