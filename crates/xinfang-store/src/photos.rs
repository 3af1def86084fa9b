//! The visitor's live photo taken at registration (issue 19): kept in the encrypted store with
//! the visit, a record of its own (`visit_photo`, migration 0033) written once, so it syncs once
//! and never rides on the visit's later updates. No list or export reads this table: the photo
//! is read only here, one person at a time.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::FieldError;
use xinfang_core::photo::{check_photo, encode_photo};

use crate::changelog::{self, Op};
use crate::desk::{not_found, require_visit};
use crate::{Result, Store, StoreError, now_text};

/// A person's latest photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitorPhoto {
    /// The visit it was taken at.
    pub visit_id: String,
    pub visited_at: String,
    /// RFC 3339.
    pub taken_at: String,
    /// The JPEG, base64.
    pub jpeg: String,
}

impl Store {
    /// Keeps the photo of `visitor_id`, taken at `visit_id` (one per visit; checked by
    /// `xinfang_core::photo`). Refused when the person is not on the visit or the visit has
    /// a photo already: it is kept once, as taken.
    pub fn save_visit_photo(
        &mut self,
        visit_id: &str,
        visitor_id: &str,
        jpeg_base64: &str,
        by: &str,
    ) -> Result<VisitorPhoto> {
        let bytes = check_photo(jpeg_base64)?;
        // Stored as checked, in one canonical spelling (no stray whitespace or padding).
        let jpeg = encode_photo(&bytes);
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        require_visit(&tx, visit_id)?;
        let on_visit = tx
            .prepare_cached("SELECT 1 FROM visit_visitors WHERE visit_id = ?1 AND visitor_id = ?2")?
            .query_row(params![visit_id, visitor_id], |_| Ok(()))
            .optional()?;
        if on_visit.is_none() {
            return Err(not_found("该次来访的来访人"));
        }
        let taken = tx
            .prepare_cached("SELECT 1 FROM visit_photos WHERE visit_id = ?1")?
            .query_row([visit_id], |_| Ok(()))
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::Invalid(
                FieldError::new(
                    "photo",
                    "photo_exists",
                    "这次来访已经保存过照片，照片保存后不能更换。",
                )
                .into(),
            ));
        }
        tx.prepare_cached(
            "INSERT INTO visit_photos(visit_id, visitor_id, jpeg, taken_by, taken_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![visit_id, visitor_id, jpeg, by, now])?;
        let mut f = Map::new();
        f.insert("visitor_id".into(), json!(visitor_id));
        f.insert("jpeg".into(), json!(jpeg));
        f.insert("taken_by".into(), json!(by));
        f.insert("taken_at".into(), json!(now));
        changelog::append(&tx, "visit_photo", visit_id, Op::Insert, f, &now)?;
        tx.commit()?;
        tracing::info!(visit_id, bytes = bytes.len(), "visit photo saved");
        self.visit_photo(visit_id)?
            .ok_or_else(|| not_found("该次来访的照片"))
    }

    /// The photo taken at one visit, if any.
    pub fn visit_photo(&self, visit_id: &str) -> Result<Option<VisitorPhoto>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT p.visit_id, x.visited_at, p.taken_at, p.jpeg
                   FROM visit_photos p JOIN visits x ON x.id = p.visit_id
                  WHERE p.visit_id = ?1",
            )?
            .query_row([visit_id], photo_from_row)
            .optional()?)
    }

    /// The person a visitor record is shown as: itself, or the person it was merged into.
    pub fn person_id(&self, visitor_id: &str) -> Result<String> {
        crate::people::person_of(&self.conn, visitor_id)?.ok_or_else(|| not_found("该来访人"))
    }

    /// A person's latest photo (of any record merged into them), if any was taken.
    pub fn visitor_photo(&self, visitor_id: &str) -> Result<Option<VisitorPhoto>> {
        let person = self.person_id(visitor_id)?;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT p.visit_id, x.visited_at, p.taken_at, p.jpeg
                   FROM visit_visitors vv
                   JOIN visit_photos p ON p.visit_id = vv.visit_id AND p.visitor_id = vv.visitor_id
                   JOIN visits x ON x.id = p.visit_id
                  WHERE vv.person_id = ?1
                  ORDER BY x.visited_at DESC, p.taken_at DESC LIMIT 1",
            )?
            .query_row([person], photo_from_row)
            .optional()?)
    }
}

fn photo_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VisitorPhoto> {
    Ok(VisitorPhoto {
        visit_id: r.get(0)?,
        visited_at: r.get(1)?,
        taken_at: r.get(2)?,
        jpeg: r.get(3)?,
    })
}
