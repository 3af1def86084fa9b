//! The life of a matter in the store: its events, cached state and deadlines, its
//! classification and legal route, and the hall's due lists.
//!
//! Every transition loads the matter's state, lets `xinfang_core::matter::apply` decide, and only
//! then writes the event, the new status and state and their change-log rows, all in one
//! transaction. A refused event writes nothing. The `matter_deadlines` index follows
//! `matters.state` by triggers (migration 0004), so pulled changes keep it right too.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::classify::{self, Classification, ClassifyInput};
use xinfang_core::due::{self, DueBucket};
use xinfang_core::hall::{SkipLevel, SkipLevelBasis};
use xinfang_core::matter::{
    self, DECISION_DAYS, DeadlineKind, EventKind, MatterEvent, MatterState, MatterStatus,
    NamedDeadline,
};
use xinfang_core::notice::{self, MatterFacts, NoticeKind, VisitFacts};
use xinfang_core::reference::{AppealKind, ReferenceData};

use crate::changelog::{self, Op};
use crate::{Result, Store, StoreError, now_text};

/// A step as recorded, with who recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EventRecord {
    pub seq: i64,
    pub kind: EventKind,
    pub kind_label: String,
    pub event: MatterEvent,
    pub by_staff: String,
    /// Display name, or empty when the account is not on this desk.
    pub by_name: String,
    /// When it was recorded (RFC 3339).
    pub recorded_at: String,
}

/// A deadline as the matter page shows it on `today`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeadlineView {
    #[serde(flatten)]
    pub deadline: NamedDeadline,
    /// Days from today to the due day: 0 on the day, negative once past.
    pub days_left: i64,
    /// An authority's limit that ran out with the act undone (show it red).
    pub overdue: bool,
}

/// A legal route the lawyer proposed, waiting for the clerk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RouteProposal {
    pub route_code: String,
    pub route_name: String,
    pub by_staff: String,
    pub by_name: String,
    pub at: String,
    pub note: String,
    pub consultation_id: Option<String>,
}

/// One button of the matter page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AllowedEvent {
    pub kind: EventKind,
    pub label: String,
}

/// A matter with everything its page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MatterView {
    pub id: String,
    /// 事项编号 as shown and printed (`沁水-2026-11-B0017`, `xinfang_core::numbering`).
    pub number: String,
    pub hall_code: String,
    pub first_visit_id: String,
    pub appeal: String,
    /// Visitors of the first visit, representatives first.
    pub visitor_names: Vec<String>,
    pub appeal_kind: AppealKind,
    pub appeal_kind_label: String,
    /// How matters of this kind are handled (assets/procedures.json), shown under the heading.
    pub procedure_zh: String,
    pub category_code: String,
    pub category_name: String,
    /// 检举控告: show only to roles that need it.
    pub confidential: bool,
    pub status: MatterStatus,
    pub status_label: String,
    pub received_on: NaiveDate,
    pub legal_route: Option<String>,
    pub legal_route_name: Option<String>,
    pub proposed_route: Option<RouteProposal>,
    pub deadlines: Vec<DeadlineView>,
    pub allowed_events: Vec<AllowedEvent>,
    /// Notices the record can fill now (print buttons).
    pub notices: Vec<NoticeKind>,
    pub events: Vec<EventRecord>,
    /// The full state (transfer, extension, opinions, review stages, hearing).
    pub state: MatterState,
}

/// One line of the due lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DueItem {
    pub matter_id: String,
    /// 事项编号 (`沁水-2026-11-B0017`).
    pub number: String,
    pub hall_code: String,
    pub bucket: DueBucket,
    pub deadline_kind: DeadlineKind,
    pub deadline_label: String,
    pub due: NaiveDate,
    /// Negative: days overdue.
    pub days_left: i64,
    pub status: MatterStatus,
    pub status_label: String,
    pub received_on: NaiveDate,
    pub appeal_kind: AppealKind,
    pub category_name: String,
    pub confidential: bool,
    /// Empty for confidential matters: open the matter to see them.
    pub visitor_names: Vec<String>,
    /// Empty for confidential matters.
    pub appeal: String,
}

/// The supervisor's morning view of one hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DueList {
    pub hall_code: String,
    pub today: NaiveDate,
    /// Last due day counted as "due soon".
    pub horizon: NaiveDate,
    /// Most overdue first, at most `DUE_LIST_LIMIT` (the most overdue).
    pub overdue: Vec<DueItem>,
    /// All overdue limits, listed or not.
    pub overdue_total: u32,
    /// Soonest first, at most `DUE_LIST_LIMIT`.
    pub due_soon: Vec<DueItem>,
    /// All limits due soon, listed or not.
    pub due_soon_total: u32,
}

