//! The protocol over each storage backend in process: the same rules, the same answers, on
//! SQLite and on a real PostgreSQL (tests/common/pg.rs). And the statistics' SQL on PostgreSQL
//! reads through indexes, as SQLite's does (`stats_rows` in storage/sqlite.rs).

mod common;

use std::sync::Arc;

use common::pg;
use xinfang_city::storage::stats_feed::StatsQuery;
use xinfang_city::storage::{
    AuditPushOutcome, Device, NewEnrolment, PgStorage, SqliteStorage, Storage,
};
use xinfang_city::{auth, protocol};
use xinfang_core::clock::SystemClock;
use xinfang_sync::audit::{AuditEntry, GENESIS};

/// A backend by name, with one device of 沁水县 enrolled (and the SQLite data dir, kept alive).
type Backend = (
    &'static str,
    Arc<dyn Storage>,
    Device,
    Option<tempfile::TempDir>,
);

/// Each backend, fresh.
fn backends() -> Vec<Backend> {
    let dir = tempfile::TempDir::new().unwrap();
    let sqlite: Arc<dyn Storage> = Arc::new(SqliteStorage::open(dir.path()).unwrap());
    let postgres: Arc<dyn Storage> =
        Arc::new(PgStorage::open(&pg::fresh_database(), None, Arc::new(SystemClock)).unwrap());
    let mut out = Vec::new();
    for (name, s, dir) in [("sqlite", sqlite, Some(dir)), ("postgres", postgres, None)] {
        let device = enrol(s.as_ref());
        out.push((name, s, device, dir));
    }
    out
}

fn enrol(s: &dyn Storage) -> Device {
    enrol_as(
        s,
        "AAAA-BBBB-CCCC",
        "dev-00000001",
        "140521",
        "一号机",
        "xft_test",
    )
}

/// Enrols `device_id` of `hall` with a fresh `code`; the device as the server holds it.
fn enrol_as(
    s: &dyn Storage,
    code: &str,
    device_id: &str,
    hall: &str,
    name: &str,
    token: &str,
) -> Device {
    protocol::add_enrol_code(s, &auth::code_hash(code), hall, i64::MAX).unwrap();
    let token_hash = auth::token_hash(token);
    protocol::enrol(
        s,
        &NewEnrolment {
            code_hash: auth::code_hash(code),
            device_id: device_id.into(),
            hall_code: hall.into(),
            device_name: name.into(),
            token_hash: token_hash.clone(),
            now: 0,
            roots: Vec::new(),
            hub: false,
            other_kind_hash: String::new(),
        },
    )
    .unwrap();
    s.device_by_token(&token_hash).unwrap().unwrap()
}

