//! Statistics on a known data set, against a real SQLite file: every count worked out by hand
//! below, the four rates with the matters behind them, completeness, evaluations, publicity.

use chrono::{DateTime, FixedOffset, NaiveDate};
use tempfile::TempDir;
use xinfang_core::backlog::FlagInput;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::desk::{
    ConclusionInput, ConsultationInput, MediationInput, PartyInput, SessionInput,
    validate_consultation, validate_mediation,
};
use xinfang_core::id::resident_id_check_char;
use xinfang_core::matter::MatterEvent;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::stats::{
    EvaluationInput, Period, PublicityInput, PublicityTotals, RateKind, validate_publicity,
};
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Staff, StatsQuery, Store, StoreError};

fn id(body17: &str) -> String {
    format!("{body17}{}", resident_id_check_char(body17).unwrap())
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2025-06-30T18:00:00+08:00").unwrap()
}

fn cal() -> HolidayCalendar {
    HolidayCalendar::bundled()
}

fn staff(store: &mut Store, username: &str, name: &str, role: Role) -> Staff {
    store
        .add_staff(&NewStaff {
            username: username.into(),
            display_name: name.into(),
            roles: vec![role],
            password: "correct horse".into(),
        })
        .unwrap()
}

fn person(name: &str, number: &str) -> VisitorInput {
    VisitorInput {
        name: name.into(),
        id_number: number.into(),
        ..Default::default()
    }
}

struct Visit<'a> {
    at: &'a str,
    people: Vec<VisitorInput>,
    head_count: u32,
    kind: &'a str,
    category: &'a str,
    agency: &'a str,
}

fn register(store: &mut Store, clerk: &Staff, v: Visit<'_>) -> (String, String) {
    let reps = if v.people.len() > 1 {
        vec![0, 1]
    } else {
        vec![]
    };
    let input = VisitInput {
        visited_at: v.at.into(),
        head_count: v.head_count,
        representatives: reps,
        visitors: v.people,
        appeal: "要求解决问题。".into(),
        appeal_kind: v.kind.into(),
        category: v.category.into(),
        agency: v.agency.into(),
        ..Default::default()
    };
    let valid = validate_visit(&input, ReferenceData::bundled(), now()).unwrap();
    let r = store.register_visit(&valid, &clerk.id).unwrap();
    (r.visit_id, r.matter_id)
}

fn event(store: &mut Store, matter: &str, e: MatterEvent, by: &Staff) {
    store.record_event(matter, &e, &by.id, &cal()).unwrap();
}

struct Hall {
    _dir: TempDir,
    store: Store,
    matters: Vec<String>,
}

