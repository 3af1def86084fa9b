//! Property tests of GB 11643 resident IDs: what we generate by the rule validates and reads
//! back; any single mistyped digit is caught; old 15-digit numbers convert faithfully.

use chrono::{Datelike, Days, NaiveDate};
use proptest::prelude::*;
use xinfang_core::id::{IdType, Sex, check_document, resident_id_check_char, resident_id_from_15};
use xinfang_core::regions::Regions;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
}

/// County-level codes of the bundled table (cities and provinces end in 00).
fn county_codes() -> Vec<String> {
    Regions::bundled()
        .codes()
        .filter(|c| !c.ends_with("00") && c.starts_with(['1', '2', '3', '4', '5', '6']))
        .map(str::to_owned)
        .collect()
}

fn date_between(from: NaiveDate, to: NaiveDate) -> impl Strategy<Value = NaiveDate> {
    let days = (to - from).num_days() as u64;
    (0..=days).prop_map(move |d| from.checked_add_days(Days::new(d)).unwrap())
}

fn valid_id() -> impl Strategy<Value = (String, NaiveDate, Sex)> {
    let start = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    (
        prop::sample::select(county_codes()),
        date_between(start, today()),
        0u32..1000,
    )
        .prop_map(|(region, birth, seq)| {
            let first17 = format!("{region}{}{seq:03}", birth.format("%Y%m%d"));
            let id = format!("{first17}{}", resident_id_check_char(&first17).unwrap());
            (
                id,
                birth,
                if seq % 2 == 1 { Sex::Male } else { Sex::Female },
            )
        })
}

proptest! {
    #[test]
    fn generated_ids_validate_and_read_back((id, birth, sex) in valid_id()) {
        let info = check_document(IdType::ResidentId, &id, today(), Regions::bundled()).unwrap();
        prop_assert_eq!(&info.normalized, &id);
        prop_assert_eq!(info.birth_date, Some(birth));
        prop_assert_eq!(info.sex, Some(sex));
        prop_assert!(info.region_name.is_some());
        prop_assert!(info.warnings.is_empty());
        // A lower-case x reads the same.
        let lower = check_document(IdType::ResidentId, &id.to_lowercase(), today(), Regions::bundled()).unwrap();
        prop_assert_eq!(lower.normalized, id);
    }

    #[test]
    fn any_single_changed_digit_is_caught((id, _, _) in valid_id(), pos in 0usize..17, delta in 1u8..10) {
        let mut bytes = id.into_bytes();
        bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
        let typo = String::from_utf8(bytes).unwrap();
        let got = check_document(IdType::ResidentId, &typo, today(), Regions::bundled());
        prop_assert!(got.is_err(), "{} accepted", typo);
    }

    #[test]
    fn fifteen_to_eighteen_keeps_birth_date_and_sex(
        region in prop::sample::select(county_codes()),
        birth in date_between(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(), NaiveDate::from_ymd_opt(1999, 12, 31).unwrap()),
        seq in 0u32..1000,
    ) {
        let old = format!("{region}{}{seq:03}", birth.format("%y%m%d"));
        let id18 = resident_id_from_15(&old).unwrap();
        prop_assert_eq!(&id18[..6], &old[..6]);
        let info = check_document(IdType::ResidentId, &old, today(), Regions::bundled()).unwrap();
        prop_assert_eq!(&info.normalized, &id18);
        prop_assert_eq!(info.birth_date, Some(birth));
        prop_assert_eq!(info.birth_date.unwrap().year() / 100, 19);
        prop_assert_eq!(info.sex, Some(if seq % 2 == 1 { Sex::Male } else { Sex::Female }));
    }
}
