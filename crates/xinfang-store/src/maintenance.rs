//! Backup and verification.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use std::path::PathBuf;

use rusqlite::OptionalExtension;
use rusqlite::backup::Backup;
use serde::Serialize;
use xinfang_core::clock::{Clock, SystemClock};

use crate::{DB_FILE, KEYSLOTS_FILE, Result, Store, StoreError, open_connection};

/// Where `backup(dest)` puts the key slots of an encrypted store: `DEST.keyslots.json`.
pub fn backup_keyslots_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".");
    name.push(KEYSLOTS_FILE);
    PathBuf::from(name)
}

/// What [`Store::restore`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreOutcome {
    pub hall_code: String,
    pub device_id: String,
    /// The restored change log's last sequence.
    pub last_seq: i64,
    /// Where the store it replaced was moved (inside the data dir), if there was one.
    pub replaced: Option<PathBuf>,
}

/// What `verify` found. Empty `problems` means the store is sound.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub integrity: String,
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Entities that must each have at least one change-log row, with their table and key.
pub(crate) const LOGGED: &[(&str, &str, &str)] = &[
    ("staff", "staff", "id"),
    ("visitor", "visitors", "id"),
    ("visit", "visits", "id"),
    (
        "visit_visitor",
        "visit_visitors",
        "visit_id || ':' || visitor_id",
    ),
    ("matter", "matters", "id"),
    ("handoff", "handoffs", "id"),
    ("visit_closure", "visit_closures", "visit_id"),
    ("visit_photo", "visit_photos", "visit_id"),
    ("consultation", "consultations", "id"),
    ("mediation", "mediations", "id"),
    ("mediation_party", "mediation_parties", "id"),
    ("mediation_session", "mediation_sessions", "id"),
    ("mediation_follow_up", "mediation_follow_ups", "id"),
    ("mediation_investigation", "mediation_investigations", "id"),
    ("hall_setting", "hall_settings", "key"),
    ("matter_event", "matter_events", "id"),
    ("backlog_case", "backlog_cases", "id"),
    ("backlog_note", "backlog_notes", "id"),
    ("matter_evaluation", "matter_evaluations", "id"),
    ("publicity_activity", "publicity_activities", "id"),
    ("ledger_row", "ledger_rows", "fingerprint"),
    ("export_log", "export_log", "id"),
    ("person_merge", "person_merges", "id"),
    ("person_unmerge", "person_unmerges", "id"),
    ("visit_move", "visit_moves", "id"),
];