/// Five visits in March–April 2025 (see the comments for what each one is).
fn hall() -> Hall {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path(), "140521").unwrap().0;
    let clerk = staff(&mut store, "clerk", "王接待", Role::Clerk);
    let clerk2 = staff(&mut store, "clerk2", "赵登记", Role::Clerk);
    let lawyer = staff(&mut store, "lawyer", "李律师", Role::Lawyer);
    let mediator = staff(&mut store, "mediator", "陈调解", Role::Mediator);
    let zhang = id("14052119800115013");

    // V1 3 March: 张三, claim, accepted 10 March (timely), concluded 1 April (limit 9 May),
    // evaluated 满意 at the desk.
    let (v1, m1) = register(
        &mut store,
        &clerk,
        Visit {
            at: "2025-03-03 09:00",
            people: vec![person("张三", &zhang)],
            head_count: 1,
            kind: "claim",
            category: "城乡建设",
            agency: "县住建局",
        },
    );
    let acc = |at: &str| MatterEvent::Accept {
        at: d(at),
        notice_no: None,
    };
    event(&mut store, &m1, acc("2025-03-10"), &clerk);
    event(
        &mut store,
        &m1,
        MatterEvent::Conclude {
            at: d("2025-04-01"),
            opinion_summary: "已答复".into(),
            details: Default::default(),
        },
        &clerk,
    );
    store
        .evaluate_matter(
            &m1,
            &EvaluationInput {
                result: "满意".into(),
                evaluated_on: "2025-04-01".into(),
                ..Default::default()
            },
            &clerk.id,
            d("2025-06-30"),
            &cal(),
        )
        .unwrap();
    // V2 5 March: a group of 6 (3 listed), suggestion, forwarded 25 March (limit 20 March:
    // late); the receiving authority never decided: overdue.
    let (_v2, m2) = register(
        &mut store,
        &clerk2,
        Visit {
            at: "2025-03-05 10:00",
            people: vec![
                person("李四", &id("14052119750301024")),
                person("王五", &id("14052119700505031")),
                person("赵六", &id("14052119650707042")),
            ],
            head_count: 6,
            kind: "suggestion",
            category: "劳动和社会保障",
            agency: "县人社局",
        },
    );
    event(
        &mut store,
        &m2,
        MatterEvent::Forward {
            at: d("2025-03-25"),
            to_authority: "县人社局".into(),
            report_back_by: None,
        },
        &clerk,
    );
    // V3 10 March: 张三 again (repeat), no disposition ever: overdue from 26 March; flagged as
    // backlog 1 April; the mediator mediates, agreed.
    let (v3, m3) = register(
        &mut store,
        &clerk,
        Visit {
            at: "2025-03-10 11:00",
            people: vec![person("张三", &zhang)],
            head_count: 1,
            kind: "claim",
            category: "城乡建设",
            agency: "县住建局",
        },
    );
    store
        .flag_backlog(
            &m3,
            &FlagInput {
                leader: "李副县长".into(),
                plan: "约谈双方".into(),
                target_date: String::new(),
                flagged_on: "2025-04-01".into(),
            },
            &clerk.id,
        )
        .unwrap();
    // V4 2 April: report (confidential), refused 3 April (timely).
    let (_v4, m4) = register(
        &mut store,
        &clerk,
        Visit {
            at: "2025-04-02 09:30",
            people: vec![person("孙七", &id("14052119900909055"))],
            head_count: 1,
            kind: "report",
            category: "纪检监察",
            agency: "",
        },
    );
    event(
        &mut store,
        &m4,
        MatterEvent::Reject {
            at: d("2025-04-03"),
            reason: "不属于信访受理范围".into(),
        },
        &clerk,
    );
    // V5 15 April: claim, accepted 16 April, concluded 20 June (limit 15 June, a Sunday, moved
    // to 16 June: late); evaluated 不满意 by phone 25 June.
    let (_v5, m5) = register(
        &mut store,
        &clerk2,
        Visit {
            at: "2025-04-15 15:00",
            people: vec![person("周八", &id("14052119850202066"))],
            head_count: 1,
            kind: "claim",
            category: "劳动和社会保障",
            agency: "县人社局",
        },
    );
    event(&mut store, &m5, acc("2025-04-16"), &clerk);
    event(
        &mut store,
        &m5,
        MatterEvent::Conclude {
            at: d("2025-06-20"),
            opinion_summary: "已答复".into(),
            details: Default::default(),
        },
        &clerk,
    );
    store
        .evaluate_matter(
            &m5,
            &EvaluationInput {
                result: "不满意".into(),
                channel: "电话回访".into(),
                evaluated_on: "2025-06-25".into(),
                note: "认为补偿太少".into(),
            },
            &clerk.id,
            d("2025-06-30"),
            &cal(),
        )
        .unwrap();

    let c = validate_consultation(
        &ConsultationInput {
            visit_id: v1,
            question: "邻居违建怎么办？".into(),
            advice: "可申请人民调解，不成可起诉。".into(),
            legal_route: "人民调解".into(),
            duration_minutes: 25,
            ..Default::default()
        },
        ReferenceData::bundled(),
    )
    .unwrap();
    store.add_consultation(&c, &lawyer.id).unwrap();
    let m = validate_mediation(
        &MediationInput {
            visit_id: v3,
            dispute_type: "neighbour".into(),
            request: "请求王五拆除围墙。".into(),
            parties: vec![
                PartyInput {
                    role: "applicant".into(),
                    name: "张三".into(),
                    id_number: zhang.clone(),
                    ..Default::default()
                },
                PartyInput {
                    role: "respondent".into(),
                    name: "王五".into(),
                    id_number: id("14052119700505031"),
                    ..Default::default()
                },
            ],
            sessions: vec![SessionInput {
                held_on: "2025-03-12".into(),
                notes: "双方到场。".into(),
            }],
            conclusion: ConclusionInput {
                outcome: "agreed".into(),
                dispute_facts: "王五在两家之间砌墙，堵住通道。".into(),
                agreement_text: "王五七日内拆除围墙。".into(),
                judicial_confirmation: true,
                ..Default::default()
            },
            ..Default::default()
        },
        ReferenceData::bundled(),
        d("2025-06-30"),
    )
    .unwrap();
    store.add_mediation(&m, &mediator.id).unwrap();
    Hall {
        _dir: dir,
        store,
        matters: vec![m1, m2, m3, m4, m5],
    }
}

fn q(from: &str, to: &str) -> StatsQuery {
    StatsQuery::new(Period::new(d(from), d(to)).unwrap(), d("2025-06-30"))
}

fn count_of(v: &[xinfang_store::Count], key: &str) -> u64 {
    v.iter().find(|c| c.key == key).map_or(0, |c| c.count)
}

