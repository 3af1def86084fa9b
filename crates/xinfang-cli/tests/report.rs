//! `xinfang stats report`: the monthly report of a hall to PDF, read back with pdftotext.

mod common;

use common::{hall_with, id_with_check as id, ok, register, run};

#[test]
fn the_monthly_report_of_a_hall_has_its_figures() {
    let dir = hall_with(&[("clerk", "王接待", "clerk"), ("lawyer", "张律师", "lawyer")]);
    let d = dir.path();
    let v1 = register(
        d,
        "2025-03-03T09:00:00+08:00",
        "张三",
        &id("14052119800115013"),
        "claim",
    );
    register(
        d,
        "2025-03-05T10:00:00+08:00",
        "李四",
        &id("14052119750301024"),
        "claim",
    );
    register(
        d,
        "2025-04-02T11:00:00+08:00",
        "王五",
        &id("14052119700505031"),
        "claim",
    );
    ok(
        d,
        "clerk",
        &[
            "matter",
            "event",
            v1["matter_id"].as_str().unwrap(),
            "--event",
            r#"{"kind":"accept","at":"2025-03-10","notice_no":null}"#,
        ],
    );
    let out = d.join("月报.pdf");
    let r = ok(
        d,
        "clerk",
        &[
            "stats",
            "report",
            "--month",
            "2025-03",
            "--today",
            "2025-04-30",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(r["hall_name"], "沁水县信访接待大厅");
    assert_eq!(r["visits"], 2);
    // 李四's matter ran past its 15 days undone: 1 of 2 in time.
    assert_eq!(r["rates"]["timely_acceptance"]["numerator"], 1);
    assert_eq!(r["rates"]["timely_acceptance"]["denominator"], 2);
    let text = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&out)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    let flat: String = String::from_utf8(text.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for wanted in [
        "沁水县信访局",
        "2025年3月信访工作统计月报",
        "沁水县信访接待大厅",
        "来访批次2批",
        "及时受理率50.00%1／2",
        "城乡建设2",
    ] {
        assert!(flat.contains(wanted), "no “{wanted}” in {flat}");
    }

    // A malformed month names the field; a lawyer may not see the hall's statistics.
    let (code, e) = run(
        d,
        "clerk",
        &[
            "stats",
            "report",
            "--month",
            "2025/3",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(e["errors"][0]["field"], "month");
    assert!(
        e["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2025-03")
    );
    let (code, _) = run(
        d,
        "lawyer",
        &[
            "stats",
            "report",
            "--month",
            "2025-03",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
}