impl Store {
    /// Online backup (SQLite backup API) into `dest`, which must not exist yet; the copy is
    /// reopened and checked before this returns. An encrypted store's copy is encrypted with
    /// the same data key (the destination is keyed before the copy), and its key slots are
    /// copied beside it as `DEST.keyslots.json`: to restore, put the two in a data dir as
    /// `xinfang.db` and `keyslots.json`.
    pub fn backup(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(StoreError::AlreadyExists(dest.to_path_buf()));
        }
        let slots_dest = backup_keyslots_path(dest);
        if self.key.is_some() && slots_dest.exists() {
            return Err(StoreError::AlreadyExists(slots_dest));
        }
        let done = (|| {
            {
                let mut out = open_connection(dest, self.key.as_ref(), true)?;
                let backup = Backup::new(&self.conn, &mut out)?;
                backup.run_to_completion(1024, Duration::from_millis(0), None)?;
            }
            let check = open_connection(dest, self.key.as_ref(), false)?;
            let integrity: String = check.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            if integrity != "ok" {
                return Err(StoreError::Corrupt(format!(
                    "备份文件校验失败：{integrity}"
                )));
            }
            if self.key.is_some() {
                let src = self.data_dir().join(KEYSLOTS_FILE);
                std::fs::copy(&src, &slots_dest).map_err(|e| StoreError::Io(src, e))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&slots_dest, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| StoreError::Io(slots_dest.clone(), e))?;
                }
            }
            Ok(())
        })();
        if done.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        done
    }

    /// Puts a backup made by [`Store::backup`] (and its `.keyslots.json` beside it, for an
    /// encrypted store) in place as the store of `data_dir`. The backup is copied into the data
    /// dir first and checked there — it must unlock with `creds` (a password slot of the
    /// backup, or its recovery key) and pass [`Store::verify`] — before anything is replaced.
    /// The current store's files, if any, are moved to `replaced-<time>/` inside the data dir,
    /// never deleted. Returns the restored store (unlocked) and what was done. The desk must
    /// not be running meanwhile. `allow` decides, before anything is replaced, whether the
    /// account of `creds` (as the backup knows it; `None` for the recovery key) may restore.
    /// The next sync takes back from the city server the changes
    /// this desk pushed after the backup (docs/sync.md, "Restore").
    pub fn restore(
        data_dir: &Path,
        backup: &Path,
        creds: &crate::Credentials,
        allow: impl FnOnce(Option<&crate::Staff>) -> Result<()>,
    ) -> Result<(Store, RestoreOutcome)> {
        Self::restore_at(data_dir, backup, creds, allow, Arc::new(SystemClock))
    }

    /// [`Store::restore`] with the time of `clock` (the login slowdown, the name of the folder
    /// the replaced files go to, and the restored store's time stamps).
    pub fn restore_at(
        data_dir: &Path,
        backup: &Path,
        creds: &crate::Credentials,
        allow: impl FnOnce(Option<&crate::Staff>) -> Result<()>,
        clock: Arc<dyn Clock>,
    ) -> Result<(Store, RestoreOutcome)> {
        if !backup.is_file() {
            return Err(StoreError::NotFound(format!(
                "备份文件 {}",
                backup.display()
            )));
        }
        let slots = backup_keyslots_path(backup);
        let encrypted = slots.is_file();
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Io(data_dir.to_path_buf(), e))?;
        let staging = data_dir.join(".restore");
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(|e| StoreError::Io(staging.clone(), e))?;
        let checked = (|| {
            let copy = |from: &Path, to: PathBuf| {
                std::fs::copy(from, &to)
                    .map(|_| ())
                    .map_err(|e| StoreError::Io(to, e))
            };
            copy(backup, staging.join(DB_FILE))?;
            if encrypted {
                copy(&slots, staging.join(KEYSLOTS_FILE))?;
            }
            let store = if encrypted {
                Store::unlock_at(&staging, creds, clock.clone())?
            } else {
                let store = Store::open_unencrypted(&staging)?;
                if let crate::Credentials::Password { username, password } = creds {
                    store.authenticate(username, password)?;
                }
                store
            };
            let who = match creds {
                crate::Credentials::Password { username, .. } => Some(
                    store
                        .conn
                        .query_row(
                            "SELECT * FROM staff WHERE username = ?1",
                            [username],
                            crate::staff::staff_from_row,
                        )
                        .optional()?
                        .ok_or(StoreError::BadCredentials)?,
                ),
                crate::Credentials::Recovery(_) => None,
            };
            if let Some(s) = &who
                && !s.active
            {
                return Err(StoreError::Disabled(s.username.clone()));
            }
            allow(who.as_ref())?;
            let report = store.verify()?;
            if !report.ok() {
                return Err(StoreError::Corrupt(format!(
                    "备份文件校验未通过，没有恢复：{}",
                    report.problems.join("；")
                )));
            }
            let last_seq: i64 =
                store
                    .conn
                    .query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
                        r.get(0)
                    })?;
            Ok((
                store.hall_code.clone(),
                store.device_id.clone(),
                last_seq,
                store.key.clone(),
            ))
        })();
        let (hall_code, device_id, last_seq, key) = match checked {
            Ok(v) => v,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        // The checked copy replaces the store; the old files are kept aside.
        let names = [
            DB_FILE.to_owned(),
            format!("{DB_FILE}-wal"),
            format!("{DB_FILE}-shm"),
            KEYSLOTS_FILE.to_owned(),
        ];
        let mut replaced = None;
        if names.iter().any(|n| data_dir.join(n).exists()) {
            let stamp = clock.now().format("%Y%m%d%H%M%S");
            let aside = data_dir.join(format!("replaced-{stamp}"));
            std::fs::create_dir_all(&aside).map_err(|e| StoreError::Io(aside.clone(), e))?;
            for n in &names {
                let from = data_dir.join(n);
                if from.exists() {
                    std::fs::rename(&from, aside.join(n)).map_err(|e| StoreError::Io(from, e))?;
                }
            }
            replaced = Some(aside);
        }
        for n in &names {
            let from = staging.join(n);
            if from.exists() {
                std::fs::rename(&from, data_dir.join(n)).map_err(|e| StoreError::Io(from, e))?;
            }
        }
        let _ = std::fs::remove_dir_all(&staging);
        let store = match &key {
            Some(k) => Store::open_with_key(data_dir, k)?,
            None => Store::open_unencrypted(data_dir)?,
        }
        .with_clock(clock);
        tracing::warn!(last_seq, "store restored from a backup");
        Ok((
            store,
            RestoreOutcome {
                hall_code,
                device_id,
                last_seq,
                replaced,
            },
        ))
    }

    /// Integrity check, foreign keys, and the change log against the tables.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        report.integrity = lines.join("; ");
        if report.integrity != "ok" {
            report
                .problems
                .push(format!("完整性检查未通过：{}", report.integrity));
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let fk: Vec<(String, i64, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (table, rowid, parent) in fk {
            report.problems.push(format!(
                "外键不一致：{table} 第 {rowid} 行引用的 {parent} 记录不存在"
            ));
        }
        for (entity, table, key) in LOGGED {
            let missing: i64 = self.conn.query_row(
                &format!(
                    "SELECT count(*) FROM {table} t WHERE NOT EXISTS
                       (SELECT 1 FROM change_log c WHERE c.entity = '{entity}' AND c.entity_id = t.{key})
                     AND NOT EXISTS (SELECT 1 FROM sync_remote_log r
                       WHERE r.entity = '{entity}' AND r.entity_id = t.{key} AND r.applied IN (1, 3))
                     AND NOT EXISTS (SELECT 1 FROM log_base b
                       WHERE b.entity = '{entity}' AND b.entity_id = t.{key})"
                ),
                [],
                |r| r.get(0),
            )?;
            if missing > 0 {
                report.problems.push(format!(
                    "变更日志缺失：{table} 表有 {missing} 条记录没有对应的变更日志"
                ));
            }
            let orphans: i64 = self.conn.query_row(
                &format!(
                    "SELECT count(*) FROM change_log c WHERE c.entity = '{entity}' AND c.op = 'insert'
                       AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = c.entity_id)"
                ),
                [],
                |r| r.get(0),
            )?;
            if orphans > 0 {
                report.problems.push(format!(
                    "变更日志多余：有 {orphans} 条 {entity} 新增记录在 {table} 表中找不到"
                ));
            }
        }
        if let Some(b) = self.verify_audit_chain()? {
            report.problems.push(format!(
                "审计日志链断裂：第 {} 条（编号 {}）{}",
                b.seq, b.id, b.reason
            ));
        }
        let stale: i64 = self.conn.query_row(
            "SELECT count(*) FROM visitors v
             WHERE visit_count != (SELECT count(*) FROM visit_visitors vv WHERE vv.person_id = v.id)",
            [],
            |r| r.get(0),
        )?;
        if stale > 0 {
            report.problems.push(format!(
                "来访次数统计不一致：{stale} 位来访人的来访次数与来访记录不符"
            ));
        }
        let tokens: i64 = self
            .conn
            .query_row("SELECT count(*) FROM visitor_tokens", [], |r| r.get(0))?;
        let visitors: i64 = self
            .conn
            .query_row("SELECT count(*) FROM visitors", [], |r| r.get(0))?;
        if tokens != visitors {
            report.problems.push(format!(
                "检索索引不一致：{visitors} 位来访人，索引中有 {tokens} 条"
            ));
        }
        // What triggers keep for the statistics and the due list (migrations 0028, 0029).
        let limits: i64 = self.conn.query_row(
            "SELECT count(*) FROM matter_deadlines d JOIN matters m ON m.id = d.matter_id
              WHERE d.hall_code IS NOT m.hall_code OR d.status IS NOT m.status
                 OR d.received_on IS NOT m.received_on",
            [],
            |r| r.get(0),
        )?;
        if limits > 0 {
            report.problems.push(format!(
                "期限索引不一致：{limits} 条期限的单位、状态或收件日期与事项不符"
            ));
        }
        let people: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM (
                SELECT x.visit_date, x.hall_code, coalesce(vv.person_id, vv.visitor_id), vv.visit_id
                  FROM visit_visitors vv JOIN visits x ON x.id = vv.visit_id
                EXCEPT SELECT visit_date, hall_code, person, visit_id FROM visit_people))
             + (SELECT count(*) FROM (
                SELECT visit_date, hall_code, person, visit_id FROM visit_people
                EXCEPT SELECT x.visit_date, x.hall_code, coalesce(vv.person_id, vv.visitor_id), vv.visit_id
                  FROM visit_visitors vv JOIN visits x ON x.id = vv.visit_id))",
            [],
            |r| r.get(0),
        )?;
        if people > 0 {
            report
                .problems
                .push(format!("来访人数索引不一致：{people} 条与来访记录不符"));
        }
        let months = crate::stats::people::stale_months(&self.conn)?;
        if months > 0 {
            report
                .problems
                .push(format!("按月留存的来访人与来访记录不符：{months} 个月"));
        }
        Ok(report)
    }
}
