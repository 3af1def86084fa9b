//! The legal engine in the store, against real SQLite files: matter transitions and refusals,
//! deadlines, classification and routes, due lists, backlog cases and their dashboard.

use chrono::{DateTime, FixedOffset, NaiveDate};
use tempfile::TempDir;
use xinfang_core::backlog::{ClearInput, FlagInput, NoteInput};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::classify::ClassifyInput;
use xinfang_core::due::DueBucket;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::matter::{DeadlineKind, EventKind, MatterEvent, MatterStatus};
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{
    BACKLOG_PAGE_SIZE, BacklogFilter, DASHBOARD_OVERDUE_SHOWN, NewStaff, Staff, Store, StoreError,
};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn cal() -> HolidayCalendar {
    HolidayCalendar::bundled()
}

fn staff(store: &mut Store, username: &str, name: &str, role: Role) -> Staff {
    store
        .add_staff(&NewStaff {
            username: username.into(),
            display_name: name.into(),
            roles: vec![role],
            password: "correct horse".into(),
        })
        .unwrap()
}

struct Hall {
    dir: TempDir,
    store: Store,
    clerk: Staff,
    supervisor: Staff,
    lawyer: Staff,
    next_id: u32,
}

impl Hall {
    fn new() -> Hall {
        let dir = TempDir::new().unwrap();
        let mut store = Store::create(dir.path(), "140521").unwrap().0;
        let clerk = staff(&mut store, "clerk", "王接待", Role::Clerk);
        let supervisor = staff(&mut store, "boss", "赵科长", Role::Supervisor);
        let lawyer = staff(&mut store, "lawyer", "陈律师", Role::Lawyer);
        Hall {
            dir,
            store,
            clerk,
            supervisor,
            lawyer,
            next_id: 1,
        }
    }

    /// Registers a visit received on `day` and returns its matter id.
    fn matter(&mut self, name: &str, day: &str, kind: &str, category: &str) -> String {
        let body17 = format!("14052119800101{:03}", self.next_id);
        self.next_id += 1;
        let id_number = format!("{body17}{}", resident_id_check_char(&body17).unwrap());
        let input = VisitInput {
            visited_at: format!("{day}T09:30:00+08:00"),
            visitors: vec![VisitorInput {
                name: name.into(),
                id_number,
                ..Default::default()
            }],
            head_count: 0,
            representatives: vec![],
            appeal: format!("{name}反映的问题"),
            appeal_kind: kind.into(),
            category: category.into(),
            agency: "沁水县人社局".into(),
            place_code: "140521".into(),
        };
        let now: DateTime<FixedOffset> =
            DateTime::parse_from_rfc3339("2026-11-26T12:00:00+08:00").unwrap();
        let v = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
        self.store
            .register_visit(&v, &self.clerk.id)
            .unwrap()
            .matter_id
    }

    fn claim(&mut self, name: &str, day: &str) -> String {
        self.matter(name, day, "claim", "劳动和社会保障")
    }

    fn record(&mut self, id: &str, e: MatterEvent) -> MatterStatus {
        let by = self.clerk.id.clone();
        self.store.record_event(id, &e, &by, &cal()).unwrap().status
    }

