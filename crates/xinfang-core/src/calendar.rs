//! China's official holiday calendar: which days are public holidays and which weekend days are
//! make-up working days (调休上班), one year at a time as the State Council announces them.
//!
//! The data lives in `assets/holidays/YYYY.json` (written by `scripts/gen-holidays.py`) and is
//! compiled in; the city server can hand out newer years, which [`HolidayCalendar::merge`] adds.
//! Outside the known years nobody knows the arrangement yet, so the answers are `None` and the
//! caller falls back to "weekends are rest days" and says so.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The year files compiled into the binary. `include_str!` needs literal paths, so a new year
/// is one more line here; the `bundled_lists_every_year_file` test fails until it is added.
const BUNDLED: &[&str] = &[
    include_str!("../../../assets/holidays/2020.json"),
    include_str!("../../../assets/holidays/2021.json"),
    include_str!("../../../assets/holidays/2022.json"),
    include_str!("../../../assets/holidays/2023.json"),
    include_str!("../../../assets/holidays/2024.json"),
    include_str!("../../../assets/holidays/2025.json"),
    include_str!("../../../assets/holidays/2026.json"),
];

/// One named day of a year file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDay {
    pub date: NaiveDate,
    /// E.g. `国庆节` for a holiday, `国庆节调休` for a make-up working day.
    pub name: String,
}

/// One year's arrangement, exactly the shape of `assets/holidays/YYYY.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YearCalendar {
    pub year: i32,
    /// Rest days of the holiday runs, including those falling on a weekend.
    pub holidays: Vec<NamedDay>,
    /// Weekend days declared working days.
    pub workdays: Vec<NamedDay>,
}

impl YearCalendar {
    /// Parse one year file.
    pub fn from_json(json: &str) -> Result<Self, CalendarError> {
        serde_json::from_str(json).map_err(|e| CalendarError::Parse(e.to_string()))
    }
}

/// Why a year file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("节假日日历文件无法解析：{0}")]
    Parse(String),
    #[error("{year} 年的节假日日历中出现了其他年份的日期 {date}，请检查日历文件")]
    DateOutsideYear { year: i32, date: NaiveDate },
    #[error("{date} 同时被列为放假日和调休上班日，请检查日历文件")]
    Conflict { date: NaiveDate },
    #[error("{date} 被列为调休上班日，但它本来就是工作日（非周末），请检查日历文件")]
    WorkdayNotWeekend { date: NaiveDate },
    #[error("{year} 年的节假日日历提供了不止一份，请只保留一份")]
    DuplicateYear { year: i32 },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Year {
    holidays: BTreeMap<NaiveDate, String>,
    workdays: BTreeMap<NaiveDate, String>,
}

/// The holiday arrangements of the known years.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    years: BTreeMap<i32, Year>,
}

impl HolidayCalendar {
    /// The calendar compiled into this build (2020 through the last announced year).
    pub fn bundled() -> Self {
        let years = BUNDLED
            .iter()
            .map(|json| YearCalendar::from_json(json).expect("bundled holiday file is valid JSON"))
            .collect();
        // The bundled files are checked by tests; a failure here is a broken build, not input.
        Self::from_years(years).expect("bundled holiday files are consistent")
    }

    /// Build a calendar from year files, e.g. those the city server distributes.
    pub fn from_years(years: Vec<YearCalendar>) -> Result<Self, CalendarError> {
        let mut out = BTreeMap::new();
        for y in years {
            let year = y.year;
            let checked = check_year(y)?;
            if out.insert(year, checked).is_some() {
                return Err(CalendarError::DuplicateYear { year });
            }
        }
        Ok(Self { years: out })
    }

    /// Add the years of `newer`; a year present in both is replaced whole, because the State
    /// Council announces (and, rarely, amends) a year's arrangement as one notice.
    pub fn merge(&mut self, newer: HolidayCalendar) {
        self.years.extend(newer.years);
    }

    /// The years whose arrangement is known, ascending.
    pub fn known_years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether the arrangement for `date`'s year is known.
    pub fn knows(&self, date: NaiveDate) -> bool {
        self.years.contains_key(&date.year())
    }

    /// `Some(true)` on a public holiday or on a weekend not declared a working day; `None` when
    /// `date`'s year is beyond the known calendar.
    pub fn is_rest_day(&self, date: NaiveDate) -> Option<bool> {
        let year = self.years.get(&date.year())?;
        if year.holidays.contains_key(&date) {
            return Some(true);
        }
        if year.workdays.contains_key(&date) {
            return Some(false);
        }
        Some(is_weekend(date))
    }

    /// The opposite of [`Self::is_rest_day`]; a make-up working day counts as a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Option<bool> {
        self.is_rest_day(date).map(|rest| !rest)
    }

    /// The holiday's or make-up day's name, e.g. `春节` or `春节调休`, for showing why a
    /// deadline moved.
    pub fn day_name(&self, date: NaiveDate) -> Option<&str> {
        let year = self.years.get(&date.year())?;
        year.holidays
            .get(&date)
            .or_else(|| year.workdays.get(&date))
            .map(String::as_str)
    }

    /// The known years as year files, for handing on (e.g. city server → hall desk).
    pub fn to_years(&self) -> Vec<YearCalendar> {
        let days = |m: &BTreeMap<NaiveDate, String>| {
            m.iter()
                .map(|(d, n)| NamedDay {
                    date: *d,
                    name: n.clone(),
                })
                .collect()
        };
        self.years
            .iter()
            .map(|(year, y)| YearCalendar {
                year: *year,
                holidays: days(&y.holidays),
                workdays: days(&y.workdays),
            })
            .collect()
    }
}

