//! City-wide statistics (GET /v1/city/stats) on a known data set, over real HTTP against the
//! real server binary on a loopback port: two halls' desks push their records as changes, the
//! city administrator asks for March 2025, and every count and rate is checked exactly.

mod common;

use common::{Server, march};
use serde_json::{Value, json};
use xinfang_core::reference::ReferenceData;

fn rate(v: &Value) -> (u64, u64, Option<f64>) {
    (
        v["numerator"].as_u64().unwrap(),
        v["denominator"].as_u64().unwrap(),
        v["percent"].as_f64(),
    )
}

fn hall<'a>(stats: &'a Value, code: &str) -> &'a Value {
    stats["halls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hall_code"] == code)
        .unwrap_or_else(|| panic!("no hall {code} in {stats}"))
}

common::both_backends! {
fn city_statistics_of_march_are_exact() {
    let server = Server::start();
    let admin = server.admin_token();
    let categories = &ReferenceData::bundled().categories;
    let cat_a = &categories[0].code;
    let tokens = march::seed(&server);

    let (status, s) = server.get("/v1/city/stats?from=2025-03-01&to=2025-03-31", Some(&admin));
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (&s["from"], &s["to"], &s["as_of"]),
        (
            &json!("2025-03-01"),
            &json!("2025-03-31"),
            &json!("2025-04-01")
        )
    );

    let q = hall(&s, "140521");
    assert_eq!(q["hall_name"], "沁水县");
    let counts: Vec<u64> = [
        "visits",
        "people",
        "first_visits",
        "repeat_visits",
        "group_visits",
        "group_people",
        "matters_received",
        "consultations",
        "mediations",
        "mediations_agreed",
        "overdue_matters",
    ]
    .iter()
    .map(|k| q[k].as_u64().unwrap())
    .collect();
    assert_eq!(counts, [3, 8, 2, 1, 1, 6, 3, 1, 1, 1, 1]);
    assert_eq!(rate(&q["timely_acceptance"]), (2, 3, Some(66.67)));
    assert_eq!(rate(&q["on_time_conclusion"]), (1, 1, Some(100.0)));
    assert_eq!(rate(&q["participation"]), (1, 1, Some(100.0)));
    assert_eq!(rate(&q["satisfaction"]), (1, 1, Some(100.0)));

    let y = hall(&s, "140522");
    assert_eq!(
        (
            y["visits"].as_u64(),
            y["people"].as_u64(),
            y["matters_received"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(rate(&y["timely_acceptance"]), (1, 1, Some(100.0)));
    // Nothing concluded: "no data", not 0% or 100%.
    assert_eq!(rate(&y["on_time_conclusion"]), (0, 0, None));
    assert_eq!(rate(&y["participation"]), (0, 0, None));

    // Halls without records are listed with zeros.
    let gp = hall(&s, "140581");
    assert_eq!(gp["visits"], 0);
    assert_eq!(s["halls"].as_array().unwrap().len(), 7);

    let t = &s["total"];
    assert_eq!(t["hall_name"], "晋城市（全市合计）");
    assert_eq!(
        (t["visits"].as_u64(), t["people"].as_u64()),
        (Some(4), Some(10))
    );
    assert_eq!(t["overdue_matters"], 1);
    assert_eq!(rate(&t["timely_acceptance"]), (3, 4, Some(75.0)));
    assert_eq!(rate(&t["on_time_conclusion"]), (1, 1, Some(100.0)));
    assert_eq!(
        s["by_month"],
        json!([{ "key": "2025-03", "label": "2025-03", "count": 4 }])
    );
    let kinds: Vec<(String, u64)> = s["by_appeal_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["label"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("申诉求决类".to_owned(), 3), ("建议意见类".to_owned(), 1)]
    );
    let cat_total: u64 = s["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(cat_total, 4);
    assert_eq!(s["by_category"][0]["key"], json!(cat_a));
    assert_eq!(s["by_category"][0]["count"], 3);
    assert_eq!(s["by_category"][0]["label"], json!(categories[0].name));

    // April: only v4 and m4, whose limit has not run out on the day after April.
    let (status, a) = server.get("/v1/city/stats?from=2025-04-01&to=2025-04-30", Some(&admin));
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["total"]["visits"], 1);
    assert_eq!(hall(&a, "140521")["matters_received"], 1);

    // Only the city administrator; every refusal names what to do.
    let (status, e) = server.get(
        "/v1/city/stats?from=2025-03-01&to=2025-03-31",
        Some(&tokens.qinshui),
    );
    assert_eq!((status, e["code"].as_str()), (403, Some("admin_only")));
    let (status, e) = server.get("/v1/city/stats?from=2025-03-01", Some(&admin));
    assert_eq!((status, e["code"].as_str()), (400, Some("period_missing")));
    assert!(e["message"].as_str().unwrap().contains("from 和 to"));
    let (status, e) = server.get("/v1/city/stats?from=2025-03-31&to=2025-03-01", Some(&admin));
    assert_eq!((status, e["code"].as_str()), (422, Some("period_reversed")));
    let (status, e) = server.get("/v1/city/stats?from=2025/03/01&to=x", Some(&admin));
    assert_eq!((status, e["code"].as_str()), (422, Some("date_format")));
    assert!(e["message"].as_str().unwrap().contains("年-月-日"));
}
}
