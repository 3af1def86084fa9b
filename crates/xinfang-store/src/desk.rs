//! The reception desk's day and the 访调对接 desks: today's visits and their statuses, hand-off
//! queues, consultations, mediations and a visitor's whole record. Staff administration is in
//! `staff_admin.rs`.
//!
//! Every write appends its change-log rows in the same transaction, like the rest of the store.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::desk::{
    Desk, HandoffState, ValidConsultation, VisitStatus, may_close, may_hand_off, visit_status,
};
use xinfang_core::id::{mask_id, parse_id_type};
use xinfang_core::phone::mask_phone;
use xinfang_core::reference::{AppealKind, ReferenceData};

use crate::changelog::{self, Op};
use crate::matters::category_name_in;
use crate::mediation::mediations_where;
pub use crate::mediation::{
    FollowUpRecord, InvestigationRecord, MediationDocument, MediationRecord, PartyRecord,
    SessionRecord,
};
use crate::{Result, Store, StoreError, VisitSummary, VisitorHit, now_text};

/// One visitor of a visit, as lists show them (ID number masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitorBrief {
    pub visitor_id: String,
    pub name: String,
    pub id_number_masked: String,
    pub is_representative: bool,
}

/// One visit as 今日来访 lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitRow {
    pub visit_id: String,
    /// 来访编号 (`沁水-2026-11-05-B017`).
    pub number: String,
    /// 事项编号 of its matter (`沁水-2026-11-B0017`); empty when it has none.
    pub matter_number: String,
    pub queue_no: i64,
    /// The queue number shown, called and printed (`17` or `B017`; older visits: their
    /// `queue_no`).
    pub queue_label: String,
    pub visited_at: String,
    pub visitors: Vec<VisitorBrief>,
    pub head_count: i64,
    pub appeal: String,
    pub appeal_kind: AppealKind,
    pub appeal_kind_label: String,
    pub category_name: String,
    pub agency: Option<String>,
    pub place_name: Option<String>,
    pub is_repeat: bool,
    /// 越级访 (stored at registration), and the 属地 authority the visitor was guided to.
    pub skip_level: bool,
    pub skip_level_authority: Option<String>,
    pub status: VisitStatus,
    pub status_label: String,
    /// 检举控告: the visit is a report, or its matter was classified as one. The app shows its
    /// appeal only to the registering clerk, supervisors and admins (`xinfang_core::staff::
    /// may_view_confidential`), and masks it in lists.
    pub confidential: bool,
}

/// Who registered a record and whether it is confidential (检举控告), for
/// `xinfang_core::staff::may_view_confidential`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordOwner {
    pub confidential: bool,
    /// Staff id of the clerk who registered the (first) visit.
    pub registered_by: String,
}

/// A visitor's ID number or phone in full (shown after the view is audited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitorContact {
    /// `resident_id`, `passport` …
    pub id_type: String,
    pub id_number: String,
    pub phone: Option<String>,
}

/// One hand-off to a desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HandoffInfo {
    pub id: String,
    pub visit_id: String,
    pub desk: Desk,
    pub desk_label: String,
    pub state: HandoffState,
    pub state_label: String,
    pub note: Option<String>,
    pub created_at: String,
    pub created_by_name: String,
    pub taken_by_name: Option<String>,
    pub taken_at: Option<String>,
}

/// A desk's queue entry: the hand-off and the visit it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueueItem {
    pub handoff: HandoffInfo,
    pub visit: VisitRow,
}

/// 法律咨询记录 as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConsultationRecord {
    pub id: String,
    pub visit_id: String,
    pub lawyer_name: String,
    pub question: String,
    pub facts: String,
    pub advice: String,
    pub legal_route: String,
    pub legal_route_name: String,
    pub laws_cited: String,
    pub duration_minutes: i64,
    pub follow_up: bool,
    pub follow_up_note: String,
    pub created_at: String,
}

/// One visit with everything the desks did about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitDetail {
    pub visit: VisitRow,
    pub handoffs: Vec<HandoffInfo>,
    pub consultations: Vec<ConsultationRecord>,
    pub mediations: Vec<MediationRecord>,
}

/// One person's whole record (ID number and phone masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitorProfile {
    pub visitor_id: String,
    pub name: String,
    pub id_type_label: String,
    pub id_number_masked: String,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub phone_masked: Option<String>,
    pub address: Option<String>,
    pub visits: Vec<VisitRow>,
    pub consultations: Vec<ConsultationRecord>,
    pub mediations: Vec<MediationRecord>,
}

/// One matching visitor with their earlier visits, for the registration form's history panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryEntry {
    pub hit: VisitorHit,
    pub visits: Vec<VisitSummary>,
}

pub(crate) fn not_found(what: &str) -> StoreError {
    StoreError::NotFound(what.to_owned())
}

