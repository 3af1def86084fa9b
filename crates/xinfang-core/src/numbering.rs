//! Human-readable numbers of matters and visits (事项编号, 来访编号; issue 20).
//!
//! Screens, notices and exports name a matter `沁水-2026-11-B0017` and a visit
//! `沁水-2026-11-05-B017`, never by their UUID. Several desks of one hall number offline at
//! once, so a number carries the desk's queue letter (`xinfang_core::queue`): two desks with
//! different letters never issue the same number without asking anyone.
//!
//! - A matter's number is given once, by the desk that opens it, and synced with the matter:
//!   the hall's short name, the year and month it was received, the desk letter and the desk's
//!   n-th matter with that letter in that month (four digits, more when needed).
//! - A matter opened before numbers existed gets one on each replica, without a letter
//!   (`沁水-2026-11-0017`, by order of receipt): such a number is local to the replica and can
//!   never equal a lettered one.
//! - A visit's number is derived: its day and its queue label (the hall's `17` or the desk's
//!   `B017`, unique per hall and day).

use chrono::{Datelike, NaiveDate};

use crate::regions::Regions;

/// Endings left out of a hall's short name, longest first: 沁水县 → 沁水, 晋城市 → 晋城.
const ENDINGS: [&str; 8] = [
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "省",
    "市",
    "区",
    "县",
];

/// Region entries that only group counties; a hall under one is named by its parent.
const PLACEHOLDERS: [&str; 4] = [
    "市辖区",
    "县",
    "省直辖县级行政区划",
    "自治区直辖县级行政区划",
];

/// The name a hall's numbers start with: its unit's name without the ending when at least two
/// characters remain (沁水县 → 沁水, 城区 stays 城区, 古县 stays 古县). A code missing from the
/// table is used as it is.
pub fn hall_short_name(hall_code: &str, regions: &Regions) -> String {
    let own = regions
        .short_name(hall_code)
        .filter(|n| !PLACEHOLDERS.contains(n));
    let name = own.or_else(|| {
        // 市辖区 or 县 of a city or province: the nearest unit above it.
        if hall_code.len() != 6 || !hall_code.is_ascii() {
            return None;
        }
        [
            format!("{}00", &hall_code[..4]),
            format!("{}0000", &hall_code[..2]),
        ]
        .into_iter()
        .filter(|p| p != hall_code)
        .find_map(|p| regions.short_name(&p).filter(|n| !PLACEHOLDERS.contains(n)))
    });
    match name {
        Some(n) => strip_ending(n).to_owned(),
        None => hall_code.to_owned(),
    }
}

fn strip_ending(name: &str) -> &str {
    for end in ENDINGS {
        if let Some(stem) = name.strip_suffix(end)
            && stem.chars().count() >= 2
        {
            return stem;
        }
    }
    name
}

/// A matter's number as its desk gives it: `沁水-2026-11-B0017`.
pub fn matter_number(short: &str, received_on: NaiveDate, letter: char, n: i64) -> String {
    format!(
        "{short}-{:04}-{:02}-{letter}{n:04}",
        received_on.year(),
        received_on.month()
    )
}

/// The number a replica gives a matter opened before numbers existed: `沁水-2026-11-0017`.
pub fn legacy_matter_number(short: &str, received_on: NaiveDate, n: i64) -> String {
    format!(
        "{short}-{:04}-{:02}-{n:04}",
        received_on.year(),
        received_on.month()
    )
}

/// The start every number of a hall's month shares: `沁水-2026-11-`.
pub fn month_prefix(short: &str, received_on: NaiveDate) -> String {
    format!(
        "{short}-{:04}-{:02}-",
        received_on.year(),
        received_on.month()
    )
}

