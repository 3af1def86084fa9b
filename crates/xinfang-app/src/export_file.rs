//! Where an exported ledger or report is written: a file the user names (issue 15, item 1).
//! Exports hold personal data and are not encrypted, so they never go into the data dir (whose
//! backups and copies would carry them unnoticed); the screen warns and suggests a folder of
//! the user's documents, and the path is checked here, in Rust, whatever the screen sends.

use std::path::{Component, Path, PathBuf};

use xinfang_core::FieldError;

use crate::error::{CmdResult, CommandError, ErrorKind};

/// The folder suggested for exports under the user's home: 文档/信访导出 (or Documents/…)
/// where that documents folder exists, else 信访导出 in the home folder itself.
pub fn default_export_dir(home: &Path) -> PathBuf {
    for docs in ["文档", "Documents"] {
        if home.join(docs).is_dir() {
            return home.join(docs).join("信访导出");
        }
    }
    home.join("信访导出")
}

/// The user's home folder, if the environment names one.
pub fn home_dir() -> Option<PathBuf> {
    ["HOME", "USERPROFILE"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .find(|p| p.is_absolute())
}

fn refused(code: &str, message: String) -> CommandError {
    CommandError::validation(FieldError::new("dest", code, message).into())
}

/// The nearest folder of `path` that exists, resolved (symbolic links followed), with the
/// folders still to be made below it.
fn resolved(path: &Path) -> std::io::Result<PathBuf> {
    let mut rest = Vec::new();
    let mut at = path;
    loop {
        if at.exists() {
            let mut real = at.canonicalize()?;
            real.extend(rest.iter().rev());
            return Ok(real);
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                at = parent;
            }
            _ => return Ok(path.to_path_buf()),
        }
    }
}

/// Checks the destination `dest` of an export with extension `ext` (`.xlsx`, `.pdf`) and makes
/// its folder: an absolute path, outside the data dir, naming a file of that type that does
/// not exist yet (or that may be replaced, `overwrite`).
pub fn check_destination(
    data_dir: &Path,
    dest: &str,
    ext: &str,
    overwrite: bool,
) -> CmdResult<PathBuf> {
    let example = format!("/home/接待员/文档/信访导出/来访台账{ext}");
    let raw = dest.trim();
    let path = PathBuf::from(raw);
    if raw.is_empty() || !path.is_absolute() {
        return Err(refused(
            "dest_not_absolute",
            format!("请填写完整的保存位置（以 / 开头，含文件名），例如 {example}。"),
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(refused(
            "dest_not_absolute",
            format!("保存位置不能含“..”，请直接写出文件夹，例如 {example}。"),
        ));
    }
    let named = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .is_some_and(|n| n.len() > ext.len() && n.ends_with(ext));
    if !named {
        return Err(refused(
            "dest_extension",
            format!("文件名须以 {ext} 结尾，例如 {example}。"),
        ));
    }
    let data = resolved(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let inside = |p: &Path| p.starts_with(&data) || p.starts_with(data_dir);
    let target = resolved(&path).unwrap_or_else(|_| path.clone());
    if inside(&path) || inside(&target) {
        return Err(refused(
            "dest_in_data_dir",
            "导出文件不加密，不能保存在接待台的数据文件夹中：请另选文件夹，例如“文档/信访导出”。"
                .to_owned(),
        ));
    }
    match std::fs::symlink_metadata(&path) {
        Ok(m) if !m.is_file() => {
            return Err(refused(
                "dest_not_file",
                "该位置是文件夹或链接，不能写入：请换一个文件名。".to_owned(),
            ));
        }
        Ok(_) if !overwrite => {
            return Err(refused(
                "dest_exists",
                "该位置已有同名文件。如要替换它，请勾选“覆盖同名文件”后再导出；或换一个文件名。"
                    .to_owned(),
            ));
        }
        _ => {}
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            refused(
                "dest_folder",
                format!("无法建立文件夹 {}：{e}。请换一个位置。", parent.display()),
            )
        })?;
    }
    Ok(path)
}

/// Writes the file at `path` through `write` (given a temporary name beside it with the same
/// extension), readable by its owner only, then puts it in place: no half-written export is
/// ever left under the chosen name.
pub fn write_beside(path: &Path, write: impl FnOnce(&Path) -> CmdResult<()>) -> CmdResult<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let part = path.with_file_name(format!(".写入中-{name}"));
    let done = write(&part).and_then(|()| {
        owner_only(&part)?;
        std::fs::rename(&part, path).map_err(|e| write_failed(path, &e))
    });
    if done.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    done
}

