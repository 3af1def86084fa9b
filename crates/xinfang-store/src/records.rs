//! Records that sync loses nothing of (docs/sync.md, "Records, conflicts, quarantine"):
//!
//! - a matter's status, state and deadlines are derived from ALL its steps
//!   (`xinfang_core::matter::fold_steps`), on every local step and after every pulled page;
//! - concurrent writes of a person's name, document, phone or address are kept as conflicts
//!   (`xinfang_sync::merge::conflict`), derived from the writes every replica holds;
//! - steps the fold refuses are conflicts too;
//! - a supervisor resolves a conflict with an ordinary synced change, so every replica drops it;
//! - pulled changes a local constraint refuses are set aside (quarantine) and retried.
//!
//! `record_conflicts` is derived, never synced: the same writes give the same rows everywhere.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value, json};
use xinfang_core::FieldError;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::{self, MatterEvent, Step};
use xinfang_core::reference::AppealKind;
use xinfang_sync::Hlc;
use xinfang_sync::merge::{self, BASE_KEY, BY_KEY, FieldWrite, Version};
use xinfang_sync::wire::Op as WireOp;

use crate::audit::{AuditAction, append_in};
use crate::changelog::{self, Op};
use crate::search::{name_keys, reindex_visitor};
use crate::{Result, Store, StoreError, now_text};

/// One way out of a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictOption {
    /// 1-based: what `--choose` takes.
    pub n: u32,
    /// The value (a field), or the step as a person reads it (受理 2026-12-01 …).
    pub value: String,
    /// The step's id (step conflicts only).
    pub step_id: Option<String>,
    /// Staff id of who wrote it, when known; and the name, when the account is on this desk.
    pub by: Option<String>,
    pub by_name: String,
    /// The desk that wrote it.
    pub device_id: String,
    /// When it was written (RFC 3339, that desk's clock).
    pub at: String,
    /// The value shown now (field: the last writer's; step: the step that stands).
    pub shown: bool,
}

/// A conflict for a person: both (or all) values kept, with who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Conflict {
    pub id: String,
    /// `field` (a person's name, document, phone, address) or `step` (a matter's step).
    pub kind: String,
    pub entity: String,
    pub record_id: String,
    /// The field, or `step` for a matter step.
    pub field: String,
    /// 姓名 / 证件号码 / 联系电话 / 住址 / 办理环节.
    pub field_label: String,
    /// Whom or what it is about: the person's name, or the matter's appeal.
    pub subject: String,
    pub options: Vec<ConflictOption>,
}

/// How a supervisor resolves a conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Keep option n (1-based).
    Choose(u32),
    /// A value of their own (a field conflict only), e.g. both addresses combined.
    Value(String),
}

/// A pulled change set aside because this desk could not apply it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuarantinedChange {
    pub device_id: String,
    pub seq: i64,
    pub entity: String,
    pub entity_id: String,
    /// `missing_parent`, `duplicate` or `refused`.
    pub reason: String,
    /// What it means and what to do (Chinese).
    pub message: String,
    /// The local constraint that refused it (English, for support).
    pub detail: String,
    pub since: String,
    pub attempts: i64,
}

fn field_label(field: &str) -> &'static str {
    match field {
        "name" => "姓名",
        "id_number" => "证件号码",
        "phone" => "联系电话",
        "address" => "住址",
        merge::MEDIATION_CONCLUSION => "调解结论",
        _ => "字段",
    }
}

