//! Writing lists and statistics to `.xlsx`: Chinese headers, dates as dates, widths set, the
//! header row frozen and filtered. Document numbers and phones are masked unless `full_ids`.

use std::path::Path;

use chrono::{DateTime, NaiveDate};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
use xinfang_core::id::mask_id;
use xinfang_core::phone::mask_phone;
use xinfang_core::stats::{PublicitySummary, PublicityTotals, Rate, RateKind};
use xinfang_store::{
    Count, LedgerConsultation, LedgerMediation, LedgerVisit, PublicityRecord, RateMatter,
    Statistics,
};

use crate::{COLUMNS, LedgerError, read::CheckedLedger};

/// A value of one cell.
enum V {
    T(String),
    N(f64),
    D(NaiveDate),
    /// Time of day, as an Excel time.
    Tm(chrono::NaiveTime),
}

fn t(s: impl Into<String>) -> V {
    V::T(s.into())
}

fn n(x: impl Into<f64>) -> V {
    V::N(x.into())
}

fn yes(b: bool) -> V {
    t(if b { "是" } else { "否" })
}

struct Formats {
    header: Format,
    date: Format,
    time: Format,
    text: Format,
    title: Format,
}

fn formats() -> Formats {
    Formats {
        header: Format::new()
            .set_bold()
            .set_background_color("#DDEBF7")
            .set_align(FormatAlign::Center)
            .set_border(rust_xlsxwriter::FormatBorder::Thin),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        time: Format::new().set_num_format("hh:mm"),
        // Text, so Excel keeps long numbers (ID numbers) as typed.
        text: Format::new().set_num_format("@"),
        title: Format::new().set_bold().set_font_size(14),
    }
}

fn xe(path: &Path) -> impl Fn(XlsxError) -> LedgerError + '_ {
    move |e| LedgerError::Write(path.to_path_buf(), e.to_string())
}

/// A table being written: its header row at `first_row`, its rows below it one at a time, in
/// order (a list's sheet keeps one row in memory: a month's visits at a city's scale are 85,000
/// rows).
struct Table {
    first_row: u32,
    columns: usize,
    written: u32,
}

impl Table {
    fn start(
        ws: &mut Worksheet,
        f: &Formats,
        first_row: u32,
        headers: &[(&str, f64)],
    ) -> Result<Table, XlsxError> {
        for (c, (h, w)) in headers.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string_with_format(first_row, c, *h, &f.header)?;
            ws.set_column_width(c, *w)?;
        }
        Ok(Table {
            first_row,
            columns: headers.len(),
            written: 0,
        })
    }

    fn row(&mut self, ws: &mut Worksheet, f: &Formats, row: &[V]) -> Result<(), XlsxError> {
        self.written += 1;
        let r = self.first_row + self.written;
        for (c, v) in row.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            match v {
                V::T(s) if s.is_empty() => {}
                V::T(s) => {
                    ws.write_string_with_format(r, c, s, &f.text)?;
                }
                V::N(x) => {
                    ws.write_number(r, c, *x)?;
                }
                V::D(d) => {
                    ws.write_datetime_with_format(r, c, d, &f.date)?;
                }
                V::Tm(tm) => {
                    ws.write_datetime_with_format(r, c, tm, &f.time)?;
                }
            }
        }
        Ok(())
    }

    /// The header row frozen and filtered over the rows written.
    fn finish(self, ws: &mut Worksheet) -> Result<(), XlsxError> {
        if self.columns > 0 {
            ws.set_freeze_panes(self.first_row + 1, 0)?;
            ws.autofilter(
                self.first_row,
                0,
                self.first_row + self.written,
                u16::try_from(self.columns - 1).unwrap_or(0),
            )?;
        }
        Ok(())
    }
}

/// A sheet's table: `headers` at `first_row`, `rows` below them.
fn table<R: AsRef<[V]>>(
    ws: &mut Worksheet,
    f: &Formats,
    first_row: u32,
    headers: &[(&str, f64)],
    rows: impl IntoIterator<Item = R>,
) -> Result<(), XlsxError> {
    let mut t = Table::start(ws, f, first_row, headers)?;
    for row in rows {
        t.row(ws, f, row.as_ref())?;
    }
    t.finish(ws)
}

fn save(mut wb: Workbook, path: &Path) -> Result<(), LedgerError> {
    wb.save(path).map_err(xe(path))
}

fn joined(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join("、")
}

