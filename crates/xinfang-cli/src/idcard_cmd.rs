//! `xinfang idcard`: read a 二代证 on a reader, or run the simulated reader. Neither needs a
//! data dir or a login.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use xinfang_core::FieldError;
use xinfang_idcard::{
    CardRead, FieldMap, HttpConfig, HttpReader, IdReader, ReadError, SerialConfig, SerialReader,
};

use crate::output::{CmdResult, Failure, print};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReaderKind {
    /// The reader's SAM over USB-serial (GA 467 frames).
    Serial,
    /// The local reading service installed with the vendor's driver.
    Http,
}

#[derive(Debug, Subcommand)]
pub enum IdcardCommand {
    /// Read the card on a reader and print its fields.
    Read {
        #[arg(long, value_enum, default_value_t = ReaderKind::Serial)]
        reader: ReaderKind,
        /// Serial port of the reader, e.g. /dev/ttyUSB0 or COM3 (--reader serial).
        #[arg(long)]
        port: Option<String>,
        /// Baud rate of the serial port (8N1).
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// URL of the reading service, e.g. http://127.0.0.1:19196/readcard (--reader http).
        #[arg(long)]
        url: Option<String>,
        /// JSON file naming the service's key for each field, e.g. {"name": "xm"}; fields left
        /// out keep the default keys.
        #[arg(long)]
        field_map: Option<PathBuf>,
        /// Seconds to wait for the reader's answer to each command.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
    /// Start a simulated reader on a pseudo-terminal and serve until stopped. Its port is the
    /// last word of the first line printed.
    Simulate {
        /// JSON file of the card as the chip holds it (name, sex "1"/"2", nation "01", birth
        /// "19850315", address, id_number, authority, valid_from, valid_to "20350601" or "长期");
        /// default: a made-up person with a valid number.
        #[arg(long)]
        card: Option<PathBuf>,
        /// Simulate an empty reader.
        #[arg(long)]
        no_card: bool,
        /// Simulate a card taken away while it is being read.
        #[arg(long, conflicts_with = "no_card")]
        removed_mid_read: bool,
    },
}

pub fn run(json: bool, command: &IdcardCommand) -> CmdResult {
    match command {
        IdcardCommand::Read {
            reader,
            port,
            baud,
            url,
            field_map,
            timeout,
        } => {
            let timeout = Duration::from_secs(*timeout);
            let mut reader: Box<dyn IdReader> = match reader {
                ReaderKind::Serial => {
                    let port = port.as_deref().ok_or_else(|| {
                        FieldError::new(
                            "port",
                            "port_missing",
                            "请用 --port 指定读卡器的串口，例如 /dev/ttyUSB0 或 COM3。",
                        )
                    })?;
                    let config = SerialConfig {
                        baud_rate: *baud,
                        timeout,
                        ..SerialConfig::new(port)
                    };
                    Box::new(SerialReader::open(&config).map_err(reader_failure)?)
                }
                ReaderKind::Http => {
                    let url = url.as_deref().ok_or_else(|| {
                        FieldError::new(
                            "url",
                            "url_missing",
                            "请用 --url 指定读卡服务的地址，例如 http://127.0.0.1:19196/readcard。",
                        )
                    })?;
                    let fields = match field_map {
                        Some(path) => read_field_map(path)?,
                        None => FieldMap::default(),
                    };
                    let config = HttpConfig {
                        fields,
                        timeout,
                        ..HttpConfig::new(url)
                    };
                    Box::new(HttpReader::new(config).map_err(reader_failure)?)
                }
            };
            let card = reader.read().map_err(reader_failure)?;
            if card.expired(crate::cli::now().date_naive()) {
                eprintln!(
                    "提示：此身份证已于 {} 过期，请提醒来访人及时换领。",
                    card.valid_to
                );
            }
            print(json, &card, labelled);
            Ok(())
        }
        IdcardCommand::Simulate {
            card,
            no_card,
            removed_mid_read,
        } => simulate(json, card.as_deref(), *no_card, *removed_mid_read),
    }
}

/// A failed read is the reader's answer, not a crash: exit 1 with its code (no_card …).
fn reader_failure(e: ReadError) -> Failure {
    FieldError::new("reader", e.code(), e.to_string()).into()
}

fn read_field_map(path: &Path) -> Result<FieldMap, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("读取字段对照文件 {} 失败", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        FieldError::new(
            "field_map",
            "field_map_invalid",
            format!(
                "字段对照文件不是有效的 JSON：{e}。应为 {{\"name\": \"xm\", \"id_number\": [\"sfzh\", \"cardNo\"]}} 这样的对照。"
            ),
        )
        .into()
    })
}

fn labelled(card: &CardRead) -> String {
    [
        ("姓名", card.name.clone()),
        ("性别", card.sex.clone()),
        ("民族", card.nation.clone()),
        ("出生日期", card.birth_date.to_string()),
        ("住址", card.address.clone()),
        ("公民身份号码", card.id_number.clone()),
        ("签发机关", card.issuing_authority.clone()),
        (
            "有效期限",
            format!("{} 至 {}", card.valid_from, card.valid_to),
        ),
    ]
    .iter()
    .map(|(label, value)| format!("{label}：{value}"))
    .collect::<Vec<_>>()
    .join("\n")
}

#[cfg(unix)]
fn simulate(json: bool, card: Option<&Path>, no_card: bool, removed_mid_read: bool) -> CmdResult {
    use std::io::Write;
    use xinfang_idcard::{Behaviour, CardText, Simulator};

    let card_invalid =
        |message: String| Failure::from(FieldError::new("card", "card_invalid", message));
    let card: CardText = match card {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("读取卡片文件 {} 失败", path.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| card_invalid(format!("卡片文件不是有效的 JSON：{e}，请检查格式。")))?
        }
        None => xinfang_idcard::test_person(),
    };
    // Refuse up front what a read would refuse, and what does not fit the chip.
    card.interpret().map_err(|e| card_invalid(e.to_string()))?;
    card.encode().map_err(|m| card_invalid(format!("{m}。")))?;
    let (behaviour, what) = if no_card {
        (Behaviour::NoCard, "读卡区无卡")
    } else if removed_mid_read {
        (Behaviour::RemovedMidRead, "读卡时卡被移开")
    } else {
        (Behaviour::Card, "读卡区有卡")
    };
    let sim = Simulator::start(&card, behaviour).map_err(|m| anyhow::anyhow!(m))?;
    let port = sim.path().display().to_string();
    print(json, &json!({ "port": port }), |_| {
        format!("模拟读卡器已启动（{what}），按 Ctrl+C 停止。端口 {port}")
    });
    std::io::stdout().flush()?;
    sim.wait().context("模拟读卡器停止了")?;
    Ok(())
}

#[cfg(not(unix))]
fn simulate(_: bool, _: Option<&Path>, _: bool, _: bool) -> CmdResult {
    Err(anyhow::anyhow!("模拟读卡器需要伪终端，只能在 Linux 或 macOS 上运行。").into())
}
