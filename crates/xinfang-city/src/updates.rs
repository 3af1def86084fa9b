//! Signed desk updates (issue 20, docs/deploy.md "Updates"): the city's update key, the
//! packages its administrator publishes, the manifest the desks read, and what a hall hub
//! keeps of them. The server only keeps and serves: the packages are signed with minisign by
//! the administrator (the secret key need not be on the server), and each desk checks the
//! signature against the key it pinned at enrolment. The bytes are kept in the database, so
//! every instance on one PostgreSQL serves the same packages and a hub keeps its copies the same
//! way.

use std::io::Write;
use std::path::{Path, PathBuf};

use xinfang_sync::update::{
    self, MAX_PACKAGE_BYTES, PACKAGE_KINDS, UpdateManifest, UpdateRelease, is_package_kind,
    parse_version, sha256_hex, verify_signature,
};

use crate::protocol::{CityError, Refusal, RefusalKind};
use crate::storage::{Done, NewLogEntry, NewRelease, ReleaseRow, Storage, StorageError, Tx};

fn refused(kind: RefusalKind, code: &'static str, message: impl Into<String>) -> CityError {
    CityError::Refused(Refusal {
        kind,
        code,
        message: message.into(),
    })
}

fn read<T>(
    storage: &dyn Storage,
    mut body: impl FnMut(&mut dyn Tx) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let mut out = None;
    storage.read(&mut |tx| {
        out = Some(body(tx)?);
        Ok(Done::Commit)
    })?;
    out.ok_or_else(|| StorageError::Backend("transaction body did not run".into()))
}

/// The update key packages are checked against (minisign public key, `RW…`), if set.
pub fn update_key(storage: &dyn Storage) -> Result<Option<String>, StorageError> {
    read(storage, |tx| tx.update_key())
}

/// Sets the update key from a `.pub` file's text. A different key replaces the set one only
/// with `replace`: desks keep the key they pinned, so after a change they refuse every package
/// signed with the new one until they are given it another way (docs/security.md).
pub fn install_key(storage: &dyn Storage, text: &str, replace: bool) -> Result<String, CityError> {
    let key = update::check_public_key(text)
        .map_err(|e| refused(RefusalKind::Conflict, "update_key_invalid", e))?;
    let mut outcome = Ok(());
    storage.write(&mut |tx| {
        outcome = match tx.update_key()? {
            Some(old) if old == key => Ok(()),
            Some(_) if !replace => Err(()),
            _ => {
                tx.set_update_key(&key)?;
                tx.append_log(&NewLogEntry {
                    action: "update_key_set",
                    actor: "cli".into(),
                    device_id: None,
                    detail: key.clone(),
                })?;
                Ok(())
            }
        };
        Ok(Done::Commit)
    })?;
    outcome.map_err(|()| {
        refused(
            RefusalKind::Conflict,
            "update_key_held",
            "市局已设置了另一个更新公钥。已登记的接待台只认它们登记时记下的公钥，更换后它们将拒绝新密钥签名的更新包；确需更换请加 --replace。",
        )
    })?;
    Ok(key)
}

fn release_of(r: ReleaseRow) -> UpdateRelease {
    UpdateRelease {
        version: r.version,
        kind: r.kind,
        size: r.size.max(0) as u64,
        sha256: r.sha256,
        signature: r.signature,
        notes: r.notes,
        published_at: r.published_at,
    }
}

/// Every package held, oldest first.
pub fn releases(storage: &dyn Storage) -> Result<Vec<UpdateRelease>, StorageError> {
    Ok(read(storage, |tx| tx.releases())?
        .into_iter()
        .map(release_of)
        .collect())
}

/// The latest package of each kind (highest semantic version).
pub fn manifest(storage: &dyn Storage) -> Result<UpdateManifest, StorageError> {
    let all = releases(storage)?;
    let mut latest_of_kinds = Vec::new();
    for kind in PACKAGE_KINDS {
        let latest = all
            .iter()
            .filter(|r| r.kind == kind)
            .filter_map(|r| parse_version(&r.version).map(|v| (v, r)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, r)| r.clone());
        latest_of_kinds.extend(latest);
    }
    Ok(UpdateManifest {
        releases: latest_of_kinds,
        public_key: update_key(storage)?,
    })
}

/// The bytes of a package, if held.
pub fn package(
    storage: &dyn Storage,
    version: &str,
    kind: &str,
) -> Result<Option<Vec<u8>>, StorageError> {
    read(storage, |tx| tx.release_bytes(version, kind))
}

/// A package to publish, signed already.
#[derive(Debug, Clone)]
pub struct Publish<'a> {
    pub version: &'a str,
    pub kind: &'a str,
    pub bytes: &'a [u8],
    /// The `.minisig` text.
    pub signature: &'a str,
    pub notes: &'a str,
}

