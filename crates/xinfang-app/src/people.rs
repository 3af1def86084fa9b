//! People (issue 13; docs/sync.md, "People: correct, merge, split"): correct a visitor's
//! document number, list likely duplicates, merge and unmerge two people, split a wrongly fused
//! one. Supervisor only (`Action::ManagePeople`, refused here for every other role); each
//! change is audited by the store and syncs like any record. One use case for the desk app's
//! 疑似重复人员 screen and the `xinfang person` CLI.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use xinfang_core::FieldError;
use xinfang_core::id::{IdType, check_document, parse_id_type};
use xinfang_core::people::check_reason;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::{Action, authorize};
use xinfang_core::visit::ValidVisitor;
use xinfang_store::{
    DuplicatePair, MergeRecord, PersonBrief, SplitOutcome, SplitTarget, Staff, Store,
};

use crate::api::REPORTER_MASK;
use crate::error::{CmdResult, CommandError};

/// The desk's 疑似重复人员 screen: likely duplicates, and the merges held here (to undo one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PeoplePage {
    /// The strongest pairs, at most `xinfang_store::PAIRS_CAP`.
    pub duplicates: Vec<DuplicatePair>,
    /// Every pair found, listed or not.
    pub duplicates_total: u32,
    pub merges: Vec<MergeRecord>,
}

/// A split as the desk app sends it: the visits to move, and where to — a person on file
/// (`into`) or the person of a document (`id_type`, `id_number`, `name`: found on file by the
/// document, else registered).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct SplitInput {
    pub visitor_id: String,
    pub visit_ids: Vec<String>,
    pub into: Option<String>,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub name: Option<String>,
    pub reason: String,
}

fn allowed(me: &Staff) -> CmdResult<()> {
    authorize(&me.roles, Action::ManagePeople).map_err(CommandError::forbidden)
}

/// Lists show a 检举控告 reporter only to whom may see each of their reports (as every list
/// of the app): otherwise the name and numbers are hidden.
fn mask_reporter(store: &Store, me: &Staff, p: &mut PersonBrief) -> CmdResult<()> {
    if !crate::contact::may_see_full_contact(me) {
        p.birth_date = None;
    }
    if p.reporter && crate::contact::reporter_hidden(store, me, &p.visitor_id)? {
        REPORTER_MASK.clone_into(&mut p.name);
        p.id_number_masked.clear();
        p.phone_masked = None;
        p.birth_date = None;
    }
    Ok(())
}

/// A document as the CLI and the app take it: `TYPE:NUMBER` (type code or Chinese name, e.g.
/// `passport:E12345678`, `身份证:…`) or a bare number (居民身份证).
pub fn parse_document(text: &str) -> Result<(IdType, String), FieldError> {
    let text = text.trim();
    let (t, number) = match text.split_once([':', '：']) {
        Some((t, n)) => (t.trim(), n.trim()),
        None => ("", text),
    };
    let id_type = if t.is_empty() {
        IdType::ResidentId
    } else {
        parse_id_type(t).ok_or_else(|| {
            FieldError::new(
                "id_type",
                "id_type_unknown",
                format!(
                    "证件类型“{t}”无法识别：请写 resident_id（居民身份证）、passport（护照）等，格式为 类型:号码。"
                ),
            )
        })?
    };
    Ok((id_type, number.to_owned()))
}

fn id_type_of(code: Option<&str>) -> Result<IdType, FieldError> {
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(IdType::ResidentId),
        Some(c) => parse_id_type(c).ok_or_else(|| {
            FieldError::new(
                "id_type",
                "id_type_unknown",
                format!("证件类型“{c}”无法识别，请从列表中选择。"),
            )
        }),
    }
}

/// The likely duplicates and the merges, reporters masked as in every list.
pub fn people_page(store: &Store, me: &Staff) -> CmdResult<PeoplePage> {
    allowed(me)?;
    let found = store.duplicate_people()?;
    let mut duplicates = found.pairs;
    for d in duplicates.iter_mut() {
        mask_reporter(store, me, &mut d.keep)?;
        mask_reporter(store, me, &mut d.other)?;
    }
    let mut merges = store.person_merges()?;
    for m in merges.iter_mut() {
        mask_reporter(store, me, &mut m.survivor)?;
        mask_reporter(store, me, &mut m.merged)?;
    }
    Ok(PeoplePage {
        duplicates,
        duplicates_total: u32::try_from(found.total).unwrap_or(u32::MAX),
        merges,
    })
}

