//! People on real SQLite files (docs/sync.md, "People: correct, merge, split"): a corrected
//! document is found by its new number only, and refused when it is someone else's; likely
//! duplicates are listed with why; a merge shows one person with all visits, also on a desk
//! that pulls it before or after a visit of the merged record; unmerge and split undo a fusion;
//! desks that see merges, unmerges, splits and visits in any order end with the same people.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use rand::{Rng, SeedableRng};
use tempfile::TempDir;
use xinfang_core::id::{IdType, resident_id_check_char};
use xinfang_core::reference::ReferenceData;
use xinfang_core::staff::Role;
use xinfang_core::visit::{VisitInput, VisitorInput, validate_visit};
use xinfang_store::{NewStaff, SplitTarget, Store, StoreError};
use xinfang_sync::{DeskReplica, RemoteChange};

fn desk() -> (TempDir, Store, String) {
    let dir = TempDir::new().unwrap();
    let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
    let boss = store
        .add_staff(&NewStaff {
            username: "boss".into(),
            display_name: "李科长".into(),
            roles: vec![Role::Supervisor],
            password: "correct horse".into(),
        })
        .unwrap();
    (dir, store, boss.id)
}

fn id_of(body17: &str) -> String {
    format!("{body17}{}", resident_id_check_char(body17).unwrap())
}

/// Registers a visit of one person; returns (visit id, visitor record id).
fn visit(store: &mut Store, by: &str, name: &str, body17: &str, phone: &str) -> (String, String) {
    let input = VisitInput {
        visited_at: "2025-03-03T09:30:00+08:00".into(),
        visitors: vec![VisitorInput {
            name: name.into(),
            id_number: id_of(body17),
            phone: phone.into(),
            ..Default::default()
        }],
        head_count: 0,
        representatives: vec![],
        appeal: "拖欠工资".into(),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        agency: "县人社局".into(),
        place_code: "140521".into(),
    };
    let now: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2025-03-03T12:00:00+08:00").unwrap();
    let v = validate_visit(&input, ReferenceData::bundled(), now).unwrap();
    let r = store.register_visit(&v, by).unwrap();
    (r.visit_id, r.visitor_ids[0].clone())
}

/// Everything `from` logged after `after`, as the server would hand it on.
fn pulled(from: &Store, after: i64) -> Vec<RemoteChange> {
    from.local_changes(after, 100_000)
        .unwrap()
        .into_iter()
        .map(|c| RemoteChange {
            device_id: from.device_id().to_owned(),
            server_seq: c.seq,
            change: c,
        })
        .collect()
}

fn pull_all(to: &mut Store, from: &Store) {
    let page = pulled(from, 0);
    let max = page.iter().map(|c| c.change.seq).max().unwrap_or(0);
    let cursors = [(from.device_id().to_owned(), max)].into_iter().collect();
    to.apply_remote(&page, &cursors).unwrap();
}

