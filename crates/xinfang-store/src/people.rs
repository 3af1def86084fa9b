//! People: correct a document number, find likely duplicates, merge, unmerge, split
//! (docs/sync.md, "People: correct, merge, split").
//!
//! Merges, unmerges and visit moves are records of their own (`person_merges`,
//! `person_unmerges`, `visit_moves`), logged and synced like visits. Who shows under whom is
//! derived here from the whole set of them by `xinfang_core::people` — after each local change
//! and after each pulled page — into two columns no one syncs: `visitors.merged_into` and
//! `visit_visitors.person_id`. So every replica that holds the same records shows the same
//! people, whatever order merges, unmerges and visits arrived in; a visit pulled later that
//! points at a merged record shows under the survivor.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::FieldError;
use xinfang_core::id::{IdType, mask_id};
use xinfang_core::people::{self, DuplicateReason, Merge, PersonKeys, VisitMove};
use xinfang_core::phone::mask_phone;
use xinfang_core::visit::ValidVisitor;

use crate::audit::{AuditAction, append_in};
use crate::changelog::{self, Op};
use crate::{Result, Store, StoreError, now_text};

/// One person as the people screens list them (ID number and phone masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PersonBrief {
    pub visitor_id: String,
    pub name: String,
    pub id_type: String,
    pub id_type_label: String,
    pub id_number_masked: String,
    pub phone_masked: Option<String>,
    pub birth_date: Option<String>,
    /// Every visit shown under this person (merged records' included).
    pub visit_count: i64,
    pub last_visit_at: Option<String>,
    /// Has a 检举控告 visit: lists show the person only to whom may see those visits.
    pub reporter: bool,
}

/// Two people who may be one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicatePair {
    /// The suggested survivor: more visits, else the older record.
    pub keep: PersonBrief,
    pub other: PersonBrief,
    /// `same_document`, `same_name_and_birth`, `sound_alike`, `same_phone`.
    pub reasons: Vec<String>,
    /// The same in Chinese.
    pub reason_labels: Vec<String>,
}

/// The likely duplicates a supervisor is shown: the strongest pairs, and how many there are in
/// all (a hall's first sync can bring thousands; the list stops at [`PAIRS_CAP`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LikelyDuplicates {
    pub pairs: Vec<DuplicatePair>,
    /// Every pair found, listed or not.
    pub total: usize,
}

/// A merge as the screens list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MergeRecord {
    pub merge_id: String,
    pub survivor: PersonBrief,
    pub merged: PersonBrief,
    pub reason: String,
    pub by_name: String,
    pub at: String,
    /// No unmerge names it.
    pub active: bool,
    /// Active, but it would merge a person into itself (two opposite merges made offline):
    /// the earlier one stands, this one counts for nothing until undone.
    pub ignored: bool,
}

/// What a split did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SplitOutcome {
    /// The person the visits now show under.
    pub person: PersonBrief,
    /// The person they were taken from.
    pub from: PersonBrief,
    pub moved_visits: Vec<String>,
}

/// Where a split puts the visits.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitTarget {
    /// A person on file.
    Existing(String),
    /// The person of this document: found on file by it, else registered now.
    Document(ValidVisitor),
}

fn id_type_code(t: IdType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn id_type_label(code: &str) -> String {
    serde_json::from_value::<IdType>(json!(code))
        .map(|t| t.label_zh().to_owned())
        .unwrap_or_else(|_| code.to_owned())
}

/// The person a visitor record shows under (itself unless merged).
pub(crate) fn person_of(conn: &Connection, visitor_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT coalesce(merged_into, id) FROM visitors WHERE id = ?1")?
        .query_row([visitor_id], |r| r.get(0))
        .optional()?)
}

