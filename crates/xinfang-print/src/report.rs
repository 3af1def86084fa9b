//! The monthly statistics report (信访工作统计月报) of a hall, laid out by
//! `assets/templates/monthly_report.typ`, and the city's monthly report (月度统计报告: city
//! totals, the four rates, a row per hall, the hall comparison and the breakdowns), laid out by
//! `assets/templates/city_report.typ`; both draw their charts with `charts.typ`.
//!
//! Every figure is taken from [`xinfang_store::Statistics`] (or, for the city, from the city
//! server's figures turned into the same shape by the caller): nothing is typed or added up here
//! beyond putting the numbers in the order the report prints them.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use xinfang_core::notice::date_zh;
use xinfang_core::stats::{Rate, RateKind};
use xinfang_store::{Count, Statistics};

/// The template file of the report.
pub const TEMPLATE: &str = "monthly_report.typ";

/// One figure of the summary table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    pub label: String,
    pub value: String,
    pub unit: String,
}

/// One of the audited rates, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRate {
    pub label: String,
    /// `93.75%`, or `—` when nothing was due.
    pub value: String,
    pub numerator: u32,
    pub denominator: u32,
    /// 0–100, for the bar; 0 when nothing was due.
    pub percent: f64,
    pub definition: String,
}

/// One bar or point of a chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    pub label: String,
    pub value: u64,
}

/// A chart: `kind` is `line` or `bar`; the points in the order drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chart {
    pub title: String,
    pub kind: String,
    pub points: Vec<Point>,
}

/// What the template prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyReport {
    /// 沁水县信访局 (the issuing bureau) or 晋城市信访局.
    pub issuer: String,
    /// 沁水县信访接待大厅, or 晋城市（全市）.
    pub hall_name: String,
    /// 2025年3月
    pub month_zh: String,
    /// 2025年3月1日至2025年3月31日
    pub period_zh: String,
    /// 数据截至 …
    pub as_of_zh: String,
    pub generated_on: NaiveDate,
    pub generated_on_zh: String,
    pub figures: Vec<Figure>,
    pub rates: Vec<ReportRate>,
    pub charts: Vec<Chart>,
    /// 有一录一 lines: (what, count).
    pub completeness: Vec<Figure>,
}

/// The first and last day of `YYYY-MM`, or a Chinese message naming the field.
pub fn month_bounds(month: &str) -> Result<(NaiveDate, NaiveDate), xinfang_core::FieldError> {
    let bad = || {
        xinfang_core::FieldError::new(
            "month",
            "month_format",
            format!("月份“{}”无法识别，请写成 2025-03 的格式。", month.trim()),
        )
    };
    let first = NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d")
        .map_err(|_| bad())?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    Ok((first, next.pred_opt().ok_or_else(bad)?))
}

fn day_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// `2025年3月` for a whole month, else `2025年3月1日至2025年3月15日`.
fn month_zh(from: NaiveDate, to: NaiveDate) -> String {
    if from.year() == to.year() && from.month() == to.month() {
        format!("{}年{}月", from.year(), from.month())
    } else {
        format!("{}至{}", day_zh(from), day_zh(to))
    }
}

fn figure(label: &str, value: u64, unit: &str) -> Figure {
    Figure {
        label: label.to_owned(),
        value: value.to_string(),
        unit: unit.to_owned(),
    }
}

fn rate(label: &str, r: &Rate, definition: &str) -> ReportRate {
    ReportRate {
        label: label.to_owned(),
        value: r
            .percent
            .map_or_else(|| "—".to_owned(), |p| format!("{p:.2}%")),
        numerator: r.numerator,
        denominator: r.denominator,
        percent: r.percent.unwrap_or(0.0),
        definition: definition.to_owned(),
    }
}

fn points(counts: &[Count], max: usize) -> Vec<Point> {
    top(
        counts.iter().map(|c| (c.label.as_str(), c.count)).collect(),
        max,
    )
}

/// The `max` largest of `counts`, most first, the rest summed up as 其他.
fn top(mut sorted: Vec<(&str, u64)>, max: usize) -> Vec<Point> {
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut out: Vec<Point> = sorted
        .iter()
        .take(max)
        .map(|(label, count)| Point {
            label: if label.is_empty() {
                "未登记".to_owned()
            } else {
                (*label).to_owned()
            },
            value: *count,
        })
        .collect();
    let rest: u64 = sorted.iter().skip(max).map(|c| c.1).sum();
    if rest > 0 {
        out.push(Point {
            label: "其他".to_owned(),
            value: rest,
        });
    }
    out
}

