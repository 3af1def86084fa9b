//! 访调对接 from the command line (issue 17's contract): `xinfang visit handoff`, `xinfang queue
//! --desk … --json` (items with `visit_id`, `queue_no`, `status`), `xinfang queue take`.

mod common;

use common::{hall_with, id_with_check, ok, register, run};

#[test]
fn a_clerk_hands_off_and_the_lawyer_takes_the_visitors_in_order() {
    let dir = hall_with(&[
        ("clerk", "王接待", "clerk"),
        ("lawyer", "张律师", "lawyer"),
        ("mediator", "赵调解", "mediator"),
    ]);
    let d = dir.path();
    let first = register(
        d,
        "2025-03-03T09:00:00+08:00",
        "张三",
        &id_with_check("14052119800115013"),
        "claim",
    );
    let second = register(
        d,
        "2025-03-03T09:10:00+08:00",
        "李四",
        &id_with_check("14052119750301024"),
        "claim",
    );
    let (v1, v2) = (
        first["visit_id"].as_str().unwrap(),
        second["visit_id"].as_str().unwrap(),
    );

    // Nobody waits yet; the lawyer's and the mediator's queues are apart.
    assert_eq!(
        ok(d, "lawyer", &["queue", "--desk", "lawyer"]),
        serde_json::json!([])
    );
    assert_eq!(
        ok(d, "lawyer", &["queue", "take", "--desk", "lawyer"]),
        serde_json::Value::Null
    );

    let h = ok(
        d,
        "clerk",
        &[
            "visit",
            "handoff",
            v1,
            "--desk",
            "lawyer",
            "--note",
            "咨询拆迁补偿",
        ],
    );
    assert_eq!(h["desk"], "lawyer");
    ok(d, "clerk", &["visit", "handoff", v2, "--desk", "lawyer"]);
    ok(d, "clerk", &["visit", "handoff", v2, "--desk", "mediator"]);

    let q = ok(d, "lawyer", &["queue", "--desk", "lawyer"]);
    let items = q.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["visit_id"], v1);
    assert_eq!(items[0]["queue_no"], first["queue_no"]);
    // The 来访编号 people are told at registration (issue 20).
    assert!(
        first["number"]
            .as_str()
            .unwrap()
            .starts_with("沁水-2025-03-03-"),
        "{first}"
    );
    assert_eq!(items[0]["number"], first["number"]);
    assert_eq!(items[0]["status"], "waiting");
    assert_eq!(items[0]["note"], "咨询拆迁补偿");
    assert_eq!(items[1]["visit_id"], v2);
    assert_eq!(
        ok(d, "mediator", &["queue", "--desk", "mediator"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The longest waiting first; asked again, the lawyer gets the one they have.
    let next = ok(d, "lawyer", &["queue", "take", "--desk", "lawyer"]);
    assert_eq!(
        (next["visit_id"].as_str(), next["status"].as_str()),
        (Some(v1), Some("taken"))
    );
    assert_eq!(next["taken_by"], "张律师");
    let again = ok(d, "lawyer", &["queue", "take", "--desk", "lawyer"]);
    assert_eq!(again["visit_id"], v1);
    let q = ok(d, "lawyer", &["queue", "--desk", "lawyer"]);
    assert_eq!(q[0]["status"], "taken");
    assert_eq!(q[1]["status"], "waiting");
}

/// Roles are checked in Rust on this path as on the app's: a clerk does not take from the
/// lawyer's queue, a lawyer does not read the mediator's, and a lawyer does not hand off.
#[test]
fn the_queues_refuse_the_wrong_role() {
    let dir = hall_with(&[("clerk", "王接待", "clerk"), ("lawyer", "张律师", "lawyer")]);
    let d = dir.path();
    let v = register(
        d,
        "2025-03-03T09:00:00+08:00",
        "张三",
        &id_with_check("14052119800115013"),
        "claim",
    );
    let v = v["visit_id"].as_str().unwrap();
    for (user, args) in [
        ("clerk", vec!["queue", "take", "--desk", "lawyer"]),
        ("lawyer", vec!["queue", "--desk", "mediator"]),
        ("lawyer", vec!["visit", "handoff", v, "--desk", "lawyer"]),
    ] {
        let (code, out) = run(d, user, &args);
        assert_ne!(code, 0, "{user} {args:?}: {out}");
        assert!(
            out.to_string().contains("权限") || out.to_string().contains("无权"),
            "{out}"
        );
    }
    // A visit that is not there: a Chinese message, not a crash.
    let (code, out) = run(
        d,
        "clerk",
        &["visit", "handoff", "no-such-visit", "--desk", "lawyer"],
    );
    assert_ne!(code, 0);
    assert!(out.to_string().contains("来访"), "{out}");
}

/// The text of a PDF, as pdftotext gives it back, without line breaks and spaces.
fn pdf_text(pdf: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext is missing: run scripts/install-deps.sh (poppler-utils)");
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        pdf.display()
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The queue slip (排队单) at registration: the hall, the number, the time and where to wait —
/// the lawyer's room once handed off — on an 80 mm receipt and on A5; never the visitor's name,
/// document number or appeal.
#[test]
fn the_queue_slip_shows_the_number_and_where_to_wait_and_nothing_personal() {
    let dir = hall_with(&[("clerk", "王接待", "clerk"), ("lawyer", "张律师", "lawyer")]);
    let d = dir.path();
    let number = id_with_check("14052119800115013");
    let v = register(d, "2025-03-03T09:05:00+08:00", "张三", &number, "claim");
    // Not enrolled: the desk's own number, with its letter (`B001`).
    let (visit, queue_no) = (
        v["visit_id"].as_str().unwrap(),
        v["queue_label"].as_str().unwrap().to_owned(),
    );
    assert!(queue_no.ends_with("001") && queue_no.len() == 4, "{v}");
    let receipt = d.join("slip.pdf");
    let out = ok(
        d,
        "clerk",
        &[
            "notice",
            "slip",
            "--visit",
            visit,
            "--out",
            receipt.to_str().unwrap(),
        ],
    );
    assert_eq!(out["queue_no"].as_str(), Some(queue_no.as_str()));
    let text = pdf_text(&receipt);
    for want in [
        "沁水县信访接待大厅",
        "排队单",
        &queue_no,
        "2025年3月3日09:05",
        "登记窗口",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
    for never in ["张三", number.as_str(), "要求解决问题"] {
        assert!(!text.contains(never), "{never} on the slip: {text}");
    }
    ok(d, "clerk", &["visit", "handoff", visit, "--desk", "lawyer"]);
    let a5 = d.join("slip-a5.pdf");
    ok(
        d,
        "clerk",
        &[
            "notice",
            "slip",
            "--visit",
            visit,
            "--size",
            "a5",
            "--out",
            a5.to_str().unwrap(),
        ],
    );
    assert!(pdf_text(&a5).contains("请到律师咨询室外等候叫号"));
    // The lawyer does not register visitors, so prints no slip; a wrong paper is named.
    let (code, _) = run(
        d,
        "lawyer",
        &[
            "notice",
            "slip",
            "--visit",
            visit,
            "--out",
            a5.to_str().unwrap(),
        ],
    );
    assert_ne!(code, 0);
    let (code, e) = run(
        d,
        "clerk",
        &[
            "notice",
            "slip",
            "--visit",
            visit,
            "--size",
            "a4",
            "--out",
            a5.to_str().unwrap(),
        ],
    );
    assert_ne!(code, 0);
    assert!(e.to_string().contains("receipt"), "{e}");
}
