//! `xinfang seed`: realistic synthetic visitors and visits, deterministic for a seed.
//!
//! Visitor `i` and visit `j` are each drawn from their own RNG stream, so the data does not
//! depend on batch sizes, and ID numbers are unique by construction (a bijection of `i`).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use xinfang_core::id::{IdType, Sex, resident_id_check_char};
use xinfang_core::reference::{AppealKind, ReferenceData};
use xinfang_core::visit::{ValidVisit, ValidVisitor};
use xinfang_store::{Staff, Store};

use crate::output::Failure;

#[derive(Debug, Serialize)]
pub struct SeedSummary {
    pub visitors: usize,
    pub visits: usize,
    /// With `--lifecycle`: matter events recorded, evaluations, backlog cases flagged.
    pub events: usize,
    pub evaluations: usize,
    pub backlog_cases: usize,
}

/// Jincheng's county units (DOMAIN.md §1) and the city.
const REGIONS: [&str; 7] = [
    "140500", "140502", "140521", "140522", "140524", "140525", "140581",
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹",
    "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛",
    "叶", "阎", "单", "欧阳", "司马", "尉迟", "上官",
];
const GIVEN: &str = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰春梅海燕文斌晓东小龙鹏飞雪梅俊杰丹凤金花子轩浩然宇轩欣怡梓涵一诺";
/// Characters outside the BMP (CJK Extension B) that real names carry.
const RARE: [&str; 5] = ["𠮷", "𡈼", "𤭢", "𠀾", "𪚥"];
const APPEALS: &[(&str, &str)] = &[
    (
        "劳动和社会保障",
        "工程完工后包工头拖欠农民工工资，多次讨要未果，请求协调支付。",
    ),
    (
        "城乡建设",
        "小区物业未经业主同意提高物业费，请求有关部门核查。",
    ),
    (
        "自然资源",
        "村集体土地被占用建厂，补偿款未足额发放，请求依法补偿。",
    ),
    (
        "农村农业",
        "土地承包经营权流转合同到期后对方拒不归还承包地。",
    ),
    (
        "卫生健康",
        "对医院诊疗过程有异议，认为存在医疗过错，要求赔偿。",
    ),
    ("教育", "子女入学划片不合理，请求重新核定学区。"),
    ("民政", "申请最低生活保障被驳回，认为家庭情况符合条件。"),
    ("生态环境", "附近企业夜间排放异味气体，影响居民生活。"),
    ("政法", "邻里宅基地纠纷经村委会调解未果，请求处理。"),
    ("市场监管", "购买的商品存在质量问题，商家拒绝退换。"),
];
const STREETS: &[&str] = &[
    "凤台街",
    "泽州路",
    "红星街",
    "书院街",
    "文昌街",
    "景西路",
    "太行路",
];

fn rng_for(seed: u64, stream: u64, i: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng.set_word_pos(u128::from(i) * 64);
    rng
}

/// The 17-digit body of visitor `i`'s ID: region, birth date, sequence; unique for each `i`.
fn id_body(i: u64) -> (String, NaiveDate, u64) {
    const DAYS: u64 = 24_000; // 1940-01-01 + ~65 years
    const SPACE: u64 = REGIONS.len() as u64 * 1000 * DAYS;
    let k = (i.wrapping_mul(7919).wrapping_add(12_345)) % SPACE;
    let region = REGIONS[(k % REGIONS.len() as u64) as usize];
    let seq = (k / REGIONS.len() as u64) % 1000;
    let day = k / (REGIONS.len() as u64 * 1000);
    let birth =
        NaiveDate::from_ymd_opt(1940, 1, 1).expect("valid date") + Duration::days(day as i64);
    (
        format!("{region}{}{seq:03}", birth.format("%Y%m%d")),
        birth,
        seq,
    )
}

pub fn visitor(seed: u64, i: u64) -> ValidVisitor {
    let mut rng = rng_for(seed, 1, i);
    let (body, birth, seq) = id_body(i);
    let check = resident_id_check_char(&body).expect("17 digits");
    let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
    let given: Vec<char> = GIVEN.chars().collect();
    let mut name = surname.to_owned();
    for _ in 0..rng.random_range(1..=2) {
        name.push(given[rng.random_range(0..given.len())]);
    }
    if rng.random_ratio(7, 1000) {
        name.push_str(RARE[rng.random_range(0..RARE.len())]);
    }
    let phone = format!(
        "1{}{:09}",
        rng.random_range(3..=9),
        rng.random_range(0..1_000_000_000u64)
    );
    let address = format!(
        "山西省晋城市{}{}号",
        STREETS[rng.random_range(0..STREETS.len())],
        rng.random_range(1..300)
    );
    ValidVisitor {
        name,
        id_type: IdType::ResidentId,
        id_number: format!("{body}{check}"),
        sex: Some(if seq % 2 == 1 { Sex::Male } else { Sex::Female }),
        birth_date: Some(birth),
        phone: Some(phone),
        address: Some(address),
        ethnicity: None,
        occupation: None,
    }
}

