//! What a sync kept for a person to decide (docs/sync.md, "Records, conflicts, quarantine"):
//! concurrent edits of a person's details, clashing matter steps, and pulled changes set aside.
//! Supervisor only; a resolution is audited by the store and syncs like any change, so every
//! desk drops the conflict. One use case for the desk app and the `xinfang conflict` CLI.

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
