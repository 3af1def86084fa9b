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

#[cfg(test)]
mod tests {
    use super::*;

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
}
