//! Printing results and failures: JSON on stdout under `--json`, Chinese text otherwise.

use std::process::ExitCode;

use serde::Serialize;
use serde_json::json;
use xinfang_app::{CommandError, ErrorKind};
use xinfang_core::{FieldError, ValidationErrors};
use xinfang_store::StoreError;

/// Why a command did not succeed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad input or a refused action: exit 1, every error listed.
    Invalid(ValidationErrors),
    /// Bad input printed by the command itself (e.g. `id check`): exit 1.
    AlreadyReported,
    /// Anything else: exit 2.
    Other(anyhow::Error),
}

impl From<ValidationErrors> for Failure {
    fn from(e: ValidationErrors) -> Self {
        Failure::Invalid(e)
    }
}

impl From<FieldError> for Failure {
    fn from(e: FieldError) -> Self {
        Failure::Invalid(e.into())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(e.into())
    }
}

/// A refusal of the application layer, in the CLI's shape: bad input and refusals exit 1 with
/// every error listed, anything else exits 2.
impl From<CommandError> for Failure {
    fn from(e: CommandError) -> Self {
        match e.kind {
            ErrorKind::Validation if !e.errors.is_empty() => {
                Failure::Invalid(ValidationErrors(e.errors))
            }
            // Role and 检举控告 refusals are the role's problem, as `authorize` says.
            ErrorKind::Forbidden => FieldError::new("role", &e.code, e.message).into(),
            ErrorKind::Internal => Failure::Other(anyhow::anyhow!(e.message)),
            _ => FieldError::new(e.field.as_deref().unwrap_or(""), &e.code, e.message).into(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let refused = |code: &str, e: &StoreError| {
            Failure::Invalid(FieldError::new("", code, e.to_string()).into())
        };
        match e {
            StoreError::Invalid(errors) => Failure::Invalid(errors),
            StoreError::BadCredentials => refused("bad_credentials", &e),
            StoreError::Disabled(_) => refused("account_disabled", &e),
            StoreError::TooManyAttempts(_) => refused("too_many_attempts", &e),
            StoreError::WrongKey => refused("wrong_key", &e),
            StoreError::AlreadyExists(_) => refused("already_exists", &e),
            StoreError::NotInitialised(_) => refused("not_initialised", &e),
            StoreError::NotFound(_) => refused("not_found", &e),
            StoreError::NewerVersion => refused("newer_version", &e),
            other => Failure::Other(other.into()),
        }
    }
}

pub type CmdResult = Result<(), Failure>;

/// Prints a success value: as JSON, or through `human` for people.
pub fn print<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string(value).expect("serialisable output")
        );
    } else {
        println!("{}", human(value));
    }
}

pub fn fail(failure: &Failure, json: bool) -> ExitCode {
    match failure {
        Failure::Invalid(errors) => {
            if json {
                println!("{}", json!({ "errors": errors }));
            } else {
                for e in &errors.0 {
                    if e.field.is_empty() {
                        eprintln!("错误：{}", e.message);
                    } else {
                        eprintln!("错误：[{}] {}", e.field, e.message);
                    }
                }
            }
            ExitCode::from(1)
        }
        Failure::AlreadyReported => ExitCode::from(1),
        Failure::Other(e) => {
            if json {
                println!(
                    "{}",
                    json!({ "errors": [{ "field": "", "code": "internal", "message": format!("{e:#}") }] })
                );
            } else {
                eprintln!("失败：{e:#}");
            }
            ExitCode::from(2)
        }
    }
}
