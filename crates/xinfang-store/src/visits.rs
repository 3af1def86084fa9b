//! Registering visits: visitors (found again by their document), the visit, its matter.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value, json};
use xinfang_core::clock::cst;
use xinfang_core::hall::{Handling, SkipLevel, SkipLevelBasis, skip_level};
use xinfang_core::id::{IdType, Sex};
use xinfang_core::regions::Regions;
use xinfang_core::visit::{ValidVisit, ValidVisitor};

use crate::changelog::{self, Op};
use crate::hall_key::HallKey;
use crate::search::{index_visitor, name_keys, reindex_visitor};
use crate::{Result, Store, now_text};

/// What registering a visit produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Registered {
    pub visit_id: String,
    /// 来访编号 (`沁水-2026-11-05-B017`).
    pub number: String,
    pub visitor_ids: Vec<String>,
    /// Earlier visits of any of these visitors, newest first (a non-empty list means 重复访).
    pub repeat_of: Vec<String>,
    /// The day's queue number at this desk.
    pub queue_no: i64,
    /// The queue number shown and printed: the hall's (`17`, from its server) or this desk's
    /// own with its letter (`B017`), `xinfang_core::queue`.
    pub queue_label: String,
    pub matter_id: String,
    /// 事项编号 of that matter (`沁水-2026-11-B0017`).
    pub matter_number: String,
    /// 重复访: the visit joined an earlier matter (`matter_id`) instead of opening one.
    pub is_repeat: bool,
    /// 不再受理: why the joined matter will not be accepted again, to tell and print for the
    /// visitor (`not_accepted_again`); the visit is recorded regardless.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub refusal: Option<xinfang_core::FieldError>,
    /// 越级访 as decided at registration and stored with the visit (`xinfang_core::hall::
    /// skip_level`): whether it is flagged, the 属地 and its authority.
    pub skip_level: SkipLevel,
}

/// One visit as the history panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitSummary {
    pub visit_id: String,
    /// 来访编号 (`沁水-2026-11-05-B017`), from the visit's day and queue number.
    pub number: String,
    pub visited_at: String,
    pub queue_no: i64,
    /// The queue number shown (`17` or `B017`; older visits: their `queue_no`).
    pub queue_label: String,
    pub appeal: String,
    pub appeal_kind: String,
    pub category_code: String,
    pub head_count: i64,
    pub is_repeat: bool,
    /// 越级访 (stored at registration).
    pub skip_level: bool,
    /// 检举控告: the visit's own kind or its matter's (reclassified later) —
    /// `xinfang_core::staff::visit_is_confidential`. Lists mask the appeal of such a visit.
    pub confidential: bool,
}

fn id_type_code(t: IdType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn sex_code(s: Option<Sex>) -> Option<&'static str> {
    s.map(|s| match s {
        Sex::Male => "male",
        Sex::Female => "female",
    })
}

/// The fields of a visitor as stored and logged.
fn visitor_fields(v: &ValidVisitor, hall_code: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), json!(v.name));
    m.insert("id_type".into(), json!(id_type_code(v.id_type)));
    m.insert("id_number".into(), json!(v.id_number));
    m.insert("sex".into(), json!(sex_code(v.sex)));
    m.insert(
        "birth_date".into(),
        json!(v.birth_date.map(|d| d.to_string())),
    );
    m.insert("phone".into(), json!(v.phone));
    m.insert("address".into(), json!(v.address));
    m.insert("ethnicity".into(), json!(v.ethnicity));
    m.insert("occupation".into(), json!(v.occupation));
    m.insert("hall_code".into(), json!(hall_code));
    m
}

/// The details of a visitor already on file that a new visit may update.
struct OnFile {
    rowid: i64,
    id: String,
    name: String,
    phone: Option<String>,
    address: Option<String>,
    ethnicity: Option<String>,
    occupation: Option<String>,
}

/// A visitor's record id, the same on every desk of a hall for the same document: two desks
/// that register one person while offline create one record, which sync merges field by field,
/// not two people with one ID number. Derived from the document with the hall id key
/// (`hall_key`, docs/security.md item 4): without the key an id says nothing of the number.
/// Records made before the key (UUIDv5 of the document) keep their ids; lookups go by the
/// document columns, which find both.
fn visitor_id(key: &HallKey, hall_code: &str, id_type: &str, id_number: &str, n: u32) -> String {
    crate::hall_key::nth_id(key, hall_code, id_type, id_number, n)
}

