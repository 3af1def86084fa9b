//! City-wide statistics (GET /v1/city/stats) on a known data set, over real HTTP against the
//! real server binary on a loopback port: two halls' desks push their records as changes, the
//! city administrator asks for March 2025, and every count and rate is checked exactly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

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

    fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(CITY_BIN)
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--no-encryption")
            .env("XINFANG_LOG", "warn")
            .output()
            .unwrap();
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

fn rate(v: &Value) -> (u64, u64, Option<f64>) {
    (
        v["numerator"].as_u64().unwrap(),
        v["denominator"].as_u64().unwrap(),
        v["percent"].as_f64(),
    )
}

fn hall<'a>(stats: &'a Value, code: &str) -> &'a Value {
    stats["halls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hall_code"] == code)
        .unwrap_or_else(|| panic!("no hall {code} in {stats}"))
}

#[test]
fn city_statistics_of_march_are_exact() {
    let server = Server::start();
    let admin = server.admin(&["admin-token"]);
    let categories = &ReferenceData::bundled().categories;
    let (cat_a, cat_b) = (categories[0].code.clone(), categories[1].code.clone());

    // 沁水县 (140521): three March visits and one in April.
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
    // m1: accepted on day 7 (timely), concluded 28 March (on time), evaluated 满意.
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
    // m2: nothing done; its 15-day limit ran out in March: late, and overdue.
    qs.matter("m2", "2025-03-05", &[]);
    // m3: accepted in time; its conclusion is due in May.
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
    let token_qs = server.enrol("140521", "device-qinshui-01");
    qs.push(&server, &token_qs);

    // 阳城县 (140522): one visit of two people, refused in time.
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
    let token_yc = server.enrol("140522", "device-yangcheng-01");
    yc.push(&server, &token_yc);

    let (status, s) = server.get("/v1/city/stats?from=2025-03-01&to=2025-03-31", &admin);
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (&s["from"], &s["to"], &s["as_of"]),
        (
            &json!("2025-03-01"),
            &json!("2025-03-31"),
            &json!("2025-04-01")
        )
    );

    let q = hall(&s, "140521");
    assert_eq!(q["hall_name"], "沁水县");
    let counts: Vec<u64> = [
        "visits",
        "people",
        "first_visits",
        "repeat_visits",
        "group_visits",
        "group_people",
        "matters_received",
        "consultations",
        "mediations",
        "mediations_agreed",
        "overdue_matters",
    ]
    .iter()
    .map(|k| q[k].as_u64().unwrap())
    .collect();
    assert_eq!(counts, [3, 8, 2, 1, 1, 6, 3, 1, 1, 1, 1]);
    assert_eq!(rate(&q["timely_acceptance"]), (2, 3, Some(66.67)));
    assert_eq!(rate(&q["on_time_conclusion"]), (1, 1, Some(100.0)));
    assert_eq!(rate(&q["participation"]), (1, 1, Some(100.0)));
    assert_eq!(rate(&q["satisfaction"]), (1, 1, Some(100.0)));

    let y = hall(&s, "140522");
    assert_eq!(
        (
            y["visits"].as_u64(),
            y["people"].as_u64(),
            y["matters_received"].as_u64()
        ),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(rate(&y["timely_acceptance"]), (1, 1, Some(100.0)));
    // Nothing concluded: "no data", not 0% or 100%.
    assert_eq!(rate(&y["on_time_conclusion"]), (0, 0, None));
    assert_eq!(rate(&y["participation"]), (0, 0, None));

    // Halls without records are listed with zeros.
    let gp = hall(&s, "140581");
    assert_eq!(gp["visits"], 0);
    assert_eq!(s["halls"].as_array().unwrap().len(), 7);

    let t = &s["total"];
    assert_eq!(t["hall_name"], "晋城市（全市合计）");
    assert_eq!(
        (t["visits"].as_u64(), t["people"].as_u64()),
        (Some(4), Some(10))
    );
    assert_eq!(t["overdue_matters"], 1);
    assert_eq!(rate(&t["timely_acceptance"]), (3, 4, Some(75.0)));
    assert_eq!(rate(&t["on_time_conclusion"]), (1, 1, Some(100.0)));
    assert_eq!(
        s["by_month"],
        json!([{ "key": "2025-03", "label": "2025-03", "count": 4 }])
    );
    let kinds: Vec<(String, u64)> = s["by_appeal_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["label"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("申诉求决类".to_owned(), 3), ("建议意见类".to_owned(), 1)]
    );
    let cat_total: u64 = s["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(cat_total, 4);
    assert_eq!(s["by_category"][0]["key"], json!(cat_a));
    assert_eq!(s["by_category"][0]["count"], 3);
    assert_eq!(s["by_category"][0]["label"], json!(categories[0].name));

    // April: only v4 and m4, whose limit has not run out on the day after April.
    let (status, a) = server.get("/v1/city/stats?from=2025-04-01&to=2025-04-30", &admin);
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["total"]["visits"], 1);
    assert_eq!(hall(&a, "140521")["matters_received"], 1);

    // Only the city administrator; every refusal names what to do.
    let (status, e) = server.get("/v1/city/stats?from=2025-03-01&to=2025-03-31", &token_qs);
    assert_eq!((status, e["code"].as_str()), (403, Some("admin_only")));
    let (status, e) = server.get("/v1/city/stats?from=2025-03-01", &admin);
    assert_eq!((status, e["code"].as_str()), (400, Some("period_missing")));
    assert!(e["message"].as_str().unwrap().contains("from 和 to"));
    let (status, e) = server.get("/v1/city/stats?from=2025-03-31&to=2025-03-01", &admin);
    assert_eq!((status, e["code"].as_str()), (422, Some("period_reversed")));
    let (status, e) = server.get("/v1/city/stats?from=2025/03/01&to=x", &admin);
    assert_eq!((status, e["code"].as_str()), (422, Some("date_format")));
    assert!(e["message"].as_str().unwrap().contains("2025-03-01"));
}
