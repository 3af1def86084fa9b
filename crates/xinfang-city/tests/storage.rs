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
    protocol::add_enrol_code(s, &auth::code_hash("AAAA-BBBB-CCCC"), "140521", i64::MAX).unwrap();
    let token_hash = auth::token_hash("xft_test");
    protocol::enrol(
        s,
        &NewEnrolment {
            code_hash: auth::code_hash("AAAA-BBBB-CCCC"),
            device_id: "dev-00000001".into(),
            hall_code: "140521".into(),
            device_name: "一号机".into(),
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
