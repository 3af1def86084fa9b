//! Backlog cases (信访积案): flagging a matter, its leader (包联领导), plan, progress notes,
//! target and cleared dates, and the dashboard. The rules and the counting are in
//! `xinfang_core::backlog`; this is where the cases are kept.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::backlog::{self, BacklogSummary, CaseFacts, ClearInput, FlagInput, NoteInput};
use xinfang_core::matter::MatterStatus;

use crate::changelog::{self, Op};
use crate::matters::{appeal_of, load_matter, staff_display, visitor_names};
use crate::{Result, Store, StoreError, now_text};

/// One progress note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogNote {
    pub id: String,
    pub noted_on: NaiveDate,
    pub note: String,
    pub by_staff: String,
    pub by_name: String,
    pub created_at: String,
}

/// A backlog case with its matter's essentials and its notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogCase {
    pub id: String,
    pub matter_id: String,
    /// 事项编号 of the matter (`沁水-2026-11-B0017`).
    pub matter_number: String,
    pub hall_code: String,
    pub leader: String,
    pub plan: String,
    pub target_date: Option<NaiveDate>,
    pub flagged_on: NaiveDate,
    pub flagged_by_name: String,
    pub cleared_on: Option<NaiveDate>,
    pub clear_summary: Option<String>,
    pub open: bool,
    /// Open past its target date (as of the `today` asked for).
    pub overdue: bool,
    pub matter_status: MatterStatus,
    pub matter_status_label: String,
    pub confidential: bool,
    /// Empty for confidential matters.
    pub visitor_names: Vec<String>,
    /// Empty for confidential matters.
    pub appeal: String,
    /// Oldest first.
    pub notes: Vec<BacklogNote>,
}

/// Which cases a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BacklogFilter {
    /// Every case.
    #[default]
    All,
    /// Not yet cleared.
    Open,
    /// Open past the target date.
    Overdue,
    Cleared,
}

/// The backlog dashboard: counts overall, by hall and by leader, and the overdue cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogDashboard {
    pub today: NaiveDate,
    #[serde(flatten)]
    pub summary: BacklogSummary,
    /// The [`DASHBOARD_OVERDUE_SHOWN`] open cases longest past their target date, longest
    /// first; `summary` counts them all, and the backlog list (`backlog_cases`) pages through them.
    pub overdue_cases: Vec<BacklogCase>,
}

/// One page of a backlog list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BacklogCasePage {
    /// Oldest flagged first.
    pub cases: Vec<BacklogCase>,
    /// How many cases the list holds, on every page.
    pub total: usize,
    /// Where this page starts in the list.
    pub offset: usize,
    /// How many cases a page holds at most.
    pub page_size: usize,
}

/// How many cases a page of the backlog list shows: a city's backlog can hold thousands.
pub const BACKLOG_PAGE_SIZE: usize = 50;

/// How many overdue cases the dashboard shows in full: a city's backlog can hold thousands,
/// each view several reads (issue 21: 1.4 s at a million visits).
pub const DASHBOARD_OVERDUE_SHOWN: usize = 50;

const CASE_COLUMNS: &str = "c.id, c.matter_id, c.hall_code, c.leader, c.plan, c.target_date,
    c.flagged_on, coalesce(s.display_name, ''), c.cleared_on, c.clear_summary";

struct CaseRow {
    id: String,
    matter_id: String,
    hall_code: String,
    leader: String,
    plan: String,
    target_date: Option<String>,
    flagged_on: String,
    flagged_by_name: String,
    cleared_on: Option<String>,
    clear_summary: Option<String>,
}

fn case_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        matter_id: r.get(1)?,
        hall_code: r.get(2)?,
        leader: r.get(3)?,
        plan: r.get(4)?,
        target_date: r.get(5)?,
        flagged_on: r.get(6)?,
        flagged_by_name: r.get(7)?,
        cleared_on: r.get(8)?,
        clear_summary: r.get(9)?,
    })
}

fn date(s: &str) -> Result<NaiveDate> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("日期格式不正确：{s}")))
}

fn opt_date(s: Option<&str>) -> Result<Option<NaiveDate>> {
    s.map(date).transpose()
}

