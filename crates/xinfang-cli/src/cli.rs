//! Command-line surface of `xinfang`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{FixedOffset, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use serde_json::json;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::deadline::deadline;
use xinfang_core::id::{check_document, parse_id_type};
use xinfang_core::reference::ReferenceData;
use xinfang_core::regions::Regions;
use xinfang_core::staff::{Action, authorize, parse_roles};
use xinfang_core::visit::{VisitInput, validate_visit};
use xinfang_core::{FieldError, ValidationErrors};
use xinfang_store::{NewStaff, Staff, Store};

use crate::output::{CmdResult, Failure, print};

#[derive(Debug, Parser)]
#[command(name = "xinfang", version, about = "信访接待台：数据目录管理工具")]
pub struct Args {
    /// The desk's data dir (else env XINFANG_DATA_DIR, else the platform data dir).
    #[arg(long, global = true, env = "XINFANG_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Staff account for commands that touch data (password from env XINFANG_PASSWORD or a prompt).
    #[arg(long, global = true, env = "XINFANG_USER")]
    pub user: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Identity documents.
    Id {
        #[command(subcommand)]
        command: IdCommand,
    },
    /// Create the data dir and the hall's first admin.
    Init {
        /// GB/T 2260 code of the hall, e.g. 140521.
        #[arg(long)]
        hall: String,
        /// Username of the first admin.
        #[arg(long)]
        admin: String,
        /// Display name of the first admin.
        #[arg(long, default_value = "管理员")]
        name: String,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Visits.
    Visit {
        #[command(subcommand)]
        command: VisitCommand,
    },
    /// Find visitors by ID number, name, pinyin or phone fragment.
    Search {
        query: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Generate realistic synthetic visitors and visits (deterministic for a seed).
    Seed {
        #[arg(long)]
        visitors: usize,
        #[arg(long)]
        visits: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Online backup of the store into DEST (a new file).
    Backup { dest: PathBuf },
    /// Check integrity, foreign keys and the change log.
    Verify,
    /// Enrol this desk with the city server, using a one-time code from the city administrator.
    Enrol {
        /// The city server, e.g. https://xinfang.example.gov.cn (plain http only to loopback).
        #[arg(long)]
        server: String,
        /// The one-time enrolment code.
        #[arg(long)]
        code: String,
    },
    /// Sync once with the city server: push pending changes, pull the hall's (env
    /// XINFANG_SERVER_URL overrides the stored server address).
    Sync,
    /// Matters (信访事项): show, record a step, classify, legal route, due lists.
    Matter {
        #[command(subcommand)]
        command: crate::matter_cmd::MatterCommand,
    },
    /// Backlog cases (信访积案): flag, notes, leader, clear, list, dashboard.
    Backlog {
        #[command(subcommand)]
        command: crate::matter_cmd::BacklogCommand,
    },
    /// Printed notices (告知书、意见书、协议书) to PDF.
    Notice {
        #[command(subcommand)]
        command: crate::matter_cmd::NoticeCommand,
    },
    /// Statistics of a period: counts, the four rates, completeness (有一录一).
    Stats(crate::stats_cmd::StatsArgs),
    /// Export a list or the statistics to Excel (.xlsx).
    Export(crate::stats_cmd::ExportArgs),
    /// Import a hall's visit ledger (台账) from .xlsx or .csv (layout: docs/ledger.md).
    Import(crate::stats_cmd::ImportArgs),
    /// Publicity activities (法治宣传活动): add, list, summary.
    Publicity {
        #[command(subcommand)]
        command: crate::stats_cmd::PublicityCommand,
    },
    /// Legal deadline: N days after START, per 民法典 §201–203 and the holiday calendar.
    Deadline {
        #[arg(long)]
        start: NaiveDate,
        #[arg(long)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum IdCommand {
    /// Validate a document number.
    Check {
        number: String,
        /// Document type (resident_id, hk_mo_tw_residence_permit, passport, …).
        #[arg(long = "type", default_value = "resident_id")]
        id_type: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add an account (password from env XINFANG_NEW_PASSWORD or a prompt).
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// One or more of clerk, lawyer, mediator, supervisor, admin (comma-separated).
        #[arg(long)]
        role: String,
    },
    /// List accounts.
    List,
}

#[derive(Debug, Subcommand)]
pub enum VisitCommand {
    /// Register a visit from a JSON file.
    Add {
        #[arg(long)]
        file: PathBuf,
    },
}

pub fn run(args: Args) -> CmdResult {
    let json = args.json;
    match &args.command {
        Command::Id {
            command: IdCommand::Check { number, id_type },
        } => id_check(json, number, id_type),
        Command::Deadline { start, days } => {
            let d = deadline(*start, *days, &HolidayCalendar::bundled());
            print(json, &d, |d| {
                let moved = if d.moved {
                    "（原到期日为休息日，已顺延）"
                } else {
                    ""
                };
                let known = if d.calendar_known {
                    ""
                } else {
                    "（超出已知节假日安排，仅按周末计算）"
                };
                format!(
                    "{} 起 {} 日，到期日：{}{moved}{known}",
                    d.start, d.days, d.due
                )
            });
            Ok(())
        }
        Command::Init { hall, admin, name } => init(&args, hall, admin, name),
        Command::Staff { command } => {
            let (mut store, me) = login(&args)?;
            match command {
                StaffCommand::Add {
                    username,
                    name,
                    role,
                } => {
                    authorize(&me.roles, Action::ManageStaff)?;
                    let roles = parse_roles(role).map_err(|e| e.at("role"))?;
                    let password = read_secret(
                        "XINFANG_NEW_PASSWORD",
                        &format!("请设置 {username} 的密码："),
                    )?;
                    let staff = store.add_staff(&NewStaff {
                        username: username.clone(),
                        display_name: name.clone(),
                        roles,
                        password,
                    })?;
                    print(json, &staff, |s| {
                        format!("已添加工作人员 {}（{}）", s.display_name, s.username)
                    });
                }
                StaffCommand::List => {
                    authorize(&me.roles, Action::ListStaff)?;
                    let staff = store.list_staff()?;
                    print(json, &json!({ "staff": staff }), |_| {
                        staff
                            .iter()
                            .map(|s| {
                                let roles: Vec<&str> =
                                    s.roles.iter().map(|r| r.label_zh()).collect();
                                let state = if s.active { "" } else { "（已停用）" };
                                format!(
                                    "{}\t{}\t{}{state}",
                                    s.username,
                                    s.display_name,
                                    roles.join("、")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    });
                }
            }
            Ok(())
        }
        Command::Visit {
            command: VisitCommand::Add { file },
        } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("读取 {} 失败", file.display()))?;
            let input: VisitInput = serde_json::from_str(&text).map_err(|e| {
                FieldError::new(
                    "file",
                    "json_invalid",
                    format!("登记文件不是有效的 JSON：{e}，请检查格式。"),
                )
            })?;
            let (mut store, me) = login(&args)?;
            authorize(&me.roles, Action::RegisterVisit)?;
            let visit = validate_visit(&input, ReferenceData::bundled(), now())?;
            let registered = store.register_visit(&visit, &me.id)?;
            print(json, &registered, |r| {
                let repeat = if r.repeat_of.is_empty() {
                    String::new()
                } else {
                    format!("，重复访：此前来访 {} 次", r.repeat_of.len())
                };
                format!(
                    "登记成功，排队号 {}{repeat}（来访编号 {}）",
                    r.queue_no, r.visit_id
                )
            });
            Ok(())
        }
        Command::Search { query, limit } => {
            let (store, me) = login(&args)?;
            authorize(&me.roles, Action::SearchVisitors)?;
            let visitors = store.search(query, *limit)?;
            print(json, &json!({ "visitors": visitors }), |_| {
                if visitors.is_empty() {
                    return format!("没有找到与“{query}”匹配的来访人。");
                }
                visitors
                    .iter()
                    .map(|v| {
                        let last = v.last_visit_at.as_deref().unwrap_or("—");
                        format!(
                            "{}\t{}\t来访 {} 次\t最近 {last}",
                            v.name, v.id_number_masked, v.visit_count
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        Command::Seed {
            visitors,
            visits,
            seed,
        } => {
            let (mut store, me) = login(&args)?;
            authorize(&me.roles, Action::SeedDemoData)?;
            let summary = crate::seed::run(&mut store, &me, *visitors, *visits, *seed, !json)?;
            print(json, &summary, |s| {
                format!("已生成 {} 位来访人、{} 次来访", s.visitors, s.visits)
            });
            Ok(())
        }
        Command::Backup { dest } => {
            let (store, me) = login(&args)?;
            authorize(&me.roles, Action::Backup)?;
            store.backup(dest)?;
            print(json, &json!({ "backup": dest }), |_| {
                format!("已备份到 {}", dest.display())
            });
            Ok(())
        }
        Command::Enrol { server, code } => crate::sync_cmd::enrol(&args, server, code),
        Command::Sync => crate::sync_cmd::sync(&args),
        Command::Matter { command } => crate::matter_cmd::matter(&args, command),
        Command::Backlog { command } => crate::matter_cmd::backlog(&args, command),
        Command::Notice { command } => crate::matter_cmd::notice(&args, command),
        Command::Stats(a) => crate::stats_cmd::stats(&args, a),
        Command::Export(a) => crate::stats_cmd::export(&args, a),
        Command::Import(a) => crate::stats_cmd::import(&args, a),
        Command::Publicity { command } => crate::stats_cmd::publicity(&args, command),
        Command::Verify => {
            let (store, me) = login(&args)?;
            authorize(&me.roles, Action::Verify)?;
            let report = store.verify()?;
            print(
                json,
                &json!({ "ok": report.ok(), "integrity": report.integrity, "problems": report.problems }),
                |_| {
                    if report.ok() {
                        "校验通过：数据库完整，变更日志与数据一致。".to_owned()
                    } else {
                        format!("校验未通过：\n{}", report.problems.join("\n"))
                    }
                },
            );
            if report.ok() {
                Ok(())
            } else {
                Err(Failure::AlreadyReported)
            }
        }
    }
}

pub(crate) fn now() -> chrono::DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"))
}

fn id_check(json: bool, number: &str, id_type: &str) -> CmdResult {
    let Some(kind) = parse_id_type(id_type) else {
        return Err(FieldError::new(
            "id_type",
            "id_type_unknown",
            format!(
                "证件类型“{id_type}”不认识：请用 resident_id（居民身份证）、passport（护照）等。"
            ),
        )
        .into());
    };
    match check_document(kind, number, now().date_naive(), Regions::bundled()) {
        Ok(info) => {
            let out = json!({
                "valid": true,
                "kind": kind,
                "normalized": info.normalized,
                "birth_date": info.birth_date,
                "sex": info.sex,
                "region_code": info.region_code,
                "region_name": info.region_name,
                "warnings": info.warnings,
            });
            print(json, &out, |_| {
                let mut lines = vec![format!("有效：{}", info.normalized)];
                if let (Some(b), Some(s)) = (info.birth_date, info.sex) {
                    lines.push(format!("出生日期 {b}，性别 {}", s.label_zh()));
                }
                if let Some(r) = &info.region_name {
                    lines.push(format!("发证地 {r}"));
                }
                lines.extend(info.warnings.iter().map(|w| format!("提示：{w}")));
                lines.join("\n")
            });
            Ok(())
        }
        Err(e) => {
            if json {
                println!("{}", json!({ "valid": false, "errors": [e] }));
            } else {
                eprintln!("无效：{}", e.message);
            }
            Err(Failure::AlreadyReported)
        }
    }
}

pub(crate) fn data_dir(args: &Args) -> Result<PathBuf, Failure> {
    if let Some(d) = &args.data_dir {
        return Ok(d.clone());
    }
    dirs::data_dir().map(|d| d.join("xinfang")).ok_or_else(|| {
        Failure::Other(anyhow::anyhow!(
            "找不到系统数据目录：请用 --data-dir 指定数据目录。"
        ))
    })
}

fn init(args: &Args, hall: &str, admin: &str, name: &str) -> CmdResult {
    let dir = data_dir(args)?;
    if !(hall.len() == 6 && hall.bytes().all(|b| b.is_ascii_digit())) {
        return Err(FieldError::new(
            "hall",
            "hall_code_shape",
            "接待大厅代码应为 6 位行政区划代码，例如 140521。",
        )
        .into());
    }
    if Store::exists(&dir) {
        return Err(
            xinfang_store::StoreError::AlreadyExists(dir.join(xinfang_store::DB_FILE)).into(),
        );
    }
    let password = read_secret(
        "XINFANG_PASSWORD",
        &format!("请设置管理员 {admin} 的密码："),
    )?;
    let roles = vec![xinfang_core::staff::Role::Admin];
    let new = NewStaff {
        username: admin.to_owned(),
        display_name: name.to_owned(),
        roles,
        password,
    };
    // A rejected account (e.g. a short password) leaves no store behind.
    let mut store = Store::create(&dir, hall)?;
    if let Err(e) = store.add_staff(&new) {
        drop(store);
        remove_store(&dir);
        return Err(e.into());
    }
    let out =
        json!({ "data_dir": dir, "hall": hall, "admin": admin, "device_id": store.device_id() });
    print(args.json, &out, |_| {
        format!(
            "已在 {} 建立接待台数据库（大厅 {hall}），管理员 {admin}",
            dir.display()
        )
    });
    Ok(())
}

fn remove_store(dir: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("{}{suffix}", xinfang_store::DB_FILE)));
    }
}

/// Opens the store and logs in with `--user` and the password from env or a prompt.
pub(crate) fn login(args: &Args) -> Result<(Store, Staff), Failure> {
    let dir = data_dir(args)?;
    let store = Store::open(&dir)?;
    let Some(user) = args.user.as_deref() else {
        return Err(ValidationErrors::from(FieldError::new(
            "user",
            "user_missing",
            "请用 --user 或环境变量 XINFANG_USER 指定登录的工作人员账号。",
        ))
        .into());
    };
    let password = read_secret("XINFANG_PASSWORD", &format!("{user} 的密码："))?;
    let me = store.authenticate(user, &password)?;
    Ok((store, me))
}

fn read_secret(env: &str, prompt: &str) -> Result<String, Failure> {
    if let Ok(v) = std::env::var(env) {
        return Ok(v);
    }
    rpassword::prompt_password(prompt).map_err(|e| {
        Failure::from(FieldError::new(
            "password",
            "password_unavailable",
            format!("无法读取密码（{e}）：请在终端中运行，或设置环境变量 {env}。"),
        ))
    })
}
