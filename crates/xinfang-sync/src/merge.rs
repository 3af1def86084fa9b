//! How concurrent changes combine. One set of rules, used by the city server and by every desk,
//! so every replica that has seen the same changes holds the same record whatever the order.
//!
//! - Each field is a last-writer-wins register. A write is ordered by its [`Version`]: the HLC
//!   timestamp first, then the device id (a total order, so there are no ties).
//! - A matter's `status` moves only forward: a write is ordered by (rank of the status, HLC,
//!   device id), where the rank is [`MatterStatus::ord`]; a later write of an earlier status
//!   loses to an earlier write of a later one. Its `state` (the steps and deadlines, as JSON
//!   text) is ordered the same way by the status inside it, so status and steps never disagree.
//! - A delete is a tombstone: the record stays, marked deleted by the greatest delete version;
//!   later field writes are still merged (so a tombstone never depends on arrival order).
//!
//! Each rule picks the maximum of a total order, which is associative, commutative and
//! idempotent: replicas converge however changes are batched, repeated or reordered.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use xinfang_core::matter::MatterStatus;

use crate::hlc::Hlc;
use crate::wire::{Change, Op};

/// Who wrote a value, and when.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    pub hlc: Hlc,
    pub device_id: String,
}

impl Version {
    pub fn new(hlc: Hlc, device_id: impl Into<String>) -> Version {
        Version {
            hlc,
            device_id: device_id.into(),
        }
    }
}

/// Rank of a matter status along the procedure; unknown statuses rank below every known one.
pub fn status_rank(value: &Value) -> i32 {
    value
        .as_str()
        .and_then(|s| serde_json::from_value::<MatterStatus>(Value::String(s.to_owned())).ok())
        .map_or(-1, |s| i32::from(s.ord()))
}

/// The rank a write of the field is ordered by before time: a matter's `status`, and its
/// `state` (the JSON text of the whole procedure record) by the status inside it, so the
/// status and the record of steps always come from the same, furthest-along write. `None` for
/// every other field (plain last-writer-wins).
pub fn forward_rank(entity: &str, field: &str, value: &Value) -> Option<i32> {
    match (entity, field) {
        ("matter", "status") => Some(status_rank(value)),
        ("matter", "state") => Some(
            value
                .as_str()
                .and_then(|text| serde_json::from_str::<Value>(text).ok())
                .map_or(-1, |state| status_rank(&state["status"])),
        ),
        _ => None,
    }
}

/// Compares two writes of one field: `Greater` when `(a_value, a)` wins over `(b_value, b)`.
pub fn compare_writes(
    entity: &str,
    field: &str,
    a_value: &Value,
    a: &Version,
    b_value: &Value,
    b: &Version,
) -> Ordering {
    if let (Some(ra), Some(rb)) = (
        forward_rank(entity, field, a_value),
        forward_rank(entity, field, b_value),
    ) && ra != rb
    {
        return ra.cmp(&rb);
    }
    a.cmp(b)
}

/// A record as every replica should hold it: each field's value with the version that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Record {
    pub fields: BTreeMap<String, (Value, Version)>,
    /// The greatest delete version, when the record has been deleted.
    pub deleted: Option<Version>,
}

impl Record {
    /// Merges one change into the record; returns the names of the fields whose value changed.
    pub fn apply(
        &mut self,
        entity: &str,
        change_fields: &Map<String, Value>,
        op: Op,
        version: &Version,
    ) -> Vec<String> {
        let mut changed = Vec::new();
        if op == Op::Delete && self.deleted.as_ref().is_none_or(|d| version > d) {
            self.deleted = Some(version.clone());
        }
        for (field, value) in change_fields {
            // Change metadata (`meta_base`, `meta_by`), not a field of the record.
            if is_meta(field) {
                continue;
            }
            // A registration sets only what it knows: an empty field of an insert erases
            // nothing another desk wrote.
            if op == Op::Insert && value.is_null() {
                continue;
            }
            let wins = match self.fields.get(field) {
                None => true,
                Some((old_value, old_version)) => {
                    compare_writes(entity, field, value, version, old_value, old_version)
                        == Ordering::Greater
                }
            };
            if wins {
                let old = self
                    .fields
                    .insert(field.clone(), (value.clone(), version.clone()));
                if old.is_none_or(|(v, _)| &v != value) {
                    changed.push(field.clone());
                }
            }
        }
        changed
    }

