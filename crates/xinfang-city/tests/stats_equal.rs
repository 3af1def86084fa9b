//! One statistics function for desk and city (issues 14 and 21): two halls' desks register half
//! a year of visits whose matters go through the steps a hall records (seeded at random: timely
//! and late decisions, refusals, legal routes, transfers, extensions, conclusions, evaluations,
//! matters never touched), sync to the real `xinfang-city` binary over HTTP, and for several
//! periods each hall's figures on the city equal the desk's own, figure by figure.

mod common;

use chrono::{Duration, NaiveDate};
use common::{Desk, Server};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use xinfang_core::clock::{Clock, SystemClock};
use xinfang_core::matter::MatterEvent as E;
use xinfang_core::reference::ReferenceData;
use xinfang_core::stats::{EvaluationInput, Period};
use xinfang_core::visit::validate_visit;
use xinfang_store::{Statistics, StatsQuery, Store};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const TODAY: &str = "2025-06-30";

/// Half a year of one hall: `n` visits with their matters taken through their steps.
fn half_year(desk: &mut Desk, seed: u64, n: usize) {
    let mut store = desk.open();
    let clerk = desk.clerk.id.clone();
    let cal = store.holiday_calendar();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = chrono::DateTime::parse_from_rfc3339("2025-06-30T18:00:00+08:00").unwrap();
    let today = d(TODAY);
    for i in 0..n {
        let received = d("2025-01-02") + Duration::days(rng.random_range(0..178));
        let id = desk.resident_id();
        let who = desk.visitor(&id);
        let mut input = desk.visit_input(vec![who]);
        input.visited_at = format!("{received} 09:{:02}", i % 60);
        if rng.random_ratio(1, 8) {
            input.head_count = 6;
            input.representatives = vec![0];
        }
        if rng.random_ratio(1, 3) {
            input.appeal_kind = "suggestion".into();
        }
        let valid = validate_visit(&input, ReferenceData::bundled(), now)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let m = store.register_visit(&valid, &clerk).unwrap().matter_id;
        desk.registered += 1;
        let step = |store: &mut Store, e: E| -> bool {
            if e.date() > today {
                return false;
            }
            store.record_event(&m, &e, &clerk, &cal).unwrap();
            true
        };
        if rng.random_ratio(1, 10) {
            continue; // never touched: overdue once its 15 days are out
        }
        let day = |from: NaiveDate, days: i64| from + Duration::days(days);
        let decided = if rng.random_ratio(1, 5) {
            day(received, rng.random_range(16..=25))
        } else {
            day(received, rng.random_range(1..=13))
        };
        match rng.random_range(0..100) {
            0..8 => {
                step(
                    &mut store,
                    E::Reject {
                        at: decided,
                        reason: "已由人民法院受理，依法不予受理。".into(),
                    },
                );
                continue;
            }
            8..16 => {
                step(
                    &mut store,
                    E::Forward {
                        at: decided,
                        to_authority: "县住建局".into(),
                        report_back_by: None,
                    },
                );
                continue;
            }
            _ => {}
        }
        if !step(
            &mut store,
            E::Accept {
                at: decided,
                notice_no: None,
            },
        ) || !step(&mut store, E::StartHandling { at: decided })
        {
            continue;
        }
        let extended = rng.random_ratio(1, 10);
        if extended {
            let at = day(decided, 50);
            let extend = E::Extend {
                at,
                days: 30,
                approver: "县信访局局长".into(),
                reason: "情况复杂，需进一步调查。".into(),
            };
            if !step(&mut store, extend) {
                continue;
            }
        }
        let concluded = if extended {
            day(decided, rng.random_range(51..=85))
        } else {
            day(decided, rng.random_range(10..=75))
        };
        let conclude = E::Conclude {
            at: concluded,
            opinion_summary: "已书面答复。".into(),
            details: Default::default(),
        };
        if !step(&mut store, conclude) {
            continue;
        }
        let evaluated = day(concluded, rng.random_range(0..=10));
        if evaluated <= today && rng.random_ratio(4, 5) {
            let result = ["满意", "基本满意", "不满意"][rng.random_range(0..3)];
            let input = EvaluationInput {
                result: result.into(),
                evaluated_on: evaluated.to_string(),
                ..Default::default()
            };
            store
                .evaluate_matter(&m, &input, &clerk, today, &cal)
                .unwrap();
        }
    }
}

