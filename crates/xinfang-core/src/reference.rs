//! Reference data: appeal kinds, categories, legal routes, regions (DOMAIN.md §6).
//!
//! Categories and legal routes are data (`assets/categories.json`, `assets/legal_routes.json`),
//! compiled in and replaceable by newer lists from the city server. Records keep the code they
//! were made with, so a code is never reused for something else; a category the city drops is
//! marked `retired` rather than deleted, so old records still show its name.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

pub use crate::regions::Regions;

/// The three kinds of appeal (信访工作条例).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AppealKind {
    /// 建议意见类
    Suggestion,
    /// 检举控告类 — confidential.
    Report,
    /// 申诉求决类
    Claim,
}

impl AppealKind {
    pub const ALL: [AppealKind; 3] = [
        AppealKind::Suggestion,
        AppealKind::Report,
        AppealKind::Claim,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AppealKind::Suggestion => "suggestion",
            AppealKind::Report => "report",
            AppealKind::Claim => "claim",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AppealKind::Suggestion => "建议意见类",
            AppealKind::Report => "检举控告类",
            AppealKind::Claim => "申诉求决类",
        }
    }

    /// Reads the code, the Chinese name, or the name without 类 (建议意见 …).
    pub fn parse(s: &str) -> Option<AppealKind> {
        let s = s.trim();
        Self::ALL.into_iter().find(|k| {
            k.code().eq_ignore_ascii_case(s)
                || k.label_zh() == s
                || k.label_zh().strip_suffix('类') == Some(s)
        })
    }

    /// Reports/accusations must not reach the person reported (DOMAIN.md §3): such records are
    /// shown only to roles that need them, and every view is audited.
    pub fn is_confidential(self) -> bool {
        self == AppealKind::Report
    }
}

/// An appeal category (问题分类).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Category {
    pub code: String,
    pub name: String,
    /// Where the category comes from (the statute or national list it follows), for reviewers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub basis: String,
    /// Dropped by the city: still named on old records, not offered for new ones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

/// A legal route a claim can be guided into (依法分类处理).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LegalRoute {
    pub code: String,
    pub name: String,
    /// One or two sentences a lawyer can read to the visitor.
    #[serde(default)]
    pub description: String,
    /// The statute that opens the route, for reviewers.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub basis: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

