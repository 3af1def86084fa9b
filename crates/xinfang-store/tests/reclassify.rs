//! Reclassifying a matter as 检举控告 (report/accusation), against a real store: who may, that
//! a refusal writes nothing, and that the visitor history then treats its visits as confidential.

use chrono::{DateTime, FixedOffset};
use tempfile::TempDir;
use xinfang_core::classify::ClassifyInput;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Staff, Store, StoreError};

fn staff(store: &mut Store, username: &str, role: Role) -> Staff {
    store
        .add_staff(&NewStaff {
            username: username.into(),
            display_name: format!("{username}姓名"),
            roles: vec![role],
            password: "correct horse".into(),
        })
        .unwrap()
}

fn register(store: &mut Store, clerk: &Staff, name: &str, seq: u32, kind: &str) -> String {
    let body17 = format!("14052119800101{seq:03}");
    let input = VisitInput {
        visited_at: "2026-11-20T09:30:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: name.into(),
            id_number: format!("{body17}{}", resident_id_check_char(&body17).unwrap()),
            ..Default::default()
        }],
        appeal: format!("{name}反映的问题"),
        appeal_kind: kind.into(),
        category: "劳动和社会保障".into(),
        agency: "沁水县人社局".into(),
        place_code: "140521".into(),
        ..Default::default()
    };
    let now: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00+08:00").unwrap();
    let v = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
    store.register_visit(&v, &clerk.id).unwrap().matter_id
}

fn to_kind(kind: &str) -> ClassifyInput {
    ClassifyInput {
        appeal_kind: kind.into(),
        ..Default::default()
    }
}

/// Whether the history panel's entry of `name` is confidential, and its appeal as stored.
fn history_of(store: &Store, name: &str) -> (bool, String) {
    let entries = store.history(name, 10).unwrap();
    let v = &entries[0].visits[0];
    (v.confidential, v.appeal.clone())
}

struct Hall {
    _dir: TempDir,
    store: Store,
    clerk: Staff,
    clerk2: Staff,
    boss: Staff,
}

fn hall() -> Hall {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path(), "140521").unwrap().0;
    let clerk = staff(&mut store, "clerk", Role::Clerk);
    let clerk2 = staff(&mut store, "clerk2", Role::Clerk);
    let boss = staff(&mut store, "boss", Role::Supervisor);
    Hall {
        _dir: dir,
        store,
        clerk,
        clerk2,
        boss,
    }
}

#[test]
fn another_clerk_is_refused_before_anything_is_saved() {
    let mut h = hall();
    let m = register(&mut h.store, &h.clerk, "孙某", 11, "claim");
    let before = h.store.changes_since(0, 100_000).unwrap().len();
    let err = h
        .store
        .classify_matter(
            &m,
            &to_kind("检举控告类"),
            &h.clerk2.id,
            ReferenceData::bundled(),
        )
        .unwrap_err();
    let StoreError::Invalid(e) = err else {
        panic!("expected a field error, got {err}");
    };
    assert_eq!(e.0[0].field, "appeal_kind");
    assert_eq!(e.0[0].code, "report_registrar_only");
    assert!(e.0[0].message.contains("登记人"), "{}", e.0[0].message);
    // Nothing written: the matter is as it was, no change queued for the city.
    let owner = h.store.matter_owner(&m).unwrap();
    assert!(!owner.confidential);
    assert_eq!(h.store.changes_since(0, 100_000).unwrap().len(), before);
    assert!(!history_of(&h.store, "孙某").0);
    // Any other kind is open to the second clerk.
    let c = h
        .store
        .classify_matter(
            &m,
            &to_kind("建议意见类"),
            &h.clerk2.id,
            ReferenceData::bundled(),
        )
        .unwrap();
    assert!(!c.confidential);
    // The registering clerk and the supervisor may make it a report.
    let m2 = register(&mut h.store, &h.clerk, "周某", 12, "claim");
    for (matter, by) in [(&m, &h.boss.id), (&m2, &h.clerk.id)] {
        let c = h
            .store
            .classify_matter(matter, &to_kind("report"), by, ReferenceData::bundled())
            .unwrap();
        assert!(c.confidential);
        assert!(h.store.matter_owner(matter).unwrap().confidential);
    }
    assert!(h.store.verify().unwrap().ok());
}

