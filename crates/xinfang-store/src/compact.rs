//! Compaction of the change logs (docs/sync.md "Compaction"). The desk keeps every write it made
//! (`change_log`) and every write it pulled (`sync_remote_log`) because the merge rules read
//! versions from them: a pulled write wins a field only over that field's current version, and a
//! person's field is in conflict while it has several heads. Once the city holds a write, the
//! row itself is no longer needed, only what the rules read of it. Compaction folds those rows,
//! record by record, into one `log_base` row:
//!
//! - for a plain field, the version of its greatest write (no value: the rules compare only
//!   versions), most fields of a record sharing one base version (its registration);
//! - for a field ordered by its value (a matter's status and state), its greatest write with the
//!   value reduced to what orders it;
//! - for a person's conflict-tracked field, its heads in full (value, base, who, when): the
//!   writes a later write may still conflict with. Dropping the writes the heads replaced is
//!   safe because a replica receives a write only after the writes it replaced (pull pages are
//!   ordered by server sequence, which follows causality; a desk's own writes are logged first).
//!
//! What stays in the logs: this desk's changes the city has not confirmed (and always its last
//! change: its number is the next one's base), pulled changes not applied (kept for an upgrade,
//! or set aside), and deletes.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use xinfang_sync::Hlc;
use xinfang_sync::merge::{self, FieldWrite, Version, compare_writes};
use xinfang_sync::wire::Op as WireOp;

use crate::{Result, Store, StoreError};

/// What compaction keeps of one record's writes (`log_base.kept`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    /// Fields whose greatest write is the base version. Stored as `set` since migration 0035;
    /// rows written before keep the list here.
    #[serde(rename = "i", default, skip_serializing_if = "Vec::is_empty")]
    implicit: Vec<String>,
    /// The `log_field_sets` row that lists `implicit` (most records of an entity share one).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    set: Option<i64>,
    /// Other plain fields: the version of their greatest write.
    #[serde(rename = "v", default, skip_serializing_if = "BTreeMap::is_empty")]
    versions: BTreeMap<String, (i64, String)>,
    /// Fields kept whole: every kept write.
    #[serde(rename = "w", default, skip_serializing_if = "BTreeMap::is_empty")]
    writes: BTreeMap<String, Vec<KeptWrite>>,
}

/// One write kept whole: value, hlc, device, changed_at, by, base.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeptWrite(
    Value,
    i64,
    String,
    String,
    Option<String>,
    Option<Vec<(i64, String)>>,
);

impl KeptWrite {
    fn of(w: &FieldWrite) -> KeptWrite {
        KeptWrite(
            w.value.clone(),
            w.version.hlc.0,
            w.version.device_id.clone(),
            w.changed_at.clone(),
            w.by.clone(),
            w.base
                .as_ref()
                .map(|b| b.iter().map(|v| (v.hlc.0, v.device_id.clone())).collect()),
        )
    }

    fn write(&self) -> FieldWrite {
        FieldWrite {
            value: self.0.clone(),
            version: Version::new(Hlc(self.1), self.2.clone()),
            base: self.5.as_ref().map(|b| {
                b.iter()
                    .map(|(h, d)| Version::new(Hlc(*h), d.clone()))
                    .collect()
            }),
            changed_at: self.3.clone(),
            by: self.4.clone(),
        }
    }
}

/// A write whose value matters to the rules: a conflict-tracked field, or one ordered by value.
pub(crate) fn kept_whole(entity: &str, field: &str) -> bool {
    merge::tracks_conflicts(entity, field)
        || merge::forward_rank(entity, field, &Value::Null).is_some()
}

/// A value reduced to what the rules read of it: a matter's state (the whole procedure, as
/// JSON text) only orders by the status inside it.
pub(crate) fn reduced(entity: &str, field: &str, value: &Value) -> Value {
    if (entity, field) == ("matter", "state")
        && let Some(text) = value.as_str()
        && let Ok(state) = serde_json::from_str::<Value>(text)
    {
        return Value::String(serde_json::json!({ "status": state["status"] }).to_string());
    }
    value.clone()
}

struct Base {
    hlc: i64,
    device: String,
    /// The greatest hlc among the writes folded in so far.
    max_hlc: i64,
    kept: Kept,
}