/// Inserts a new visitor or updates the one already on file with this document; returns its id.
pub(crate) fn upsert_visitor(
    tx: &Connection,
    own_device: &str,
    v: &ValidVisitor,
    hall_code: &str,
    clerk_id: &str,
    now: &str,
) -> Result<String> {
    let id_type = id_type_code(v.id_type);
    let existing: Option<OnFile> = tx
        .prepare_cached(
            "SELECT rowid, id, name, phone, address, ethnicity, occupation FROM visitors
             WHERE id_number = ?1 AND id_type = ?2 ORDER BY rowid LIMIT 1",
        )?
        .query_row(params![v.id_number, id_type], |r| {
            Ok(OnFile {
                rowid: r.get(0)?,
                id: r.get(1)?,
                name: r.get(2)?,
                phone: r.get(3)?,
                address: r.get(4)?,
                ethnicity: r.get(5)?,
                occupation: r.get(6)?,
            })
        })
        .optional()?;
    let (full, initials) = name_keys(&v.name);
    match existing {
        None => {
            let key = crate::hall_key::current(tx)?;
            let mut id = visitor_id(&key, hall_code, &id_type, &v.id_number, 0);
            // The id of this number can be held by a record whose document was corrected
            // since (docs/sync.md, "People"): the number's real holder is someone else and gets
            // the next id of the same derivation (the same on every desk that knows the record).
            let mut n = 1;
            while tx
                .prepare_cached("SELECT 1 FROM visitors WHERE id = ?1")?
                .exists([&id])?
            {
                id = visitor_id(&key, hall_code, &id_type, &v.id_number, n);
                n += 1;
            }
            // A registration sets only what it knows: empty fields are not logged, so they
            // erase nothing another desk recorded (docs/sync.md).
            let mut fields = visitor_fields(v, hall_code);
            fields.retain(|_, value| !value.is_null());
            // An insert replaces nothing (docs/sync.md): only who wrote it travels with it.
            fields.insert(xinfang_sync::merge::BY_KEY.into(), json!(clerk_id));
            tx.prepare_cached(
                "INSERT INTO visitors(id, name, id_type, id_number, sex, birth_date, phone, address, ethnicity,
                   occupation, pinyin_full, pinyin_initials, hall_code, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
            )?
            .execute(params![
                id,
                v.name,
                id_type,
                v.id_number,
                sex_code(v.sex),
                v.birth_date.map(|d| d.to_string()),
                v.phone,
                v.address,
                v.ethnicity,
                v.occupation,
                full,
                initials,
                hall_code,
                now
            ])?;
            index_visitor(tx, tx.last_insert_rowid(), &v.name, v.phone.as_deref())?;
            changelog::append(tx, "visitor", &id, Op::Insert, fields, now)?;
            Ok(id)
        }
        Some(OnFile {
            rowid,
            id,
            name,
            phone,
            address,
            ethnicity,
            occupation,
        }) => {
            // Newer details replace older ones; an empty field on the form keeps what is on file.
            let mut changed = Map::new();
            let mut update = |key: &str, old: &Option<String>, new: &Option<String>| {
                if new.is_some() && new != old {
                    changed.insert(key.into(), json!(new));
                }
            };
            update("name", &Some(name.clone()), &Some(v.name.clone()));
            update("phone", &phone, &v.phone);
            update("address", &address, &v.address);
            update("ethnicity", &ethnicity, &v.ethnicity);
            update("occupation", &occupation, &v.occupation);
            if changed.is_empty() {
                return Ok(id);
            }
            let new_name = changed
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&name)
                .to_owned();
            let new_phone = v.phone.clone().or(phone);
            tx.prepare_cached(
                "UPDATE visitors SET name = ?2, phone = ?3, address = coalesce(?4, address),
                   ethnicity = coalesce(?5, ethnicity), occupation = coalesce(?6, occupation),
                   pinyin_full = ?7, pinyin_initials = ?8, updated_at = ?9
                 WHERE rowid = ?1",
            )?
            .execute(params![
                rowid,
                new_name,
                new_phone,
                v.address,
                v.ethnicity,
                v.occupation,
                full,
                initials,
                now
            ])?;
            reindex_visitor(tx, rowid, &new_name, new_phone.as_deref())?;
            // Each changed field names the versions it replaces, so a concurrent change made
            // elsewhere is kept as a conflict instead of silently lost.
            let fields: Vec<String> = changed.keys().cloned().collect();
            crate::records::stamp_bases(
                tx,
                own_device,
                "visitor",
                &id,
                Some(clerk_id),
                &mut changed,
            )?;
            changelog::append(tx, "visitor", &id, Op::Update, changed, now)?;
            for f in fields {
                if xinfang_sync::merge::tracks_conflicts("visitor", &f) {
                    crate::records::refresh_field_conflict(tx, own_device, "visitor", &id, &f)?;
                }
            }
            Ok(id)
        }
    }
}

