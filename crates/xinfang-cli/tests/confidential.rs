//! 检举控告 (confidential) matters through the `xinfang` binary: the same refusal and the same
//! audit entry as the desk, because both go through xinfang-app. Each case below passed the
//! CLI's own code before it called the application layer (no check, no audit entry).

mod common;

use std::path::Path;

use common::{hall_with, id_with_check, ok, run};
use serde_json::Value;
use tempfile::TempDir;

/// A hall with two clerks, a supervisor and a lawyer; the first clerk registered a 检举控告.
fn report_hall() -> (TempDir, String) {
    let hall = hall_with(&[
        ("clerk", "王接待", "clerk"),
        ("clerk2", "刘接待", "clerk"),
        ("boss", "赵科长", "supervisor"),
        ("lawyer", "陈律师", "lawyer"),
    ]);
    let r = common::register(
        hall.path(),
        "2026-11-20T09:30:00+08:00",
        "举报人",
        &id_with_check("14052119800115013"),
        "report",
    );
    let matter = r["matter_id"].as_str().unwrap().to_owned();
    (hall, matter)
}

fn staff_id(dir: &Path, username: &str) -> String {
    let list = ok(dir, "admin", &["staff", "list"]);
    list["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == username)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The audit entries about `record`, oldest first, as (action, staff id).
fn audit_of(dir: &Path, record: &str) -> Vec<(String, String)> {
    let log = ok(dir, "boss", &["audit", "--record", record]);
    let mut entries: Vec<(String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["staff_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    entries.reverse();
    entries
}

fn refused(dir: &Path, user: &str, args: &[&str]) -> Value {
    let (code, v) = run(dir, user, args);
    assert_eq!(code, 1, "{args:?} as {user} should be refused: {v}");
    v["errors"][0].clone()
}

const ACCEPT: &str = r#"{"kind":"accept","at":"2026-11-25"}"#;

#[test]
fn another_clerk_may_not_record_a_step_of_a_report_and_nothing_is_written() {
    let (hall, m) = report_hall();
    let dir = hall.path();
    let e = refused(dir, "clerk2", &["matter", "event", &m, "--event", ACCEPT]);
    assert_eq!(e["code"], "confidential", "{e}");
    assert!(
        !e.to_string().contains("要求解决问题"),
        "the refusal shows no content: {e}"
    );
    let v = ok(dir, "boss", &["matter", "show", &m]);
    assert_eq!(v["events"].as_array().unwrap().len(), 0, "{v}");
}

#[test]
fn the_registering_clerk_records_a_step_and_the_view_is_audited() {
    let (hall, m) = report_hall();
    let dir = hall.path();
    let v = ok(dir, "clerk", &["matter", "event", &m, "--event", ACCEPT]);
    assert_eq!(v["status"], "accepted", "{v}");
    // The answer shows the matter, appeal and all: that view is audited like `matter show`.
    assert_eq!(
        audit_of(dir, &m),
        [("view_confidential".to_owned(), staff_id(dir, "clerk"))]
    );
}

#[test]
fn a_lawyer_may_not_propose_a_route_for_a_report() {
    let (hall, m) = report_hall();
    let dir = hall.path();
    let e = refused(
        dir,
        "lawyer",
        &[
            "matter",
            "propose-route",
            &m,
            "--route",
            "labour_arbitration",
        ],
    );
    assert_eq!(e["code"], "confidential", "{e}");
    let e = refused(dir, "clerk2", &["matter", "confirm-route", &m]);
    assert_eq!(e["code"], "confidential", "{e}");
    let e = refused(
        dir,
        "clerk2",
        &["matter", "classify", &m, "--kind", "claim"],
    );
    assert_eq!(e["code"], "confidential", "{e}");
}

#[test]
fn a_notice_of_a_report_is_printed_only_for_whom_may_see_it_and_audited() {
    let (hall, m) = report_hall();
    let dir = hall.path();
    ok(dir, "clerk", &["matter", "event", &m, "--event", ACCEPT]);
    let before = audit_of(dir, &m).len();
    let out = dir.join("acceptance.pdf");
    let out_arg = out.to_str().unwrap();
    let render = [
        "notice",
        "render",
        "--kind",
        "acceptance",
        "--matter",
        &m,
        "--out",
        out_arg,
    ];
    let e = refused(dir, "clerk2", &render);
    assert_eq!(e["code"], "confidential", "{e}");
    assert!(!out.exists(), "no file is written for a refused notice");
    assert_eq!(audit_of(dir, &m).len(), before, "a refusal is not a view");

    let printed = ok(dir, "boss", &render);
    assert_eq!(printed["kind"], "acceptance");
    assert!(std::fs::read(&out).unwrap().starts_with(b"%PDF"));
    let after = audit_of(dir, &m);
    assert_eq!(
        after.last(),
        Some(&("view_confidential".to_owned(), staff_id(dir, "boss"))),
        "{after:?}"
    );
}

#[test]
fn a_clerks_visit_ledger_export_masks_the_report() {
    let (hall, _) = report_hall();
    let dir = hall.path();
    let out = dir.join("ledger.xlsx");
    let export = |user: &str, full: bool| {
        let mut args = vec![
            "export",
            "visits",
            "--out",
            out.to_str().unwrap(),
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
        ];
        if full {
            args.push("--full");
        }
        ok(dir, user, &args);
        let sheet = xinfang_ledger::read_table(&out).unwrap();
        sheet
            .rows
            .iter()
            .map(|(_, r)| r.join("|"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = export("clerk", false);
    assert!(text.contains("检举控告"), "{text}");
    assert!(!text.contains("要求解决问题"), "{text}");
    assert!(export("boss", true).contains("要求解决问题"));
}

/// `xinfang search` shows what the app's search shows: a 检举控告 reporter is nobody in
/// particular to whom may not see the report, and birth dates go only to roles that may see
/// full numbers (issue 15, items 10 and 4; the CLI printed both to every role).
#[test]
fn search_hides_the_reporter_and_the_birth_date_as_the_app_does() {
    let (hall, _) = report_hall();
    let dir = hall.path();
    let other = id_with_check("14052119750301024");
    common::register(dir, "2026-11-20T10:00:00+08:00", "张三", &other, "claim");
    let reporter = id_with_check("14052119800115013");
    let hit = |user: &str, number: &str| ok(dir, user, &["search", number])["visitors"][0].clone();

    for user in ["clerk", "boss"] {
        let h = hit(user, &reporter);
        assert_eq!(
            (&h["name"], &h["birth_date"]),
            (&"举报人".into(), &"1980-01-15".into()),
            "{user}"
        );
    }
    for user in ["clerk2", "lawyer"] {
        let h = hit(user, &reporter);
        assert_eq!(h["name"], "（检举人，已隐去）", "{user}: {h}");
        assert_eq!(h["id_number_masked"], "", "{user}: {h}");
        assert!(h["birth_date"].is_null(), "{user}: {h}");
    }
    let h = hit("lawyer", &other);
    assert_eq!(h["name"], "张三");
    assert!(h["birth_date"].is_null(), "{h}");
    assert_eq!(hit("clerk2", &other)["birth_date"], "1975-03-01");
}