/// The count at the end of a number of `prefix` + `letter` (`None` for a legacy number, or
/// another letter's): `沁水-2026-11-B0017` → 17.
pub fn matter_count(number: &str, prefix: &str, letter: Option<char>) -> Option<i64> {
    let rest = number.strip_prefix(prefix)?;
    let digits = match letter {
        Some(l) => rest.strip_prefix(l)?,
        None => rest,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A visit's number: `沁水-2026-11-05-B017`, from its day and queue label.
pub fn visit_number(short: &str, visit_date: NaiveDate, queue_label: &str) -> String {
    format!(
        "{short}-{:04}-{:02}-{:02}-{queue_label}",
        visit_date.year(),
        visit_date.month(),
        visit_date.day()
    )
}

/// A number as someone typed it, in the form it is stored: spaces gone, full-width or dash-like
/// hyphens made `-`, full-width digits and letters made ASCII, letters upper-case.
pub fn normalize_number(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '－' | '—' | '–' | '‐' | '‑' | '―' | '_' => '-',
            '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
            }
            c => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether `s` has the shape of a record id (a UUID, `8-4-4-4-12` hex digits): links carry
/// ids, people type numbers.
pub fn is_record_id(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn hall_short_names() {
        let r = Regions::bundled();
        for (code, short) in [
            ("140521", "沁水"),   // 沁水县
            ("140502", "城区"),   // 城区: one character would remain
            ("140525", "泽州"),   // 泽州县
            ("140581", "高平"),   // 高平市
            ("140500", "晋城"),   // 晋城市
            ("141025", "古县"),   // 古县
            ("110101", "东城"),   // 东城区
            ("110100", "北京"),   // 市辖区 of 北京市
            ("140000", "山西"),   // 山西省
            ("150000", "内蒙古"), // 内蒙古自治区
            ("999999", "999999"), // not in the table
        ] {
            assert_eq!(hall_short_name(code, r), short, "{code}");
        }
    }

    #[test]
    fn number_formats() {
        for (got, want) in [
            (
                matter_number("沁水", day("2026-11-05"), 'B', 17),
                "沁水-2026-11-B0017",
            ),
            (
                matter_number("沁水", day("2026-01-31"), 'Z', 12345),
                "沁水-2026-01-Z12345",
            ),
            (
                legacy_matter_number("沁水", day("2026-11-05"), 17),
                "沁水-2026-11-0017",
            ),
            (
                visit_number("沁水", day("2026-11-05"), "B017"),
                "沁水-2026-11-05-B017",
            ),
            (
                visit_number("城区", day("2026-03-09"), "17"),
                "城区-2026-03-09-17",
            ),
            (month_prefix("沁水", day("2026-11-30")), "沁水-2026-11-"),
        ] {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn counts_read_back() {
        let p = "沁水-2026-11-";
        for (number, letter, want) in [
            ("沁水-2026-11-B0017", Some('B'), Some(17)),
            ("沁水-2026-11-B12345", Some('B'), Some(12345)),
            ("沁水-2026-11-C0017", Some('B'), None),
            ("沁水-2026-11-0017", Some('B'), None),
            ("沁水-2026-11-0017", None, Some(17)),
            ("沁水-2026-11-B0017", None, None),
            ("沁水-2026-12-B0017", Some('B'), None),
            ("沁水-2026-11-B", Some('B'), None),
        ] {
            assert_eq!(matter_count(number, p, letter), want, "{number} {letter:?}");
        }
    }

    #[test]
    fn typed_numbers_normalize() {
        for (typed, want) in [
            (" 沁水-2026-11-b0017 ", "沁水-2026-11-B0017"),
            ("沁水－２０２６－１１－Ｂ００１７", "沁水-2026-11-B0017"),
            ("沁水—2026—11—0017", "沁水-2026-11-0017"),
            ("沁水 - 2026 - 11 - B0017", "沁水-2026-11-B0017"),
        ] {
            assert_eq!(normalize_number(typed), want, "{typed}");
        }
    }

    #[test]
    fn record_ids_are_told_from_numbers() {
        assert!(is_record_id("0193a7c2-5b1e-7c3d-9e4f-0a1b2c3d4e5f"));
        assert!(!is_record_id("沁水-2026-11-B0017"));
        assert!(!is_record_id("2026-11-05-B017-1"));
        assert!(!is_record_id(""));
    }

    /// A lettered number and a legacy one never coincide, whatever the counts.
    #[test]
    fn lettered_and_legacy_numbers_differ() {
        let d = day("2026-11-05");
        for n in [1, 17, 9999, 10000] {
            for m in [1, 17, 9999, 10000] {
                for l in crate::queue::desk_letters() {
                    assert_ne!(
                        matter_number("沁水", d, l, n),
                        legacy_matter_number("沁水", d, m)
                    );
                }
            }
        }
    }
}