fn read(conn: &Connection, entity: &str, entity_id: &str) -> Result<Option<Base>> {
    let row: Option<(i64, String, i64, String)> = conn
        .prepare_cached(
            "SELECT b.base_hlc, d.device, b.max_hlc, b.kept FROM log_base b
               JOIN log_devices d ON d.id = b.base_device
             WHERE b.entity = ?1 AND b.entity_id = ?2",
        )?
        .query_row(params![entity, entity_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((hlc, device, max_hlc, kept)) = row else {
        return Ok(None);
    };
    // A row this version wrote; unreadable only if damaged, then it keeps nothing.
    let mut kept: Value = serde_json::from_str(&kept).unwrap_or_default();
    devices_in_kept(&mut kept, |d| match d.as_i64() {
        Some(n) => Ok(Value::String(device_of(conn, n)?)),
        None => Ok(d.clone()),
    })?;
    let mut kept: Kept = serde_json::from_value(kept).unwrap_or_default();
    if let Some(set) = kept.set.take() {
        let fields: Option<String> = conn
            .prepare_cached("SELECT fields FROM log_field_sets WHERE id = ?1")?
            .query_row([set], |r| r.get(0))
            .optional()?;
        kept.implicit = fields
            .and_then(|f| serde_json::from_str(&f).ok())
            .unwrap_or_default();
    }
    Ok(Some(Base {
        hlc,
        device,
        max_hlc,
        kept,
    }))
}

/// The number `log_base` names `device` by (`log_devices`), given when new: a hall has a
/// handful of devices and a store millions of versions.
fn device_number(tx: &Connection, device: &str) -> Result<i64> {
    let known: Option<i64> = tx
        .prepare_cached("SELECT id FROM log_devices WHERE device = ?1")?
        .query_row([device], |r| r.get(0))
        .optional()?;
    if let Some(n) = known {
        return Ok(n);
    }
    tx.prepare_cached("INSERT INTO log_devices(device) VALUES (?1)")?
        .execute([device])?;
    Ok(tx.last_insert_rowid())
}

/// The device numbered `n` in `log_devices`.
fn device_of(conn: &Connection, n: i64) -> Result<String> {
    conn.prepare_cached("SELECT device FROM log_devices WHERE id = ?1")?
        .query_row([n], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("变更日志压缩记录引用了不存在的设备编号 {n}")))
}

/// Replaces each device `kept` names (a version's `[hlc, device]` in `v`, a kept write's
/// device and its base versions in `w`) by `f` of it: numbers as stored, ids in memory.
fn devices_in_kept(kept: &mut Value, mut f: impl FnMut(&Value) -> Result<Value>) -> Result<()> {
    if let Some(Value::Object(versions)) = kept.get_mut("v") {
        for version in versions.values_mut() {
            if let Some(d) = version.get_mut(1) {
                *d = f(d)?;
            }
        }
    }
    if let Some(Value::Object(fields)) = kept.get_mut("w") {
        for write in fields
            .values_mut()
            .filter_map(Value::as_array_mut)
            .flatten()
        {
            if let Some(d) = write.get_mut(2) {
                *d = f(d)?;
            }
            if let Some(Value::Array(base)) = write.get_mut(5) {
                for d in base.iter_mut().filter_map(|version| version.get_mut(1)) {
                    *d = f(d)?;
                }
            }
        }
    }
    Ok(())
}

/// The `log_field_sets` row listing `fields`, added when new.
fn field_set(tx: &Connection, fields: &[String]) -> Result<i64> {
    let text = serde_json::to_string(fields).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached("INSERT INTO log_field_sets(fields) VALUES (?1) ON CONFLICT DO NOTHING")?
        .execute([&text])?;
    Ok(tx
        .prepare_cached("SELECT id FROM log_field_sets WHERE fields = ?1")?
        .query_row([&text], |r| r.get(0))?)
}

impl Base {
    fn writes_of(&self, field: &str) -> Vec<FieldWrite> {
        if let Some(ws) = self.kept.writes.get(field) {
            return ws.iter().map(KeptWrite::write).collect();
        }
        let version = if let Some((h, d)) = self.kept.versions.get(field) {
            Version::new(Hlc(*h), d.clone())
        } else if self.kept.implicit.iter().any(|f| f == field) {
            Version::new(Hlc(self.hlc), self.device.clone())
        } else {
            return Vec::new();
        };
        vec![FieldWrite {
            value: Value::Null,
            version,
            base: None,
            changed_at: String::new(),
            by: None,
        }]
    }

    fn fields(&self) -> Vec<String> {
        let mut out: Vec<String> = self.kept.implicit.clone();
        out.extend(self.kept.versions.keys().cloned());
        out.extend(self.kept.writes.keys().cloned());
        out
    }
}

/// The compacted writes of one field of a record (none when it was never compacted). A plain
/// field's write carries no value (`null`): the rules compare only its version.
pub(crate) fn field_writes(
    conn: &Connection,
    entity: &str,
    entity_id: &str,
    field: &str,
) -> Result<Vec<FieldWrite>> {
    Ok(read(conn, entity, entity_id)?
        .map(|b| b.writes_of(field))
        .unwrap_or_default())
}

/// The device whose change made the record (its base version's device), if compacted.
pub(crate) fn base_device(
    conn: &Connection,
    entity: &str,
    entity_id: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT d.device FROM log_base b JOIN log_devices d ON d.id = b.base_device
             WHERE b.entity = ?1 AND b.entity_id = ?2",
        )?
        .query_row(params![entity, entity_id], |r| r.get(0))
        .optional()?)
}

