//! `xinfang stats`, `xinfang export`, `xinfang import`, `xinfang publicity …` and
//! `xinfang matter evaluate`: the figures the bureau reports and the Excel ledgers.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use serde_json::json;
use xinfang_core::FieldError;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::{Action, authorize};
use xinfang_core::stats::{EvaluationInput, Period, PublicityInput, RateKind, validate_publicity};
use xinfang_store::{Count, StatsQuery, Store};

use crate::cli::{Args, login, now};
use crate::output::{CmdResult, Failure, print};

/// The period flags shared by the commands; defaults: the current month up to today.
#[derive(Debug, Clone, ClapArgs)]
pub struct PeriodArgs {
    /// First day, YYYY-MM-DD (default: the 1st of this month).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day, YYYY-MM-DD (default: today).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// The day the figures are taken (default: today): limits running out later are not late.
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// Only this hall (GB/T 2260 code); default: every hall the desk holds.
    #[arg(long)]
    pub hall: Option<String>,
}

impl PeriodArgs {
    fn today(&self) -> NaiveDate {
        self.today.unwrap_or_else(|| now().date_naive())
    }

    fn period(&self, default_from: impl FnOnce(NaiveDate) -> NaiveDate) -> Result<Period, Failure> {
        let today = self.today();
        let from = self.from.unwrap_or_else(|| default_from(today));
        let to = self.to.unwrap_or(today);
        Ok(Period::new(from, to)?)
    }