/// Record ids of a visit being registered: fresh UUIDv7s, or, for a ledger row, ids derived
/// from the row so two desks importing one ledger make one set of visits.
pub(crate) struct VisitIds {
    pub(crate) visit_id: String,
    pub(crate) matter_id: String,
    /// The matter exists already: the visit joins it (重复访).
    pub(crate) joins: bool,
    /// The new records' ids were made just now (UUIDv7s), so no stamp of them can have been
    /// seen; a ledger row's ids may have arrived from another desk that imported it too.
    pub(crate) made_now: bool,
}

impl VisitIds {
    pub(crate) fn fresh() -> VisitIds {
        VisitIds {
            visit_id: uuid::Uuid::now_v7().to_string(),
            matter_id: uuid::Uuid::now_v7().to_string(),
            joins: false,
            made_now: true,
        }
    }

    /// A new visit of the existing matter `matter_id`.
    pub(crate) fn joining(matter_id: &str) -> VisitIds {
        VisitIds {
            visit_id: uuid::Uuid::now_v7().to_string(),
            matter_id: matter_id.to_owned(),
            joins: true,
            made_now: true,
        }
    }

    /// Ids of an imported ledger row of `hall`, from the row's fingerprint (docs/ledger.md).
    pub(crate) fn of_ledger_row(hall: &str, fingerprint: &str) -> VisitIds {
        const NAMESPACE: uuid::Uuid =
            uuid::Uuid::from_u128(0x3d9a_77c1_0f42_4b6e_8c15_a4e2_6b09_d5f3);
        let id = |what: &str| {
            uuid::Uuid::new_v5(
                &NAMESPACE,
                format!("{what}:{hall}:{fingerprint}").as_bytes(),
            )
            .to_string()
        };
        VisitIds {
            visit_id: id("ledger-visit"),
            matter_id: id("ledger-matter"),
            joins: false,
            made_now: false,
        }
    }
}

fn basis_code(b: SkipLevelBasis) -> &'static str {
    match b {
        SkipLevelBasis::Place => "place",
        SkipLevelBasis::Handling => "handling",
    }
}

/// The greatest count among a letter's queue labels of a day: from the index of the day's
/// labels (migration 0034), not the visit rows.
pub(crate) const LAST_QUEUE_LABEL: &str =
    "SELECT coalesce(max(CAST(substr(queue_label, 2) AS INTEGER)), 0) FROM visits
     WHERE visit_date = ?1 AND substr(queue_label, 1, 1) = ?2";

/// This desk's own queue number of the day, for a visit registered without the hall's: its
/// letter (the one its server gave it, else `xinfang_core::queue::desk_letter`) and the next
/// of the numbers with that letter that day.
pub(crate) fn local_queue_label(tx: &Connection, own_device: &str, day: &str) -> Result<String> {
    let letter = crate::numbers::desk_letter(tx, own_device)?;
    let last: i64 = tx
        .prepare_cached(LAST_QUEUE_LABEL)?
        .query_row(params![day, letter.to_string()], |r| r.get(0))?;
    Ok(xinfang_core::queue::local_label(letter, last + 1))
}

