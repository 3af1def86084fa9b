//! City-wide statistics (市级统计) from the synced records: per hall and for the city, the visit
//! counts, consultations and mediations, overdue matters and the four audited rates, for a
//! period. The storage backend feeds the period's rows (no SQL here) to the one statistics
//! function, `xinfang_core::tally::StatsAccumulator`, which the desk feeds too, so a hall's
//! figures on the city server equal those on its desk once it has synced.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::reference::{AppealKind, ReferenceData};
use xinfang_core::stats::{Period, Rate};
use xinfang_core::tally::{Figures, HallFigures};

use crate::api::{AppState, Failure};
use crate::storage::{Hall, Storage, StorageError};

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
    /// 越级访: visits to the hall about a place, or a matter being handled, below it.
    pub skip_level_visits: u64,
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

fn hall_stats(f: &HallFigures, hall_code: &str, hall_name: &str) -> HallStats {
    let rate = |i: usize| CityRate::from(f.rate(i));
    HallStats {
        hall_code: hall_code.to_owned(),
        hall_name: hall_name.to_owned(),
        visits: f.visits,
        people: f.people,
        first_visits: f.first_visits,
        repeat_visits: f.repeat_visits,
        skip_level_visits: f.skip_level_visits,
        group_visits: f.group_visits,
        group_people: f.group_people,
        matters_received: f.matters_received,
        consultations: f.consultations,
        mediations: f.mediations,
        mediations_agreed: f.mediations_agreed,
        overdue_matters: f.overdue_matters,
        timely_acceptance: rate(0),
        on_time_conclusion: rate(1),
        participation: rate(2),
        satisfaction: rate(3),
    }
}

fn breakdown(map: &BTreeMap<String, u64>, label: impl Fn(&str) -> String) -> Vec<CityCount> {
    map.iter()
        .map(|(key, count)| CityCount {
            label: label(key),
            key: key.clone(),
            count: *count,
        })
        .collect()
}

/// The city's figures from the one statistics function's: every hall the server knows (zeros
/// for a hall without records; a hall with records that the server does not list is named by
/// its code), the total named `city`.
pub fn city_stats_of(f: &Figures, halls: &[Hall], city: (&str, &str)) -> CityStats {
    let mut names: BTreeMap<&str, &str> = halls
        .iter()
        .map(|h| (h.code.as_str(), h.name.as_str()))
        .collect();
    for code in f.halls.keys() {
        names.entry(code.as_str()).or_insert(code.as_str());
    }
    let empty = HallFigures::default();
    let per_hall = names
        .iter()
        .map(|(code, name)| hall_stats(f.halls.get(*code).unwrap_or(&empty), code, name))
        .collect();
    let mut by_category = breakdown(&f.by_category, |code| {
        ReferenceData::bundled()
            .categories
            .iter()
            .find(|c| c.code == code)
            .map_or_else(|| code.to_owned(), |c| c.name.clone())
    });
    by_category.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    CityStats {
        from: f.period.from.to_string(),
        to: f.period.to.to_string(),
        as_of: f.as_of.to_string(),
        halls: per_hall,
        total: hall_stats(&f.total, city.0, city.1),
        by_appeal_kind: breakdown(&f.by_appeal_kind, |k| {
            AppealKind::parse(k).map_or_else(|| k.to_owned(), |a| a.label_zh().to_owned())
        }),
        by_category,
        by_month: breakdown(&f.by_month, str::to_owned),
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
    let period = parse_period(&q.from, &q.to)?;
    let storage = state.storage.clone();
    let today = state.settings.clock.today();
    Ok(Json(
        crate::api::blocking(move || Ok(load(storage.as_ref(), &period, today)?)).await?,
    ))
}

/// A period of the city's views from its query parameters; a bad one is a 422 with the
/// core's Chinese messages.
pub(crate) fn parse_period(from: &str, to: &str) -> Result<Period, Failure> {
    Period::parse(from, to).map_err(|e| {
        let messages: Vec<String> = e.0.iter().map(|f| f.message.clone()).collect();
        let code =
            e.0.first()
                .map_or("period_invalid", |f| match f.code.as_str() {
                    "period_reversed" => "period_reversed",
                    "period_too_long" => "period_too_long",
                    _ => "date_format",
                });
        Failure::new(StatusCode::UNPROCESSABLE_ENTITY, code, messages.join(""))
    })
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
    let cal = HolidayCalendar::bundled();
    let figures = storage.statistics(*period, today, &cal)?;
    let halls = storage.halls()?;
    let city = city_of(&halls);
    Ok(city_stats_of(
        &figures,
        &halls,
        (&city.0, &format!("{}（全市合计）", city.1)),
    ))
}

/// Adds up the days due (a push wrote one of their rows since their figures were kept) until
/// none is, or `go_on` (asked between two months) says to stop: a month of days per
/// transaction, so pushes go on in between. Returns how many days were kept.
pub fn keep_due_days(
    storage: &dyn Storage,
    go_on: &mut dyn FnMut() -> bool,
) -> Result<usize, StorageError> {
    let cal = HolidayCalendar::bundled();
    let mut kept = 0;
    loop {
        match storage.keep_due_days(&cal)? {
            0 => break,
            n => kept += n,
        }
        if !go_on() {
            break;
        }
    }
    Ok(kept)
}

/// Between two months the keeper adds up: a push waiting for the store takes it meanwhile (a
/// lock released and taken again at once by the same thread starves its waiters: a request
/// waited the whole 6 s of three years' days). Short against a month's adding up (≈ 0.2 s at
/// 300,000 visits).
const PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// Turns a busy city's keeper waits for a quiet one, at most; then it adds up at most
/// [`BUSY_MONTHS`] anyway.
const BUSY_TURNS: u32 = 10;
const BUSY_MONTHS: u32 = 12;

/// What the keeper does at a turn.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// Pushes came since the last turn: wait for a quiet one.
    Wait,
    /// None came: add up every day due, stopping if a push comes.
    Quiet,
    /// Pushes came at every one of [`BUSY_TURNS`] turns: add up [`BUSY_MONTHS`] anyway.
    Busy,
}

