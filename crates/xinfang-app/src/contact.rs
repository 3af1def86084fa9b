//! What a lower role sees of a person: full ID numbers and phones of visitors and mediation
//! parties only through an audited reveal, birth dates only to roles that may see full numbers
//! (with the masked number a birth date gives most of it back), and a 检举控告 reporter only to
//! whom may see each of their reports (docs/security.md, "Full ID numbers and phones").

use chrono::NaiveDate;
use xinfang_core::notice::{
    self, AgreementParty, DocumentFollowUp, DocumentInvestigation, DocumentSession,
    MediationAgreementInput, NoticeData, NoticeKind,
};
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

/// One of the mediation documents (协议书, 口头协议登记表, 调解记录, 回访记录) filled from the
/// record: the parties in full, so checked and audited as [`mediation_agreement`]; refused when
/// the record has no such document (no agreement, an agreement of the other form, no 回访).
/// The desk's print command and the CLI's `notice render --mediation` both use it.
pub fn mediation_document(
    store: &Store,
    me: &Staff,
    id: &str,
    kind: NoticeKind,
    today: NaiveDate,
) -> CmdResult<NoticeData> {
    let m = mediation_agreement(store, me, id)?;
    if matches!(
        kind,
        NoticeKind::MediationAgreement | NoticeKind::OralAgreement
    ) {
        notice::check_agreed(m.outcome)?;
    }
    let available = notice::available_mediation_documents(
        m.started_by,
        m.outcome,
        m.agreement_form,
        m.follow_ups.len(),
        m.investigations.len(),
    );
    if !available.contains(&kind) {
        let names: Vec<&str> = available.iter().map(|k| k.title_zh()).collect();
        return Err(xinfang_core::FieldError::new(
            "kind",
            "document_unavailable",
            format!(
                "该调解记录不能打印{}，可以打印：{}。",
                kind.title_zh(),
                names.join("、")
            ),
        )
        .into());
    }
    let created_on = m
        .created_at
        .get(..10)
        .and_then(|d| d.parse().ok())
        .unwrap_or(today);
    let input = MediationAgreementInput {
        hall_code: store.hall_code().to_owned(),
        doc_no: String::new(),
        mediator_name: m.mediator_name,
        dispute_type_name: m.dispute_type_name,
        parties: m
            .parties
            .into_iter()
            .map(|p| AgreementParty {
                role_label: p.role_label,
                name: match p.representative {
                    Some(r) => format!("{}（负责人：{r}）", p.name),
                    None => p.name,
                },
                sex: String::new(),
                id_type_label: p.id_type_label,
                id_number: p.id_number,
                phone: p.phone.unwrap_or_default(),
                address: p.address.unwrap_or_default(),
            })
            .collect(),
        dispute_facts: m.dispute_facts,
        agreement_text: m.agreement_text,
        judicial_confirmation: m.judicial_confirmation,
        agreed_on: m.agreement_effective_on.unwrap_or(created_on),
        committee_name: store
            .hall_setting(xinfang_store::MEDIATION_COMMITTEE)?
            .unwrap_or_default(),
        points_in_dispute: m.points_in_dispute,
        responsibility: m.responsibility,
        started_by_label: m.started_by_label,
        request: m.request,
        applied_on: m.applied_on,
        outcome_label: m.outcome_label,
        sessions: m
            .sessions
            .into_iter()
            .filter_map(|s| {
                Some(DocumentSession {
                    held_on: s.held_on.parse().ok()?,
                    notes: s.notes,
                })
            })
            .collect(),
        follow_ups: m
            .follow_ups
            .into_iter()
            .map(|f| DocumentFollowUp {
                visited_on: f.visited_on,
                fulfilment_label: f.fulfilment_label,
                notes: f.notes,
                by_name: f.by_name,
            })
            .collect(),
        investigations: m
            .investigations
            .into_iter()
            .map(|i| DocumentInvestigation {
                investigated_on: i.investigated_on,
                place: i.place,
                person: i.person,
                present: i.present,
                content: i.content,
                by_name: i.by_name,
            })
            .collect(),
        printed_on: Some(today),
    };
    Ok(notice::mediation_document(
        kind,
        &input,
        &store.reference_data(),
    )?)
}

/// The hall's names as the desks show them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HallSettings {
    /// The 人民调解委员会 the mediation documents are issued in.
    pub committee_name: String,
    /// False while it is the default (`<hall>人民调解委员会`), not set by an administrator.
    pub committee_name_set: bool,
}

pub fn hall_settings(store: &Store) -> CmdResult<HallSettings> {
    let set = store.hall_setting(xinfang_store::MEDIATION_COMMITTEE)?;
    Ok(HallSettings {
        committee_name_set: set.is_some(),
        committee_name: set.unwrap_or_else(|| {
            notice::committee_name(store.hall_code(), store.reference_data().regions)
        }),
    })
}

/// Names the hall's 人民调解委员会 (administrators): every desk of the hall issues its mediation
/// documents in it once synced.
pub fn set_committee_name(store: &mut Store, me: &Staff, name: &str) -> CmdResult<HallSettings> {
    authorize(&me.roles, Action::ConfigureHall).map_err(CommandError::forbidden)?;
    let name = xinfang_core::desk::check_committee_name(name)?;
    store.set_hall_setting(xinfang_store::MEDIATION_COMMITTEE, &name)?;
    tracing::info!("mediation committee named");
    hall_settings(store)
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
