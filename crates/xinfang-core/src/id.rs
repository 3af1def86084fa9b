//! Identity documents (DOMAIN.md §5).
//!
//! Resident IDs and residence permits follow GB 11643 and are checked fully; the permits,
//! passports and cards that have a public format get a shape check; anything else is stored as
//! typed. An unknown region prefix is only a warning: old codes exist on valid cards.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::regions::Regions;

/// Field name used by [`check_document`]; callers re-field it with [`FieldError::at`].
const FIELD: &str = "id_number";

/// Kind of identity document, as stored and as given in `id_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdType {
    /// 居民身份证 (18 digits; 15-digit old numbers accepted and converted).
    ResidentId,
    /// 港澳台居民居住证 (18 digits, prefix 810000/820000/830000).
    HkMoTwResidencePermit,
    /// 港澳居民来往内地通行证.
    HkMoPermit,
    /// 台湾居民来往大陆通行证.
    TwPermit,
    /// 外国人永久居留身份证.
    ForeignPermanentResident,
    /// 护照.
    Passport,
    /// 其他证件.
    Other,
}

impl IdType {
    pub const ALL: [IdType; 7] = [
        IdType::ResidentId,
        IdType::HkMoTwResidencePermit,
        IdType::HkMoPermit,
        IdType::TwPermit,
        IdType::ForeignPermanentResident,
        IdType::Passport,
        IdType::Other,
    ];

    /// The snake_case name used in storage and JSON.
    pub fn code(self) -> &'static str {
        match self {
            IdType::ResidentId => "resident_id",
            IdType::HkMoTwResidencePermit => "hk_mo_tw_residence_permit",
            IdType::HkMoPermit => "hk_mo_permit",
            IdType::TwPermit => "tw_permit",
            IdType::ForeignPermanentResident => "foreign_permanent_resident",
            IdType::Passport => "passport",
            IdType::Other => "other",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            IdType::ResidentId => "居民身份证",
            IdType::HkMoTwResidencePermit => "港澳台居民居住证",
            IdType::HkMoPermit => "港澳居民来往内地通行证",
            IdType::TwPermit => "台湾居民来往大陆通行证",
            IdType::ForeignPermanentResident => "外国人永久居留身份证",
            IdType::Passport => "护照",
            IdType::Other => "其他证件",
        }
    }

    /// Names people say at the desk besides the official label.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            IdType::ResidentId => &["身份证", "居民身份证号码"],
            IdType::HkMoTwResidencePermit => &["居住证", "港澳居民居住证", "台湾居民居住证"],
            IdType::HkMoPermit => &["港澳通行证", "回乡证"],
            IdType::TwPermit => &["台胞证"],
            IdType::ForeignPermanentResident => &["永久居留证", "外国人永久居留证", "绿卡"],
            IdType::Passport => &[],
            IdType::Other => &["其他"],
        }
    }
}

/// Reads an `id_type` as typed: the snake_case code, the Chinese label or a common short name.
pub fn parse_id_type(s: &str) -> Option<IdType> {
    let s = s.trim();
    IdType::ALL
        .into_iter()
        .find(|t| t.code().eq_ignore_ascii_case(s) || t.label_zh() == s || t.aliases().contains(&s))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }

    /// `male`/`female`, `m`/`f` or 男/女.
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim().to_ascii_lowercase().as_str() {
            "male" | "m" | "男" => Some(Sex::Male),
            "female" | "f" | "女" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// What a valid document tells about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentInfo {
    pub id_type: IdType,
    /// The number as stored: upper-case, 18 digits for resident IDs.
    pub normalized: String,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub region_code: Option<String>,
    /// Full name of the region, e.g. `山西省晋城市沁水县`; `None` when the code is unknown.
    pub region_name: Option<String>,
    /// Non-blocking remarks in Chinese (e.g. unknown region prefix).
    pub warnings: Vec<String>,
}

/// Checks a document number and tells what it says about its holder.
///
/// `today` bounds birth dates. Errors are reported at field `id_number`.
pub fn check_document(
    id_type: IdType,
    number: &str,
    today: NaiveDate,
    regions: &Regions,
) -> Result<DocumentInfo, FieldError> {
    check_document_detailed(id_type, number, today, regions).map(|(info, _)| info)
}