pub(crate) fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn check_year(y: YearCalendar) -> Result<Year, CalendarError> {
    let mut out = Year::default();
    for d in &y.holidays {
        if d.date.year() != y.year {
            return Err(CalendarError::DateOutsideYear {
                year: y.year,
                date: d.date,
            });
        }
        out.holidays.insert(d.date, d.name.clone());
    }
    let holiday_dates: BTreeSet<_> = out.holidays.keys().copied().collect();
    for d in &y.workdays {
        if d.date.year() != y.year {
            return Err(CalendarError::DateOutsideYear {
                year: y.year,
                date: d.date,
            });
        }
        if holiday_dates.contains(&d.date) {
            return Err(CalendarError::Conflict { date: d.date });
        }
        if !is_weekend(d.date) {
            return Err(CalendarError::WorkdayNotWeekend { date: d.date });
        }
        out.workdays.insert(d.date, d.name.clone());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn bundled_lists_every_year_file() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/holidays");
        let mut on_disk: Vec<i32> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        on_disk.sort();
        assert_eq!(
            HolidayCalendar::bundled().known_years(),
            on_disk,
            "add the new assets/holidays/YYYY.json to BUNDLED in calendar.rs"
        );
    }

    #[test]
    fn bundled_starts_2020_without_gaps() {
        let years = HolidayCalendar::bundled().known_years();
        assert_eq!(years[0], 2020);
        assert!(years.windows(2).all(|w| w[1] == w[0] + 1), "{years:?}");
    }

    #[test]
    fn national_day_2025() {
        let cal = HolidayCalendar::bundled();
        for day in 1..=8 {
            let date = NaiveDate::from_ymd_opt(2025, 10, day).unwrap();
            assert_eq!(cal.is_rest_day(date), Some(true), "{date}");
        }
        assert_eq!(cal.is_working_day(d("2025-10-09")), Some(true));
        // Sunday 28 Sep and Saturday 11 Oct were make-up working days.
        assert_eq!(cal.is_working_day(d("2025-09-28")), Some(true));
        assert_eq!(cal.is_working_day(d("2025-10-11")), Some(true));
        assert_eq!(cal.day_name(d("2025-10-11")), Some("国庆节调休"));
        assert_eq!(cal.day_name(d("2025-10-06")), Some("中秋节"));
    }

    #[test]
    fn spring_festival_2025() {
        let cal = HolidayCalendar::bundled();
        let mut date = d("2025-01-28");
        while date <= d("2025-02-04") {
            assert_eq!(cal.is_rest_day(date), Some(true), "{date}");
            date = date.succ_opt().unwrap();
        }
        assert_eq!(cal.is_working_day(d("2025-01-26")), Some(true));
        assert_eq!(cal.is_working_day(d("2025-02-08")), Some(true));
        assert_eq!(
            cal.is_rest_day(d("2025-02-09")),
            Some(true),
            "an ordinary Sunday"
        );
    }

    #[test]
    fn unknown_year_is_none() {
        let cal = HolidayCalendar::bundled();
        assert_eq!(cal.is_rest_day(d("2099-10-01")), None);
        assert_eq!(cal.is_working_day(d("2019-10-01")), None);
        assert!(!cal.knows(d("2099-01-01")));
    }

    #[test]
    fn merge_adds_and_replaces_years() {
        let mut cal = HolidayCalendar::bundled();
        let y2099 = YearCalendar {
            year: 2099,
            holidays: vec![NamedDay {
                date: d("2099-01-01"),
                name: "元旦".into(),
            }],
            workdays: vec![NamedDay {
                date: d("2099-01-03"),
                name: "元旦调休".into(),
            }],
        };
        // An amended 2025 with only New Year's Day.
        let y2025 = YearCalendar {
            year: 2025,
            holidays: vec![NamedDay {
                date: d("2025-01-01"),
                name: "元旦".into(),
            }],
            workdays: vec![],
        };
        cal.merge(HolidayCalendar::from_years(vec![y2099, y2025]).unwrap());
        assert!(cal.known_years().contains(&2099));
        assert_eq!(
            cal.is_working_day(d("2099-01-03")),
            Some(true),
            "Saturday made a workday"
        );
        assert_eq!(
            cal.is_rest_day(d("2025-10-08")),
            Some(false),
            "2025 replaced whole"
        );
    }

    #[test]
    fn round_trip_through_year_files() {
        let cal = HolidayCalendar::bundled();
        assert_eq!(HolidayCalendar::from_years(cal.to_years()).unwrap(), cal);
    }

    #[test]
    fn refuses_inconsistent_files() {
        let day = |s: &str| NamedDay {
            date: d(s),
            name: "x".into(),
        };
        let year = |holidays, workdays| YearCalendar {
            year: 2030,
            holidays,
            workdays,
        };
        assert!(matches!(
            HolidayCalendar::from_years(vec![year(vec![day("2031-01-01")], vec![])]),
            Err(CalendarError::DateOutsideYear { .. })
        ));
        assert!(matches!(
            HolidayCalendar::from_years(vec![year(
                vec![day("2030-01-05")],
                vec![day("2030-01-05")]
            )]),
            Err(CalendarError::Conflict { .. })
        ));
        // 2030-01-07 is a Monday.
        assert!(matches!(
            HolidayCalendar::from_years(vec![year(vec![], vec![day("2030-01-07")])]),
            Err(CalendarError::WorkdayNotWeekend { .. })
        ));
        assert!(matches!(
            HolidayCalendar::from_years(vec![year(vec![], vec![]), year(vec![], vec![])]),
            Err(CalendarError::DuplicateYear { year: 2030 })
        ));
        let err = YearCalendar::from_json("{").unwrap_err();
        assert!(err.to_string().starts_with("节假日日历文件无法解析"));
    }
}
