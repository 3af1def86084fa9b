//! What a lower role sees of a person: full ID numbers and phones of visitors and mediation
//! parties only through an audited reveal, birth dates only to roles that may see full numbers
//! (with the masked number a birth date gives most of it back), and a 检举控告 reporter only to
//! whom may see each of their reports (docs/security.md, "Full ID numbers and phones").

use xinfang_core::phone::mask_phone;
use xinfang_core::staff::{Action, Role, authorize};
use xinfang_store::{AuditAction, MediationRecord, Staff, Store, VisitRow, VisitorHit};

use crate::api::{ContactField, REPORTER_MASK, check_confidential, open_mediation};
use crate::error::{CmdResult, CommandError, ErrorKind};

/// Whether `me`'s roles may see full numbers, and so birth dates.
pub(crate) fn may_see_full_contact(me: &Staff) -> bool {
    authorize(&me.roles, Action::ViewFullContact).is_ok()
}

/// The parties of a mediation as lists show them: numbers and phones masked.
pub(crate) fn mask_parties(m: &mut MediationRecord) {
    for party in m.parties.iter_mut() {
        party.id_number.clone_from(&party.id_number_masked);
        party.phone = party.phone.as_deref().map(mask_phone);
    }
}

/// True when the person has a 检举控告 visit that `me` may not see: then the person is shown to
/// `me` as nobody in particular (the rule of `api::mask_row` and of the export).
pub(crate) fn reporter_hidden(store: &Store, me: &Staff, visitor_id: &str) -> CmdResult<bool> {
    for v in store.visits_of_visitor(visitor_id)? {
        if v.confidential && check_confidential(me, &store.visit_owner(&v.visit_id)?).is_err() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A search hit as `me` may see it: a reporter hidden as the lists hide them, the birth date
/// only for roles that may see full numbers (the app's history panel and the CLI's `search`).
pub fn mask_hit(store: &Store, me: &Staff, hit: &mut VisitorHit) -> CmdResult<()> {
    if reporter_hidden(store, me, &hit.visitor_id)? {
        REPORTER_MASK.clone_into(&mut hit.name);
        hit.id_number_masked.clear();
        hit.phone_masked = None;
        hit.sex = None;
        hit.birth_date = None;
    }
    if !may_see_full_contact(me) {
        hit.birth_date = None;
    }
    Ok(())
}

/// The person's entries in visit rows shown as the reporter mask.
pub(crate) fn hide_in_row(row: &mut VisitRow, visitor_ids: &[&str]) {
    for v in row.visitors.iter_mut() {
        if visitor_ids.contains(&v.visitor_id.as_str()) {
            REPORTER_MASK.clone_into(&mut v.name);
            v.id_number_masked.clear();
        }
    }
}

/// A mediation record for printing its agreement: the parties' full numbers, as the mediator
/// typed them, for the mediator who recorded it and supervisors; audited before it is returned.
pub fn mediation_agreement(store: &Store, me: &Staff, id: &str) -> CmdResult<MediationRecord> {
    authorize(&me.roles, Action::PrintMediationAgreement).map_err(CommandError::forbidden)?;
    let m = open_mediation(store, me, id)?;
    if m.mediator_id != me.id && !me.roles.contains(&Role::Supervisor) {
        return Err(CommandError::new(
            ErrorKind::Forbidden,
            "not_own_mediation",
            "无权打印该调解协议书：仅记录该调解的调解员和负责人可以打印（协议书含当事人完整证件号码）。",
        ));
    }
    store.audit(
        &me.id,
        AuditAction::ViewFullId,
        "mediation",
        id,
        "打印调解协议书",
    )?;
    if m.parties.iter().any(|p| p.phone.is_some()) {
        store.audit(
            &me.id,
            AuditAction::ViewFullPhone,
            "mediation",
            id,
            "打印调解协议书",
        )?;
    }
    Ok(m)
}

/// One mediation party's ID number or phone in full (`party`: its place in the record's list,
/// from 0): `view_full_contact`, refused for a 检举控告 visit `me` may not see, audited before
/// the number is returned.
pub fn reveal_party_contact(
    store: &Store,
    me: &Staff,
    mediation_id: &str,
    party: u32,
    field: ContactField,
) -> CmdResult<String> {
    authorize(&me.roles, Action::ViewFullContact).map_err(CommandError::forbidden)?;
    let m = store.mediation(mediation_id)?;
    check_confidential(me, &store.visit_owner(&m.visit_id)?)?;
    let Some(p) = usize::try_from(party).ok().and_then(|i| m.parties.get(i)) else {
        return Err(CommandError::new(
            ErrorKind::NotFound,
            "not_found",
            "没有找到该当事人，请刷新页面后重试。",
        ));
    };
    let (action, value) = match field {
        ContactField::IdNumber => (AuditAction::ViewFullId, Some(p.id_number.clone())),
        ContactField::Phone => (AuditAction::ViewFullPhone, p.phone.clone()),
    };
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Err(CommandError::new(
            ErrorKind::NotFound,
            "not_found",
            "该当事人没有登记电话号码，无需显示。",
        ));
    };
    let detail = format!("第 {} 位当事人（{}）", party + 1, p.role_label);
    store.audit(&me.id, action, "mediation", mediation_id, &detail)?;
    Ok(value)
}