impl CaseRow {
    fn facts(&self) -> Result<CaseFacts> {
        case_facts(
            self.hall_code.clone(),
            self.leader.clone(),
            &self.flagged_on,
            self.target_date.as_deref(),
            self.cleared_on.as_deref(),
        )
    }
}

/// A case's facts from its stored columns.
fn case_facts(
    hall_code: String,
    leader: String,
    flagged_on: &str,
    target_date: Option<&str>,
    cleared_on: Option<&str>,
) -> Result<CaseFacts> {
    Ok(CaseFacts {
        hall_code,
        leader,
        flagged_on: date(flagged_on)?,
        target_date: opt_date(target_date)?,
        cleared_on: opt_date(cleared_on)?,
    })
}

/// Every case's id and facts, oldest flagged first: what the lists filter and the dashboard
/// counts. Only these columns — no plan, summary or staff name — since a city's backlog holds
/// tens of thousands of cases and the lists show a page of them.
fn all_case_facts(conn: &Connection) -> Result<Vec<(String, CaseFacts)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, hall_code, leader, flagged_on, target_date, cleared_on FROM backlog_cases
         WHERE merged_into IS NULL ORDER BY flagged_on, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, hall_code, leader, flagged_on, target_date, cleared_on) = row?;
        let facts = case_facts(
            hall_code,
            leader,
            &flagged_on,
            target_date.as_deref(),
            cleared_on.as_deref(),
        )?;
        out.push((id, facts));
    }
    Ok(out)
}

fn find_case(conn: &Connection, case_id: &str) -> Result<CaseRow> {
    conn.prepare_cached(&format!(
        "SELECT {CASE_COLUMNS} FROM backlog_cases c LEFT JOIN staff s ON s.id = c.flagged_by
         WHERE c.id = ?1"
    ))?
    .query_row([case_id], case_row)
    .optional()?
    .ok_or_else(|| StoreError::NotFound("所查的积案".into()))
}

/// A case's notes with those of the cases merged into it, oldest first.
pub(crate) const NOTES_OF_CASE: &str =
    "SELECT n.id, n.noted_on, n.note, n.by_staff, coalesce(s.display_name, ''), n.created_at
     FROM backlog_notes n LEFT JOIN staff s ON s.id = n.by_staff
     WHERE n.case_id = ?1
        OR n.case_id IN (SELECT id FROM backlog_cases WHERE merged_into = ?1)
     ORDER BY n.noted_on, n.created_at, n.id";

