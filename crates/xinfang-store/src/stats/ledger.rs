//! The ledger (台账): the rows Excel export writes (visits, consultations, mediations), the
//! import of a ledger as visits, and the log of every export.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::MatterState;
use xinfang_core::stats;
use xinfang_core::visit::ValidVisit;

use super::counts::{kind_label, route_label};
use super::{StatsQuery, parse_date};
use crate::changelog::{self, Op};
use crate::matters::{category_name_in, visitor_names};
use crate::visits::{VisitIds, register_in};
use crate::{Registered, Result, Store, StoreError, now_text};

/// One person of a visit, as the ledger shows them (full numbers: the caller masks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerPerson {
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub sex: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub representative: bool,
}

/// One visit as the visit ledger (台账) lists it; the columns of `docs/ledger.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerVisit {
    pub visit_id: String,
    /// 来访编号 (`沁水-2026-11-05-B017`).
    pub number: String,
    pub hall_code: String,
    /// RFC 3339, +08:00.
    pub visited_at: String,
    pub queue_no: i64,
    pub clerk_name: String,
    pub people: Vec<LedgerPerson>,
    pub head_count: i64,
    pub appeal: String,
    pub appeal_kind: String,
    pub appeal_kind_label: String,
    pub category_code: String,
    pub category_name: String,
    pub agency: String,
    pub place_code: String,
    pub is_repeat: bool,
    pub confidential: bool,
    pub matter_id: Option<String>,
    /// 事项编号 of its matter (`沁水-2026-11-B0017`).
    pub matter_number: Option<String>,
    pub status_label: String,
    pub disposition_label: String,
}

/// One consultation row of the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerConsultation {
    pub id: String,
    pub visit_id: String,
    /// 来访编号 of its visit (`沁水-2026-11-05-B017`).
    pub visit_number: String,
    pub date: String,
    pub lawyer_name: String,
    pub visitor_names: Vec<String>,
    pub question: String,
    pub advice: String,
    pub legal_route_name: String,
    pub laws_cited: String,
    pub duration_minutes: i64,
    pub follow_up: bool,
}

/// One mediation row of the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerMediation {
    pub id: String,
    pub visit_id: String,
    /// 来访编号 of its visit (`沁水-2026-11-05-B017`).
    pub visit_number: String,
    pub date: String,
    pub mediator_name: String,
    pub dispute_type_name: String,
    pub applicants: Vec<String>,
    pub respondents: Vec<String>,
    pub sessions: i64,
    pub outcome_label: String,
    pub judicial_confirmation: bool,
}

/// A good row of an imported ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerImportRow {
    /// See `docs/ledger.md`: a hash of the row's cells, the same whenever the file is read.
    pub fingerprint: String,
    /// 1-based row number in the file (the header is row 1).
    pub row_no: u32,
    pub visit: ValidVisit,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportOutcome {
    /// Rows registered now.
    pub imported: u32,
    /// Rows already imported from this or an earlier run, left alone.
    pub already_imported: Vec<u32>,
    pub visit_ids: Vec<String>,
}

impl Store {
    /// The visit ledger of the period, in visiting order, with full document numbers (the
    /// caller masks them unless the role may see them in full).
    pub fn visit_ledger(&self, q: &StatsQuery, cal: &HolidayCalendar) -> Result<Vec<LedgerVisit>> {
        let mut out = Vec::new();
        self.each_ledger_visit(q, cal, |v| {
            out.push(v);
            Ok::<_, StoreError>(())
        })?;
        Ok(out)
    }

    /// [`Store::visit_ledger`] one visit at a time, to `f` as it is read: an export of a month
    /// at a city's scale (85,000 visits) is written as it is read, not held whole.
    pub fn each_ledger_visit<E: From<StoreError>>(
        &self,
        q: &StatsQuery,
        cal: &HolidayCalendar,
        f: impl FnMut(LedgerVisit) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        super::until_error(|g| self.read_ledger_visits(q, cal, g), f)
    }

