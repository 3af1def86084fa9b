//! The store against real SQLite files in temp dirs, including close-and-reopen.

use chrono::{DateTime, FixedOffset};
use tempfile::TempDir;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{DB_FILE, NewStaff, Staff, Store, StoreError, open_raw};

fn id(body17: &str) -> String {
    format!("{body17}{}", resident_id_check_char(body17).unwrap())
}

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn new_store() -> (TempDir, Store, Staff) {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create(dir.path(), "140521").unwrap().0;
    let clerk = store
        .add_staff(&NewStaff {
            username: "clerk".into(),
            display_name: "王接待".into(),
            roles: vec![Role::Clerk],
            password: "correct horse".into(),
        })
        .unwrap();
    (dir, store, clerk)
}

fn person(name: &str, id_number: &str, phone: &str) -> VisitorInput {
    VisitorInput {
        name: name.into(),
        id_number: id_number.into(),
        phone: phone.into(),
        ..Default::default()
    }
}

fn visit(visitors: Vec<VisitorInput>, when: &str) -> VisitInput {
    VisitInput {
        visited_at: when.into(),
        visitors,
        head_count: 0,
        representatives: vec![],
        appeal: "拖欠工资，请求协调支付。".into(),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        agency: "县人社局".into(),
        place_code: "140521".into(),
    }
}

fn register(store: &mut Store, clerk: &Staff, input: &VisitInput) -> xinfang_store::Registered {
    let v = validate_visit(
        input,
        ReferenceData::bundled(),
        at("2026-11-26T12:00:00+08:00"),
    )
    .unwrap();
    store.register_visit(&v, &clerk.id).unwrap()
}

/// Registers a visit of one visitor at `when`.
fn register_one(
    store: &mut Store,
    clerk: &Staff,
    name: &str,
    id_number: &str,
    phone: &str,
    when: &str,
) -> xinfang_store::Registered {
    register(
        store,
        clerk,
        &visit(vec![person(name, id_number, phone)], when),
    )
}

#[test]
fn create_then_reopen_keeps_everything() {
    let (dir, mut store, clerk) = new_store();
    let device = store.device_id().to_owned();
    assert!(store.schema_version().unwrap() >= 1);
    let r = register_one(
        &mut store,
        &clerk,
        "张三丰",
        &id("14052119800101001"),
        "13800138000",
        "2026-11-20T09:30:00+08:00",
    );
    assert_eq!(r.queue_no, 1);
    drop(store);

    let (store, _) = Store::login(dir.path(), "clerk", "correct horse").unwrap();
    assert_eq!(store.hall_code(), "140521");
    assert_eq!(store.device_id(), device);
    let hits = store.search("张三丰", 50).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].visit_count, 1);
    assert_eq!(
        hits[0].last_visit_at.as_deref(),
        Some("2026-11-20T09:30:00+08:00")
    );
    assert!(store.verify().unwrap().ok());
}

#[test]
fn create_refuses_an_existing_store() {
    let (dir, store, _) = new_store();
    drop(store);
    assert!(matches!(
        Store::create(dir.path(), "140521"),
        Err(StoreError::AlreadyExists(_))
    ));
    let empty = TempDir::new().unwrap();
    assert!(matches!(
        Store::login(empty.path(), "clerk", "correct horse"),
        Err(StoreError::NotInitialised(_))
    ));
}

#[test]
fn durable_settings_are_on() {
    let (dir, store, _) = new_store();
    let key = store.data_key();
    drop(store);
    let conn = open_raw(&dir.path().join(DB_FILE), key.as_ref()).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// Each connection keeps a page cache of its own (`.cargo/config.toml`, LIBSQLITE3_FLAGS): built
/// with ENABLE_MEMORY_MANAGEMENT, a second connection in the process (a backup's check, the
/// benches' bare SQLite) that read many pages took the store's cached pages, and the store
/// kept none until it closed — a month's statistics at 1M visits went from 0.3 s to 7 s.
#[test]
fn connections_keep_page_caches_of_their_own() {
    let (dir, store, _) = new_store();
    let conn = open_raw(&dir.path().join(DB_FILE), store.data_key().as_ref()).unwrap();
    let options: Vec<String> = conn
        .prepare("PRAGMA compile_options")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        options.iter().any(|o| o.starts_with("THREADSAFE=")),
        "{options:?}"
    );
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
}