#[test]
fn counts_of_march_and_april_are_exact() {
    let h = hall();
    let s = h
        .store
        .statistics(&q("2025-03-01", "2025-04-30"), &cal())
        .unwrap();
    assert_eq!(s.as_of, d("2025-05-01"));
    let v = &s.visits;
    assert_eq!(
        (v.visits, v.people, v.first_visits, v.repeat_visits),
        (5, 10, 4, 1)
    );
    assert_eq!((v.group_visits, v.group_people, v.visitors), (1, 6, 6));
    assert_eq!(count_of(&s.by_hall, "140521"), 5);
    assert_eq!(count_of(&s.by_month, "2025-03"), 3);
    assert_eq!(count_of(&s.by_month, "2025-04"), 2);
    assert_eq!(count_of(&s.by_year, "2025"), 5);
    assert_eq!(s.by_day.len(), 5);
    assert_eq!(count_of(&s.by_appeal_kind, "claim"), 3);
    assert_eq!(count_of(&s.by_appeal_kind, "suggestion"), 1);
    assert_eq!(count_of(&s.by_appeal_kind, "report"), 1);
    let kinds: Vec<&str> = s.by_appeal_kind.iter().map(|c| c.label.as_str()).collect();
    assert!(kinds.contains(&"申诉求决类"));
    assert_eq!(s.by_category[0].count, 2);
    assert_eq!(s.by_category.iter().map(|c| c.count).sum::<u64>(), 5);
    assert_eq!(count_of(&s.by_agency, "县住建局"), 2);
    assert_eq!(count_of(&s.by_agency, "县人社局"), 2);
    assert_eq!(count_of(&s.by_agency, ""), 1);
    assert_eq!(count_of(&s.by_disposition, "accept"), 2);
    assert_eq!(count_of(&s.by_disposition, "forward"), 1);
    assert_eq!(count_of(&s.by_disposition, "reject"), 1);
    assert_eq!(count_of(&s.by_disposition, ""), 1);
    // Desks: clerks by visits registered, lawyer and mediator by records.
    let clerks: Vec<(&str, u64)> = s
        .desks
        .clerks
        .iter()
        .map(|c| (c.label.as_str(), c.count))
        .collect();
    assert_eq!(clerks, [("王接待", 3), ("赵登记", 2)]);
    assert_eq!(s.desks.lawyers[0].label, "李律师");
    assert_eq!(s.desks.lawyers[0].count, 1);
    assert_eq!(s.desks.mediators[0].label, "陈调解");
    assert_eq!(s.consultations.total, 1);
    assert_eq!(s.consultations.minutes, 25);
    assert_eq!(s.consultations.by_route.len(), 1);
    assert_eq!(s.mediations.total, 1);
    assert_eq!(count_of(&s.mediations.by_outcome, "agreed"), 1);
    assert_eq!(count_of(&s.mediations.by_outcome, "not_agreed"), 0);
    assert_eq!(s.mediations.judicial_confirmation, 1);
    assert_eq!(
        (s.backlog.opened, s.backlog.cleared, s.backlog.open_at_end),
        (1, 0, 1)
    );
    // V2 (its acceptance decision) and V3 (its disposition) are overdue on 1 May.
    assert_eq!(s.overdue.matters, 2);
    assert_eq!(count_of(&s.overdue.by_deadline, "disposition"), 1);
    assert_eq!(count_of(&s.overdue.by_deadline, "acceptance_decision"), 1);
    // Rates: disposition timely for V1, V4, V5; late for V2 (forwarded on day 20) and V3.
    let r = &s.rates;
    assert_eq!(
        (
            r.timely_acceptance.numerator,
            r.timely_acceptance.denominator
        ),
        (3, 5)
    );
    assert_eq!(r.timely_acceptance.percent, Some(60.0));
    assert_eq!(
        (
            r.on_time_conclusion.numerator,
            r.on_time_conclusion.denominator
        ),
        (1, 1)
    );
    assert_eq!(
        (r.participation.numerator, r.participation.denominator),
        (1, 1)
    );
    assert_eq!(
        (r.satisfaction.numerator, r.satisfaction.denominator),
        (1, 1)
    );
    assert_eq!(count_of(&r.evaluations, "satisfied"), 1);
    assert_eq!(
        (
            s.completeness.visits_without_matter,
            s.completeness.matters_without_disposition,
            s.completeness.consultations_without_advice
        ),
        (0, 1, 0)
    );
}

#[test]
fn june_has_the_late_conclusion_and_the_unsatisfied_visitor() {
    let h = hall();
    let s = h
        .store
        .statistics(&q("2025-06-01", "2025-06-30"), &cal())
        .unwrap();
    assert_eq!(s.visits.visits, 0);
    let r = &s.rates;
    assert_eq!(
        (
            r.on_time_conclusion.numerator,
            r.on_time_conclusion.denominator
        ),
        (0, 1)
    );
    assert_eq!(r.on_time_conclusion.percent, Some(0.0));
    assert_eq!(r.timely_acceptance.percent, None);
    assert_eq!(
        (r.participation.numerator, r.participation.denominator),
        (1, 1)
    );
    assert_eq!(
        (r.satisfaction.numerator, r.satisfaction.denominator),
        (0, 1)
    );
    assert_eq!(count_of(&r.evaluations, "unsatisfied"), 1);
}

#[test]
fn each_rate_lists_its_matters() {
    let h = hall();
    let query = q("2025-03-01", "2025-04-30");
    let timely = h
        .store
        .rate_matters(&query, RateKind::TimelyAcceptance, &cal())
        .unwrap();
    assert_eq!(timely.len(), 5);
    let late: Vec<&str> = timely
        .iter()
        .filter(|m| !m.counted)
        .map(|m| m.matter_id.as_str())
        .collect();
    assert_eq!(late, [h.matters[1].as_str(), h.matters[2].as_str()]);
    // The report (检举控告) shows no names.
    let report = timely.iter().find(|m| m.matter_id == h.matters[3]).unwrap();
    assert!(report.visitor_names.is_empty());
    let first = timely.iter().find(|m| m.matter_id == h.matters[0]).unwrap();
    assert_eq!(first.visitor_names, ["张三"]);
    assert_eq!(first.due, Some(d("2025-03-18")));
    assert_eq!(first.done_on, Some(d("2025-03-10")));

    let june = q("2025-06-01", "2025-06-30");
    let concl = h
        .store
        .rate_matters(&june, RateKind::OnTimeConclusion, &cal())
        .unwrap();
    assert_eq!(concl.len(), 1);
    assert_eq!(concl[0].due, Some(d("2025-06-16")));
    assert_eq!(concl[0].done_on, Some(d("2025-06-20")));
    let sat = h
        .store
        .rate_matters(&june, RateKind::Satisfaction, &cal())
        .unwrap();
    assert_eq!(sat[0].evaluation.as_deref(), Some("不满意"));
    assert!(!sat[0].counted);
}

