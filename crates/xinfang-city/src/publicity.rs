//! City-wide publicity figures (法治宣传): the activities every hall synced, totalled per
//! campaign (e.g. 第三届“循法信访、依法办访”法治宣传周) and per county (the hall an activity was
//! recorded at), with the report's figures: events, units, leaflets, consultations,
//! beneficiaries, posts and reads. The adding up is `xinfang_core::stats::publicity_totals`, the
//! desk's own, so a county's figures here equal its desk's; nobody adds them by hand.
//!
//! Units are distinct by name within what is totalled: a unit that took part in several events
//! counts once, in a county's figures and in the city's. So the city's units are not the sum of
//! its counties' when a unit (e.g. 市信访局) joined events of several counties.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xinfang_core::stats::{
    MAX_PUBLICITY_TEXT, Period, PublicityTotals, ValidPublicity, normalize_campaign,
    publicity_totals,
};

use crate::api::{AppState, Failure};
use crate::storage::{Hall, PublicityRow, Storage, StorageError};

/// The report's figures over some activities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublicityFigures {
    /// 开展活动（场次）
    pub events: u64,
    /// 参与单位（个）: distinct by name, each once however many events it took part in.
    pub units: u64,
    /// 发放资料（份）
    pub leaflets: u64,
    /// 接受咨询（人次）
    pub consulted: u64,
    /// 受益群众（人）
    pub reached: u64,
    /// 推文（篇）
    pub posts: u64,
    /// 阅读量（次）
    pub reads: u64,
}

impl From<PublicityTotals> for PublicityFigures {
    fn from(t: PublicityTotals) -> Self {
        PublicityFigures {
            events: t.events,
            units: t.units,
            leaflets: t.leaflets,
            consulted: t.consulted,
            reached: t.reached,
            posts: t.posts,
            reads: t.reads,
        }
    }
}

/// The figures of one county (hall), or of the whole city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HallPublicity {
    /// GB/T 2260 code of the hall the activities were recorded at; the city's code for the
    /// city total.
    pub hall_code: String,
    pub hall_name: String,
    pub figures: PublicityFigures,
}

/// One campaign's figures: the city's and each county's that held events of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CampaignPublicity {
    /// The campaign's name as the halls typed it; empty for activities of no campaign.
    pub campaign: String,
    /// The campaign's dates as its activities in the period show them: the first and the last
    /// day an event was held (`YYYY-MM-DD`), e.g. 2021-05-17 and 2021-05-21 for the week.
    pub first_day: String,
    pub last_day: String,
    pub total: PublicityFigures,
    /// The counties with events of the campaign, in code order.
    pub halls: Vec<HallPublicity>,
}

/// City-wide publicity figures of a period (and one campaign, when asked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CityPublicity {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
    /// The campaign asked for, as compared (trimmed); null when every campaign is counted.
    pub campaign: Option<String>,
    /// The whole city.
    pub total: HallPublicity,
    /// Every hall the server knows, in code order (halls without activities show zeros).
    pub halls: Vec<HallPublicity>,
    /// Per campaign, in name order.
    pub by_campaign: Vec<CampaignPublicity>,
}

/// Query of `GET /v1/city/publicity`.
#[derive(Debug, Deserialize, Serialize, IntoParams)]
pub struct CityPublicityQuery {
    /// First day, YYYY-MM-DD.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub from: String,
    /// Last day, YYYY-MM-DD (at most ten years after `from`).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub to: String,
    /// Only this campaign (活动名称), e.g. 第三届“循法信访、依法办访”法治宣传周.
    #[param(max_length = 200)]
    pub campaign: Option<String>,
}

fn hall_figures<'a>(
    code: &str,
    name: &str,
    acts: impl IntoIterator<Item = &'a ValidPublicity>,
) -> HallPublicity {
    HallPublicity {
        hall_code: code.to_owned(),
        hall_name: name.to_owned(),
        figures: publicity_totals(acts).into(),
    }
}