fn chain(device_id: &str, n: i64) -> Vec<AuditEntry> {
    let mut prev = GENESIS.to_owned();
    (1..=n)
        .map(|seq| {
            let mut e = AuditEntry {
                seq,
                id: format!("0190a000-0000-7000-8000-{seq:012}"),
                at: "2026-03-02T09:15:07+08:00".into(),
                device_id: device_id.into(),
                staff_id: "staff-1".into(),
                action: "view_full_id".into(),
                entity: "visitor".into(),
                entity_id: format!("visitor-{seq}"),
                detail: "来访人页面".into(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = e.compute_hash();
            prev = e.hash.clone();
            e
        })
        .collect()
}

fn counts(o: &AuditPushOutcome) -> (u64, u64, i64, Option<i64>) {
    (
        o.response.accepted,
        o.response.duplicates,
        o.response.server_max_seq,
        o.fault.as_ref().map(|f| f.seq),
    )
}

#[test]
fn a_chain_is_stored_once_and_continued() {
    for (backend, s, dev, _dir) in backends() {
        eprintln!("{backend}");
        let s = s.as_ref();

        let full = chain(&dev.id, 6);
        assert_eq!(
            counts(&protocol::push_audit(s, &dev, &full[..3]).unwrap()),
            (3, 0, 3, None)
        );
        // The same batch again: duplicates, nothing doubled.
        assert_eq!(
            counts(&protocol::push_audit(s, &dev, &full[..3]).unwrap()),
            (0, 3, 3, None)
        );
        // Overlapping the stored end, then continuing.
        assert_eq!(
            counts(&protocol::push_audit(s, &dev, &full[1..]).unwrap()),
            (3, 2, 6, None)
        );
        assert_eq!(
            counts(&protocol::push_audit(s, &dev, &[]).unwrap()),
            (0, 0, 6, None)
        );
        assert_eq!(s.audit_max_seq(&dev.id).unwrap(), 6);
        let chains = protocol::audit_chains(s).unwrap();
        assert_eq!(chains.broken, 0);
        let d = &chains.devices[0];
        assert_eq!((d.entries, d.last_seq, d.status.as_str()), (6, 6, "ok"));
        assert_eq!(d.hall_name, "沁水县");
    }
}

#[test]
fn each_break_stops_the_batch_there_and_is_recorded() {
    for (backend, s, dev, _dir) in backends() {
        eprintln!("{backend}");
        let s = s.as_ref();

        let full = chain(&dev.id, 8);
        protocol::push_audit(s, &dev, &full[..2]).unwrap();

        // Edited content: entries before it are kept, none from it on.
        let mut edited = full[2..6].to_vec();
        edited[1].detail = "改过".into();
        let o = protocol::push_audit(s, &dev, &edited).unwrap();
        assert_eq!(counts(&o), (1, 0, 3, Some(4)));
        assert!(o.fault.unwrap().reason.contains("这一条被修改"));

        // Linked to something else than the stored entry before it.
        let mut relinked = full[3].clone();
        relinked.prev_hash = GENESIS.into();
        relinked.hash = relinked.compute_hash();
        let o = protocol::push_audit(s, &dev, &[relinked]).unwrap();
        assert_eq!(counts(&o), (0, 0, 3, Some(4)));
        assert!(o.fault.unwrap().reason.contains("上一条的哈希值不符"));

        // A hole, at the start of a batch and inside one.
        let o = protocol::push_audit(s, &dev, &full[5..]).unwrap();
        assert_eq!(counts(&o), (0, 0, 3, Some(4)));
        assert!(o.fault.unwrap().reason.contains("第 4 条缺失"));
        let o = protocol::push_audit(s, &dev, &[full[3].clone(), full[5].clone()]).unwrap();
        assert_eq!(counts(&o), (1, 0, 4, Some(5)));
        assert!(o.fault.unwrap().reason.contains("第 5 条缺失"));

        // Another entry under a number already stored (a rewritten or restored log).
        let mut other = full[1].clone();
        other.detail = "另一条".into();
        other.hash = other.compute_hash();
        let o = protocol::push_audit(s, &dev, &[other]).unwrap();
        assert_eq!(counts(&o), (0, 0, 4, Some(2)));
        assert!(o.fault.unwrap().reason.contains("已收到的第 2 条不同"));

        // The honest rest still goes on after the breaks.
        assert_eq!(
            counts(&protocol::push_audit(s, &dev, &full[4..]).unwrap()),
            (4, 0, 8, None)
        );

        let chains = protocol::audit_chains(s).unwrap();
        assert_eq!(chains.broken, 1);
        let d = &chains.devices[0];
        assert_eq!(d.status, "broken");
        let mut seqs: Vec<(i64, i64)> = d.breaks.iter().map(|b| (b.seq, b.attempts)).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, vec![(2, 1), (4, 3), (5, 1)]);
        assert!(d.breaks.iter().all(|b| b.source == "push"));
        // What is stored is still a sound chain.
        assert_eq!(d.last_seq, 8);
    }
}

/// Every statistics query on PostgreSQL can read through an index: with sequential scans
/// priced out, none is left in any plan.
#[test]
fn every_postgres_statistics_query_uses_an_index() {
    let uri = pg::fresh_database();
    drop(PgStorage::open(&uri, None, Arc::new(SystemClock)).unwrap());
    for q in StatsQuery::ALL {
        let sql = xinfang_city::storage::postgres::stats_sql(q);
        let (types, args) = if q.params() == 3 {
            (
                "text, text, text",
                "'2025-03-01', '2025-03-31', '2025-04-01'",
            )
        } else {
            ("text, text", "'2025-03-01', '2025-03-31'")
        };
        let plan = pg::query(
            &uri,
            &format!(
                "SET enable_seqscan = off; PREPARE q({types}) AS {sql}; EXPLAIN EXECUTE q({args})"
            ),
        );
        assert!(!plan.contains("Seq Scan"), "{q:?}\n{plan}");
        assert!(plan.contains("Index"), "{q:?}\n{plan}");
    }
}

/// A snapshot page on PostgreSQL is read from an index in the byte order it pages in, with no
/// sort of the hall's records, also on a database whose collation is not C (a Debian cluster
/// takes the system's locale): every page sorted all of them before.
#[test]
fn a_postgres_snapshot_page_is_read_in_byte_order_without_a_sort() {
    let uri = pg::fresh_database_in_locale("C.UTF-8");
    drop(PgStorage::open(&uri, None, Arc::new(SystemClock)).unwrap());
    let plan = pg::query(
        &uri,
        &format!(
            "SET enable_seqscan = off; PREPARE q(text, text, text, bigint, text) AS {}; \
             EXPLAIN EXECUTE q('visit', 'vi-1', '140521', 1000, 'dev-00000001')",
            xinfang_city::storage::postgres::SNAPSHOT_RECORDS_SQL
        ),
    );
    assert!(!plan.contains("Sort"), "{plan}");
    assert!(plan.contains("records_hall_bytes"), "{plan}");
}

/// A snapshot in small pages leaves out exactly the records the asking desk alone wrote —
/// its base, later fields of its own, its own deletion — and keeps each one another desk of the
/// hall wrote any part of; the pages go on past records left out and end.
#[test]
fn a_snapshot_in_pages_leaves_out_only_what_the_desk_alone_wrote() {
    use xinfang_sync::wire::SnapshotRequest;
    use xinfang_sync::{Change, Hlc, Op::*};
    let at = |seq: i64, entity_id: &str, op, fields: serde_json::Value, hlc: i64| Change {
        seq,
        entity: "visit".into(),
        entity_id: entity_id.into(),
        op,
        fields: fields.as_object().unwrap().clone(),
        hlc: Hlc::new(hlc, 0),
        changed_at: "2026-03-02T09:15:07+08:00".into(),
    };
    let t = xinfang_sync::hlc::wall_ms() - 600_000;
    for (backend, s, me, _dir) in backends() {
        let other = enrol_as(
            s.as_ref(),
            "GGGG-HHHH-JJJJ",
            "dev-00000003",
            "140521",
            "二号机",
            "xft_two",
        );
        let two = serde_json::json!({"hall_code": "140521", "appeal": "一"});
        let mine = [
            at(1, "vi-01", Insert, two.clone(), t),
            at(2, "vi-03", Insert, two.clone(), t + 1),
            at(3, "vi-05", Insert, two.clone(), t + 2),
            at(4, "vi-07", Insert, two.clone(), t + 3),
            at(5, "vi-09", Insert, two.clone(), t + 4),
            // A later field of my own, and my own deletion: still mine alone.
            at(
                6,
                "vi-05",
                Update,
                serde_json::json!({"appeal": "二"}),
                t + 10,
            ),
            at(7, "vi-07", Delete, serde_json::json!({}), t + 11),
        ];
        protocol::push(s.as_ref(), &me, &mine, t + 20).unwrap();
        let theirs = [
            at(1, "vi-02", Insert, two.clone(), t + 30),
            at(2, "vi-04", Insert, two.clone(), t + 31),
            // A field of mine written again by the other desk, and a record of mine it deleted.
            at(
                3,
                "vi-03",
                Update,
                serde_json::json!({"appeal": "三"}),
                t + 32,
            ),
            at(4, "vi-09", Delete, serde_json::json!({}), t + 33),
        ];
        protocol::push(s.as_ref(), &other, &theirs, t + 40).unwrap();

        let mut taken = Vec::new();
        let mut after = None;
        for page in 1.. {
            assert!(page < 20, "{backend}: the pages do not end");
            let req = SnapshotRequest {
                entity: "visit".into(),
                after: after.clone(),
                limit: Some(2),
            };
            let resp = protocol::snapshot(s.as_ref(), &me, &req).unwrap();
            taken.extend(resp.records.iter().map(|r| r.entity_id.clone()));
            match resp.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(taken, ["vi-02", "vi-03", "vi-04", "vi-09"], "{backend}");
    }
}

/// Text PostgreSQL cannot store (a NUL character) is set aside on both backends alike, and the
/// device's later changes flow: never a push that fails forever on one backend only.
#[test]
fn a_nul_character_is_set_aside_alike_on_both_backends() {
    use xinfang_sync::{Change, Hlc, Op};
    let change = |seq: i64, id: &str, name: &str| Change {
        seq,
        entity: "visitor".into(),
        entity_id: id.into(),
        op: Op::Insert,
        fields: serde_json::json!({ "name": name })
            .as_object()
            .unwrap()
            .clone(),
        hlc: Hlc::new(xinfang_sync::hlc::wall_ms(), 0),
        changed_at: "2026-03-02T09:15:07+08:00".into(),
    };
    for (backend, s, dev, _dir) in backends() {
        let batch = [
            change(1, "v-1", "张\u{0}三"),
            change(2, "v-\u{0}2", "李四"),
            change(3, "v-3", "王五"),
        ];
        let now = xinfang_sync::hlc::wall_ms();
        let resp = protocol::push(s.as_ref(), &dev, &batch, now).unwrap();
        let codes: Vec<&str> = resp.set_aside.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(
            (resp.accepted, resp.server_max_seq, codes),
            (1, 3, vec!["fields_nul", "entity_id_invalid"]),
            "{backend}"
        );
        assert_eq!(s.quarantine(10).unwrap().total, 2, "{backend}");
        assert!(
            s.record_data("visitor", "v-3").unwrap().is_some(),
            "{backend}"
        );
    }
}

/// Enrols a second device, of 城区 (140522), in `s`.
fn enrol_other_hall(s: &dyn Storage) -> Device {
    enrol_as(
        s,
        "DDDD-EEEE-FFFF",
        "dev-00000002",
        "140522",
        "城区一号机",
        "xft_other",
    )
}

fn change(
    seq: i64,
    entity: &str,
    id: &str,
    op: xinfang_sync::Op,
    fields: serde_json::Value,
) -> xinfang_sync::Change {
    let now = xinfang_sync::hlc::wall_ms();
    xinfang_sync::Change {
        seq,
        entity: entity.into(),
        entity_id: id.into(),
        op,
        fields: fields.as_object().unwrap().clone(),
        // Later changes of a record win the merge.
        hlc: xinfang_sync::Hlc::new(now - 60_000, seq as u16),
        changed_at: "2026-03-02T09:15:07+08:00".into(),
    }
}

/// What a store holds after a push, as the protocol shows it: each record's fields, the
/// device's changes in sequence order (applied or set aside) and in server order, the
/// quarantine's codes.
#[allow(clippy::type_complexity)]
fn held(
    s: &dyn Storage,
    dev: &Device,
    keys: &[(&str, &str)],
) -> (
    Vec<Option<serde_json::Map<String, serde_json::Value>>>,
    Vec<(i64, bool)>,
    Vec<i64>,
    Vec<(i64, String)>,
) {
    let records = keys
        .iter()
        .map(|(e, id)| s.record_data(e, id).unwrap())
        .collect();
    let own = s.own_changes(dev, 0, 1000).unwrap().changes;
    let seqs = own
        .iter()
        .map(|c| (c.change.seq, c.server_seq > 0))
        .collect();
    let mut applied: Vec<&xinfang_sync::RemoteChange> =
        own.iter().filter(|c| c.server_seq > 0).collect();
    applied.sort_by_key(|c| c.server_seq);
    let server_order = applied.iter().map(|c| c.change.seq).collect();
    let mut quarantine: Vec<(i64, String)> = s
        .quarantine(1000)
        .unwrap()
        .changes
        .into_iter()
        .map(|q| (q.seq, q.code))
        .collect();
    quarantine.sort();
    (records, seqs, server_order, quarantine)
}

/// A batch is stored as its changes would be one by one (docs/performance.md, "Province
/// scale": new records in one statement, the rest alone, in order): new records, a resent
/// change, a record held already (the merge), one record twice, another hall's record and
/// code, a matter and its step, an unsigned staff change, a clock ahead, a bad shape, a
/// delete; on both backends.
#[test]
fn a_mixed_batch_is_stored_as_its_changes_one_by_one() {
    use serde_json::json;
    use xinfang_sync::Op::{Delete, Insert, Update};
    for ((backend, batched, dev, _d1), (_, single, dev_single, _d2)) in
        backends().into_iter().zip(backends())
    {
        eprintln!("{backend}");
        let earlier = [
            change(
                1,
                "visitor",
                "v-old",
                Insert,
                json!({"name": "甲", "phone": "1"}),
            ),
            change(2, "visitor", "v-prev", Insert, json!({"name": "乙"})),
        ];
        let future = xinfang_sync::hlc::wall_ms() + 86_400_000;
        let mut ahead = change(14, "visitor", "v-3", Insert, json!({"name": "丁"}));
        ahead.hlc = xinfang_sync::Hlc::new(future, 0);
        let batch = vec![
            earlier[1].clone(),
            change(
                3,
                "visitor",
                "v-1",
                Insert,
                json!({"name": "张三", "id_number": "140521199001011234"}),
            ),
            change(
                4,
                "visit",
                "vi-1",
                Insert,
                json!({"visited_at": "2026-03-02T09:00:00+08:00", "hall_code": "140521"}),
            ),
            change(
                5,
                "visit_visitor",
                "l-1",
                Insert,
                json!({"visit_id": "vi-1", "visitor_id": "v-1"}),
            ),
            change(6, "visitor", "v-old", Update, json!({"name": "甲乙"})),
            change(
                7,
                "visitor",
                "v-2",
                Insert,
                json!({"name": "丙", "phone": null, "meta_by": "staff-1"}),
            ),
            change(8, "visitor", "v-2", Update, json!({"phone": "139"})),
            change(9, "visitor", "x-other", Update, json!({"name": "别人"})),
            change(10, "visit", "vi-2", Insert, json!({"hall_code": "140522"})),
            change(
                11,
                "matter",
                "m-1",
                Insert,
                json!({"received_on": "2026-03-02", "appeal_kind": "claim", "status": "open"}),
            ),
            change(
                12,
                "matter_event",
                "e-1",
                Insert,
                json!({"matter_id": "m-1", "kind": "accept", "at": "2026-03-03"}),
            ),
            change(13, "staff", "s-1", Insert, json!({"name": "王"})),
            ahead,
            change(15, "Bad", "b-1", Insert, json!({"name": "坏"})),
            change(16, "visit", "vi-1", Delete, json!({})),
            change(17, "visitor", "v-4", Insert, json!({"name": "戊"})),
        ];
        let keys = [
            ("visitor", "v-old"),
            ("visitor", "v-prev"),
            ("visitor", "v-1"),
            ("visit", "vi-1"),
            ("visit_visitor", "l-1"),
            ("visitor", "v-2"),
            ("visitor", "x-other"),
            ("visit", "vi-2"),
            ("matter", "m-1"),
            ("matter_event", "e-1"),
            ("staff", "s-1"),
            ("visitor", "v-3"),
            ("visitor", "v-4"),
        ];
        let now = xinfang_sync::hlc::wall_ms();
        for (s, dev) in [(&batched, &dev), (&single, &dev_single)] {
            let other = enrol_other_hall(s.as_ref());
            let theirs = change(1, "visitor", "x-other", Insert, json!({"name": "城区的人"}));
            protocol::push(s.as_ref(), &other, &[theirs], now).unwrap();
            protocol::push(s.as_ref(), dev, &earlier, now).unwrap();
        }

        let resp = protocol::push(batched.as_ref(), &dev, &batch, now).unwrap();
        let mut one_by_one = (0, 0, 0, Vec::new());
        for c in &batch {
            let r =
                protocol::push(single.as_ref(), &dev_single, std::slice::from_ref(c), now).unwrap();
            one_by_one.0 += r.accepted;
            one_by_one.1 += r.duplicates;
            one_by_one.2 = r.server_max_seq;
            one_by_one
                .3
                .extend(r.set_aside.into_iter().map(|a| (a.seq, a.code)));
        }
        let set_aside: Vec<(i64, String)> = resp
            .set_aside
            .iter()
            .map(|a| (a.seq, a.code.clone()))
            .collect();
        assert_eq!(
            (
                resp.accepted,
                resp.duplicates,
                resp.server_max_seq,
                set_aside.clone()
            ),
            one_by_one,
            "{backend}"
        );
        let seqs: Vec<i64> = set_aside.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, vec![9, 10, 13, 14, 15], "{backend}: {set_aside:?}");

        let (a, b) = (
            held(batched.as_ref(), &dev, &keys),
            held(single.as_ref(), &dev_single, &keys),
        );
        assert_eq!(a, b, "{backend}");
        // Server order is the batch's order.
        assert_eq!(
            a.2,
            vec![1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 16, 17],
            "{backend}"
        );
        // The merge took the later name; the stripped insert kept its real fields only.
        let v_old = a.0[0].as_ref().unwrap();
        assert_eq!(
            (v_old["name"].as_str(), v_old["phone"].as_str()),
            (Some("甲乙"), Some("1"))
        );
        let v2 = a.0[5].as_ref().unwrap();
        assert_eq!(
            v2.get("phone").and_then(|p| p.as_str()),
            Some("139"),
            "{backend}"
        );
        assert!(!v2.contains_key("meta_by"), "{backend}");
        assert_eq!(a.0[6].as_ref().unwrap()["name"], "城区的人", "{backend}");

        // The same batch again: every change a duplicate, nothing doubled.
        let again = protocol::push(batched.as_ref(), &dev, &batch, now).unwrap();
        assert_eq!(
            (again.accepted, again.duplicates, again.set_aside.len()),
            (0, batch.len() as u64, 0),
            "{backend}"
        );
        assert_eq!(held(batched.as_ref(), &dev, &keys), a, "{backend}");
    }
}

/// A batch of new records costs PostgreSQL a handful of statements, not a few per change
/// (docs/performance.md, "Province scale"): 150 changes, as the load generator pushes them.
#[test]
fn a_batch_of_new_records_costs_a_handful_of_statements_on_postgres() {
    use serde_json::json;
    use xinfang_sync::Op::Insert;
    let s = PgStorage::open(&pg::fresh_database(), None, Arc::new(SystemClock)).unwrap();
    let dev = enrol(&s);
    let mut batch = Vec::new();
    for i in 0..50 {
        let n = batch.len() as i64;
        batch.push(change(
            n + 1,
            "visitor",
            &format!("v-{i}"),
            Insert,
            json!({"name": "张三", "id_number": format!("14052119900101{i:04}")}),
        ));
        batch.push(change(
            n + 2,
            "visit",
            &format!("vi-{i}"),
            Insert,
            json!({"visited_at": "2026-03-02T09:00:00+08:00"}),
        ));
        batch.push(change(
            n + 3,
            "visit_visitor",
            &format!("l-{i}"),
            Insert,
            json!({"visit_id": format!("vi-{i}"), "visitor_id": format!("v-{i}")}),
        ));
    }
    let now = xinfang_sync::hlc::wall_ms();
    let before = s.statements();
    let resp = protocol::push(&s, &dev, &batch, now).unwrap();
    let spent = s.statements() - before;
    assert_eq!((resp.accepted, resp.server_max_seq), (150, 150));
    // Begin, lock, the device's position, the records, the changes, commit.
    assert!(spent <= 8, "{spent} statements for a batch of 150");
    assert_eq!(
        s.record_data("visit_visitor", "l-49").unwrap().unwrap()["visitor_id"],
        "v-49"
    );
    // The resent batch reads each change to compare: still no write.
    let before = s.statements();
    let again = protocol::push(&s, &dev, &batch, now).unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 150));
    assert!(s.statements() - before <= 160);
}

