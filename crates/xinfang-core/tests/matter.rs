//! The matter lifecycle as a whole: random event sequences never move a status back or skip a
//! required step, and the refusals the regulation asks for are there.

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::{
    DeadlineKind, EventKind, MatterEvent, MatterState, MatterStatus, allowed_events, apply,
    deadlines, may_accept_new_matter,
};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// One event of `kind` on `at`; `n` varies the numbers and `blank` leaves text empty, so that
/// the random sequences also hit the field checks.
fn event(kind: EventKind, at: NaiveDate, n: u32, blank: bool) -> MatterEvent {
    let text = |s: &str| if blank { String::new() } else { s.to_owned() };
    match kind {
        EventKind::Accept => MatterEvent::Accept {
            at,
            notice_no: None,
        },
        EventKind::Reject => MatterEvent::Reject {
            at,
            reason: text("不属于本机关职权范围"),
        },
        EventKind::Forward => MatterEvent::Forward {
            at,
            to_authority: text("阳城县自然资源局"),
            report_back_by: n.is_multiple_of(2).then(|| at + Days::new(u64::from(n))),
        },
        EventKind::ReceiveTransfer => MatterEvent::ReceiveTransfer { at },
        EventKind::ObjectTransfer => MatterEvent::ObjectTransfer {
            at,
            reason: text("不属于本机关职权范围"),
        },
        EventKind::Assign => MatterEvent::Assign {
            at,
            to_authority: text("沁水县住房和城乡建设局"),
            report_back_by: at + Days::new(u64::from(n)),
        },
        EventKind::GuideToLegalRoute => MatterEvent::GuideToLegalRoute {
            at,
            route_code: text("labor_arbitration"),
        },
        EventKind::ReportBack => MatterEvent::ReportBack {
            at,
            summary: text("已受理并办理"),
        },
        EventKind::StartHandling => MatterEvent::StartHandling { at },
        EventKind::Extend => MatterEvent::Extend {
            at,
            days: n,
            approver: text("李主任"),
            reason: text("涉及多个部门"),
        },
        EventKind::Conclude => MatterEvent::Conclude {
            at,
            opinion_summary: text("支持部分诉求"),
            details: Default::default(),
        },
        EventKind::OpinionReceived => MatterEvent::OpinionReceived { at },
        EventKind::RequestReview => MatterEvent::RequestReview {
            at,
            body: text("晋城市人民政府"),
        },
        EventKind::ReviewOpinion => MatterEvent::ReviewOpinion {
            at,
            summary: text("维持"),
        },
        EventKind::RequestReReview => MatterEvent::RequestReReview {
            at,
            body: text("山西省人民政府"),
        },
        EventKind::Hearing => MatterEvent::Hearing {
            date: at,
            notice_on: n
                .is_multiple_of(3)
                .then(|| at - Days::new(u64::from(n % 7))),
            chair: text("张主持"),
            panel: vec![text("人大代表")],
            participants: vec![text("信访人"), text("县住建局代表")],
            record: text("听证记录"),
            opinion: text("评议意见"),
        },
        EventKind::ReReviewOpinion => MatterEvent::ReReviewOpinion {
            at,
            summary: text("维持"),
        },
        EventKind::Close => MatterEvent::Close { at },
    }
}

/// What must already be on the record for a status to be reached.
fn check_invariants(s: &MatterState, cal: &HolidayCalendar) {
    use MatterStatus as S;
    let past_acceptance = matches!(
        s.status,
        S::InProgress
            | S::Concluded
            | S::UnderReview
            | S::Reviewed
            | S::UnderReReview
            | S::ReReviewed
    );
    if past_acceptance || s.status == S::Accepted {
        assert!(s.accepted_on.is_some(), "{:?} without acceptance", s.status);
    }
    if s.opinion.is_some() {
        assert!(s.accepted_on.is_some(), "concluded without acceptance");
    }
    if s.review.is_some() {
        assert!(s.opinion.is_some(), "review without a handling opinion");
    }
    if s.re_review.is_some() {
        let reviewed = s.review.as_ref().is_some_and(|r| r.opinion.is_some());
        assert!(reviewed, "re-review without a review opinion");
    }
    if matches!(s.status, S::Forwarded | S::Assigned) {
        assert!(s.transfer.is_some());
    }
    if s.status == S::Closed {
        assert!(s.closed_on.is_some());
        assert!(s.not_accepted.is_some() || s.legal_route.is_some() || s.opinion.is_some());
    }
    if let Some(e) = &s.extension {
        assert!((1..=30).contains(&e.days));
    }
    if let Some(r) = &s.review
        && let Some(o) = &s.opinion
    {
        let window = s
            .deadlines
            .iter()
            .find(|x| x.kind == DeadlineKind::ReviewRequest)
            .unwrap();
        assert!(r.requested_on <= window.due, "late review request accepted");
        assert!(r.requested_on >= o.at);
    }
    assert_eq!(s.deadlines, deadlines(s, cal), "stored deadlines are stale");
}