/// The keeper's turns: the server sequence seen at the last one, and how many it waited.
#[derive(Default)]
struct Turns {
    seen: Option<i64>,
    waited: u32,
}

impl Turns {
    fn next(&mut self, seq: i64) -> Turn {
        let pushed = self.seen.replace(seq).is_some_and(|s| s != seq);
        if !pushed {
            self.waited = 0;
            Turn::Quiet
        } else if self.waited < BUSY_TURNS {
            self.waited += 1;
            Turn::Wait
        } else {
            self.waited = 0;
            Turn::Busy
        }
    }
}

/// The newest server sequence: it moves with every push.
fn last_change(storage: &dyn Storage) -> Result<i64, StorageError> {
    let mut seq = 0;
    storage.read(&mut |tx| {
        seq = tx.max_server_seq()?;
        Ok(crate::storage::Done::Commit)
    })?;
    Ok(seq)
}

/// The server's keeper of figures: every `every`, adds up the days due ([`keep_due_days`]),
/// so that an administrator's statistics after a hall's sync read kept days, not rows, and do
/// not hold the store meanwhile. While pushes arrive (a hall sending its history drops the same
/// days again and again) it waits for a quiet turn, and stops a pass when a push comes; a city
/// never quiet gets [`BUSY_MONTHS`] added up every [`BUSY_TURNS`] turns. Runs until `stop`.
pub fn run_keeper(
    storage: std::sync::Arc<dyn Storage>,
    every: std::time::Duration,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let storage = storage.as_ref();
    let mut turns = Turns::default();
    while !stop.load(Relaxed) {
        let pass = last_change(storage).and_then(|seq| {
            let busy = match turns.next(seq) {
                Turn::Wait => return Ok(0),
                Turn::Quiet => false,
                Turn::Busy => true,
            };
            let mut months = 1;
            keep_due_days(storage, &mut || {
                std::thread::sleep(PAUSE);
                months += 1;
                !stop.load(Relaxed)
                    && if busy {
                        months <= BUSY_MONTHS
                    } else {
                        last_change(storage).is_ok_and(|now| now == seq)
                    }
            })
        });
        match pass {
            Ok(0) => {}
            Ok(days) => tracing::info!(days, "statistics: figures of the days pushed kept"),
            Err(e) => {
                tracing::warn!(error = %e, "statistics: keeping the days' figures failed; trying again later")
            }
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keeper_waits_for_a_quiet_turn_but_not_for_ever() {
        let mut t = Turns::default();
        assert_eq!(t.next(5), Turn::Quiet, "the first turn, at start");
        assert_eq!(t.next(5), Turn::Quiet, "no push since");
        assert_eq!(t.next(9), Turn::Wait, "pushes came");
        assert_eq!(t.next(9), Turn::Quiet, "quiet again");
        let mut seq = 9;
        for _ in 0..BUSY_TURNS {
            seq += 1;
            assert_eq!(t.next(seq), Turn::Wait);
        }
        assert_eq!(t.next(seq + 1), Turn::Busy, "pushes at every turn");
        assert_eq!(t.next(seq + 2), Turn::Wait, "then waits again");
    }
}