    fn query(&self) -> Result<StatsQuery, Failure> {
        let period = self.period(|t| t.with_day(1).unwrap_or(t))?;
        Ok(StatsQuery {
            period,
            today: self.today(),
            hall: self.hall.clone(),
        })
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RateArg {
    /// 及时受理率
    TimelyAcceptance,
    /// 按期办结率
    OnTimeConclusion,
    /// 参评率
    Participation,
    /// 满意率
    Satisfaction,
}

impl From<RateArg> for RateKind {
    fn from(r: RateArg) -> RateKind {
        match r {
            RateArg::TimelyAcceptance => RateKind::TimelyAcceptance,
            RateArg::OnTimeConclusion => RateKind::OnTimeConclusion,
            RateArg::Participation => RateKind::Participation,
            RateArg::Satisfaction => RateKind::Satisfaction,
        }
    }
}

#[derive(Debug, ClapArgs)]
pub struct StatsArgs {
    #[command(subcommand)]
    pub command: Option<StatsCommand>,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// List the matters behind one rate instead of the figures.
    #[arg(long, value_enum)]
    pub rate: Option<RateArg>,
    /// List the records the completeness check (有一录一) found wanting.
    #[arg(long, conflicts_with = "rate")]
    pub gaps: bool,
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// The monthly report (信访工作统计月报) of a hall to PDF, with the figures, rates and charts.
    Report(ReportArgs),
}

#[derive(Debug, ClapArgs)]
pub struct ReportArgs {
    /// The month, YYYY-MM.
    #[arg(long)]
    pub month: String,
    /// The PDF file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// The hall (GB/T 2260 code); default: this desk's hall.
    #[arg(long)]
    pub hall: Option<String>,
    /// The day the figures are taken (default: today).
    #[arg(long)]
    pub today: Option<NaiveDate>,
    /// Folder of the hall's adjusted templates (default: <data dir>/templates if present).
    #[arg(long)]
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportKind {
    /// The visit ledger (台账), in the import layout of docs/ledger.md.
    Visits,
    Consultations,
    Mediations,
    Publicity,
    /// The statistics of the period, one sheet per breakdown.
    Stats,
    /// The matters behind one rate (with --rate).
    Rate,
    /// The empty import template (assets/templates/ledger-template.xlsx).
    Template,
}

#[derive(Debug, ClapArgs)]
pub struct ExportArgs {
    #[arg(value_enum)]
    pub kind: ExportKind,
    /// The .xlsx file to write.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// With `rate`: which rate.
    #[arg(long, value_enum)]
    pub rate: Option<RateArg>,
    /// ID numbers and phones in full (supervisors only; the export is logged).
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, ClapArgs)]
pub struct ImportArgs {
    /// The ledger, .xlsx or .csv (layout: docs/ledger.md).
    pub file: PathBuf,
    /// Check every row and report; import nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum PublicityCommand {
    /// Record an activity (or several from a JSON file with --file).
    Add {
        /// JSON file: one activity or an array, fields as in `PublicityInput`.
        #[arg(long, conflicts_with_all = ["date", "place", "unit", "kind"])]
        file: Option<PathBuf>,
        /// Day held, YYYY-MM-DD.
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        place: Option<String>,
        /// Organising unit; repeat for several.
        #[arg(long)]
        unit: Vec<String>,
        /// 进社区 / 进乡村 / 进企业 / 进校园 / 宣讲 / 发放资料 / 网络推文 / 其他.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 0)]
        leaflets: u32,
        #[arg(long, default_value_t = 0)]
        consulted: u32,
        #[arg(long, default_value_t = 0)]
        reached: u32,
        #[arg(long, default_value_t = 0)]
        posts: u32,
        #[arg(long, default_value_t = 0)]
        reads: u32,
        #[arg(long, default_value = "")]
        note: String,
        /// The campaign (活动名称), e.g. 第三届“循法信访、依法办访”法治宣传周; with --file, for
        /// the activities that name none.
        #[arg(long)]
        campaign: Option<String>,
    },
    /// Activities of a period (default: this year), with their county and campaign.
    List {
        #[command(flatten)]
        period: PeriodArgs,
        /// Only the activities of this campaign (活动名称).
        #[arg(long)]
        campaign: Option<String>,
    },
    /// Totals of a period (default: this year), per unit, kind, month and campaign.
    Summary {
        #[command(flatten)]
        period: PeriodArgs,
        /// Only the activities of this campaign (活动名称).
        #[arg(long)]
        campaign: Option<String>,
    },
}

fn year_start(t: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap_or(t)
}

fn counts_line(title: &str, counts: &[Count]) -> String {
    if counts.is_empty() {
        return format!("{title}：无");
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|c| format!("{} {}", c.label, c.count))
        .collect();
    format!("{title}：{}", parts.join("，"))
}

pub fn stats(args: &Args, a: &StatsArgs) -> CmdResult {
    let json = args.json;
    if let Some(StatsCommand::Report(r)) = &a.command {
        return report(args, r);
    }
    let (store, me) = login(args)?;
    authorize(&me.roles, Action::ViewStatistics)?;
    let q = a.period.query()?;
    if let Some(rate) = a.rate {
        let kind = RateKind::from(rate);
        let rows = xinfang_app::stats::rate_matters(&store, &me, &q, kind)?;
        print(json, &json!({ "rate": kind, "matters": rows }), |_| {
            let mut lines = vec![format!(
                "{}（{} 至 {}）：{} 件应计事项",
                kind.label_zh(),
                q.period.from,
                q.period.to,
                rows.len()
            )];
            for m in &rows {
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    if m.counted { "✓" } else { "✗" },
                    m.received_on,
                    m.visitor_names.join("、"),
                    m.category_name,
                    m.status_label,
                    m.matter_id
                ));
            }
            lines.join("\n")
        });
        return Ok(());
    }
    if a.gaps {
        let c = xinfang_app::stats::completeness(&store, &me, &q)?;
        print(json, &c, |c| {
            let mut lines = vec![format!(
                "有一录一检查（{} 至 {}）：来访无事项 {}，事项未登记处理结果 {}，咨询未填法律意见 {}",
                q.period.from,
                q.period.to,
                c.visits_without_matter.len(),
                c.matters_without_disposition.len(),
                c.consultations_without_advice.len()
            )];
            for g in c
                .visits_without_matter
                .iter()
                .chain(&c.matters_without_disposition)
                .chain(&c.consultations_without_advice)
            {
                lines.push(format!("{}\t{}\t{}", g.date, g.id, g.problem));
            }
            lines.join("\n")
        });
        return Ok(());
    }
    let s = xinfang_app::stats::statistics(&store, &me, &q)?;
    print(json, &s, |s| {
        let v = &s.visits;
        let r = &s.rates;
        [
            format!(
                "统计区间 {} 至 {}（数据截至 {}）",
                s.period.from, s.period.to, s.as_of
            ),
            format!(
                "来访 {} 批 {} 人次（去重 {} 人）；初次访 {}，重复访 {}，越级访 {}；集体访 {} 批 {} 人次",
                v.visits,
                v.people,
                v.visitors,
                v.first_visits,
                v.repeat_visits,
                v.skip_level_visits,
                v.group_visits,
                v.group_people
            ),
            counts_line("按月", &s.by_month),
            counts_line("诉求类别", &s.by_appeal_kind),
            counts_line("问题分类", &s.by_category),
            counts_line("处理方式", &s.by_disposition),
            counts_line("接待员", &s.desks.clerks),
            format!(
                "法律咨询 {} 次；人民调解 {} 件（{}），申请司法确认 {}",
                s.consultations.total,
                s.mediations.total,
                s.mediations
                    .by_outcome
                    .iter()
                    .map(|c| format!("{} {}", c.label, c.count))
                    .collect::<Vec<_>>()
                    .join("，"),
                s.mediations.judicial_confirmation
            ),
            format!(
                "积案：新增 {}，化解 {}，期末在办 {}；超期事项 {}",
                s.backlog.opened, s.backlog.cleared, s.backlog.open_at_end, s.overdue.matters
            ),
            format!("及时受理率 {}", r.timely_acceptance.label_zh()),
            format!("按期办结率 {}", r.on_time_conclusion.label_zh()),
            format!("参评率 {}", r.participation.label_zh()),
            format!("满意率 {}", r.satisfaction.label_zh()),
            format!(
                "有一录一：来访无事项 {}，事项未登记处理结果 {}，咨询未填法律意见 {}（用 --gaps 查看明细）",
                s.completeness.visits_without_matter,
                s.completeness.matters_without_disposition,
                s.completeness.consultations_without_advice
            ),
        ]
        .join("\n")
    });
    Ok(())
}

