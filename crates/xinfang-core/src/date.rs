//! A date typed into a form field, `YYYY-MM-DD`: one parser, one code, one message for every
//! form (steps of a matter, statistics periods, backlog dates, mediation sessions, audit filters).

use chrono::NaiveDate;

use crate::FieldError;

/// The date in `text` (spaces around it ignored), or a `date_format` error at `field` that
/// names the field by its Chinese `label`.
pub fn parse_date_field(field: &str, label: &str, text: &str) -> Result<NaiveDate, FieldError> {
    let v = text.trim();
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
        FieldError::new(
            field,
            "date_format",
            format!("{label}“{v}”格式不正确，请按年-月-日填写，例如 2026-11-26。"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_day_only() {
        assert_eq!(
            parse_date_field("at", "日期", " 2026-11-26 ").unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
        );
        for bad in [
            "",
            "2026/11/26",
            "2026-02-30",
            "26-11-2026",
            "2026-11-26T09:00",
        ] {
            let e = parse_date_field("at", "受理日期", bad).unwrap_err();
            assert_eq!((e.field.as_str(), e.code.as_str()), ("at", "date_format"));
            assert!(e.message.starts_with("受理日期“"), "{}", e.message);
        }
    }
}
