//! Staff and role changes are signed by an admin's key and checked by every desk that pulls
//! them (issue 15, item 2): whoever holds a desk's data key — a lawyer with an account there —
//! can write a staff row and its change-log entry, but another desk of the hall sets that change
//! aside and shows it instead of making the lawyer a supervisor or planting a reading key.

use std::path::Path;

use tempfile::TempDir;
use xinfang_core::staff::Role;
use xinfang_store::{NewStaff, Store, open_raw};
use xinfang_sync::DeskReplica;

mod common;

const PASS: &str = "correct horse 9";

fn new_staff(username: &str, role: Role) -> NewStaff {
    NewStaff {
        username: username.into(),
        display_name: format!("{username}姓名"),
        roles: vec![role],
        password: PASS.into(),
    }
}

fn new_desk(admin: &str) -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let (store, _) =
        Store::create_with_admin(dir.path(), "140521", &new_staff(admin, Role::Admin)).unwrap();
    (dir, store)
}

/// `from`'s changes after `after`, as the city would hand them on.
fn pull(into: &mut Store, from: &Store, after: i64) -> i64 {
    common::pull_changes(
        into,
        from,
        from.local_changes(after, 10_000).unwrap(),
        after,
    )
}

fn staff_field(
    store: &Store,
    username: &str,
    pick: impl Fn(&xinfang_store::Staff) -> String,
) -> String {
    pick(
        &store
            .list_staff()
            .unwrap()
            .into_iter()
            .find(|s| s.username == username)
            .unwrap(),
    )
}

/// What a lawyer can do with the desk's data key: write the database directly.
fn write_behind_the_program(dir: &Path, store: &Store, sql: &str) {
    let conn = open_raw(&dir.join("xinfang.db"), store.data_key().as_ref()).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn box_public(dir: &Path, store: &Store, username: &str) -> String {
    let conn = open_raw(&dir.join("xinfang.db"), store.data_key().as_ref()).unwrap();
    conn.query_row(
        "SELECT box_public FROM staff WHERE username = ?1",
        [username],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn a_staff_change_written_behind_the_program_is_set_aside_by_the_other_desks() {
    let (dir_a, mut a) = new_desk("admin");
    let (_dir_b, mut b) = new_desk("admin2");
    common::know_each_other(&mut [&mut a, &mut b]);
    let lawyer = a.add_staff(&new_staff("lawyer", Role::Lawyer)).unwrap();
    let boss = a.add_staff(&new_staff("boss", Role::Supervisor)).unwrap();
    let mut seen = pull(&mut b, &a, 0);
    assert!(
        b.quarantined_changes().unwrap().is_empty(),
        "{:?}",
        b.quarantined_changes()
    );
    assert_eq!(
        staff_field(&b, "lawyer", |s| format!("{:?}", s.roles)),
        "[Lawyer]"
    );
    drop(a);

    // The lawyer logs in on desk A and, with its data key, makes themselves a supervisor and
    // puts their own reading key into the supervisor's record: reports sealed to "the
    // supervisor" would then open for them.
    let (lawyer_a, _) = Store::login(dir_a.path(), "lawyer", PASS).unwrap();
    let lawyer_key = box_public(dir_a.path(), &lawyer_a, "lawyer");
    let hlc = xinfang_sync::hlc::now().0 + 10;
    write_behind_the_program(
        dir_a.path(),
        &lawyer_a,
        &format!(
            "UPDATE staff SET roles = 'lawyer,supervisor' WHERE id = '{l}';
             INSERT INTO change_log(entity, entity_id, op, fields, changed_at, hlc) VALUES
               ('staff', '{l}', 'update', '{{\"roles\":\"lawyer,supervisor\"}}', '2026-12-03T09:00:00+08:00', {hlc});
             UPDATE staff SET box_public = '{k}' WHERE id = '{b}';
             INSERT INTO change_log(entity, entity_id, op, fields, changed_at, hlc) VALUES
               ('staff', '{b}', 'update', '{{\"box_public\":\"{k}\",\"meta_sig\":{{\"by\":\"{l}\",\"hlc\":{hlc},\"sig\":\"00\"}}}}', '2026-12-03T09:00:00+08:00', {hlc});",
            l = lawyer.id,
            b = boss.id,
            k = lawyer_key,
        ),
    );
    drop(lawyer_a);
    // The admin of A, meanwhile, adds a clerk: a signed change.
    let (mut a, _) = Store::login(dir_a.path(), "admin", PASS).unwrap();
    let clerk = a.add_staff(&new_staff("clerk", Role::Clerk)).unwrap();

    seen = pull(&mut b, &a, seen);
    assert!(seen > 0);
    // B took the signed account, and neither forged change.
    assert_eq!(staff_field(&b, "clerk", |s| s.id.clone()), clerk.id);
    assert_eq!(
        staff_field(&b, "lawyer", |s| format!("{:?}", s.roles)),
        "[Lawyer]"
    );
    assert_ne!(box_public(_dir_b.path(), &b, "boss"), lawyer_key);
    let q = b.quarantined_changes().unwrap();
    let reasons: Vec<(&str, &str)> = q
        .iter()
        .map(|c| (c.entity.as_str(), c.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [("staff", "unsigned"), ("staff", "bad_signature")],
        "{q:#?}"
    );
    assert!(q[0].message.contains("管理员签名"), "{}", q[0].message);
    assert!(b.verify().unwrap().ok(), "{:?}", b.verify().unwrap());
}

#[test]
fn only_an_admin_signs_for_others_and_a_desk_the_city_never_pinned_is_not_believed() {
    let (_dir_a, mut a) = new_desk("admin");
    let (_dir_b, mut b) = new_desk("admin2");
    // C is not a desk of the hall the city knows: its roots reach nobody.
    let (_dir_c, mut c) = new_desk("admin3");
    common::know_each_other(&mut [&mut a, &mut b]);
    c.add_staff(&new_staff("intruder", Role::Supervisor))
        .unwrap();
    pull(&mut b, &c, 0);
    assert!(
        b.list_staff()
            .unwrap()
            .iter()
            .all(|s| s.username != "intruder")
    );
    let q = b.quarantined_changes().unwrap();
    assert_eq!(q.len(), 2, "{q:#?}");
    assert!(q.iter().all(|c| c.reason == "bad_signature"), "{q:#?}");

    // A supervisor of A, logged in with their own key, cannot sign a role change.
    let boss = a.add_staff(&new_staff("boss", Role::Supervisor)).unwrap();
    let seen = pull(&mut b, &a, 0);
    drop(a);
    let (mut boss_a, _) = Store::login(_dir_a.path(), "boss", PASS).unwrap();
    assert!(!boss_a.can_sign_staff_changes());
    let refused = boss_a.set_staff_roles(&boss.id, &[Role::Supervisor, Role::Admin]);
    assert!(
        matches!(refused, Err(xinfang_store::StoreError::NeedsAdminKey)),
        "{refused:?}"
    );
    // The boss's own password change is theirs to sign, and B takes it.
    boss_a
        .change_password(&boss.id, PASS, "a new horse 10")
        .unwrap();
    pull(&mut b, &boss_a, seen);
    assert_eq!(b.quarantined_changes().unwrap().len(), 2);
    let b_dir = _dir_b.path().to_path_buf();
    assert_eq!(
        box_public(&b_dir, &b, "boss"),
        box_public(_dir_a.path(), &boss_a, "boss")
    );
}
