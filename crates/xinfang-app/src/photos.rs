//! The visitor's live photo (issue 19): kept with the saved visit by whom may register, shown
//! to whom may see the visitor's details, never to whom the person is hidden from (a reporter,
//! `contact::reporter_hidden`). No list, search hit or export carries it.

use xinfang_core::staff::Action;
use xinfang_store::VisitorPhoto;

use crate::api::AppState;
use crate::contact::reporter_hidden;
use crate::error::CmdResult;

impl AppState {
    /// Keeps the photo (JPEG, base64) of `visitor_id` taken at registration with the saved
    /// visit; checked (format, size) by `xinfang_core::photo`.
    pub fn save_visit_photo(
        &self,
        visit_id: &str,
        visitor_id: &str,
        jpeg: &str,
    ) -> CmdResult<VisitorPhoto> {
        self.act(Action::RegisterVisit, |store, me| {
            Ok(store.save_visit_photo(visit_id, visitor_id, jpeg, &me.id)?)
        })
    }

    /// A person's latest photo, for the visitor page and the history panel; none for whom the
    /// person is hidden from (a photo identifies as surely as a name).
    pub fn visitor_photo(&self, visitor_id: &str) -> CmdResult<Option<VisitorPhoto>> {
        self.act(Action::ViewVisitorDetail, |store, me| {
            let person = store.person_id(visitor_id)?;
            if reporter_hidden(store, me, &person)? {
                return Ok(None);
            }
            Ok(store.visitor_photo(&person)?)
        })
    }
}