#[test]
fn history_follows_the_matter_kind() {
    let mut h = hall();
    // A claim visit whose matter is later classified as a report: confidential in the history.
    let m = register(&mut h.store, &h.clerk, "吴某", 21, "claim");
    assert_eq!(
        history_of(&h.store, "吴某"),
        (false, "吴某反映的问题".into())
    );
    h.store
        .classify_matter(
            &m,
            &to_kind("report"),
            &h.clerk.id,
            ReferenceData::bundled(),
        )
        .unwrap();
    assert!(history_of(&h.store, "吴某").0);

    // A report matter reclassified as a claim stays confidential: the core keeps a matter's
    // confidentiality once on (the reporter is already in the record).
    let r = register(&mut h.store, &h.clerk, "郑某", 22, "report");
    assert!(history_of(&h.store, "郑某").0);
    let c = h
        .store
        .classify_matter(&r, &to_kind("claim"), &h.boss.id, ReferenceData::bundled())
        .unwrap();
    assert!(c.confidential);
    assert!(history_of(&h.store, "郑某").0);
    // The history agrees with the check on opening the visit.
    let entries = h.store.history("郑某", 10).unwrap();
    let visit = &entries[0].visits[0];
    assert_eq!(
        h.store.visit_owner(&visit.visit_id).unwrap().confidential,
        visit.confidential
    );
}

/// A matter's kind may change only to one whose procedure its recorded steps fit: a claim
/// forwarded to the unit it concerns cannot become a report about that unit, a claim in 复查
/// cannot become a suggestion. The refusal names the step and writes nothing.
#[test]
fn a_kind_the_recorded_steps_do_not_fit_is_refused() {
    use xinfang_core::calendar::HolidayCalendar;
    use xinfang_core::matter::{MatterEvent, MatterStatus};
    let cal = HolidayCalendar::bundled();
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let mut h = hall();
    let m = register(&mut h.store, &h.clerk, "冯某", 31, "claim");
    let forward = MatterEvent::Forward {
        at: day(23),
        to_authority: "沁水县人社局".into(),
        report_back_by: None,
    };
    h.store
        .record_event(&m, &forward, &h.clerk.id, &cal)
        .unwrap();
    let before = h.store.changes_since(0, 100_000).unwrap().len();
    let err = h
        .store
        .classify_matter(
            &m,
            &to_kind("report"),
            &h.clerk.id,
            ReferenceData::bundled(),
        )
        .unwrap_err();
    let StoreError::Invalid(e) = err else {
        panic!("expected a field error, got {err}");
    };
    assert_eq!(e.0[0].field, "appeal_kind");
    assert_eq!(e.0[0].code, "kind_does_not_fit_steps");
    assert!(
        e.0[0]
            .message
            .contains("已登记「转送」（2026-11-23），不能改为检举控告类"),
        "{}",
        e.0[0].message
    );
    assert!(!h.store.matter_owner(&m).unwrap().confidential);
    assert_eq!(h.store.changes_since(0, 100_000).unwrap().len(), before);
    // A suggestion may be forwarded: that change stands, and the matter keeps its status.
    h.store
        .classify_matter(
            &m,
            &to_kind("suggestion"),
            &h.clerk.id,
            ReferenceData::bundled(),
        )
        .unwrap();
    let page = h.store.matter(&m, day(24), &cal).unwrap();
    assert_eq!(page.status, MatterStatus::Forwarded);

    // A claim whose opinion was asked to be reviewed cannot become a suggestion (no 复查).
    let c = register(&mut h.store, &h.clerk, "陈某", 32, "claim");
    for event in [
        MatterEvent::Accept {
            at: day(21),
            notice_no: None,
        },
        MatterEvent::Conclude {
            at: day(22),
            opinion_summary: "不予支持".into(),
            details: Default::default(),
        },
        MatterEvent::OpinionReceived { at: day(23) },
        MatterEvent::RequestReview {
            at: day(24),
            body: "晋城市信访局".into(),
        },
    ] {
        h.store.record_event(&c, &event, &h.clerk.id, &cal).unwrap();
    }
    let err = h
        .store
        .classify_matter(
            &c,
            &to_kind("suggestion"),
            &h.clerk.id,
            ReferenceData::bundled(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("请求复查"), "{err}");
    assert!(h.store.verify().unwrap().ok());
}
