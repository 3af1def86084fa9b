//! What the city last said of a person's matters at its other halls (重复访, 不再受理 and 越级访
//! across halls): kept on this desk so registration still shows it, dated, when the line to
//! the city is down. Not synced: each hall's records stay with the hall.

use rusqlite::{OptionalExtension, params};
use xinfang_sync::wire::OtherHallMatter;

use crate::{Result, Store, now_text};

/// The last answer the city gave for one document number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherHallsSeen {
    /// When it was asked (RFC 3339, this desk's clock).
    pub fetched_at: String,
    pub matters: Vec<OtherHallMatter>,
}

fn key(id_number: &str) -> String {
    id_number.trim().to_uppercase()
}

impl Store {
    /// Keeps the city's answer for `id_number`, replacing the one before; returns it as kept.
    pub fn remember_other_hall_matters(
        &self,
        id_number: &str,
        matters: &[OtherHallMatter],
    ) -> Result<OtherHallsSeen> {
        let fetched_at = now_text(&*self.clock);
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO other_hall_matters(id_number, fetched_at, matters)
                 VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                key(id_number),
                fetched_at,
                serde_json::to_string(matters)?
            ])?;
        Ok(OtherHallsSeen {
            fetched_at,
            matters: matters.to_vec(),
        })
    }

    /// The city's last answer for `id_number`, if it was ever asked from this desk.
    pub fn seen_other_hall_matters(&self, id_number: &str) -> Result<Option<OtherHallsSeen>> {
        let row: Option<(String, String)> = self
            .conn
            .prepare_cached(
                "SELECT fetched_at, matters FROM other_hall_matters WHERE id_number = ?1",
            )?
            .query_row([key(id_number)], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match row {
            Some((fetched_at, matters)) => Some(OtherHallsSeen {
                fetched_at,
                matters: serde_json::from_str(&matters)?,
            }),
            None => None,
        })
    }
}
