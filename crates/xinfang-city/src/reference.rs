//! City reference data served to desks: the lists in `assets/`, compiled in.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use sha2::{Digest, Sha256};
use xinfang_core::calendar::{HolidayCalendar, YearCalendar};
use xinfang_core::reference::ReferenceData;
use xinfang_sync::wire::ReferenceBundle;

const LISTS: &[(&str, &str)] = &[
    (
        "categories",
        include_str!("../../../assets/categories.json"),
    ),
    (
        "legal_routes",
        include_str!("../../../assets/legal_routes.json"),
    ),
    (
        "holidays/2020",
        include_str!("../../../assets/holidays/2020.json"),
    ),
    (
        "holidays/2021",
        include_str!("../../../assets/holidays/2021.json"),
    ),
    (
        "holidays/2022",
        include_str!("../../../assets/holidays/2022.json"),
    ),
    (
        "holidays/2023",
        include_str!("../../../assets/holidays/2023.json"),
    ),
    (
        "holidays/2024",
        include_str!("../../../assets/holidays/2024.json"),
    ),
    (
        "holidays/2025",
        include_str!("../../../assets/holidays/2025.json"),
    ),
    (
        "holidays/2026",
        include_str!("../../../assets/holidays/2026.json"),
    ),
];

/// The reference data this process serves: the compiled-in lists, plus what [`load`] found in
/// the data dir; a hall hub replaces it with its city's ([`replace`]).
static BUNDLE: RwLock<Option<Arc<ReferenceBundle>>> = RwLock::new(None);

/// Where a hall hub keeps the lists its city served last (docs/sync.md "Hall hub"): they are
/// what its desks get, also while the city is out of reach and after a restart.
pub const UPSTREAM_FILE: &str = "upstream-reference.json";

fn make(lists: BTreeMap<String, Value>) -> ReferenceBundle {
    let mut hash = Sha256::new();
    for (name, value) in &lists {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(value.to_string().as_bytes());
        hash.update([0]);
    }
    let version: String = hash
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    ReferenceBundle { version, lists }
}

fn compiled_in() -> BTreeMap<String, Value> {
    LISTS
        .iter()
        .map(|(name, text)| {
            let value: Value =
                serde_json::from_str(text).expect("assets are valid JSON (checked by tests)");
            ((*name).to_owned(), value)
        })
        .collect()
}

/// The directory of a data dir that holds the city's own reference lists.
pub const DIR: &str = "reference";

/// Reads the city's own lists from `<data_dir>/reference/`: `categories.json`,
/// `legal_routes.json` and `holidays/YYYY.json` (the shapes of `assets/`). A file there replaces
/// the compiled-in list of that name (a holiday year is added or replaced whole), so the city
/// hands its desks a newly announced holiday calendar without a new build. Every file is checked
/// as the desks will read it; a bad one stops the server with a message saying which and why.
pub fn with_overrides(data_dir: &Path) -> Result<ReferenceBundle, String> {
    let upstream = data_dir.join(UPSTREAM_FILE);
    if upstream.exists() {
        return read_upstream(&upstream);
    }
    let mut lists = compiled_in();
    let dir = data_dir.join(DIR);
    let read = |path: &Path| -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("无法读取 {}：{e}", path.display()))
    };
    let bad = |path: &Path, why: String| {
        format!(
            "参考数据文件 {} 不对：{why}。请改正或移走这个文件后再启动服务器。",
            path.display()
        )
    };
    let mut read_list = |name: &str, path: &Path| -> Result<(), String> {
        let text = read(path)?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| bad(path, format!("不是有效的 JSON（{e}）")))?;
        lists.insert(name.to_owned(), value);
        Ok(())
    };
    for name in ["categories", "legal_routes"] {
        let path = dir.join(format!("{name}.json"));
        if path.exists() {
            read_list(name, &path)?;
        }
    }
    let holidays = dir.join("holidays");
    if holidays.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(&holidays)
            .map_err(|e| format!("无法读取 {}：{e}", holidays.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for path in files {
            let year =
                YearCalendar::from_json(&read(&path)?).map_err(|e| bad(&path, e.to_string()))?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if stem != year.year.to_string() {
                return Err(bad(&path, format!("文件名应为 {}.json", year.year)));
            }
            HolidayCalendar::from_years(vec![year.clone()])
                .map_err(|e| bad(&path, e.to_string()))?;
            read_list(&format!("holidays/{}", year.year), &path)?;
        }
    }
    // The city reviewer's public key (`xinfang-city reviewer-key init`), sealed to by the desks.
    let reviewer = dir.join(crate::reviewer::PUBLIC_FILE);
    if reviewer.exists() {
        let value: Value = serde_json::from_str(&read(&reviewer)?)
            .map_err(|e| bad(&reviewer, format!("不是有效的 JSON（{e}）")))?;
        if value
            .get("public")
            .and_then(Value::as_str)
            .and_then(xinfang_seal::public_from_hex)
            .is_none()
        {
            return Err(bad(&reviewer, "public 应为 64 位十六进制数字".into()));
        }
        lists.insert("reviewer_key".to_owned(), value);
    }
    // The lists as the desks will read them.
    let text = |name: &str| lists.get(name).map(Value::to_string).unwrap_or_default();
    ReferenceData::from_json(&text("categories"), &text("legal_routes")).map_err(|e| {
        format!(
            "参考数据（{}）不对：{e}。请改正后再启动服务器。",
            dir.display()
        )
    })?;
    Ok(make(lists))
}