    /// Merges a change as pushed by `device_id`.
    pub fn apply_change(&mut self, entity: &str, device_id: &str, change: &Change) -> Vec<String> {
        self.apply(
            entity,
            &change.fields,
            change.op,
            &Version::new(change.hlc, device_id),
        )
    }

    /// The plain values, without versions.
    pub fn values(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }
}

/// Key of the change metadata naming, per field, the versions a write replaced (its base).
pub const BASE_KEY: &str = "meta_base";
/// Key of the change metadata naming the staff member who wrote it.
pub const BY_KEY: &str = "meta_by";

/// Change metadata travels with the fields under the prefix `meta_` (a valid field name for
/// every server, so older ones store it and desks that do not know it skip it: no table has
/// such a column); it is never a field of the record.
pub fn is_meta(field: &str) -> bool {
    field.starts_with("meta_")
}

/// Fields whose concurrent writes are kept as a conflict for a person (docs/sync.md): a
/// person's name, document number, phone and address; and a mediation's conclusion, carried
/// whole as change metadata (`MEDIATION_CONCLUSION`) beside its fields, so two desks that
/// each concluded the same pending mediation offline (even with the same outcome and other
/// agreements) are both kept. Every other field is plain LWW.
pub const CONFLICT_FIELDS: &[(&str, &str)] = &[
    ("visitor", "name"),
    ("visitor", "id_number"),
    ("visitor", "phone"),
    ("visitor", "address"),
    ("mediation", MEDIATION_CONCLUSION),
];

/// A mediation's conclusion as one value (an object of its fields), sent with the fields
/// of every write that concludes it.
pub const MEDIATION_CONCLUSION: &str = "meta_conclusion";

pub fn tracks_conflicts(entity: &str, field: &str) -> bool {
    CONFLICT_FIELDS.contains(&(entity, field))
}

/// One write of a field, as the conflict rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldWrite {
    pub value: Value,
    pub version: Version,
    /// The versions this write replaced. `None` (a writer that names no base): it replaces
    /// every write older than itself, as plain LWW.
    pub base: Option<Vec<Version>>,
    /// When it was written (RFC 3339, the writer's clock) and by whom (staff id, if known).
    pub changed_at: String,
    pub by: Option<String>,
}

/// The base a change names for `field`: `[]` for an insert (a registration replaces nothing:
/// two registrations of one person are concurrent), the listed versions of `meta_base`, or `None`.
pub fn base_of(fields: &Map<String, Value>, op: Op, field: &str) -> Option<Vec<Version>> {
    if op == Op::Insert {
        return Some(Vec::new());
    }
    let list = fields.get(BASE_KEY)?.get(field)?.as_array()?;
    Some(
        list.iter()
            .filter_map(|v| {
                let pair = v.as_array()?;
                Some(Version::new(
                    Hlc(pair.first()?.as_i64()?),
                    pair.get(1)?.as_str()?,
                ))
            })
            .collect(),
    )
}

/// The JSON of a base list, as `base_of` reads it.
pub fn base_json(base: &[Version]) -> Value {
    Value::Array(
        base.iter()
            .map(|v| Value::Array(vec![Value::from(v.hlc.0), Value::from(v.device_id.clone())]))
            .collect(),
    )
}

fn supersedes(w: &FieldWrite, old: &FieldWrite) -> bool {
    match &w.base {
        Some(base) => base.contains(&old.version),
        None => old.version < w.version,
    }
}

/// The heads of a field: its writes that no other write replaced, oldest version first. A
/// function of the set of writes only, so every replica that holds the same writes finds the
/// same heads whatever order they arrived in.
pub fn heads(writes: &[FieldWrite]) -> Vec<&FieldWrite> {
    let mut out: Vec<&FieldWrite> = writes
        .iter()
        .filter(|w| {
            !writes
                .iter()
                .any(|o| o.version != w.version && supersedes(o, w))
        })
        .collect();
    out.sort_by(|a, b| a.version.cmp(&b.version));
    out.dedup_by(|a, b| a.version == b.version);
    out
}

