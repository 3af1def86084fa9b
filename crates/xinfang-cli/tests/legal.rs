//! The legal engine through the `xinfang` binary: matters, due lists, backlog cases, and every
//! notice rendered to PDF and read back with `pdftotext` (poppler-utils, see
//! scripts/install-deps.sh).

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{hall_with, id_with_check, json_of, xinfang};
use serde_json::{Value, json};
use tempfile::TempDir;

fn as_user(dir: &Path, user: &str) -> Command {
    let mut cmd = xinfang(dir);
    cmd.args(["--user", user]);
    cmd
}

/// Runs `cmd` with `--json`, which must exit with `code`; returns stdout.
fn exits(cmd: &mut Command, code: i32) -> Value {
    let out = cmd.arg("--json").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(&out)
}

fn ok(cmd: &mut Command) -> Value {
    exits(cmd, 0)
}

fn refused(cmd: &mut Command) -> Value {
    exits(cmd, 1)["errors"][0].clone()
}

/// A hall (沁水县 140521) with a clerk, a supervisor and a lawyer.
fn hall() -> TempDir {
    hall_with(&[
        ("clerk", "王接待", "clerk"),
        ("boss", "赵科长", "supervisor"),
        ("lawyer", "陈律师", "lawyer"),
    ])
}

/// Registers a claim received on `day` and returns its matter id.
fn register(dir: &Path, name: &str, seq: u32, day: &str, appeal: &str) -> String {
    let path = dir.join(format!("visit-{seq}.json"));
    let visit = json!({
        "visited_at": format!("{day}T09:30:00+08:00"),
        "visitors": [{ "name": name, "id_number": id_with_check(&format!("14052119800101{seq:03}")) }],
        "head_count": 0,
        "representatives": [],
        "appeal": appeal,
        "appeal_kind": "claim",
        "category": "劳动和社会保障",
        "agency": "沁水县人社局",
        "place_code": "140521"
    });
    std::fs::write(&path, visit.to_string()).unwrap();
    let v = ok(as_user(dir, "clerk")
        .args(["visit", "add", "--file"])
        .arg(&path));
    v["matter_id"].as_str().unwrap().to_owned()
}

fn event(dir: &Path, matter: &str, e: Value) -> Value {
    ok(as_user(dir, "clerk").args(["matter", "event", matter, "--event", &e.to_string()]))
}

