//! The hall's own names, set by an administrator and the same on every desk of the hall: each a
//! key and a value, synced as entity `hall_setting` (field `value`, last writer wins).

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, json};

use crate::changelog::{self, Op};
use crate::{Result, Store, now_text};

/// The 人民调解委员会 the hall's mediation documents are issued in.
pub const MEDIATION_COMMITTEE: &str = "mediation_committee";

/// The hall's phone, printed on the queue slip (排队单).
pub const HALL_PHONE: &str = "hall_phone";

impl Store {
    /// A hall setting, if set.
    pub fn hall_setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM hall_settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a hall setting (checked by the caller), logged so every desk of the hall has it.
    pub fn set_hall_setting(&mut self, key: &str, value: &str) -> Result<()> {
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        let existed = tx
            .prepare_cached("SELECT 1 FROM hall_settings WHERE key = ?1")?
            .query_row([key], |_| Ok(()))
            .optional()?
            .is_some();
        tx.execute(
            "INSERT INTO hall_settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        let mut f = Map::new();
        f.insert("value".into(), json!(value));
        let op = if existed { Op::Update } else { Op::Insert };
        changelog::append(&tx, "hall_setting", key, op, f, &now)?;
        tx.commit()?;
        Ok(())
    }
}
