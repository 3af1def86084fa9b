//! 调解记录: a mediation with its parties and sessions, written when the mediator first saves it
//! and continued while it is pending (sessions added, the outcome decided), then the court's
//! answer to 司法确认 and the 回访 of the agreement. Sessions and 回访 are rows of their own that
//! never overwrite each other; the conclusion is written once, on a pending record.
//!
//! Every write appends its change-log rows in the same transaction, like the rest of the store.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::desk::{
    AgreementForm, ConfirmationResult, Desk, Fulfilment, MediationOutcome, PartyKind, PartyRole,
    StartedBy, ValidConclusion, ValidFollowUp, ValidInvestigation, ValidMediation, ValidSession,
    check_pending, dispute_type, judicial_confirmation_due, party_id_type_label,
};
use xinfang_core::id::mask_id;
use xinfang_core::notice::{NoticeKind, available_mediation_documents};

use crate::changelog::{self, Op};
use crate::desk::{finish_handoffs, not_found, require_visit};
use crate::{Result, Store, now_text};

/// A party of a mediation. `id_number` is the full number, for the agreement; lists use the mask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PartyRecord {
    pub role: PartyRole,
    pub role_label: String,
    pub kind: PartyKind,
    pub kind_label: String,
    pub name: String,
    pub id_type_label: String,
    pub id_number: String,
    pub id_number_masked: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// An organisation's 法定代表人 or 主要负责人.
    pub representative: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionRecord {
    pub held_on: String,
    pub notes: String,
}

/// A 回访 of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FollowUpRecord {
    pub visited_on: NaiveDate,
    pub fulfilment: Fulfilment,
    pub fulfilment_label: String,
    pub notes: String,
    pub by_name: String,
}

/// A 调查 of a mediation; `by_name` is its 记录人.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InvestigationRecord {
    pub investigated_on: NaiveDate,
    pub place: String,
    pub person: String,
    pub present: String,
    pub content: String,
    pub by_name: String,
}

/// 调解记录 as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediationRecord {
    pub id: String,
    pub visit_id: String,
    /// Staff id of the mediator who recorded it (who may print its agreement in full).
    pub mediator_id: String,
    pub mediator_name: String,
    pub dispute_type: String,
    pub dispute_type_name: String,
    pub started_by: StartedBy,
    pub started_by_label: String,
    /// The day the parties applied for, or agreed to, mediation (unknown on older records).
    pub applied_on: Option<NaiveDate>,
    /// 申请调解事项 (empty on older records).
    pub request: String,
    pub parties: Vec<PartyRecord>,
    pub sessions: Vec<SessionRecord>,
    pub outcome: MediationOutcome,
    pub outcome_label: String,
    /// An agreement's form (书面 / 口头).
    pub agreement_form: Option<AgreementForm>,
    pub agreement_form_label: Option<String>,
    pub dispute_facts: String,
    pub points_in_dispute: String,
    pub responsibility: String,
    pub agreement_text: String,
    pub judicial_confirmation: bool,
    /// The day the agreement took effect; the 30 days for 司法确认 run from it.
    pub agreement_effective_on: Option<NaiveDate>,
    /// The last day to ask the court for 司法确认 (an agreement's only).
    pub confirmation_due: Option<NaiveDate>,
    pub confirmation_result: Option<ConfirmationResult>,
    pub confirmation_result_label: Option<String>,
    pub follow_ups: Vec<FollowUpRecord>,
    pub investigations: Vec<InvestigationRecord>,
    /// The documents the record can print now (调解记录; the agreement in its form; 回访记录).
    pub documents: Vec<MediationDocument>,
    pub created_at: String,
}

/// A document of a mediation, for its print button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediationDocument {
    pub kind: NoticeKind,
    pub title: String,
}

type Head = (
    (String, String, String, String, String, String),
    (String, bool, String, Option<String>, Option<String>),
    (
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    ),
    String,
);