/// The screen's list behind a rate comes a page at a time (a month's denominator at a city's
/// scale is 72,000 matters): the pages, each after the last row of the one before, are the
/// whole list in order, and the last says nothing more follows.
#[test]
fn a_rates_matters_come_a_page_at_a_time() {
    let h = hall();
    let query = q("2025-03-01", "2025-04-30");
    let kind = RateKind::TimelyAcceptance;
    let all = h.store.rate_matters(&query, kind, &cal()).unwrap();
    assert_eq!(all.len(), 5);
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    let mores = std::iter::from_fn(|| {
        let page = h
            .store
            .rate_matters_page(&query, kind, &cal(), after.as_deref(), 2)
            .unwrap();
        if page.rows.is_empty() {
            return None;
        }
        after = page.rows.last().map(|m| m.matter_id.clone());
        paged.extend(page.rows);
        Some(page.more)
    })
    .collect::<Vec<_>>();
    assert_eq!(mores, [true, true, false]);
    assert_eq!(paged, all);
}

#[test]
fn completeness_names_the_records() {
    let h = hall();
    let c = h
        .store
        .completeness(&q("2025-03-01", "2025-04-30"), &cal())
        .unwrap();
    assert!(c.visits_without_matter.is_empty());
    assert_eq!(c.matters_without_disposition.len(), 1);
    assert_eq!(c.matters_without_disposition[0].id, h.matters[2]);
    assert!(
        c.matters_without_disposition[0]
            .problem
            .contains("处理期限 2025-03-25 已过")
    );
    assert!(c.consultations_without_advice.is_empty());
}

#[test]
fn evaluations_are_refused_before_conclusion_and_logged() {
    let mut h = hall();
    let e = h
        .store
        .evaluate_matter(
            &h.matters[1],
            &EvaluationInput {
                result: "满意".into(),
                ..Default::default()
            },
            "someone",
            d("2025-06-30"),
            &cal(),
        )
        .unwrap_err();
    let StoreError::Invalid(errors) = e else {
        panic!("expected a refusal")
    };
    assert_eq!(errors.0[0].code, "not_concluded");
    // A later phone call replaces the desk's evaluation in the rates.
    let m1 = h.matters[0].clone();
    h.store
        .evaluate_matter(
            &m1,
            &EvaluationInput {
                result: "不满意".into(),
                channel: "phone".into(),
                evaluated_on: "2025-04-20".into(),
                note: String::new(),
            },
            "someone",
            d("2025-06-30"),
            &cal(),
        )
        .unwrap();
    assert_eq!(h.store.evaluations_of(&m1).unwrap().len(), 2);
    let s = h
        .store
        .statistics(&q("2025-03-01", "2025-04-30"), &cal())
        .unwrap();
    assert_eq!(s.rates.satisfaction.numerator, 0);
    let changes = h.store.changes_since(0, 100_000).unwrap();
    assert_eq!(
        changes
            .iter()
            .filter(|c| c.entity == "matter_evaluation")
            .count(),
        3
    );
    assert!(h.store.verify().unwrap().ok());
}

/// The city's third 法治宣传周 (17–21 May 2021) as a table a domain expert reads:
/// (hall code, activity) per row; `#` lines are comments, the first other line the header.
fn publicity_week_2021() -> Vec<(String, PublicityInput)> {
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

const WEEK: &str = "第三届“循法信访、依法办访”法治宣传周";

/// One county's share of the city's 法治宣传周 (the city's totals are the city server's:
/// xinfang-city/tests/publicity.rs), and a 宪法宣传周 activity of the same county that the
/// week's figures leave out.
#[test]
fn a_countys_publicity_week_is_totalled_by_campaign() {
    let rows: Vec<PublicityInput> = publicity_week_2021()
        .into_iter()
        .filter(|(hall, _)| hall == "140521")
        .map(|(_, a)| a)
        .collect();
    let week: Vec<&PublicityInput> = rows.iter().filter(|a| a.campaign == WEEK).collect();
    assert_eq!((rows.len(), week.len()), (13, 12));

    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path(), "140521").unwrap().0;
    let clerk = staff(&mut store, "clerk", "王接待", Role::Clerk);
    for a in &rows {
        let valid = validate_publicity(a, d("2021-12-31")).unwrap();
        store.add_publicity(&valid, &clerk.id).unwrap();
    }
    let year = Period::new(d("2021-01-01"), d("2021-12-31")).unwrap();
    let s = store.publicity_summary(&year, Some(WEEK)).unwrap();
    let sum = |f: fn(&PublicityInput) -> u32| week.iter().map(|a| u64::from(f(a))).sum::<u64>();
    let units: std::collections::BTreeSet<&String> =
        week.iter().flat_map(|a| a.units.iter()).collect();
    assert_eq!(
        s.totals,
        PublicityTotals {
            events: 12,
            units: units.len() as u64,
            leaflets: sum(|a| a.leaflets),
            consulted: sum(|a| a.consulted),
            reached: sum(|a| a.reached),
            posts: sum(|a| a.posts),
            reads: sum(|a| a.reads),
        }
    );
    // 沁水县信访局 took part in several events of the week and counts once.
    assert!(
        s.by_unit
            .iter()
            .any(|u| u.key == "沁水县信访局" && u.totals.events > 1)
    );
    assert!(units.len() < week.iter().map(|a| a.units.len()).sum::<usize>());
    assert_eq!(s.by_campaign.len(), 1);

    // The whole year holds both campaigns; the 宪法宣传周 is counted apart.
    let all = store.publicity_summary(&year, None).unwrap();
    assert_eq!(all.totals.events, 13);
    let keys: Vec<&str> = all.by_campaign.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["2021年宪法宣传周", WEEK]);
    assert_eq!(all.by_campaign[1].totals, s.totals);

    let list = store.publicity_list(&year, Some(WEEK)).unwrap();
    assert_eq!(list.len(), 12);
    assert!(
        list.iter()
            .all(|r| r.county == "沁水县" && r.activity.campaign == WEEK)
    );
    assert_eq!(store.publicity_list(&year, Some("")).unwrap().len(), 0);
    assert_eq!(store.publicity_list(&year, None).unwrap().len(), 13);
    assert_eq!(
        store.publicity_campaigns().unwrap(),
        ["2021年宪法宣传周", WEEK]
    );
    // Another year has none of them.
    let other = Period::new(d("2022-01-01"), d("2022-12-31")).unwrap();
    assert_eq!(
        store.publicity_summary(&other, None).unwrap().totals.events,
        0
    );
    // The campaign is in the change log, so it syncs.
    let logged = store
        .changes_since(0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|c| c.entity == "publicity_activity" && c.fields["campaign"] == WEEK)
        .count();
    assert_eq!(logged, 12);
    assert!(store.verify().unwrap().ok());
}