/// A conflict: the heads of a field hold more than one distinct value. The options are one
/// head per value (its latest write), oldest first; the shown value (LWW) is the last.
pub fn conflict(writes: &[FieldWrite]) -> Option<Vec<&FieldWrite>> {
    let hs = heads(writes);
    let mut options: Vec<&FieldWrite> = Vec::new();
    for h in hs.into_iter().rev() {
        if !options.iter().any(|o| o.value == h.value) {
            options.push(h);
        }
    }
    options.reverse();
    (options.len() > 1).then_some(options)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn v(ms: i64, dev: &str) -> Version {
        Version::new(Hlc::new(ms, 0), dev)
    }

    fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn later_write_wins_and_device_id_breaks_ties() {
        let mut r = Record::default();
        r.apply(
            "visitor",
            &fields(&[("phone", json!("13800000001"))]),
            Op::Insert,
            &v(10, "b"),
        );
        r.apply(
            "visitor",
            &fields(&[("phone", json!("13800000002"))]),
            Op::Update,
            &v(9, "z"),
        );
        assert_eq!(r.values()["phone"], json!("13800000001"));
        r.apply(
            "visitor",
            &fields(&[("phone", json!("13800000003"))]),
            Op::Update,
            &v(10, "c"),
        );
        assert_eq!(r.values()["phone"], json!("13800000003"));
    }

    #[test]
    fn matter_state_comes_from_the_furthest_along_write() {
        let state = |status: &str, note: &str| {
            json!(json!({"status": status, "notes": [note]}).to_string())
        };
        // Desk a concludes the matter; desk b, offline, later writes a note on the accepted one.
        let concluded = fields(&[
            ("status", json!("concluded")),
            ("state", state("concluded", "办结")),
        ]);
        let late_note = fields(&[("state", state("accepted", "补充材料"))]);
        let mut x = Record::default();
        x.apply("matter", &concluded, Op::Update, &v(10, "a"));
        x.apply("matter", &late_note, Op::Update, &v(20, "b"));
        let mut y = Record::default();
        y.apply("matter", &late_note, Op::Update, &v(20, "b"));
        y.apply("matter", &concluded, Op::Update, &v(10, "a"));
        for r in [&x, &y] {
            assert_eq!(r.values()["status"], json!("concluded"));
            assert_eq!(r.values()["state"], state("concluded", "办结"));
        }
        // At the same status the later write wins; unreadable text ranks below every status.
        x.apply(
            "matter",
            &fields(&[("state", state("concluded", "更正"))]),
            Op::Update,
            &v(30, "b"),
        );
        x.apply(
            "matter",
            &fields(&[("state", json!("not json"))]),
            Op::Update,
            &v(40, "c"),
        );
        assert_eq!(x.values()["state"], state("concluded", "更正"));
    }

    #[test]
    fn matter_status_only_moves_forward() {
        let mut r = Record::default();
        r.apply(
            "matter",
            &fields(&[("status", json!("concluded"))]),
            Op::Update,
            &v(10, "a"),
        );
        r.apply(
            "matter",
            &fields(&[("status", json!("accepted"))]),
            Op::Update,
            &v(20, "b"),
        );
        assert_eq!(r.values()["status"], json!("concluded"));
        r.apply(
            "matter",
            &fields(&[("status", json!("under_review"))]),
            Op::Update,
            &v(5, "c"),
        );
        assert_eq!(r.values()["status"], json!("under_review"));
        // Same rank (转送 / 交办): the later write wins.
        let mut s = Record::default();
        s.apply(
            "matter",
            &fields(&[("status", json!("forwarded"))]),
            Op::Update,
            &v(1, "a"),
        );
        s.apply(
            "matter",
            &fields(&[("status", json!("assigned"))]),
            Op::Update,
            &v(2, "a"),
        );
        assert_eq!(s.values()["status"], json!("assigned"));
        // Other entities' `status` fields are plain LWW.
        let mut t = Record::default();
        t.apply(
            "other",
            &fields(&[("status", json!("closed"))]),
            Op::Update,
            &v(1, "a"),
        );
        t.apply(
            "other",
            &fields(&[("status", json!("registered"))]),
            Op::Update,
            &v(2, "a"),
        );
        assert_eq!(t.values()["status"], json!("registered"));
    }

    #[test]
    fn deletes_are_sticky_tombstones() {
        let mut r = Record::default();
        r.apply(
            "visit",
            &fields(&[("appeal", json!("x"))]),
            Op::Insert,
            &v(1, "a"),
        );
        r.apply("visit", &Map::new(), Op::Delete, &v(2, "a"));
        r.apply(
            "visit",
            &fields(&[("appeal", json!("y"))]),
            Op::Update,
            &v(3, "b"),
        );
        assert_eq!(r.deleted, Some(v(2, "a")));
        assert_eq!(r.values()["appeal"], json!("y"));
    }
}
