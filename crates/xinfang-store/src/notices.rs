//! Printed notices, kept in the encrypted database (issue 15, item 9): a notice holds the
//! visitor's name and appeal, a 检举控告's too, so its PDF is never left in the data dir in
//! clear. Local to this desk: no change-log rows, never synced. A 检举控告's notice is sealed
//! to the report's readers (`confidential.rs`), like its appeal.

use rusqlite::{OptionalExtension, params};

use crate::{Result, Store, now_text};

/// A printed notice as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotice {
    pub file_name: String,
    pub matter_id: String,
    pub kind: String,
    pub pdf: Vec<u8>,
    /// The 文号 it was printed with ('' when none).
    pub doc_no: String,
}

/// A printed notice as the matter page lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrintedEntry {
    pub file_name: String,
    pub kind: String,
    pub title: String,
    pub doc_no: String,
    pub printed_at: String,
    pub printed_by_name: String,
}

impl Store {
    /// Keeps a printed notice (replacing one of the same file name).
    pub fn save_notice(&mut self, notice: &StoredNotice, staff_id: &str) -> Result<()> {
        let pdf = match crate::confidential::first_report_visit(&self.conn, &notice.matter_id)? {
            Some((visit_id, clerk_id)) => {
                let readers = crate::confidential::readers(&self.conn, &clerk_id)?;
                xinfang_seal::seal(&notice.pdf, &notice_context(&visit_id), &readers)?.into_bytes()
            }
            None => notice.pdf.clone(),
        };
        self.conn.execute(
            "INSERT OR REPLACE INTO notices(file_name, matter_id, kind, pdf, printed_by, printed_at,
               doc_no)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                notice.file_name,
                notice.matter_id,
                notice.kind,
                pdf,
                staff_id,
                now_text(&*self.clock),
                notice.doc_no
            ],
        )?;
        Ok(())
    }

    /// The notices printed from a matter (or a mediation), newest first, with their 文号.
    pub fn printed_notices(&self, source_id: &str) -> Result<Vec<PrintedEntry>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT n.file_name, n.kind, n.doc_no, n.printed_at, coalesce(s.display_name, '')
                 FROM notices n LEFT JOIN staff s ON s.id = n.printed_by
                 WHERE n.matter_id = ?1 ORDER BY n.printed_at DESC, n.file_name DESC",
            )?
            .query_map([source_id], |r| {
                let kind: String = r.get(1)?;
                Ok(PrintedEntry {
                    file_name: r.get(0)?,
                    title: xinfang_core::notice::NoticeKind::parse(&kind)
                        .map_or_else(|| kind.clone(), |k| k.title_zh().to_owned()),
                    kind,
                    doc_no: r.get(2)?,
                    printed_at: r.get(3)?,
                    printed_by_name: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The 文号 the latest notice of `kind` from `source_id` was printed with, if it had one: a
    /// reprint keeps it.
    pub fn last_doc_no(&self, source_id: &str, kind: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT doc_no FROM notices WHERE matter_id = ?1 AND kind = ?2 AND doc_no <> ''
                 ORDER BY printed_at DESC LIMIT 1",
                [source_id, kind],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// What a kept notice was printed from (a matter's id, or a mediation's for a mediation
    /// document) and its kind, to check who may open it before it is opened.
    pub fn notice_source(&self, file_name: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT matter_id, kind FROM notices WHERE file_name = ?1",
                [file_name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// A kept notice by its file name; a sealed one only if this session may open it.
    pub fn notice(&self, file_name: &str) -> Result<Option<StoredNotice>> {
        let Some(mut notice) = self.stored_notice(file_name)? else {
            return Ok(None);
        };
        if let Ok(text) = std::str::from_utf8(&notice.pdf)
            && xinfang_seal::is_sealed(text)
        {
            let Some((visit_id, _)) =
                crate::confidential::first_report_visit(&self.conn, &notice.matter_id)?
            else {
                return Ok(None);
            };
            let opened = self
                .opener
                .as_ref()
                .and_then(|o| xinfang_seal::open(text, &notice_context(&visit_id), o));
            match opened {
                Some(pdf) => notice.pdf = pdf.to_vec(),
                None => return Ok(None),
            }
        }
        Ok(Some(notice))
    }

    fn stored_notice(&self, file_name: &str) -> Result<Option<StoredNotice>> {
        Ok(self
            .conn
            .query_row(
                "SELECT file_name, matter_id, kind, pdf, doc_no FROM notices WHERE file_name = ?1",
                [file_name],
                |r| {
                    Ok(StoredNotice {
                        file_name: r.get(0)?,
                        matter_id: r.get(1)?,
                        kind: r.get(2)?,
                        pdf: r.get(3)?,
                        doc_no: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }
}

fn notice_context(visit_id: &str) -> String {
    format!("visit:{visit_id}:notice")
}
