//! A 检举控告's appeal is readable only by the accounts allowed to read it — the registering
//! clerk, the hall's supervisors and the city's reviewer key — whoever holds the database key
//! (issue 15, item 2): a lawyer's copy of the store, opened with the lawyer's key, holds no
//! plaintext of it in any table, the change log included.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use tempfile::TempDir;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::{CONFIDENTIAL_MASK, Role};
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Store, open_raw};
use xinfang_sync::DeskReplica;

mod common;

const SECRET: &str = "举报县某局局长收受红包二十万元";
const PASS: &str = "correct horse 9";

fn new_staff(username: &str, role: Role) -> NewStaff {
    NewStaff {
        username: username.into(),
        display_name: format!("{username}姓名"),
        roles: vec![role],
        password: PASS.into(),
    }
}

/// A hall desk with every role.
fn desk() -> TempDir {
    let dir = TempDir::new().unwrap();
    let (mut store, _) =
        Store::create_with_admin(dir.path(), "140521", &new_staff("admin", Role::Admin)).unwrap();
    for (u, r) in [
        ("clerk1", Role::Clerk),
        ("clerk2", Role::Clerk),
        ("boss", Role::Supervisor),
        ("lawyer", Role::Lawyer),
        ("mediator", Role::Mediator),
    ] {
        store.add_staff(&new_staff(u, r)).unwrap();
    }
    dir
}

fn login(dir: &Path, username: &str) -> Store {
    Store::login(dir, username, PASS).unwrap().0
}

fn register_report(dir: &Path) -> String {
    let (mut store, clerk) = Store::login(dir, "clerk1", PASS).unwrap();
    let body = "14052119800115013";
    let input = VisitInput {
        visited_at: "2026-03-03T09:30:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: "李举报".into(),
            id_number: format!("{body}{}", resident_id_check_char(body).unwrap()),
            phone: "13800000001".into(),
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: SECRET.into(),
        appeal_kind: "report".into(),
        category: "纪检监察".into(),
        agency: String::new(),
        place_code: "140521".into(),
    };
    let now: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-03-03T12:00:00+08:00").unwrap();
    let v = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
    store.register_visit(&v, &clerk.id).unwrap().visit_id
}

fn appeal_as(dir: &Path, username: &str, visit_id: &str) -> String {
    login(dir, username).visit_row(visit_id).unwrap().appeal
}

/// Every text and blob of every table of the database, read with `store`'s data key.
fn plaintext_anywhere(dir: &Path, store: &Store, needle: &str) -> Vec<String> {
    let key = store.data_key().expect("an encrypted store");
    let conn = open_raw(&dir.join("xinfang.db"), Some(&key)).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut found = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                let hit = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
                        String::from_utf8_lossy(b).contains(needle)
                    }
                    _ => false,
                };
                if hit {
                    found.push(t.clone());
                }
            }
        }
    }
    found
}

#[test]
fn only_the_registering_clerk_and_the_supervisors_read_a_report() {
    let dir = desk();
    let visit = register_report(dir.path());
    assert_eq!(appeal_as(dir.path(), "clerk1", &visit), SECRET);
    assert_eq!(appeal_as(dir.path(), "boss", &visit), SECRET);
    for other in ["clerk2", "lawyer", "mediator", "admin"] {
        assert_eq!(
            appeal_as(dir.path(), other, &visit),
            CONFIDENTIAL_MASK,
            "{other}"
        );
    }
}

/// A day's list shows every confidential appeal masked (the app masks it for everyone), so it
/// does not open a sealed one, even for a reader: opening costs a key agreement per report.
/// The visit's own row still opens it for its readers.
#[test]
fn the_days_list_does_not_open_a_report_its_row_does() {
    let dir = desk();
    let visit = register_report(dir.path());
    for reader in ["clerk1", "boss"] {
        let store = login(dir.path(), reader);
        let day = store.visits_on("2026-03-03").unwrap();
        assert_eq!(day.len(), 1);
        assert!(day[0].confidential);
        assert_eq!(day[0].appeal, CONFIDENTIAL_MASK, "{reader}");
        assert_eq!(store.visit_row(&visit).unwrap().appeal, SECRET, "{reader}");
    }
}

