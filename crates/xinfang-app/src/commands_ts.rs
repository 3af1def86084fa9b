//! `ui/src/api/commands.ts`: the TypeScript signature of every command, generated from
//! [`crate::command_table`] with the ts-rs names of its argument and answer types. The desktop
//! crate's bindings test writes it and fails when the committed file is stale.

use std::collections::BTreeSet;

use ts_rs::TS;
use xinfang_core::backlog::{ClearInput, FlagInput, NoteInput};
use xinfang_core::classify::ClassifyInput;
use xinfang_core::desk::{
    ConsultationInput, ContinueMediationInput, Desk, FollowUpInput, IdCheck, InvestigationInput,
    MediationInput,
};
use xinfang_core::staff::Role;
use xinfang_core::stats::{EvaluationInput, PublicityInput};
use xinfang_core::visit::{VisitInput, VisitorInput};
use xinfang_store::{
    BacklogCase, BacklogCasePage, BacklogFilter, Completeness, Conflict, ConsultationRecord, Draft,
    DueList, EvaluationRecord, HandoffInfo, HistoryEntry, MediationRecord, MergeRecord,
    PersonBrief, PersonMatter, PublicityRecord, QueueItem, RateMattersPage, SplitOutcome, Staff,
    VisitDetail, VisitRow, VisitorPhoto, VisitorProfile,
};

use crate::account::{PasswordChange, RecoveryInput};
use crate::api::{
    AppInfo, AuditQuery, AuditRow, ContactField, NewStaffInput, ReferenceLists, RegisterResult,
    SessionInfo, SetupInput, SyncStatus,
};
use crate::backup::{BackupDone, BackupReminder, RestoreDone};
use crate::conflicts::SyncConflicts;
use crate::contact::HallSettings;
use crate::desk_settings::{CardFill, MySettings, ReaderSettings};
use crate::enrolment::{ConnectionInfo, ConnectionTest, EnrolledDesk, FoundServer, TrustedCa};
use crate::hall_queue::{CallOutcome, PrintedSlip};
use crate::matters::{BacklogBoard, MatterPage, PrintedNotice, ProposeRouteInput};
use crate::other_halls::OtherHallMatters;
use crate::people::{PeoplePage, SplitInput};
use crate::stats::{PublicityPage, StatsPage, WrittenFile};
use crate::update::{InstallStarted, UpdateCheck};

/// A step's form is read by `matters::parse_event`, field by field: any JSON object.
macro_rules! ts_name {
    (Value) => {
        "Record<string, unknown>".to_owned()
    };
    ($tn:ident $(<$inner:ty>)?) => {
        <$tn $(<$inner>)? as TS>::name()
    };
}

/// One command: its name, its arguments (Rust name, TypeScript type) and its answer's type.
pub type Signature = (&'static str, Vec<(&'static str, String)>, String);

macro_rules! signatures_fn {
    ($($name:ident : $rule:ident, ($($arg:ident : $tn:ident $(<$inner:ty>)?),*) -> $ret:ty;)*) => {
        /// Every command's signature, in the table's order.
        pub fn signatures() -> Vec<Signature> {
            vec![$((
                stringify!($name),
                vec![$((stringify!($arg), ts_name!($tn $(<$inner>)?))),*],
                <$ret as TS>::name(),
            )),*]
        }
    };
}

crate::command_table!(signatures_fn);

/// Tauri hands the webview's camelCase argument names to the Rust snake_case ones.
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// serde_json sends integers as JSON numbers (see src-tauri's bindings.rs).
fn number(ts: &str) -> String {
    ts.replace("bigint", "number")
}

/// The generated `commands.ts`.
pub fn commands_ts() -> String {
    let sigs = signatures();
    let mut imports = BTreeSet::new();
    let mut body = String::new();
    for (name, args, ret) in &sigs {
        let mut types = vec![ret.clone()];
        types.extend(args.iter().map(|(_, t)| t.clone()));
        for t in &types {
            for word in t.split(|c: char| !c.is_ascii_alphanumeric()) {
                if word.starts_with(|c: char| c.is_ascii_uppercase())
                    && !["Array", "Record"].contains(&word)
                {
                    imports.insert(word.to_owned());
                }
            }
        }
        let args = if args.is_empty() {
            "null".to_owned()
        } else {
            let fields: Vec<String> = args
                .iter()
                .map(|(a, t)| format!("{}: {}", camel(a), number(t)))
                .collect();
            format!("{{ {} }}", fields.join("; "))
        };
        body.push_str(&format!(
            "  {name}: {{ args: {args}; result: {} }}\n",
            number(ret)
        ));
    }
    let mut out = String::from(
        "// Generated from crates/xinfang-app/src/command_list.rs (the command table) by\n\
         // `UPDATE_BINDINGS=1 cargo test -p xinfang-desk bindings`: do not edit.\n",
    );
    for t in &imports {
        out.push_str(&format!("import type {{ {t} }} from './bindings/{t}'\n"));
    }
    out.push_str(
        "\n/** Every command: its arguments as the webview sends them, `null` for none, and its answer. */\n\
         export interface Commands {\n",
    );
    out.push_str(&body);
    out.push_str("}\n\nexport type CommandName = keyof Commands\n");
    out
}