/// Publishes a signed package: a semantic version, a known kind, a size within the limit, a
/// signature by the city's update key with the trusted comment of this version and kind (what
/// every desk checks), and a version and kind not published yet. Returns what the manifest
/// will say of it.
pub fn publish(storage: &dyn Storage, p: &Publish<'_>) -> Result<UpdateRelease, CityError> {
    let conflict = |code, msg: String| refused(RefusalKind::Conflict, code, msg);
    if parse_version(p.version).is_none() {
        return Err(conflict(
            "version_invalid",
            format!("版本号“{}”无效：请写成 1.2.3 这样的形式。", p.version),
        ));
    }
    if !is_package_kind(p.kind) {
        return Err(conflict(
            "kind_invalid",
            format!(
                "安装包类型“{}”无效：只能是 {}。",
                p.kind,
                PACKAGE_KINDS.join("、")
            ),
        ));
    }
    if p.bytes.is_empty() || p.bytes.len() as u64 > MAX_PACKAGE_BYTES {
        return Err(conflict(
            "package_size",
            format!("安装包为空或超过 {} MB。", MAX_PACKAGE_BYTES / 1024 / 1024),
        ));
    }
    let Some(key) = update_key(storage)? else {
        return Err(conflict(
            "update_key_missing",
            "市局还没有设置更新公钥：请先运行 `xinfang-city update-key install --public-key 公钥文件`。"
                .into(),
        ));
    };
    verify_signature(p.bytes, p.signature, &key, p.version, p.kind).map_err(|e| {
        conflict(
            "signature_invalid",
            format!(
                "签名不能用市局的更新公钥验证，未发布（{e}）。签名须由更新密钥生成，且其可信注释为“{}”。",
                update::trusted_comment(p.version, p.kind)
            ),
        )
    })?;
    let sha256 = sha256_hex(p.bytes);
    let mut outcome: Result<ReleaseRow, ()> = Err(());
    storage.write(&mut |tx| {
        if tx
            .releases()?
            .iter()
            .any(|r| r.version == p.version && r.kind == p.kind)
        {
            outcome = Err(());
            return Ok(Done::Rollback);
        }
        let published_at = tx.now_text();
        tx.insert_release(&NewRelease {
            version: p.version,
            kind: p.kind,
            sha256: &sha256,
            signature: p.signature.trim(),
            notes: p.notes.trim(),
            published_at: &published_at,
            bytes: p.bytes,
        })?;
        tx.append_log(&NewLogEntry {
            action: "update_published",
            actor: "cli".into(),
            device_id: None,
            detail: format!("{} {} {sha256}", p.version, p.kind),
        })?;
        outcome = Ok(ReleaseRow {
            version: p.version.to_owned(),
            kind: p.kind.to_owned(),
            size: p.bytes.len() as i64,
            sha256: sha256.clone(),
            signature: p.signature.trim().to_owned(),
            notes: p.notes.trim().to_owned(),
            published_at,
        });
        Ok(Done::Commit)
    })?;
    outcome.map(release_of).map_err(|()| {
        conflict(
            "release_exists",
            format!(
                "版本 {} 的 {} 安装包已经发布过：已发布的安装包不能替换，请换一个新的版本号。",
                p.version, p.kind
            ),
        )
    })
}

/// Keeps a package a hub fetched from its city, as the city described it: the size and SHA-256
/// must match (the signature is the desks' to check, against their pinned key). Returns
/// whether it was new here.
pub fn keep_relayed(
    storage: &dyn Storage,
    release: &UpdateRelease,
    bytes: &[u8],
) -> Result<bool, String> {
    if bytes.len() as u64 != release.size || sha256_hex(bytes) != release.sha256 {
        return Err(format!(
            "从市局下载的 {} 版 {} 安装包与清单不符，未保存",
            release.version, release.kind
        ));
    }
    if parse_version(&release.version).is_none() || !is_package_kind(&release.kind) {
        return Err(format!(
            "市局清单中的安装包 {} {} 无法识别，未保存",
            release.version, release.kind
        ));
    }
    let mut added = false;
    storage
        .write(&mut |tx| {
            added = !tx
                .releases()?
                .iter()
                .any(|r| r.version == release.version && r.kind == release.kind);
            if added {
                tx.insert_release(&NewRelease {
                    version: &release.version,
                    kind: &release.kind,
                    sha256: &release.sha256,
                    signature: &release.signature,
                    notes: &release.notes,
                    published_at: &release.published_at,
                    bytes,
                })?;
            }
            Ok(Done::Commit)
        })
        .map_err(|e| e.to_string())?;
    Ok(added)
}