#[test]
fn staff_accounts_and_passwords() {
    let (_dir, mut store, clerk) = new_store();
    assert_eq!(store.authenticate("clerk", "correct horse").unwrap(), clerk);
    assert!(matches!(
        store.authenticate("clerk", "wrong horse"),
        Err(StoreError::BadCredentials)
    ));
    assert!(matches!(
        store.authenticate("nobody", "correct horse"),
        Err(StoreError::BadCredentials)
    ));

    let dup = store.add_staff(&NewStaff {
        username: "clerk".into(),
        display_name: "另一个".into(),
        roles: vec![Role::Lawyer],
        password: "long enough".into(),
    });
    let Err(StoreError::Invalid(errors)) = dup else {
        panic!("duplicate username accepted")
    };
    assert_eq!(errors.0[0].field, "username");
    assert_eq!(errors.0[0].code, "username_taken");

    // All problems at once.
    let bad = store.add_staff(&NewStaff {
        username: "a b".into(),
        display_name: " ".into(),
        roles: vec![],
        password: "short".into(),
    });
    let Err(StoreError::Invalid(errors)) = bad else {
        panic!("bad account accepted")
    };
    let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["username", "display_name", "roles", "password"]);

    // The hash is argon2id, never the password.
    let hash: String = open_raw(store.path(), store.data_key().as_ref())
        .unwrap()
        .query_row(
            "SELECT password_hash FROM staff WHERE username = 'clerk'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert_eq!(store.list_staff().unwrap().len(), 1);
}

#[test]
fn every_write_appends_its_change_log_rows_in_the_same_transaction() {
    let (_dir, mut store, clerk) = new_store();
    let before = store.changes_since(0, 1000).unwrap().len();
    let r = register_one(
        &mut store,
        &clerk,
        "李四",
        &id("14052119900215002"),
        "",
        "2026-11-21T10:00:00+08:00",
    );
    let changes = store.changes_since(0, 1000).unwrap();
    let new: Vec<_> = changes[before..]
        .iter()
        .map(|c| (c.entity.as_str(), c.op.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            ("visitor", "insert"),
            ("visit", "insert"),
            ("visit_visitor", "insert"),
            ("matter", "insert")
        ]
    );
    assert!(
        changes.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "device sequence has gaps"
    );
    let visit_row = changes.iter().find(|c| c.entity == "visit").unwrap();
    assert_eq!(visit_row.entity_id, r.visit_id);
    assert_eq!(visit_row.fields["appeal_kind"], "claim");
    assert_eq!(visit_row.fields["matter_id"], r.matter_id.as_str());
    assert!(
        uuid::Uuid::parse_str(&r.visit_id)
            .unwrap()
            .get_version_num()
            == 7
    );
}

#[test]
fn a_returning_visitor_is_linked_not_duplicated() {
    let (_dir, mut store, clerk) = new_store();
    let full = id("14052119800101001"); // 1980-01-01, odd sequence
    let first = register_one(
        &mut store,
        &clerk,
        "张三丰",
        &full,
        "13800138000",
        "2026-11-01T09:00:00+08:00",
    );
    assert!(first.repeat_of.is_empty());

    // The same person, this time with the old 15-digit card and a new phone.
    let old15 = format!("{}{}", &full[..6], &full[8..17]);
    let second = register_one(
        &mut store,
        &clerk,
        "张三丰",
        &old15,
        "13900139000",
        "2026-11-20T09:00:00+08:00",
    );
    assert_eq!(second.visitor_ids, first.visitor_ids);
    assert_eq!(second.repeat_of, vec![first.visit_id.clone()]);

    let hits = store.search(&full, 50).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].visit_count, 2);
    assert_eq!(hits[0].phone_masked.as_deref(), Some("139****9000"));
    // The new phone is searchable, the visitor update logged.
    assert_eq!(store.search("9000", 50).unwrap().len(), 1);
    let changes = store.changes_since(0, 1000).unwrap();
    assert!(
        changes.iter().any(|c| c.entity == "visitor"
            && c.op == "update"
            && c.fields["phone"] == "13900139000")
    );
    assert!(store.verify().unwrap().ok());
    let history = store.visits_of_visitor(&first.visitor_ids[0]).unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[0].is_repeat && !history[1].is_repeat);
}

