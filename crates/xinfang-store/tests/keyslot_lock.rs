//! `keyslots.json` is shared by every process that opens a data dir (the desk app, the
//! `xinfang` CLI). Password changes and new slots from many threads and from a second process
//! at once must all survive: each read-modify-write runs under the `keyslots.lock` lock.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};

use tempfile::TempDir;
use xinfang_core::staff::Role;
use xinfang_store::{KEYSLOTS_LOCK_FILE, NewStaff, Store};

const THREADS: usize = 6;
const CHILD_ACCOUNTS: usize = 3;
/// Set for the copy of this test binary that the parent test starts as a second process.
const CHILD_ENV: &str = "XINFANG_KEYSLOT_LOCK_CHILD_DIR";

fn old_password(user: &str) -> String {
    format!("{user}-old-password")
}

fn new_password(user: &str) -> String {
    format!("{user}-new-password")
}

fn add(store: &mut Store, username: &str, password: &str) {
    store
        .add_staff(&NewStaff {
            username: username.into(),
            display_name: format!("{username}姓名"),
            roles: vec![Role::Clerk],
            password: password.into(),
        })
        .unwrap();
}

/// One worker: logs in as `user`, changes its password twice (old → temp → new), and, as the
/// admin holding the data key, adds a brand-new account `user-added`.
fn work(dir: &Path, user: &str) {
    let (mut store, me) = Store::login(dir, user, &old_password(user)).unwrap();
    let temp = format!("{user}-temp-password");
    store
        .change_password(&me.id, &old_password(user), &temp)
        .unwrap();
    store
        .change_password(&me.id, &temp, &new_password(user))
        .unwrap();
    let added = format!("{user}-added");
    add(&mut store, &added, &new_password(&added));
}

/// The second process: this test binary run again on the test below, with [`CHILD_ENV`] naming
/// the data dir, works on its own accounts while the first process's threads work on theirs.
fn child_process_worker(dir: &Path) {
    let handles: Vec<_> = (0..CHILD_ACCOUNTS)
        .map(|i| {
            let dir = dir.to_path_buf();
            std::thread::spawn(move || work(&dir, &format!("child{i}")))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn threads_and_a_second_process_lose_no_slot() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        return child_process_worker(Path::new(&dir));
    }
    let dir = TempDir::new().unwrap();
    let (mut store, _recovery) = Store::create(dir.path(), "140521").unwrap();
    add(&mut store, "admin", "admin-pass-2026");
    let users: Vec<String> = (0..THREADS).map(|i| format!("clerk{i}")).collect();
    let children: Vec<String> = (0..CHILD_ACCOUNTS).map(|i| format!("child{i}")).collect();
    for u in users.iter().chain(&children) {
        add(&mut store, u, &old_password(u));
    }
    let key = store.data_key().unwrap();
    drop(store);

    // The second process starts first and works while the threads below do.
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "threads_and_a_second_process_lose_no_slot",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .spawn()
        .unwrap();
    let start = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = users
        .iter()
        .map(|u| {
            let (dir, u, start) = (dir.path().to_path_buf(), u.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                work(&dir, &u);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the second process failed");
    assert!(dir.path().join(KEYSLOTS_LOCK_FILE).exists());

    // Every account logs in with its new password, every added account with its own, the old
    // passwords are gone, and the data is intact.
    for u in users.iter().chain(&children) {
        for login in [u.clone(), format!("{u}-added")] {
            let (s, staff) = Store::login(dir.path(), &login, &new_password(&login))
                .unwrap_or_else(|e| panic!("{login} cannot log in with the new password: {e}"));
            assert_eq!(staff.username, login);
            assert!(s.verify().unwrap().ok());
        }
        assert!(Store::login(dir.path(), u, &old_password(u)).is_err());
    }
    let admin = Store::login(dir.path(), "admin", "admin-pass-2026")
        .unwrap()
        .0;
    let mut slots = admin.key_slot_users().unwrap();
    slots.sort();
    assert_eq!(slots.len(), 1 + 2 * (THREADS + CHILD_ACCOUNTS), "{slots:?}");
    assert_eq!(admin.list_staff().unwrap().len(), slots.len());
    // The data key did not change: a connection opened before still fits.
    assert!(Store::open_with_key(dir.path(), &key).is_ok());
}
