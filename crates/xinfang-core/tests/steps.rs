//! A matter's state is the fold of all its steps in one order every replica agrees on
//! (`matter::fold_steps`): whatever order the steps arrived in, the same state, the same
//! applied steps and the same refused ones.

use chrono::NaiveDate;
use proptest::prelude::*;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::{self, MatterEvent, MatterStatus, Step, Subject};
use xinfang_core::reference::AppealKind;

/// A claim about no unit in particular: every step of the regulation's order is open to it.
const CLAIM: Subject<'static> = Subject {
    kind: AppealKind::Claim,
    agency: None,
};

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, day).unwrap()
}

fn event(kind: u8, day: u32) -> MatterEvent {
    let at = d(day);
    match kind % 6 {
        0 => MatterEvent::Accept {
            at,
            notice_no: Some(format!("受{day}")),
        },
        1 => MatterEvent::Forward {
            at,
            to_authority: "县人社局".into(),
            report_back_by: None,
        },
        2 => MatterEvent::StartHandling { at },
        3 => MatterEvent::Reject {
            at,
            reason: "不属于受理范围".into(),
        },
        4 => MatterEvent::Conclude {
            at,
            opinion_summary: "已协调支付".into(),
            details: Default::default(),
        },
        _ => MatterEvent::OpinionReceived { at },
    }
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec((0u8..6, 3u32..8, 0i64..4, any::<bool>(), 0usize..10), 0..8).prop_map(
        |v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (kind, day, hlc, voided, prev))| Step {
                    id: format!("step-{i}"),
                    hlc,
                    event: event(kind, day),
                    // Unknown (older steps), the first step, or after an earlier one.
                    prev: match prev {
                        0 => None,
                        1 => Some(None),
                        p if p - 2 < i => Some(Some(format!("step-{}", p - 2))),
                        _ => Some(None),
                    },
                    voided: voided && i % 3 == 0,
                })
                .collect()
        },
    )
}

proptest! {
    #[test]
    fn any_arrival_order_folds_to_the_same_matter(
        steps in steps(),
        seed in any::<u64>(),
        kind in 0usize..3,
    ) {
        let cal = HolidayCalendar::bundled();
        // Every kind, and a report about the unit the steps forward to (those are refused).
        let subject = Subject {
            kind: [AppealKind::Claim, AppealKind::Suggestion, AppealKind::Report][kind],
            agency: Some("县人社局"),
        };
        let want = matter::fold_steps(d(3), subject, &steps, &cal);
        let mut shuffled = steps.clone();
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(matter::fold_steps(d(3), subject, &shuffled, &cal), want.clone());
        // Every step that is not voided either stands or is listed as refused.
        let kept = steps.iter().filter(|s| !s.voided).count();
        prop_assert_eq!(want.applied.len() + want.refused.len(), kept);
    }
}

#[test]
fn accept_and_forward_recorded_at_two_desks_leave_one_standing_and_one_refused() {
    let cal = HolidayCalendar::bundled();
    let accept = Step {
        id: "b-accept".into(),
        hlc: 20,
        event: event(0, 5),
        prev: Some(None),
        voided: false,
    };
    let forward = Step {
        id: "a-forward".into(),
        hlc: 10,
        event: event(1, 5),
        prev: Some(None),
        voided: false,
    };
    let folded = matter::fold_steps(d(3), CLAIM, &[accept.clone(), forward.clone()], &cal);
    // Same day: the earlier stamp goes first; 受理 after 转送 would be allowed in one desk's
    // sequence, but both were decided on the registered matter: a person chooses.
    assert_eq!(folded.applied, vec!["a-forward"]);
    assert_eq!(folded.state.status, MatterStatus::Forwarded);
    assert_eq!(folded.refused.len(), 1);
    assert_eq!(folded.refused[0].step_id, "b-accept");
    assert_eq!(folded.refused[0].competitor.as_deref(), Some("a-forward"));
    assert!(!folded.refused[0].reason.is_empty());
    // The supervisor keeps the 受理: the 转送 is voided, and the 受理 stands with its number.
    let voided = Step {
        voided: true,
        ..forward
    };
    let folded = matter::fold_steps(d(3), CLAIM, &[accept, voided], &cal);
    assert_eq!(folded.state.status, MatterStatus::Accepted);
    assert_eq!(folded.state.acceptance_notice_no.as_deref(), Some("受5"));
    assert!(folded.refused.is_empty());
    // Steps of one desk in turn (each after the one before) are no conflict.
    let start = Step {
        id: "c-start".into(),
        hlc: 30,
        event: event(2, 6),
        prev: Some(Some("b-accept".into())),
        voided: false,
    };
    let accept = Step {
        id: "b-accept".into(),
        hlc: 20,
        event: event(0, 5),
        prev: Some(None),
        voided: false,
    };
    let folded = matter::fold_steps(d(3), CLAIM, &[start, accept], &cal);
    assert_eq!(folded.applied, vec!["b-accept", "c-start"]);
    assert!(folded.refused.is_empty());
}