/// The ledger headers, then the columns only an export has.
const VISIT_EXTRA: [(&str, f64); 7] = [
    ("排队号", 7.0),
    ("登记员", 10.0),
    ("重复访", 7.0),
    ("处理方式", 12.0),
    ("事项状态", 10.0),
    ("来访编号", 24.0),
    ("事项编号", 22.0),
];

fn visit_headers() -> Vec<(&'static str, f64)> {
    COLUMNS
        .iter()
        .map(|c| (c.header, c.width))
        .chain(VISIT_EXTRA)
        .collect()
}

/// The visit ledger in the layout of `docs/ledger.md` (so an export with full numbers imports
/// again), plus the columns only the desk knows. For a 检举控告 visit the reporter's identity is
/// left out unless `full_ids`.
pub fn write_visits(
    path: &Path,
    visits: &[LedgerVisit],
    full_ids: bool,
) -> Result<(), LedgerError> {
    let mut sheet = ListSheet::visits(path, full_ids)?;
    for v in visits {
        sheet.push(v)?;
    }
    sheet.save()
}

/// A list's sheet written a row at a time, as the store reads them: memory stays that of one
/// row whatever the period ([`ListSheet::visits`], [`ListSheet::rate_matters`]).
pub struct ListSheet<T> {
    path: std::path::PathBuf,
    wb: Workbook,
    f: Formats,
    table: Table,
    row: RowOf<T>,
}

/// How a list's item becomes its row.
type RowOf<T> = Box<dyn Fn(&T) -> Vec<V>>;

impl ListSheet<LedgerVisit> {
    /// The visit ledger ([`write_visits`]).
    pub fn visits(path: &Path, full_ids: bool) -> Result<Self, LedgerError> {
        ListSheet::new(path, "来访台账", &visit_headers(), move |v| {
            visit_row(v, full_ids)
        })
    }
}

impl ListSheet<RateMatter> {
    /// The matters behind one rate (`xinfang export rate`).
    pub fn rate_matters(path: &Path, kind: RateKind) -> Result<Self, LedgerError> {
        ListSheet::new(path, kind.label_zh(), &rate_headers(kind), rate_matter_row)
    }
}

impl<T> ListSheet<T> {
    fn new(
        path: &Path,
        name: &str,
        headers: &[(&str, f64)],
        row: impl Fn(&T) -> Vec<V> + 'static,
    ) -> Result<Self, LedgerError> {
        let mut wb = Workbook::new();
        let f = formats();
        let ws = wb.add_worksheet_with_constant_memory().map_err(xe(path))?;
        ws.set_name(name).map_err(xe(path))?;
        let table = Table::start(ws, &f, 0, headers).map_err(xe(path))?;
        Ok(ListSheet {
            path: path.to_path_buf(),
            wb,
            f,
            table,
            row: Box::new(row),
        })
    }

    pub fn push(&mut self, item: &T) -> Result<(), LedgerError> {
        let row = (self.row)(item);
        let path = &self.path;
        let ws = self.wb.worksheet_from_index(0).map_err(xe(path))?;
        self.table.row(ws, &self.f, &row).map_err(xe(path))
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.table.written as usize
    }

    pub fn save(mut self) -> Result<(), LedgerError> {
        let path = &self.path;
        let ws = self.wb.worksheet_from_index(0).map_err(xe(path))?;
        self.table.finish(ws).map_err(xe(path))?;
        save(self.wb, path)
    }
}

