//! The desk's side of sync (docs/sync.md): sync state (server address, device token, what the
//! server confirmed, per-device pull cursors) and applying pulled changes to the local tables.
//!
//! Pulled changes are applied field by field with the same rules as the server
//! (`xinfang_sync::merge`): a field takes a pulled value only if that write beats the field's
//! current version. The current version is the greatest write of that field in the local change
//! log or among the pulled changes (`sync_remote_log`), so no per-field bookkeeping slows the
//! local write path. Pulled changes are never appended to `change_log`: they are not this desk's
//! to push.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use xinfang_core::calendar::{HolidayCalendar, YearCalendar};
use xinfang_sync::audit::AuditEntry as WireAuditEntry;
use xinfang_sync::hlc::drift_bound;
use xinfang_sync::merge::{Version, compare_writes};
use xinfang_sync::wire::{HallIdKey, ReferenceBundle, SnapshotResponse};
use xinfang_sync::{
    Change, DeskReplica, Hlc, Op, RemoteChange, Secret, SnapshotPosition, SyncRecord, SyncSettings,
};

use crate::AuditEntry;
use crate::maintenance::LOGGED;
use crate::search::{index_visitor, name_keys, reindex_visitor};
use crate::{Result, Store, StoreError};

/// How a pulled change ended up (`sync_remote_log.applied`).
const KEPT_UNKNOWN_TABLE: i64 = 0;
pub(crate) const APPLIED: i64 = 1;
const REFUSED_LOCALLY: i64 = 2;
/// Applied, but some fields have no column here (a newer desk wrote them): kept, and applied
/// when an upgrade adds the column (`reapply_kept`).
const APPLIED_PARTLY: i64 = 3;
/// Records a sync folds out of the logs at most (the first syncs of a store that grew before
/// compaction existed spread the work; `xinfang compact` does it all at once).
const COMPACT_PER_SYNC: usize = 2_000;

/// The `sync_state` key of the letter the server gave this desk (`B017`'s `B`).
pub(crate) const QUEUE_LETTER: &str = "queue_letter";
/// The `sync_state` key of the CA certificates (PEM) this desk trusts for its server.
const TRUSTED_CA: &str = "trusted_ca";
/// The `sync_state` key of the city's update key this desk pinned (issue 20).
pub(crate) const UPDATE_KEY: &str = "update_key";