/// The report of `s` for `hall_name` (issued by `issuer`), printed on `generated_on`.
pub fn monthly(
    s: &Statistics,
    issuer: &str,
    hall_name: &str,
    generated_on: NaiveDate,
) -> MonthlyReport {
    use xinfang_core::stats::RateKind as K;
    let v = &s.visits;
    let r = &s.rates;
    // The trend: every day of the period, days without visits as 0.
    let mut trend = Vec::new();
    let mut d = s.period.from;
    while d <= s.period.to {
        let key = d.to_string();
        let n = s
            .by_day
            .iter()
            .find(|c| c.key == key)
            .map_or(0, |c| c.count);
        trend.push(Point {
            label: d.day().to_string(),
            value: n,
        });
        d = match d.succ_opt() {
            Some(n) => n,
            None => break,
        };
    }
    let month_zh = month_zh(s.period.from, s.period.to);
    MonthlyReport {
        issuer: issuer.to_owned(),
        hall_name: hall_name.to_owned(),
        month_zh,
        period_zh: format!("{}至{}", day_zh(s.period.from), day_zh(s.period.to)),
        as_of_zh: day_zh(s.as_of),
        generated_on,
        generated_on_zh: date_zh(generated_on),
        figures: vec![
            figure("来访批次", v.visits, "批"),
            figure("来访人次", v.people, "人次"),
            figure("初次访", v.first_visits, "批"),
            figure("重复访", v.repeat_visits, "批"),
            figure("越级访", v.skip_level_visits, "批"),
            figure("集体访", v.group_visits, "批"),
            figure("集体访人次", v.group_people, "人次"),
            figure("法律咨询", s.consultations.total, "次"),
            figure("人民调解", s.mediations.total, "件"),
            figure("积案新增", s.backlog.opened, "件"),
            figure("积案化解", s.backlog.cleared, "件"),
            figure("超期事项", s.overdue.matters, "件"),
        ],
        rates: vec![
            rate(
                K::TimelyAcceptance.label_zh(),
                &r.timely_acceptance,
                K::TimelyAcceptance.definition_zh(),
            ),
            rate(
                K::OnTimeConclusion.label_zh(),
                &r.on_time_conclusion,
                K::OnTimeConclusion.definition_zh(),
            ),
            rate(
                K::Participation.label_zh(),
                &r.participation,
                K::Participation.definition_zh(),
            ),
            rate(
                K::Satisfaction.label_zh(),
                &r.satisfaction,
                K::Satisfaction.definition_zh(),
            ),
        ],
        charts: vec![
            Chart {
                title: "每日来访批次".to_owned(),
                kind: "line".to_owned(),
                points: trend,
            },
            Chart {
                title: "问题分类（来访批次）".to_owned(),
                kind: "bar".to_owned(),
                points: points(&s.by_category, 8),
            },
            Chart {
                title: "诉求类别（来访批次）".to_owned(),
                kind: "bar".to_owned(),
                points: points(&s.by_appeal_kind, 8),
            },
        ],
        completeness: vec![
            figure("来访无对应事项", s.completeness.visits_without_matter, "条"),
            figure(
                "事项未登记处理结果",
                s.completeness.matters_without_disposition,
                "件",
            ),
            figure(
                "咨询未填法律意见",
                s.completeness.consultations_without_advice,
                "条",
            ),
        ],
    }
}

/// The template file of the city report.
pub const CITY_TEMPLATE: &str = "city_report.typ";

/// The figures of one hall, or of the whole city, as the city server computed them from the
/// synced records (`xinfang_city::stats::HallStats`): the caller copies them, nothing is
/// recomputed here.
#[derive(Debug, Clone, PartialEq)]
pub struct HallFigures {
    /// GB/T 2260 code.
    pub code: String,
    /// 沁水县
    pub name: String,
    pub visits: u64,
    pub people: u64,
    pub first_visits: u64,
    pub repeat_visits: u64,
    pub group_visits: u64,
    pub group_people: u64,
    pub matters_received: u64,
    pub consultations: u64,
    pub mediations: u64,
    pub mediations_agreed: u64,
    pub overdue_matters: u64,
    /// 及时受理率, 按期办结率, 参评率, 满意率, in this order.
    pub rates: [Rate; 4],
}

/// What the city report is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct CityFigures {
    /// 晋城市信访局
    pub issuer: String,
    /// 晋城市
    pub city_name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The day the figures are taken.
    pub as_of: NaiveDate,
    /// Every hall, in code order.
    pub halls: Vec<HallFigures>,
    pub total: HallFigures,
    /// Visits by appeal kind (label, count).
    pub by_appeal_kind: Vec<(String, u64)>,
    /// Visits by category (label, count).
    pub by_category: Vec<(String, u64)>,
}

/// A rate in a cell of the hall table: `66.67%` (or `—`) over `2/3`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateCell {
    pub value: String,
    pub fraction: String,
}

