//! Encryption at rest, key slots and the audit log, against real files in temp dirs.

use std::path::Path;

use chrono::DateTime;
use tempfile::TempDir;
use xinfang_core::clock::ManualClock;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{
    AuditAction, AuditFilter, Credentials, DB_FILE, KEYSLOTS_FILE, NewStaff, Staff, Store,
    StoreError, backup_keyslots_path, open_raw,
};

const NAME: &str = "欧阳春花";
const PHONE: &str = "13912345678";

fn id_number() -> String {
    let body = "14052119800101001";
    format!("{body}{}", resident_id_check_char(body).unwrap())
}

fn add(store: &mut Store, username: &str, role: Role, password: &str) -> Staff {
    store
        .add_staff(&NewStaff {
            username: username.into(),
            display_name: format!("{username}姓名"),
            roles: vec![role],
            password: password.into(),
        })
        .unwrap()
}

struct Hall {
    dir: TempDir,
    store: Store,
    admin: Staff,
    clerk: Staff,
    recovery: String,
}

fn hall() -> Hall {
    let dir = TempDir::new().unwrap();
    let (mut store, recovery) = Store::create(dir.path(), "140521").unwrap();
    let admin = add(&mut store, "admin", Role::Admin, "admin-pass-2026");
    let clerk = add(&mut store, "clerk", Role::Clerk, "clerk-pass-2026");
    let input = VisitInput {
        visited_at: "2026-11-20T09:00:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: NAME.into(),
            id_number: id_number(),
            phone: PHONE.into(),
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: "拖欠工资，请求协调支付。".into(),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        agency: "县人社局".into(),
        place_code: "140521".into(),
    };
    let v = validate_visit(
        &input,
        ReferenceData::bundled(),
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00+08:00").unwrap(),
    )
    .unwrap();
    store.register_visit(&v, &clerk.id).unwrap();
    Hall {
        dir,
        store,
        admin,
        clerk,
        recovery: recovery.as_str().to_owned(),
    }
}

fn data_intact(store: &Store) {
    let hits = store.search(NAME, 10).unwrap();
    assert_eq!(hits.len(), 1, "the seeded visitor is found");
    assert_eq!(store.search(&id_number(), 10).unwrap().len(), 1);
    let report = store.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

fn login(dir: &Path, user: &str, password: &str) -> Result<(Store, Staff), StoreError> {
    Store::login(dir, user, password)
}

/// No seeded name, ID number or phone in the bytes of `path` (if it exists).
fn assert_no_plaintext(path: &Path) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    for needle in [NAME, &id_number(), PHONE, "拖欠工资"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{} holds {needle} in clear",
            path.display()
        );
    }
}

/// Plain SQLite (no key) cannot read the file.
fn assert_unreadable_without_key(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let r = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    });
    assert!(r.is_err(), "{} opened without a key", path.display());
    assert!(matches!(open_raw(path, None), Err(StoreError::WrongKey)));
}