/// As [`check_document`], with each warning as a [`FieldError`] carrying a stable code
/// (`id_region_unknown`, `id_converted_from_15`), for forms that show warnings per field.
pub fn check_document_detailed(
    id_type: IdType,
    number: &str,
    today: NaiveDate,
    regions: &Regions,
) -> Result<(DocumentInfo, Vec<FieldError>), FieldError> {
    // Clerks say 身份证, and the messages read better that way.
    let label = if id_type == IdType::ResidentId {
        "身份证"
    } else {
        id_type.label_zh()
    };
    let compact: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(err("id_empty", format!("请填写{label}号码。")));
    }
    let mut warnings = Vec::new();
    let mut info = DocumentInfo {
        id_type,
        normalized: compact.to_uppercase(),
        birth_date: None,
        sex: None,
        region_code: None,
        region_name: None,
        warnings: Vec::new(),
    };
    match id_type {
        IdType::ResidentId => {
            let (id18, converted) = resident_id_18(&compact)?;
            if converted {
                warnings.push(err(
                    "id_converted_from_15",
                    format!("已将 15 位旧身份证号码转换为 18 位：{id18}。"),
                ));
            }
            fill_from_gb11643(&mut info, id18, label, today, regions, &mut warnings)?;
        }
        IdType::HkMoTwResidencePermit => {
            let id18 = resident_id_18_only(&compact, label)?;
            if !["810000", "820000", "830000"].contains(&&id18[..6]) {
                return Err(err(
                    "id_permit_prefix",
                    format!(
                        "港澳台居民居住证号码应以 810000（香港）、820000（澳门）或 830000（台湾）开头，现在是 {}，请核对证件类型或号码。",
                        &id18[..6]
                    ),
                ));
            }
            fill_from_gb11643(&mut info, id18, label, today, regions, &mut warnings)?;
        }
        IdType::HkMoPermit => {
            let n = &info.normalized;
            let digits = n.len().saturating_sub(1);
            if !(n.starts_with(['H', 'M'])
                && matches!(digits, 8 | 10)
                && n[1..].bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(err(
                    "id_hkmo_permit_format",
                    "港澳居民来往内地通行证号码应为 H（香港）或 M（澳门）加 8 位或 10 位数字，例如 H12345678，请核对。",
                ));
            }
        }
        IdType::TwPermit => {
            let n = &info.normalized;
            if !(matches!(n.len(), 8 | 10) && n.bytes().all(|b| b.is_ascii_digit())) {
                return Err(err(
                    "id_tw_permit_format",
                    format!(
                        "台湾居民来往大陆通行证号码应为 8 位数字（旧证 10 位），现在是“{n}”，请核对。"
                    ),
                ));
            }
        }
        IdType::ForeignPermanentResident => {
            let n = info.normalized.as_bytes();
            // Old card: 3-letter country code + 12 digits; 2023 card: 18 characters starting with 9.
            let old = n.len() == 15
                && n[..3].iter().all(u8::is_ascii_uppercase)
                && n[3..].iter().all(u8::is_ascii_digit);
            let new = n.len() == 18
                && n[0] == b'9'
                && n[..17].iter().all(u8::is_ascii_digit)
                && (n[17].is_ascii_digit() || n[17] == b'X');
            if !(old || new) {
                return Err(err(
                    "id_foreign_card_format",
                    "外国人永久居留身份证号码应为 18 位（以 9 开头）或旧证的 3 位字母加 12 位数字，请核对。",
                ));
            }
        }
        IdType::Passport => {
            let n = &info.normalized;
            if !(5..=17).contains(&n.len()) || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(err(
                    "id_passport_format",
                    format!(
                        "护照号码应为 5 至 17 位字母或数字，现在是“{n}”（{} 个字符），请核对。",
                        n.chars().count()
                    ),
                ));
            }
        }
        IdType::Other => {
            // No public rule: keep the text as typed, only trimmed and upper-cased.
            info.normalized = number.trim().to_uppercase();
            let len = info.normalized.chars().count();
            if len > 50 {
                return Err(err(
                    "id_too_long",
                    format!("证件号码最多 50 个字符，现在是 {len} 个，请核对。"),
                ));
            }
        }
    }
    info.warnings = warnings.iter().map(|w| w.message.clone()).collect();
    Ok((info, warnings))
}

