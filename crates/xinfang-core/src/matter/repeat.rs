//! 重复访 and 不再受理 (《信访工作条例》第三十一条、第三十五条): a visit the clerk attaches to an
//! earlier matter of the same facts and reasons joins it — counted as a visit of that matter,
//! never as a new one — and, by the matter's stage, the visitor is told it will not be accepted
//! again: while it is being handled (the same request goes on in the same matter), and once
//! it was finally decided (复核意见, or 终结). The visit is recorded either way.

use crate::FieldError;

use super::{MatterState, MatterStatus};

/// How a repeat visit stands, by the matter's status: `None` — joins (the matter waits for a
/// decision, was refused or guided elsewhere, or the visitor may still ask for 复查/复核);
/// `Handling` — 不再受理 while it is handled; `Final` — 不再受理 after the final decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatStage {
    Open,
    Handling,
    Final,
}

/// The stage of each status, as a table a reviewer can read against the regulation.
pub const REPEAT_STAGES: &[(MatterStatus, RepeatStage)] = &[
    (MatterStatus::Registered, RepeatStage::Open),
    (MatterStatus::Forwarded, RepeatStage::Handling),
    (MatterStatus::Assigned, RepeatStage::Handling),
    (MatterStatus::Accepted, RepeatStage::Handling),
    (MatterStatus::NotAccepted, RepeatStage::Open),
    (MatterStatus::GuidedToLegalRoute, RepeatStage::Open),
    (MatterStatus::InProgress, RepeatStage::Handling),
    (MatterStatus::Concluded, RepeatStage::Open),
    (MatterStatus::UnderReview, RepeatStage::Handling),
    (MatterStatus::Reviewed, RepeatStage::Open),
    (MatterStatus::UnderReReview, RepeatStage::Handling),
    (MatterStatus::ReReviewed, RepeatStage::Final),
    (MatterStatus::Closed, RepeatStage::Final),
];

pub fn repeat_stage(status: MatterStatus) -> RepeatStage {
    REPEAT_STAGES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(RepeatStage::Open, |(_, stage)| *stage)
}

/// Code of the refusal a repeat visit carries under 不再受理.
pub const NOT_ACCEPTED_AGAIN: &str = "not_accepted_again";

/// The refusal to tell (and print for) a visitor whose visit joins `state`, or `None` when
/// the visit simply joins the matter.
pub fn repeat_visit_refusal(state: &MatterState) -> Option<FieldError> {
    let message = match repeat_stage(state.status) {
        RepeatStage::Open => return None,
        RepeatStage::Handling => format!(
            "该事项正在办理中（{}），同一事实和理由在办理期间不再重复受理。本次来访已登记为该事项的重复访，\
             请向信访人说明办理进度和期限。",
            state.status.label_zh()
        ),
        RepeatStage::Final => {
            let when = format!("已{}", final_words(state));
            format!(
                "该事项{when}。信访人仍以同一事实和理由提出的，依照《信访工作条例》不再受理。\
                 本次来访已登记为该事项的重复访，请向信访人出具不再受理告知；如有新的事实和理由，请登记为新事项。"
            )
        }
    };
    Some(FieldError::new("matter_id", NOT_ACCEPTED_AGAIN, message))
}

/// How a matter of the visitor at another hall of the city bears on this visit: 不再受理 by its
/// stage, and 越级访 when it is being handled below this hall. The clerk reads `message`; the
/// visit is registered either way (a matter of another hall is not joined across halls: the
/// visitor is guided to it).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OtherHallRemark {
    pub not_accepted_again: bool,
    pub skip_level: crate::hall::SkipLevel,
    /// Empty when the matter does not stand in the way (it waits, was refused or guided, or
    /// the visitor may still ask for 复查/复核).
    pub message: String,
}

/// The remark for a matter of `state` held by the hall of `matter_hall` (its name
/// `matter_hall_name`) when the visitor comes to the hall of `own_hall`.
pub fn other_hall_remark(
    state: &MatterState,
    matter_hall: &str,
    matter_hall_name: &str,
    own_hall: &str,
    regions: &crate::regions::Regions,
) -> OtherHallRemark {
    match repeat_stage(state.status) {
        RepeatStage::Open => OtherHallRemark::default(),
        RepeatStage::Handling => {
            let handled = crate::hall::handling_of(state, matter_hall, regions);
            let skip = crate::hall::skip_level(own_hall, None, handled.as_ref(), regions);
            let message = if skip.flagged {
                skip.message.clone()
            } else {
                format!(
                    "该事项正由{matter_hall_name}受理办理（{}），同一事实和理由在办理期间不再重复受理。\
                     请向信访人说明，并请其向办理机关了解进度、等待书面答复；如有新的事实和理由，请登记为新事项。",
                    state.status_label()
                )
            };
            OtherHallRemark {
                not_accepted_again: true,
                skip_level: skip,
                message,
            }
        }
        RepeatStage::Final => OtherHallRemark {
            not_accepted_again: true,
            skip_level: crate::hall::SkipLevel::none(),
            message: format!(
                "该事项已在{matter_hall_name}{}。信访人仍以同一事实和理由提出的，依照《信访工作条例》不再受理；\
                 请出具不再受理告知，如有新的事实和理由，请登记为新事项。",
                final_words(state)
            ),
        },
    }
}

/// 已于…经复核出具意见 / 已于…结案归档: how a finally decided matter ended.
fn final_words(state: &MatterState) -> String {
    state
        .re_review
        .as_ref()
        .and_then(|r| r.opinion.as_ref())
        .map(|o| format!("于{}经复核出具意见", o.at))
        .or_else(|| {
            state
                .closed_on
                .map(|d| format!("于{d}{}", state.status_label()))
        })
        .unwrap_or_else(|| state.status_label().to_owned())
}
