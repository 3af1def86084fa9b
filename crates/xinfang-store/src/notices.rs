//! Printed notices, kept in the encrypted database (issue 15, item 9): a notice holds the
//! visitor's name and appeal, a 检举控告's too, so its PDF is never left in the data dir in
//! clear. Local to this desk: no change-log rows, never synced.

use rusqlite::{OptionalExtension, params};

use crate::{Result, Store, now_text};

/// A printed notice as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotice {
    pub file_name: String,
    pub matter_id: String,
    pub kind: String,
    pub pdf: Vec<u8>,
}

impl Store {
    /// Keeps a printed notice (replacing one of the same file name).
    pub fn save_notice(&mut self, notice: &StoredNotice, staff_id: &str) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO notices(file_name, matter_id, kind, pdf, printed_by, printed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                notice.file_name,
                notice.matter_id,
                notice.kind,
                notice.pdf,
                staff_id,
                now_text(&*self.clock)
            ],
        )?;
        Ok(())
    }

    /// A kept notice by its file name.
    pub fn notice(&self, file_name: &str) -> Result<Option<StoredNotice>> {
        Ok(self
            .conn
            .query_row(
                "SELECT file_name, matter_id, kind, pdf FROM notices WHERE file_name = ?1",
                [file_name],
                |r| {
                    Ok(StoredNotice {
                        file_name: r.get(0)?,
                        matter_id: r.get(1)?,
                        kind: r.get(2)?,
                        pdf: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }
}
