//! The `xinfang` binary as scripts use it: real data dirs, real processes, JSON on stdout.

mod common;

use std::path::Path;

use common::{PASSWORD, add_staff, hall_with, id_with_check, json_of, ok, run, xinfang};
use serde_json::Value;
use tempfile::TempDir;

/// A hall with an admin and a clerk, both with PASSWORD.
fn hall() -> TempDir {
    hall_with(&[("clerk", "王接待", "clerk")])
}

fn visit_file(dir: &Path, name: &str, json: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, json).unwrap();
    path
}

#[test]
fn id_check_reports_what_the_number_says() {
    let tmp = TempDir::new().unwrap();
    let check = |args: &[&str]| {
        let out = xinfang(tmp.path()).args(args).output().unwrap();
        (out.status.code(), json_of(&out))
    };
    let id = id_with_check("14052119800101001");
    let (code, v) = check(&["id", "check", &id, "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["valid"], true);
    assert_eq!(v["kind"], "resident_id");
    assert_eq!(v["normalized"], id);
    assert_eq!(v["birth_date"], "1980-01-01");
    assert_eq!(v["sex"], "male");
    assert_eq!(v["region_code"], "140521");
    assert!(v["region_name"].as_str().unwrap().contains("沁水县"));
    assert!(v["warnings"].as_array().unwrap().is_empty());

    // One wrong check character: exit 1, a field error that says what it should be.
    let last = id.chars().last().unwrap();
    let wrong = format!("{}{}", &id[..17], if last == '0' { '1' } else { '0' });
    let (code, v) = check(&["id", "check", &wrong, "--json"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["field"], "id_number");
    assert_eq!(v["errors"][0]["code"], "id_check_digit");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains(last));

    // 15 digits are converted; no data dir is needed for any of this.
    let old = format!("{}{}", &id[..6], &id[8..17]);
    let (_, v) = check(&["--json", "id", "check", &old]);
    assert_eq!(v["normalized"], id);
    assert!(!tmp.path().join(xinfang_store::DB_FILE).exists());
}

#[test]
fn init_refuses_to_overwrite_and_a_rejected_password_leaves_nothing() {
    let tmp = TempDir::new().unwrap();
    let out = xinfang(tmp.path())
        .env("XINFANG_PASSWORD", "short")
        .args(["init", "--hall", "140521", "--admin", "admin", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["errors"][0]["field"], "password");
    assert!(!tmp.path().join(xinfang_store::DB_FILE).exists());

    xinfang(tmp.path())
        .args(["init", "--hall", "140521", "--admin", "admin"])
        .assert()
        .success();
    let out = xinfang(tmp.path())
        .args(["init", "--hall", "140521", "--admin", "other", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["errors"][0]["code"], "already_exists");
}

#[test]
fn roles_are_enforced_and_wrong_passwords_refused() {
    let dir = hall();
    let out = xinfang(dir.path())
        .env("XINFANG_NEW_PASSWORD", PASSWORD)
        .args([
            "--user",
            "clerk",
            "--json",
            "staff",
            "add",
            "--username",
            "x",
            "--name",
            "某某",
            "--role",
            "admin",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["errors"][0]["code"], "forbidden");

    let out = xinfang(dir.path())
        .env("XINFANG_PASSWORD", "nope")
        .args(["--user", "clerk", "search", "张", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["errors"][0]["code"], "bad_credentials");

    let out = xinfang(dir.path())
        .args(["--user", "admin", "staff", "list", "--json"])
        .output()
        .unwrap();
    let staff = json_of(&out)["staff"].as_array().unwrap().clone();
    assert_eq!(staff.len(), 2);
    assert!(staff.iter().all(|s| s.get("password_hash").is_none()));
}

#[test]
fn visit_add_registers_detects_repeats_and_search_finds_them() {
    let dir = hall();
    let id = id_with_check("14052119800101001");
    let file = visit_file(
        dir.path(),
        "visit.json",
        &format!(
            r#"{{"visited_at":"2026-11-20T09:30:00+08:00","visitors":[{{"name":"张三丰","id_type":"resident_id",
            "id_number":"{}","phone":"138 0013 8000","address":"沁水县龙港镇"}}],"head_count":1,"representatives":[0],
            "appeal":"拖欠工资","appeal_kind":"claim","category":"劳动和社会保障","agency":"县人社局","place_code":"140521"}}"#,
            id.to_lowercase()
        ),
    );
    let add = || {
        ok(
            dir.path(),
            "clerk",
            &["visit", "add", "--file", file.to_str().unwrap()],
        )
    };
    let first = add();
    assert_eq!(first["visitor_ids"].as_array().unwrap().len(), 1);
    assert_eq!(first["repeat_of"], Value::Array(vec![]));

    let second = add();
    assert_eq!(second["visitor_ids"], first["visitor_ids"]);
    assert_eq!(second["repeat_of"][0], first["visit_id"]);

    // Global flags after the subcommand, user from the environment.
    let out = xinfang(dir.path())
        .env("XINFANG_USER", "clerk")
        .args(["search", "zsf", "--json"])
        .output()
        .unwrap();
    let v = json_of(&out);
    let hit = &v["visitors"][0];
    assert_eq!(hit["name"], "张三丰");
    assert_eq!(hit["visit_count"], 2);
    assert_eq!(
        hit["id_number_masked"],
        format!("1405**********{}", &id[14..])
    );
    assert_eq!(hit["last_visit_at"], "2026-11-20T09:30:00+08:00");
    assert!(
        !v.to_string().contains(&id),
        "full ID number leaked into search output"
    );
}

#[test]
fn invalid_visit_lists_every_error_and_writes_nothing() {
    let dir = hall();
    let body = "14052119800101001";
    let good = id_with_check(body);
    let bad_check = format!("{body}{}", if good.ends_with('0') { '1' } else { '0' });
    let file = visit_file(
        dir.path(),
        "bad.json",
        &format!(
            r#"{{"visitors":[{{"name":"","id_number":"{bad_check}","phone":"12345"}}],"head_count":1,
            "appeal":"","appeal_kind":"complaint","category":"不存在的分类"}}"#
        ),
    );
    let out = xinfang(dir.path())
        .args(["--user", "clerk", "visit", "add", "--json", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let errors = json_of(&out)["errors"].as_array().unwrap().clone();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "visitors[0].name",
        "visitors[0].id_number",
        "visitors[0].phone",
        "appeal",
        "appeal_kind",
        "category",
    ] {
        assert!(fields.contains(&f), "no error for {f}: {fields:?}");
    }
    assert!(
        errors
            .iter()
            .all(|e| !e["message"].as_str().unwrap().is_empty())
    );
    let out = xinfang(dir.path())
        .args(["--user", "clerk", "search", &good, "--json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["visitors"], Value::Array(vec![]));

    // Six representatives refused, five accepted.
    let people: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"name":"代表{i}","id_number":"{}"}}"#,
                id_with_check(&format!("14052119800101{:03}", 10 + i))
            )
        })
        .collect();
    let group = |reps: &str| {
        format!(
            r#"{{"visitors":[{}],"head_count":30,"representatives":{reps},"appeal":"征地补偿","appeal_kind":"claim","category":"自然资源"}}"#,
            people.join(",")
        )
    };
    let six = visit_file(dir.path(), "six.json", &group("[0,1,2,3,4,5]"));
    let out = xinfang(dir.path())
        .args(["--user", "clerk", "visit", "add", "--json", "--file"])
        .arg(&six)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["errors"][0]["field"], "representatives");
    let five = visit_file(dir.path(), "five.json", &group("[0,1,2,3,4]"));
    xinfang(dir.path())
        .args(["--user", "clerk", "visit", "add", "--json", "--file"])
        .arg(&five)
        .assert()
        .success();
}