/// `xinfang stats report`: the monthly report of one hall to PDF.
fn report(args: &Args, a: &ReportArgs) -> CmdResult {
    let json = args.json;
    let (from, to) = xinfang_print::report::month_bounds(&a.month)?;
    let (store, me) = login(args)?;
    authorize(&me.roles, Action::ViewStatistics)?;
    let hall = a
        .hall
        .clone()
        .unwrap_or_else(|| store.hall_code().to_owned());
    let generated_on = a.today.unwrap_or_else(|| now().date_naive());
    let q = StatsQuery {
        period: Period::new(from, to)?,
        today: generated_on,
        hall: Some(hall.clone()),
    };
    let s = xinfang_app::stats::statistics(&store, &me, &q)?;
    let (issuer, hall_name) =
        xinfang_core::notice::hall_names(&hall, ReferenceData::bundled().regions);
    let r = xinfang_print::report::monthly(&s, &issuer, &hall_name, generated_on);
    let overrides = match &a.templates {
        Some(t) => Some(t.clone()),
        None => Some(crate::cli::data_dir(args)?.join("templates")).filter(|d| d.is_dir()),
    };
    let print_err = |e: xinfang_print::PrintError| match e {
        xinfang_print::PrintError::MissingGlyphs { .. } => {
            Failure::from(FieldError::new("", "glyph_missing", e.to_string()))
        }
        other => Failure::Other(other.into()),
    };
    let printer = xinfang_print::Printer::bundled(overrides.as_deref()).map_err(print_err)?;
    let pdf = printer.render_report(&r).map_err(print_err)?;
    std::fs::write(&a.out, &pdf).with_context(|| format!("写入 {} 失败", a.out.display()))?;
    print(
        json,
        &json!({ "out": a.out, "hall_code": hall, "hall_name": hall_name,
                 "from": from, "to": to, "visits": s.visits.visits,
                 "rates": s.rates }),
        |_| {
            format!(
                "已生成{hall_name}{}信访工作统计月报：{}",
                r.month_zh,
                a.out.display()
            )
        },
    );
    Ok(())
}

fn ledger_err(e: xinfang_ledger::LedgerError) -> Failure {
    match e {
        xinfang_ledger::LedgerError::Write(..) => Failure::Other(e.into()),
        other => FieldError::new("file", "ledger_unreadable", other.to_string()).into(),
    }
}

