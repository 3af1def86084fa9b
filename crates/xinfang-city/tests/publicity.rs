//! The city's third "循法信访、依法办访" 法治宣传周, 17–21 May 2021 (DOMAIN.md §2): the city
//! bureau and all six counties each record their own activities on their own desk
//! (tests/data/publicity-week-2021.tsv, one row per event), the desks sync to the real
//! `xinfang-city` binary over HTTP, and `GET /v1/city/publicity` gives the report's figures —
//! 86 events, 69 units, 7.6万 leaflets, 7,036 (7,000余) consultations, 5,400 beneficiaries,
//! 54 posts, 12万 reads — with nobody adding them up. The county's 宪法宣传周 activity of
//! December is another campaign and is not counted in the week's.

mod common;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use common::{Desk, Server};
use serde_json::{Value, json};
use xinfang_core::stats::{Period, PublicityInput, validate_publicity};

const WEEK: &str = "第三届“循法信访、依法办访”法治宣传周";

/// (hall code, activity) per row of the table; `#` lines are comments, then the header.
fn table() -> Vec<(String, PublicityInput)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/publicity-week-2021.tsv"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let n = |s: &str| s.parse::<u32>().unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 12, "{l}");
            let input = PublicityInput {
                held_on: c[2].into(),
                kind: c[3].into(),
                place: c[4].into(),
                units: c[5].split('、').map(str::to_owned).collect(),
                leaflets: n(c[6]),
                consulted: n(c[7]),
                reached: n(c[8]),
                posts: n(c[9]),
                reads: n(c[10]),
                campaign: c[11].into(),
                note: String::new(),
            };
            (c[1].to_owned(), input)
        })
        .collect()
}

fn figures(v: &Value) -> [u64; 7] {
    [
        "events",
        "units",
        "leaflets",
        "consulted",
        "reached",
        "posts",
        "reads",
    ]
    .map(|k| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {v}"))
    })
}