#[cfg(unix)]
fn owner_only(path: &Path) -> CmdResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| write_failed(path, &e))
}

#[cfg(not(unix))]
fn owner_only(_: &Path) -> CmdResult<()> {
    Ok(())
}

/// A file could not be written where the user asked.
pub fn write_failed(path: &Path, e: &dyn std::fmt::Display) -> CommandError {
    tracing::error!(error = %e, "cannot write export");
    CommandError {
        field: Some("dest".to_owned()),
        ..CommandError::new(
            ErrorKind::Internal,
            "write_failed",
            format!(
                "无法写入 {}：{e}。请检查磁盘空间和该文件夹的写权限，或换一个位置。",
                path.display()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: CmdResult<PathBuf>) -> String {
        let e = r.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("dest"), "{e:?}");
        e.code
    }

    #[test]
    fn a_destination_is_checked_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let out = dir.path().join("导出");
        let d = |p: &Path| p.display().to_string();
        let check = |dest: &str, overwrite| check_destination(&data, dest, ".xlsx", overwrite);

        assert_eq!(code(check("", false)), "dest_not_absolute");
        assert_eq!(code(check("来访台账.xlsx", false)), "dest_not_absolute");
        let up = format!("{}/../data/x.xlsx", d(&out));
        assert_eq!(code(check(&up, false)), "dest_not_absolute");
        assert_eq!(
            code(check(&d(&out.join("台账.pdf")), false)),
            "dest_extension"
        );
        assert_eq!(code(check(&d(&out.join(".xlsx")), false)), "dest_extension");
        assert_eq!(
            code(check(&d(&data.join("x.xlsx")), false)),
            "dest_in_data_dir"
        );
        assert_eq!(
            code(check(&d(&data.join("exports/新/x.xlsx")), false)),
            "dest_in_data_dir"
        );
        assert!(
            !data.join("exports").exists(),
            "no folder made for a refusal"
        );
        // A link to the data dir does not get around it.
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            assert_eq!(
                code(check(&d(&link.join("x.xlsx")), false)),
                "dest_in_data_dir"
            );
        }

        // A new folder is made; an existing file is replaced only when told.
        let file = out.join("月/来访台账.XLSX");
        assert_eq!(check(&d(&file), false).unwrap(), file);
        assert!(out.join("月").is_dir());
        std::fs::write(&file, b"old").unwrap();
        assert_eq!(code(check(&d(&file), false)), "dest_exists");
        assert_eq!(check(&d(&file), true).unwrap(), file);
        std::fs::create_dir_all(out.join("夹.xlsx")).unwrap();
        assert_eq!(code(check(&d(&out.join("夹.xlsx")), true)), "dest_not_file");
    }

    #[test]
    fn an_export_is_written_whole_and_for_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("统计.xlsx");
        write_beside(&path, |p| {
            assert!(p.to_string_lossy().ends_with(".xlsx"));
            std::fs::write(p, b"xlsx").map_err(|e| write_failed(p, &e))
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"xlsx");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A writer that fails leaves nothing behind.
        let other = dir.path().join("坏.xlsx");
        let e = write_beside(&other, |p| {
            std::fs::write(p, b"half").unwrap();
            Err(write_failed(p, &"磁盘已满"))
        });
        assert!(e.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn exports_are_suggested_in_the_users_documents() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(
            default_export_dir(home.path()),
            home.path().join("信访导出")
        );
        std::fs::create_dir(home.path().join("文档")).unwrap();
        assert_eq!(
            default_export_dir(home.path()),
            home.path().join("文档/信访导出")
        );
    }
}
