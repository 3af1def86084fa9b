//! This desk's ID-card reader and each account's display mode (issue 19): kept in the store,
//! local to the desk ([`xinfang_store::ID_READER`], [`xinfang_store::DISPLAY`]); and a read of
//! the 二代证 on the configured reader, turned into what fills the registration form.
//!
//! A read may take seconds (a serial reader's timeout, a vendor's HTTP service): it runs on a
//! thread of its own, without the store's lock, after the role check.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use xinfang_core::FieldError;
use xinfang_idcard::{
    CardRead, FieldMap, HttpConfig, HttpReader, IdReader, ReadError, SerialConfig, SerialReader,
};
use xinfang_store::{DISPLAY, ID_READER, Staff, Store};

use crate::error::CmdResult;

/// Which reader this desk has: `none`, `serial` (GA 467 SAM over USB-serial, `port`), `http`
/// (the vendor's local reading service, `url`) or `wedge` (a reader that types the number and
/// Enter into the focused field).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ReaderSettings {
    pub kind: String,
    pub port: String,
    pub url: String,
    /// For `http`: which of the vendor's keys holds which field, as JSON
    /// (`{"name": "xm", "id_number": ["sfzh", "cardNo"]}`); empty: the usual keys.
    pub field_map: String,
}

/// The field map of an `http` reader's settings: the usual keys when empty.
fn field_map(text: &str) -> Result<FieldMap, FieldError> {
    if text.trim().is_empty() {
        return Ok(FieldMap::default());
    }
    serde_json::from_str(text).map_err(|e| {
        FieldError::new(
            "field_map",
            "field_map_invalid",
            format!(
                "字段对照不是有效的 JSON（{e}）：应为 {{\"name\": \"xm\", \"id_number\": [\"sfzh\", \"cardNo\"]}} 这样的对照，不需要时留空。"
            ),
        )
    })
}

fn http_config(s: &ReaderSettings) -> Result<HttpConfig, FieldError> {
    Ok(HttpConfig {
        fields: field_map(&s.field_map)?,
        ..HttpConfig::new(s.url.clone())
    })
}

pub const READER_KINDS: &[(&str, &str)] = &[
    ("none", "不使用读卡器"),
    ("serial", "串口读卡器"),
    ("http", "厂家读卡服务"),
    ("wedge", "键盘式读卡器"),
];

pub const DISPLAY_MODES: &[(&str, &str)] = &[
    ("standard", "标准"),
    ("large", "大字"),
    ("contrast", "高对比"),
];

/// The logged-in account's display mode and this desk's reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MySettings {
    /// `standard`, `large` or `contrast`.
    pub display: String,
    pub reader: ReaderSettings,
}

/// A card as read, in the registration form's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CardFill {
    pub name: String,
    /// `male`, `female`, or empty for the card's other codes.
    pub sex: String,
    /// `resident_id`.
    pub id_type: String,
    pub id_number: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub address: String,
    /// 民族, e.g. 汉.
    pub ethnicity: String,
    pub issuing_authority: String,
    /// `YYYY-MM-DD` or 长期.
    pub valid_to: String,
    /// The card had expired by today: the form says so (the visit is still registered).
    pub expired: bool,
    /// What to tell the clerk about the card (its expiry), empty if nothing.
    pub notice: String,
}

/// Checks and tidies the reader settings a form sent: a known kind, a port for a serial reader,
/// an http(s) address for a reading service. Errors are at `kind`, `port` or `url`.
pub fn check_reader_settings(s: &ReaderSettings) -> Result<ReaderSettings, FieldError> {
    let kind = s.kind.trim();
    let kind = if kind.is_empty() { "none" } else { kind };
    if !READER_KINDS.iter().any(|(k, _)| *k == kind) {
        return Err(FieldError::new(
            "kind",
            "reader_kind_unknown",
            "读卡器类型无法识别：请从“不使用读卡器、串口读卡器、厂家读卡服务、键盘式读卡器”中选择。",
        ));
    }
    let port = s.port.trim().to_owned();
    let url = s.url.trim().to_owned();
    match kind {
        "serial" if port.is_empty() => Err(FieldError::new(
            "port",
            "port_missing",
            "请填写读卡器的串口，例如 /dev/ttyUSB0 或 COM3。",
        )),
        "http" if url.is_empty() => Err(FieldError::new(
            "url",
            "url_missing",
            "请填写读卡服务的地址，例如 http://127.0.0.1:19196/readcard。",
        )),
        "http" => match HttpReader::new(HttpConfig::new(url.clone())) {
            Err(e @ ReadError::BadUrl(_)) => Err(FieldError::new("url", e.code(), e.to_string())),
            _ => {
                field_map(&s.field_map)?;
                Ok(ReaderSettings {
                    kind: kind.into(),
                    url,
                    field_map: s.field_map.trim().to_owned(),
                    ..Default::default()
                })
            }
        },
        "serial" => Ok(ReaderSettings {
            kind: kind.into(),
            port,
            ..Default::default()
        }),
        _ => Ok(ReaderSettings {
            kind: kind.into(),
            ..Default::default()
        }),
    }
}

