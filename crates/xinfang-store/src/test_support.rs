//! What the crate's own tests build again and again: a clerk, a visit of one visitor.

use xinfang_core::id::{IdType, resident_id_check_char};
use xinfang_core::reference::AppealKind;
use xinfang_core::staff::Role;
use xinfang_core::visit::{ValidVisit, ValidVisitor};

use crate::{NewStaff, Store};

/// A clerk added to `store`: its staff id.
pub(crate) fn clerk(store: &mut Store) -> String {
    store
        .add_staff(&NewStaff {
            username: "clerk".into(),
            display_name: "王".into(),
            roles: vec![Role::Clerk],
            password: "correct horse".into(),
        })
        .unwrap()
        .id
}

/// A visit at `at` (RFC 3339) of 张三, whose ID number starts with `body17`, about unpaid wages.
pub(crate) fn visit_of(body17: &str, at: &str) -> ValidVisit {
    ValidVisit {
        visited_at: chrono::DateTime::parse_from_rfc3339(at).unwrap(),
        visitors: vec![ValidVisitor {
            name: "张三".into(),
            id_type: IdType::ResidentId,
            id_number: format!("{body17}{}", resident_id_check_char(body17).unwrap()),
            sex: None,
            birth_date: None,
            phone: Some("13900001111".into()),
            address: None,
            ethnicity: None,
            occupation: None,
        }],
        head_count: 1,
        representatives: vec![0],
        appeal: "拖欠工资".into(),
        appeal_kind: AppealKind::Claim,
        category_code: "labour_social_security".into(),
        agency: String::new(),
        place_code: Some("140521".into()),
        warnings: vec![],
    }
}

/// A new unencrypted store of hall 140521 in `dir` with a clerk, and `n` visits, the `k`th
/// of its own visitor at `at(k)` (RFC 3339): the store, the clerk, the visits' ids.
pub(crate) fn store_with_visits(
    dir: &std::path::Path,
    n: u32,
    at: impl Fn(u32) -> String,
) -> (Store, String, Vec<String>) {
    let mut store = Store::create_unencrypted(dir, "140521").unwrap();
    let clerk = clerk(&mut store);
    let visits = (0..n)
        .map(|k| {
            let visit = visit_of(&format!("14052119800101{k:03}"), &at(k));
            store.register_visit(&visit, &clerk).unwrap().visit_id
        })
        .collect();
    (store, clerk, visits)
}
