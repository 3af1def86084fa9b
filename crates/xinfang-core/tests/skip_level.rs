//! 越级访, from the table a reviewer reads (tests/data/skip_level.tsv).

use xinfang_core::hall::{Handling, SkipLevelBasis, authority_place, skip_level};
use xinfang_core::regions::Regions;

fn dash(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

#[test]
fn skip_level_visits_follow_the_table() {
    let regions = Regions::bundled();
    let rows: Vec<Vec<&str>> = include_str!("data/skip_level.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    assert!(rows.len() >= 15);
    for cols in rows {
        let [hall, place, handling, outcome, local, why] = cols[..] else {
            panic!("six columns: {cols:?}");
        };
        let handled = dash(handling).and_then(|a| {
            authority_place(a, hall, regions).map(|code| Handling {
                code,
                authority: a.to_owned(),
            })
        });
        let s = skip_level(hall, dash(place), handled.as_ref(), regions);
        match outcome {
            "越级" => {
                assert!(s.flagged, "{why}: {s:?}");
                assert_eq!(s.local_code, local, "{why}");
                let name = regions.short_name(local).unwrap();
                assert_eq!(s.local_name, name, "{why}");
                assert!(
                    s.message.contains(name) && s.message.contains("逐级"),
                    "{why}: {}",
                    s.message
                );
                let w = s.warning().expect("the remark");
                assert_eq!(w.code, "skip_level");
                match s.basis {
                    Some(SkipLevelBasis::Handling) => {
                        assert_eq!(s.authority, handling, "{why}");
                        assert_eq!(w.field, "matter_id");
                    }
                    Some(SkipLevelBasis::Place) => {
                        assert_eq!(s.authority, format!("{name}信访局"), "{why}");
                        assert_eq!(w.field, "place_code");
                    }
                    None => panic!("{why}: no basis"),
                }
            }
            "不越级" => {
                assert!(!s.flagged, "{why}: {s:?}");
                assert!(s.warning().is_none() && s.local_code.is_empty(), "{why}");
            }
            other => panic!("unknown outcome {other}"),
        }
    }
}

/// A matter handled by an authority whose name says no place, or names a place found twice in
/// the province (城区), has no place of handling.
#[test]
fn an_authority_names_its_place_or_none() {
    let r = Regions::bundled();
    assert_eq!(
        authority_place("沁水县人民政府", "140500", r).as_deref(),
        Some("140521")
    );
    assert_eq!(
        authority_place("城区住建局", "140500", r).as_deref(),
        Some("140502")
    );
    assert_eq!(authority_place("城区住建局", "140000", r), None);
    assert_eq!(authority_place("县人社局", "140500", r), None);
    assert_eq!(authority_place("沁水县人民政府", "140522", r), None);
}