/// Issue 21: the statistics of a period read that period's rows, not the store. January and
/// June hold twenty handled matters; March holds two (one handled, one never touched and
/// overdue). March's figures are fed exactly March's rows: its visits, its matters, the limits
/// done in March or run out undone, and the matter concluded in March.
#[test]
fn a_period_reads_only_its_own_rows() {
    use xinfang_core::tally::{RowsFed, StatsAccumulator};
    let dir = TempDir::new().unwrap();
    let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
    let clerk = staff(&mut store, "clerk", "王接待", Role::Clerk);
    let mut n = 0;
    let mut visit = |store: &mut Store, day: &str| {
        n += 1;
        let who = person("张三", &id(&format!("14052119800115{n:03}")));
        let at = format!("{day} 09:00");
        register(
            store,
            &clerk,
            Visit {
                at: &at,
                people: vec![who],
                head_count: 1,
                kind: "claim",
                category: "城乡建设",
                agency: "",
            },
        )
        .1
    };
    let handle = |store: &mut Store, m: &str, accepted: &str, concluded: &str| {
        event(
            store,
            m,
            MatterEvent::Accept {
                at: d(accepted),
                notice_no: None,
            },
            &clerk,
        );
        event(
            store,
            m,
            MatterEvent::StartHandling { at: d(accepted) },
            &clerk,
        );
        event(
            store,
            m,
            MatterEvent::Conclude {
                at: d(concluded),
                opinion_summary: "已答复".into(),
                details: Default::default(),
            },
            &clerk,
        );
    };
    for i in 0..10 {
        let m = visit(&mut store, &format!("2025-01-{:02}", 6 + i));
        handle(
            &mut store,
            &m,
            &format!("2025-01-{:02}", 8 + i),
            "2025-01-28",
        );
        let m = visit(&mut store, &format!("2025-06-{:02}", 2 + i));
        handle(
            &mut store,
            &m,
            &format!("2025-06-{:02}", 3 + i),
            "2025-06-20",
        );
    }
    let handled = visit(&mut store, "2025-03-03");
    handle(&mut store, &handled, "2025-03-05", "2025-03-20");
    let input = EvaluationInput {
        result: "满意".into(),
        evaluated_on: "2025-03-21".into(),
        ..Default::default()
    };
    store
        .evaluate_matter(&handled, &input, &clerk.id, d("2025-06-30"), &cal())
        .unwrap();
    let _untouched = visit(&mut store, "2025-03-12");

    let march = q("2025-03-01", "2025-03-31");
    let cal = cal();
    let mut acc = StatsAccumulator::new(march.period, march.today, &cal);
    store.feed_statistics(&march, &mut acc).unwrap();
    assert_eq!(
        acc.rows(),
        RowsFed {
            visits: 2,
            consultations: 0,
            mediations: 0,
            received: 2,
            // The handled matter's two limits done in March, the untouched one's run out.
            deadlines: 3,
            concluded: 1,
        }
    );
    let s = store.statistics(&march, &cal).unwrap();
    assert_eq!(s.visits.visits, 2);
    assert_eq!(
        (
            s.rates.timely_acceptance.numerator,
            s.rates.timely_acceptance.denominator
        ),
        (1, 2)
    );
    assert_eq!(s.rates.on_time_conclusion.denominator, 1);
    assert_eq!(s.rates.participation.numerator, 1);
    assert_eq!(s.overdue.matters, 1);
    // The whole half-year reads every row, and counts the same way.
    let half = q("2025-01-01", "2025-06-30");
    let mut acc = StatsAccumulator::new(half.period, half.today, &cal);
    store.feed_statistics(&half, &mut acc).unwrap();
    assert_eq!((acc.rows().visits, acc.rows().concluded), (22, 21));
}

