//! Keyboard-wedge readers and scanners: they type the number and Enter into whatever field has
//! the focus. What they typed is checked here by the same GB 11643 rules as a typed number.

use chrono::NaiveDate;
use xinfang_core::FieldError;
use xinfang_core::id::{DocumentInfo, IdType, check_document};
use xinfang_core::regions::Regions;

/// The ID number in what a wedge typed: stray whitespace and the Enter dropped, full-width
/// digits (a Chinese input method left on) made ASCII, `x` upper-cased. A number starting with
/// 81/82/83 is a 港澳台居民居住证, read by the same readers.
///
/// Errors are `FieldError`s at `id_number`, with core's Chinese messages.
pub fn read_typed(typed: &str, today: NaiveDate) -> Result<DocumentInfo, FieldError> {
    let number: String = typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (u32::from(c) - u32::from('０')) as u8),
            'Ｘ' | 'ｘ' => 'X',
            c => c,
        })
        .collect();
    let id_type = if ["810000", "820000", "830000"]
        .iter()
        .any(|p| number.starts_with(p))
    {
        IdType::HkMoTwResidencePermit
    } else {
        IdType::ResidentId
    };
    check_document(id_type, &number, today, Regions::bundled())
}

#[cfg(test)]
mod tests {
    use super::*;
    use xinfang_core::id::resident_id_check_char;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
    }

    fn id(body17: &str) -> String {
        format!("{body17}{}", resident_id_check_char(body17).unwrap())
    }

    #[test]
    fn what_a_wedge_types() {
        let good = id("14052119850315001");
        let x = id("11010119900307002");
        assert!(x.ends_with('X'), "a case with X: {x}");
        let permit = id("81000019800101002");
        let full_width: String = good
            .chars()
            .map(|c| char::from_u32(u32::from(c) - u32::from('0') + u32::from('０')).unwrap())
            .collect();
        let cases = [
            (
                format!("{good}\r\n"),
                Some((good.as_str(), IdType::ResidentId)),
            ),
            (
                format!("  {good}\n"),
                Some((good.as_str(), IdType::ResidentId)),
            ),
            (
                format!("{}\n", x.to_lowercase()),
                Some((x.as_str(), IdType::ResidentId)),
            ),
            (full_width, Some((good.as_str(), IdType::ResidentId))),
            (
                format!("{permit}\n"),
                Some((permit.as_str(), IdType::HkMoTwResidencePermit)),
            ),
        ];
        for (typed, want) in cases {
            let info = read_typed(&typed, today()).unwrap();
            let (number, kind) = want.unwrap();
            assert_eq!(info.normalized, number, "{typed:?}");
            assert_eq!(info.id_type, kind, "{typed:?}");
        }
    }

    #[test]
    fn a_bad_number_is_refused_with_core_s_message() {
        let good = id("14052119850315001");
        let mut wrong = good.clone();
        let last = if good.ends_with('1') { "2" } else { "1" };
        wrong.replace_range(17.., last);
        let cases = [
            ("\n".to_string(), "id_empty"),
            (format!("{wrong}\n"), "id_check_digit"),
            (format!("{}\n", &good[..17]), "id_length"),
        ];
        for (typed, code) in cases {
            let e = read_typed(&typed, today()).unwrap_err();
            assert_eq!(e.field, "id_number");
            assert_eq!(e.code, code, "{typed:?}: {}", e.message);
            assert!(!e.message.is_empty());
        }
    }
}
