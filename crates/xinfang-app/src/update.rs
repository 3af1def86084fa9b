//! 有新版本: the desk's side of signed updates (issue 20, docs/deploy.md "Updates"), for the
//! desktop app and the `xinfang` CLI alike. Anyone signed in may check; a supervisor or admin
//! downloads, and only a package whose size, SHA-256 and minisign signature (by the update key
//! this desk pinned at enrolment) check out is kept; then the store is backed up and the package
//! handed to the system installer. The program cannot replace itself while it runs and without
//! root, so installing is the system's (`pkexec apt-get install`, or the package installer).
//!
//! The network part runs on an [`UpdateSource`] taken from the store beforehand, so a caller
//! need not hold the store during a download of minutes.

use std::path::{Path, PathBuf};

use serde::Serialize;
use xinfang_core::staff::{Action, authorize};
use xinfang_store::{Staff, Store};
use xinfang_sync::DeskReplica;
use xinfang_sync::client::{Client, SyncError, desk_client};
use xinfang_sync::update::{
    MAX_PACKAGE_BYTES, UpdateManifest, UpdateRelease, is_newer, verify_package,
};

use crate::error::{CmdResult, CommandError, ErrorKind};

/// The version of this desk (the workspace's: the desk app, the CLI and this crate share it).
pub const RUNNING_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Env var naming the package kind this system installs (`desk-deb`, `desk-rpm`), for a
/// system the desk does not recognise.
pub const PACKAGE_KIND_ENV: &str = "XINFANG_PACKAGE_KIND";

/// A newer version offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateOffer {
    pub version: String,
    /// `desk-deb` or `desk-rpm`.
    pub kind: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size: u64,
    /// What changed (from the city).
    pub notes: String,
    pub published_at: String,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateCheck {
    /// The running version.
    pub current: String,
    /// A newer version of this system's kind, if any.
    pub offer: Option<UpdateOffer>,
    /// Whether the signed-in account may install it (supervisor, admin).
    pub can_install: bool,
}

/// A package downloaded and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifiedPackage {
    pub version: String,
    pub kind: String,
    /// The verified file.
    pub path: String,
}

/// A package handed to the system installer, after a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InstallStarted {
    pub version: String,
    pub package: String,
    /// The backup taken first.
    pub backup: String,
}

/// Where a check or a download asks, taken from the store: the desk's server (its city or its
/// hall's hub) and the pinned update key.
#[derive(Debug)]
pub struct UpdateSource {
    client: Client,
    key: Option<String>,
    can_install: bool,
}

fn offline(e: SyncError) -> CommandError {
    CommandError::new(ErrorKind::Internal, "update_unreachable", e.to_string())
}

/// The source for `me` doing `action` ([`Action::CheckUpdate`] or [`Action::InstallUpdate`]).
pub fn source(store: &mut Store, me: &Staff, action: Action) -> CmdResult<UpdateSource> {
    authorize(&me.roles, action).map_err(CommandError::forbidden)?;
    let client = desk_client(store).map_err(|e| match e {
        SyncError::NotEnrolled => CommandError::new(
            ErrorKind::Setup,
            "not_enrolled",
            "本机尚未登记到市局服务器或大厅服务器，无法获取新版本。",
        ),
        other => offline(other),
    })?;
    let key = store.update_key()?;
    let can_install = authorize(&me.roles, Action::InstallUpdate).is_ok();
    Ok(UpdateSource {
        client,
        key,
        can_install,
    })
}

/// The package kind this system installs: env [`PACKAGE_KIND_ENV`], else `desk-deb` where
/// dpkg is (Debian, UOS, Kylin, Ubuntu), else `desk-rpm` where rpm is.
pub fn system_kind() -> &'static str {
    match std::env::var(PACKAGE_KIND_ENV).as_deref() {
        Ok("desk-rpm") => return "desk-rpm",
        Ok("desk-deb") => return "desk-deb",
        _ => {}
    }
    if Path::new("/usr/bin/dpkg").exists() || !Path::new("/usr/bin/rpm").exists() {
        "desk-deb"
    } else {
        "desk-rpm"
    }
}

/// The newest release of `kind` in `manifest` that is newer than `running`.
pub fn newer_release(
    manifest: &UpdateManifest,
    kind: &str,
    running: &str,
) -> Option<UpdateRelease> {
    manifest
        .releases
        .iter()
        .filter(|r| r.kind == kind && is_newer(&r.version, running))
        .max_by(|a, b| {
            xinfang_sync::update::parse_version(&a.version)
                .cmp(&xinfang_sync::update::parse_version(&b.version))
        })
        .cloned()
}

