//! Settings local to this desk: the desk's own (its ID-card reader) and each account's (its
//! display mode). In the encrypted database; no change-log rows, never synced: a reader's port
//! is this machine's, and an account's display mode is how it likes this desk's screen.
//! What a value means and which values are allowed is the use case's (xinfang-app).

use rusqlite::{OptionalExtension, params};

use crate::{Result, Store};

/// The ID-card reader of this desk (staff id `""`).
pub const ID_READER: &str = "id_reader";
/// An account's display mode.
pub const DISPLAY: &str = "display";

impl Store {
    /// `key` of the account `staff_id` (`""`: the desk's own), if set.
    pub fn local_setting(&self, staff_id: &str, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM local_settings WHERE staff_id = ?1 AND key = ?2")?
            .query_row(params![staff_id, key], |r| r.get(0))
            .optional()?)
    }

    /// Sets `key` of the account `staff_id` (`""`: the desk's own). Not logged, never synced.
    pub fn set_local_setting(&self, staff_id: &str, key: &str, value: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO local_settings(staff_id, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT(staff_id, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![staff_id, key, value])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewStaff;
    use xinfang_core::staff::Role;

    #[test]
    fn per_desk_and_per_account_never_logged() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::create_with_admin(
            &dir.path().join("d"),
            "140521",
            &NewStaff {
                username: "admin".into(),
                display_name: "管理员".into(),
                roles: vec![Role::Admin],
                password: "test-pass-2026".into(),
            },
        )
        .unwrap();
        let before = store.changes_since(0, 10_000).unwrap().len();
        assert_eq!(store.local_setting("", ID_READER).unwrap(), None);
        store
            .set_local_setting("", ID_READER, "{\"kind\":\"wedge\"}")
            .unwrap();
        store.set_local_setting("a", DISPLAY, "large").unwrap();
        store.set_local_setting("a", DISPLAY, "contrast").unwrap();
        assert_eq!(
            store.local_setting("", ID_READER).unwrap().as_deref(),
            Some("{\"kind\":\"wedge\"}")
        );
        assert_eq!(
            store.local_setting("a", DISPLAY).unwrap().as_deref(),
            Some("contrast")
        );
        assert_eq!(store.local_setting("b", DISPLAY).unwrap(), None);
        assert_eq!(
            store.changes_since(0, 10_000).unwrap().len(),
            before,
            "never synced"
        );
    }
}
