//! The visitor's live photo (issue 19) in the store, against real SQLite files: kept with the
//! visit in the encrypted store (never in clear on disk), read back by person, logged once as
//! a record of its own, and pulled by another desk of the hall.

use chrono::{DateTime, FixedOffset};
use tempfile::TempDir;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::photo::encode_photo;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{ValidVisit, VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Store, StoreError};
use xinfang_sync::DeskReplica;

mod common;

fn add_staff(store: &mut Store, username: &str, role: Role) -> String {
    store
        .add_staff(&NewStaff {
            username: username.into(),
            display_name: format!("{username}员"),
            roles: vec![role],
            password: "correct horse".into(),
        })
        .unwrap()
        .id
}

/// A desk of hall 140521 with an admin (a root of its staff changes) and a clerk.
fn desk(dir: &TempDir, encrypted: bool, admin: &str) -> (Store, String) {
    let mut store = if encrypted {
        Store::create(dir.path(), "140521").unwrap().0
    } else {
        Store::create_unencrypted(dir.path(), "140521").unwrap()
    };
    store
        .adopt_hall_id_key(&xinfang_sync::wire::HallIdKey::from_bytes(&[7; 32]))
        .unwrap();
    add_staff(&mut store, admin, Role::Admin);
    let clerk = add_staff(&mut store, &format!("clerk-{admin}"), Role::Clerk);
    (store, clerk)
}

