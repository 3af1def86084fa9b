//! Table tests of identity documents; the cases are facts a domain expert can read and extend
//! in `tests/data/ids.json` at the workspace root.

use chrono::NaiveDate;
use serde::Deserialize;
use xinfang_core::id::{IdType, check_document_detailed};
use xinfang_core::regions::Regions;

#[derive(Deserialize)]
struct Table {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    case: String,
    #[serde(default = "resident_id")]
    id_type: IdType,
    number: String,
    #[serde(default = "default_today")]
    today: NaiveDate,
    // Expected success.
    normalized: Option<String>,
    birth_date: Option<NaiveDate>,
    sex: Option<String>,
    #[serde(default)]
    region_name: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    warning_contains: Option<String>,
    // Expected failure.
    error: Option<String>,
    message_contains: Option<String>,
}

fn resident_id() -> IdType {
    IdType::ResidentId
}

fn default_today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
}

#[test]
fn id_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/ids.json");
    let text = std::fs::read_to_string(path).expect("tests/data/ids.json");
    let table: Table = serde_json::from_str(&text).expect("ids.json parses");
    assert!(table.cases.len() >= 40);
    let mut failures = Vec::new();
    for c in &table.cases {
        if let Err(why) = run(c) {
            failures.push(format!("{}: {why}", c.case));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn run(c: &Case) -> Result<(), String> {
    let got = check_document_detailed(c.id_type, &c.number, c.today, Regions::bundled());
    match (&c.error, got) {
        (Some(code), Err(e)) => {
            if &e.code != code {
                return Err(format!(
                    "expected error {code}, got {} ({})",
                    e.code, e.message
                ));
            }
            if e.field != "id_number" {
                return Err(format!("error reported at {}", e.field));
            }
            match &c.message_contains {
                Some(m) if !e.message.contains(m.as_str()) => {
                    Err(format!("message {:?} lacks {m:?}", e.message))
                }
                _ => Ok(()),
            }
        }
        (Some(code), Ok((info, _))) => Err(format!("expected error {code}, got {info:?}")),
        (None, Err(e)) => Err(format!("expected success, got {} ({})", e.code, e.message)),
        (None, Ok((info, warnings))) => {
            let codes: Vec<&str> = warnings.iter().map(|w| w.code.as_str()).collect();
            let expect = |ok: bool, what: &str| {
                if ok {
                    Ok(())
                } else {
                    Err(format!("{what} differs: {info:?}"))
                }
            };
            expect(
                Some(&info.normalized) == c.normalized.as_ref(),
                "normalized",
            )?;
            expect(info.id_type == c.id_type, "id_type")?;
            if c.birth_date.is_some() || c.sex.is_some() {
                expect(info.birth_date == c.birth_date, "birth_date")?;
                expect(info.sex.map(|s| s.code().to_owned()) == c.sex, "sex")?;
                expect(info.region_name == c.region_name, "region_name")?;
            }
            expect(codes == c.warnings, "warnings")?;
            expect(info.warnings.len() == warnings.len(), "warning texts")?;
            match &c.warning_contains {
                Some(m) if !info.warnings.iter().any(|w| w.contains(m.as_str())) => {
                    Err(format!("no warning mentions {m:?}"))
                }
                _ => Ok(()),
            }
        }
    }
}
