//! The audit log: append-only and hash-chained. Each entry holds the SHA-256 of the previous
//! one, so an entry edited or removed (other than the very last) breaks the chain, which
//! `verify` reports with the first bad entry. SQLite triggers refuse UPDATE and DELETE; the
//! chain catches whoever drops them. The hash and the linking rule are
//! `xinfang_sync::audit`'s, the one implementation the city server checks pushed chains with.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use xinfang_sync::audit::check_link;

use crate::{Result, Store, now_text};

/// The hash before the first entry.
pub use xinfang_sync::audit::GENESIS;

/// What was done. Stored as the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A 检举控告 (confidential) matter opened.
    ViewConfidential,
    /// An ID number shown in full.
    ViewFullId,
    /// A phone number shown in full.
    ViewFullPhone,
    /// An export with full ID numbers and phones.
    ExportFull,
    /// Any other export (ledgers, reports): every file that leaves the store is on record
    /// (issue 15, item 1).
    Export,
    Backup,
    Rekey,
    PasswordChange,
    PasswordReset,
    /// The store unlocked with the recovery key.
    RecoveryUnlock,
    /// A sync conflict resolved by a supervisor (the resolution syncs like any change).
    ResolveConflict,
    /// A visitor's document number corrected (the correction syncs like any change).
    CorrectDocument,
    /// Two people merged into one (a merge record, synced).
    MergePeople,
    /// A merge undone (an unmerge record, synced).
    UnmergePeople,
    /// Visits of a wrongly fused person moved to another person (synced).
    SplitPerson,
    /// A copy of the store confirmed as the desk (its computer replaced), syncing again.
    AdoptCopy,
    /// The desk enrolled with a server (the city's or the hall's hub).
    ConnectServer,
    /// The desk's enrolment forgotten (断开服务器); its data stays.
    LeaveServer,
    /// The CA certificates the desk trusts for its server chosen or removed.
    TrustCa,
}

impl AuditAction {
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::ViewConfidential => "view_confidential",
            AuditAction::ViewFullId => "view_full_id",
            AuditAction::ViewFullPhone => "view_full_phone",
            AuditAction::ExportFull => "export_full",
            AuditAction::Export => "export",
            AuditAction::Backup => "backup",
            AuditAction::Rekey => "rekey",
            AuditAction::PasswordChange => "password_change",
            AuditAction::PasswordReset => "password_reset",
            AuditAction::RecoveryUnlock => "recovery_unlock",
            AuditAction::ResolveConflict => "resolve_conflict",
            AuditAction::CorrectDocument => "correct_document",
            AuditAction::MergePeople => "merge_people",
            AuditAction::UnmergePeople => "unmerge_people",
            AuditAction::SplitPerson => "split_person",
            AuditAction::AdoptCopy => "adopt_copy",
            AuditAction::ConnectServer => "connect_server",
            AuditAction::LeaveServer => "leave_server",
            AuditAction::TrustCa => "trust_ca",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AuditAction::ViewConfidential => "查看检举控告类事项",
            AuditAction::ViewFullId => "查看完整证件号码",
            AuditAction::ViewFullPhone => "查看完整电话号码",
            AuditAction::ExportFull => "导出完整证件号码和电话",
            AuditAction::Export => "导出台账和报表",
            AuditAction::Backup => "备份数据库",
            AuditAction::Rekey => "轮换数据密钥",
            AuditAction::PasswordChange => "修改本人密码",
            AuditAction::PasswordReset => "管理员重设密码",
            AuditAction::RecoveryUnlock => "用恢复密钥解锁",
            AuditAction::ResolveConflict => "处理同步冲突",
            AuditAction::CorrectDocument => "更正证件号码",
            AuditAction::MergePeople => "合并来访人",
            AuditAction::UnmergePeople => "撤销合并来访人",
            AuditAction::SplitPerson => "拆分来访人",
            AuditAction::AdoptCopy => "确认本机接替原电脑",
            AuditAction::ConnectServer => "登记到服务器",
            AuditAction::LeaveServer => "断开服务器",
            AuditAction::TrustCa => "更换信任的 CA 证书",
        }
    }

    pub const ALL: [AuditAction; 19] = [
        AuditAction::ViewConfidential,
        AuditAction::ViewFullId,
        AuditAction::ViewFullPhone,
        AuditAction::ExportFull,
        AuditAction::Export,
        AuditAction::Backup,
        AuditAction::Rekey,
        AuditAction::PasswordChange,
        AuditAction::PasswordReset,
        AuditAction::RecoveryUnlock,
        AuditAction::ResolveConflict,
        AuditAction::CorrectDocument,
        AuditAction::MergePeople,
        AuditAction::UnmergePeople,
        AuditAction::SplitPerson,
        AuditAction::AdoptCopy,
        AuditAction::ConnectServer,
        AuditAction::LeaveServer,
        AuditAction::TrustCa,
    ];
}

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    pub seq: i64,
    pub id: String,
    pub at: String,
    pub device_id: String,
    pub staff_id: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// SHA-256 (hex) over every field but `hash`, as a JSON array
    /// (`xinfang_sync::audit::AuditEntry::compute_hash`).
    pub fn compute_hash(&self) -> String {
        self.to_wire().compute_hash()
    }

    /// The entry as it is pushed to the city server.
    pub fn to_wire(&self) -> xinfang_sync::audit::AuditEntry {
        xinfang_sync::audit::AuditEntry {
            seq: self.seq,
            id: self.id.clone(),
            at: self.at.clone(),
            device_id: self.device_id.clone(),
            staff_id: self.staff_id.clone(),
            action: self.action.clone(),
            entity: self.entity.clone(),
            entity_id: self.entity_id.clone(),
            detail: self.detail.clone(),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        }
    }

    pub(crate) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
        Ok(AuditEntry {
            seq: r.get("seq")?,
            id: r.get("id")?,
            at: r.get("at")?,
            device_id: r.get("device_id")?,
            staff_id: r.get("staff_id")?,
            action: r.get("action")?,
            entity: r.get("entity")?,
            entity_id: r.get("entity_id")?,
            detail: r.get("detail")?,
            prev_hash: r.get("prev_hash")?,
            hash: r.get("hash")?,
        })
    }
}