/// One random step: which event (an index), days since the previous one, a number for the
/// event's data, whether to ignore the buttons, and (0 of 10) whether to leave text blank.
fn step() -> impl Strategy<Value = (u8, u64, u32, bool, u8)> {
    // Mostly short gaps so the 30-day windows are met; some long ones so lateness is hit too.
    let gap = prop_oneof![4 => 0u64..12, 1 => 12u64..60];
    (
        any::<u8>(),
        gap,
        0u32..40,
        prop::bool::weighted(0.15),
        0u8..10,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_sequences_keep_the_procedure(
        start in 0u64..2600,
        steps in prop::collection::vec(step(), 1..30),
    ) {
        let cal = HolidayCalendar::bundled();
        let received = d("2020-01-01") + Days::new(start);
        let mut state = MatterState::registered(received, &cal);
        let mut day = received;
        for (pick, gap, n, free_choice, blank) in steps {
            day = day + Days::new(gap);
            let allowed = allowed_events(&state);
            // Mostly follow the buttons so sequences get deep; sometimes press anything.
            let kind = if free_choice || allowed.is_empty() {
                EventKind::ALL[usize::from(pick) % EventKind::ALL.len()]
            } else {
                allowed[usize::from(pick) % allowed.len()]
            };
            let ev = event(kind, day, n, blank == 0);
            match apply(&state, &ev, &cal) {
                Ok(next) => {
                    prop_assert!(allowed.contains(&kind), "{kind:?} applied but not offered");
                    prop_assert!(next.status.ord() >= state.status.ord(),
                        "{:?} → {:?} by {kind:?}", state.status, next.status);
                    prop_assert!(state.status != MatterStatus::Closed);
                    check_invariants(&next, &cal);
                    state = next;
                }
                Err(e) => {
                    prop_assert!(!e.message.is_empty() && !e.code.is_empty());
                    if state.status == MatterStatus::Closed {
                        prop_assert_eq!(e.code.as_str(), "matter_closed");
                    }
                }
            }
        }
    }
}

fn concluded() -> MatterState {
    MatterState::replay(
        d("2025-03-03"),
        &[
            MatterEvent::Accept {
                at: d("2025-03-05"),
                notice_no: Some("泽信受〔2025〕8号".into()),
            },
            MatterEvent::StartHandling {
                at: d("2025-03-06"),
            },
            MatterEvent::Conclude {
                at: d("2025-04-10"),
                opinion_summary: "支持部分诉求".into(),
                details: Default::default(),
            },
        ],
        &HolidayCalendar::bundled(),
    )
    .unwrap()
}

#[test]
fn second_extension_is_refused() {
    let cal = HolidayCalendar::bundled();
    let s = MatterState::replay(
        d("2025-03-03"),
        &[
            MatterEvent::Accept {
                at: d("2025-03-05"),
                notice_no: None,
            },
            MatterEvent::Extend {
                at: d("2025-04-20"),
                days: 15,
                approver: "李主任".into(),
                reason: "需要现场勘查".into(),
            },
        ],
        &cal,
    )
    .unwrap();
    let again = MatterEvent::Extend {
        at: d("2025-05-01"),
        days: 15,
        approver: "李主任".into(),
        reason: "仍需补充材料".into(),
    };
    let err = apply(&s, &again, &cal).unwrap_err();
    assert_eq!(err.code, "extension_twice");
    assert!(err.message.contains("只能延期一次"), "{}", err.message);
    // 2025-03-05 + 75 = 2025-05-19 (Monday).
    assert!(err.message.contains("2025-05-19"), "{}", err.message);
    assert!(
        err.message.contains("当前可进行：开始办理、办结"),
        "{}",
        err.message
    );
}

#[test]
fn late_review_request_is_refused() {
    let cal = HolidayCalendar::bundled();
    let s = concluded();
    // Opinion 2025-04-10, no receipt recorded: 30 days end 05-10 (Saturday) → 05-12 (Monday).
    let late = MatterEvent::RequestReview {
        at: d("2025-05-13"),
        body: "晋城市信访局".into(),
    };
    let err = apply(&s, &late, &cal).unwrap_err();
    assert_eq!(err.code, "review_request_late");
    assert!(err.message.contains("2025-05-12"), "{}", err.message);
    assert!(err.message.contains("送达日期未登记"), "{}", err.message);
    let in_time = MatterEvent::RequestReview {
        at: d("2025-05-12"),
        body: "晋城市信访局".into(),
    };
    assert_eq!(
        apply(&s, &in_time, &cal).unwrap().status,
        MatterStatus::UnderReview
    );

    // A later receipt moves the window: received 04-20, 30 days end 05-20 (Tuesday).
    let received = apply(
        &s,
        &MatterEvent::OpinionReceived {
            at: d("2025-04-20"),
        },
        &cal,
    )
    .unwrap();
    assert!(apply(&received, &late, &cal).is_ok());
    let too_late = MatterEvent::RequestReview {
        at: d("2025-05-21"),
        body: "晋城市信访局".into(),
    };
    let err = apply(&received, &too_late, &cal).unwrap_err();
    assert_eq!(err.code, "review_request_late");
    assert!(err.message.contains("2025-04-20送达"), "{}", err.message);
}

#[test]
fn late_re_review_request_is_refused() {
    let cal = HolidayCalendar::bundled();
    let mut s = concluded();
    for ev in [
        MatterEvent::RequestReview {
            at: d("2025-04-20"),
            body: "晋城市人民政府".into(),
        },
        MatterEvent::ReviewOpinion {
            at: d("2025-05-15"),
            summary: "维持原处理意见".into(),
        },
    ] {
        s = apply(&s, &ev, &cal).unwrap();
    }
    // 2025-05-15 + 30 = 06-14 (Saturday) → 06-16 (Monday).
    let late = MatterEvent::RequestReReview {
        at: d("2025-06-17"),
        body: "山西省人民政府".into(),
    };
    assert_eq!(
        apply(&s, &late, &cal).unwrap_err().code,
        "re_review_request_late"
    );
    let ok = MatterEvent::RequestReReview {
        at: d("2025-06-16"),
        body: "山西省人民政府".into(),
    };
    assert!(apply(&s, &ok, &cal).is_ok());
}

#[test]
fn event_after_closed_is_refused() {
    let cal = HolidayCalendar::bundled();
    let s = MatterState::replay(
        d("2025-03-03"),
        &[
            MatterEvent::GuideToLegalRoute {
                at: d("2025-03-03"),
                route_code: "litigation".into(),
            },
            MatterEvent::Close {
                at: d("2025-03-04"),
            },
        ],
        &cal,
    )
    .unwrap();
    assert_eq!(s.status, MatterStatus::Closed);
    assert_eq!(s.status_label(), "结案归档");
    assert!(allowed_events(&s).is_empty());
    for kind in EventKind::ALL {
        let err = apply(&s, &event(kind, d("2025-03-10"), 10, false), &cal).unwrap_err();
        assert_eq!(err.code, "matter_closed", "{kind:?}");
        // Closed without a 复核: 结案归档 (终结 is the close of a matter decided on 复核).
        assert!(
            err.message.contains("2025-03-04结案归档"),
            "{}",
            err.message
        );
        assert!(err.message.contains("不予受理"), "{}", err.message);
    }
}

#[test]
fn full_path_through_hearing_to_closed() {
    let cal = HolidayCalendar::bundled();
    let events = [
        MatterEvent::Forward {
            at: d("2025-09-22"),
            to_authority: "陵川县人民政府".into(),
            report_back_by: Some(d("2025-11-30")),
        },
        MatterEvent::Accept {
            at: d("2025-10-09"),
            notice_no: Some("陵信受〔2025〕31号".into()),
        },
        MatterEvent::ReportBack {
            at: d("2025-10-10"),
            summary: "已受理".into(),
        },
        MatterEvent::StartHandling {
            at: d("2025-10-10"),
        },
        MatterEvent::Conclude {
            at: d("2025-11-20"),
            opinion_summary: "不支持".into(),
            details: Default::default(),
        },
        MatterEvent::OpinionReceived {
            at: d("2025-11-21"),
        },
        MatterEvent::RequestReview {
            at: d("2025-12-01"),
            body: "晋城市人民政府".into(),
        },
        MatterEvent::ReviewOpinion {
            at: d("2025-12-25"),
            summary: "维持".into(),
        },
        MatterEvent::RequestReReview {
            at: d("2026-01-10"),
            body: "山西省人民政府".into(),
        },
        MatterEvent::Hearing {
            date: d("2026-01-20"),
            notice_on: None,
            chair: "赵主任".into(),
            panel: vec!["市人大代表".into()],
            participants: vec![
                "信访人王某".into(),
                "陵川县政府代表".into(),
                "值班律师".into(),
            ],
            record: "双方陈述意见，律师就法律适用发表意见".into(),
            opinion: "复查意见适用法律正确".into(),
        },
        MatterEvent::ReReviewOpinion {
            at: d("2026-02-06"),
            summary: "维持".into(),
        },
        MatterEvent::Close {
            at: d("2026-02-10"),
        },
    ];
    let s = MatterState::replay(d("2025-09-20"), &events, &cal).unwrap();
    assert_eq!(s.status, MatterStatus::Closed);
    // Decided on 复核, so its close is 终结 (not 结案归档).
    assert_eq!(s.status_label(), "终结");
    assert_eq!(s.close_label(), "终结");
    assert!(s.re_review.as_ref().unwrap().hearing.is_some());

    let due = |k| s.deadlines.iter().find(|x| x.kind == k).unwrap();
    // Registered 09-20 (Saturday) + 15 = 10-05, in the National Day break → 10-09.
    assert_eq!(due(DeadlineKind::Disposition).due, d("2025-10-09"));
    assert_eq!(due(DeadlineKind::Disposition).on_time(), Some(true));
    // Forwarded 09-22 + 15 = 10-07 → 10-09; accepted 10-09, in time.
    assert_eq!(due(DeadlineKind::AcceptanceDecision).due, d("2025-10-09"));
    assert_eq!(due(DeadlineKind::AcceptanceDecision).on_time(), Some(true));
    // Accepted 10-09 + 60 = 12-08 (Monday).
    assert_eq!(due(DeadlineKind::Conclusion).due, d("2025-12-08"));
    // Received 11-21 + 30 = 12-21 (Sunday) → 12-22.
    assert_eq!(due(DeadlineKind::ReviewRequest).due, d("2025-12-22"));
    // Requested 12-01 + 30 = 12-31 (Wednesday).
    assert_eq!(due(DeadlineKind::ReviewOpinion).due, d("2025-12-31"));
    // Review opinion 12-25 + 30 = 2026-01-24 (Saturday) → 01-26 (Monday).
    assert_eq!(due(DeadlineKind::ReReviewRequest).due, d("2026-01-26"));
    // Requested 2026-01-10 + 30, plus the hearing day 01-20 not counted = 02-10 (Tuesday).
    assert_eq!(due(DeadlineKind::ReReviewOpinion).due, d("2026-02-10"));
    assert!(
        due(DeadlineKind::ReReviewOpinion)
            .basis_zh
            .ends_with("听证1日不计入")
    );
    // The authority it was forwarded to never objected: its window just closed.
    assert_eq!(due(DeadlineKind::TransferObjection).done_on, None);
    assert!(
        s.deadlines
            .iter()
            .filter(|x| x.kind != DeadlineKind::TransferObjection)
            .all(|x| x.on_time() == Some(true)),
        "{:#?}",
        s.deadlines
    );

    // The same claim on the same facts cannot open a new matter.
    assert_eq!(
        may_accept_new_matter(&[s]).unwrap_err().code,
        "same_facts_finalized"
    );
}

#[test]
fn required_steps_cannot_be_skipped() {
    let cal = HolidayCalendar::bundled();
    let registered = MatterState::registered(d("2025-03-03"), &cal);
    let at = d("2025-03-10");
    for kind in [
        EventKind::Conclude,
        EventKind::Extend,
        EventKind::RequestReview,
        EventKind::RequestReReview,
        EventKind::Hearing,
        EventKind::Close,
    ] {
        let err = apply(&registered, &event(kind, at, 10, false), &cal).unwrap_err();
        assert_eq!(err.code, "wrong_order", "{kind:?}");
    }
    let s = concluded();
    let err = apply(
        &s,
        &event(EventKind::RequestReReview, d("2025-04-12"), 1, false),
        &cal,
    )
    .unwrap_err();
    assert!(
        err.message.contains("请求复核须在出具复查意见之后"),
        "{}",
        err.message
    );
}

/// 重复访 and 不再受理, from the table a reviewer reads (tests/data/repeat_visits.tsv): every
/// status is listed once, and a visit attached to a matter in it joins, or joins with the
/// refusal `not_accepted_again`.
#[test]
fn repeat_visits_join_their_matter_or_are_not_accepted_again_by_the_table() {
    use xinfang_core::matter::{MatterState, NOT_ACCEPTED_AGAIN, repeat_visit_refusal};
    let table = include_str!("data/repeat_visits.tsv");
    let cal = xinfang_core::calendar::HolidayCalendar::bundled();
    let mut seen = Vec::new();
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (status, outcome) = (cols[0], cols[1]);
        let mut state = MatterState::registered("2026-03-02".parse().unwrap(), &cal);
        state.status = serde_json::from_value(serde_json::json!(status))
            .unwrap_or_else(|_| panic!("unknown status {status}"));
        state.closed_on = (status == "closed").then(|| "2026-09-30".parse().unwrap());
        let refusal = repeat_visit_refusal(&state);
        match outcome {
            "并入" => assert!(refusal.is_none(), "{status}: {refusal:?}"),
            "不再受理" => {
                let r = refusal.unwrap_or_else(|| panic!("{status}: joined"));
                assert_eq!(r.code, NOT_ACCEPTED_AGAIN);
                assert!(
                    r.message.contains("不再") && r.message.contains("重复访"),
                    "{}",
                    r.message
                );
                if status == "closed" {
                    assert!(r.message.contains("2026-09-30"), "{}", r.message);
                }
            }
            other => panic!("unknown outcome {other}"),
        }
        seen.push(state.status);
    }
    let mut all = xinfang_core::matter::MatterStatus::ALL.to_vec();
    all.sort_by_key(|s| s.ord());
    seen.sort_by_key(|s| s.ord());
    assert_eq!(seen, all, "every status once");
}