#[allow(clippy::too_many_arguments)] // the desk, the visit, its ids and its 越级访: one registration
pub(crate) fn register_in(
    tx: &Connection,
    own_device: &str,
    hall: &str,
    visit: &ValidVisit,
    clerk_id: &str,
    ids: VisitIds,
    skip: SkipLevel,
    now: &str,
    hall_label: Option<&str>,
) -> Result<Registered> {
    let visited_at = visit.visited_at.with_timezone(&cst());
    let visit_date = visited_at.date_naive().to_string();
    let visited_at_text = visited_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);

    let mut visitor_ids = Vec::with_capacity(visit.visitors.len());
    for v in &visit.visitors {
        visitor_ids.push(upsert_visitor(tx, own_device, v, hall, clerk_id, now)?);
    }
    let mut repeat_of: Vec<(String, String)> = Vec::new();
    {
        let mut stmt = tx.prepare_cached(
            "SELECT x.id, x.visited_at FROM visit_visitors vv JOIN visits x ON x.id = vv.visit_id
                 WHERE vv.person_id = coalesce((SELECT merged_into FROM visitors WHERE id = ?1), ?1)",
        )?;
        for vid in &visitor_ids {
            for row in stmt.query_map([vid], |r| Ok((r.get(0)?, r.get(1)?)))? {
                let row = row?;
                if !repeat_of.contains(&row) {
                    repeat_of.push(row);
                }
            }
        }
    }
    repeat_of.sort_by(|a, b| b.1.cmp(&a.1));
    let repeat_of: Vec<String> = repeat_of.into_iter().map(|(id, _)| id).collect();

    let queue_no: i64 = tx
        .prepare_cached("SELECT coalesce(max(queue_no), 0) + 1 FROM visits WHERE visit_date = ?1")?
        .query_row([&visit_date], |r| r.get(0))?;
    let queue_label = match hall_label {
        Some(l) => l.to_owned(),
        None => local_queue_label(tx, own_device, &visit_date)?,
    };
    let VisitIds {
        visit_id,
        matter_id,
        joins,
        made_now,
    } = ids;
    let log_insert = |entity: &str, id: &str, fields: Map<String, Value>| {
        if made_now {
            changelog::append_new(tx, entity, id, fields, now)
        } else {
            changelog::append(tx, entity, id, Op::Insert, fields, now)
        }
    };
    let kind = visit.appeal_kind.code();
    let is_repeat = joins || !repeat_of.is_empty();
    // A 检举控告's appeal is written sealed to its readers only, everywhere it goes.
    let appeal = if visit.appeal_kind.is_confidential() {
        crate::confidential::seal_appeal(tx, &visit_id, clerk_id, &visit.appeal)?
    } else {
        visit.appeal.clone()
    };
    tx.prepare_cached(
            "INSERT INTO visits(id, hall_code, visited_at, visit_date, queue_no, clerk_id, head_count, appeal,
               appeal_kind, category_code, agency, place_code, is_repeat, matter_id, created_at,
               skip_level, skip_level_basis, skip_level_local, skip_level_authority, queue_label)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        )?
        .execute(params![
            visit_id,
            hall,
            visited_at_text,
            visit_date,
            queue_no,
            clerk_id,
            visit.head_count,
            appeal,
            kind,
            visit.category_code,
            (!visit.agency.is_empty()).then_some(&visit.agency),
            visit.place_code,
            is_repeat,
            matter_id,
            now,
            skip.flagged,
            skip.basis.map(basis_code),
            skip.flagged.then_some(&skip.local_code),
            skip.flagged.then_some(&skip.authority),
            queue_label,
        ])?;
    let mut fields = Map::new();
    fields.insert("hall_code".into(), json!(hall));
    fields.insert("visited_at".into(), json!(visited_at_text));
    fields.insert("queue_no".into(), json!(queue_no));
    fields.insert("queue_label".into(), json!(queue_label));
    fields.insert("clerk_id".into(), json!(clerk_id));
    fields.insert("head_count".into(), json!(visit.head_count));
    fields.insert("appeal".into(), json!(appeal));
    fields.insert("appeal_kind".into(), json!(kind));
    fields.insert("category_code".into(), json!(visit.category_code));
    fields.insert("agency".into(), json!(visit.agency));
    fields.insert("place_code".into(), json!(visit.place_code));
    fields.insert("is_repeat".into(), json!(is_repeat));
    fields.insert("matter_id".into(), json!(matter_id));
    fields.insert("skip_level".into(), json!(skip.flagged));
    if skip.flagged {
        fields.insert("skip_level_basis".into(), json!(skip.basis.map(basis_code)));
        fields.insert("skip_level_local".into(), json!(skip.local_code));
        fields.insert("skip_level_authority".into(), json!(skip.authority));
    }
    log_insert("visit", &visit_id, fields)?;

    for (position, visitor_id) in visitor_ids.iter().enumerate() {
        let is_rep = visit.representatives.contains(&position);
        tx.prepare_cached(
                // With its person: set afterwards, the link's person index entry would move
                // (migration 0039).
                "INSERT OR IGNORE INTO visit_visitors(visit_id, visitor_id, position, is_representative, person_id)
                 VALUES (?1, ?2, ?3, ?4,
                         coalesce((SELECT merged_into FROM visitors WHERE id = ?2), ?2))",
            )?
            .execute(params![visit_id, visitor_id, position as i64, is_rep])?;
        let mut f = Map::new();
        f.insert("visit_id".into(), json!(visit_id));
        f.insert("visitor_id".into(), json!(visitor_id));
        f.insert("position".into(), json!(position));
        f.insert("is_representative".into(), json!(is_rep));
        log_insert("visit_visitor", &format!("{visit_id}:{visitor_id}"), f)?;
    }

    let number = crate::numbers::visit_number(hall, &visit_date, Some(&queue_label), queue_no);
    if joins {
        return Ok(Registered {
            matter_number: crate::numbers::shown_matter_number(tx, &matter_id)?,
            number,
            visit_id,
            visitor_ids,
            repeat_of,
            queue_no,
            queue_label,
            matter_id,
            is_repeat: true,
            refusal: None,
            skip_level: skip,
        });
    }
    let confidential = visit.appeal_kind.is_confidential();
    let given = crate::numbers::next_matter_number(tx, own_device, hall, &visit_date)?;
    // A number no other matter has is shown as given, written with the row: the ranking of
    // matters sharing a number (migration 0032's trigger) has nothing to do.
    tx.prepare_cached(
            "INSERT INTO matters(id, hall_code, first_visit_id, appeal_kind, category_code, confidential, status,
               received_on, created_at, updated_at, number, shown_number)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'registered', ?7, ?8, ?8, ?9,
               CASE WHEN EXISTS (SELECT 1 FROM matters WHERE number = ?9 OR shown_number = ?9)
                    THEN NULL ELSE ?9 END)",
        )?
        .execute(params![matter_id, hall, visit_id, kind, visit.category_code, confidential, visit_date, now, given])?;
    let mut f = Map::new();
    f.insert("number".into(), json!(given));
    f.insert("hall_code".into(), json!(hall));
    f.insert("first_visit_id".into(), json!(visit_id));
    f.insert("appeal_kind".into(), json!(kind));
    f.insert("category_code".into(), json!(visit.category_code));
    f.insert("confidential".into(), json!(confidential));
    f.insert("status".into(), json!("registered"));
    f.insert("received_on".into(), json!(visit_date));
    log_insert("matter", &matter_id, f)?;
    Ok(Registered {
        matter_number: crate::numbers::shown_matter_number(tx, &matter_id)?,
        number,
        visit_id,
        visitor_ids,
        repeat_of,
        queue_no,
        queue_label,
        matter_id,
        is_repeat,
        refusal: None,
        skip_level: skip,
    })
}

