//! Reading a ledger and checking its rows.

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{Data, Reader, Xlsb, Xlsx, open_workbook, open_workbook_auto};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use serde::Serialize;
use sha2::{Digest, Sha256};
use xinfang_core::reference::ReferenceData;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::LedgerImportRow;

use crate::{COLUMNS, LedgerError, col};

/// A table as read: its header row and its data rows as text, with their row numbers (the
/// header is row 1, as Excel numbers them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    pub headers: Vec<String>,
    pub rows: Vec<(u32, Vec<String>)>,
}

/// One problem of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: u32,
    /// The ledger column's header, e.g. 证件号码.
    pub column: String,
    pub message: String,
}

/// A row that cannot be imported, with its cells as read (for the `*.errors.xlsx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub row: u32,
    pub cells: Vec<String>,
    pub errors: Vec<RowError>,
}

/// A ledger after checking: the good rows ready for `Store::import_ledger`, and the bad ones.
#[derive(Debug, Clone)]
pub struct CheckedLedger {
    pub headers: Vec<String>,
    pub good: Vec<LedgerImportRow>,
    pub bad: Vec<BadRow>,
}

/// Marks a number cell that Excel stored with lost digits (a long ID typed into a number cell).
const LOSSY: &str = "\u{1}lossy:";

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else if f.fract() == 0.0 {
                format!("{LOSSY}{f}")
            } else {
                f.to_string()
            }
        }
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.date() <= NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default() => {
                // A time of day alone (Excel stores it as a fraction of a day).
                t.format("%H:%M").to_string()
            }
            Some(t) if t.time() == NaiveTime::MIN => t.format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
    }
}

/// Reads the first worksheet of an `.xlsx`/`.xls`/`.ods`, or a `.csv` (UTF-8, with or without
/// BOM). Blank rows are skipped; row numbers stay those of the file.
pub fn read_table(path: &Path) -> Result<Sheet, LedgerError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut all: Vec<(u32, Vec<String>)> = Vec::new();
    match ext.as_str() {
        "csv" => {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_path(path)
                .map_err(|e| LedgerError::Open(path.to_path_buf(), e.to_string()))?;
            for (i, rec) in r.records().enumerate() {
                let rec = rec.map_err(|e| {
                    LedgerError::Open(
                        path.to_path_buf(),
                        format!(
                            "第 {} 行不是有效的 CSV（{e}），请用“CSV UTF-8”格式另存",
                            i + 1
                        ),
                    )
                })?;
                let cells = rec
                    .iter()
                    .map(|s| s.trim_start_matches('\u{feff}').trim().to_owned())
                    .collect();
                all.push((u32::try_from(i + 1).unwrap_or(u32::MAX), cells));
            }
        }
        "xlsx" | "xlsm" | "xlsb" => all = read_cells(path, &ext)?,
        "xls" | "ods" => {
            if ext == "ods" {
                check_ods_extent(path)?;
            }
            let mut wb = open_workbook_auto(path)
                .map_err(|e| LedgerError::Open(path.to_path_buf(), e.to_string()))?;
            let range = wb
                .worksheet_range_at(0)
                .ok_or_else(|| LedgerError::Empty(path.to_path_buf()))?
                .map_err(|e| LedgerError::Open(path.to_path_buf(), e.to_string()))?;
            let (top, _) = range.start().unwrap_or((0, 0));
            for (i, row) in range.rows().enumerate() {
                let n = top as usize + i + 1;
                all.push((
                    u32::try_from(n).unwrap_or(u32::MAX),
                    row.iter().map(cell_text).collect(),
                ));
            }
        }
        _ => return Err(LedgerError::Format(path.to_path_buf())),
    }
    all.retain(|(_, cells)| cells.iter().any(|c| !c.is_empty()));
    let mut it = all.into_iter();
    let Some((_, headers)) = it.next() else {
        return Err(LedgerError::Empty(path.to_path_buf()));
    };
    Ok(Sheet {
        headers,
        rows: it.collect(),
    })
}

