//! `xinfang seed --lifecycle`: demo data that looks like a working hall, built only from steps
//! the legal engine accepts.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const PASSWORD: &str = "seed-pass-2026";

fn xinfang(dir: &Path, user: &str) -> Command {
    let mut cmd = Command::cargo_bin("xinfang").unwrap();
    cmd.env_remove("XINFANG_DATA_DIR")
        .env("XINFANG_USER", user)
        .env("XINFANG_PASSWORD", PASSWORD)
        .env("XINFANG_NEW_PASSWORD", PASSWORD)
        .arg("--data-dir")
        .arg(dir)
        .arg("--json");
    cmd
}

fn run(dir: &Path, user: &str, args: &[&str]) -> Value {
    let out = xinfang(dir, user).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn seeded_hall(args: &[&str]) -> (TempDir, Value) {
    let dir = TempDir::new().unwrap();
    run(
        dir.path(),
        "admin",
        &["init", "--hall", "140521", "--admin", "admin"],
    );
    run(
        dir.path(),
        "admin",
        &[
            "staff",
            "add",
            "--username",
            "sup",
            "--name",
            "李科长",
            "--role",
            "supervisor",
        ],
    );
    let summary = run(dir.path(), "sup", &[["seed"].as_slice(), args].concat());
    (dir, summary)
}

#[test]
fn lifecycle_seed_concludes_most_matters_and_is_deterministic() {
    let args = [
        "--visitors",
        "300",
        "--visits",
        "900",
        "--seed",
        "3",
        "--lifecycle",
    ];
    let (dir, summary) = seeded_hall(&args);
    let events = summary["events"].as_u64().unwrap();
    let evaluations = summary["evaluations"].as_u64().unwrap();
    let backlog = summary["backlog_cases"].as_u64().unwrap();
    assert!(
        events > 900,
        "most matters got a decision and more: {summary}"
    );
    assert!(evaluations > 300, "{summary}");
    assert!(backlog > 0, "{summary}");

    // Without the lifecycle every matter older than 15 days is overdue; with it only the
    // backlog cases and a few recent ones are.
    let due = run(dir.path(), "sup", &["matter", "due"]);
    let overdue = due["overdue_total"].as_u64().unwrap();
    assert!(
        overdue <= backlog + 10,
        "overdue {overdue}, backlog {backlog}"
    );
    let (plain, _) = seeded_hall(&args[..6]);
    let plain_due = run(plain.path(), "sup", &["matter", "due"]);
    // Counted in full, listed up to the most overdue 200 (issue 21).
    assert!(plain_due["overdue_total"].as_u64().unwrap() > 800);
    assert_eq!(plain_due["overdue"].as_array().unwrap().len(), 200);

    // The same seed gives the same hall.
    let (_again, summary_again) = seeded_hall(&args);
    assert_eq!(summary, summary_again);
    let verify = run(dir.path(), "admin", &["verify"]);
    assert_eq!(verify["ok"], Value::Bool(true), "{verify}");
}