/// The desk's figures in the city's shape: (counts, rates as (numerator, denominator)).
fn desk_side(s: &Statistics) -> (Vec<u64>, Vec<(u64, u64)>) {
    let agreed = s
        .mediations
        .by_outcome
        .iter()
        .find(|c| c.key == "agreed")
        .map_or(0, |c| c.count);
    let r = &s.rates;
    (
        vec![
            s.visits.visits,
            s.visits.people,
            s.visits.first_visits,
            s.visits.repeat_visits,
            s.visits.skip_level_visits,
            s.visits.group_visits,
            s.visits.group_people,
            s.by_disposition.iter().map(|c| c.count).sum(),
            s.consultations.total,
            s.mediations.total,
            agreed,
            s.overdue.matters,
        ],
        [
            r.timely_acceptance,
            r.on_time_conclusion,
            r.participation,
            r.satisfaction,
        ]
        .iter()
        .map(|r| (u64::from(r.numerator), u64::from(r.denominator)))
        .collect(),
    )
}

fn city_side(h: &Value) -> (Vec<u64>, Vec<(u64, u64)>) {
    let counts = [
        "visits",
        "people",
        "first_visits",
        "repeat_visits",
        "skip_level_visits",
        "group_visits",
        "group_people",
        "matters_received",
        "consultations",
        "mediations",
        "mediations_agreed",
        "overdue_matters",
    ]
    .iter()
    .map(|k| h[k].as_u64().unwrap())
    .collect();
    let rates = [
        "timely_acceptance",
        "on_time_conclusion",
        "participation",
        "satisfaction",
    ]
    .iter()
    .map(|k| {
        (
            h[k]["numerator"].as_u64().unwrap(),
            h[k]["denominator"].as_u64().unwrap(),
        )
    })
    .collect();
    (counts, rates)
}

common::both_backends! {
fn a_halls_figures_on_the_city_equal_its_desks() {
    let server = Server::start();
    let admin = server.admin_token();
    let mut desks = [Desk::new("140521", 1), Desk::new("140522", 2)];
    for (i, desk) in desks.iter_mut().enumerate() {
        half_year(desk, 100 + i as u64, 120);
        desk.enrol(&server.url, &server.enrol_code(&desk.hall))
            .unwrap();
        desk.sync().unwrap();
    }
    let today = SystemClock.today();
    let periods = [
        ("2025-01-01", "2025-01-31"),
        ("2025-03-01", "2025-03-31"),
        ("2025-04-01", "2025-06-30"),
        ("2025-01-01", "2025-06-30"),
        ("2025-05-12", "2025-05-12"),
    ];
    let mut denominators = 0;
    let mut compare = |desks: &[Desk]| {
        for (from, to) in periods {
            let (status, city) =
                server.get(&format!("/v1/city/stats?from={from}&to={to}"), Some(&admin));
            assert_eq!(status, 200, "{city}");
            for desk in desks {
                let store = desk.open();
                let q = StatsQuery::new(Period::new(d(from), d(to)).unwrap(), today);
                let s = store.statistics(&q, &store.holiday_calendar()).unwrap();
                let hall = city["halls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|h| h["hall_code"] == desk.hall.as_str())
                    .unwrap();
                let ours = desk_side(&s);
                assert_eq!(ours, city_side(hall), "{} {from}..{to}", desk.hall);
                denominators += ours.1.iter().map(|r| r.1).sum::<u64>();
            }
        }
    };
    compare(&desks);
    // More visits and steps on the days the city has kept figures of: a kept day whose rows
    // changed must be added up again (the city keeps each day's figures, migration 0015).
    for (i, desk) in desks.iter_mut().enumerate() {
        half_year(desk, 200 + i as u64, 40);
        desk.sync().unwrap();
    }
    compare(&desks);
    // Not equal by being empty: the half year has matters on every side of every rate.
    let (status, half) = server.get("/v1/city/stats?from=2025-01-01&to=2025-06-30", Some(&admin));
    assert_eq!(status, 200);
    let (counts, rates) = city_side(&half["total"]);
    assert_eq!(counts[0], 320);
    assert!(
        half["total"]["overdue_matters"].as_u64().unwrap() > 0,
        "no overdue matter: {half}"
    );
    assert!(
        rates.iter().all(|(n, d)| *n > 0 && n < d),
        "a rate without both sides: {rates:?}"
    );
    assert!(denominators > 0);
}
}