fn visit(body17: &str, at: &str) -> ValidVisit {
    let input = VisitInput {
        visited_at: at.into(),
        visitors: vec![VisitorInput {
            name: "赵六".into(),
            id_number: format!("{body17}{}", resident_id_check_char(body17).unwrap()),
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: "拖欠工资，请求协调支付。".into(),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        agency: String::new(),
        place_code: "140521".into(),
    };
    let now: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-03-05T12:00:00+08:00").unwrap();
    validate_visit(&input, ReferenceData::bundled(), now).unwrap()
}

/// Two desks of the hall that take each other's staff changes (their admins are the roots):
/// the first, its clerk, the second.
fn two_desks(da: &TempDir, db: &TempDir, first_encrypted: bool) -> (Store, String, Store) {
    let (mut a, clerk) = desk(da, first_encrypted, "admin-a");
    let (mut b, _) = desk(db, false, "admin-b");
    common::know_each_other(&mut [&mut a, &mut b]);
    (a, clerk, b)
}

/// A small JPEG-shaped blob with a marker that must never appear in clear on disk.
fn jpeg(marker: &[u8]) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    for _ in 0..400 {
        b.extend_from_slice(marker);
    }
    b.extend([0xFF, 0xD9]);
    b
}

fn code(e: StoreError) -> String {
    match e {
        StoreError::Invalid(v) => v.0[0].code.clone(),
        StoreError::NotFound(_) => "not_found".into(),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_photo_is_kept_encrypted_read_back_by_person_logged_once_and_pulled() {
    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut a, clerk, mut b) = two_desks(&da, &db, true);

    let first = a
        .register_visit(
            &visit("14052119800101001", "2026-03-02T09:00:00+08:00"),
            &clerk,
        )
        .unwrap();
    let again = a
        .register_visit(
            &visit("14052119800101001", "2026-03-04T09:00:00+08:00"),
            &clerk,
        )
        .unwrap();
    let person = first.visitor_ids[0].clone();
    assert_eq!(again.visitor_ids[0], person, "the same person");
    assert_eq!(a.visitor_photo(&person).unwrap(), None, "no photo yet");

    let old = jpeg(b"OLD-PHOTO-MARKER");
    let new = jpeg(b"NEW-PHOTO-MARKER");
    let saved = a
        .save_visit_photo(&first.visit_id, &person, &encode_photo(&old), &clerk)
        .unwrap();
    assert_eq!(saved.jpeg, encode_photo(&old));
    a.save_visit_photo(&again.visit_id, &person, &encode_photo(&new), &clerk)
        .unwrap();
    // The person's latest photo; each visit's own.
    let latest = a.visitor_photo(&person).unwrap().unwrap();
    assert_eq!(
        (latest.visit_id.as_str(), latest.jpeg.as_str()),
        (again.visit_id.as_str(), encode_photo(&new).as_str())
    );
    assert_eq!(
        a.visit_photo(&first.visit_id).unwrap().unwrap().jpeg,
        encode_photo(&old)
    );

    // Kept once: a second photo of the same visit, a person not on it, a visit that does not
    // exist and a photo that is not a JPEG are refused, and write nothing.
    let refusals = [
        (&first.visit_id, &person, encode_photo(&new), "photo_exists"),
        (&first.visit_id, &clerk, encode_photo(&new), "not_found"),
        (
            &"no-such-visit".to_owned(),
            &person,
            encode_photo(&new),
            "not_found",
        ),
        (
            &first.visit_id,
            &person,
            encode_photo(b"GIF89a...."),
            "photo_not_jpeg",
        ),
    ];
    for (visit_id, visitor_id, photo, expected) in refusals {
        let e = a
            .save_visit_photo(visit_id, visitor_id, &photo, &clerk)
            .unwrap_err();
        assert_eq!(code(e), expected);
    }
    assert_eq!(
        a.visit_photo(&first.visit_id).unwrap().unwrap().jpeg,
        encode_photo(&old)
    );

    // Logged once per photo, as `visit_photo` records; no other change carries a photo.
    let changes = a.local_changes(0, 10_000).unwrap();
    let with_photo: Vec<_> = changes
        .iter()
        .filter(|c| c.fields.contains_key("jpeg"))
        .map(|c| (c.entity.as_str(), c.entity_id.as_str()))
        .collect();
    assert_eq!(
        with_photo,
        [
            ("visit_photo", first.visit_id.as_str()),
            ("visit_photo", again.visit_id.as_str())
        ]
    );
    let report = a.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);

    // Never in clear on disk: the database, its WAL and everything else in the data dir.
    drop(a);
    for entry in std::fs::read_dir(da.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        for marker in [&b"OLD-PHOTO-MARKER"[..], b"NEW-PHOTO-MARKER"] {
            assert!(!bytes.windows(marker.len()).any(|w| w == marker));
        }
    }
    let (a, _) = Store::login(da.path(), "clerk-admin-a", "correct horse").unwrap();

    // Another desk of the hall pulls it: the same photo, found by the same person.
    common::pull_changes(&mut b, &a, changes, 0);
    assert_eq!(b.visitor_photo(&person).unwrap(), Some(latest));
    assert_eq!(
        b.visit_photo(&first.visit_id).unwrap().unwrap().jpeg,
        encode_photo(&old)
    );
    let report = b.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

/// Lists, search hits, the visit's own records and the ledger export never carry the photo:
/// only `visitor_photo` / `visit_photo` read it.
#[test]
fn no_list_search_or_export_carries_the_photo() {
    use xinfang_core::calendar::HolidayCalendar;
    use xinfang_core::stats::Period;
    use xinfang_store::StatsQuery;

    let dir = TempDir::new().unwrap();
    let (mut store, clerk) = desk(&dir, false, "admin");
    let r = store
        .register_visit(
            &visit("14052119800101001", "2026-03-02T09:00:00+08:00"),
            &clerk,
        )
        .unwrap();
    let photo = encode_photo(&jpeg(b"LIST-MARKER"));
    store
        .save_visit_photo(&r.visit_id, &r.visitor_ids[0], &photo, &clerk)
        .unwrap();
    // Any 40 characters of the base64 would do; these are past the JPEG header.
    let needle = &photo[40..80];
    let q = StatsQuery::new(
        Period::new("2026-03-01".parse().unwrap(), "2026-03-31".parse().unwrap()).unwrap(),
        "2026-04-01".parse().unwrap(),
    );
    let shown = [
        format!("{:?}", store.visit_row(&r.visit_id).unwrap()),
        format!("{:?}", store.visit_detail(&r.visit_id).unwrap()),
        format!("{:?}", store.visits_on("2026-03-02").unwrap()),
        format!("{:?}", store.history("赵六", 10).unwrap()),
        format!("{:?}", store.search("赵六", 10).unwrap()),
        format!("{:?}", store.visitor_profile(&r.visitor_ids[0]).unwrap()),
        format!("{:?}", store.visits_of_visitor(&r.visitor_ids[0]).unwrap()),
        format!(
            "{:?}",
            store.visit_ledger(&q, &HolidayCalendar::bundled()).unwrap()
        ),
    ];
    for (i, text) in shown.iter().enumerate() {
        assert!(
            text.contains("赵六") || text.contains(&r.visit_id),
            "case {i} is empty"
        );
        assert!(!text.contains(needle), "case {i} carries the photo");
    }
    assert_eq!(
        store
            .visitor_photo(&r.visitor_ids[0])
            .unwrap()
            .unwrap()
            .jpeg,
        photo
    );
}

/// A pulled photo this desk's own check would refuse — not a JPEG, or over the cap — is set
/// aside, whoever relayed it; the visit it came with applies.
#[test]
fn a_pulled_photo_the_check_refuses_is_set_aside_and_the_rest_applies() {
    use xinfang_core::photo::MAX_PHOTO_BYTES;

    let (da, db) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut a, clerk, mut b) = two_desks(&da, &db, false);
    let mut bad = Vec::new();
    for (i, blob) in [b"GIF89a-not-a-jpeg".to_vec(), {
        let mut big = jpeg(b"BIG");
        big.splice(4..4, vec![0u8; MAX_PHOTO_BYTES]);
        big
    }]
    .into_iter()
    .enumerate()
    {
        let r = a
            .register_visit(
                &visit(
                    &format!("1405211980010100{}", i + 2),
                    "2026-03-02T09:00:00+08:00",
                ),
                &clerk,
            )
            .unwrap();
        a.save_visit_photo(
            &r.visit_id,
            &r.visitor_ids[0],
            &encode_photo(&jpeg(b"OK")),
            &clerk,
        )
        .unwrap();
        bad.push((r.visit_id, encode_photo(&blob)));
    }
    // What a bad peer relays: the desk's changes with the photos' bytes swapped.
    let mut changes = a.local_changes(0, 10_000).unwrap();
    for c in changes.iter_mut().filter(|c| c.entity == "visit_photo") {
        if let Some((_, blob)) = bad.iter().find(|(v, _)| *v == c.entity_id) {
            c.fields.insert("jpeg".into(), blob.clone().into());
        }
    }
    common::pull_changes(&mut b, &a, changes, 0);

    for (visit_id, _) in &bad {
        assert_eq!(b.visit_photo(visit_id).unwrap(), None, "not kept");
        assert!(b.visit_row(visit_id).is_ok(), "the visit applied");
    }
    let set_aside: Vec<_> = b
        .quarantined_changes()
        .unwrap()
        .into_iter()
        .map(|q| (q.entity, q.entity_id, q.reason))
        .collect();
    let expected: Vec<_> = bad
        .iter()
        .map(|(v, _)| {
            (
                "visit_photo".to_owned(),
                v.clone(),
                "photo_invalid".to_owned(),
            )
        })
        .collect();
    assert_eq!(set_aside, expected);
    let report = b.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}
