//! The local HTTP service that reader vendors install beside their driver: a GET on its URL
//! reads the card and answers JSON. Vendors name the fields differently; [`FieldMap`] says
//! which key holds which field.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::card::parse_date;
use crate::nation::{nation_code, nation_name};
use crate::{CardRead, CardText, IdReader, ReadError};

/// For each of our fields, the vendor's keys that may hold it, tried in order. A key may be a
/// dotted path (`data.name`); keys match without regard to ASCII case, at the top level or
/// inside a `data`/`result` wrapper. In a settings file a single key may be given as a string;
/// a field left out keeps its default keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldMap {
    #[serde(deserialize_with = "one_or_many")]
    pub name: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub sex: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub nation: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub birth_date: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub address: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub id_number: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub issuing_authority: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub valid_from: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub valid_to: Vec<String>,
    /// The service's own message, shown when it read no card.
    #[serde(deserialize_with = "one_or_many")]
    pub message: Vec<String>,
}

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Our own names first, then names common among vendors' services and in pinyin initials.
impl Default for FieldMap {
    fn default() -> FieldMap {
        FieldMap {
            name: keys(&["name", "partyName", "xm"]),
            sex: keys(&["sex", "gender", "xb"]),
            nation: keys(&["nation", "nationality", "mz"]),
            birth_date: keys(&["birth_date", "birth", "birthday", "bornDay", "csrq"]),
            address: keys(&["address", "certAddress", "zz"]),
            id_number: keys(&[
                "id_number",
                "idNumber",
                "certNumber",
                "idCardNo",
                "cardNo",
                "sfzh",
            ]),
            issuing_authority: keys(&[
                "issuing_authority",
                "authority",
                "certOrg",
                "issuer",
                "police",
                "qfjg",
            ]),
            valid_from: keys(&["valid_from", "effDate", "validStart", "startDate", "yxqq"]),
            valid_to: keys(&["valid_to", "expDate", "validEnd", "endDate", "yxqz"]),
            message: keys(&["message", "msg", "errMsg", "error"]),
        }
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// e.g. `http://127.0.0.1:19196/readcard`.
    pub url: String,
    pub fields: FieldMap,
    pub timeout: Duration,
}

impl HttpConfig {
    pub fn new(url: impl Into<String>) -> HttpConfig {
        HttpConfig {
            url: url.into(),
            fields: FieldMap::default(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Blocking (reqwest's blocking client): from async code, call it on a blocking thread.
pub struct HttpReader {
    client: reqwest::blocking::Client,
    url: reqwest::Url,
    config: HttpConfig,
}

impl HttpReader {
    pub fn new(config: HttpConfig) -> Result<HttpReader, ReadError> {
        let url = reqwest::Url::parse(&config.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ReadError::BadUrl(config.url.clone()))?;
        let client = reqwest::blocking::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ReadError::Io(format!("无法准备读卡服务的连接：{e}")))?;
        Ok(HttpReader {
            client,
            url,
            config,
        })
    }
}

impl IdReader for HttpReader {
    fn read(&mut self) -> Result<CardRead, ReadError> {
        let response = self.client.get(self.url.clone()).send().map_err(|e| {
            if e.is_timeout() {
                ReadError::Timeout(self.config.timeout)
            } else {
                ReadError::ServiceUnreachable {
                    url: self.config.url.clone(),
                }
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(ReadError::ServiceAnswer(format!(
                "HTTP 状态 {}",
                status.as_u16()
            )));
        }
        let body: Value = response.json().map_err(|e| {
            if e.is_timeout() {
                ReadError::Timeout(self.config.timeout)
            } else {
                ReadError::ServiceAnswer("应答不是 JSON".into())
            }
        })?;
        card_from_json(&body, &self.config.fields)
    }
}

/// The card in a service's JSON answer, by `map`.
pub fn card_from_json(body: &Value, map: &FieldMap) -> Result<CardRead, ReadError> {
    let get = |candidates: &[String]| lookup(body, candidates);
    let Some(id_number) = get(&map.id_number).filter(|s| !s.is_empty()) else {
        // No number: no card on the reader, or the service said why.
        return Err(match get(&map.message).filter(|s| !s.is_empty()) {
            Some(message) => ReadError::ServiceAnswer(format!("读卡服务报告“{message}”")),
            None => ReadError::NoCard,
        });
    };
    let field = |candidates: &[String], label: &'static str| {
        get(candidates).ok_or_else(|| {
            ReadError::ServiceAnswer(format!(
                "应答中没有{label}（查找的键：{}）",
                candidates.join("、")
            ))
        })
    };
    let sex = field(&map.sex, "性别")?;
    let nation = field(&map.nation, "民族")?;
    let text = CardText {
        name: field(&map.name, "姓名")?,
        sex: sex_code(&sex).unwrap_or(sex.as_str()).to_string(),
        nation: to_nation_code(&nation).unwrap_or(nation),
        birth: chip_date(&field(&map.birth_date, "出生日期")?),
        address: field(&map.address, "住址")?,
        id_number,
        authority: field(&map.issuing_authority, "签发机关")?,
        valid_from: chip_date(&field(&map.valid_from, "有效期起始日期")?),
        valid_to: chip_date(&field(&map.valid_to, "有效期截止日期")?),
    };
    text.interpret()
}

/// The first candidate found, as text; numbers (`"sex": 1`) become text too.
fn lookup(body: &Value, candidates: &[String]) -> Option<String> {
    let roots = [Some(body), body.get("data"), body.get("result")];
    candidates.iter().find_map(|key| {
        roots.iter().flatten().find_map(|root| {
            let found = key.split('.').try_fold(*root, |v, part| {
                v.as_object()?
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(part))
                    .map(|(_, v)| v)
            })?;
            match found {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        })
    })
}

fn sex_code(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "男" | "m" | "male" => Some("1"),
        "2" | "女" | "f" | "female" => Some("2"),
        _ => None,
    }
}

/// A code (`01`, `1`) or a name (`汉`, `汉族`) as the chip's two-digit code.
fn to_nation_code(s: &str) -> Option<String> {
    let s = s.trim();
    if !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()) {
        let code = format!("{s:0>2}");
        return nation_name(&code).map(|_| code);
    }
    nation_code(s).map(str::to_string)
}

/// A vendor's date as the chip's `yyyymmdd`; anything else (长期, or nonsense for the error
/// message) as given.
fn chip_date(s: &str) -> String {
    parse_date(s).map_or_else(|| s.trim().to_string(), |d| d.format("%Y%m%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValidTo;
    use serde_json::json;

    #[test]
    fn vendor_answers_by_the_default_map() {
        let id = crate::test_person().id_number;
        let answers = [
            // Our own names.
            json!({"name": "李明华", "sex": "男", "nation": "汉", "birth_date": "1985-03-15",
                   "address": "山西省晋城市沁水县龙港镇杏园东街12号", "id_number": id,
                   "issuing_authority": "沁水县公安局", "valid_from": "2015-06-01",
                   "valid_to": "2035-06-01"}),
            // Codes and compact dates, inside a `data` wrapper, with a number for sex.
            json!({"code": 0, "data": {"partyName": "李明华", "gender": 1, "nation": "01",
                   "bornDay": "19850315", "certAddress": "山西省晋城市沁水县龙港镇杏园东街12号 ",
                   "certNumber": id, "certOrg": "沁水县公安局", "effDate": "20150601",
                   "expDate": "20350601"}}),
            // Pinyin initials, dotted dates, 汉族.
            json!({"XM": "李明华", "XB": "1", "MZ": "汉族", "CSRQ": "1985.03.15",
                   "ZZ": "山西省晋城市沁水县龙港镇杏园东街12号", "SFZH": id, "QFJG": "沁水县公安局",
                   "YXQQ": "2015.06.01", "YXQZ": "2035.06.01"}),
        ];
        let want = crate::test_person().interpret().unwrap();
        for body in answers {
            assert_eq!(
                card_from_json(&body, &FieldMap::default()),
                Ok(want.clone()),
                "{body}"
            );
        }
    }

    #[test]
    fn a_settings_file_overrides_some_keys() {
        let map: FieldMap =
            serde_json::from_value(json!({"name": "Name", "valid_to": ["EndDate", "To"]})).unwrap();
        assert_eq!(map.name, ["Name"]);
        assert_eq!(map.valid_to, ["EndDate", "To"]);
        assert_eq!(map.sex, FieldMap::default().sex);
        let body = json!({"Name": "李明华", "sex": "1", "nation": "1", "birth": "19850315",
            "address": "某地", "idNumber": crate::test_person().id_number, "authority": "沁水县公安局",
            "validStart": "20150601", "To": "长期"});
        let card = card_from_json(&body, &map).unwrap();
        assert_eq!(card.nation, "汉");
        assert_eq!(card.valid_to, ValidTo::LongTerm);
    }

    #[test]
    fn no_card_and_bad_answers() {
        let map = FieldMap::default();
        assert_eq!(
            card_from_json(&json!({"id_number": ""}), &map),
            Err(ReadError::NoCard)
        );
        assert_eq!(
            card_from_json(&json!({"code": 2, "msg": "请放卡"}), &map),
            Err(ReadError::ServiceAnswer("读卡服务报告“请放卡”".into()))
        );
        let missing = card_from_json(&json!({"id_number": crate::test_person().id_number}), &map);
        match missing {
            Err(ReadError::ServiceAnswer(m)) => assert!(m.contains("性别"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