/// Rows of a table in tests/data: tab-separated, `#` lines are the reader's notes.
fn table_rows(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect()
}

fn date_or_none(s: &str) -> Option<NaiveDate> {
    (s != "-").then(|| d(s))
}

/// The receiving authority's objection within 5 working days of receipt, from the table a
/// reviewer reads (tests/data/transfer_objections.tsv), across 调休 weekends and holidays.
#[test]
fn transfer_objections_follow_the_table() {
    let cal = HolidayCalendar::bundled();
    let rows = table_rows(include_str!("data/transfer_objections.tsv"));
    assert!(rows.len() >= 6);
    for cols in rows {
        let [
            forwarded,
            received,
            objected,
            window_due,
            decision_due,
            outcome,
            note,
        ] = cols[..]
        else {
            panic!("bad row {cols:?}")
        };
        let forwarded = d(forwarded);
        let mut events = vec![MatterEvent::Forward {
            at: forwarded,
            to_authority: "沁水县自然资源局".into(),
            report_back_by: None,
        }];
        if let Some(r) = date_or_none(received) {
            events.push(MatterEvent::ReceiveTransfer { at: r });
        }
        let state = MatterState::replay(forwarded, &events, &cal).unwrap();
        let due = |k| state.deadlines.iter().find(|x| x.kind == k).unwrap().due;
        assert_eq!(
            due(DeadlineKind::TransferObjection),
            d(window_due),
            "{note}"
        );
        assert_eq!(
            due(DeadlineKind::AcceptanceDecision),
            d(decision_due),
            "{note}"
        );
        let objection = MatterEvent::ObjectTransfer {
            at: d(objected),
            reason: "属于县住建局职权".into(),
        };
        match (outcome, apply(&state, &objection, &cal)) {
            ("在期限内", Ok(next)) => {
                // Objected: the hall forwards it again, and the new authority's clock starts.
                assert!(
                    allowed_events(&next).contains(&EventKind::Forward),
                    "{note}"
                );
                let again = MatterEvent::Forward {
                    at: d(objected),
                    to_authority: "沁水县住房和城乡建设局".into(),
                    report_back_by: None,
                };
                let next = apply(&next, &again, &cal).unwrap();
                assert_eq!(next.earlier_transfers.len(), 1, "{note}");
                let dl = next
                    .deadlines
                    .iter()
                    .find(|x| x.kind == DeadlineKind::AcceptanceDecision)
                    .unwrap();
                assert_eq!(dl.start, d(objected), "{note}");
                // The hall's own 15 days were met by the first transfer.
                let disposition = next
                    .deadlines
                    .iter()
                    .find(|x| x.kind == DeadlineKind::Disposition)
                    .unwrap();
                assert_eq!(disposition.done_on, Some(forwarded), "{note}");
            }
            ("超过期限", Err(e)) => {
                assert_eq!(e.code, "objection_late", "{note}");
                assert!(e.message.contains(window_due), "{note}: {}", e.message);
            }
            (outcome, got) => panic!("{note}: expected {outcome}, got {got:?}"),
        }
    }
}