/// A pull pages the hall's changes in server order, each once, however many desks the hall
/// has (SQLite asks in parts of 200 desks), and reads only the page: on both backends.
#[test]
fn a_pull_pages_the_changes_of_many_desks_in_server_order() {
    use serde_json::json;
    use std::collections::BTreeMap;
    const DESKS: usize = 205;
    for (name, s, puller, _dir) in backends() {
        let desks = enrol_desks(s.as_ref(), DESKS);
        // Two rounds, the second in the other order, so server order mixes the desks.
        let now = xinfang_sync::hlc::wall_ms();
        for round in 0..2i64 {
            let order: Vec<&Device> = if round == 0 {
                desks.iter().collect()
            } else {
                desks.iter().rev().collect()
            };
            for d in order {
                let id = format!("p-{}-{round}", d.id);
                let c = change(
                    round + 1,
                    "visitor",
                    &id,
                    xinfang_sync::Op::Insert,
                    json!({"name": "张三"}),
                );
                assert_eq!(
                    protocol::push(s.as_ref(), d, &[c], now).unwrap().accepted,
                    1
                );
            }
        }
        let mut cursors: BTreeMap<String, i64> = BTreeMap::new();
        let mut seen: Vec<(i64, String, i64)> = Vec::new();
        loop {
            let page = protocol::pull(s.as_ref(), &puller, &cursors, 37).unwrap();
            assert!(page.changes.len() <= 37, "{name}");
            seen.extend(
                page.changes
                    .iter()
                    .map(|c| (c.server_seq, c.device_id.clone(), c.change.seq)),
            );
            cursors = page.cursors;
            if !page.more {
                break;
            }
        }
        assert_eq!(seen.len(), DESKS * 2, "{name}: every change once");
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "{name}: in server order across pages"
        );
        assert!(cursors.values().all(|c| *c == 2), "{name}");
    }
}

