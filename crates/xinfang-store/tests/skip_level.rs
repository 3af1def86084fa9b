//! 越级访 in the store, against real SQLite files: decided at registration and kept with the
//! visit in the same transaction, written to the change log as fields of the `visit` so another
//! desk of the hall has it after a pull, shown in the visit lists and counted per period.

use chrono::{DateTime, FixedOffset, NaiveDate};
use tempfile::TempDir;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::hall::SkipLevelBasis;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::matter::MatterEvent;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::stats::Period;
use xinfang_core::visit::{ValidVisit, VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Registered, StatsQuery, Store};
use xinfang_sync::DeskReplica;

mod common;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A desk of the 晋城市 hall (140500), with an admin (a root of its staff changes) and a clerk.
fn city_desk(admin: &str) -> (TempDir, Store, String) {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create_unencrypted(dir.path(), "140500").unwrap();
    store
        .adopt_hall_id_key(&xinfang_sync::wire::HallIdKey::from_bytes(&[9; 32]))
        .unwrap();
    let staff = |store: &mut Store, username: &str, role| {
        store
            .add_staff(&NewStaff {
                username: username.into(),
                display_name: format!("{username}员"),
                roles: vec![role],
                password: "correct horse".into(),
            })
            .unwrap()
    };
    staff(&mut store, admin, Role::Admin);
    let clerk = staff(&mut store, &format!("clerk-{admin}"), Role::Clerk);
    (dir, store, clerk.id)
}

fn visit(body17: &str, place_code: &str) -> ValidVisit {
    let input = VisitInput {
        visited_at: "2026-03-03T09:30:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: "王五".into(),
            id_number: format!("{body17}{}", resident_id_check_char(body17).unwrap()),
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: "征地补偿款未发放".into(),
        appeal_kind: "claim".into(),
        category: "自然资源".into(),
        agency: String::new(),
        place_code: place_code.into(),
    };
    let now: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-03-03T12:00:00+08:00").unwrap();
    validate_visit(&input, ReferenceData::bundled(), now).unwrap()
}

fn visit_fields(store: &Store, visit_id: &str) -> serde_json::Map<String, serde_json::Value> {
    store
        .local_changes(0, 10_000)
        .unwrap()
        .into_iter()
        .find(|c| c.entity == "visit" && c.entity_id == visit_id)
        .expect("the visit's change")
        .fields
}

#[test]
fn a_skip_level_visit_is_stored_logged_synced_and_counted() {
    let (_da, mut a, clerk) = city_desk("admin-a");
    let (_db, mut b, _) = city_desk("admin-b");
    common::know_each_other(&mut [&mut a, &mut b]);

    // About 沁水县 at the city hall: 越级, the 属地 named.
    let skipped: Registered = a
        .register_visit(&visit("14052119700505031", "140521"), &clerk)
        .unwrap();
    let s = &skipped.skip_level;
    assert!(s.flagged);
    assert_eq!(s.basis, Some(SkipLevelBasis::Place));
    assert_eq!(
        (
            s.local_code.as_str(),
            s.local_name.as_str(),
            s.authority.as_str()
        ),
        ("140521", "沁水县", "沁水县信访局")
    );
    // About the city itself: not 越级.
    let own = a
        .register_visit(&visit("14052119700505047", "140500"), &clerk)
        .unwrap();
    assert!(!own.skip_level.flagged);

    let row = a.visit_row(&skipped.visit_id).unwrap();
    assert!(row.skip_level);
    assert_eq!(row.skip_level_authority.as_deref(), Some("沁水县信访局"));
    assert!(!a.visit_row(&own.visit_id).unwrap().skip_level);
    let history = a.visits_of_visitor(&skipped.visitor_ids[0]).unwrap();
    assert!(history[0].skip_level);

    // Logged with the visit, as fields of the `visit` entity.
    let f = visit_fields(&a, &skipped.visit_id);
    assert_eq!(f["skip_level"], true);
    assert_eq!(f["skip_level_basis"], "place");
    assert_eq!(f["skip_level_local"], "140521");
    assert_eq!(f["skip_level_authority"], "沁水县信访局");
    assert_eq!(visit_fields(&a, &own.visit_id)["skip_level"], false);
    assert!(a.verify().unwrap().ok());

    // Another desk of the hall pulls it and has the flag.
    common::pull_changes(&mut b, &a, a.local_changes(0, 10_000).unwrap(), 0);
    let pulled = b.visit_row(&skipped.visit_id).unwrap();
    assert!(pulled.skip_level);
    assert_eq!(pulled.skip_level_authority.as_deref(), Some("沁水县信访局"));
    assert!(!b.visit_row(&own.visit_id).unwrap().skip_level);

    // Counted per period, the same on both desks.
    let cal = HolidayCalendar::bundled();
    let q = StatsQuery::new(
        Period::new(d("2026-03-01"), d("2026-03-31")).unwrap(),
        d("2026-04-01"),
    );
    for desk in [&a, &b] {
        let v = desk.statistics(&q, &cal).unwrap().visits;
        assert_eq!((v.visits, v.skip_level_visits), (2, 1));
    }
    let april = StatsQuery::new(
        Period::new(d("2026-04-01"), d("2026-04-30")).unwrap(),
        d("2026-05-01"),
    );
    assert_eq!(
        a.statistics(&april, &cal).unwrap().visits.skip_level_visits,
        0
    );
}

/// A repeat visit to the city hall about a matter it assigned to 沁水县 is 越级 even with no
/// place of the problem written; while the city handles the matter itself, it is not.
#[test]
fn a_repeat_visit_about_a_matter_handled_by_a_county_is_skip_level() {
    let (_dir, mut store, clerk) = city_desk("admin");
    let cal = HolidayCalendar::bundled();
    let first = store
        .register_visit(&visit("14052119700505031", "140500"), &clerk)
        .unwrap();
    assert!(!first.skip_level.flagged);
    // Accepted by the city itself: a repeat visit there is at the right level.
    let again = store
        .register_repeat_visit(&visit("14052119700505031", ""), &clerk, &first.matter_id)
        .unwrap();
    assert!(!again.skip_level.flagged, "{:?}", again.skip_level);

    store
        .record_event(
            &first.matter_id,
            &MatterEvent::Assign {
                at: d("2026-03-04"),
                to_authority: "沁水县人力资源和社会保障局".into(),
                report_back_by: d("2026-04-30"),
            },
            &clerk,
            &cal,
        )
        .unwrap();
    let r = store
        .register_repeat_visit(&visit("14052119700505031", ""), &clerk, &first.matter_id)
        .unwrap();
    assert!(r.is_repeat && r.refusal.is_some());
    let s = &r.skip_level;
    assert!(s.flagged, "{s:?}");
    assert_eq!(s.basis, Some(SkipLevelBasis::Handling));
    assert_eq!(s.local_code, "140521");
    assert_eq!(s.authority, "沁水县人力资源和社会保障局");
    assert!(s.message.contains("逐级"), "{}", s.message);
    assert!(store.visit_row(&r.visit_id).unwrap().skip_level);
    assert_eq!(
        visit_fields(&store, &r.visit_id)["skip_level_local"],
        "140521"
    );
}
