//! Issue 15, item 4: a visitor id does not give back the ID number it was derived from
//! (docs/security.md). Before, the id was UUIDv5(hall, type, number): trying the 1000 numbers
//! of one birth date found a masked number in a fraction of a second.

use chrono::DateTime;
use tempfile::TempDir;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Store};

const HALL: &str = "140521";

fn id(body17: &str) -> String {
    format!("{body17}{}", resident_id_check_char(body17).unwrap())
}

/// A new store and the id it gives the holder of `number`.
fn register(number: &str) -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path(), HALL).unwrap().0;
    let clerk = store
        .add_staff(&NewStaff {
            username: "clerk".into(),
            display_name: "王接待".into(),
            roles: vec![Role::Clerk],
            password: "correct horse".into(),
        })
        .unwrap();
    let input = VisitInput {
        visited_at: "2026-11-26T10:00:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: "张三".into(),
            id_number: number.into(),
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: "拖欠工资，请求协调支付。".into(),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        agency: "县人社局".into(),
        place_code: HALL.into(),
    };
    let now = DateTime::parse_from_rfc3339("2026-11-26T12:00:00+08:00").unwrap();
    let v = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
    let registered = store.register_visit(&v, &clerk.id).unwrap();
    (dir, registered.visitor_ids[0].clone())
}

/// The id the store gave before the hall id key: anyone could compute it.
fn unkeyed_id(number: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b1f_3c2e_5a47_4d0e_9f8a_2c71_0e5d_b934);
    let name = format!("visitor:{HALL}:resident_id:{number}");
    uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

#[test]
fn a_visitor_id_cannot_be_computed_from_the_document_without_the_key() {
    let number = id("14052119800101123");
    let (_dir, stored) = register(&number);
    assert_ne!(stored, unkeyed_id(&number));
    // The attack of the review: every number of one birth date in this hall.
    let found = (0..1000).find(|seq| {
        let guess = id(&format!("14052119800101{seq:03}"));
        unkeyed_id(&guess) == stored
    });
    assert_eq!(found, None, "the number came back from the id");
    assert_eq!(
        uuid::Uuid::parse_str(&stored).unwrap().get_version_num(),
        8,
        "a keyed id (UUID version 8)"
    );
}

#[test]
fn stores_not_yet_enrolled_have_keys_of_their_own() {
    // Before enrolment nothing is shared: each store's provisional key gives its own id; at
    // enrolment the hall's key replaces it (crates/xinfang-city/tests/hall_id_key.rs).
    let number = id("14052119800101123");
    let (_a, in_a) = register(&number);
    let (_b, in_b) = register(&number);
    assert_ne!(in_a, in_b);
}