/// One visit's row of the ledger.
fn visit_row(v: &LedgerVisit, full_ids: bool) -> Vec<V> {
    let at = DateTime::parse_from_rfc3339(&v.visited_at).ok();
    let hide = v.confidential && !full_ids;
    let people = |f: &dyn Fn(&xinfang_store::LedgerPerson) -> String| -> String {
        if hide {
            String::new()
        } else {
            joined(v.people.iter().map(f))
        }
    };
    let names = if hide {
        "（检举控告，已隐去）".to_owned()
    } else {
        joined(v.people.iter().map(|p| p.name.clone()))
    };
    let reps = if v.people.len() > 1 || v.head_count > 1 {
        people(&|p| {
            if p.representative {
                p.name.clone()
            } else {
                String::new()
            }
        })
        .split('、')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("、")
    } else {
        String::new()
    };
    let one = |f: &dyn Fn(&xinfang_store::LedgerPerson) -> Option<String>| -> String {
        if hide || v.people.iter().all(|p| f(p).is_none()) {
            String::new()
        } else {
            joined(v.people.iter().map(|p| f(p).unwrap_or_default()))
        }
    };
    vec![
        at.map_or_else(|| t(""), |a| V::D(a.date_naive())),
        at.map_or_else(|| t(""), |a| V::Tm(a.time())),
        t(names),
        people(&|p| p.id_type.clone()).into(),
        people(&|p| {
            if full_ids {
                p.id_number.clone()
            } else {
                mask_id(&p.id_number)
            }
        })
        .into(),
        one(&|p| p.sex.clone()).into(),
        one(&|p| {
            p.phone
                .as_ref()
                .map(|ph| if full_ids { ph.clone() } else { mask_phone(ph) })
        })
        .into(),
        one(&|p| p.address.clone()).into(),
        n(v.head_count as f64),
        t(reps),
        t(v.appeal.clone()),
        t(v.appeal_kind_label.clone()),
        t(v.category_name.clone()),
        t(v.agency.clone()),
        t(v.place_code.clone()),
        n(v.queue_no as f64),
        t(v.clerk_name.clone()),
        yes(v.is_repeat),
        t(v.disposition_label.clone()),
        t(v.status_label.clone()),
        t(v.number.clone()),
        t(v.matter_number.clone().unwrap_or_default()),
    ]
}

impl From<String> for V {
    fn from(s: String) -> V {
        V::T(s)
    }
}

fn example_id(body17: &str) -> String {
    let check = xinfang_core::id::resident_id_check_char(body17).unwrap_or('0');
    format!("{body17}{check}")
}

/// An empty ledger with the headers, one example row and a notes sheet (`assets/templates/`).
pub fn write_template(path: &Path) -> Result<(), LedgerError> {
    let mut wb = Workbook::new();
    let f = formats();
    let ws = wb.add_worksheet();
    ws.set_name("来访台账").map_err(xe(path))?;
    let headers: Vec<(&str, f64)> = COLUMNS.iter().map(|c| (c.header, c.width)).collect();
    let example = vec![
        V::D(NaiveDate::from_ymd_opt(2025, 3, 3).unwrap_or_default()),
        t("09:30"),
        t("张三、李四"),
        t("居民身份证"),
        t(format!(
            "{}、{}",
            example_id("14052119800115013"),
            example_id("14052119750301024")
        )),
        t("男、女"),
        t("13912345678"),
        t("沁水县龙港镇某村"),
        n(2),
        t("张三"),
        t("要求解决土地承包纠纷（示例行，导入前请删除）"),
        t("申诉求决类"),
        t("农村农业"),
        t("县农业农村局"),
        t("140521"),
    ];
    table(ws, &f, 0, &headers, &[example]).map_err(xe(path))?;
    // Whole columns as text where numbers must stay as typed.
    for c in [crate::col::ID_NUMBER, crate::col::PHONE, crate::col::PLACE] {
        let c = u16::try_from(c).unwrap_or(0);
        ws.set_column_format(c, &f.text).map_err(xe(path))?;
    }
    let notes = wb.add_worksheet();
    notes.set_name("填写说明").map_err(xe(path))?;
    notes
        .write_string_with_format(
            0,
            0,
            "来访台账导入模板：第一行是表头，每一行是一次来访（集体访一行）。",
            &f.title,
        )
        .map_err(xe(path))?;
    let rows: Vec<Vec<V>> = COLUMNS
        .iter()
        .map(|c| {
            vec![
                t(c.header),
                t(if c.required { "必填" } else { "选填" }),
                t(c.aliases.join("、")),
                t(c.note),
            ]
        })
        .collect();
    table(
        notes,
        &f,
        2,
        &[
            ("表头", 12.0),
            ("是否必填", 9.0),
            ("也可写作", 24.0),
            ("填写要求", 80.0),
        ],
        &rows,
    )
    .map_err(xe(path))?;
    save(wb, path)
}

/// The bad rows of an import, as read, with a 错误说明 column (row number, column, message).
pub fn write_errors(path: &Path, checked: &CheckedLedger) -> Result<(), LedgerError> {
    let mut wb = Workbook::new();
    let f = formats();
    let ws = wb.add_worksheet();
    ws.set_name("未导入的行").map_err(xe(path))?;
    let mut headers: Vec<(&str, f64)> = vec![("原行号", 7.0), ("错误说明", 60.0)];
    let owned: Vec<String> = checked.headers.clone();
    for h in &owned {
        headers.push((h.as_str(), 14.0));
    }
    let rows: Vec<Vec<V>> = checked
        .bad
        .iter()
        .map(|b| {
            let msg = b
                .errors
                .iter()
                .map(|e| format!("【{}】{}", e.column, e.message))
                .collect::<Vec<_>>()
                .join("\n");
            let mut row = vec![n(b.row), t(msg)];
            row.extend(b.cells.iter().map(|c| t(c.clone())));
            row
        })
        .collect();
    table(ws, &f, 0, &headers, &rows).map_err(xe(path))?;
    save(wb, path)
}

