//! Issue 13, "People": correct a document, find likely duplicates, merge, unmerge — with the
//! real `xinfang` CLI on two encrypted desks and the real `xinfang-city` binary on loopback
//! (docs/sync.md, "People: correct, merge, split").

mod common;

use std::path::Path;

use common::Server;
use common::cli_desk::{cli, desk, ok};
use serde_json::{Value, json};

const HALL: &str = "140521";

fn sync(dir: &Path) {
    ok(dir, "clerk", &["sync"]);
}

fn resident_id(body17: &str) -> String {
    format!(
        "{body17}{}",
        xinfang_core::id::resident_id_check_char(body17).unwrap()
    )
}

fn visit(dir: &Path, name: &str, id_number: &str) -> Value {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let file = dir.join(format!("visit-{}.json", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(
        &file,
        json!({
            "visited_at": "",
            "visitors": [{ "name": name, "id_number": id_number }],
            "head_count": 1,
            "representatives": [],
            "appeal": "拖欠工资，请求协调支付。",
            "appeal_kind": "claim",
            "category": "劳动和社会保障",
            "agency": "县人社局",
            "place_code": HALL
        })
        .to_string(),
    )
    .unwrap();
    ok(
        dir,
        "clerk",
        &["visit", "add", "--file", file.to_str().unwrap()],
    )
}

/// The people a search shows: (visitor id, visit count), in id order.
fn people(dir: &Path, query: &str) -> Vec<(String, i64)> {
    let out = ok(dir, "clerk", &["search", query]);
    let mut v: Vec<(String, i64)> = out["visitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["visitor_id"].as_str().unwrap().to_owned(),
                h["visit_count"].as_i64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The city's repeat-visit view of a person: (distinct people, visits).
fn city_view(server: &Server, token: &str, id_number: &str) -> (Vec<String>, usize) {
    let (status, body) = server.get(
        &format!("/v1/city/repeat-visits?id_number={id_number}"),
        Some(token),
    );
    assert_eq!(status, 200, "{body}");
    let visits = body["visits"].as_array().unwrap();
    let mut who: Vec<String> = visits
        .iter()
        .map(|v| v["visitor_id"].as_str().unwrap().to_owned())
        .collect();
    who.sort();
    who.dedup();
    (who, visits.len())
}

common::both_backends! {
/// The case: desk A merges two records of one person while desk B, offline, registers
/// a new visit of the merged one. After sync both desks and the city show one person with all
/// three visits; an unmerge (made at B) restores both everywhere.
fn a_merge_at_one_desk_and_a_visit_offline_at_another_end_as_one_person_everywhere() {
    let server = Server::start();
    let token = server.admin_token();
    let (da, db) = (desk(&server), desk(&server));
    let (a, b) = (da.path(), db.path());
    let id1 = resident_id("14052119800115013");
    let id2 = resident_id("14052119800115021");
    let p1 = visit(a, "张三", &id1)["visitor_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let p2 = visit(a, "张叁", &id2)["visitor_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    sync(a);
    sync(b);
    // B, offline: 张叁 comes again.
    visit(b, "张叁", &id2);

    // A's supervisor finds the pair (sound-alike names, one birth date) and merges it.
    let dups = ok(a, "boss", &["person", "duplicates"]);
    let pair = &dups["duplicates"][0];
    assert_eq!(pair["reasons"], json!(["sound_alike"]), "{dups}");
    let (code, refused) = cli(
        a,
        "clerk",
        &["person", "merge", &p1, &p2, "--reason", "同一人"],
    );
    assert_eq!(code, 1, "a clerk may not merge: {refused}");
    assert_eq!(refused["errors"][0]["code"], "forbidden");
    let merged = ok(
        a,
        "boss",
        &[
            "person",
            "merge",
            &p1,
            &p2,
            "--reason",
            "同一人，身份证号录错一位",
        ],
    );
    let merge_id = merged["merge_id"].as_str().unwrap().to_owned();
    assert_eq!(merged["survivor"]["visit_count"], 2);

    sync(a);
    sync(b);
    sync(a);
    for d in [a, b] {
        assert_eq!(
            people(d, "张"),
            [(p1.clone(), 3)],
            "one person with every visit"
        );
        assert_eq!(
            people(d, &id2),
            [(p1.clone(), 3)],
            "the merged number finds the person"
        );
        assert!(
            ok(d, "boss", &["person", "duplicates"])["duplicates"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert_eq!(ok(d, "admin", &["verify"])["ok"], true);
    }
    assert_eq!(city_view(&server, &token, &id2), (vec![p1.clone()], 3));
    assert_eq!(city_view(&server, &token, &id1), (vec![p1.clone()], 3));
    let (_, halls) = server.get("/v1/city/halls", Some(&token));
    assert_eq!(halls["total_visitors"], 1, "{halls}");

    // B's supervisor undoes it; both people again, everywhere.
    let undone = ok(
        b,
        "boss",
        &["person", "unmerge", &merge_id, "--reason", "核实为两人"],
    );
    assert_eq!(undone["active"], false);
    sync(b);
    sync(a);
    for d in [a, b] {
        assert_eq!(people(d, "张"), {
            let mut v = vec![(p1.clone(), 1), (p2.clone(), 2)];
            v.sort();
            v
        });
    }
    assert_eq!(city_view(&server, &token, &id2), (vec![p2.clone()], 2));
    assert_eq!(city_view(&server, &token, &id1), (vec![p1.clone()], 1));
    let (_, halls) = server.get("/v1/city/halls", Some(&token));
    assert_eq!(halls["total_visitors"], 2, "{halls}");
    let audit = ok(b, "admin", &["audit"]);
    assert!(audit.to_string().contains("unmerge_people"), "{audit}");
}
}

common::both_backends! {
/// A typo in a document number, corrected at one desk with a reason: every replica finds the
/// person by the new number and no more by the old one; a number that is someone else's is
/// refused with a pointer to merging.
fn a_corrected_document_syncs_and_a_number_of_another_person_is_refused() {
    let server = Server::start();
    let (da, db) = (desk(&server), desk(&server));
    let (a, b) = (da.path(), db.path());
    let wrong = resident_id("14052119800115013");
    let right = resident_id("14052119800115021");
    let other = resident_id("14052119750203021");
    let p = visit(a, "张三", &wrong)["visitor_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    visit(a, "李四", &other);
    let (code, out) = cli(
        a,
        "boss",
        &[
            "person",
            "correct-document",
            &p,
            "--document",
            &other,
            "--reason",
            "录入错误",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(out["errors"][0]["code"], "document_taken");
    let (code, _) = cli(
        a,
        "clerk",
        &[
            "person",
            "correct-document",
            &p,
            "--document",
            &right,
            "--reason",
            "录入错误",
        ],
    );
    assert_eq!(code, 1, "a clerk may not correct a document");
    let doc = format!("resident_id:{right}");
    ok(
        a,
        "boss",
        &[
            "person",
            "correct-document",
            &p,
            "--document",
            &doc,
            "--reason",
            "登记时录错一位，已核对原件",
        ],
    );
    sync(a);
    sync(b);
    for d in [a, b] {
        assert_eq!(people(d, &right), [(p.clone(), 1)]);
        assert!(people(d, &wrong).is_empty());
    }
    let token = server.admin_token();
    assert_eq!(city_view(&server, &token, &right), (vec![p.clone()], 1));
}
}