    fn refuse(&mut self, id: &str, e: MatterEvent) -> xinfang_core::FieldError {
        let by = self.clerk.id.clone();
        match self.store.record_event(id, &e, &by, &cal()) {
            Err(StoreError::Invalid(errors)) => errors.0[0].clone(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Rows that any write would add to or change.
    fn footprint(&self, id: &str) -> (i64, i64, String, String) {
        let conn =
            xinfang_store::open_raw(self.store.path(), self.store.data_key().as_ref()).unwrap();
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        let (status, state): (String, Option<String>) = conn
            .query_row(
                "SELECT status, state FROM matters WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        (
            count("SELECT count(*) FROM change_log"),
            count("SELECT count(*) FROM matter_events"),
            status,
            state.unwrap_or_default(),
        )
    }

    fn verify_ok(&self) {
        let report = self.store.verify().unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}

fn due(view: &xinfang_store::MatterView, kind: DeadlineKind) -> NaiveDate {
    view.deadlines
        .iter()
        .find(|x| x.deadline.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} deadline"))
        .deadline
        .due
}

#[test]
fn a_matter_runs_its_whole_course_and_never_goes_back() {
    let mut h = Hall::new();
    let id = h.claim("张三", "2026-03-02");
    let today = d("2026-03-10");
    let v = h.store.matter(&id, today, &cal()).unwrap();
    assert_eq!(v.status, MatterStatus::Registered);
    assert_eq!(v.visitor_names, ["张三"]);
    // 2026-03-02 + 15 = 03-17, a Tuesday.
    assert_eq!(due(&v, DeadlineKind::Disposition), d("2026-03-17"));
    assert_eq!(v.deadlines[0].days_left, 7);
    assert_eq!(
        v.allowed_events.iter().map(|a| a.kind).collect::<Vec<_>>(),
        [
            EventKind::Accept,
            EventKind::Reject,
            EventKind::Forward,
            EventKind::Assign,
            EventKind::GuideToLegalRoute
        ]
    );

    let steps = vec![
        MatterEvent::Accept {
            at: d("2026-03-04"),
            notice_no: Some("沁信受〔2026〕8号".into()),
        },
        MatterEvent::StartHandling {
            at: d("2026-03-05"),
        },
        MatterEvent::Extend {
            at: d("2026-04-20"),
            days: 30,
            approver: "李局长".into(),
            reason: "涉及多个部门，需要调查核实".into(),
        },
        MatterEvent::Conclude {
            at: d("2026-05-20"),
            opinion_summary: "支持补发工资的诉求".into(),
            details: Default::default(),
        },
        MatterEvent::OpinionReceived {
            at: d("2026-05-22"),
        },
        MatterEvent::RequestReview {
            at: d("2026-06-10"),
            body: "晋城市信访局".into(),
        },
        MatterEvent::ReviewOpinion {
            at: d("2026-07-01"),
            summary: "维持原处理意见".into(),
        },
        MatterEvent::RequestReReview {
            at: d("2026-07-15"),
            body: "山西省信访局".into(),
        },
        MatterEvent::Hearing {
            date: d("2026-07-25"),
            notice_on: None,
            chair: "刘处长".into(),
            panel: vec!["省司法厅律师".into()],
            participants: vec!["张三".into(), "沁水县人社局代表".into()],
            record: "听取双方意见".into(),
            opinion: "维持".into(),
        },
        MatterEvent::ReReviewOpinion {
            at: d("2026-08-10"),
            summary: "维持复查意见".into(),
        },
        MatterEvent::Close {
            at: d("2026-08-11"),
        },
    ];
    let mut last = MatterStatus::Registered;
    let mut checked_extension = false;
    for (i, e) in steps.into_iter().enumerate() {
        let status = h.record(&id, e);
        assert!(
            status.ord() >= last.ord(),
            "step {i}: {last:?} → {status:?}"
        );
        last = status;
        let v = h.store.matter(&id, today, &cal()).unwrap();
        assert_eq!(v.status, status);
        assert_eq!(v.events.len(), i + 1);
        assert_eq!(v.events[i].seq, (i + 1) as i64);
        assert_eq!(v.events[i].by_name, "王接待");
        if i == 1 {
            // 2026-03-04 + 60 = 05-03, inside the Labour Day rest (05-01..05): moved to 05-06.
            let c = v
                .deadlines
                .iter()
                .find(|x| x.deadline.kind == DeadlineKind::Conclusion)
                .unwrap();
            assert_eq!(c.deadline.due, d("2026-05-06"));
            assert!(c.deadline.moved);
        }
        if i == 2 {
            // Extended by 30: 2026-03-04 + 90 = 06-02, a Tuesday.
            assert_eq!(due(&v, DeadlineKind::Conclusion), d("2026-06-02"));
            // A second extension is refused and writes nothing.
            let before = h.footprint(&id);
            let e = h.refuse(
                &id,
                MatterEvent::Extend {
                    at: d("2026-04-21"),
                    days: 10,
                    approver: "李局长".into(),
                    reason: "仍需核实".into(),
                },
            );
            assert_eq!(e.code, "extension_twice");
            assert!(e.message.contains("只能延期一次"), "{}", e.message);
            assert_eq!(h.footprint(&id), before);
            checked_extension = true;
        }
        if i == 4 {
            // Received 05-22 + 30 = 06-21, inside the Dragon Boat rest: 06-22.
            assert_eq!(due(&v, DeadlineKind::ReviewRequest), d("2026-06-22"));
        }
        if i == 7 {
            assert_eq!(due(&v, DeadlineKind::ReReviewOpinion), d("2026-08-14"));
        }
    }
    assert!(checked_extension);
    assert_eq!(last, MatterStatus::Closed);

    // Reopening a closed matter is refused, whatever the step, and nothing is written.
    let before = h.footprint(&id);
    for e in [
        MatterEvent::Accept {
            at: d("2026-09-01"),
            notice_no: None,
        },
        MatterEvent::RequestReview {
            at: d("2026-09-01"),
            body: "晋城市信访局".into(),
        },
        MatterEvent::Close {
            at: d("2026-09-01"),
        },
    ] {
        let err = h.refuse(&id, e);
        assert_eq!(err.code, "matter_closed");
        assert!(err.message.contains("2026-08-11"), "{}", err.message);
    }
    assert_eq!(h.footprint(&id), before);

    // Close and reopen the store: the record is all there, and verify is happy.
    let key = h.store.data_key().unwrap();
    drop(h.store);
    h.store = Store::open_with_key(h.dir.path(), &key).unwrap();
    let v = h.store.matter(&id, today, &cal()).unwrap();
    assert_eq!(v.status, MatterStatus::Closed);
    assert_eq!(v.events.len(), 11);
    assert!(v.allowed_events.is_empty());
    assert!(v.deadlines.iter().all(|x| !x.overdue));
    use xinfang_core::notice::NoticeKind as N;
    assert_eq!(
        v.notices,
        [
            N::Acceptance,
            N::HandlingOpinion,
            N::Extension,
            N::ReviewOpinion,
            N::ReReviewOpinion,
            // Closed: a repeat visit on the same facts is told 不再受理.
            N::NotAcceptedAgain
        ]
    );
    let hearing = v
        .state
        .re_review
        .as_ref()
        .unwrap()
        .hearing
        .as_ref()
        .unwrap();
    assert_eq!(hearing.chair, "刘处长");
    h.verify_ok();
}

#[test]
fn refusals_write_nothing_and_say_what_to_do() {
    let mut h = Hall::new();
    let id = h.claim("李四", "2026-11-02");
    let before = h.footprint(&id);
    let err = h.refuse(
        &id,
        MatterEvent::RequestReview {
            at: d("2026-11-03"),
            body: "晋城市信访局".into(),
        },
    );
    assert_eq!(err.code, "wrong_order");
    assert!(err.message.contains("当前可进行：受理"), "{}", err.message);
    let err = h.refuse(
        &id,
        MatterEvent::Accept {
            at: d("2026-10-30"),
            notice_no: None,
        },
    );
    assert_eq!(err.code, "date_before_previous");
    let err = h.refuse(
        &id,
        MatterEvent::Reject {
            at: d("2026-11-03"),
            reason: " ".into(),
        },
    );
    assert_eq!(err.field, "reason");
    let err = h.refuse(
        &id,
        MatterEvent::GuideToLegalRoute {
            at: d("2026-11-03"),
            route_code: "找领导".into(),
        },
    );
    assert_eq!(err.code, "legal_route_unknown");
    assert_eq!(h.footprint(&id), before);
    assert!(matches!(
        h.store.record_event(
            "no-such-matter",
            &MatterEvent::StartHandling {
                at: d("2026-11-03")
            },
            &h.clerk.id.clone(),
            &cal()
        ),
        Err(StoreError::NotFound(_))
    ));

    // A late review request is refused with the date the window closed.
    let id = h.claim("王五", "2026-01-05");
    h.record(
        &id,
        MatterEvent::Accept {
            at: d("2026-01-05"),
            notice_no: None,
        },
    );
    h.record(
        &id,
        MatterEvent::Conclude {
            at: d("2026-02-02"),
            opinion_summary: "不予支持".into(),
            details: Default::default(),
        },
    );
    let before = h.footprint(&id);
    let err = h.refuse(
        &id,
        MatterEvent::RequestReview {
            at: d("2026-03-20"),
            body: "晋城市信访局".into(),
        },
    );
    assert_eq!(err.code, "review_request_late");
    // 2026-02-02 + 30 = 03-04, a Wednesday.
    assert!(err.message.contains("2026-03-04"), "{}", err.message);
    assert_eq!(h.footprint(&id), before);
    h.verify_ok();
}

#[test]
fn every_transition_is_logged_in_its_transaction() {
    let mut h = Hall::new();
    let id = h.claim("赵六", "2026-11-02");
    let before = h.store.changes_since(0, 10_000).unwrap().len();
    h.record(
        &id,
        MatterEvent::Forward {
            at: d("2026-11-03"),
            to_authority: "沁水县人力资源和社会保障局".into(),
            report_back_by: Some(d("2026-12-01")),
        },
    );
    let changes = h.store.changes_since(0, 10_000).unwrap();
    let new: Vec<(&str, &str, &str)> = changes[before..]
        .iter()
        .map(|c| (c.entity.as_str(), c.entity_id.as_str(), c.op.as_str()))
        .collect();
    // A step is a record of its own (UUIDv7), never `{matter}:{n}` that another desk's step
    // could overwrite (issue 13).
    let event_id = changes[before].entity_id.clone();
    assert!(uuid::Uuid::parse_str(&event_id).is_ok(), "{event_id}");
    assert_ne!(event_id, format!("{id}:1"));
    assert_eq!(
        new,
        [
            ("matter_event", event_id.as_str(), "insert"),
            ("matter", id.as_str(), "update")
        ]
    );
    let m = &changes[before + 1].fields;
    assert_eq!(m["status"], "forwarded");
    assert_eq!(m["event_count"], 1);
    let ev = &changes[before].fields;
    assert_eq!(ev["kind"], "forward");
    assert_eq!(ev["by_staff"], h.clerk.id.as_str());
    assert_eq!(ev["matter_id"], id.as_str());
    assert_eq!(ev["prev"], "first", "the first step follows none");
    h.verify_ok();
}

#[test]
fn classification_and_legal_routes() {
    let mut h = Hall::new();
    let reference = ReferenceData::bundled();
    let id = h.claim("钱七", "2026-11-02");
    let clerk = h.clerk.id.clone();
    let lawyer = h.lawyer.id.clone();

    // The lawyer proposes, the clerk confirms.
    let p = h
        .store
        .propose_route(
            &id,
            "劳动人事争议仲裁",
            "属劳动争议",
            None,
            &lawyer,
            reference,
        )
        .unwrap();
    assert_eq!(p.route_code, "labour_arbitration");
    assert_eq!(p.by_name, "陈律师");
    let v = h.store.matter(&id, d("2026-11-05"), &cal()).unwrap();
    assert_eq!(
        v.proposed_route.as_ref().unwrap().route_name,
        "劳动人事争议仲裁"
    );
    assert_eq!(v.legal_route, None);
    let c = h.store.confirm_route(&id, None, &clerk, reference).unwrap();
    assert_eq!(c.legal_route.as_deref(), Some("labour_arbitration"));
    let v = h.store.matter(&id, d("2026-11-05"), &cal()).unwrap();
    assert_eq!(v.legal_route_name.as_deref(), Some("劳动人事争议仲裁"));
    assert!(v.proposed_route.is_none());
    // Nothing left to confirm.
    let Err(StoreError::Invalid(e)) = h.store.confirm_route(&id, None, &clerk, reference) else {
        panic!("confirmed without a proposal")
    };
    assert_eq!(e.0[0].code, "no_proposal");

    // Guiding the visitor into a route records it, by code.
    h.record(
        &id,
        MatterEvent::GuideToLegalRoute {
            at: d("2026-11-04"),
            route_code: "诉讼".into(),
        },
    );
    let v = h.store.matter(&id, d("2026-11-05"), &cal()).unwrap();
    assert_eq!(v.status, MatterStatus::GuidedToLegalRoute);
    assert_eq!(v.legal_route.as_deref(), Some("litigation"));
    assert_eq!(
        v.state.legal_route.as_ref().unwrap().route_code,
        "litigation"
    );

    // A report is confidential and is not routed; the flag stays when the kind is corrected.
    let r = h.matter("孙八", "2026-11-02", "report", "纪检监察");
    let v = h.store.matter(&r, d("2026-11-05"), &cal()).unwrap();
    assert!(v.confidential);
    let Err(StoreError::Invalid(e)) =
        h.store
            .propose_route(&r, "litigation", "", None, &lawyer, reference)
    else {
        panic!("routed a report")
    };
    assert_eq!(e.0[0].code, "route_for_claims_only");
    let before = h.footprint(&r);
    let err = h.refuse(
        &r,
        MatterEvent::GuideToLegalRoute {
            at: d("2026-11-04"),
            route_code: "litigation".into(),
        },
    );
    assert_eq!(err.code, "not_for_kind");
    assert!(err.message.contains("更正分类"), "{}", err.message);
    assert_eq!(h.footprint(&r), before);
    let c = h
        .store
        .classify_matter(
            &r,
            &ClassifyInput {
                appeal_kind: "claim".into(),
                category: "".into(),
                legal_route: "行政复议".into(),
            },
            &clerk,
            reference,
        )
        .unwrap();
    assert!(c.confidential);
    assert_eq!(
        c.legal_route.as_deref(),
        Some("administrative_reconsideration")
    );
    let v = h.store.matter(&r, d("2026-11-05"), &cal()).unwrap();
    assert_eq!(v.appeal_kind_label, "申诉求决类");
    assert!(v.confidential);
    h.verify_ok();
}

#[test]
fn due_lists_for_a_fixed_today() {
    let mut h = Hall::new();
    let today = d("2026-11-26");
    // Registered 11-02, nothing done: due 11-17 → 9 days overdue.
    let a = h.claim("甲", "2026-11-02");
    // A report registered on Sunday 11-01: due Monday 11-16 → 10 days overdue, names hidden.
    let g = h.matter("庚", "2026-11-01", "report", "纪检监察");
    // Registered 11-11: due 11-26 → due today.
    let f = h.claim("己", "2026-11-11");
    // Accepted 09-28: to be concluded by 11-27.
    let b = h.claim("乙", "2026-09-24");
    h.record(
        &b,
        MatterEvent::Accept {
            at: d("2026-09-28"),
            notice_no: None,
        },
    );
    // Forwarded 11-20 with a report due 11-28 (a Saturday, a fixed date: not moved).
    let c = h.claim("丙", "2026-11-20");
    h.record(
        &c,
        MatterEvent::Forward {
            at: d("2026-11-20"),
            to_authority: "沁水县住建局".into(),
            report_back_by: Some(d("2026-11-28")),
        },
    );
    // Rejected and closed: nothing is due.
    let dd = h.claim("丁", "2026-08-03");
    h.record(
        &dd,
        MatterEvent::Reject {
            at: d("2026-08-05"),
            reason: "不属于信访事项".into(),
        },
    );
    h.record(
        &dd,
        MatterEvent::Close {
            at: d("2026-08-06"),
        },
    );
    // Concluded 10-27: the visitor's review window closes 11-26, but that is not a duty.
    let e = h.claim("戊", "2026-09-01");
    h.record(
        &e,
        MatterEvent::Accept {
            at: d("2026-09-01"),
            notice_no: None,
        },
    );
    h.record(
        &e,
        MatterEvent::Conclude {
            at: d("2026-10-27"),
            opinion_summary: "已解决".into(),
            details: Default::default(),
        },
    );
    // Registered long after today's horizon: not listed.
    h.claim("辛", "2026-11-25");

    let list = h.store.due_list(today, &cal()).unwrap();
    assert_eq!(list.hall_code, "140521");
    assert_eq!(list.horizon, d("2026-11-29"));
    let over: Vec<(&str, DeadlineKind, NaiveDate, i64)> = list
        .overdue
        .iter()
        .map(|i| (i.matter_id.as_str(), i.deadline_kind, i.due, i.days_left))
        .collect();
    assert_eq!(
        over,
        [
            (g.as_str(), DeadlineKind::Disposition, d("2026-11-16"), -10),
            (a.as_str(), DeadlineKind::Disposition, d("2026-11-17"), -9),
        ]
    );
    assert!(list.overdue[0].confidential);
    assert!(list.overdue[0].visitor_names.is_empty());
    assert!(list.overdue[0].appeal.is_empty());
    assert_eq!(list.overdue[1].visitor_names, ["甲"]);
    assert!(list.overdue.iter().all(|i| i.bucket == DueBucket::Overdue));
    let soon: Vec<(&str, DeadlineKind, NaiveDate, i64)> = list
        .due_soon
        .iter()
        .map(|i| (i.matter_id.as_str(), i.deadline_kind, i.due, i.days_left))
        .collect();
    assert_eq!(
        soon,
        [
            (f.as_str(), DeadlineKind::Disposition, d("2026-11-26"), 0),
            (b.as_str(), DeadlineKind::Conclusion, d("2026-11-27"), 1),
            (c.as_str(), DeadlineKind::ReportBack, d("2026-11-28"), 2),
        ]
    );
    assert_eq!(list.due_soon[1].status, MatterStatus::Accepted);
    assert_eq!((list.overdue_total, list.due_soon_total), (2, 3));

    // A long list shows its most urgent lines and counts the rest (issue 21).
    let short = h.store.due_list_limited(today, &cal(), 1).unwrap();
    assert_eq!((short.overdue_total, short.due_soon_total), (2, 3));
    assert_eq!(short.overdue.len(), 1);
    assert_eq!(short.overdue[0].matter_id, g);
    assert_eq!(short.due_soon.len(), 1);
    assert_eq!(short.due_soon[0].matter_id, f);
    let short = h.store.due_list_limited(today, &cal(), 2).unwrap();
    assert_eq!(short.due_soon[1].matter_id, b);

    // Acting on a matter takes it off the list.
    h.record(
        &a,
        MatterEvent::Accept {
            at: d("2026-11-26"),
            notice_no: None,
        },
    );
    let list = h.store.due_list(today, &cal()).unwrap();
    assert_eq!(list.overdue.len(), 1);
    assert_eq!(list.overdue[0].matter_id, g);
    // A newer calendar changes nothing here.
    assert_eq!(h.store.refresh_deadlines(&cal()).unwrap(), 0);
    h.verify_ok();
}

#[test]
fn backlog_cases_and_their_dashboard() {
    let mut h = Hall::new();
    let boss = h.supervisor.id.clone();
    let clerk = h.clerk.id.clone();
    let today = d("2026-11-26");
    let m1 = h.claim("周一", "2025-03-02");
    let m2 = h.claim("吴二", "2025-05-06");
    let m3 = h.claim("郑三", "2025-07-01");
    let m4 = h.matter("冯四", "2025-08-01", "report", "纪检监察");
    let flag = |leader: &str, target: &str, on: &str| FlagInput {
        leader: leader.into(),
        plan: "包案化解，每月回访".into(),
        target_date: target.into(),
        flagged_on: on.into(),
    };
    let c1 = h
        .store
        .flag_backlog(&m1, &flag("李副县长", "2026-06-30", "2026-01-10"), &boss)
        .unwrap();
    let c2 = h
        .store
        .flag_backlog(&m2, &flag("李副县长", "2026-12-31", "2026-01-10"), &boss)
        .unwrap();
    let c3 = h
        .store
        .flag_backlog(&m3, &flag("王局长", "2026-10-31", "2026-02-01"), &boss)
        .unwrap();
    let c4 = h
        .store
        .flag_backlog(&m4, &flag("王局长", "", "2026-02-01"), &boss)
        .unwrap();

    // One open case per matter.
    let Err(StoreError::Invalid(e)) =
        h.store
            .flag_backlog(&m1, &flag("赵书记", "2026-12-31", "2026-03-01"), &boss)
    else {
        panic!("flagged twice")
    };
    assert_eq!(e.0[0].code, "already_backlog");
    assert!(e.0[0].message.contains("李副县长"));

    // Progress, a new leader, and clearing.
    let n = h
        .store
        .note_backlog(
            &c1,
            &NoteInput {
                noted_on: "2026-03-15".into(),
                note: "召开协调会，人社局承诺补发".into(),
            },
            &clerk,
        )
        .unwrap();
    assert_eq!(n.by_name, "王接待");
    h.store
        .clear_backlog(
            &c1,
            &ClearInput {
                cleared_on: "2026-05-20".into(),
                summary: "工资已补发，信访人息诉罢访".into(),
            },
            &boss,
        )
        .unwrap();
    h.store.set_backlog_leader(&c4, "赵书记", &boss).unwrap();
    // A cleared case is frozen.
    let Err(StoreError::Invalid(e)) = h.store.note_backlog(
        &c1,
        &NoteInput {
            noted_on: "2026-06-01".into(),
            note: "回访".into(),
        },
        &clerk,
    ) else {
        panic!("noted a cleared case")
    };
    assert_eq!(e.0[0].code, "already_cleared");

    let case = h.store.backlog_case(&c1, today).unwrap();
    assert!(!case.open);
    assert_eq!(case.cleared_on, Some(d("2026-05-20")));
    assert_eq!(case.notes.len(), 1);
    assert_eq!(case.visitor_names, ["周一"]);
    assert_eq!(case.flagged_by_name, "赵科长");
    let case4 = h.store.backlog_case(&c4, today).unwrap();
    assert!(case4.confidential && case4.visitor_names.is_empty());
    assert_eq!(case4.leader, "赵书记");

    let dash = h.store.backlog_dashboard(today).unwrap();
    let t = &dash.summary.totals;
    assert_eq!((t.total, t.open, t.cleared, t.overdue), (4, 3, 1, 1));
    assert_eq!(t.clearance_rate, Some(25.0));
    assert_eq!(dash.summary.by_hall.len(), 1);
    assert_eq!(dash.summary.by_hall[0].key, "140521");
    assert_eq!(dash.summary.by_hall[0].counts.total, 4);
    let leaders: Vec<(&str, u32, u32, u32, Option<f64>)> = dash
        .summary
        .by_leader
        .iter()
        .map(|g| {
            (
                g.key.as_str(),
                g.counts.total,
                g.counts.cleared,
                g.counts.overdue,
                g.counts.clearance_rate,
            )
        })
        .collect();
    assert_eq!(
        leaders,
        [
            ("李副县长", 2, 1, 0, Some(50.0)),
            ("王局长", 1, 0, 1, Some(0.0)),
            ("赵书记", 1, 0, 0, Some(0.0)),
        ]
    );
    assert_eq!(dash.overdue_cases.len(), 1);
    assert_eq!(dash.overdue_cases[0].id, c3);

    assert_eq!(
        h.store
            .backlog_cases(BacklogFilter::Open, today)
            .unwrap()
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        [c2.as_str(), c3.as_str(), c4.as_str()]
    );
    assert_eq!(h.store.open_backlog_case_of(&m1).unwrap(), None);
    assert_eq!(h.store.open_backlog_case_of(&m2).unwrap(), Some(c2));

    // The problem came back: the cleared matter can be flagged again.
    let again = h
        .store
        .flag_backlog(&m1, &flag("赵书记", "2027-03-31", "2026-11-26"), &boss)
        .unwrap();
    let dash = h.store.backlog_dashboard(today).unwrap();
    assert_eq!(dash.summary.totals.total, 5);
    assert_eq!(dash.summary.totals.clearance_rate, Some(20.0));
    assert_eq!(h.store.open_backlog_case_of(&m1).unwrap(), Some(again));
    h.verify_ok();
}

/// The dashboard shows the cases longest overdue in full and counts them all: a city's backlog
/// of thousands of overdue cases is not read case by case (issue 21).
#[test]
fn the_dashboard_shows_the_longest_overdue_cases_and_counts_them_all() {
    let mut h = Hall::new();
    let boss = h.supervisor.id.clone();
    let today = d("2026-11-26");
    let n = DASHBOARD_OVERDUE_SHOWN + 3;
    let flag = |target: NaiveDate| FlagInput {
        leader: "李副县长".into(),
        plan: "包案化解".into(),
        target_date: target.to_string(),
        flagged_on: "2025-12-01".into(),
    };
    let mut by_target = vec![];
    for i in 0..n {
        let name = format!("周{}", char::from_u32(0x4e00 + i as u32).unwrap());
        let m = h.claim(&name, "2025-03-02");
        // Targets in another order than the flagging: 7 steps round n days (n is prime).
        let target = d("2026-01-01") + chrono::Days::new(((i * 7) % n) as u64);
        let case = h.store.flag_backlog(&m, &flag(target), &boss).unwrap();
        by_target.push((target, case));
    }
    let later = h.claim("吴一", "2025-03-02");
    h.store
        .flag_backlog(&later, &flag(d("2026-12-31")), &boss)
        .unwrap();
    by_target.sort();

    let dash = h.store.backlog_dashboard(today).unwrap();
    assert_eq!(dash.summary.totals.overdue as usize, n);
    assert_eq!(dash.summary.totals.open as usize, n + 1);
    let shown: Vec<&str> = dash.overdue_cases.iter().map(|c| c.id.as_str()).collect();
    let longest: Vec<&str> = by_target[..DASHBOARD_OVERDUE_SHOWN]
        .iter()
        .map(|(_, case)| case.as_str())
        .collect();
    assert_eq!(shown, longest);
    assert!(
        dash.overdue_cases
            .iter()
            .all(|c| c.overdue && c.visitor_names.len() == 1)
    );
    assert_eq!(
        h.store
            .backlog_cases(BacklogFilter::Overdue, today)
            .unwrap()
            .len(),
        n,
        "the list shows them all"
    );
}

/// The backlog list comes a page at a time, each page counting the whole list: a city's
/// backlog can hold thousands of cases, and the list viewed every one of them.
#[test]
fn the_backlog_list_comes_a_page_at_a_time_and_counts_the_whole_list() {
    let mut h = Hall::new();
    let boss = h.supervisor.id.clone();
    let today = d("2026-11-26");
    let n = BACKLOG_PAGE_SIZE + 3;
    let flag = |flagged_on: &str, target: &str| FlagInput {
        leader: "李副县长".into(),
        plan: "包案化解".into(),
        target_date: target.into(),
        flagged_on: flagged_on.into(),
    };
    for i in 0..n {
        let name = format!("郑{}", char::from_u32(0x4e00 + i as u32).unwrap());
        let m = h.claim(&name, "2025-03-02");
        // Flag dates in another order than the flagging: the list is oldest flagged first.
        let flagged_on = d("2025-10-01") + chrono::Days::new(((i * 7) % n) as u64);
        h.store
            .flag_backlog(&m, &flag(&flagged_on.to_string(), "2026-01-31"), &boss)
            .unwrap();
    }
    let later = h.claim("吴二", "2025-03-02");
    h.store
        .flag_backlog(&later, &flag("2025-09-01", "2026-12-31"), &boss)
        .unwrap();

    let all = h
        .store
        .backlog_cases(BacklogFilter::Overdue, today)
        .unwrap();
    assert_eq!(all.len(), n);
    assert!(all.windows(2).all(|w| w[0].flagged_on < w[1].flagged_on));
    let first = h
        .store
        .backlog_cases_page(BacklogFilter::Overdue, today, 0, BACKLOG_PAGE_SIZE)
        .unwrap();
    let second = h
        .store
        .backlog_cases_page(
            BacklogFilter::Overdue,
            today,
            BACKLOG_PAGE_SIZE,
            BACKLOG_PAGE_SIZE,
        )
        .unwrap();
    assert_eq!(
        (first.total, first.offset, first.cases.len()),
        (n, 0, BACKLOG_PAGE_SIZE)
    );
    assert_eq!(
        (second.total, second.offset, second.cases.len()),
        (n, BACKLOG_PAGE_SIZE, 3)
    );
    let paged: Vec<_> = first.cases.iter().chain(&second.cases).collect();
    assert_eq!(paged, all.iter().collect::<Vec<_>>());
    let past = h
        .store
        .backlog_cases_page(BacklogFilter::Overdue, today, n, BACKLOG_PAGE_SIZE)
        .unwrap();
    assert_eq!((past.total, past.cases.len()), (n, 0));
    let open = h
        .store
        .backlog_cases_page(BacklogFilter::Open, today, 0, 1)
        .unwrap();
    assert_eq!(open.total, n + 1);
    assert_eq!(open.cases[0].matter_id, later, "the oldest flagged first");
}

/// A report (检举控告) about 沁水县人社局 is never sent to it, takes no legal route and no review;
/// a refusal writes nothing. A claim about the same unit may be forwarded to it.
#[test]
fn a_report_is_not_sent_to_the_unit_it_reports() {
    let mut hall = Hall::new();
    let report = hall.matter("钱某", "2026-03-02", "report", "纪检监察");
    let view = hall.store.matter(&report, d("2026-03-03"), &cal()).unwrap();
    let offered: Vec<EventKind> = view.allowed_events.iter().map(|a| a.kind).collect();
    assert!(offered.contains(&EventKind::Forward), "{offered:?}");
    assert!(
        !offered.contains(&EventKind::GuideToLegalRoute),
        "{offered:?}"
    );

    let before = hall.footprint(&report);
    let e = hall.refuse(
        &report,
        MatterEvent::Forward {
            at: d("2026-03-03"),
            to_authority: "沁水县人社局".into(),
            report_back_by: None,
        },
    );
    assert_eq!(
        (e.code.as_str(), e.field.as_str()),
        ("transfer_to_reported", "to_authority")
    );
    assert!(e.message.contains("纪检监察"), "{}", e.message);
    let e = hall.refuse(
        &report,
        MatterEvent::GuideToLegalRoute {
            at: d("2026-03-03"),
            route_code: "litigation".into(),
        },
    );
    assert_eq!(e.code, "not_for_kind");
    assert_eq!(hall.footprint(&report), before);

    let status = hall.record(
        &report,
        MatterEvent::Forward {
            at: d("2026-03-03"),
            to_authority: "中共沁水县纪律检查委员会".into(),
            report_back_by: None,
        },
    );
    assert_eq!(status, MatterStatus::Forwarded);

    let claim = hall.claim("孙某", "2026-03-02");
    let status = hall.record(
        &claim,
        MatterEvent::Forward {
            at: d("2026-03-03"),
            to_authority: "沁水县人社局".into(),
            report_back_by: None,
        },
    );
    assert_eq!(status, MatterStatus::Forwarded);
    hall.verify_ok();
}

/// Steps recorded in one go leave the matter as one step after another would: the same
/// status, state and limits, each step with the one before it as its `prev`, and one change of
/// the matter after them. A refused step (here the third) leaves the store untouched, the
/// steps before it in the same call included.
#[test]
fn steps_recorded_in_one_go_are_as_one_after_another() {
    let mut h = Hall::new();
    let steps = [
        MatterEvent::Accept {
            at: d("2026-11-03"),
            notice_no: None,
        },
        MatterEvent::StartHandling {
            at: d("2026-11-04"),
        },
        MatterEvent::Extend {
            at: d("2026-12-20"),
            days: 30,
            approver: "县信访局局长".into(),
            reason: "案情复杂，需进一步调查核实。".into(),
        },
    ];
    let by = h.clerk.id.clone();
    let one_by_one = h.claim("李四", "2026-11-02");
    for e in &steps {
        h.record(&one_by_one, e.clone());
    }
    let at_once = h.claim("王五", "2026-11-02");
    let before = h.store.changes_since(0, 10_000).unwrap().len();
    let state = h
        .store
        .record_events(&at_once, &steps, &by, &cal())
        .unwrap();
    let (a, b) = (h.footprint(&one_by_one), h.footprint(&at_once));
    assert_eq!((a.2, a.3), (b.2, b.3), "status and state");
    assert_eq!(state.status, MatterStatus::InProgress);
    let today = d("2026-12-21");
    let (va, vb) = (
        h.store.matter(&one_by_one, today, &cal()).unwrap(),
        h.store.matter(&at_once, today, &cal()).unwrap(),
    );
    assert_eq!(
        serde_json::to_value(&va.deadlines).unwrap(),
        serde_json::to_value(&vb.deadlines).unwrap()
    );
    let changes = h.store.changes_since(0, 10_000).unwrap();
    let new: Vec<(&str, &str)> = changes[before..]
        .iter()
        .map(|c| (c.entity.as_str(), c.op.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            ("matter_event", "insert"),
            ("matter_event", "insert"),
            ("matter_event", "insert"),
            ("matter", "update")
        ]
    );
    let prevs: Vec<&str> = changes[before..before + 3]
        .iter()
        .map(|c| c.fields["prev"].as_str().unwrap())
        .collect();
    assert_eq!(prevs[0], "first");
    assert_eq!(prevs[1], changes[before].entity_id);
    assert_eq!(prevs[2], changes[before + 1].entity_id);
    assert_eq!(changes[before + 3].fields["event_count"], 3);

    let untouched = h.claim("赵六", "2026-11-02");
    let footprint = h.footprint(&untouched);
    let refused = [
        steps[0].clone(),
        steps[1].clone(),
        MatterEvent::Accept {
            at: d("2026-11-05"),
            notice_no: None,
        },
    ];
    assert!(matches!(
        h.store.record_events(&untouched, &refused, &by, &cal()),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(h.footprint(&untouched), footprint);
    h.verify_ok();
}

#[test]
fn a_matters_state_is_stored_and_logged_without_its_nulls() {
    let mut h = Hall::new();
    let id = h.claim("钱七", "2026-11-02");
    let before = h.store.changes_since(0, 10_000).unwrap().len();
    h.record(
        &id,
        MatterEvent::Accept {
            at: d("2026-11-03"),
            notice_no: None,
        },
    );
    let (_, _, _, stored) = h.footprint(&id);
    assert!(
        stored.contains("\"accepted_on\":\"2026-11-03\""),
        "{stored}"
    );
    assert!(!stored.contains("null"), "{stored}");
    let changes = h.store.changes_since(0, 10_000).unwrap();
    let logged = changes[before..]
        .iter()
        .find(|c| c.entity == "matter")
        .unwrap();
    assert_eq!(logged.fields["state"].as_str(), Some(stored.as_str()));

    // A state stored with its nulls (by an earlier build, or pulled from an older desk) reads
    // as the same matter with the same limits, and verify finds nothing amiss.
    let today = d("2026-11-20");
    let view = h.store.matter(&id, today, &cal()).unwrap();
    let limits = |h: &Hall| {
        let conn = xinfang_store::open_raw(h.store.path(), h.store.data_key().as_ref()).unwrap();
        let mut s = conn
            .prepare("SELECT kind, party, due, done_on FROM matter_deadlines WHERE matter_id = ?1 ORDER BY kind")
            .unwrap();
        s.query_map([&id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
    };
    let limits_stored_without = limits(&h);
    assert!(limits_stored_without.iter().any(|l| l.3.is_none()));
    let with_nulls = serde_json::to_string(&view.state).unwrap();
    assert!(with_nulls.contains("null"));
    xinfang_store::open_raw(h.store.path(), h.store.data_key().as_ref())
        .unwrap()
        .execute(
            "UPDATE matters SET state = ?2 WHERE id = ?1",
            [&id, &with_nulls],
        )
        .unwrap();
    assert_eq!(
        h.store.matter(&id, today, &cal()).unwrap().state,
        view.state
    );
    assert_eq!(limits(&h), limits_stored_without);
    h.verify_ok();
}