/// `n` more desks of 沁水县.
fn enrol_desks(s: &dyn Storage, n: usize) -> Vec<Device> {
    (0..n)
        .map(|i| {
            let (code, device) = (format!("CODE-{i:04}-XXXX"), format!("dev-1{i:07}"));
            enrol_as(
                s,
                &code,
                &device,
                "140521",
                &format!("{i} 号机"),
                &format!("xft_desk_{i}"),
            )
        })
        .collect()
}

/// A pull costs PostgreSQL a handful of statements whatever the number of the hall's desks
/// (it was one a desk, each reading a page of that desk's changes: docs/performance.md).
#[test]
fn a_pull_costs_a_handful_of_statements_on_postgres() {
    use serde_json::json;
    let s = PgStorage::open(&pg::fresh_database(), None, Arc::new(SystemClock)).unwrap();
    let puller = enrol(&s);
    let now = xinfang_sync::hlc::wall_ms();
    for d in enrol_desks(&s, 30) {
        let c = change(
            1,
            "visitor",
            &format!("p-{}", d.id),
            xinfang_sync::Op::Insert,
            json!({"name": "张三"}),
        );
        protocol::push(&s, &d, &[c], now).unwrap();
    }
    let before = s.statements();
    let page = protocol::pull(&s, &puller, &Default::default(), 200).unwrap();
    let spent = s.statements() - before;
    assert_eq!(page.changes.len(), 30);
    // Begin, the hall's desks, their changes, the server's position, commit.
    assert!(spent <= 6, "{spent} statements for a pull of 30 desks");
}