pub(crate) fn mediations_where(
    conn: &Connection,
    clause: &str,
    key: &str,
    cal: &HolidayCalendar,
) -> Result<Vec<MediationRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT m.id, m.visit_id, m.mediator_id, coalesce(s.display_name, ''), m.dispute_type, m.outcome,
                m.agreement_text, m.judicial_confirmation, m.created_at, m.agreement_effective_on,
                m.confirmation_result, m.started_by, m.applied_on, m.agreement_form,
                m.dispute_facts, m.points_in_dispute, m.responsibility, m.request
         FROM mediations m LEFT JOIN staff s ON s.id = m.mediator_id
         WHERE {clause} ORDER BY m.created_at DESC"
    ))?;
    let heads = stmt
        .query_map([key], |r| {
            Ok((
                (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ),
                (r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?),
                (
                    r.get(11)?,
                    r.get(12)?,
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                    r.get(16)?,
                ),
                r.get(17)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<Head>>>()?;
    let mut out = Vec::with_capacity(heads.len());
    for (
        (id, visit_id, mediator_id, mediator_name, dispute, outcome),
        (agreement_text, confirm, created_at, effective_on, result),
        (started_by, applied_on, form, dispute_facts, points_in_dispute, responsibility),
        request,
    ) in heads
    {
        let agreement_effective_on = effective_on.as_deref().and_then(|d| d.parse().ok());
        let confirmation_result = result.as_deref().and_then(ConfirmationResult::parse);
        let started_by = StartedBy::parse(&started_by).unwrap_or(StartedBy::Application);
        let agreement_form = form.as_deref().and_then(AgreementForm::parse);
        let outcome = MediationOutcome::parse(&outcome).unwrap_or(MediationOutcome::Terminated);
        let follow_ups = follow_ups_of(conn, &id)?;
        let investigations = investigations_of(conn, &id)?;
        let documents = available_mediation_documents(
            started_by,
            outcome,
            agreement_form,
            follow_ups.len(),
            investigations.len(),
        )
        .into_iter()
        .map(|kind| MediationDocument {
            kind,
            title: kind.title_zh().to_owned(),
        })
        .collect();
        out.push(MediationRecord {
            parties: parties_of(conn, &id)?,
            sessions: sessions_of(conn, &id)?,
            follow_ups,
            investigations,
            documents,
            id,
            visit_id,
            mediator_id,
            mediator_name,
            dispute_type_name: dispute_type(&dispute)
                .map_or_else(|| dispute.clone(), |d| d.1.into()),
            dispute_type: dispute,
            started_by,
            started_by_label: started_by.label_zh().to_owned(),
            applied_on: applied_on.as_deref().and_then(|d| d.parse().ok()),
            request,
            outcome,
            outcome_label: outcome.label_zh().to_owned(),
            agreement_form,
            agreement_form_label: agreement_form.map(|f| f.label_zh().to_owned()),
            dispute_facts,
            points_in_dispute,
            responsibility,
            agreement_text,
            judicial_confirmation: confirm,
            agreement_effective_on,
            confirmation_due: agreement_effective_on.map(|d| judicial_confirmation_due(d, cal)),
            confirmation_result,
            confirmation_result_label: confirmation_result.map(|r| r.label_zh().to_owned()),
            created_at,
        });
    }
    Ok(out)
}

fn parties_of(conn: &Connection, id: &str) -> Result<Vec<PartyRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT role, name, id_type, id_number, phone, address, kind, representative
             FROM mediation_parties WHERE mediation_id = ?1 ORDER BY position",
        )?
        .query_map([id], |r| {
            let role: String = r.get(0)?;
            let role = PartyRole::parse(&role).unwrap_or(PartyRole::Applicant);
            let kind: String = r.get(6)?;
            let kind = PartyKind::parse(&kind).unwrap_or(PartyKind::Person);
            let id_type: String = r.get(2)?;
            let number: String = r.get(3)?;
            Ok(PartyRecord {
                role,
                role_label: role.label_zh().to_owned(),
                kind,
                kind_label: kind.label_zh().to_owned(),
                name: r.get(1)?,
                id_type_label: party_id_type_label(&id_type),
                id_number_masked: mask_id(&number),
                id_number: number,
                phone: r.get(4)?,
                address: r.get(5)?,
                representative: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

fn sessions_of(conn: &Connection, id: &str) -> Result<Vec<SessionRecord>> {
    // Position first: sessions added at two desks while offline both keep their place.
    Ok(conn
        .prepare_cached(
            "SELECT held_on, notes FROM mediation_sessions WHERE mediation_id = ?1
             ORDER BY held_on, position, id",
        )?
        .query_map([id], |r| {
            Ok(SessionRecord {
                held_on: r.get(0)?,
                notes: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

fn follow_ups_of(conn: &Connection, id: &str) -> Result<Vec<FollowUpRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT f.visited_on, f.fulfilment, f.notes, coalesce(s.display_name, '')
             FROM mediation_follow_ups f LEFT JOIN staff s ON s.id = f.by_staff
             WHERE f.mediation_id = ?1 ORDER BY f.visited_on, f.created_at",
        )?
        .query_map([id], |r| {
            let on: String = r.get(0)?;
            let fulfilment: String = r.get(1)?;
            let fulfilment = Fulfilment::parse(&fulfilment).unwrap_or(Fulfilment::NotFulfilled);
            Ok(FollowUpRecord {
                visited_on: on.parse().unwrap_or_default(),
                fulfilment,
                fulfilment_label: fulfilment.label_zh().to_owned(),
                notes: r.get(2)?,
                by_name: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

fn investigations_of(conn: &Connection, id: &str) -> Result<Vec<InvestigationRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT i.investigated_on, i.place, i.person, i.present, i.content,
               coalesce(s.display_name, '')
             FROM mediation_investigations i LEFT JOIN staff s ON s.id = i.by_staff
             WHERE i.mediation_id = ?1 ORDER BY i.investigated_on, i.created_at",
        )?
        .query_map([id], |r| {
            let on: String = r.get(0)?;
            Ok(InvestigationRecord {
                investigated_on: on.parse().unwrap_or_default(),
                place: r.get(1)?,
                person: r.get(2)?,
                present: r.get(3)?,
                content: r.get(4)?,
                by_name: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

fn insert_session(
    tx: &Connection,
    mediation_id: &str,
    position: usize,
    s: &ValidSession,
    now: &str,
) -> Result<()> {
    let sid = uuid::Uuid::now_v7().to_string();
    let held_on = s.held_on.to_string();
    tx.execute(
        "INSERT INTO mediation_sessions(id, mediation_id, position, held_on, notes)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![sid, mediation_id, position as i64, held_on, s.notes],
    )?;
    let mut f = Map::new();
    f.insert("mediation_id".into(), json!(mediation_id));
    f.insert("position".into(), json!(position));
    f.insert("held_on".into(), json!(held_on));
    f.insert("notes".into(), json!(s.notes));
    changelog::append(tx, "mediation_session", &sid, Op::Insert, f, now)?;
    Ok(())
}

/// The conclusion's columns, as written on insert and on a later conclusion.
/// The conclusion chosen by a supervisor resolving a conflict of two desks' conclusions,
/// written again whole (its columns, and the conclusion replacing every write held here).
pub(crate) fn rewrite_conclusion(
    tx: &Connection,
    own_device: &str,
    id: &str,
    chosen: &Map<String, serde_json::Value>,
    by: &str,
    now: &str,
) -> Result<()> {
    let text = |k: &str| chosen.get(k).and_then(serde_json::Value::as_str);
    let outcome = text("outcome")
        .and_then(MediationOutcome::parse)
        .filter(|o| o.is_final())
        .ok_or_else(|| crate::StoreError::Corrupt(format!("mediation {id}: conclusion")))?;
    tx.execute(
        "UPDATE mediations SET outcome = ?2, agreement_form = ?3, dispute_facts = ?4,
           points_in_dispute = ?5, responsibility = ?6, agreement_text = ?7,
           judicial_confirmation = ?8, agreement_effective_on = ?9,
           confirmation_result = coalesce(?10, confirmation_result)
         WHERE id = ?1",
        params![
            id,
            outcome.code(),
            text("agreement_form"),
            text("dispute_facts").unwrap_or_default(),
            text("points_in_dispute").unwrap_or_default(),
            text("responsibility").unwrap_or_default(),
            text("agreement_text").unwrap_or_default(),
            chosen
                .get("judicial_confirmation")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            text("agreement_effective_on"),
            text("confirmation_result"),
        ],
    )?;
    let mut f = chosen.clone();
    // A court's answer recorded since stays: the conclusion chosen does not erase it.
    if f.get("confirmation_result")
        .is_some_and(serde_json::Value::is_null)
    {
        f.remove("confirmation_result");
    }
    f.insert(
        xinfang_sync::merge::MEDIATION_CONCLUSION.into(),
        serde_json::Value::Object(chosen.clone()),
    );
    crate::records::stamp_bases(tx, own_device, "mediation", id, Some(by), &mut f)?;
    changelog::append(tx, "mediation", id, Op::Update, f, now)?;
    Ok(())
}

fn conclusion_fields(c: &ValidConclusion) -> Map<String, serde_json::Value> {
    let mut f = Map::new();
    f.insert("outcome".into(), json!(c.outcome.code()));
    f.insert(
        "agreement_form".into(),
        json!(c.agreement_form.map(AgreementForm::code)),
    );
    f.insert("dispute_facts".into(), json!(c.dispute_facts));
    f.insert("points_in_dispute".into(), json!(c.points_in_dispute));
    f.insert("responsibility".into(), json!(c.responsibility));
    f.insert("agreement_text".into(), json!(c.agreement_text));
    f.insert(
        "judicial_confirmation".into(),
        json!(c.judicial_confirmation),
    );
    f.insert(
        "agreement_effective_on".into(),
        json!(c.agreement_effective_on.map(|d| d.to_string())),
    );
    f.insert(
        "confirmation_result".into(),
        json!(c.confirmation_result.map(ConfirmationResult::code)),
    );
    f
}

/// The outcome as stored now, inside the writing transaction.
fn outcome_of(tx: &Connection, id: &str) -> Result<MediationOutcome> {
    let outcome: String = tx
        .prepare_cached("SELECT outcome FROM mediations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| not_found("该调解记录"))?;
    Ok(MediationOutcome::parse(&outcome).unwrap_or(MediationOutcome::Terminated))
}

impl Store {
    /// Logs a mediation with its parties and sessions; the visit's open mediator hand-off is
    /// done with it. A pending one is continued with [`Store::add_mediation_session`] and
    /// [`Store::conclude_mediation`].
    pub fn add_mediation(&mut self, m: &ValidMediation, mediator_id: &str) -> Result<String> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        require_visit(&tx, &m.visit_id)?;
        let handoff_id = finish_handoffs(&tx, &m.visit_id, Desk::Mediator, mediator_id, &now)?;
        let id = uuid::Uuid::now_v7().to_string();
        let mut f = conclusion_fields(&m.conclusion);
        f.insert("visit_id".into(), json!(m.visit_id));
        f.insert("handoff_id".into(), json!(handoff_id));
        f.insert("mediator_id".into(), json!(mediator_id));
        f.insert("dispute_type".into(), json!(m.dispute_type));
        f.insert("started_by".into(), json!(m.started_by.code()));
        f.insert("applied_on".into(), json!(m.applied_on.to_string()));
        f.insert("request".into(), json!(m.request));
        f.insert("created_at".into(), json!(now));
        // One list of columns for the row and its change-log entry.
        let names: Vec<&str> = f.keys().map(String::as_str).collect();
        let values: Vec<rusqlite::types::Value> = f
            .values()
            .map(|v| match v {
                serde_json::Value::Null => rusqlite::types::Value::Null,
                serde_json::Value::Bool(b) => rusqlite::types::Value::Integer(i64::from(*b)),
                serde_json::Value::String(s) => rusqlite::types::Value::Text(s.clone()),
                other => rusqlite::types::Value::Text(other.to_string()),
            })
            .collect();
        let placeholders: Vec<String> = (2..=names.len() + 1).map(|i| format!("?{i}")).collect();
        tx.execute(
            &format!(
                "INSERT INTO mediations(id, {}) VALUES (?1, {})",
                names.join(", "),
                placeholders.join(", ")
            ),
            rusqlite::params_from_iter(
                std::iter::once(rusqlite::types::Value::Text(id.clone())).chain(values),
            ),
        )?;
        f.remove("created_at");
        changelog::append(&tx, "mediation", &id, Op::Insert, f, &now)?;
        for (position, p) in m.parties.iter().enumerate() {
            let pid = uuid::Uuid::now_v7().to_string();
            tx.execute(
                "INSERT INTO mediation_parties(id, mediation_id, position, role, name, id_type, id_number,
                   phone, address, kind, representative)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    pid, id, position as i64, p.role.code(), p.name, p.id_type_code(), p.id_number,
                    p.phone, p.address, p.kind.code(), p.representative
                ],
            )?;
            let mut f = Map::new();
            f.insert("mediation_id".into(), json!(id));
            f.insert("position".into(), json!(position));
            f.insert("role".into(), json!(p.role.code()));
            f.insert("name".into(), json!(p.name));
            f.insert("id_type".into(), json!(p.id_type_code()));
            f.insert("id_number".into(), json!(p.id_number));
            f.insert("phone".into(), json!(p.phone));
            f.insert("address".into(), json!(p.address));
            f.insert("kind".into(), json!(p.kind.code()));
            f.insert("representative".into(), json!(p.representative));
            changelog::append(&tx, "mediation_party", &pid, Op::Insert, f, &now)?;
        }
        for (position, s) in m.sessions.iter().enumerate() {
            insert_session(&tx, &id, position, s, &now)?;
        }
        tx.commit()?;
        tracing::info!(mediation_id = %id, visit_id = %m.visit_id, "mediation logged");
        Ok(id)
    }

    pub fn mediation(&self, id: &str) -> Result<MediationRecord> {
        mediations_where(&self.conn, "m.id = ?1", id, &self.holiday_calendar())?
            .pop()
            .ok_or_else(|| not_found("该调解记录"))
    }

    /// The pending mediations (调解中) a mediator recorded, newest first: the mediator's list
    /// of disputes still being mediated.
    pub fn pending_mediations(&self, mediator_id: &str) -> Result<Vec<MediationRecord>> {
        mediations_where(
            &self.conn,
            "m.outcome = 'pending' AND m.mediator_id = ?1",
            mediator_id,
            &self.holiday_calendar(),
        )
    }

    /// Adds sessions to a pending mediation and, when `conclusion` is not pending, ends it.
    /// Refused (and nothing written) once the mediation has ended, also when another desk
    /// ended it and that was synced meanwhile.
    pub fn continue_mediation(
        &mut self,
        id: &str,
        sessions: &[ValidSession],
        conclusion: &ValidConclusion,
    ) -> Result<()> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        check_pending(outcome_of(&tx, id)?)?;
        let next: i64 = tx.query_row(
            "SELECT coalesce(max(position) + 1, 0) FROM mediation_sessions WHERE mediation_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        for (i, s) in sessions.iter().enumerate() {
            insert_session(&tx, id, usize::try_from(next).unwrap_or(0) + i, s, &now)?;
        }
        if conclusion.outcome.is_final() {
            let mut f = conclusion_fields(conclusion);
            // The conclusion whole, with the write it replaces: another desk's conclusion of
            // the same pending record is concurrent and kept as a conflict (docs/sync.md).
            f.insert(
                xinfang_sync::merge::MEDIATION_CONCLUSION.into(),
                serde_json::Value::Object(f.clone()),
            );
            crate::records::stamp_bases(&tx, &self.device_id, "mediation", id, None, &mut f)?;
            tx.execute(
                "UPDATE mediations SET outcome = ?2, agreement_form = ?3, dispute_facts = ?4,
                   points_in_dispute = ?5, responsibility = ?6, agreement_text = ?7,
                   judicial_confirmation = ?8, agreement_effective_on = ?9, confirmation_result = ?10
                 WHERE id = ?1",
                params![
                    id,
                    conclusion.outcome.code(),
                    conclusion.agreement_form.map(AgreementForm::code),
                    conclusion.dispute_facts,
                    conclusion.points_in_dispute,
                    conclusion.responsibility,
                    conclusion.agreement_text,
                    conclusion.judicial_confirmation,
                    conclusion.agreement_effective_on.map(|d| d.to_string()),
                    conclusion.confirmation_result.map(ConfirmationResult::code),
                ],
            )?;
            changelog::append(&tx, "mediation", id, Op::Update, f, &now)?;
        }
        tx.commit()?;
        tracing::info!(mediation_id = %id, sessions = sessions.len(),
            outcome = conclusion.outcome.code(), "mediation continued");
        Ok(())
    }

    /// Records the court's answer to 司法确认 (checked by the caller against the record).
    pub fn record_confirmation_result(
        &mut self,
        id: &str,
        result: ConfirmationResult,
    ) -> Result<()> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        let n = tx.execute(
            "UPDATE mediations SET confirmation_result = ?2
             WHERE id = ?1 AND outcome = 'agreed' AND judicial_confirmation <> 0
               AND confirmation_result IS NULL",
            params![id, result.code()],
        )?;
        if n == 0 {
            return Err(not_found("待登记司法确认结果的调解协议"));
        }
        let mut f = Map::new();
        f.insert("confirmation_result".into(), json!(result.code()));
        changelog::append(&tx, "mediation", id, Op::Update, f, &now)?;
        tx.commit()?;
        Ok(())
    }

    /// Adds a 调查 of a mediation, pending or concluded (checked by the caller against the
    /// record).
    pub fn add_mediation_investigation(
        &mut self,
        id: &str,
        investigation: &ValidInvestigation,
        by: &str,
    ) -> Result<()> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        let known: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM mediations WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        if known.is_none() {
            return Err(not_found("调解记录"));
        }
        let iid = uuid::Uuid::now_v7().to_string();
        let on = investigation.investigated_on.to_string();
        tx.execute(
            "INSERT INTO mediation_investigations(id, mediation_id, investigated_on, place, person,
               present, content, by_staff, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                iid,
                id,
                on,
                investigation.place,
                investigation.person,
                investigation.present,
                investigation.content,
                by,
                now
            ],
        )?;
        let mut f = Map::new();
        f.insert("mediation_id".into(), json!(id));
        f.insert("investigated_on".into(), json!(on));
        f.insert("place".into(), json!(investigation.place));
        f.insert("person".into(), json!(investigation.person));
        f.insert("present".into(), json!(investigation.present));
        f.insert("content".into(), json!(investigation.content));
        f.insert("by_staff".into(), json!(by));
        f.insert("created_at".into(), json!(now));
        changelog::append(&tx, "mediation_investigation", &iid, Op::Insert, f, &now)?;
        tx.commit()?;
        Ok(())
    }

    /// Adds a 回访 of an agreement (checked by the caller against the record).
    pub fn add_mediation_follow_up(
        &mut self,
        id: &str,
        follow_up: &ValidFollowUp,
        by: &str,
    ) -> Result<()> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        if outcome_of(&tx, id)? != MediationOutcome::Agreed {
            return Err(not_found("可回访的调解协议"));
        }
        let fid = uuid::Uuid::now_v7().to_string();
        let on = follow_up.visited_on.to_string();
        tx.execute(
            "INSERT INTO mediation_follow_ups(id, mediation_id, visited_on, fulfilment, notes,
               by_staff, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                fid,
                id,
                on,
                follow_up.fulfilment.code(),
                follow_up.notes,
                by,
                now
            ],
        )?;
        let mut f = Map::new();
        f.insert("mediation_id".into(), json!(id));
        f.insert("visited_on".into(), json!(on));
        f.insert("fulfilment".into(), json!(follow_up.fulfilment.code()));
        f.insert("notes".into(), json!(follow_up.notes));
        f.insert("by_staff".into(), json!(by));
        f.insert("created_at".into(), json!(now));
        changelog::append(&tx, "mediation_follow_up", &fid, Op::Insert, f, &now)?;
        tx.commit()?;
        Ok(())
    }
}