fn manifest(src: &UpdateSource) -> CmdResult<UpdateManifest> {
    src.client.update_manifest().map_err(|e| match e {
        SyncError::Server { status: 404, .. } => CommandError::new(
            ErrorKind::Internal,
            "updates_unsupported",
            "服务器版本较旧，尚不提供新版本：请联系市局管理员。",
        ),
        other => offline(other),
    })
}

/// 有新版本? Compares the server's latest package of this system's kind with `running`.
pub fn check(src: &UpdateSource, running: &str) -> CmdResult<UpdateCheck> {
    let m = manifest(src)?;
    let offer = newer_release(&m, system_kind(), running).map(|r| UpdateOffer {
        version: r.version,
        kind: r.kind,
        size: r.size,
        notes: r.notes,
        published_at: r.published_at,
    });
    Ok(UpdateCheck {
        current: running.to_owned(),
        offer,
        can_install: src.can_install,
    })
}

fn refused(code: &str, message: String) -> CommandError {
    CommandError::new(ErrorKind::Validation, code, message)
}

/// Downloads the newest package newer than `running` into `dir` and verifies it against the
/// pinned key (a source for [`Action::InstallUpdate`] only). A package that fails a check is
/// deleted and refused with the reason; only a verified one is left, as
/// `xinfang-desk_<version>.<deb|rpm>`.
pub fn download(src: &UpdateSource, running: &str, dir: &Path) -> CmdResult<VerifiedPackage> {
    if !src.can_install {
        return Err(refused(
            "forbidden",
            "无权安装新版本：只有负责人、管理员可以下载和安装新版本。".into(),
        ));
    }
    let Some(key) = src.key.as_deref() else {
        return Err(refused(
            "update_key_missing",
            "本机没有记下市局的更新公钥，无法确认新版本的来源，不能下载安装。请联系市局管理员设置更新公钥后再同步一次。"
                .into(),
        ));
    };
    let m = manifest(src)?;
    let Some(release) = newer_release(&m, system_kind(), running) else {
        return Err(refused(
            "no_update",
            format!("没有比当前版本 {running} 更新的版本。"),
        ));
    };
    if !dir.is_dir() {
        return Err(refused(
            "update_folder_missing",
            "要存放新版本的文件夹不存在：请先建立文件夹，或换一个位置。".into(),
        ));
    }
    let ext = if release.kind == "desk-rpm" {
        "rpm"
    } else {
        "deb"
    };
    let path = dir.join(format!("xinfang-desk_{}.{ext}", release.version));
    let partial = dir.join(format!("xinfang-desk_{}.{ext}.part", release.version));
    let bytes = src
        .client
        .update_package(
            &release.version,
            &release.kind,
            release.size.min(MAX_PACKAGE_BYTES),
        )
        .map_err(offline)?;
    // Written aside first: a package that fails a check is deleted and never under its name.
    std::fs::write(&partial, &bytes).map_err(|e| {
        CommandError::new(
            ErrorKind::Internal,
            "update_write_failed",
            format!("无法保存新版本安装包：{e}"),
        )
    })?;
    if let Err(why) = verify_package(&bytes, &release, key) {
        let _ = std::fs::remove_file(&partial);
        tracing::warn!(version = %release.version, kind = %release.kind, reason = ?why, "update package refused");
        return Err(refused("update_refused", why.to_string()));
    }
    std::fs::rename(&partial, &path).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        CommandError::new(
            ErrorKind::Internal,
            "update_write_failed",
            format!("无法保存新版本安装包：{e}"),
        )
    })?;
    tracing::info!(version = %release.version, kind = %release.kind, "update package verified");
    Ok(VerifiedPackage {
        version: release.version,
        kind: release.kind,
        path: path.display().to_string(),
    })
}

/// Before installing: a backup of `store` into `backup_dir` (supervisor, admin; audited like
/// every backup). The installer's package scripts do not touch the data dir, and the new version
/// migrates the store when it opens it; the backup is there should anything go wrong.
pub fn backup_before_install(
    store: &Store,
    me: &Staff,
    backup_dir: &Path,
    version: &str,
) -> CmdResult<String> {
    authorize(&me.roles, Action::InstallUpdate).map_err(CommandError::forbidden)?;
    let stamp = store.clock().now_cst().format("%Y%m%d-%H%M%S");
    let dest = backup_dir.join(format!("接待台备份-升级到{version}之前-{stamp}.db"));
    Ok(crate::backup::backup(store, me, &dest.display().to_string())?.path)
}

