//! 备份与恢复: a backup of the desk's store into a file the user names, and a restore from one,
//! for the desktop app and the `xinfang` CLI alike. A restore checks the backup before it
//! replaces anything and keeps the store it replaces inside the data dir; the next sync takes
//! back from the city server what this desk had pushed after the backup (docs/sync.md,
//! "Restore").

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use xinfang_core::FieldError;
use xinfang_core::clock::Clock;
use xinfang_core::staff::{Action, authorize};
use xinfang_store::{AuditAction, Credentials, RestoreOutcome, Staff, Store, StoreError};

use crate::error::{CmdResult, CommandError};

/// A backup written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupDone {
    /// The backup file, as the user named it.
    pub path: String,
    /// The key file written beside it (an encrypted store), which the restore needs too.
    pub keyslots_path: Option<String>,
}

/// The desk setting with the time of the last backup written and checked.
const LAST_BACKUP: &str = "last_backup";
/// The desk setting with when the reminder first looked and found no backup at all.
const BACKUP_WATCH_SINCE: &str = "backup_watch_since";
/// After this many days without a backup the supervisor's screen reminds them.
pub const BACKUP_REMIND_DAYS: i64 = 7;

/// 该备份了: shown to those who may back up when the last backup is too old.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupReminder {
    /// Whole days since the last backup; `None`: no backup was ever made on this desk.
    pub days: Option<i64>,
    pub message: String,
}

/// The reminder for `me`, if one is due: the last backup (or, with none ever, the first time
/// this looked) is [`BACKUP_REMIND_DAYS`] or more days old. Nothing for roles that may not
/// back up.
pub fn backup_reminder(store: &Store, me: &Staff) -> CmdResult<Option<BackupReminder>> {
    if authorize(&me.roles, Action::Backup).is_err() {
        return Ok(None);
    }
    let now = store.clock().now();
    let since = |key: &str| -> CmdResult<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(store
            .local_setting("", key)?
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.to_utc()))
    };
    let (days, never) = match since(LAST_BACKUP)? {
        Some(at) => ((now - at).num_days(), false),
        None => match since(BACKUP_WATCH_SINCE)? {
            Some(at) => ((now - at).num_days(), true),
            None => {
                store.set_local_setting("", BACKUP_WATCH_SINCE, &now.to_rfc3339())?;
                (0, true)
            }
        },
    };
    if days < BACKUP_REMIND_DAYS {
        return Ok(None);
    }
    let message = if never {
        "本机还从未备份过数据：请到“备份与恢复”把数据备份到 U 盘或其他电脑，以防硬盘损坏时丢失登记。".to_owned()
    } else {
        format!(
            "本机上次备份已是 {days} 天前：请到“备份与恢复”备份一次，以防硬盘损坏时丢失这些天的登记。"
        )
    };
    Ok(Some(BackupReminder {
        days: (!never).then_some(days),
        message,
    }))
}

/// A restore done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RestoreDone {
    pub hall_code: String,
    /// The restored change log's last number (for support).
    pub last_seq: i64,
    /// The store it replaced was kept inside the data dir (never deleted).
    pub kept_replaced: bool,
}

fn path_field(raw: &str, field: &str) -> CmdResult<PathBuf> {
    let trimmed = raw.trim();
    let path = PathBuf::from(trimmed);
    if trimmed.is_empty() || !path.is_absolute() {
        return Err(CommandError::validation(
            FieldError::new(
                field,
                "path_not_absolute",
                "请填写完整的文件路径（以 / 开头），例如 /media/u盘/接待台备份-2026-12-02.db。",
            )
            .into(),
        ));
    }
    Ok(path)
}

