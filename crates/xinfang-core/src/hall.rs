//! A hall's code: the 6-digit 行政区划代码 (GB/T 2260) of its county, e.g. 沁水县 140521.
//! Every place that takes a hall code (first run, `xinfang init`, statistics filters, the city
//! server's enrolment and `hall add`) checks its shape here, with one message.

use serde::Serialize;

use crate::FieldError;

/// A hall code of the right shape: 6 ASCII digits. Whether the region exists is a question
/// for the region table ([`crate::desk::check_hall_code`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct HallCode(String);

impl HallCode {
    /// The code in `text` (spaces around it ignored), or a `hall_code` field error.
    pub fn parse(text: &str) -> Result<HallCode, FieldError> {
        let code = text.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(HallCode(code.to_owned()))
        } else {
            Err(FieldError::new(
                "hall_code",
                "hall_code_shape",
                format!(
                    "大厅代码“{code}”不对：应为 6 位数字的行政区划代码（GB/T 2260），例如沁水县 140521。"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for HallCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for HallCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The level of a region code: 省 (`xx0000`), 市 (`xxxx00`), 县 (the rest).
fn level(code: &str) -> u8 {
    if code.ends_with("0000") {
        0
    } else if code.ends_with("00") {
        1
    } else {
        2
    }
}

/// Whether `place` lies inside the area of `hall`.
fn within(hall: &str, place: &str) -> bool {
    let prefix = match level(hall) {
        0 => 2,
        1 => 4,
        _ => 6,
    };
    hall.get(..prefix) == place.get(..prefix)
}

/// 越级访: a visit to the hall of `hall_code` about a problem that arose in a place below it
/// (e.g. the 晋城市 hall about 沁水县). The visit is registered all the same; the warning names
/// the 属地 authority the visitor is guided to. `None` for a visit at the right level, or about
/// a place outside the hall's area.
pub fn skip_level_warning(
    hall_code: &str,
    place_code: &str,
    regions: &crate::regions::Regions,
) -> Option<FieldError> {
    if !within(hall_code, place_code) || level(place_code) <= level(hall_code) {
        return None;
    }
    let place = regions
        .short_name(place_code)
        .map_or_else(|| place_code.to_owned(), str::to_owned);
    let hall = regions
        .short_name(hall_code)
        .map_or_else(|| hall_code.to_owned(), str::to_owned);
    Some(FieldError::new(
        "place_code",
        "skip_level",
        format!(
            "越级访：问题发生在{place}，信访人越过{place}直接到{hall}走访。本次来访已登记；\
             请告知信访人依照《信访工作条例》逐级走访，向{place}有权处理的机关、单位或者{place}信访接待场所提出。"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions::Regions;

    #[test]
    fn six_digits_and_nothing_else() {
        assert_eq!(HallCode::parse(" 140521 ").unwrap().as_str(), "140521");
        for bad in ["", "1405", "1405211", "14052a", "１４０５２１", "140 21"] {
            let e = HallCode::parse(bad).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code.as_str()),
                ("hall_code", "hall_code_shape")
            );
            assert!(e.message.contains("6 位数字"), "{}", e.message);
        }
    }

    #[test]
    fn a_county_matter_at_the_city_hall_is_a_skip_level_visit() {
        let r = Regions::bundled();
        let w = skip_level_warning("140500", "140521", r).expect("city hall, county place");
        assert_eq!(
            (w.field.as_str(), w.code.as_str()),
            ("place_code", "skip_level")
        );
        assert!(
            w.message.contains("沁水县") && w.message.contains("晋城市"),
            "{}",
            w.message
        );
        // The province's hall about a county, too.
        assert!(skip_level_warning("140000", "140521", r).is_some());
        // The county's own hall, a place in another city, or the city's own level: no warning.
        assert!(skip_level_warning("140521", "140521", r).is_none());
        assert!(skip_level_warning("140500", "140100", r).is_none());
        assert!(skip_level_warning("140500", "140105", r).is_none());
        assert!(skip_level_warning("140500", "140500", r).is_none());
    }
}