fn brief(conn: &Connection, visitor_id: &str) -> Result<PersonBrief> {
    let mut p = conn
        .prepare_cached(
            "SELECT id, name, id_type, id_number, phone, birth_date, visit_count, last_visit_at
             FROM visitors WHERE id = ?1",
        )?
        .query_row([visitor_id], |r| {
            let id_type: String = r.get(2)?;
            let number: String = r.get(3)?;
            let phone: Option<String> = r.get(4)?;
            Ok(PersonBrief {
                visitor_id: r.get(0)?,
                name: r.get(1)?,
                id_type_label: id_type_label(&id_type),
                id_type,
                id_number_masked: mask_id(&number),
                phone_masked: phone.as_deref().map(mask_phone),
                birth_date: r.get(5)?,
                visit_count: r.get(6)?,
                last_visit_at: r.get::<_, Option<String>>(7)?.filter(|s| !s.is_empty()),
                reporter: false,
            })
        })
        .optional()?
        .ok_or_else(|| StoreError::NotFound("该来访人".to_owned()))?;
    // 检举控告 by the visit's kind or its matter's (the core's rule, as every list).
    let mut stmt = conn.prepare_cached(
        "SELECT x.appeal_kind, coalesce(m.confidential, 0) FROM visit_visitors vv
         JOIN visits x ON x.id = vv.visit_id LEFT JOIN matters m ON m.id = x.matter_id
         WHERE vv.person_id = ?1",
    )?;
    let mut rows = stmt.query([visitor_id])?;
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        if xinfang_core::staff::visit_is_confidential(&kind, r.get(1)?) {
            p.reporter = true;
            break;
        }
    }
    Ok(p)
}

