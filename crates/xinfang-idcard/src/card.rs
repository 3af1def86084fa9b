//! What a card says: its text as stored on the chip ([`CardText`]) and as read by people
//! ([`CardRead`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize, Serializer};
use xinfang_core::id::resident_id_check_char;

use crate::ReadError;
use crate::nation::nation_name;

/// Size of the text block of the base information: nine fields and reserved space.
pub const TEXT_LEN: usize = 256;

/// The fields of the text block in order, with their width in bytes of UCS-2 and their label.
const LAYOUT: [(usize, &str); 9] = [
    (30, "姓名"),
    (2, "性别"),
    (4, "民族"),
    (16, "出生日期"),
    (70, "住址"),
    (36, "公民身份号码"),
    (30, "签发机关"),
    (16, "有效期起始日期"),
    (16, "有效期截止日期"),
];

/// The nine text fields as the chip holds them: codes for sex (GB/T 2261.1) and nation
/// (GB 3304), dates as `yyyymmdd`, `长期` for a card that does not expire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardText {
    pub name: String,
    pub sex: String,
    pub nation: String,
    pub birth: String,
    pub address: String,
    pub id_number: String,
    pub authority: String,
    pub valid_from: String,
    pub valid_to: String,
}

impl CardText {
    fn fields(&self) -> [&str; 9] {
        [
            &self.name,
            &self.sex,
            &self.nation,
            &self.birth,
            &self.address,
            &self.id_number,
            &self.authority,
            &self.valid_from,
            &self.valid_to,
        ]
    }

    /// The 256-byte text block: each field UCS-2 little-endian, padded with spaces. A field
    /// longer than the card holds is refused with a message saying which.
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut units = Vec::with_capacity(TEXT_LEN / 2);
        for (value, (width, label)) in self.fields().into_iter().zip(LAYOUT) {
            let start = units.len();
            units.extend(value.encode_utf16());
            if units.len() - start > width / 2 {
                return Err(format!(
                    "{label}“{value}”超出身份证上该项的长度（最多 {} 个字）",
                    width / 2
                ));
            }
            // Padded with UCS-2 spaces, as cards are.
            units.resize(start + width / 2, u16::from(b' '));
        }
        units.resize(TEXT_LEN / 2, u16::from(b' '));
        let out = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        Ok(out)
    }

    /// Reads the text block; trailing spaces (and NULs) of each field are dropped.
    pub fn decode(text: &[u8]) -> Result<CardText, ReadError> {
        let used: usize = LAYOUT.iter().map(|(w, _)| w).sum();
        if text.len() < used {
            return Err(ReadError::ShortFrame);
        }
        let mut at = 0;
        let mut fields = LAYOUT.iter().map(|(width, _)| {
            let bytes = &text[at..at + width];
            at += width;
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect();
            String::from_utf16(&units)
                .map(|s| s.trim_end_matches([' ', '\0']).to_string())
                .map_err(|_| ReadError::Garbled)
        });
        let mut next = || fields.next().expect("nine fields");
        Ok(CardText {
            name: next()?,
            sex: next()?,
            nation: next()?,
            birth: next()?,
            address: next()?,
            id_number: next()?,
            authority: next()?,
            valid_from: next()?,
            valid_to: next()?,
        })
    }

    /// The fields as people read them; a field that makes no sense is refused, naming it.
    pub fn interpret(&self) -> Result<CardRead, ReadError> {
        let bad = |field: &'static str, value: &str| ReadError::BadField {
            field,
            value: value.to_string(),
        };
        let name = self.name.trim();
        if name.is_empty() {
            return Err(bad("姓名", name));
        }
        let sex = sex_label(self.sex.trim()).ok_or_else(|| bad("性别", &self.sex))?;
        let nation = nation_name(self.nation.trim()).ok_or_else(|| bad("民族", &self.nation))?;
        let birth_date = parse_date(&self.birth).ok_or_else(|| bad("出生日期", &self.birth))?;
        let id_number = self.id_number.trim().to_uppercase();
        let checks = id_number.len() == 18
            && resident_id_check_char(&id_number[..17]).is_some_and(|c| id_number.ends_with(c));
        if !checks {
            return Err(bad("公民身份号码", &self.id_number));
        }
        let valid_from =
            parse_date(&self.valid_from).ok_or_else(|| bad("有效期起始日期", &self.valid_from))?;
        let valid_to = match self.valid_to.trim() {
            "长期" => ValidTo::LongTerm,
            s => ValidTo::Date(parse_date(s).ok_or_else(|| bad("有效期截止日期", s))?),
        };
        Ok(CardRead {
            name: name.to_string(),
            sex: sex.to_string(),
            nation: nation.to_string(),
            birth_date,
            address: self.address.trim().to_string(),
            id_number,
            issuing_authority: self.authority.trim().to_string(),
            valid_from,
            valid_to,
        })
    }
}

/// GB/T 2261.1 sex code to the word on the card.
fn sex_label(code: &str) -> Option<&'static str> {
    match code {
        "1" => Some("男"),
        "2" => Some("女"),
        "0" => Some("未知的性别"),
        "9" => Some("未说明的性别"),
        _ => None,
    }
}

