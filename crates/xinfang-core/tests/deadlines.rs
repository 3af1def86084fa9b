//! The deadline table in `tests/data/deadlines.json`: cases worked out by hand from the State
//! Council's holiday arrangements, so a domain expert can read and extend them.

use chrono::NaiveDate;
use serde::Deserialize;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::deadline::{Deadline, deadline};

#[derive(Deserialize)]
struct Table {
    calendar_years: [i32; 2],
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    start: NaiveDate,
    days: u32,
    due: NaiveDate,
    moved: bool,
    calendar_known: bool,
    note: String,
}

fn table() -> Table {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/deadlines.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The bundled calendar cut to the years the table was worked out against, so adding a newer
/// year later does not turn the "beyond the calendar" cases into known ones.
fn calendar(years: [i32; 2]) -> HolidayCalendar {
    let kept = HolidayCalendar::bundled()
        .to_years()
        .into_iter()
        .filter(|y| (years[0]..=years[1]).contains(&y.year))
        .collect();
    let cal = HolidayCalendar::from_years(kept).unwrap();
    assert_eq!(cal.known_years(), (years[0]..=years[1]).collect::<Vec<_>>());
    cal
}

#[test]
fn deadline_table() {
    let table = table();
    assert!(table.cases.len() >= 20);
    let cal = calendar(table.calendar_years);
    let mut failures = Vec::new();
    for c in &table.cases {
        let got = deadline(c.start, c.days, &cal);
        let want = Deadline {
            start: c.start,
            days: c.days,
            due: c.due,
            moved: c.moved,
            calendar_known: c.calendar_known,
        };
        if got != want {
            failures.push(format!("{}：期望 {want:?}，得到 {got:?}", c.note));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn serialised_fields_match_the_table() {
    let table = table();
    let cal = calendar(table.calendar_years);
    for c in &table.cases {
        let json = serde_json::to_value(deadline(c.start, c.days, &cal)).unwrap();
        let want = serde_json::json!({
            "start": c.start.to_string(),
            "days": c.days,
            "due": c.due.to_string(),
            "moved": c.moved,
            "calendar_known": c.calendar_known,
        });
        assert_eq!(json, want, "{}", c.note);
    }
}

#[test]
fn table_covers_the_required_situations() {
    let table = table();
    let has = |word: &str| table.cases.iter().any(|c| c.note.contains(word));
    for word in [
        "国庆",
        "春节",
        "调休上班",
        "元旦",
        "普通周末",
        "超出已知日历",
    ] {
        assert!(has(word), "no case mentions {word}");
    }
}

#[test]
fn the_due_day_is_never_a_rest_day_and_never_early() {
    let cal = HolidayCalendar::bundled();
    let mut start = NaiveDate::from_ymd_opt(2019, 12, 1).unwrap();
    let end = NaiveDate::from_ymd_opt(2028, 1, 1).unwrap();
    while start < end {
        for days in [0, 15, 30, 60, 90] {
            let d = deadline(start, days, &cal);
            let last = start + chrono::Days::new(days.into());
            assert!(d.due >= last);
            assert_eq!(d.moved, d.due != last);
            if let Some(rest) = cal.is_rest_day(d.due) {
                assert!(!rest, "{start} + {days} → {} is a rest day", d.due);
            }
            // Every day skipped was a rest day.
            let mut day = last;
            while day < d.due {
                let rest = cal.is_rest_day(day).unwrap_or_else(|| {
                    matches!(
                        chrono::Datelike::weekday(&day),
                        chrono::Weekday::Sat | chrono::Weekday::Sun
                    )
                });
                assert!(rest, "{start} + {days} skipped working day {day}");
                day = day.succ_opt().unwrap();
            }
        }
        start = start.succ_opt().unwrap();
    }
}
