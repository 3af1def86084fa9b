//! The city's monthly report (`xinfang-city report`) on a known data set, with the real server
//! binary: two halls' desks push their records over HTTP as in `tests/stats.rs`, the city
//! administrator prints March 2025, and the PDF (read back with pdftotext) carries the city
//! title, every hall and exactly the figures `GET /v1/city/stats` gives for the same month.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use chrono::NaiveDate;
use serde_json::{Value, json};
use tempfile::TempDir;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::{MatterEvent, MatterState};
use xinfang_core::reference::ReferenceData;

const CITY_BIN: &str = env!("CARGO_BIN_EXE_xinfang-city");

struct Server {
    dir: TempDir,
    url: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Server {
        let dir = TempDir::new().unwrap();
        let mut child = Command::new(CITY_BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .arg("--no-encryption")
            .env("XINFANG_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start xinfang-city");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{line:?}");
        Server { dir, url, child }
    }

    /// Runs an administration command on the server's data dir.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(CITY_BIN)
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--no-encryption")
            .env("XINFANG_LOG", "warn")
            .output()
            .unwrap()
    }

    /// The last word of a successful command's output (a code or a token).
    fn admin(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = String::from_utf8(out.stdout).unwrap();
        s.split_whitespace()
            .last()
            .unwrap_or_default()
            .rsplit('：')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = reqwest::blocking::Client::new()
            .post(format!("{}{path}", self.url))
            .json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    /// Enrols a device of `hall`; returns its token.
    fn enrol(&self, hall: &str, device_id: &str) -> String {
        let code = self.admin(&["enrol-code", "--hall", hall]);
        let (status, body) = self.post(
            "/v1/enrol",
            None,
            &json!({ "code": code, "device_id": device_id, "hall_code": hall }),
        );
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A desk's changes, numbered 1, 2, 3 … as the desk's change log would.
struct Batch {
    hall: String,
    changes: Vec<Value>,
}

impl Batch {
    fn new(hall: &str) -> Batch {
        Batch {
            hall: hall.to_owned(),
            changes: Vec::new(),
        }
    }

    fn add(&mut self, entity: &str, id: &str, fields: Value) {
        let seq = self.changes.len() as i64 + 1;
        self.changes.push(json!({
            "seq": seq, "entity": entity, "entity_id": id, "op": "insert",
            "fields": fields, "hlc": 1_000_000 + seq, "changed_at": "2025-04-01T09:00:00+08:00",
        }));
    }

    fn visit(&mut self, id: &str, at: &str, heads: u32, repeat: bool, kind: &str, cat: &str) {
        let hall = self.hall.clone();
        self.add(
            "visit",
            id,
            json!({ "hall_code": hall, "visited_at": at, "head_count": heads,
                    "is_repeat": repeat, "appeal_kind": kind, "category_code": cat,
                    "appeal": "要求解决问题。", "matter_id": format!("m-{id}") }),
        );
    }

    fn matter(&mut self, id: &str, received: &str, events: &[MatterEvent]) {
        let hall = self.hall.clone();
        let mut fields = json!({ "hall_code": hall, "received_on": received,
                                 "appeal_kind": "claim", "status": "registered" });
        if !events.is_empty() {
            let state =
                MatterState::replay(d(received), events, &HolidayCalendar::bundled()).unwrap();
            fields["state"] = json!(serde_json::to_string(&state).unwrap());
        }
        self.add("matter", id, fields);
    }

    fn push(&self, server: &Server, token: &str) {
        let (status, body) = server.post(
            "/v1/sync/push",
            Some(token),
            &json!({ "changes": self.changes }),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accepted"], self.changes.len());
    }
}

/// The data set of `tests/stats.rs`: 沁水县 three March visits (one a group of 6, one repeat)
/// and one in April, 阳城县 one visit of two people.
fn seed(server: &Server) {
    let categories = &ReferenceData::bundled().categories;
    let (cat_a, cat_b) = (categories[0].code.clone(), categories[1].code.clone());
    let mut qs = Batch::new("140521");
    qs.visit("v1", "2025-03-03T09:00:00+08:00", 1, false, "claim", &cat_a);
    qs.visit(
        "v2",
        "2025-03-05T10:00:00+08:00",
        6,
        false,
        "suggestion",
        &cat_b,
    );
    qs.visit("v3", "2025-03-10T11:00:00+08:00", 1, true, "claim", &cat_a);
    qs.visit("v4", "2025-04-02T09:30:00+08:00", 1, false, "claim", &cat_a);
    // m1: accepted in time, concluded on time, evaluated 满意.
    qs.matter(
        "m1",
        "2025-03-03",
        &[
            MatterEvent::Accept {
                at: d("2025-03-10"),
                notice_no: None,
            },
            MatterEvent::Conclude {
                at: d("2025-03-28"),
                opinion_summary: "已答复".into(),
            },
        ],
    );
    // m2: nothing done; late, and overdue.
    qs.matter("m2", "2025-03-05", &[]);
    qs.matter(
        "m3",
        "2025-03-10",
        &[MatterEvent::Accept {
            at: d("2025-03-12"),
            notice_no: None,
        }],
    );
    qs.matter("m4", "2025-04-02", &[]);
    qs.add(
        "matter_evaluation",
        "e1",
        json!({ "matter_id": "m1", "result": "satisfied", "channel": "desk",
                "evaluated_on": "2025-03-28", "created_at": "2025-03-28T10:00:00+08:00" }),
    );
    qs.add(
        "consultation",
        "c1",
        json!({ "visit_id": "v1", "advice": "可申请人民调解。", "legal_route": "people_mediation" }),
    );
    qs.add(
        "mediation",
        "md1",
        json!({ "visit_id": "v3", "outcome": "agreed", "dispute_type": "neighbour" }),
    );
    let token = server.enrol("140521", "device-qinshui-01");
    qs.push(server, &token);

    let mut yc = Batch::new("140522");
    yc.visit("w1", "2025-03-15T09:00:00+08:00", 2, false, "claim", &cat_a);
    yc.matter(
        "n1",
        "2025-03-15",
        &[MatterEvent::Reject {
            at: d("2025-03-20"),
            reason: "不属于信访受理范围".into(),
        }],
    );
    let token = server.enrol("140522", "device-yangcheng-01");
    yc.push(server, &token);
}

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

#[test]
fn the_city_report_of_march_has_every_hall_and_the_exact_figures() {
    let server = Server::start();
    seed(&server);
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
    let admin = server.admin(&["admin-token"]);
    let (status, s) = server.get("/v1/city/stats?from=2025-03-01&to=2025-03-31", &admin);
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
        "二〇二五年四月一日",
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
