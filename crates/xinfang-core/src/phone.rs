//! Phone numbers (DOMAIN.md §5).
//!
//! Stored forms: mobiles as 11 digits (`13812345678`), landlines as area code, dash, number
//! (`0356-2021234`), so that search and masking see one spelling per number.

use crate::error::FieldError;

const FIELD: &str = "phone";

/// Normalises a phone number as typed: spaces, dashes, parentheses and a leading +86/0086 are
/// dropped, full-width digits are read as digits. Errors are reported at field `phone`.
pub fn normalize_phone(s: &str) -> Result<String, FieldError> {
    let mut plus = false;
    let mut digits = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '０'..='９' => digits.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            '+' | '＋' if digits.is_empty() && !plus => plus = true,
            '-' | '－' | '—' | '(' | ')' | '（' | '）' => {}
            c if c.is_whitespace() => {}
            c => {
                return Err(err(
                    "phone_charset",
                    format!(
                        "电话号码里的“{c}”不是数字；只能填写数字，可带空格、短横线、括号或 +86，请核对。"
                    ),
                ));
            }
        }
    }
    if digits.is_empty() {
        return Err(err("phone_empty", "请填写电话号码。"));
    }
    // Country code: +86…, 0086…, or 86 before an 11-digit mobile.
    let national = if let Some(rest) = digits.strip_prefix("0086") {
        Some(rest)
    } else if plus {
        Some(digits.strip_prefix("86").ok_or_else(|| {
            err(
                "phone_country",
                "只能登记中国大陆的电话号码（+86），境外号码请写在备注中。",
            )
        })?)
    } else if digits.len() == 13 && digits.starts_with("861") {
        Some(&digits[2..])
    } else {
        None
    };
    let digits = match national {
        // After the country code a landline is written without its leading 0.
        Some(rest) if !rest.starts_with(['0', '1']) && !rest.is_empty() => format!("0{rest}"),
        Some(rest) => rest.to_owned(),
        None => digits,
    };
    if digits.starts_with('1') {
        mobile(&digits)
    } else if digits.starts_with('0') {
        landline(&digits)
    } else if (7..=8).contains(&digits.len()) {
        Err(err(
            "phone_area_code_missing",
            format!("固定电话缺少区号，请在前面加上区号，例如晋城为 0356-{digits}。"),
        ))
    } else {
        Err(err(
            "phone_invalid",
            "电话号码不正确：手机号为 1 开头的 11 位数字，固定电话为区号加 7 至 8 位号码（如 0356-2021234），请核对。",
        ))
    }
}

fn mobile(d: &str) -> Result<String, FieldError> {
    if d.len() != 11 {
        return Err(err(
            "phone_mobile_length",
            format!(
                "手机号码应为 11 位，现在是 {} 位，请核对是否多输或漏输。",
                d.len()
            ),
        ));
    }
    if !matches!(d.as_bytes()[1], b'3'..=b'9') {
        return Err(err(
            "phone_mobile_prefix",
            format!("手机号码第 2 位应为 3 至 9，现在是 {}，请核对。", &d[1..2]),
        ));
    }
    Ok(d.to_owned())
}

/// Area codes are 010 and 02X (three digits) or 0XXX (four digits); the local number has
/// 7 or 8 digits and does not start with 0 or 1.
fn landline(d: &str) -> Result<String, FieldError> {
    let area_len = if d.starts_with("010") || d.starts_with("02") {
        3
    } else {
        4
    };
    let (area, local) = d.split_at(area_len.min(d.len()));
    if !(7..=8).contains(&local.len()) || local.starts_with(['0', '1']) {
        return Err(err(
            "phone_landline",
            format!(
                "固定电话应为区号加 7 至 8 位号码（如 0356-2021234）；按区号 {area} 计，号码部分“{local}”不对，请核对。"
            ),
        ));
    }
    Ok(format!("{area}-{local}"))
}

/// Masks a phone for lists: `138****5678` for mobiles, area code and last 4 for landlines
/// (`0356-***1234`); anything else keeps only its last 4 characters.
pub fn mask_phone(p: &str) -> String {
    let stars = |n: usize| "*".repeat(n);
    match normalize_phone(p) {
        Ok(n) if !n.contains('-') => format!("{}{}{}", &n[..3], stars(4), &n[7..]),
        Ok(n) => {
            let (area, local) = n.split_once('-').unwrap_or_default();
            format!(
                "{area}-{}{}",
                stars(local.len() - 4),
                &local[local.len() - 4..]
            )
        }
        Err(_) => {
            let chars: Vec<char> = p.trim().chars().collect();
            let keep = chars.len().saturating_sub(4);
            chars
                .iter()
                .enumerate()
                .map(|(i, &c)| if i < keep { '*' } else { c })
                .collect()
        }
    }
}

fn err(code: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(FIELD, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        for typed in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "0086 13812345678",
            "8613812345678",
            "１３８１２３４５６７８",
        ] {
            assert_eq!(
                normalize_phone(typed).as_deref(),
                Ok("13812345678"),
                "{typed}"
            );
        }
        assert_eq!(
            normalize_phone("1381234567").unwrap_err().code,
            "phone_mobile_length"
        );
        assert_eq!(
            normalize_phone("12812345678").unwrap_err().code,
            "phone_mobile_prefix"
        );
    }

    #[test]
    fn landlines() {
        for typed in [
            "0356-2021234",
            "(0356)2021234",
            "（0356）202 1234",
            "03562021234",
            "+86 356 2021234",
        ] {
            assert_eq!(
                normalize_phone(typed).as_deref(),
                Ok("0356-2021234"),
                "{typed}"
            );
        }
        assert_eq!(
            normalize_phone("010-12345678").unwrap_err().code,
            "phone_landline"
        );
        assert_eq!(
            normalize_phone("010 62345678").as_deref(),
            Ok("010-62345678")
        );
        assert_eq!(
            normalize_phone("02162345678").as_deref(),
            Ok("021-62345678")
        );
        assert_eq!(
            normalize_phone("0356-20212").unwrap_err().code,
            "phone_landline"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(normalize_phone("  ").unwrap_err().code, "phone_empty");
        assert_eq!(normalize_phone("138abc").unwrap_err().code, "phone_charset");
        let e = normalize_phone("2021234").unwrap_err();
        assert_eq!(e.code, "phone_area_code_missing");
        assert!(e.message.contains("0356-2021234"));
        assert_eq!(
            normalize_phone("+1 2025550123").unwrap_err().code,
            "phone_country"
        );
        assert_eq!(normalize_phone("999").unwrap_err().code, "phone_invalid");
        assert_eq!(normalize_phone("x").unwrap_err().field, "phone");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_phone("138 1234 5678"), "138****5678");
        assert_eq!(mask_phone("0356-2021234"), "0356-***1234");
        assert_eq!(mask_phone("010-62345678"), "010-****5678");
        assert_eq!(mask_phone("12345"), "*2345");
        assert_eq!(mask_phone("12"), "12");
    }
}