/// The command that installs `package` with the system's tools: `pkexec` asks for an
/// administrator's password in a window, then apt-get (or dnf) installs it with its
/// dependencies. `XINFANG_INSTALLER` names another program, given the package as its argument
/// (e.g. `xdg-open` for the desktop's package installer).
pub fn installer_command(package: &Path) -> (String, Vec<String>) {
    let file = package.display().to_string();
    if let Ok(program) = std::env::var("XINFANG_INSTALLER")
        && !program.trim().is_empty()
    {
        return (program, vec![file]);
    }
    if file.ends_with(".rpm") {
        (
            "pkexec".into(),
            vec!["dnf".into(), "install".into(), "-y".into(), file],
        )
    } else {
        (
            "pkexec".into(),
            vec!["apt-get".into(), "install".into(), "-y".into(), file],
        )
    }
}

/// Hands a verified package to the system installer (not waiting for it: the desk app is
/// replaced underneath and asks to be restarted).
pub fn launch_installer(package: &Path) -> CmdResult<()> {
    let (program, args) = installer_command(package);
    std::process::Command::new(&program)
        .args(&args)
        .spawn()
        .map(|_| ())
        .map_err(|e| {
            CommandError::new(
                ErrorKind::Internal,
                "installer_failed",
                format!(
                    "无法启动系统的软件安装程序（{e}）：请把 {} 交给系统管理员安装。",
                    package.display()
                ),
            )
        })
}

/// Where downloaded packages go by default: `updates/` in the data dir.
pub fn default_download_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("updates")
}

impl crate::api::AppState {
    /// 有新版本? (any signed-in account). The question goes out without holding the store.
    pub fn check_update(&self) -> CmdResult<UpdateCheck> {
        let src = self.act(Action::CheckUpdate, |store, me| {
            source(store, me, Action::CheckUpdate)
        })?;
        check(&src, RUNNING_VERSION)
    }

    /// 安装 (supervisor, admin): downloads and verifies the new version into the data dir's
    /// `updates/`, backs the store up into `backup_dir`, then hands the package to the system
    /// installer. A package that fails verification is deleted and nothing is installed.
    pub fn install_update(&self, backup_dir: &str) -> CmdResult<InstallStarted> {
        let src = self.act(Action::InstallUpdate, |store, me| {
            source(store, me, Action::InstallUpdate)
        })?;
        let backup_dir = PathBuf::from(backup_dir.trim());
        if !backup_dir.is_absolute() || !backup_dir.is_dir() {
            return Err(refused(
                "backup_folder_missing",
                "请选择一个已有的文件夹存放安装前的备份（完整路径，以 / 开头）。".into(),
            ));
        }
        let dir = default_download_dir(self.data_dir());
        std::fs::create_dir_all(&dir).map_err(|e| {
            CommandError::new(
                ErrorKind::Internal,
                "update_write_failed",
                format!("无法建立存放新版本的文件夹：{e}"),
            )
        })?;
        let package = download(&src, RUNNING_VERSION, &dir)?;
        let backup = self.act(Action::InstallUpdate, |store, me| {
            backup_before_install(store, me, &backup_dir, &package.version)
        })?;
        launch_installer(Path::new(&package.path))?;
        Ok(InstallStarted {
            version: package.version,
            package: package.path,
            backup,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: &str, kind: &str) -> UpdateRelease {
        UpdateRelease {
            version: version.into(),
            kind: kind.into(),
            size: 1,
            sha256: String::new(),
            signature: String::new(),
            notes: String::new(),
            published_at: String::new(),
        }
    }

    #[test]
    fn only_a_newer_version_of_the_kind_is_offered() {
        let m = UpdateManifest {
            releases: vec![release("0.3.0", "desk-rpm"), release("0.2.0", "desk-deb")],
            public_key: None,
        };
        assert_eq!(
            newer_release(&m, "desk-deb", "0.1.0").unwrap().version,
            "0.2.0"
        );
        assert!(newer_release(&m, "desk-deb", "0.2.0").is_none());
        assert!(newer_release(&m, "desk-deb", "0.10.0").is_none());
    }

    #[test]
    fn the_installer_is_the_systems() {
        let (p, a) = installer_command(Path::new("/tmp/x/xinfang-desk_0.2.0.deb"));
        assert_eq!(p, "pkexec");
        assert_eq!(a[..3], ["apt-get", "install", "-y"]);
    }

    #[test]
    fn installing_is_for_supervisors_and_admins() {
        use xinfang_core::staff::Role;
        for role in [Role::Clerk, Role::Lawyer, Role::Mediator] {
            assert!(
                authorize(&[role], Action::InstallUpdate).is_err(),
                "{role:?}"
            );
            assert!(authorize(&[role], Action::CheckUpdate).is_ok(), "{role:?}");
        }
        for role in [Role::Supervisor, Role::Admin] {
            assert!(
                authorize(&[role], Action::InstallUpdate).is_ok(),
                "{role:?}"
            );
        }
    }
}