/// A written value as the conflict list shows it: a mediation's conclusion as its outcome and
/// agreement in words, any other value as text.
fn option_text(field: &str, v: &Value) -> String {
    use xinfang_core::desk::{AgreementForm, MediationOutcome};
    if field != merge::MEDIATION_CONCLUSION {
        return text_of(v);
    }
    let get = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    let outcome = MediationOutcome::parse(get("outcome")).map_or("", MediationOutcome::label_zh);
    let form = AgreementForm::parse(get("agreement_form"))
        .map(|f| format!("（{}）", f.label_zh()))
        .unwrap_or_default();
    let body = [get("agreement_text"), get("dispute_facts")]
        .into_iter()
        .find(|t| !t.trim().is_empty())
        .unwrap_or_default();
    let short: String = body.chars().take(80).collect();
    let more = if body.chars().count() > 80 {
        "……"
    } else {
        ""
    };
    format!("{outcome}{form}：{short}{more}")
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every write of one field of a record this replica holds: its own (change log) and pulled
/// ones applied here.
pub(crate) fn field_writes(
    conn: &Connection,
    own_device: &str,
    entity: &str,
    entity_id: &str,
    field: &str,
) -> Result<Vec<FieldWrite>> {
    // Writes folded away by compaction: the heads of a conflict-tracked field, whole.
    let mut out = crate::compact::field_writes(conn, entity, entity_id, field)?;
    let mut push = |fields: &str, op: &str, hlc: i64, device: String, at: String| {
        let Ok(Value::Object(m)) = serde_json::from_str::<Value>(fields) else {
            return;
        };
        let Some(value) = m.get(field) else {
            return;
        };
        let op = WireOp::parse(op).unwrap_or(WireOp::Update);
        // An insert sets only what it knows: its empty fields are no writes.
        if op == WireOp::Insert && value.is_null() {
            return;
        }
        out.push(FieldWrite {
            value: value.clone(),
            version: Version::new(Hlc(hlc), device),
            base: merge::base_of(&m, op, field),
            changed_at: at,
            by: m.get(BY_KEY).and_then(Value::as_str).map(str::to_owned),
        });
    };
    {
        let mut stmt = conn.prepare_cached(
            "SELECT fields, op, hlc, changed_at FROM change_log WHERE entity = ?1 AND entity_id = ?2",
        )?;
        let mut rows = stmt.query(params![entity, entity_id])?;
        while let Some(r) = rows.next()? {
            push(
                &r.get::<_, String>(0)?,
                &r.get::<_, String>(1)?,
                r.get(2)?,
                own_device.to_owned(),
                r.get(3)?,
            );
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT fields, op, hlc, device_id, changed_at FROM sync_remote_log
         WHERE entity = ?1 AND entity_id = ?2 AND applied IN (1, 3)",
    )?;
    let mut rows = stmt.query(params![entity, entity_id])?;
    while let Some(r) = rows.next()? {
        push(
            &r.get::<_, String>(0)?,
            &r.get::<_, String>(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
        );
    }
    Ok(out)
}

/// The versions a new local write of the field replaces: the field's heads here.
pub(crate) fn base_for(
    conn: &Connection,
    own_device: &str,
    entity: &str,
    entity_id: &str,
    field: &str,
) -> Result<Vec<Version>> {
    let writes = field_writes(conn, own_device, entity, entity_id, field)?;
    Ok(merge::heads(&writes)
        .into_iter()
        .map(|w| w.version.clone())
        .collect())
}

/// Adds `meta_base` (for each conflict-tracked field in `fields`) and `meta_by` to a local change.
pub(crate) fn stamp_bases(
    conn: &Connection,
    own_device: &str,
    entity: &str,
    entity_id: &str,
    by: Option<&str>,
    fields: &mut Map<String, Value>,
) -> Result<()> {
    let mut bases = Map::new();
    let names: Vec<String> = fields.keys().cloned().collect();
    for f in names {
        if merge::tracks_conflicts(entity, &f) {
            let base = base_for(conn, own_device, entity, entity_id, &f)?;
            bases.insert(f, merge::base_json(&base));
        }
    }
    if !bases.is_empty() {
        fields.insert(BASE_KEY.into(), Value::Object(bases));
    }
    if let Some(by) = by {
        fields.insert(BY_KEY.into(), json!(by));
    }
    Ok(())
}

/// Recomputes the conflict of one field from the writes held here.
pub(crate) fn refresh_field_conflict(
    conn: &Connection,
    own_device: &str,
    entity: &str,
    entity_id: &str,
    field: &str,
) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM record_conflicts WHERE kind = 'field' AND entity = ?1 AND entity_id = ?2 AND field = ?3",
    )?
    .execute(params![entity, entity_id, field])?;
    let writes = field_writes(conn, own_device, entity, entity_id, field)?;
    let Some(options) = merge::conflict(&writes) else {
        return Ok(());
    };
    let last = options.len();
    let opts: Vec<Value> = options
        .iter()
        .enumerate()
        .map(|(i, w)| {
            json!({
                "value": option_text(field, &w.value),
                // The write itself: a conclusion chosen is written again whole.
                "raw": w.value,
                "by": w.by,
                "device_id": w.version.device_id,
                "hlc": w.version.hlc.0,
                "at": w.changed_at,
                "shown": i + 1 == last,
            })
        })
        .collect();
    let key: Vec<String> = options
        .iter()
        .map(|w| format!("{}@{}", w.version.hlc.0, w.version.device_id))
        .collect();
    let id = conflict_id(&format!(
        "field:{entity}:{entity_id}:{field}:{}",
        key.join(",")
    ));
    conn.prepare_cached(
        "INSERT INTO record_conflicts(id, kind, entity, entity_id, field, options)
         VALUES (?1, 'field', ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id,
        entity,
        entity_id,
        field,
        Value::Array(opts).to_string()
    ])?;
    Ok(())
}

fn conflict_id(key: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x0c4f_51de_8b1e_4a3c_a2d7_5e90_13f6_7c21);
    uuid::Uuid::new_v5(&NAMESPACE, key.as_bytes()).to_string()
}

