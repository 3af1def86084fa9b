//! The change log: one row per changed entity, written in the transaction that changes it.

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Result;

/// One change as stored (and, later, as pushed to the city server).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRow {
    /// Device sequence: grows by one per change on this desk.
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    pub op: String,
    pub fields: Value,
    pub changed_at: String,
    /// Hybrid-logical-clock timestamp (see `xinfang_sync::hlc`): orders changes across desks.
    pub hlc: i64,
}

#[derive(Clone, Copy)]
pub(crate) enum Op {
    Insert,
    Update,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
        }
    }
}

/// A timestamp for a change of one record: from this process's hybrid logical clock, and
/// later than every write of that record this desk has made or received. The process clock
/// takes in remote timestamps only up to the wall clock + the allowed drift (so a desk years
/// ahead cannot drag everyone's clock along); this keeps an edit of a record later than what
/// it edits even on a desk whose clock is behind, without moving the clock further. (An edit
/// of a record already stamped far in the future follows it there, and is set aside at the
/// city with the reason: such a record needs a person anyway.)
pub(crate) fn causal_stamp(tx: &Connection, entity: &str, entity_id: &str) -> Result<i64> {
    let now = xinfang_sync::hlc::now();
    let seen: Option<i64> = tx
        .prepare_cached(
            "SELECT max(h) FROM (
               SELECT max(hlc) AS h FROM change_log WHERE entity = ?1 AND entity_id = ?2
               UNION ALL
               SELECT max(hlc) FROM sync_remote_log WHERE entity = ?1 AND entity_id = ?2
               UNION ALL
               SELECT max_hlc FROM log_base WHERE entity = ?1 AND entity_id = ?2)",
        )?
        .query_row(params![entity, entity_id], |r| r.get(0))?;
    Ok(match seen {
        Some(h) if h >= now.0 => {
            let stamp = h.saturating_add(1);
            // The clock moves past it too (up to its bound), so this desk's stamps keep growing.
            xinfang_sync::hlc::observe(xinfang_sync::Hlc(stamp));
            stamp
        }
        _ => now.0,
    })
}

/// Appends one change. `fields` holds only what changed (all fields for an insert).
/// The change is stamped with this process's hybrid logical clock (see [`causal_stamp`]).
pub(crate) fn append(
    tx: &Connection,
    entity: &str,
    entity_id: &str,
    op: Op,
    fields: Map<String, Value>,
    changed_at: &str,
) -> Result<()> {
    let stamp = xinfang_sync::Hlc(causal_stamp(tx, entity, entity_id)?);
    append_stamped(tx, entity, entity_id, op, fields, changed_at, stamp)
}

/// [`append`] of the insert of a record whose id was made just now (a UUIDv7 of this
/// registration, or a key holding one): no stamp of it can have been seen, so the clock's is
/// the causal one without looking.
pub(crate) fn append_new(
    tx: &Connection,
    entity: &str,
    entity_id: &str,
    fields: Map<String, Value>,
    changed_at: &str,
) -> Result<()> {
    let stamp = xinfang_sync::hlc::now();
    append_stamped(tx, entity, entity_id, Op::Insert, fields, changed_at, stamp)
}

/// [`append`] with a stamp taken by the caller (a matter step carries its own stamp in its
/// fields, to order the steps of one day the same way on every replica).
pub(crate) fn append_stamped(
    tx: &Connection,
    entity: &str,
    entity_id: &str,
    op: Op,
    fields: Map<String, Value>,
    changed_at: &str,
    hlc: xinfang_sync::Hlc,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO change_log(entity, entity_id, op, fields, changed_at, hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        entity,
        entity_id,
        op.as_str(),
        Value::Object(fields).to_string(),
        changed_at,
        hlc.0
    ])?;
    Ok(())
}

impl crate::Store {
    /// Changes after device sequence `after`, oldest first.
    pub fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<ChangeRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, entity, entity_id, op, fields, changed_at, hlc FROM change_log
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            let fields: String = r.get(4)?;
            Ok(ChangeRow {
                seq: r.get(0)?,
                entity: r.get(1)?,
                entity_id: r.get(2)?,
                op: r.get(3)?,
                fields: serde_json::from_str(&fields).unwrap_or(Value::Null),
                changed_at: r.get(5)?,
                hlc: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
