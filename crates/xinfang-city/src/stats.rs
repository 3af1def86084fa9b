//! City-wide statistics (市级统计) from the synced records: per hall and for the city, the visit
//! counts, consultations and mediations, overdue matters and the four audited rates, for a
//! period. The storage backend loads the facts ([`StatsFacts`], no SQL here); which side of a
//! rate a matter falls on is decided by `xinfang_core::stats`, exactly as on the desk, so a hall's
//! figures on the city server equal those on its desk once it has synced.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::MatterState;
use xinfang_core::reference::{AppealKind, ReferenceData};
use xinfang_core::stats::{self, Evaluation, Period, Rate};

use crate::api::{AppState, Failure};
use crate::storage::{Hall, Storage, StorageError};

/// One synced visit, as the statistics need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitFact {
    pub hall_code: String,
    /// The local day of the visit, `YYYY-MM-DD`.
    pub date: String,
    pub head_count: u64,
    pub is_repeat: bool,
    pub appeal_kind: String,
    pub category_code: String,
}

/// One synced matter: its hall, the day it was received and its state (JSON of
/// `xinfang_core::matter::MatterState`; none before its first step).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterFact {
    pub id: String,
    pub hall_code: String,
    pub received_on: String,
    pub state: Option<String>,
}

/// One evaluation of a matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationFact {
    pub matter_id: String,
    pub result: String,
    pub evaluated_on: String,
    pub created_at: String,
}

/// A consultation or a mediation, with the hall and day of its visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskFact {
    pub hall_code: String,
    pub visit_date: String,
    /// Mediations: `agreed`, `not_agreed`, `terminated`; consultations: empty.
    pub outcome: String,
}

/// What a backend loads for [`compute`]: the visits of the period, every matter and every
/// evaluation (a rate counts matters by the day of their step, not of their visit), and the
/// consultations and mediations of the period's visits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFacts {
    pub halls: Vec<Hall>,
    pub visits: Vec<VisitFact>,
    pub matters: Vec<MatterFact>,
    pub evaluations: Vec<EvaluationFact>,
    pub consultations: Vec<DeskFact>,
    pub mediations: Vec<DeskFact>,
}

/// A rate: numerator, denominator and the percentage with two decimals (null when nothing was
/// due: 0/0 is "no data", not 0% or 100%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CityRate {
    pub numerator: u32,
    pub denominator: u32,
    pub percent: Option<f64>,
}

impl From<Rate> for CityRate {
    fn from(r: Rate) -> Self {
        CityRate {
            numerator: r.numerator,
            denominator: r.denominator,
            percent: r.percent,
        }
    }
}

/// The figures of one hall, or of the whole city.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HallStats {
    /// GB/T 2260 code; `140500`-style city code for the city total.
    pub hall_code: String,
    pub hall_name: String,
    /// 来访批次
    pub visits: u64,
    /// 来访人次 (sum of head counts)
    pub people: u64,
    /// 初次访
    pub first_visits: u64,
    /// 重复访
    pub repeat_visits: u64,
    /// 集体访 (5 people or more)
    pub group_visits: u64,
    pub group_people: u64,
    /// Matters received in the period.
    pub matters_received: u64,
    /// 法律咨询 (of the period's visits)
    pub consultations: u64,
    /// 人民调解 (of the period's visits)
    pub mediations: u64,
    /// 达成协议
    pub mediations_agreed: u64,
    /// Matters not closed with a limit run out undone, on `as_of`.
    pub overdue_matters: u64,
    /// 及时受理率
    pub timely_acceptance: CityRate,
    /// 按期办结率
    pub on_time_conclusion: CityRate,
    /// 参评率
    pub participation: CityRate,
    /// 满意率
    pub satisfaction: CityRate,
}

/// One line of a breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CityCount {
    pub key: String,
    pub label: String,
    pub count: u64,
}

/// City-wide statistics of a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CityStats {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
    /// The day the figures are taken: limits running out after it are not yet late.
    pub as_of: String,
    /// Every hall the server knows, in code order (halls without records show zeros).
    pub halls: Vec<HallStats>,
    /// The whole city.
    pub total: HallStats,
    /// Visits by appeal kind (建议意见类 / 检举控告类 / 申诉求决类), city-wide.
    pub by_appeal_kind: Vec<CityCount>,
    /// Visits by category, most first, city-wide.
    pub by_category: Vec<CityCount>,
    /// Visits by month (`YYYY-MM`), city-wide.
    pub by_month: Vec<CityCount>,
}

/// Query of `GET /v1/city/stats`.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
pub struct CityStatsQuery {
    /// First day, YYYY-MM-DD.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: String,
    /// Last day, YYYY-MM-DD (at most ten years after `from`).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: String,
}