/// Issue 21: a day's figures are kept (migration 0027) and dropped whenever a row they are made
/// from is written. Seeded random writes of every kind — visits, limits done, conclusions,
/// evaluations (some after a period's end), consultations — between statistics of random
/// periods, halls and days taken: the figures from kept days always equal the figures added up
/// from the rows alone.
#[test]
fn kept_day_figures_always_equal_the_rows() {
    use rand::{Rng, SeedableRng};
    use xinfang_core::stats::Evaluation;
    use xinfang_core::tally::StatsAccumulator;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let dir = TempDir::new().unwrap();
    let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
    let clerk = staff(&mut store, "clerk", "王接待", Role::Clerk);
    let lawyer = staff(&mut store, "lawyer", "李律师", Role::Lawyer);
    let march = |day: u32| NaiveDate::from_ymd_opt(2025, 3, day).unwrap();
    let mut visits: Vec<(String, String, NaiveDate)> = Vec::new();
    let mut concluded: Vec<(String, NaiveDate)> = Vec::new();
    let (mut kept_used, mut n) = (0, 0);
    for step in 0..150 {
        let k = rng.random_range(0..8);
        if k < 2 || visits.is_empty() {
            n += 1;
            let on = march(rng.random_range(1..=31));
            let (kind, category) =
                [("claim", "城乡建设"), ("suggestion", "劳动和社会保障")][rng.random_range(0..2)];
            let at = format!("{on} 09:00");
            let (v, m) = register(
                &mut store,
                &clerk,
                Visit {
                    at: &at,
                    people: vec![person("张三", &id(&format!("14052119800115{n:03}")))],
                    head_count: 1,
                    kind,
                    category,
                    agency: "",
                },
            );
            visits.push((v, m, on));
        } else {
            let (v, m, on) = visits[rng.random_range(0..visits.len())].clone();
            let later = on + chrono::Days::new(rng.random_range(0..30));
            match k {
                2 | 3 => {
                    // Steps the procedure refuses (twice the same) change nothing.
                    let accept = MatterEvent::Accept {
                        at: later,
                        notice_no: None,
                    };
                    let _ = store.record_event(&m, &accept, &clerk.id, &cal());
                }
                4 | 5 => {
                    let conclude = MatterEvent::Conclude {
                        at: later,
                        opinion_summary: "已答复".into(),
                        details: Default::default(),
                    };
                    if store.record_event(&m, &conclude, &clerk.id, &cal()).is_ok() {
                        concluded.push((m, later));
                    }
                }
                6 if !concluded.is_empty() => {
                    let (m, on) = concluded[rng.random_range(0..concluded.len())].clone();
                    let input = EvaluationInput {
                        result: ["满意", "基本满意", "不满意"][rng.random_range(0..3)].into(),
                        evaluated_on: (on + chrono::Days::new(rng.random_range(0..30))).to_string(),
                        ..Default::default()
                    };
                    store
                        .evaluate_matter(&m, &input, &clerk.id, d("2025-06-30"), &cal())
                        .unwrap();
                }
                _ => {
                    let c = validate_consultation(
                        &ConsultationInput {
                            visit_id: v,
                            question: "怎么办？".into(),
                            advice: "可起诉。".into(),
                            legal_route: "诉讼".into(),
                            duration_minutes: rng.random_range(5..60),
                            ..Default::default()
                        },
                        ReferenceData::bundled(),
                    )
                    .unwrap();
                    store.add_consultation(&c, &lawyer.id).unwrap();
                }
            }
        }
        let from = march(rng.random_range(1..=31));
        // Periods reach the conclusion limits (60 days after acceptance), late or met.
        let to = from + chrono::Days::new(rng.random_range(0..100));
        let today = from + chrono::Days::new(rng.random_range(0..150));
        let mut query = StatsQuery::new(Period::new(from, to).unwrap(), today);
        if rng.random_bool(0.3) {
            query.hall = Some("140521".into());
        }
        let from_kept = store.statistics(&query, &cal()).unwrap();
        let before: u64 = store.kept_figure_days().unwrap();
        kept_used += u64::from(before > 0);
        store.forget_kept_figures().unwrap();
        let gaps_from_rows = store.completeness(&query, &cal()).unwrap();
        let from_rows = store.statistics(&query, &cal()).unwrap();
        assert_eq!(from_kept, from_rows, "step {step}: {query:?}");
        // The list behind each rate is its denominator, the counted ones its numerator.
        let r = &from_rows.rates;
        for (kind, rate) in [
            (RateKind::TimelyAcceptance, &r.timely_acceptance),
            (RateKind::OnTimeConclusion, &r.on_time_conclusion),
            (RateKind::Participation, &r.participation),
            (RateKind::Satisfaction, &r.satisfaction),
        ] {
            let list = store.rate_matters(&query, kind, &cal()).unwrap();
            let counted = list.iter().filter(|m| m.counted).count() as u32;
            assert_eq!(
                (counted, list.len() as u32),
                (rate.numerator, rate.denominator),
                "step {step}: {kind:?} {query:?}"
            );
        }
        // 有一录一 with the period's days kept reads only the days whose figures count a gap:
        // the same records as reading every day.
        let gaps_from_kept = store.completeness(&query, &cal()).unwrap();
        assert_eq!(gaps_from_kept, gaps_from_rows, "step {step}: {query:?}");
        // Days whose conclusions were evaluated after the figures' day count only the
        // evaluations until then, swapped in from their conclusions alone: the same as every
        // row of the period fed with those evaluations.
        let cal = cal();
        let mut acc = StatsAccumulator::new(query.period, query.today, &cal);
        store.feed_statistics(&query, &mut acc).unwrap();
        let direct = acc.finish();
        let rates = &from_kept.rates;
        assert_eq!(
            (&rates.participation, &rates.satisfaction),
            (&direct.total.rate(2), &direct.total.rate(3)),
            "step {step}: {query:?}"
        );
        let counted: Vec<u64> = rates.evaluations.iter().map(|c| c.count).collect();
        let fed: Vec<u64> = Evaluation::ALL
            .iter()
            .map(|e| direct.evaluations.get(e).copied().unwrap_or(0))
            .collect();
        assert_eq!(counted, fed, "step {step}: {query:?}");
        // The same from the matters and evaluations themselves: what the day index keeps
        // beside each conclusion (its hall, its evaluations) followed every write.
        let raw = xinfang_store::open_raw(&dir.path().join(xinfang_store::DB_FILE), None).unwrap();
        let own = conclusions_from_their_rows(&raw, &query, &cal);
        // Each write's queued matters were read again within the write (migration 0045).
        let queued: i64 = raw
            .query_row("SELECT count(*) FROM matter_stats_stale", [], |r| r.get(0))
            .unwrap();
        assert_eq!(queued, 0, "step {step}");
        assert_eq!(
            (&rates.participation, &rates.satisfaction),
            (&own.total.rate(2), &own.total.rate(3)),
            "step {step}: {query:?}"
        );
        let own: Vec<u64> = Evaluation::ALL
            .iter()
            .map(|e| own.evaluations.get(e).copied().unwrap_or(0))
            .collect();
        assert_eq!(counted, own, "step {step}: {query:?}");
    }
    // The kept figures were there to be used (not dropped by every write).
    assert!(kept_used > 120, "{kept_used}");
}