/// `sheet` written at `out` with the rows `each` hands over as the store reads them (an export
/// holds one row, whatever the period); how many.
fn streamed<T>(
    out: &Path,
    mut sheet: xinfang_ledger::ListSheet<T>,
    each: impl FnOnce(&mut dyn FnMut(T) -> xinfang_app::CmdResult<()>) -> xinfang_app::CmdResult<()>,
) -> Result<usize, Failure> {
    each(&mut |row| {
        sheet
            .push(&row)
            .map_err(|e| xinfang_app::export_file::write_failed(out, &e))
    })?;
    let rows = sheet.rows();
    sheet.save().map_err(ledger_err)?;
    Ok(rows)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn export(args: &Args, a: &ExportArgs) -> CmdResult {
    let json = args.json;
    if a.kind == ExportKind::Template {
        xinfang_ledger::write_template(&a.out).map_err(ledger_err)?;
        print(json, &json!({ "kind": "template", "out": a.out }), |_| {
            format!("已写出台账导入模板：{}", a.out.display())
        });
        return Ok(());
    }
    let (mut store, me) = login(args)?;
    authorize(&me.roles, Action::ExportLedger)?;
    if a.full {
        authorize(&me.roles, Action::ExportFullIds)?;
    }
    let q = match a.kind {
        ExportKind::Publicity => StatsQuery {
            period: a.period.period(year_start)?,
            today: a.period.today(),
            hall: a.period.hall.clone(),
        },
        _ => a.period.query()?,
    };
    let out = &a.out;
    let (kind, rows) = match a.kind {
        ExportKind::Visits => {
            // The desk's rule: a 检举控告's appeal masked unless exported in full.
            let sheet = xinfang_ledger::ListSheet::visits(out, a.full).map_err(ledger_err)?;
            let rows = streamed(out, sheet, |f| {
                xinfang_app::stats::each_ledger_visit(&store, &me, &q, a.full, f)
            })?;
            ("visits", rows)
        }
        ExportKind::Consultations => {
            let rows = xinfang_app::stats::consultation_ledger(&store, &me, &q)?;
            xinfang_ledger::write_consultations(out, &rows).map_err(ledger_err)?;
            ("consultations", rows.len())
        }
        ExportKind::Mediations => {
            let rows = store.mediation_ledger(&q)?;
            xinfang_ledger::write_mediations(out, &rows).map_err(ledger_err)?;
            ("mediations", rows.len())
        }
        ExportKind::Publicity => {
            let records = xinfang_app::stats::publicity_list(&store, &me, &q.period, None)?;
            let summary = xinfang_app::stats::publicity_summary(&store, &me, &q.period, None)?;
            xinfang_ledger::write_publicity(out, &records, &summary).map_err(ledger_err)?;
            ("publicity", records.len())
        }
        ExportKind::Stats => {
            let s = xinfang_app::stats::statistics(&store, &me, &q)?;
            xinfang_ledger::write_statistics(out, &s).map_err(ledger_err)?;
            ("stats", 1)
        }
        ExportKind::Rate => {
            let Some(rate) = a.rate else {
                return Err(FieldError::new(
                    "rate",
                    "rate_missing",
                    "导出比率明细时请用 --rate 指定比率：timely-acceptance（及时受理率）、on-time-conclusion（按期办结率）、participation（参评率）或 satisfaction（满意率）。",
                )
                .into());
            };
            let kind = RateKind::from(rate);
            let sheet = xinfang_ledger::ListSheet::rate_matters(out, kind).map_err(ledger_err)?;
            let rows = streamed(out, sheet, |f| {
                xinfang_app::stats::each_rate_matter(&store, &me, &q, kind, f)
            })?;
            ("rate", rows)
        }
        ExportKind::Template => {
            xinfang_ledger::write_template(out).map_err(ledger_err)?;
            ("template", 0)
        }
    };
    store.log_export(kind, a.full, rows, &file_name(out), &me.id)?;
    print(
        json,
        &json!({ "kind": kind, "out": out, "rows": rows, "full_ids": a.full,
                 "from": q.period.from, "to": q.period.to }),
        |_| {
            let full = if a.full {
                "（含完整证件号码，已记录）"
            } else {
                ""
            };
            format!("已导出 {rows} 行到 {}{full}", out.display())
        },
    );
    Ok(())
}

pub fn import(args: &Args, a: &ImportArgs) -> CmdResult {
    let json = args.json;
    let (mut store, me) = login(args)?;
    authorize(&me.roles, Action::ImportLedger)?;
    let sheet = xinfang_ledger::read_table(&a.file).map_err(ledger_err)?;
    let checked = xinfang_ledger::check_ledger(&sheet, ReferenceData::bundled(), now())
        .map_err(ledger_err)?;
    let fingerprints: Vec<String> = checked.good.iter().map(|g| g.fingerprint.clone()).collect();
    let known = store.imported_ledger_rows(&fingerprints)?;
    let errors: Vec<&xinfang_ledger::RowError> =
        checked.bad.iter().flat_map(|b| &b.errors).collect();
    let mut already: Vec<u32> = checked
        .good
        .iter()
        .filter(|g| known.contains(&g.fingerprint))
        .map(|g| g.row_no)
        .collect();
    let mut imported = 0;
    let mut errors_file = None;
    if !a.dry_run {
        let outcome = store.import_ledger(&checked.good, &file_name(&a.file), &me.id)?;
        imported = outcome.imported;
        already = outcome.already_imported;
        if !checked.bad.is_empty() {
            let path = xinfang_ledger::errors_path(&a.file);
            xinfang_ledger::write_errors(&path, &checked).map_err(ledger_err)?;
            errors_file = Some(path);
        }
    }
    let report = json!({
        "file": a.file,
        "dry_run": a.dry_run,
        "rows": sheet.rows.len(),
        "good": checked.good.len(),
        "bad": checked.bad.len(),
        "already_imported": already,
        "imported": imported,
        "errors": errors,
        "errors_file": errors_file,
    });
    print(json, &report, |_| {
        let mut lines = Vec::new();
        for e in &errors {
            lines.push(format!("第 {} 行【{}】{}", e.row, e.column, e.message));
        }
        let head = if a.dry_run {
            format!(
                "检查完毕（未导入）：共 {} 行，可导入 {} 行（其中 {} 行此前已导入），有问题 {} 行。",
                sheet.rows.len(),
                checked.good.len(),
                already.len(),
                checked.bad.len()
            )
        } else {
            let errs = errors_file
                .as_ref()
                .map(|p| format!("；有问题的行已写入 {}", p.display()))
                .unwrap_or_default();
            format!(
                "导入完毕：共 {} 行，新导入 {imported} 行，此前已导入 {} 行，有问题 {} 行{errs}。",
                sheet.rows.len(),
                already.len(),
                checked.bad.len()
            )
        };
        lines.insert(0, head);
        lines.join("\n")
    });
    Ok(())
}

fn publicity_inputs(path: &Path) -> Result<Vec<PublicityInput>, Failure> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("读取 {} 失败", path.display()))?;
    let bad = |e: serde_json::Error| {
        Failure::from(FieldError::new(
            "file",
            "json_invalid",
            format!(
                "活动文件不是有效的 JSON：{e}。请写成一个活动对象或活动数组，字段见 PublicityInput（held_on、place、units、kind、leaflets、consulted、reached、posts、reads、campaign）。"
            ),
        ))
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(bad)?;
    let list = match v {
        serde_json::Value::Array(_) => v,
        serde_json::Value::Object(ref o) if o.contains_key("activities") => o["activities"].clone(),
        other => serde_json::Value::Array(vec![other]),
    };
    serde_json::from_value(list).map_err(bad)
}

