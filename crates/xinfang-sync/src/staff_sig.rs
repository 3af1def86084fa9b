//! Signed staff and role changes (issue 15, item 2): who may change a staff account, and the
//! check every replica — the city on push, each desk on pull — makes before it takes one.
//!
//! A staff change carries `meta_sig` = `{"by": <signer's staff id>, "hlc": <stamp signed>,
//! "sig": <Ed25519, hex>}` over [`payload`]: the hall, the record, the operation, the stamp
//! and the record's fields (metadata left out), so a signature cannot be moved to another
//! account or hall. The change's own stamp may be the signed one or earlier — never later: an
//! old signed "roles = admin" replayed afterwards cannot outrank the change that replaced it,
//! while a desk whose clock was ahead may still move its unpushed changes back to the right
//! time (`repair_clock`) without its admin signing them again. The signer's key is the `sign_public` of its staff record as the verifying
//! replica holds it, and that record got there the same way, back to a **root**: a hall's first
//! admin, whose own insert signs itself and whose key the city pinned when the desk that made it
//! enrolled with a one-time code (`RootKey`).
//!
//! Who may sign what ([`authority`]): an active admin any staff change; an account its own
//! password and keys ([`SELF_FIELDS`]), nothing else of itself.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use xinfang_core::staff::{Action, Role};

use crate::hlc::Hlc;
use crate::merge::is_meta;
use crate::wire::{Change, Op};

/// Key of the signature in a staff change's fields.
pub const SIG_KEY: &str = "meta_sig";

/// Fields an account may change of itself: its password (hash) and the keys it holds under it.
pub const SELF_FIELDS: &[&str] = &["password_hash", "box_public", "box_secret", "sign_public"];

/// A hall's root key: the first admin of a desk, pinned by the city at that desk's enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RootKey {
    pub staff_id: String,
    /// Ed25519 public key, hex.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sign_public: String,
}

/// A staff account as the verifying replica holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerState {
    pub sign_public: Option<String>,
    pub roles: Vec<Role>,
    pub active: bool,
}

impl SignerState {
    /// From a staff record's fields (`roles` as `admin,clerk`, `active` as bool or 0/1).
    pub fn from_fields(fields: &Map<String, Value>) -> SignerState {
        SignerState {
            sign_public: fields
                .get("sign_public")
                .and_then(Value::as_str)
                .map(str::to_owned),
            roles: fields
                .get("roles")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split(',')
                .filter_map(Role::parse)
                .collect(),
            active: match fields.get("active") {
                Some(Value::Bool(b)) => *b,
                Some(Value::Number(n)) => n.as_i64() == Some(1),
                _ => false,
            },
        }
    }
}

/// Why a staff change was refused: a code (`unsigned`, `bad_signature`, `not_allowed`) and a
/// Chinese reason for the people who see it set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: &str) -> Refusal {
    Refusal {
        code,
        message: message.to_owned(),
    }
}