#[test]
fn backup_and_verify() {
    let dir = hall();
    let d = dir.path();
    let seed = |user: &str| {
        xinfang(d)
            .args([
                "--user",
                user,
                "seed",
                "--visitors",
                "50",
                "--visits",
                "120",
            ])
            .assert()
    };
    // Lawyers have no business seeding or verifying the hall's store.
    add_staff(d, "lawyer", "赵律师", "lawyer");
    seed("lawyer").failure().code(1);
    xinfang(d)
        .args(["--user", "lawyer", "verify"])
        .assert()
        .failure()
        .code(1);
    add_staff(d, "boss", "李科长", "supervisor");
    seed("boss").success();
    let verify = |dir: &Path| {
        let (code, v) = run(dir, "boss", &["verify"]);
        (code, v["ok"].clone())
    };
    assert_eq!(verify(d), (0, Value::Bool(true)));

    let dest = dir.path().join("copy.db");
    xinfang(dir.path())
        .args(["--user", "boss", "backup"])
        .arg(&dest)
        .assert()
        .success();
    let copy = TempDir::new().unwrap();
    std::fs::copy(&dest, copy.path().join(xinfang_store::DB_FILE)).unwrap();
    std::fs::copy(
        xinfang_store::backup_keyslots_path(&dest),
        copy.path().join(xinfang_store::KEYSLOTS_FILE),
    )
    .unwrap();
    assert_eq!(verify(copy.path()), (0, Value::Bool(true)));

    // Remove a change-log row behind the store's back: verify says so and exits 1.
    let key = xinfang_store::Store::login(dir.path(), "boss", PASSWORD)
        .unwrap()
        .0
        .data_key();
    let conn =
        xinfang_store::open_raw(&dir.path().join(xinfang_store::DB_FILE), key.as_ref()).unwrap();
    conn.execute("DELETE FROM change_log WHERE seq = (SELECT max(seq) FROM change_log WHERE entity = 'matter')", [])
        .unwrap();
    drop(conn);
    assert_eq!(verify(d), (1, Value::Bool(false)));
}