/// `yyyymmdd`, as on the chip; vendors' `yyyy-mm-dd`, `yyyy.mm.dd` and `yyyy年mm月dd日` too.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let others = s
        .chars()
        .filter(|c| !c.is_ascii_digit() && !"-./年月日 ".contains(*c))
        .count();
    if digits.len() != 8 || others != 0 {
        return None;
    }
    NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()
}

/// The end of a card's validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidTo {
    Date(NaiveDate),
    /// 长期: cards of people aged 46 and over do not expire.
    LongTerm,
}

impl std::fmt::Display for ValidTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValidTo::Date(d) => write!(f, "{d}"),
            ValidTo::LongTerm => f.write_str("长期"),
        }
    }
}

/// As a string: `2035-06-01` or `长期`.
impl Serialize for ValidTo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The simulator's default card: a made-up person of 沁水县 with a valid number.
pub fn test_person() -> CardText {
    CardText {
        name: "李明华".into(),
        sex: "1".into(),
        nation: "01".into(),
        birth: "19850315".into(),
        address: "山西省晋城市沁水县龙港镇杏园东街12号".into(),
        id_number: "140521198503150016".into(),
        authority: "沁水县公安局".into(),
        valid_from: "20150601".into(),
        valid_to: "20350601".into(),
    }
}

/// A card as read: what fills the visitor's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardRead {
    pub name: String,
    /// 男 or 女 (未知的性别, 未说明的性别 exist in the code table).
    pub sex: String,
    /// 民族 as printed on the card, e.g. 汉.
    pub nation: String,
    pub birth_date: NaiveDate,
    pub address: String,
    /// 18 characters, check character verified, upper-case X.
    pub id_number: String,
    pub issuing_authority: String,
    pub valid_from: NaiveDate,
    pub valid_to: ValidTo,
}

impl CardRead {
    /// Whether the card had expired by `today` (valid through its last day).
    pub fn expired(&self, today: NaiveDate) -> bool {
        matches!(self.valid_to, ValidTo::Date(d) if d < today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> CardText {
        test_person()
    }

    #[test]
    fn encodes_to_256_bytes_and_back() {
        let t = text();
        let bytes = t.encode().unwrap();
        assert_eq!(bytes.len(), TEXT_LEN);
        // 姓名 starts the block, little-endian: 李 is U+674E.
        assert_eq!(&bytes[..2], &[0x4E, 0x67]);
        // Padding is UCS-2 spaces.
        assert_eq!(&bytes[28..30], &[b' ', 0]);
        assert_eq!(CardText::decode(&bytes).unwrap(), t);
    }

    #[test]
    fn a_field_too_long_for_the_card_is_refused() {
        let mut t = text();
        t.name = "欧阳".repeat(8);
        let e = t.encode().unwrap_err();
        assert!(e.contains("姓名") && e.contains("15"), "{e}");
    }

    #[test]
    fn interpretation() {
        let card = text().interpret().unwrap();
        assert_eq!(card.sex, "男");
        assert_eq!(card.nation, "汉");
        assert_eq!(
            card.birth_date,
            NaiveDate::from_ymd_opt(1985, 3, 15).unwrap()
        );
        assert!(!card.expired(NaiveDate::from_ymd_opt(2035, 6, 1).unwrap()));
        assert!(card.expired(NaiveDate::from_ymd_opt(2035, 6, 2).unwrap()));
        let json = serde_json::to_value(&card).unwrap();
        assert_eq!(json["valid_to"], "2035-06-01");
        assert_eq!(json["birth_date"], "1985-03-15");

        let long = CardText {
            valid_to: "长期".into(),
            ..text()
        };
        let card = long.interpret().unwrap();
        assert_eq!(card.valid_to, ValidTo::LongTerm);
        assert!(!card.expired(NaiveDate::from_ymd_opt(2099, 1, 1).unwrap()));
        assert_eq!(serde_json::to_value(&card).unwrap()["valid_to"], "长期");
    }

    #[test]
    fn nonsense_fields_are_named() {
        type Spoil = fn(&mut CardText);
        let cases: [(Spoil, &str); 6] = [
            (|t| t.sex = "3".into(), "性别"),
            (|t| t.nation = "77".into(), "民族"),
            (|t| t.birth = "19850230".into(), "出生日期"),
            (|t| t.id_number.replace_range(17.., "0"), "公民身份号码"),
            (|t| t.valid_to = "永久".into(), "有效期截止日期"),
            (|t| t.name = String::new(), "姓名"),
        ];
        for (spoil, label) in cases {
            let mut t = text();
            spoil(&mut t);
            match t.interpret() {
                Err(ReadError::BadField { field, .. }) => assert_eq!(field, label),
                other => panic!("{label}: {other:?}"),
            }
        }
    }

    #[test]
    fn dates_in_vendor_forms() {
        let d = NaiveDate::from_ymd_opt(1985, 3, 15);
        for s in ["19850315", "1985-03-15", "1985.03.15", "1985年03月15日"] {
            assert_eq!(parse_date(s), d, "{s}");
        }
        for s in ["1985315", "19850315x", "", "长期"] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }
}