/// A JSON value with object keys in sorted order, as text: the same bytes on every replica
/// whatever order its JSON library keeps.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// What a staff change's signature covers.
pub fn payload(
    hall: &str,
    entity_id: &str,
    op: Op,
    hlc: Hlc,
    fields: &Map<String, Value>,
) -> Vec<u8> {
    let record: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !is_meta(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut text = format!(
        "xfstaff1\n{hall}\n{entity_id}\n{}\n{}\n",
        op.as_str(),
        hlc.0
    );
    canonical(&Value::Object(record), &mut text);
    text.into_bytes()
}

/// Adds the signature of `signer` (staff id and signing key) to a staff change's fields.
pub fn sign(
    hall: &str,
    entity_id: &str,
    op: Op,
    hlc: Hlc,
    fields: &mut Map<String, Value>,
    signer_id: &str,
    key: &xinfang_seal::signing::SigningKey,
) {
    let sig = xinfang_seal::signing::sign(key, &payload(hall, entity_id, op, hlc, fields));
    fields.insert(
        SIG_KEY.into(),
        serde_json::json!({ "by": signer_id, "hlc": hlc.0, "sig": sig }),
    );
}

/// The signer a staff change names (`None`: unsigned).
pub fn signer_of(fields: &Map<String, Value>) -> Option<&str> {
    fields.get(SIG_KEY)?.get("by")?.as_str()
}

/// Whether the account `signer` may make a change of `fields` to account `target`.
pub fn authority(
    signer_id: &str,
    signer: &SignerState,
    target: &str,
    fields: &Map<String, Value>,
) -> bool {
    if !signer.active {
        return false;
    }
    if xinfang_core::staff::authorize(&signer.roles, Action::ManageStaff).is_ok() {
        return true;
    }
    signer_id == target
        && fields
            .keys()
            .filter(|k| !is_meta(k) && k.as_str() != "updated_at")
            .all(|k| SELF_FIELDS.contains(&k.as_str()))
}

/// Checks a staff change of `hall` before a replica takes it. `signer` looks an account up as
/// this replica holds it; `roots` are the hall's pinned root keys.
pub fn verify(
    hall: &str,
    change: &Change,
    mut signer: impl FnMut(&str) -> Option<SignerState>,
    roots: &[RootKey],
) -> Result<(), Refusal> {
    let sig = change.fields.get(SIG_KEY);
    let (Some(by), Some(signed_at), Some(signature)) = (
        sig.and_then(|s| s.get("by")).and_then(Value::as_str),
        sig.and_then(|s| s.get("hlc")).and_then(Value::as_i64),
        sig.and_then(|s| s.get("sig")).and_then(Value::as_str),
    ) else {
        return Err(refuse(
            "unsigned",
            "人员账号的变更没有管理员签名，未予采用：可能是有人绕过程序直接改了某台接待台的数据库。请核实这台接待台。",
        ));
    };
    let data = payload(
        hall,
        &change.entity_id,
        change.op,
        Hlc(signed_at),
        &change.fields,
    );
    let bad = || {
        refuse(
            "bad_signature",
            "人员账号的变更签名不符，未予采用：签名的账号不认识、签名与内容不符，或内容被改过。请核实这台接待台。",
        )
    };
    if change.hlc.0 > signed_at {
        return Err(bad());
    }
    // A root: the first admin of a desk, its insert signed by itself, its key pinned.
    if by == change.entity_id && change.op == Op::Insert {
        let public = change
            .fields
            .get("sign_public")
            .and_then(Value::as_str)
            .ok_or_else(bad)?;
        let pinned = roots
            .iter()
            .any(|r| r.staff_id == change.entity_id && r.sign_public == public);
        if !pinned || !xinfang_seal::signing::verify(public, &data, signature) {
            return Err(bad());
        }
        return Ok(());
    }
    // A root this replica does not hold as a record (its account was set aside here, e.g.
    // two desks' `admin`) still signs as the admin it was pinned as.
    let state = signer(by)
        .or_else(|| {
            roots
                .iter()
                .find(|r| r.staff_id == by)
                .map(|r| SignerState {
                    sign_public: Some(r.sign_public.clone()),
                    roles: vec![Role::Admin],
                    active: true,
                })
        })
        .ok_or_else(bad)?;
    let public = state.sign_public.as_deref().ok_or_else(bad)?;
    if !xinfang_seal::signing::verify(public, &data, signature) {
        return Err(bad());
    }
    if !authority(by, &state, &change.entity_id, &change.fields) {
        return Err(refuse(
            "not_allowed",
            "人员账号的变更不是由有权限的管理员签名的（或签名的账号已停用），未予采用。",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use xinfang_seal::signing::{signing_key, verifying_hex};

    struct Account {
        id: &'static str,
        key: xinfang_seal::signing::SigningKey,
        state: SignerState,
    }

    fn account(id: &'static str, roles: &[Role]) -> Account {
        let key = signing_key(&xinfang_seal::new_secret());
        let state = SignerState {
            sign_public: Some(verifying_hex(&key)),
            roles: roles.to_vec(),
            active: true,
        };
        Account { id, key, state }
    }

    fn change(entity_id: &str, op: Op, fields: Value) -> Change {
        Change {
            seq: 1,
            entity: "staff".into(),
            entity_id: entity_id.into(),
            op,
            fields: fields.as_object().unwrap().clone(),
            hlc: Hlc(1_000),
            changed_at: "2026-12-03T08:00:00+08:00".into(),
        }
    }

    fn signed(mut c: Change, by: &Account) -> Change {
        sign(
            "140521",
            &c.entity_id.clone(),
            c.op,
            c.hlc,
            &mut c.fields,
            by.id,
            &by.key,
        );
        c
    }

    fn check(c: &Change, accounts: &[&Account], roots: &[RootKey]) -> Result<(), &'static str> {
        verify(
            "140521",
            c,
            |id| {
                accounts
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| a.state.clone())
            },
            roots,
        )
        .map_err(|r| r.code)
    }

    #[test]
    fn an_admin_signs_any_staff_change_and_nobody_else_does() {
        let admin = account("a", &[Role::Admin]);
        let lawyer = account("l", &[Role::Lawyer]);
        let promote = change("l", Op::Update, json!({"roles": "lawyer,supervisor"}));
        let all = [&admin, &lawyer];
        assert_eq!(check(&promote, &all, &[]), Err("unsigned"));
        assert_eq!(check(&signed(promote.clone(), &admin), &all, &[]), Ok(()));
        // The lawyer's own key does not make a lawyer a supervisor.
        assert_eq!(
            check(&signed(promote.clone(), &lawyer), &all, &[]),
            Err("not_allowed")
        );
        // But it changes the lawyer's own password and keys.
        let own = change(
            "l",
            Op::Update,
            json!({"password_hash": "$argon2id$x", "box_public": "ab"}),
        );
        assert_eq!(check(&signed(own.clone(), &lawyer), &all, &[]), Ok(()));
        // Not someone else's.
        let other = change("a", Op::Update, json!({"box_public": "ab"}));
        assert_eq!(
            check(&signed(other, &lawyer), &all, &[]),
            Err("not_allowed")
        );
        // A disabled admin signs nothing.
        let mut gone = account("a", &[Role::Admin]);
        gone.state.active = false;
        assert_eq!(
            check(&signed(promote, &gone), &[&gone, &lawyer], &[]),
            Err("not_allowed")
        );
    }

    #[test]
    fn a_changed_field_stamp_or_record_breaks_the_signature() {
        let admin = account("a", &[Role::Admin]);
        let all = [&admin];
        let good = signed(change("x", Op::Update, json!({"roles": "clerk"})), &admin);
        let mut fields = good.clone();
        fields.fields.insert("roles".into(), json!("supervisor"));
        assert_eq!(check(&fields, &all, &[]), Err("bad_signature"));
        // A later stamp than signed (a replay meant to outrank what replaced it) is refused;
        // an earlier one (a desk's clock set right) is not.
        let mut stamp = good.clone();
        stamp.hlc = Hlc(2_000);
        assert_eq!(check(&stamp, &all, &[]), Err("bad_signature"));
        stamp.hlc = Hlc(500);
        assert_eq!(check(&stamp, &all, &[]), Ok(()));
        let mut resigned = good.clone();
        resigned.fields[SIG_KEY]["hlc"] = json!(2_000);
        resigned.hlc = Hlc(2_000);
        assert_eq!(check(&resigned, &all, &[]), Err("bad_signature"));
        let mut record = good.clone();
        record.entity_id = "y".into();
        assert_eq!(check(&record, &all, &[]), Err("bad_signature"));
        // Metadata is not covered: a desk adds `meta_by` after signing.
        let mut meta = good.clone();
        meta.fields.insert("meta_by".into(), json!("a"));
        assert_eq!(check(&meta, &all, &[]), Ok(()));
        // An unknown signer.
        assert_eq!(check(&good, &[], &[]), Err("bad_signature"));
    }

    #[test]
    fn a_self_signed_admin_is_taken_only_with_its_pinned_key() {
        let first = account("f", &[Role::Admin]);
        let insert = change(
            "f",
            Op::Insert,
            json!({"username": "admin", "roles": "admin", "active": true,
                   "sign_public": first.state.sign_public}),
        );
        let insert = signed(insert, &first);
        assert_eq!(check(&insert, &[], &[]), Err("bad_signature"));
        let root = RootKey {
            staff_id: "f".into(),
            sign_public: first.state.sign_public.clone().unwrap(),
        };
        assert_eq!(check(&insert, &[], std::slice::from_ref(&root)), Ok(()));
        // A root signs for others even where its own account was set aside (two desks'
        // `admin`): it is an admin by its pin.
        let clerk = signed(change("c", Op::Insert, json!({"roles": "clerk"})), &first);
        assert_eq!(check(&clerk, &[], std::slice::from_ref(&root)), Ok(()));
        assert_eq!(check(&clerk, &[], &[]), Err("bad_signature"));
        // Someone else's key in the insert, pinned or not, is refused.
        let forger = account("f", &[Role::Admin]);
        let forged = signed(
            change(
                "f",
                Op::Insert,
                json!({"username": "admin", "roles": "admin", "active": true,
                       "sign_public": forger.state.sign_public}),
            ),
            &forger,
        );
        assert_eq!(check(&forged, &[], &[root]), Err("bad_signature"));
    }

    #[test]
    fn the_payload_does_not_depend_on_key_order() {
        let a = json!({"b": 1, "a": {"y": 2, "x": [1, {"d": 1, "c": 2}]}});
        let mut reordered = Map::new();
        reordered.insert("a".into(), json!({"x": [1, {"c": 2, "d": 1}], "y": 2}));
        reordered.insert("b".into(), json!(1));
        assert_eq!(
            payload("h", "e", Op::Update, Hlc(1), a.as_object().unwrap()),
            payload("h", "e", Op::Update, Hlc(1), &reordered)
        );
    }
}
