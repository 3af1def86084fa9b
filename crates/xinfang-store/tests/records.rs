//! The desk's side of "nothing lost off the happy path" (docs/sync.md), against real SQLite
//! files: pulled pages whose changes arrive before what they refer to are applied around the
//! one change that cannot be, which waits in quarantine and applies once its parent arrives;
//! matter steps folded from pulled pages in any split give the same matter.

use chrono::{DateTime, FixedOffset};
use tempfile::TempDir;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::matter::{MatterEvent, MatterStatus};
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Store};
use xinfang_sync::{DeskReplica, RemoteChange};

fn desk() -> (TempDir, Store, String) {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
    let clerk = store
        .add_staff(&NewStaff {
            username: "clerk".into(),
            display_name: "王接待".into(),
            roles: vec![Role::Clerk],
            password: "correct horse".into(),
        })
        .unwrap();
    (dir, store, clerk.id)
}

fn register(store: &mut Store, clerk: &str, body17: &str) -> (String, String) {
    let id_number = format!("{body17}{}", resident_id_check_char(body17).unwrap());
    let input = VisitInput {
        visited_at: "2025-03-03T09:30:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: "张三".into(),
            id_number,
            phone: "13800000001".into(),
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: "拖欠工资".into(),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        agency: "县人社局".into(),
        place_code: "140521".into(),
    };
    let now: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2025-03-03T12:00:00+08:00").unwrap();
    let v = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
    let r = store.register_visit(&v, clerk).unwrap();
    (r.visit_id, r.matter_id)
}

/// Everything `from` logged after `after`, as the server would hand it to another desk.
fn pulled(from: &Store, after: i64) -> Vec<RemoteChange> {
    from.local_changes(after, 10_000)
        .unwrap()
        .into_iter()
        .map(|c| RemoteChange {
            device_id: from.device_id().to_owned(),
            server_seq: c.seq,
            change: c,
        })
        .collect()
}

fn cursor(from: &Store, page: &[RemoteChange]) -> std::collections::BTreeMap<String, i64> {
    let max = page.iter().map(|c| c.change.seq).max().unwrap_or(0);
    [(from.device_id().to_owned(), max)].into_iter().collect()
}

#[test]
fn a_change_whose_parent_comes_later_waits_in_quarantine_and_the_rest_applies() {
    let (_da, mut a, clerk_a) = desk();
    let (_db, mut b, _) = desk();
    let (visit_id, _) = register(&mut a, &clerk_a, "14052119800115013");
    let all = pulled(&a, 0);
    // The page as a broken order would deliver it: the visitor comes only in a later page.
    let (visitor, rest): (Vec<RemoteChange>, Vec<RemoteChange>) =
        all.into_iter().partition(|c| c.change.entity == "visitor");
    let applied = b.apply_remote(&rest, &cursor(&a, &rest)).unwrap();
    assert_eq!(applied, rest.len(), "the page is taken whole");
    // Both desks have a `clerk`: A's account is set aside here too, as a duplicate.
    let q = b.quarantined_changes().unwrap();
    let kinds: Vec<(&str, &str)> = q
        .iter()
        .map(|c| (c.entity.as_str(), c.reason.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [("staff", "duplicate"), ("visit_visitor", "missing_parent")],
        "{q:#?}"
    );
    assert!(q[1].message.contains("自动重试"), "{}", q[1].message);
    assert!(b.visits_of_visitor("nobody").unwrap().is_empty());
    // The visit and its matter were applied around the one waiting change.
    assert!(b.matter_of_visit(&visit_id).is_ok());
    // Its parent arrives: the waiting change applies, nothing is left aside.
    b.apply_remote(&visitor, &cursor(&a, &visitor)).unwrap();
    let left: Vec<String> = b
        .quarantined_changes()
        .unwrap()
        .into_iter()
        .map(|c| c.entity)
        .collect();
    assert_eq!(left, ["staff"]);
    let visitor_id = &visitor[0].change.entity_id;
    assert_eq!(b.visits_of_visitor(visitor_id).unwrap().len(), 1);
    assert!(b.verify().unwrap().ok(), "{:?}", b.verify().unwrap());
}

#[test]
fn steps_pulled_in_any_split_give_the_same_matter_and_a_late_registration_erases_nothing() {
    let cal = HolidayCalendar::bundled();
    let (_da, mut a, clerk_a) = desk();
    let (_db, mut b, clerk_b) = desk();
    let (_, matter) = register(&mut a, &clerk_a, "14052119800115013");
    b.apply_remote(&pulled(&a, 0), &cursor(&a, &pulled(&a, 0)))
        .unwrap();
    let before = a.last_local_seq().unwrap();
    let day = "2025-03-04".parse().unwrap();
    a.record_event(
        &matter,
        &MatterEvent::Accept {
            at: day,
            notice_no: Some("受7".into()),
        },
        &clerk_a,
        &cal,
    )
    .unwrap();
    a.record_event(
        &matter,
        &MatterEvent::StartHandling { at: day },
        &clerk_a,
        &cal,
    )
    .unwrap();
    let steps = pulled(&a, before);
    // One page, or one change per page: the same matter as on A.
    for split in [steps.len(), 1] {
        let (_dc, mut c, _) = desk();
        let base = pulled(&a, 0);
        let first: Vec<RemoteChange> = base
            .iter()
            .filter(|rc| rc.change.seq <= before)
            .cloned()
            .collect();
        c.apply_remote(&first, &cursor(&a, &first)).unwrap();
        for page in steps.chunks(split) {
            c.apply_remote(page, &cursor(&a, page)).unwrap();
        }
        let today = "2025-03-10".parse().unwrap();
        let on_c = c.matter(&matter, today, &cal).unwrap();
        let on_a = a.matter(&matter, today, &cal).unwrap();
        assert_eq!(on_c.status, MatterStatus::InProgress);
        assert_eq!(on_c.state, on_a.state);
        assert_eq!(on_c.events.len(), 2);
    }
    // B registers the same person again without a phone: the pulled phone stays.
    let (_, _) = register_without_phone(&mut b, &clerk_b, "14052119800115013");
    let b_changes = pulled(&b, 0);
    let logged = b_changes
        .iter()
        .filter(|c| c.change.entity == "visitor")
        .count();
    assert_eq!(
        logged, 0,
        "nothing to log for the person: the form knew less than the record"
    );
}

fn register_without_phone(store: &mut Store, clerk: &str, body17: &str) -> (String, String) {
    let id_number = format!("{body17}{}", resident_id_check_char(body17).unwrap());
    let input = VisitInput {
        visited_at: "2025-03-05T09:30:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: "张三".into(),
            id_number,
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: "再次反映".into(),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        agency: "县人社局".into(),
        place_code: "140521".into(),
    };
    let now: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2025-03-05T12:00:00+08:00").unwrap();
    let v = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
    let r = store.register_visit(&v, clerk).unwrap();
    (r.visit_id, r.matter_id)
}
