//! 修改密码 and 恢复: a staff member changes their own password, and a hall whose staff cannot
//! log in opens the store with its recovery key to set a new password. Once here, for the
//! desktop app and the `xinfang` CLI alike; both are audited.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use xinfang_core::clock::Clock;
use xinfang_core::desk::check_password_repeat;
use xinfang_core::{FieldError, ValidationErrors};
use xinfang_store::{AuditAction, Credentials, Staff, Store, StoreError};

use crate::error::{CmdResult, CommandError};

/// The 修改密码 form. `Debug` leaves the passwords out.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct PasswordChange {
    pub old_password: String,
    pub password: String,
    pub password_repeat: String,
}

/// The 忘记密码 form of the login screen. `Debug` shows only the username.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct RecoveryInput {
    pub recovery_key: String,
    pub username: String,
    pub password: String,
    pub password_repeat: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RecoveryInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryInput")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn field(name: &str, code: &str, message: &str) -> CommandError {
    CommandError::validation(FieldError::new(name, code, message).into())
}

/// The logged-in staff member changes their own password: the old one is checked, only their
/// key slot is rewrapped, and the change is audited.
pub fn change_own_password(store: &mut Store, me: &Staff, form: &PasswordChange) -> CmdResult<()> {
    let mut errors = ValidationErrors::default();
    if form.old_password.is_empty() {
        errors.push(FieldError::new(
            "old_password",
            "required",
            "请输入当前密码。",
        ));
    }
    if let Err(e) = check_password_repeat(&form.password, &form.password_repeat) {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    if form.password == form.old_password {
        return Err(field(
            "password",
            "password_unchanged",
            "新密码与当前密码相同，请换一个新密码。",
        ));
    }
    match store.change_password(&me.id, &form.old_password, &form.password) {
        Ok(()) => {}
        Err(StoreError::BadCredentials) => {
            return Err(field(
                "old_password",
                "bad_credentials",
                "当前密码不正确，请重新输入。",
            ));
        }
        Err(e @ StoreError::TooManyAttempts(_)) => {
            return Err(field("old_password", "too_many_attempts", &e.to_string()));
        }
        Err(e) => return Err(e.into()),
    }
    store.audit(
        &me.id,
        AuditAction::PasswordChange,
        "staff",
        &me.id,
        &me.username,
    )?;
    tracing::info!(staff_id = %me.id, "password changed");
    Ok(())
}

/// Opens the store in `data_dir` with its recovery key and sets a new password for `username`
/// (audited as 用恢复密钥解锁). The store is closed again: the staff member then logs in.
pub fn recover_password(
    data_dir: &Path,
    clock: Arc<dyn Clock>,
    input: &RecoveryInput,
) -> CmdResult<()> {
    let mut errors = ValidationErrors::default();
    let key = input.recovery_key.trim();
    if key.is_empty() {
        errors.push(FieldError::new(
            "recovery_key",
            "required",
            "请输入建库时打印或抄写的恢复密钥。",
        ));
    }
    if input.username.trim().is_empty() {
        errors.push(FieldError::new(
            "username",
            "required",
            "请输入要重设密码的用户名。",
        ));
    }
    if let Err(e) = check_password_repeat(&input.password, &input.password_repeat) {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    if !Store::is_encrypted_dir(data_dir) {
        return Err(CommandError::new(
            crate::error::ErrorKind::Setup,
            "not_encrypted",
            "本机的数据库没有恢复密钥：请由管理员在“人员管理”中重设密码。",
        ));
    }
    // The store forgives spaces, dashes and lower case in a key copied from paper, and slows
    // down repeated wrong tries as it does for passwords.
    let mut store = match Store::unlock_at(data_dir, &Credentials::Recovery(key.to_owned()), clock)
    {
        Ok(store) => store,
        Err(StoreError::WrongKey | StoreError::BadCredentials) => {
            return Err(field(
                "recovery_key",
                "bad_recovery_key",
                "恢复密钥不正确：请核对纸上的每一组字符后重新输入。",
            ));
        }
        Err(e @ StoreError::TooManyAttempts(_)) => {
            return Err(field("recovery_key", "too_many_attempts", &e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let username = input.username.trim();
    let target = store
        .list_staff()?
        .into_iter()
        .find(|s| s.username == username)
        .ok_or_else(|| {
            field(
                "username",
                "unknown_user",
                "没有这个用户名，请核对后重新输入。",
            )
        })?;
    store.reset_password(&target.id, &input.password)?;
    store.audit(
        "",
        AuditAction::RecoveryUnlock,
        "staff",
        &target.id,
        username,
    )?;
    tracing::warn!(staff_id = %target.id, "password set with the recovery key");
    Ok(())
}
