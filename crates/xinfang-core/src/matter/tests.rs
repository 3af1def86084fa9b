//! A matter's life replayed: its deadlines, the order of its steps and their refusals.

use chrono::NaiveDate;

use super::*;
use crate::calendar::HolidayCalendar;
use crate::error::FieldError;

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
                details: Default::default(),
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
                details: Default::default(),
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
                details: Default::default(),
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

/// Every state on the way through `events`, the registration first.
fn states_along(received: &str, events: &[MatterEvent]) -> Vec<MatterState> {
    let cal = HolidayCalendar::bundled();
    let mut states = vec![MatterState::registered(d(received), &cal)];
    for e in events {
        let next = apply(states.last().unwrap(), e, &cal).unwrap();
        states.push(next);
    }
    states
}

#[test]
fn a_stored_state_leaves_out_its_nulls_and_reads_back_whole() {
    let hearing = |date: &str| MatterEvent::Hearing {
        date: d(date),
        notice_on: None,
        chair: "李主任".into(),
        panel: vec!["王律师".into()],
        participants: vec!["张三".into()],
        record: "听证记录".into(),
        opinion: "维持".into(),
    };
    let long_way = [
        MatterEvent::Forward {
            at: d("2025-01-07"),
            to_authority: "泽州县人力资源和社会保障局".into(),
            report_back_by: None,
        },
        MatterEvent::ReceiveTransfer {
            at: d("2025-01-08"),
        },
        MatterEvent::ObjectTransfer {
            at: d("2025-01-09"),
            reason: "不属本机关职权范围".into(),
        },
        MatterEvent::Assign {
            at: d("2025-01-10"),
            to_authority: "泽州县住房和城乡建设局".into(),
            report_back_by: d("2025-03-01"),
        },
        MatterEvent::Accept {
            at: d("2025-01-13"),
            notice_no: Some("泽信受〔2025〕12号".into()),
        },
        MatterEvent::StartHandling {
            at: d("2025-01-13"),
        },
        hearing("2025-02-10"),
        MatterEvent::Extend {
            at: d("2025-03-01"),
            days: 30,
            approver: "王科长".into(),
            reason: "涉及多个部门".into(),
        },
        MatterEvent::Conclude {
            at: d("2025-03-20"),
            opinion_summary: "不支持".into(),
            details: OpinionDetails {
                result: "不予支持".into(),
                facts_reasons: String::new(),
                legal_basis: String::new(),
            },
        },
        MatterEvent::OpinionReceived {
            at: d("2025-03-22"),
        },
        MatterEvent::RequestReview {
            at: d("2025-04-01"),
            body: "晋城市人民政府".into(),
        },
        hearing("2025-04-20"),
        MatterEvent::ReviewOpinion {
            at: d("2025-05-06"),
            summary: "维持".into(),
        },
        MatterEvent::RequestReReview {
            at: d("2025-05-20"),
            body: "山西省人民政府".into(),
        },
        MatterEvent::ReReviewOpinion {
            at: d("2025-06-10"),
            summary: "维持".into(),
        },
        MatterEvent::Close {
            at: d("2025-06-11"),
        },
    ];
    let refused = [MatterEvent::Reject {
        at: d("2025-01-08"),
        reason: "已由人民法院受理".into(),
    }];
    let guided = [MatterEvent::GuideToLegalRoute {
        at: d("2025-01-08"),
        route_code: "litigation".into(),
    }];
    let mut states = states_along("2025-01-06", &long_way);
    states.extend(states_along("2025-01-06", &refused));
    states.extend(states_along("2025-01-06", &guided));
    let (mut stored_bytes, mut full_bytes) = (0, 0);
    for state in &states {
        let stored = state.stored_json().unwrap();
        assert!(!stored.contains("null"), "{stored}");
        let back: MatterState = serde_json::from_str(&stored).unwrap();
        assert_eq!(&back, state, "{stored}");
        stored_bytes += stored.len();
        full_bytes += serde_json::to_string(state).unwrap().len();
    }
    // Every optional part was on the way at least once, and each state before it lost its null.
    let last = &states[long_way.len()];
    assert!(last.earlier_transfers.len() == 1 && last.handling_hearing.is_some());
    assert!(last.re_review.as_ref().is_some_and(|r| r.opinion.is_some()));
    assert!(
        stored_bytes * 10 < full_bytes * 9,
        "{stored_bytes} of {full_bytes}"
    );
}