/// How much one compaction folded away.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CompactReport {
    /// Records whose log rows were folded.
    pub records: u64,
    /// Log rows removed (own and pulled).
    pub rows: u64,
}

/// One log row of a record, as compaction reads it.
struct Row {
    op: WireOp,
    fields: Map<String, Value>,
    version: Version,
    changed_at: String,
}

/// A record's compactable rows, with the keys to delete them by: own sequence numbers, and
/// (device, sequence) of pulled ones.
type LogRows = (Vec<Row>, Vec<i64>, Vec<(String, i64)>);

fn rows_of(
    tx: &Connection,
    own_device: &str,
    own_limit: i64,
    entity: &str,
    entity_id: &str,
) -> Result<LogRows> {
    let mut rows = Vec::new();
    let mut own = Vec::new();
    let mut remote = Vec::new();
    let parse = |op: String, fields: String| {
        let op = WireOp::parse(&op).unwrap_or(WireOp::Update);
        let fields = match serde_json::from_str::<Value>(&fields) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        (op, fields)
    };
    {
        let mut stmt = tx.prepare_cached(
            "SELECT seq, op, fields, hlc, changed_at FROM change_log
             WHERE entity = ?1 AND entity_id = ?2 AND seq <= ?3 AND op <> 'delete'",
        )?;
        let mut q = stmt.query(params![entity, entity_id, own_limit])?;
        while let Some(r) = q.next()? {
            let (op, fields) = parse(r.get(1)?, r.get(2)?);
            own.push(r.get::<_, i64>(0)?);
            rows.push(Row {
                op,
                fields,
                version: Version::new(Hlc(r.get(3)?), own_device),
                changed_at: r.get(4)?,
            });
        }
    }
    let mut stmt = tx.prepare_cached(
        "SELECT device_id, seq, op, fields, hlc, changed_at FROM sync_remote_log
         WHERE entity = ?1 AND entity_id = ?2 AND applied = 1 AND op <> 'delete'",
    )?;
    let mut q = stmt.query(params![entity, entity_id])?;
    while let Some(r) = q.next()? {
        let device: String = r.get(0)?;
        let (op, fields) = parse(r.get(2)?, r.get(3)?);
        remote.push((device.clone(), r.get::<_, i64>(1)?));
        rows.push(Row {
            op,
            fields,
            version: Version::new(Hlc(r.get(4)?), device),
            changed_at: r.get(5)?,
        });
    }
    Ok((rows, own, remote))
}

/// Folds one record's compactable rows (and its earlier base) into its `log_base` row.
fn fold_record(
    tx: &Connection,
    own_device: &str,
    own_limit: i64,
    entity: &str,
    entity_id: &str,
) -> Result<u64> {
    let (rows, own, remote) = rows_of(tx, own_device, own_limit, entity, entity_id)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut writes: BTreeMap<String, Vec<FieldWrite>> = BTreeMap::new();
    let max_hlc = rows.iter().map(|r| r.version.hlc.0).max().unwrap_or(0);
    for row in &rows {
        for (field, value) in &row.fields {
            // Change metadata is no field; an insert's empty fields are no writes.
            if merge::is_meta(field) || (row.op == WireOp::Insert && value.is_null()) {
                continue;
            }
            let whole = kept_whole(entity, field);
            writes.entry(field.clone()).or_default().push(FieldWrite {
                value: if whole {
                    reduced(entity, field, value)
                } else {
                    Value::Null
                },
                version: row.version.clone(),
                base: merge::base_of(&row.fields, row.op, field),
                changed_at: if whole {
                    row.changed_at.clone()
                } else {
                    String::new()
                },
                by: if whole {
                    row.fields
                        .get(merge::BY_KEY)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                } else {
                    None
                },
            });
        }
    }
    put_base(tx, entity, entity_id, writes, max_hlc, &rows[0].version)?;
    let mut del_own = tx.prepare_cached("DELETE FROM change_log WHERE seq = ?1")?;
    for seq in &own {
        del_own.execute([seq])?;
    }
    let mut del_remote =
        tx.prepare_cached("DELETE FROM sync_remote_log WHERE device_id = ?1 AND seq = ?2")?;
    for (device, seq) in &remote {
        del_remote.execute(params![device, seq])?;
    }
    Ok((own.len() + remote.len()) as u64)
}

