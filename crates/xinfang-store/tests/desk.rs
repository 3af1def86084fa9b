//! The 访调对接 desk in the store: today's list and statuses, hand-off queues, consultations,
//! mediations, a visitor's whole record, staff administration; every write in the change log.

use chrono::{DateTime, FixedOffset};
use tempfile::TempDir;
use xinfang_core::desk::{
    ConclusionInput, ConsultationInput, Desk, HandoffState, MediationInput, PartyInput,
    SessionInput, VisitStatus, validate_consultation, validate_mediation,
};
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Staff, Store, StoreError};

fn id(body17: &str) -> String {
    format!("{body17}{}", resident_id_check_char(body17).unwrap())
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-06-30T10:00:00+08:00").unwrap()
}

fn staff(store: &mut Store, username: &str, role: Role) -> Staff {
    store
        .add_staff(&NewStaff {
            username: username.into(),
            display_name: role.label_zh().into(),
            roles: vec![role],
            password: "correct horse".into(),
        })
        .unwrap()
}

fn register(store: &mut Store, clerk: &Staff, name: &str, number: &str) -> String {
    let input = VisitInput {
        visited_at: "2025-06-30T09:00:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: name.into(),
            id_number: number.into(),
            ..Default::default()
        }],
        appeal: "邻居违建围墙占用通道。".into(),
        appeal_kind: "claim".into(),
        category: "城乡建设".into(),
        ..Default::default()
    };
    let v = validate_visit(&input, ReferenceData::bundled(), now()).unwrap();
    store.register_visit(&v, &clerk.id).unwrap().visit_id
}