impl Store {
    /// 越级访 of a visit to this hall: by the place of the problem, or by where the matter it
    /// joins is being handled (`handled`).
    pub(crate) fn skip_level_of(
        &self,
        visit: &ValidVisit,
        handled: Option<&Handling>,
        regions: &Regions,
    ) -> SkipLevel {
        skip_level(
            &self.hall_code,
            visit.place_code.as_deref(),
            handled,
            regions,
        )
    }

    /// Registers a validated visit in one transaction, with its change-log rows.
    /// A visitor whose document is already on file is linked, not duplicated.
    pub fn register_visit(&mut self, visit: &ValidVisit, clerk_id: &str) -> Result<Registered> {
        self.register_visit_labelled(visit, clerk_id, None)
    }

    /// [`Store::register_visit`] with the hall's queue number `hall_label` when the desk got
    /// one from its server (asked before, never inside, this transaction); without one the
    /// desk issues its own ([`local_queue_label`]).
    pub fn register_visit_labelled(
        &mut self,
        visit: &ValidVisit,
        clerk_id: &str,
        hall_label: Option<&str>,
    ) -> Result<Registered> {
        let now = now_text(&*self.clock);
        let skip = self.skip_level_of(visit, None, Regions::bundled());
        let tx = self.conn.savepoint()?;
        let registered = register_in(
            &tx,
            &self.device_id,
            &self.hall_code,
            visit,
            clerk_id,
            VisitIds::fresh(),
            skip,
            &now,
            hall_label,
        )?;
        tx.commit()?;
        tracing::info!(visit_id = %registered.visit_id, queue_no = registered.queue_no, "visit registered");
        Ok(registered)
    }

