//! A new desk's first sync from a snapshot (docs/sync.md "Snapshot"): the hall's records as
//! the city holds them, instead of every change ever made. A record comes with its fields'
//! versions, which go into `log_base` as compaction would have left them, so later changes
//! merge exactly as on a desk that replayed the history. People and staff come as the changes
//! that made them (their concurrent writes are conflicts to keep; see
//! [`xinfang_sync::wire::snapshot_as_changes`]) and are applied as any pulled change.
//!
//! The position (the cursors of the first page, the entity and place of the next) is kept in
//! `sync_state.snapshot`, with each page: a sync cut during the snapshot goes on where it
//! stopped. Applying a page twice changes nothing (the merge rules compare versions).

use std::collections::BTreeMap;

use rusqlite::params;
use serde_json::{Map, Value};
use xinfang_sync::merge::{self, FieldWrite, Version};
use xinfang_sync::wire::{SnapshotRecord, SnapshotResponse};
use xinfang_sync::{Change, DeskReplica, Hlc, Op, SnapshotPosition};

use crate::maintenance::LOGGED;
use crate::sync::{APPLIED, Applier, Touched, state_get, state_set};
use crate::{Result, Store};

/// `sync_state.snapshot` once the snapshot is taken or given up (pulls replay from there on).
const DONE: &str = "done";

impl Store {
    pub(crate) fn snapshot_position_kept(&self) -> Result<Option<SnapshotPosition>> {
        match state_get(&self.conn, "snapshot")? {
            Some(s) if s == DONE => Ok(None),
            // A position this version cannot read: start over (pages apply twice safely).
            Some(s) => Ok(Some(serde_json::from_str(&s).unwrap_or_default())),
            None => {
                // Only a desk that has never pulled starts from a snapshot.
                let pulled: bool = self.conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM sync_cursors WHERE seq > 0)
                         OR EXISTS (SELECT 1 FROM sync_remote_log)",
                    [],
                    |r| r.get(0),
                )?;
                Ok((!pulled).then(SnapshotPosition::default))
            }
        }
    }

    pub(crate) fn snapshot_entity_names() -> Vec<String> {
        LOGGED.iter().map(|(e, _, _)| (*e).to_owned()).collect()
    }

    pub(crate) fn apply_snapshot(
        &mut self,
        entity: &str,
        page: &SnapshotResponse,
        next: &SnapshotPosition,
    ) -> Result<bool> {
        let next_text = serde_json::to_string(next).unwrap_or_default();
        if !page.changes.is_empty() {
            // Pulled changes, logged as such; the cursors move only when the snapshot ends.
            // Applied apart from the position (a page applied again is skipped change by
            // change), so a position is kept first: logged changes alone would make this a
            // desk that has pulled before.
            if state_get(&self.conn, "snapshot")?.is_none() {
                let here = SnapshotPosition {
                    cursors: next.cursors.clone(),
                    entity: entity.to_owned(),
                    after: None,
                };
                state_set(
                    &self.conn,
                    "snapshot",
                    &serde_json::to_string(&here).unwrap_or_default(),
                )?;
            }
            self.apply_remote(&page.changes, &BTreeMap::new())?;
        }
        let own = self.device_id.clone();
        let cal = self.holiday_calendar();
        let tx = self.conn.savepoint()?;
        let mut touched = Touched::default();
        {
            let mut applier = Applier::new(&tx, &own);
            for record in &page.records {
                if record.deleted.is_some() {
                    return Ok(false);
                }
                for (device, c) in changes_of(entity, record) {
                    let (outcome, _) = applier.apply(&device, &c)?;
                    if outcome != APPLIED {
                        // Unknown fields or table, or refused here: the history brings it.
                        return Ok(false);
                    }
                    touched.note(&tx, &c, applier.fresh)?;
                }
                let (writes, max_hlc) = writes_of(entity, record);
                let base = Version::new(Hlc(record.base_hlc), record.base_device.clone());
                crate::compact::put_base(&tx, entity, &record.entity_id, writes, max_hlc, &base)?;
            }
        }
        for matter_id in &touched.matters {
            crate::records::rederive_matter(&tx, &own, matter_id, &cal)?;
        }
        if touched.people {
            crate::people::rederive(&tx, &touched.new_visitors)?;
        }
        crate::numbers::fill_legacy(&tx)?;
        state_set(&tx, "snapshot", &next_text)?;
        tx.commit()?;
        Ok(true)
    }

    pub(crate) fn end_snapshot_here(
        &mut self,
        cursors: Option<&BTreeMap<String, i64>>,
    ) -> Result<()> {
        let own = self.device_id.clone();
        let tx = self.conn.savepoint()?;
        if let Some(cursors) = cursors {
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
        state_set(&tx, "snapshot", DONE)?;
        tx.commit()?;
        Ok(())
    }
}

/// A record as the changes the merge rules apply: its base version's fields as an insert, then
/// the fields of each later version as an update of that version; each with its device.
fn changes_of(entity: &str, record: &SnapshotRecord) -> Vec<(String, Change)> {
    let mut groups: BTreeMap<(i64, String), Map<String, Value>> = BTreeMap::new();
    for (field, value) in &record.data {
        let version = record
            .versions
            .get(field)
            .cloned()
            .unwrap_or_else(|| (record.base_hlc, record.base_device.clone()));
        groups
            .entry(version)
            .or_default()
            .insert(field.clone(), value.clone());
    }
    let base = (record.base_hlc, record.base_device.clone());
    let mut out = vec![(
        record.base_device.clone(),
        Change {
            seq: 0,
            entity: entity.to_owned(),
            entity_id: record.entity_id.clone(),
            op: Op::Insert,
            fields: groups.remove(&base).unwrap_or_default(),
            hlc: Hlc(record.base_hlc),
            changed_at: time_of(record.base_hlc),
        },
    )];
    for ((hlc, device), fields) in groups {
        out.push((
            device,
            Change {
                seq: 0,
                entity: entity.to_owned(),
                entity_id: record.entity_id.clone(),
                op: Op::Update,
                fields,
                hlc: Hlc(hlc),
                changed_at: time_of(hlc),
            },
        ));
    }
    out
}

/// When a version was written, from its hybrid logical clock (the writer's wall clock, or a
/// moment after what it had seen), as the desk writes times.
fn time_of(hlc: i64) -> String {
    chrono::DateTime::from_timestamp_millis(Hlc(hlc).physical_ms())
        .unwrap_or_default()
        .with_timezone(&xinfang_core::clock::cst())
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// What `log_base` keeps of a record's fields: each field's version, with its value where the
/// rules read it (a matter's status and state).
fn writes_of(entity: &str, record: &SnapshotRecord) -> (BTreeMap<String, Vec<FieldWrite>>, i64) {
    let mut writes = BTreeMap::new();
    let mut max_hlc = record.base_hlc;
    for (field, value) in &record.data {
        let (hlc, device) = record
            .versions
            .get(field)
            .cloned()
            .unwrap_or_else(|| (record.base_hlc, record.base_device.clone()));
        max_hlc = max_hlc.max(hlc);
        let whole = crate::compact::kept_whole(entity, field);
        writes.insert(
            field.clone(),
            vec![FieldWrite {
                value: if whole {
                    crate::compact::reduced(entity, field, value)
                } else {
                    Value::Null
                },
                version: Version::new(Hlc(hlc), device),
                base: None,
                changed_at: if whole { time_of(hlc) } else { String::new() },
                by: None,
            }],
        );
    }
    debug_assert!(
        !record
            .data
            .keys()
            .any(|f| merge::tracks_conflicts(entity, f))
    );
    (writes, max_hlc)
}
