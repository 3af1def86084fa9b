//! The rules of a staff account: its login name and its password. One place for the desk's
//! first run, `xinfang init`, new accounts, a password change and an admin's reset.

use crate::staff::Role;
use crate::{FieldError, ValidationErrors};

/// The shortest password an account may have.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A login name: English letters, digits, `_`, `.` or `-`, at most 32 (spaces around ignored).
pub fn check_username(username: &str) -> Result<(), FieldError> {
    let username = username.trim();
    if username.is_empty() {
        return Err(FieldError::new(
            "username",
            "username_empty",
            "用户名不能为空：请输入登录用的用户名。",
        ));
    }
    if username.len() > 32
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
    {
        return Err(FieldError::new(
            "username",
            "username_charset",
            "用户名只能由英文字母、数字、下划线、点或短横线组成，最多 32 位，例如 wang.li。",
        ));
    }
    Ok(())
}

/// A new password: at least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_password(password: &str) -> Result<(), FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            "password",
            "password_too_short",
            format!("密码太短：至少需要 {MIN_PASSWORD_CHARS} 位，请换一个更长的密码。"),
        ));
    }
    Ok(())
}

/// A new account's problems, each at its field, all at once.
pub fn check_account(
    username: &str,
    display_name: &str,
    roles: &[Role],
    password: &str,
) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if let Err(e) = check_username(username) {
        errors.push(e);
    }
    if display_name.trim().is_empty() {
        errors.push(FieldError::new(
            "display_name",
            "display_name_empty",
            "姓名不能为空：请输入工作人员姓名。",
        ));
    }
    if roles.is_empty() {
        errors.push(FieldError::new(
            "roles",
            "role_empty",
            "未指定角色：请至少选择一个角色。",
        ));
    }
    if let Err(e) = check_password(password) {
        errors.push(e);
    }
    errors.into_result(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(r: Result<(), ValidationErrors>) -> Vec<String> {
        r.err()
            .map_or(vec![], |e| e.0.into_iter().map(|f| f.code).collect())
    }

    #[test]
    fn every_problem_of_an_account_at_once() {
        assert!(check_account("wang.li", "王力", &[Role::Clerk], "12345678").is_ok());
        assert_eq!(
            codes(check_account(" ", "", &[], "1234567")),
            [
                "username_empty",
                "display_name_empty",
                "role_empty",
                "password_too_short"
            ]
        );
        for bad in ["王力", "wang li", &"a".repeat(33)] {
            assert_eq!(
                check_username(bad).unwrap_err().code,
                "username_charset",
                "{bad}"
            );
        }
        // Characters, not bytes: eight Chinese characters are long enough.
        assert!(check_password("八个汉字的密码啊").is_ok());
    }
}