#[test]
fn seed_is_deterministic_for_a_seed() {
    let a = hall();
    let b = hall();
    let seeded = |dir: &TempDir, seed: &str| {
        add_staff(dir.path(), "boss", "李科长", "supervisor,clerk");
        xinfang(dir.path())
            .args([
                "--user",
                "boss",
                "seed",
                "--visitors",
                "200",
                "--visits",
                "500",
                "--seed",
                seed,
            ])
            .assert()
            .success();
        let out = xinfang(dir.path())
            .args(["--user", "boss", "search", "王", "--json", "--limit", "500"])
            .output()
            .unwrap();
        let mut v: Vec<(String, String, i64)> = json_of(&out)["visitors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["name"].as_str().unwrap().into(),
                    h["id_number_masked"].as_str().unwrap().into(),
                    h["visit_count"].as_i64().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let x = seeded(&a, "42");
    let y = seeded(&b, "42");
    assert!(!x.is_empty());
    assert_eq!(x, y);
}

#[test]
fn deadline_moves_past_rest_days() {
    let tmp = TempDir::new().unwrap();
    // 2025-09-16 + 15 days = 2025-10-01, National Day: moves to the first working day, 10-09.
    let out = xinfang(tmp.path())
        .args([
            "deadline",
            "--start",
            "2025-09-16",
            "--days",
            "15",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["start"], "2025-09-16");
    assert_eq!(v["days"], 15);
    assert_eq!(v["due"], "2025-10-09");
    assert_eq!(v["moved"], true);
    assert_eq!(v["calendar_known"], true);
}

/// Runs the CLI as `user` with `--json`; returns (exit code, stdout as JSON).
fn run_json(dir: &Path, user: &str, password: &str, args: &[&str]) -> (i32, Value) {
    let out = xinfang(dir)
        .env("XINFANG_PASSWORD", password)
        .args(["--json", "--user", user])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn encrypted_store_passwords_recovery_rekey_and_audit() {
    let dir = TempDir::new().unwrap();
    // init shows the recovery key once (8 groups of 4 base32 characters).
    let out = xinfang(dir.path())
        .args(["--json", "init", "--hall", "140521", "--admin", "admin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let init = json_of(&out);
    assert_eq!(init["encrypted"], true);
    let recovery = init["recovery_key"].as_str().unwrap().to_owned();
    assert_eq!(recovery.split('-').count(), 8, "{recovery}");
    assert!(dir.path().join(xinfang_store::KEYSLOTS_FILE).exists());
    let slots = std::fs::read_to_string(dir.path().join(xinfang_store::KEYSLOTS_FILE)).unwrap();
    assert!(!slots.contains(&recovery) && !slots.contains(PASSWORD));
    // Plain SQLite cannot read the database.
    let conn = rusqlite::Connection::open(dir.path().join(xinfang_store::DB_FILE)).unwrap();
    assert!(
        conn.query_row("SELECT count(*) FROM staff", [], |r| r.get::<_, i64>(0))
            .is_err()
    );
    drop(conn);

    let out = xinfang(dir.path())
        .env("XINFANG_NEW_PASSWORD", "clerk-pass-2026")
        .args(["--user", "admin", "staff", "add", "--username", "clerk"])
        .args(["--name", "王接待", "--role", "clerk"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    // A wrong password: exit 1, 密码 error; after three, that account waits, admin does not.
    for _ in 0..3 {
        let (rc, v) = run_json(dir.path(), "clerk", "wrong-password", &["staff", "list"]);
        assert_eq!(
            (rc, v["errors"][0]["code"].as_str()),
            (1, Some("bad_credentials"))
        );
    }
    let (rc, v) = run_json(dir.path(), "clerk", "clerk-pass-2026", &["search", "张"]);
    assert_eq!(rc, 1);
    assert_eq!(v["errors"][0]["code"], "too_many_attempts", "{v}");
    let (rc, _) = run_json(dir.path(), "admin", PASSWORD, &["staff", "list"]);
    assert_eq!(rc, 0);

    // Admin reset gives the clerk a new slot at once.
    let out = xinfang(dir.path())
        .env("XINFANG_NEW_PASSWORD", "clerk-reset-2026")
        .args([
            "--json",
            "--user",
            "admin",
            "staff",
            "reset-password",
            "--username",
            "clerk",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (rc, _) = run_json(dir.path(), "clerk", "clerk-reset-2026", &["search", "张"]);
    assert_eq!(rc, 0);

    // The clerk changes their own password.
    let out = xinfang(dir.path())
        .env("XINFANG_PASSWORD", "clerk-reset-2026")
        .env("XINFANG_NEW_PASSWORD", "clerk-own-2026")
        .args(["--json", "--user", "clerk", "passwd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        run_json(dir.path(), "clerk", "clerk-reset-2026", &["search", "张"]).0,
        1
    );
    assert_eq!(
        run_json(dir.path(), "clerk", "clerk-own-2026", &["search", "张"]).0,
        0
    );

    // Only an admin rotates the key; everyone still logs in after.
    assert_eq!(
        run_json(dir.path(), "clerk", "clerk-own-2026", &["rekey"]).0,
        1
    );
    let (rc, v) = run_json(dir.path(), "admin", PASSWORD, &["rekey"]);
    assert_eq!(rc, 0, "{v}");
    assert_eq!(v["rekeyed"], true);
    assert_eq!(
        run_json(dir.path(), "clerk", "clerk-own-2026", &["search", "张"]).0,
        0
    );

    // The admin forgot the password: the recovery key sets a new one.
    let recover = |key: &str| {
        xinfang(dir.path())
            .env("XINFANG_RECOVERY_KEY", key)
            .env("XINFANG_NEW_PASSWORD", "admin-new-2026")
            .args(["--json", "recover", "--username", "admin"])
            .output()
            .unwrap()
    };
    let out = recover("AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH");
    assert_eq!(out.status.code(), Some(1));
    let out = recover(&recovery);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        run_json(dir.path(), "admin", PASSWORD, &["staff", "list"]).0,
        1
    );

    // Everything done above is in the audit log; verify checks its chain.
    let (rc, v) = run_json(dir.path(), "admin", "admin-new-2026", &["audit"]);
    assert_eq!(rc, 0, "{v}");
    let actions: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "recovery_unlock",
            "rekey",
            "password_change",
            "password_reset"
        ]
    );
    let (rc, v) = run_json(dir.path(), "admin", "admin-new-2026", &["verify"]);
    assert_eq!((rc, &v["ok"]), (0, &Value::Bool(true)), "{v}");

    // Tamper with one audit row behind the store's back: verify names the first bad entry.
    let key = xinfang_store::Store::login(dir.path(), "admin", "admin-new-2026")
        .unwrap()
        .0
        .data_key();
    let conn =
        xinfang_store::open_raw(&dir.path().join(xinfang_store::DB_FILE), key.as_ref()).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update;
         UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 2;",
    )
    .unwrap();
    drop(conn);
    let (rc, v) = run_json(dir.path(), "admin", "admin-new-2026", &["verify"]);
    assert_eq!(rc, 1);
    let problems = v["problems"].to_string();
    assert!(problems.contains("审计日志链断裂：第 2 条"), "{problems}");
}

/// 重复访 (issue 16): a returning visitor's visit attached to their earlier matter joins it —
/// the output names that matter, `is_repeat` is set, no new matter is opened — and once the
/// matter is being handled a visit attached to it is still recorded (exit 0) with the refusal
/// `not_accepted_again` to tell the visitor. `matter list --visitor` lists the person's matters.
#[test]
fn a_repeat_visit_joins_its_matter_and_is_told_not_accepted_again_while_handled() {
    let dir = hall();
    let id = id_with_check("14052119800101002");
    let form = |matter: &str| {
        format!(
            r#"{{"visited_at":"2026-11-20T09:30:00+08:00","visitors":[{{"name":"李四","id_type":"resident_id",
            "id_number":"{id}"}}],"head_count":1,"representatives":[0],"appeal":"拖欠工资","appeal_kind":"claim",
            "category":"劳动和社会保障","agency":"县人社局","place_code":"140521","matter_id":"{matter}"}}"#
        )
    };
    let add = |matter: &str| {
        let file = visit_file(dir.path(), "visit.json", &form(matter));
        ok(
            dir.path(),
            "clerk",
            &["visit", "add", "--file", file.to_str().unwrap()],
        )
    };
    let first = add("");
    let matter = first["matter_id"].as_str().unwrap().to_owned();
    assert_eq!(first["is_repeat"], false);

    let again = add(&matter);
    assert_eq!(again["matter_id"], matter.as_str());
    assert_eq!(again["is_repeat"], true);
    assert!(again.get("refusal").is_none(), "{again}");

    ok(
        dir.path(),
        "clerk",
        &[
            "matter",
            "event",
            &matter,
            "--event",
            r#"{"kind":"accept","at":"2026-11-21","notice_no":"沁信受〔2026〕1号"}"#,
        ],
    );
    let handled = add(&matter);
    assert_eq!(handled["matter_id"], matter.as_str());
    assert_eq!(
        handled["refusal"]["code"], "not_accepted_again",
        "{handled}"
    );
    assert!(
        handled["refusal"]["message"]
            .as_str()
            .unwrap()
            .contains("不再重复受理"),
        "{handled}"
    );

    let list = ok(dir.path(), "clerk", &["matter", "list", "--visitor", &id]);
    let matters = list["matters"].as_array().unwrap();
    assert_eq!(matters.len(), 1, "three visits, one matter: {list}");
    assert_eq!(matters[0]["matter_id"], matter.as_str());
    assert_eq!(matters[0]["visits"], 3);
    assert_eq!(matters[0]["status"], "accepted");
    assert_eq!(matters[0]["not_accepted_again"], true);

    // A matter that does not exist is refused in Chinese, and nothing is recorded.
    let file = visit_file(
        dir.path(),
        "visit.json",
        &form("01900000-0000-7000-8000-000000000000"),
    );
    let (code, out) = run(
        dir.path(),
        "clerk",
        &["visit", "add", "--file", file.to_str().unwrap()],
    );
    assert_ne!(code, 0);
    assert!(out.to_string().contains("没有找到"), "{out}");
    let list = ok(dir.path(), "clerk", &["matter", "list", "--visitor", &id]);
    assert_eq!(list["matters"][0]["visits"], 3);
}