pub fn publicity(args: &Args, command: &PublicityCommand) -> CmdResult {
    let json = args.json;
    let (mut store, me) = login(args)?;
    match command {
        PublicityCommand::Add {
            file,
            date,
            place,
            unit,
            kind,
            leaflets,
            consulted,
            reached,
            posts,
            reads,
            note,
            campaign,
        } => {
            authorize(&me.roles, Action::RecordPublicity)?;
            let mut inputs = match file {
                Some(f) => publicity_inputs(f)?,
                None => vec![PublicityInput {
                    held_on: date.clone().unwrap_or_default(),
                    place: place.clone().unwrap_or_default(),
                    units: unit.clone(),
                    kind: kind.clone().unwrap_or_default(),
                    leaflets: *leaflets,
                    consulted: *consulted,
                    reached: *reached,
                    posts: *posts,
                    reads: *reads,
                    note: note.clone(),
                    campaign: String::new(),
                }],
            };
            if let Some(c) = campaign {
                for input in inputs.iter_mut().filter(|i| i.campaign.trim().is_empty()) {
                    input.campaign = c.clone();
                }
            }
            let today = now().date_naive();
            // Every activity is checked before any is stored.
            let mut valid = Vec::with_capacity(inputs.len());
            let mut errors = xinfang_core::ValidationErrors::default();
            for (i, input) in inputs.iter().enumerate() {
                match validate_publicity(input, today) {
                    Ok(v) => valid.push(v),
                    Err(e) if inputs.len() == 1 => return Err(e.into()),
                    Err(e) => {
                        for fe in e.0 {
                            let field = format!("activities[{i}].{}", fe.field);
                            errors.push(FieldError {
                                message: format!("第 {} 个活动：{}", i + 1, fe.message),
                                ..fe.at(field)
                            });
                        }
                    }
                }
            }
            if !errors.is_empty() {
                return Err(errors.into());
            }
            let mut ids = Vec::new();
            for v in &valid {
                ids.push(xinfang_app::stats::add_publicity(&mut store, &me, v)?.id);
            }
            print(json, &json!({ "added": ids.len(), "ids": ids }), |_| {
                format!("已登记 {} 场法治宣传活动", ids.len())
            });
        }
        PublicityCommand::List { period, campaign } => {
            authorize(&me.roles, Action::ViewStatistics)?;
            let p = period.period(year_start)?;
            let list = xinfang_app::stats::publicity_list(&store, &me, &p, campaign.as_deref())?;
            print(json, &json!({ "activities": list }), |_| {
                if list.is_empty() {
                    return format!("{} 至 {} 没有登记法治宣传活动。", p.from, p.to);
                }
                list.iter()
                    .map(|r| {
                        let a = &r.activity;
                        format!(
                            "{}\t{}\t{}\t{}\t{}\t{}\t资料 {} 份，咨询 {} 人次，受益 {} 人，推文 {} 篇，阅读 {} 次",
                            a.held_on,
                            r.county,
                            if a.campaign.is_empty() { "（未填活动名称）" } else { &a.campaign },
                            a.kind_label,
                            a.place,
                            a.units.join("、"),
                            a.leaflets,
                            a.consulted,
                            a.reached,
                            a.posts,
                            a.reads
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        PublicityCommand::Summary { period, campaign } => {
            authorize(&me.roles, Action::ViewStatistics)?;
            let p = period.period(year_start)?;
            let s = xinfang_app::stats::publicity_summary(&store, &me, &p, campaign.as_deref())?;
            print(json, &s, |s| {
                let t = &s.totals;
                let of = campaign
                    .as_deref()
                    .map(|c| format!("（{}）", c.trim()))
                    .unwrap_or_default();
                let mut lines = vec![format!(
                    "{} 至 {}{of}：开展活动 {} 场，参与单位 {} 个，发放资料 {} 份，接受咨询 {} 人次，受益群众 {} 人，推文 {} 篇，阅读量 {} 次",
                    p.from,
                    p.to,
                    t.events,
                    t.units,
                    t.leaflets,
                    t.consulted,
                    t.reached,
                    t.posts,
                    t.reads
                )];
                for u in &s.by_unit {
                    lines.push(format!(
                        "  {}：{} 场，资料 {} 份，咨询 {} 人次",
                        u.key, u.totals.events, u.totals.leaflets, u.totals.consulted
                    ));
                }
                if campaign.is_none() && s.by_campaign.len() > 1 {
                    for c in &s.by_campaign {
                        let name = if c.key.is_empty() {
                            "（未填活动名称）"
                        } else {
                            &c.key
                        };
                        lines.push(format!(
                            "  活动 {name}：{} 场，参与单位 {} 个",
                            c.totals.events, c.totals.units
                        ));
                    }
                }
                lines.join("\n")
            });
        }
    }
    Ok(())
}

/// `xinfang matter evaluate`: the visitor's evaluation of a concluded matter.
pub fn evaluate(
    json: bool,
    store: &mut Store,
    me: &xinfang_store::Staff,
    matter_id: &str,
    input: &EvaluationInput,
) -> CmdResult {
    let rec = xinfang_app::stats::evaluate_matter(store, me, matter_id, input, now().date_naive())?;
    print(json, &rec, |r| {
        format!(
            "已登记评价：{}（{}，{}）",
            r.result_label, r.channel_label, r.evaluated_on
        )
    });
    Ok(())
}