/// The figures of `rows` for every hall in `halls` (a hall with activities that the server does
/// not list is named by its code), the total named `city`.
pub fn city_publicity_of(
    rows: &[PublicityRow],
    halls: &[Hall],
    city: (&str, &str),
    period: &Period,
    campaign: Option<String>,
) -> CityPublicity {
    let mut names: BTreeMap<&str, &str> = halls
        .iter()
        .map(|h| (h.code.as_str(), h.name.as_str()))
        .collect();
    for r in rows {
        names
            .entry(r.hall_code.as_str())
            .or_insert(r.hall_code.as_str());
    }
    let per_hall = names
        .iter()
        .map(|(code, name)| {
            let acts = rows.iter().filter(|r| r.hall_code == *code);
            hall_figures(code, name, acts.map(|r| &r.activity))
        })
        .collect();
    let mut campaigns: BTreeMap<&str, Vec<&PublicityRow>> = BTreeMap::new();
    for r in rows {
        campaigns.entry(&r.activity.campaign).or_default().push(r);
    }
    let by_campaign = campaigns
        .into_iter()
        .map(|(name, rs)| {
            let mut counties: BTreeMap<&str, Vec<&ValidPublicity>> = BTreeMap::new();
            for r in &rs {
                counties.entry(&r.hall_code).or_default().push(&r.activity);
            }
            let days = rs.iter().map(|r| r.activity.held_on);
            CampaignPublicity {
                campaign: name.to_owned(),
                first_day: days
                    .clone()
                    .min()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                last_day: days.max().map(|d| d.to_string()).unwrap_or_default(),
                total: publicity_totals(rs.iter().map(|r| &r.activity)).into(),
                halls: counties
                    .into_iter()
                    .map(|(code, acts)| {
                        hall_figures(code, names.get(code).copied().unwrap_or(code), acts)
                    })
                    .collect(),
            }
        })
        .collect();
    CityPublicity {
        from: period.from.to_string(),
        to: period.to.to_string(),
        campaign,
        total: hall_figures(city.0, city.1, rows.iter().map(|r| &r.activity)),
        halls: per_hall,
        by_campaign,
    }
}

/// The city's publicity figures of `period` (and `campaign`) from `storage`.
pub fn load(
    storage: &dyn Storage,
    period: &Period,
    campaign: Option<String>,
) -> Result<CityPublicity, StorageError> {
    let rows = storage.publicity_activities(period, campaign.as_deref())?;
    let halls = storage.halls()?;
    let city = crate::stats::city_of(&halls);
    Ok(city_publicity_of(
        &rows,
        &halls,
        (&city.0, &format!("{}（全市合计）", city.1)),
        period,
        campaign,
    ))
}

/// City-wide publicity figures of a period: per campaign and per county, and in total (city
/// administrator).
#[utoipa::path(get, path = "/v1/city/publicity", tag = "city", security(("bearer" = [])),
    params(CityPublicityQuery),
    responses(
        (status = 200, description = "Publicity figures per campaign, per county and for the city", body = CityPublicity),
        (status = 400, description = "Missing query parameter", body = xinfang_sync::wire::ApiError),
        (status = 401, description = "Missing or unknown admin token", body = xinfang_sync::wire::ApiError),
        (status = 403, description = "A device token: the city view is for the administrator", body = xinfang_sync::wire::ApiError),
        (status = 422, description = "A date is malformed, the period is reversed or longer than ten years, or the campaign name is too long", body = xinfang_sync::wire::ApiError),
    ))]
pub async fn city_publicity(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<CityPublicityQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CityPublicity>, Failure> {
    crate::api::admin(&state, &headers).await?;
    let Query(q) = query.map_err(|_| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "period_missing",
            "请用查询参数 from 和 to 给出统计区间，例如 ?from=2021-05-17&to=2021-05-21，\
             可再用 campaign 指定活动名称。",
        )
    })?;
    let period = crate::stats::parse_period(&q.from, &q.to)?;
    let campaign = q.campaign.as_deref().map(normalize_campaign);
    if campaign
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_PUBLICITY_TEXT)
    {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "campaign_too_long",
            format!("活动名称最多 {MAX_PUBLICITY_TEXT} 个字，请核对 campaign 参数。"),
        ));
    }
    let storage = state.storage.clone();
    Ok(Json(
        crate::api::blocking(move || Ok(load(storage.as_ref(), &period, campaign)?)).await?,
    ))
}