/// GB 11643 check character of the first 17 digits; `None` unless given exactly 17 digits.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    Some(CHECK[(sum % 11) as usize])
}

/// The 18-digit form of a 15-digit old resident ID (born 19YY), for lookups; `None` unless
/// given 15 digits.
pub fn resident_id_from_15(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() != 15 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first17 = format!("{}19{}", &s[..6], &s[6..]);
    let check = resident_id_check_char(&first17)?;
    Some(format!("{first17}{check}"))
}

/// Masks a document number for lists: first 4 and last 4 characters kept
/// (`1405**********1234`); shorter numbers keep a quarter at each end.
pub fn mask_id(number: &str) -> String {
    let chars: Vec<char> = number.trim().chars().collect();
    let keep = (chars.len() / 4).min(4);
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i < keep || i >= chars.len() - keep {
                c
            } else {
                '*'
            }
        })
        .collect()
}

fn err(code: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(FIELD, code, message)
}

/// Shape of a resident ID: 18 characters (17 digits + digit or X) or 15 digits. Returns the
/// upper-cased 18-character form and whether it was converted from 15 digits.
fn resident_id_18(s: &str) -> Result<(String, bool), FieldError> {
    check_id_charset(s, "身份证")?;
    match s.len() {
        18 => Ok((s.to_ascii_uppercase(), false)),
        15 if !s.ends_with(['x', 'X']) => {
            check_birth_date_shape(&format!("19{}", &s[6..12]), "身份证", "第 7–12 位")?;
            Ok((resident_id_from_15(s).unwrap_or_default(), true))
        }
        15 => Err(err(
            "id_charset",
            "15 位旧身份证号码全部是数字，末位不能是 X，请核对。",
        )),
        n => Err(err(
            "id_length",
            format!("身份证号码应为 18 位（旧证 15 位），现在是 {n} 位，请核对是否多输或漏输。"),
        )),
    }
}

/// Shape of an 18-character GB 11643 number (residence permits have no 15-digit form).
fn resident_id_18_only(s: &str, label: &str) -> Result<String, FieldError> {
    check_id_charset(s, label)?;
    if s.len() != 18 {
        return Err(err(
            "id_length",
            format!(
                "{label}号码应为 18 位，现在是 {} 位，请核对是否多输或漏输。",
                s.len()
            ),
        ));
    }
    Ok(s.to_ascii_uppercase())
}