pub(crate) fn state_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM sync_state WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn state_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_state(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

fn state_delete(conn: &Connection, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM sync_state WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// Moves the process clock past every timestamp this store has issued or received, so a
/// restarted desk never stamps a change earlier than one it already made or saw.
pub(crate) fn observe_stored_clock(conn: &Connection) -> Result<()> {
    let local: Option<i64> = conn
        .query_row(
            "SELECT hlc FROM change_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let remote: Option<i64> = state_get(conn, "clock")?.and_then(|s| s.parse().ok());
    // `observe` never goes beyond the wall clock + the allowed drift: a value poisoned before
    // that bound existed (a desk years ahead, a forged i64::MAX) is clamped, not adopted.
    xinfang_sync::hlc::observe(Hlc(local.unwrap_or(0).max(remote.unwrap_or(0))));
    Ok(())
}

/// The columns of every synced table, as one text: changes when an upgrade adds a column.
fn columns_fingerprint(conn: &Connection) -> Result<String> {
    let mut out = String::new();
    for (_, table, _) in LOGGED {
        let mut stmt = conn.prepare_cached(&format!("PRAGMA table_info(\"{table}\")"))?;
        let cols = stmt
            .query_map([], |r| r.get::<_, String>(1))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push_str(table);
        out.push('(');
        out.push_str(&cols.join(","));
        out.push(')');
    }
    Ok(out)
}

/// After an upgrade: applies what pulled changes carried that this desk could not hold before
/// (fields without a column, entities without a table), now that the schema has them. Runs
/// only when such changes exist and the columns changed since the last try.
pub(crate) fn reapply_kept(conn: &mut Connection, own_device: &str) -> Result<()> {
    if state_get(conn, "kept_pending")?.is_none() {
        return Ok(());
    }
    let fingerprint = columns_fingerprint(conn)?;
    if state_get(conn, "kept_columns")?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.pragma_update(None, "defer_foreign_keys", true)?;
    let kept = pulled_changes(
        &tx,
        "SELECT device_id, seq, entity, entity_id, op, fields, hlc, changed_at
           FROM sync_remote_log WHERE applied IN (0, 3) ORDER BY server_seq",
    )?;
    let mut still_kept = false;
    {
        let mut applier = Applier {
            tx: &tx,
            own_device,
            columns: HashMap::new(),
            again: true,
            fresh: false,
        };
        let mut mark = tx.prepare_cached(
            "UPDATE sync_remote_log SET applied = ?3 WHERE device_id = ?1 AND seq = ?2",
        )?;
        for (device, c) in &kept {
            // A change a constraint refuses here stays in the log, marked, as on a pull.
            let (outcome, _refused) = applier.apply(device, c)?;
            still_kept |= matches!(outcome, KEPT_UNKNOWN_TABLE | APPLIED_PARTLY);
            mark.execute(params![device, c.seq, outcome])?;
        }
    }
    // Merges, unmerges and splits an older version kept unapplied now count.
    crate::people::rederive(&tx, &Default::default())?;
    crate::numbers::fill_legacy(&tx)?;
    if still_kept {
        state_set(&tx, "kept_columns", &fingerprint)?;
    } else {
        state_delete(&tx, "kept_pending")?;
        state_delete(&tx, "kept_columns")?;
    }
    tx.commit()?;
    tracing::info!(
        changes = kept.len(),
        "kept pulled changes applied after an upgrade"
    );
    Ok(())
}

/// A table's columns: name → (declared type, NOT NULL, has a default).
pub(crate) struct Columns(HashMap<String, (String, bool, bool)>);

impl Columns {
    fn read(conn: &Connection, table: &str) -> Result<Option<Columns>> {
        let mut stmt = conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
        let cols: HashMap<String, (String, bool, bool)> = stmt
            .query_map([], |r| {
                let default: Option<String> = r.get(4)?;
                Ok((
                    r.get::<_, String>(1)?,
                    (
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                        default.is_some(),
                    ),
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok((!cols.is_empty()).then_some(Columns(cols)))
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The SQL value for a JSON field value in this column. An empty string in a nullable
    /// column is stored as NULL, as the desk's own writes do (an empty form field is absent).
    fn sql(&self, name: &str, v: &Value) -> SqlValue {
        let nullable = self.0.get(name).is_some_and(|(_, not_null, _)| !not_null);
        match v {
            Value::Null => SqlValue::Null,
            Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => SqlValue::Integer(i),
                None => SqlValue::Real(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) if s.is_empty() && nullable => SqlValue::Null,
            Value::String(s) => SqlValue::Text(s.clone()),
            other => SqlValue::Text(other.to_string()),
        }
    }
}

/// Where an entity lives: its table and key columns (one, or two for `visit_visitor`, whose
/// entity id is `visit_id:visitor_id`).
struct Target {
    table: &'static str,
    keys: Vec<&'static str>,
}

fn target(entity: &str) -> Option<Target> {
    LOGGED
        .iter()
        .find(|(e, _, _)| *e == entity)
        .map(|(_, table, key)| Target {
            table,
            keys: key
                .split("||")
                .map(str::trim)
                .filter(|k| !k.starts_with('\''))
                .collect(),
        })
}

/// The current version of one field: the greatest write of it in the local change log or among
/// applied pulled changes.
fn current_version(
    tx: &Connection,
    own_device: &str,
    entity: &str,
    entity_id: &str,
    field: &str,
) -> Result<Option<(Value, Version)>> {
    let mut best: Option<(Value, Version)> = None;
    let mut consider = |value: Value, version: Version| {
        let better = match &best {
            None => true,
            Some((bv, bver)) => {
                compare_writes(entity, field, &value, &version, bv, bver) == Ordering::Greater
            }
        };
        if better {
            best = Some((value, version));
        }
    };
    let mut local = tx.prepare_cached(
        "SELECT fields, hlc FROM change_log WHERE entity = ?1 AND entity_id = ?2",
    )?;
    let mut rows = local.query(params![entity, entity_id])?;
    while let Some(r) = rows.next()? {
        let fields: String = r.get(0)?;
        if let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(&fields)
            && let Some(v) = m.remove(field)
        {
            consider(v, Version::new(Hlc(r.get(1)?), own_device));
        }
    }
    for w in crate::compact::field_writes(tx, entity, entity_id, field)? {
        consider(w.value, w.version);
    }
    let mut remote = tx.prepare_cached(
        "SELECT fields, hlc, device_id FROM sync_remote_log
         WHERE entity = ?1 AND entity_id = ?2 AND applied IN (1, 3)",
    )?;
    let mut rows = remote.query(params![entity, entity_id])?;
    while let Some(r) = rows.next()? {
        let fields: String = r.get(0)?;
        if let Ok(Value::Object(mut m)) = serde_json::from_str::<Value>(&fields)
            && let Some(v) = m.remove(field)
        {
            consider(v, Version::new(Hlc(r.get(1)?), r.get::<_, String>(2)?));
        }
    }
    Ok(best)
}

fn key_values<'a>(t: &Target, entity_id: &'a str) -> Option<Vec<&'a str>> {
    let vals: Vec<&str> = if t.keys.len() == 1 {
        vec![entity_id]
    } else {
        entity_id.split(':').collect()
    };
    (vals.len() == t.keys.len()).then_some(vals)
}

pub(crate) struct Applier<'a> {
    pub(crate) tx: &'a Connection,
    pub(crate) own_device: &'a str,
    pub(crate) columns: HashMap<&'static str, Option<Columns>>,
    /// Applying a change already counted in the current versions (after an upgrade): a
    /// field it wrote that is still the current version is written again.
    pub(crate) again: bool,
    /// The last change applied made a new row (a first write: no field conflict possible).
    pub(crate) fresh: bool,
}

impl<'a> Applier<'a> {
    pub(crate) fn new(tx: &'a Connection, own_device: &'a str) -> Applier<'a> {
        Applier {
            tx,
            own_device,
            columns: HashMap::new(),
            again: false,
            fresh: false,
        }
    }

    /// Applies one pulled change to its table; returns what became of it (and, when a local
    /// constraint refused it, why: the change is then set aside in quarantine).
    pub(crate) fn apply(
        &mut self,
        device_id: &str,
        c: &Change,
    ) -> Result<(i64, Option<(&'static str, String)>)> {
        let Some(t) = target(&c.entity) else {
            return Ok((KEPT_UNKNOWN_TABLE, None));
        };
        // A staff change is taken only when signed back to the hall's roots.
        if c.entity == "staff"
            && let Some(refusal) = crate::staff_sign::check_pulled(self.tx, c)?
        {
            tracing::warn!(
                code = refusal.0,
                "pulled staff change not signed as required; set aside"
            );
            return Ok((REFUSED_LOCALLY, Some(refusal)));
        }
        // A photo is drawn from its bytes: one this desk's own check would refuse (not a whole
        // JPEG, over the cap) is set aside, whoever relayed it — the city checks pushes, but a
        // hub or a peer of the hall's LAN need not be the city's build.
        if c.entity == "visit_photo"
            && let Some(jpeg) = c.fields.get("jpeg")
            && let Err(e) = xinfang_core::photo::check_photo(jpeg.as_str().unwrap_or_default())
        {
            tracing::warn!(code = %e.code, "pulled photo refused by the photo check; set aside");
            return Ok((REFUSED_LOCALLY, Some(("photo_invalid", e.message))));
        }
        let Some(keys) = key_values(&t, &c.entity_id) else {
            tracing::warn!(entity = %c.entity, "pulled change with a malformed entity id kept unapplied");
            return Ok((KEPT_UNKNOWN_TABLE, None));
        };
        if !self.columns.contains_key(t.table) {
            let cols = Columns::read(self.tx, t.table)?;
            self.columns.insert(t.table, cols);
        }
        let Some(cols) = self.columns.get(t.table).and_then(Option::as_ref) else {
            return Ok((KEPT_UNKNOWN_TABLE, None));
        };
        let where_sql: String = t
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} = ?{}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ");
        let rowid: Option<i64> = self
            .tx
            .prepare_cached(&format!("SELECT rowid FROM {} WHERE {where_sql}", t.table))
            .or_else(|_| {
                // WITHOUT ROWID tables have no rowid; existence is all we need.
                self.tx
                    .prepare_cached(&format!("SELECT 0 FROM {} WHERE {where_sql}", t.table))
            })?
            .query_row(rusqlite::params_from_iter(keys.iter()), |r| r.get(0))
            .optional()?;
        self.tx.execute_batch("SAVEPOINT pulled")?;
        self.fresh = rowid.is_none();
        let outcome = match rowid {
            None => self.insert(&t, cols, &keys, c),
            Some(rowid) => self.update(&t, cols, &where_sql, &keys, rowid, device_id, c),
        };
        // Fields a newer desk wrote that have no column here yet stay in the log.
        // (Change metadata such as `meta_base` is never a column.)
        let partly = c
            .fields
            .keys()
            .any(|f| !cols.has(f) && !xinfang_sync::merge::is_meta(f));
        match outcome {
            Ok(()) => {
                self.tx.execute_batch("RELEASE pulled")?;
                Ok((if partly { APPLIED_PARTLY } else { APPLIED }, None))
            }
            Err(StoreError::Sqlite(e)) if is_constraint(&e) => {
                self.tx
                    .execute_batch("ROLLBACK TO pulled; RELEASE pulled")?;
                tracing::warn!(entity = %c.entity, error = %e,
                    "pulled change refused by a local constraint; set aside in quarantine");
                Ok((REFUSED_LOCALLY, Some(crate::records::quarantine_reason(&e))))
            }
            Err(e) => {
                self.tx
                    .execute_batch("ROLLBACK TO pulled; RELEASE pulled")?;
                Err(e)
            }
        }
    }

    fn insert(&self, t: &Target, cols: &Columns, keys: &[&str], c: &Change) -> Result<()> {
        let mut names: Vec<String> = Vec::new();
        let mut values: Vec<SqlValue> = Vec::new();
        let mut push = |name: &str, v: SqlValue| {
            if cols.has(name) && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
                values.push(v);
            }
        };
        for (k, v) in t.keys.iter().zip(keys) {
            push(k, SqlValue::Text((*v).to_owned()));
        }
        for (field, v) in &c.fields {
            push(field, cols.sql(field, v));
        }
        if c.entity == "backlog_case" {
            // Two open cases of one matter are one case: the smaller id stands.
            if let Some(winner) = self.merge_backlog_case(c)? {
                push("merged_into", SqlValue::Text(winner));
            }
        }
        // A step's stamp orders the steps of one day (older desks did not log it).
        push("hlc", SqlValue::Integer(c.hlc.0));
        // Columns the desk derives rather than logs.
        let name = c.fields.get("name").and_then(Value::as_str);
        if c.entity == "visitor" {
            let (full, initials) = name_keys(name.unwrap_or_default());
            push("pinyin_full", SqlValue::Text(full));
            push("pinyin_initials", SqlValue::Text(initials));
        }
        if let Some(at) = c.fields.get("visited_at").and_then(Value::as_str)
            && at.len() >= 10
        {
            push("visit_date", SqlValue::Text(at[..10].to_owned()));
        }
        push("created_at", SqlValue::Text(c.changed_at.clone()));
        push("updated_at", SqlValue::Text(c.changed_at.clone()));
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        self.tx
            .prepare_cached(&format!(
                "INSERT INTO {}({}) VALUES ({})",
                t.table,
                names.join(", "),
                placeholders.join(", ")
            ))?
            .execute(rusqlite::params_from_iter(values.iter()))?;
        if c.entity == "visitor" {
            let rowid = self.tx.last_insert_rowid();
            let phone = c.fields.get("phone").and_then(Value::as_str);
            index_visitor(self.tx, rowid, name.unwrap_or_default(), phone)?;
        }
        Ok(())
    }

    /// A pulled backlog case of a matter that has another open case here: decides which one
    /// stands (the smaller id, the same on every replica). Returns the winner's id when the
    /// pulled case loses; marks the local one merged when the pulled case wins.
    fn merge_backlog_case(&self, c: &Change) -> Result<Option<String>> {
        let cleared = c.fields.get("cleared_on").is_some_and(|v| !v.is_null());
        let Some(matter_id) = c.fields.get("matter_id").and_then(Value::as_str) else {
            return Ok(None);
        };
        if cleared {
            return Ok(None);
        }
        let open: Option<String> = self
            .tx
            .prepare_cached(
                "SELECT id FROM backlog_cases
                 WHERE matter_id = ?1 AND cleared_on IS NULL AND merged_into IS NULL AND id <> ?2",
            )?
            .query_row(params![matter_id, c.entity_id], |r| r.get(0))
            .optional()?;
        let Some(other) = open else {
            return Ok(None);
        };
        if c.entity_id < other {
            self.tx
                .prepare_cached("UPDATE backlog_cases SET merged_into = ?2 WHERE id = ?1")?
                .execute(params![other, c.entity_id])?;
            // Cases merged into the loser follow the winner too.
            self.tx
                .prepare_cached("UPDATE backlog_cases SET merged_into = ?2 WHERE merged_into = ?1")?
                .execute(params![other, c.entity_id])?;
            tracing::info!("two open backlog cases of one matter: the pulled one stands");
            Ok(None)
        } else {
            tracing::info!("two open backlog cases of one matter: the local one stands");
            Ok(Some(other))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update(
        &self,
        t: &Target,
        cols: &Columns,
        where_sql: &str,
        keys: &[&str],
        rowid: i64,
        device_id: &str,
        c: &Change,
    ) -> Result<()> {
        let version = Version::new(c.hlc, device_id);
        let mut sets: Vec<(String, SqlValue)> = Vec::new();
        for (field, value) in &c.fields {
            if !cols.has(field) || t.keys.contains(&field.as_str()) {
                continue;
            }
            // A registration sets only what it knows: its empty fields erase nothing.
            if c.op == Op::Insert && value.is_null() {
                continue;
            }
            let wins =
                match current_version(self.tx, self.own_device, &c.entity, &c.entity_id, field)? {
                    None => true,
                    Some((_, cur_version)) if self.again && cur_version == version => true,
                    Some((cur_value, cur_version)) => {
                        compare_writes(&c.entity, field, value, &version, &cur_value, &cur_version)
                            == Ordering::Greater
                    }
                };
            if wins {
                sets.push((field.clone(), cols.sql(field, value)));
            }
        }
        if sets.is_empty() {
            return Ok(());
        }
        let touches_search = sets.iter().any(|(f, _)| f == "name" || f == "phone");
        if c.entity == "visitor"
            && let Some((_, SqlValue::Text(name))) = sets.iter().find(|(f, _)| f == "name")
        {
            let (full, initials) = name_keys(name);
            sets.push(("pinyin_full".into(), SqlValue::Text(full)));
            sets.push(("pinyin_initials".into(), SqlValue::Text(initials)));
        }
        if cols.has("updated_at") {
            sets.push(("updated_at".into(), SqlValue::Text(c.changed_at.clone())));
        }
        let n = keys.len();
        let assignments: Vec<String> = sets
            .iter()
            .enumerate()
            .map(|(i, (f, _))| format!("{f} = ?{}", n + i + 1))
            .collect();
        let mut params: Vec<SqlValue> = keys
            .iter()
            .map(|k| SqlValue::Text((*k).to_owned()))
            .collect();
        params.extend(sets.into_iter().map(|(_, v)| v));
        self.tx
            .prepare_cached(&format!(
                "UPDATE {} SET {} WHERE {where_sql}",
                t.table,
                assignments.join(", ")
            ))?
            .execute(rusqlite::params_from_iter(params.iter()))?;
        if c.entity == "visitor" && touches_search {
            let (name, phone): (String, Option<String>) = self.tx.query_row(
                "SELECT name, phone FROM visitors WHERE rowid = ?1",
                [rowid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            reindex_visitor(self.tx, rowid, &name, phone.as_deref())?;
        }
        Ok(())
    }
}

/// What a pulled page touched that is derived here: matters to fold again, person fields whose
/// conflict to recompute.
#[derive(Default)]
pub(crate) struct Touched {
    pub(crate) matters: std::collections::BTreeSet<String>,
    pub(crate) fields: std::collections::BTreeSet<(String, String, String)>,
    /// A person, a visit's link, a merge, unmerge or split arrived: who shows under whom is
    /// derived again (people.rs).
    pub(crate) people: bool,
    /// Visitor records new here: a person whose record arrives after visits merged into them
    /// counts those visits.
    pub(crate) new_visitors: std::collections::BTreeSet<String>,
}

impl Touched {
    pub(crate) fn note(&mut self, tx: &Connection, c: &Change, new_row: bool) -> Result<()> {
        match c.entity.as_str() {
            "matter" => {
                self.matters.insert(c.entity_id.clone());
            }
            "matter_event" => {
                let matter = match c.fields.get("matter_id").and_then(Value::as_str) {
                    Some(m) => Some(m.to_owned()),
                    None => tx
                        .prepare_cached("SELECT matter_id FROM matter_events WHERE id = ?1")?
                        .query_row([&c.entity_id], |r| r.get(0))
                        .optional()?,
                };
                if let Some(m) = matter {
                    self.matters.insert(m);
                }
            }
            "visitor" | "visit_visitor" | "person_merge" | "person_unmerge" | "visit_move" => {
                self.people = true;
                if c.entity == "visitor" && new_row {
                    self.new_visitors.insert(c.entity_id.clone());
                }
            }
            _ => {}
        }
        // The first write of a record has nothing to conflict with (initial syncs of a whole
        // hall stay fast); every later write of a tracked field is looked at.
        for field in c.fields.keys().filter(|_| !new_row) {
            if xinfang_sync::merge::tracks_conflicts(&c.entity, field) {
                self.fields
                    .insert((c.entity.clone(), c.entity_id.clone(), field.clone()));
            }
        }
        Ok(())
    }
}

/// Pulled changes as the log keeps them, with the device that wrote each: `sql` selects
/// device_id, seq, entity, entity_id, op, fields, hlc, changed_at. A row this version cannot
/// read is skipped (it stays in the log).
fn pulled_changes(conn: &Connection, sql: &str) -> Result<Vec<(String, Change)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let op: String = r.get(4)?;
        let fields: String = r.get(5)?;
        let (Some(op), Ok(fields)) = (Op::parse(&op), serde_json::from_str(&fields)) else {
            continue;
        };
        out.push((
            r.get(0)?,
            Change {
                seq: r.get(1)?,
                entity: r.get(2)?,
                entity_id: r.get(3)?,
                op,
                fields,
                hlc: Hlc(r.get(6)?),
                changed_at: r.get(7)?,
            },
        ));
    }
    Ok(out)
}

/// Retries the quarantined changes in server order, again while any of them applies.
fn retry_quarantined(
    tx: &Connection,
    applier: &mut Applier<'_>,
    touched: &mut Touched,
) -> Result<()> {
    loop {
        let waiting = pulled_changes(
            tx,
            "SELECT r.device_id, r.seq, r.entity, r.entity_id, r.op, r.fields, r.hlc, r.changed_at
             FROM sync_quarantine q JOIN sync_remote_log r ON r.device_id = q.device_id AND r.seq = q.seq
             ORDER BY r.server_seq",
        )?;
        let mut moved = false;
        for (device, c) in waiting {
            let seq = c.seq;
            let (outcome, refused) = applier.apply(&device, &c)?;
            if outcome == APPLIED || outcome == APPLIED_PARTLY {
                tx.prepare_cached(
                    "UPDATE sync_remote_log SET applied = ?3 WHERE device_id = ?1 AND seq = ?2",
                )?
                .execute(params![device, seq, outcome])?;
                tx.prepare_cached("DELETE FROM sync_quarantine WHERE device_id = ?1 AND seq = ?2")?
                    .execute(params![device, seq])?;
                touched.note(tx, &c, applier.fresh)?;
                tracing::info!(entity = %c.entity, "quarantined change applied on retry");
                moved = true;
            } else if let Some((reason, detail)) = refused {
                tx.prepare_cached(
                    "UPDATE sync_quarantine SET reason = ?3, detail = ?4
                     WHERE device_id = ?1 AND seq = ?2",
                )?
                .execute(params![device, seq, reason, detail])?;
            }
        }
        if !moved {
            return Ok(());
        }
    }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

impl Store {
    /// Pulled changes kept but not applied (`applied` 0: table unknown here; 2: refused by a
    /// local constraint), for `xinfang verify` and support.
    pub fn unapplied_remote_changes(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sync_remote_log WHERE applied NOT IN (1, 3)",
            [],
            |r| r.get(0),
        )?)
    }

    /// The server address stored at enrolment, if any (no token).
    pub fn sync_server_url(&self) -> Result<Option<String>> {
        state_get(&self.conn, "server_url")
    }

    /// The city reference lists pulled at the last sync (name → JSON, e.g. `holidays/2027`);
    /// empty before the first sync.
    pub fn city_reference(&self) -> Result<BTreeMap<String, Value>> {
        Ok(match state_get(&self.conn, "reference")? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("sync_state.reference: {e}")))?,
            None => BTreeMap::new(),
        })
    }

    /// The holiday calendar this desk computes deadlines with: the compiled-in years, with the
    /// years the city server handed out (newer or amended ones) replacing them. A city year
    /// that does not check out is left out with a warning, so a bad list never stops the desk.
    pub fn holiday_calendar(&self) -> HolidayCalendar {
        let mut cal = HolidayCalendar::bundled();
        let lists = self.city_reference().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "city reference data unreadable; using the bundled calendar");
            BTreeMap::new()
        });
        for (name, value) in lists {
            if !name.starts_with("holidays/") {
                continue;
            }
            let year = serde_json::from_value::<YearCalendar>(value)
                .map_err(|e| e.to_string())
                .and_then(|y| HolidayCalendar::from_years(vec![y]).map_err(|e| e.to_string()));
            match year {
                Ok(y) => cal.merge(y),
                Err(e) => tracing::warn!(list = %name, error = %e, "city holiday year refused"),
            }
        }
        cal
    }

    /// Forgets the enrolment (server address and token), e.g. after the device was revoked.
    pub fn forget_enrolment(&mut self) -> Result<()> {
        state_delete(&self.conn, "server_url")?;
        state_delete(&self.conn, "device_token")
    }

    /// Keeps (or with `None` forgets) the CA certificates (PEM) this desk trusts for its
    /// server; the caller has checked they parse.
    pub fn set_trusted_ca(&mut self, pem: Option<&str>) -> Result<()> {
        match pem {
            Some(pem) => state_set(&self.conn, TRUSTED_CA, pem),
            None => state_delete(&self.conn, TRUSTED_CA),
        }
    }
}