/// A day's figures, once added up, are kept and not read again from its rows; whatever writes
/// one of its rows (an edited visit, a consultation of one of its visits, a deleted visit) drops
/// them, and the next figures read that day's rows, and only that day's; on both backends.
#[test]
fn a_days_figures_are_kept_until_one_of_its_rows_changes() {
    use serde_json::json;
    use xinfang_core::calendar::HolidayCalendar;
    use xinfang_core::stats::Period;
    use xinfang_sync::Op::{Delete, Insert, Update};
    let visit = |seq, id: &str, at: &str, head: u32| {
        change(
            seq,
            "visit",
            id,
            Insert,
            json!({ "visited_at": at, "head_count": head, "appeal_kind": "complaint",
                    "category_code": "labor", "clerk_id": "staff-1" }),
        )
    };
    let cal = HolidayCalendar::bundled();
    let period = Period::new("2025-03-03".parse().unwrap(), "2025-03-04".parse().unwrap()).unwrap();
    let today = "2025-04-01".parse().unwrap();
    for (backend, s, dev, _dir) in backends() {
        let push = |batch: &[xinfang_sync::Change]| {
            let resp =
                protocol::push(s.as_ref(), &dev, batch, xinfang_sync::hlc::wall_ms()).unwrap();
            assert!(resp.set_aside.is_empty(), "{backend}: {:?}", resp.set_aside);
        };
        // (visits, people, consultations) and the visits read from their rows.
        let figures = || {
            let f = s.statistics(period, today, &cal).unwrap();
            (
                (f.total.visits, f.total.people, f.total.consultations),
                f.rows.visits,
            )
        };
        push(&[
            visit(1, "v-1", "2025-03-03 09:10", 1),
            visit(2, "v-2", "2025-03-03 10:20", 2),
            visit(3, "v-3", "2025-03-04 09:30", 1),
        ]);
        assert_eq!(figures(), ((3, 4, 0), 3), "{backend}: added up");
        assert_eq!(figures(), ((3, 4, 0), 0), "{backend}: every day kept");

        push(&[change(
            4,
            "visit",
            "v-1",
            Update,
            json!({ "head_count": 5 }),
        )]);
        assert_eq!(
            figures(),
            ((3, 8, 0), 2),
            "{backend}: the edited visit's day"
        );

        push(&[change(
            5,
            "consultation",
            "k-1",
            Insert,
            json!({ "visit_id": "v-3", "lawyer_id": "staff-2", "legal_route": "labor",
                    "advice": "申请劳动仲裁。" }),
        )]);
        assert_eq!(
            figures(),
            ((3, 8, 1), 1),
            "{backend}: the consulted visit's day"
        );

        push(&[change(6, "visit", "v-2", Delete, json!({}))]);
        assert_eq!(
            figures(),
            ((2, 6, 1), 1),
            "{backend}: the deleted visit's day"
        );
        assert_eq!(figures(), ((2, 6, 1), 0), "{backend}: kept again");

        // An evaluation pushed after its matter's conclusion (taken that day, so within the
        // figures' time): the day concluded counts it.
        let participation = || {
            let r = s.statistics(period, today, &cal).unwrap().total.rate(2);
            (r.numerator, r.denominator)
        };
        let state = json!({ "status": "concluded", "opinion": { "at": "2025-03-04" } });
        push(&[change(
            7,
            "matter",
            "m-1",
            Insert,
            json!({ "received_on": "2025-03-03", "state": state.to_string() }),
        )]);
        assert_eq!(
            participation(),
            (0, 1),
            "{backend}: concluded, not evaluated"
        );
        push(&[change(
            8,
            "matter_evaluation",
            "e-1",
            Insert,
            json!({ "matter_id": "m-1", "result": "satisfied", "evaluated_on": "2025-03-04",
                    "created_at": "2025-03-04T16:00:00+08:00" }),
        )]);
        assert_eq!(participation(), (1, 1), "{backend}: the evaluation counts");

        // A second evaluation after the day the figures are taken (migration 0020 keeps each
        // matter's first and latest): figures taken before it count the first, later ones the
        // second.
        let to_april =
            Period::new("2025-03-03".parse().unwrap(), "2025-04-30".parse().unwrap()).unwrap();
        let taken_on = |today: &str| {
            let f = s
                .statistics(to_april, today.parse().unwrap(), &cal)
                .unwrap();
            let (p, sat) = (f.total.rate(2), f.total.rate(3));
            (
                (p.numerator, p.denominator),
                (sat.numerator, sat.denominator),
            )
        };
        push(&[change(
            9,
            "matter_evaluation",
            "e-2",
            Insert,
            json!({ "matter_id": "m-1", "result": "unsatisfied", "evaluated_on": "2025-04-10",
                    "created_at": "2025-04-10T10:00:00+08:00" }),
        )]);
        assert_eq!(
            taken_on("2025-04-01"),
            ((1, 1), (1, 1)),
            "{backend}: the first evaluation, taken before the second"
        );
        assert_eq!(
            taken_on("2025-04-30"),
            ((1, 1), (0, 1)),
            "{backend}: the second evaluation, taken after it"
        );
        // Each deletion changes what is kept: the latest is the first again, then there is none.
        push(&[change(10, "matter_evaluation", "e-2", Delete, json!({}))]);
        assert_eq!(
            taken_on("2025-04-30"),
            ((1, 1), (1, 1)),
            "{backend}: the first again once the second is deleted"
        );
        push(&[change(11, "matter_evaluation", "e-1", Delete, json!({}))]);
        assert_eq!(
            taken_on("2025-04-30"),
            ((0, 1), (0, 0)),
            "{backend}: none once both are deleted"
        );
    }
}