/// Only digits, and X (either case) only as the last character.
fn check_id_charset(s: &str, label: &str) -> Result<(), FieldError> {
    let last = s.chars().count() - 1;
    for (i, c) in s.chars().enumerate() {
        let ok = c.is_ascii_digit() || (i == last && matches!(c, 'x' | 'X'));
        if !ok {
            return Err(err(
                "id_charset",
                format!(
                    "{label}号码只能是数字，最后一位可以是 X；第 {} 位“{c}”不对，请核对。",
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// Checks an 18-character GB 11643 number (charset and length already checked) and fills in
/// birth date, sex and region.
fn fill_from_gb11643(
    info: &mut DocumentInfo,
    id18: String,
    label: &str,
    today: NaiveDate,
    regions: &Regions,
    warnings: &mut Vec<FieldError>,
) -> Result<(), FieldError> {
    let birth = check_birth_date_shape(&id18[6..14], label, "第 7–14 位")?;
    if birth > today {
        return Err(err(
            "id_birth_date_future",
            format!("{label}号码中的出生日期 {birth} 晚于今天（{today}），请核对第 7–14 位。"),
        ));
    }
    let expected = resident_id_check_char(&id18[..17]).unwrap_or('?');
    if !id18.ends_with(expected) {
        return Err(err(
            "id_check_digit",
            format!("{label}号码校验位不正确：按前 17 位计算应为 {expected}，请核对最后一位。"),
        ));
    }
    let region = &id18[..6];
    info.region_name = regions.name(region);
    if info.region_name.is_none() {
        let parent = regions
            .nearest_parent_name(region)
            .map(|p| format!("（上级为{p}）"))
            .unwrap_or_default();
        warnings.push(err(
            "id_region_unknown",
            format!(
                "{label}号码前 6 位地区码 {region}{parent}不在行政区划代码表中，可能是已撤销的旧地区码；号码可以登记，请核对。"
            ),
        ));
    }
    info.region_code = Some(region.to_owned());
    info.birth_date = Some(birth);
    let sequence_last = id18.as_bytes()[16] - b'0';
    info.sex = Some(if sequence_last % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    });
    info.normalized = id18;
    Ok(())
}

/// Parses the YYYYMMDD birth date of an ID: a real date, not before 1900.
fn check_birth_date_shape(
    yyyymmdd: &str,
    label: &str,
    position: &str,
) -> Result<NaiveDate, FieldError> {
    let (y, m, d) = (&yyyymmdd[..4], &yyyymmdd[4..6], &yyyymmdd[6..8]);
    let shown = format!("{y}-{m}-{d}");
    let (year, month, day) = (
        y.parse().unwrap_or(0),
        m.parse().unwrap_or(0),
        d.parse().unwrap_or(0),
    );
    let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
        let why = if month == 2 && day == 29 {
            format!("{year} 年不是闰年，2 月没有 29 日")
        } else {
            "没有这一天".to_owned()
        };
        return Err(err(
            "id_birth_date_invalid",
            format!("{label}号码中的出生日期 {shown} 不存在（{why}），请核对{position}。"),
        ));
    };
    if date.year() < 1900 {
        return Err(err(
            "id_birth_date_too_early",
            format!("{label}号码中的出生日期 {shown} 早于 1900 年，请核对{position}。"),
        ));
    }
    Ok(date)
}

/// The characters of a 统一社会信用代码 (GB 32100-2015): digits and capitals without I, O, Z,
/// S, V; a character's value is its place here.
const CREDIT_CODE_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_CODE_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Checks an organisation's 统一社会信用代码 (18 characters, the last a check character by
/// GB 32100-2015); returns it in capitals without spaces.
pub fn check_credit_code(text: &str) -> Result<String, FieldError> {
    let code: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let n = code.chars().count();
    if n != 18 {
        return Err(FieldError::new(
            "id_number",
            "credit_code_length",
            format!(
                "统一社会信用代码应为 18 位数字或大写字母，现在是 {n} 位，请核对营业执照或登记证书。"
            ),
        ));
    }
    let mut values = Vec::with_capacity(18);
    for c in code.chars() {
        match CREDIT_CODE_CHARS.find(c) {
            Some(v) => values.push(v as u32),
            None => {
                return Err(FieldError::new(
                    "id_number",
                    "credit_code_char",
                    format!(
                        "统一社会信用代码中不应有“{c}”（代码由数字和除 I、O、Z、S、V 以外的大写字母组成），请核对。"
                    ),
                ));
            }
        }
    }
    let sum: u32 = values
        .iter()
        .zip(CREDIT_CODE_WEIGHTS)
        .map(|(v, w)| v * w)
        .sum();
    let check = (31 - sum % 31) % 31;
    if values[17] != check {
        return Err(FieldError::new(
            "id_number",
            "credit_code_check",
            "统一社会信用代码最后一位校验码不符，可能有一位抄错了，请对照营业执照或登记证书核对。",
        ));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
    }

    fn check(t: IdType, n: &str) -> Result<DocumentInfo, FieldError> {
        check_document(t, n, today(), Regions::bundled())
    }

    #[test]
    fn check_char_of_the_standard_example() {
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
        assert_eq!(resident_id_check_char("1101051949123100"), None);
        assert_eq!(resident_id_check_char("1101051949123100A"), None);
    }

    #[test]
    fn resident_id_valid() {
        let info = check(IdType::ResidentId, " 11010519491231002x ").unwrap();
        assert_eq!(info.normalized, "11010519491231002X");
        assert_eq!(info.birth_date, NaiveDate::from_ymd_opt(1949, 12, 31));
        assert_eq!(info.sex, Some(Sex::Female));
        assert_eq!(info.region_name.as_deref(), Some("北京市朝阳区"));
        assert!(info.warnings.is_empty());
    }

    #[test]
    fn resident_id_errors_have_codes() {
        let code = |n: &str| check(IdType::ResidentId, n).unwrap_err().code;
        assert_eq!(code(""), "id_empty");
        assert_eq!(code("1101051949123100"), "id_length");
        assert_eq!(code("11010519491231002A"), "id_charset");
        assert_eq!(code("110105194912310021"), "id_check_digit");
        assert_eq!(code("110105190002290021"), "id_birth_date_invalid");
        assert_eq!(code("110105189912310021"), "id_birth_date_too_early");
        assert_eq!(code("110105203001010021"), "id_birth_date_future");
    }

    #[test]
    fn fifteen_digits_are_converted() {
        assert_eq!(
            resident_id_from_15("110105491231002").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(resident_id_from_15("11010549123100"), None);
        let (info, warnings) = check_document_detailed(
            IdType::ResidentId,
            "110105491231002",
            today(),
            Regions::bundled(),
        )
        .unwrap();
        assert_eq!(info.normalized, "11010519491231002X");
        assert_eq!(warnings[0].code, "id_converted_from_15");
    }

    #[test]
    fn residence_permit_prefix() {
        let first17 = "81000019900101002";
        let n = format!("{first17}{}", resident_id_check_char(first17).unwrap());
        let info = check(IdType::HkMoTwResidencePermit, &n).unwrap();
        assert_eq!(info.region_name.as_deref(), Some("香港特别行政区"));
        let e = check(IdType::HkMoTwResidencePermit, "11010519491231002X").unwrap_err();
        assert_eq!(e.code, "id_permit_prefix");
    }

    #[test]
    fn other_documents_shape() {
        assert_eq!(
            check(IdType::HkMoPermit, "h12345678").unwrap().normalized,
            "H12345678"
        );
        assert!(check(IdType::HkMoPermit, "M1234567890").is_ok());
        assert_eq!(
            check(IdType::HkMoPermit, "X12345678").unwrap_err().code,
            "id_hkmo_permit_format"
        );
        assert!(check(IdType::TwPermit, "12345678").is_ok());
        assert!(check(IdType::TwPermit, "1234567").is_err());
        assert_eq!(
            check(IdType::Passport, " e1234567 ").unwrap().normalized,
            "E1234567"
        );
        assert_eq!(
            check(IdType::Passport, "E12").unwrap_err().code,
            "id_passport_format"
        );
        assert!(check(IdType::ForeignPermanentResident, "USA123456789012").is_ok());
        assert!(check(IdType::ForeignPermanentResident, "911000199001010010").is_ok());
        assert!(check(IdType::ForeignPermanentResident, "12345").is_err());
        assert_eq!(
            check(IdType::Other, "  军官证 12号 ").unwrap().normalized,
            "军官证 12号"
        );
        assert_eq!(check(IdType::Other, " ").unwrap_err().code, "id_empty");
    }

    #[test]
    fn id_type_names() {
        for t in IdType::ALL {
            assert_eq!(parse_id_type(t.code()), Some(t));
            assert_eq!(parse_id_type(t.label_zh()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.code());
        }
        assert_eq!(parse_id_type("身份证"), Some(IdType::ResidentId));
        assert_eq!(parse_id_type("台胞证"), Some(IdType::TwPermit));
        assert_eq!(parse_id_type("驾驶证"), None);
    }

    #[test]
    fn masks() {
        assert_eq!(mask_id("140521199001011234"), "1405**********1234");
        assert_eq!(mask_id("E12345678"), "E1*****78");
        assert_eq!(mask_id("AB"), "**");
        assert_eq!(mask_id(""), "");
    }

    #[test]
    fn credit_codes_are_checked_by_their_last_character() {
        // Codes of registered companies, as printed on their business licences.
        for code in [
            "9144030071526726XG",
            "91330100716105852F",
            "91110000802100433B",
            "91350100M000100Y43",
        ] {
            assert_eq!(check_credit_code(code).unwrap(), code);
        }
        assert_eq!(
            check_credit_code(" 91110108551385082q ").unwrap(),
            "91110108551385082Q"
        );
        let code = |s: &str| check_credit_code(s).unwrap_err().code;
        assert_eq!(code("911101085513850"), "credit_code_length");
        assert_eq!(code("91110108551385082O"), "credit_code_char");
        assert_eq!(code("91110108551385082R"), "credit_code_check");
    }
}