pub(crate) struct StepRow {
    pub(crate) step: Step,
    pub(crate) by_staff: String,
    pub(crate) at: String,
}

pub(crate) fn load_steps(conn: &Connection, matter_id: &str) -> Result<Vec<StepRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, hlc, payload, voided_by IS NOT NULL, by_staff, at, prev FROM matter_events
         WHERE matter_id = ?1",
    )?;
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, i64, String, bool, String, String, Option<String>)> = stmt
        .query_map([matter_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, hlc, payload, voided, by_staff, at, prev) in rows {
        let event: MatterEvent = match serde_json::from_str(&payload) {
            Ok(e) => e,
            Err(e) => {
                // A step this version cannot read (a newer kind) is left out of the fold.
                tracing::warn!(error = %e, "matter step unreadable; left out of the fold");
                continue;
            }
        };
        out.push(StepRow {
            step: Step {
                id,
                hlc,
                event,
                prev: matter::parse_prev(prev.as_deref()),
                voided,
            },
            by_staff,
            at,
        });
    }
    Ok(out)
}

/// The steps of a matter that stand, in fold order (what the matter page lists).
pub(crate) fn applied_steps(
    conn: &Connection,
    matter_id: &str,
    received_on: NaiveDate,
    cal: &HolidayCalendar,
) -> Result<Vec<String>> {
    let rows = load_steps(conn, matter_id)?;
    let steps: Vec<Step> = rows.into_iter().map(|r| r.step).collect();
    let (kind, agency) = procedure_subject(conn, matter_id)?;
    let subject = matter::Subject {
        kind,
        agency: agency.as_deref(),
    };
    Ok(matter::fold_steps(received_on, subject, &steps, cal).applied)
}