/// A matter's change that moves none of its figures (its handling started, a limit not yet done
/// extended, one more step counted) keeps the days its facts count on: none is due, none is read
/// again from rows. One that moves a figure (its conclusion) drops those days, and a deleted
/// matter its facts; the figures then equal those of a city that received only the last record;
/// on both backends.
#[test]
fn a_matter_change_that_moves_no_figure_keeps_its_days() {
    use serde_json::json;
    use xinfang_core::calendar::HolidayCalendar;
    use xinfang_core::stats::Period;
    use xinfang_sync::Op::{Delete, Insert, Update};
    let matter = |seq, op, status: &str, due: &str, concluded: Option<&str>| {
        let mut state = json!({ "status": status, "accepted_on": "2025-03-05",
            "deadlines": [{ "kind": "conclusion", "party": "authority", "due": due,
                            "done_on": concluded }] });
        if let Some(day) = concluded {
            state["opinion"] = json!({ "at": day });
        }
        change(
            seq,
            "matter",
            "m-1",
            op,
            json!({ "received_on": "2025-03-03", "status": status,
                    "state": state.to_string(), "event_count": seq }),
        )
    };
    let cal = HolidayCalendar::bundled();
    let march = Period::new("2025-03-01".parse().unwrap(), "2025-03-31".parse().unwrap()).unwrap();
    let today = "2025-04-01".parse().unwrap();
    for ((backend, s, dev, _dir), (_, fresh, fresh_dev, _fresh_dir)) in
        backends().into_iter().zip(backends())
    {
        let push = |s: &dyn Storage, dev: &Device, batch: &[xinfang_sync::Change]| {
            let resp = protocol::push(s, dev, batch, xinfang_sync::hlc::wall_ms()).unwrap();
            assert!(resp.set_aside.is_empty(), "{backend}: {:?}", resp.set_aside);
        };
        let figures = |s: &dyn Storage| {
            let f = s.statistics(march, today, &cal).unwrap();
            ((f.total, f.halls), f.rows.total())
        };
        let empty = figures(fresh.as_ref()).0;

        push(
            s.as_ref(),
            &dev,
            &[matter(1, Insert, "accepted", "2025-05-30", None)],
        );
        while s.keep_due_days(&cal).unwrap() > 0 {}
        let accepted = figures(s.as_ref());
        assert_eq!(accepted.1, 0, "{backend}: every day kept");

        for (seq, status, due, what) in [
            (2, "handling", "2025-05-30", "its handling started"),
            (3, "handling", "2025-06-30", "its limit extended"),
        ] {
            push(s.as_ref(), &dev, &[matter(seq, Update, status, due, None)]);
            assert_eq!(
                s.keep_due_days(&cal).unwrap(),
                0,
                "{backend}: {what}: no day due"
            );
            assert_eq!(
                figures(s.as_ref()),
                accepted,
                "{backend}: {what}: kept, not read"
            );
        }

        push(
            s.as_ref(),
            &dev,
            &[matter(
                4,
                Update,
                "concluded",
                "2025-06-30",
                Some("2025-03-20"),
            )],
        );
        assert!(
            s.keep_due_days(&cal).unwrap() > 0,
            "{backend}: concluded: its days due"
        );
        push(
            fresh.as_ref(),
            &fresh_dev,
            &[matter(
                1,
                Insert,
                "concluded",
                "2025-06-30",
                Some("2025-03-20"),
            )],
        );
        let concluded = figures(s.as_ref()).0;
        assert_eq!(
            concluded,
            figures(fresh.as_ref()).0,
            "{backend}: as the last record alone"
        );
        assert_ne!(concluded, accepted.0, "{backend}: the conclusion counts");

        push(
            s.as_ref(),
            &dev,
            &[change(5, "matter", "m-1", Delete, json!({}))],
        );
        assert_eq!(
            figures(s.as_ref()).0,
            empty,
            "{backend}: deleted, counted nowhere"
        );
    }
}

