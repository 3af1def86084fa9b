//! Excel ledgers (台账): the visit ledger's column layout (`docs/ledger.md`), reading a hall's
//! ledger from `.xlsx` or `.csv` and checking every row with `xinfang_core::visit::validate_visit`,
//! and writing lists and statistics to `.xlsx` with Chinese headers, real dates and set widths.
//!
//! No SQL here: rows go to and come from `xinfang-store`'s ledger functions.

mod read;
mod write;

use std::path::{Path, PathBuf};

pub use read::{
    BadRow, CheckedLedger, MAX_COLUMNS, MAX_ROWS, RowError, Sheet, check_ledger, read_table,
};
pub use write::{
    ListSheet, write_consultations, write_errors, write_mediations, write_publicity,
    write_statistics, write_template, write_visits,
};

/// One column of the visit ledger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    /// The header as written in the template and exports.
    pub header: &'static str,
    /// Other headers hand-kept ledgers use for the same column.
    pub aliases: &'static [&'static str],
    pub required: bool,
    /// Width in Excel character units.
    pub width: f64,
    /// What to write, for the template's notes sheet and `docs/ledger.md`.
    pub note: &'static str,
}

/// Indexes into [`COLUMNS`].
pub mod col {
    pub const DATE: usize = 0;
    pub const TIME: usize = 1;
    pub const NAME: usize = 2;
    pub const ID_TYPE: usize = 3;
    pub const ID_NUMBER: usize = 4;
    pub const SEX: usize = 5;
    pub const PHONE: usize = 6;
    pub const ADDRESS: usize = 7;
    pub const HEAD_COUNT: usize = 8;
    pub const REPRESENTATIVES: usize = 9;
    pub const APPEAL: usize = 10;
    pub const KIND: usize = 11;
    pub const CATEGORY: usize = 12;
    pub const AGENCY: usize = 13;
    pub const PLACE: usize = 14;
}

/// The visit ledger's columns, in template order. Columns are found by their header, so their
/// order in a hall's file does not matter and other columns (序号, 备注 …) are ignored.
pub const COLUMNS: [Column; 15] = [
    Column {
        header: "来访日期",
        aliases: &["日期", "登记日期"],
        required: true,
        width: 12.0,
        note: "日期单元格，或写成 2025-03-01、2025/3/1、2025年3月1日",
    },
    Column {
        header: "来访时间",
        aliases: &["时间"],
        required: false,
        width: 9.0,
        note: "如 09:30；不填按 09:00 登记",
    },
    Column {
        header: "姓名",
        aliases: &["来访人", "来访人姓名", "信访人", "信访人姓名"],
        required: true,
        width: 14.0,
        note: "多人来访时用“、”分隔，如 张三、李四",
    },
    Column {
        header: "证件类型",
        aliases: &[],
        required: false,
        width: 12.0,
        note: "不填为居民身份证；多人时可只填一个（全部相同）或按姓名顺序逐一填写",
    },
    Column {
        header: "证件号码",
        aliases: &["身份证号", "身份证号码", "证件号"],
        required: true,
        width: 22.0,
        note: "按姓名顺序逐一填写，用“、”分隔；请把该列设为文本格式，否则 Excel 会丢掉后几位",
    },
    Column {
        header: "性别",
        aliases: &[],
        required: false,
        width: 6.0,
        note: "男/女；不填按身份证号码推算",
    },
    Column {
        header: "联系电话",
        aliases: &["电话", "手机", "手机号码", "联系方式"],
        required: false,
        width: 14.0,
        note: "只填一个时记在第一位来访人名下",
    },
    Column {
        header: "住址",
        aliases: &["地址", "家庭住址", "现住址"],
        required: false,
        width: 24.0,
        note: "只填一个时记在第一位来访人名下",
    },
    Column {
        header: "来访人数",
        aliases: &["人数"],
        required: false,
        width: 9.0,
        note: "不填按姓名列的人数计；集体访填实到人数",
    },
    Column {
        header: "信访代表",
        aliases: &["代表"],
        required: false,
        width: 14.0,
        note: "集体访的代表（最多 5 人），须是姓名列中的人；不填时姓名列不超过 5 人的全部作为代表",
    },
    Column {
        header: "诉求内容",
        aliases: &["诉求", "反映问题", "主要诉求", "来访事由"],
        required: true,
        width: 40.0,
        note: "来访人要求解决什么问题",
    },
    Column {
        header: "诉求类别",
        aliases: &["诉求类型", "信访类别"],
        required: true,
        width: 12.0,
        note: "建议意见类、检举控告类或申诉求决类",
    },
    Column {
        header: "问题分类",
        aliases: &["问题类别", "分类"],
        required: true,
        width: 14.0,
        note: "如 城乡建设、劳动和社会保障（分类表中的名称或代码）",
    },
    Column {
        header: "涉及单位",
        aliases: &["责任单位"],
        required: false,
        width: 16.0,
        note: "",
    },
    Column {
        header: "问题发生地",
        aliases: &["发生地", "问题属地"],
        required: false,
        width: 12.0,
        note: "6 位行政区划代码，如 140521",
    },
];

/// What can go wrong with a ledger file. `Display` is Chinese and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("无法打开 {0}：{1}。请确认文件存在、未被其他程序占用，且是 .xlsx 或 .csv 文件。")]
    Open(PathBuf, String),
    #[error(
        "{0} 不是 .xlsx 或 .csv 文件：请在 Excel 中“另存为”Excel 工作簿（.xlsx）或 CSV UTF-8 后再导入。"
    )]
    Format(PathBuf),
    #[error("{0} 里没有工作表或没有数据行：请把台账放在第一个工作表，第一行是表头。")]
    Empty(PathBuf),
    #[error("台账缺少必填列：{}。请按 docs/ledger.md 或模板 assets/templates/ledger-template.xlsx 的表头填写（第一行）。", .0.join("、"))]
    MissingColumns(Vec<&'static str>),
    #[error("无法写入 {0}：{1}")]
    Write(PathBuf, String),
    /// A cell beyond what a ledger can have (a huge sparse sheet would take more memory than
    /// the machine has).
    #[error(
        "{path} 的表格太大：第 {row} 行第 {column} 列有内容，而台账最多 {max_rows} 行、{max_columns} 列。请删去表格外的多余内容，或把台账拆成几个文件后再导入。",
        max_rows = read::MAX_ROWS,
        max_columns = read::MAX_COLUMNS
    )]
    TooLarge {
        path: PathBuf,
        row: u32,
        column: u32,
    },
}

/// `F.xlsx` → `F.errors.xlsx` next to it (also for `F.csv`).
pub fn errors_path(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ledger".to_owned());
    file.with_file_name(format!("{stem}.errors.xlsx"))
}