/// What the kind's procedure judges a matter's steps by: its kind and the unit its first
/// visit concerns (for a report, the unit reported).
fn procedure_subject(conn: &Connection, matter_id: &str) -> Result<(AppealKind, Option<String>)> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached(
            "SELECT m.appeal_kind, v.agency FROM matters m
             LEFT JOIN visits v ON v.id = m.first_visit_id WHERE m.id = ?1",
        )?
        .query_row([matter_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (kind, agency) = row.unwrap_or_default();
    Ok((
        AppealKind::parse(&kind).unwrap_or(AppealKind::Claim),
        agency,
    ))
}

fn step_label(e: &MatterEvent) -> String {
    format!("{}（{}）", e.kind().label_zh(), e.date())
}

fn step_device(conn: &Connection, own_device: &str, step_id: &str) -> Result<String> {
    // A compacted step keeps the device that recorded it as its base.
    if let Some(d) = crate::compact::base_device(conn, "matter_event", step_id)? {
        return Ok(d);
    }
    let remote: Option<String> = conn
        .prepare_cached(
            "SELECT device_id FROM sync_remote_log WHERE entity = 'matter_event' AND entity_id = ?1
             ORDER BY hlc LIMIT 1",
        )?
        .query_row([step_id], |r| r.get(0))
        .optional()?;
    Ok(remote.unwrap_or_else(|| own_device.to_owned()))
}

/// The choice that sets a refused step aside when no other step stands against it.
const VOID_STEP: &str = "作废此环节（不计入办理过程）";

/// Derives a matter's status, state and deadlines from all its steps (nothing to do for a
/// matter without steps: its registration is its state), and its step conflicts.
pub(crate) fn rederive_matter(
    conn: &Connection,
    own_device: &str,
    matter_id: &str,
    cal: &HolidayCalendar,
) -> Result<()> {
    let received: Option<String> = conn
        .prepare_cached("SELECT received_on FROM matters WHERE id = ?1")?
        .query_row([matter_id], |r| r.get(0))
        .optional()?;
    let Some(received) = received else {
        return Ok(());
    };
    let received_on: NaiveDate = received
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("日期格式不正确：{received}")))?;
    let rows = load_steps(conn, matter_id)?;
    if rows.is_empty() {
        clear_step_conflicts(conn, matter_id)?;
        return Ok(());
    }
    let (kind, agency) = procedure_subject(conn, matter_id)?;
    let subject = matter::Subject {
        kind,
        agency: agency.as_deref(),
    };
    let steps: Vec<Step> = rows.iter().map(|r| r.step.clone()).collect();
    let folded = matter::fold_steps(received_on, subject, &steps, cal);
    settle_steps(conn, own_device, matter_id, &rows, &folded, None)?;
    Ok(())
}

fn clear_step_conflicts(conn: &Connection, matter_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM record_conflicts WHERE kind = 'step' AND entity_id = ?1")?
        .execute([matter_id])?;
    Ok(())
}

/// Stores `folded`, the fold of a matter's steps `rows` (all of them): its status, state and
/// step count (with `touched_at` as its `updated_at`, when given), and its step conflicts
/// written again. Returns the state's JSON as stored.
pub(crate) fn settle_steps(
    conn: &Connection,
    own_device: &str,
    matter_id: &str,
    rows: &[StepRow],
    folded: &matter::Folded,
    touched_at: Option<&str>,
) -> Result<String> {
    clear_step_conflicts(conn, matter_id)?;
    let status = serde_json::to_value(folded.state.status)?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let state_json = folded.state.stored_json()?;
    // Written only when something changed: an unchanged row fires no trigger.
    conn.prepare_cached(
        "UPDATE matters SET status = ?2, state = ?3, event_count = ?4,
           updated_at = coalesce(?5, updated_at)
         WHERE id = ?1
           AND (status IS NOT ?2 OR state IS NOT ?3 OR event_count IS NOT ?4 OR ?5 IS NOT NULL)",
    )?
    .execute(params![
        matter_id,
        status,
        state_json,
        folded.applied.len() as i64,
        touched_at
    ])?;
    let row_of = |id: &str| rows.iter().find(|r| r.step.id == id);
    for refused in &folded.refused {
        let mut opts = Vec::new();
        let mut ids: Vec<&str> = Vec::new();
        if let Some(c) = refused.competitor.as_deref() {
            ids.push(c);
        }
        ids.push(&refused.step_id);
        for id in ids {
            let Some(r) = row_of(id) else { continue };
            opts.push(json!({
                "value": step_label(&r.step.event),
                "step_id": id,
                "by": r.by_staff,
                "device_id": step_device(conn, own_device, id)?,
                "at": r.at,
                "shown": id != refused.step_id,
                "reason": if id == refused.step_id { refused.reason.clone() } else { String::new() },
            }));
        }
        if refused.competitor.is_none() {
            // Nothing it clashes with stands (a step the kind never takes, or one that cannot
            // follow the registration): the choice is to set it aside.
            opts.push(json!({
                "value": VOID_STEP,
                "step_id": Value::Null,
                "shown": false,
            }));
        }
        let id = conflict_id(&format!("step:{matter_id}:{}", refused.step_id));
        conn.prepare_cached(
            "INSERT OR REPLACE INTO record_conflicts(id, kind, entity, entity_id, field, options)
             VALUES (?1, 'step', 'matter', ?2, ?3, ?4)",
        )?
        .execute(params![
            id,
            matter_id,
            refused.step_id,
            Value::Array(opts).to_string()
        ])?;
    }
    Ok(state_json)
}