fn step(id: &str, hlc: i64, event: MatterEvent, prev: Option<&str>) -> Step {
    Step {
        id: id.into(),
        hlc,
        event,
        prev: Some(prev.map(str::to_owned)),
        voided: false,
    }
}

/// A step the matter's kind never takes is refused in the fold, not only at the desk that
/// records it: a 复查 request recorded on a desk that still saw a claim, synced after another
/// desk reclassified the matter as a suggestion, stands as a refused step with the reason.
#[test]
fn a_step_the_kind_never_takes_is_refused_with_the_procedure_reason() {
    let cal = HolidayCalendar::bundled();
    let steps = [
        step(
            "a",
            1,
            MatterEvent::Accept {
                at: d(4),
                notice_no: None,
            },
            None,
        ),
        step(
            "b",
            2,
            MatterEvent::Conclude {
                at: d(5),
                opinion_summary: "予以答复".into(),
                details: Default::default(),
            },
            Some("a"),
        ),
        step("c", 3, MatterEvent::OpinionReceived { at: d(6) }, Some("b")),
        step(
            "d",
            4,
            MatterEvent::RequestReview {
                at: d(7),
                body: "市信访局".into(),
            },
            Some("c"),
        ),
    ];
    let claim = matter::fold_steps(d(3), CLAIM, &steps, &cal);
    assert_eq!(claim.applied, vec!["a", "b", "c", "d"]);
    assert!(claim.refused.is_empty());
    let suggestion = Subject {
        kind: AppealKind::Suggestion,
        agency: None,
    };
    let folded = matter::fold_steps(d(3), suggestion, &steps, &cal);
    assert_eq!(folded.applied, vec!["a", "b", "c"]);
    assert_eq!(folded.refused.len(), 1);
    assert_eq!(folded.refused[0].step_id, "d");
    assert!(
        folded.refused[0]
            .reason
            .contains("建议意见类事项不能「请求复查」"),
        "{}",
        folded.refused[0].reason
    );
}

/// A report forwarded to the unit it reports is refused in the fold as at the desk.
#[test]
fn a_report_forwarded_to_the_unit_reported_is_refused_in_the_fold() {
    let cal = HolidayCalendar::bundled();
    let forward = step(
        "f",
        1,
        MatterEvent::Forward {
            at: d(4),
            to_authority: "沁水县住建局".into(),
            report_back_by: None,
        },
        None,
    );
    let report = Subject {
        kind: AppealKind::Report,
        agency: Some("沁水县住建局"),
    };
    let folded = matter::fold_steps(d(3), report, std::slice::from_ref(&forward), &cal);
    assert!(folded.applied.is_empty());
    assert_eq!(folded.state.status, MatterStatus::Registered);
    assert_eq!(folded.refused[0].step_id, "f");
    assert!(
        folded.refused[0]
            .reason
            .contains("不能转送、交办给被检举控告的单位")
    );
    let elsewhere = Subject {
        agency: Some("沁水县教育局"),
        ..report
    };
    assert_eq!(
        matter::fold_steps(d(3), elsewhere, &[forward], &cal).applied,
        vec!["f"]
    );
}
