//! Matter and visit numbers in the store (`xinfang_core::numbering`, issue 20): given to a
//! matter when this desk opens it, synced as its `number` field; legacy matters numbered here.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, json};
use xinfang_core::numbering;
use xinfang_core::regions::Regions;

use crate::changelog::{self, Op};
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
/// digits only (`沁水-2026-11-B` → the B numbers of the month), 0 when none.
fn last_count(tx: &Connection, start: &str) -> Result<i64> {
    // Digits sort between '0' and ':'; the unique index answers the range.
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
    let mut next: std::collections::HashMap<String, i64> = Default::default();
    let mut set = conn.prepare_cached("UPDATE matters SET number = ?2 WHERE id = ?1")?;
    let mut numbered = 0;
    for (id, hall, received_on) in &missing {
        let Ok(day) = received_on.parse::<NaiveDate>() else {
            continue;
        };
        let short = short_name(hall);
        let prefix = numbering::month_prefix(&short, day);
        let n = match next.get_mut(&prefix) {
            Some(n) => n,
            None => next
                .entry(prefix.clone())
                .or_insert(last_count(conn, &prefix)?),
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

/// A pulled matter change whose `number` another matter here already holds (two desks that
/// numbered with one letter: an unenrolled desk's letter from its id, or a letter given again
/// after its desk was revoked): the matter with the smaller id keeps the number, the other
/// takes the next free one of its letter, written and logged here so every replica ends with
/// the same.
pub(crate) fn settle_clash(
    tx: &Connection,
    matter_id: &str,
    number: &str,
    now: &str,
) -> Result<Clash> {
    let holder: Option<String> = tx
        .prepare_cached("SELECT id FROM matters WHERE number = ?1 AND id <> ?2")?
        .query_row(params![number, matter_id], |r| r.get(0))
        .optional()?;
    let Some(holder) = holder else {
        return Ok(Clash::None);
    };
    if matter_id < holder.as_str() {
        renumber(tx, &holder, number, now)?;
        Ok(Clash::HolderRenumbered)
    } else {
        Ok(Clash::PulledLoses)
    }
}

pub(crate) enum Clash {
    None,
    HolderRenumbered,
    /// Apply the change without its number, then [`renumber`] the pulled matter.
    PulledLoses,
}

/// Gives `matter_id` the next free number of the letter and month of `taken` and logs it.
pub(crate) fn renumber(tx: &Connection, matter_id: &str, taken: &str, now: &str) -> Result<()> {
    // `沁水-2026-11-B0017` → start `沁水-2026-11-B`.
    let start = taken.trim_end_matches(|c: char| c.is_ascii_digit());
    let n = last_count(tx, start)? + 1;
    let number = format!("{start}{n:04}");
    tx.prepare_cached("UPDATE matters SET number = ?2 WHERE id = ?1")?
        .execute(params![matter_id, number])?;
    let mut f = Map::new();
    f.insert("number".into(), json!(number));
    changelog::append(tx, "matter", matter_id, Op::Update, f, now)?;
    tracing::warn!("two matters carried one number; the later one renumbered");
    Ok(())
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
            .prepare_cached("SELECT id FROM matters WHERE number = ?1")?
            .query_row([&number], |r| r.get(0))
            .optional()?)
    }
}
