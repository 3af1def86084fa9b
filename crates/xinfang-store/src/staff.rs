//! Staff accounts; passwords hashed with argon2id.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, json};
use xinfang_core::account::check_account;
use xinfang_core::staff::Role;
use xinfang_core::{FieldError, ValidationErrors};

use crate::keys::KdfParams;

use crate::changelog::Op;
use crate::staff_sign::Signer;
use crate::{Result, Store, StoreError, now_text};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Staff {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub active: bool,
    pub hall_code: String,
}

impl Staff {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A new account. `Debug` leaves the password out.
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub password: String,
}

/// A new account's problems, each at its field (the rules are core's).
pub(crate) fn validate(new: &NewStaff) -> Result<(), ValidationErrors> {
    check_account(&new.username, &new.display_name, &new.roles, &new.password)
}

/// The argon2id parameters of a staff password hash: those of the key slots (the production
/// ones in release builds). The hash syncs to the hall's other desks and to the city, so it must
/// be no cheaper to guess than a slot (issue 15, item 14; argon2's defaults, m = 19 MiB, t = 2,
/// were). Hashes made before keep their recorded parameters and still verify.
pub(crate) fn hash_params() -> KdfParams {
    KdfParams::for_new_store().at_least(KdfParams::floor())
}

pub(crate) fn hash_password(password: &str) -> Result<String> {
    hash_password_with(password, hash_params())
}

fn hash_password_with(password: &str, kdf: KdfParams) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = argon2::Params::new(kdf.m_kib, kdf.t, kdf.p, None)
        .map_err(|e| StoreError::Password(e.to_string()))?;
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Password(e.to_string()))
}

pub(crate) fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.code()).collect::<Vec<_>>().join(",")
}

pub(crate) fn staff_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Staff> {
    let roles: String = r.get("roles")?;
    Ok(Staff {
        id: r.get("id")?,
        username: r.get("username")?,
        display_name: r.get("display_name")?,
        roles: roles.split(',').filter_map(Role::parse).collect(),
        active: r.get("active")?,
        hall_code: r.get("hall_code")?,
    })
}

impl Store {
    pub fn add_staff(&mut self, new: &NewStaff) -> Result<Staff> {
        validate(new)?;
        let username = new.username.trim().to_owned();
        let exists: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM staff WHERE username = ?1",
                [&username],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_some() {
            return Err(FieldError::new(
                "username",
                "username_taken",
                format!("用户名 {username} 已被占用：请换一个用户名。"),
            )
            .into());
        }
        let hash = hash_password(&new.password)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_text(&*self.clock);
        let staff = Staff {
            id: id.clone(),
            username,
            display_name: new.display_name.trim().to_owned(),
            roles: new.roles.clone(),
            active: true,
            hall_code: self.hall_code.clone(),
        };
        // The account's reading key comes with the record itself (one change), so no desk
        // ever holds the account without it.
        let reading = xinfang_seal::new_secret();
        let box_public = xinfang_seal::public_hex(&reading.public_key());
        let box_secret = crate::box_keys::wrap(&id, &reading, &new.password)?;
        // Its signing key comes from the reading key. The logged-in admin signs the new
        // account. While the store has no admin yet (it is being set up), the account signs
        // itself; the first admin so made is the root this desk offers the city at enrolment
        // (staff_sign.rs). Other desks and the city take a self-signed account only as a root.
        let own = Signer::of(&id, &reading);
        let sign_public = own.public_hex();
        let setting_up: bool = self.signer.is_none()
            && self.conn.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM staff WHERE active = 1 AND ',' || roles || ',' LIKE '%,admin,%')",
                [],
                |r| r.get(0),
            )?;
        let root = setting_up && staff.has_role(Role::Admin);
        let signer = if setting_up {
            own.clone()
        } else {
            self.staff_signer()?.clone()
        };
        let tx = self.conn.savepoint()?;
        tx.execute(
            "INSERT INTO staff(id, username, display_name, roles, password_hash, active, hall_code, created_at, updated_at,
                               box_public, box_secret, sign_public)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?7, ?8, ?9, ?10)",
            params![id, staff.username, staff.display_name, roles_text(&staff.roles), hash, staff.hall_code, now,
                    box_public, box_secret, sign_public],
        )?;
        let mut fields = Map::new();
        fields.insert("username".into(), json!(staff.username));
        fields.insert("display_name".into(), json!(staff.display_name));
        fields.insert("roles".into(), json!(roles_text(&staff.roles)));
        fields.insert("password_hash".into(), json!(hash));
        fields.insert("active".into(), json!(true));
        fields.insert("hall_code".into(), json!(staff.hall_code));
        fields.insert("box_public".into(), json!(box_public));
        fields.insert("box_secret".into(), json!(box_secret));
        fields.insert("sign_public".into(), json!(sign_public));
        crate::staff_sign::append_signed(
            &tx,
            &self.hall_code,
            &id,
            Op::Insert,
            fields,
            &now,
            &signer,
        )?;
        if root {
            crate::staff_sign::add_own_root(
                &tx,
                xinfang_sync::staff_sig::RootKey {
                    staff_id: id.clone(),
                    sign_public: sign_public.clone(),
                },
            )?;
        }
        tx.commit()?;
        if root {
            // The store's maker is its first admin, as if logged in.
            self.signer = Some(own);
        }
        self.set_password_slot(&staff.username, &new.password)?;
        tracing::info!(staff_id = %id, "staff account added");
        Ok(staff)
    }

    pub fn list_staff(&self) -> Result<Vec<Staff>> {
        let mut stmt = self.conn.prepare("SELECT * FROM staff ORDER BY username")?;
        let rows = stmt.query_map([], staff_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Checks a password. The same error for an unknown user and a wrong password.
    pub fn authenticate(&self, username: &str, password: &str) -> Result<Staff> {
        let row = self
            .conn
            .query_row(
                "SELECT *, password_hash FROM staff WHERE username = ?1",
                [username.trim()],
                |r| Ok((staff_from_row(r)?, r.get::<_, String>("password_hash")?)),
            )
            .optional()?;
        let Some((staff, hash)) = row else {
            // Spend the same time as a real check so timing does not reveal which usernames exist.
            let _ = hash_password(password);
            return Err(StoreError::BadCredentials);
        };
        let parsed = PasswordHash::new(&hash).map_err(|e| StoreError::Password(e.to_string()))?;
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .map_err(|_| StoreError::BadCredentials)?;
        if !staff.active {
            return Err(StoreError::Disabled(staff.username));
        }
        Ok(staff)
    }
}

impl std::fmt::Debug for NewStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewStaff")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash that syncs hall-wide costs what a key slot costs: in release builds the
    /// production parameters, recorded in the PHC string, and it verifies.
    #[test]
    fn password_hashes_cost_what_a_key_slot_costs() {
        assert_eq!(
            KdfParams::PRODUCTION.at_least(KdfParams::floor_for(false)),
            KdfParams::PRODUCTION
        );
        let hash = hash_password_with("hall-pass-2026", KdfParams::PRODUCTION).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=65536,t=8,p=1$"),
            "{hash}"
        );
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"hall-pass-2026", &parsed)
                .is_ok()
        );
        // What a store writes is at the level of its slots.
        let p = hash_params();
        let made = hash_password("hall-pass-2026").unwrap();
        assert!(
            made.starts_with(&format!(
                "$argon2id$v=19$m={},t={},p={}$",
                p.m_kib, p.t, p.p
            )),
            "{made}"
        );
    }
}
