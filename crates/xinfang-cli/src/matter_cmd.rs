//! `xinfang matter …`, `xinfang backlog …`, `xinfang notice …`: the legal engine from the
//! command line. Every command logs in and is authorized through the role × action matrix; the
//! matter commands and matter notices go through xinfang-app's use cases, so a 检举控告 is
//! refused and audited exactly as on the desk.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use clap::Subcommand;
use serde_json::json;
use xinfang_app::matters::{self, ProposeRouteInput};
use xinfang_core::FieldError;
use xinfang_core::backlog::{ClearInput, FlagInput, NoteInput};
use xinfang_core::classify::ClassifyInput;
use xinfang_core::matter::MatterEvent;
use xinfang_core::notice::{self, LegalOpinionInput, NoticeData, NoticeKind};
use xinfang_core::staff::{Action, authorize};
use xinfang_print::{PrintError, Printer};
use xinfang_store::{BacklogCase, BacklogFilter, DueItem};

use crate::cli::{Args, data_dir, login, now};
use crate::output::{CmdResult, Failure, print};

#[derive(Debug, Subcommand)]
pub enum MatterCommand {
    /// One matter: status, deadlines (days left), events, the steps it can take next.
    Show {
        id: String,
        /// Count days left from this day (default: today).
        #[arg(long)]
        today: Option<NaiveDate>,
    },
    /// Record a step, e.g. {"kind":"accept","at":"2026-11-26","notice_no":null}.
    Event {
        id: String,
        /// JSON file with the step.
        #[arg(long, conflicts_with = "json_event")]
        file: Option<PathBuf>,
        /// The step as inline JSON.
        #[arg(long = "event")]
        json_event: Option<String>,
    },
    /// Set the kind, category and (claims only) legal route.
    Classify {
        id: String,
        /// suggestion | report | claim, or the Chinese name.
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        category: String,
        #[arg(long, default_value = "")]
        route: String,
    },
    /// The lawyer proposes a legal route for a claim.
    ProposeRoute {
        id: String,
        #[arg(long)]
        route: String,
        #[arg(long, default_value = "")]
        note: String,
        /// The consultation the proposal comes from.
        #[arg(long)]
        consultation: Option<String>,
    },
    /// The clerk confirms the proposed route, or sets another with --route.
    ConfirmRoute {
        id: String,
        #[arg(long)]
        route: Option<String>,
    },
    /// Overdue limits and limits due within 3 days, for this hall.
    Due {
        #[arg(long)]
        today: Option<NaiveDate>,
    },
    /// The matter registered with a visit.
    OfVisit { visit_id: String },
    /// A person's matters with their status and 事项编号, to attach a repeat visit (`"matter_id"`
    /// in the visit's JSON: the number or the id).
    List {
        /// The person's document number.
        #[arg(long)]
        visitor: String,
    },
    /// Record the visitor's evaluation of a concluded matter (满意/基本满意/不满意).
    Evaluate {
        id: String,
        /// 满意, 基本满意 or 不满意.
        #[arg(long)]
        result: String,
        /// desk (现场评价, default) or phone (电话回访).
        #[arg(long, default_value = "")]
        channel: String,
        /// Day evaluated, YYYY-MM-DD (default: today).
        #[arg(long, default_value = "")]
        on: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FilterArg {
    All,
    Open,
    Overdue,
    Cleared,
}

#[derive(Debug, Subcommand)]
pub enum BacklogCommand {
    /// Flag a matter as a backlog case (积案).
    Flag {
        matter_id: String,
        /// 包联领导.
        #[arg(long)]
        leader: String,
        /// 化解方案.
        #[arg(long)]
        plan: String,
        /// 化解时限, YYYY-MM-DD.
        #[arg(long)]
        target: Option<NaiveDate>,
        /// Day flagged (default: today).
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// Hand an open case to another leader.
    Leader {
        /// The matter's 事项编号 (e.g. 沁水-2026-11-B0017), or the case's id.
        case_id: String,
        #[arg(long)]
        leader: String,
    },
    /// Add a progress note.
    Note {
        /// The matter's 事项编号 (e.g. 沁水-2026-11-B0017), or the case's id.
        case_id: String,
        #[arg(long)]
        note: String,
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// Record that a case was cleared (化解销号).
    Clear {
        /// The matter's 事项编号 (e.g. 沁水-2026-11-B0017), or the case's id.
        case_id: String,
        #[arg(long)]
        summary: String,
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// One case with its notes.
    Show {
        /// The matter's 事项编号 (e.g. 沁水-2026-11-B0017), or the case's id.
        case_id: String,
        #[arg(long)]
        today: Option<NaiveDate>,
    },
    /// Cases, oldest flagged first.
    List {
        #[arg(long, value_enum, default_value_t = FilterArg::All)]
        filter: FilterArg,
        #[arg(long)]
        today: Option<NaiveDate>,
    },
    /// Open/cleared counts, clearance rate, overdue cases, by hall and by leader.
    Dashboard {
        #[arg(long)]
        today: Option<NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // command-line arguments, parsed once per run
pub enum NoticeCommand {
    /// Render a notice to PDF: from a matter (--matter), a visit (--visit, the 越级走访告知书),
    /// a consultation (--consultation), a mediation (--mediation), or a JSON file of the
    /// notice's input (--data).
    Render {
        #[arg(long)]
        kind: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, group = "source")]
        matter: Option<String>,
        /// A visit's id: its 越级走访告知书.
        #[arg(long, group = "source")]
        visit: Option<String>,
        #[arg(long, group = "source")]
        consultation: Option<String>,
        #[arg(long, group = "source")]
        mediation: Option<String>,
        /// JSON of LegalOpinionInput or MediationAgreementInput.
        #[arg(long, group = "source")]
        data: Option<PathBuf>,
        /// Folder of the hall's adjusted templates (default: <data dir>/templates if present).
        #[arg(long)]
        templates: Option<PathBuf>,
        /// 文号 of a matter's notice, e.g. 沁信复〔2026〕3号 (replaces the one on record).
        #[arg(long)]
        doc_no: Option<String>,
    },
    /// The notice kinds.
    Kinds,
    /// 排队单: the slip a visitor takes at registration (hall, queue number, time, where to
    /// wait, the hall's phone, a QR code of the visit's number; nothing personal).
    Slip {
        #[arg(long)]
        visit: String,
        /// receipt (80 mm) or a5.
        #[arg(long, default_value = "receipt")]
        size: String,
        #[arg(long)]
        out: PathBuf,
    },
}

/// Where a view of a 检举控告 matter happened, for the audit log.
const VIEW_DETAIL: &str = "命令行查看事项";

fn today_or(d: Option<NaiveDate>) -> NaiveDate {
    d.unwrap_or_else(|| now().date_naive())
}

pub fn matter(args: &Args, command: &MatterCommand) -> CmdResult {
    let json = args.json;
    let (mut store, me) = login(args)?;
    // A matter is named by its 事项编号 as printed (`沁水-2026-11-B0017`), or by its id.
    let resolved = match command {
        MatterCommand::Show { id, .. }
        | MatterCommand::Event { id, .. }
        | MatterCommand::Classify { id, .. }
        | MatterCommand::ProposeRoute { id, .. }
        | MatterCommand::ConfirmRoute { id, .. }
        | MatterCommand::Evaluate { id, .. } => matters::find_matter(&store, id)?,
        _ => String::new(),
    };
    let id = &resolved;
    match command {
        MatterCommand::Show { today, .. } => {
            let v = matters::view_matter(&store, &me, id, today_or(*today), VIEW_DETAIL)?;
            print(json, &v, |v| {
                let mut lines = vec![
                    format!(
                        "事项 {}：{}（{}，{}{}）",
                        v.number,
                        v.status_label,
                        v.appeal_kind_label,
                        v.category_name,
                        if v.confidential { "，保密" } else { "" }
                    ),
                    format!(
                        "信访人：{}；登记日期：{}",
                        v.visitor_names.join("、"),
                        v.received_on
                    ),
                    format!("诉求：{}", v.appeal),
                ];
                if let Some(r) = &v.legal_route_name {
                    lines.push(format!("法定途径：{r}"));
                }
                if let Some(p) = &v.proposed_route {
                    lines.push(format!("律师建议途径（待确认）：{}", p.route_name));
                }
                for d in &v.deadlines {
                    let state = match d.deadline.done_on {
                        Some(done) => format!("已于 {done} 完成"),
                        None if d.overdue => format!("已超期 {} 日", -d.days_left),
                        None => format!("剩余 {} 日", d.days_left),
                    };
                    let guess = if d.deadline.calendar_known {
                        ""
                    } else {
                        "（超出已知节假日安排，仅按周末推算，可能顺延）"
                    };
                    lines.push(format!(
                        "  {}：{}（{}）{state}{guess}",
                        d.deadline.label_zh, d.deadline.due, d.deadline.basis_zh
                    ));
                }
                for e in &v.events {
                    lines.push(format!(
                        "  #{} {} {}（{}）",
                        e.seq,
                        e.event.date(),
                        e.kind_label,
                        e.by_name
                    ));
                }
                let next: Vec<&str> = v.allowed_events.iter().map(|a| a.label.as_str()).collect();
                lines.push(format!(
                    "可进行：{}",
                    if next.is_empty() {
                        "（无）".to_owned()
                    } else {
                        next.join("、")
                    }
                ));
                lines.join("\n")
            });
        }
        MatterCommand::Event {
            file, json_event, ..
        } => {
            authorize(&me.roles, Action::RecordMatterEvent)?;
            let text = match (file, json_event) {
                (Some(f), _) => std::fs::read_to_string(f)
                    .with_context(|| format!("读取 {} 失败", f.display()))?,
                (None, Some(t)) => t.clone(),
                (None, None) => {
                    return Err(FieldError::new(
                        "event",
                        "event_missing",
                        "请用 --file 指定环节文件，或用 --event 直接给出 JSON，例如 {\"kind\":\"accept\",\"at\":\"2026-11-26\"}。",
                    )
                    .into());
                }
            };
            let event: MatterEvent = serde_json::from_str(&text).map_err(|e| {
                FieldError::new(
                    "event",
                    "json_invalid",
                    format!(
                        "环节不是有效的 JSON 或缺少字段：{e}。示例：{{\"kind\":\"accept\",\"at\":\"2026-11-26\"}}；kind 可为 accept、reject、forward、assign、guide_to_legal_route、report_back、start_handling、extend、conclude、opinion_received、request_review、review_opinion、request_re_review、hearing、re_review_opinion、close。"
                    ),
                )
            })?;
            let state = matters::record_event(&mut store, &me, id, &event)?;
            // The answer shows the matter: checked and audited like `matter show`.
            let v = matters::view_matter(&store, &me, id, today_or(None), VIEW_DETAIL)?;
            print(json, &v, |_| {
                format!(
                    "已登记「{}」，事项状态：{}",
                    event.kind().label_zh(),
                    state.status.label_zh()
                )
            });
        }
        MatterCommand::Classify {
            kind,
            category,
            route,
            ..
        } => {
            let c = matters::classify(
                &mut store,
                &me,
                id,
                &ClassifyInput {
                    appeal_kind: kind.clone(),
                    category: category.clone(),
                    legal_route: route.clone(),
                },
            )?;
            print(json, &c, |c| {
                format!(
                    "已分类：{}{}{}",
                    c.appeal_kind.label_zh(),
                    c.legal_route
                        .as_deref()
                        .map(|r| format!("，法定途径 {r}"))
                        .unwrap_or_default(),
                    if c.confidential { "（保密）" } else { "" }
                )
            });
        }
        MatterCommand::ProposeRoute {
            route,
            note,
            consultation,
            ..
        } => {
            let p = matters::propose_route(
                &mut store,
                &me,
                id,
                &ProposeRouteInput {
                    route_code: route.clone(),
                    note: note.clone(),
                    consultation_id: consultation.clone(),
                },
            )?;
            print(json, &p, |p| {
                format!("已建议法定途径：{}，待接待员确认", p.route_name)
            });
        }
        MatterCommand::ConfirmRoute { route, .. } => {
            let c = matters::confirm_route(&mut store, &me, id, route.as_deref())?;
            print(json, &c, |c| {
                format!(
                    "已确定法定途径：{}",
                    c.legal_route.as_deref().unwrap_or_default()
                )
            });
        }
        MatterCommand::Due { today } => {
            let list = matters::due_list(&store, &me, today_or(*today))?;
            print(json, &list, |l| {
                let line = |i: &DueItem| {
                    let who = if i.confidential {
                        "（保密）".to_owned()
                    } else {
                        i.visitor_names.join("、")
                    };
                    let left = if i.days_left < 0 {
                        format!("超期 {} 日", -i.days_left)
                    } else if i.days_left == 0 {
                        "今日到期".to_owned()
                    } else {
                        format!("剩余 {} 日", i.days_left)
                    };
                    format!(
                        "  {} {}（{}）{left}\t{}\t{who}\t{}",
                        i.due, i.deadline_label, i.status_label, i.category_name, i.number
                    )
                };
                // Only the first lines of a long list are listed: say so.
                let head = |title: &str, total: u32, listed: usize| {
                    if total as usize > listed {
                        format!("{title} {total} 件（列出最紧急的 {listed} 件）：")
                    } else {
                        format!("{title} {total} 件：")
                    }
                };
                let mut out = vec![head("已超期", l.overdue_total, l.overdue.len())];
                out.extend(l.overdue.iter().map(line));
                out.push(head("3 日内到期", l.due_soon_total, l.due_soon.len()));
                out.extend(l.due_soon.iter().map(line));
                out.join("\n")
            });
        }
        MatterCommand::List { visitor } => {
            let list = matters::person_matters(&store, &me, visitor)?;
            print(json, &json!({ "matters": list }), |_| {
                if list.is_empty() {
                    return "没有此人的信访事项。".to_owned();
                }
                list.iter()
                    .map(|m| {
                        let again = if m.not_accepted_again {
                            "\t再来访：不再受理"
                        } else {
                            ""
                        };
                        format!(
                            "{}\t{}\t{}\t来访 {} 次{again}",
                            m.number, m.received_on, m.status_label, m.visits
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        MatterCommand::OfVisit { visit_id } => {
            let id = matters::matter_of_visit(&store, &me, visit_id)?;
            let number = matters::matter_number(&store, &me, &id)?;
            print(json, &json!({ "matter_id": id, "number": number }), |_| {
                number.clone()
            });
        }
        MatterCommand::Evaluate {
            result,
            channel,
            on,
            note,
            ..
        } => {
            let input = xinfang_core::stats::EvaluationInput {
                result: result.clone(),
                channel: channel.clone(),
                evaluated_on: on.clone(),
                note: note.clone(),
            };
            crate::stats_cmd::evaluate(json, &mut store, &me, id, &input)?;
        }
    }
    Ok(())
}

fn date_text(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub fn backlog(args: &Args, command: &BacklogCommand) -> CmdResult {
    let json = args.json;
    let (mut store, me) = login(args)?;
    let show = |c: BacklogCase| -> CmdResult {
        print(json, &c, |c| {
            let mut lines = vec![
                format!(
                    "积案（事项 {}）：{}",
                    c.matter_number,
                    if c.open { "未化解" } else { "已化解" }
                ),
                format!(
                    "包联领导：{}；列入：{}；化解时限：{}{}",
                    c.leader,
                    c.flagged_on,
                    date_text(c.target_date),
                    if c.overdue { "（已超期）" } else { "" }
                ),
                format!("化解方案：{}", c.plan),
            ];
            for n in &c.notes {
                lines.push(format!("  {} {}（{}）", n.noted_on, n.note, n.by_name));
            }
            if let (Some(d), Some(s)) = (c.cleared_on, &c.clear_summary) {
                lines.push(format!("化解：{d} {s}"));
            }
            lines.join("\n")
        });
        Ok(())
    };
    match command {
        BacklogCommand::Flag {
            matter_id,
            leader,
            plan,
            target,
            on,
        } => {
            let matter_id = &matters::find_matter(&store, matter_id)?;
            let input = FlagInput {
                leader: leader.clone(),
                plan: plan.clone(),
                target_date: date_text(*target),
                flagged_on: today_or(*on).to_string(),
            };
            show(matters::flag_backlog(
                &mut store,
                &me,
                matter_id,
                &input,
                today_or(None),
            )?)
        }
        BacklogCommand::Leader { case_id, leader } => show(matters::set_backlog_leader(
            &mut store,
            &me,
            case_id,
            leader,
            today_or(None),
        )?),
        BacklogCommand::Note { case_id, note, on } => {
            let input = NoteInput {
                noted_on: today_or(*on).to_string(),
                note: note.clone(),
            };
            show(matters::note_backlog(
                &mut store,
                &me,
                case_id,
                &input,
                today_or(None),
            )?)
        }
        BacklogCommand::Clear {
            case_id,
            summary,
            on,
        } => {
            let input = ClearInput {
                cleared_on: today_or(*on).to_string(),
                summary: summary.clone(),
            };
            show(matters::clear_backlog(
                &mut store,
                &me,
                case_id,
                &input,
                today_or(None),
            )?)
        }
        BacklogCommand::Show { case_id, today } => show(matters::backlog_case(
            &store,
            &me,
            case_id,
            today_or(*today),
        )?),
        BacklogCommand::List { filter, today } => {
            let filter = match filter {
                FilterArg::All => BacklogFilter::All,
                FilterArg::Open => BacklogFilter::Open,
                FilterArg::Overdue => BacklogFilter::Overdue,
                FilterArg::Cleared => BacklogFilter::Cleared,
            };
            let cases = matters::backlog_cases(&store, &me, filter, today_or(*today))?;
            print(json, &json!({ "cases": cases }), |_| {
                if cases.is_empty() {
                    return "没有符合条件的积案。".to_owned();
                }
                cases
                    .iter()
                    .map(|c| {
                        format!(
                            "{}\t{}\t{}\t时限 {}\t{}",
                            c.matter_number,
                            c.leader,
                            if c.open { "未化解" } else { "已化解" },
                            date_text(c.target_date),
                            if c.overdue { "已超期" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        BacklogCommand::Dashboard { today } => {
            let d = matters::backlog_dashboard(&store, &me, today_or(*today))?;
            print(json, &d, |d| {
                let rate =
                    |r: Option<f64>| r.map_or_else(|| "—".to_owned(), |r| format!("{r:.1}%"));
                let t = &d.summary.totals;
                let mut lines = vec![format!(
                    "积案 {} 件：未化解 {}，已化解 {}，超期 {}，化解率 {}",
                    t.total,
                    t.open,
                    t.cleared,
                    t.overdue,
                    rate(t.clearance_rate)
                )];
                for (title, groups) in [
                    ("按大厅", &d.summary.by_hall),
                    ("按包联领导", &d.summary.by_leader),
                ] {
                    lines.push(format!("{title}："));
                    for g in groups {
                        lines.push(format!(
                            "  {}\t共 {}\t未化解 {}\t已化解 {}\t超期 {}\t化解率 {}",
                            g.key,
                            g.counts.total,
                            g.counts.open,
                            g.counts.cleared,
                            g.counts.overdue,
                            rate(g.counts.clearance_rate)
                        ));
                    }
                }
                lines.join("\n")
            });
            Ok(())
        }
    }
}

fn print_failure(e: PrintError) -> Failure {
    match e {
        PrintError::MissingGlyphs { .. } => {
            Failure::Invalid(FieldError::new("", "glyph_missing", e.to_string()).into())
        }
        other => Failure::Other(other.into()),
    }
}

fn date_of(rfc3339: &str) -> Result<NaiveDate, Failure> {
    rfc3339
        .get(..10)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| Failure::Other(anyhow::anyhow!("记录时间格式不正确：{rfc3339}")))
}

fn read_input<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, Failure> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("读取 {} 失败", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::from(FieldError::new(
            "data",
            "json_invalid",
            format!("{what}数据文件不是有效的 JSON 或缺少字段：{e}，请检查格式。"),
        ))
    })
}

/// `xinfang notice slip`.
fn queue_slip(args: &Args, visit: &str, size: &str, out: &std::path::Path) -> CmdResult {
    let size = xinfang_print::slip::SlipSize::parse(size).ok_or_else(|| {
        FieldError::new(
            "size",
            "slip_size_unknown",
            "排队单纸张请用 receipt（80 毫米小票）或 a5。",
        )
    })?;
    let (store, me) = login(args)?;
    let slip = xinfang_app::api::queue_slip(&store, &me, visit, now().date_naive())?;
    let overrides = Some(data_dir(args)?.join("templates")).filter(|d| d.is_dir());
    let pdf = Printer::bundled(overrides.as_deref())
        .and_then(|p| p.render_slip(&slip, size))
        .map_err(print_failure)?;
    std::fs::write(out, pdf).with_context(|| format!("写入 {} 失败", out.display()))?;
    print(
        args.json,
        &json!({ "out": out, "queue_no": slip.queue_no }),
        |_| format!("已生成排队单（{} 号）：{}", slip.queue_no, out.display()),
    );
    Ok(())
}

pub fn notice(args: &Args, command: &NoticeCommand) -> CmdResult {
    let json = args.json;
    let (kind_arg, out, matter, visit, consultation, mediation, data, templates, doc_no) =
        match command {
            NoticeCommand::Kinds => {
                let kinds: Vec<_> = NoticeKind::ALL
                    .iter()
                    .map(|k| json!({ "kind": k.code(), "title": k.title_zh() }))
                    .collect();
                print(json, &json!({ "kinds": kinds }), |_| {
                    NoticeKind::ALL
                        .iter()
                        .map(|k| format!("{}\t{}", k.code(), k.title_zh()))
                        .collect::<Vec<_>>()
                        .join("\n")
                });
                return Ok(());
            }
            NoticeCommand::Slip { visit, size, out } => return queue_slip(args, visit, size, out),
            NoticeCommand::Render {
                kind,
                out,
                matter,
                visit,
                consultation,
                mediation,
                data,
                templates,
                doc_no,
            } => (
                kind,
                out,
                matter,
                visit,
                consultation,
                mediation,
                data,
                templates,
                doc_no,
            ),
        };
    let kind = NoticeKind::parse(kind_arg).ok_or_else(|| {
        FieldError::new(
            "kind",
            "notice_kind_unknown",
            format!(
                "文书种类“{kind_arg}”不认识，请从以下选择：{}。",
                NoticeKind::list_zh()
            ),
        )
    })?;
    let (store, me) = login(args)?;
    authorize(&me.roles, kind.action())?;
    let reference = &store.reference_data();
    let notice: NoticeData = match (kind, matter, consultation, mediation, data) {
        // The 越级走访告知书 of a visit: the app's use case, checked and audited as on the desk.
        (k, None, None, None, None) if k.is_visit_notice() && visit.is_some() => {
            let today = crate::cli::now().date_naive();
            let id = visit.as_deref().unwrap_or_default();
            matters::visit_notice(&store, &me, id, k.code(), doc_no.as_deref(), today)?.0
        }
        (k, Some(id), None, None, None) if k.is_matter_notice() => {
            let today = crate::cli::now().date_naive();
            matters::matter_notice(&store, &me, id, k.code(), doc_no.as_deref(), today)?
        }
        (NoticeKind::LegalOpinion, None, Some(id), None, None) => {
            // A consultation of a 检举控告 visit: checked and audited as on the desk.
            let c = xinfang_app::api::open_consultation(&store, &me, id)?;
            let visit = store.visit_row(&c.visit_id)?;
            notice::legal_opinion(
                &LegalOpinionInput {
                    hall_code: store.hall_code().to_owned(),
                    visitor_name: visit
                        .visitors
                        .first()
                        .map(|v| v.name.clone())
                        .unwrap_or_default(),
                    lawyer_name: c.lawyer_name,
                    law_firm: String::new(),
                    question: c.question,
                    facts: c.facts,
                    advice: c.advice,
                    legal_route: c.legal_route,
                    laws_cited: c.laws_cited,
                    consulted_on: date_of(&c.created_at)?,
                },
                reference,
            )?
        }
        (NoticeKind::LegalOpinion, None, None, None, Some(path)) => {
            notice::legal_opinion(&read_input(path, "法律意见书")?, reference)?
        }
        (k, None, None, Some(id), None) if k.is_mediation_document() => {
            let today = crate::cli::now().date_naive();
            xinfang_app::contact::mediation_document(&store, &me, id, k, today)?
        }
        (k, None, None, None, Some(path)) if k.is_mediation_document() => {
            notice::mediation_document(k, &read_input(path, k.title_zh())?, reference)?
        }
        (k, ..) => {
            let source = if k.is_matter_notice() {
                "--matter 事项编号"
            } else if k.is_visit_notice() {
                "--visit 来访编号"
            } else if k == NoticeKind::LegalOpinion {
                "--consultation 法律咨询记录编号，或 --data 数据文件"
            } else {
                "--mediation 调解记录编号，或 --data 数据文件"
            };
            return Err(FieldError::new(
                "source",
                "notice_source",
                format!("打印{}请用 {source} 指定内容来源。", k.title_zh()),
            )
            .into());
        }
    };
    let overrides = match templates {
        Some(t) => Some(t.clone()),
        None => Some(data_dir(args)?.join("templates")).filter(|d| d.is_dir()),
    };
    let printer = Printer::bundled(overrides.as_deref()).map_err(print_failure)?;
    printer.render_to(&notice, out).map_err(print_failure)?;
    print(
        json,
        &json!({ "out": out, "kind": kind.code(), "title": kind.title_zh() }),
        |_| format!("已生成{}：{}", kind.title_zh(), out.display()),
    );
    Ok(())
}
