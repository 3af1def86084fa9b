//! Matter numbers (事项编号, issue 20) against real SQLite files: desks with their letters
//! number offline without asking anyone and every replica ends with the same numbers; two
//! matters that came to one number (one letter on two desks) are told apart the same way on
//! every desk; matters from before numbers get local ones when the store opens.

use chrono::{DateTime, FixedOffset, NaiveDate};
use tempfile::TempDir;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::id::resident_id_check_char;
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, Registered, Store};
use xinfang_sync::DeskReplica;

mod common;

fn desk(letter: &str) -> (TempDir, Store, String) {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
    store
        .adopt_hall_id_key(&xinfang_sync::wire::HallIdKey::from_bytes(&[7; 32]))
        .unwrap();
    store.adopt_queue_letter(letter).unwrap();
    let clerk = store
        .add_staff(&NewStaff {
            username: format!("clerk{letter}"),
            display_name: "王接待".into(),
            roles: vec![Role::Clerk],
            password: "correct horse".into(),
        })
        .unwrap();
    (dir, store, clerk.id)
}

/// Registers a new matter on `day` (a new visitor each time: `n` makes the document number).
fn register(store: &mut Store, clerk: &str, day: &str, n: u32) -> String {
    register_visit(store, clerk, day, n).matter_id
}

