//! What a sync kept for a person to decide (docs/sync.md, "Records, conflicts, quarantine"):
//! concurrent edits of a person's details, clashing matter steps, and pulled changes set aside.
//! Supervisor only; a resolution is audited by the store and syncs like any change, so every
//! desk drops the conflict. One use case for the desk app and the `xinfang conflict` CLI.

use xinfang_core::FieldError;
use xinfang_core::staff::{Action, authorize};
use xinfang_store::{Conflict, QuarantinedChange, Resolution, Staff, Store};

use crate::error::{CmdResult, CommandError};

/// The open conflicts of this desk, oldest first.
pub fn list_conflicts(store: &Store, me: &Staff) -> CmdResult<Vec<Conflict>> {
    authorize(&me.roles, Action::ResolveConflicts).map_err(CommandError::forbidden)?;
    Ok(store.open_conflicts()?)
}

/// Keeps one listed value (or, for a person's field, a checked value of the supervisor's own).
pub fn resolve_conflict(
    store: &mut Store,
    me: &Staff,
    id: &str,
    how: &Resolution,
) -> CmdResult<Conflict> {
    authorize(&me.roles, Action::ResolveConflicts).map_err(CommandError::forbidden)?;
    let cal = store.holiday_calendar();
    Ok(store.resolve_conflict(id, how, &me.id, &cal)?)
}

/// Pulled changes this desk set aside because a local rule refused them.
pub fn quarantined(store: &Store, me: &Staff) -> CmdResult<Vec<QuarantinedChange>> {
    authorize(&me.roles, Action::ResolveConflicts).map_err(CommandError::forbidden)?;
    Ok(store.quarantined_changes()?)
}

/// The desk's 同步冲突 screen: open conflicts and, read-only, the changes set aside.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncConflicts {
    pub conflicts: Vec<Conflict>,
    pub quarantined: Vec<QuarantinedChange>,
}

impl crate::api::AppState {
    /// Desk command `sync_conflicts`.
    pub fn sync_conflicts(&self) -> CmdResult<SyncConflicts> {
        self.act(Action::ResolveConflicts, |store, me| {
            Ok(SyncConflicts {
                conflicts: list_conflicts(store, me)?,
                quarantined: quarantined(store, me)?,
            })
        })
    }

    /// Desk command `resolve_sync_conflict`: keep option `choose`, or write `value` (exactly
    /// one of them, as `xinfang conflict resolve --choose|--value`).
    pub fn resolve_sync_conflict(
        &self,
        id: &str,
        choose: Option<u32>,
        value: Option<String>,
    ) -> CmdResult<Conflict> {
        self.act(Action::ResolveConflicts, |store, me| {
            let how = match (choose, value) {
                (Some(n), None) => Resolution::Choose(n),
                (None, Some(v)) if !v.trim().is_empty() => Resolution::Value(v.trim().to_owned()),
                (None, Some(_)) => {
                    return Err(FieldError::new(
                        "value",
                        "value_empty",
                        "请填写核实后的内容，或点击“保留此项”选择其中一项。",
                    )
                    .into());
                }
                _ => {
                    return Err(FieldError::new(
                        "choose",
                        "choice_missing",
                        "请选择保留其中一项，或填写核实后的内容后保存（二者选其一）。",
                    )
                    .into());
                }
            };
            resolve_conflict(store, me, id, &how)
        })
    }
}
