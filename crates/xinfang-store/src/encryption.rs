//! The store's side of encryption at rest: key slots of accounts, password change, rekey.

use std::collections::HashSet;

use crate::keys::{DataKey, KeySlots};
use crate::staff::hash_password;
use crate::{Result, Store, StoreError};
use serde_json::{Map, json};
use xinfang_core::account::check_password;

impl Store {
    /// Adds or replaces `username`'s key slot (new account, admin reset). No-op on a plaintext
    /// store.
    pub(crate) fn set_password_slot(&mut self, username: &str, password: &str) -> Result<()> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        let now = crate::now_text(&*self.clock);
        KeySlots::update_keyed(self.data_dir(), std::slice::from_ref(key), |slots| {
            slots.set_password_slot(username, password, key, &now)
        })
    }

    /// Whether `username` has a key slot on this desk (accounts synced from another desk of the
    /// hall get one when an admin here resets their password).
    pub fn has_key_slot(&self, username: &str) -> Result<bool> {
        if self.key.is_none() {
            return Ok(false);
        }
        Ok(KeySlots::load(self.data_dir())?.has_password_slot(username))
    }

    /// Usernames that have a key slot on this desk.
    pub fn key_slot_users(&self) -> Result<Vec<String>> {
        if self.key.is_none() {
            return Ok(Vec::new());
        }
        Ok(KeySlots::load(self.data_dir())?.usernames())
    }

    /// Consecutive wrong passwords recorded for `username` on this desk.
    pub fn failed_logins(&self, username: &str) -> Result<u32> {
        if self.key.is_none() {
            return Ok(0);
        }
        Ok(KeySlots::load(self.data_dir())?.failures(username))
    }

    /// A staff member changes their own password: the old one is checked, only their key slot
    /// is rewrapped (the data key and the other slots stay as they are), and the password hash
    /// is updated.
    pub fn change_password(&mut self, staff_id: &str, old: &str, new: &str) -> Result<()> {
        let staff = self.staff_by_id(staff_id)?;
        check_password(new)?;
        // The key slots stay locked from the check of the old password to the save, so a
        // change of another account by another process in between is not overwritten.
        let mut slots = match &self.key {
            Some(key) => {
                let lock = KeySlots::lock(self.data_dir())?;
                let mut slots = KeySlots::load(self.data_dir())?;
                slots.require_authentic(std::slice::from_ref(key))?;
                slots.change_password(&staff.username, old, new)?;
                slots.authenticate(key);
                Some((lock, slots))
            }
            None => {
                self.authenticate(&staff.username, old)?;
                None
            }
        };
        let hash = hash_password(new)?;
        let now = crate::now_text(&*self.clock);
        // The reading key keeps its secret, rewrapped under the new password (a new one if the
        // old password does not open it, e.g. it was changed on another desk meanwhile).
        let wrapped: Option<String> = self.conn.query_row(
            "SELECT box_secret FROM staff WHERE id = ?1",
            [staff_id],
            |r| r.get(0),
        )?;
        let reading = wrapped
            .and_then(|w| crate::box_keys::unwrap(staff_id, &w, old).ok())
            .unwrap_or_else(xinfang_seal::new_secret);
        // The account signs its own password change (staff_sign.rs).
        let own = crate::staff_sign::Signer::of(staff_id, &reading);
        let tx = self.conn.savepoint()?;
        crate::box_keys::store_keys(&tx, &self.hall_code, staff_id, &reading, new, &now, &own)?;
        tx.execute(
            "UPDATE staff SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
            rusqlite::params![staff_id, hash, now],
        )?;
        let mut f = Map::new();
        f.insert("password_hash".into(), json!(hash));
        crate::staff_sign::append_signed(
            &tx,
            &self.hall_code,
            staff_id,
            crate::changelog::Op::Update,
            f,
            &now,
            &own,
        )?;
        tx.commit()?;
        if let Some((lock, slots)) = slots.as_mut() {
            slots.save(lock)?;
        }
        tracing::info!(staff_id, "password changed");
        Ok(())
    }

    /// Rotates the data key: a fresh random key, the database re-encrypted with it (SQLCipher
    /// `PRAGMA rekey`), and the key sealed to the slots without anyone's password. Only the
    /// recovery slot and the slots of active staff accounts get the new key (one per account):
    /// slots of disabled or unknown accounts are dropped, and a slot list that fails its MAC is
    /// refused before anything is sealed. Crash-safe: the new key is sealed beside the old one
    /// before the database changes, and an unlock finishes an interrupted rekey.
    pub fn rekey(&mut self) -> Result<()> {
        let Some(old_key) = self.key.clone() else {
            return Err(StoreError::Encryption(
                "这个数据库没有加密，不能轮换密钥。".into(),
            ));
        };
        // Locked for the whole rotation: a slot added between staging and promoting would be
        // left sealed to the old key only.
        let dir = self.data_dir().to_path_buf();
        let lock = KeySlots::lock(&dir)?;
        let mut slots = KeySlots::load(&dir)?;
        slots.require_authentic(std::slice::from_ref(&old_key))?;
        let active: HashSet<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT username FROM staff WHERE active = 1")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let dropped = slots.retain_for_rekey(|u| active.contains(u));
        if !dropped.is_empty() {
            tracing::info!(
                dropped = dropped.len(),
                "key slots of inactive or unknown accounts dropped"
            );
        }
        let new_key = DataKey::random();
        slots.stage(&new_key)?;
        // Under the old key until the database has the new one: an unlock that finds the
        // rotation interrupted checks it with the old key.
        slots.authenticate(&old_key);
        slots.save(&lock)?;
        // Fold the WAL into the main file first, so every page is rewritten under the new key.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let sql = zeroize::Zeroizing::new(format!(
            "PRAGMA rekey = \"{}\";",
            &*new_key.pragma_literal()
        ));
        self.conn.execute_batch(&sql)?;
        slots.promote();
        slots.authenticate(&new_key);
        slots.save(&lock)?;
        self.key = Some(new_key);
        tracing::info!("data key rotated");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewStaff;
    use crate::keys::KdfParams;
    use xinfang_core::staff::Role;

    fn staff(store: &mut Store, username: &str) -> crate::Staff {
        store
            .add_staff(&NewStaff {
                username: username.into(),
                display_name: format!("{username}姓名"),
                roles: vec![Role::Clerk],
                password: format!("{username}-pass-2026"),
            })
            .unwrap()
    }

    /// Someone who once held the data key (an account since disabled) can still write a slot
    /// with a good MAC; the rekey that revokes them seals the new key only to the recovery slot
    /// and to active accounts, one slot each.
    #[test]
    fn rekey_seals_only_to_active_staff() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _rec) =
            Store::create_with_kdf(dir.path(), "140521", KdfParams::INSECURE_FAST).unwrap();
        // The desk's first admin, who signs the disabling below.
        store
            .add_staff(&NewStaff {
                username: "admin".into(),
                display_name: "管理员".into(),
                roles: vec![Role::Admin],
                password: "admin-pass-2026".into(),
            })
            .unwrap();
        staff(&mut store, "alice");
        let bob = staff(&mut store, "bob");
        let key = store.key.clone().unwrap();
        // Bob plants a slot for an account that does not exist.
        KeySlots::update_keyed(dir.path(), std::slice::from_ref(&key), |s| {
            s.set_password_slot(
                "mallory",
                "mallory-pass-1",
                &key,
                "2026-11-26T09:00:00.000+08:00",
            )
        })
        .unwrap();
        store.set_staff_active(&bob.id, false).unwrap();
        store.rekey().unwrap();
        let slots = KeySlots::load(dir.path()).unwrap();
        assert_eq!(
            slots.usernames(),
            vec!["admin".to_owned(), "alice".to_owned()]
        );
        drop(store);
        Store::login(dir.path(), "alice", "alice-pass-2026").unwrap();
        assert!(Store::login(dir.path(), "mallory", "mallory-pass-1").is_err());
    }

    /// With a good MAC but lowered `new_slot_kdf` (written by a key holder), a new slot still
    /// gets at least the floor; release builds' floor is the production parameters.
    #[test]
    fn new_slots_never_go_below_the_kdf_floor() {
        let weak = KdfParams {
            m_kib: 8,
            t: 1,
            p: 1,
        };
        assert_eq!(
            weak.at_least(KdfParams::floor_for(false)),
            KdfParams::PRODUCTION
        );
        assert_eq!(
            weak.at_least(KdfParams::floor_for(true)),
            KdfParams::INSECURE_FAST
        );
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _rec) = Store::create_with_kdf(dir.path(), "140521", weak).unwrap();
        let alice = staff(&mut store, "alice");
        store
            .change_password(&alice.id, "alice-pass-2026", "alice-new-2026")
            .unwrap();
        let text = std::fs::read_to_string(KeySlots::path(dir.path())).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for s in v["slots"].as_array().unwrap() {
            if s["kind"] == "password" {
                assert!(s["kdf"]["m_kib"].as_u64().unwrap() >= 1024, "{s}");
            }
        }
    }
}