#[test]
fn a_lawyers_copy_opened_with_the_lawyers_key_holds_no_plaintext_of_a_report() {
    let hall = desk();
    let visit = register_report(hall.path());
    // On the desk where it was registered, with the lawyer's login (and so the data key).
    let lawyer = login(hall.path(), "lawyer");
    assert_eq!(
        plaintext_anywhere(hall.path(), &lawyer, SECRET),
        Vec::<String>::new()
    );
    // On the lawyer's own desk, which received everything by sync.
    let own = TempDir::new().unwrap();
    let (mut theirs, _) =
        Store::create_with_admin(own.path(), "140521", &new_staff("it", Role::Admin)).unwrap();
    theirs
        .add_staff(&new_staff("lawyer2", Role::Lawyer))
        .unwrap();
    let from = login(hall.path(), "admin");
    common::pull_changes(
        &mut theirs,
        &from,
        from.local_changes(0, 10_000).unwrap(),
        0,
    );
    drop(theirs);
    let lawyer2 = login(own.path(), "lawyer2");
    assert_eq!(lawyer2.visit_row(&visit).unwrap().appeal, CONFIDENTIAL_MASK);
    assert_eq!(
        plaintext_anywhere(own.path(), &lawyer2, SECRET),
        Vec::<String>::new()
    );
}

#[test]
fn readers_follow_the_hall_a_new_supervisor_reads_one_who_left_does_not() {
    let dir = desk();
    let visit = register_report(dir.path());
    let mut admin = login(dir.path(), "admin");
    let boss2 = admin
        .add_staff(&new_staff("boss2", Role::Supervisor))
        .unwrap();
    let boss = admin
        .list_staff()
        .unwrap()
        .into_iter()
        .find(|s| s.username == "boss")
        .unwrap();
    drop(admin);
    // Sealed before boss2 existed: not yet theirs.
    assert_eq!(appeal_as(dir.path(), "boss2", &visit), CONFIDENTIAL_MASK);
    // A reader's login seals it for the readers of now.
    assert_eq!(appeal_as(dir.path(), "boss", &visit), SECRET);
    assert_eq!(appeal_as(dir.path(), "boss2", &visit), SECRET);
    // boss leaves: the next reader's login seals it without them.
    login(dir.path(), "admin")
        .set_staff_active(&boss.id, false)
        .unwrap();
    assert_eq!(appeal_as(dir.path(), "boss2", &visit), SECRET);
    let raw = raw_appeal(dir.path(), &visit);
    let readers = xinfang_seal::recipients(&raw).unwrap();
    assert!(readers.iter().any(|r| r.contains(&boss2.id)), "{readers:?}");
    assert!(!readers.iter().any(|r| r.contains(&boss.id)), "{readers:?}");
    // An admin's password reset gives clerk1 a new key: a supervisor's login seals to it.
    let mut admin = login(dir.path(), "admin");
    let clerk1 = admin
        .list_staff()
        .unwrap()
        .into_iter()
        .find(|s| s.username == "clerk1")
        .unwrap();
    admin.reset_password(&clerk1.id, "another pass 7").unwrap();
    drop(admin);
    let read_clerk1 = || {
        Store::login(dir.path(), "clerk1", "another pass 7")
            .unwrap()
            .0
            .visit_row(&visit)
            .unwrap()
            .appeal
    };
    assert_eq!(read_clerk1(), CONFIDENTIAL_MASK);
    assert_eq!(appeal_as(dir.path(), "boss2", &visit), SECRET);
    assert_eq!(read_clerk1(), SECRET);
}

#[test]
fn a_password_change_keeps_the_reading_key() {
    let dir = desk();
    let visit = register_report(dir.path());
    let mut clerk = login(dir.path(), "clerk1");
    let id = clerk
        .list_staff()
        .unwrap()
        .into_iter()
        .find(|s| s.username == "clerk1")
        .unwrap()
        .id;
    clerk
        .change_password(&id, PASS, "brand new pass 3")
        .unwrap();
    drop(clerk);
    let (store, _) = Store::login(dir.path(), "clerk1", "brand new pass 3").unwrap();
    assert_eq!(store.visit_row(&visit).unwrap().appeal, SECRET);
}