/// This desk's reader; `none` when never set (or unreadable).
pub fn reader_settings(store: &Store) -> CmdResult<ReaderSettings> {
    let saved = store.local_setting("", ID_READER)?;
    Ok(saved
        .and_then(|json| serde_json::from_str::<ReaderSettings>(&json).ok())
        .and_then(|s| check_reader_settings(&s).ok())
        .unwrap_or_else(|| ReaderSettings {
            kind: "none".into(),
            ..Default::default()
        }))
}

pub fn my_settings(store: &Store, me: &Staff) -> CmdResult<MySettings> {
    let display = store
        .local_setting(&me.id, DISPLAY)?
        .filter(|d| DISPLAY_MODES.iter().any(|(m, _)| m == d))
        .unwrap_or_else(|| "standard".into());
    Ok(MySettings {
        display,
        reader: reader_settings(store)?,
    })
}

/// Sets the logged-in account's display mode on this desk.
pub fn set_display_mode(store: &Store, me: &Staff, mode: &str) -> CmdResult<MySettings> {
    let mode = mode.trim();
    if !DISPLAY_MODES.iter().any(|(m, _)| *m == mode) {
        return Err(FieldError::new(
            "display",
            "display_mode_unknown",
            "显示方式无法识别：请从“标准、大字、高对比”中选择。",
        )
        .into());
    }
    store.set_local_setting(&me.id, DISPLAY, mode)?;
    my_settings(store, me)
}

/// Sets this desk's reader (checked first; a refused setting leaves the saved one).
pub fn set_id_reader(store: &Store, me: &Staff, s: &ReaderSettings) -> CmdResult<MySettings> {
    let s = check_reader_settings(s)?;
    let json = serde_json::to_string(&s).map_err(|e| {
        crate::CommandError::new(crate::ErrorKind::Internal, "internal", e.to_string())
    })?;
    store.set_local_setting("", ID_READER, &json)?;
    tracing::info!(kind = %s.kind, "id reader set");
    my_settings(store, me)
}

/// Reads the card on the reader `s` (checked), on a thread of its own: a blocking HTTP client
/// must not run on the async runtime's threads, and a slow reader holds no lock.
pub fn read_card(s: &ReaderSettings, today: NaiveDate) -> CmdResult<CardFill> {
    let s = check_reader_settings(s)?;
    let card = std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<CardRead, FieldError> {
                let mut reader: Box<dyn IdReader> = match s.kind.as_str() {
                    "serial" => Box::new(SerialReader::open(&SerialConfig::new(&s.port)).map_err(reader_error)?),
                    "http" => Box::new(HttpReader::new(http_config(&s)?).map_err(reader_error)?),
                    "wedge" => {
                        return Err(FieldError::new(
                            "reader",
                            "reader_is_wedge",
                            "本机设置的是键盘式读卡器：请把光标放在“证件号码”栏，再把身份证放上读卡器，号码会自动输入。",
                        ));
                    }
                    _ => {
                        return Err(FieldError::new(
                            "reader",
                            "no_reader",
                            "本机尚未设置身份证读卡器：请在“设置”中选择读卡器，或手工填写证件信息。",
                        ));
                    }
                };
                reader.read().map_err(reader_error)
            })
            .join()
            .unwrap_or_else(|_| {
                Err(FieldError::new(
                    "reader",
                    "reader_failed",
                    "读卡时出现意外错误：请重新读卡；反复出现请重启本程序。",
                ))
            })
    })?;
    Ok(fill(&card, today))
}

fn reader_error(e: ReadError) -> FieldError {
    FieldError::new("reader", e.code(), e.to_string())
}