/// Hearing time is not counted in the limit of the stage it is held in, from the table
/// (tests/data/hearing_time.tsv).
#[test]
fn hearing_time_is_not_counted_by_the_table() {
    let cal = HolidayCalendar::bundled();
    let rows = table_rows(include_str!("data/hearing_time.tsv"));
    assert!(rows.len() >= 5);
    for cols in rows {
        let [stage, start, notice, held, due, note] = cols[..] else {
            panic!("bad row {cols:?}")
        };
        let start = d(start);
        let (received, mut events, kind) = match stage {
            "办理" => (
                start,
                vec![
                    MatterEvent::Accept {
                        at: start,
                        notice_no: None,
                    },
                    MatterEvent::StartHandling { at: start },
                ],
                DeadlineKind::Conclusion,
            ),
            "复查" => (
                d("2026-03-02"),
                vec![
                    MatterEvent::Accept {
                        at: d("2026-03-02"),
                        notice_no: None,
                    },
                    MatterEvent::Conclude {
                        at: d("2026-05-25"),
                        opinion_summary: "不予支持".into(),
                        details: Default::default(),
                    },
                    MatterEvent::RequestReview {
                        at: start,
                        body: "晋城市人民政府".into(),
                    },
                ],
                DeadlineKind::ReviewOpinion,
            ),
            "复核" => (
                d("2026-01-05"),
                vec![
                    MatterEvent::Accept {
                        at: d("2026-01-05"),
                        notice_no: None,
                    },
                    MatterEvent::Conclude {
                        at: d("2026-03-02"),
                        opinion_summary: "不予支持".into(),
                        details: Default::default(),
                    },
                    MatterEvent::RequestReview {
                        at: d("2026-03-10"),
                        body: "晋城市人民政府".into(),
                    },
                    MatterEvent::ReviewOpinion {
                        at: d("2026-05-25"),
                        summary: "维持".into(),
                    },
                    MatterEvent::RequestReReview {
                        at: start,
                        body: "山西省人民政府".into(),
                    },
                ],
                DeadlineKind::ReReviewOpinion,
            ),
            other => panic!("unknown stage {other}"),
        };
        if let Some(date) = date_or_none(held) {
            events.push(MatterEvent::Hearing {
                date,
                notice_on: date_or_none(notice),
                chair: "赵主任".into(),
                panel: vec!["市人大代表".into(), "律师".into()],
                participants: vec!["信访人".into(), "县人社局代表".into()],
                record: "各方陈述意见".into(),
                opinion: "原处理意见事实清楚".into(),
            });
        }
        let state = MatterState::replay(received, &events, &cal).unwrap();
        let dl = state.deadlines.iter().find(|x| x.kind == kind).unwrap();
        assert_eq!(dl.due, d(due), "{stage} {note}: {}", dl.basis_zh);
        // A second hearing in the same stage is refused.
        if let Some(date) = date_or_none(held) {
            let again = MatterEvent::Hearing {
                date,
                notice_on: None,
                chair: "赵主任".into(),
                panel: vec!["律师".into()],
                participants: vec!["信访人".into()],
                record: "再次听证".into(),
                opinion: "同上".into(),
            };
            assert_eq!(
                apply(&state, &again, &cal).unwrap_err().code,
                "hearing_twice"
            );
        }
    }
}