#[test]
fn database_wal_and_backup_are_unreadable_without_the_key() {
    let h = hall();
    let db = h.dir.path().join(DB_FILE);
    // While the store is open the new rows are still in the WAL.
    let wal = h.dir.path().join(format!("{DB_FILE}-wal"));
    assert!(wal.exists());
    for p in [&db, &wal, &h.dir.path().join(format!("{DB_FILE}-shm"))] {
        assert_no_plaintext(p);
    }
    assert_unreadable_without_key(&db);
    // The key slots hold nothing of value in clear either.
    assert_no_plaintext(&h.dir.path().join(KEYSLOTS_FILE));
    let slots = std::fs::read_to_string(h.dir.path().join(KEYSLOTS_FILE)).unwrap();
    assert!(!slots.contains("admin-pass-2026") && !slots.contains("clerk-pass-2026"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(h.dir.path().join(KEYSLOTS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let backups = TempDir::new().unwrap();
    let dest = backups.path().join("copy.db");
    h.store.backup(&dest).unwrap();
    assert_no_plaintext(&dest);
    assert_unreadable_without_key(&dest);
    // With the key (the same data key) the backup opens directly …
    let key = h.store.data_key().unwrap();
    let conn = open_raw(&dest, Some(&key)).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM visitors", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    // … and restored as a data dir with its key slots it unlocks with a password.
    let restored = TempDir::new().unwrap();
    std::fs::copy(&dest, restored.path().join(DB_FILE)).unwrap();
    std::fs::copy(
        backup_keyslots_path(&dest),
        restored.path().join(KEYSLOTS_FILE),
    )
    .unwrap();
    let (copy, _) = login(restored.path(), "clerk", "clerk-pass-2026").unwrap();
    data_intact(&copy);

    // Closed and checkpointed: still nothing in clear.
    drop(h.store);
    assert_no_plaintext(&db);
    assert_no_plaintext(&wal);
}

#[test]
fn wrong_passwords_slow_that_account_down_not_the_hall() {
    let h = hall();
    let dir = h.dir.path();
    drop(h.store);
    // The slowdown is timed by the clock handed to the login: moved, not waited out.
    let clock = std::sync::Arc::new(ManualClock::at("2026-11-26T09:00:00+08:00"));
    let login = |dir: &Path, user: &str, password: &str| {
        Store::login_at(dir, user, password, clock.clone())
    };
    for _ in 0..3 {
        assert!(matches!(
            login(dir, "clerk", "wrong-password"),
            Err(StoreError::BadCredentials)
        ));
    }
    assert!(matches!(
        login(dir, "nobody", "wrong-password"),
        Err(StoreError::BadCredentials)
    ));
    // Now even the right password has to wait …
    let e = login(dir, "clerk", "clerk-pass-2026").unwrap_err();
    assert!(
        matches!(e, StoreError::TooManyAttempts(s) if (1..=2).contains(&s)),
        "{e:?}"
    );
    assert!(e.to_string().contains("秒后再试"));
    // … but only for this account.
    let (store, admin) = login(dir, "admin", "admin-pass-2026").unwrap();
    assert_eq!(admin.id, h.admin.id);
    assert_eq!(store.failed_logins("clerk").unwrap(), 3);
    drop(store);
    clock.advance(chrono::Duration::seconds(1));
    assert!(
        matches!(
            login(dir, "clerk", "clerk-pass-2026"),
            Err(StoreError::TooManyAttempts(_))
        ),
        "still waiting after 1 s"
    );
    clock.advance(chrono::Duration::seconds(2));
    let (store, clerk) = login(dir, "clerk", "clerk-pass-2026").unwrap();
    assert_eq!(clerk.id, h.clerk.id);
    assert_eq!(
        store.failed_logins("clerk").unwrap(),
        0,
        "reset by a good login"
    );
    data_intact(&store);
}

fn slot_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(KEYSLOTS_FILE)).unwrap()).unwrap()
}

fn slot_of<'a>(v: &'a serde_json::Value, user: &str) -> &'a serde_json::Value {
    v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == user)
        .unwrap()
}

#[test]
fn password_change_rewraps_only_that_slot() {
    let mut h = hall();
    let dir = h.dir.path().to_path_buf();
    let before = slot_json(&dir);
    assert!(matches!(
        h.store
            .change_password(&h.clerk.id, "not-the-password", "clerk-new-2026"),
        Err(StoreError::BadCredentials)
    ));
    assert!(
        h.store
            .change_password(&h.clerk.id, "clerk-pass-2026", "short")
            .is_err()
    );
    h.store
        .change_password(&h.clerk.id, "clerk-pass-2026", "clerk-new-2026")
        .unwrap();
    let after = slot_json(&dir);
    assert_eq!(slot_of(&before, "admin"), slot_of(&after, "admin"));
    assert_ne!(
        slot_of(&before, "clerk")["wrapped_secret"],
        slot_of(&after, "clerk")["wrapped_secret"]
    );
    // The data key did not change: the sealed key and public key are the same.
    assert_eq!(
        slot_of(&before, "clerk")["sealed_key"],
        slot_of(&after, "clerk")["sealed_key"]
    );
    drop(h.store);
    assert!(login(&dir, "clerk", "clerk-pass-2026").is_err());
    let (store, _) = login(&dir, "clerk", "clerk-new-2026").unwrap();
    assert!(store.authenticate("clerk", "clerk-new-2026").is_ok());
    data_intact(&store);
}

#[test]
fn admin_reset_gives_a_new_slot_and_the_recovery_key_opens() {
    let mut h = hall();
    let dir = h.dir.path().to_path_buf();
    h.store
        .reset_password(&h.clerk.id, "reset-by-admin-1")
        .unwrap();
    drop(h.store);
    assert!(login(&dir, "clerk", "clerk-pass-2026").is_err());
    let (store, _) = login(&dir, "clerk", "reset-by-admin-1").unwrap();
    data_intact(&store);
    drop(store);

    // The recovery key, as typed: lower case, with or without the dashes.
    assert!(matches!(
        Store::unlock(&dir, &Credentials::Recovery("AAAA-BBBB".into())),
        Err(StoreError::BadCredentials)
    ));
    let typed = h.recovery.to_lowercase().replace('-', " ");
    let mut store = Store::unlock(&dir, &Credentials::Recovery(typed)).unwrap();
    data_intact(&store);
    // Recovery lets an admin set a new password for the locked-out admin.
    store
        .reset_password(&h.admin.id, "admin-recovered-1")
        .unwrap();
    drop(store);
    assert!(login(&dir, "admin", "admin-recovered-1").is_ok());
}

