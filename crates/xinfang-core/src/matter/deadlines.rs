//! The time limits of a matter (15 days to decide, 60 to conclude, one extension, 30 days for
//! each review request and answer), recomputed from its state and the holiday calendar.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CONCLUSION_DAYS, DECISION_DAYS, MatterState, REVIEW_DAYS, TransferKind};
use crate::calendar::HolidayCalendar;
use crate::deadline::deadline;

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