/// The server's keeper adds up in the background the days whose rows pushes wrote, a month per
/// transaction, newest first, so that the statistics read kept days and not rows.
#[test]
fn the_days_pushes_write_are_kept_in_the_background() {
    use serde_json::json;
    use xinfang_core::calendar::HolidayCalendar;
    use xinfang_core::stats::Period;
    use xinfang_sync::Op::{Insert, Update};
    let visit = |seq, id: &str, at: &str| {
        change(
            seq,
            "visit",
            id,
            Insert,
            json!({ "visited_at": at, "head_count": 1, "appeal_kind": "complaint" }),
        )
    };
    let cal = HolidayCalendar::bundled();
    let today = "2025-06-01".parse().unwrap();
    let day = |d: &str| -> Period {
        let d = d.parse().unwrap();
        Period::new(d, d).unwrap()
    };
    let march = Period::new("2025-03-03".parse().unwrap(), "2025-03-04".parse().unwrap()).unwrap();
    for (backend, s, dev, _dir) in backends() {
        let push = |batch: &[xinfang_sync::Change]| {
            let resp =
                protocol::push(s.as_ref(), &dev, batch, xinfang_sync::hlc::wall_ms()).unwrap();
            assert!(resp.set_aside.is_empty(), "{backend}: {:?}", resp.set_aside);
        };
        // (people, visits read from their rows)
        let figures = |p: Period| {
            let f = s.statistics(p, today, &cal).unwrap();
            (f.total.people, f.rows.visits)
        };
        push(&[
            visit(1, "v-1", "2025-03-03 09:10"),
            visit(2, "v-2", "2025-03-04 10:20"),
            visit(3, "v-3", "2025-05-10 09:30"),
            // A desk's malformed day: nothing to add up, and not due for ever.
            visit(4, "v-4", "2025-02-30 09:30"),
        ]);
        assert_eq!(
            s.keep_due_days(&cal).unwrap(),
            2,
            "{backend}: the newest month (05-10) and the malformed day"
        );
        assert_eq!(
            s.keep_due_days(&cal).unwrap(),
            2,
            "{backend}: March, two months older"
        );
        assert_eq!(s.keep_due_days(&cal).unwrap(), 0, "{backend}: none due");
        assert_eq!(figures(march), (2, 0), "{backend}: March kept");
        assert_eq!(figures(day("2025-05-10")), (1, 0), "{backend}: May kept");

        push(&[change(
            5,
            "visit",
            "v-1",
            Update,
            json!({ "head_count": 4 }),
        )]);
        assert_eq!(
            xinfang_city::stats::keep_due_days(s.as_ref(), &mut || true).unwrap(),
            1,
            "{backend}: the edited visit's day only"
        );
        assert_eq!(figures(march), (5, 0), "{backend}: kept anew");

        // A day the statistics kept themselves is no longer due.
        push(&[visit(6, "v-6", "2025-03-04 15:00")]);
        assert_eq!(
            figures(march),
            (6, 2),
            "{backend}: 03-04 added up by the call"
        );
        assert_eq!(
            s.keep_due_days(&cal).unwrap(),
            0,
            "{backend}: kept by the call"
        );
    }
}