#[test]
fn search_finds_by_id_name_pinyin_and_phone() {
    let (_dir, mut store, clerk) = new_store();
    let zhang = id("14052119800101001");
    let x_id = (0..1000)
        .map(|s| id(&format!("14052519750615{s:03}")))
        .find(|i| i.ends_with('X'))
        .expect("some sequence gives an X check character");
    register_one(
        &mut store,
        &clerk,
        "张三丰",
        &zhang,
        "13800138000",
        "2026-10-01T09:00:00+08:00",
    );
    register_one(
        &mut store,
        &clerk,
        "刘𠮷",
        &x_id,
        "0356-2021234",
        "2026-11-02T09:00:00+08:00",
    );
    register_one(
        &mut store,
        &clerk,
        "张丽",
        &id("14050219920304002"),
        "13512345678",
        "2026-11-03T09:00:00+08:00",
    );
    register_one(
        &mut store,
        &clerk,
        "曾",
        &id("14058119650708003"),
        "",
        "2026-11-04T09:00:00+08:00",
    );

    let names = |q: &str| {
        store
            .search(q, 50)
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&zhang), ["张三丰"]);
    assert_eq!(names(&x_id.to_lowercase()), ["刘𠮷"]);
    assert_eq!(names("张"), ["张丽", "张三丰"], "newest visit first");
    assert_eq!(names("曾"), ["曾"]);
    assert_eq!(names("三丰"), ["张三丰"]);
    assert_eq!(names("张三丰"), ["张三丰"]);
    assert_eq!(
        names("张丰"),
        Vec::<String>::new(),
        "pairs must be adjacent"
    );
    assert_eq!(names("𠮷"), ["刘𠮷"]);
    assert_eq!(names("刘𠮷"), ["刘𠮷"]);
    assert_eq!(names("zsf"), ["张三丰"]);
    assert_eq!(names("zhangsanfeng"), ["张三丰"]);
    assert_eq!(names("ZhangS"), ["张三丰"]);
    assert_eq!(names("zeng"), ["曾"]);
    assert_eq!(names("8000"), ["张三丰"]);
    assert_eq!(names("138-0013"), ["张三丰"]);
    assert_eq!(names("2021234"), ["刘𠮷"]);
    assert_eq!(names("0000"), Vec::<String>::new());

    let hit = &store.search("张三丰", 50).unwrap()[0];
    assert_eq!(
        hit.id_number_masked,
        format!("1405**********{}", &zhang[14..])
    );
    assert_eq!(hit.phone_masked.as_deref(), Some("138****8000"));
}

#[test]
fn group_visits_keep_head_count_and_representatives() {
    let (_dir, mut store, clerk) = new_store();
    let mut input = visit(
        vec![
            person("甲一", &id("14052119800101011"), ""),
            person("乙二", &id("14052119800101021"), ""),
            person("丙三", &id("14052119800101031"), ""),
        ],
        "2026-11-20T09:00:00+08:00",
    );
    input.head_count = 30;
    input.representatives = vec![0, 2];
    let r = register(&mut store, &clerk, &input);
    assert_eq!(r.visitor_ids.len(), 3);
    let conn = open_raw(store.path(), store.data_key().as_ref()).unwrap();
    let of_visit = |sql: &str| -> i64 { conn.query_row(sql, [&r.visit_id], |x| x.get(0)).unwrap() };
    assert_eq!(of_visit("SELECT head_count FROM visits WHERE id = ?1"), 30);
    assert_eq!(
        of_visit("SELECT count(*) FROM visit_visitors WHERE visit_id = ?1 AND is_representative"),
        2
    );
}

#[test]
fn queue_numbers_count_per_day() {
    let (_dir, mut store, clerk) = new_store();
    let a = register_one(
        &mut store,
        &clerk,
        "甲",
        &id("14052119800101011"),
        "",
        "2026-11-20T09:00:00+08:00",
    );
    let b = register_one(
        &mut store,
        &clerk,
        "乙",
        &id("14052119800101021"),
        "",
        "2026-11-20T10:00:00+08:00",
    );
    let c = register_one(
        &mut store,
        &clerk,
        "丙",
        &id("14052119800101031"),
        "",
        "2026-11-21T09:00:00+08:00",
    );
    assert_eq!((a.queue_no, b.queue_no, c.queue_no), (1, 2, 1));
}

#[test]
fn backup_is_a_complete_checked_copy() {
    let (dir, mut store, clerk) = new_store();
    register_one(
        &mut store,
        &clerk,
        "张三丰",
        &id("14052119800101001"),
        "",
        "2026-11-20T09:00:00+08:00",
    );
    let dest = dir.path().join("backup").join("copy.db");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    store.backup(&dest).unwrap();
    assert!(matches!(
        store.backup(&dest),
        Err(StoreError::AlreadyExists(_))
    ));

    // The copy is a store of its own: open it as a data dir.
    let restored_dir = TempDir::new().unwrap();
    std::fs::copy(&dest, restored_dir.path().join(DB_FILE)).unwrap();
    std::fs::copy(
        xinfang_store::backup_keyslots_path(&dest),
        restored_dir.path().join(xinfang_store::KEYSLOTS_FILE),
    )
    .unwrap();
    let (restored, _) = Store::login(restored_dir.path(), "clerk", "correct horse").unwrap();
    assert_eq!(restored.search("张三丰", 50).unwrap().len(), 1);
    assert!(restored.verify().unwrap().ok());
}

#[test]
fn verify_reports_a_change_log_out_of_step_with_the_tables() {
    let (_dir, mut store, clerk) = new_store();
    register_one(
        &mut store,
        &clerk,
        "张三丰",
        &id("14052119800101001"),
        "",
        "2026-11-20T09:00:00+08:00",
    );
    assert!(store.verify().unwrap().ok());
    open_raw(store.path(), store.data_key().as_ref())
        .unwrap()
        .execute("DELETE FROM change_log WHERE entity = 'visit'", [])
        .unwrap();
    let report = store.verify().unwrap();
    assert!(!report.ok());
    assert!(
        report.problems.iter().any(|p| p.contains("visits")),
        "{report:?}"
    );
}