fn visit(
    seed: u64,
    j: u64,
    visitors: u64,
    visits: u64,
    refdata: &ReferenceData,
    start: DateTime<FixedOffset>,
) -> ValidVisit {
    let mut rng = rng_for(seed, 2, j);
    // The first `visitors` visits bring each visitor once; the rest are returns.
    let first = if j < visitors {
        j
    } else {
        rng.random_range(0..visitors)
    };
    let mut people = vec![visitor(seed, first)];
    let mut head_count = 1;
    if rng.random_ratio(3, 100) {
        for _ in 0..rng.random_range(1..=4) {
            let other = rng.random_range(0..visitors);
            if other != first {
                people.push(visitor(seed, other));
            }
        }
        head_count = people.len() as u32 + rng.random_range(0..20);
    }
    let representatives = (0..people.len().min(5)).collect();
    let (category, appeal) = APPEALS[rng.random_range(0..APPEALS.len())];
    let appeal_kind = match rng.random_range(0..20) {
        0 => AppealKind::Report,
        1..=2 => AppealKind::Suggestion,
        _ => AppealKind::Claim,
    };
    // Spread visits evenly over three years, in order, during office hours.
    let day = (j * 1095) / visits.max(1);
    let at = start + Duration::days(day as i64) + Duration::minutes(rng.random_range(0..480));
    ValidVisit {
        visited_at: at,
        visitors: people,
        head_count,
        representatives,
        appeal: appeal.to_owned(),
        appeal_kind,
        category_code: refdata
            .category(category)
            .map(|c| c.code.clone())
            .unwrap_or_default(),
        agency: String::new(),
        place_code: Some(REGIONS[rng.random_range(0..REGIONS.len())].to_owned()),
        warnings: Vec::new(),
    }
}

pub fn run(
    store: &mut Store,
    me: &Staff,
    visitors: usize,
    visits: usize,
    seed: u64,
    lifecycle: Option<NaiveDate>,
    progress: bool,
) -> Result<SeedSummary, Failure> {
    let visits = visits.max(visitors);
    let refdata = ReferenceData::bundled();
    let cst = xinfang_core::clock::cst();
    let start = cst
        .with_ymd_and_hms(2023, 12, 1, 8, 30, 0)
        .single()
        .expect("valid time");
    let bar = if progress {
        ProgressBar::new(visits as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} 次来访 {per_sec} 预计剩余 {eta}")
            .expect("valid template"),
    );
    const BATCH: usize = 5_000;
    let mut j = 0;
    let mut matters: Vec<SeededMatter> = Vec::new();
    while j < visits {
        let end = (j + BATCH).min(visits);
        let batch: Vec<ValidVisit> = (j..end)
            .map(|k| {
                visit(
                    seed,
                    k as u64,
                    visitors as u64,
                    visits as u64,
                    refdata,
                    start,
                )
            })
            .collect();
        let registered = store.register_visits(&batch, &me.id)?;
        if lifecycle.is_some() {
            matters.extend(
                registered
                    .into_iter()
                    .zip(&batch)
                    .zip(j..end)
                    .map(|((r, v), k)| SeededMatter {
                        id: r.matter_id,
                        j: k as u64,
                        received: v.visited_at.date_naive(),
                        kind: v.appeal_kind,
                    }),
            );
        }
        bar.inc((end - j) as u64);
        j = end;
    }
    bar.finish_and_clear();
    let mut summary = SeedSummary {
        visitors,
        visits,
        events: 0,
        evaluations: 0,
        backlog_cases: 0,
    };
    if let Some(today) = lifecycle {
        // A thousand matters' steps per commit: one commit per step wrote the same pages again
        // for every step (issue 21: a seed of 900,000 visits in under 10 minutes).
        let cal = store.holiday_calendar();
        let bar = if progress {
            ProgressBar::new(matters.len() as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} 个事项的办理环节 {per_sec} 预计剩余 {eta}",
            )
            .expect("valid template"),
        );
        store.without_fsync(|store| {
            for chunk in matters.chunks(1_000) {
                bar.inc(chunk.len() as u64);
                store.in_one_transaction(|store| {
                    chunk
                        .iter()
                        .try_for_each(|m| advance(store, me, m, seed, today, &cal, &mut summary))
                })?;
            }
            Ok(())
        })?;
        bar.finish_and_clear();
    }
    Ok(summary)
}

/// A seeded visit's matter, to be taken through its steps.
struct SeededMatter {
    id: String,
    j: u64,
    received: NaiveDate,
    kind: AppealKind,
}

const APPROVERS: [&str; 3] = ["县信访局局长", "县人民政府副县长", "县人社局局长"];
const LEADERS: [&str; 4] = ["李副县长", "王副书记", "张常务副县长", "赵政法委书记"];

/// What a hall would have recorded on one matter by `today`.
#[derive(Default)]
struct Plan {
    steps: Vec<xinfang_core::matter::MatterEvent>,
    /// Flagged as backlog, and cleared if it was by `today`.
    backlog: Option<(
        xinfang_core::backlog::FlagInput,
        Option<xinfang_core::backlog::ClearInput>,
    )>,
    evaluation: Option<xinfang_core::stats::EvaluationInput>,
}

