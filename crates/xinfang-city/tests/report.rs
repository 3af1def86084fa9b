//! The city's monthly report (`xinfang-city report`) on a known data set, with the real server
//! binary: two halls' desks push their records over HTTP as in `tests/stats.rs`, the city
//! administrator prints March 2025, and the PDF (read back with pdftotext) carries the city
//! title, every hall and exactly the figures `GET /v1/city/stats` gives for the same month.

mod common;

use std::path::Path;
use std::process::Command;

use common::{CITY_BIN, Server, march};
use serde_json::json;
use tempfile::TempDir;
use xinfang_core::reference::ReferenceData;

/// The PDF's text in layout order (a table row on one line), whitespace removed.
fn text_of(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext is missing: run scripts/install-deps.sh (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The row of `name` in the hall table as pdftotext -layout prints it: the name, the eight
/// counts and the four rates (their fractions are on the line below).
fn row(name: &str, counts: [u64; 8], rates: [&str; 4]) -> String {
    let counts: String = counts.iter().map(u64::to_string).collect();
    format!("{name}{counts}{}", rates.concat())
}

common::both_backends! {
fn the_city_report_of_march_has_every_hall_and_the_exact_figures() {
    let server = Server::start();
    march::seed(&server);
    let out_dir = TempDir::new().unwrap();
    let pdf = out_dir.path().join("晋城市2025年3月.pdf");
    let out = server.run(&[
        "report",
        "--month",
        "2025-03",
        "--out",
        pdf.to_str().unwrap(),
        "--today",
        "2025-04-01",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("已生成晋城市信访接待月度统计报告2025年3月"),
        "{stdout}"
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));

    // The same figures as the endpoint gives for the month.
    let admin = server.admin_token();
    let (status, s) = server.get("/v1/city/stats?from=2025-03-01&to=2025-03-31", Some(&admin));
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (&s["total"]["visits"], &s["total"]["people"]),
        (&json!(4), &json!(10))
    );

    let text = text_of(&pdf);
    for wanted in [
        "晋城市信访接待月度统计报告",
        "2025年3月",
        "统计区间：2025年3月1日至2025年3月31日",
        "数据截至：2025年4月1日",
        // City totals.
        "来访批次4批",
        "来访人次10人次",
        "初次访3批",
        "重复访1批",
        "集体访1批",
        "集体访人次6人次",
        "新收信访事项4件",
        "超期事项1件",
        "法律咨询1次",
        "人民调解1件",
        "调解达成协议1件",
        // The city's four rates, with numerator and denominator.
        "及时受理率75.00%3／4",
        "按期办结率100.00%1／1",
        "参评率100.00%1／1",
        "满意率100.00%1／1",
        // Charts.
        "各大厅来访批次",
        "诉求类别（来访批次）",
        "申诉求决类3",
        "建议意见类1",
        "问题分类（来访批次）",
        "制表单位：晋城市信访局",
        "2025年4月1日",
    ] {
        assert!(text.contains(wanted), "no “{wanted}” in:\n{text}");
    }
    // Every hall the server knows has its row, in code order; the two with records carry their
    // exact figures, 阳城县's empty rates as “—” over 0/0.
    let names = [
        "晋城市",
        "城区",
        "沁水县",
        "阳城县",
        "陵川县",
        "泽州县",
        "高平市",
    ];
    let mut at = text.find("三、各大厅情况").expect("the hall table");
    for name in names {
        let i = text[at..]
            .find(name)
            .unwrap_or_else(|| panic!("no hall {name} after byte {at} in:\n{text}"));
        at += i + name.len();
    }
    for wanted in [
        row(
            "沁水县",
            [3, 8, 1, 1, 3, 1, 1, 1],
            ["66.67%", "100.00%", "100.00%", "100.00%"],
        ),
        "2/31/11/11/1".to_owned(),
        row(
            "阳城县",
            [1, 2, 0, 0, 1, 0, 0, 0],
            ["100.00%", "—", "—", "—"],
        ),
        "1/10/00/00/0".to_owned(),
        row("高平市", [0, 0, 0, 0, 0, 0, 0, 0], ["—", "—", "—", "—"]),
        row(
            "全市合计",
            [4, 10, 1, 1, 4, 1, 1, 1],
            ["75.00%", "100.00%", "100.00%", "100.00%"],
        ),
        "3/41/11/11/1".to_owned(),
    ] {
        assert!(text.contains(&wanted), "no “{wanted}” in:\n{text}");
    }
    // The hall comparison: a bar per hall with its visits.
    let chart = &text[text.find("各大厅来访批次").unwrap()..];
    for bar in ["晋城市0", "城区0", "沁水县3", "阳城县1", "高平市0"] {
        assert!(chart.contains(bar), "no bar “{bar}” in:\n{chart}");
    }
    let categories = &ReferenceData::bundled().categories;
    for (category, n) in [(&categories[0].name, 3), (&categories[1].name, 1)] {
        assert!(
            chart.contains(&format!("{category}{n}")),
            "no “{category}{n}” in:\n{chart}"
        );
    }

    if let Ok(sample) = std::env::var("XINFANG_CITY_REPORT_SAMPLE") {
        std::fs::copy(&pdf, sample).unwrap();
    }
}
}

#[test]
fn a_malformed_month_is_refused_in_chinese() {
    let server = Server::start();
    let out_dir = TempDir::new().unwrap();
    let pdf = out_dir.path().join("r.pdf");
    for month in ["2025-13", "2025/03", "三月"] {
        let out = server.run(&["report", "--month", month, "--out", pdf.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("月份“{month}”无法识别，请写成 2025-03 的格式。")),
            "{stderr}"
        );
        assert!(!pdf.exists(), "nothing is written on error");
    }
    // Without a key file (or --no-encryption) the database is not opened.
    let out = Command::new(CITY_BIN)
        .args(["report", "--month", "2025-03", "--out"])
        .arg(&pdf)
        .arg("--data-dir")
        .arg(server.dir.path())
        .env_remove("XINFANG_CITY_KEY_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key-file"));
    assert!(!pdf.exists());
}
