//! The one error type every command returns, serialised as data the form can place:
//! `{ kind, field, code, message, errors }`.

use serde::Serialize;
use xinfang_core::{FieldError, ValidationErrors};
use xinfang_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The form has problems; `errors` lists each at its field.
    Validation,
    /// Nobody is logged in, or the session ended after idle minutes.
    Unauthenticated,
    /// The logged-in role may not do this.
    Forbidden,
    /// The record asked for does not exist.
    NotFound,
    /// The data dir is not set up yet, or already is.
    Setup,
    /// Something broke that the user cannot fix from the form (disk, database).
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CommandError {
    pub kind: ErrorKind,
    /// The field of the first problem, when there is one.
    pub field: Option<String>,
    pub code: String,
    /// Chinese, for the user: what is wrong and how to fix it.
    pub message: String,
    /// Every problem of a rejected form, each at its field.
    pub errors: Vec<FieldError>,
}

pub type CmdResult<T> = Result<T, CommandError>;

impl CommandError {
    pub fn new(kind: ErrorKind, code: &str, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            field: None,
            code: code.to_owned(),
            message: message.into(),
            errors: Vec::new(),
        }
    }

    pub fn unauthenticated(code: &str, message: &str) -> Self {
        Self::new(ErrorKind::Unauthenticated, code, message)
    }

    pub fn forbidden(e: FieldError) -> Self {
        CommandError {
            kind: ErrorKind::Forbidden,
            field: None,
            code: e.code,
            message: e.message,
            errors: Vec::new(),
        }
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        let first = errors.0.first().cloned().unwrap_or_else(|| {
            FieldError::new("", "invalid", "填写的内容有误，请检查后重新提交。")
        });
        CommandError {
            kind: ErrorKind::Validation,
            field: Some(first.field).filter(|f| !f.is_empty()),
            code: first.code,
            message: first.message,
            errors: errors.0,
        }
    }
}

impl From<FieldError> for CommandError {
    fn from(e: FieldError) -> Self {
        CommandError::validation(e.into())
    }
}

impl From<ValidationErrors> for CommandError {
    fn from(e: ValidationErrors) -> Self {
        CommandError::validation(e)
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(errors) => CommandError::validation(errors),
            StoreError::BadCredentials => CommandError::validation(
                FieldError::new("password", "bad_credentials", e.to_string()).into(),
            ),
            StoreError::TooManyAttempts(_) => CommandError::validation(
                FieldError::new("password", "too_many_attempts", e.to_string()).into(),
            ),
            StoreError::Disabled(_) => CommandError::validation(
                FieldError::new("username", "account_disabled", e.to_string()).into(),
            ),
            StoreError::NotFound(_) => {
                CommandError::new(ErrorKind::NotFound, "not_found", e.to_string())
            }
            StoreError::NeedsAdminKey => {
                CommandError::new(ErrorKind::Forbidden, "needs_admin_key", e.to_string())
            }
            StoreError::NewerVersion => {
                CommandError::new(ErrorKind::Setup, "newer_version", e.to_string())
            }
            StoreError::AlreadyExists(_) | StoreError::NotInitialised(_) => {
                CommandError::new(ErrorKind::Setup, "setup", e.to_string())
            }
            other => {
                tracing::error!(error = %other, "store error");
                CommandError::new(
                    ErrorKind::Internal,
                    "internal",
                    format!("{other}。操作没有完成，请重试；如仍不行，请联系管理员。"),
                )
            }
        }
    }
}