pub fn write_consultations(path: &Path, rows: &[LedgerConsultation]) -> Result<(), LedgerError> {
    let mut wb = Workbook::new();
    let f = formats();
    let ws = wb.add_worksheet_with_constant_memory().map_err(xe(path))?;
    ws.set_name("法律咨询").map_err(xe(path))?;
    let data = rows.iter().map(|c| {
        vec![
            c.date.parse().map_or_else(|_| t(c.date.clone()), V::D),
            t(joined(c.visitor_names.iter().cloned())),
            t(c.lawyer_name.clone()),
            t(c.question.clone()),
            t(c.advice.clone()),
            t(c.legal_route_name.clone()),
            t(c.laws_cited.clone()),
            n(c.duration_minutes as f64),
            yes(c.follow_up),
            t(c.visit_number.clone()),
            // The record's id stays: `xinfang notice render --consultation` takes it.
            t(c.id.clone()),
        ]
    });
    table(
        ws,
        &f,
        0,
        &[
            ("咨询日期", 12.0),
            ("来访人", 14.0),
            ("值班律师", 10.0),
            ("咨询问题", 36.0),
            ("法律意见", 40.0),
            ("建议途径", 14.0),
            ("引用法律", 24.0),
            ("时长（分钟）", 10.0),
            ("需跟进", 8.0),
            ("来访编号", 24.0),
            ("记录编号", 38.0),
        ],
        data,
    )
    .map_err(xe(path))?;
    save(wb, path)
}

pub fn write_mediations(path: &Path, rows: &[LedgerMediation]) -> Result<(), LedgerError> {
    let mut wb = Workbook::new();
    let f = formats();
    let ws = wb.add_worksheet_with_constant_memory().map_err(xe(path))?;
    ws.set_name("人民调解").map_err(xe(path))?;
    let data = rows.iter().map(|m| {
        vec![
            m.date.parse().map_or_else(|_| t(m.date.clone()), V::D),
            t(joined(m.applicants.iter().cloned())),
            t(joined(m.respondents.iter().cloned())),
            t(m.dispute_type_name.clone()),
            t(m.mediator_name.clone()),
            n(m.sessions as f64),
            t(m.outcome_label.clone()),
            yes(m.judicial_confirmation),
            t(m.visit_number.clone()),
            // The record's id stays: `xinfang notice render --mediation` takes it.
            t(m.id.clone()),
        ]
    });
    table(
        ws,
        &f,
        0,
        &[
            ("受理日期", 12.0),
            ("申请人", 14.0),
            ("被申请人", 14.0),
            ("纠纷类型", 14.0),
            ("调解员", 10.0),
            ("调解次数", 9.0),
            ("调解结果", 10.0),
            ("申请司法确认", 12.0),
            ("来访编号", 24.0),
            ("记录编号", 38.0),
        ],
        data,
    )
    .map_err(xe(path))?;
    save(wb, path)
}

fn totals_row(key: &str, t_: &PublicityTotals) -> Vec<V> {
    vec![
        t(key),
        n(t_.events as f64),
        n(t_.units as f64),
        n(t_.leaflets as f64),
        n(t_.consulted as f64),
        n(t_.reached as f64),
        n(t_.posts as f64),
        n(t_.reads as f64),
    ]
}

const TOTAL_HEADERS: [(&str, f64); 8] = [
    ("", 24.0),
    ("开展活动（场）", 14.0),
    ("参与单位（个）", 14.0),
    ("发放资料（份）", 14.0),
    ("接受咨询（人次）", 16.0),
    ("受益群众（人）", 14.0),
    ("推文（篇）", 10.0),
    ("阅读量（次）", 12.0),
];