#[test]
fn a_visit_through_both_desks() {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path(), "140521").unwrap().0;
    let clerk = staff(&mut store, "clerk", Role::Clerk);
    let lawyer = staff(&mut store, "lawyer", Role::Lawyer);
    let mediator = staff(&mut store, "mediator", Role::Mediator);
    let zhang = id("14052119800115013");
    let v1 = register(&mut store, &clerk, "张三", &zhang);
    let v2 = register(&mut store, &clerk, "李四", &id("14052119750301024"));

    let day = store.visits_on("2025-06-30").unwrap();
    assert_eq!(day.iter().map(|r| r.queue_no).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(day[0].status, VisitStatus::Waiting);
    assert_eq!(day[0].category_name, "城乡建设");
    assert_eq!(
        day[0].visitors[0].id_number_masked,
        format!("1405{}{}", "*".repeat(10), &zhang[14..])
    );

    store.hand_off(&v1, Desk::Lawyer, "", &clerk.id).unwrap();
    store.hand_off(&v2, Desk::Lawyer, "", &clerk.id).unwrap();
    assert!(matches!(
        store.hand_off(&v1, Desk::Lawyer, "", &clerk.id),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.visit_row(&v1).unwrap().status,
        VisitStatus::WithLawyer
    );

    // Oldest first; asking again gives back the one already taken.
    let first = store.take_next(Desk::Lawyer, &lawyer.id).unwrap().unwrap();
    assert_eq!(first.visit.visit_id, v1);
    assert_eq!(first.handoff.state, HandoffState::Taken);
    let again = store.take_next(Desk::Lawyer, &lawyer.id).unwrap().unwrap();
    assert_eq!(again.handoff.id, first.handoff.id);
    assert_eq!(store.queue(Desk::Lawyer).unwrap().len(), 2);

    let c = validate_consultation(
        &ConsultationInput {
            visit_id: v1.clone(),
            question: "邻居违建怎么办？".into(),
            advice: "可申请人民调解，不成可起诉。".into(),
            legal_route: "人民调解".into(),
            duration_minutes: 25,
            ..Default::default()
        },
        ReferenceData::bundled(),
    )
    .unwrap();
    let cid = store.add_consultation(&c, &lawyer.id).unwrap();
    assert_eq!(store.consultation(&cid).unwrap().lawyer_name, "值班律师");
    assert_eq!(store.visit_row(&v1).unwrap().status, VisitStatus::Handled);
    store
        .hand_on_to_mediator(&v1, &lawyer.id, "适合调解")
        .unwrap();
    assert_eq!(
        store.visit_row(&v1).unwrap().status,
        VisitStatus::InMediation
    );

    let item = store
        .take_next(Desk::Mediator, &mediator.id)
        .unwrap()
        .unwrap();
    assert_eq!(item.handoff.created_by_name, "值班律师");
    let m = validate_mediation(
        &MediationInput {
            visit_id: v1.clone(),
            dispute_type: "neighbour".into(),
            request: "请求王五拆除围墙。".into(),
            parties: vec![
                PartyInput {
                    role: "applicant".into(),
                    name: "张三".into(),
                    id_number: zhang.clone(),
                    ..Default::default()
                },
                PartyInput {
                    role: "respondent".into(),
                    name: "王五".into(),
                    id_number: id("14052119700505031"),
                    ..Default::default()
                },
            ],
            sessions: vec![SessionInput {
                held_on: "2025-06-30".into(),
                notes: "双方到场。".into(),
            }],
            conclusion: ConclusionInput {
                outcome: "agreed".into(),
                dispute_facts: "王五在两家之间砌墙，堵住通道。".into(),
                agreement_text: "王五七日内拆除围墙。".into(),
                judicial_confirmation: false,
                ..Default::default()
            },
            ..Default::default()
        },
        ReferenceData::bundled(),
        now().date_naive(),
    )
    .unwrap();
    let mid = store.add_mediation(&m, &mediator.id).unwrap();
    let rec = store.mediation(&mid).unwrap();
    assert_eq!(rec.parties[1].role_label, "被申请人");
    // In effect from the last session (2025-06-30): 30 days to ask for 司法确认, to 07-30.
    assert_eq!(rec.agreement_effective_on, "2025-06-30".parse().ok());
    assert_eq!(rec.confirmation_due, "2025-07-30".parse().ok());
    assert_eq!(rec.confirmation_result, None);
    assert_eq!(rec.parties[0].id_number, zhang);
    assert_eq!(store.visit_row(&v1).unwrap().status, VisitStatus::Handled);

    // The clerk cannot close a visit a desk is still working on.
    assert!(matches!(
        store.close_visit(&v2, &clerk.id),
        Err(StoreError::Invalid(_))
    ));

    let detail = store.visit_detail(&v1).unwrap();
    assert_eq!(
        (
            detail.handoffs.len(),
            detail.consultations.len(),
            detail.mediations.len()
        ),
        (2, 1, 1)
    );
    let visitor = &detail.visit.visitors[0].visitor_id;
    let profile = store.visitor_profile(visitor).unwrap();
    assert_eq!(profile.name, "张三");
    assert_eq!(
        (
            profile.visits.len(),
            profile.consultations.len(),
            profile.mediations.len()
        ),
        (1, 1, 1)
    );
    assert!(profile.id_number_masked.contains('*'));

    let history = store.history(&zhang, 10).unwrap();
    assert_eq!(history[0].visits.len(), 1);

    // Every row of the new tables is in the change log, and reopening keeps it all.
    let report = store.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    let key = store.data_key().unwrap();
    drop(store);
    let store = Store::open_with_key(dir.path(), &key).unwrap();
    assert_eq!(
        store.visit_detail(&v1).unwrap().mediations[0].agreement_text,
        "王五七日内拆除围墙。"
    );
    let entities: Vec<String> = store
        .changes_since(0, 1000)
        .unwrap()
        .into_iter()
        .map(|c| c.entity)
        .collect();
    for e in [
        "handoff",
        "consultation",
        "mediation",
        "mediation_party",
        "mediation_session",
    ] {
        assert!(
            entities.iter().any(|x| x == e),
            "{e} missing from the change log"
        );
    }
}

#[test]
fn close_and_staff_admin() {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path(), "140521").unwrap().0;
    let admin = staff(&mut store, "admin", Role::Admin);
    let clerk = staff(&mut store, "clerk", Role::Clerk);
    let v = register(&mut store, &clerk, "赵六", &id("14052119900101011"));
    assert_eq!(
        store.close_visit(&v, &clerk.id).unwrap().status,
        VisitStatus::Handled
    );
    assert!(store.close_visit(&v, &clerk.id).is_err());
    assert!(store.hand_off(&v, Desk::Lawyer, "", &clerk.id).is_err());

    assert!(
        store.set_staff_active(&admin.id, false).is_err(),
        "last admin stays"
    );
    assert!(store.set_staff_roles(&admin.id, &[Role::Clerk]).is_err());
    store
        .set_staff_roles(&clerk.id, &[Role::Clerk, Role::Admin])
        .unwrap();
    store
        .set_staff_roles(&admin.id, &[Role::Supervisor])
        .unwrap();
    assert!(!store.set_staff_active(&admin.id, false).unwrap().active);
    assert!(matches!(
        store.authenticate("admin", "correct horse"),
        Err(StoreError::Disabled(_))
    ));
    store.reset_password(&clerk.id, "a new password").unwrap();
    assert!(store.authenticate("clerk", "a new password").is_ok());
    assert!(store.reset_password(&clerk.id, "short").is_err());
    let report = store.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}