common::both_backends! {
fn the_city_totals_its_publicity_week_from_the_halls_activities() {
    // Seven desks enrol one after another from one address.
    let server = Server::start_with(&["--enrol-burst-per-address", "10"]);
    let admin = server.admin_token();
    let mut by_hall: BTreeMap<String, Vec<PublicityInput>> = BTreeMap::new();
    for (hall, input) in table() {
        by_hall.entry(hall).or_default().push(input);
    }
    // The city bureau and the six counties of 晋城市 (assets/regions.json).
    let halls: Vec<&str> = by_hall.keys().map(String::as_str).collect();
    assert_eq!(
        halls,
        [
            "140500", "140502", "140521", "140522", "140524", "140525", "140581"
        ]
    );
    let today: NaiveDate = "2021-12-31".parse().unwrap();
    let mut desks = Vec::new();
    for (i, (hall, inputs)) in by_hall.iter().enumerate() {
        let desk = Desk::new(hall, 40 + i as u64);
        {
            let mut store = desk.open();
            for input in inputs {
                let valid = validate_publicity(input, today).unwrap();
                store.add_publicity(&valid, &desk.clerk.id).unwrap();
            }
        }
        desk.enrol(&server.url, &server.enrol_code(hall)).unwrap();
        desk.sync().unwrap();
        desks.push(desk);
    }

    // The week's figures: the report's, from the synced activities.
    let q = format!("/v1/city/publicity?from=2021-01-01&to=2021-12-31&campaign={WEEK}");
    let (status, week) = server.get(&q, Some(&admin));
    assert_eq!(status, 200, "{week}");
    assert_eq!(week["campaign"], WEEK);
    assert_eq!(
        figures(&week["total"]["figures"]),
        [86, 69, 76_000, 7_036, 5_400, 54, 120_000],
        "{week}"
    );
    assert_eq!(week["total"]["hall_name"], "晋城市（全市合计）");
    assert_eq!(week["by_campaign"].as_array().unwrap().len(), 1);
    assert_eq!(week["by_campaign"][0]["total"], week["total"]["figures"]);
    // The week's dates, as the counties' activities show them (the report: 5月17日至21日).
    assert_eq!(week["by_campaign"][0]["first_day"], "2021-05-17");
    assert_eq!(week["by_campaign"][0]["last_day"], "2021-05-21");

    // Each county's figures on the city are its desk's own.
    let week_only = Period::new("2021-05-17".parse().unwrap(), today).unwrap();
    let mut events = 0;
    let mut units_summed = 0;
    for desk in &desks {
        let store = desk.open();
        let own = store.publicity_summary(&week_only, Some(WEEK)).unwrap();
        let hall = week["halls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["hall_code"] == desk.hall.as_str())
            .unwrap();
        assert_eq!(
            hall["figures"],
            serde_json::to_value(&own.totals).unwrap(),
            "{}",
            desk.hall
        );
        events += own.totals.events;
        units_summed += own.totals.units;
    }
    assert_eq!(events, 86);
    // 市信访局 took part in events of several counties: one unit of the city's 69.
    assert!(units_summed > 69, "{units_summed}");
    let names: Vec<&str> = week["halls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hall_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "晋城市",
            "城区",
            "沁水县",
            "阳城县",
            "陵川县",
            "泽州县",
            "高平市"
        ]
    );

    // The whole year: the 宪法宣传周 is a campaign of its own, of 沁水县 only.
    let (status, year) = server.get(
        "/v1/city/publicity?from=2021-01-01&to=2021-12-31",
        Some(&admin),
    );
    assert_eq!(status, 200, "{year}");
    assert_eq!(year["campaign"], Value::Null);
    assert_eq!(figures(&year["total"]["figures"])[0], 87);
    let campaigns: Vec<&str> = year["by_campaign"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["campaign"].as_str().unwrap())
        .collect();
    assert_eq!(campaigns, ["2021年宪法宣传周", WEEK]);
    let constitution = &year["by_campaign"][0];
    assert_eq!(figures(&constitution["total"])[0], 1);
    assert_eq!(constitution["halls"][0]["hall_name"], "沁水县");
    assert_eq!(year["by_campaign"][1]["total"], week["total"]["figures"]);

    // Only the week's days: the same figures without naming the campaign.
    let (_, days) = server.get(
        "/v1/city/publicity?from=2021-05-17&to=2021-05-21",
        Some(&admin),
    );
    assert_eq!(days["total"]["figures"], week["total"]["figures"]);
}
}

common::both_backends! {
fn the_publicity_view_is_the_administrators_and_says_what_is_wrong() {
    let server = Server::start();
    let admin = server.admin_token();
    let (status, empty) = server.get(
        "/v1/city/publicity?from=2021-05-17&to=2021-05-21",
        Some(&admin),
    );
    assert_eq!(status, 200);
    assert_eq!(figures(&empty["total"]["figures"]), [0; 7]);
    assert_eq!(empty["halls"].as_array().unwrap().len(), 7);
    let (status, e) = server.get("/v1/city/publicity?from=2021-05-17", Some(&admin));
    assert_eq!((status, e["code"].clone()), (400, json!("period_missing")));
    let (status, e) = server.get(
        "/v1/city/publicity?from=2021-05-21&to=2021-05-17",
        Some(&admin),
    );
    assert_eq!((status, e["code"].clone()), (422, json!("period_reversed")));
    let long = "周".repeat(201);
    let (status, e) = server.get(
        &format!("/v1/city/publicity?from=2021-05-17&to=2021-05-21&campaign={long}"),
        Some(&admin),
    );
    assert_eq!(
        (status, e["code"].clone()),
        (422, json!("campaign_too_long"))
    );
    assert!(e["message"].as_str().unwrap().contains("活动名称"));
    let device = server.enrol_device("140521", "desk-publicity");
    let (status, _) = server.get(
        "/v1/city/publicity?from=2021-05-17&to=2021-05-21",
        Some(&device),
    );
    assert_eq!(status, 403);
    let (status, _) = server.get("/v1/city/publicity?from=2021-05-17&to=2021-05-21", None);
    assert_eq!(status, 401);
}
}
