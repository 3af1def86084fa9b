//! The store's side of encryption at rest: key slots of accounts, password change, rekey.

use rusqlite::OptionalExtension;

use crate::keys::{DataKey, KeySlots};
use crate::staff::{MIN_PASSWORD_CHARS, hash_password};
use crate::{Result, Store, StoreError};
use serde_json::{Map, json};
use xinfang_core::FieldError;

impl Store {
    /// Adds or replaces `username`'s key slot (new account, admin reset). No-op on a plaintext
    /// store.
    pub(crate) fn set_password_slot(&mut self, username: &str, password: &str) -> Result<()> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        KeySlots::update(self.data_dir(), |slots| {
            slots.set_password_slot(username, password, key)
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
        if new.chars().count() < MIN_PASSWORD_CHARS {
            return Err(FieldError::new(
                "password",
                "password_too_short",
                format!("密码太短：至少需要 {MIN_PASSWORD_CHARS} 位，请换一个更长的密码。"),
            )
            .into());
        }
        // The key slots stay locked from the check of the old password to the save, so a
        // change of another account by another process in between is not overwritten.
        let mut slots = match &self.key {
            Some(_) => {
                let lock = KeySlots::lock(self.data_dir())?;
                let mut slots = KeySlots::load(self.data_dir())?;
                slots.change_password(&staff.username, old, new)?;
                Some((lock, slots))
            }
            None => {
                self.authenticate(&staff.username, old)?;
                None
            }
        };
        let hash = hash_password(new)?;
        let now = crate::now_text();
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE staff SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
            rusqlite::params![staff_id, hash, now],
        )?;
        let mut f = Map::new();
        f.insert("password_hash".into(), json!(hash));
        crate::changelog::append(
            &tx,
            "staff",
            staff_id,
            crate::changelog::Op::Update,
            f,
            &now,
        )?;
        tx.commit()?;
        if let Some((lock, slots)) = slots.as_mut() {
            slots.save(lock)?;
        }
        tracing::info!(staff_id, "password changed");
        Ok(())
    }

    /// Rotates the data key: a fresh random key, the database re-encrypted with it (SQLCipher
    /// `PRAGMA rekey`), and the key sealed to every slot, without anyone's password. Slots of
    /// disabled accounts are dropped. Crash-safe: the new key is sealed beside the old one
    /// before the database changes, and an unlock finishes an interrupted rekey.
    pub fn rekey(&mut self) -> Result<()> {
        if self.key.is_none() {
            return Err(StoreError::Encryption(
                "这个数据库没有加密，不能轮换密钥。".into(),
            ));
        }
        // Locked for the whole rotation: a slot added between staging and promoting would be
        // left sealed to the old key only.
        let dir = self.data_dir().to_path_buf();
        let lock = KeySlots::lock(&dir)?;
        let mut slots = KeySlots::load(&dir)?;
        for username in slots.usernames() {
            let active: Option<bool> = self
                .conn
                .query_row(
                    "SELECT active FROM staff WHERE username = ?1",
                    [&username],
                    |r| r.get(0),
                )
                .optional()?;
            if active == Some(false) {
                slots.remove_password_slot(&username);
            }
        }
        let new_key = DataKey::random();
        slots.stage(&new_key)?;
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
        slots.save(&lock)?;
        self.key = Some(new_key);
        tracing::info!("data key rotated");
        Ok(())
    }
}
