//! Staff administration: the store's first admin, enabling and disabling accounts, password
//! resets and roles. The last active admin always stays (`xinfang_core::desk::
//! check_admin_remains`); every change appends its change-log row in the same transaction.

use std::path::Path;
use std::sync::Arc;

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, json};
use xinfang_core::account::check_password;
use xinfang_core::clock::{Clock, SystemClock};
use xinfang_core::desk::check_admin_remains;
use xinfang_core::staff::Role;
use xinfang_core::{FieldError, ValidationErrors};

use crate::changelog::Op;
use crate::staff::{hash_password, roles_text, staff_from_row, validate};
use crate::{NewStaff, Result, Staff, Store, StoreError, now_text};

fn account_not_found() -> StoreError {
    StoreError::NotFound("该工作人员账号".to_owned())
}

fn staff_name(tx: &rusqlite::Connection, id: &str) -> Result<String> {
    Ok(tx
        .prepare_cached("SELECT display_name FROM staff WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .unwrap_or_default())
}

impl NewStaff {
    /// The account's problems, each at its field, without touching any store.
    pub fn check(&self) -> std::result::Result<(), ValidationErrors> {
        validate(self)
    }
}

impl Store {
    /// Creates a store with its first admin in one step; nothing is left behind when the
    /// account is refused (e.g. a short password).
    /// Returns the recovery key, to be shown once.
    pub fn create_with_admin(
        data_dir: &Path,
        hall_code: &str,
        admin: &NewStaff,
    ) -> Result<(Store, crate::RecoveryKey)> {
        Self::create_with_admin_at(data_dir, hall_code, admin, Arc::new(SystemClock))
    }

    /// [`Store::create_with_admin`] keeping the time of `clock` from the first record on.
    pub fn create_with_admin_at(
        data_dir: &Path,
        hall_code: &str,
        admin: &NewStaff,
        clock: Arc<dyn Clock>,
    ) -> Result<(Store, crate::RecoveryKey)> {
        validate(admin)?;
        let (mut store, recovery) = Store::create_at(data_dir, hall_code, clock)?;
        if let Err(e) = store.add_staff(admin) {
            drop(store);
            crate::remove_store_files(data_dir);
            return Err(e);
        }
        Ok((store, recovery))
    }

    pub fn staff_by_id(&self, staff_id: &str) -> Result<Staff> {
        self.conn
            .prepare_cached("SELECT * FROM staff WHERE id = ?1")?
            .query_row([staff_id], staff_from_row)
            .optional()?
            .ok_or_else(account_not_found)
    }

    fn active_admins_except(&self, staff_id: &str) -> Result<usize> {
        Ok(self
            .list_staff()?
            .iter()
            .filter(|s| s.id != staff_id && s.active && s.has_role(Role::Admin))
            .count())
    }

    fn update_staff(
        &mut self,
        staff_id: &str,
        set: &str,
        fields: Map<String, serde_json::Value>,
        value: &dyn rusqlite::ToSql,
    ) -> Result<()> {
        let now = now_text(&*self.clock);
        let signer = self.staff_signer()?.clone();
        let tx = self.conn.savepoint()?;
        let n = tx.execute(
            &format!("UPDATE staff SET {set} = ?2, updated_at = ?3 WHERE id = ?1"),
            params![staff_id, value, now],
        )?;
        if n == 0 {
            return Err(account_not_found());
        }
        crate::staff_sign::append_signed(
            &tx,
            &self.hall_code,
            staff_id,
            Op::Update,
            fields,
            &now,
            &signer,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Enables or disables an account; the last active admin stays.
    pub fn set_staff_active(&mut self, staff_id: &str, active: bool) -> Result<Staff> {
        let staff = self.staff_by_id(staff_id)?;
        if !active && staff.has_role(Role::Admin) {
            check_admin_remains(self.active_admins_except(staff_id)?)?;
        }
        let mut f = Map::new();
        f.insert("active".into(), json!(active));
        self.update_staff(staff_id, "active", f, &active)?;
        tracing::info!(staff_id, active, "staff account enabled/disabled");
        self.staff_by_id(staff_id)
    }

    /// Sets a new password for an account (admin reset).
    pub fn reset_password(&mut self, staff_id: &str, password: &str) -> Result<()> {
        check_password(password)?;
        let staff = self.staff_by_id(staff_id)?;
        // A new reading key (and signing key from it): the admin cannot open the old one (and
        // must not). The account reads its reports again once a supervisor's login seals them
        // to the new key.
        let secret = xinfang_seal::new_secret();
        let signer = match &self.signer {
            Some(admin) => admin.clone(),
            None => {
                // Opened with the recovery key: no admin's key to sign with. The account signs
                // its own reset, which this desk takes and the city and other desks set aside
                // (docs/security.md: another admin of the hall resets it again, signed).
                tracing::warn!(
                    staff_id,
                    "password reset without an admin's key: self-signed"
                );
                crate::staff_sign::Signer::of(staff_id, &secret)
            }
        };
        let hash = hash_password(password)?;
        let mut f = Map::new();
        f.insert("password_hash".into(), json!(hash));
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        tx.execute(
            "UPDATE staff SET password_hash = ?2, updated_at = ?3 WHERE id = ?1",
            params![staff_id, hash, now],
        )?;
        crate::staff_sign::append_signed(
            &tx,
            &self.hall_code,
            staff_id,
            Op::Update,
            f,
            &now,
            &signer,
        )?;
        crate::box_keys::store_keys(
            &tx,
            &self.hall_code,
            staff_id,
            &secret,
            password,
            &now,
            &signer,
        )?;
        tx.commit()?;
        // A new key slot for the account: the admin's session holds the data key.
        self.set_password_slot(&staff.username, password)?;
        tracing::info!(staff_id, "staff password reset");
        Ok(())
    }

    /// Replaces an account's roles; the last active admin keeps the admin role.
    pub fn set_staff_roles(&mut self, staff_id: &str, roles: &[Role]) -> Result<Staff> {
        let staff = self.staff_by_id(staff_id)?;
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        if roles.is_empty() {
            return Err(ValidationErrors::from(FieldError::new(
                "roles",
                "role_empty",
                "未指定角色：请至少选择一个角色。",
            ))
            .into());
        }
        if staff.active && staff.has_role(Role::Admin) && !roles.contains(&Role::Admin) {
            check_admin_remains(self.active_admins_except(staff_id)?)?;
        }
        let text = roles_text(&roles);
        let mut f = Map::new();
        f.insert("roles".into(), json!(text));
        self.update_staff(staff_id, "roles", f, &text)?;
        tracing::info!(staff_id, "staff roles changed");
        self.staff_by_id(staff_id)
    }

    /// The display name of a staff member ("" when unknown).
    pub fn staff_name(&self, staff_id: &str) -> Result<String> {
        staff_name(&self.conn, staff_id)
    }
}