/// The card in the form's terms, with the expiry notice.
pub fn fill(card: &CardRead, today: NaiveDate) -> CardFill {
    let expired = card.expired(today);
    CardFill {
        name: card.name.clone(),
        sex: match card.sex.as_str() {
            "男" => "male",
            "女" => "female",
            _ => "",
        }
        .into(),
        id_type: "resident_id".into(),
        id_number: card.id_number.clone(),
        birth_date: card.birth_date.to_string(),
        address: card.address.clone(),
        ethnicity: card.nation.clone(),
        issuing_authority: card.issuing_authority.clone(),
        valid_to: card.valid_to.to_string(),
        expired,
        notice: if expired {
            format!(
                "此身份证已于 {} 过期：登记可以继续，请提醒来访人及时换领。",
                card.valid_to
            )
        } else {
            String::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(kind: &str, port: &str, url: &str) -> ReaderSettings {
        ReaderSettings {
            kind: kind.into(),
            port: port.into(),
            url: url.into(),
            field_map: String::new(),
        }
    }

    #[test]
    fn settings_are_checked_and_tidied() {
        assert_eq!(
            check_reader_settings(&s("", "x", "y")).unwrap(),
            s("none", "", "")
        );
        assert_eq!(
            check_reader_settings(&s("serial", " /dev/ttyUSB0 ", "y")).unwrap(),
            s("serial", "/dev/ttyUSB0", "")
        );
        assert_eq!(
            check_reader_settings(&s("http", "", " http://127.0.0.1:19196/readcard")).unwrap(),
            s("http", "", "http://127.0.0.1:19196/readcard")
        );
        let cases = [
            (s("usb", "", ""), "kind"),
            (s("serial", " ", ""), "port"),
            (s("http", "", ""), "url"),
            (s("http", "", "ftp://x/"), "url"),
            (s("http", "", "127.0.0.1:80"), "url"),
            (
                ReaderSettings {
                    field_map: "{name: xm}".into(),
                    ..s("http", "", "http://127.0.0.1:19196/readcard")
                },
                "field_map",
            ),
        ];
        for (input, field) in cases {
            let e = check_reader_settings(&input).unwrap_err();
            assert_eq!(e.field, field, "{input:?}");
            assert!(!e.message.is_empty());
        }
    }

    /// A vendor's service on loopback answering one read with its own key names.
    fn vendor_service(body: &'static str) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/readcard", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while head.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        });
        url
    }

    #[test]
    fn a_vendor_service_with_its_own_key_names_fills_the_form_through_the_field_map() {
        const BODY: &str = r#"{"ret": 0, "info": {"PeopleName": "王读卡", "PeopleSex": "女",
            "PeopleNation": "汉", "PeopleBirthday": "19900102", "PeopleAddress": "山西省晋城市沁水县1号",
            "PeopleIDCode": "140521199001020021", "Department": "沁水县公安局",
            "StartDate": "20200101", "EndDate": "20400101"}}"#;
        let map = r#"{"name": "info.PeopleName", "sex": "info.PeopleSex", "nation": "info.PeopleNation",
            "birth_date": "info.PeopleBirthday", "address": "info.PeopleAddress",
            "id_number": "info.PeopleIDCode", "issuing_authority": "info.Department",
            "valid_from": "info.StartDate", "valid_to": "info.EndDate"}"#;
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        // The usual keys find nothing in this vendor's answer.
        assert!(read_card(&s("http", "", &vendor_service(BODY)), today).is_err());
        let settings = ReaderSettings {
            field_map: map.into(),
            ..s("http", "", &vendor_service(BODY))
        };
        assert_eq!(check_reader_settings(&settings).unwrap().field_map, map);
        let f = read_card(&settings, today).unwrap();
        assert_eq!(
            (
                f.name.as_str(),
                f.sex.as_str(),
                f.id_number.as_str(),
                f.birth_date.as_str()
            ),
            ("王读卡", "female", "140521199001020021", "1990-01-02")
        );
    }

    #[test]
    fn a_card_fills_the_form_and_an_expired_one_says_so() {
        let card = xinfang_idcard::test_person().interpret().unwrap();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let f = fill(&card, d(2026, 1, 5));
        assert_eq!(f.name, "李明华");
        assert_eq!(f.sex, "male");
        assert_eq!(f.id_type, "resident_id");
        assert_eq!(f.birth_date, "1985-03-15");
        assert_eq!(f.ethnicity, "汉");
        assert!(!f.expired && f.notice.is_empty());
        let f = fill(&card, d(2035, 6, 2));
        assert!(f.expired);
        assert!(
            f.notice.contains("2035-06-01") && f.notice.contains("过期"),
            "{}",
            f.notice
        );
    }

    #[test]
    fn no_reader_and_a_wedge_say_what_to_do() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let e = read_card(&s("none", "", ""), today).unwrap_err();
        assert_eq!(e.code, "no_reader");
        let e = read_card(&s("wedge", "", ""), today).unwrap_err();
        assert_eq!(e.code, "reader_is_wedge");
        let e = read_card(&s("serial", "/dev/没有这个端口", ""), today).unwrap_err();
        assert_eq!(e.code, "port_open");
        assert_eq!(e.field.as_deref(), Some("reader"));
    }

    #[cfg(unix)]
    #[test]
    fn the_simulated_reader_is_read() {
        let sim = xinfang_idcard::Simulator::start(
            &xinfang_idcard::test_person(),
            xinfang_idcard::Behaviour::Card,
        )
        .unwrap();
        let port = sim.path().display().to_string();
        let today = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let f = read_card(&s("serial", &port, ""), today).unwrap();
        assert_eq!(f.id_number, "140521198503150016");
        assert_eq!(f.address, "山西省晋城市沁水县龙港镇杏园东街12号");
    }
}