fn field_code(e: StoreError) -> String {
    match e {
        StoreError::Invalid(v) => v.0[0].code.clone(),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn a_corrected_document_is_found_by_its_new_number_only_and_syncs() {
    let (_d, mut a, boss) = desk();
    let (_, zhang) = visit(&mut a, &boss, "张三", "14052119800115013", "13800000001");
    let (_, li) = visit(&mut a, &boss, "李四", "14052119750203021", "");
    let wrong = id_of("14052119800115013");
    let right = id_of("14052119800115021");
    // The new number is someone else's: refused, and the message points to merging.
    let taken = a
        .correct_document(
            &zhang,
            IdType::ResidentId,
            &id_of("14052119750203021"),
            None,
            None,
            "录入错误",
            &boss,
        )
        .unwrap_err();
    let StoreError::Invalid(v) = taken else {
        panic!()
    };
    assert_eq!(v.0[0].code, "document_taken");
    assert!(v.0[0].message.contains("李四") && v.0[0].message.contains("合并"));
    assert!(
        !v.0[0].message.contains(&li),
        "no internal id in the message"
    );

    let p = a
        .correct_document(
            &zhang,
            IdType::ResidentId,
            &right,
            Some("1980-01-15"),
            Some("male"),
            "登记时录错一位，已核对原件",
            &boss,
        )
        .unwrap();
    assert_eq!(p.visitor_id, zhang);
    assert_eq!(a.search(&right, 10).unwrap().len(), 1);
    assert!(a.search(&wrong, 10).unwrap().is_empty());
    let audit = a.audit_entries(&Default::default()).unwrap();
    assert!(audit.iter().any(|e| e.action == "correct_document"));
    assert!(a.verify().unwrap().ok(), "{:?}", a.verify().unwrap());

    // The real holder of the mistyped number comes: a person of their own, not an error.
    let (_, holder) = visit(&mut a, &boss, "赵真", "14052119800115013", "");
    assert_ne!(holder, zhang);
    assert_eq!(a.search(&wrong, 10).unwrap()[0].name, "赵真");
    assert!(a.verify().unwrap().ok(), "{:?}", a.verify().unwrap());

    // Another desk pulls the correction as an ordinary change.
    let (_d2, mut b, _) = desk();
    pull_all(&mut b, &a);
    assert_eq!(b.search(&right, 10).unwrap()[0].visitor_id, zhang);
    assert_eq!(b.search(&wrong, 10).unwrap()[0].visitor_id, holder);
    assert!(b.open_conflicts().unwrap().is_empty());
}

#[test]
fn likely_duplicates_are_listed_with_why_and_an_unmerged_pair_not_again() {
    let (_d, mut a, boss) = desk();
    // 王伟 and 汪伟: the same birth date (in the numbers) and the same phone.
    let (_, wang) = visit(&mut a, &boss, "王伟", "14052119800115013", "13800000001");
    let (_, wang2) = visit(&mut a, &boss, "汪伟", "14052119800115021", "138-0000-0001");
    // 赵六 twice, with two birth dates: no reason to think they are one.
    visit(&mut a, &boss, "赵六", "14052119900101011", "");
    visit(&mut a, &boss, "赵六", "14052119910101011", "");
    let dups = a.duplicate_people().unwrap().pairs;
    assert_eq!(dups.len(), 1, "{dups:#?}");
    let pair = &dups[0];
    let ids = [pair.keep.visitor_id.clone(), pair.other.visitor_id.clone()];
    assert!(ids.contains(&wang) && ids.contains(&wang2));
    assert_eq!(pair.reasons, ["sound_alike", "same_phone"]);
    assert_eq!(pair.reason_labels[1], "联系电话相同");
    assert!(pair.keep.id_number_masked.contains('*'));

    let m = a.merge_people(&wang, &wang2, "同一人", &boss).unwrap();
    assert!(
        a.duplicate_people().unwrap().pairs.is_empty(),
        "merged: no pair"
    );
    a.unmerge_people(&m.merge_id, "核实为两人", &boss).unwrap();
    assert!(
        a.duplicate_people().unwrap().pairs.is_empty(),
        "a pair a supervisor unmerged is not listed again"
    );
}

#[test]
fn a_merge_shows_one_person_with_all_visits_and_unmerge_restores_both() {
    let (_d, mut a, boss) = desk();
    let (_, p1) = visit(&mut a, &boss, "张三", "14052119800115013", "");
    let (_, p2) = visit(&mut a, &boss, "张叁", "14052119800115021", "");
    visit(&mut a, &boss, "张叁", "14052119800115021", "");
    // The other desk has both people; offline it registers a visit of the merged one.
    let (_d2, mut b, boss_b) = desk();
    pull_all(&mut b, &a);
    let before_b = b.local_changes(0, 100_000).unwrap().len() as i64;
    let (late_visit, rec) = visit(&mut b, &boss_b, "张叁", "14052119800115021", "");
    assert_eq!(rec, p2);

    // The statistics count distinct people: two before the merge, one after, two after undo.
    let people_counted = |s: &Store| {
        let day: chrono::NaiveDate = "2025-03-03".parse().unwrap();
        let q = xinfang_store::StatsQuery::new(
            xinfang_core::stats::Period::new(day, day).unwrap(),
            day,
        );
        s.statistics(&q, &s.holiday_calendar())
            .unwrap()
            .visits
            .visitors
    };
    assert_eq!(people_counted(&a), 2);
    let m = a.merge_people(&p1, &p2, "同一人两个证件", &boss).unwrap();
    assert_eq!(people_counted(&a), 1);
    assert_eq!(m.survivor.visit_count, 3);
    assert_eq!(m.merged.visit_count, 0);
    let hits = a.search(&id_of("14052119800115021"), 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].visitor_id, p1,
        "the merged record's number finds the survivor"
    );
    assert_eq!(a.visits_of_visitor(&p1).unwrap().len(), 3);
    assert_eq!(a.visitor_profile(&p2).unwrap().visitor_id, p1);
    assert!(a.verify().unwrap().ok(), "{:?}", a.verify().unwrap());
    // The same merge twice, or of a merged record: refused.
    let again = a.merge_people(&p1, &p2, "再合并", &boss).unwrap_err();
    assert_eq!(field_code(again), "person_merged");

    // B's late visit reaches A after the merge; A's merge reaches B after B's visit.
    let from_b: Vec<RemoteChange> = pulled(&b, before_b);
    let cursors = [(b.device_id().to_owned(), i64::MAX)].into_iter().collect();
    a.apply_remote(&from_b, &cursors).unwrap();
    pull_all(&mut b, &a);
    for s in [&a, &b] {
        let visits = s.visits_of_visitor(&p1).unwrap();
        assert_eq!(visits.len(), 4);
        assert!(visits.iter().any(|v| v.visit_id == late_visit));
        assert_eq!(s.search("张", 10).unwrap().len(), 1);
        assert!(s.verify().unwrap().ok(), "{:?}", s.verify().unwrap());
    }

    // Undo: both people again, everywhere.
    a.unmerge_people(&m.merge_id, "核实为两人", &boss).unwrap();
    assert_eq!(people_counted(&a), 2);
    pull_all(&mut b, &a);
    for s in [&a, &b] {
        assert_eq!(s.visits_of_visitor(&p1).unwrap().len(), 1);
        assert_eq!(s.visits_of_visitor(&p2).unwrap().len(), 3);
        assert_eq!(s.search("张", 10).unwrap().len(), 2);
        assert!(s.verify().unwrap().ok());
    }
    let err = a.unmerge_people(&m.merge_id, "再撤销", &boss).unwrap_err();
    assert_eq!(field_code(err), "already_unmerged");
    let audit: Vec<String> = a
        .audit_entries(&Default::default())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(audit.contains(&"merge_people".to_owned()));
    assert!(audit.contains(&"unmerge_people".to_owned()));
}

#[test]
fn a_split_moves_chosen_visits_to_a_new_person() {
    let (_d, mut a, boss) = desk();
    // Two people fused under one mistyped number.
    let (v1, p) = visit(&mut a, &boss, "张三", "14052119800115013", "");
    let (v2, _) = visit(&mut a, &boss, "张三", "14052119800115013", "");
    let (v3, _) = visit(&mut a, &boss, "张三", "14052119800115013", "");
    let doc = id_of("14052119820304011");
    let target = SplitTarget::Document(xinfang_core::visit::ValidVisitor {
        name: "张山".into(),
        id_type: IdType::ResidentId,
        id_number: doc.clone(),
        sex: None,
        birth_date: None,
        phone: None,
        address: None,
        ethnicity: None,
        occupation: None,
    });
    let out = a
        .split_person(
            &p,
            &[v2.clone(), v3.clone()],
            &target,
            "两人共用一号",
            &boss,
        )
        .unwrap();
    assert_eq!(out.person.name, "张山");
    assert_eq!(out.person.visit_count, 2);
    assert_eq!(out.from.visit_count, 1);
    assert_eq!(a.visits_of_visitor(&p).unwrap()[0].visit_id, v1);
    assert_eq!(a.search(&doc, 5).unwrap()[0].visit_count, 2);
    // Not all of them, and only the person's own.
    let all = a
        .split_person(
            &out.person.visitor_id,
            &[v2.clone(), v3],
            &SplitTarget::Existing(p.clone()),
            "x",
            &boss,
        )
        .unwrap_err();
    assert_eq!(field_code(all), "visits_all");
    let foreign = a
        .split_person(
            &p,
            &[v2],
            &SplitTarget::Existing(out.person.visitor_id.clone()),
            "x",
            &boss,
        )
        .unwrap_err();
    assert_eq!(field_code(foreign), "visit_not_of_person");
    assert!(a.verify().unwrap().ok(), "{:?}", a.verify().unwrap());

    let (_d2, mut b, _) = desk();
    pull_all(&mut b, &a);
    assert_eq!(
        b.visits_of_visitor(&out.person.visitor_id).unwrap().len(),
        2
    );
    assert_eq!(b.visits_of_visitor(&p).unwrap().len(), 1);
}

/// Who shows under whom on a desk: merged records, each link's person, each visit count.
fn people_state(dir: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join("xinfang.db")).unwrap();
    // Who came on which day (migration 0028, kept by triggers) is what the links say.
    let rows = |sql: &str| -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        rows("SELECT visit_date || hall_code || person || visit_id FROM visit_people ORDER BY 1"),
        rows(
            "SELECT DISTINCT x.visit_date || x.hall_code || coalesce(vv.person_id, vv.visitor_id) || vv.visit_id
               FROM visit_visitors vv JOIN visits x ON x.id = vv.visit_id ORDER BY 1"
        )
    );
    let mut out = Vec::new();
    for sql in [
        "SELECT id || '>' || coalesce(merged_into, '-') || ' n=' || visit_count FROM visitors ORDER BY id",
        "SELECT visit_id || ':' || visitor_id || '>' || person_id FROM visit_visitors ORDER BY 1",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

/// Delivers every device's changes to `to` in a random interleaving (each device's in order,
/// as the server hands them on) and random page sizes.
fn deliver(
    rng: &mut rand_chacha::ChaCha8Rng,
    to: &mut Store,
    logs: &[(String, Vec<RemoteChange>)],
) {
    let mut next: Vec<usize> = vec![0; logs.len()];
    let own = to.device_id().to_owned();
    loop {
        let open: Vec<usize> = (0..logs.len())
            .filter(|&i| next[i] < logs[i].1.len() && logs[i].0 != own)
            .collect();
        if open.is_empty() {
            return;
        }
        let mut page = Vec::new();
        let mut cursors = BTreeMap::new();
        for _ in 0..rng.random_range(1..6) {
            let open: Vec<usize> = (0..logs.len())
                .filter(|&i| next[i] < logs[i].1.len() && logs[i].0 != own)
                .collect();
            if open.is_empty() {
                break;
            }
            let i = open[rng.random_range(0..open.len())];
            let c = logs[i].1[next[i]].clone();
            cursors.insert(logs[i].0.clone(), c.change.seq);
            page.push(c);
            next[i] += 1;
        }
        to.apply_remote(&page, &cursors).unwrap();
    }
}

#[test]
fn merges_unmerges_splits_and_visits_in_any_order_give_the_same_people() {
    // A longer run: XINFANG_PEOPLE_SEEDS=300.
    let seeds: u64 = std::env::var("XINFANG_PEOPLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let bodies = [
        "14052119800115013",
        "14052119800115021",
        "14052119750203021",
        "14052119820304011",
    ];
    let names = ["张三", "张叁", "李四", "张山"];
    for seed in 0..seeds {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut desks: Vec<(TempDir, Store, String)> = (0..3).map(|_| desk()).collect();
        // Everyone starts from the same people (desk 0's registrations).
        for (i, body) in bodies.iter().enumerate() {
            let (_, s, by) = &mut desks[0];
            visit(s, by, names[i], body, "");
        }
        let start: Vec<RemoteChange> = pulled(&desks[0].1, 0);
        for d in 1..3 {
            let cursors = [(desks[0].1.device_id().to_owned(), i64::MAX)]
                .into_iter()
                .collect();
            desks[d].1.apply_remote(&start, &cursors).unwrap();
        }
        let marks: Vec<i64> = desks
            .iter()
            .map(|d| d.1.local_changes(0, 1_000_000).unwrap().len() as i64)
            .collect();
        // Offline, each desk does what it likes.
        for _ in 0..12 {
            let d = rng.random_range(0..3);
            let (_, s, by) = &mut desks[d];
            let people: Vec<String> = bodies
                .iter()
                .filter_map(|b| {
                    s.search(&id_of(b), 1)
                        .unwrap()
                        .first()
                        .map(|h| h.visitor_id.clone())
                })
                .collect();
            match rng.random_range(0..4) {
                0 => {
                    let i = rng.random_range(0..bodies.len());
                    visit(s, by, names[i], bodies[i], "");
                }
                1 if people.len() >= 2 => {
                    let a = &people[rng.random_range(0..people.len())];
                    let b = &people[rng.random_range(0..people.len())];
                    let _ = s.merge_people(a, b, "同一人", by);
                }
                2 => {
                    let merges = s.person_merges().unwrap();
                    if let Some(m) = merges.iter().find(|m| m.active) {
                        s.unmerge_people(&m.merge_id, "撤销", by).unwrap();
                    }
                }
                _ if people.len() >= 2 => {
                    let from = &people[rng.random_range(0..people.len())];
                    let to = &people[rng.random_range(0..people.len())];
                    let visits = s.visits_of_visitor(from).unwrap();
                    if visits.len() >= 2 {
                        let _ = s.split_person(
                            from,
                            &[visits[0].visit_id.clone()],
                            &SplitTarget::Existing(to.clone()),
                            "拆分",
                            by,
                        );
                    }
                }
                _ => {}
            }
        }
        let logs: Vec<(String, Vec<RemoteChange>)> = desks
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    d.1.device_id().to_owned(),
                    pulled(&d.1, if i == 0 { 0 } else { marks[i] }),
                )
            })
            .collect();
        // Two fresh desks and the three that worked all take in everything, in their own orders.
        for _ in 0..2 {
            desks.push(desk());
        }
        for d in desks.iter_mut() {
            deliver(&mut rng, &mut d.1, &logs);
        }
        let first = people_state(desks[0].0.path());
        for (i, d) in desks.iter().enumerate() {
            assert!(
                d.1.verify().unwrap().ok(),
                "seed {seed} desk {i}: {:?}",
                d.1.verify().unwrap()
            );
            assert_eq!(
                people_state(d.0.path()),
                first,
                "seed {seed}: desk {i} differs"
            );
            // The kept shared keys followed merges, splits and pulls in any order.
            let raw =
                xinfang_store::open_raw(&d.0.path().join(xinfang_store::DB_FILE), None).unwrap();
            assert_eq!(kept_keys(&raw), shared_keys(&raw), "seed {seed} desk {i}");
        }
    }
}