    /// The ledger's visits to `f`, in order, until it returns false.
    fn read_ledger_visits(
        &self,
        q: &StatsQuery,
        cal: &HolidayCalendar,
        f: &mut dyn FnMut(LedgerVisit) -> bool,
    ) -> Result<()> {
        let reference = self.reference_data();
        let mut stmt = self.conn.prepare_cached(
            "SELECT x.id, x.hall_code, x.visited_at, x.queue_no, coalesce(s.display_name, ''), x.head_count,
               x.appeal, x.appeal_kind, x.category_code, coalesce(x.agency, ''), coalesce(x.place_code, ''),
               x.is_repeat, x.matter_id, m.id IS NOT NULL, coalesce(m.confidential, 0), m.received_on, m.state,
               x.visit_date, x.queue_label, m.shown_number
             FROM visits x LEFT JOIN staff s ON s.id = x.clerk_id LEFT JOIN matters m ON m.id = x.matter_id
             WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
             ORDER BY x.visited_at, x.queue_no",
        )?;
        let mut people_stmt = self.conn.prepare_cached(
            "SELECT v.name, v.id_type, v.id_number, v.sex, v.phone, v.address, vv.is_representative
             FROM visit_visitors vv JOIN visitors v ON v.id = vv.visitor_id
             WHERE vv.visit_id = ?1 ORDER BY vv.position",
        )?;
        let mut rows = stmt.query(params![q.from(), q.to(), q.hall])?;
        while let Some(r) = rows.next()? {
            let visit_id: String = r.get(0)?;
            let kind: String = r.get(7)?;
            let category_code: String = r.get(8)?;
            let has_matter: bool = r.get(13)?;
            let (status_label, disposition_label) = if has_matter {
                let received = parse_date(&r.get::<_, String>(15)?)?;
                let state = match r.get::<_, Option<String>>(16)? {
                    Some(j) => serde_json::from_str(&j)?,
                    None => MatterState::registered(received, cal),
                };
                (
                    state.status_label().to_owned(),
                    stats::disposition(&state)
                        .map_or("未处理", |d| d.0.label_zh())
                        .to_owned(),
                )
            } else {
                (String::new(), String::new())
            };
            let people = people_stmt
                .query_map([&visit_id], |p| {
                    let id_type: String = p.get(1)?;
                    Ok(LedgerPerson {
                        name: p.get(0)?,
                        id_type: xinfang_core::id::parse_id_type(&id_type)
                            .map_or(id_type, |t| t.label_zh().to_owned()),
                        id_number: p.get(2)?,
                        sex: p.get::<_, Option<String>>(3)?.map(|s| {
                            xinfang_core::id::Sex::parse(&s).map_or(s, |s| s.label_zh().to_owned())
                        }),
                        phone: p.get(4)?,
                        address: p.get(5)?,
                        representative: p.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let hall_code: String = r.get(1)?;
            let visit = LedgerVisit {
                number: crate::numbers::visit_number(
                    &hall_code,
                    &r.get::<_, String>(17)?,
                    r.get::<_, Option<String>>(18)?.as_deref(),
                    r.get(3)?,
                ),
                matter_number: r.get(19)?,
                hall_code,
                visited_at: r.get(2)?,
                queue_no: r.get(3)?,
                clerk_name: r.get(4)?,
                people,
                head_count: r.get(5)?,
                appeal: crate::confidential::reveal(self.opener.as_ref(), &visit_id, r.get(6)?),
                appeal_kind_label: kind_label(&kind),
                appeal_kind: kind,
                category_name: category_name_in(&category_code, &reference),
                category_code,
                agency: r.get(9)?,
                place_code: r.get(10)?,
                is_repeat: r.get(11)?,
                matter_id: r.get(12)?,
                confidential: r.get(14)?,
                visit_id,
                status_label,
                disposition_label,
            };
            if !f(visit) {
                break;
            }
        }
        Ok(())
    }

    /// Consultations of the period, for the export.
    pub fn consultation_ledger(&self, q: &StatsQuery) -> Result<Vec<LedgerConsultation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT k.id, k.visit_id, substr(k.created_at, 1, 10), coalesce(s.display_name, ''), k.question,
               k.advice, k.legal_route, k.laws_cited, k.duration_minutes, k.follow_up, coalesce(m.confidential, 0),
               x.hall_code, x.visit_date, x.queue_label, x.queue_no
             FROM consultations k JOIN visits x ON x.id = k.visit_id
               LEFT JOIN staff s ON s.id = k.lawyer_id LEFT JOIN matters m ON m.id = x.matter_id
             WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
             ORDER BY k.created_at",
        )?;
        let rows: Vec<(LedgerConsultation, bool)> = stmt
            .query_map(params![q.from(), q.to(), q.hall], |r| {
                let route: String = r.get(6)?;
                Ok((
                    LedgerConsultation {
                        id: r.get(0)?,
                        visit_id: r.get(1)?,
                        visit_number: crate::numbers::visit_number(
                            &r.get::<_, String>(11)?,
                            &r.get::<_, String>(12)?,
                            r.get::<_, Option<String>>(13)?.as_deref(),
                            r.get(14)?,
                        ),
                        date: r.get(2)?,
                        lawyer_name: r.get(3)?,
                        visitor_names: Vec::new(),
                        question: r.get(4)?,
                        advice: r.get(5)?,
                        legal_route_name: route_label(&route),
                        laws_cited: r.get(7)?,
                        duration_minutes: r.get(8)?,
                        follow_up: r.get(9)?,
                    },
                    r.get(10)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(mut c, confidential)| {
                if !confidential {
                    c.visitor_names = visitor_names(&self.conn, &c.visit_id)?;
                }
                Ok(c)
            })
            .collect()
    }

    /// Mediations of the period, for the export.
    pub fn mediation_ledger(&self, q: &StatsQuery) -> Result<Vec<LedgerMediation>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.visit_id, substr(m.created_at, 1, 10), coalesce(s.display_name, ''), m.dispute_type,
               (SELECT count(*) FROM mediation_sessions ms WHERE ms.mediation_id = m.id),
               m.outcome, m.judicial_confirmation, x.hall_code, x.visit_date, x.queue_label, x.queue_no
             FROM mediations m JOIN visits x ON x.id = m.visit_id LEFT JOIN staff s ON s.id = m.mediator_id
             WHERE x.visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR x.hall_code = ?3)
             ORDER BY m.created_at",
        )?;
        let rows: Vec<LedgerMediation> = stmt
            .query_map(params![q.from(), q.to(), q.hall], |r| {
                let dispute: String = r.get(4)?;
                let outcome: String = r.get(6)?;
                Ok(LedgerMediation {
                    id: r.get(0)?,
                    visit_id: r.get(1)?,
                    visit_number: crate::numbers::visit_number(
                        &r.get::<_, String>(8)?,
                        &r.get::<_, String>(9)?,
                        r.get::<_, Option<String>>(10)?.as_deref(),
                        r.get(11)?,
                    ),
                    date: r.get(2)?,
                    mediator_name: r.get(3)?,
                    dispute_type_name: xinfang_core::desk::dispute_type(&dispute)
                        .map_or_else(|| dispute.clone(), |d| d.1.into()),
                    applicants: Vec::new(),
                    respondents: Vec::new(),
                    sessions: r.get(5)?,
                    outcome_label: xinfang_core::desk::MediationOutcome::parse(&outcome)
                        .map_or(outcome, |o| o.label_zh().to_owned()),
                    judicial_confirmation: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut parties = self.conn.prepare_cached(
            "SELECT role, name FROM mediation_parties WHERE mediation_id = ?1 ORDER BY position",
        )?;
        rows.into_iter()
            .map(|mut m| {
                for p in parties.query_map([&m.id], |r| <(String, String)>::try_from(r))? {
                    let (role, name) = p?;
                    if role == "applicant" {
                        m.applicants.push(name);
                    } else {
                        m.respondents.push(name);
                    }
                }
                Ok(m)
            })
            .collect()
    }

    /// Which of these ledger-row fingerprints were imported before.
    pub fn imported_ledger_rows(&self, fingerprints: &[String]) -> Result<HashSet<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM ledger_rows WHERE fingerprint = ?1")?;
        let mut out = HashSet::new();
        for f in fingerprints {
            if stmt.query_row([f], |_| Ok(())).optional()?.is_some() {
                out.insert(f.clone());
            }
        }
        Ok(out)
    }

    /// Imports the good rows of a ledger in one transaction: each row not imported before is
    /// registered as a visit (with its matter and change-log rows) and its fingerprint kept, so
    /// a second run on the same file imports nothing twice.
    pub fn import_ledger(
        &mut self,
        rows: &[LedgerImportRow],
        source: &str,
        clerk_id: &str,
    ) -> Result<ImportOutcome> {
        let regions = xinfang_core::regions::Regions::bundled();
        let skips: Vec<_> = rows
            .iter()
            .map(|row| self.skip_level_of(&row.visit, None, regions))
            .collect();
        let tx = self.conn.savepoint()?;
        let mut out = ImportOutcome::default();
        let mut seen = HashSet::new();
        for (row, skip) in rows.iter().zip(skips) {
            let known: Option<i64> = tx
                .prepare_cached("SELECT 1 FROM ledger_rows WHERE fingerprint = ?1")?
                .query_row([&row.fingerprint], |r| r.get(0))
                .optional()?;
            if known.is_some() || !seen.insert(row.fingerprint.clone()) {
                out.already_imported.push(row.row_no);
                continue;
            }
            // Ids from the row: the same ledger imported at two desks of the hall is one set
            // of visits after sync, not two.
            let now = now_text(&*self.clock);
            let Registered { visit_id, .. } = register_in(
                &tx,
                &self.device_id,
                &self.hall_code,
                &row.visit,
                clerk_id,
                VisitIds::of_ledger_row(&self.hall_code, &row.fingerprint),
                skip,
                &now,
                None,
            )?;
            tx.prepare_cached(
                "INSERT INTO ledger_rows(fingerprint, visit_id, source, row_no, by_staff, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![row.fingerprint, visit_id, source, row.row_no, clerk_id, now])?;
            let mut f = Map::new();
            f.insert("visit_id".into(), json!(visit_id));
            f.insert("source".into(), json!(source));
            f.insert("row_no".into(), json!(row.row_no));
            f.insert("by_staff".into(), json!(clerk_id));
            f.insert("imported_at".into(), json!(now));
            changelog::append(&tx, "ledger_row", &row.fingerprint, Op::Insert, f, &now)?;
            out.imported += 1;
            out.visit_ids.push(visit_id);
        }
        tx.commit()?;
        tracing::info!(
            imported = out.imported,
            skipped = out.already_imported.len(),
            "ledger imported"
        );
        Ok(out)
    }

    /// Records an export (who, what, how many rows, whether numbers were in full).
    pub fn log_export(
        &mut self,
        kind: &str,
        full_ids: bool,
        row_count: usize,
        file_name: &str,
        by: &str,
    ) -> Result<String> {
        let tx = self.conn.savepoint()?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        tx.prepare_cached(
            "INSERT INTO export_log(id, kind, full_ids, row_count, file_name, by_staff, exported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![id, kind, full_ids, row_count as i64, file_name, by, now])?;
        let mut f = Map::new();
        f.insert("kind".into(), json!(kind));
        f.insert("full_ids".into(), json!(full_ids));
        f.insert("row_count".into(), json!(row_count));
        f.insert("file_name".into(), json!(file_name));
        f.insert("by_staff".into(), json!(by));
        f.insert("exported_at".into(), json!(now));
        changelog::append(&tx, "export_log", &id, Op::Insert, f, &now)?;
        // Every export is audited, in the same transaction; one with full numbers as such.
        let action = if full_ids {
            crate::AuditAction::ExportFull
        } else {
            crate::AuditAction::Export
        };
        crate::audit::append_in(
            &tx,
            &self.device_id,
            by,
            action,
            "export_log",
            &id,
            &format!("{kind}，{row_count} 行，{file_name}"),
            &now,
        )?;
        tx.commit()?;
        if full_ids {
            tracing::info!(export_id = %id, kind, rows = row_count, "export with full ID numbers");
        }
        Ok(id)
    }
}
