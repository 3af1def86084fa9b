//! Matter and visit numbers in the store (`xinfang_core::numbering`, issue 20): given to a
//! matter when this desk opens it, synced as its `number` field; legacy matters numbered here.
//! What screens show is `shown_number`, derived by the triggers of migration 0032 (a number two
//! desks gave alike shows as `number-2` on the matter with the greater id, on every replica).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use xinfang_core::numbering;
use xinfang_core::regions::Regions;

use crate::{Result, Store};

/// This desk's letter: the one its server gave it, else the one from its device id.
pub(crate) fn desk_letter(tx: &Connection, own_device: &str) -> Result<char> {
    let given = crate::sync::state_get(tx, crate::sync::QUEUE_LETTER)?
        .filter(|l| xinfang_core::queue::is_desk_letter(l))
        .and_then(|l| l.chars().next());
    Ok(given.unwrap_or_else(|| xinfang_core::queue::desk_letter(own_device)))
}

fn short_name(hall: &str) -> String {
    numbering::hall_short_name(hall, Regions::bundled())
}

/// The greatest count among this replica's numbers that start with `start` and continue with
/// digits only (`沁水-2026-11-B` → the B numbers of the month), 0 when none. `start` never
/// ends with a digit (it ends with the desk's letter or `-`), so these are the numbers whose
/// start without trailing digits is `start`: one step down the index of migration 0034.
pub(crate) fn last_count(tx: &Connection, start: &str) -> Result<i64> {
    let greatest: Option<String> = tx
        .prepare_cached(LAST_COUNT)?
        .query_row([start], |r| r.get(0))
        .optional()?;
    let Some(number) = greatest else {
        return Ok(0);
    };
    match numbering::matter_count(&number, start, None) {
        Some(c) => Ok(c),
        // Only `start` itself (no digits: no count) … or a count too long for a number,
        // which the scan below skips as it always did.
        None if number == start => Ok(0),
        None => scan_last_count(tx, start),
    }
}

/// The number with the greatest count after `start` (the index's order, see migration 0034).
pub(crate) const LAST_COUNT: &str = "SELECT number FROM matters
     WHERE rtrim(number, '0123456789') = ?1
     ORDER BY length(ltrim(substr(number, length(rtrim(number, '0123456789')) + 1), '0')) DESC,
              ltrim(substr(number, length(rtrim(number, '0123456789')) + 1), '0') DESC
     LIMIT 1";

/// [`last_count`] by reading every number with `start`.
fn scan_last_count(tx: &Connection, start: &str) -> Result<i64> {
    // Digits sort between '0' and ':'; the index on the given numbers answers the range.
    let mut stmt = tx.prepare_cached(
        "SELECT number FROM matters WHERE number >= ?1 || '0' AND number < ?1 || ':'",
    )?;
    let mut last = 0;
    let mut rows = stmt.query([start])?;
    while let Some(r) = rows.next()? {
        let n: String = r.get(0)?;
        if let Some(c) = numbering::matter_count(&n, start, None) {
            last = last.max(c);
        }
    }
    Ok(last)
}

/// The number of a matter this desk opens now, received on `received_on` (`YYYY-MM-DD`).
pub(crate) fn next_matter_number(
    tx: &Connection,
    own_device: &str,
    hall: &str,
    received_on: &str,
) -> Result<Option<String>> {
    let Ok(day) = received_on.parse::<NaiveDate>() else {
        return Ok(None);
    };
    let letter = desk_letter(tx, own_device)?;
    let short = short_name(hall);
    let start = format!("{}{letter}", numbering::month_prefix(&short, day));
    let n = last_count(tx, &start)? + 1;
    Ok(Some(numbering::matter_number(&short, day, letter, n)))
}

/// Numbers the matters that have none (opened before numbers existed, or pulled from a desk
/// that predates them), by hall and month in order of (received_on, id), after the legacy
/// numbers already given. Local: not logged, each replica numbers its own.
pub(crate) fn fill_legacy(conn: &Connection) -> Result<usize> {
    let missing: Vec<(String, String, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id, hall_code, received_on FROM matters WHERE number IS NULL
             ORDER BY hall_code, received_on, id",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    if missing.is_empty() {
        return Ok(0);
    }
    let mut next: HashMap<String, i64> = HashMap::new();
    // Shown as given: a legacy number is unique on this replica by making (no trigger work).
    let mut set =
        conn.prepare_cached("UPDATE matters SET number = ?2, shown_number = ?2 WHERE id = ?1")?;
    let mut numbered = 0;
    for (id, hall, received_on) in &missing {
        let Ok(day) = received_on.parse::<NaiveDate>() else {
            continue;
        };
        let short = short_name(hall);
        let prefix = numbering::month_prefix(&short, day);
        let n = match next.entry(prefix) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let last = last_count(conn, v.key())?;
                v.insert(last)
            }
        };
        *n += 1;
        set.execute(params![
            id,
            numbering::legacy_matter_number(&short, day, *n)
        ])?;
        numbered += 1;
    }
    tracing::info!(numbered, "matters without a number numbered here");
    Ok(numbered)
}

