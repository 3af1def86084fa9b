//! The city's monthly report (晋城市信访接待月度统计报告) to PDF: the month's city statistics,
//! computed by [`crate::stats::load`] exactly as `GET /v1/city/stats` answers them, handed to
//! `xinfang-print` (the only crate that links typst) as plain figures.

use std::path::Path;

use chrono::NaiveDate;
use xinfang_core::stats::{Period, Rate};
use xinfang_print::report::{self, CityFigures, CityReport, HallFigures};
use xinfang_print::{PrintError, Printer};

use crate::stats::{CityRate, CityStats, HallStats};
use crate::storage::Storage;

/// Why the report could not be made; `Display` is Chinese, for the city administrator.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Month(String),
    #[error("无法读取统计数据：{0}")]
    Storage(#[from] crate::storage::StorageError),
    #[error("{0}")]
    Print(#[from] PrintError),
}

fn rate(r: &CityRate) -> Rate {
    Rate {
        numerator: r.numerator,
        denominator: r.denominator,
        percent: r.percent,
    }
}

fn hall(h: &HallStats, name: &str) -> HallFigures {
    HallFigures {
        code: h.hall_code.clone(),
        name: name.to_owned(),
        visits: h.visits,
        people: h.people,
        first_visits: h.first_visits,
        repeat_visits: h.repeat_visits,
        group_visits: h.group_visits,
        group_people: h.group_people,
        matters_received: h.matters_received,
        consultations: h.consultations,
        mediations: h.mediations,
        mediations_agreed: h.mediations_agreed,
        overdue_matters: h.overdue_matters,
        rates: [
            rate(&h.timely_acceptance),
            rate(&h.on_time_conclusion),
            rate(&h.participation),
            rate(&h.satisfaction),
        ],
    }
}

/// The report of the city statistics `s` of `city_name` (e.g. 晋城市), printed on
/// `generated_on`.
pub fn city_report(s: &CityStats, city_name: &str, generated_on: NaiveDate) -> CityReport {
    let day = |d: &str| d.parse::<NaiveDate>().unwrap_or(generated_on);
    let figures = CityFigures {
        issuer: format!("{city_name}信访局"),
        city_name: city_name.to_owned(),
        from: day(&s.from),
        to: day(&s.to),
        as_of: day(&s.as_of),
        halls: s.halls.iter().map(|h| hall(h, &h.hall_name)).collect(),
        total: hall(&s.total, &s.total.hall_name),
        by_appeal_kind: s
            .by_appeal_kind
            .iter()
            .map(|c| (c.label.clone(), c.count))
            .collect(),
        by_category: s
            .by_category
            .iter()
            .map(|c| (c.label.clone(), c.count))
            .collect(),
    };
    report::city(&figures, generated_on)
}

/// The city report of `month` (`YYYY-MM`) from `storage`, the figures taken on `today`, as
/// PDF bytes. `templates` (the city's adjusted templates) is searched before the bundled ones.
pub fn month_pdf(
    storage: &dyn Storage,
    month: &str,
    today: NaiveDate,
    templates: Option<&Path>,
) -> Result<(CityReport, Vec<u8>), ReportError> {
    let (from, to) = report::month_bounds(month).map_err(|e| ReportError::Month(e.message))?;
    let period = Period::new(from, to).map_err(|e| ReportError::Month(e.message))?;
    let stats = crate::stats::load(storage, &period, today)?;
    let city_name = stats
        .halls
        .iter()
        .find(|h| h.hall_code.ends_with("00"))
        .map_or_else(|| "全市".to_owned(), |h| h.hall_name.clone());
    let r = city_report(&stats, &city_name, today);
    let printer = Printer::bundled(templates)?;
    let pdf = printer.render_city_report(&r)?;
    Ok((r, pdf))
}