/// Takes one matter through the steps a hall would have recorded by `today`, its steps in one
/// go (one derivation of the matter instead of one per step).
fn advance(
    store: &mut Store,
    me: &Staff,
    m: &SeededMatter,
    seed: u64,
    today: NaiveDate,
    cal: &xinfang_core::calendar::HolidayCalendar,
    n: &mut SeedSummary,
) -> xinfang_store::Result<()> {
    let plan = plan(m, seed, today);
    if !plan.steps.is_empty() {
        store.record_events(&m.id, &plan.steps, &me.id, cal)?;
        n.events += plan.steps.len();
    }
    if let Some((flag, clear)) = &plan.backlog {
        let case = store.flag_backlog(&m.id, flag, &me.id)?;
        n.backlog_cases += 1;
        if let Some(clear) = clear {
            store.clear_backlog(&case, clear, &me.id)?;
        }
    }
    if let Some(input) = &plan.evaluation {
        store.evaluate_matter(&m.id, input, &me.id, today, cal)?;
        n.evaluations += 1;
    }
    Ok(())
}

/// The steps, as the legal engine allows them: a decision within (now and then past) 15 days,
/// most accepted, some refused or guided to a legal route; a conclusion within (now and then
/// past) 60 days, a few extended once; most concluded matters evaluated; some old open ones
/// flagged as backlog.
fn plan(m: &SeededMatter, seed: u64, today: NaiveDate) -> Plan {
    use xinfang_core::backlog::{ClearInput, FlagInput};
    use xinfang_core::matter::MatterEvent as E;
    use xinfang_core::stats::EvaluationInput;

    let mut rng = rng_for(seed, 3, m.j);
    let day = |d: NaiveDate, n: i64| d + Duration::days(n);
    let mut plan = Plan::default();
    let decided = if rng.random_ratio(1, 25) {
        day(m.received, rng.random_range(16..=25))
    } else {
        day(m.received, rng.random_range(1..=13))
    };
    if decided > today {
        return plan;
    }
    let roll = rng.random_range(0..100);
    if roll < 6 {
        let reason = "所诉事项已经由人民法院受理，依法不予受理，已告知来访人向人民法院了解进展。";
        plan.steps.push(E::Reject {
            at: decided,
            reason: reason.into(),
        });
        return plan;
    }
    if roll < 16 && m.kind == AppealKind::Claim {
        let routes = &ReferenceData::bundled().legal_routes;
        let route_code = routes[rng.random_range(0..routes.len())].code.clone();
        plan.steps.push(E::GuideToLegalRoute {
            at: decided,
            route_code,
        });
        return plan;
    }
    plan.steps.push(E::Accept {
        at: decided,
        notice_no: None,
    });
    plan.steps.push(E::StartHandling { at: decided });
    let extended = rng.random_ratio(2, 25);
    let concluded = match (extended, rng.random_ratio(1, 30)) {
        (true, _) => day(decided, rng.random_range(62..=85)),
        (false, true) => day(decided, rng.random_range(62..=75)),
        (false, false) => day(decided, rng.random_range(10..=55)),
    };
    if extended {
        let at = day(decided, 50);
        if at > today {
            return plan;
        }
        let approver = APPROVERS[rng.random_range(0..APPROVERS.len())].into();
        let reason = "案情复杂，涉及多个部门，需进一步调查核实。".into();
        plan.steps.push(E::Extend {
            at,
            days: 30,
            approver,
            reason,
        });
    }
    // A few old matters stay open: the hall's backlog, each with a leader and a plan.
    if rng.random_ratio(1, 60) {
        let flagged = day(decided, 70);
        if flagged <= today {
            let leader = LEADERS[rng.random_range(0..LEADERS.len())].to_owned();
            let flag = FlagInput {
                leader,
                plan: "包联领导约见当事人，召集相关部门联合调查，依法依规提出化解方案。".into(),
                target_date: day(flagged, 90).to_string(),
                flagged_on: flagged.to_string(),
            };
            let cleared = day(flagged, rng.random_range(30..=150));
            let clear = (cleared <= today).then(|| ClearInput {
                cleared_on: cleared.to_string(),
                summary: "经包联领导协调，当事人诉求已依法解决，签订息访协议。".into(),
            });
            plan.backlog = Some((flag, clear));
        }
        return plan;
    }
    if concluded > today {
        return plan;
    }
    let opinion_summary = "经调查核实，已督促有关单位依法处理，并书面答复来访人。".into();
    plan.steps.push(E::Conclude {
        at: concluded,
        opinion_summary,
        details: Default::default(),
    });
    let evaluated = day(concluded, rng.random_range(0..=10));
    if evaluated <= today && rng.random_ratio(17, 20) {
        let result = match rng.random_range(0..100) {
            0..75 => "满意",
            75..93 => "基本满意",
            _ => "不满意",
        };
        let channel = if rng.random_bool(0.5) {
            "desk"
        } else {
            "phone"
        };
        plan.evaluation = Some(EvaluationInput {
            result: result.into(),
            channel: channel.into(),
            evaluated_on: evaluated.to_string(),
            note: String::new(),
        });
    }
    plan
}