/// Publicity activities with their county and campaign, and their totals per period, unit,
/// kind, month and campaign.
pub fn write_publicity(
    path: &Path,
    records: &[PublicityRecord],
    summary: &PublicitySummary,
) -> Result<(), LedgerError> {
    let mut wb = Workbook::new();
    let f = formats();
    let ws = wb.add_worksheet();
    ws.set_name("宣传活动").map_err(xe(path))?;
    let data: Vec<Vec<V>> = records
        .iter()
        .map(|r| {
            let a = &r.activity;
            vec![
                V::D(a.held_on),
                t(r.county.clone()),
                t(a.campaign.clone()),
                t(a.place.clone()),
                t(a.units.join("、")),
                t(a.kind_label.clone()),
                n(a.leaflets),
                n(a.consulted),
                n(a.reached),
                n(a.posts),
                n(a.reads),
                t(a.note.clone()),
            ]
        })
        .collect();
    table(
        ws,
        &f,
        0,
        &[
            ("活动日期", 12.0),
            ("县（市、区）", 12.0),
            ("活动名称", 30.0),
            ("地点", 20.0),
            ("组织单位", 36.0),
            ("活动形式", 10.0),
            ("发放资料（份）", 14.0),
            ("接受咨询（人次）", 16.0),
            ("受益群众（人）", 14.0),
            ("推文（篇）", 10.0),
            ("阅读量（次）", 12.0),
            ("备注", 20.0),
        ],
        &data,
    )
    .map_err(xe(path))?;
    for (name, first, groups) in [
        ("合计", "合计", None),
        ("按单位", "单位", Some(&summary.by_unit)),
        ("按形式", "活动形式", Some(&summary.by_kind)),
        ("按月份", "月份", Some(&summary.by_month)),
        ("按活动名称", "活动名称", Some(&summary.by_campaign)),
    ] {
        let ws = wb.add_worksheet();
        ws.set_name(name).map_err(xe(path))?;
        let mut headers = TOTAL_HEADERS;
        headers[0].0 = first;
        let rows: Vec<Vec<V>> = match groups {
            None => vec![totals_row("合计", &summary.totals)],
            Some(g) => g
                .iter()
                .map(|g| {
                    totals_row(
                        if g.key.is_empty() {
                            "（未填）"
                        } else {
                            &g.key
                        },
                        &g.totals,
                    )
                })
                .collect(),
        };
        table(ws, &f, 0, &headers, &rows).map_err(xe(path))?;
    }
    save(wb, path)
}

fn rate_row(kind: RateKind, r: &Rate) -> Vec<V> {
    vec![
        t(kind.label_zh()),
        r.percent.map_or_else(|| t("—"), |p| n(p / 100.0)),
        n(r.numerator),
        n(r.denominator),
        t(kind.definition_zh()),
    ]
}