/// The administrator's counts per hall are kept as pushes write (migration 0017; PostgreSQL
/// 0009), not counted at each call: visits, people and matters not deleted, and changes, each
/// hall its own.
#[test]
fn the_halls_counts_follow_pushes_and_deletions() {
    use serde_json::json;
    use xinfang_sync::Op::{Delete, Insert, Update};
    for (backend, s, dev, _dir) in backends() {
        let other = enrol_as(
            s.as_ref(),
            "DDDD-EEEE-FFFF",
            "dev-00000002",
            "140522",
            "二号机",
            "xft_other",
        );
        let push = |dev: &Device, batch: &[xinfang_sync::Change]| {
            let resp =
                protocol::push(s.as_ref(), dev, batch, xinfang_sync::hlc::wall_ms()).unwrap();
            assert!(resp.set_aside.is_empty(), "{backend}: {:?}", resp.set_aside);
        };
        // (visitors, visits, matters, changes) of a hall.
        let counts = |hall: &str| {
            let c = protocol::city_counts(s.as_ref()).unwrap();
            let h = c.halls.iter().find(|h| h.hall_code == hall).unwrap();
            (h.visitors, h.visits, h.matters, h.changes)
        };
        let at = json!({ "visited_at": "2025-03-03 09:10" });
        push(
            &dev,
            &[
                change(1, "visitor", "p-1", Insert, json!({ "name": "张三" })),
                change(2, "visit", "v-1", Insert, at.clone()),
                change(3, "visit", "v-2", Insert, at.clone()),
                change(
                    4,
                    "matter",
                    "m-1",
                    Insert,
                    json!({ "received_on": "2025-03-03" }),
                ),
            ],
        );
        push(&other, &[change(1, "visit", "v-9", Insert, at.clone())]);
        assert_eq!(counts("140521"), (1, 2, 1, 4), "{backend}");
        assert_eq!(counts("140522"), (0, 1, 0, 1), "{backend}: its own");

        let edit = change(6, "visit", "v-1", Update, json!({ "head_count": 2 }));
        push(
            &dev,
            &[change(5, "visit", "v-2", Delete, json!({})), edit.clone()],
        );
        assert_eq!(
            counts("140521"),
            (1, 1, 1, 6),
            "{backend}: a deleted visit no longer counts, an edited one still does"
        );
        // The same changes again (a desk that did not hear the answer): nothing more.
        push(&dev, &[edit]);
        assert_eq!(counts("140521"), (1, 1, 1, 6), "{backend}: a push repeated");
        assert_eq!(counts("140522"), (0, 1, 0, 1), "{backend}: untouched");
    }
}