/// A person on file who is not merged into another: what merges, splits and corrections act on.
fn require_person(conn: &Connection, visitor_id: &str, what: &str) -> Result<PersonBrief> {
    let row: Option<(Option<String>, String)> = conn
        .prepare_cached("SELECT merged_into, name FROM visitors WHERE id = ?1")?
        .query_row([visitor_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        None => Err(StoreError::NotFound(format!(
            "{what}（请先同步，或在“疑似重复人员”列表中重新选择）"
        ))),
        Some((Some(into), name)) => {
            let survivor: String = conn
                .prepare_cached("SELECT name FROM visitors WHERE id = ?1")?
                .query_row([&into], |r| r.get(0))
                .optional()?
                .unwrap_or_default();
            Err(FieldError::new(
                "person",
                "person_merged",
                format!(
                    "来访人“{name}”已合并到“{survivor}”名下：请对“{survivor}”操作，或先撤销这次合并。"
                ),
            )
            .into())
        }
        Some((None, _)) => brief(conn, visitor_id),
    }
}

/// Re-derives who shows under whom from all merges, unmerges and visit moves held here, and
/// the visit counts of every person that changed. Cheap when nothing changed: merges and moves
/// are few, and only the links of records whose person changed are looked at.
pub(crate) fn rederive(tx: &Connection, new_records: &BTreeSet<String>) -> Result<()> {
    let merges: Vec<Merge> = tx
        .prepare_cached(
            "SELECT id, survivor_id, merged_id, hlc FROM person_merges m
             WHERE NOT EXISTS (SELECT 1 FROM person_unmerges u WHERE u.merge_id = m.id)",
        )?
        .query_map([], |r| {
            Ok(Merge {
                id: r.get(0)?,
                survivor: r.get(1)?,
                merged: r.get(2)?,
                hlc: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let derived = people::resolve(&merges);
    let current: BTreeMap<String, String> = tx
        .prepare_cached("SELECT id, merged_into FROM visitors WHERE merged_into IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed: BTreeSet<String> = BTreeSet::new();
    let mut set = tx.prepare_cached("UPDATE visitors SET merged_into = ?2 WHERE id = ?1")?;
    for (id, into) in &current {
        if derived.canon.get(id) != Some(into) {
            set.execute(params![id, derived.canon.get(id)])?;
            changed.insert(id.clone());
        }
    }
    for (id, into) in &derived.canon {
        if current.get(id) != Some(into) && set.execute(params![id, into])? > 0 {
            changed.insert(id.clone());
        }
    }
    let moves: Vec<VisitMove> = tx
        .prepare_cached("SELECT id, visit_id, from_visitor, to_visitor, hlc FROM visit_moves")?
        .query_map([], |r| {
            Ok(VisitMove {
                id: r.get(0)?,
                visit_id: r.get(1)?,
                from: r.get(2)?,
                to: r.get(3)?,
                hlc: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let moved = people::moved_links(&moves);
    // The links whose person may have changed: of records whose person changed, shown under
    // such a record, or moved by a split.
    let mut links: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    {
        let mut by_record = tx.prepare_cached(
            "SELECT visit_id, visitor_id, person_id FROM visit_visitors
             WHERE visitor_id = ?1 OR person_id = ?1",
        )?;
        for id in &changed {
            for row in by_record.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
                let (v, r, p) = row?;
                links.insert((v, r), p);
            }
        }
        let mut one = tx.prepare_cached(
            "SELECT person_id FROM visit_visitors WHERE visit_id = ?1 AND visitor_id = ?2",
        )?;
        for (visit, from) in moved.keys() {
            if let Some(p) = one
                .query_row(params![visit, from], |r| r.get::<_, Option<String>>(0))
                .optional()?
            {
                links.insert((visit.clone(), from.clone()), p);
            }
        }
    }
    let mut affected: BTreeSet<String> = BTreeSet::new();
    let mut put = tx.prepare_cached(
        "UPDATE visit_visitors SET person_id = ?3 WHERE visit_id = ?1 AND visitor_id = ?2",
    )?;
    for ((visit, record), person) in &links {
        let target = moved
            .get(&(visit.clone(), record.clone()))
            .map_or(record.as_str(), String::as_str);
        let want = derived.person_of(target);
        if person.as_deref() != Some(want) {
            put.execute(params![visit, record, want])?;
            affected.insert(want.to_owned());
            if let Some(p) = person {
                affected.insert(p.clone());
            }
        }
    }
    affected.extend(changed);
    // A person whose record arrived after visits merged into it counts them now.
    for id in new_records {
        if derived.canon.values().any(|p| p == id) || moved.values().any(|p| p == id) {
            affected.insert(id.clone());
        }
    }
    let mut count = tx.prepare_cached(
        "UPDATE visitors SET
           visit_count = (SELECT count(*) FROM visit_visitors WHERE person_id = ?1),
           last_visit_at = (SELECT max(x.visited_at) FROM visit_visitors vv
                            JOIN visits x ON x.id = vv.visit_id WHERE vv.person_id = ?1)
         WHERE id = ?1",
    )?;
    for id in &affected {
        count.execute([id])?;
    }
    if !affected.is_empty() {
        tracing::info!(people = affected.len(), "people re-derived");
    }
    Ok(())
}

/// Appends a people record (merge, unmerge, move) with its own stamp, which it also stores:
/// the stamp orders merges and moves the same way on every replica.
fn log_record(
    tx: &Connection,
    entity: &str,
    id: &str,
    fields: Map<String, serde_json::Value>,
    now: &str,
) -> Result<i64> {
    let hlc = xinfang_sync::hlc::now();
    changelog::append_stamped(tx, entity, id, Op::Insert, fields, now, hlc)?;
    Ok(hlc.0)
}

/// What the duplicates screen knows of a person before it lists them.
struct Known {
    keys: PersonKeys,
    created_at: String,
    visit_count: i64,
}

fn keys_of(conn: &Connection, ids: &[String]) -> Result<BTreeMap<String, Known>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, pinyin_full, id_type, id_number, birth_date, phone, created_at, visit_count
         FROM visitors WHERE id = ?1",
    )?;
    let mut out = BTreeMap::new();
    for id in ids {
        if let Some(k) = stmt
            .query_row([id], |r| {
                Ok(Known {
                    keys: PersonKeys {
                        name: r.get(0)?,
                        pinyin: r.get(1)?,
                        id_type: r.get(2)?,
                        id_number: r.get(3)?,
                        birth_date: r.get(4)?,
                        phone: r.get(5)?,
                    },
                    created_at: r.get(6)?,
                    visit_count: r.get(7)?,
                })
            })
            .optional()?
        {
            out.insert(id.clone(), k);
        }
    }
    Ok(out)
}

/// The keys two or more people share: the same document; the same name and birth date; the
/// same sound and birth date under two or more names; the same phone. Migration 0046 keeps them
/// as people are written, so the screen reads these and each one's people by index
/// ([`KEY_PEOPLE`]), not every visitor.
const SHARED_KEYS: &str = "SELECT kind, a, b, c FROM people_dups";

/// A shared key's people in id order, by the key's kind, from its `a`, `b`, `c`.
pub(crate) const KEY_PEOPLE: [(&str, &str); 4] = [
    (
        "document",
        "SELECT id FROM visitors WHERE id_type = ?1 AND id_number = ?2 AND merged_into IS NULL
         ORDER BY id",
    ),
    (
        "name_birth",
        "SELECT id FROM visitors WHERE birth_date = ?1 AND pinyin_full = ?2 AND name = ?3
           AND merged_into IS NULL ORDER BY id",
    ),
    (
        "sound_birth",
        "SELECT id FROM visitors WHERE birth_date = ?1 AND pinyin_full = ?2
           AND merged_into IS NULL ORDER BY id",
    ),
    (
        "phone",
        "SELECT id FROM visitors WHERE replace(phone, '-', '') = ?1 AND length(phone) >= 7
           AND merged_into IS NULL ORDER BY id",
    ),
];

/// The ids of the people who share the key (`kind`, `a`, `b`, `c`).
fn key_people(conn: &Connection, kind: &str, a: &str, b: &str, c: &str) -> Result<Vec<String>> {
    let Some((_, sql)) = KEY_PEOPLE.iter().find(|(k, _)| *k == kind) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(sql)?;
    // Each kind's statement takes as many of `a`, `b`, `c` as its key has.
    let binds = [a, b, c].into_iter().take(stmt.parameter_count());
    let ids = stmt.query_map(rusqlite::params_from_iter(binds), |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// Members of one candidate group looked at, at most: a phone shared by a whole office would
/// otherwise list thousands of pairs.
const GROUP_CAP: usize = 20;
/// Pairs listed at most.
pub const PAIRS_CAP: usize = 500;

impl Store {
    /// People who may be one person: the same document, the same name and birth date,
    /// sound-alike names (equal pinyin) with the same birth date, the same phone. Only people
    /// not merged; pairs a supervisor already unmerged are not listed again. Strongest first,
    /// at most [`PAIRS_CAP`], with the count of all.
    pub fn duplicate_people(&self) -> Result<LikelyDuplicates> {
        #[allow(clippy::type_complexity)]
        let keys: Vec<(String, String, String, String)> = self
            .conn
            .prepare_cached(SHARED_KEYS)?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let unmerged: BTreeSet<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT m.survivor_id, m.merged_id FROM person_merges m
                 JOIN person_unmerges u ON u.merge_id = m.id",
            )?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .map(|r| r.map(|(a, b)| if a < b { (a, b) } else { (b, a) }))
            .collect::<rusqlite::Result<_>>()?;
        let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
        for (kind, a, b, c) in &keys {
            let ids = key_people(&self.conn, kind, a, b, c)?;
            let ids = &ids[..ids.len().min(GROUP_CAP)];
            for (i, a) in ids.iter().enumerate() {
                for b in &ids[i + 1..] {
                    let pair = (a.clone(), b.clone());
                    if !unmerged.contains(&pair) {
                        pairs.insert(pair);
                    }
                }
            }
        }
        let ids: Vec<String> = pairs
            .iter()
            .flat_map(|(a, b)| [a.clone(), b.clone()])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let keys = keys_of(&self.conn, &ids)?;
        // Which of a pair to keep, and the order, come from the keys alone: only the pairs
        // listed read their people's visits (for the 检举控告 mark), not every pair's.
        let mut found: Vec<(Vec<DuplicateReason>, &str, &String, &String)> = Vec::new();
        for (a, b) in &pairs {
            let (Some(ka), Some(kb)) = (keys.get(a), keys.get(b)) else {
                continue;
            };
            let reasons = people::duplicate_reasons(&ka.keys, &kb.keys);
            if reasons.is_empty() {
                continue;
            }
            let a_first = ka.visit_count > kb.visit_count
                || (ka.visit_count == kb.visit_count && (&ka.created_at, a) <= (&kb.created_at, b));
            let (keep, other, name) = if a_first {
                (a, b, &ka.keys.name)
            } else {
                (b, a, &kb.keys.name)
            };
            found.push((reasons, name, keep, other));
        }
        found.sort();
        let total = found.len();
        found.truncate(PAIRS_CAP);
        let mut briefs: BTreeMap<&String, PersonBrief> = BTreeMap::new();
        let mut out = Vec::with_capacity(found.len());
        for (reasons, _, keep, other) in found {
            for id in [keep, other] {
                if !briefs.contains_key(id) {
                    briefs.insert(id, brief(&self.conn, id)?);
                }
            }
            out.push(DuplicatePair {
                keep: briefs[keep].clone(),
                other: briefs[other].clone(),
                reasons: reasons
                    .iter()
                    .map(|r| {
                        serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    })
                    .collect(),
                reason_labels: reasons.iter().map(|r| r.label_zh().to_owned()).collect(),
            });
        }
        Ok(LikelyDuplicates { pairs: out, total })
    }

    /// One person as the people screens show them.
    pub fn person_brief(&self, visitor_id: &str) -> Result<PersonBrief> {
        brief(&self.conn, visitor_id)
    }

    /// The merges held here, newest first (active ones and undone ones).
    pub fn person_merges(&self) -> Result<Vec<MergeRecord>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(String, String, String, String, String, String, bool, i64)> = self
            .conn
            .prepare_cached(
                "SELECT id, survivor_id, merged_id, reason, by_staff, at,
                        NOT EXISTS (SELECT 1 FROM person_unmerges u WHERE u.merge_id = m.id), hlc
                 FROM person_merges m ORDER BY hlc DESC, id DESC",
            )?
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let active: Vec<Merge> = rows
            .iter()
            .filter(|r| r.6)
            .map(|r| Merge {
                id: r.0.clone(),
                survivor: r.1.clone(),
                merged: r.2.clone(),
                hlc: r.7,
            })
            .collect();
        let ignored = people::resolve(&active).ignored;
        let mut out = Vec::new();
        for (id, survivor, merged, reason, by, at, is_active, _) in rows {
            // A merge of a record this desk does not hold (yet) is not listed.
            let (Ok(s), Ok(m)) = (brief(&self.conn, &survivor), brief(&self.conn, &merged)) else {
                continue;
            };
            out.push(MergeRecord {
                ignored: ignored.contains(&id),
                merge_id: id,
                survivor: s,
                merged: m,
                reason,
                by_name: crate::matters::staff_display(&self.conn, &by)?,
                at,
                active: is_active,
            });
        }
        Ok(out)
    }

    /// Corrects a visitor's document (a typo at registration): a synced change of the record,
    /// audited. The number is found by search from now on, the old one no more. Refused when
    /// the new number belongs to another person: that is a merge, never a silent fusion.
    /// `birth_date` and `sex` are what the new document says (resident IDs), else kept.
    #[allow(clippy::too_many_arguments)]
    pub fn correct_document(
        &mut self,
        visitor_id: &str,
        id_type: IdType,
        id_number: &str,
        birth_date: Option<&str>,
        sex: Option<&str>,
        reason: &str,
        by: &str,
    ) -> Result<PersonBrief> {
        let own = self.device_id.clone();
        let tx = self.conn.savepoint()?;
        let before = require_person(&tx, visitor_id, "该来访人")?;
        let type_code = id_type_code(id_type);
        let old_number: String = tx.query_row(
            "SELECT id_number FROM visitors WHERE id = ?1",
            [visitor_id],
            |r| r.get(0),
        )?;
        if before.id_type == type_code && old_number == id_number {
            return Err(FieldError::new(
                "id_number",
                "document_unchanged",
                "新的证件号码与现有号码相同，无需更正。",
            )
            .into());
        }
        let holder: Option<(String, String)> = tx
            .prepare_cached(
                "SELECT coalesce(merged_into, id), name FROM visitors
                 WHERE id_type = ?1 AND id_number = ?2 AND coalesce(merged_into, id) <> ?3
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![type_code, id_number, visitor_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        if let Some((_, name)) = holder {
            return Err(FieldError::new(
                "id_number",
                "document_taken",
                format!(
                    "证件号码 {} 已登记在来访人“{name}”名下，不能改成这个号码。如确为同一人，请在“疑似重复人员”中合并两人（xinfang person merge）；如不是同一人，请核对号码。",
                    mask_id(id_number)
                ),
            )
            .into());
        }
        let now = now_text(&*self.clock);
        let mut f = Map::new();
        f.insert("id_type".into(), json!(type_code));
        f.insert("id_number".into(), json!(id_number));
        if let Some(b) = birth_date {
            f.insert("birth_date".into(), json!(b));
        }
        if let Some(s) = sex {
            f.insert("sex".into(), json!(s));
        }
        tx.prepare_cached(
            "UPDATE visitors SET id_type = ?2, id_number = ?3, birth_date = coalesce(?4, birth_date),
               sex = coalesce(?5, sex), updated_at = ?6 WHERE id = ?1",
        )?
        .execute(params![visitor_id, type_code, id_number, birth_date, sex, now])?;
        crate::records::stamp_bases(&tx, &own, "visitor", visitor_id, Some(by), &mut f)?;
        f.insert("meta_reason".into(), json!(reason));
        changelog::append(&tx, "visitor", visitor_id, Op::Update, f, &now)?;
        crate::records::refresh_field_conflict(&tx, &own, "visitor", visitor_id, "id_number")?;
        append_in(
            &tx,
            &own,
            by,
            AuditAction::CorrectDocument,
            "visitor",
            visitor_id,
            &format!("document corrected; reason: {reason}"),
            &now,
        )?;
        let out = brief(&tx, visitor_id)?;
        tx.commit()?;
        tracing::info!("document corrected");
        Ok(out)
    }

    /// Merges `other` into `keep`: a merge record (synced, audited); every visit of `other` —
    /// those to come too — shows under `keep`. Undone by [`Store::unmerge_people`].
    pub fn merge_people(
        &mut self,
        keep: &str,
        other: &str,
        reason: &str,
        by: &str,
    ) -> Result<MergeRecord> {
        let own = self.device_id.clone();
        let hall = self.hall_code.clone();
        let tx = self.conn.savepoint()?;
        let survivor = require_person(&tx, keep, "要保留的来访人")?;
        let merged = require_person(&tx, other, "要合并的来访人")?;
        if survivor.visitor_id == merged.visitor_id {
            return Err(FieldError::new(
                "other",
                "same_person",
                "不能把一个人合并到自己名下：请选择另一位来访人。",
            )
            .into());
        }
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        let mut f = Map::new();
        f.insert("survivor_id".into(), json!(keep));
        f.insert("merged_id".into(), json!(other));
        f.insert("reason".into(), json!(reason));
        f.insert("by_staff".into(), json!(by));
        f.insert("at".into(), json!(now));
        f.insert("hall_code".into(), json!(hall));
        let hlc = log_record(&tx, "person_merge", &id, f, &now)?;
        tx.prepare_cached(
            "INSERT INTO person_merges(id, survivor_id, merged_id, reason, by_staff, at, hall_code, hlc, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?6)",
        )?
        .execute(params![id, keep, other, reason, by, now, hall, hlc])?;
        rederive(&tx, &BTreeSet::new())?;
        append_in(
            &tx,
            &own,
            by,
            AuditAction::MergePeople,
            "person_merge",
            &id,
            &format!("merged {other} into {keep}; reason: {reason}"),
            &now,
        )?;
        let record = MergeRecord {
            survivor: brief(&tx, keep)?,
            merged: brief(&tx, other)?,
            merge_id: id,
            reason: reason.to_owned(),
            by_name: crate::matters::staff_display(&tx, by)?,
            at: now,
            active: true,
            ignored: false,
        };
        tx.commit()?;
        tracing::info!("people merged");
        Ok(record)
    }

    /// Undoes a merge: an unmerge record (synced, audited); both people show on their own again.
    pub fn unmerge_people(
        &mut self,
        merge_id: &str,
        reason: &str,
        by: &str,
    ) -> Result<MergeRecord> {
        let own = self.device_id.clone();
        let hall = self.hall_code.clone();
        let tx = self.conn.savepoint()?;
        let row: Option<(String, String, bool)> = tx
            .prepare_cached(
                "SELECT survivor_id, merged_id,
                        EXISTS (SELECT 1 FROM person_unmerges u WHERE u.merge_id = m.id)
                 FROM person_merges m WHERE id = ?1",
            )?
            .query_row([merge_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((survivor, merged, undone)) = row else {
            return Err(StoreError::NotFound(
                "这次合并（请先同步，或在“已合并记录”列表中重新选择）".to_owned(),
            ));
        };
        if undone {
            return Err(FieldError::new(
                "merge_id",
                "already_unmerged",
                "这次合并已经撤销过了（可能是其他设备撤销的），无需再次撤销。",
            )
            .into());
        }
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        let mut f = Map::new();
        f.insert("merge_id".into(), json!(merge_id));
        f.insert("reason".into(), json!(reason));
        f.insert("by_staff".into(), json!(by));
        f.insert("at".into(), json!(now));
        f.insert("hall_code".into(), json!(hall));
        let hlc = log_record(&tx, "person_unmerge", &id, f, &now)?;
        tx.prepare_cached(
            "INSERT INTO person_unmerges(id, merge_id, reason, by_staff, at, hall_code, hlc, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?5)",
        )?
        .execute(params![id, merge_id, reason, by, now, hall, hlc])?;
        rederive(&tx, &BTreeSet::new())?;
        append_in(
            &tx,
            &own,
            by,
            AuditAction::UnmergePeople,
            "person_merge",
            merge_id,
            &format!("merge undone; reason: {reason}"),
            &now,
        )?;
        let (orig_reason, orig_by, orig_at): (String, String, String) = tx.query_row(
            "SELECT reason, by_staff, at FROM person_merges WHERE id = ?1",
            [merge_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let record = MergeRecord {
            merge_id: merge_id.to_owned(),
            survivor: brief(&tx, &survivor)?,
            merged: brief(&tx, &merged)?,
            reason: orig_reason,
            by_name: crate::matters::staff_display(&tx, &orig_by)?,
            at: orig_at,
            active: false,
            ignored: false,
        };
        tx.commit()?;
        tracing::info!("merge undone");
        Ok(record)
    }

    /// Splits a wrongly fused person: the chosen visits move to another person (on file, or of
    /// a document: found by it, else registered now). One move record per visit (synced),
    /// audited. The visits' matters go with them.
    pub fn split_person(
        &mut self,
        person: &str,
        visit_ids: &[String],
        target: &SplitTarget,
        reason: &str,
        by: &str,
    ) -> Result<SplitOutcome> {
        let own = self.device_id.clone();
        let hall = self.hall_code.clone();
        let tx = self.conn.savepoint()?;
        require_person(&tx, person, "要拆分的来访人")?;
        if visit_ids.is_empty() {
            return Err(FieldError::new(
                "visits",
                "visits_empty",
                "请选择要移出的来访记录（至少一次）。",
            )
            .into());
        }
        let now = now_text(&*self.clock);
        let to = match target {
            SplitTarget::Existing(id) => {
                require_person(&tx, id, "要移入的来访人")?;
                id.clone()
            }
            SplitTarget::Document(v) => {
                let record = crate::visits::upsert_visitor(&tx, &own, v, &hall, by, &now)?;
                person_of(&tx, &record)?.unwrap_or(record)
            }
        };
        if to == person {
            return Err(FieldError::new(
                "target",
                "same_person",
                "移入的来访人就是当前这个人：请选择另一位来访人，或填写另一个证件号码。",
            )
            .into());
        }
        let total: i64 = tx.query_row(
            "SELECT count(*) FROM visit_visitors WHERE person_id = ?1",
            [person],
            |r| r.get(0),
        )?;
        let mut links = Vec::new();
        for visit in visit_ids {
            let link: Option<String> = tx
                .prepare_cached(
                    "SELECT visitor_id FROM visit_visitors WHERE visit_id = ?1 AND person_id = ?2",
                )?
                .query_row(params![visit, person], |r| r.get(0))
                .optional()?;
            let Some(record) = link else {
                return Err(FieldError::new(
                    "visits",
                    "visit_not_of_person",
                    "所选来访记录不在这个人名下（可能已被移走）：请刷新后重新选择。",
                )
                .into());
            };
            links.push((visit.clone(), record));
        }
        if links.len() as i64 >= total {
            return Err(FieldError::new(
                "visits",
                "visits_all",
                "不能移走这个人的全部来访记录：拆分至少要留下一次。如两条记录本是两个人，请撤销合并。",
            )
            .into());
        }
        for (visit, record) in &links {
            let id = uuid::Uuid::now_v7().to_string();
            let mut f = Map::new();
            f.insert("visit_id".into(), json!(visit));
            f.insert("from_visitor".into(), json!(record));
            f.insert("to_visitor".into(), json!(to));
            f.insert("reason".into(), json!(reason));
            f.insert("by_staff".into(), json!(by));
            f.insert("at".into(), json!(now));
            f.insert("hall_code".into(), json!(hall));
            let hlc = log_record(&tx, "visit_move", &id, f, &now)?;
            tx.prepare_cached(
                "INSERT INTO visit_moves(id, visit_id, from_visitor, to_visitor, reason, by_staff, at,
                   hall_code, hlc, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?7)",
            )?
            .execute(params![id, visit, record, to, reason, by, now, hall, hlc])?;
        }
        rederive(&tx, &BTreeSet::new())?;
        append_in(
            &tx,
            &own,
            by,
            AuditAction::SplitPerson,
            "visitor",
            person,
            &format!("{} visit(s) moved to {to}; reason: {reason}", links.len()),
            &now,
        )?;
        let out = SplitOutcome {
            person: brief(&tx, &to)?,
            from: brief(&tx, person)?,
            moved_visits: links.into_iter().map(|(v, _)| v).collect(),
        };
        tx.commit()?;
        tracing::info!("person split");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::KEY_PEOPLE;

    /// The 疑似重复人员 screen reads the kept shared keys and each key's people by index: no
    /// statement of it scans the visitors (before migration 0046, four sorts of them all: 60 s
    /// at 1,000,000 visitors).
    #[test]
    fn the_shared_keys_people_are_read_by_index_not_by_a_scan() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        for ((kind, sql), (index, terms)) in KEY_PEOPLE.iter().zip([
            ("visitors_id_number", "id_number=?"),
            (
                "visitors_birth_sound",
                "birth_date=? AND pinyin_full=? AND name=?",
            ),
            ("visitors_birth_sound", "birth_date=? AND pinyin_full=?"),
            ("visitors_phone_digits", "<expr>=?"),
        ]) {
            let mut stmt = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let binds = ["a", "b", "c"].into_iter().take(stmt.parameter_count());
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(binds), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(
                plan[0],
                format!("SEARCH visitors USING INDEX {index} ({terms})"),
                "{kind}: {plan:#?}"
            );
        }
    }
}
