//! Command-line surface of `xinfang`.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{FixedOffset, NaiveDate};
use clap::{Parser, Subcommand};
use serde_json::json;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::clock::{Clock, SystemClock};
use xinfang_core::deadline::deadline;
use xinfang_core::hall::HallCode;
use xinfang_core::id::{check_document, parse_id_type};
use xinfang_core::regions::Regions;
use xinfang_core::staff::{Action, authorize, parse_roles};
use xinfang_core::visit::{VisitInput, validate_visit};
use xinfang_core::{FieldError, ValidationErrors};
use xinfang_store::{AuditAction, AuditFilter, Credentials, NewStaff, Staff, Store};

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
    /// 二代证 readers: read a card (serial SAM or a vendor's HTTP service), or run the
    /// simulated reader. No data dir or login needed.
    Idcard {
        #[command(subcommand)]
        command: crate::idcard_cmd::IdcardCommand,
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
        /// Also take each seeded matter through the steps a hall would have recorded by today
        /// (受理, 办结, 延期, 评价, 积案 …), for a demo that looks like a working hall.
        #[arg(long)]
        lifecycle: bool,
    },
    /// Online backup of the store into DEST (a new file).
    Backup { dest: PathBuf },
    /// Restore the data dir's store from BACKUP (made by `xinfang backup`; with
    /// BACKUP.keyslots.json beside it). The backup is checked before anything is replaced; the
    /// current store is moved to replaced-<time>/ in the data dir. Close the desk app first;
    /// afterwards run `xinfang sync` to take back what the city holds from after the backup.
    Restore { backup: PathBuf },
    /// Check integrity, foreign keys, the change log and the audit log's hash chain.
    Verify,
    /// Fold the change-log rows the city has confirmed into compact version records and give
    /// the space back (docs/sync.md "Compaction"; a sync compacts a little each time). Close
    /// the desk app first.
    Compact,
    /// Rotate the data key of the encrypted store (admin); every key slot keeps working.
    Rekey,
    /// Change your own password (new one from env XINFANG_NEW_PASSWORD or a prompt).
    Passwd,
    /// Locked out: open the store with the recovery key (env XINFANG_RECOVERY_KEY or a prompt)
    /// and set a new password for --username (from env XINFANG_NEW_PASSWORD or a prompt).
    Recover {
        #[arg(long)]
        username: String,
    },
    /// The audit log (supervisor, admin), newest first.
    Audit {
        /// Only entries of this staff member (username).
        #[arg(long)]
        staff: Option<String>,
        /// Only entries about this record id.
        #[arg(long)]
        record: Option<String>,
        /// From this date (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// To this date (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Find the servers announced on the LAN (a hall's hub, mDNS/DNS-SD): address and halls.
    Discover {
        /// How long to listen for answers, in seconds.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Enrol this desk with the city server, using a one-time code from the city administrator.
    Enrol {
        /// The city server, e.g. https://xinfang.example.gov.cn (plain http only to loopback).
        #[arg(long)]
        server: String,
        /// The one-time enrolment code.
        #[arg(long)]
        code: String,
        /// A PEM file of the city's own CA certificate(s), kept in the store and trusted for
        /// the server from now on (as 设置 → 连接服务器 → CA 证书 in the app).
        #[arg(long, value_name = "PEM")]
        ca_file: Option<std::path::PathBuf>,
        /// The name the server lists this desk under (default: the computer's name).
        #[arg(long, default_value = "")]
        name: String,
    },
    /// 有新版本: check the desk's server for a newer signed version, or download and verify
    /// it (docs/deploy.md "Updates").
    Update {
        #[command(subcommand)]
        command: UpdateCommand,
    },
    /// Sync once with the city server: push pending changes, pull the hall's (env
    /// XINFANG_SERVER_URL overrides the stored server address).
    Sync {
        /// Keep listening to the server's live notifications and sync at once on each (one
        /// output line per sync), until stopped with Ctrl+C.
        #[arg(long)]
        watch: bool,
        #[command(subcommand)]
        command: Option<SyncCommand>,
    },
    /// 访调对接: a desk's queue (lawyer or mediator), or take its next visitor.
    Queue {
        #[arg(long)]
        desk: Option<crate::queue_cmd::DeskArg>,
        #[command(subcommand)]
        command: Option<crate::queue_cmd::QueueCommand>,
    },
    /// Sync conflicts for a supervisor: list them, resolve one.
    Conflict {
        #[command(subcommand)]
        command: crate::conflict_cmd::ConflictCommand,
    },
    /// People for a supervisor: likely duplicates, merge, unmerge, split, correct a document.
    Person {
        #[command(subcommand)]
        command: crate::person_cmd::PersonCommand,
    },
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
    /// Legal deadline: N days after START, per 民法典 §201–203 and the holiday calendar. With
    /// --user, the calendar this desk uses (the city's holiday years from the last sync merged
    /// over the compiled-in ones); they are inside the encrypted store, so without a login the
    /// compiled-in calendar is used.
    Deadline {
        #[arg(long)]
        start: NaiveDate,
        #[arg(long)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Whether the server offers a newer version (any signed-in account).
    Check,
    /// Download the newer version into DIR and verify its signature against the pinned update
    /// key (supervisor, admin); prints the verified file as the last word. A package that fails
    /// is deleted. Installing is the system's: `sudo apt-get install FILE`.
    Download {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Pulled changes this desk set aside (supervisor): what, why, since when.
    Quarantine,
    /// This copy of the store now is the desk (admin): after the data dir was moved or copied
    /// to this computer and the one it came from is out of use. Syncing resumes.
    Adopt,
    /// 测试连接 (admin): the server answers over a trusted link and still knows this desk.
    Check,
    /// 断开服务器 (admin): forget the server and token; the data stays. Refused while changes
    /// wait to be pushed, unless `--even-if-pending`.
    Leave {
        #[arg(long)]
        even_if_pending: bool,
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
    /// Set a new password for an account (admin): gives it a new key slot on this desk.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum VisitCommand {
    /// Register a visit from a JSON file.
    Add {
        #[arg(long)]
        file: PathBuf,
    },
    /// 访调对接: hand the visitor to the lawyer's or the mediator's queue.
    Handoff {
        visit_id: String,
        #[arg(long)]
        desk: crate::queue_cmd::DeskArg,
        #[arg(long)]
        note: Option<String>,
    },
}

pub fn run(args: Args) -> CmdResult {
    let json = args.json;
    match &args.command {
        Command::Id {
            command: IdCommand::Check { number, id_type },
        } => id_check(json, number, id_type),
        Command::Idcard { command } => crate::idcard_cmd::run(json, command),
        Command::Deadline { start, days } => {
            // The city's holiday years live in the encrypted store: read only after a login.
            let store_dir = data_dir(&args).ok().filter(|d| Store::exists(d));
            let from_store = args.user.is_some() && store_dir.is_some();
            let cal = if from_store {
                login(&args)?.0.holiday_calendar()
            } else {
                HolidayCalendar::bundled()
            };
            let d = deadline(*start, *days, &cal);
            print(json, &d, |d| {
                let source = if from_store || store_dir.is_none() {
                    ""
                } else {
                    "\n（未登录，按程序内置的节假日安排计算；加 --user 可使用本机从市局同步的安排）"
                };
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
                    "{} 起 {} 日，到期日：{}{moved}{known}{source}",
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
                StaffCommand::ResetPassword { username } => {
                    authorize(&me.roles, Action::ManageStaff)?;
                    let target = staff_by_username(&store, username)?;
                    let password = read_secret(
                        "XINFANG_NEW_PASSWORD",
                        &format!("请设置 {username} 的新密码："),
                    )?;
                    store.reset_password(&target.id, &password)?;
                    store.audit(
                        &me.id,
                        AuditAction::PasswordReset,
                        "staff",
                        &target.id,
                        username,
                    )?;
                    print(json, &json!({ "username": username }), |_| {
                        format!("已重设 {username} 的密码")
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
            // The visit's form, and `matter_id` to attach it to that earlier matter (重复访).
            #[derive(serde::Deserialize)]
            struct VisitFile {
                #[serde(flatten)]
                visit: VisitInput,
                #[serde(default)]
                matter_id: String,
            }
            let file: VisitFile = serde_json::from_str(&text).map_err(|e| {
                FieldError::new(
                    "file",
                    "json_invalid",
                    format!("登记文件不是有效的 JSON：{e}，请检查格式。"),
                )
            })?;
            let (mut store, me) = login(&args)?;
            authorize(&me.roles, Action::RegisterVisit)?;
            let visit = validate_visit(&file.visit, &store.reference_data(), now())?;
            // The hall's number, asked before the store's transaction (issue 17).
            let number = xinfang_app::hall_queue::ask_number(
                xinfang_sync::client::hall_client(&mut store),
                xinfang_app::api::visit_day(&visit),
            );
            let xinfang_app::api::RegisterResult {
                registered,
                warnings,
                queue_note,
            } = xinfang_app::api::register(&mut store, &me, &visit, Some(&file.matter_id), number)?;
            // Remarks (越级访, a desk's own number …) go to stderr: stdout keeps the
            // registration's JSON, with `skip_level` and `queue_label` added.
            for w in warnings {
                eprintln!("提示：{}", w.message);
            }
            if let Some(note) = queue_note {
                eprintln!("提示：{note}");
            }
            print(json, &registered, |r| {
                let repeat = if r.repeat_of.is_empty() {
                    String::new()
                } else {
                    format!("，重复访：此前来访 {} 次", r.repeat_of.len())
                };
                let mut text = format!(
                    "登记成功，排队号 {}{repeat}（来访编号 {}，事项编号 {}）",
                    r.queue_label, r.number, r.matter_number
                );
                if let Some(refusal) = &r.refusal {
                    text += &format!("\n不再受理：{}", refusal.message);
                }
                if r.skip_level.flagged {
                    text += &format!(
                        "\n越级访：属地 {}（{}），可打印越级走访告知书：xinfang notice render --kind skip_level_guidance --visit {}",
                        r.skip_level.local_name, r.skip_level.authority, r.number
                    );
                }
                text
            });
            Ok(())
        }
        Command::Search { query, limit } => {
            let (store, me) = login(&args)?;
            authorize(&me.roles, Action::SearchVisitors)?;
            let mut visitors = store.search(query, *limit)?;
            // As the app's search: reporters hidden, birth dates for full-number roles only.
            for v in visitors.iter_mut() {
                xinfang_app::contact::mask_hit(&store, &me, v)?;
            }
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
            lifecycle,
        } => {
            let (mut store, me) = login(&args)?;
            authorize(&me.roles, Action::SeedDemoData)?;
            let today = lifecycle.then(|| now().date_naive());
            let summary =
                crate::seed::run(&mut store, &me, *visitors, *visits, *seed, today, !json)?;
            print(json, &summary, |s| {
                let mut text = format!("已生成 {} 位来访人、{} 次来访", s.visitors, s.visits);
                if *lifecycle {
                    text += &format!(
                        "；办理环节 {} 个、满意度评价 {} 条、积案 {} 件",
                        s.events, s.evaluations, s.backlog_cases
                    );
                }
                text
            });
            Ok(())
        }
        Command::Backup { dest } => {
            let (store, me) = login(&args)?;
            let done = xinfang_app::backup::backup(&store, &me, &absolute(dest)?)?;
            print(json, &json!({ "backup": dest }), |_| {
                format!("已备份到 {}", done.path)
            });
            Ok(())
        }
        Command::Restore { backup } => {
            let dir = data_dir(&args)?;
            let user = required_user(&args)?;
            let password = read_secret("XINFANG_PASSWORD", &format!("{user} 的密码："))?;
            let (_store, outcome) = xinfang_app::backup::restore(
                &dir,
                &absolute(backup)?,
                &Credentials::password(user, &password),
                std::sync::Arc::new(SystemClock),
            )?;
            print(json, &outcome, |o| {
                let aside = o
                    .replaced
                    .as_ref()
                    .map(|p| format!("原数据库已移到 {}（未删除）。", p.display()))
                    .unwrap_or_default();
                format!(
                    "已从备份 {} 恢复本机数据库（大厅 {}，变更日志到第 {} 条）。{aside}\n请运行 `xinfang sync`：本机会先从市局服务器取回备份之后上传过的变更，再上传新的变更，不会丢失也不会重复。",
                    backup.display(),
                    o.hall_code,
                    o.last_seq
                )
            });
            Ok(())
        }
        Command::Update { command } => {
            use xinfang_app::update;
            let (mut store, me) = login(&args)?;
            match command {
                UpdateCommand::Check => {
                    let src = update::source(&mut store, &me, Action::CheckUpdate)?;
                    drop(store);
                    let found = update::check(&src, update::RUNNING_VERSION)?;
                    print(json, &found, |c| match &c.offer {
                        Some(o) => format!(
                            "有新版本 {}（当前 {}，{} 字节）：{}",
                            o.version,
                            c.current,
                            o.size,
                            if o.notes.is_empty() {
                                "无更新说明"
                            } else {
                                &o.notes
                            }
                        ),
                        None => format!("当前版本 {} 已是最新。", c.current),
                    });
                }
                UpdateCommand::Download { out } => {
                    let src = update::source(&mut store, &me, Action::InstallUpdate)?;
                    drop(store);
                    let dir = std::path::PathBuf::from(absolute(out)?);
                    let done = update::download(&src, update::RUNNING_VERSION, &dir)?;
                    print(json, &done, |d| {
                        format!(
                            "已下载并核验新版本 {}（签名有效）。安装前请先备份数据，再运行 sudo apt-get install 安装：{}",
                            d.version, d.path
                        )
                    });
                }
            }
            Ok(())
        }
        Command::Discover { seconds } => crate::sync_cmd::discover(&args, *seconds),
        Command::Enrol {
            server,
            code,
            ca_file,
            name,
        } => crate::sync_cmd::enrol(&args, server, code, ca_file.as_deref(), name),
        Command::Sync {
            watch: true,
            command: None,
        } => crate::sync_cmd::watch(&args),
        Command::Sync {
            watch: false,
            command: None,
        } => crate::sync_cmd::sync(&args),
        Command::Sync {
            command: Some(SyncCommand::Quarantine),
            ..
        } => crate::conflict_cmd::quarantine(&args),
        Command::Sync {
            command: Some(SyncCommand::Check),
            ..
        } => crate::sync_cmd::check(&args),
        Command::Sync {
            command: Some(SyncCommand::Leave { even_if_pending }),
            ..
        } => {
            let (mut store, me) = login(&args)?;
            xinfang_app::enrolment::leave(&mut store, &me, *even_if_pending)?;
            print(json, &json!({ "left": true }), |_| {
                "本机已断开服务器：数据都在本机。要再同步，请用新的登记码重新登记。".to_owned()
            });
            Ok(())
        }
        Command::Sync {
            command: Some(SyncCommand::Adopt),
            ..
        } => {
            let (mut store, me) = login(&args)?;
            xinfang_app::backup::adopt_this_copy(&mut store, &me)?;
            print(json, &json!({ "adopted": true }), |_| {
                "已确认由本机接替原来的电脑：同步恢复。请确保原来那台电脑不再使用这份数据。"
                    .to_owned()
            });
            Ok(())
        }
        Command::Visit {
            command:
                VisitCommand::Handoff {
                    visit_id,
                    desk,
                    note,
                },
        } => crate::queue_cmd::handoff(&args, visit_id, *desk, note.as_deref()),
        Command::Queue { desk, command } => crate::queue_cmd::queue(&args, *desk, command.as_ref()),
        Command::Conflict { command } => crate::conflict_cmd::conflict(&args, command),
        Command::Person { command } => crate::person_cmd::person(&args, command),
        Command::Matter { command } => crate::matter_cmd::matter(&args, command),
        Command::Backlog { command } => crate::matter_cmd::backlog(&args, command),
        Command::Notice { command } => crate::matter_cmd::notice(&args, command),
        Command::Stats(a) => crate::stats_cmd::stats(&args, a),
        Command::Export(a) => crate::stats_cmd::export(&args, a),
        Command::Import(a) => crate::stats_cmd::import(&args, a),
        Command::Publicity { command } => crate::stats_cmd::publicity(&args, command),
        Command::Rekey => {
            let (mut store, me) = login(&args)?;
            authorize(&me.roles, Action::ManageStaff)?;
            store.rekey()?;
            store.audit(&me.id, AuditAction::Rekey, "store", store.device_id(), "")?;
            let slots = store.key_slot_users()?;
            print(
                json,
                &json!({ "rekeyed": true, "key_slots": slots }),
                |_| {
                    format!(
                        "已轮换数据密钥，数据库已用新密钥重新加密；{} 个账号的密钥槽和恢复密钥继续有效。",
                        slots.len()
                    )
                },
            );
            Ok(())
        }
        Command::Passwd => {
            let dir = data_dir(&args)?;
            let user = required_user(&args)?;
            let old = read_secret("XINFANG_PASSWORD", &format!("{user} 的当前密码："))?;
            let (mut store, me) = Store::login(&dir, user, &old)?;
            let new = read_secret("XINFANG_NEW_PASSWORD", "新密码：")?;
            xinfang_app::account::change_own_password(
                &mut store,
                &me,
                &xinfang_app::account::PasswordChange {
                    old_password: old,
                    password: new.clone(),
                    password_repeat: new,
                },
            )?;
            print(json, &json!({ "username": user }), |_| {
                format!("{user} 的密码已修改")
            });
            Ok(())
        }
        Command::Recover { username } => {
            let dir = data_dir(&args)?;
            let key = read_secret("XINFANG_RECOVERY_KEY", "恢复密钥：")?;
            let password = read_secret(
                "XINFANG_NEW_PASSWORD",
                &format!("请设置 {username} 的新密码："),
            )?;
            xinfang_app::account::recover_password(
                &dir,
                std::sync::Arc::new(SystemClock),
                &xinfang_app::account::RecoveryInput {
                    recovery_key: key,
                    username: username.clone(),
                    password: password.clone(),
                    password_repeat: password,
                },
            )?;
            print(json, &json!({ "username": username }), |_| {
                format!("已用恢复密钥为 {username} 设置新密码，请用新密码登录。")
            });
            Ok(())
        }
        Command::Audit {
            staff,
            record,
            from,
            to,
            limit,
        } => {
            let (store, me) = login(&args)?;
            authorize(&me.roles, Action::Verify)?;
            let staff_id = match staff {
                Some(u) => Some(staff_by_username(&store, u)?.id),
                None => None,
            };
            let entries = store.audit_entries(&AuditFilter {
                staff_id,
                entity_id: record.clone(),
                from: from.clone(),
                to: to.clone(),
                limit: Some(*limit),
            })?;
            print(json, &json!({ "entries": entries }), |_| {
                if entries.is_empty() {
                    return "没有审计记录。".to_owned();
                }
                entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{}\t{}\t{}\t{} {}\t{}",
                            e.seq, e.at, e.staff_id, e.action, e.entity_id, e.detail
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        Command::Compact => {
            let (mut store, me) = login(&args)?;
            let r = xinfang_app::backup::compact(&mut store, &me)?;
            print(json, &r, |r| {
                format!(
                    "压缩完成：{} 条记录的 {} 行已确认的变更日志已合并；数据文件 {:.1} MB → {:.1} MB。",
                    r.records,
                    r.rows,
                    r.bytes_before as f64 / 1_048_576.0,
                    r.bytes_after as f64 / 1_048_576.0
                )
            });
            Ok(())
        }
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

/// Now, China Standard Time, from the system clock (one definition: `xinfang_core::clock`).
pub(crate) fn now() -> chrono::DateTime<FixedOffset> {
    SystemClock.now_cst()
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
    let hall = HallCode::parse(hall).map_err(|e| e.at("hall"))?;
    let hall = hall.as_str();
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
    let (store, recovery) = Store::create_with_admin(&dir, hall, &new)?;
    // The recovery key is shown once, here, and stored nowhere.
    let out = json!({
        "data_dir": dir, "hall": hall, "admin": admin, "device_id": store.device_id(),
        "encrypted": true, "recovery_key": recovery.as_str(),
    });
    print(args.json, &out, |_| {
        format!(
            "已在 {} 建立接待台数据库（大厅 {hall}，已加密），管理员 {admin}\n\n\
             恢复密钥（只显示这一次，请抄写后放入保险柜；忘记所有密码时用 `xinfang recover` 解锁）：\n\n    {}\n",
            dir.display(),
            recovery.as_str()
        )
    });
    Ok(())
}

fn required_user(args: &Args) -> Result<&str, Failure> {
    args.user.as_deref().ok_or_else(|| {
        ValidationErrors::from(FieldError::new(
            "user",
            "user_missing",
            "请用 --user 或环境变量 XINFANG_USER 指定登录的工作人员账号。",
        ))
        .into()
    })
}

fn staff_by_username(store: &Store, username: &str) -> Result<Staff, Failure> {
    store
        .list_staff()?
        .into_iter()
        .find(|s| s.username == username.trim())
        .ok_or_else(|| {
            Failure::from(FieldError::new(
                "username",
                "not_found",
                format!("没有找到工作人员账号 {username}。"),
            ))
        })
}

/// Unlocks the store with `--user` and the password from env or a prompt (the account's key
/// slot opens the data key). A legacy plaintext store (made before encryption, e.g. old
/// benchmark data) is opened as such and checked against the password hash.
pub(crate) fn login(args: &Args) -> Result<(Store, Staff), Failure> {
    let dir = data_dir(args)?;
    if !Store::exists(&dir) {
        return Err(xinfang_store::StoreError::NotInitialised(dir).into());
    }
    let user = required_user(args)?;
    let password = read_secret("XINFANG_PASSWORD", &format!("{user} 的密码："))?;
    if !Store::is_encrypted_dir(&dir) {
        tracing::warn!("opening a plaintext (legacy) store");
        let store = Store::open_unencrypted(&dir)?;
        let me = store.authenticate(user, &password)?;
        return Ok((store, me));
    }
    Ok(Store::login(&dir, user, &password)?)
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

/// A path as the user typed it, made absolute against the working directory (the use case
/// takes absolute paths only, as the app's form does).
fn absolute(p: &std::path::Path) -> Result<String, Failure> {
    std::path::absolute(p)
        .map(|a| a.display().to_string())
        .map_err(|e| {
            Failure::from(FieldError::new(
                "path",
                "path_invalid",
                format!("无法使用路径 {}：{e}", p.display()),
            ))
        })
}