/// Folds `writes` of a record (value `null` for a plain field, see [`kept_whole`]) and what its
/// `log_base` row kept so far into that row. `max_hlc`: the greatest hlc among `writes`;
/// `first`: the base version when no field names one.
pub(crate) fn put_base(
    tx: &Connection,
    entity: &str,
    entity_id: &str,
    mut writes: BTreeMap<String, Vec<FieldWrite>>,
    mut max_hlc: i64,
    first: &Version,
) -> Result<()> {
    let earlier = read(tx, entity, entity_id)?;
    if let Some(b) = &earlier {
        for f in b.fields() {
            writes.entry(f.clone()).or_default().extend(b.writes_of(&f));
        }
        max_hlc = max_hlc.max(b.max_hlc);
    }
    let mut kept = Kept::default();
    let mut plain: BTreeMap<String, Version> = BTreeMap::new();
    for (field, ws) in &writes {
        if merge::tracks_conflicts(entity, field) {
            kept.writes.insert(
                field.clone(),
                merge::heads(ws).into_iter().map(KeptWrite::of).collect(),
            );
        } else if let Some(best) = greatest(entity, field, ws) {
            if kept_whole(entity, field) {
                kept.writes.insert(field.clone(), vec![KeptWrite::of(best)]);
            } else {
                plain.insert(field.clone(), best.version.clone());
            }
        }
    }
    // The base: the version most plain fields share (a record's registration, usually).
    let mut counts: BTreeMap<&Version, usize> = BTreeMap::new();
    for v in plain.values() {
        *counts.entry(v).or_default() += 1;
    }
    let base = counts
        .iter()
        .max_by_key(|(v, n)| (**n, std::cmp::Reverse(**v)))
        .map(|(v, _)| (*v).clone())
        .or_else(|| {
            earlier
                .as_ref()
                .map(|b| Version::new(Hlc(b.hlc), b.device.clone()))
        })
        .unwrap_or_else(|| first.clone());
    for (field, v) in &plain {
        if *v == base {
            kept.implicit.push(field.clone());
        } else {
            kept.versions
                .insert(field.clone(), (v.hlc.0, v.device_id.clone()));
        }
    }
    if !kept.implicit.is_empty() {
        kept.implicit.sort();
        kept.set = Some(field_set(tx, &kept.implicit)?);
        kept.implicit.clear();
    }
    let mut stored = serde_json::to_value(&kept)?;
    devices_in_kept(&mut stored, |d| match d.as_str() {
        Some(device) => Ok(Value::from(device_number(tx, device)?)),
        None => Ok(d.clone()),
    })?;
    tx.prepare_cached(
        "INSERT INTO log_base(entity, entity_id, base_hlc, base_device, max_hlc, kept)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(entity, entity_id) DO UPDATE SET base_hlc = excluded.base_hlc,
           base_device = excluded.base_device, max_hlc = excluded.max_hlc, kept = excluded.kept",
    )?
    .execute(params![
        entity,
        entity_id,
        base.hlc.0,
        device_number(tx, &base.device_id)?,
        max_hlc,
        stored.to_string(),
    ])?;
    Ok(())
}

/// The write of a field that wins by the merge rules.
fn greatest<'a>(entity: &str, field: &str, ws: &'a [FieldWrite]) -> Option<&'a FieldWrite> {
    ws.iter()
        .max_by(|a, b| compare_writes(entity, field, &a.value, &a.version, &b.value, &b.version))
}

