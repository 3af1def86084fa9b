//! Drafts of forms not yet submitted: what a staff member typed, kept so that an idle lock, a
//! crash or a closed window loses nothing. One draft per (staff member, form), held as the UI's
//! JSON. Drafts hold personal data, so they live here, in the encrypted database, and never in
//! the webview's storage; they are local to this desk: no change-log rows, never synced.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use xinfang_core::FieldError;

use crate::{Result, Store, now_text};

/// The forms that may keep a draft, with their Chinese names.
pub const DRAFT_FORMS: &[(&str, &str)] = &[
    ("register", "来访登记"),
    ("consultation", "法律咨询记录"),
    ("mediation", "人民调解记录"),
];

/// Largest draft kept, in bytes of JSON (a full group registration is a few KiB).
pub const DRAFT_MAX_BYTES: usize = 64 * 1024;

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Draft {
    pub form: String,
    /// The form's state as the UI saved it (a JSON object).
    pub json: String,
    /// When it was last saved, RFC 3339, China Standard Time.
    pub updated_at: String,
}

/// Checks the form's name against [`DRAFT_FORMS`].
pub fn check_draft_form(form: &str) -> Result<(), FieldError> {
    if DRAFT_FORMS.iter().any(|(f, _)| *f == form) {
        return Ok(());
    }
    let known = DRAFT_FORMS
        .iter()
        .map(|(f, zh)| format!("{f}（{zh}）"))
        .collect::<Vec<_>>()
        .join("、");
    Err(FieldError::new(
        "form",
        "draft_form_unknown",
        format!("草稿的表单名称“{form}”不在可保存草稿的表单之列：只能是 {known}。"),
    ))
}

/// Checks a draft before it is kept: a known form, a JSON object, at most [`DRAFT_MAX_BYTES`].
pub fn check_draft(form: &str, json: &str) -> Result<(), FieldError> {
    check_draft_form(form)?;
    if json.len() > DRAFT_MAX_BYTES {
        return Err(FieldError::new(
            "json",
            "draft_too_large",
            format!(
                "草稿内容过大（{} KiB），超过上限 {} KiB，未能保存：请删减诉求等长文本后再试，或直接提交表单。",
                json.len().div_ceil(1024),
                DRAFT_MAX_BYTES / 1024
            ),
        ));
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(FieldError::new(
            "json",
            "draft_not_json",
            "草稿内容不是表单数据（应为 JSON 对象），未能保存：请刷新页面后重新填写。",
        )),
    }
}

impl Store {
    /// Saves (or replaces) `staff_id`'s draft of `form`. Writes no change-log row: drafts
    /// never leave this desk.
    pub fn save_draft(&self, staff_id: &str, form: &str, json: &str) -> Result<Draft> {
        check_draft(form, json)?;
        let updated_at = now_text(&*self.clock);
        self.conn
            .prepare_cached(
                "INSERT INTO drafts(staff_id, form, json, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(staff_id, form) DO UPDATE
                   SET json = excluded.json, updated_at = excluded.updated_at",
            )?
            .execute(params![staff_id, form, json, updated_at])?;
        Ok(Draft {
            form: form.to_owned(),
            json: json.to_owned(),
            updated_at,
        })
    }

    /// `staff_id`'s draft of `form`, if there is one. Nobody else's.
    pub fn load_draft(&self, staff_id: &str, form: &str) -> Result<Option<Draft>> {
        check_draft_form(form)?;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT json, updated_at FROM drafts WHERE staff_id = ?1 AND form = ?2",
            )?
            .query_row(params![staff_id, form], |r| {
                Ok(Draft {
                    form: form.to_owned(),
                    json: r.get(0)?,
                    updated_at: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Forgets `staff_id`'s draft of `form` (submitted or cleared). True if there was one.
    pub fn discard_draft(&self, staff_id: &str, form: &str) -> Result<bool> {
        check_draft_form(form)?;
        let n = self
            .conn
            .prepare_cached("DELETE FROM drafts WHERE staff_id = ?1 AND form = ?2")?
            .execute(params![staff_id, form])?;
        Ok(n > 0)
    }
}