/// A matter row as the transitions need it.
pub(crate) struct MatterRow {
    pub(crate) hall_code: String,
    pub(crate) first_visit_id: String,
    pub(crate) appeal_kind: AppealKind,
    pub(crate) category_code: String,
    pub(crate) confidential: bool,
    pub(crate) status: MatterStatus,
    pub(crate) received_on: NaiveDate,
    state: Option<String>,
    event_count: i64,
    legal_route: Option<String>,
    /// 事项编号 (every matter has one once the store is open: numbers.rs).
    pub(crate) number: String,
}

impl MatterRow {
    /// The state as cached, or the state of a matter just registered.
    pub(crate) fn state(&self, cal: &HolidayCalendar) -> Result<MatterState> {
        match &self.state {
            Some(json) => Ok(serde_json::from_str(json)?),
            None => Ok(MatterState::registered(self.received_on, cal)),
        }
    }

    fn classification(&self) -> Classification {
        Classification {
            appeal_kind: self.appeal_kind,
            category_code: self.category_code.clone(),
            legal_route: self.legal_route.clone(),
            confidential: self.confidential,
        }
    }
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("日期格式不正确：{s}")))
}

fn code_of<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn from_code<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    Ok(serde_json::from_value(json!(s))?)
}

/// The steps a matter of `kind` can take next.
fn allowed_events(kind: AppealKind, state: &MatterState) -> Vec<EventKind> {
    let mut allowed = matter::allowed_events(state);
    matter::allowed_for_kind(kind, &mut allowed);
    allowed
}

/// The unit the matter's appeal concerns (for a report, the unit reported).
fn agency_of(conn: &Connection, visit_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT agency FROM visits WHERE id = ?1")?
        .query_row([visit_id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

pub(crate) fn load_matter(conn: &Connection, id: &str) -> Result<MatterRow> {
    let row = conn
        .prepare_cached(
            "SELECT hall_code, first_visit_id, appeal_kind, category_code, confidential, status,
               received_on, state, event_count, legal_route, coalesce(shown_number, '')
             FROM matters WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, String>(10)?,
            ))
        })
        .optional()?
        .ok_or_else(|| StoreError::NotFound("所查的信访事项".into()))?;
    let (
        hall_code,
        first_visit_id,
        kind,
        category_code,
        confidential,
        status,
        received,
        state,
        n,
        route,
        number,
    ) = row;
    Ok(MatterRow {
        hall_code,
        first_visit_id,
        appeal_kind: AppealKind::parse(&kind).ok_or_else(|| {
            StoreError::Corrupt(format!("事项 {number} 的诉求类别 {kind} 无法识别"))
        })?,
        category_code,
        confidential,
        status: from_code(&status)?,
        received_on: parse_date(&received)?,
        state,
        event_count: n,
        legal_route: route,
        number,
    })
}