/// A period's conclusions read from the matters and their evaluations themselves (as the store
/// did before migration 0044 kept each conclusion's hall and evaluations in the day index).
const CONCLUSIONS_FROM_THEIR_ROWS: &str = "SELECT m.hall_code, s.concluded_on,
       (SELECT e.result FROM matter_evaluations e WHERE e.matter_id = m.id AND e.evaluated_on <= ?4
        ORDER BY e.evaluated_on DESC, e.created_at DESC LIMIT 1), m.id
     FROM matter_stats s JOIN matters m ON m.id = s.matter_id
     WHERE s.concluded_on BETWEEN ?1 AND ?2 AND (?3 IS NULL OR m.hall_code = ?3)";

/// The figures that only conclusions count (participation, satisfaction, the evaluations) of
/// the query, fed from [`CONCLUSIONS_FROM_THEIR_ROWS`].
fn conclusions_from_their_rows(
    conn: &rusqlite::Connection,
    q: &StatsQuery,
    cal: &HolidayCalendar,
) -> xinfang_core::tally::Figures {
    use xinfang_core::stats::Evaluation;
    use xinfang_core::tally::{ConcludedRow, StatsAccumulator};
    let (from, to) = (q.period.from.to_string(), q.period.to.to_string());
    let as_of = q.period.as_of(q.today).to_string();
    let mut acc = StatsAccumulator::new(q.period, q.today, cal);
    let mut stmt = conn.prepare(CONCLUSIONS_FROM_THEIR_ROWS).unwrap();
    let rows = stmt
        .query_map(rusqlite::params![from, to, q.hall, as_of], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (hall_code, concluded_on, evaluation) = row.unwrap();
        acc.concluded(&ConcludedRow {
            hall_code: &hall_code,
            concluded_on: concluded_on.parse().unwrap(),
            evaluation: evaluation.map(|e| Evaluation::parse(&e).unwrap()),
        });
    }
    acc.finish()
}

/// The hall's clerk 王接待.
fn clerk_of(h: &Hall) -> Staff {
    h.store
        .list_staff()
        .unwrap()
        .into_iter()
        .find(|s| s.username == "clerk")
        .unwrap()
}

/// The clerk registers one more visit (钱九, a claim) at `at`; returns its matter.
fn register_one_more(h: &mut Hall, at: &str) -> String {
    let clerk = clerk_of(h);
    let (_, matter) = register(
        &mut h.store,
        &clerk,
        Visit {
            at,
            people: vec![person("钱九", &id("14052119920303077"))],
            head_count: 1,
            kind: "claim",
            category: "城乡建设",
            agency: "",
        },
    );
    matter
}

/// A month's statistics keep its 31 days' figures; a visit registered on one of them drops that
/// day's alone, and the next statistics count it.
#[test]
fn a_write_drops_only_its_days_kept_figures() {
    let mut h = hall();
    let march = q("2025-03-01", "2025-03-31");
    let before = h.store.statistics(&march, &cal()).unwrap();
    assert_eq!(h.store.kept_figure_days().unwrap(), 31);
    register_one_more(&mut h, "2025-03-20 09:00");
    assert_eq!(h.store.kept_figure_days().unwrap(), 30);
    let after = h.store.statistics(&march, &cal()).unwrap();
    assert_eq!(after.visits.visits, before.visits.visits + 1);
    assert_eq!(h.store.kept_figure_days().unwrap(), 31);
}