impl DeskReplica for Store {
    type Error = StoreError;

    fn device_id(&self) -> &str {
        &self.device_id
    }

    fn hall_code(&self) -> &str {
        &self.hall_code
    }

    fn clock(&self) -> &dyn xinfang_core::clock::Clock {
        &*self.clock
    }

    fn sync_settings(&self) -> Result<Option<SyncSettings>> {
        let url = state_get(&self.conn, "server_url")?;
        let token = state_get(&self.conn, "device_token")?;
        Ok(match (url, token) {
            (Some(server_url), Some(token)) => Some(SyncSettings {
                server_url,
                token: Secret::new(token),
            }),
            _ => None,
        })
    }

    fn save_enrolment(&mut self, server_url: &str, token: &Secret) -> Result<()> {
        let home = crate::home::fingerprint(self.data_dir());
        let tx = self.conn.savepoint()?;
        state_set(&tx, "server_url", server_url)?;
        state_set(&tx, "device_token", token.expose())?;
        state_set(&tx, "home", &home)?;
        tx.commit()?;
        Ok(())
    }

    fn trusted_ca(&self) -> Result<Option<String>> {
        state_get(&self.conn, TRUSTED_CA)
    }

    fn hall_id_key_offer(&self) -> Result<Option<HallIdKey>> {
        Ok(Some(crate::hall_key::current(&self.conn)?.wire()))
    }

