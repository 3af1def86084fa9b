//! `xinfang stats`, `export`, `import`, `publicity`, `matter evaluate` as scripts use them: real
//! data dirs, real processes, JSON on stdout.

mod common;

use common::{hall_with, id_with_check as id, ok, register, run};
use tempfile::TempDir;

/// A hall with an admin, a clerk and a supervisor.
fn hall() -> TempDir {
    hall_with(&[
        ("clerk", "王接待", "clerk"),
        ("boss", "刘科长", "supervisor"),
    ])
}

#[test]
fn stats_json_gives_the_counts_and_rates() {
    let dir = hall();
    let d = dir.path();
    let zhang = id("14052119800115013");
    let v1 = register(d, "2025-03-03T09:00:00+08:00", "张三", &zhang, "claim");
    register(d, "2025-03-10T10:00:00+08:00", "张三", &zhang, "claim");
    register(
        d,
        "2025-04-02T11:00:00+08:00",
        "李四",
        &id("14052119750301024"),
        "suggestion",
    );
    let m1 = v1["matter_id"].as_str().unwrap();
    for event in [
        r#"{"kind":"accept","at":"2025-03-10","notice_no":null}"#,
        r#"{"kind":"conclude","at":"2025-04-01","opinion_summary":"已答复"}"#,
    ] {
        ok(d, "clerk", &["matter", "event", m1, "--event", event]);
    }
    let e = ok(
        d,
        "clerk",
        &[
            "matter",
            "evaluate",
            m1,
            "--result",
            "基本满意",
            "--channel",
            "phone",
            "--on",
            "2025-04-03",
        ],
    );
    assert_eq!(e["result"], "basically_satisfied");

    // The statistics of a period as the supervisor sees them on 30 June.
    let stats = |from: &str, extra: &[&str]| {
        let period = [
            "stats",
            "--from",
            from,
            "--to",
            "2025-04-30",
            "--today",
            "2025-06-30",
        ];
        ok(d, "boss", &[period.as_slice(), extra].concat())
    };
    let s = stats("2025-03-01", &[]);
    assert_eq!(s["visits"]["visits"], 3);
    assert_eq!(s["visits"]["repeat_visits"], 1);
    assert_eq!(s["visits"]["visitors"], 2);
    assert_eq!(
        s["by_month"][0],
        serde_json::json!({"key": "2025-03", "label": "2025-03", "count": 2})
    );
    assert_eq!(s["rates"]["timely_acceptance"]["numerator"], 1);
    assert_eq!(s["rates"]["timely_acceptance"]["denominator"], 3);
    assert_eq!(s["rates"]["participation"]["percent"], 100.0);
    assert_eq!(s["rates"]["satisfaction"]["percent"], 100.0);
    assert_eq!(s["completeness"]["matters_without_disposition"], 2);
    // A narrower range changes the numbers.
    let s = stats("2025-04-01", &[]);
    assert_eq!(s["visits"]["visits"], 1);
    let r = stats("2025-03-01", &["--rate", "timely-acceptance"]);
    assert_eq!(r["matters"].as_array().unwrap().len(), 3);
    let g = stats("2025-03-01", &["--gaps"]);
    assert_eq!(
        g["matters_without_disposition"].as_array().unwrap().len(),
        2
    );
    // A reversed period is refused with a message that says how to fix it.
    let (code, v) = run(
        d,
        "boss",
        &["stats", "--from", "2025-05-01", "--to", "2025-04-30"],
    );
    assert_eq!(code, 1);
    assert_eq!(v["errors"][0]["code"], "period_reversed");
    // Export: clerks get masked numbers; only a supervisor may export in full, and it is logged.
    let out = d.join("visits.xlsx");
    let x = ok(
        d,
        "clerk",
        &[
            "export",
            "visits",
            "--out",
            out.to_str().unwrap(),
            "--from",
            "2025-03-01",
            "--to",
            "2025-04-30",
        ],
    );
    assert_eq!(x["rows"], 3);
    assert!(out.exists());
    let (code, v) = run(
        d,
        "clerk",
        &["export", "visits", "--full", "--out", out.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("导出完整证件号码")
    );
    let stats_out = d.join("stats.xlsx");
    ok(
        d,
        "boss",
        &[
            "export",
            "stats",
            "--out",
            stats_out.to_str().unwrap(),
            "--from",
            "2025-03-01",
            "--to",
            "2025-04-30",
        ],
    );
    assert!(stats_out.exists());
    let v = ok(d, "admin", &["verify"]);
    assert_eq!(v["ok"], true);
}

#[test]
fn import_checks_first_imports_once_and_writes_the_bad_rows() {
    let dir = hall();
    let d = dir.path();
    let csv = d.join("ledger.csv");
    std::fs::write(
        &csv,
        format!(
            "来访日期,姓名,证件号码,诉求内容,诉求类别,问题分类\n\
             2025-03-03,张三,{},邻居违建,申诉求决类,城乡建设\n\
             2025-03-04,李四,140521197503010240,工资拖欠,申诉求决类,劳动和社会保障\n\
             2025-03-05,王五,{},路灯不亮,建议意见类,城乡建设\n",
            id("14052119800115013"),
            id("14052119700505031")
        ),
    )
    .unwrap();
    let f = csv.to_str().unwrap();
    let dry = ok(d, "boss", &["import", f, "--dry-run"]);
    assert_eq!(
        (
            dry["good"].as_u64(),
            dry["bad"].as_u64(),
            dry["imported"].as_u64()
        ),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(dry["errors"][0]["row"], 3);
    assert_eq!(dry["errors"][0]["column"], "证件号码");
    assert!(!d.join("ledger.errors.xlsx").exists());
    let s = ok(
        d,
        "boss",
        &["stats", "--from", "2025-03-01", "--to", "2025-03-31"],
    );
    assert_eq!(s["visits"]["visits"], 0);

    let first = ok(d, "boss", &["import", f]);
    assert_eq!(first["imported"], 2);
    assert!(d.join("ledger.errors.xlsx").exists());
    let second = ok(d, "boss", &["import", f]);
    assert_eq!(second["imported"], 0);
    assert_eq!(second["already_imported"], serde_json::json!([2, 4]));
    let s = ok(
        d,
        "boss",
        &["stats", "--from", "2025-03-01", "--to", "2025-03-31"],
    );
    assert_eq!(s["visits"]["visits"], 2);
    // Clerks may not import.
    let (code, _) = run(d, "clerk", &["import", f]);
    assert_eq!(code, 1);
}

#[test]
fn publicity_add_and_summary() {
    let dir = hall();
    let d = dir.path();
    ok(
        d,
        "clerk",
        &[
            "publicity",
            "add",
            "--date",
            "2021-12-04",
            "--place",
            "城关社区",
            "--unit",
            "县司法局",
            "--unit",
            "县信访局",
            "--kind",
            "进社区",
            "--leaflets",
            "800",
            "--consulted",
            "60",
            "--reached",
            "300",
        ],
    );
    // 沁水县's share of the city's third 法治宣传周 (tests/data/publicity-week-2021.tsv), as
    // the JSON file `publicity add --file` reads, the campaign given once on the command line.
    let table = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/publicity-week-2021.tsv"
    ))
    .unwrap();
    let week = "第三届“循法信访、依法办访”法治宣传周";
    let n = |s: &str| s.parse::<u64>().unwrap();
    let activities: Vec<serde_json::Value> = table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|c| c[1] == "140521" && c[11] == week)
        .map(|c| {
            serde_json::json!({
                "held_on": c[2], "kind": c[3], "place": c[4],
                "units": c[5].split('、').collect::<Vec<_>>(),
                "leaflets": n(c[6]), "consulted": n(c[7]), "reached": n(c[8]),
                "posts": n(c[9]), "reads": n(c[10]),
            })
        })
        .collect();
    let leaflets: u64 = activities
        .iter()
        .map(|a| a["leaflets"].as_u64().unwrap())
        .sum();
    let file = d.join("week.json");
    std::fs::write(&file, serde_json::to_string(&activities).unwrap()).unwrap();
    let added = ok(
        d,
        "clerk",
        &[
            "publicity",
            "add",
            "--file",
            file.to_str().unwrap(),
            "--campaign",
            week,
        ],
    );
    assert_eq!(added["added"], 12);
    let s = ok(
        d,
        "clerk",
        &[
            "publicity",
            "summary",
            "--from",
            "2021-01-01",
            "--to",
            "2021-12-31",
        ],
    );
    assert_eq!(s["totals"]["events"], 13);
    assert_eq!(s["totals"]["leaflets"], 800 + leaflets);
    assert_eq!(s["by_campaign"][0]["key"], "");
    assert_eq!(s["by_campaign"][1]["key"], week);
    let of_week = [
        "publicity",
        "summary",
        "--from",
        "2021-05-01",
        "--to",
        "2021-05-31",
        "--campaign",
        week,
    ];
    let s = ok(d, "clerk", &of_week);
    assert_eq!(s["totals"]["events"], 12);
    assert_eq!(s["totals"]["leaflets"], leaflets);
    let list = ok(
        d,
        "clerk",
        &[
            "publicity",
            "list",
            "--from",
            "2021-01-01",
            "--to",
            "2021-12-31",
            "--campaign",
            week,
        ],
    );
    let list = list["activities"].as_array().unwrap();
    assert_eq!(list.len(), 12);
    assert_eq!(list[0]["county"], "沁水县");
    assert_eq!(list[0]["hall_code"], "140521");
    assert_eq!(list[0]["campaign"], week);
    // Text for people: the county and the campaign on each line.
    let out = common::xinfang(d)
        .args(["--user", "clerk", "publicity", "list"])
        .args(["--from", "2021-05-17", "--to", "2021-05-17"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("沁水县\t第三届“循法信访、依法办访”法治宣传周"),
        "{text}"
    );
    let (code, v) = run(
        d,
        "clerk",
        &[
            "publicity",
            "add",
            "--date",
            "2021-12-04",
            "--place",
            "x",
            "--kind",
            "跳舞",
        ],
    );
    assert_eq!(code, 1);
    let codes: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["units_empty", "kind_unknown"]);
}
