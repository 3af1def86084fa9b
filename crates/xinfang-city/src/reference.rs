//! City reference data served to desks: the lists in `assets/`, compiled in.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;
use sha2::{Digest, Sha256};
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

static BUNDLE: LazyLock<ReferenceBundle> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    let mut lists = BTreeMap::new();
    for (name, text) in LISTS {
        hash.update(name.as_bytes());
        hash.update(text.as_bytes());
        let value: Value =
            serde_json::from_str(text).expect("assets are valid JSON (checked by tests)");
        lists.insert((*name).to_owned(), value);
    }
    let version: String = hash
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    ReferenceBundle { version, lists }
});

pub fn bundle() -> &'static ReferenceBundle {
    &BUNDLE
}

#[cfg(test)]
mod tests {
    #[test]
    fn assets_parse() {
        let b = super::bundle();
        assert_eq!(b.lists.len(), super::LISTS.len());
        assert_eq!(b.version.len(), 16);
    }
}