    fn adopt_hall_id_key(&mut self, key: &HallIdKey) -> Result<()> {
        let bytes = key.bytes().ok_or_else(|| {
            StoreError::Encryption(
                "市局服务器给出的大厅标识密钥格式不正确：请联系市局管理员，或升级接待台软件。"
                    .into(),
            )
        })?;
        let key = crate::hall_key::HallKey::from_bytes(bytes);
        let tx = self.conn.savepoint()?;
        let rekeyed = crate::hall_key::adopt(&tx, &self.hall_code, &key)?;
        tx.commit()?;
        if rekeyed > 0 {
            tracing::info!(rekeyed, "visitor ids re-derived with the hall id key");
        }
        Ok(())
    }

    fn root_key_offer(&self) -> Result<Vec<xinfang_sync::staff_sig::RootKey>> {
        self.own_roots()
    }

    fn adopt_hall_roots(&mut self, roots: &[xinfang_sync::staff_sig::RootKey]) -> Result<()> {
        self.keep_hall_roots(roots)
    }

    fn adopt_queue_letter(&mut self, letter: &str) -> Result<()> {
        // Only a letter this version numbers with; another is ignored (the desk keeps its own).
        if xinfang_core::queue::is_desk_letter(letter)
            && state_get(&self.conn, QUEUE_LETTER)?.as_deref() != Some(letter)
        {
            state_set(&self.conn, QUEUE_LETTER, letter)?;
            tracing::info!(letter, "queue letter given by the server");
        }
        Ok(())
    }

