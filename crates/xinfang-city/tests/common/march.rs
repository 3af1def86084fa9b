//! A known data set for the city's statistics and monthly report: two halls' desks push their
//! records to the server as changes, as a desk's change log would.

use chrono::NaiveDate;
use serde_json::{Value, json};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::{MatterEvent, MatterState};
use xinfang_core::reference::ReferenceData;

use super::Server;

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A desk's changes, numbered 1, 2, 3 … as the desk's change log would.
pub struct Batch {
    hall: String,
    changes: Vec<Value>,
}

impl Batch {
    pub fn new(hall: &str) -> Batch {
        Batch {
            hall: hall.to_owned(),
            changes: Vec::new(),
        }
    }

    pub fn add(&mut self, entity: &str, id: &str, fields: Value) {
        let seq = self.changes.len() as i64 + 1;
        self.changes.push(json!({
            "seq": seq, "entity": entity, "entity_id": id, "op": "insert",
            "fields": fields, "hlc": 1_000_000 + seq, "changed_at": "2025-04-01T09:00:00+08:00",
        }));
    }

    pub fn visit(&mut self, id: &str, at: &str, heads: u32, repeat: bool, kind: &str, cat: &str) {
        let hall = self.hall.clone();
        self.add(
            "visit",
            id,
            json!({ "hall_code": hall, "visited_at": at, "head_count": heads,
                    "is_repeat": repeat, "appeal_kind": kind, "category_code": cat,
                    "appeal": "要求解决问题。", "matter_id": format!("m-{id}") }),
        );
    }

    pub fn matter(&mut self, id: &str, received: &str, events: &[MatterEvent]) {
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

    /// Enrols a device of this hall and pushes every change; returns the device's token.
    pub fn push(&self, server: &Server, device_id: &str) -> String {
        let token = server.enrol_device(&self.hall, device_id);
        let (status, body) = server.post_json(
            "/v1/sync/push",
            Some(&token),
            &json!({ "changes": self.changes }),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accepted"], self.changes.len());
        token
    }
}

/// Tokens of the two desks that pushed the data set.
pub struct Tokens {
    pub qinshui: String,
    pub yangcheng: String,
}

/// 沁水县 (140521): three March visits (one a group of 6, one repeat) and one in April;
/// 阳城县 (140522): one March visit of two people, refused in time.
pub fn seed(server: &Server) -> Tokens {
    let categories = &ReferenceData::bundled().categories;
    let (cat_a, cat_b) = (categories[0].code.as_str(), categories[1].code.as_str());

    let mut qs = Batch::new("140521");
    qs.visit("v1", "2025-03-03T09:00:00+08:00", 1, false, "claim", cat_a);
    qs.visit(
        "v2",
        "2025-03-05T10:00:00+08:00",
        6,
        false,
        "suggestion",
        cat_b,
    );
    qs.visit("v3", "2025-03-10T11:00:00+08:00", 1, true, "claim", cat_a);
    qs.visit("v4", "2025-04-02T09:30:00+08:00", 1, false, "claim", cat_a);
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
                details: Default::default(),
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
    let qinshui = qs.push(server, "device-qinshui-01");

    let mut yc = Batch::new("140522");
    yc.visit("w1", "2025-03-15T09:00:00+08:00", 2, false, "claim", cat_a);
    yc.matter(
        "n1",
        "2025-03-15",
        &[MatterEvent::Reject {
            at: d("2025-03-20"),
            reason: "不属于信访受理范围".into(),
        }],
    );
    let yangcheng = yc.push(server, "device-yangcheng-01");
    Tokens { qinshui, yangcheng }
}
