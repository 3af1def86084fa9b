//! The city's reviewer key (issue 15, item 2): a 检举控告's appeal is sealed on the desk to its
//! hall's readers and to this key, so the city can review a report without the server — or
//! anyone holding its database key — reading it. The secret is written once, to a file the city
//! keeps off the server (`reviewer-key init --secret-out`); the server only hands the public key
//! to the desks, as the reference list `reviewer_key` (`<data dir>/reference/reviewer_key.json`).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use xinfang_seal::Opener;

use crate::storage::Storage;

/// The file in the data dir's `reference/` that holds the public key.
pub const PUBLIC_FILE: &str = "reviewer_key.json";

/// Makes the key pair: the secret to `secret_out` (mode 0600, never overwritten), the public key
/// into the data dir's reference lists. Returns the public key (hex).
pub fn init(data_dir: &Path, secret_out: &Path) -> anyhow::Result<String> {
    let public_path = data_dir.join(crate::reference::DIR).join(PUBLIC_FILE);
    if public_path.exists() {
        bail!(
            "已有市级审阅密钥（{}）：换钥前请先移走它，并保留旧私钥以便审阅已加密的内容。",
            public_path.display()
        );
    }
    let secret = xinfang_seal::new_secret();
    let public = xinfang_seal::public_hex(&secret.public_key());
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(secret_out).with_context(|| {
        format!(
            "无法写入私钥文件 {}（已存在的文件不会被覆盖）",
            secret_out.display()
        )
    })?;
    writeln!(f, "{}", &*xinfang_seal::secret_hex(&secret))?;
    f.sync_all()?;
    std::fs::create_dir_all(public_path.parent().expect("a file in a dir"))?;
    std::fs::write(
        &public_path,
        serde_json::json!({ "public": public }).to_string(),
    )?;
    Ok(public)
}

/// Opens the appeal of visit `visit_id` as the city holds it, with the reviewer's secret.
pub fn open_appeal(
    storage: &dyn Storage,
    secret_file: &Path,
    visit_id: &str,
) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(secret_file)
        .with_context(|| format!("无法读取私钥文件 {}", secret_file.display()))?;
    let secret = xinfang_seal::secret_from_hex(text.trim())
        .context("私钥文件格式不对：应为 64 位十六进制数字")?;
    let opener = Opener::city(secret);
    let data = storage
        .record_data("visit", visit_id)?
        .context("市级服务器上没有这条来访记录")?;
    let appeal = data
        .get("appeal")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if !xinfang_seal::is_sealed(appeal) {
        return Ok(appeal.to_owned());
    }
    xinfang_seal::open_text(appeal, &format!("visit:{visit_id}:appeal"), &opener).context(
        "这条内容没有加密给此审阅密钥（登记时接待台尚未收到市级审阅公钥，或密钥不对）：\
         待该厅负责人下次登录后会重新加密。",
    )
}