    /// Registers a visit as a repeat visit (重复访) of the earlier matter `matter_id` of the same
    /// facts and reasons: no new matter is opened; the visit counts as one of that matter's.
    /// Under 不再受理 (the matter is being handled, or was finally decided) the visit is still
    /// recorded and `refusal` says why, for the visitor (`xinfang_core::matter::
    /// repeat_visit_refusal`).
    pub fn register_repeat_visit(
        &mut self,
        visit: &ValidVisit,
        clerk_id: &str,
        matter_id: &str,
    ) -> Result<Registered> {
        self.register_repeat_visit_labelled(visit, clerk_id, matter_id, None)
    }

    /// [`Store::register_repeat_visit`] with the hall's queue number, as
    /// [`Store::register_visit_labelled`].
    pub fn register_repeat_visit_labelled(
        &mut self,
        visit: &ValidVisit,
        clerk_id: &str,
        matter_id: &str,
        hall_label: Option<&str>,
    ) -> Result<Registered> {
        let row = crate::matters::load_matter(&self.conn, matter_id)?;
        if row.hall_code != self.hall_code {
            return Err(crate::StoreError::NotFound("本大厅的该事项".to_owned()));
        }
        let state = row.state(&self.holiday_calendar())?;
        // 越级 also by where the matter is being handled (a county it was assigned to …).
        // The region table is compiled in (the city sends no regions): no store read per visit.
        let regions = Regions::bundled();
        let handled = xinfang_core::hall::handling_of(&state, &self.hall_code, regions);
        let skip = self.skip_level_of(visit, handled.as_ref(), regions);
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        let mut registered = register_in(
            &tx,
            &self.device_id,
            &self.hall_code,
            visit,
            clerk_id,
            VisitIds::joining(matter_id),
            skip,
            &now,
            hall_label,
        )?;
        tx.commit()?;
        registered.refusal = xinfang_core::matter::repeat_visit_refusal(&state);
        tracing::info!(visit_id = %registered.visit_id, refused = registered.refusal.is_some(),
            "repeat visit registered to its matter");
        Ok(registered)
    }

