//! The time limits of a matter (15 days to decide, 60 to conclude, one extension, 30 days for
//! each review request and answer), recomputed from its state and the holiday calendar.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    CONCLUSION_DAYS, DECISION_DAYS, HearingRecord, MatterState, OBJECTION_WORKING_DAYS, REVIEW_DAYS,
};
use crate::calendar::HolidayCalendar;
use crate::deadline::{deadline, working_days_deadline};

/// Which limit a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The hall disposes of a registered appeal (accept, refuse, forward, assign, guide).
    Disposition,
    /// The forwarded/assigned authority decides whether to accept.
    AcceptanceDecision,
    /// The forwarded/assigned authority may object that the matter is not within its powers.
    TransferObjection,
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
            Self::TransferObjection => "异议期限",
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
            Self::TransferObjection => DeadlineParty::Receiver,
            _ => DeadlineParty::Authority,
        }
    }
}

/// Whose limit: an authority's duty (late = overdue, counts against the rates), or a window of
/// the visitor's or the receiving authority's (once past, the request or objection is refused;
/// nobody is late).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum DeadlineParty {
    Authority,
    Visitor,
    /// The receiving authority's window to object to a transfer: once past it must decide.
    Receiver,
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

    // The hall disposed of the appeal with its first transfer, whatever came of it.
    let first_transfer = state.earlier_transfers.first().or(state.transfer.as_ref());
    let disposed_on = first_transfer.map(|t| t.at).or(decided_on);
    out.push(NamedDeadline::counted(
        K::Disposition,
        format!("登记之日起{DECISION_DAYS}日"),
        state.received_on,
        DECISION_DAYS,
        cal,
        disposed_on,
    ));

    if let Some(t) = &state.transfer {
        let what = t.kind.label_zh();
        let unknown = if t.received_on.is_some() {
            ""
        } else {
            "（收到日期未登记，按交转日期计算）"
        };
        // An objection in time ends the authority's duty to decide; the hall moves next.
        let objected_on = t.objection.as_ref().map(|o| o.at);
        out.push(NamedDeadline::counted(
            K::AcceptanceDecision,
            format!("收到{what}之日起{DECISION_DAYS}日{unknown}"),
            t.period_start(),
            DECISION_DAYS,
            cal,
            decided_on.or(objected_on),
        ));
        let window = working_days_deadline(t.period_start(), OBJECTION_WORKING_DAYS, cal);
        out.push(NamedDeadline {
            kind: K::TransferObjection,
            label_zh: K::TransferObjection.label_zh().to_owned(),
            basis_zh: format!("收到{what}之日起{OBJECTION_WORKING_DAYS}个工作日{unknown}"),
            party: K::TransferObjection.party(),
            start: window.start,
            days: window.days,
            due: window.due,
            moved: false,
            calendar_known: window.calendar_known,
            done_on: objected_on,
        });
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
        let mut basis = if ext > 0 {
            format!("受理之日起{CONCLUSION_DAYS}日，经批准延期{ext}日")
        } else {
            format!("受理之日起{CONCLUSION_DAYS}日")
        };
        let heard = hearing_days(state.handling_hearing.as_ref(), &mut basis);
        let done = state.opinion.as_ref().map(|o| o.at);
        out.push(NamedDeadline::counted(
            K::Conclusion,
            basis,
            accepted,
            CONCLUSION_DAYS + ext + heard,
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
            let mut basis = format!("收到{stage_name}请求之日起{REVIEW_DAYS}日");
            let heard = hearing_days(s.hearing.as_ref(), &mut basis);
            out.push(NamedDeadline::counted(
                opinion_kind,
                basis,
                s.requested_on,
                REVIEW_DAYS + heard,
                cal,
                s.opinion.as_ref().map(|o| o.at),
            ));
        }
    }
    out
}

/// Hearing time is not counted in the stage's limit: the days it lengthens the period by, said
/// in the basis.
fn hearing_days(hearing: Option<&HearingRecord>, basis: &mut String) -> u32 {
    let Some(h) = hearing else { return 0 };
    let days = h.excluded_days();
    basis.push_str(&format!("，听证{days}日不计入"));
    days
}