impl Store {
    /// Folds the log rows the city has acknowledged into `log_base`, at most `max_records`
    /// records at a time (a sync compacts a little; `xinfang compact` all). Changes nothing the
    /// merge rules, the conflict lists or `verify` see.
    pub fn compact_logs(&mut self, max_records: usize) -> Result<CompactReport> {
        let own_device = self.device_id.clone();
        let tx = self.conn.savepoint()?;
        let pushed: i64 = crate::sync::state_get(&tx, "pushed_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let last: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
            r.get(0)
        })?;
        // The last change always stays: the next change's number follows it.
        let own_limit = pushed.min(last - 1);
        let records: Vec<(String, String)> = {
            let mut stmt = tx.prepare(
                "SELECT entity, entity_id FROM change_log WHERE seq <= ?1 AND op <> 'delete'
                 UNION
                 SELECT entity, entity_id FROM sync_remote_log WHERE applied = 1 AND op <> 'delete'
                 LIMIT ?2",
            )?;
            stmt.query_map(params![own_limit, max_records as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let mut report = CompactReport::default();
        for (entity, id) in &records {
            let n = fold_record(&tx, &own_device, own_limit, entity, id)?;
            if n > 0 {
                report.records += 1;
                report.rows += n;
            }
        }
        tx.commit()?;
        if report.rows > 0 {
            tracing::info!(
                records = report.records,
                rows = report.rows,
                "change logs compacted"
            );
        }
        Ok(report)
    }

    /// The size of the database file in bytes (its write-ahead log not counted).
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(self.path()).map_or(0, |m| m.len())
    }

    /// Compacts everything the city has acknowledged, then gives the freed pages back to the
    /// file system (`VACUUM`: rewrites the file, so not while the desk app has it open).
    pub fn compact_all(&mut self) -> Result<CompactReport> {
        let mut total = CompactReport::default();
        loop {
            let r = self.compact_logs(10_000)?;
            total.records += r.records;
            total.rows += r.rows;
            if r.rows == 0 {
                break;
            }
        }
        self.conn.execute_batch("VACUUM")?;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(version: &Version) -> FieldWrite {
        FieldWrite {
            value: Value::Null,
            version: version.clone(),
            base: None,
            changed_at: String::new(),
            by: None,
        }
    }

    /// The fields kept at the base version are read back through their shared list, also after
    /// the record is folded again with a later write, and a second record of the same fields
    /// adds no list.
    #[test]
    fn base_fields_read_back_through_their_shared_list() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        let conn = &store.conn;
        let registered = Version::new(Hlc(100), "desk-a".to_owned());
        let edited = Version::new(Hlc(300), "desk-b".to_owned());
        let fields = ["appeal", "category_code", "visited_at"];
        for id in ["v1", "v2"] {
            let writes = fields
                .iter()
                .map(|f| (f.to_string(), vec![plain(&registered)]))
                .collect();
            put_base(conn, "visit", id, writes, 100, &registered).unwrap();
        }
        let sets: i64 = conn
            .query_row("SELECT count(*) FROM log_field_sets", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sets, 1);
        let version_of = |id: &str, f: &str| -> Vec<Version> {
            field_writes(conn, "visit", id, f)
                .unwrap()
                .into_iter()
                .map(|w| w.version)
                .collect()
        };
        for f in fields {
            assert_eq!(version_of("v2", f), vec![registered.clone()], "{f}");
        }
        // v1's appeal is edited later and folded again: the other fields keep theirs.
        let later = BTreeMap::from([("appeal".to_owned(), vec![plain(&edited)])]);
        put_base(conn, "visit", "v1", later, 300, &edited).unwrap();
        assert_eq!(version_of("v1", "appeal"), vec![edited.clone()]);
        assert_eq!(version_of("v1", "visited_at"), vec![registered.clone()]);
        assert_eq!(version_of("v1", "category_code"), vec![registered]);
        assert!(version_of("v1", "agency").is_empty());
    }

    fn stored(conn: &Connection, entity_id: &str) -> (String, String) {
        conn.query_row(
            "SELECT typeof(base_device), kept FROM log_base WHERE entity_id = ?1",
            [entity_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    /// `log_base` names the devices of its versions by number (issue 21: a 36-character id,
    /// a few times in each of ≈ 7 rows a visit), and every version reads back with its id.
    #[test]
    fn kept_versions_name_their_devices_by_number() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        let conn = &store.conn;
        let a = "01a24e8c-2a0d-71ad-9c9f-a7b4c4357162";
        let b = "01a24e8c-3b10-7040-ad26-785b9dd533b8";
        let registered = Version::new(Hlc(100), a.to_owned());
        let edited = Version::new(Hlc(300), b.to_owned());
        let phone = FieldWrite {
            value: Value::from("13800000000"),
            version: edited.clone(),
            base: Some(vec![registered.clone()]),
            changed_at: "2026-12-07T09:00:00+08:00".into(),
            by: Some("staff-1".into()),
        };
        let writes = BTreeMap::from([
            ("name".to_owned(), vec![plain(&registered)]),
            ("address".to_owned(), vec![plain(&registered)]),
            ("phone".to_owned(), vec![phone.clone()]),
        ]);
        assert!(kept_whole("visitor", "phone"));
        put_base(conn, "visitor", "p1", writes, 300, &registered).unwrap();
        let later = BTreeMap::from([("note".to_owned(), vec![plain(&edited)])]);
        put_base(conn, "visitor", "p2", later, 300, &edited).unwrap();
        for id in ["p1", "p2"] {
            let (base_type, kept) = stored(conn, id);
            assert_eq!(base_type, "integer");
            assert!(!kept.contains(a) && !kept.contains(b), "{kept}");
        }
        let devices: i64 = conn
            .query_row("SELECT count(*) FROM log_devices", [], |r| r.get(0))
            .unwrap();
        assert_eq!(devices, 2);
        let back = field_writes(conn, "visitor", "p1", "phone").unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].version, edited);
        assert_eq!(back[0].base, phone.base);
        assert_eq!(back[0].value, phone.value);
        let version_of = |f: &str| field_writes(conn, "visitor", "p1", f).unwrap()[0].clone();
        assert_eq!(version_of("name").version, registered);
        assert_eq!(
            base_device(conn, "visitor", "p1").unwrap().as_deref(),
            Some(a)
        );
        assert_eq!(
            base_device(conn, "visitor", "p2").unwrap().as_deref(),
            Some(b)
        );
    }

    /// Rows folded before migration 0043 named devices by id: they read back the same after
    /// it, and a later fold writes them by number.
    #[test]
    fn rows_folded_before_devices_were_numbered_read_back() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut conn = Connection::open(dir.path().join("old.db")).unwrap();
        crate::schema::migrations()
            .to_version(&mut conn, 42)
            .unwrap();
        let a = "01a24e8c-2a0d-71ad-9c9f-a7b4c4357162";
        let b = "01a24e8c-3b10-7040-ad26-785b9dd533b8";
        conn.execute(
            "INSERT INTO log_base(entity, entity_id, base_hlc, base_device, max_hlc, kept)
             VALUES ('visitor', 'p1', 100, ?1, 300, ?3),
                    ('visit', 'v1', 100, ?2, 100, '{\"i\":[\"appeal\"]}')",
            rusqlite::params![
                a,
                b,
                format!(
                    r#"{{"i":["name"],"v":{{"note":[300,"{b}"]}},"w":{{"phone":[["138",300,"{b}","2026-12-07T09:00:00+08:00","staff-1",[[100,"{a}"]]]]}}}}"#
                )
            ],
        )
        .unwrap();
        crate::schema::migrations().to_latest(&mut conn).unwrap();
        let (base_type, _) = stored(&conn, "p1");
        assert_eq!(base_type, "integer");
        let registered = Version::new(Hlc(100), a.to_owned());
        let edited = Version::new(Hlc(300), b.to_owned());
        let one = |id: &str, entity: &str, f: &str| {
            let ws = field_writes(&conn, entity, id, f).unwrap();
            assert_eq!(ws.len(), 1, "{f}");
            ws[0].clone()
        };
        assert_eq!(one("p1", "visitor", "name").version, registered);
        assert_eq!(one("p1", "visitor", "note").version, edited);
        let phone = one("p1", "visitor", "phone");
        assert_eq!(
            (phone.version, phone.base),
            (edited.clone(), Some(vec![registered.clone()]))
        );
        assert_eq!(
            one("v1", "visit", "appeal").version,
            Version::new(Hlc(100), b.to_owned())
        );
        // Folded again with a later write, the row names every device by number.
        let later = BTreeMap::from([("address".to_owned(), vec![plain(&edited)])]);
        put_base(&conn, "visitor", "p1", later, 300, &edited).unwrap();
        let (_, kept) = stored(&conn, "p1");
        assert!(!kept.contains(a) && !kept.contains(b), "{kept}");
        assert_eq!(one("p1", "visitor", "name").version, registered);
        assert_eq!(one("p1", "visitor", "phone").base, Some(vec![registered]));
    }
}
