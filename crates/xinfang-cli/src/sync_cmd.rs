//! `xinfang enrol` and `xinfang sync`: the desk's side of sync with the city server
//! (docs/sync.md). Machine-level commands, like `init`: they act for the desk, not for a user.

use serde_json::json;
use xinfang_core::FieldError;
use xinfang_sync::DeskReplica;
use xinfang_sync::client::{self, SyncError};

use crate::cli::Args;
use crate::output::{CmdResult, Failure, print};

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        let code = match &e {
            SyncError::NotEnrolled => "not_enrolled".to_owned(),
            SyncError::BadUrl(..) => "server_url_invalid".to_owned(),
            SyncError::InsecureUrl(_) => "server_url_insecure".to_owned(),
            SyncError::Server { code, status, .. } if *status < 500 => code.clone(),
            _ => return Failure::Other(anyhow::anyhow!(e.to_string())),
        };
        let field = match &e {
            SyncError::BadUrl(..) | SyncError::InsecureUrl(_) => "server",
            SyncError::Server { code, .. }
                if code.starts_with("enrol_code") || code == "hall_mismatch" =>
            {
                "code"
            }
            _ => "",
        };
        Failure::from(FieldError::new(field, &code, e.to_string()))
    }
}

/// `xinfang discover [--seconds N] [--json]`: the servers that answer on the LAN.
pub fn discover(args: &Args, seconds: f64) -> CmdResult {
    let wait = std::time::Duration::try_from_secs_f64(seconds.clamp(0.2, 30.0))
        .unwrap_or(xinfang_sync::lan::BROWSE);
    let found = xinfang_sync::lan::discover(wait)
        .map_err(|e| Failure::from(FieldError::new("discover", "mdns_failed", e.to_string())))?;
    print(args.json, &found, |found| {
        if found.is_empty() {
            return "局域网上没有找到接待台服务器：请确认大厅服务器已用 --announce 启动、与本机在同一网段，或直接填写服务器地址。".to_owned();
        }
        found
            .iter()
            .map(|f| format!("{}	大厅 {}	{}", f.url, f.halls.join("、"), f.host))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// `xinfang enrol --server URL --code CODE`.
pub fn enrol(
    args: &Args,
    server: &str,
    code: &str,
    ca_file: Option<&std::path::Path>,
    name: &str,
) -> CmdResult {
    let (mut store, me) = crate::cli::login(args)?;
    if let Some(path) = ca_file {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("无法读取 CA 证书文件 {}：{e}", path.display()))?;
        xinfang_app::enrolment::set_trusted_ca(&mut store, &me, Some(&pem))?;
    }
    let done = xinfang_app::enrolment::enrol(&mut store, &me, server, code, name)?;
    let out = json!({
        "device_id": store.device_id(),
        "hall_code": done.hall_code,
        "hall_name": done.hall_name,
        "server": done.server,
        "desk_name": done.desk_name,
    });
    print(args.json, &out, |_| {
        format!(
            "本机已登记到服务器 {}（大厅 {} {}，本机名称 {}）。之后运行 `xinfang sync` 即可同步。",
            done.server, done.hall_code, done.hall_name, done.desk_name
        )
    });
    Ok(())
}

/// `xinfang sync check [--json]`: 测试连接 with the enrolled server; exit 1 when it fails.
pub fn check(args: &Args) -> CmdResult {
    let (mut store, me) = crate::cli::login(args)?;
    if store.sync_settings()?.is_none() {
        return Err(SyncError::NotEnrolled.into());
    }
    let link = xinfang_app::enrolment::link_to_test(&mut store, &me, None)?;
    drop(store);
    let test = xinfang_app::enrolment::test_connection(&link);
    print(
        args.json,
        &json!({ "ok": test.ok, "message": test.message }),
        |_| test.message.clone(),
    );
    if test.ok {
        Ok(())
    } else {
        Err(Failure::AlreadyReported)
    }
}

/// `xinfang sync [--json]`: one full sync, then the statistics' days it dropped added up.
pub fn sync(args: &Args) -> CmdResult {
    let (mut store, _me) = crate::cli::login(args)?;
    sync_and_print(args, &mut store)
}

/// `xinfang sync --watch [--json]`: listens to the server's live notifications (docs/sync.md
/// "Live notifications") and syncs once when the stream opens and at once on each
/// notification, one output line per sync. Runs until stopped; a lost connection is retried
/// with a backoff, and a failed sync is printed and waited out like the periodic one.
pub fn watch(args: &Args) -> CmdResult {
    let (store, _me) = crate::cli::login(args)?;
    let store = std::cell::RefCell::new(store);
    // Not enrolled: said once, as `xinfang sync` would, rather than waited on.
    if store.borrow_mut().sync_settings()?.is_none() {
        return Err(SyncError::NotEnrolled.into());
    }
    xinfang_app::live::listen(
        || Some(client::live_events(&mut *store.borrow_mut())),
        |_| {
            if let Err(e) = sync_and_print(args, &mut store.borrow_mut()) {
                crate::output::fail(&e, args.json);
            }
        },
        || true,
        std::thread::sleep,
    );
    Ok(())
}

fn sync_and_print(args: &Args, store: &mut xinfang_store::Store) -> CmdResult {
    let result = client::sync_once(store);
    let mut record = store.sync_record()?;
    match &result {
        Ok(report) => {
            record.last_sync_at = Some(
                store
                    .clock()
                    .now_cst()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            );
            // A wrong clock, a refused push or audit chain, set-aside changes do not stop the
            // sync, but are worth keeping in sight.
            record.last_error = report.warning();
        }
        Err(e) => record.last_error = Some(e.to_string()),
    }
    store.set_sync_record(&record)?;
    let report = result?;
    let out = json!({
        "pushed": report.pushed,
        "pulled": report.pulled,
        "pending": report.pending,
        "server_cursor": report.server_cursor,
        "audit_pushed": report.audit_pushed,
        "audit_pending": report.audit_pending,
        "audit_error": report.audit_error,
        "recovered": report.recovered,
        "snapshot": report.snapshot,
        "set_aside": report.set_aside,
        "push_error": report.push_error,
        "clock_error": report.clock_error,
        "clock_skew_secs": report.clock_skew_secs,
    });
    print(args.json, &out, |_| {
        let mut text = String::new();
        if report.recovered > 0 {
            text.push_str(&format!(
                "本机数据曾从较旧的备份恢复：已从市局服务器取回本机此前上传的 {} 条变更，恢复后新登记的变更排在其后上传。\n",
                report.recovered
            ));
        }
        if report.snapshot > 0 {
            text.push_str(&format!(
                "首次同步：已从市局服务器载入本大厅现有的 {} 条记录。\n",
                report.snapshot
            ));
        }
        text.push_str(&format!(
            "同步完成：上传 {} 条变更，下载 {} 条，待上传 {} 条；上传审计日志 {} 条。",
            report.pushed, report.pulled, report.pending, report.audit_pushed
        ));
        if let Some(w) = report.warning() {
            text.push('\n');
            text.push_str(&w);
        }
        text
    });
    // The days the sync dropped are added up now, as the desk app does after each sync, so the
    // next statistics read kept days. A failure here does not fail the sync.
    if let Err(e) = xinfang_app::stats::keep_figures(store, usize::MAX) {
        eprintln!("统计数字暂未汇总（下次查询统计时再汇总）：{}", e.message);
    }
    Ok(())
}