fn id_type_label(code: &str) -> String {
    parse_id_type(code).map_or_else(|| code.to_owned(), |t| t.label_zh().to_owned())
}

const HANDOFF_COLUMNS: &str = "h.id, h.visit_id, h.desk, h.state, h.note, h.created_at,
    coalesce(c.display_name, ''), t.display_name, h.taken_at";
const HANDOFF_FROM: &str = "handoffs h LEFT JOIN staff c ON c.id = h.created_by
    LEFT JOIN staff t ON t.id = h.taken_by";

fn handoff_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HandoffInfo> {
    let desk: String = r.get(2)?;
    let state: String = r.get(3)?;
    let desk = Desk::parse(&desk).unwrap_or(Desk::Lawyer);
    let state = HandoffState::parse(&state).unwrap_or(HandoffState::Done);
    Ok(HandoffInfo {
        id: r.get(0)?,
        visit_id: r.get(1)?,
        desk,
        desk_label: desk.label_zh().to_owned(),
        state,
        state_label: state.label_zh().to_owned(),
        note: r.get(4)?,
        created_at: r.get(5)?,
        created_by_name: r.get(6)?,
        taken_by_name: r.get(7)?,
        taken_at: r.get(8)?,
    })
}

/// Hand-off states and whether the visit was closed: what its status is made from.
fn desk_state(
    conn: &rusqlite::Connection,
    visit_id: &str,
) -> Result<(Vec<(Desk, HandoffState)>, bool)> {
    let closed = conn
        .prepare_cached("SELECT 1 FROM visit_closures WHERE visit_id = ?1")?
        .query_row([visit_id], |_| Ok(()))
        .optional()?
        .is_some();
    Ok((handoffs_of(conn, visit_id)?, closed))
}

/// A visit's hand-offs to the lawyer's and the mediator's desks, oldest first.
fn handoffs_of(conn: &rusqlite::Connection, visit_id: &str) -> Result<Vec<(Desk, HandoffState)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT desk, state FROM handoffs WHERE visit_id = ?1 ORDER BY created_at",
    )?;
    let rows = stmt.query_map([visit_id], |r| <(String, String)>::try_from(r))?;
    let mut handoffs = Vec::new();
    for row in rows {
        let (d, s) = row?;
        if let (Some(d), Some(s)) = (Desk::parse(&d), HandoffState::parse(&s)) {
            handoffs.push((d, s));
        }
    }
    Ok(handoffs)
}

/// The columns of a visit a list row shows (`visit_row`'s one read of the visit).
struct VisitColumns {
    queue_no: i64,
    visited_at: String,
    head_count: i64,
    appeal: String,
    kind: String,
    category: String,
    agency: Option<String>,
    place: Option<String>,
    is_repeat: bool,
    matter_confidential: bool,
    skip_level: bool,
    skip_level_authority: Option<String>,
    queue_label: String,
    hall: String,
    visit_date: String,
    matter_number: Option<String>,
    closed: bool,
}

/// One visit as the lists show it (`visit_rows` of one id).
fn visit_row(
    conn: &rusqlite::Connection,
    opener: Option<&xinfang_seal::Opener>,
    reference: &ReferenceData,
    visit_id: &str,
) -> Result<VisitRow> {
    visit_rows(conn, opener, reference, "x.id = ?1", visit_id)?
        .pop()
        .ok_or_else(|| not_found("该来访记录"))
}