#[test]
fn rekey_rotates_the_data_key_and_keeps_every_slot() {
    let mut h = hall();
    let dir = h.dir.path().to_path_buf();
    let old_key = h.store.data_key().unwrap();
    let gone = add(&mut h.store, "gone", Role::Clerk, "gone-pass-2026");
    h.store.set_staff_active(&gone.id, false).unwrap();
    h.store.rekey().unwrap();
    data_intact(&h.store);
    let new_key = h.store.data_key().unwrap();
    drop(h.store);
    assert!(matches!(
        Store::open_with_key(&dir, &old_key),
        Err(StoreError::WrongKey)
    ));
    assert!(Store::open_with_key(&dir, &new_key).is_ok());
    for (user, pw) in [("admin", "admin-pass-2026"), ("clerk", "clerk-pass-2026")] {
        let (store, _) = login(&dir, user, pw).unwrap();
        data_intact(&store);
    }
    let store = Store::unlock(&dir, &Credentials::Recovery(h.recovery.clone())).unwrap();
    data_intact(&store);
    // The disabled account's slot is gone with the old key.
    assert!(!store.has_key_slot("gone").unwrap());
    assert!(store.has_key_slot("clerk").unwrap());
    let file = std::fs::read_to_string(dir.join(KEYSLOTS_FILE)).unwrap();
    assert!(!file.contains("pending_sealed_key"));
    assert_no_plaintext(&dir.join(DB_FILE));
}

#[test]
fn audit_log_is_chained_and_tampering_is_found() {
    let h = hall();
    let s = &h.store;
    for (i, action) in [
        AuditAction::ViewConfidential,
        AuditAction::ViewFullId,
        AuditAction::ViewFullPhone,
    ]
    .into_iter()
    .enumerate()
    {
        let e = s
            .audit(&h.admin.id, action, "matter", &format!("m{i}"), "")
            .unwrap();
        assert_eq!(e.seq, i as i64 + 1);
    }
    assert!(s.verify_audit_chain().unwrap().is_none());
    let listed = s
        .audit_entries(&AuditFilter {
            entity_id: Some("m1".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].action, "view_full_id");
    assert_eq!(listed[0].device_id, s.device_id());
    assert_eq!(
        s.audit_entries(&AuditFilter {
            staff_id: Some(h.admin.id.clone()),
            from: Some("2000-01-01".into()),
            to: Some("2999-12-31".into()),
            ..Default::default()
        })
        .unwrap()
        .len(),
        3
    );

    let conn = open_raw(s.path(), s.data_key().as_ref()).unwrap();
    // Append-only: the triggers refuse an edit or a removal …
    assert!(
        conn.execute("UPDATE audit_log SET entity_id = 'x' WHERE seq = 2", [])
            .is_err()
    );
    assert!(
        conn.execute("DELETE FROM audit_log WHERE seq = 2", [])
            .is_err()
    );
    // … and whoever drops them is caught by the chain.
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    conn.execute("UPDATE audit_log SET entity_id = 'other' WHERE seq = 2", [])
        .unwrap();
    let broken = s.verify_audit_chain().unwrap().unwrap();
    assert_eq!(broken.seq, 2);
    let report = s.verify().unwrap();
    assert!(!report.ok());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("审计日志链断裂：第 2 条")),
        "{report:?}"
    );
    // A removed entry is found too.
    conn.execute("UPDATE audit_log SET entity_id = 'm1' WHERE seq = 2", [])
        .unwrap();
    assert!(s.verify_audit_chain().unwrap().is_none(), "restored");
    conn.execute("DELETE FROM audit_log WHERE seq = 1", [])
        .unwrap();
    assert_eq!(s.verify_audit_chain().unwrap().unwrap().seq, 1);
}

/// Every export is on record, one with full numbers as `export_full` (issue 15, item 1: only
/// full exports were audited before).
#[test]
fn every_export_is_audited() {
    let mut h = hall();
    h.store
        .log_export("visits", true, 12, "来访台账.xlsx", &h.admin.id)
        .unwrap();
    h.store
        .log_export("visits", false, 12, "来访台账.xlsx", &h.admin.id)
        .unwrap();
    let all = h.store.audit_entries(&AuditFilter::default()).unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["export", "export_full"], "newest first");
    assert!(all.iter().all(|e| e.staff_id == h.admin.id));
    assert!(all[0].detail.contains("12 行"), "{}", all[0].detail);
}

#[test]
fn legacy_plaintext_stores_open_only_as_such() {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
    add(&mut store, "bench", Role::Supervisor, "bench-pass-2026");
    assert!(!store.is_encrypted());
    drop(store);
    assert!(matches!(
        Store::unlock(
            dir.path(),
            &Credentials::password("bench", "bench-pass-2026")
        ),
        Err(StoreError::Encryption(_))
    ));
    let store = Store::open_unencrypted(dir.path()).unwrap();
    assert!(store.authenticate("bench", "bench-pass-2026").is_ok());

    let h = hall();
    assert!(matches!(
        Store::open_unencrypted(h.dir.path()),
        Err(StoreError::WrongKey)
    ));
}