/// The city's lists as a hub kept them, checked as the desks will read them.
fn read_upstream(path: &Path) -> Result<ReferenceBundle, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("无法读取 {}：{e}", path.display()))?;
    let bundle: ReferenceBundle = serde_json::from_str(&text).map_err(|e| {
        format!(
            "参考数据文件 {} 不对（{e}）：请删除它，大厅服务器下次连上市局时会重新取得。",
            path.display()
        )
    })?;
    check(&bundle)?;
    Ok(bundle)
}

/// The lists a desk needs are there and read as the desks read them.
fn check(bundle: &ReferenceBundle) -> Result<(), String> {
    let text = |name: &str| {
        bundle
            .lists
            .get(name)
            .map(Value::to_string)
            .unwrap_or_default()
    };
    ReferenceData::from_json(&text("categories"), &text("legal_routes"))
        .map(|_| ())
        .map_err(|e| format!("市局的参考数据不对：{e}"))
}

/// Serves the lists of `data_dir` from now on (`xinfang-city serve`).
pub fn load(data_dir: &Path) -> Result<Arc<ReferenceBundle>, String> {
    let bundle = Arc::new(with_overrides(data_dir)?);
    *BUNDLE.write().unwrap_or_else(|e| e.into_inner()) = Some(bundle.clone());
    Ok(bundle)
}

/// A hall hub serves its city's lists from now on, and keeps them in its data dir for its
/// next start. Lists that would not read on a desk are refused.
pub fn replace(data_dir: &Path, bundle: ReferenceBundle) -> Result<(), String> {
    check(&bundle)?;
    let path = data_dir.join(UPSTREAM_FILE);
    let tmp = data_dir.join(format!("{UPSTREAM_FILE}.tmp"));
    let text = serde_json::to_string(&bundle).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("无法写入 {}：{e}", path.display()))?;
    *BUNDLE.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(bundle));
    Ok(())
}

/// What `GET /v1/reference` answers.
pub fn bundle() -> Arc<ReferenceBundle> {
    BUNDLE
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(|| Arc::new(make(compiled_in())))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_parse() {
        let b = super::bundle();
        assert_eq!(b.lists.len(), super::LISTS.len());
        assert_eq!(b.version.len(), 16);
    }

    const Y2027: &str = r#"{"year": 2027, "holidays": [{"date": "2027-01-01", "name": "元旦"}],
        "workdays": []}"#;

    #[test]
    fn a_holiday_year_in_the_data_dir_is_added_and_changes_the_version() {
        let dir = tempfile::TempDir::new().unwrap();
        let plain = with_overrides(dir.path()).unwrap();
        assert_eq!(plain.version, make(compiled_in()).version);
        std::fs::create_dir_all(dir.path().join("reference/holidays")).unwrap();
        std::fs::write(dir.path().join("reference/holidays/2027.json"), Y2027).unwrap();
        let b = with_overrides(dir.path()).unwrap();
        assert!(b.lists.contains_key("holidays/2027"));
        assert!(b.lists.contains_key("holidays/2026"));
        assert_ne!(b.version, plain.version);
    }

    #[test]
    fn bad_reference_files_are_refused_in_chinese() {
        let dir = tempfile::TempDir::new().unwrap();
        let h = dir.path().join("reference/holidays");
        std::fs::create_dir_all(&h).unwrap();
        std::fs::write(h.join("2028.json"), Y2027).unwrap();
        let e = with_overrides(dir.path()).unwrap_err();
        assert!(e.contains("文件名应为 2027.json"), "{e}");
        std::fs::remove_file(h.join("2028.json")).unwrap();
        std::fs::write(h.join("2027.json"), "{").unwrap();
        let e = with_overrides(dir.path()).unwrap_err();
        assert!(e.contains("请改正或移走"), "{e}");
        std::fs::remove_file(h.join("2027.json")).unwrap();
        std::fs::write(dir.path().join("reference/categories.json"), "[]").unwrap();
        let e = with_overrides(dir.path()).unwrap_err();
        assert!(e.contains("问题分类表"), "{e}");
    }
}
