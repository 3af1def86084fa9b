//! Why a read failed, in words the clerk can act on.

use std::time::Duration;

/// A failed read. Each message says what happened and what to do; `code()` is stable for the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("读卡器上没有身份证：请把身份证平放在读卡区后重试。")]
    NoCard,
    #[error("读卡时身份证被移开：请把身份证放回读卡区，读完前不要移动。")]
    CardRemoved,
    #[error("选卡失败：请把身份证平放在读卡区、不要移动，然后重试。")]
    SelectFailed,
    #[error(
        "读卡器传来的数据校验不符（应为 {expected:02X}，收到 {found:02X}），可能是线路干扰：请重新读卡；反复出现请检查读卡器连线。"
    )]
    Checksum { expected: u8, found: u8 },
    #[error("读卡器传来的数据不完整：请重新读卡；反复出现请检查读卡器连线。")]
    ShortFrame,
    #[error(
        "读卡器传来的数据无法识别：请确认所选端口接的是身份证读卡器，波特率与读卡器一致（通常为 115200）。"
    )]
    Garbled,
    #[error("读卡器报告：{message}（状态码 {code:02X}）。")]
    Reader { code: u8, message: &'static str },
    #[error("读卡器返回了无法识别的状态（状态码 {0:02X}）：请重新读卡；反复出现请联系读卡器厂家。")]
    UnknownStatus(u8),
    #[error("身份证上的{field}“{value}”无法识别：请重新读卡。")]
    BadField { field: &'static str, value: String },
    #[error("无法打开读卡器端口 {port}：{reason}。请检查读卡器是否已连接、端口是否选对。")]
    PortOpen { port: String, reason: String },
    #[error("读卡器在 {} 秒内没有应答：请检查读卡器电源和连线，以及所选端口和波特率。", .0.as_secs_f32())]
    Timeout(Duration),
    #[error("与读卡器通信失败：{0}。请检查连线后重试。")]
    Io(String),
    #[error("无法连接读卡服务 {url}：请确认读卡器厂家的读卡服务已安装并启动，地址设置正确。")]
    ServiceUnreachable { url: String },
    #[error("读卡服务地址“{0}”不正确：应为 http://127.0.0.1:端口/路径 这样的地址。")]
    BadUrl(String),
    #[error("读卡服务的应答无法使用：{0}。请检查读卡服务地址和字段对照设置。")]
    ServiceAnswer(String),
}

impl ReadError {
    /// Stable, machine-readable name of the error, for the UI and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::NoCard => "no_card",
            ReadError::CardRemoved => "card_removed",
            ReadError::SelectFailed => "select_failed",
            ReadError::Checksum { .. } => "checksum",
            ReadError::ShortFrame => "short_frame",
            ReadError::Garbled => "garbled",
            ReadError::Reader { .. } => "reader_error",
            ReadError::UnknownStatus(_) => "unknown_status",
            ReadError::BadField { .. } => "bad_field",
            ReadError::PortOpen { .. } => "port_open",
            ReadError::Timeout(_) => "timeout",
            ReadError::Io(_) => "io",
            ReadError::ServiceUnreachable { .. } => "service_unreachable",
            ReadError::BadUrl(_) => "bad_url",
            ReadError::ServiceAnswer(_) => "service_answer",
        }
    }
}