/// The number a matter shows (empty for a matter not here, or one without a number yet).
pub(crate) fn shown_matter_number(tx: &Connection, matter_id: &str) -> Result<String> {
    Ok(tx
        .prepare_cached("SELECT shown_number FROM matters WHERE id = ?1")?
        .query_row([matter_id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten()
        .unwrap_or_default())
}

/// A visit's number from its stored day and queue number (`沁水-2026-11-05-B017`); a visit from
/// before queue labels shows its desk's queue number of the day.
pub fn visit_number(
    hall: &str,
    visit_date: &str,
    queue_label: Option<&str>,
    queue_no: i64,
) -> String {
    let label = queue_label
        .filter(|l| !l.is_empty())
        .map_or_else(|| queue_no.to_string(), str::to_owned);
    match visit_date.parse::<NaiveDate>() {
        Ok(day) => numbering::visit_number(&short_name(hall), day, &label),
        Err(_) => label,
    }
}

impl Store {
    /// The matter a typed number or id names: a number as printed (`沁水-2026-11-B0017`, typed
    /// loosely: spaces, full-width characters, lower case), or the matter's id (links).
    pub fn find_matter(&self, typed: &str) -> Result<Option<String>> {
        let t = typed.trim();
        if uuid::Uuid::parse_str(t).is_ok() {
            let id = t.to_ascii_lowercase();
            return Ok(self
                .conn
                .prepare_cached("SELECT id FROM matters WHERE id = ?1")?
                .query_row([&id], |r| r.get(0))
                .optional()?);
        }
        let number = numbering::normalize_number(t);
        if number.is_empty() {
            return Ok(None);
        }
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM matters WHERE shown_number = ?1")?
            .query_row([&number], |r| r.get(0))
            .optional()?)
    }
}

impl Store {
    /// The visit a typed visit number names (`沁水-2026-11-05-B017`): its day and queue number
    /// in a hall of that short name.
    pub fn find_visit(&self, typed: &str) -> Result<Option<String>> {
        let number = numbering::normalize_number(typed);
        // Short name, year, month, day, label: the name itself has no '-'.
        let parts: Vec<&str> = number.rsplitn(5, '-').collect();
        let [label, d, m, y, short] = parts[..] else {
            return Ok(None);
        };
        let Ok(day) = format!("{y}-{m}-{d}").parse::<NaiveDate>() else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, hall_code FROM visits
             WHERE visit_date = ?1 AND coalesce(queue_label, CAST(queue_no AS TEXT)) = ?2",
        )?;
        let found: Vec<(String, String)> = stmt
            .query_map(params![day.to_string(), label], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(found
            .into_iter()
            .find(|(_, hall)| short_name(hall) == short)
            .map(|(id, _)| id))
    }

    /// The number a record is shown by: a matter's or a visit's own; a backlog case's matter's;
    /// a mediation's visit's; a visitor's latest visit's (a visitor has no number of their own,
    /// and the audit log shows no name).
    pub fn record_number(&self, entity: &str, id: &str) -> Result<Option<String>> {
        let via_visit = |sql: &str| -> Result<Option<String>> {
            let visit: Option<String> = self
                .conn
                .prepare_cached(sql)?
                .query_row([id], |r| r.get(0))
                .optional()?;
            match visit {
                Some(v) => self.record_number("visit", &v),
                None => Ok(None),
            }
        };
        Ok(match entity {
            "backlog_case" => self
                .conn
                .prepare_cached(
                    "SELECT m.shown_number FROM backlog_cases b JOIN matters m ON m.id = b.matter_id
                     WHERE b.id = ?1",
                )?
                .query_row([id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten(),
            "mediation" => via_visit("SELECT visit_id FROM mediations WHERE id = ?1")?,
            "visitor" => via_visit(
                "SELECT vv.visit_id FROM visit_visitors vv JOIN visits v ON v.id = vv.visit_id
                 WHERE vv.visitor_id = ?1 ORDER BY v.visit_date DESC, v.rowid DESC LIMIT 1",
            )?
            .map(|n| format!("最近来访 {n}")),
            "matter" => self
                .conn
                .prepare_cached("SELECT shown_number FROM matters WHERE id = ?1")?
                .query_row([id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .flatten(),
            "visit" => self
                .conn
                .prepare_cached(
                    "SELECT hall_code, visit_date, queue_label, queue_no FROM visits WHERE id = ?1",
                )?
                .query_row([id], |r| {
                    Ok(visit_number(
                        &r.get::<_, String>(0)?,
                        &r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?.as_deref(),
                        r.get(3)?,
                    ))
                })
                .optional()?,
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_numbers(numbers: &[&str]) -> (tempfile::TempDir, crate::Store) {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        // Matters with only a number: no visit behind them (foreign keys off for this).
        store
            .conn
            .execute_batch("PRAGMA foreign_keys = OFF")
            .unwrap();
        for (i, n) in numbers.iter().enumerate() {
            store
                .conn
                .execute(
                    "INSERT INTO matters(id, hall_code, first_visit_id, appeal_kind, category_code,
                       received_on, created_at, updated_at, number)
                     VALUES (?1, '140521', ?1, 'claim', 'other', '2026-11-05', 'x', 'x', ?2)",
                    params![format!("m{i}"), n],
                )
                .unwrap();
        }
        (dir, store)
    }

    /// The index's answer is the greatest count as every number with the start reads it:
    /// counts past 9999, leading zeros, other letters and months, non-digit tails, legacy
    /// numbers without a letter, the start alone, counts too long for a number.
    #[test]
    fn last_count_from_the_index_is_the_greatest_count_of_the_start() {
        let (_dir, store) = store_with_numbers(&[
            "沁水-2026-11-B0017",
            "沁水-2026-11-B9999",
            "沁水-2026-11-B10000",
            "沁水-2026-11-B000010001",
            "沁水-2026-11-B20000x",
            "沁水-2026-11-B",
            "沁水-2026-11-C50000",
            "沁水-2026-12-B70000",
            "沁水-2026-11-0042",
            "沁水-2026-11-00420",
            "沁水-2026-10-D0001",
            "沁水-2026-10-D99999999999999999999999",
            "沁水-2026-09-E",
            "沁水-2026-09-E0000",
        ]);
        for (start, want) in [
            ("沁水-2026-11-B", 10001),
            ("沁水-2026-11-C", 50000),
            ("沁水-2026-12-B", 70000),
            ("沁水-2026-11-", 420),
            ("沁水-2026-10-D", 1),
            ("沁水-2026-09-E", 0),
            ("沁水-2026-08-B", 0),
        ] {
            assert_eq!(last_count(&store.conn, start).unwrap(), want, "{start}");
            assert_eq!(
                scan_last_count(&store.conn, start).unwrap(),
                want,
                "{start}"
            );
        }
    }

    /// One step down the index of migration 0034, no sort, whatever the month holds.
    #[test]
    fn last_count_reads_one_index_entry() {
        let (_dir, store) = store_with_numbers(&["沁水-2026-11-B0001"]);
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {LAST_COUNT}"))
            .unwrap()
            .query_map(["沁水-2026-11-B"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH matters USING INDEX matters_number_count (<expr>=?)"],
            "{plan:#?}"
        );
    }

    /// A registration's queue label is the last entry of the day and the desk's letter in the
    /// index: the statement takes as many steps for a day of 400 labels as for a day of 4, and
    /// never reads a visit row; its answer is the greatest number, not the last in text order.
    #[test]
    fn last_queue_label_is_one_step_down_the_index() {
        let (_dir, store) = store_with_numbers(&[]);
        let label = |n: usize| {
            store
                .conn
                .execute(
                    "INSERT INTO visits(id, hall_code, visited_at, visit_date, queue_no, clerk_id,
                       head_count, appeal, appeal_kind, category_code, created_at, queue_label)
                     VALUES (?1, '140521', '2026-11-05T09:00:00+08:00', '2026-11-05', ?2, 's', 1,
                       '', 'claim', 'other', 'x', ?3)",
                    params![format!("v{n}"), n as i64, format!("B{n:03}")],
                )
                .unwrap();
        };
        let last = || {
            let mut stmt = store.conn.prepare(crate::visits::LAST_QUEUE_LABEL).unwrap();
            let last: i64 = stmt.query_row(["2026-11-05", "B"], |r| r.get(0)).unwrap();
            (last, stmt.get_status(rusqlite::StatementStatus::VmStep))
        };
        (1..=4).for_each(label);
        store
            .conn
            .execute(
                "INSERT INTO visits(id, hall_code, visited_at, visit_date, queue_no, clerk_id,
                   head_count, appeal, appeal_kind, category_code, created_at, queue_label)
                 VALUES ('c', '140521', '2026-11-05T09:00:00+08:00', '2026-11-05', 0, 's', 1, '',
                   'claim', 'other', 'x', 'C900')",
                [],
            )
            .unwrap();
        let (four, steps) = last();
        assert_eq!(four, 4);
        (5..=400).for_each(label);
        let (four_hundred, steps_at_400) = last();
        assert_eq!(four_hundred, 400, "B400 after B099: by number");
        assert_eq!(steps_at_400, steps, "one entry read, not the day's");

        let plan: Vec<String> = store
            .conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                crate::visits::LAST_QUEUE_LABEL
            ))
            .unwrap()
            .query_map(["2026-11-05", "B"], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH visits USING COVERING INDEX visits_date_label (visit_date=? AND <expr>=?)"],
            "{plan:#?}"
        );
    }
}
