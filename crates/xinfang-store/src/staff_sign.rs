//! Signed staff changes on the desk (issue 15, item 2; the rule is `xinfang_sync::staff_sig`).
//!
//! Every staff change this desk logs is signed: by the logged-in admin (an account's creation,
//! roles, enabling, a password reset), by the account itself (its own password and keys), or —
//! the desk's first admin only — by the new account itself, which makes it a root the city pins
//! when this desk enrols. Every staff change pulled from the city is checked back to the hall's
//! roots before it is applied; one that fails is set aside in quarantine and shown.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};
use xinfang_seal::signing::SigningKey;
use xinfang_sync::staff_sig::{self, RootKey, SignerState};
use xinfang_sync::{Change, Hlc};

use crate::changelog::{self, Op};
use crate::sync::{state_get, state_set};
use crate::{Result, Store, StoreError};

/// An account's signing key, opened with its password for this session.
#[derive(Clone)]
pub(crate) struct Signer {
    pub(crate) staff_id: String,
    pub(crate) key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("staff_id", &self.staff_id)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub(crate) fn of(staff_id: &str, reading: &crypto_box::SecretKey) -> Signer {
        Signer {
            staff_id: staff_id.to_owned(),
            key: xinfang_seal::signing::signing_key(reading),
        }
    }

    pub(crate) fn public_hex(&self) -> String {
        xinfang_seal::signing::verifying_hex(&self.key)
    }
}

fn sync_op(op: Op) -> xinfang_sync::Op {
    match op {
        Op::Insert => xinfang_sync::Op::Insert,
        Op::Update => xinfang_sync::Op::Update,
    }
}

/// Appends a staff change signed by `signer`.
pub(crate) fn append_signed(
    tx: &Connection,
    hall: &str,
    staff_id: &str,
    op: Op,
    mut fields: Map<String, Value>,
    changed_at: &str,
    signer: &Signer,
) -> Result<()> {
    let stamp = Hlc(changelog::causal_stamp(tx, "staff", staff_id)?);
    staff_sig::sign(
        hall,
        staff_id,
        sync_op(op),
        stamp,
        &mut fields,
        &signer.staff_id,
        &signer.key,
    );
    changelog::append_stamped(tx, "staff", staff_id, op, fields, changed_at, stamp)
}

fn read_roots(conn: &Connection, key: &str) -> Result<Vec<RootKey>> {
    Ok(state_get(conn, key)?
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default())
}

fn add_roots(conn: &Connection, key: &str, new: &[RootKey]) -> Result<()> {
    let mut roots = read_roots(conn, key)?;
    for r in new {
        if !roots.iter().any(|k| k.staff_id == r.staff_id) {
            roots.push(r.clone());
        }
    }
    let text = serde_json::to_string(&roots).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    state_set(conn, key, &text)
}

/// Records this desk's first admin as a root to offer at enrolment.
pub(crate) fn add_own_root(conn: &Connection, root: RootKey) -> Result<()> {
    add_roots(conn, "own_roots", &[root])
}

/// The staff account `id` as this desk holds it, for checking what it signed.
fn signer_state(tx: &Connection, id: &str) -> Option<SignerState> {
    tx.prepare_cached("SELECT sign_public, roles, active FROM staff WHERE id = ?1")
        .ok()?
        .query_row([id], |r| {
            let roles: String = r.get(1)?;
            Ok(SignerState {
                sign_public: r.get(0)?,
                roles: roles
                    .split(',')
                    .filter_map(xinfang_core::staff::Role::parse)
                    .collect(),
                active: r.get(2)?,
            })
        })
        .optional()
        .ok()
        .flatten()
}

/// Checks a pulled staff change back to the hall's roots (`None`: it may be applied), or the
/// reason to set it aside.
pub(crate) fn check_pulled(
    tx: &Connection,
    change: &Change,
) -> Result<Option<(&'static str, String)>> {
    let hall: String = tx.query_row("SELECT value FROM meta WHERE key = 'hall_code'", [], |r| {
        r.get(0)
    })?;
    let hall = hall.as_str();
    let mut roots = read_roots(tx, "hall_roots")?;
    roots.extend(read_roots(tx, "own_roots")?);
    Ok(
        staff_sig::verify(hall, change, |id| signer_state(tx, id), &roots)
            .err()
            .map(|r| (r.code, r.message)),
    )
}

impl Store {
    /// The key that signs this session's staff changes: the logged-in admin's.
    pub(crate) fn staff_signer(&self) -> Result<&Signer> {
        self.signer.as_ref().ok_or(StoreError::NeedsAdminKey)
    }

    /// Keeps the hall's root keys from the city (added to those kept: a root is never dropped
    /// by a server that forgot it).
    pub(crate) fn keep_hall_roots(&mut self, roots: &[RootKey]) -> Result<()> {
        add_roots(&self.conn, "hall_roots", roots)
    }

    /// This desk's first admins, to offer at enrolment.
    pub(crate) fn own_roots(&self) -> Result<Vec<RootKey>> {
        read_roots(&self.conn, "own_roots")
    }

    /// Whether this session can sign staff changes (an admin logged in with its key).
    pub fn can_sign_staff_changes(&self) -> bool {
        self.signer.is_some()
    }
}

/// The `sign_public` of `staff_id` as stored (tests and the login's upgrade path).
pub(crate) fn stored_sign_public(conn: &Connection, staff_id: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT sign_public FROM staff WHERE id = ?1",
            params![staff_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}