/// Writes a backup of `store` to `dest`, which must not exist yet (supervisor, admin). Audited
/// before it is written, so the backup holds its own entry.
pub fn backup(store: &Store, me: &Staff, dest: &str) -> CmdResult<BackupDone> {
    authorize(&me.roles, Action::Backup).map_err(CommandError::forbidden)?;
    let dest = path_field(dest, "dest")?;
    if dest.exists() {
        return Err(CommandError::validation(
            FieldError::new(
                "dest",
                "backup_exists",
                "这个文件已经存在，备份不会覆盖它：请换一个文件名。",
            )
            .into(),
        ));
    }
    if !dest.parent().is_some_and(Path::is_dir) {
        return Err(CommandError::validation(
            FieldError::new(
                "dest",
                "backup_folder_missing",
                "备份要放的文件夹不存在：请先建立文件夹，或换一个位置。",
            )
            .into(),
        ));
    }
    store.audit(
        &me.id,
        AuditAction::Backup,
        "store",
        store.device_id(),
        &dest.display().to_string(),
    )?;
    store.backup(&dest)?;
    // Written and checked: the reminder's clock starts again.
    store.set_local_setting("", LAST_BACKUP, &store.clock().now().to_rfc3339())?;
    let slots = xinfang_store::backup_keyslots_path(&dest);
    Ok(BackupDone {
        path: dest.display().to_string(),
        keyslots_path: slots.is_file().then(|| slots.display().to_string()),
    })
}

/// Puts the backup at `backup` in place as the store of `data_dir`, after checking it: it must
/// unlock with `creds`, the account must be allowed to back up and restore in the backup's own
/// staff list, and it must verify. On any refusal the desk's store stays as it was.
pub fn restore(
    data_dir: &Path,
    backup: &str,
    creds: &Credentials,
    clock: Arc<dyn Clock>,
) -> CmdResult<(Store, RestoreOutcome)> {
    let path = path_field(backup, "backup")?;
    let mut refused = None;
    let result = Store::restore_at(
        data_dir,
        &path,
        creds,
        |who| {
            let roles = who.map(|s| s.roles.clone()).unwrap_or_default();
            authorize(&roles, Action::Backup).map_err(|e| {
                let msg = e.message.clone();
                refused = Some(e);
                StoreError::NotFound(msg)
            })
        },
        clock,
    );
    if let Some(e) = refused {
        return Err(CommandError::forbidden(e));
    }
    result.map_err(|e| match e {
        StoreError::BadCredentials | StoreError::TooManyAttempts(_) | StoreError::Disabled(_) => {
            CommandError::from(e)
        }
        other => {
            tracing::warn!(error = %other, "backup refused for restore");
            CommandError::validation(
                FieldError::new(
                    "backup",
                    "backup_unusable",
                    format!(
                        "没有恢复，本机数据库保持原样：这个备份无法使用（{}）。请确认它是接待台生成的备份文件，且同名的 .keyslots.json 文件在它旁边。",
                        why_unusable(&other)
                    ),
                )
                .into(),
            )
        }
    })
}

/// A short reason a person can act on, without paths or internal names.
fn why_unusable(e: &StoreError) -> &'static str {
    match e {
        StoreError::NotFound(_) | StoreError::Io(..) => "找不到文件或无法读取",
        StoreError::Corrupt(_) => "文件已损坏或校验未通过",
        _ => "不是接待台的备份，或与密钥文件不配套",
    }
}

/// A compaction done (`xinfang compact`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompactDone {
    /// Records whose confirmed log rows were folded, and the rows removed.
    pub records: u64,
    pub rows: u64,
    /// The database file's size before and after (the space given back).
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Folds every change-log row the city has confirmed and gives the space back (supervisor,
/// admin; docs/sync.md "Compaction"). A sync does a bounded part of this each time.
pub fn compact(store: &mut Store, me: &Staff) -> CmdResult<CompactDone> {
    authorize(&me.roles, Action::Backup).map_err(CommandError::forbidden)?;
    let bytes_before = store.file_size();
    let r = store.compact_all()?;
    Ok(CompactDone {
        records: r.records,
        rows: r.rows,
        bytes_before,
        bytes_after: store.file_size(),
    })
}

/// This copy of the store is the desk from now on (admin; docs/sync.md "A copied store"):
/// the computer it was copied from is out of use. Audited; syncing resumes.
pub fn adopt_this_copy(store: &mut Store, me: &Staff) -> CmdResult<()> {
    authorize(&me.roles, Action::ManageStaff).map_err(CommandError::forbidden)?;
    store.adopt_this_copy()?;
    store.audit(
        &me.id,
        AuditAction::AdoptCopy,
        "store",
        store.device_id(),
        "",
    )?;
    Ok(())
}