fn raw_appeal(dir: &Path, visit_id: &str) -> String {
    let store = login(dir, "admin");
    let conn = open_raw(&dir.join("xinfang.db"), store.data_key().as_ref()).unwrap();
    conn.query_row("SELECT appeal FROM visits WHERE id = ?1", [visit_id], |r| {
        r.get(0)
    })
    .unwrap()
}

/// Writes `visit_id`'s appeal as another desk would have sealed it: for `username` alone. The
/// UPDATE is what applying a pulled change does to the row (and its trigger marks the visit).
fn seal_for_one(dir: &Path, visit_id: &str, username: &str) {
    let store = login(dir, "admin");
    let conn = open_raw(&dir.join("xinfang.db"), store.data_key().as_ref()).unwrap();
    let (id, public): (String, String) = conn
        .query_row(
            "SELECT id, box_public FROM staff WHERE username = ?1",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let reader =
        xinfang_seal::Recipient::staff(&id, xinfang_seal::public_from_hex(&public).unwrap());
    let value = xinfang_seal::seal(
        SECRET.as_bytes(),
        &format!("visit:{visit_id}:appeal"),
        &[reader],
    )
    .unwrap();
    conn.execute(
        "UPDATE visits SET appeal = ?2 WHERE id = ?1",
        [visit_id, value.as_str()],
    )
    .unwrap();
}

fn readers_of(dir: &Path, visit_id: &str) -> usize {
    xinfang_seal::recipients(&raw_appeal(dir, visit_id))
        .unwrap()
        .len()
}

/// With no account changed, a login looks only at the appeals written since the last pass: one
/// that came sealed for fewer readers (from a desk that did not know them all) is sealed for
/// the hall's readers by the next login of a reader who can open it, and waits, marked, through
/// the logins of those who cannot.
#[test]
fn an_appeal_sealed_elsewhere_for_fewer_readers_is_sealed_anew_though_no_account_changed() {
    let dir = desk();
    let visit = register_report(dir.path());
    assert_eq!(appeal_as(dir.path(), "boss", &visit), SECRET);
    assert_eq!(readers_of(dir.path(), &visit), 2, "clerk1 and boss");
    seal_for_one(dir.path(), &visit, "clerk1");
    // boss cannot open it: it stays as it came, and stays marked.
    assert_eq!(appeal_as(dir.path(), "boss", &visit), CONFIDENTIAL_MASK);
    assert_eq!(appeal_as(dir.path(), "clerk2", &visit), CONFIDENTIAL_MASK);
    assert_eq!(readers_of(dir.path(), &visit), 1);
    // clerk1 can: their login seals it for the readers of now, boss included.
    assert_eq!(appeal_as(dir.path(), "clerk1", &visit), SECRET);
    assert_eq!(readers_of(dir.path(), &visit), 2);
    assert_eq!(appeal_as(dir.path(), "boss", &visit), SECRET);
}

/// The pass reads every sealed appeal only when the readers changed. A wrongly sealed appeal
/// nobody marked (here: the mark taken away behind the store's back) is left alone by a login
/// with the same readers, and sealed anew once an account changes.
#[test]
fn a_login_with_the_readers_unchanged_reads_only_the_marked_appeals() {
    let dir = desk();
    let visit = register_report(dir.path());
    assert_eq!(appeal_as(dir.path(), "boss", &visit), SECRET);
    seal_for_one(dir.path(), &visit, "clerk1");
    {
        let store = login(dir.path(), "admin");
        let conn = open_raw(&dir.path().join("xinfang.db"), store.data_key().as_ref()).unwrap();
        conn.execute("DELETE FROM reseal_pending", []).unwrap();
    }
    assert_eq!(appeal_as(dir.path(), "clerk1", &visit), SECRET);
    assert_eq!(
        readers_of(dir.path(), &visit),
        1,
        "not read: nothing changed"
    );
    login(dir.path(), "admin")
        .add_staff(&new_staff("boss2", Role::Supervisor))
        .unwrap();
    assert_eq!(appeal_as(dir.path(), "clerk1", &visit), SECRET);
    assert_eq!(readers_of(dir.path(), &visit), 3, "clerk1, boss and boss2");
}