pub(crate) fn staff_display(conn: &Connection, id: &str) -> Result<String> {
    Ok(conn
        .prepare_cached("SELECT display_name FROM staff WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

/// Visitors of a visit, representatives first, then in registration order.
pub(crate) fn visitor_names(conn: &Connection, visit_id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.name FROM visit_visitors vv JOIN visitors v ON v.id = coalesce(vv.person_id, vv.visitor_id)
         WHERE vv.visit_id = ?1 ORDER BY vv.is_representative DESC, vv.position",
    )?;
    let names = stmt.query_map([visit_id], |r| r.get(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}

/// The appeal of a visit as `opener` may read it (a sealed 检举控告 is the mask otherwise).
pub(crate) fn appeal_of(
    conn: &Connection,
    opener: Option<&xinfang_seal::Opener>,
    visit_id: &str,
) -> Result<String> {
    let raw: String = conn
        .prepare_cached("SELECT appeal FROM visits WHERE id = ?1")?
        .query_row([visit_id], |r| r.get(0))
        .optional()?
        .unwrap_or_default();
    Ok(crate::confidential::reveal(opener, visit_id, raw))
}

/// The name of a category in the desk's lists (`Store::reference_data`: the city's may add
/// some), or the code when no list knows it.
pub(crate) fn category_name_in(code: &str, reference: &ReferenceData) -> String {
    reference
        .category(code)
        .map_or_else(|| code.to_owned(), |c| c.name.clone())
}

fn route_name(code: &str, reference: &ReferenceData) -> String {
    reference
        .legal_route(code)
        .map_or_else(|| code.to_owned(), |r| r.name.clone())
}

fn deadline_views(state: &MatterState, today: NaiveDate) -> Vec<DeadlineView> {
    state
        .deadlines
        .iter()
        .map(|d| DeadlineView {
            days_left: (d.due - today).num_days(),
            overdue: d.is_overdue(today) && state.status != MatterStatus::Closed,
            deadline: d.clone(),
        })
        .collect()
}

/// The due list's limits stored with a matter's state, in list order (?1 horizon, ?2 hall).
/// `INDEXED BY`: see `figures::DEADLINES_LATE`; the index holds all of it (migration 0029).
pub(crate) const DUE_LIMITS: &str = "SELECT d.matter_id, d.kind, d.due, d.status, d.received_on
     FROM matter_deadlines d INDEXED BY matter_deadlines_open
     WHERE d.done_on IS NULL AND d.party = 'authority' AND d.due <= ?1
       AND d.hall_code = ?2 AND d.status <> 'closed'
     ORDER BY d.due, d.received_on, d.matter_id";

impl Store {
    /// A matter with its events, deadlines (as of `today`) and the steps it can take next.
    pub fn matter(&self, id: &str, today: NaiveDate, cal: &HolidayCalendar) -> Result<MatterView> {
        let row = load_matter(&self.conn, id)?;
        let state = row.state(cal)?;
        let reference = &self.reference_data();
        // The steps that stand, in the order every replica folds them (docs/sync.md); steps
        // in conflict are in the conflict list.
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id, e.payload, e.by_staff, coalesce(s.display_name, ''), e.at
             FROM matter_events e LEFT JOIN staff s ON s.id = e.by_staff
             WHERE e.matter_id = ?1",
        )?;
        let raw: Vec<(String, String, String, String, String)> = stmt
            .query_map([id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let order = crate::records::applied_steps(&self.conn, id, row.received_on, cal)?;
        let mut events = Vec::with_capacity(order.len());
        for (i, step_id) in order.iter().enumerate() {
            let Some((_, payload, by_staff, by_name, recorded_at)) =
                raw.iter().find(|r| &r.0 == step_id)
            else {
                continue;
            };
            let event: MatterEvent = serde_json::from_str(payload)?;
            events.push(EventRecord {
                seq: i64::try_from(i + 1).unwrap_or(i64::MAX),
                kind: event.kind(),
                kind_label: event.kind().label_zh().to_owned(),
                event,
                by_staff: by_staff.clone(),
                by_name: by_name.clone(),
                recorded_at: recorded_at.clone(),
            });
        }
        let proposed_route = self
            .conn
            .prepare_cached(
                "SELECT m.proposed_route, coalesce(m.proposed_by, ''), coalesce(s.display_name, ''),
                   coalesce(m.proposed_at, ''), coalesce(m.proposal_note, ''), m.proposal_consultation_id
                 FROM matters m LEFT JOIN staff s ON s.id = m.proposed_by
                 WHERE m.id = ?1 AND m.proposed_route IS NOT NULL",
            )?
            .query_row([id], |r| {
                let code: String = r.get(0)?;
                Ok(RouteProposal {
                    route_name: route_name(&code, reference),
                    route_code: code,
                    by_staff: r.get(1)?,
                    by_name: r.get(2)?,
                    at: r.get(3)?,
                    note: r.get(4)?,
                    consultation_id: r.get(5)?,
                })
            })
            .optional()?;
        Ok(MatterView {
            id: id.to_owned(),
            number: row.number.clone(),
            hall_code: row.hall_code.clone(),
            first_visit_id: row.first_visit_id.clone(),
            appeal: appeal_of(&self.conn, self.opener.as_ref(), &row.first_visit_id)?,
            visitor_names: visitor_names(&self.conn, &row.first_visit_id)?,
            appeal_kind: row.appeal_kind,
            appeal_kind_label: row.appeal_kind.label_zh().to_owned(),
            procedure_zh: matter::procedure(row.appeal_kind).handling.clone(),
            category_name: category_name_in(&row.category_code, reference),
            category_code: row.category_code.clone(),
            confidential: row.confidential,
            status: state.status,
            status_label: state.status_label().to_owned(),
            received_on: row.received_on,
            legal_route_name: row.legal_route.as_deref().map(|c| route_name(c, reference)),
            legal_route: row.legal_route.clone(),
            proposed_route,
            deadlines: deadline_views(&state, today),
            allowed_events: allowed_events(row.appeal_kind, &state)
                .into_iter()
                .map(|k| AllowedEvent {
                    kind: k,
                    label: if k == EventKind::Close {
                        state.close_label()
                    } else {
                        k.label_zh()
                    }
                    .to_owned(),
                })
                .collect(),
            notices: notice::available_notices(&state),
            events,
            state,
        })
    }

    /// The matter registered with a visit.
    pub fn matter_of_visit(&self, visit_id: &str) -> Result<String> {
        self.conn
            .prepare_cached("SELECT matter_id FROM visits WHERE id = ?1")?
            .query_row([visit_id], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten()
            .ok_or_else(|| StoreError::NotFound(format!("来访 {visit_id} 的信访事项")))
    }

    /// The facts a matter notice is filled with (see `xinfang_core::notice::matter_notice`).
    pub fn matter_facts(
        &self,
        id: &str,
        cal: &HolidayCalendar,
    ) -> Result<(MatterFacts, MatterState)> {
        let row = load_matter(&self.conn, id)?;
        let state = row.state(cal)?;
        Ok((
            MatterFacts {
                hall_code: row.hall_code.clone(),
                visitor_names: visitor_names(&self.conn, &row.first_visit_id)?,
                appeal: appeal_of(&self.conn, self.opener.as_ref(), &row.first_visit_id)?,
                appeal_kind: row.appeal_kind,
                category_name: category_name_in(&row.category_code, &self.reference_data()),
                legal_route: row.legal_route.clone(),
                number: row.number.clone(),
            },
            state,
        ))
    }

    /// What a notice of one visit (越级走访告知书) is filled from: the visit as registered and its
    /// 越级访 as stored at registration (not decided again: the notice names the 属地 the
    /// visitor was told that day).
    pub fn visit_facts(&self, visit_id: &str) -> Result<VisitFacts> {
        type Row = (
            String,
            String,
            String,
            Option<String>,
            bool,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let row: Row = self
            .conn
            .prepare_cached(
                "SELECT hall_code, visit_date, category_code, place_code, skip_level,
                        skip_level_basis, skip_level_local, skip_level_authority
                 FROM visits WHERE id = ?1",
            )?
            .query_row([visit_id], |r| Row::try_from(r))
            .optional()?
            .ok_or_else(|| StoreError::NotFound("该来访记录".to_owned()))?;
        let (hall_code, day, category, place_code, flagged, basis, local, authority) = row;
        let reference = self.reference_data();
        let local_code = local.unwrap_or_default();
        let skip_level = SkipLevel {
            flagged,
            basis: match basis.as_deref() {
                Some("handling") => Some(SkipLevelBasis::Handling),
                Some(_) => Some(SkipLevelBasis::Place),
                None => None,
            },
            local_name: reference
                .regions
                .short_name(&local_code)
                .unwrap_or_default()
                .to_owned(),
            local_code,
            authority: authority.unwrap_or_default(),
            message: String::new(),
        };
        Ok(VisitFacts {
            hall_code,
            visitor_names: visitor_names(&self.conn, visit_id)?,
            visited_on: day
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("visit {visit_id}: day {day}")))?,
            appeal: appeal_of(&self.conn, self.opener.as_ref(), visit_id)?,
            category_name: category_name_in(&category, &reference),
            place_code,
            skip_level,
        })
    }

    /// Records one step of a matter. The core decides; a refusal (`StoreError::Invalid`, with
    /// the field and a Chinese message) leaves the store untouched.
    pub fn record_event(
        &mut self,
        id: &str,
        event: &MatterEvent,
        by: &str,
        cal: &HolidayCalendar,
    ) -> Result<MatterState> {
        self.record_events(id, std::slice::from_ref(event), by, cal)
    }

    /// Records steps of one matter in order, each judged on the state the steps before it
    /// leave, as one step after another would be; the matter is derived and stored once, at
    /// the end. A refusal of any step leaves the store untouched.
    pub fn record_events(
        &mut self,
        id: &str,
        events: &[MatterEvent],
        by: &str,
        cal: &HolidayCalendar,
    ) -> Result<MatterState> {
        if events.is_empty() {
            return load_matter(&self.conn, id)?.state(cal);
        }
        // The routes data is read only for a step that names a route.
        let reference = events
            .iter()
            .any(|e| matches!(e, MatterEvent::GuideToLegalRoute { .. }))
            .then(|| self.reference_data());
        let tx = self.conn.savepoint()?;
        let row = load_matter(&tx, id)?;
        let agency = agency_of(&tx, &row.first_visit_id)?;
        let subject = matter::Subject {
            kind: row.appeal_kind,
            agency: agency.as_deref(),
        };
        // The steps are read once; each new one is folded with them in memory.
        let mut steps = crate::records::load_steps(&tx, id)?;
        let fold = |steps: &[crate::records::StepRow]| {
            let steps: Vec<matter::Step> = steps.iter().map(|r| r.step.clone()).collect();
            matter::fold_steps(row.received_on, subject, &steps, cal)
        };
        let mut folded = fold(&steps);
        let mut state = row.state(cal)?;
        let mut seq = row.event_count + 1;
        let mut new_route = None;
        let now = now_text(&*self.clock);
        // Logged once they are committed: a refusal of a later step records none.
        let mut recorded = Vec::with_capacity(events.len());
        for event in events {
            // The core decides, by the kind's procedure and then the regulation's order and
            // limits; a refusal writes nothing.
            matter::check_step(row.appeal_kind, agency.as_deref(), event)?;
            matter::apply(&state, event, cal)?;
            // A route named by the event must come from the routes data, and only claims are
            // routed.
            let mut event = event.clone();
            if let (MatterEvent::GuideToLegalRoute { route_code, .. }, Some(reference)) =
                (&mut event, &reference)
            {
                classify::may_propose_route(row.appeal_kind, state.status)?;
                let code = classify::route_code(route_code, reference, "route_code")?;
                route_code.clone_from(&code);
                matter::apply(&state, &event, cal)?;
                new_route = Some(code);
            }
            let kind = code_of(event.kind());
            let payload = serde_json::to_string(&event)?;
            // Each step is a record of its own: another desk's offline step never overwrites
            // it.
            let event_id = uuid::Uuid::now_v7().to_string();
            let stamp = xinfang_sync::hlc::now();
            // The step that stands last here: a step another desk records on the same one is
            // concurrent with this one (docs/sync.md).
            let prev = folded
                .applied
                .last()
                .cloned()
                .unwrap_or_else(|| matter::FIRST_STEP.to_owned());
            tx.prepare_cached(
                "INSERT INTO matter_events(id, matter_id, seq, kind, payload, by_staff, at, hlc, prev)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                event_id, id, seq, kind, payload, by, now, stamp.0, prev
            ])?;
            let mut f = Map::new();
            f.insert("matter_id".into(), json!(id));
            f.insert("seq".into(), json!(seq));
            f.insert("kind".into(), json!(kind));
            f.insert("payload".into(), json!(payload));
            f.insert("by_staff".into(), json!(by));
            f.insert("at".into(), json!(now));
            f.insert("hlc".into(), json!(stamp.0));
            f.insert("prev".into(), json!(prev));
            changelog::append_stamped(&tx, "matter_event", &event_id, Op::Insert, f, &now, stamp)?;
            recorded.push((seq, kind));
            steps.push(crate::records::StepRow {
                step: matter::Step {
                    id: event_id,
                    hlc: stamp.0,
                    event,
                    prev: matter::parse_prev(Some(prev.as_str())),
                    voided: false,
                },
                by_staff: by.to_owned(),
                at: now.clone(),
            });
            // The new step sorts after every applied step: its date is not before theirs and
            // its stamp is the newest.
            folded = fold(&steps);
            state = folded.state.clone();
            seq = folded.applied.len() as i64 + 1;
        }
        if new_route.is_some() {
            tx.prepare_cached("UPDATE matters SET legal_route = ?2 WHERE id = ?1")?
                .execute(params![id, new_route])?;
        }
        // The matter as all its steps make it, stored with this moment as its last change.
        let state_json =
            crate::records::settle_steps(&tx, &self.device_id, id, &steps, &folded, Some(&now))?;
        // Status and state are logged too, for replicas that do not derive them (older desks).
        let mut f = Map::new();
        if state.status != row.status {
            f.insert("status".into(), json!(code_of(state.status)));
        }
        f.insert("state".into(), json!(state_json));
        f.insert("event_count".into(), json!(folded.applied.len()));
        if let Some(r) = &new_route {
            f.insert("legal_route".into(), json!(r));
        }
        changelog::append(&tx, "matter", id, Op::Update, f, &now)?;
        tx.commit()?;
        for (seq, kind) in recorded {
            tracing::info!(matter_id = %id, seq, kind = %kind, "matter event recorded");
        }
        Ok(state)
    }

    /// The clerk's (re)classification: kind, category and, for a claim, the legal route.
    /// A 检举控告 matter stays confidential, and only someone who may see it afterwards (the
    /// registering clerk, supervisors, admins) may make or keep it so: the core decides that
    /// before anything is written (`classify::classify`), so a refusal leaves no trace.
    pub fn classify_matter(
        &mut self,
        id: &str,
        input: &ClassifyInput,
        by: &str,
        reference: &ReferenceData,
    ) -> Result<Classification> {
        let owner = self.matter_owner(id)?;
        // An id that is no account on this desk has no role: it may not make a report.
        let roles = match self.staff_by_id(by) {
            Ok(staff) => staff.roles,
            Err(StoreError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let classifier = classify::Classifier {
            staff_id: by,
            roles: &roles,
            registered_by: &owner.registered_by,
        };
        let tx = self.conn.savepoint()?;
        let row = load_matter(&tx, id)?;
        let old = row.classification();
        let new = classify::classify(&old, row.status, input, reference, &classifier)?;
        if new.appeal_kind != old.appeal_kind {
            // The steps recorded so far must fit the new kind's procedure.
            let steps: Vec<MatterEvent> = crate::records::load_steps(&tx, id)?
                .into_iter()
                .filter(|r| !r.step.voided)
                .map(|r| r.step.event)
                .collect();
            let agency = agency_of(&tx, &row.first_visit_id)?;
            matter::check_kind_change(new.appeal_kind, agency.as_deref(), &steps)?;
        }
        if new != old {
            let now = now_text(&*self.clock);
            tx.prepare_cached(
                "UPDATE matters SET appeal_kind = ?2, category_code = ?3, legal_route = ?4,
                   confidential = ?5, updated_at = ?6 WHERE id = ?1",
            )?
            .execute(params![
                id,
                new.appeal_kind.code(),
                new.category_code,
                new.legal_route,
                new.confidential,
                now
            ])?;
            let mut f = Map::new();
            if new.appeal_kind != old.appeal_kind {
                f.insert("appeal_kind".into(), json!(new.appeal_kind.code()));
            }
            if new.category_code != old.category_code {
                f.insert("category_code".into(), json!(new.category_code));
            }
            if new.legal_route != old.legal_route {
                f.insert("legal_route".into(), json!(new.legal_route));
            }
            if new.confidential != old.confidential {
                f.insert("confidential".into(), json!(new.confidential));
            }
            f.insert("classified_by".into(), json!(by));
            changelog::append(&tx, "matter", id, Op::Update, f, &now)?;
        }
        tx.commit()?;
        Ok(new)
    }

    /// The lawyer proposes a legal route for a claim (after a consultation); the clerk confirms
    /// it with [`Store::confirm_route`]. A newer proposal replaces an unconfirmed one.
    pub fn propose_route(
        &mut self,
        id: &str,
        route: &str,
        note: &str,
        consultation_id: Option<&str>,
        by: &str,
        reference: &ReferenceData,
    ) -> Result<RouteProposal> {
        let tx = self.conn.savepoint()?;
        let row = load_matter(&tx, id)?;
        classify::may_propose_route(row.appeal_kind, row.status)?;
        let code = classify::route_code(route, reference, "route_code")?;
        let consultation_id = consultation_id.map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = consultation_id {
            let known: Option<i64> = tx
                .prepare_cached("SELECT 1 FROM consultations WHERE id = ?1")?
                .query_row([c], |r| r.get(0))
                .optional()?;
            if known.is_none() {
                return Err(xinfang_core::FieldError::new(
                    "consultation_id",
                    "consultation_unknown",
                    "没有找到所选的法律咨询记录，请从咨询记录中发起建议。",
                )
                .into());
            }
        }
        let now = now_text(&*self.clock);
        let note = note.trim();
        tx.prepare_cached(
            "UPDATE matters SET proposed_route = ?2, proposed_by = ?3, proposed_at = ?4,
               proposal_note = ?5, proposal_consultation_id = ?6, updated_at = ?4 WHERE id = ?1",
        )?
        .execute(params![id, code, by, now, note, consultation_id])?;
        let mut f = Map::new();
        f.insert("proposed_route".into(), json!(code));
        f.insert("proposed_by".into(), json!(by));
        f.insert("proposed_at".into(), json!(now));
        f.insert("proposal_note".into(), json!(note));
        f.insert("proposal_consultation_id".into(), json!(consultation_id));
        changelog::append(&tx, "matter", id, Op::Update, f, &now)?;
        let by_name = staff_display(&tx, by)?;
        tx.commit()?;
        Ok(RouteProposal {
            route_name: route_name(&code, reference),
            route_code: code,
            by_staff: by.to_owned(),
            by_name,
            at: now,
            note: note.to_owned(),
            consultation_id: consultation_id.map(str::to_owned),
        })
    }

    /// The clerk confirms the lawyer's proposed route, or sets `route` instead. The proposal is
    /// cleared either way.
    pub fn confirm_route(
        &mut self,
        id: &str,
        route: Option<&str>,
        by: &str,
        reference: &ReferenceData,
    ) -> Result<Classification> {
        let tx = self.conn.savepoint()?;
        let row = load_matter(&tx, id)?;
        classify::may_propose_route(row.appeal_kind, row.status)?;
        let proposed: Option<String> = tx
            .prepare_cached("SELECT proposed_route FROM matters WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        let chosen = match route.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => r.to_owned(),
            None => proposed.clone().ok_or_else(|| {
                xinfang_core::FieldError::new(
                    "route_code",
                    "no_proposal",
                    "值班律师尚未建议法定途径：请直接选择法定途径，或待律师咨询后再确认。",
                )
            })?,
        };
        let code = classify::route_code(&chosen, reference, "route_code")?;
        let now = now_text(&*self.clock);
        tx.prepare_cached(
            "UPDATE matters SET legal_route = ?2, proposed_route = NULL, proposed_by = NULL,
               proposed_at = NULL, proposal_note = NULL, proposal_consultation_id = NULL,
               updated_at = ?3 WHERE id = ?1",
        )?
        .execute(params![id, code, now])?;
        let mut f = Map::new();
        f.insert("legal_route".into(), json!(code));
        f.insert("route_confirmed_by".into(), json!(by));
        if proposed.is_some() {
            for k in [
                "proposed_route",
                "proposed_by",
                "proposed_at",
                "proposal_note",
                "proposal_consultation_id",
            ] {
                f.insert(k.into(), serde_json::Value::Null);
            }
        }
        changelog::append(&tx, "matter", id, Op::Update, f, &now)?;
        tx.commit()?;
        let mut c = row.classification();
        c.legal_route = Some(code);
        Ok(c)
    }

    /// Overdue and due-soon limits of this desk's hall on `today`: authority duties not yet done
    /// of matters not closed, overdue ones most overdue first. Each list holds at most
    /// [`due::DUE_LIST_LIMIT`] lines; the totals count them all. Read through the open-limits
    /// index and the registered-matters index only (issue 21), never every matter.
    pub fn due_list(&self, today: NaiveDate, cal: &HolidayCalendar) -> Result<DueList> {
        self.due_list_limited(today, cal, due::DUE_LIST_LIMIT)
    }

    /// [`Store::due_list`] with at most `limit` lines per list.
    pub fn due_list_limited(
        &self,
        today: NaiveDate,
        cal: &HolidayCalendar,
        limit: usize,
    ) -> Result<DueList> {
        type Found = (NaiveDate, NaiveDate, String, DeadlineKind, MatterStatus);
        let horizon = due::horizon(today);
        // Per bucket: how many, and the first `limit` in (due, received, id) order of each of
        // the two sources below (each gives its rows in that order), merged at the end.
        let mut overdue: (u32, Vec<Found>) = (0, Vec::new());
        let mut due_soon: (u32, Vec<Found>) = (0, Vec::new());
        let mut taken = [0usize; 4];
        let mut keep = |source: usize, bucket: DueBucket, f: Found| {
            let (n, v, i) = match bucket {
                DueBucket::Overdue => (&mut overdue.0, &mut overdue.1, source),
                DueBucket::DueSoon => (&mut due_soon.0, &mut due_soon.1, 2 + source),
            };
            *n += 1;
            if taken[i] < limit {
                taken[i] += 1;
                v.push(f);
            }
        };
        {
            // Limits stored with the matter's state, in list order: the first `limit` of each
            // bucket are the first rows of that bucket.
            let mut stmt = self.conn.prepare_cached(DUE_LIMITS)?;
            let mut rows = stmt.query(params![horizon.to_string(), self.hall_code])?;
            while let Some(r) = rows.next()? {
                let due_on = parse_date(&r.get::<_, String>(2)?)?;
                let Some(bucket) = due::bucket(due_on, today) else {
                    continue;
                };
                keep(
                    0,
                    bucket,
                    (
                        due_on,
                        parse_date(&r.get::<_, String>(4)?)?,
                        r.get(0)?,
                        from_code(&r.get::<_, String>(1)?)?,
                        from_code(&r.get::<_, String>(3)?)?,
                    ),
                );
            }
        }
        {
            // Matters still waiting for the hall's decision, without a stored state: one
            // deadline counted from the day they were received; it cannot fall before
            // received_on + 15 days, and it moves with received_on, so received order is
            // due order.
            let cutoff = horizon
                .checked_sub_days(chrono::Days::new(DECISION_DAYS.into()))
                .unwrap_or(NaiveDate::MIN);
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, received_on FROM matters
                 WHERE status = 'registered' AND received_on <= ?1 AND hall_code = ?2
                   AND state IS NULL
                 ORDER BY received_on, id",
            )?;
            let mut rows = stmt.query(params![cutoff.to_string(), self.hall_code])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let received = parse_date(&r.get::<_, String>(1)?)?;
                let state = MatterState::registered(received, cal);
                for d in &state.deadlines {
                    if let Some(bucket) = due::deadline_bucket(d, state.status, today) {
                        keep(
                            1,
                            bucket,
                            (d.due, received, id.clone(), d.kind, state.status),
                        );
                    }
                }
            }
        }
        let reference = self.reference_data();
        let list = |(total, mut found): (u32, Vec<Found>), bucket| -> Result<Vec<DueItem>> {
            found.sort();
            found.truncate(limit);
            debug_assert!(found.len() <= total as usize);
            found
                .into_iter()
                .map(|(due_on, _, id, kind, status)| {
                    self.due_item(&id, bucket, (kind, due_on, status), today, &reference)
                })
                .collect()
        };
        let (overdue_total, due_soon_total) = (overdue.0, due_soon.0);
        Ok(DueList {
            hall_code: self.hall_code.clone(),
            today,
            horizon,
            overdue: list(overdue, DueBucket::Overdue)?,
            overdue_total,
            due_soon: list(due_soon, DueBucket::DueSoon)?,
            due_soon_total,
        })
    }

    fn due_item(
        &self,
        id: &str,
        bucket: DueBucket,
        (kind, due_on, status): (DeadlineKind, NaiveDate, MatterStatus),
        today: NaiveDate,
        reference: &ReferenceData,
    ) -> Result<DueItem> {
        let row = load_matter(&self.conn, id)?;
        let (visitor_names, appeal) = if row.confidential {
            (Vec::new(), String::new())
        } else {
            (
                visitor_names(&self.conn, &row.first_visit_id)?,
                appeal_of(&self.conn, self.opener.as_ref(), &row.first_visit_id)?,
            )
        };
        Ok(DueItem {
            matter_id: id.to_owned(),
            number: row.number.clone(),
            hall_code: row.hall_code,
            bucket,
            deadline_kind: kind,
            deadline_label: kind.label_zh().to_owned(),
            due: due_on,
            days_left: (due_on - today).num_days(),
            status,
            status_label: status.label_zh().to_owned(),
            received_on: row.received_on,
            appeal_kind: row.appeal_kind,
            category_name: category_name_in(&row.category_code, reference),
            confidential: row.confidential,
            visitor_names,
            appeal,
        })
    }

    /// Recomputes the deadlines of every open matter with `cal` (e.g. after the city server sent
    /// a newer holiday calendar). Returns how many matters' deadlines changed.
    pub fn refresh_deadlines(&mut self, cal: &HolidayCalendar) -> Result<usize> {
        let tx = self.conn.savepoint()?;
        let rows: Vec<(String, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, state FROM matters WHERE state IS NOT NULL AND status <> 'closed'",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        let now = now_text(&*self.clock);
        let mut changed = 0;
        for (id, json_text) in rows {
            let mut state: MatterState = serde_json::from_str(&json_text)?;
            let fresh = matter::deadlines(&state, cal);
            if fresh == state.deadlines {
                continue;
            }
            state.deadlines = fresh;
            let state_json = state.stored_json()?;
            tx.prepare_cached("UPDATE matters SET state = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![id, state_json, now])?;
            let mut f = Map::new();
            f.insert("state".into(), json!(state_json));
            changelog::append(&tx, "matter", &id, Op::Update, f, &now)?;
            changed += 1;
        }
        tx.commit()?;
        Ok(changed)
    }
}