/// [`register`], with all the registration says.
fn register_visit(store: &mut Store, clerk: &str, day: &str, n: u32) -> Registered {
    let body17 = format!("1405211980011{n:04}");
    let id_number = format!("{body17}{}", resident_id_check_char(&body17).unwrap());
    let input = VisitInput {
        visited_at: format!("{day}T09:30:00+08:00"),
        visitors: vec![VisitorInput {
            name: "张三".into(),
            id_number,
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: format!("拖欠工资 {n}"),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        agency: "县人社局".into(),
        place_code: "140521".into(),
    };
    let now: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339(&format!("{day}T12:00:00+08:00")).unwrap();
    let v = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
    store.register_visit(&v, clerk).unwrap()
}

fn number(store: &Store, matter_id: &str) -> String {
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    store
        .matter(matter_id, today, &HolidayCalendar::bundled())
        .unwrap()
        .number
}

/// Everything `from` logged, as the server would hand it to another desk.
fn pull(into: &mut Store, from: &Store) {
    common::pull_changes(into, from, from.local_changes(0, 10_000).unwrap(), 0);
}

/// Nothing of a matter set aside (the desks' staff are, unsigned here: not this test's matter).
fn no_matter_quarantined(store: &Store) {
    let q = store.quarantined_changes().unwrap();
    assert!(q.iter().all(|c| c.entity != "matter"), "{q:#?}");
}

fn all_numbers(store: &Store, ids: &[String]) -> Vec<String> {
    ids.iter().map(|id| number(store, id)).collect()
}

#[test]
fn two_desks_number_offline_in_one_month_and_sync_to_the_same_numbers() {
    let (_da, mut a, clerk_a) = desk("B");
    let (_db, mut b, clerk_b) = desk("C");
    let mut ids = vec![
        register(&mut a, &clerk_a, "2026-11-05", 1),
        register(&mut a, &clerk_a, "2026-11-20", 2),
        register(&mut b, &clerk_b, "2026-11-05", 3),
        register(&mut b, &clerk_b, "2026-11-06", 4),
        // Another month starts again at 1.
        register(&mut a, &clerk_a, "2026-12-01", 5),
    ];
    let on_a = vec![
        number(&a, &ids[0]),
        number(&a, &ids[1]),
        number(&b, &ids[2]),
        number(&b, &ids[3]),
        number(&a, &ids[4]),
    ];
    assert_eq!(
        on_a,
        [
            "沁水-2026-11-B0001",
            "沁水-2026-11-B0002",
            "沁水-2026-11-C0001",
            "沁水-2026-11-C0002",
            "沁水-2026-12-B0001",
        ]
    );
    pull(&mut a, &b);
    pull(&mut b, &a);
    assert_eq!(all_numbers(&a, &ids), on_a);
    assert_eq!(all_numbers(&b, &ids), on_a);
    no_matter_quarantined(&a);
    no_matter_quarantined(&b);
    // After the sync each desk goes on after its own numbers, never another's.
    ids.push(register(&mut b, &clerk_b, "2026-11-07", 6));
    assert_eq!(number(&b, &ids[5]), "沁水-2026-11-C0003");
    // Found by the number as printed or typed loosely, and by id (links).
    for typed in ["沁水-2026-11-C0003", " 沁水－2026－11－c0003 ", &ids[5]] {
        assert_eq!(b.find_matter(typed).unwrap().as_deref(), Some(&*ids[5]));
    }
    assert_eq!(b.find_matter("沁水-2026-11-C0009").unwrap(), None);
}

/// Two desks that number with one letter (a hub and the city each give letters; an unenrolled
/// desk's comes from its id): the matter with the smaller id shows the number, the other
/// `number-2`, on both desks whatever the order of arrival, and neither desk writes anything
/// for it.
#[test]
fn one_number_from_two_desks_shows_apart_the_same_everywhere() {
    let (_da, mut a, clerk_a) = desk("B");
    let (_db, mut b, clerk_b) = desk("B");
    let ids = vec![
        register(&mut a, &clerk_a, "2026-11-05", 1),
        register(&mut b, &clerk_b, "2026-11-05", 2),
    ];
    assert_eq!(number(&a, &ids[0]), "沁水-2026-11-B0001");
    assert_eq!(number(&b, &ids[1]), "沁水-2026-11-B0001");
    let logged = |s: &Store| s.local_changes(0, 10_000).unwrap().len();
    let (before_a, before_b) = (logged(&a), logged(&b));
    pull(&mut a, &b);
    pull(&mut b, &a);
    let want = ["沁水-2026-11-B0001", "沁水-2026-11-B0001-2"];
    assert_eq!(all_numbers(&a, &ids), want);
    assert_eq!(all_numbers(&b, &ids), want);
    assert_eq!((logged(&a), logged(&b)), (before_a, before_b));
    no_matter_quarantined(&a);
    no_matter_quarantined(&b);
    // Each desk goes on after the greatest count it holds.
    let next = register(&mut b, &clerk_b, "2026-11-06", 3);
    assert_eq!(number(&b, &next), "沁水-2026-11-B0002");
    assert_eq!(
        b.find_matter("沁水-2026-11-B0001-2").unwrap().as_deref(),
        Some(&*ids[1])
    );
}

/// Matters from before numbers (as migration 0033 finds them: no number) get one when the store
/// opens: by month, in order of receipt, without a letter; lettered numbers go on as before.
#[test]
fn matters_from_before_numbers_are_numbered_when_the_store_opens() {
    let (dir, mut a, clerk) = desk("B");
    let ids = vec![
        register(&mut a, &clerk, "2026-11-20", 1),
        register(&mut a, &clerk, "2026-11-05", 2),
        register(&mut a, &clerk, "2026-10-31", 3),
        register(&mut a, &clerk, "2026-11-05", 4),
    ];
    drop(a);
    let db = dir.path().join(xinfang_store::DB_FILE);
    {
        let conn = xinfang_store::open_raw(&db, None).unwrap();
        conn.execute("UPDATE matters SET number = NULL", [])
            .unwrap();
    }
    let mut a = Store::open_unencrypted(dir.path()).unwrap();
    let got = all_numbers(&a, &ids);
    // The two of 11-05 in the order of their ids (registration order here).
    assert_eq!(
        got,
        [
            "沁水-2026-11-0003",
            "沁水-2026-11-0001",
            "沁水-2026-10-0001",
            "沁水-2026-11-0002",
        ]
    );
    let next = register(&mut a, &clerk, "2026-11-21", 5);
    assert_eq!(number(&a, &next), "沁水-2026-11-B0001");
    // The legacy numbers were not logged: they are this replica's own.
    let logged = a
        .local_changes(0, 10_000)
        .unwrap()
        .into_iter()
        .filter(|c| c.entity == "matter" && c.op.as_str() == "update")
        .count();
    assert_eq!(logged, 0);
}

/// The audit log shows a record by a number a clerk knows: a backlog case by its matter's, a
/// visitor by their latest visit's, never by an id.
#[test]
fn records_without_a_number_of_their_own_are_shown_by_one_they_relate_to() {
    let (_dir, mut store, clerk) = desk("B");
    let first = register_visit(&mut store, &clerk, "2026-11-03", 1);
    let matter_number = number(&store, &first.matter_id);
    let case = store
        .flag_backlog(
            &first.matter_id,
            &xinfang_core::backlog::FlagInput {
                leader: "李副县长".into(),
                plan: "包案化解".into(),
                target_date: String::new(),
                flagged_on: "2026-11-04".into(),
            },
            &clerk,
        )
        .unwrap();
    assert_eq!(
        store.record_number("backlog_case", &case).unwrap(),
        Some(matter_number)
    );
    let visitor = &first.visitor_ids[0];
    assert_eq!(
        store.record_number("visitor", visitor).unwrap(),
        Some(format!("最近来访 {}", first.number))
    );
    assert_eq!(store.record_number("visitor", "no-such").unwrap(), None);
}