/// The keys two or more people share, from every visitor (how the 疑似重复人员 screen grouped
/// them before migration 0046 kept them).
const SHARED_KEYS_OF_EVERY_VISITOR: &str = "
    SELECT 'document', id_type, id_number, '' FROM visitors WHERE merged_into IS NULL
     GROUP BY id_type, id_number HAVING count(*) > 1
    UNION ALL
    SELECT 'name_birth', birth_date, pinyin_full, name FROM visitors
     WHERE merged_into IS NULL AND birth_date IS NOT NULL
     GROUP BY name, birth_date, pinyin_full HAVING count(*) > 1
    UNION ALL
    SELECT 'sound_birth', birth_date, pinyin_full, '' FROM visitors
     WHERE merged_into IS NULL AND birth_date IS NOT NULL AND pinyin_full <> ''
     GROUP BY pinyin_full, birth_date HAVING count(DISTINCT name) > 1
    UNION ALL
    SELECT 'phone', replace(phone, '-', ''), '', '' FROM visitors
     WHERE merged_into IS NULL AND length(phone) >= 7
     GROUP BY replace(phone, '-', '') HAVING count(*) > 1";

type Key = (String, String, String, String);

fn keys_of(conn: &rusqlite::Connection, sql: &str) -> std::collections::BTreeSet<Key> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn shared_keys(conn: &rusqlite::Connection) -> std::collections::BTreeSet<Key> {
    keys_of(conn, SHARED_KEYS_OF_EVERY_VISITOR)
}