/// A list of reference data that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceDataError {
    #[error("{list}不是有效的 JSON：{source}")]
    Json {
        list: &'static str,
        source: serde_json::Error,
    },
    #[error("{list}是空的")]
    Empty { list: &'static str },
    #[error("{list}中有空的代码或名称")]
    Blank { list: &'static str },
    #[error("{list}中“{value}”出现了不止一次")]
    Duplicate { list: &'static str, value: String },
}

/// Names of the category and legal-route lists in the city's reference bundle (the city's
/// `reference/categories.json` and `reference/legal_routes.json`, served as these names).
pub const CITY_CATEGORIES: &str = "categories";
pub const CITY_LEGAL_ROUTES: &str = "legal_routes";

/// A city list the desk did not take, and why (for the desk's log; the desk goes on with the
/// compiled-in list).
#[derive(Debug)]
pub struct RefusedList {
    pub name: &'static str,
    pub error: ReferenceDataError,
}

/// Everything a form needs to check codes against.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceData {
    pub categories: Vec<Category>,
    pub legal_routes: Vec<LegalRoute>,
    pub regions: &'static Regions,
}

static BUNDLED: LazyLock<ReferenceData> = LazyLock::new(|| {
    ReferenceData::from_json(
        include_str!("../../../assets/categories.json"),
        include_str!("../../../assets/legal_routes.json"),
    )
    .expect("assets/categories.json and legal_routes.json are checked by the tests")
});

impl ReferenceData {
    /// The lists compiled into this build.
    pub fn bundled() -> &'static ReferenceData {
        &BUNDLED
    }

    /// Lists in the shape of the assets (e.g. newer ones from the city server), with the
    /// bundled regions. Codes and names must be non-empty and unique.
    pub fn from_json(
        categories_json: &str,
        routes_json: &str,
    ) -> Result<ReferenceData, ReferenceDataError> {
        let categories: Vec<Category> = parse("问题分类表", categories_json)?;
        let legal_routes: Vec<LegalRoute> = parse("法律途径表", routes_json)?;
        check_unique(
            "问题分类表",
            categories
                .iter()
                .map(|c| (c.code.as_str(), c.name.as_str())),
        )?;
        check_unique(
            "法律途径表",
            legal_routes
                .iter()
                .map(|r| (r.code.as_str(), r.name.as_str())),
        )?;
        Ok(ReferenceData {
            categories,
            legal_routes,
            regions: Regions::bundled(),
        })
    }

    /// The lists the desk offers and checks against: the compiled-in ones, each replaced by the
    /// city's list of that name (`categories`, `legal_routes`) when the city handed one out and
    /// it checks out as [`ReferenceData::from_json`] would. A compiled-in entry the city's list
    /// leaves out is kept as retired (old records still show its name; new ones may not use
    /// it), unless the city reused its name. A bad city list is returned in the second value
    /// and the compiled-in list used instead: reference data never stops the desk.
    pub fn with_city_lists(
        lists: &BTreeMap<String, serde_json::Value>,
    ) -> (ReferenceData, Vec<RefusedList>) {
        let bundled = Self::bundled();
        let mut refused = Vec::new();
        let categories = city_list(
            lists.get(CITY_CATEGORIES),
            "问题分类表",
            |c: &Category| (c.code.as_str(), c.name.as_str()),
            CITY_CATEGORIES,
            &mut refused,
        )
        .map_or_else(
            || bundled.categories.clone(),
            |city| {
                with_dropped_retired(
                    city,
                    &bundled.categories,
                    |c| (&c.code, &c.name),
                    |c| {
                        c.retired = true;
                    },
                )
            },
        );
        let legal_routes = city_list(
            lists.get(CITY_LEGAL_ROUTES),
            "法律途径表",
            |r: &LegalRoute| (r.code.as_str(), r.name.as_str()),
            CITY_LEGAL_ROUTES,
            &mut refused,
        )
        .map_or_else(
            || bundled.legal_routes.clone(),
            |city| {
                with_dropped_retired(
                    city,
                    &bundled.legal_routes,
                    |r| (&r.code, &r.name),
                    |r| {
                        r.retired = true;
                    },
                )
            },
        );
        (
            ReferenceData {
                categories,
                legal_routes,
                regions: bundled.regions,
            },
            refused,
        )
    }

    /// A category by code or by Chinese name (retired ones included: old records need them).
    pub fn category(&self, code_or_name: &str) -> Option<&Category> {
        let s = code_or_name.trim();
        self.categories
            .iter()
            .find(|c| c.code == s)
            .or_else(|| self.categories.iter().find(|c| c.name == s))
    }

    /// A legal route by code or by Chinese name.
    pub fn legal_route(&self, code_or_name: &str) -> Option<&LegalRoute> {
        let s = code_or_name.trim();
        self.legal_routes
            .iter()
            .find(|r| r.code == s)
            .or_else(|| self.legal_routes.iter().find(|r| r.name == s))
    }
}

/// A city list, checked as `from_json` checks the assets; `None` when absent or refused.
fn city_list<T: for<'de> Deserialize<'de>>(
    value: Option<&serde_json::Value>,
    list: &'static str,
    key: impl Fn(&T) -> (&str, &str),
    name: &'static str,
    refused: &mut Vec<RefusedList>,
) -> Option<Vec<T>> {
    let value = value?;
    let checked = serde_json::from_value::<Vec<T>>(value.clone())
        .map_err(|source| ReferenceDataError::Json { list, source })
        .and_then(|items| {
            if items.is_empty() {
                return Err(ReferenceDataError::Empty { list });
            }
            check_unique(list, items.iter().map(&key))?;
            Ok(items)
        });
    match checked {
        Ok(items) => Some(items),
        Err(error) => {
            refused.push(RefusedList { name, error });
            None
        }
    }
}

