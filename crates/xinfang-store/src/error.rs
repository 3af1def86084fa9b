use std::path::PathBuf;

use xinfang_core::ValidationErrors;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the store. `Display` is Chinese: it reaches clerks through the CLI and app.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据目录 {0} 中已有数据库，不能覆盖：如需重新开始，请换一个数据目录。")]
    AlreadyExists(PathBuf),
    #[error("数据目录 {0} 中还没有数据库：请先运行 `xinfang init` 或在桌面端完成首次设置。")]
    NotInitialised(PathBuf),
    #[error("无法访问 {0}：{1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("用户名或密码不正确，请重新输入。")]
    BadCredentials,
    #[error("密码错误次数过多：为防止猜测密码，请 {0} 秒后再试（其他账号不受影响）。")]
    TooManyAttempts(u64),
    #[error("数据库已加密，需要登录解锁：密钥不正确或数据库文件已损坏。")]
    WrongKey,
    #[error("{0}")]
    Encryption(String),
    #[error("账号 {0} 已停用，请联系管理员。")]
    Disabled(String),
    #[error("没有找到{0}。")]
    NotFound(String),
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    #[error("数据库已损坏：{0}")]
    Corrupt(String),
    #[error("数据库错误：{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("数据库升级失败：{0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// The file was opened by a newer version of the program, which changed its structure; an
    /// older one must not write to it.
    #[error(
        "这份数据已由更新版本的信访接待台打开过，本程序版本较旧，不能打开。数据没有改动：请安装最新版本后再试。"
    )]
    NewerVersion,
    #[error("密码处理失败：{0}")]
    Password(String),
    /// A staff change needs an admin's signature and this session holds no admin's key (not
    /// logged in as an admin, or the key did not open with the password).
    #[error(
        "修改工作人员账号需要以管理员身份登录：账号的变更要由管理员的密钥签名。请用管理员账号登录后再试。"
    )]
    NeedsAdminKey,
}

impl From<xinfang_core::FieldError> for StoreError {
    fn from(e: xinfang_core::FieldError) -> Self {
        StoreError::Invalid(e.into())
    }
}

impl From<xinfang_seal::SealError> for StoreError {
    fn from(e: xinfang_seal::SealError) -> Self {
        StoreError::Encryption(e.to_string())
    }
}
