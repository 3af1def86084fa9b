//! `xinfang stats report`: the monthly report of a hall to PDF, read back with pdftotext.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const PASSWORD: &str = "admin-pass-1";

fn xinfang(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("xinfang").unwrap();
    cmd.env_remove("XINFANG_DATA_DIR")
        .env_remove("XINFANG_USER")
        .env("XINFANG_PASSWORD", PASSWORD)
        .arg("--data-dir")
        .arg(dir);
    cmd
}

fn run(dir: &Path, user: &str, args: &[&str]) -> (i32, Value) {
    let out = xinfang(dir)
        .args(["--json", "--user", user])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn ok(dir: &Path, user: &str, args: &[&str]) -> Value {
    let (code, v) = run(dir, user, args);
    assert_eq!(code, 0, "{args:?}: {v}");
    v
}

fn id(body17: &str) -> String {
    format!(
        "{body17}{}",
        xinfang_core::id::resident_id_check_char(body17).unwrap()
    )
}

fn register(dir: &Path, at: &str, name: &str, number: &str) -> Value {
    let file = dir.join(format!("visit-{number}-{}.json", &at[..10]));
    let body = serde_json::json!({
        "visited_at": at,
        "visitors": [{ "name": name, "id_number": number }],
        "appeal": "要求解决问题。",
        "appeal_kind": "claim",
        "category": "城乡建设",
        "agency": "县住建局",
    });
    std::fs::write(&file, body.to_string()).unwrap();
    ok(
        dir,
        "clerk",
        &["visit", "add", "--file", file.to_str().unwrap()],
    )
}

#[test]
fn the_monthly_report_of_a_hall_has_its_figures() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    xinfang(d)
        .args(["init", "--hall", "140521", "--admin", "admin"])
        .assert()
        .success();
    for (user, name, role) in [("clerk", "王接待", "clerk"), ("lawyer", "张律师", "lawyer")] {
        xinfang(d)
            .env("XINFANG_NEW_PASSWORD", PASSWORD)
            .args(["--user", "admin", "staff", "add", "--username", user])
            .args(["--name", name, "--role", role])
            .assert()
            .success();
    }
    let v1 = register(
        d,
        "2025-03-03T09:00:00+08:00",
        "张三",
        &id("14052119800115013"),
    );
    register(
        d,
        "2025-03-05T10:00:00+08:00",
        "李四",
        &id("14052119750301024"),
    );
    register(
        d,
        "2025-04-02T11:00:00+08:00",
        "王五",
        &id("14052119700505031"),
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
