//! People: one person whatever the records say (docs/sync.md, "People: correct, merge, split").
//!
//! A person can be on file twice (registered once with an ID card and once with a passport, a
//! typo in the number) or two people can be fused (a mistyped number that is someone else's).
//! The fixes are records of their own, synced like visits, and every replica derives the same
//! people from the same set of records, whatever order they arrived in:
//!
//! - a **merge** (survivor, merged): the merged record's visits show under the survivor;
//! - an **unmerge** names a merge and undoes it;
//! - a **visit move** (a split) puts one visit's link to a person under another person.
//!
//! Pure functions: the store loads the records and writes the derived columns.

use std::collections::BTreeMap;

use crate::FieldError;

/// A merge record: `merged`'s visits show under `survivor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    pub id: String,
    pub survivor: String,
    pub merged: String,
    /// The hybrid-logical-clock stamp of the merge: orders merges the same way everywhere.
    pub hlc: i64,
}

/// What the active merges make of the people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct People {
    /// Every merged-away record → the person it shows under (never itself, never merged).
    pub canon: BTreeMap<String, String>,
    /// Merges that do not count: they would merge a person into itself (two desks merged A
    /// into B and B into A offline; the earlier merge stands) — kept, shown, undoable.
    pub ignored: Vec<String>,
}

impl People {
    /// The person a record shows under.
    pub fn person_of<'a>(&'a self, record: &'a str) -> &'a str {
        self.canon.get(record).map_or(record, String::as_str)
    }
}

/// The people made by the active merges (those no unmerge names), applied in the order
/// `(hlc, id)` — a total order every replica agrees on — so the outcome depends only on the
/// set of merges. A merge whose two records already are one person is ignored.
pub fn resolve(active: &[Merge]) -> People {
    let mut merges: Vec<&Merge> = active.iter().collect();
    merges.sort_by(|a, b| a.hlc.cmp(&b.hlc).then_with(|| a.id.cmp(&b.id)));
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    let root = |parent: &BTreeMap<String, String>, mut x: String| {
        while let Some(p) = parent.get(&x) {
            x = p.clone();
        }
        x
    };
    let mut ignored = Vec::new();
    for m in merges {
        let a = root(&parent, m.merged.clone());
        let b = root(&parent, m.survivor.clone());
        if a == b {
            ignored.push(m.id.clone());
            continue;
        }
        parent.insert(a, b);
    }
    let canon = parent
        .keys()
        .map(|k| (k.clone(), root(&parent, k.clone())))
        .collect();
    People { canon, ignored }
}

/// A visit move (split): the link of `visit_id` to record `from` shows under `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitMove {
    pub id: String,
    pub visit_id: String,
    pub from: String,
    pub to: String,
    pub hlc: i64,
}

/// For each moved link (visit, record), the record it shows under: the last move by
/// `(hlc, id)` wins, so a later split overrides an earlier one on every replica.
pub fn moved_links(moves: &[VisitMove]) -> BTreeMap<(String, String), String> {
    let mut sorted: Vec<&VisitMove> = moves.iter().collect();
    sorted.sort_by(|a, b| a.hlc.cmp(&b.hlc).then_with(|| a.id.cmp(&b.id)));
    let mut out = BTreeMap::new();
    for m in sorted {
        out.insert((m.visit_id.clone(), m.from.clone()), m.to.clone());
    }
    out
}

/// The reason a supervisor gives for a correction, merge, unmerge or split: required, short.
pub fn check_reason(reason: &str) -> Result<String, FieldError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(FieldError::new(
            "reason",
            "reason_empty",
            "请填写原因（例如：登记时证件号码录入错误，已核对原件）。原因会记入审计日志。",
        ));
    }
    if r.chars().count() > 200 {
        return Err(FieldError::new(
            "reason",
            "reason_too_long",
            "原因最多 200 个字，请精简后再提交。",
        ));
    }
    Ok(r.to_owned())
}

/// Why two records are listed as likely one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    /// The same document type and number (registered at two desks, or after a correction).
    SameDocument,
    /// The same name and birth date.
    SameNameAndBirth,
    /// Names that sound the same (equal pinyin, other characters) and the same birth date.
    SoundAlike,
    /// The same phone number.
    SamePhone,
}

impl DuplicateReason {
    pub fn label_zh(self) -> &'static str {
        match self {
            DuplicateReason::SameDocument => "证件号码相同",
            DuplicateReason::SameNameAndBirth => "姓名和出生日期相同",
            DuplicateReason::SoundAlike => "姓名读音相同、出生日期相同",
            DuplicateReason::SamePhone => "联系电话相同",
        }
    }
}