fn subject_of(conn: &Connection, entity: &str, id: &str) -> Result<String> {
    Ok(match entity {
        "visitor" => conn
            .prepare_cached("SELECT name FROM visitors WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .unwrap_or_default(),
        "matter" => conn
            .prepare_cached(
                "SELECT CASE WHEN m.confidential THEN '（检举控告类事项）' ELSE coalesce(v.appeal, '') END
                 FROM matters m LEFT JOIN visits v ON v.id = m.first_visit_id WHERE m.id = ?1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()?
            .unwrap_or_default(),
        "mediation" => conn
            .prepare_cached(
                "SELECT '人民调解：' || coalesce(v.appeal, m.request, '')
                 FROM mediations m LEFT JOIN visits v ON v.id = m.visit_id WHERE m.id = ?1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()?
            .unwrap_or_default(),
        _ => String::new(),
    })
}

/// The options of a conflict as stored (with what read_conflict leaves out).
fn raw_options(conn: &Connection, id: &str) -> Result<Vec<Value>> {
    let options: String = conn
        .prepare_cached("SELECT options FROM record_conflicts WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    Ok(serde_json::from_str(&options)?)
}

fn read_conflict(
    conn: &Connection,
    row: (String, String, String, String, String, String),
) -> Result<Conflict> {
    let (id, kind, entity, entity_id, field, options) = row;
    let opts: Vec<Value> = serde_json::from_str(&options)?;
    let mut out = Vec::with_capacity(opts.len());
    for (i, o) in opts.iter().enumerate() {
        let by = o["by"].as_str().map(str::to_owned);
        let by_name = match &by {
            Some(b) => crate::matters::staff_display(conn, b)?,
            None => String::new(),
        };
        out.push(ConflictOption {
            n: u32::try_from(i + 1).unwrap_or(u32::MAX),
            value: text_of(&o["value"]),
            step_id: o["step_id"].as_str().map(str::to_owned),
            by,
            by_name,
            device_id: text_of(&o["device_id"]),
            at: text_of(&o["at"]),
            shown: o["shown"].as_bool().unwrap_or(false),
        });
    }
    let is_step = kind == "step";
    Ok(Conflict {
        subject: subject_of(conn, &entity, &entity_id)?,
        field_label: if is_step {
            "办理环节".to_owned()
        } else {
            field_label(&field).to_owned()
        },
        field: if is_step { "step".to_owned() } else { field },
        id,
        kind,
        entity,
        record_id: entity_id,
        options: out,
    })
}

fn quarantine_message(reason: &str) -> &'static str {
    match reason {
        "missing_parent" => {
            "这条变更引用的记录尚未同步到本机，已暂存；之后的同步会自动重试，一般无需处理。长期未消除请联系市局管理员。"
        }
        "duplicate" => {
            "这条变更与本机已有的记录重复（例如两台设备各建了同名账号），已暂存未应用；请管理员核对两台设备的记录。"
        }
        "unsigned" | "bad_signature" | "not_allowed" => {
            "这条人员账号的变更没有有效的管理员签名（可能有人绕过程序改了某台接待台的数据库），本机未予采用；请管理员与市局核实是哪台接待台、谁做的修改。"
        }
        "photo_invalid" => {
            "这条变更带来的来访人照片不是完整的 JPEG 图片或超过大小上限，本机未予保存；其余变更照常同步。请联系市局管理员核对是哪台接待台发出的。"
        }
        _ => "这条变更无法在本机应用，已暂存；其余变更照常同步。请联系市局管理员核对。",
    }
}

/// Sorts a refused pulled change into a quarantine reason.
pub(crate) fn quarantine_reason(e: &rusqlite::Error) -> (&'static str, String) {
    let detail = e.to_string();
    let reason = match e {
        rusqlite::Error::SqliteFailure(f, _) => match f.extended_code {
            rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => "missing_parent",
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => "duplicate",
            _ => "refused",
        },
        _ => "refused",
    };
    (reason, detail)
}

pub(crate) fn quarantine(
    tx: &Connection,
    device_id: &str,
    seq: i64,
    reason: &str,
    detail: &str,
    now: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO sync_quarantine(device_id, seq, reason, detail, since) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(device_id, seq) DO UPDATE SET reason = excluded.reason,
           detail = excluded.detail, attempts = attempts + 1",
    )?
    .execute(params![device_id, seq, reason, detail, now])?;
    Ok(())
}

impl Store {
    /// The open conflicts on this desk, oldest record first: the same list on every replica
    /// that holds the same changes.
    pub fn open_conflicts(&self) -> Result<Vec<Conflict>> {
        let rows: Vec<(String, String, String, String, String, String)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, kind, entity, entity_id, field, options FROM record_conflicts
                 ORDER BY entity, entity_id, field, id",
            )?;
            stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        rows.into_iter()
            .map(|row| read_conflict(&self.conn, row))
            .collect()
    }

    /// Pulled changes set aside here, oldest first.
    pub fn quarantined_changes(&self) -> Result<Vec<QuarantinedChange>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT q.device_id, q.seq, r.entity, r.entity_id, q.reason, q.detail, q.since, q.attempts
             FROM sync_quarantine q JOIN sync_remote_log r ON r.device_id = q.device_id AND r.seq = q.seq
             ORDER BY r.server_seq",
        )?;
        let rows = stmt.query_map([], |r| {
            let reason: String = r.get(4)?;
            Ok(QuarantinedChange {
                device_id: r.get(0)?,
                seq: r.get(1)?,
                entity: r.get(2)?,
                entity_id: r.get(3)?,
                message: quarantine_message(&reason).to_owned(),
                reason,
                detail: r.get(5)?,
                since: r.get(6)?,
                attempts: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Resolves a conflict (the caller checked the supervisor's role): an ordinary synced
    /// change — a field write replacing every head, or the steps not chosen set aside — and
    /// an audit entry, in one transaction. Every replica that pulls it drops the conflict.
    pub fn resolve_conflict(
        &mut self,
        id: &str,
        how: &Resolution,
        by: &str,
        cal: &HolidayCalendar,
    ) -> Result<Conflict> {
        let own = self.device_id.clone();
        let tx = self.conn.savepoint()?;
        let row: Option<(String, String, String, String, String, String)> = tx
            .prepare_cached(
                "SELECT id, kind, entity, entity_id, field, options FROM record_conflicts WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .optional()?;
        let Some(row) = row else {
            // No id in the message: people see it (issue 20).
            return Err(StoreError::NotFound(
                "该冲突（可能已被其他设备处理，请先同步后再查看冲突列表）".into(),
            ));
        };
        let conflict = read_conflict(&tx, row)?;
        let pick = |n: u32| -> Result<&ConflictOption> {
            conflict.options.iter().find(|o| o.n == n).ok_or_else(|| {
                FieldError::new(
                    "choose",
                    "choice_unknown",
                    format!(
                        "没有第 {n} 项：请从 1 到 {} 中选择。",
                        conflict.options.len()
                    ),
                )
                .into()
            })
        };
        let now = now_text(&*self.clock);
        let detail = if conflict.kind == "step" {
            let Resolution::Choose(n) = how else {
                return Err(FieldError::new(
                    "value",
                    "value_not_for_steps",
                    "办理环节的冲突只能选择保留其中一个环节（--choose 序号），不能填写新内容。",
                )
                .into());
            };
            let keep = pick(*n)?.step_id.clone().unwrap_or_default();
            if !keep.is_empty() && conflict.options.iter().any(|o| o.step_id.is_none()) {
                // Kept, it would stay refused: it does not fit the matter as it stands.
                return Err(FieldError::new(
                    "choose",
                    "step_cannot_stand",
                    "该环节不符合事项当前的类别或办理顺序，不能保留：请选择作废；如事项类别有误，请先更正分类，冲突会自动消除。",
                )
                .into());
            }
            for o in &conflict.options {
                let Some(step) = &o.step_id else { continue };
                if *step == keep {
                    continue;
                }
                tx.prepare_cached(
                    "UPDATE matter_events SET voided_by = ?2, voided_at = ?3 WHERE id = ?1",
                )?
                .execute(params![step, by, now])?;
                let mut f = Map::new();
                f.insert("voided_by".into(), json!(by));
                f.insert("voided_at".into(), json!(now));
                changelog::append(&tx, "matter_event", step, Op::Update, f, &now)?;
            }
            rederive_matter(&tx, &own, &conflict.record_id, cal)?;
            format!("step kept: option {n}")
        } else if conflict.entity == "mediation" {
            let Resolution::Choose(n) = how else {
                return Err(FieldError::new(
                    "value",
                    "value_not_for_conclusion",
                    "调解结论的冲突只能选择保留其中一个结论（--choose 序号），不能填写新内容。",
                )
                .into());
            };
            pick(*n)?;
            let raw = raw_options(&tx, id)?
                .into_iter()
                .nth(usize::try_from(*n).unwrap_or(usize::MAX).saturating_sub(1))
                .and_then(|o| o.get("raw").cloned());
            let Some(Value::Object(chosen)) = raw else {
                return Err(StoreError::Corrupt(format!("conflict {id}: no conclusion")));
            };
            crate::mediation::rewrite_conclusion(
                &tx,
                &own,
                &conflict.record_id,
                &chosen,
                by,
                &now,
            )?;
            refresh_field_conflict(
                &tx,
                &own,
                "mediation",
                &conflict.record_id,
                merge::MEDIATION_CONCLUSION,
            )?;
            format!("conclusion: option {n}")
        } else {
            let value = match how {
                Resolution::Choose(n) => pick(*n)?.value.clone(),
                Resolution::Value(v) => {
                    xinfang_core::visit::check_corrected_value(&conflict.field, v)?
                }
            };
            let field = conflict.field.as_str();
            if !merge::tracks_conflicts(&conflict.entity, field) || conflict.entity != "visitor" {
                return Err(StoreError::Corrupt(format!("conflict field {field}")));
            }
            let mut f = Map::new();
            f.insert(field.into(), json!(value));
            stamp_bases(&tx, &own, "visitor", &conflict.record_id, Some(by), &mut f)?;
            tx.prepare_cached(&format!(
                "UPDATE visitors SET {field} = ?2, updated_at = ?3 WHERE id = ?1"
            ))?
            .execute(params![conflict.record_id, value, now])?;
            if field == "name" || field == "phone" {
                let (rowid, name, phone): (i64, String, Option<String>) = tx.query_row(
                    "SELECT rowid, name, phone FROM visitors WHERE id = ?1",
                    [&conflict.record_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                if field == "name" {
                    let (full, initials) = name_keys(&name);
                    tx.execute(
                        "UPDATE visitors SET pinyin_full = ?2, pinyin_initials = ?3 WHERE rowid = ?1",
                        params![rowid, full, initials],
                    )?;
                }
                reindex_visitor(&tx, rowid, &name, phone.as_deref())?;
            }
            changelog::append(&tx, "visitor", &conflict.record_id, Op::Update, f, &now)?;
            refresh_field_conflict(&tx, &own, "visitor", &conflict.record_id, field)?;
            match how {
                Resolution::Choose(n) => format!("{field}: option {n}"),
                Resolution::Value(_) => format!("{field}: own value"),
            }
        };
        append_in(
            &tx,
            &own,
            by,
            AuditAction::ResolveConflict,
            &conflict.entity,
            &conflict.record_id,
            &detail,
            &now,
        )?;
        tx.commit()?;
        tracing::info!(kind = %conflict.kind, "conflict resolved");
        Ok(conflict)
    }
}
