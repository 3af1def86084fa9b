//! Signed updates (issue 20, docs/deploy.md "Updates"): what the city (and a hall hub, which
//! relays it unchanged) tells the desks of the packages it holds, and the check a desk makes
//! before it hands a package to the system installer. Packages are signed with minisign (the
//! format tauri-plugin-updater uses); the desk checks size, SHA-256 and the signature against
//! the update key it pinned at enrolment, never against a key the same channel sends later.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The kinds of desk package the city publishes.
pub const PACKAGE_KINDS: [&str; 2] = ["desk-deb", "desk-rpm"];

/// Largest package the city takes and the desk downloads (the desk's is about 60 MB).
pub const MAX_PACKAGE_BYTES: u64 = 512 * 1024 * 1024;

/// `GET /v1/updates/manifest`: the latest package of each kind the server holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateManifest {
    /// Latest release per kind (at most one each).
    pub releases: Vec<UpdateRelease>,
    /// The server's update key, for a hall hub to hand to the desks that enrol with it. A
    /// desk never takes its key from here: it checks against the key it pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// One published package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateRelease {
    /// Semantic version, e.g. `0.2.0`.
    pub version: String,
    /// `desk-deb` or `desk-rpm`.
    pub kind: String,
    /// Bytes of the package.
    pub size: u64,
    /// SHA-256 of the package, 64 lowercase hex digits.
    pub sha256: String,
    /// The minisign signature (the whole `.minisig` text). Its trusted comment is
    /// [`trusted_comment`] of the version and kind, so a package cannot be offered as another.
    pub signature: String,
    /// What changed, for the supervisor (Chinese).
    #[serde(default)]
    pub notes: String,
    /// When the city published it (RFC 3339).
    pub published_at: String,
}

/// The trusted comment every package signature carries: signed with the package, it ties the
/// signature to one version and kind (an old package cannot be served as a new one).
pub fn trusted_comment(version: &str, kind: &str) -> String {
    format!("xinfang-desk {version} {kind}")
}

/// Whether `kind` is one the city publishes.
pub fn is_package_kind(kind: &str) -> bool {
    PACKAGE_KINDS.contains(&kind)
}

/// A version as the city takes it: semantic (`1.2.3`), no build metadata.
pub fn parse_version(version: &str) -> Option<semver::Version> {
    semver::Version::parse(version.trim())
        .ok()
        .filter(|v| v.build.is_empty())
}

/// Whether `offered` is newer than `running` (semantic versions; an unreadable one is not).
pub fn is_newer(offered: &str, running: &str) -> bool {
    match (parse_version(offered), parse_version(running)) {
        (Some(o), Some(r)) => o > r,
        _ => false,
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A minisign public key as written in a `.pub` file's second line (`RW…`), checked.
pub fn check_public_key(text: &str) -> Result<String, String> {
    // Either the key line alone or the whole `.pub` file.
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .unwrap_or_default();
    minisign_verify::PublicKey::from_base64(line)
        .map(|_| line.to_owned())
        .map_err(|_| "不是有效的 minisign 公钥。".to_owned())
}

/// Why a package was refused (Chinese, for the supervisor).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageRefusal {
    #[error(
        "更新包大小不符（应为 {expected} 字节，收到 {got} 字节）：可能下载不完整或被篡改，已删除，未安装。"
    )]
    Size { expected: u64, got: u64 },
    #[error("更新包的校验值不符：文件可能被篡改或损坏，已删除，未安装。")]
    Digest,
    #[error("更新包的签名无法识别：可能被篡改，已删除，未安装。")]
    BadSignature,
    #[error(
        "更新包不是用本机认可的市局更新密钥签名的：可能被篡改或来源不明，已删除，未安装。请联系市局管理员。"
    )]
    WrongKey,
    #[error("更新包的签名校验失败：文件可能被篡改，已删除，未安装。")]
    Signature,
    #[error("更新包的签名与它声称的版本 {0} 不符：可能被冒充，已删除，未安装。")]
    Mislabelled(String),
}

/// Checks `bytes` against the release the manifest described and the pinned update key
/// `public_key` (base64, `RW…`): size, SHA-256, then the minisign signature and its trusted
/// comment. Only a package that passes all is handed to the installer.
pub fn verify_package(
    bytes: &[u8],
    release: &UpdateRelease,
    public_key: &str,
) -> Result<(), PackageRefusal> {
    if bytes.len() as u64 != release.size {
        return Err(PackageRefusal::Size {
            expected: release.size,
            got: bytes.len() as u64,
        });
    }
    if sha256_hex(bytes) != release.sha256.to_ascii_lowercase() {
        return Err(PackageRefusal::Digest);
    }
    verify_signature(
        bytes,
        &release.signature,
        public_key,
        &release.version,
        &release.kind,
    )
}

/// The minisign signature of `bytes` by `public_key`, with the trusted comment of `version`
/// and `kind` (what the city checks at publishing, too).
pub fn verify_signature(
    bytes: &[u8],
    signature: &str,
    public_key: &str,
    version: &str,
    kind: &str,
) -> Result<(), PackageRefusal> {
    let key = minisign_verify::PublicKey::from_base64(public_key.trim())
        .map_err(|_| PackageRefusal::WrongKey)?;
    let sig = minisign_verify::Signature::decode(signature.trim())
        .map_err(|_| PackageRefusal::BadSignature)?;
    match key.verify(bytes, &sig, false) {
        Ok(()) => {}
        Err(minisign_verify::Error::UnexpectedKeyId) => return Err(PackageRefusal::WrongKey),
        Err(_) => return Err(PackageRefusal::Signature),
    }
    if sig.trusted_comment() != trusted_comment(version, kind) {
        return Err(PackageRefusal::Mislabelled(version.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_semantically() {
        assert!(is_newer("0.10.0", "0.9.3"));
        assert!(is_newer("1.0.0", "1.0.0-rc.1"));
        assert!(!is_newer("0.1.0", "0.1.0"));
        assert!(!is_newer("0.0.9", "0.1.0"));
        assert!(!is_newer("latest", "0.1.0"));
        assert!(parse_version("1.2.3+build").is_none());
    }

    #[test]
    fn public_keys_are_read_from_a_pub_file_or_a_line() {
        let line = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
        let file = format!("untrusted comment: minisign public key\n{line}\n");
        assert_eq!(check_public_key(&file).unwrap(), line);
        assert_eq!(check_public_key(line).unwrap(), line);
        assert!(check_public_key("RWQnotakey").is_err());
    }

    #[test]
    fn a_wrong_size_or_digest_is_refused_before_the_signature() {
        let release = UpdateRelease {
            version: "0.2.0".into(),
            kind: "desk-deb".into(),
            size: 3,
            sha256: sha256_hex(b"abc"),
            signature: String::new(),
            notes: String::new(),
            published_at: String::new(),
        };
        let key = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";
        assert!(matches!(
            verify_package(b"abcd", &release, key),
            Err(PackageRefusal::Size { .. })
        ));
        assert_eq!(
            verify_package(b"abd", &release, key),
            Err(PackageRefusal::Digest)
        );
        assert_eq!(
            verify_package(b"abc", &release, key),
            Err(PackageRefusal::BadSignature)
        );
    }
}