    /// Registers many visits in one transaction (bulk loads: seed, ledger import).
    pub fn register_visits(
        &mut self,
        visits: &[ValidVisit],
        clerk_id: &str,
    ) -> Result<Vec<Registered>> {
        // The region table is compiled in (the city sends no regions): no store read per visit.
        let regions = Regions::bundled();
        let skips: Vec<SkipLevel> = visits
            .iter()
            .map(|v| self.skip_level_of(v, None, regions))
            .collect();
        let tx = self.conn.savepoint()?;
        let out = visits
            .iter()
            .zip(skips)
            .map(|(v, skip)| {
                register_in(
                    &tx,
                    &self.device_id,
                    &self.hall_code,
                    v,
                    clerk_id,
                    VisitIds::fresh(),
                    skip,
                    &now_text(&*self.clock),
                    None,
                )
            })
            .collect::<Result<_>>()?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` with commits that do not wait for the disk (`synchronous = OFF`), then restores
    /// full durability. For generating demo and benchmark data only: thousands of one-step
    /// transactions (matter events, evaluations) would otherwise each wait for an fsync. A crash
    /// of the program loses nothing committed; a power cut may lose the last commits.
    pub fn without_fsync<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("PRAGMA synchronous = OFF")?;
        let out = f(self);
        self.conn.execute_batch("PRAGMA synchronous = FULL")?;
        out
    }

    /// Runs `f` as one transaction. Every write of the store is a savepoint, so inside `f` each
    /// keeps its own all-or-nothing and the batch commits once: thousands of one-step writes
    /// (a seed's matter events) share their pages instead of each writing them again. An error
    /// rolls the whole batch back. For bulk loads only: the desk app writes one step at a time.
    pub fn in_one_transaction<T>(&mut self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN")?;
        match f(self) {
            Ok(out) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(out)
            }
            Err(e) => {
                // The error is what the caller needs; a failed rollback leaves the connection
                // in a transaction that the next BEGIN reports.
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// All visits of one visitor, newest first.
    pub fn visits_of_visitor(&self, visitor_id: &str) -> Result<Vec<VisitSummary>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT x.id, x.visited_at, x.queue_no, x.appeal, x.appeal_kind, x.category_code, x.head_count, x.is_repeat,
                    coalesce(m.confidential, 0), x.skip_level,
                    coalesce(x.queue_label, CAST(x.queue_no AS TEXT)), x.hall_code, x.visit_date
             FROM visit_visitors vv JOIN visits x ON x.id = vv.visit_id
             LEFT JOIN matters m ON m.id = x.matter_id
             WHERE vv.person_id = ?1 ORDER BY x.visited_at DESC",
        )?;
        let rows = stmt.query_map([visitor_id], |r| {
            let appeal_kind: String = r.get(4)?;
            let visit_id: String = r.get(0)?;
            let label: String = r.get(10)?;
            Ok(VisitSummary {
                number: crate::numbers::visit_number(
                    &r.get::<_, String>(11)?,
                    &r.get::<_, String>(12)?,
                    Some(&label),
                    r.get(2)?,
                ),
                confidential: xinfang_core::staff::visit_is_confidential(&appeal_kind, r.get(8)?),
                appeal: crate::confidential::reveal(self.opener.as_ref(), &visit_id, r.get(3)?),
                visit_id,
                visited_at: r.get(1)?,
                queue_no: r.get(2)?,
                queue_label: label,
                appeal_kind,
                category_code: r.get(5)?,
                head_count: r.get(6)?,
                is_repeat: r.get(7)?,
                skip_level: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl From<serde_json::Error> for crate::StoreError {
    fn from(e: serde_json::Error) -> Self {
        crate::StoreError::Corrupt(e.to_string())
    }
}

/// One matter of a person, as registration lists them to attach a repeat visit (重复访).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PersonMatter {
    pub matter_id: String,
    /// 事项编号 (`沁水-2026-11-B0017`).
    pub number: String,
    pub status: xinfang_core::matter::MatterStatus,
    pub status_label: String,
    pub received_on: String,
    pub appeal_kind: String,
    pub category_code: String,
    pub confidential: bool,
    /// Visits of the matter (the first and its repeat visits).
    pub visits: i64,
    /// Its latest visit (RFC 3339).
    pub last_visit_at: String,
    /// Whether a repeat visit joined to it now would be told 不再受理.
    pub not_accepted_again: bool,
}

/// The matters of a person (?1: document number): through the person's visit links and the
/// visits of each matter, all by index (a store of 900,000 visits took 28 s by scans).
pub(crate) const MATTERS_OF_PERSON: &str =
    "SELECT m.id, m.status, m.received_on, m.appeal_kind, m.category_code, m.confidential,
                    count(DISTINCT x.id), max(x.visited_at),
                    json_extract(m.state, '$.re_review.opinion') IS NOT NULL, coalesce(m.shown_number, '')
             FROM visitors p
             JOIN visit_visitors vv ON vv.person_id = coalesce(p.merged_into, p.id)
             JOIN visits v ON v.id = vv.visit_id
             JOIN visits x ON x.matter_id = v.matter_id
             JOIN matters m ON m.id = x.matter_id
             WHERE p.id_number = ?1
             GROUP BY m.id
             ORDER BY max(x.visited_at) DESC";

impl Store {
    /// The matters of the person with document number `id_number` (any document type), newest
    /// first: every matter of a visit shown under the person (merged records and split visits
    /// as `people` derives them).
    pub fn matters_of_person(&self, id_number: &str) -> Result<Vec<PersonMatter>> {
        let mut stmt = self.conn.prepare_cached(MATTERS_OF_PERSON)?;
        let rows = stmt.query_map([id_number.trim().to_uppercase()], |r| {
            let status: String = r.get(1)?;
            Ok((
                r.get::<_, String>(0)?,
                status,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, bool>(8)?,
                r.get::<_, String>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (
                matter_id,
                status,
                received_on,
                appeal_kind,
                category_code,
                confidential,
                visits,
                last,
                re_reviewed,
                number,
            ) = row?;
            let status: xinfang_core::matter::MatterStatus =
                serde_json::from_value(serde_json::Value::String(status))?;
            out.push(PersonMatter {
                matter_id,
                number,
                status,
                status_label: status.label_after(re_reviewed).to_owned(),
                received_on,
                appeal_kind,
                category_code,
                confidential,
                visits,
                last_visit_at: last,
                not_accepted_again: xinfang_core::matter::repeat_stage(status)
                    != xinfang_core::matter::RepeatStage::Open,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use xinfang_core::visit::ValidVisit;

    use crate::Store;

    fn visit_of(body17: &str) -> ValidVisit {
        crate::test_support::visit_of(body17, "2026-11-05T09:30:00+08:00")
    }

    /// A registration's link to its visitor is written once, with its person: a link updated
    /// afterwards moves its entry in the person index (another leaf at scale) and its
    /// `visit_people` entry. Its person is still the visitor's, and the merged record's survivor.
    #[test]
    fn a_registration_writes_its_link_once_with_its_person() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        let clerk = crate::test_support::clerk(&mut store);
        store
            .conn
            .execute_batch(
                "CREATE TEMP TABLE link_updates(visit_id TEXT);
                 CREATE TEMP TRIGGER count_link_updates AFTER UPDATE ON main.visit_visitors
                 BEGIN INSERT INTO link_updates VALUES (NEW.visit_id); END;",
            )
            .unwrap();
        let first = store
            .register_visit(&visit_of("14052119800101001"), &clerk)
            .unwrap();
        let again = store
            .register_visit(&visit_of("14052119800101001"), &clerk)
            .unwrap();
        let other = store
            .register_visit(&visit_of("14052119800101002"), &clerk)
            .unwrap();
        // The second person's record merged into the first: its next visit is the first's.
        store
            .conn
            .execute(
                "UPDATE visitors SET merged_into = ?1 WHERE id = ?2",
                [&first.visitor_ids[0], &other.visitor_ids[0]],
            )
            .unwrap();
        let merged = store
            .register_visit(&visit_of("14052119800101002"), &clerk)
            .unwrap();

        let updates: i64 = store
            .conn
            .query_row("SELECT count(*) FROM link_updates", [], |r| r.get(0))
            .unwrap();
        assert_eq!(updates, 0, "no link was updated after its insert");
        let person = |visit: &str| -> (String, String) {
            store
                .conn
                .query_row(
                    "SELECT vv.person_id, vp.person FROM visit_visitors vv
                     JOIN visit_people vp ON vp.visit_id = vv.visit_id
                     WHERE vv.visit_id = ?1",
                    [visit],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        let p = &first.visitor_ids[0];
        assert_eq!(person(&first.visit_id), (p.clone(), p.clone()));
        assert_eq!(person(&again.visit_id), (p.clone(), p.clone()));
        let o = &other.visitor_ids[0];
        assert_eq!(person(&other.visit_id), (o.clone(), o.clone()));
        assert_eq!(
            person(&merged.visit_id),
            (p.clone(), p.clone()),
            "the survivor's"
        );
    }
}