/// `city`, then each entry of `bundled` whose code and name `city` does not have, retired.
fn with_dropped_retired<T: Clone>(
    mut city: Vec<T>,
    bundled: &[T],
    key: impl Fn(&T) -> (&String, &String),
    retire: impl Fn(&mut T),
) -> Vec<T> {
    let codes: HashSet<String> = city.iter().map(|t| key(t).0.clone()).collect();
    let names: HashSet<String> = city.iter().map(|t| key(t).1.clone()).collect();
    for b in bundled {
        let (code, name) = key(b);
        if !codes.contains(code) && !names.contains(name) {
            let mut old = b.clone();
            retire(&mut old);
            city.push(old);
        }
    }
    city
}

fn parse<T: for<'de> Deserialize<'de>>(
    list: &'static str,
    json: &str,
) -> Result<Vec<T>, ReferenceDataError> {
    let items: Vec<T> =
        serde_json::from_str(json).map_err(|source| ReferenceDataError::Json { list, source })?;
    if items.is_empty() {
        return Err(ReferenceDataError::Empty { list });
    }
    Ok(items)
}

fn check_unique<'a>(
    list: &'static str,
    items: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), ReferenceDataError> {
    let (mut codes, mut names) = (HashSet::new(), HashSet::new());
    for (code, name) in items {
        if code.trim().is_empty() || name.trim().is_empty() {
            return Err(ReferenceDataError::Blank { list });
        }
        for (seen, value) in [(&mut codes, code), (&mut names, name)] {
            if !seen.insert(value) {
                return Err(ReferenceDataError::Duplicate {
                    list,
                    value: value.to_owned(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appeal_kinds() {
        for k in AppealKind::ALL {
            assert_eq!(AppealKind::parse(k.code()), Some(k));
            assert_eq!(AppealKind::parse(k.label_zh()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.code());
        }
        assert_eq!(AppealKind::parse(" 检举控告 "), Some(AppealKind::Report));
        assert_eq!(AppealKind::parse("申诉求决"), Some(AppealKind::Claim));
        assert_eq!(AppealKind::parse("投诉"), None);
        assert!(AppealKind::Report.is_confidential());
        assert!(!AppealKind::Claim.is_confidential());
        assert!(!AppealKind::Suggestion.is_confidential());
    }

    #[test]
    fn bundled_lists() {
        let r = ReferenceData::bundled();
        assert_eq!(r.categories.len(), 20);
        let names: Vec<&str> = r.categories.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "城乡建设",
                "自然资源",
                "劳动和社会保障",
                "农村农业",
                "卫生健康",
                "教育",
                "民政",
                "交通运输",
                "生态环境",
                "政法",
                "纪检监察",
                "组织人事",
                "企业改制",
                "市场监管",
                "党务政务",
                "退役军人事务",
                "经济管理（含非法集资）",
                "民族宗教",
                "涉法涉诉",
                "其他",
            ]
        );
        // The lists added for issue 16 say where each entry comes from.
        for code in [
            "veterans_affairs",
            "economic_management",
            "ethnic_religious",
            "law_litigation",
        ] {
            let c = r.category(code).unwrap_or_else(|| panic!("{code}"));
            assert!(c.basis.contains('《'), "{code}: {}", c.basis);
        }
        for code in [
            "retrial",
            "procuratorial_supervision",
            "enforcement",
            "state_compensation",
            "labour_inspection",
        ] {
            let route = r.legal_route(code).unwrap_or_else(|| panic!("{code}"));
            assert!(route.basis.contains('《'), "{code}: {}", route.basis);
            assert!(!route.description.is_empty());
        }
        assert_eq!(r.category("城乡建设").unwrap().code, "urban_construction");
        assert_eq!(r.category("urban_construction").unwrap().name, "城乡建设");
        assert!(r.category("不存在").is_none());
        for name in [
            "诉讼",
            "仲裁",
            "劳动人事争议仲裁",
            "行政复议",
            "行政裁决",
            "党员申诉/复审",
            "履行法定职责",
            "人民调解",
            "法律援助",
            "信访程序",
        ] {
            let route = r.legal_route(name).unwrap_or_else(|| panic!("{name}"));
            assert!(!route.description.is_empty());
        }
        assert_eq!(
            r.legal_route("labour_arbitration").unwrap().name,
            "劳动人事争议仲裁"
        );
        assert!(r.regions.contains("140521"));
    }

    #[test]
    fn lists_from_the_city() {
        let cats = r#"[{"code":"a","name":"甲"},{"code":"b","name":"乙","retired":true}]"#;
        let routes = r#"[{"code":"x","name":"诉讼"}]"#;
        let r = ReferenceData::from_json(cats, routes).unwrap();
        assert!(r.category("乙").unwrap().retired);
        assert_eq!(r.legal_route("x").unwrap().description, "");

        let dup = r#"[{"code":"a","name":"甲"},{"code":"a","name":"乙"}]"#;
        let e = ReferenceData::from_json(dup, routes).unwrap_err();
        assert!(
            matches!(e, ReferenceDataError::Duplicate { ref value, .. } if value == "a"),
            "{e}"
        );
        assert!(matches!(
            ReferenceData::from_json("[]", routes),
            Err(ReferenceDataError::Empty { .. })
        ));
        assert!(matches!(
            ReferenceData::from_json("{", routes),
            Err(ReferenceDataError::Json { .. })
        ));
        let blank = r#"[{"code":" ","name":"甲"}]"#;
        assert!(matches!(
            ReferenceData::from_json(blank, routes),
            Err(ReferenceDataError::Blank { .. })
        ));
    }

    #[test]
    fn city_lists_replace_the_bundled_ones_and_bad_ones_are_ignored() {
        let cats = serde_json::json!([
            {"code": "urban_construction", "name": "城乡建设"},
            {"code": "housing_security", "name": "住房保障"},
            {"code": "other", "name": "其他"},
        ]);
        let mut lists = BTreeMap::new();
        lists.insert(CITY_CATEGORIES.to_owned(), cats);
        lists.insert(CITY_LEGAL_ROUTES.to_owned(), serde_json::json!([]));
        lists.insert(
            "holidays/2027".to_owned(),
            serde_json::json!({"year": 2027}),
        );
        let (r, refused) = ReferenceData::with_city_lists(&lists);
        // The new category is offered; one the city left out is kept, retired.
        assert!(!r.category("住房保障").unwrap().retired);
        assert!(r.category("教育").unwrap().retired);
        let offered: Vec<&str> = r
            .categories
            .iter()
            .filter(|c| !c.retired)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(offered, ["城乡建设", "住房保障", "其他"]);
        // The empty route list is refused: the compiled-in routes stay.
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].name, CITY_LEGAL_ROUTES);
        assert!(matches!(refused[0].error, ReferenceDataError::Empty { .. }));
        assert_eq!(r.legal_routes, ReferenceData::bundled().legal_routes);

        // Duplicates and a wrong shape are refused too; nothing from the city: the bundled lists.
        let mut bad = BTreeMap::new();
        bad.insert(
            CITY_CATEGORIES.to_owned(),
            serde_json::json!([{"code": "a", "name": "甲"}, {"code": "a", "name": "乙"}]),
        );
        bad.insert(
            CITY_LEGAL_ROUTES.to_owned(),
            serde_json::json!({"code": "x"}),
        );
        let (r, refused) = ReferenceData::with_city_lists(&bad);
        assert_eq!(refused.len(), 2);
        assert_eq!(&r, ReferenceData::bundled());
        let (r, refused) = ReferenceData::with_city_lists(&BTreeMap::new());
        assert!(refused.is_empty());
        assert_eq!(&r, ReferenceData::bundled());
    }
}