/// Corrects a visitor's document number (checked as at registration), with a reason.
pub fn correct_document(
    store: &mut Store,
    me: &Staff,
    visitor_id: &str,
    id_type: IdType,
    number: &str,
    reason: &str,
    today: NaiveDate,
) -> CmdResult<PersonBrief> {
    allowed(me)?;
    let reason = check_reason(reason)?;
    let doc = check_document(id_type, number, today, ReferenceData::bundled().regions)?;
    let birth = doc.birth_date.map(|d| d.to_string());
    Ok(store.correct_document(
        visitor_id,
        id_type,
        &doc.normalized,
        birth.as_deref(),
        doc.sex.map(|s| s.code()),
        &reason,
        &me.id,
    )?)
}

/// Merges `other` into `keep` (both stay on file; `other`'s visits show under `keep`).
pub fn merge(
    store: &mut Store,
    me: &Staff,
    keep: &str,
    other: &str,
    reason: &str,
) -> CmdResult<MergeRecord> {
    allowed(me)?;
    let reason = check_reason(reason)?;
    Ok(store.merge_people(keep, other, &reason, &me.id)?)
}

/// Undoes a merge.
pub fn unmerge(
    store: &mut Store,
    me: &Staff,
    merge_id: &str,
    reason: &str,
) -> CmdResult<MergeRecord> {
    allowed(me)?;
    let reason = check_reason(reason)?;
    Ok(store.unmerge_people(merge_id, &reason, &me.id)?)
}

/// Moves chosen visits of a wrongly fused person to another person.
pub fn split(
    store: &mut Store,
    me: &Staff,
    input: &SplitInput,
    today: NaiveDate,
) -> CmdResult<SplitOutcome> {
    allowed(me)?;
    let reason = check_reason(&input.reason)?;
    let number = input.id_number.as_deref().map(str::trim).unwrap_or("");
    let target = match (&input.into, number.is_empty()) {
        (Some(into), true) if !into.trim().is_empty() => SplitTarget::Existing(into.clone()),
        (None, false) => {
            let id_type = id_type_of(input.id_type.as_deref())?;
            let doc = check_document(id_type, number, today, ReferenceData::bundled().regions)?;
            let name = input.name.as_deref().map(str::trim).unwrap_or("");
            if name.is_empty() {
                return Err(FieldError::new(
                    "name",
                    "name_empty",
                    "请填写移入人员的姓名（按证件填写）。",
                )
                .into());
            }
            SplitTarget::Document(ValidVisitor {
                name: name.to_owned(),
                id_type,
                id_number: doc.normalized,
                sex: doc.sex,
                birth_date: doc.birth_date,
                phone: None,
                address: None,
                ethnicity: None,
                occupation: None,
            })
        }
        _ => {
            return Err(FieldError::new(
                "into",
                "target_missing",
                "请选择要移入的来访人，或填写另一个人的证件号码和姓名（二者选其一）。",
            )
            .into());
        }
    };
    Ok(store.split_person(
        &input.visitor_id,
        &input.visit_ids,
        &target,
        &reason,
        &me.id,
    )?)
}

impl crate::api::AppState {
    /// Desk command `people_duplicates`: the 疑似重复人员 screen.
    pub fn people_duplicates(&self) -> CmdResult<PeoplePage> {
        self.act(Action::ManagePeople, |store, me| people_page(store, me))
    }

    /// Desk command `merge_people`.
    pub fn merge_people(&self, keep: &str, other: &str, reason: &str) -> CmdResult<MergeRecord> {
        self.act(Action::ManagePeople, |store, me| {
            let out = merge(store, me, keep, other, reason)?;
            self.sync_wake.notify_one();
            Ok(out)
        })
    }

    /// Desk command `unmerge_people`.
    pub fn unmerge_people(&self, merge_id: &str, reason: &str) -> CmdResult<MergeRecord> {
        self.act(Action::ManagePeople, |store, me| {
            let out = unmerge(store, me, merge_id, reason)?;
            self.sync_wake.notify_one();
            Ok(out)
        })
    }

    /// Desk command `correct_document`.
    pub fn correct_document(
        &self,
        visitor_id: &str,
        id_type: &str,
        id_number: &str,
        reason: &str,
    ) -> CmdResult<PersonBrief> {
        self.act(Action::ManagePeople, |store, me| {
            let t = id_type_of(Some(id_type))?;
            let out = correct_document(
                store,
                me,
                visitor_id,
                t,
                id_number,
                reason,
                self.local_date(),
            )?;
            self.sync_wake.notify_one();
            Ok(out)
        })
    }

    /// Desk command `split_person`.
    pub fn split_person(&self, input: SplitInput) -> CmdResult<SplitOutcome> {
        self.act(Action::ManagePeople, |store, me| {
            let out = split(store, me, &input, self.local_date())?;
            self.sync_wake.notify_one();
            Ok(out)
        })
    }
}