#[derive(Default)]
struct Tally {
    visits: u64,
    people: u64,
    first: u64,
    repeat: u64,
    group: u64,
    group_people: u64,
    matters: u64,
    consultations: u64,
    mediations: u64,
    agreed: u64,
    overdue: u64,
    /// (numerator, denominator) of the four rates.
    rates: [(u32, u32); 4],
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.visits += o.visits;
        self.people += o.people;
        self.first += o.first;
        self.repeat += o.repeat;
        self.group += o.group;
        self.group_people += o.group_people;
        self.matters += o.matters;
        self.consultations += o.consultations;
        self.mediations += o.mediations;
        self.agreed += o.agreed;
        self.overdue += o.overdue;
        for (a, b) in self.rates.iter_mut().zip(o.rates) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }

    fn count(&mut self, i: usize, side: Option<bool>) {
        if let Some(counted) = side {
            self.rates[i].1 += 1;
            if counted {
                self.rates[i].0 += 1;
            }
        }
    }

    fn into_stats(self, hall_code: &str, hall_name: &str) -> HallStats {
        let rate = |i: usize| CityRate::from(Rate::new(self.rates[i].0, self.rates[i].1));
        HallStats {
            hall_code: hall_code.to_owned(),
            hall_name: hall_name.to_owned(),
            visits: self.visits,
            people: self.people,
            first_visits: self.first,
            repeat_visits: self.repeat,
            group_visits: self.group,
            group_people: self.group_people,
            matters_received: self.matters,
            consultations: self.consultations,
            mediations: self.mediations,
            mediations_agreed: self.agreed,
            overdue_matters: self.overdue,
            timely_acceptance: rate(0),
            on_time_conclusion: rate(1),
            participation: rate(2),
            satisfaction: rate(3),
        }
    }
}

type Halls = BTreeMap<String, (String, Tally)>;

/// The tally of a hall; a hall the server does not list yet is named by its code.
fn tally<'a>(halls: &'a mut Halls, code: &str) -> &'a mut Tally {
    &mut halls
        .entry(code.to_owned())
        .or_insert_with(|| (code.to_owned(), Tally::default()))
        .1
}

fn breakdown(map: BTreeMap<String, u64>, label: impl Fn(&str) -> String) -> Vec<CityCount> {
    map.into_iter()
        .map(|(key, count)| CityCount {
            label: label(&key),
            key,
            count,
        })
        .collect()
}

/// The statistics of `period` from the facts, with the figures taken on `today` (capped at the
/// day after the period, as on the desk). `city_code`/`city_name` name the total.
pub fn compute(
    facts: &StatsFacts,
    period: &Period,
    today: NaiveDate,
    cal: &HolidayCalendar,
    city: (&str, &str),
) -> CityStats {
    let as_of = period.as_of(today);
    let (from, to) = (period.from.to_string(), period.to.to_string());
    let in_period = |d: &str| d >= from.as_str() && d <= to.as_str();
    let mut halls: Halls = facts
        .halls
        .iter()
        .map(|h| (h.code.clone(), (h.name.clone(), Tally::default())))
        .collect();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    let mut months: BTreeMap<String, u64> = BTreeMap::new();
    let group_min = u64::from(stats::GROUP_VISIT_MIN_PEOPLE);
    for v in facts.visits.iter().filter(|v| in_period(&v.date)) {
        let t = tally(&mut halls, &v.hall_code);
        t.visits += 1;
        t.people += v.head_count;
        if v.is_repeat {
            t.repeat += 1;
        } else {
            t.first += 1;
        }
        if v.head_count >= group_min {
            t.group += 1;
            t.group_people += v.head_count;
        }
        *kinds.entry(v.appeal_kind.clone()).or_default() += 1;
        *categories.entry(v.category_code.clone()).or_default() += 1;
        *months
            .entry(v.date.get(..7).unwrap_or("").to_owned())
            .or_default() += 1;
    }
    for c in facts
        .consultations
        .iter()
        .filter(|c| in_period(&c.visit_date))
    {
        tally(&mut halls, &c.hall_code).consultations += 1;
    }
    for m in facts.mediations.iter().filter(|m| in_period(&m.visit_date)) {
        let t = tally(&mut halls, &m.hall_code);
        t.mediations += 1;
        if m.outcome == "agreed" {
            t.agreed += 1;
        }
    }
    // The latest evaluation of each matter up to the day the figures are taken.
    let as_of_text = as_of.to_string();
    let mut evaluations: Vec<&EvaluationFact> = facts
        .evaluations
        .iter()
        .filter(|e| e.evaluated_on.as_str() <= as_of_text.as_str())
        .collect();
    evaluations.sort_by(|a, b| {
        (a.evaluated_on.as_str(), a.created_at.as_str())
            .cmp(&(b.evaluated_on.as_str(), b.created_at.as_str()))
    });
    let mut latest: BTreeMap<&str, Evaluation> = BTreeMap::new();
    for e in evaluations {
        if let Some(r) = Evaluation::parse(&e.result) {
            latest.insert(e.matter_id.as_str(), r);
        }
    }
    for m in &facts.matters {
        let Ok(received_on) = m.received_on.parse::<NaiveDate>() else {
            tracing::warn!(matter_id = %m.id, "matter without a valid received_on skipped");
            continue;
        };
        let state = match m.state.as_deref().map(serde_json::from_str::<MatterState>) {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                tracing::warn!(matter_id = %m.id, error = %e, "matter state unreadable, skipped");
                continue;
            }
            None => MatterState::registered(received_on, cal),
        };
        let t = tally(&mut halls, &m.hall_code);
        if period.contains(received_on) {
            t.matters += 1;
        }
        if !stats::overdue_deadlines(&state, as_of).is_empty() {
            t.overdue += 1;
        }
        t.count(0, stats::timely_acceptance(&state, period, as_of));
        t.count(1, stats::on_time_conclusion(&state, period, as_of));
        let concluded = stats::concluded_on(&state).filter(|d| period.contains(*d));
        let evaluation = latest.get(m.id.as_str());
        t.count(2, concluded.map(|_| evaluation.is_some()));
        t.count(3, concluded.and(evaluation).map(|e| e.is_satisfied()));
    }
    let mut total = Tally::default();
    let halls: Vec<HallStats> = halls
        .into_iter()
        .map(|(code, (name, t))| {
            total.add(&t);
            t.into_stats(&code, &name)
        })
        .collect();
    let mut by_category = breakdown(categories, |code| {
        ReferenceData::bundled()
            .categories
            .iter()
            .find(|c| c.code == code)
            .map_or_else(|| code.to_owned(), |c| c.name.clone())
    });
    by_category.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    CityStats {
        from,
        to,
        as_of: as_of_text,
        halls,
        total: total.into_stats(city.0, city.1),
        by_appeal_kind: breakdown(kinds, |k| {
            AppealKind::parse(k).map_or_else(|| k.to_owned(), |a| a.label_zh().to_owned())
        }),
        by_category,
        by_month: breakdown(months, str::to_owned),
    }
}

