//! `xinfang person duplicates|merge|unmerge|split|correct-document` (docs/sync.md, "People:
//! correct, merge, split"). Supervisor only; every change is audited and syncs like any record.
//! People are named by their visitor id, as `xinfang search --json` prints it.

use clap::Subcommand;
use serde_json::json;
use xinfang_app::people::{self, SplitInput};
use xinfang_core::clock::{Clock, SystemClock};
use xinfang_store::{MergeRecord, PersonBrief};

use crate::cli::{Args, login};
use crate::output::{CmdResult, print};

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Likely duplicate people (same document, same name and birth date, sound-alike names
    /// with the same birth date, same phone), and the merges on this desk.
    Duplicates,
    /// Merge OTHER into KEEP: OTHER's visits (those to come too) show under KEEP. Undo with
    /// `person unmerge`.
    Merge {
        keep: String,
        other: String,
        #[arg(long)]
        reason: String,
    },
    /// Undo a merge (its merge_id from `person merge` or `person duplicates`).
    Unmerge {
        merge_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Move chosen visits of a wrongly fused person to another person: one on file (--into),
    /// or the person of a document (--document TYPE:NUMBER --name NAME; found on file by it,
    /// else registered).
    Split {
        person: String,
        /// Visit ids, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        visits: Vec<String>,
        #[arg(long, conflicts_with_all = ["document", "name"])]
        into: Option<String>,
        #[arg(long, requires = "name")]
        document: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        reason: String,
    },
    /// Correct a visitor's document number (a typo at registration): TYPE:NUMBER, or a bare
    /// resident ID number.
    CorrectDocument {
        person: String,
        #[arg(long)]
        document: String,
        #[arg(long)]
        reason: String,
    },
}

fn who(p: &PersonBrief) -> String {
    format!(
        "{}（{} {}，来访 {} 次）",
        p.name, p.id_type_label, p.id_number_masked, p.visit_count
    )
}

fn merge_line(m: &MergeRecord) -> String {
    let state = if !m.active {
        "已撤销"
    } else if m.ignored {
        "与另一次合并相反，未生效"
    } else {
        "生效中"
    };
    format!(
        "合并 {}：{} 并入 {}，{}，{} {}（{state}）",
        m.merge_id,
        who(&m.merged),
        who(&m.survivor),
        m.reason,
        m.by_name,
        m.at
    )
}

pub fn person(args: &Args, command: &PersonCommand) -> CmdResult {
    let (mut store, me) = login(args)?;
    let today = SystemClock.today();
    match command {
        PersonCommand::Duplicates => {
            let page = people::people_page(&store, &me)?;
            print(args.json, &json!(page), |_| {
                let mut lines = Vec::new();
                if page.duplicates.is_empty() {
                    lines.push("没有发现疑似重复的人员。".to_owned());
                } else if page.duplicates.len() < page.duplicates_total as usize {
                    lines.push(format!(
                        "共 {} 对疑似重复，以下是可能性最高的 {} 对；合并后，其余的依次列出。",
                        page.duplicates_total,
                        page.duplicates.len()
                    ));
                }
                for d in &page.duplicates {
                    lines.push(format!(
                        "疑似同一人（{}）：\n  保留 {} {}\n  并入 {} {}",
                        d.reason_labels.join("、"),
                        d.keep.visitor_id,
                        who(&d.keep),
                        d.other.visitor_id,
                        who(&d.other)
                    ));
                }
                if !page.duplicates.is_empty() {
                    lines.push(
                        "核实为同一人后：xinfang person merge 保留的编号 并入的编号 --reason 原因"
                            .to_owned(),
                    );
                }
                lines.extend(page.merges.iter().map(merge_line));
                lines.join("\n")
            });
        }
        PersonCommand::Merge {
            keep,
            other,
            reason,
        } => {
            let m = people::merge(&mut store, &me, keep, other, reason)?;
            print(args.json, &json!(m), |_| {
                format!(
                    "已合并：{} 的来访记录今后显示在 {} 名下。撤销：xinfang person unmerge {} --reason 原因",
                    who(&m.merged),
                    who(&m.survivor),
                    m.merge_id
                )
            });
        }
        PersonCommand::Unmerge { merge_id, reason } => {
            let m = people::unmerge(&mut store, &me, merge_id, reason)?;
            print(args.json, &json!(m), |_| {
                format!(
                    "已撤销合并：{} 与 {} 重新分开显示。",
                    who(&m.survivor),
                    who(&m.merged)
                )
            });
        }
        PersonCommand::Split {
            person,
            visits,
            into,
            document,
            name,
            reason,
        } => {
            let (id_type, id_number) = match document {
                Some(d) => {
                    let (t, n) = people::parse_document(d)?;
                    let code = serde_json::to_value(t)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned));
                    (code, Some(n))
                }
                None => (None, None),
            };
            let input = SplitInput {
                visitor_id: person.clone(),
                visit_ids: visits.clone(),
                into: into.clone(),
                id_type,
                id_number,
                name: name.clone(),
                reason: reason.clone(),
            };
            let out = people::split(&mut store, &me, &input, today)?;
            print(args.json, &json!(out), |_| {
                format!(
                    "已将 {} 次来访移至 {}；{} 名下还有 {} 次。",
                    out.moved_visits.len(),
                    who(&out.person),
                    out.from.name,
                    out.from.visit_count
                )
            });
        }
        PersonCommand::CorrectDocument {
            person,
            document,
            reason,
        } => {
            let (t, n) = people::parse_document(document)?;
            let p = people::correct_document(&mut store, &me, person, t, &n, reason, today)?;
            print(args.json, &json!(p), |_| {
                format!("已更正证件号码：{}。同步后各设备按新号码查询。", who(&p))
            });
        }
    }
    Ok(())
}
