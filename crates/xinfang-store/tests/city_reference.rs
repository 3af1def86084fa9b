//! The desk's forms offer and check against the city's reference lists once a sync brought
//! them (`Store::reference_data`); a bad city list is ignored and the compiled-in one used.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde_json::json;
use tempfile::TempDir;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::stats::Period;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, StatsQuery, Store};
use xinfang_sync::DeskReplica;
use xinfang_sync::wire::ReferenceBundle;

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-26T10:00:00+08:00").unwrap()
}

fn visit(category: &str) -> VisitInput {
    let body17 = "14052119800101031";
    VisitInput {
        visited_at: "2026-11-26T09:30:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: "冯来访".into(),
            id_number: format!("{body17}{}", resident_id_check_char(body17).unwrap()),
            ..Default::default()
        }],
        appeal: "公租房分配不公。".into(),
        appeal_kind: "claim".into(),
        category: category.into(),
        place_code: "140521".into(),
        ..Default::default()
    }
}

/// What a sync saves: the city's lists under the names the city serves them by.
fn receive(store: &mut Store, version: &str, lists: &[(&str, serde_json::Value)]) {
    let lists: BTreeMap<String, serde_json::Value> = lists
        .iter()
        .map(|(name, v)| ((*name).to_owned(), v.clone()))
        .collect();
    store
        .save_reference(&ReferenceBundle {
            version: version.into(),
            lists,
        })
        .unwrap();
}

fn offered(r: &ReferenceData) -> Vec<String> {
    r.categories
        .iter()
        .filter(|c| !c.retired)
        .map(|c| c.name.clone())
        .collect()
}

#[test]
fn a_city_category_list_is_offered_accepted_and_enforced() {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path(), "140521").unwrap().0;
    let clerk = store
        .add_staff(&NewStaff {
            username: "clerk".into(),
            display_name: "王接待".into(),
            roles: vec![Role::Clerk],
            password: "correct horse".into(),
        })
        .unwrap();
    // Before any sync: the compiled-in lists.
    assert_eq!(&store.reference_data(), ReferenceData::bundled());

    // The city adds 住房保障 and drops 教育 (and the others not listed).
    receive(
        &mut store,
        "v2",
        &[
            (
                "categories",
                json!([
                    {"code": "urban_construction", "name": "城乡建设"},
                    {"code": "housing_security", "name": "住房保障"},
                    {"code": "labour_social_security", "name": "劳动和社会保障"},
                ]),
            ),
            (
                "holidays/2027",
                json!({"year": 2027, "holidays": [], "workdays": []}),
            ),
        ],
    );
    let r = store.reference_data();
    assert_eq!(offered(&r), ["城乡建设", "住房保障", "劳动和社会保障"]);
    // The routes were not sent: the compiled-in ones stay.
    assert_eq!(r.legal_routes, ReferenceData::bundled().legal_routes);

    // The new category is accepted and named on the matter.
    let valid = validate_visit(&visit("住房保障"), &r, now()).unwrap();
    assert_eq!(valid.category_code, "housing_security");
    let matter = store.register_visit(&valid, &clerk.id).unwrap().matter_id;
    let view = store
        .matter(&matter, now().date_naive(), &store.holiday_calendar())
        .unwrap();
    assert_eq!(view.category_name, "住房保障");
    // … and in the day's list and the statistics, not as its code.
    let today = store.visits_on("2026-11-26").unwrap();
    assert_eq!(today[0].category_name, "住房保障");
    let day = now().date_naive();
    let q = StatsQuery::new(Period::new(day, day).unwrap(), day);
    let stats = store.statistics(&q, &store.holiday_calendar()).unwrap();
    let housing = stats
        .by_category
        .iter()
        .find(|c| c.key == "housing_security")
        .unwrap();
    assert_eq!((housing.label.as_str(), housing.count), ("住房保障", 1));

    // The dropped one is refused, at its field, in Chinese; old records still name it.
    let errors = validate_visit(&visit("教育"), &r, now()).unwrap_err();
    let e = &errors.0[0];
    assert_eq!(
        (e.field.as_str(), e.code.as_str()),
        ("category", "category_retired")
    );
    assert!(e.message.contains("问题分类“教育”已停用"), "{}", e.message);
    assert_eq!(r.category("education").unwrap().name, "教育");

    // A bad list from the city is ignored: the desk goes on with the compiled-in one.
    receive(&mut store, "v3", &[("categories", json!([]))]);
    let r = store.reference_data();
    assert_eq!(&r, ReferenceData::bundled());
    assert!(validate_visit(&visit("教育"), &r, now()).is_ok());
}