fn kept_keys(conn: &rusqlite::Connection) -> std::collections::BTreeSet<Key> {
    keys_of(conn, "SELECT kind, a, b, c FROM people_dups")
}

/// Whoever writes a visitor — a form, a pull, a merge, a correction, a repair by hand — the kept
/// shared keys are those of every visitor: seeded random inserts, changes of each key's column
/// and of `merged_into`, and deletes, straight into the table.
#[test]
fn the_kept_shared_keys_always_equal_those_of_every_visitor() {
    let (dir, _store, _) = desk();
    let raw = xinfang_store::open_raw(&dir.path().join(xinfang_store::DB_FILE), None).unwrap();
    // Few people, from small pools: a key is often shared by two, and then by one again.
    let names = [
        ("王伟", "wangwei"),
        ("汪伟", "wangwei"),
        ("张三", "zhangsan"),
        ("张叁", "zhangsan"),
        ("李四", "lisi"),
        ("Li Si", ""),
    ];
    let births = [
        Some("1980-01-15"),
        Some("1980-01-16"),
        Some("1975-02-03"),
        None,
    ];
    let phones = [
        Some("13800000001"),
        Some("138-0000-0001"),
        Some("13900000002"),
        Some("139-0000-0002"),
        Some("13700000003"),
        Some("139"),
        Some(""),
        None,
    ];
    let numbers = [
        "140521198001150130",
        "140521198001150211",
        "140521197502030211",
        "E12345678",
        "E87654321",
    ];
    let types = ["resident_id", "passport"];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(46);
    let mut ids: Vec<String> = Vec::new();
    let mut shared_seen = 0;
    for step in 0..1000 {
        let op = match ids.len() {
            0..3 => 0,
            3..8 => rng.random_range(0..8),
            _ => rng.random_range(3..9),
        };
        match op {
            0..=2 => {
                let id = format!("v-{step}");
                let (name, sound) = names[rng.random_range(0..names.len())];
                raw.execute(
                    "INSERT INTO visitors(id, name, id_type, id_number, birth_date, phone,
                         pinyin_full, pinyin_initials, hall_code, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '', '140521', 't', 't')",
                    rusqlite::params![
                        id,
                        name,
                        types[rng.random_range(0..types.len())],
                        numbers[rng.random_range(0..numbers.len())],
                        births[rng.random_range(0..births.len())],
                        phones[rng.random_range(0..phones.len())],
                        sound
                    ],
                )
                .unwrap();
                ids.push(id);
            }
            3 => {
                let id = &ids[rng.random_range(0..ids.len())];
                let (name, sound) = names[rng.random_range(0..names.len())];
                raw.execute(
                    "UPDATE visitors SET name = ?2, pinyin_full = ?3 WHERE id = ?1",
                    rusqlite::params![id, name, sound],
                )
                .unwrap();
            }
            4 => {
                let id = &ids[rng.random_range(0..ids.len())];
                let (column, value) = match rng.random_range(0..4) {
                    0 => ("birth_date", births[rng.random_range(0..births.len())]),
                    1 => ("phone", phones[rng.random_range(0..phones.len())]),
                    2 => (
                        "id_number",
                        Some(numbers[rng.random_range(0..numbers.len())]),
                    ),
                    _ => ("id_type", Some(types[rng.random_range(0..types.len())])),
                };
                raw.execute(
                    &format!("UPDATE visitors SET {column} = ?2 WHERE id = ?1"),
                    rusqlite::params![id, value],
                )
                .unwrap();
            }
            5 | 6 => {
                // Merged into another, or a merge undone.
                let id = &ids[rng.random_range(0..ids.len())];
                let into = rng
                    .random_bool(0.6)
                    .then(|| ids[rng.random_range(0..ids.len())].clone());
                raw.execute(
                    "UPDATE visitors SET merged_into = ?2 WHERE id = ?1",
                    rusqlite::params![id, into],
                )
                .unwrap();
            }
            _ => {
                let id = ids.swap_remove(rng.random_range(0..ids.len()));
                raw.execute("DELETE FROM visitors WHERE id = ?1", [&id])
                    .unwrap();
            }
        }
        let shared = shared_keys(&raw);
        shared_seen += shared.len();
        assert_eq!(kept_keys(&raw), shared, "step {step}");
        let queued: i64 = raw
            .query_row("SELECT count(*) FROM people_dups_stale", [], |r| r.get(0))
            .unwrap();
        assert_eq!(queued, 0, "step {step}");
    }
    // Keys were shared, for the comparison to mean something.
    assert!(shared_seen > 1000, "{shared_seen}");
}

