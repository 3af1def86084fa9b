//! Issue 13: a new desk starts from the city's snapshot of its hall instead of replaying every
//! change ever made there, and ends exactly as a desk that replayed (docs/sync.md "Snapshot").
//! Real stores through the real sync client, the real `xinfang-city` binary on loopback.

mod common;

use common::{Desk, Server};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::MatterEvent;
use xinfang_sync::DeskReplica;
use xinfang_sync::SnapshotPosition;
use xinfang_sync::client::Client;
use xinfang_sync::wire::SnapshotRequest;

const HALL: &str = "140521";

fn conflicts(d: &Desk) -> Vec<String> {
    let mut out: Vec<String> = d
        .open()
        .open_conflicts()
        .unwrap()
        .into_iter()
        .map(|c| {
            let mut values: Vec<String> = c.options.into_iter().map(|o| o.value).collect();
            values.sort();
            format!("{}|{}|{}", c.record_id, c.field, values.join(","))
        })
        .collect();
    out.sort();
    out
}

fn rows(d: &Desk, sql: &str) -> Vec<String> {
    let conn = d.db();
    let mut stmt = conn.prepare(sql).unwrap();
    let mut out: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    out.sort();
    out
}

/// Steps, their voiding, matters' status and derived state: what the snapshot brings as records.
const MATTER_ROWS: &str = "SELECT m.id || '|' || m.status || '|' || coalesce(m.state, '') || '|' ||
        coalesce((SELECT group_concat(e.id || ':' || e.kind || ':' || coalesce(e.voided_by, ''), ',')
           FROM (SELECT * FROM matter_events WHERE matter_id = m.id ORDER BY id) e), '')
   FROM matters m";

