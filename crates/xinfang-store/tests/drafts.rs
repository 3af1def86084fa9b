//! Drafts of unsubmitted forms: kept per staff member in the encrypted store, never in the
//! change log, and still there after the store is closed and unlocked again.

use tempfile::TempDir;
use xinfang_core::staff::Role;
use xinfang_store::{DB_FILE, DRAFT_MAX_BYTES, NewStaff, Staff, Store, StoreError};

const NAME: &str = "林默然";

fn add(store: &mut Store, username: &str) -> Staff {
    store
        .add_staff(&NewStaff {
            username: username.into(),
            display_name: format!("{username}姓名"),
            roles: vec![Role::Clerk],
            password: format!("{username}-pass-2026"),
        })
        .unwrap()
}

fn hall() -> (TempDir, Store, Staff, Staff) {
    let dir = TempDir::new().unwrap();
    let (mut store, _) = Store::create(dir.path(), "140521").unwrap();
    let a = add(&mut store, "clerk");
    let b = add(&mut store, "other");
    (dir, store, a, b)
}

fn draft(name: &str) -> String {
    serde_json::json!({ "form": { "visitors": [{ "name": name }], "appeal": "拖欠工资" } })
        .to_string()
}

/// The JSON of `staff`'s draft of `form`, if any.
fn draft_json(store: &Store, staff: &Staff, form: &str) -> Option<String> {
    store.load_draft(&staff.id, form).unwrap().map(|d| d.json)
}

fn field_error(e: StoreError) -> (String, String, String) {
    match e {
        StoreError::Invalid(v) => {
            let f = v.0.into_iter().next().unwrap();
            (f.field, f.code, f.message)
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn save_load_replace_discard() {
    let (_dir, store, clerk, _) = hall();
    assert_eq!(store.load_draft(&clerk.id, "register").unwrap(), None);

    let saved = store
        .save_draft(&clerk.id, "register", &draft(NAME))
        .unwrap();
    let loaded = store.load_draft(&clerk.id, "register").unwrap().unwrap();
    assert_eq!(loaded, saved);
    assert_eq!(loaded.json, draft(NAME));
    assert!(
        loaded.updated_at.ends_with("+08:00"),
        "{}",
        loaded.updated_at
    );

    // A second save replaces the first: one draft per staff member and form.
    store
        .save_draft(&clerk.id, "register", &draft("林默"))
        .unwrap();
    assert_eq!(
        draft_json(&store, &clerk, "register").unwrap(),
        draft("林默")
    );
    // Another form of the same person is a draft of its own.
    store
        .save_draft(&clerk.id, "consultation", r#"{"question":"工资"}"#)
        .unwrap();
    assert_eq!(
        draft_json(&store, &clerk, "register").unwrap(),
        draft("林默")
    );

    assert!(store.discard_draft(&clerk.id, "register").unwrap());
    assert_eq!(store.load_draft(&clerk.id, "register").unwrap(), None);
    assert!(
        !store.discard_draft(&clerk.id, "register").unwrap(),
        "nothing left to discard"
    );
    assert!(
        store
            .load_draft(&clerk.id, "consultation")
            .unwrap()
            .is_some()
    );
}

#[test]
fn each_staff_member_sees_only_their_own_drafts() {
    let (_dir, store, clerk, other) = hall();
    store
        .save_draft(&clerk.id, "register", &draft(NAME))
        .unwrap();
    assert_eq!(store.load_draft(&other.id, "register").unwrap(), None);

    store
        .save_draft(&other.id, "register", &draft("张建国"))
        .unwrap();
    assert_eq!(draft_json(&store, &clerk, "register").unwrap(), draft(NAME));
    // Discarding one's own draft leaves the colleague's.
    store.discard_draft(&other.id, "register").unwrap();
    assert_eq!(draft_json(&store, &clerk, "register").unwrap(), draft(NAME));
}

#[test]
fn drafts_are_never_in_the_change_log() {
    let (_dir, store, clerk, _) = hall();
    let before = store.changes_since(0, 100_000).unwrap();
    store
        .save_draft(&clerk.id, "register", &draft(NAME))
        .unwrap();
    store
        .save_draft(&clerk.id, "register", &draft("林默"))
        .unwrap();
    store.discard_draft(&clerk.id, "register").unwrap();
    store
        .save_draft(&clerk.id, "mediation", &draft(NAME))
        .unwrap();
    let after = store.changes_since(0, 100_000).unwrap();
    assert_eq!(after.len(), before.len(), "no change-log row for a draft");
    assert!(after.iter().all(|c| !c.fields.to_string().contains(NAME)));
    let report = store.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

#[test]
fn a_draft_survives_closing_and_unlocking_again_and_is_encrypted() {
    let (dir, store, clerk, _) = hall();
    store
        .save_draft(&clerk.id, "register", &draft(NAME))
        .unwrap();
    drop(store); // as at an idle lock, or a crash after the commit

    let (store, me) = Store::login(dir.path(), "clerk", "clerk-pass-2026").unwrap();
    assert_eq!(me.id, clerk.id);
    assert_eq!(draft_json(&store, &me, "register").unwrap(), draft(NAME));
    drop(store);

    // The name is in no file of the data dir in clear.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(NAME.len()).any(|w| w == NAME.as_bytes()),
            "{} holds the draft in clear",
            path.display()
        );
    }
    assert!(dir.path().join(DB_FILE).exists());
}

#[test]
fn unknown_forms_and_oversized_or_malformed_drafts_are_refused_in_chinese() {
    let (_dir, store, clerk, _) = hall();
    let (field, code, message) =
        field_error(store.save_draft(&clerk.id, "passwords", "{}").unwrap_err());
    assert_eq!(
        (field.as_str(), code.as_str()),
        ("form", "draft_form_unknown")
    );
    assert!(
        message.contains("passwords") && message.contains("register"),
        "{message}"
    );
    assert!(message.contains("草稿"), "{message}");
    let (_, code, _) = field_error(store.load_draft(&clerk.id, "passwords").unwrap_err());
    assert_eq!(code, "draft_form_unknown");
    let (_, code, _) = field_error(store.discard_draft(&clerk.id, "").unwrap_err());
    assert_eq!(code, "draft_form_unknown");

    let big = format!(r#"{{"appeal":"{}"}}"#, "字".repeat(DRAFT_MAX_BYTES / 3 + 1));
    let (field, code, message) =
        field_error(store.save_draft(&clerk.id, "register", &big).unwrap_err());
    assert_eq!((field.as_str(), code.as_str()), ("json", "draft_too_large"));
    assert!(message.contains("64 KiB"), "{message}");
    // Exactly at the limit is kept.
    let pad = DRAFT_MAX_BYTES - r#"{"a":""}"#.len();
    let edge = format!(r#"{{"a":"{}"}}"#, "x".repeat(pad));
    assert_eq!(edge.len(), DRAFT_MAX_BYTES);
    store.save_draft(&clerk.id, "register", &edge).unwrap();

    let (_, code, message) = field_error(
        store
            .save_draft(&clerk.id, "register", "[1,2]")
            .unwrap_err(),
    );
    assert_eq!(code, "draft_not_json");
    assert!(message.contains("JSON"), "{message}");
    // Refusals leave the stored draft as it was.
    assert_eq!(draft_json(&store, &clerk, "register").unwrap(), edge);
}