/// The statistics of a period: an overview sheet with the rates, and one sheet per breakdown.
pub fn write_statistics(path: &Path, s: &Statistics) -> Result<(), LedgerError> {
    let mut wb = Workbook::new();
    let f = formats();
    let pct = Format::new().set_num_format("0.00%");
    let ws = wb.add_worksheet();
    ws.set_name("概况").map_err(xe(path))?;
    let title = format!(
        "信访接待统计 {} 至 {}（数据截至 {}）",
        s.period.from, s.period.to, s.as_of
    );
    ws.write_string_with_format(0, 0, &title, &f.title)
        .map_err(xe(path))?;
    let v = &s.visits;
    let figures: Vec<Vec<V>> = [
        ("来访批次", v.visits),
        ("来访人次", v.people),
        ("来访人数（去重）", v.visitors),
        ("初次访", v.first_visits),
        ("重复访", v.repeat_visits),
        ("越级访", v.skip_level_visits),
        ("集体访批次（5人及以上）", v.group_visits),
        ("集体访人次", v.group_people),
        ("法律咨询", s.consultations.total),
        ("人民调解", s.mediations.total),
        ("申请司法确认", s.mediations.judicial_confirmation),
        ("新增积案", s.backlog.opened),
        ("化解积案", s.backlog.cleared),
        ("期末在办积案", s.backlog.open_at_end),
        ("超期事项", s.overdue.matters),
        ("有来访无事项", s.completeness.visits_without_matter),
        (
            "事项未登记处理结果",
            s.completeness.matters_without_disposition,
        ),
        (
            "咨询记录未填法律意见",
            s.completeness.consultations_without_advice,
        ),
    ]
    .into_iter()
    .map(|(k, x)| vec![t(k), n(x as f64)])
    .collect();
    table(ws, &f, 2, &[("项目", 26.0), ("数量", 12.0)], &figures).map_err(xe(path))?;
    let start = 2 + u32::try_from(figures.len()).unwrap_or(0) + 2;
    let r = &s.rates;
    let rates = [
        rate_row(RateKind::TimelyAcceptance, &r.timely_acceptance),
        rate_row(RateKind::OnTimeConclusion, &r.on_time_conclusion),
        rate_row(RateKind::Participation, &r.participation),
        rate_row(RateKind::Satisfaction, &r.satisfaction),
    ];
    let hdr = [
        ("指标", 26.0),
        ("比率", 12.0),
        ("分子", 8.0),
        ("分母", 8.0),
        ("口径", 90.0),
    ];
    for (c, (h, _)) in hdr.iter().enumerate() {
        ws.write_string_with_format(start, u16::try_from(c).unwrap_or(0), *h, &f.header)
            .map_err(xe(path))?;
    }
    ws.set_column_width(2, 8).map_err(xe(path))?;
    ws.set_column_width(3, 8).map_err(xe(path))?;
    ws.set_column_width(4, 90).map_err(xe(path))?;
    for (i, row) in rates.iter().enumerate() {
        let rr = start + 1 + u32::try_from(i).unwrap_or(0);
        for (c, v) in row.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(0);
            match v {
                V::N(x) if c == 1 => ws.write_number_with_format(rr, c, *x, &pct),
                V::N(x) => ws.write_number(rr, c, *x),
                V::T(s) => ws.write_string(rr, c, s),
                _ => continue,
            }
            .map_err(xe(path))?;
        }
    }
    let breakdowns: [(&str, &str, &[Count]); 16] = [
        ("按大厅", "接待大厅", &s.by_hall),
        ("按日", "日期", &s.by_day),
        ("按月", "月份", &s.by_month),
        ("按年", "年份", &s.by_year),
        ("按诉求类别", "诉求类别", &s.by_appeal_kind),
        ("按问题分类", "问题分类", &s.by_category),
        ("按涉及单位", "涉及单位", &s.by_agency),
        ("按处理方式", "处理方式", &s.by_disposition),
        ("按法定途径", "法定途径", &s.by_legal_route),
        ("接待员", "接待员", &s.desks.clerks),
        ("值班律师", "值班律师", &s.desks.lawyers),
        ("调解员", "调解员", &s.desks.mediators),
        ("咨询建议途径", "建议途径", &s.consultations.by_route),
        ("调解结果", "调解结果", &s.mediations.by_outcome),
        ("满意度评价", "评价", &s.rates.evaluations),
        ("超期期限", "期限", &s.overdue.by_deadline),
    ];
    for (sheet, head, counts) in breakdowns {
        let ws = wb.add_worksheet();
        ws.set_name(sheet).map_err(xe(path))?;
        let rows: Vec<Vec<V>> = counts
            .iter()
            .map(|c| {
                let first = if head == "日期" {
                    c.key.parse().map_or_else(|_| t(c.label.clone()), V::D)
                } else {
                    t(c.label.clone())
                };
                vec![first, n(c.count as f64)]
            })
            .collect();
        table(ws, &f, 0, &[(head, 24.0), ("数量", 10.0)], &rows).map_err(xe(path))?;
    }
    save(wb, path)
}

fn rate_headers(kind: RateKind) -> [(&'static str, f64); 10] {
    let counted = match kind {
        RateKind::TimelyAcceptance => "是否及时",
        RateKind::OnTimeConclusion => "是否按期",
        RateKind::Participation => "是否参评",
        RateKind::Satisfaction => "是否满意",
    };
    [
        ("登记日期", 12.0),
        ("信访人", 14.0),
        ("诉求类别", 12.0),
        ("问题分类", 14.0),
        ("事项状态", 10.0),
        ("期限", 12.0),
        ("完成日期", 12.0),
        ("评价", 10.0),
        (counted, 10.0),
        ("事项编号", 22.0),
    ]
}

fn rate_matter_row(m: &RateMatter) -> Vec<V> {
    vec![
        V::D(m.received_on),
        t(joined(m.visitor_names.iter().cloned())),
        t(m.appeal_kind_label.clone()),
        t(m.category_name.clone()),
        t(m.status_label.clone()),
        m.due.map_or_else(|| t(""), V::D),
        m.done_on.map_or_else(|| t(""), V::D),
        t(m.evaluation.clone().unwrap_or_default()),
        yes(m.counted),
        t(m.matter_number.clone()),
    ]
}
