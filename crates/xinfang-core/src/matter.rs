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

mod deadlines;
mod events;
mod form;
mod procedure;
mod repeat;
mod state;
mod steps;
mod transitions;

pub use deadlines::{DeadlineKind, DeadlineParty, NamedDeadline, deadlines};
pub use events::{EventKind, MatterEvent, OPINION_RESULTS, OpinionDetails};
pub use form::{StepField, StepInput, step_fields};
pub use procedure::{Procedure, allowed_for_kind, check_kind_change, check_step, procedure};
pub use repeat::{
    NOT_ACCEPTED_AGAIN, OtherHallRemark, REPEAT_STAGES, RepeatStage, other_hall_remark,
    repeat_stage, repeat_visit_refusal,
};
pub use state::{
    Extension, HearingRecord, LegalRouteGuidance, MatterState, MatterStatus, Opinion, Refusal,
    ReviewStage, Transfer, TransferKind, TransferObjection,
};
pub use steps::{FIRST_STEP, Folded, RefusedStep, Step, Subject, fold_steps, parse_prev};
pub use transitions::{allowed_events, apply, may_accept_new_matter};

/// Days the authority has to decide on acceptance (and the hall to dispose of an appeal).
pub const DECISION_DAYS: u32 = 15;
/// Working days the receiving authority has to object to a transfer.
pub const OBJECTION_WORKING_DAYS: u32 = 5;
/// Days from acceptance to conclusion.
pub const CONCLUSION_DAYS: u32 = 60;
/// Longest single extension of the conclusion limit.
pub const MAX_EXTENSION_DAYS: u32 = 30;
/// Days the visitor has to ask for a review or re-review, and the body has to answer.
pub const REVIEW_DAYS: u32 = 30;

#[cfg(test)]
mod tests;
