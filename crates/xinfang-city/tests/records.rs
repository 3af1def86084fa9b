//! Issue 13, "records and merge": concurrent offline work at two desks of a hall loses nothing.
//! The real `xinfang` CLI on encrypted desks and the real `xinfang-city` binary on loopback.
//! Each test is one case of the issue and failed on the main before this work (docs/sync.md,
//! "Records, conflicts, quarantine").

mod common;

use std::path::Path;

use common::Server;
use common::cli_desk::{cli, desk, ok};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const HALL: &str = "140521";

fn sync(dir: &Path) -> Value {
    ok(dir, "clerk", &["sync"])
}

fn resident_id(body17: &str) -> String {
    format!(
        "{body17}{}",
        xinfang_core::id::resident_id_check_char(body17).unwrap()
    )
}

/// Registers a visit of one person with the CLI; empty phone/address are left out of the form.
fn visit(dir: &Path, name: &str, id_number: &str, phone: &str, address: &str) -> Value {
    let mut person = json!({ "name": name, "id_number": id_number });
    if !phone.is_empty() {
        person["phone"] = json!(phone);
    }
    if !address.is_empty() {
        person["address"] = json!(address);
    }
    let file = dir.join(format!("visit-{}.json", uuid_like()));
    std::fs::write(
        &file,
        json!({
            "visited_at": "",
            "visitors": [person],
            "head_count": 1,
            "representatives": [],
            "appeal": "拖欠工资，请求协调支付。",
            "appeal_kind": "claim",
            "category": "劳动和社会保障",
            "agency": "县人社局",
            "place_code": HALL
        })
        .to_string(),
    )
    .unwrap();
    ok(
        dir,
        "clerk",
        &["visit", "add", "--file", file.to_str().unwrap()],
    )
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn rows(dir: &Path, sql: &str) -> Vec<String> {
    let conn = common::desk_conn(dir, "clerk", PASSWORD);
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn conflicts(dir: &Path) -> Vec<Value> {
    ok(dir, "boss", &["conflict", "list"])["conflicts"]
        .as_array()
        .unwrap()
        .clone()
}

/// The conflicts as every replica must hold them: without the display names, which each desk
/// takes from its own staff list (here each desk has its own `clerk` account: the other's is
/// set aside as a duplicate username).
fn replicated(conflicts: &[Value]) -> Vec<Value> {
    let mut out = conflicts.to_vec();
    for c in &mut out {
        for o in c["options"].as_array_mut().unwrap() {
            o.as_object_mut().unwrap().remove("by_name");
        }
    }
    out
}

/// The desks under test run on the real clock.
fn today() -> String {
    xinfang_core::clock::Clock::today(&xinfang_core::clock::SystemClock).to_string()
}

common::both_backends! {
/// Hall isolation of what the city derives: a device of another hall that pushes a step naming
/// this hall's matter gets its own record stored (it is its hall's), but the city does not fold
/// that step into the matter it does not own — its status and state stay what its own hall's
/// steps make them.
fn a_step_pushed_by_another_hall_does_not_change_this_halls_matter_at_the_city() {
    let server = Server::start();
    let a = desk(&server);
    let a = a.path();
    let registered = visit(a, "张三", &resident_id("14052119800115013"), "", "");
    let matter = registered["matter_id"].as_str().unwrap().to_owned();
    sync(a);
    let city_matter = |field: &str| -> String {
        server.rows(&format!(
            "SELECT {} FROM records WHERE entity = 'matter' AND entity_id = '{matter}'",
            server.json_sql("data", field)
        ))[0]
            .clone()
    };
    let (status, state) = (city_matter("status"), city_matter("state"));
    let token = server.enrol_device("140525", "other-hall-desk");
    let accept = json!({"kind": "accept", "at": today(), "notice_no": "晋受〔2026〕9号"});
    let (s, r) = server.post_json(
        "/v1/sync/push",
        Some(&token),
        &json!({ "changes": [{ "seq": 1, "entity": "matter_event", "entity_id": "foreign-step",
            "op": "insert", "fields": { "matter_id": matter, "kind": "accept",
            "payload": accept.to_string() },
            "hlc": xinfang_sync::Hlc::new(xinfang_sync::hlc::wall_ms(), 0).0, "changed_at": "" }] }),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (city_matter("status"), city_matter("state")),
        (status, state),
        "the other hall's step left the matter as its own hall's steps make it"
    );
    // The desk of the matter's hall agrees, and never sees the other hall's step.
    sync(a);
    assert_eq!(
        rows(a, &format!("SELECT status FROM matters WHERE id = '{matter}'")),
        vec![format!("Text({:?})", city_matter("status"))]
    );
    assert_eq!(rows(a, "SELECT id FROM matter_events"), Vec::<String>::new());
}
}

common::both_backends! {
/// Issue case 2: desk B records 受理 offline while desk A records 转送. Both steps are kept
/// everywhere; the one the fold cannot apply is a conflict on both desks; the matter's status
/// is the same on A, B and the city; the supervisor's choice syncs and ends the conflict.
fn matter_steps_recorded_offline_at_two_desks_are_both_kept_and_a_clash_is_a_conflict() {
    let server = Server::start();
    let a = desk(&server);
    let b = desk(&server);
    let (a, b) = (a.path(), b.path());
    let registered = visit(a, "张三", &resident_id("14052119800115013"), "", "");
    let matter = registered["matter_id"].as_str().unwrap().to_owned();
    sync(a);
    sync(b);
    let day = today();
    // Offline: B accepts (with its notice number), A forwards.
    let accept = json!({"kind": "accept", "at": day, "notice_no": "晋受〔2026〕7号"});
    let forward =
        json!({"kind": "forward", "at": day, "to_authority": "县人社局", "report_back_by": null});
    ok(
        b,
        "clerk",
        &["matter", "event", &matter, "--event", &accept.to_string()],
    );
    ok(
        a,
        "clerk",
        &["matter", "event", &matter, "--event", &forward.to_string()],
    );
    sync(a);
    sync(b);
    sync(a);

    let steps = "SELECT id, kind, payload FROM matter_events ORDER BY id";
    let on_a = rows(a, steps);
    assert_eq!(on_a.len(), 2, "both steps kept: {on_a:?}");
    assert_eq!(on_a, rows(b, steps), "the same steps on both desks");
    assert!(
        on_a.iter().any(|r| r.contains("晋受〔2026〕7号")),
        "the 受理 with its notice number survives"
    );
    let status = "SELECT id, status, state, event_count FROM matters";
    assert_eq!(
        rows(a, status),
        rows(b, status),
        "one derived state everywhere"
    );
    let city_status = |server: &Server| -> String {
        server.rows(&format!(
            "SELECT {} FROM records WHERE entity = 'matter' AND entity_id = '{matter}'",
            server.json_sql("data", "status")
        ))[0]
            .clone()
    };
    let desk_status = rows(
        a,
        &format!("SELECT status FROM matters WHERE id = '{matter}'"),
    );
    assert_eq!(
        desk_status,
        vec![format!("Text({:?})", city_status(&server))]
    );
    // The city folds the same steps into the same state (steps, deadlines) as the desks.
    let same_state_at_the_city = |desk: &Path| {
        let city_state = server.rows(&format!(
            "SELECT {} FROM records WHERE entity = 'matter' AND entity_id = '{matter}'",
            server.json_sql("data", "state")
        ))[0]
            .clone();
        assert_eq!(
            rows(
                desk,
                &format!("SELECT state FROM matters WHERE id = '{matter}'")
            ),
            vec![format!("Text({city_state:?})")]
        );
    };
    same_state_at_the_city(a);

    let on_a = conflicts(a);
    assert_eq!(on_a.len(), 1, "{on_a:#?}");
    assert_eq!(
        replicated(&on_a),
        replicated(&conflicts(b)),
        "the same conflict on both desks"
    );
    let c = &on_a[0];
    assert_eq!(c["kind"], "step");
    assert_eq!(c["record_id"], matter);
    let options = c["options"].as_array().unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(options.iter().filter(|o| o["shown"] == true).count(), 1);
    // A clerk may not resolve; the supervisor keeps the step that was set aside.
    let (code, _) = cli(b, "clerk", &["conflict", "list"]);
    assert_eq!(code, 1);
    let set_aside = options.iter().find(|o| o["shown"] == false).unwrap();
    let n = set_aside["n"].as_u64().unwrap().to_string();
    let (code, out) = cli(
        b,
        "boss",
        &[
            "conflict",
            "resolve",
            c["id"].as_str().unwrap(),
            "--value",
            "x",
        ],
    );
    assert_eq!(
        code, 1,
        "a step conflict takes a choice, not a value: {out}"
    );
    ok(
        b,
        "boss",
        &[
            "conflict",
            "resolve",
            c["id"].as_str().unwrap(),
            "--choose",
            &n,
        ],
    );
    assert!(conflicts(b).is_empty());
    sync(b);
    sync(a);
    assert!(conflicts(a).is_empty(), "the resolution synced");
    assert_eq!(rows(a, status), rows(b, status));
    let chosen_kind = if set_aside["value"].as_str().unwrap().starts_with("受理") {
        "accepted"
    } else {
        "forwarded"
    };
    assert_eq!(city_status(&server), chosen_kind);
    same_state_at_the_city(b);
    assert_eq!(
        rows(
            a,
            &format!("SELECT status FROM matters WHERE id = '{matter}'")
        ),
        vec![format!("Text({chosen_kind:?})")]
    );
    // The resolution is audited.
    let audit = ok(b, "boss", &["audit", "--limit", "5"]);
    assert!(audit.to_string().contains("resolve_conflict"), "{audit}");
}
}

common::both_backends! {
/// Issue case 3: a later registration with empty phone and address erases nothing; concurrent
/// phone changes are a conflict with both values, who and when, on both desks; a value of the
/// supervisor's own resolves it everywhere.
fn a_later_registration_erases_nothing_and_concurrent_phone_edits_are_a_conflict() {
    let server = Server::start();
    let a = desk(&server);
    let b = desk(&server);
    let (a, b) = (a.path(), b.path());
    let person = resident_id("14052119750301024");
    visit(a, "李四", &person, "13800000001", "县城关镇解放路1号");
    sync(a);
    // B has not pulled: it registers the same document with phone and address empty.
    visit(b, "李四", &person, "", "");
    sync(b);
    sync(a);
    let contact = format!("SELECT name, phone, address FROM visitors WHERE id_number = '{person}'");
    let want = vec![r#"Text("李四")|Text("13800000001")|Text("县城关镇解放路1号")"#.to_owned()];
    assert_eq!(rows(a, &contact), want);
    assert_eq!(
        rows(b, &contact),
        want,
        "the empty registration erased nothing"
    );
    let city = server.rows(&format!(
        "SELECT {} FROM records WHERE entity = 'visitor' AND lookup = '{person}'",
        server.json_sql("data", "phone")
    ))[0]
        .clone();
    assert_eq!(city, "13800000001");
    assert!(conflicts(a).is_empty() && conflicts(b).is_empty());

    // Both desks now hold the person; each records a new phone offline.
    visit(a, "李四", &person, "13900000002", "");
    visit(b, "李四", &person, "13700000003", "");
    sync(a);
    sync(b);
    sync(a);
    assert_eq!(rows(a, &contact), rows(b, &contact), "one shown value");
    let on_a = conflicts(a);
    assert_eq!(on_a.len(), 1, "{on_a:#?}");
    assert_eq!(
        replicated(&on_a),
        replicated(&conflicts(b)),
        "the same conflict on both desks"
    );
    let c = &on_a[0];
    assert_eq!(
        (c["kind"].as_str(), c["field"].as_str()),
        (Some("field"), Some("phone"))
    );
    assert_eq!(c["subject"], "李四");
    let values: Vec<&str> = c["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(values.len(), 2);
    assert!(values.contains(&"13900000002") && values.contains(&"13700000003"));
    for o in c["options"].as_array().unwrap() {
        assert!(o["by"].as_str().is_some_and(|b| !b.is_empty()), "who: {o}");
        assert!(
            o["device_id"].as_str().is_some_and(|d| !d.is_empty()),
            "which desk: {o}"
        );
        assert!(!o["at"].as_str().unwrap().is_empty(), "when: {o}");
    }
    // The clerk of this desk is named; the other desk's account is not on this desk.
    assert_eq!(
        c["options"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["by_name"] == "王接待")
            .count(),
        1
    );
    ok(
        a,
        "boss",
        &[
            "conflict",
            "resolve",
            c["id"].as_str().unwrap(),
            "--value",
            "13600000004",
        ],
    );
    sync(a);
    sync(b);
    assert!(conflicts(a).is_empty() && conflicts(b).is_empty());
    let resolved = vec![r#"Text("李四")|Text("13600000004")|Text("县城关镇解放路1号")"#.to_owned()];
    assert_eq!(rows(a, &contact), resolved);
    assert_eq!(rows(b, &contact), resolved);
    // The new value is found by phone like any other.
    let found = ok(b, "clerk", &["search", "13600000004"]);
    assert!(found.to_string().contains("李四"), "{found}");
    let v = ok(a, "admin", &["verify"]);
    assert_eq!(v["ok"], true, "{v}");
}
}

common::both_backends! {
/// Issue case 4: both desks flag one matter as 积案 offline and A adds a note. B's sync used to
/// fail for ever with `FOREIGN KEY constraint failed`; now the two flags are one case on both
/// desks (the same winner), the note shows under it, and later changes keep flowing. What a
/// desk cannot apply is set aside and listed for the supervisor.
fn two_backlog_flags_of_one_matter_and_a_note_never_stick_the_pull() {
    let server = Server::start();
    let a = desk(&server);
    let b = desk(&server);
    let (a, b) = (a.path(), b.path());
    let registered = visit(a, "王五", &resident_id("14052119700505031"), "", "");
    let matter = registered["matter_id"].as_str().unwrap().to_owned();
    sync(a);
    sync(b);
    let case_a = ok(
        a,
        "boss",
        &[
            "backlog",
            "flag",
            &matter,
            "--leader",
            "张副县长",
            "--plan",
            "召开协调会",
        ],
    );
    let case_a = case_a["case_id"]
        .as_str()
        .or_else(|| case_a["id"].as_str())
        .unwrap()
        .to_owned();
    ok(
        a,
        "clerk",
        &["backlog", "note", &case_a, "--note", "已约谈用人单位"],
    );
    ok(
        b,
        "boss",
        &[
            "backlog",
            "flag",
            &matter,
            "--leader",
            "刘局长",
            "--plan",
            "入户走访",
        ],
    );
    sync(b);
    sync(a);
    let pulled = sync(b);
    assert!(pulled["pulled"].as_u64().unwrap() >= 2, "{pulled}");
    // Later changes keep flowing to B.
    let later = visit(a, "赵六", &resident_id("14052119900909009"), "", "");
    sync(a);
    sync(b);
    let later_visit = later["visit_id"].as_str().unwrap();
    assert_eq!(
        rows(
            b,
            &format!("SELECT count(*) FROM visits WHERE id = '{later_visit}'")
        ),
        vec!["Integer(1)"]
    );
    sync(a);
    let open = |d: &Path| -> Vec<Value> {
        ok(d, "boss", &["backlog", "list", "--filter", "open"])["cases"]
            .as_array()
            .unwrap()
            .clone()
    };
    let (on_a, on_b) = (open(a), open(b));
    assert_eq!(on_a.len(), 1, "one case on A: {on_a:#?}");
    assert_eq!(on_b.len(), 1, "one case on B: {on_b:#?}");
    assert_eq!(
        on_a[0]["id"], on_b[0]["id"],
        "the same case stands on both desks"
    );
    for case in [&on_a[0], &on_b[0]] {
        let notes: Vec<&str> = case["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["note"].as_str().unwrap())
            .collect();
        assert_eq!(notes, vec!["已约谈用人单位"], "the note follows the winner");
    }
    // Both desks made an `admin` at init: the other desk's account is set aside, listed for
    // the supervisor with a reason, and the rest applied.
    let q = ok(b, "boss", &["sync", "quarantine"]);
    let q = q["quarantined"].as_array().unwrap();
    assert!(
        q.iter()
            .any(|c| c["entity"] == "staff" && c["reason"] == "duplicate"),
        "{q:#?}"
    );
    assert!(q.iter().all(|c| !c["message"].as_str().unwrap().is_empty()));
    let (code, _) = cli(b, "clerk", &["sync", "quarantine"]);
    assert_eq!(code, 1, "supervisor only");
    let v = ok(b, "admin", &["verify"]);
    assert_eq!(v["ok"], true, "{v}");
}
}

common::both_backends! {
/// Issue case 7: one ledger imported at two desks of a hall is one set of visits after sync.
fn one_ledger_imported_at_two_desks_is_one_set_of_visits() {
    let server = Server::start();
    let a = desk(&server);
    let b = desk(&server);
    let (a, b) = (a.path(), b.path());
    let ledger = |d: &Path| {
        let csv = d.join("ledger.csv");
        std::fs::write(
            &csv,
            format!(
                "来访日期,姓名,证件号码,诉求内容,诉求类别,问题分类\n\
                 2025-03-03,张三,{},邻居违建,申诉求决类,城乡建设\n\
                 2025-03-05,王五,{},路灯不亮,建议意见类,城乡建设\n",
                resident_id("14052119800115013"),
                resident_id("14052119700505031")
            ),
        )
        .unwrap();
        csv
    };
    let (fa, fb) = (ledger(a), ledger(b));
    assert_eq!(
        ok(a, "boss", &["import", fa.to_str().unwrap()])["imported"],
        2
    );
    assert_eq!(
        ok(b, "boss", &["import", fb.to_str().unwrap()])["imported"],
        2
    );
    sync(a);
    sync(b);
    sync(a);
    let visits = "SELECT id, visited_at, appeal, matter_id FROM visits ORDER BY id";
    assert_eq!(rows(a, visits).len(), 2, "{:?}", rows(a, visits));
    assert_eq!(rows(a, visits), rows(b, visits));
    let matters = "SELECT id, status FROM matters ORDER BY id";
    assert_eq!(rows(a, matters).len(), 2);
    assert_eq!(rows(a, matters), rows(b, matters));
    let city_visits = server.int("SELECT count(*) FROM records WHERE entity = 'visit'");
    assert_eq!(city_visits, 2, "the city holds one set");
    // Importing again anywhere imports nothing.
    assert_eq!(
        ok(b, "boss", &["import", fb.to_str().unwrap()])["imported"],
        0
    );
    let v = ok(a, "admin", &["verify"]);
    assert_eq!(v["ok"], true, "{v}");
}
}

common::both_backends! {
/// Compaction with the real binaries: a sync folds what the city holds out of the logs (the
/// last change stays), `xinfang compact` gives the space back, the store verifies, and the
/// desks go on syncing as before: a phone taken down after the compaction reaches the other desk, and a phone
/// registered offline at the other desk is still a conflict.
fn compacting_a_synced_desk_loses_nothing_and_syncs_go_on() {
    let server = Server::start();
    let a = desk(&server);
    let b = desk(&server);
    let (a, b) = (a.path(), b.path());
    let person = resident_id("14052119750301024");
    for i in 0..5 {
        visit(
            a,
            "王五",
            &resident_id(&format!("1405211975030110{i}")),
            "13800000009",
            "",
        );
    }
    visit(a, "李四", &person, "13800000001", "");
    sync(a);
    sync(b);
    // Every sync folds what the city confirmed: only the last change stays in the log.
    let logged = |dir: &Path| rows(dir, "SELECT count(*) FROM change_log")[0].clone();
    assert_eq!(logged(a), "Integer(1)");
    assert!(rows(a, "SELECT count(*) FROM log_base")[0] != "Integer(0)");
    // `xinfang compact` folds what is left and gives the space back.
    let done = ok(a, "boss", &["compact"]);
    let (before, after) = (
        done["bytes_before"].as_u64().unwrap(),
        done["bytes_after"].as_u64().unwrap(),
    );
    assert!(before > 0 && after <= before, "{done}");
    assert_eq!(logged(a), "Integer(1)");
    assert_eq!(ok(a, "boss", &["verify"])["ok"], json!(true));
    // A clerk may not compact.
    let (code, _) = cli(a, "clerk", &["compact"]);
    assert_ne!(code, 0);
    // B, offline, takes down another phone for 李四; A takes down a third after compacting.
    visit(b, "李四", &person, "13800000002", "");
    visit(a, "李四", &person, "13800000003", "");
    sync(a);
    sync(b);
    sync(a);
    let phones = |dir: &Path| {
        rows(
            dir,
            &format!("SELECT phone FROM visitors WHERE id_number = '{person}'"),
        )
    };
    assert_eq!(phones(a), phones(b));
    let on_a = replicated(&conflicts(a));
    assert_eq!(on_a, replicated(&conflicts(b)));
    let options: Vec<String> = on_a
        .iter()
        .flat_map(|c| c["options"].as_array().unwrap().clone())
        .map(|o| o["value"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        options.contains(&"13800000002".to_owned()) && options.contains(&"13800000003".to_owned()),
        "both phones taken down offline are options: {on_a:?}"
    );
    assert_eq!(ok(a, "boss", &["verify"])["ok"], json!(true));
    assert_eq!(ok(b, "boss", &["verify"])["ok"], json!(true));
}
}