/// An `.ods`'s first sheet is read as a range, which calamine builds for up to 100 million
/// cells — a few GiB from a tiny file that repeats one cell (`table:number-rows-repeated`,
/// `number-columns-repeated`). So content.xml is scanned first, holding nothing but counters,
/// and a sheet whose content reaches beyond [`MAX_ROWS`] × [`MAX_COLUMNS`] is refused before
/// the range is made; within them the range is at most that rectangle.
fn check_ods_extent(path: &Path) -> Result<(), LedgerError> {
    use quick_xml::events::Event;
    let open = |e: String| LedgerError::Open(path.to_path_buf(), e);
    let file = std::fs::File::open(path).map_err(|e| open(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| open(e.to_string()))?;
    let xml = zip
        .by_name("content.xml")
        .map_err(|e| open(e.to_string()))?;
    let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::new(xml));
    let repeats = |e: &quick_xml::events::BytesStart<'_>, name: &str| -> u64 {
        e.try_get_attribute(name)
            .ok()
            .flatten()
            .and_then(|a| a.value.parse().ok())
            .unwrap_or(1)
    };
    let too_large = |row: u64, column: u64| LedgerError::TooLarge {
        path: path.to_path_buf(),
        row: u32::try_from(row).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    };
    let (mut tables, mut row, mut column) = (0u32, 0u64, 0u64);
    let (mut row_repeats, mut row_has_content) = (1u64, false);
    let mut buf = Vec::new();
    loop {
        match reader
            .read_event_into(&mut buf)
            .map_err(|e| open(e.to_string()))?
        {
            Event::Start(e) if e.name().as_ref() == "table:table" => {
                tables += 1;
                if tables > 1 {
                    break;
                }
            }
            Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                row_repeats = repeats(&e, "table:number-rows-repeated");
                (column, row_has_content) = (0, false);
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                let last = row.saturating_add(row_repeats);
                if row_has_content && last > u64::from(MAX_ROWS) {
                    return Err(too_large(last, column));
                }
                row = last;
            }
            // A cell with content is an element with children or a value type; an empty
            // element is an empty cell, however often repeated.
            event @ (Event::Start(_) | Event::Empty(_)) => {
                let (e, children) = match &event {
                    Event::Start(e) => (e, true),
                    Event::Empty(e) => (e, false),
                    _ => unreachable!("matched above"),
                };
                if !matches!(
                    e.name().as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) {
                    buf.clear();
                    continue;
                }
                let n = repeats(e, "table:number-columns-repeated");
                let filled = children
                    || e.try_get_attribute("office:value-type")
                        .ok()
                        .flatten()
                        .is_some();
                column = column.saturating_add(n);
                if filled {
                    row_has_content = true;
                    if column > u64::from(MAX_COLUMNS) {
                        return Err(too_large(row.saturating_add(1), column));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}

/// Rows a ledger may have (the header included), by the sheet's row number.
pub const MAX_ROWS: u32 = 200_000;
/// Columns a ledger may have: its 15 and room for a hall's own notes.
pub const MAX_COLUMNS: u32 = 64;

/// The first worksheet of an `.xlsx`/`.xlsm`/`.xlsb`, cell by cell: calamine's
/// `worksheet_range` allocates the rectangle spanned by the cells, so two cells at A1 and
/// XFD1048576 in a 1.6 KB file asked for 512 GiB (issue 15, item 13). Here nothing is
/// allocated for a cell before its position is checked, and only cells with content take room.
/// (`.xls` is bounded by its format, 65,536 × 256 cells; an `.ods` is checked first, see
/// [`check_ods_extent`].)
fn read_cells(path: &Path, ext: &str) -> Result<Vec<(u32, Vec<String>)>, LedgerError> {
    let open = |e: String| LedgerError::Open(path.to_path_buf(), e);
    let mut cells: Vec<(u32, u32, String)> = Vec::new();
    let mut keep = |row: u32, column: u32, value: Data| -> Result<(), LedgerError> {
        let text = cell_text(&value);
        if text.is_empty() {
            return Ok(());
        }
        if row >= MAX_ROWS || column >= MAX_COLUMNS {
            return Err(LedgerError::TooLarge {
                path: path.to_path_buf(),
                row: row.saturating_add(1),
                column: column.saturating_add(1),
            });
        }
        cells.push((row, column, text));
        Ok(())
    };
    macro_rules! stream {
        ($wb:expr) => {{
            let mut wb = $wb.map_err(|e| open(e.to_string()))?;
            let name = wb
                .sheet_names()
                .first()
                .cloned()
                .ok_or_else(|| LedgerError::Empty(path.to_path_buf()))?;
            let mut reader = wb
                .worksheet_cells_reader(&name)
                .map_err(|e| open(e.to_string()))?;
            while let Some(cell) = reader.next_cell().map_err(|e| open(e.to_string()))? {
                let (row, column) = cell.get_position();
                keep(row, column, Data::from(cell.get_value().clone()))?;
            }
        }};
    }
    if ext == "xlsb" {
        stream!(open_workbook::<Xlsb<_>, _>(path));
    } else {
        stream!(open_workbook::<Xlsx<_>, _>(path));
    }
    // As the range did: the first column with content is the table's first.
    let first_column = cells.iter().map(|c| c.1).min().unwrap_or(0);
    let mut rows: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for (row, column, text) in cells {
        let at = (column - first_column) as usize;
        let cells = rows.entry(row).or_default();
        if cells.len() <= at {
            cells.resize(at + 1, String::new());
        }
        cells[at] = text;
    }
    Ok(rows
        .into_iter()
        .map(|(row, cells)| (row + 1, cells))
        .collect())
}

fn normalise_header(h: &str) -> String {
    let h = h.split(['（', '(']).next().unwrap_or(h);
    h.chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '＊')
        .collect()
}

/// Where each ledger column is in the sheet.
fn locate(headers: &[String]) -> Result<[Option<usize>; 15], LedgerError> {
    let norm: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
    let mut at = [None; 15];
    for (i, c) in COLUMNS.iter().enumerate() {
        at[i] = norm
            .iter()
            .position(|h| h == c.header || c.aliases.contains(&h.as_str()));
    }
    let missing: Vec<&'static str> = COLUMNS
        .iter()
        .zip(at)
        .filter(|(c, a)| c.required && a.is_none())
        .map(|(c, _)| c.header)
        .collect();
    if missing.is_empty() {
        Ok(at)
    } else {
        Err(LedgerError::MissingColumns(missing))
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(['、', '，', ',', '；', ';', '/', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let day = s.split([' ', 'T']).next().unwrap_or(s);
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(day, f).ok())
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim().replace('：', ":");
    ["%H:%M", "%H:%M:%S", "%H时%M分", "%H点%M分", "%H点"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(&s, f).ok())
}

/// Which ledger column a validation error's field belongs to.
fn column_of(field: &str) -> usize {
    let last = field.rsplit('.').next().unwrap_or(field);
    match (field, last) {
        ("visited_at", _) => col::DATE,
        ("head_count", _) => col::HEAD_COUNT,
        ("representatives", _) => col::REPRESENTATIVES,
        ("appeal", _) => col::APPEAL,
        ("appeal_kind", _) => col::KIND,
        ("category", _) => col::CATEGORY,
        ("agency", _) => col::AGENCY,
        ("place_code", _) => col::PLACE,
        (_, "id_type") => col::ID_TYPE,
        (_, "id_number" | "birth_date") => col::ID_NUMBER,
        (_, "sex") => col::SEX,
        (_, "phone") => col::PHONE,
        (_, "address") => col::ADDRESS,
        _ => col::NAME,
    }
}

/// The fingerprint of a row: SHA-256 of its ledger cells (in [`COLUMNS`] order), so the same
/// row read again, from the same file or a copy with columns moved, is recognised.
fn fingerprint(cells: &[String; 15]) -> String {
    let mut h = Sha256::new();
    for c in cells {
        h.update(c.as_bytes());
        h.update([0x1f]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks every row: what `validate_visit` says, each message at its ledger column. `now` is
/// the desk's clock (visits may not lie in the future).
pub fn check_ledger(
    sheet: &Sheet,
    refdata: &ReferenceData,
    now: DateTime<FixedOffset>,
) -> Result<CheckedLedger, LedgerError> {
    let at = locate(&sheet.headers)?;
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (row_no, cells) in &sheet.rows {
        let get = |c: usize| -> String {
            at[c]
                .and_then(|i| cells.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let own: [String; 15] = std::array::from_fn(get);
        let mut errors: Vec<RowError> = Vec::new();
        let row = *row_no;
        let mk = |c: usize, message: String| RowError {
            row,
            column: COLUMNS[c].header.to_owned(),
            message,
        };
        let input = row_input(&own, &mut |c, m| errors.push(mk(c, m)));
        // The form is checked even when the layout has problems, so the row's every problem is
        // reported at once; a column already flagged is not flagged twice.
        let checked = validate_visit(&input, refdata, now);
        match checked {
            Ok(visit) if errors.is_empty() => good.push(LedgerImportRow {
                fingerprint: fingerprint(&own),
                row_no: row,
                visit,
            }),
            checked => {
                if let Err(v) = checked {
                    for e in v.0 {
                        let e = mk(column_of(&e.field), e.message);
                        if !errors.iter().any(|x| x.column == e.column) {
                            errors.push(e);
                        }
                    }
                }
                errors.sort_by_key(|e| COLUMNS.iter().position(|c| c.header == e.column));
                bad.push(BadRow {
                    row,
                    cells: cells.clone(),
                    errors,
                });
            }
        }
    }
    Ok(CheckedLedger {
        headers: sheet.headers.clone(),
        good,
        bad,
    })
}

/// The registration form a row stands for; problems of the ledger's own layout go to `err`.
fn row_input(c: &[String; 15], err: &mut impl FnMut(usize, String)) -> VisitInput {
    let date = c[col::DATE].trim();
    let day = if date.is_empty() {
        err(col::DATE, "请填写来访日期，如 2025-03-01。".into());
        None
    } else {
        let d = parse_date(date);
        if d.is_none() {
            err(
                col::DATE,
                format!("来访日期“{date}”无法识别，请写成 2025-03-01 或使用日期格式的单元格。"),
            );
        }
        d
    };
    // A date cell with a time, or a separate time column.
    let time_text = if c[col::TIME].trim().is_empty() {
        date.split_once(' ')
            .map(|(_, t)| t.to_owned())
            .unwrap_or_default()
    } else {
        c[col::TIME].trim().to_owned()
    };
    let time = if time_text.is_empty() {
        NaiveTime::from_hms_opt(9, 0, 0)
    } else {
        let t = parse_time(&time_text);
        if t.is_none() {
            err(
                col::TIME,
                format!("来访时间“{time_text}”无法识别，请写成 09:30 的格式，或留空。"),
            );
        }
        t
    };
    let names = split_list(&c[col::NAME]);
    let numbers: Vec<String> = split_list(&c[col::ID_NUMBER]);
    if let Some(n) = numbers.iter().find(|n| n.starts_with(LOSSY)) {
        err(
            col::ID_NUMBER,
            format!(
                "证件号码被 Excel 存成了数字（{}），后几位已经丢失：请把“证件号码”列设为文本格式，重新输入号码后再导入。",
                n.trim_start_matches(LOSSY)
            ),
        );
    }
    if names.is_empty() {
        err(col::NAME, "请填写来访人姓名。".into());
    }
    if !names.is_empty() && numbers.len() != names.len() {
        err(
            col::ID_NUMBER,
            format!(
                "姓名列有 {} 人，证件号码列有 {} 个：请按姓名顺序逐一填写证件号码，用“、”分隔。",
                names.len(),
                numbers.len()
            ),
        );
    }
    let spread = |text: &str, everyone: bool| -> Vec<String> {
        let items = if text.trim().is_empty() {
            Vec::new()
        } else {
            split_list(text)
        };
        (0..names.len())
            .map(|i| {
                if items.len() == names.len() {
                    items[i].clone()
                } else if items.len() == 1 && (everyone || i == 0) {
                    items[0].clone()
                } else {
                    String::new()
                }
            })
            .collect()
    };
    let id_types = spread(&c[col::ID_TYPE], true);
    let sexes = spread(&c[col::SEX], false);
    let phones = spread(&c[col::PHONE], false);
    // An address may itself contain commas: one person's address is taken whole.
    let addresses = if names.len() <= 1 {
        vec![c[col::ADDRESS].trim().to_owned()]
    } else {
        spread(&c[col::ADDRESS], false)
    };
    let head = c[col::HEAD_COUNT].trim();
    let head_count = if head.is_empty() {
        0
    } else {
        match head.trim_end_matches('人').parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                err(
                    col::HEAD_COUNT,
                    format!("来访人数“{head}”不是整数，请填写实到人数，如 6，或留空。"),
                );
                0
            }
        }
    };
    let rep_names = split_list(&c[col::REPRESENTATIVES]);
    let mut representatives = Vec::new();
    for r in &rep_names {
        match names.iter().position(|n| n == r) {
            Some(i) => representatives.push(i),
            None => {
                err(
                    col::REPRESENTATIVES,
                    format!("信访代表“{r}”不在姓名列中：代表须是登记的来访人，请核对姓名。"),
                );
            }
        }
    }
    let group = names.len() > 1 || head_count > 1;
    if rep_names.is_empty() && group && names.len() <= xinfang_core::visit::MAX_REPRESENTATIVES {
        representatives = (0..names.len()).collect();
    }
    let visited_at = match (day, time) {
        (Some(d), Some(t)) => d.and_time(t).format("%Y-%m-%d %H:%M:%S").to_string(),
        _ => String::new(),
    };
    VisitInput {
        visited_at,
        visitors: names
            .iter()
            .enumerate()
            .map(|(i, name)| VisitorInput {
                name: name.clone(),
                id_type: id_types[i].clone(),
                id_number: numbers.get(i).cloned().unwrap_or_default(),
                phone: phones[i].clone(),
                address: addresses.get(i).cloned().unwrap_or_default(),
                sex: sexes[i].clone(),
                ..Default::default()
            })
            .collect(),
        head_count,
        representatives,
        appeal: c[col::APPEAL].trim().to_owned(),
        appeal_kind: c[col::KIND].trim().to_owned(),
        category: c[col::CATEGORY].trim().to_owned(),
        agency: c[col::AGENCY].trim().to_owned(),
        place_code: c[col::PLACE].trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_by_name_and_alias() {
        let h: Vec<String> = [
            "序号",
            "日期",
            "来访人",
            "身份证号",
            "诉求",
            "诉求类别",
            "问题分类（必填）",
        ]
        .map(String::from)
        .to_vec();
        let at = locate(&h).unwrap();
        assert_eq!(at[col::DATE], Some(1));
        assert_eq!(at[col::ID_NUMBER], Some(3));
        assert_eq!(at[col::CATEGORY], Some(6));
        assert_eq!(at[col::TIME], None);
        let e = locate(&h[..3]).unwrap_err();
        assert!(
            e.to_string()
                .contains("证件号码、诉求内容、诉求类别、问题分类")
        );
    }

    #[test]
    fn dates_in_the_shapes_ledgers_use() {
        for s in [
            "2025-03-01",
            "2025/3/1",
            "2025年3月1日",
            "2025.03.01",
            "2025-03-01 10:00",
        ] {
            assert_eq!(parse_date(s), NaiveDate::from_ymd_opt(2025, 3, 1), "{s}");
        }
        assert_eq!(parse_time("9：30"), NaiveTime::from_hms_opt(9, 30, 0));
    }
}