    fn pin_update_key(&mut self, key: &str) -> Result<()> {
        let Ok(key) = xinfang_sync::update::check_public_key(key) else {
            tracing::warn!("the server named an update key that is not one: ignored");
            return Ok(());
        };
        match state_get(&self.conn, UPDATE_KEY)? {
            None => {
                state_set(&self.conn, UPDATE_KEY, &key)?;
                tracing::info!("update key pinned");
            }
            Some(pinned) if pinned != key => {
                tracing::warn!("the server names another update key: the pinned one stays");
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn update_key(&self) -> Result<Option<String>> {
        state_get(&self.conn, UPDATE_KEY)
    }

    fn pushed_seq(&self) -> Result<i64> {
        Ok(state_get(&self.conn, "pushed_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    fn set_pushed_seq(&mut self, seq: i64) -> Result<()> {
        state_set(&self.conn, "pushed_seq", &seq.to_string())
    }

    fn last_local_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
                r.get(0)
            })?)
    }

    fn local_changes(&self, after: i64, limit: usize) -> Result<Vec<Change>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, entity, entity_id, op, fields, changed_at, hlc FROM change_log
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, entity, entity_id, op, fields, changed_at, hlc) = row?;
            let op = Op::parse(&op)
                .ok_or_else(|| StoreError::Corrupt(format!("change_log seq {seq}: op {op}")))?;
            let fields: Map<String, Value> = serde_json::from_str(&fields)
                .map_err(|e| StoreError::Corrupt(format!("change_log seq {seq}: {e}")))?;
            out.push(Change {
                seq,
                entity,
                entity_id,
                op,
                fields,
                hlc: Hlc(hlc),
                changed_at,
            });
        }
        Ok(out)
    }

    fn make_room(&mut self, from_seq: i64, server_max: i64) -> Result<usize> {
        let tx = self.conn.savepoint()?;
        let moving: Vec<i64> = tx
            .prepare("SELECT seq FROM change_log WHERE seq >= ?1 ORDER BY seq")?
            .query_map([from_seq], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // Through negative numbers, so no two rows ever share one; in their order, right
        // after the server's last (again, if a cut sync had moved them before).
        tx.execute(
            "UPDATE change_log SET seq = -seq WHERE seq >= ?1",
            [from_seq],
        )?;
        {
            let mut place = tx.prepare("UPDATE change_log SET seq = ?2 WHERE seq = ?1")?;
            for (i, seq) in moving.iter().enumerate() {
                place.execute(params![-seq, server_max + 1 + i as i64])?;
            }
        }
        tx.commit()?;
        Ok(moving.len())
    }

    fn repair_clock(&mut self, now_ms: i64) -> Result<u64> {
        let bound = drift_bound(now_ms);
        let pushed = self.pushed_seq()?;
        let tx = self.conn.savepoint()?;
        let future: Vec<i64> = tx
            .prepare("SELECT seq FROM change_log WHERE seq > ?1 AND hlc > ?2 ORDER BY seq")?
            .query_map(params![pushed, bound.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if !future.is_empty() {
            // The process clock was clamped at open, so fresh stamps are in time and later
            // than every change before them.
            let mut stamp = tx.prepare("UPDATE change_log SET hlc = ?2 WHERE seq = ?1")?;
            for seq in &future {
                stamp.execute(params![seq, xinfang_sync::hlc::now().0])?;
            }
        }
        let stored: Option<i64> = state_get(&tx, "clock")?.and_then(|s| s.parse().ok());
        if stored.is_some_and(|c| c > bound.0) {
            state_set(&tx, "clock", &bound.0.to_string())?;
        }
        tx.commit()?;
        Ok(future.len() as u64)
    }

    fn schema_version(&self) -> u32 {
        Store::schema_version(self).unwrap_or(0)
    }

    fn last_audit_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM audit_log", [], |r| {
                r.get(0)
            })?)
    }

    fn audit_head(&self) -> Result<Option<xinfang_sync::wire::AuditHead>> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok(xinfang_sync::wire::AuditHead {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn audit_pushed_seq(&self) -> Result<i64> {
        Ok(state_get(&self.conn, "audit_pushed_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    fn set_audit_pushed_seq(&mut self, seq: i64) -> Result<()> {
        state_set(&self.conn, "audit_pushed_seq", &seq.to_string())
    }

    fn audit_entries_after(&self, after: i64, limit: usize) -> Result<Vec<WireAuditEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![after, limit], AuditEntry::from_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?.to_wire());
        }
        Ok(out)
    }

    fn pull_cursors(&self) -> Result<BTreeMap<String, i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT device_id, seq FROM sync_cursors")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn apply_remote(
        &mut self,
        changes: &[RemoteChange],
        cursors: &BTreeMap<String, i64>,
    ) -> Result<usize> {
        let own = self.device_id.clone();
        let cal = self.holiday_calendar();
        let now = crate::now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        // Foreign keys are checked per change (not at commit): a change whose parent is not
        // here is set aside alone, and the rest of the page applies (docs/sync.md).
        let mut applied = 0usize;
        let mut clock = Hlc::ZERO;
        let mut kept = false;
        let mut touched = Touched::default();
        {
            let mut applier = Applier::new(&tx, &own);
            let mut seen = tx.prepare_cached(
                "SELECT 1 FROM sync_remote_log WHERE device_id = ?1 AND seq = ?2",
            )?;
            let mut log = tx.prepare_cached(
                "INSERT INTO sync_remote_log(device_id, seq, server_seq, entity, entity_id, op, fields,
                   hlc, changed_at, applied) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut own_seen = tx.prepare_cached("SELECT 1 FROM change_log WHERE seq = ?1")?;
            let mut own_log = tx.prepare_cached(
                "INSERT INTO change_log(seq, entity, entity_id, op, fields, changed_at, hlc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for rc in changes {
                let c = &rc.change;
                if rc.device_id == own {
                    // This desk's own change, taken back after a restore (`make_room` cleared
                    // its number): applied by the merge rules, as a pulled one, and logged as
                    // its own again.
                    if own_seen.exists([c.seq])? {
                        continue;
                    }
                    xinfang_sync::hlc::observe(c.hlc);
                    clock = clock.max(c.hlc);
                    let (outcome, _refused) = applier.apply(&own, c)?;
                    if outcome != APPLIED {
                        tracing::warn!(entity = %c.entity, outcome, "own change taken back, not fully applied");
                    }
                    // Its steps and field writes are folded and checked as pulled ones are.
                    touched.note(&tx, c, applier.fresh)?;
                    own_log.execute(params![
                        c.seq,
                        c.entity,
                        c.entity_id,
                        c.op.as_str(),
                        Value::Object(c.fields.clone()).to_string(),
                        c.changed_at,
                        c.hlc.0
                    ])?;
                    applied += 1;
                    continue;
                }
                if seen.exists(params![rc.device_id, c.seq])? {
                    continue;
                }
                xinfang_sync::hlc::observe(c.hlc);
                clock = clock.max(c.hlc);
                let (outcome, refused) = applier.apply(&rc.device_id, c)?;
                kept |= matches!(outcome, KEPT_UNKNOWN_TABLE | APPLIED_PARTLY);
                log.execute(params![
                    rc.device_id,
                    c.seq,
                    rc.server_seq,
                    c.entity,
                    c.entity_id,
                    c.op.as_str(),
                    Value::Object(c.fields.clone()).to_string(),
                    c.hlc.0,
                    c.changed_at,
                    outcome
                ])?;
                if let Some((reason, detail)) = refused {
                    crate::records::quarantine(&tx, &rc.device_id, c.seq, reason, &detail, &now)?;
                }
                if outcome == APPLIED || outcome == APPLIED_PARTLY {
                    touched.note(&tx, c, applier.fresh)?;
                }
                applied += 1;
            }
            // Changes set aside earlier (or just now) may apply once this page brought what
            // they need (a parent that arrived later): retried in server order until none moves.
            retry_quarantined(&tx, &mut applier, &mut touched)?;
            let mut cur = tx.prepare_cached(
                "INSERT INTO sync_cursors(device_id, seq) VALUES (?1, ?2)
                 ON CONFLICT(device_id) DO UPDATE SET seq = max(seq, excluded.seq)",
            )?;
            for (device, seq) in cursors {
                if *device != own {
                    cur.execute(params![device, seq])?;
                }
            }
        }
        for matter_id in &touched.matters {
            crate::records::rederive_matter(&tx, &own, matter_id, &cal)?;
        }
        for (entity, id, field) in &touched.fields {
            crate::records::refresh_field_conflict(&tx, &own, entity, id, field)?;
        }
        if touched.people {
            crate::people::rederive(&tx, &touched.new_visitors)?;
        }
        if clock > Hlc::ZERO {
            // What is kept is what the clock took in: never beyond the wall clock + drift.
            let clock = clock.min(drift_bound(xinfang_sync::hlc::wall_ms()));
            let stored: i64 = state_get(&tx, "clock")?
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            state_set(&tx, "clock", &stored.max(clock.0).to_string())?;
        }
        if kept {
            state_set(&tx, "kept_pending", "1")?;
        }
        // Matters from desks that predate numbers.
        crate::numbers::fill_legacy(&tx)?;
        tx.commit()?;
        if applied > 0 {
            tracing::info!(applied, "pulled changes applied");
        }
        Ok(applied)
    }

    fn snapshot_position(&self) -> Result<Option<SnapshotPosition>> {
        self.snapshot_position_kept()
    }

    fn snapshot_entities(&self) -> Vec<String> {
        Store::snapshot_entity_names()
    }

    fn apply_snapshot_page(
        &mut self,
        entity: &str,
        page: &SnapshotResponse,
        next: &SnapshotPosition,
    ) -> Result<bool> {
        self.apply_snapshot(entity, page, next)
    }

    fn end_snapshot(&mut self, cursors: Option<&BTreeMap<String, i64>>) -> Result<()> {
        self.end_snapshot_here(cursors)
    }

    fn sync_record(&self) -> Result<SyncRecord> {
        Ok(SyncRecord {
            last_sync_at: state_get(&self.conn, "last_sync_at")?,
            last_error: state_get(&self.conn, "last_error")?,
        })
    }

    fn set_sync_record(&mut self, record: &SyncRecord) -> Result<()> {
        let tx = self.conn.savepoint()?;
        match &record.last_sync_at {
            Some(at) => state_set(&tx, "last_sync_at", at)?,
            None => state_delete(&tx, "last_sync_at")?,
        }
        match &record.last_error {
            Some(e) => state_set(&tx, "last_error", e)?,
            None => state_delete(&tx, "last_error")?,
        }
        tx.commit()?;
        Ok(())
    }

    fn reference_version(&self) -> Result<Option<String>> {
        state_get(&self.conn, "reference_version")
    }

    fn moved(&mut self) -> Result<bool> {
        self.moved_since_enrolment()
    }

    fn compact(&mut self) -> Result<u64> {
        Ok(self.compact_logs(COMPACT_PER_SYNC)?.rows)
    }

    fn save_reference(&mut self, bundle: &ReferenceBundle) -> Result<()> {
        let lists = serde_json::to_string(&bundle.lists)
            .map_err(|e| StoreError::Corrupt(format!("reference data: {e}")))?;
        let tx = self.conn.savepoint()?;
        state_set(&tx, "reference", &lists)?;
        state_set(&tx, "reference_version", &bundle.version)?;
        // The city reviewer's public key, to which reports are sealed from now on (and, at the
        // next login of a reader, those sealed before).
        if let Some(public) = bundle
            .lists
            .get(crate::confidential::REVIEWER_LIST)
            .and_then(|v| v.get("public"))
            .and_then(|v| v.as_str())
            .filter(|p| xinfang_seal::public_from_hex(p).is_some())
        {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                rusqlite::params![crate::confidential::CITY_REVIEWER_KEY, public],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