/// The visits `condition` (on `visits x`, one parameter `?1`) selects, in queue order, as the
/// lists show them; category names from the desk's lists (`reference`: the city's may add some),
/// so read them once per list, not per row. Three statements for the whole list — the visits
/// with their matters and closures, their visitors, their hand-offs — not three per visit:
/// today's list reads every visit of a day (issue 21: < 50 ms at the benchmark's density).
fn visit_rows(
    conn: &rusqlite::Connection,
    opener: Option<&xinfang_seal::Opener>,
    reference: &ReferenceData,
    condition: &str,
    param: &str,
) -> Result<Vec<VisitRow>> {
    let mut visitors: HashMap<String, Vec<VisitorBrief>> = HashMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT vv.visit_id, v.id, v.name, v.id_number, vv.is_representative
         FROM visits x JOIN visit_visitors vv ON vv.visit_id = x.id
              JOIN visitors v ON v.id = coalesce(vv.person_id, vv.visitor_id)
         WHERE {condition} ORDER BY vv.visit_id, vv.position"
    ))?;
    let rows = stmt.query_map([param], |r| {
        let number: String = r.get(3)?;
        Ok((
            r.get::<_, String>(0)?,
            VisitorBrief {
                visitor_id: r.get(1)?,
                name: r.get(2)?,
                id_number_masked: mask_id(&number),
                is_representative: r.get(4)?,
            },
        ))
    })?;
    for row in rows {
        let (visit, brief) = row?;
        visitors.entry(visit).or_default().push(brief);
    }
    let mut handoffs: HashMap<String, Vec<(Desk, HandoffState)>> = HashMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT h.visit_id, h.desk, h.state FROM visits x JOIN handoffs h ON h.visit_id = x.id
         WHERE {condition} ORDER BY h.visit_id, h.created_at"
    ))?;
    let rows = stmt.query_map([param], |r| <(String, String, String)>::try_from(r))?;
    for row in rows {
        let (visit, d, s) = row?;
        if let (Some(d), Some(s)) = (Desk::parse(&d), HandoffState::parse(&s)) {
            handoffs.entry(visit).or_default().push((d, s));
        }
    }
    let regions = ReferenceData::bundled().regions;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT x.id, x.queue_no, x.visited_at, x.head_count, x.appeal, x.appeal_kind,
                x.category_code, x.agency, x.place_code, x.is_repeat, coalesce(m.confidential, 0),
                x.skip_level, x.skip_level_authority,
                coalesce(x.queue_label, CAST(x.queue_no AS TEXT)),
                x.hall_code, x.visit_date, m.shown_number,
                EXISTS (SELECT 1 FROM visit_closures c WHERE c.visit_id = x.id)
         FROM visits x LEFT JOIN matters m ON m.id = x.matter_id
         WHERE {condition} ORDER BY x.visit_date, x.queue_no"
    ))?;
    let rows = stmt.query_map([param], |r| {
        Ok((
            r.get::<_, String>(0)?,
            VisitColumns {
                queue_no: r.get(1)?,
                visited_at: r.get(2)?,
                head_count: r.get(3)?,
                appeal: r.get(4)?,
                kind: r.get(5)?,
                category: r.get(6)?,
                agency: r.get(7)?,
                place: r.get(8)?,
                is_repeat: r.get(9)?,
                matter_confidential: r.get(10)?,
                skip_level: r.get(11)?,
                skip_level_authority: r.get(12)?,
                queue_label: r.get(13)?,
                hall: r.get(14)?,
                visit_date: r.get(15)?,
                matter_number: r.get(16)?,
                closed: r.get(17)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, v) = row?;
        let status = visit_status(&handoffs.remove(&id).unwrap_or_default(), v.closed);
        let appeal_kind = AppealKind::parse(&v.kind).unwrap_or(AppealKind::Claim);
        let appeal = crate::confidential::reveal(opener, &id, v.appeal);
        out.push(VisitRow {
            number: crate::numbers::visit_number(
                &v.hall,
                &v.visit_date,
                Some(&v.queue_label),
                v.queue_no,
            ),
            matter_number: v.matter_number.unwrap_or_default(),
            visitors: visitors.remove(&id).unwrap_or_default(),
            visit_id: id,
            queue_no: v.queue_no,
            queue_label: v.queue_label,
            visited_at: v.visited_at,
            head_count: v.head_count,
            appeal,
            appeal_kind,
            appeal_kind_label: appeal_kind.label_zh().to_owned(),
            category_name: category_name_in(&v.category, reference),
            agency: v.agency,
            place_name: v.place.map(|p| regions.name(&p).unwrap_or(p)),
            is_repeat: v.is_repeat,
            skip_level: v.skip_level,
            skip_level_authority: v.skip_level_authority.filter(|_| v.skip_level),
            status,
            status_label: status.label_zh().to_owned(),
            confidential: v.matter_confidential || appeal_kind.is_confidential(),
        });
    }
    Ok(out)
}

fn handoff_info(conn: &rusqlite::Connection, id: &str) -> Result<HandoffInfo> {
    conn.prepare_cached(&format!(
        "SELECT {HANDOFF_COLUMNS} FROM {HANDOFF_FROM} WHERE h.id = ?1"
    ))?
    .query_row([id], handoff_from_row)
    .optional()?
    .ok_or_else(|| not_found("该转交记录"))
}

fn insert_handoff(
    tx: &Connection,
    visit_id: &str,
    desk: Desk,
    note: &str,
    by: &str,
    now: &str,
) -> Result<String> {
    let (handoffs, closed) = desk_state(tx, visit_id)?;
    may_hand_off(&handoffs, closed, desk)?;
    let id = uuid::Uuid::now_v7().to_string();
    let note = Some(note.trim()).filter(|n| !n.is_empty());
    tx.execute(
        "INSERT INTO handoffs(id, visit_id, desk, state, note, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'waiting', ?4, ?5, ?6, ?6)",
        params![id, visit_id, desk.code(), note, by, now],
    )?;
    let mut f = Map::new();
    f.insert("visit_id".into(), json!(visit_id));
    f.insert("desk".into(), json!(desk.code()));
    f.insert("state".into(), json!("waiting"));
    f.insert("note".into(), json!(note));
    f.insert("created_by".into(), json!(by));
    changelog::append(tx, "handoff", &id, Op::Insert, f, now)?;
    Ok(id)
}

/// Marks the open hand-offs of `visit_id` to `desk` done; returns the first one's id.
pub(crate) fn finish_handoffs(
    tx: &Connection,
    visit_id: &str,
    desk: Desk,
    by: &str,
    now: &str,
) -> Result<Option<String>> {
    let ids: Vec<(String, Option<String>)> = tx
        .prepare_cached(
            "SELECT id, taken_by FROM handoffs WHERE visit_id = ?1 AND desk = ?2 AND state != 'done'
             ORDER BY created_at",
        )?
        .query_map(params![visit_id, desk.code()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, taken_by) in &ids {
        let mut f = Map::new();
        f.insert("state".into(), json!("done"));
        f.insert("done_at".into(), json!(now));
        if taken_by.is_none() {
            f.insert("taken_by".into(), json!(by));
            f.insert("taken_at".into(), json!(now));
        }
        tx.execute(
            "UPDATE handoffs SET state = 'done', done_at = ?2, taken_by = coalesce(taken_by, ?3),
               taken_at = coalesce(taken_at, ?2), updated_at = ?2 WHERE id = ?1",
            params![id, now, by],
        )?;
        changelog::append(tx, "handoff", id, Op::Update, f, now)?;
    }
    Ok(ids.into_iter().next().map(|(id, _)| id))
}

pub(crate) fn require_visit(conn: &rusqlite::Connection, visit_id: &str) -> Result<()> {
    conn.prepare_cached("SELECT 1 FROM visits WHERE id = ?1")?
        .query_row([visit_id], |_| Ok(()))
        .optional()?
        .ok_or_else(|| not_found("该来访记录"))
}

fn consultations_where(
    conn: &rusqlite::Connection,
    clause: &str,
    key: &str,
) -> Result<Vec<ConsultationRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.id, c.visit_id, coalesce(s.display_name, ''), c.question, c.facts, c.advice,
                c.legal_route, c.laws_cited, c.duration_minutes, c.follow_up, c.follow_up_note,
                c.created_at
         FROM consultations c LEFT JOIN staff s ON s.id = c.lawyer_id
         WHERE {clause} ORDER BY c.created_at DESC"
    ))?;
    let rows = stmt.query_map([key], |r| {
        let route: String = r.get(6)?;
        Ok(ConsultationRecord {
            id: r.get(0)?,
            visit_id: r.get(1)?,
            lawyer_name: r.get(2)?,
            question: r.get(3)?,
            facts: r.get(4)?,
            advice: r.get(5)?,
            legal_route_name: ReferenceData::bundled()
                .legal_route(&route)
                .map_or_else(|| route.clone(), |l| l.name.clone()),
            legal_route: route,
            laws_cited: r.get(7)?,
            duration_minutes: r.get(8)?,
            follow_up: r.get(9)?,
            follow_up_note: r.get(10)?,
            created_at: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Store {
    /// The visits of one day (`YYYY-MM-DD`), in queue order.
    /// The visits of a day, in queue order. A sealed appeal (检举控告) is not opened: the lists
    /// show every confidential appeal masked (`xinfang_app::api::mask_row`), and opening one
    /// costs a key agreement — one in eight of this list's time where a day had reports.
    pub fn visits_on(&self, date: &str) -> Result<Vec<VisitRow>> {
        let reference = self.reference_data();
        self.reading(|conn| visit_rows(conn, None, &reference, "x.visit_date = ?1", date))
    }

    pub fn visit_row(&self, visit_id: &str) -> Result<VisitRow> {
        visit_row(
            &self.conn,
            self.opener.as_ref(),
            &self.reference_data(),
            visit_id,
        )
    }

    /// Whether a visit is confidential (a report, or its matter is) and who registered it.
    pub fn visit_owner(&self, visit_id: &str) -> Result<RecordOwner> {
        self.conn
            .prepare_cached(
                "SELECT x.appeal_kind, coalesce(m.confidential, 0), coalesce(x.clerk_id, '')
                 FROM visits x LEFT JOIN matters m ON m.id = x.matter_id WHERE x.id = ?1",
            )?
            .query_row([visit_id], |r| {
                let kind: String = r.get(0)?;
                let report = AppealKind::parse(&kind).is_some_and(AppealKind::is_confidential);
                Ok(RecordOwner {
                    confidential: report || r.get::<_, bool>(1)?,
                    registered_by: r.get(2)?,
                })
            })
            .optional()?
            .ok_or_else(|| not_found("该来访记录"))
    }

    /// Whether a matter is confidential and who registered its first visit.
    pub fn matter_owner(&self, matter_id: &str) -> Result<RecordOwner> {
        self.conn
            .prepare_cached(
                "SELECT m.confidential, coalesce(x.clerk_id, '')
                 FROM matters m LEFT JOIN visits x ON x.id = m.first_visit_id WHERE m.id = ?1",
            )?
            .query_row([matter_id], |r| {
                Ok(RecordOwner {
                    confidential: r.get(0)?,
                    registered_by: r.get(1)?,
                })
            })
            .optional()?
            .ok_or_else(|| not_found("该信访事项"))
    }

    /// A visitor's ID number and phone in full. Audit the view first (`Store::audit` with
    /// `AuditAction::ViewFullId` / `ViewFullPhone`); lists never carry these.
    pub fn visitor_contact(&self, visitor_id: &str) -> Result<VisitorContact> {
        self.conn
            .prepare_cached("SELECT id_type, id_number, phone FROM visitors WHERE id = ?1")?
            .query_row([visitor_id], |r| {
                Ok(VisitorContact {
                    id_type: r.get(0)?,
                    id_number: r.get(1)?,
                    phone: r.get(2)?,
                })
            })
            .optional()?
            .ok_or_else(|| not_found("该来访人"))
    }

    /// 访调对接: puts a visit in the lawyer's or the mediator's queue.
    pub fn hand_off(
        &mut self,
        visit_id: &str,
        desk: Desk,
        note: &str,
        by: &str,
    ) -> Result<HandoffInfo> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        require_visit(&tx, visit_id)?;
        let id = insert_handoff(&tx, visit_id, desk, note, by, &now)?;
        tx.commit()?;
        tracing::info!(handoff_id = %id, visit_id, desk = desk.code(), "visit handed off");
        handoff_info(&self.conn, &id)
    }

    /// The clerk marks a visit handled at the desk.
    pub fn close_visit(&mut self, visit_id: &str, by: &str) -> Result<VisitRow> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        require_visit(&tx, visit_id)?;
        let (handoffs, closed) = desk_state(&tx, visit_id)?;
        may_close(&handoffs, closed)?;
        tx.execute(
            "INSERT INTO visit_closures(visit_id, closed_by, closed_at) VALUES (?1, ?2, ?3)",
            params![visit_id, by, now],
        )?;
        let mut f = Map::new();
        f.insert("closed_by".into(), json!(by));
        f.insert("closed_at".into(), json!(now));
        changelog::append(&tx, "visit_closure", visit_id, Op::Insert, f, &now)?;
        tx.commit()?;
        visit_row(
            &self.conn,
            self.opener.as_ref(),
            &self.reference_data(),
            visit_id,
        )
    }

    /// A desk's open queue: waiting and taken hand-offs, oldest first.
    pub fn queue(&self, desk: Desk) -> Result<Vec<QueueItem>> {
        let handoffs: Vec<HandoffInfo> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {HANDOFF_COLUMNS} FROM {HANDOFF_FROM}
                 WHERE h.desk = ?1 AND h.state != 'done' ORDER BY h.created_at, h.id"
            ))?
            .query_map([desk.code()], handoff_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        // The queue's visits in one read (three statements), not one read per hand-off.
        let visits: HashMap<String, VisitRow> = visit_rows(
            &self.conn,
            self.opener.as_ref(),
            &self.reference_data(),
            "x.id IN (SELECT visit_id FROM handoffs WHERE desk = ?1 AND state != 'done')",
            desk.code(),
        )?
        .into_iter()
        .map(|v| (v.visit_id.clone(), v))
        .collect();
        handoffs
            .into_iter()
            .map(|h| {
                let visit = visits
                    .get(&h.visit_id)
                    .cloned()
                    .ok_or_else(|| not_found("该来访记录"))?;
                Ok(QueueItem { visit, handoff: h })
            })
            .collect()
    }

    /// Takes the next visitor from a desk's queue: the one this staff member already has, else
    /// the oldest waiting one. `None` when the queue is empty.
    pub fn take_next(&mut self, desk: Desk, staff_id: &str) -> Result<Option<QueueItem>> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        let mine: Option<String> = tx
            .prepare_cached(
                "SELECT id FROM handoffs WHERE desk = ?1 AND state = 'taken' AND taken_by = ?2
                 ORDER BY created_at LIMIT 1",
            )?
            .query_row(params![desk.code(), staff_id], |r| r.get(0))
            .optional()?;
        let id = match mine {
            Some(id) => id,
            None => {
                let next: Option<String> = tx
                    .prepare_cached(
                        "SELECT id FROM handoffs WHERE desk = ?1 AND state = 'waiting'
                         ORDER BY created_at, id LIMIT 1",
                    )?
                    .query_row([desk.code()], |r| r.get(0))
                    .optional()?;
                let Some(id) = next else {
                    return Ok(None);
                };
                tx.execute(
                    "UPDATE handoffs SET state = 'taken', taken_by = ?2, taken_at = ?3, updated_at = ?3
                     WHERE id = ?1",
                    params![id, staff_id, now],
                )?;
                let mut f = Map::new();
                f.insert("state".into(), json!("taken"));
                f.insert("taken_by".into(), json!(staff_id));
                f.insert("taken_at".into(), json!(now));
                changelog::append(&tx, "handoff", &id, Op::Update, f, &now)?;
                id
            }
        };
        tx.commit()?;
        let handoff = handoff_info(&self.conn, &id)?;
        Ok(Some(QueueItem {
            visit: visit_row(
                &self.conn,
                self.opener.as_ref(),
                &self.reference_data(),
                &handoff.visit_id,
            )?,
            handoff,
        }))
    }

    /// Logs a consultation; the visit's open lawyer hand-off is done with it.
    pub fn add_consultation(&mut self, c: &ValidConsultation, lawyer_id: &str) -> Result<String> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        require_visit(&tx, &c.visit_id)?;
        let handoff_id = finish_handoffs(&tx, &c.visit_id, Desk::Lawyer, lawyer_id, &now)?;
        let id = uuid::Uuid::now_v7().to_string();
        tx.execute(
            "INSERT INTO consultations(id, visit_id, handoff_id, lawyer_id, question, facts, advice, legal_route,
               laws_cited, duration_minutes, follow_up, follow_up_note, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                id, c.visit_id, handoff_id, lawyer_id, c.question, c.facts, c.advice, c.legal_route,
                c.laws_cited, c.duration_minutes, c.follow_up, c.follow_up_note, now
            ],
        )?;
        let mut f = Map::new();
        f.insert("visit_id".into(), json!(c.visit_id));
        f.insert("handoff_id".into(), json!(handoff_id));
        f.insert("lawyer_id".into(), json!(lawyer_id));
        f.insert("question".into(), json!(c.question));
        f.insert("facts".into(), json!(c.facts));
        f.insert("advice".into(), json!(c.advice));
        f.insert("legal_route".into(), json!(c.legal_route));
        f.insert("laws_cited".into(), json!(c.laws_cited));
        f.insert("duration_minutes".into(), json!(c.duration_minutes));
        f.insert("follow_up".into(), json!(c.follow_up));
        f.insert("follow_up_note".into(), json!(c.follow_up_note));
        changelog::append(&tx, "consultation", &id, Op::Insert, f, &now)?;
        tx.commit()?;
        tracing::info!(consultation_id = %id, visit_id = %c.visit_id, "consultation logged");
        Ok(id)
    }

    /// The lawyer hands the visitor on to the mediator desk (the lawyer's part is then done).
    pub fn hand_on_to_mediator(
        &mut self,
        visit_id: &str,
        lawyer_id: &str,
        note: &str,
    ) -> Result<HandoffInfo> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        require_visit(&tx, visit_id)?;
        finish_handoffs(&tx, visit_id, Desk::Lawyer, lawyer_id, &now)?;
        let id = insert_handoff(&tx, visit_id, Desk::Mediator, note, lawyer_id, &now)?;
        tx.commit()?;
        handoff_info(&self.conn, &id)
    }

    pub fn consultation(&self, id: &str) -> Result<ConsultationRecord> {
        consultations_where(&self.conn, "c.id = ?1", id)?
            .pop()
            .ok_or_else(|| not_found("该法律咨询记录"))
    }

    /// One visit with its hand-offs, consultations and mediations.
    pub fn visit_detail(&self, visit_id: &str) -> Result<VisitDetail> {
        let visit = visit_row(
            &self.conn,
            self.opener.as_ref(),
            &self.reference_data(),
            visit_id,
        )?;
        let handoffs = self
            .conn
            .prepare_cached(&format!(
                "SELECT {HANDOFF_COLUMNS} FROM {HANDOFF_FROM} WHERE h.visit_id = ?1 ORDER BY h.created_at"
            ))?
            .query_map([visit_id], handoff_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(VisitDetail {
            visit,
            handoffs,
            consultations: consultations_where(&self.conn, "c.visit_id = ?1", visit_id)?,
            mediations: mediations_where(
                &self.conn,
                "m.visit_id = ?1",
                visit_id,
                &self.holiday_calendar(),
            )?,
        })
    }

    /// One visitor's whole record: every visit, and the consultations and mediations of them.
    pub fn visitor_profile(&self, visitor_id: &str) -> Result<VisitorProfile> {
        // A record merged into another person opens as that person (docs/sync.md, "People").
        let person = crate::people::person_of(&self.conn, visitor_id)?
            .unwrap_or_else(|| visitor_id.to_owned());
        let visitor_id = person.as_str();
        let head = self
            .conn
            .prepare_cached(
                "SELECT id, name, id_type, id_number, sex, birth_date, phone, address FROM visitors WHERE id = ?1",
            )?
            .query_row([visitor_id], |r| {
                let id_type: String = r.get(2)?;
                let number: String = r.get(3)?;
                let phone: Option<String> = r.get(6)?;
                Ok(VisitorProfile {
                    visitor_id: r.get(0)?,
                    name: r.get(1)?,
                    id_type_label: id_type_label(&id_type),
                    id_number_masked: mask_id(&number),
                    sex: r.get(4)?,
                    birth_date: r.get(5)?,
                    phone_masked: phone.as_deref().map(mask_phone),
                    address: r.get(7)?,
                    visits: Vec::new(),
                    consultations: Vec::new(),
                    mediations: Vec::new(),
                })
            })
            .optional()?
            .ok_or_else(|| not_found("该来访人"))?;
        let mut profile = head;
        // A few statements for the whole record, however many visits it has (a petitioner who
        // comes back every week has hundreds): not five per visit.
        const OF_PERSON: &str = "IN (SELECT visit_id FROM visit_visitors WHERE person_id = ?1)";
        profile.visits = visit_rows(
            &self.conn,
            self.opener.as_ref(),
            &self.reference_data(),
            &format!("x.id {OF_PERSON}"),
            visitor_id,
        )?;
        profile
            .visits
            .sort_by(|a, b| b.visited_at.cmp(&a.visited_at));
        profile.consultations =
            consultations_where(&self.conn, &format!("c.visit_id {OF_PERSON}"), visitor_id)?;
        profile.mediations = mediations_where(
            &self.conn,
            &format!("m.visit_id {OF_PERSON}"),
            visitor_id,
            &self.holiday_calendar(),
        )?;
        Ok(profile)
    }

    /// Visitors matching `query` with their earlier visits, for the history panel.
    pub fn history(&self, query: &str, limit: usize) -> Result<Vec<HistoryEntry>> {
        self.search(query, limit)?
            .into_iter()
            .map(|hit| {
                Ok(HistoryEntry {
                    visits: self.visits_of_visitor(&hit.visitor_id)?,
                    hit,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use xinfang_core::desk::{Desk, ValidConsultation, VisitStatus};

    use crate::Store;

    thread_local! {
        /// Statements run on this thread's traced connection: all of them, and those reading
        /// visits.
        static STATEMENTS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    }

    fn count(event: rusqlite::trace::TraceEvent<'_>) {
        if let rusqlite::trace::TraceEvent::Stmt(_, sql) = event {
            let visits = usize::from(sql.contains("FROM visits"));
            STATEMENTS.with(|c| c.set((c.get().0 + 1, c.get().1 + visits)));
        }
    }

    /// What `f` returns, and the statements it ran on `store`'s connection: (all, reading visits).
    fn traced<T>(store: &Store, f: impl FnOnce(&Store) -> T) -> (T, (usize, usize)) {
        STATEMENTS.with(|c| c.set((0, 0)));
        store.conn.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
            Some(count),
        );
        let out = f(store);
        store
            .conn
            .trace_v2(rusqlite::trace::TraceEventCodes::empty(), None);
        (out, STATEMENTS.with(Cell::get))
    }

    fn consult(store: &mut Store, visit_id: &str, staff: &str) {
        store.hand_off(visit_id, Desk::Lawyer, "", staff).unwrap();
        store.take_next(Desk::Lawyer, staff).unwrap().unwrap();
        store
            .add_consultation(
                &ValidConsultation {
                    visit_id: visit_id.into(),
                    question: "工资怎么要回来".into(),
                    facts: String::new(),
                    advice: "申请劳动仲裁".into(),
                    legal_route: "labour_arbitration".into(),
                    laws_cited: String::new(),
                    duration_minutes: 20,
                    follow_up: false,
                    follow_up_note: String::new(),
                },
                staff,
            )
            .unwrap();
    }

    /// A visitor's record reads in the same few statements whether the visitor came once or
    /// five times (it ran five statements a visit: a petitioner who comes back every week has
    /// hundreds), and holds every visit as its own read gives it, newest first, with every
    /// consultation.
    #[test]
    fn a_visitors_record_reads_in_as_many_statements_for_five_visits_as_for_one() {
        let dir = tempfile::TempDir::new().unwrap();
        let (mut store, clerk, visits) =
            crate::test_support::store_with_visits(dir.path(), 2, |n| {
                format!("2026-11-02T09:{:02}:00+08:00", 10 + n)
            });
        let mut again = vec![visits[1].clone()];
        for day in 3..7 {
            let visit = crate::test_support::visit_of(
                "14052119800101001",
                &format!("2026-11-0{day}T10:00:00+08:00"),
            );
            again.push(store.register_visit(&visit, &clerk).unwrap().visit_id);
        }
        consult(&mut store, &visits[0], &clerk);
        consult(&mut store, &again[0], &clerk);
        consult(&mut store, &again[3], &clerk);
        let once = store.visit_row(&visits[0]).unwrap().visitors[0]
            .visitor_id
            .clone();
        let often = store.visit_row(&again[0]).unwrap().visitors[0]
            .visitor_id
            .clone();
        let _ = (store.reference_data(), store.holiday_calendar());

        let (one, for_one) = traced(&store, |s| s.visitor_profile(&once).unwrap());
        let (five, for_five) = traced(&store, |s| s.visitor_profile(&often).unwrap());
        assert_eq!(for_five, for_one);
        assert_eq!(one.visits.len(), 1);
        assert_eq!(one.consultations.len(), 1);

        let newest_first: Vec<&str> = again.iter().rev().map(String::as_str).collect();
        let ids: Vec<&str> = five.visits.iter().map(|v| v.visit_id.as_str()).collect();
        assert_eq!(ids, newest_first);
        for row in &five.visits {
            assert_eq!(row, &store.visit_row(&row.visit_id).unwrap());
        }
        let mut consulted: Vec<&str> = five
            .consultations
            .iter()
            .map(|c| c.visit_id.as_str())
            .collect();
        consulted.sort_unstable();
        let mut expected = vec![again[0].as_str(), again[3].as_str()];
        expected.sort_unstable();
        assert_eq!(consulted, expected);
    }

    /// A desk's queue reads its visits in one go: as many statements for four waiting
    /// visitors as for one (it read each visit apart), each entry with its own visit.
    #[test]
    fn a_queue_reads_its_visits_in_as_many_statements_for_four_as_for_one() {
        let dir = tempfile::TempDir::new().unwrap();
        let (mut store, clerk, visits) =
            crate::test_support::store_with_visits(dir.path(), 4, |n| {
                format!("2026-11-05T09:{:02}:00+08:00", 10 + n)
            });
        store
            .hand_off(&visits[2], Desk::Mediator, "", &clerk)
            .unwrap();
        let _ = store.reference_data();
        let (one, for_one) = traced(&store, |s| s.queue(Desk::Mediator).unwrap());
        for v in [&visits[0], &visits[3], &visits[1]] {
            store.hand_off(v, Desk::Mediator, "", &clerk).unwrap();
        }
        store.take_next(Desk::Mediator, &clerk).unwrap();
        let (four, for_four) = traced(&store, |s| s.queue(Desk::Mediator).unwrap());
        assert_eq!(for_four, for_one);
        assert_eq!(one.len(), 1);

        let order: Vec<&str> = four.iter().map(|q| q.visit.visit_id.as_str()).collect();
        let handed: Vec<&str> = [2, 0, 3, 1].iter().map(|&k| visits[k].as_str()).collect();
        assert_eq!(order, handed);
        for item in &four {
            assert_eq!(item.visit.visit_id, item.handoff.visit_id);
            assert_eq!(item.visit, store.visit_row(&item.visit.visit_id).unwrap());
        }
        assert_eq!(four[0].visit.status, VisitStatus::InMediation);
        assert_eq!(four[1].visit.status, VisitStatus::InMediation);
    }

    /// Today's list reads a day in a few statements however many visits it had (issue 21: it
    /// ran three per visit, 2,740 visits a day at the benchmark's density), and each row is the
    /// one the visit's own read gives: its visitors, hand-offs and closure.
    #[test]
    fn todays_list_reads_the_day_in_three_statements_and_each_row_is_the_visits_own() {
        let dir = tempfile::TempDir::new().unwrap();
        let (mut store, clerk, visits) =
            crate::test_support::store_with_visits(dir.path(), 12, |n| {
                format!("2026-11-05T09:{:02}:00+08:00", 10 + n)
            });
        store
            .hand_off(&visits[1], Desk::Lawyer, "", &clerk)
            .unwrap();
        store
            .hand_off(&visits[2], Desk::Mediator, "", &clerk)
            .unwrap();
        store.take_next(Desk::Mediator, &clerk).unwrap();
        store.close_visit(&visits[3], &clerk).unwrap();

        let _ = store.reference_data();
        let (day, (_, reading_visits)) = traced(&store, |s| s.visits_on("2026-11-05").unwrap());
        assert_eq!(reading_visits, 3);

        let ids: Vec<&str> = day.iter().map(|r| r.visit_id.as_str()).collect();
        assert_eq!(ids, visits.iter().map(String::as_str).collect::<Vec<_>>());
        for row in &day {
            assert_eq!(row, &store.visit_row(&row.visit_id).unwrap());
            assert_eq!(row.visitors.len(), 1);
        }
        let statuses: Vec<VisitStatus> = day[..5].iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [
                VisitStatus::Waiting,
                VisitStatus::WithLawyer,
                VisitStatus::InMediation,
                VisitStatus::Handled,
                VisitStatus::Waiting,
            ]
        );
        assert!(store.visits_on("2026-11-06").unwrap().is_empty());
    }
}
