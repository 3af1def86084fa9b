//! The key-slot list is authenticated (issue 15, item 5): whoever can write `keyslots.json` but
//! cannot open the data key can neither plant a slot (which the next rekey would seal the new
//! key to) nor lower the KDF parameters of the next password change. Real stores in temp dirs.

use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;
use xinfang_core::staff::Role;
use xinfang_store::{DB_FILE, KEYSLOTS_FILE, NewStaff, Store, StoreError, open_raw};

fn hall() -> TempDir {
    let dir = TempDir::new().unwrap();
    let (mut store, _recovery) = Store::create(dir.path(), "140521").unwrap();
    for (u, role) in [("admin", Role::Admin), ("lawyer", Role::Lawyer)] {
        store
            .add_staff(&NewStaff {
                username: u.into(),
                display_name: format!("{u}姓名"),
                roles: vec![role],
                password: format!("{u}-pass-2026"),
            })
            .unwrap();
    }
    dir
}

fn read_slots(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(KEYSLOTS_FILE)).unwrap()).unwrap()
}

fn write_slots(dir: &Path, v: &Value) {
    std::fs::write(
        dir.join(KEYSLOTS_FILE),
        serde_json::to_string_pretty(v).unwrap(),
    )
    .unwrap();
}

fn assert_tampered(r: Result<impl Sized, StoreError>) {
    match r {
        Err(StoreError::Encryption(m)) => assert!(m.contains("被改动"), "{m}"),
        Err(e) => panic!("expected the tampered-slots refusal, got {e}"),
        Ok(_) => panic!("a changed key-slot file was accepted"),
    }
}

/// Someone with write access to the data dir (no password, no data key) copies a slot, puts
/// their own X25519 public key in it and waits for the admin's rekey, which used to seal the new
/// data key to it. Now the admin's login refuses the file; the original file works again.
#[test]
fn a_planted_slot_is_refused_before_any_key_is_sealed_to_it() {
    let dir = hall();
    let original = read_slots(dir.path());
    let attacker = crypto_box::SecretKey::from_bytes([7u8; 32]);
    let mut planted = original.clone();
    let slots = planted["slots"].as_array_mut().unwrap();
    let mut slot = slots
        .iter()
        .find(|s| s["username"] == "lawyer")
        .unwrap()
        .clone();
    slot["id"] = "0193a000-0000-7000-8000-000000000001".into();
    slot["username"] = "mallory".into();
    slot["public_key"] = attacker
        .public_key()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into();
    slots.push(slot);
    write_slots(dir.path(), &planted);

    // The former code let the admin in, and the rekey sealed the new key to the planted slot.
    let login = Store::login(dir.path(), "admin", "admin-pass-2026").map(|(mut store, s)| {
        let _ = store.rekey();
        (store, s)
    });
    let after = read_slots(dir.path());
    for s in after["slots"].as_array().unwrap() {
        if s["username"] != "mallory" {
            continue;
        }
        for field in ["sealed_key", "pending_sealed_key"] {
            let Some(hex) = s[field].as_str().filter(|h| !h.is_empty()) else {
                continue;
            };
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            assert!(
                attacker.unseal(&bytes).is_err(),
                "the planted slot received a data key ({field})"
            );
        }
    }
    assert_tampered(login);
    write_slots(dir.path(), &original);
    let (store, admin) = Store::login(dir.path(), "admin", "admin-pass-2026").unwrap();
    assert_eq!(admin.username, "admin");
    drop(store);
}

/// Lowering `new_slot_kdf` to argon2's minimum made the next password change write a slot a
/// laptop thief could brute-force; now the change is refused and the slot is as it was.
#[test]
fn lowered_kdf_parameters_are_refused_at_the_next_password_change() {
    let dir = hall();
    let (mut store, lawyer) = Store::login(dir.path(), "lawyer", "lawyer-pass-2026").unwrap();
    let mut weak = read_slots(dir.path());
    weak["new_slot_kdf"] = serde_json::json!({"m_kib": 8, "t": 1, "p": 1});
    write_slots(dir.path(), &weak);

    assert_tampered(store.change_password(&lawyer.id, "lawyer-pass-2026", "lawyer-new-2026"));
    let after = read_slots(dir.path());
    for s in after["slots"].as_array().unwrap() {
        assert_ne!(s["kdf"]["m_kib"], 8, "a slot was written with m = 8 KiB");
    }
}

/// Removing the MAC does not turn the file back into an unauthenticated one: the store
/// remembers that its slots carry one.
#[test]
fn a_file_stripped_of_its_mac_is_refused() {
    let dir = hall();
    let mut stripped = read_slots(dir.path());
    assert!(
        stripped["mac"].as_str().is_some_and(|m| m.len() == 64),
        "the slot list carries a MAC"
    );
    stripped.as_object_mut().unwrap().remove("mac");
    write_slots(dir.path(), &stripped);
    assert_tampered(Store::login(dir.path(), "lawyer", "lawyer-pass-2026"));
}

/// A store made before the MAC existed (no `mac`, no record of one in the database) opens and
/// gets its MAC at that first unlock; from then on a change is caught.
#[test]
fn a_legacy_file_is_authenticated_at_its_first_unlock() {
    let dir = hall();
    {
        // As if made by the former code: no MAC in the file, none recorded in the database.
        let (store, _) = Store::login(dir.path(), "admin", "admin-pass-2026").unwrap();
        let key = store.data_key().unwrap();
        drop(store);
        let conn = open_raw(&dir.path().join(DB_FILE), Some(&key)).unwrap();
        conn.execute("DELETE FROM meta WHERE key = 'keyslots_mac'", [])
            .unwrap();
    }
    let mut legacy = read_slots(dir.path());
    legacy.as_object_mut().unwrap().remove("mac");
    write_slots(dir.path(), &legacy);

    let (_store, _) = Store::login(dir.path(), "lawyer", "lawyer-pass-2026").unwrap();
    let now = read_slots(dir.path());
    assert!(now["mac"].as_str().is_some_and(|m| m.len() == 64));
    let mut changed = now.clone();
    changed["new_slot_kdf"]["m_kib"] = 8.into();
    write_slots(dir.path(), &changed);
    assert_tampered(Store::login(dir.path(), "admin", "admin-pass-2026"));
    // And stripping it again does not help either.
    let mut stripped = now;
    stripped.as_object_mut().unwrap().remove("mac");
    write_slots(dir.path(), &stripped);
    assert_tampered(Store::login(dir.path(), "admin", "admin-pass-2026"));
}