/// What a hub does with its city's manifest: the city's key when it differs from the hub's
/// (the hub only passes it on to desks enrolling here, which pin it: it checks nothing with
/// it), then every package of the manifest the hub does not hold yet. Returns the packages
/// fetched and what was refused.
pub fn relay(
    storage: &dyn Storage,
    client: &xinfang_sync::client::Client,
) -> Result<(u64, Vec<String>), xinfang_sync::client::SyncError> {
    use xinfang_sync::client::SyncError;
    let local = |e: StorageError| SyncError::Local(e.to_string());
    let manifest = match client.update_manifest() {
        Ok(m) => m,
        // A city that predates updates: nothing to relay.
        Err(SyncError::Server { status: 404, .. }) => return Ok((0, Vec::new())),
        Err(e) => return Err(e),
    };
    if let Some(key) = manifest.public_key.as_deref()
        && update_key(storage).map_err(local)?.as_deref() != Some(key)
        && update::check_public_key(key).is_ok()
    {
        storage
            .write(&mut |tx| {
                tx.set_update_key(key)?;
                Ok(Done::Commit)
            })
            .map_err(local)?;
    }
    let held = releases(storage).map_err(local)?;
    let mut fetched = 0;
    let mut problems = Vec::new();
    for r in manifest.releases {
        if held
            .iter()
            .any(|h| h.version == r.version && h.kind == r.kind)
        {
            continue;
        }
        let bytes = client.update_package(&r.version, &r.kind, r.size.min(MAX_PACKAGE_BYTES))?;
        match keep_relayed(storage, &r, &bytes) {
            Ok(true) => {
                fetched += 1;
                tracing::info!(version = %r.version, kind = %r.kind, "update package relayed from the city");
            }
            Ok(false) => {}
            Err(e) => problems.push(e),
        }
    }
    Ok((fetched, problems))
}

// ---- The administrator's side: keys and signatures (minisign) --------------------------------

/// File names `update-key generate` writes.
pub const SECRET_KEY_FILE: &str = "xinfang-update.key";
pub const PUBLIC_KEY_FILE: &str = "xinfang-update.pub";

/// Makes an update key pair in `out_dir`: the secret key (encrypted with `password` unless it
/// is empty; mode 0600; never overwritten) and the public key. Returns the paths and the public
/// key line.
pub fn generate_key(out_dir: &Path, password: &str) -> Result<(PathBuf, PathBuf, String), String> {
    let sk_path = out_dir.join(SECRET_KEY_FILE);
    let pk_path = out_dir.join(PUBLIC_KEY_FILE);
    for p in [&sk_path, &pk_path] {
        if p.exists() {
            return Err(format!("{} 已存在：不会覆盖已有的密钥。", p.display()));
        }
    }
    let kp = minisign::KeyPair::generate_encrypted_keypair(Some(password.to_owned()))
        .map_err(|e| format!("无法生成密钥：{e}"))?;
    let sk_box = kp
        .sk
        .to_box(Some("xinfang-city update secret key"))
        .map_err(|e| format!("无法生成密钥：{e}"))?;
    let pk_box = kp.pk.to_box().map_err(|e| format!("无法生成密钥：{e}"))?;
    let public = kp.pk.to_base64();
    write_new(&sk_path, sk_box.to_string().as_bytes(), 0o600)?;
    write_new(&pk_path, pk_box.to_string().as_bytes(), 0o644)?;
    Ok((sk_path, pk_path, public))
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(path)
        .map_err(|e| format!("无法写入 {}：{e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("无法写入 {}：{e}", path.display()))
}

/// Signs `bytes` as the package `version` of `kind` with the secret key in `secret_key`
/// (unlocked with `password`): the `.minisig` text, its trusted comment tying it to the version
/// and kind.
pub fn sign(
    bytes: &[u8],
    secret_key: &Path,
    password: &str,
    version: &str,
    kind: &str,
) -> Result<String, String> {
    let text = std::fs::read_to_string(secret_key)
        .map_err(|e| format!("无法读取更新密钥 {}：{e}", secret_key.display()))?;
    let sk_box = minisign::SecretKeyBox::from_string(&text)
        .map_err(|_| format!("{} 不是 minisign 私钥文件。", secret_key.display()))?;
    let sk = sk_box
        .into_secret_key(Some(password.to_owned()))
        .map_err(|_| "无法解开更新密钥：密码不对，或密钥文件已损坏。".to_owned())?;
    let trusted = update::trusted_comment(version, kind);
    let sig = minisign::sign(
        None,
        &sk,
        std::io::Cursor::new(bytes),
        Some(&trusted),
        Some("signature from the xinfang-city update key"),
    )
    .map_err(|e| format!("签名失败：{e}"))?;
    Ok(sig.into_string())
}