/// More pairs than the screen lists (a hall's first sync can bring thousands): the strongest
/// are listed, and the count says how many there are in all, so a supervisor knows the list
/// goes on.
#[test]
fn more_pairs_than_are_listed_are_counted() {
    let (dir, store, _) = desk();
    let raw = xinfang_store::open_raw(&dir.path().join(xinfang_store::DB_FILE), None).unwrap();
    let phones = xinfang_store::PAIRS_CAP + 7;
    // One pair of people sharing a phone each, and one pair sharing a document (stronger).
    for (i, (name, number, phone)) in (0..phones)
        .flat_map(|p| {
            let phone = format!("1380000{p:04}");
            [
                (format!("甲{p}"), format!("E1{p:07}"), phone.clone()),
                (format!("乙{p}"), format!("E2{p:07}"), phone),
            ]
        })
        .chain([
            (
                "丙".to_owned(),
                "E30000001".to_owned(),
                "13900000001".to_owned(),
            ),
            (
                "丙".to_owned(),
                "E30000001".to_owned(),
                "13900000002".to_owned(),
            ),
        ])
        .enumerate()
    {
        raw.execute(
            "INSERT INTO visitors(id, name, id_type, id_number, phone, pinyin_full,
                 pinyin_initials, hall_code, created_at, updated_at)
             VALUES (?1, ?2, 'passport', ?3, ?4, '', '', '140521', 't', 't')",
            rusqlite::params![format!("v-{i}"), name, number, phone],
        )
        .unwrap();
    }
    let found = store.duplicate_people().unwrap();
    assert_eq!(found.total, phones + 1);
    assert_eq!(found.pairs.len(), xinfang_store::PAIRS_CAP);
    assert_eq!(found.pairs[0].reasons, ["same_document"], "strongest first");
}