/// Filter of the audit view; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub staff_id: Option<String>,
    pub entity_id: Option<String>,
    /// Inclusive dates `YYYY-MM-DD`.
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
}

/// The first entry where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// Position expected (1-based).
    pub seq: i64,
    pub id: String,
    pub reason: String,
}

#[allow(clippy::too_many_arguments)] // one audit entry's fields, named at every call
pub(crate) fn append_in(
    tx: &Connection,
    device_id: &str,
    staff_id: &str,
    action: AuditAction,
    entity: &str,
    entity_id: &str,
    detail: &str,
    at: &str,
) -> Result<AuditEntry> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev_hash) = last.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h));
    let mut e = AuditEntry {
        seq,
        id: uuid::Uuid::now_v7().to_string(),
        at: at.to_owned(),
        device_id: device_id.to_owned(),
        staff_id: staff_id.to_owned(),
        action: action.code().to_owned(),
        entity: entity.to_owned(),
        entity_id: entity_id.to_owned(),
        detail: detail.to_owned(),
        prev_hash,
        hash: String::new(),
    };
    e.hash = e.compute_hash();
    tx.prepare_cached(
        "INSERT INTO audit_log(seq, id, at, device_id, staff_id, action, entity, entity_id, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        e.seq, e.id, e.at, e.device_id, e.staff_id, e.action, e.entity, e.entity_id, e.detail,
        e.prev_hash, e.hash
    ])?;
    Ok(e)
}

impl Store {
    /// Appends an audit entry (its own immediate transaction). Call it before showing what
    /// is audited: when the entry cannot be written, show nothing.
    pub fn audit(
        &self,
        staff_id: &str,
        action: AuditAction,
        entity: &str,
        entity_id: &str,
        detail: &str,
    ) -> Result<AuditEntry> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let e = append_in(
            &tx,
            &self.device_id,
            staff_id,
            action,
            entity,
            entity_id,
            detail,
            &now_text(&*self.clock),
        )?;
        tx.commit()?;
        tracing::info!(audit_seq = e.seq, action = %e.action, "audited");
        Ok(e)
    }

    /// Audit entries, newest first, filtered by person, record and date.
    pub fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT * FROM audit_log
             WHERE (?1 IS NULL OR staff_id = ?1)
               AND (?2 IS NULL OR entity_id = ?2)
               AND (?3 IS NULL OR substr(at, 1, 10) >= ?3)
               AND (?4 IS NULL OR substr(at, 1, 10) <= ?4)
             ORDER BY seq DESC LIMIT ?5",
        )?;
        let limit = f.limit.map_or(-1, |l| l as i64);
        let rows = stmt.query_map(
            params![f.staff_id, f.entity_id, f.from, f.to, limit],
            AuditEntry::from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Walks the chain from the first entry; the first entry edited, removed or out of place.
    pub fn verify_audit_chain(&self) -> Result<Option<ChainBreak>> {
        let mut stmt = self.conn.prepare("SELECT * FROM audit_log ORDER BY seq")?;
        let rows = stmt.query_map([], AuditEntry::from_row)?;
        let mut prev = GENESIS.to_owned();
        for (expected, row) in (1i64..).zip(rows) {
            let e = row?;
            if let Err(fault) = check_link(expected, &prev, &e.to_wire()) {
                return Ok(Some(ChainBreak {
                    seq: expected,
                    id: e.id,
                    reason: fault.reason(expected),
                }));
            }
            prev = e.hash;
        }
        Ok(None)
    }
}