/// The text of a PDF, as pdftotext gives it back, without line breaks and spaces.
fn pdf_text(pdf: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
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

fn render(dir: &Path, user: &str, kind: &str, source: &[&str], out: &Path) -> Value {
    ok(as_user(dir, user)
        .args(["notice", "render", "--kind", kind])
        .args(source)
        .arg("--out")
        .arg(out))
}

fn assert_has(text: &str, wanted: &[&str], what: &str) {
    for w in wanted {
        assert!(text.contains(w), "{what}: missing “{w}” in {text}");
    }
}

#[test]
fn every_notice_renders_and_reads_back_in_chinese() {
    let hall = hall();
    let dir = hall.path();
    let out_dir = dir.join("pdf");
    std::fs::create_dir_all(&out_dir).unwrap();
    let pdf = |k: &str| -> PathBuf { out_dir.join(format!("{k}.pdf")) };

    // A claim that goes all the way: accept, extend, conclude, review, re-review with a hearing.
    let a = register(dir, "王𠮷祥", 1, "2026-03-02", "某建筑公司拖欠工资38600元");
    for e in [
        json!({"kind": "accept", "at": "2026-03-04", "notice_no": "沁信受〔2026〕18号"}),
        json!({"kind": "start_handling", "at": "2026-03-05"}),
        json!({"kind": "extend", "at": "2026-04-20", "days": 30, "approver": "李局长", "reason": "涉及多家用工单位需要调查核实"}),
        json!({"kind": "conclude", "at": "2026-05-20", "opinion_summary": "支持补发工资的诉求",
            "result": "支持", "facts_reasons": "经核实，该公司拖欠工资属实",
            "legal_basis": "《中华人民共和国劳动法》第五十条"}),
        json!({"kind": "opinion_received", "at": "2026-05-22"}),
        json!({"kind": "request_review", "at": "2026-06-10", "body": "晋城市信访局"}),
        json!({"kind": "review_opinion", "at": "2026-07-01", "summary": "维持原处理意见"}),
        json!({"kind": "request_re_review", "at": "2026-07-15", "body": "晋城市人民政府"}),
        json!({"kind": "hearing", "date": "2026-07-25", "chair": "刘处长", "panel": ["省司法厅律师"], "participants": ["王𠮷祥", "人社局代表"], "record": "听取各方意见", "opinion": "维持复查意见"}),
        json!({"kind": "re_review_opinion", "at": "2026-08-10", "summary": "维持复查意见"}),
    ] {
        event(dir, &a, e);
    }
    // Refused, with a field and a Chinese message; the exit code says so.
    let e = refused(
        as_user(dir, "clerk")
            .args([
                "notice",
                "render",
                "--kind",
                "non_acceptance",
                "--matter",
                &a,
                "--out",
            ])
            .arg(pdf("nope")),
    );
    assert_eq!(e["code"], "notice_not_ready");
    assert!(!pdf("nope").exists());

    let b = register(dir, "李四", 2, "2026-03-02", "要求撤销法院判决");
    event(
        dir,
        &b,
        json!({"kind": "reject", "at": "2026-03-05", "reason": "该事项已由人民法院作出生效判决"}),
    );
    let c = register(dir, "张三", 3, "2026-03-02", "小区供暖不达标");
    event(
        dir,
        &c,
        json!({"kind": "assign", "at": "2026-03-03", "to_authority": "沁水县住房和城乡建设局", "report_back_by": "2026-04-30"}),
    );

    let cases: [(&str, &str, &[&str]); 7] = [
        (
            "acceptance",
            a.as_str(),
            &[
                "沁水县信访局",
                "受理告知书",
                "沁信受〔2026〕18号",
                "王𠮷祥：",
                "2026年3月2日",
                "某建筑公司拖欠工资38600元",
                "2026年3月4日依法受理",
                // 03-04 + 60 = 05-03 in the Labour Day rest, moved to 05-06.
                "办理期限至2026年5月6日",
            ],
        ),
        (
            "non_acceptance",
            b.as_str(),
            &[
                "不予受理告知书",
                "李四：",
                "该事项已由人民法院作出生效判决",
                "2026年3月5日",
            ],
        ),
        (
            "transfer",
            c.as_str(),
            &[
                "转送告知单",
                "交办沁水县住房和城乡建设局办理",
                "2026年4月30日前报告",
                // 03-03 + 15 = 03-18, a Wednesday.
                "期限至2026年3月18日",
            ],
        ),
        (
            "handling_opinion",
            a.as_str(),
            &[
                "信访处理意见书",
                "经查明的事实和理由：经核实，该公司拖欠工资属实",
                "依据的法律法规：《中华人民共和国劳动法》第五十条",
                "处理结果：支持。",
                "支持补发工资的诉求",
                "2026年5月20日",
                "三十日内",
            ],
        ),
        (
            "extension",
            a.as_str(),
            &[
                "延期办理告知书",
                "涉及多家用工单位需要调查核实",
                "延长三十日",
                // 03-04 + 90 = 06-02.
                "至2026年6月2日",
            ],
        ),
        (
            "review_opinion",
            a.as_str(),
            &[
                "晋城市信访局",
                "复查意见书",
                "维持原处理意见",
                "2026年7月1日",
            ],
        ),
        (
            "re_review_opinion",
            a.as_str(),
            &[
                "晋城市人民政府",
                "复核意见书",
                "刘处长主持，听证员省司法厅律师",
                "听证员评议意见：维持复查意见",
                "维持复查意见",
                "2026年8月10日",
                "不再受理",
            ],
        ),
    ];
    for (kind, matter, wanted) in cases {
        let v = render(dir, "clerk", kind, &["--matter", matter], &pdf(kind));
        assert_eq!(v["kind"], kind);
        assert_has(&pdf_text(&pdf(kind)), wanted, kind);
    }

    // 王𠮷祥 comes back after the 复核: the 不再受理告知书 says why, dated the day it is printed.
    render(
        dir,
        "clerk",
        "not_accepted_again",
        &["--matter", &a],
        &pdf("not_accepted_again"),
    );
    assert_has(
        &pdf_text(&pdf("not_accepted_again")),
        &[
            "不再受理告知书",
            "王𠮷祥：",
            "已于2026年8月10日经复核出具复核意见",
            "不再受理",
        ],
        "not_accepted_again",
    );

    // A 文号 typed at printing ([] mended to 〔〕) is printed under the title.
    render(
        dir,
        "clerk",
        "handling_opinion",
        &["--matter", &a, "--doc-no", "沁信处[2026]7号"],
        &pdf("handling-numbered"),
    );
    assert_has(
        &pdf_text(&pdf("handling-numbered")),
        &["信访处理意见书", "沁信处〔2026〕7号"],
        "handling-numbered",
    );

    // Assigned to 住建局, which accepted it: the acceptance notice is that authority's.
    event(dir, &c, json!({"kind": "accept", "at": "2026-03-10"}));
    render(
        dir,
        "clerk",
        "acceptance",
        &["--matter", &c],
        &pdf("acceptance-c"),
    );
    let text = pdf_text(&pdf("acceptance-c"));
    assert_has(
        &text,
        &["受理告知书", "沁水县住房和城乡建设局"],
        "acceptance-c",
    );
    assert!(!text.contains("沁水县信访局"), "{text}");

    // 法律意见书 and 调解协议书 from data the app would fill from the desk's records.
    let legal = dir.join("legal.json");
    std::fs::write(
        &legal,
        json!({
            "hall_code": "140521",
            "visitor_name": "王𠮷祥",
            "lawyer_name": "陈明",
            "law_firm": "山西沁园律师事务所",
            "question": "公司拖欠工资能否要求支付？",
            "facts": "未签订书面劳动合同，五个月工资未付。",
            "advice": "可以要求支付拖欠的工资，并主张二倍工资差额。",
            "legal_route": "labour_arbitration",
            "laws_cited": "《中华人民共和国劳动合同法》第八十二条",
            "consulted_on": "2026-03-02"
        })
        .to_string(),
    )
    .unwrap();
    // A clerk may not print a lawyer's opinion.
    let e = refused(
        as_user(dir, "clerk")
            .args(["notice", "render", "--kind", "legal_opinion", "--data"])
            .arg(&legal)
            .arg("--out")
            .arg(pdf("legal_opinion")),
    );
    assert_eq!(e["code"], "forbidden");
    render(
        dir,
        "lawyer",
        "法律意见书",
        &["--data", legal.to_str().unwrap()],
        &pdf("legal_opinion"),
    );
    assert_has(
        &pdf_text(&pdf("legal_opinion")),
        &[
            "法律意见书",
            "王𠮷祥：",
            "公司拖欠工资能否要求支付？",
            "可以要求支付拖欠的工资",
            "劳动人事争议仲裁",
            "值班律师：陈明",
            "2026年3月2日",
        ],
        "legal_opinion",
    );

    let agreement = dir.join("agreement.json");
    std::fs::write(
        &agreement,
        json!({
            "hall_code": "140521",
            "doc_no": "沁调〔2026〕7号",
            "mediator_name": "刘芳",
            "dispute_type_name": "劳动争议",
            "parties": [
                {"role_label": "申请人", "name": "王𠮷祥", "sex": "男", "id_type_label": "居民身份证",
                 "id_number": "140521198001010013", "phone": "13835612345", "address": "沁水县龙港镇"},
                {"role_label": "被申请人", "name": "沁水县某建筑有限公司", "id_type_label": "统一社会信用代码",
                 "id_number": "91140521MA0K000000"}
            ],
            "dispute_facts": "被申请人拖欠申请人工资38600元。",
            "agreement_text": "一、被申请人于2026年3月20日前支付20000元。\n二、其余18600元于2026年4月20日前付清。",
            "judicial_confirmation": true,
            "agreed_on": "2026-03-06"
        })
        .to_string(),
    )
    .unwrap();
    render(
        dir,
        "boss",
        "mediation_agreement",
        &["--data", agreement.to_str().unwrap()],
        &pdf("mediation_agreement"),
    );
    assert_has(
        &pdf_text(&pdf("mediation_agreement")),
        &[
            "调解协议书",
            "沁调〔2026〕7号",
            "王𠮷祥（男）",
            "140521198001010013",
            "一、被申请人于2026年3月20日前支付20000元。",
            "二、其余18600元于2026年4月20日前付清。",
            "司法确认",
            "一式三份",
            "人民调解员（签名）：刘芳",
            "2026年3月6日",
        ],
        "mediation_agreement",
    );

    // The same notice renders to the same bytes.
    let again = out_dir.join("acceptance-again.pdf");
    render(dir, "clerk", "acceptance", &["--matter", &a], &again);
    assert_eq!(
        std::fs::read(pdf("acceptance")).unwrap(),
        std::fs::read(&again).unwrap()
    );

    // A hall's adjusted template in <data dir>/templates wins over the bundled one.
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    let bundled = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/templates/acceptance.typ"),
    )
    .unwrap();
    std::fs::write(
        templates.join("acceptance.typ"),
        bundled.replace("特此告知。", "特此告知。请保管好本告知书。"),
    )
    .unwrap();
    render(dir, "clerk", "acceptance", &["--matter", &a], &again);
    assert_has(&pdf_text(&again), &["请保管好本告知书。"], "override");

    let v = ok(as_user(dir, "boss").arg("verify"));
    assert_eq!(v["ok"], true, "{v}");
}