/// One row of the hall table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HallRow {
    pub code: String,
    pub name: String,
    pub visits: u64,
    pub people: u64,
    pub repeat_visits: u64,
    pub group_visits: u64,
    pub matters_received: u64,
    pub consultations: u64,
    pub mediations: u64,
    pub overdue_matters: u64,
    /// 及时受理率, 按期办结率, 参评率, 满意率.
    pub rates: Vec<RateCell>,
}

/// What `city_report.typ` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CityReport {
    /// 晋城市信访局
    pub issuer: String,
    /// 晋城市信访接待月度统计报告
    pub title: String,
    /// 2025年3月
    pub month_zh: String,
    pub period_zh: String,
    pub as_of_zh: String,
    pub generated_on: NaiveDate,
    pub generated_on_zh: String,
    /// The city totals.
    pub figures: Vec<Figure>,
    /// The city's four rates.
    pub rates: Vec<ReportRate>,
    /// A row per hall, in code order.
    pub halls: Vec<HallRow>,
    /// The 全市合计 row.
    pub total: HallRow,
    pub charts: Vec<Chart>,
}

fn hall_row(h: &HallFigures, name: &str) -> HallRow {
    HallRow {
        code: h.code.clone(),
        name: name.to_owned(),
        visits: h.visits,
        people: h.people,
        repeat_visits: h.repeat_visits,
        group_visits: h.group_visits,
        matters_received: h.matters_received,
        consultations: h.consultations,
        mediations: h.mediations,
        overdue_matters: h.overdue_matters,
        rates: h
            .rates
            .iter()
            .map(|r| RateCell {
                value: r
                    .percent
                    .map_or_else(|| "—".to_owned(), |p| format!("{p:.2}%")),
                fraction: format!("{}/{}", r.numerator, r.denominator),
            })
            .collect(),
    }
}

/// The city's monthly report of `c`, printed on `generated_on`.
pub fn city(c: &CityFigures, generated_on: NaiveDate) -> CityReport {
    let t = &c.total;
    CityReport {
        issuer: c.issuer.clone(),
        title: format!("{}信访接待月度统计报告", c.city_name),
        month_zh: month_zh(c.from, c.to),
        period_zh: format!("{}至{}", day_zh(c.from), day_zh(c.to)),
        as_of_zh: day_zh(c.as_of),
        generated_on,
        generated_on_zh: date_zh(generated_on),
        figures: vec![
            figure("来访批次", t.visits, "批"),
            figure("来访人次", t.people, "人次"),
            figure("初次访", t.first_visits, "批"),
            figure("重复访", t.repeat_visits, "批"),
            figure("集体访", t.group_visits, "批"),
            figure("集体访人次", t.group_people, "人次"),
            figure("新收信访事项", t.matters_received, "件"),
            figure("超期事项", t.overdue_matters, "件"),
            figure("法律咨询", t.consultations, "次"),
            figure("人民调解", t.mediations, "件"),
            figure("调解达成协议", t.mediations_agreed, "件"),
        ],
        rates: RateKind::ALL
            .iter()
            .zip(&t.rates)
            .map(|(k, r)| rate(k.label_zh(), r, k.definition_zh()))
            .collect(),
        halls: c.halls.iter().map(|h| hall_row(h, &h.name)).collect(),
        total: hall_row(t, "全市合计"),
        charts: vec![
            Chart {
                title: "各大厅来访批次".to_owned(),
                kind: "bar".to_owned(),
                points: c
                    .halls
                    .iter()
                    .map(|h| Point {
                        label: h.name.clone(),
                        value: h.visits,
                    })
                    .collect(),
            },
            Chart {
                title: "诉求类别（来访批次）".to_owned(),
                kind: "bar".to_owned(),
                points: top(
                    c.by_appeal_kind
                        .iter()
                        .map(|(l, n)| (l.as_str(), *n))
                        .collect(),
                    8,
                ),
            },
            Chart {
                title: "问题分类（来访批次）".to_owned(),
                kind: "bar".to_owned(),
                points: top(
                    c.by_category
                        .iter()
                        .map(|(l, n)| (l.as_str(), *n))
                        .collect(),
                    8,
                ),
            },
        ],
    }
}

/// Every string in a JSON value (for the glyph check).
pub(crate) fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            month_bounds("2025-02").unwrap(),
            (d("2025-02-01"), d("2025-02-28"))
        );
        assert_eq!(
            month_bounds("2024-12").unwrap(),
            (d("2024-12-01"), d("2024-12-31"))
        );
        let e = month_bounds("2025-13").unwrap_err();
        assert_eq!(e.field, "month");
        assert!(e.message.contains("2025-03"));
    }
}