fn notes(conn: &Connection, case_id: &str) -> Result<Vec<BacklogNote>> {
    let mut stmt = conn.prepare_cached(NOTES_OF_CASE)?;
    let rows: Vec<(String, String, String, String, String, String)> = stmt
        .query_map([case_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(id, noted_on, note, by_staff, by_name, created_at)| {
            Ok(BacklogNote {
                id,
                noted_on: date(&noted_on)?,
                note,
                by_staff,
                by_name,
                created_at,
            })
        })
        .collect()
}

fn view(conn: &Connection, row: CaseRow, today: NaiveDate) -> Result<BacklogCase> {
    let facts = row.facts()?;
    let matter = load_matter(conn, &row.matter_id)?;
    let (names, appeal) = if matter.confidential {
        (Vec::new(), String::new())
    } else {
        (
            visitor_names(conn, &matter.first_visit_id)?,
            appeal_of(conn, None, &matter.first_visit_id)?,
        )
    };
    Ok(BacklogCase {
        notes: notes(conn, &row.id)?,
        id: row.id,
        matter_id: row.matter_id,
        matter_number: matter.number.clone(),
        hall_code: row.hall_code,
        leader: row.leader,
        plan: row.plan,
        target_date: facts.target_date,
        flagged_on: facts.flagged_on,
        flagged_by_name: row.flagged_by_name,
        cleared_on: facts.cleared_on,
        clear_summary: row.clear_summary,
        open: facts.is_open(),
        overdue: facts.is_overdue(today),
        matter_status: matter.status,
        matter_status_label: matter.status.label_zh().to_owned(),
        confidential: matter.confidential,
        visitor_names: names,
        appeal,
    })
}

impl Store {
    /// Flags a matter as a backlog case; returns the case id. A matter has at most one open case.
    pub fn flag_backlog(&mut self, matter_id: &str, input: &FlagInput, by: &str) -> Result<String> {
        let tx = self.conn.savepoint()?;
        let matter = load_matter(&tx, matter_id)?;
        let open = tx
            .prepare_cached(&format!(
                "SELECT {CASE_COLUMNS} FROM backlog_cases c LEFT JOIN staff s ON s.id = c.flagged_by
                 WHERE c.matter_id = ?1 AND c.cleared_on IS NULL AND c.merged_into IS NULL"
            ))?
            .query_row([matter_id], case_row)
            .optional()?;
        let open_facts = open.as_ref().map(CaseRow::facts).transpose()?;
        let flag = backlog::validate_flag(input, open_facts.as_ref())?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        let target = flag.target_date.map(|d| d.to_string());
        let flagged_on = flag.flagged_on.to_string();
        tx.prepare_cached(
            "INSERT INTO backlog_cases(id, matter_id, hall_code, leader, plan, target_date, flagged_on,
               flagged_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        )?
        .execute(params![
            id,
            matter_id,
            matter.hall_code,
            flag.leader,
            flag.plan,
            target,
            flagged_on,
            by,
            now
        ])?;
        let mut f = Map::new();
        f.insert("matter_id".into(), json!(matter_id));
        f.insert("hall_code".into(), json!(matter.hall_code));
        f.insert("leader".into(), json!(flag.leader));
        f.insert("plan".into(), json!(flag.plan));
        f.insert("target_date".into(), json!(target));
        f.insert("flagged_on".into(), json!(flagged_on));
        f.insert("flagged_by".into(), json!(by));
        changelog::append(&tx, "backlog_case", &id, Op::Insert, f, &now)?;
        tx.commit()?;
        tracing::info!(case_id = %id, matter_id = %matter_id, "backlog case flagged");
        Ok(id)
    }

    /// Hands an open case to another leader.
    pub fn set_backlog_leader(&mut self, case_id: &str, leader: &str, by: &str) -> Result<()> {
        let tx = self.conn.savepoint()?;
        let row = find_case(&tx, case_id)?;
        let leader = backlog::validate_leader(leader, &row.facts()?)?;
        if leader != row.leader {
            let now = now_text(&*self.clock);
            tx.prepare_cached(
                "UPDATE backlog_cases SET leader = ?2, updated_at = ?3 WHERE id = ?1",
            )?
            .execute(params![case_id, leader, now])?;
            let mut f = Map::new();
            f.insert("leader".into(), json!(leader));
            f.insert("changed_by".into(), json!(by));
            changelog::append(&tx, "backlog_case", case_id, Op::Update, f, &now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds a progress note to an open case.
    pub fn note_backlog(
        &mut self,
        case_id: &str,
        input: &NoteInput,
        by: &str,
    ) -> Result<BacklogNote> {
        let tx = self.conn.savepoint()?;
        let row = find_case(&tx, case_id)?;
        let note = backlog::validate_note(input, &row.facts()?)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        tx.prepare_cached(
            "INSERT INTO backlog_notes(id, case_id, noted_on, note, by_staff, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            id,
            case_id,
            note.noted_on.to_string(),
            note.note,
            by,
            now
        ])?;
        let mut f = Map::new();
        f.insert("case_id".into(), json!(case_id));
        f.insert("noted_on".into(), json!(note.noted_on.to_string()));
        f.insert("note".into(), json!(note.note));
        f.insert("by_staff".into(), json!(by));
        changelog::append(&tx, "backlog_note", &id, Op::Insert, f, &now)?;
        let by_name = staff_display(&tx, by)?;
        tx.commit()?;
        Ok(BacklogNote {
            id,
            noted_on: note.noted_on,
            note: note.note,
            by_staff: by.to_owned(),
            by_name,
            created_at: now,
        })
    }

    /// Records that a case was cleared (化解销号). A cleared case is not changed again.
    pub fn clear_backlog(&mut self, case_id: &str, input: &ClearInput, by: &str) -> Result<()> {
        let tx = self.conn.savepoint()?;
        let row = find_case(&tx, case_id)?;
        let clear = backlog::validate_clear(input, &row.facts()?)?;
        let now = now_text(&*self.clock);
        let cleared_on = clear.cleared_on.to_string();
        tx.prepare_cached(
            "UPDATE backlog_cases SET cleared_on = ?2, cleared_by = ?3, clear_summary = ?4,
               updated_at = ?5 WHERE id = ?1",
        )?
        .execute(params![case_id, cleared_on, by, clear.summary, now])?;
        let mut f = Map::new();
        f.insert("cleared_on".into(), json!(cleared_on));
        f.insert("cleared_by".into(), json!(by));
        f.insert("clear_summary".into(), json!(clear.summary));
        changelog::append(&tx, "backlog_case", case_id, Op::Update, f, &now)?;
        tx.commit()?;
        tracing::info!(case_id = %case_id, "backlog case cleared");
        Ok(())
    }

    /// One case with its notes, as of `today`.
    pub fn backlog_case(&self, case_id: &str, today: NaiveDate) -> Result<BacklogCase> {
        let row = find_case(&self.conn, case_id)?;
        view(&self.conn, row, today)
    }

    /// The case of a matter a clerk names by its 事项编号: the open one, else the latest.
    pub fn backlog_case_of(&self, matter_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id FROM backlog_cases WHERE matter_id = ?1
                 ORDER BY (cleared_on IS NULL AND merged_into IS NULL) DESC, created_at DESC
                 LIMIT 1",
            )?
            .query_row([matter_id], |r| r.get(0))
            .optional()?)
    }

    /// The open case of a matter, if any.
    pub fn open_backlog_case_of(&self, matter_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id FROM backlog_cases
                 WHERE matter_id = ?1 AND cleared_on IS NULL AND merged_into IS NULL",
            )?
            .query_row([matter_id], |r| r.get(0))
            .optional()?)
    }

    /// Cases of every hall in this store, oldest flagged first.
    pub fn backlog_cases(
        &self,
        filter: BacklogFilter,
        today: NaiveDate,
    ) -> Result<Vec<BacklogCase>> {
        Ok(self.backlog_cases_page(filter, today, 0, usize::MAX)?.cases)
    }

    /// `limit` cases from `offset` of a backlog list, oldest flagged first, with how many the
    /// list holds. Every case's facts are read to filter and count them (a narrow table); the
    /// full view — matter, names, appeal, notes, several reads each — only of the page.
    pub fn backlog_cases_page(
        &self,
        filter: BacklogFilter,
        today: NaiveDate,
        offset: usize,
        limit: usize,
    ) -> Result<BacklogCasePage> {
        // One read transaction: the page and its total from the same snapshot.
        self.reading(|conn| {
            let kept: Vec<String> = all_case_facts(conn)?
                .into_iter()
                .filter(|(_, facts)| match filter {
                    BacklogFilter::All => true,
                    BacklogFilter::Open => facts.is_open(),
                    BacklogFilter::Overdue => facts.is_overdue(today),
                    BacklogFilter::Cleared => !facts.is_open(),
                })
                .map(|(id, _)| id)
                .collect();
            let cases = kept
                .iter()
                .skip(offset)
                .take(limit)
                .map(|id| view(conn, find_case(conn, id)?, today))
                .collect::<Result<_>>()?;
            Ok(BacklogCasePage {
                cases,
                total: kept.len(),
                offset,
                page_size: limit,
            })
        })
    }

    /// Dashboard numbers as of `today`, over every hall in this store.
    pub fn backlog_dashboard(&self, today: NaiveDate) -> Result<BacklogDashboard> {
        // Every case's facts for the counts; the full view — matter, names, appeal, notes,
        // several reads each — only of the overdue cases shown. One snapshot for both.
        self.reading(|conn| {
            let (ids, facts): (Vec<String>, Vec<CaseFacts>) =
                all_case_facts(conn)?.into_iter().unzip();
            let summary = backlog::summarize(&facts, today);
            let mut overdue: Vec<(&String, &CaseFacts)> = ids
                .iter()
                .zip(&facts)
                .filter(|(_, f)| f.is_overdue(today))
                .collect();
            overdue.sort_by(|(a, fa), (b, fb)| (fa.target_date, a).cmp(&(fb.target_date, b)));
            overdue.truncate(DASHBOARD_OVERDUE_SHOWN);
            let overdue_cases = overdue
                .into_iter()
                .map(|(id, _)| view(conn, find_case(conn, id)?, today))
                .collect::<Result<_>>()?;
            Ok(BacklogDashboard {
                today,
                summary,
                overdue_cases,
            })
        })
    }
}