/// What the duplicate rule looks at of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonKeys {
    pub name: String,
    pub pinyin: String,
    pub id_type: String,
    pub id_number: String,
    pub birth_date: Option<String>,
    pub phone: Option<String>,
}

/// Why `a` and `b` may be one person (empty: no reason to think so).
pub fn duplicate_reasons(a: &PersonKeys, b: &PersonKeys) -> Vec<DuplicateReason> {
    let mut out = Vec::new();
    if a.id_type == b.id_type && !a.id_number.is_empty() && a.id_number == b.id_number {
        out.push(DuplicateReason::SameDocument);
    }
    let same_birth = a.birth_date.is_some() && a.birth_date == b.birth_date;
    if same_birth && a.name == b.name {
        out.push(DuplicateReason::SameNameAndBirth);
    } else if same_birth && !a.pinyin.is_empty() && a.pinyin == b.pinyin {
        out.push(DuplicateReason::SoundAlike);
    }
    let digits = |p: &Option<String>| -> String {
        p.as_deref()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect()
    };
    let (pa, pb) = (digits(&a.phone), digits(&b.phone));
    if pa.len() >= 7 && pa == pb {
        out.push(DuplicateReason::SamePhone);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, survivor: &str, merged: &str, hlc: i64) -> Merge {
        Merge {
            id: id.into(),
            survivor: survivor.into(),
            merged: merged.into(),
            hlc,
        }
    }

    #[test]
    fn merges_follow_chains_and_a_cycle_is_ignored() {
        // B into A, then C into B: all show under A.
        let p = resolve(&[m("2", "B", "C", 2), m("1", "A", "B", 1)]);
        assert_eq!(p.person_of("C"), "A");
        assert_eq!(p.person_of("B"), "A");
        assert_eq!(p.person_of("A"), "A");
        // Two desks merged offline in opposite directions: the earlier stands.
        let p = resolve(&[m("x", "A", "B", 5), m("y", "B", "A", 7)]);
        assert_eq!(p.person_of("B"), "A");
        assert_eq!(p.ignored, vec!["y".to_owned()]);
    }

    #[test]
    fn the_outcome_does_not_depend_on_the_order_given() {
        let merges = vec![
            m("1", "A", "B", 3),
            m("2", "C", "A", 1),
            m("3", "B", "C", 2),
            m("4", "D", "E", 4),
        ];
        let first = resolve(&merges);
        let mut rev = merges.clone();
        rev.reverse();
        assert_eq!(resolve(&rev), first);
        rev.swap(0, 2);
        assert_eq!(resolve(&rev), first);
    }

    #[test]
    fn the_last_move_of_a_link_wins() {
        let mv = |id: &str, to: &str, hlc| VisitMove {
            id: id.into(),
            visit_id: "v".into(),
            from: "A".into(),
            to: to.into(),
            hlc,
        };
        let links = moved_links(&[mv("2", "C", 9), mv("1", "B", 3)]);
        assert_eq!(links[&("v".to_owned(), "A".to_owned())], "C");
    }

    #[test]
    fn duplicates_are_told_by_document_name_birth_sound_and_phone() {
        let keys =
            |name: &str, pinyin: &str, number: &str, birth: Option<&str>, phone: Option<&str>| {
                PersonKeys {
                    name: name.into(),
                    pinyin: pinyin.into(),
                    id_type: "resident_id".into(),
                    id_number: number.into(),
                    birth_date: birth.map(str::to_owned),
                    phone: phone.map(str::to_owned),
                }
            };
        let a = keys(
            "王伟",
            "wangwei",
            "1",
            Some("1980-01-01"),
            Some("138-0000-0001"),
        );
        let b = keys(
            "汪伟",
            "wangwei",
            "2",
            Some("1980-01-01"),
            Some("13800000001"),
        );
        assert_eq!(
            duplicate_reasons(&a, &b),
            vec![DuplicateReason::SoundAlike, DuplicateReason::SamePhone]
        );
        let c = keys("王伟", "wangwei", "1", None, None);
        assert_eq!(
            duplicate_reasons(&a, &c),
            vec![DuplicateReason::SameDocument]
        );
        let d = keys("王伟", "wangwei", "3", Some("1980-01-01"), None);
        assert_eq!(
            duplicate_reasons(&a, &d),
            vec![DuplicateReason::SameNameAndBirth]
        );
        // Same name alone, other birth date: nothing to say.
        let e = keys("王伟", "wangwei", "4", Some("1990-01-01"), None);
        assert!(duplicate_reasons(&a, &e).is_empty());
    }

    #[test]
    fn a_reason_is_required() {
        assert_eq!(check_reason("  ").unwrap_err().code, "reason_empty");
        assert_eq!(check_reason(" 录入错误 ").unwrap(), "录入错误");
    }
}
