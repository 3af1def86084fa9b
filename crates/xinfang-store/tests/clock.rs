//! The store's time is the time of the clock it is given (issue 14): a test sets the time
//! instead of waiting, and the store never reads the computer's clock behind its caller's back.

use std::sync::Arc;

use chrono::Duration;
use tempfile::TempDir;
use xinfang_core::clock::ManualClock;
use xinfang_core::staff::Role;
use xinfang_store::{AuditAction, NewStaff, Store};
use xinfang_sync::DeskReplica;

const PASSWORD: &str = "admin-pass-2026";

#[test]
fn every_time_stamp_is_the_time_of_the_stores_clock() {
    let dir = TempDir::new().unwrap();
    // A date long past: a store that read the computer's clock could not write it.
    let clock = Arc::new(ManualClock::at("2025-03-14T10:15:00+08:00"));
    let admin = NewStaff {
        username: "admin".into(),
        display_name: "管理员".into(),
        roles: vec![Role::Admin],
        password: PASSWORD.into(),
    };
    let (store, _recovery) =
        Store::create_with_admin_at(dir.path(), "140521", &admin, clock.clone()).unwrap();
    // The first account, written as the store was created.
    let changes = store.local_changes(0, 10).unwrap();
    assert!(!changes.is_empty());
    for c in &changes {
        assert_eq!(
            c.changed_at, "2025-03-14T10:15:00.000+08:00",
            "{}",
            c.entity
        );
    }
    drop(store);

    // A day later, unlocked again with the same clock: the store keeps it.
    clock.advance(Duration::days(1));
    let (store, me) = Store::login_at(dir.path(), "admin", PASSWORD, clock.clone()).unwrap();
    let e = store
        .audit(&me.id, AuditAction::ViewFullId, "visitor", "v1", "")
        .unwrap();
    assert_eq!(e.at, "2025-03-15T10:15:00.000+08:00");
    clock.advance(Duration::minutes(5));
    let d = store
        .save_draft(&me.id, "register", r#"{"form":{}}"#)
        .unwrap();
    assert_eq!(d.updated_at, "2025-03-15T10:20:00.000+08:00");
    assert_eq!(store.clock().today().to_string(), "2025-03-15");
}