/// A step that changes no figure keeps every kept day: starting the handling (a new status,
/// not closed) and an extension (an undone limit's new due day) write only the limit rows and
/// facts that changed. A conclusion drops the days it changes, and the statistics count it.
#[test]
fn a_step_that_changes_no_figure_keeps_the_kept_days() {
    let mut h = hall();
    let clerk = clerk_of(&h);
    let matter = register_one_more(&mut h, "2025-04-10 09:00");
    let accept = MatterEvent::Accept {
        at: d("2025-04-14"),
        notice_no: None,
    };
    event(&mut h.store, &matter, accept, &clerk);
    let april = q("2025-04-01", "2025-04-30");
    h.store.statistics(&april, &cal()).unwrap();
    assert_eq!(h.store.kept_figure_days().unwrap(), 30);

    let start = MatterEvent::StartHandling {
        at: d("2025-04-15"),
    };
    event(&mut h.store, &matter, start, &clerk);
    assert_eq!(h.store.kept_figure_days().unwrap(), 30, "handling started");
    let extend = MatterEvent::Extend {
        at: d("2025-04-20"),
        days: 30,
        approver: "县信访局局长".into(),
        reason: "案情复杂，需进一步调查核实。".into(),
    };
    event(&mut h.store, &matter, extend, &clerk);
    assert_eq!(h.store.kept_figure_days().unwrap(), 30, "extended");

    let conclude = MatterEvent::Conclude {
        at: d("2025-04-28"),
        opinion_summary: "已答复".into(),
        details: Default::default(),
    };
    event(&mut h.store, &matter, conclude, &clerk);
    assert!(h.store.kept_figure_days().unwrap() < 30, "concluded");
    let kept = h.store.statistics(&april, &cal()).unwrap();
    h.store.forget_kept_figures().unwrap();
    assert_eq!(h.store.statistics(&april, &cal()).unwrap(), kept);
}

/// The desk's keeper adds up the days a sync dropped before anyone asks: the newest month
/// first, at most the months it is given per turn, only the days before today (every
/// registration drops today's again) and from the first day with rows, and nothing again once
/// kept; the statistics then read kept days and count what they counted from the rows.
#[test]
fn the_keeper_adds_up_the_days_not_kept_newest_month_first() {
    let mut h = hall();
    let today = d("2025-06-30");
    let whole = q("2025-03-03", "2025-06-29");
    let from_rows = h.store.statistics(&whole, &cal()).unwrap();
    h.store.forget_kept_figures().unwrap();

    // June until the 29th.
    let turn = h.store.keep_due_figures(today, &cal(), 1).unwrap();
    assert_eq!((turn.days, turn.months_left), (29, 3));
    assert_eq!(h.store.kept_figure_days().unwrap(), 29);
    let june = q("2025-06-01", "2025-06-29");
    h.store.statistics(&june, &cal()).unwrap();
    assert_eq!(h.store.kept_figure_days().unwrap(), 29, "June was kept");

    // May (31), April (30) and March from the 3rd, the first visit (29).
    let turn = h.store.keep_due_figures(today, &cal(), 12).unwrap();
    assert_eq!((turn.days, turn.months_left), (90, 0));
    assert_eq!(h.store.kept_figure_days().unwrap(), 119);
    let turn = h.store.keep_due_figures(today, &cal(), 12).unwrap();
    assert_eq!((turn.days, turn.months_left), (0, 0));

    assert_eq!(h.store.statistics(&whole, &cal()).unwrap(), from_rows);
    assert_eq!(
        h.store.kept_figure_days().unwrap(),
        119,
        "the statistics added up no day"
    );

    // A visit registered on 10 May drops that day alone: the next turn adds it up again.
    register_one_more(&mut h, "2025-05-10 09:00");
    assert_eq!(h.store.kept_figure_days().unwrap(), 118);
    let turn = h.store.keep_due_figures(today, &cal(), 12).unwrap();
    assert_eq!((turn.days, turn.months_left), (1, 0));
    let stats = h.store.statistics(&whole, &cal()).unwrap();
    assert_eq!(stats.visits.visits, from_rows.visits.visits + 1);
    h.store.forget_kept_figures().unwrap();
    assert_eq!(h.store.statistics(&whole, &cal()).unwrap(), stats);

    // Today is left to the statistics: its visits drop it again all day.
    register_one_more(&mut h, "2025-06-30 09:00");
    h.store.forget_kept_figures().unwrap();
    h.store.keep_due_figures(today, &cal(), 12).unwrap();
    assert_eq!(h.store.kept_figure_days().unwrap(), 119);
}

/// An empty store has nothing to keep.
#[test]
fn the_keeper_of_an_empty_store_keeps_nothing() {
    let dir = TempDir::new().unwrap();
    let store = Store::create_unencrypted(dir.path(), "140521").unwrap();
    let turn = store.keep_due_figures(d("2025-06-30"), &cal(), 12).unwrap();
    assert_eq!((turn.days, turn.months_left), (0, 0));
    assert_eq!(store.kept_figure_days().unwrap(), 0);
}

/// `verify` checks what the triggers keep for the statistics and the due list: a limit whose
/// matter's status it no longer carries, a visit's visitor missing from `visit_people`.
#[test]
fn verify_finds_derived_rows_out_of_step() {
    let h = hall();
    assert!(h.store.verify().unwrap().ok());
    let raw = xinfang_store::open_raw(h.store.path(), h.store.data_key().as_ref()).unwrap();
    raw.execute_batch(
        "UPDATE matter_deadlines SET status = 'unknown'
          WHERE (matter_id, kind) IN (SELECT matter_id, kind FROM matter_deadlines LIMIT 1);
         DELETE FROM visit_people WHERE visit_date = '2025-03-03';",
    )
    .unwrap();
    let problems = h.store.verify().unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("期限索引不一致：1 条")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("来访人数索引不一致：1 条")),
        "{problems:?}"
    );
}
