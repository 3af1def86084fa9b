//! Each staff account's reading key (X25519): what a 检举控告's sealed content is sealed to
//! (`sealed.rs`). The public key and the secret, wrapped under the account's password
//! (argon2id with the key slots' parameters, XChaCha20-Poly1305 bound to the account), are
//! fields of the staff record, so they sync hall-wide like the password hash and the account
//! reads its reports on every desk of the hall. The data key alone opens neither.
//!
//! Made with the account, rewrapped at a password change, made anew at an admin's reset (the
//! admin never knows the secret: the account then reads again what the hall's supervisors seal
//! to its new key). Accounts made before get theirs at their next login.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, json};
use xinfang_core::staff::Role;
use zeroize::Zeroizing;

use crate::changelog::Op;
use crate::keys::{KdfParams, hex, unhex};
use crate::staff::{Staff, hash_params};
use crate::staff_sign::{Signer, append_signed};
use crate::{Result, Store, StoreError, now_text};
use xinfang_seal::{self as sealed, Opener};

/// A wrapped reading key: `v1$m$t$p$salt$nonce$ciphertext`.
const VERSION: &str = "v1";

fn aad(staff_id: &str, kdf: &KdfParams) -> Vec<u8> {
    format!("xfbox1:{staff_id}:{}:{}:{}", kdf.m_kib, kdf.t, kdf.p).into_bytes()
}

/// Wraps `secret` under `password` for `staff_id`.
pub(crate) fn wrap(
    staff_id: &str,
    secret: &crypto_box::SecretKey,
    password: &str,
) -> Result<String> {
    let kdf = hash_params();
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let mut nonce = [0u8; 24];
    OsRng.fill_bytes(&mut nonce);
    let kek = kdf.derive(password.as_bytes(), &salt)?;
    let bytes = Zeroizing::new(secret.to_bytes());
    let ct = XChaCha20Poly1305::new((&*kek).into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &bytes[..],
                aad: &aad(staff_id, &kdf),
            },
        )
        .map_err(|_| StoreError::Encryption("封装阅读密钥失败".into()))?;
    Ok(format!(
        "{VERSION}${}${}${}${}${}${}",
        kdf.m_kib,
        kdf.t,
        kdf.p,
        hex(&salt),
        hex(&nonce),
        hex(&ct)
    ))
}

/// Opens a wrapped reading key with the account's password.
pub(crate) fn unwrap(
    staff_id: &str,
    wrapped: &str,
    password: &str,
) -> Result<crypto_box::SecretKey> {
    let bad = || StoreError::Encryption("阅读密钥无法用此密码打开".into());
    let parts: Vec<&str> = wrapped.split('$').collect();
    let [VERSION, m, t, p, salt, nonce, ct] = parts[..] else {
        return Err(bad());
    };
    let kdf = KdfParams {
        m_kib: m.parse().map_err(|_| bad())?,
        t: t.parse().map_err(|_| bad())?,
        p: p.parse().map_err(|_| bad())?,
    };
    let nonce = unhex(nonce)?;
    if nonce.len() != 24 {
        return Err(bad());
    }
    let kek = kdf.derive(password.as_bytes(), &unhex(salt)?)?;
    let bytes = Zeroizing::new(
        XChaCha20Poly1305::new((&*kek).into())
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &unhex(ct)?,
                    aad: &aad(staff_id, &kdf),
                },
            )
            .map_err(|_| bad())?,
    );
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| bad())?;
    Ok(crypto_box::SecretKey::from_bytes(bytes))
}

/// Writes an account's reading key (public, wrapped secret) and the signing key's public half
/// with its change-log row, signed by `signer` (the account itself, or an admin's reset).
pub(crate) fn store_keys(
    tx: &Connection,
    hall: &str,
    staff_id: &str,
    secret: &crypto_box::SecretKey,
    password: &str,
    now: &str,
    signer: &Signer,
) -> Result<()> {
    let public = sealed::public_hex(&secret.public_key());
    let wrapped = wrap(staff_id, secret, password)?;
    let sign_public = Signer::of(staff_id, secret).public_hex();
    tx.execute(
        "UPDATE staff SET box_public = ?2, box_secret = ?3, sign_public = ?4, updated_at = ?5 WHERE id = ?1",
        params![staff_id, public, wrapped, sign_public, now],
    )?;
    let mut f = Map::new();
    f.insert("box_public".into(), json!(public));
    f.insert("box_secret".into(), json!(wrapped));
    f.insert("sign_public".into(), json!(sign_public));
    append_signed(tx, hall, staff_id, Op::Update, f, now, signer)?;
    Ok(())
}

/// Whether an account reads sealed content: the clerks who register reports and the hall's
/// supervisors (负责人). Lawyers, mediators and admins never do (issue 15, item 2).
pub fn reads_sealed(roles: &[Role]) -> bool {
    roles.contains(&Role::Clerk) || roles.contains(&Role::Supervisor)
}

impl Store {
    /// After a login with `password`: opens the account's reading key (made now for an
    /// account from before reading keys), so this session reads what is sealed to it, and for
    /// an admin the signing key that comes from it, so this session signs staff changes. An
    /// account that does neither derives nothing (a login costs one KDF less).
    pub(crate) fn open_reading_key(&mut self, staff: &Staff, password: &str) -> Result<()> {
        let admin = staff.has_role(Role::Admin);
        if !reads_sealed(&staff.roles) && !admin {
            return Ok(());
        }
        let wrapped: Option<String> = self
            .conn
            .query_row(
                "SELECT box_secret FROM staff WHERE id = ?1",
                [&staff.id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let secret = match wrapped {
            Some(w) => match unwrap(&staff.id, &w, password) {
                Ok(s) => s,
                Err(_) => {
                    // The password was changed on another desk and this desk's slot still
                    // has the old one: the key synced is wrapped under the new password.
                    tracing::warn!(staff_id = %staff.id, "reading key not opened by this password");
                    return Ok(());
                }
            },
            None => {
                // An account from before reading keys: its keys, signed by itself (the city
                // takes that only from a root; docs/security.md says so).
                let secret = sealed::new_secret();
                let now = now_text(&*self.clock);
                let tx = self.conn.savepoint()?;
                let own = Signer::of(&staff.id, &secret);
                store_keys(
                    &tx,
                    &self.hall_code,
                    &staff.id,
                    &secret,
                    password,
                    &now,
                    &own,
                )?;
                tx.commit()?;
                tracing::info!(staff_id = %staff.id, "reading key made");
                secret
            }
        };
        let own = Signer::of(&staff.id, &secret);
        if crate::staff_sign::stored_sign_public(&self.conn, &staff.id)?.is_none() {
            // An account from before signing keys.
            let now = now_text(&*self.clock);
            let tx = self.conn.savepoint()?;
            tx.execute(
                "UPDATE staff SET sign_public = ?2 WHERE id = ?1",
                params![staff.id, own.public_hex()],
            )?;
            let mut f = Map::new();
            f.insert("sign_public".into(), json!(own.public_hex()));
            append_signed(&tx, &self.hall_code, &staff.id, Op::Update, f, &now, &own)?;
            tx.commit()?;
        }
        if admin {
            self.signer = Some(own);
        }
        if reads_sealed(&staff.roles) {
            self.opener = Some(Opener::staff(&staff.id, secret));
        }
        Ok(())
    }

    /// Whether this session can open sealed content sealed to its account.
    pub fn has_reading_key(&self) -> bool {
        self.opener.is_some()
    }
}