#[test]
fn matters_due_lists_and_refusals_through_the_cli() {
    let hall = hall();
    let dir = hall.path();
    // Registered 11-02, nothing done by 11-26: the 15 days ran out on 11-17.
    let a = register(dir, "甲", 1, "2026-11-02", "拖欠工资");
    // Accepted 09-28: the 60 days end 11-27.
    let b = register(dir, "乙", 2, "2026-09-24", "社保断缴");
    event(dir, &b, json!({"kind": "accept", "at": "2026-09-28"}));

    let v = ok(as_user(dir, "clerk").args(["matter", "show", &b, "--today", "2026-11-26"]));
    assert_eq!(v["status"], "accepted");
    assert_eq!(v["visitor_names"], json!(["乙"]));
    let conclusion = v["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "conclusion")
        .unwrap();
    assert_eq!(conclusion["due"], "2026-11-27");
    assert_eq!(conclusion["days_left"], 1);
    assert_eq!(v["events"][0]["by_name"], "王接待");
    assert_eq!(
        v["allowed_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["start_handling", "extend", "conclude"]
    );

    let due = ok(as_user(dir, "boss").args(["matter", "due", "--today", "2026-11-26"]));
    assert_eq!(due["today"], "2026-11-26");
    assert_eq!(due["overdue"].as_array().unwrap().len(), 1);
    assert_eq!(due["overdue"][0]["matter_id"], a.as_str());
    assert_eq!(due["overdue"][0]["deadline_kind"], "disposition");
    assert_eq!(due["overdue"][0]["days_left"], -9);
    assert_eq!(due["due_soon"].as_array().unwrap().len(), 1);
    assert_eq!(due["due_soon"][0]["matter_id"], b.as_str());
    assert_eq!(due["due_soon"][0]["due"], "2026-11-27");

    // Refusals: exit 1, {"errors":[{field, code, message}]}, nothing recorded.
    let e = refused(as_user(dir, "clerk").args([
        "matter",
        "event",
        &b,
        "--event",
        r#"{"kind":"request_review","at":"2026-10-01","body":"晋城市信访局"}"#,
    ]));
    assert_eq!(e["code"], "wrong_order");
    assert_eq!(e["field"], "event");
    assert!(e["message"].as_str().unwrap().contains("当前可进行"));
    let e = refused(as_user(dir, "clerk").args([
        "matter",
        "event",
        &b,
        "--event",
        "{\"kind\":\"fly\"}",
    ]));
    assert_eq!(e["code"], "json_invalid");
    let e = refused(as_user(dir, "lawyer").args([
        "matter",
        "event",
        &b,
        "--event",
        r#"{"kind":"start_handling","at":"2026-10-01"}"#,
    ]));
    assert_eq!(e["code"], "forbidden");
    assert_eq!(e["field"], "role");
    let e = refused(as_user(dir, "clerk").args(["matter", "show", "no-such-matter"]));
    assert_eq!(e["code"], "not_found");
    let v = ok(as_user(dir, "clerk").args(["matter", "show", &b]));
    assert_eq!(v["events"].as_array().unwrap().len(), 1);

    // The lawyer proposes a route, the clerk confirms it.
    let p = ok(as_user(dir, "lawyer").args([
        "matter",
        "propose-route",
        &a,
        "--route",
        "劳动人事争议仲裁",
        "--note",
        "属劳动争议",
    ]));
    assert_eq!(p["route_code"], "labour_arbitration");
    let c = ok(as_user(dir, "clerk").args(["matter", "confirm-route", &a]));
    assert_eq!(c["legal_route"], "labour_arbitration");
    let c = ok(as_user(dir, "clerk").args(["matter", "classify", &a, "--kind", "检举控告"]));
    assert_eq!(c["confidential"], true);
    assert_eq!(c["legal_route"], Value::Null);

    // Every view of a 检举控告 matter is audited, with who and which record.
    ok(as_user(dir, "boss").args(["matter", "show", &a]));
    let log = ok(as_user(dir, "boss").args(["audit", "--record", &a]));
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["action"], "view_confidential");
    assert_eq!(entries[0]["entity"], "matter");

    let v = ok(as_user(dir, "boss").arg("verify"));
    assert_eq!(v["ok"], true, "{v}");
}

/// 转送, receipt, a late objection refused, one in time, and the matter forwarded again: the
/// new authority's 15 days run from its own receipt.
#[test]
fn a_transfer_objected_to_in_time_is_forwarded_again() {
    let hall = hall();
    let dir = hall.path();
    let m = register(dir, "丙", 3, "2026-09-14", "宅基地纠纷");
    event(
        dir,
        &m,
        json!({"kind": "forward", "at": "2026-09-14", "to_authority": "沁水县自然资源局"}),
    );
    event(
        dir,
        &m,
        json!({"kind": "receive_transfer", "at": "2026-09-17"}),
    );
    let v = ok(as_user(dir, "clerk").args(["matter", "show", &m]));
    let due = |v: &Value, kind: &str| {
        v["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {v}"))["due"]
            .clone()
    };
    // Fri 18, Sun 20 (国庆节调休), Mon 21, Tue 22, Wed 23.
    assert_eq!(due(&v, "transfer_objection"), "2026-09-23");
    assert_eq!(due(&v, "acceptance_decision"), "2026-10-08");

    let late = json!({"kind": "object_transfer", "at": "2026-09-24", "reason": "属于住建部门职权"});
    let e =
        refused(as_user(dir, "clerk").args(["matter", "event", &m, "--event", &late.to_string()]));
    assert_eq!(e["code"], "objection_late");
    assert!(e["message"].as_str().unwrap().contains("5个工作日"), "{e}");

    event(
        dir,
        &m,
        json!({"kind": "object_transfer", "at": "2026-09-23", "reason": "属于住建部门职权"}),
    );
    let v = event(
        dir,
        &m,
        json!({"kind": "forward", "at": "2026-09-24", "to_authority": "沁水县住房和城乡建设局"}),
    );
    assert_eq!(v["status"], "forwarded", "{v}");
    event(
        dir,
        &m,
        json!({"kind": "receive_transfer", "at": "2026-09-28"}),
    );
    let v = ok(as_user(dir, "clerk").args(["matter", "show", &m]));
    // 09-28 + 15 = 10-13.
    assert_eq!(due(&v, "acceptance_decision"), "2026-10-13");
    assert_eq!(
        v["state"]["earlier_transfers"][0]["to_authority"],
        "沁水县自然资源局"
    );
    assert_eq!(v["events"].as_array().unwrap().len(), 5);
}