/// City-wide statistics of a period: per hall and in total (city administrator).
#[utoipa::path(get, path = "/v1/city/stats", tag = "city", security(("bearer" = [])),
    params(CityStatsQuery),
    responses(
        (status = 200, description = "Figures per hall and for the city", body = CityStats),
        (status = 400, description = "Missing query parameter", body = xinfang_sync::wire::ApiError),
        (status = 401, description = "Missing or unknown admin token", body = xinfang_sync::wire::ApiError),
        (status = 403, description = "A device token: the city view is for the administrator", body = xinfang_sync::wire::ApiError),
        (status = 422, description = "A date is malformed, the period is reversed or longer than ten years", body = xinfang_sync::wire::ApiError),
    ))]
pub async fn city_stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<CityStatsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CityStats>, Failure> {
    crate::api::admin(&state, &headers).await?;
    let Query(q) = query.map_err(|_| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "period_missing",
            "请用查询参数 from 和 to 给出统计区间，例如 ?from=2025-03-01&to=2025-03-31。",
        )
    })?;
    let period = Period::parse(&q.from, &q.to).map_err(|e| {
        let messages: Vec<String> = e.0.iter().map(|f| f.message.clone()).collect();
        let code =
            e.0.first()
                .map_or("period_invalid", |f| match f.code.as_str() {
                    "period_reversed" => "period_reversed",
                    "period_too_long" => "period_too_long",
                    _ => "date_format",
                });
        Failure::new(StatusCode::UNPROCESSABLE_ENTITY, code, messages.join(""))
    })?;
    let storage = state.storage.clone();
    let today = today_cst();
    Ok(Json(
        crate::api::blocking(move || load(storage.as_ref(), &period, today)).await?,
    ))
}

/// Today in China Standard Time (UTC+8), the day the figures are taken.
pub fn today_cst() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset"))
        .date_naive()
}

/// The city's own entry among the halls (code ending in `00`, e.g. 140500 晋城市), else
/// (`city`, 全市): what names the city total.
pub fn city_of(halls: &[Hall]) -> (String, String) {
    halls
        .iter()
        .find(|h| h.code.ends_with("00"))
        .map(|h| (h.code.clone(), h.name.clone()))
        .unwrap_or_else(|| ("city".to_owned(), "全市".to_owned()))
}

/// The city statistics of `period` from `storage`, taken on `today`: what `GET /v1/city/stats`
/// answers and what `xinfang-city report` prints.
pub fn load(
    storage: &dyn Storage,
    period: &Period,
    today: NaiveDate,
) -> Result<CityStats, StorageError> {
    let facts = storage.stats_facts(&period.from.to_string(), &period.to.to_string())?;
    let cal = HolidayCalendar::bundled();
    let city = city_of(&facts.halls);
    Ok(compute(
        &facts,
        period,
        today,
        &cal,
        (&city.0, &format!("{}（全市合计）", city.1)),
    ))
}