/// Each kind's steps, and where a report may not be sent, from the table a reviewer reads
/// (tests/data/procedure_by_kind.tsv).
#[test]
fn each_kind_takes_its_own_steps_by_the_table() {
    use xinfang_core::matter::{allowed_for_kind, check_step};
    use xinfang_core::reference::AppealKind;
    let rows = table_rows(include_str!("data/procedure_by_kind.tsv"));
    assert!(rows.len() >= 15);
    let kind_of = |code: &str| AppealKind::parse(code).unwrap_or_else(|| panic!("kind {code}"));
    for cols in rows {
        match cols[..] {
            [kind, to, reported, verdict, note] if kind.ends_with("-transfer") => {
                let kind = kind_of(kind.trim_end_matches("-transfer"));
                let event = MatterEvent::Forward {
                    at: d("2026-03-02"),
                    to_authority: to.into(),
                    report_back_by: None,
                };
                let got = check_step(kind, Some(reported), &event);
                match verdict {
                    "可以" => assert!(got.is_ok(), "{note}: {got:?}"),
                    "不可以" => {
                        let e = got.expect_err(note);
                        assert_eq!(e.code, "transfer_to_reported", "{note}");
                        assert_eq!(e.field, "to_authority");
                        assert!(e.message.contains("纪检监察"), "{}", e.message);
                    }
                    other => panic!("verdict {other}"),
                }
            }
            [kind, step, verdict, note] => {
                let kind = kind_of(kind);
                let step: EventKind = serde_json::from_value(serde_json::json!(step))
                    .unwrap_or_else(|_| panic!("step {step}"));
                let event = event(step, d("2026-03-02"), 2, false);
                let mut offered = EventKind::ALL.to_vec();
                allowed_for_kind(kind, &mut offered);
                match verdict {
                    "可以" => {
                        assert!(check_step(kind, None, &event).is_ok(), "{note}");
                        assert!(offered.contains(&step), "{note}");
                    }
                    "不可以" => {
                        let e = check_step(kind, None, &event).expect_err(note);
                        assert_eq!(e.code, "not_for_kind", "{note}");
                        assert!(e.message.contains(step.label_zh()), "{}", e.message);
                        assert!(!offered.contains(&step), "{note}");
                    }
                    other => panic!("verdict {other}"),
                }
            }
            _ => panic!("bad row {cols:?}"),
        }
    }
}

/// The last day to ask for 司法确认, from the table (tests/data/judicial_confirmation.tsv).
#[test]
fn judicial_confirmation_due_day_by_the_table() {
    use xinfang_core::desk::judicial_confirmation_due;
    let cal = HolidayCalendar::bundled();
    let rows = table_rows(include_str!("data/judicial_confirmation.tsv"));
    assert!(rows.len() >= 5);
    for cols in rows {
        let [effective, due, note] = cols[..] else {
            panic!("bad row {cols:?}")
        };
        assert_eq!(
            judicial_confirmation_due(d(effective), &cal),
            d(due),
            "{note}"
        );
    }
}