common::both_backends! {
fn a_new_desk_starts_from_the_snapshot_and_ends_as_a_desk_that_replayed_everything() {
    let server = Server::start();
    let mut a = Desk::new(HALL, 1);
    let mut b = Desk::new(HALL, 2);
    a.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    b.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    a.register_new(40);
    a.sync().unwrap();
    b.sync().unwrap();
    // Offline at the same time: one person's phone taken down at both desks (a conflict), and
    // one matter accepted at A while B forwards it (incompatible steps, both kept).
    let id_number: String = a
        .db()
        .query_row(
            "SELECT id_number FROM visitors ORDER BY id LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    a.register_returning(&id_number);
    b.register_returning(&id_number);
    let matter: String = a
        .db()
        .query_row("SELECT id FROM matters ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let today = common::now().date_naive();
    let cal = HolidayCalendar::bundled();
    a.open()
        .record_event(
            &matter,
            &MatterEvent::Accept {
                at: today,
                notice_no: None,
            },
            &a.clerk.id,
            &cal,
        )
        .unwrap();
    b.open()
        .record_event(
            &matter,
            &MatterEvent::Forward {
                at: today,
                to_authority: "县人力资源和社会保障局".into(),
                report_back_by: None,
            },
            &b.clerk.id,
            &cal,
        )
        .unwrap();
    for d in [&a, &b, &a] {
        d.sync().unwrap();
    }
    assert!(!conflicts(&a).is_empty(), "the two phones are a conflict");

    // A new computer joins the hall: its first sync brings the records, not the history.
    let c = Desk::new(HALL, 3);
    c.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    let first = c.sync().unwrap();
    assert!(first.snapshot >= 40, "{first:?}");
    assert_eq!(
        first.pulled, 0,
        "nothing happened after the snapshot: {first:?}"
    );
    let replayed: i64 = c
        .db()
        .query_row(
            "SELECT count(*) FROM sync_remote_log WHERE entity NOT IN ('visitor', 'staff')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(replayed, 0, "visits, matters and steps came as records");
    assert_eq!(c.snapshot(), b.snapshot());
    assert_eq!(rows(&c, MATTER_ROWS), rows(&b, MATTER_ROWS));
    assert_eq!(conflicts(&c), conflicts(&b));
    assert!(c.open().verify().unwrap().ok());

    // Later work merges on the new desk as anywhere: a phone it takes down offline while B
    // takes down another is a conflict on all three; a step it records reaches the others.
    let mut c = c;
    let other: String = a
        .db()
        .query_row(
            "SELECT id_number FROM visitors ORDER BY id LIMIT 1 OFFSET 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    c.register_returning(&other);
    b.register_returning(&other);
    c.open()
        .record_event(
            &matter,
            &MatterEvent::StartHandling { at: today },
            &c.clerk.id,
            &cal,
        )
        .ok();
    for d in [&c, &b, &a, &c, &b] {
        d.sync().unwrap();
    }
    let again = c.sync().unwrap();
    assert_eq!(again.snapshot, 0, "a snapshot is taken once");
    for d in [&a, &b] {
        assert_eq!(c.snapshot(), d.snapshot());
        assert_eq!(rows(&c, MATTER_ROWS), rows(d, MATTER_ROWS));
        assert_eq!(conflicts(&c), conflicts(d));
    }
    // Each return visit also took a new name: per person a name and a phone conflict.
    let of = |field: &str| {
        conflicts(&c)
            .iter()
            .filter(|k| k.split('|').nth(1) == Some(field))
            .count()
    };
    assert_eq!(
        (of("phone"), of("name"), of("step")),
        (2, 2, 1),
        "{:?}",
        conflicts(&c)
    );
}
}

common::both_backends! {
/// A new desk's first sync cut during the snapshot goes on where it stopped at the next one.
fn a_snapshot_cut_halfway_goes_on_at_the_next_sync() {
    let server = Server::start();
    let mut a = Desk::new(HALL, 11);
    a.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    a.register_bulk(2_100);
    a.sync().unwrap();
    let c = Desk::new(HALL, 12);
    c.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    // The pages a sync cut after the first page of visits would have applied.
    let mut early = 0;
    {
        let mut store = c.open();
        let settings = store.sync_settings().unwrap().unwrap();
        let client = Client::new(&settings.server_url, Some(settings.token)).unwrap();
        let entities = store.snapshot_entities();
        let mut pos = store.snapshot_position().unwrap().unwrap();
        let mut i = 0;
        loop {
            let entity = &entities[i];
            let page = client
                .snapshot(&SnapshotRequest {
                    entity: entity.clone(),
                    after: pos.after.clone(),
                    limit: None,
                })
                .unwrap();
            let next = SnapshotPosition {
                cursors: Some(pos.cursors.clone().unwrap_or(page.cursors.clone())),
                entity: if page.next.is_some() {
                    entity.clone()
                } else {
                    entities[i + 1].clone()
                },
                after: page.next.clone(),
            };
            assert!(store.apply_snapshot_page(entity, &page, &next).unwrap());
            early += page.records.len() + page.changes.len();
            pos = next;
            if entity == "visit" {
                assert!(page.next.is_some(), "2,100 visits are two pages");
                break;
            }
            if page.next.is_none() {
                i += 1;
            }
        }
    }
    let rest = c.sync().unwrap();
    assert!(rest.snapshot > 0 && rest.pulled == 0, "{rest:?}");
    let whole = {
        let d = Desk::new(HALL, 13);
        d.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
        d.sync().unwrap().snapshot
    };
    // Another new desk takes all of it, and also C's admin and clerk accounts (C's own, not
    // taken by C).
    assert_eq!(
        early as u64 + rest.snapshot + 2,
        whole,
        "the second sync took only what the first had not"
    );
    assert_eq!(c.snapshot(), a.snapshot());
    assert!(c.open().verify().unwrap().ok());
}
}

common::both_backends! {
/// A hall that worked offline before it first reached the city pushes its history, then takes
/// the snapshot: it takes the records of the hall's other desks, not its own back again, and
/// ends as a desk that took everything.
fn a_desk_with_a_history_does_not_take_its_own_records_back_from_the_snapshot() {
    let server = Server::start();
    let mut a = Desk::new(HALL, 21);
    a.register_new(12);
    a.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    let first = a.sync().unwrap();
    assert!(first.pushed > 0, "{first:?}");
    assert_eq!(first.snapshot, 0, "the hall holds only A's own records: {first:?}");
    // A new desk with no history takes all of A's.
    let d = Desk::new(HALL, 22);
    d.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    let of_a = d.sync().unwrap().snapshot;
    assert!(of_a > 12, "{of_a}");

    let mut b = Desk::new(HALL, 23);
    b.register_new(5);
    b.enrol(&server.url, &server.enrol_code(HALL)).unwrap();
    let b_first = b.sync().unwrap();
    assert!(b_first.pushed > 0, "{b_first:?}");
    // A's records and D's two accounts: none of the records B pushed a moment before.
    assert_eq!(b_first.snapshot, of_a + 2, "{b_first:?}");
    for x in [&a, &d, &b, &a, &d] {
        x.sync().unwrap();
    }
    for x in [&a, &b] {
        assert_eq!(x.snapshot(), d.snapshot());
        assert_eq!(rows(x, MATTER_ROWS), rows(&d, MATTER_ROWS));
        assert!(x.open().verify().unwrap().ok());
    }
}
}