#[test]
fn backlog_cases_through_the_cli() {
    let hall = hall();
    let dir = hall.path();
    let m1 = register(dir, "周一", 1, "2025-03-02", "征地补偿");
    let m2 = register(dir, "吴二", 2, "2025-05-06", "宅基地纠纷");
    let flag = |m: &str, leader: &str, target: &str| {
        ok(as_user(dir, "boss").args([
            "backlog",
            "flag",
            m,
            "--leader",
            leader,
            "--plan",
            "包案化解，每月回访",
            "--target",
            target,
            "--on",
            "2026-01-10",
        ]))
    };
    let c1 = flag(&m1, "李副县长", "2026-06-30");
    // A clerk names a case by its matter's 事项编号; the case's id works too.
    let c1_number = c1["matter_number"].as_str().unwrap().to_owned();
    assert!(c1_number.starts_with("沁水-"), "{c1}");
    let c1 = c1["id"].as_str().unwrap().to_owned();
    let c2 = flag(&m2, "王局长", "2026-10-31");
    assert_eq!(c2["open"], true);
    // Only a supervisor flags; a clerk may add notes.
    let e = refused(
        as_user(dir, "clerk").args(["backlog", "flag", &m1, "--leader", "某", "--plan", "某"]),
    );
    assert_eq!(e["code"], "forbidden");
    let n = ok(as_user(dir, "clerk").args([
        "backlog",
        "note",
        &c1_number,
        "--note",
        "召开协调会",
        "--on",
        "2026-03-15",
    ]));
    assert_eq!(n["notes"][0]["note"], "召开协调会");
    ok(as_user(dir, "boss").args([
        "backlog",
        "clear",
        &c1,
        "--summary",
        "补偿款已发放",
        "--on",
        "2026-05-20",
    ]));
    // The matter's case is cleared: its number still names it (the latest case).
    let e = refused(as_user(dir, "boss").args([
        "backlog",
        "clear",
        &c1_number,
        "--summary",
        "再次",
        "--on",
        "2026-06-20",
    ]));
    assert_eq!(e["code"], "already_cleared");

    let d = ok(as_user(dir, "boss").args(["backlog", "dashboard", "--today", "2026-11-26"]));
    assert_eq!(
        (
            &d["total"],
            &d["open"],
            &d["cleared"],
            &d["overdue"],
            &d["clearance_rate"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(1), &json!(50.0))
    );
    assert_eq!(d["by_hall"][0]["key"], "140521");
    assert_eq!(d["by_leader"][0]["key"], "李副县长");
    assert_eq!(d["by_leader"][0]["cleared"], 1);
    assert_eq!(d["by_leader"][1]["overdue"], 1);
    assert_eq!(d["overdue_cases"][0]["matter_id"], m2.as_str());
    let l = ok(as_user(dir, "clerk").args([
        "backlog",
        "list",
        "--filter",
        "open",
        "--today",
        "2026-11-26",
    ]));
    assert_eq!(l["cases"].as_array().unwrap().len(), 1);
    assert_eq!(l["cases"][0]["overdue"], true);
    // The list a clerk reads shows 事项编号, no internal ids.
    let text = as_user(dir, "clerk")
        .args(["backlog", "list", "--today", "2026-11-26"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(&c1_number) && !text.contains(&c1), "{text}");

    let v = ok(as_user(dir, "boss").arg("verify"));
    assert_eq!(v["ok"], true, "{v}");
}

/// 越级访 through the binary at the 晋城市 hall: `visit add` says so in its JSON
/// (`skip_level`, keys added only) and names the 属地; a repeat visit about a matter assigned to
/// 沁水县 is 越级 with no place written; the 越级走访告知书 renders from the visit for the clerk
/// and is refused to the lawyer.
#[test]
fn a_skip_level_visit_is_flagged_in_its_json_and_its_notice_renders_from_the_visit() {
    let hall = TempDir::new().unwrap();
    let dir = hall.path();
    xinfang(dir)
        .args(["init", "--hall", "140500", "--admin", "admin"])
        .assert()
        .success();
    common::add_staff(dir, "clerk", "王接待", "clerk");
    common::add_staff(dir, "lawyer", "陈律师", "lawyer");
    let add = |name: &str, place: &str, matter: &str| {
        let path = dir.join(format!("visit-{name}.json"));
        let visit = json!({
            "visited_at": "2026-03-03T09:30:00+08:00",
            "visitors": [{ "name": "王五", "id_number": id_with_check("14052119700505031") }],
            "head_count": 0,
            "representatives": [],
            "appeal": "征地补偿款未发放",
            "appeal_kind": "claim",
            "category": "自然资源",
            "agency": "",
            "place_code": place,
            "matter_id": matter
        });
        std::fs::write(&path, visit.to_string()).unwrap();
        let out = as_user(dir, "clerk")
            .args(["--json", "visit", "add", "--file"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (json_of(&out), String::from_utf8(out.stderr).unwrap())
    };

    let (v, stderr) = add("place", "140521", "");
    for key in [
        "visit_id",
        "visitor_ids",
        "repeat_of",
        "queue_no",
        "matter_id",
        "is_repeat",
    ] {
        assert!(v.get(key).is_some(), "{key} kept: {v}");
    }
    assert_eq!(v["skip_level"]["flagged"], true, "{v}");
    assert_eq!(v["skip_level"]["basis"], "place");
    assert_eq!(v["skip_level"]["local_code"], "140521");
    assert_eq!(v["skip_level"]["authority"], "沁水县信访局");
    assert!(
        stderr.contains("越级访") && stderr.contains("沁水县"),
        "{stderr}"
    );
    let visit_id = v["visit_id"].as_str().unwrap().to_owned();
    // The visit is named by its 来访编号, as the registration's remark prints it.
    let number = v["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("晋城-2026-03-03-"), "{v}");

    let pdf = dir.join("skip.pdf");
    let r = ok(as_user(dir, "clerk")
        .args([
            "notice",
            "render",
            "--kind",
            "skip_level_guidance",
            "--visit",
            &number,
        ])
        .arg("--out")
        .arg(&pdf));
    assert_eq!(r["title"], "越级走访告知书");
    assert_has(
        &pdf_text(&pdf),
        &[
            "晋城市信访局",
            "越级走访告知书",
            "王五",
            "发生在沁水县",
            "逐级走访",
            "沁水县信访局",
        ],
        "越级走访告知书",
    );
    let e = refused(
        as_user(dir, "lawyer")
            .args([
                "notice",
                "render",
                "--kind",
                "skip_level_guidance",
                "--visit",
                &visit_id,
            ])
            .arg("--out")
            .arg(dir.join("lawyer.pdf")),
    );
    assert_eq!(e["code"], "forbidden", "{e}");
    assert!(!dir.join("lawyer.pdf").exists());

    // About the city itself: not 越级, and no notice for it.
    let (own, _) = add("own", "140500", "");
    assert_eq!(own["skip_level"], json!({ "flagged": false }));
    let matter = own["matter_id"].as_str().unwrap().to_owned();
    let e = refused(
        as_user(dir, "clerk")
            .args(["notice", "render", "--kind", "skip_level_guidance"])
            .args(["--visit", own["visit_id"].as_str().unwrap()])
            .arg("--out")
            .arg(dir.join("own.pdf")),
    );
    assert_eq!(e["code"], "not_skip_level", "{e}");

    // The city assigns the matter to 沁水县: coming back to the city hall about it is 越级,
    // with no place of the problem written.
    ok(as_user(dir, "clerk").args([
        "matter",
        "event",
        &matter,
        "--event",
        &json!({"kind": "assign", "at": "2026-03-04", "to_authority": "沁水县人力资源和社会保障局",
            "report_back_by": "2026-04-30"})
        .to_string(),
    ]));
    let (again, _) = add("again", "", &matter);
    assert_eq!(again["is_repeat"], true);
    assert_eq!(again["skip_level"]["flagged"], true, "{again}");
    assert_eq!(again["skip_level"]["basis"], "handling");
    assert_eq!(again["skip_level"]["local_code"], "140521");
    assert_eq!(
        again["skip_level"]["authority"],
        "沁水县人力资源和社会保障局"
    );
}

/// Issue 20: the CLI's text names a matter by its 事项编号, never its id, and every matter
/// command takes the number back as printed or typed loosely.
#[test]
fn the_cli_names_matters_by_their_numbers() {
    let hall = hall();
    let dir = hall.path();
    let id = register(dir, "张三", 31, "2026-11-05", "拖欠工资三个月。");
    let v = ok(as_user(dir, "clerk").args(["matter", "show", &id]));
    let number = v["number"].as_str().unwrap().to_owned();
    let count = number
        .strip_prefix("沁水-2026-11-")
        .unwrap_or_else(|| panic!("{number}"));
    assert_eq!(count.len(), 5, "{number}");
    let text = |args: &[&str]| -> String {
        let out = as_user(dir, "clerk").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let loose = number.to_lowercase().replace('-', " - ");
    for typed in [number.as_str(), loose.as_str()] {
        let shown = text(&["matter", "show", typed]);
        assert!(shown.starts_with(&format!("事项 {number}：")), "{shown}");
        assert!(!shown.contains(&id), "{shown}");
    }
    let due = text(&["matter", "due", "--today", "2026-12-31"]);
    assert!(due.contains(&number) && !due.contains(&id), "{due}");
    // A step recorded by number lands on the matter.
    let v = ok(as_user(dir, "clerk").args([
        "matter",
        "event",
        &number,
        "--event",
        r#"{"kind":"accept","at":"2026-11-06","notice_no":null}"#,
    ]));
    assert_eq!(v["id"], id.as_str());
    let e = refused(as_user(dir, "clerk").args(["matter", "show", "沁水-2026-11-Z9999"]));
    assert_eq!(e["code"], "not_found");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("沁水-2026-11-Z9999"),
        "{e}"
    );
}
