//! `xinfang conflict list|resolve` and `xinfang sync quarantine`: what a sync kept for a person
//! to decide (docs/sync.md, "Records, conflicts, quarantine"). Supervisor only; a resolution is
//! audited and syncs like any change, so every desk drops the conflict.

use clap::Subcommand;
use serde_json::json;
use xinfang_core::FieldError;
use xinfang_store::{Conflict, Resolution};

use crate::cli::{Args, login};
use crate::output::{CmdResult, print};

#[derive(Debug, Subcommand)]
pub enum ConflictCommand {
    /// Open conflicts: concurrent changes of a person's name, document, phone or address, and
    /// matter steps that clash; every value with who and when.
    List,
    /// Resolve a conflict: keep one of the listed values (--choose N), or, for a person's field,
    /// write a value of your own (--value TEXT), e.g. both addresses combined.
    Resolve {
        id: String,
        #[arg(long, conflicts_with = "value")]
        choose: Option<u32>,
        #[arg(long)]
        value: Option<String>,
    },
}

fn describe(c: &Conflict) -> String {
    let mut lines = vec![format!(
        "冲突 {}：{}「{}」的{}",
        c.id,
        if c.kind == "step" {
            "事项"
        } else {
            "来访人"
        },
        c.subject,
        c.field_label
    )];
    for o in &c.options {
        let who = if o.by_name.is_empty() {
            "其他设备".to_owned()
        } else {
            o.by_name.clone()
        };
        let shown = if o.shown { "（当前显示）" } else { "" };
        lines.push(format!("  {}. {}{shown} —— {who}，{}", o.n, o.value, o.at));
    }
    lines.join("\n")
}

pub fn conflict(args: &Args, command: &ConflictCommand) -> CmdResult {
    let (mut store, me) = login(args)?;
    match command {
        ConflictCommand::List => {
            let conflicts = xinfang_app::conflicts::list_conflicts(&store, &me)?;
            print(args.json, &json!({ "conflicts": conflicts }), |_| {
                if conflicts.is_empty() {
                    "没有待处理的同步冲突。".to_owned()
                } else {
                    let mut text: Vec<String> = conflicts.iter().map(describe).collect();
                    text.push(
                        "用 `xinfang conflict resolve 冲突编号 --choose 序号` 保留其中一项，\
                         或 `--value 内容` 填写核实后的内容。"
                            .to_owned(),
                    );
                    text.join("\n")
                }
            });
        }
        ConflictCommand::Resolve { id, choose, value } => {
            let how = match (choose, value) {
                (Some(n), None) => Resolution::Choose(*n),
                (None, Some(v)) => Resolution::Value(v.clone()),
                _ => {
                    return Err(FieldError::new(
                        "choose",
                        "choice_missing",
                        "请用 --choose 序号 选择保留的一项，或用 --value 内容 填写核实后的内容。",
                    )
                    .into());
                }
            };
            let resolved = xinfang_app::conflicts::resolve_conflict(&mut store, &me, id, &how)?;
            let out = json!({ "resolved": resolved.id, "kind": resolved.kind, "record_id": resolved.record_id });
            print(args.json, &out, |_| {
                format!(
                    "已处理冲突（{}「{}」的{}）：同步后各设备都会采用这一结果。",
                    if resolved.kind == "step" {
                        "事项"
                    } else {
                        "来访人"
                    },
                    resolved.subject,
                    resolved.field_label
                )
            });
        }
    }
    Ok(())
}

/// `xinfang sync quarantine`: pulled changes set aside on this desk.
pub fn quarantine(args: &Args) -> CmdResult {
    let (store, me) = login(args)?;
    let changes = xinfang_app::conflicts::quarantined(&store, &me)?;
    print(args.json, &json!({ "quarantined": changes }), |_| {
        if changes.is_empty() {
            "没有暂存的同步变更。".to_owned()
        } else {
            changes
                .iter()
                .map(|c| format!("{} 自 {}：{}", c.entity_id, c.since, c.message))
                .collect::<Vec<_>>()
                .join("\n")
        }
    });
    Ok(())
}
