//! 访调对接 from scripts and tests: `xinfang visit handoff`, `xinfang queue`, `xinfang queue take`,
//! `xinfang queue call` (issue 17). The same use cases as the desk app's hand-off button, the
//! lawyer's and mediator's queues and the 叫号 buttons (`xinfang_app::api`,
//! `xinfang_app::hall_queue`), with the same role checks.

use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use xinfang_core::desk::Desk;
use xinfang_core::queue::Room;
use xinfang_store::QueueItem;

use crate::cli::{Args, login};
use crate::output::{CmdResult, print};

/// The desk a visitor is handed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeskArg {
    /// 值班律师（法律咨询）
    Lawyer,
    /// 人民调解员（人民调解）
    Mediator,
}

impl From<DeskArg> for Desk {
    fn from(d: DeskArg) -> Desk {
        match d {
            DeskArg::Lawyer => Desk::Lawyer,
            DeskArg::Mediator => Desk::Mediator,
        }
    }
}

/// The room a number is called to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoomArg {
    /// 登记窗口
    Registration,
    /// 律师咨询室
    Lawyer,
    /// 人民调解室
    Mediator,
}

impl From<RoomArg> for Room {
    fn from(r: RoomArg) -> Room {
        match r {
            RoomArg::Registration => Room::Registration,
            RoomArg::Lawyer => Room::Lawyer,
            RoomArg::Mediator => Room::Mediator,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Take the next visitor of the desk's queue (the one you already have, else the one
    /// waiting longest), call their number on the hall's call screen (best effort: `called`
    /// says whether it was) and print it; nothing (`null` with --json) when nobody waits.
    Take {
        #[arg(long)]
        desk: DeskArg,
    },
    /// Call a queue number to a room on the hall's call screen (叫号屏); fails, saying why,
    /// when the hall's server cannot be reached.
    Call {
        #[arg(long)]
        room: RoomArg,
        /// The number as shown: `17` or `B017`.
        #[arg(long)]
        label: String,
    },
}

/// One line of a desk's queue, as scripts read it.
#[derive(Debug, Serialize)]
pub struct QueueLine {
    pub visit_id: String,
    /// 来访编号 (`沁水-2026-11-05-B017`).
    pub number: String,
    pub queue_no: i64,
    /// The number shown and called: `17` (the hall's) or `B017` (a desk's own).
    pub queue_label: String,
    /// `waiting` or `taken`.
    pub status: String,
    pub status_label: String,
    pub handoff_id: String,
    pub desk: String,
    /// The visitors' names (a report's masked for whom may not see it).
    pub visitors: Vec<String>,
    pub note: Option<String>,
    pub handed_off_at: String,
    pub taken_by: Option<String>,
}

impl From<QueueItem> for QueueLine {
    fn from(i: QueueItem) -> QueueLine {
        QueueLine {
            visit_id: i.visit.visit_id,
            number: i.visit.number,
            queue_no: i.visit.queue_no,
            queue_label: i.visit.queue_label,
            status: i.handoff.state.code().to_owned(),
            status_label: i.handoff.state_label,
            handoff_id: i.handoff.id,
            desk: i.handoff.desk.code().to_owned(),
            visitors: i.visit.visitors.into_iter().map(|v| v.name).collect(),
            note: i.handoff.note,
            handed_off_at: i.handoff.created_at,
            taken_by: i.handoff.taken_by_name,
        }
    }
}

/// The visitor taken, and whether the call screen shows their number.
#[derive(Debug, Serialize)]
pub struct Taken {
    #[serde(flatten)]
    pub line: QueueLine,
    pub called: bool,
    /// Why the number was not called (Chinese).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_note: Option<String>,
}

fn line_text(l: &QueueLine) -> String {
    let who = l
        .taken_by
        .as_deref()
        .map_or(String::new(), |t| format!("（{t}）"));
    format!(
        "{:>4} 号  {}  {}{who}",
        l.queue_label,
        l.visitors.join("、"),
        l.status_label
    )
}

/// `xinfang visit handoff VISIT_ID --desk lawyer|mediator [--note TEXT]`.
pub fn handoff(args: &Args, visit_id: &str, desk: DeskArg, note: Option<&str>) -> CmdResult {
    let (mut store, me) = login(args)?;
    let h = xinfang_app::api::hand_off(&mut store, &me, visit_id, desk.into(), note.unwrap_or(""))?;
    let number = xinfang_app::api::visit_number(&store, &me, &h.visit_id)?;
    print(args.json, &h, |h| {
        format!("已转{}，等候接待（来访编号 {number}）", h.desk_label)
    });
    Ok(())
}

/// `xinfang queue --desk D` and `xinfang queue take --desk D`.
pub fn queue(args: &Args, desk: Option<DeskArg>, command: Option<&QueueCommand>) -> CmdResult {
    match command {
        Some(QueueCommand::Take { desk }) => {
            let (mut store, me) = login(args)?;
            let desk: Desk = (*desk).into();
            let next = xinfang_app::api::take_next(&mut store, &me, desk)?.map(QueueLine::from);
            let taken = match next {
                None => None,
                Some(line) => {
                    let room = Room::of_desk(desk);
                    let (client, label) = xinfang_app::hall_queue::prepare_call(
                        &mut store,
                        &me,
                        &line.queue_label,
                        room,
                    )?;
                    let outcome = xinfang_app::hall_queue::send_call(client, &label, room);
                    Some(Taken {
                        line,
                        called: outcome.called,
                        call_note: outcome.note,
                    })
                }
            };
            print(args.json, &taken, |n| match n {
                Some(t) => {
                    let mut text = format!("请 {} 号：{}", t.line.queue_label, line_text(&t.line));
                    if let Some(note) = &t.call_note {
                        text += &format!("\n{note}");
                    }
                    text
                }
                None => "没有等候的来访人。".to_owned(),
            });
        }
        Some(QueueCommand::Call { room, label }) => {
            let (mut store, me) = login(args)?;
            let room: Room = (*room).into();
            let (client, label) =
                xinfang_app::hall_queue::prepare_call(&mut store, &me, label, room)?;
            drop(store);
            let outcome = xinfang_app::hall_queue::send_call(client, &label, room);
            if let Some(note) = &outcome.note {
                return Err(
                    xinfang_core::FieldError::new("server", "not_called", note.clone()).into(),
                );
            }
            print(args.json, &outcome, |o| format!("已叫号：{}", o.text));
        }
        None => {
            let desk = desk.ok_or_else(|| {
                xinfang_core::FieldError::new(
                    "desk",
                    "desk_required",
                    "请用 --desk lawyer 或 --desk mediator 指明哪个窗口的队列。",
                )
            })?;
            let (store, me) = login(args)?;
            let lines: Vec<QueueLine> = xinfang_app::api::desk_queue(&store, &me, desk.into())?
                .into_iter()
                .map(QueueLine::from)
                .collect();
            print(args.json, &lines, |ls| {
                if ls.is_empty() {
                    "没有等候的来访人。".to_owned()
                } else {
                    ls.iter().map(line_text).collect::<Vec<_>>().join("\n")
                }
            });
        }
    }
    Ok(())
}
