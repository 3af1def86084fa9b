//! Hall-wide queue numbers and calls at the desk (issue 17), once for the app and the CLI.
//!
//! At registration the desk asks its server (the hall's hub, or the city) for the hall's next
//! number, with a short timeout and without holding the store; when it gets none (not enrolled,
//! offline, an error) the store issues the desk's own number with its letter (`B017`) and the
//! clerk is told why. Nothing is refused for want of a number. "叫号" sends a number and a room
//! to the server's call screen: best effort, the answer says whether it was called.

use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;
use xinfang_core::error::FieldError;
use xinfang_core::queue::{Room, call_text, check_label};
use xinfang_core::staff::{Action, authorize};
use xinfang_print::slip::SlipSize;
use xinfang_store::{Staff, Store};
use xinfang_sync::client::{Client, SyncError, hall_client};
use xinfang_sync::queue::{CallRequest, QueueNumberRequest};

use crate::api::AppState;
use crate::error::{CmdResult, CommandError};
use crate::matters::{open_with_system, print_error, printer, write_pdf_for_printing};

/// Asks the hall's server for its next number of `day`; the error says why there is none.
pub fn ask_number(client: Result<Client, SyncError>, day: NaiveDate) -> Result<String, SyncError> {
    let number = client?.queue_number(&QueueNumberRequest {
        day: Some(day.to_string()),
        hall_code: None,
    })?;
    // A server answering something that is no queue number is treated as no answer.
    check_label(&number.label).map_err(|e| SyncError::Protocol(e.message))
}

fn why_not(e: &SyncError) -> String {
    match e {
        SyncError::NotEnrolled => "本机未登记到大厅服务器".to_owned(),
        e if e.is_offline() => "未连上大厅服务器".to_owned(),
        SyncError::Server { message, .. } => format!("大厅服务器未发号（{message}）"),
        _ => "大厅服务器未发号".to_owned(),
    }
}

/// What the clerk reads when the desk issued its own number.
pub fn own_number_note(e: &SyncError, label: &str) -> String {
    format!(
        "{}，本号为本机号 {label}：全大厅统一的号码要联上大厅服务器后才有，本号照常有效。",
        why_not(e)
    )
}

/// Who may call to a room: the clerk to the registration window, the lawyer and the mediator
/// to their rooms (supervisors to any, as their roles allow).
pub fn call_action(room: Room) -> Action {
    match room {
        Room::Registration => Action::RegisterVisit,
        Room::Lawyer => Action::LawyerDesk,
        Room::Mediator => Action::MediatorDesk,
    }
}

/// A call as the desk reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallOutcome {
    /// Whether the call screen shows it now.
    pub called: bool,
    pub queue_label: String,
    pub room_label: String,
    /// 请 17 号到律师咨询室: to say aloud at the desk when the screen was not reached.
    pub text: String,
    /// Why it was not called (Chinese); none when it was.
    pub note: Option<String>,
}

/// Checks the caller's role for the room and the label, and makes the client (the network is
/// not used yet): the part of a call that needs the store.
pub fn prepare_call(
    store: &mut Store,
    me: &Staff,
    label: &str,
    room: Room,
) -> CmdResult<(Result<Client, SyncError>, String)> {
    authorize(&me.roles, call_action(room)).map_err(CommandError::forbidden)?;
    let label = check_label(label)?;
    Ok((hall_client(store), label))
}

/// Sends a prepared call; never fails: the outcome says whether the screen got it.
pub fn send_call(client: Result<Client, SyncError>, label: &str, room: Room) -> CallOutcome {
    let sent = client.and_then(|c| {
        c.call(&CallRequest {
            queue_label: label.to_owned(),
            room: room.code().to_owned(),
            hall_code: None,
        })
    });
    let note = sent.err().map(|e| {
        tracing::warn!(error = %e, "call not sent");
        format!("{}，叫号屏上没有显示：请口头叫号。", why_not_call(&e))
    });
    CallOutcome {
        called: note.is_none(),
        queue_label: label.to_owned(),
        room_label: room.label_zh().to_owned(),
        text: call_text(label, room),
        note,
    }
}

fn why_not_call(e: &SyncError) -> String {
    match e {
        SyncError::NotEnrolled => "本机未登记到大厅服务器".to_owned(),
        e if e.is_offline() => "未连上大厅服务器".to_owned(),
        SyncError::Server { message, .. } => format!("大厅服务器未能叫号（{message}）"),
        _ => "大厅服务器未能叫号".to_owned(),
    }
}

/// A queue slip (排队单) written for the printer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrintedSlip {
    pub queue_label: String,
    /// Full path of the PDF written for printing (removed at the next print, logout or lock).
    pub path: String,
    pub bytes: u64,
}

impl AppState {
    /// The queue slip of a visit (`size`: `receipt`, 80 mm, or `a5`), rendered and written for
    /// the printer: hall, number, time, where to wait, the hall's phone, a QR code of the
    /// visit's number — nothing personal ([`crate::api::queue_slip`]).
    pub fn queue_slip_pdf(&self, visit_id: &str, size: &str) -> CmdResult<PrintedSlip> {
        let size = SlipSize::parse(size).ok_or_else(|| {
            FieldError::new(
                "size",
                "slip_size_unknown",
                "排队单纸张请用 receipt（80 毫米小票）或 a5。",
            )
        })?;
        let today = self.local_date();
        let slip = self.act(Action::RegisterVisit, |store, me| {
            crate::api::queue_slip(store, me, visit_id, today)
        })?;
        let pdf = printer(self.data_dir())
            .and_then(|p| p.render_slip(&slip, size))
            .map_err(print_error("slip", "排队单"))?;
        let file_name = format!(
            "排队单-{}-{}.pdf",
            slip.queue_no,
            self.now_cst().format("%Y%m%d-%H%M%S")
        );
        let path = write_pdf_for_printing(self.data_dir(), &file_name, &pdf)?;
        tracing::info!(visit_id, "queue slip printed");
        Ok(PrintedSlip {
            queue_label: slip.queue_no,
            path: path.display().to_string(),
            bytes: pdf.len() as u64,
        })
    }

    /// 打印排队单: the slip written for the printer and opened in the system's PDF viewer,
    /// whose print dialog sends it to the receipt or A5 printer.
    pub fn print_queue_slip(&self, visit_id: &str, size: &str) -> CmdResult<PrintedSlip> {
        let printed = self.queue_slip_pdf(visit_id, size)?;
        open_with_system(Path::new(&printed.path), "请在文件管理器中打开该文件打印。")?;
        Ok(printed)
    }

    /// "叫号": calls `label` to `room` on the hall's call screen, role-checked for the room.
    pub fn call_number(&self, label: &str, room: Room) -> CmdResult<CallOutcome> {
        let (client, label) = self.act(call_action(room), |store, me| {
            prepare_call(store, me, label, room)
        })?;
        // Sent while the store stays free for the desk's other work.
        Ok(send_call(client, &label, room))
    }
}
