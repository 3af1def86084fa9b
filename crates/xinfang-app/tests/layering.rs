//! The layering invariants of docs/architecture.md, checked on the sources: the adapters over
//! the application layer (`src-tauri`, the `xinfang` CLI) hold no SQL, the desktop shell calls
//! the store nowhere, and the CLI calls it directly only in the places listed below, each with
//! its reason. A new direct store call in an adapter fails here: write the use case in
//! xinfang-app and call that.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `.rs` files under `dir`, with their code before the first `#[cfg(test)]` (tests may set
/// up stores directly).
fn sources(dir: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root().join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or("").to_owned();
                let name = p.strip_prefix(root()).unwrap().display().to_string();
                out.push((name, code));
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no sources under {dir}");
    out
}

/// Lines that look like SQL or reach for SQLite directly.
fn sql_lines(code: &str) -> Vec<String> {
    const SQL: &[&str] = &[
        "SELECT ",
        "INSERT INTO",
        "UPDATE ",
        "DELETE FROM",
        "CREATE TABLE",
        "PRAGMA ",
        "rusqlite",
        "execute(",
        "prepare(",
    ];
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| SQL.iter().any(|k| l.contains(k)))
        .map(|l| l.trim().to_owned())
        .collect()
}

/// The store's methods and associated functions called in `code`: `store.x(`, `Store::x(`.
fn store_calls(code: &str) -> Vec<String> {
    let mut calls = Vec::new();
    for (prefix, show) in [("store.", "store."), ("Store::", "Store::")] {
        for (i, _) in code.match_indices(prefix) {
            // `self.store.` or `some_store.` are the same call; `restore.` is not.
            let before = code[..i].chars().next_back();
            if prefix == "store." && before.is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            let name: String = code[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                calls.push(format!("{show}{name}"));
            }
        }
    }
    calls.sort();
    calls.dedup();
    calls
}

#[test]
fn the_adapters_hold_no_sql() {
    for dir in ["src-tauri/src", "crates/xinfang-cli/src"] {
        for (file, code) in sources(dir) {
            let sql = sql_lines(&code);
            assert!(sql.is_empty(), "{file} holds SQL: {sql:?}");
        }
    }
}

#[test]
fn the_desktop_shell_never_calls_the_store() {
    for (file, code) in sources("src-tauri/src") {
        let calls = store_calls(&code);
        assert!(
            calls.is_empty(),
            "{file} calls the store ({calls:?}): put the use case in xinfang-app"
        );
    }
}

/// Where the CLI still calls the store itself, and why. Everything else goes through
/// xinfang-app (the matter commands and matter notices, with their 检举控告 check and audit).
fn cli_allowed() -> BTreeMap<&'static str, (&'static str, Vec<&'static str>)> {
    BTreeMap::from([
        (
            "crates/xinfang-cli/src/cli.rs",
            (
                "admin store maintenance with no desk screen (init, login, staff accounts, \
                 backup, restore, verify, rekey, passwd, recover, the audit log) and the plain lists \
                 `search` and `visit add`",
                vec![
                    "Store::create_with_admin",
                    "Store::exists",
                    "Store::is_encrypted_dir",
                    "Store::login",
                    "Store::open_unencrypted",
                    "Store::restore",
                    "Store::unlock",
                    "store.add_staff",
                    "store.audit",
                    "store.audit_entries",
                    "store.authenticate",
                    "store.backup",
                    "store.change_password",
                    "store.device_id",
                    "store.holiday_calendar",
                    "store.key_slot_users",
                    "store.list_staff",
                    "store.reference_data",
                    "store.rekey",
                    "store.reset_password",
                    "store.search",
                    "store.verify",
                ],
            ),
        ),
        (
            "crates/xinfang-cli/src/matter_cmd.rs",
            (
                "the hall and the visit's visitor names on the legal opinion and mediation \
                 agreement notices (the records themselves are opened through xinfang-app)",
                vec!["store.hall_code", "store.reference_data", "store.visit_row"],
            ),
        ),
        (
            "crates/xinfang-cli/src/stats_cmd.rs",
            (
                "the export log, the mediation and publicity ledgers' rows and import \
                 (supervisor) of the CLI, not yet moved onto xinfang-app",
                vec![
                    "store.hall_code",
                    "store.holiday_calendar",
                    "store.import_ledger",
                    "store.imported_ledger_rows",
                    "store.log_export",
                    "store.mediation_ledger",
                    "store.reference_data",
                ],
            ),
        ),
        (
            "crates/xinfang-cli/src/seed.rs",
            (
                "synthetic demo data for benchmarks (supervisor/admin only), written as the \
                 store's own tests write it",
                vec![],
            ),
        ),
        (
            "crates/xinfang-cli/src/sync_cmd.rs",
            (
                "enrolment and one sync, the sync client's own entry points",
                vec![],
            ),
        ),
    ])
}

#[test]
fn the_cli_calls_the_store_only_where_listed() {
    let allowed = cli_allowed();
    let mut unexpected = Vec::new();
    for (file, code) in sources("crates/xinfang-cli/src") {
        let calls = store_calls(&code);
        match allowed.get(file.as_str()) {
            // seed.rs and sync_cmd.rs: the whole file is store work by design.
            Some((_, list)) if list.is_empty() => {}
            Some((_, list)) => unexpected.extend(
                calls
                    .into_iter()
                    .filter(|c| !list.contains(&c.as_str()))
                    .map(|c| format!("{file}: {c}")),
            ),
            None => unexpected.extend(calls.into_iter().map(|c| format!("{file}: {c}"))),
        }
    }
    assert!(
        unexpected.is_empty(),
        "direct store calls in the CLI outside the list of tests/layering.rs: {unexpected:?}; \
         call a use case of xinfang-app instead"
    );
}

#[test]
fn the_matter_commands_of_the_cli_go_through_the_app_layer() {
    let (_, code) = sources("crates/xinfang-cli/src")
        .into_iter()
        .find(|(f, _)| f.ends_with("matter_cmd.rs"))
        .unwrap();
    for forbidden in [
        "store.matter(",
        "store.record_event",
        "store.classify_matter",
        "store.propose_route",
        "store.confirm_route",
        "store.matter_facts",
        "store.matter_of_visit",
    ] {
        assert!(
            !code.contains(forbidden),
            "matter_cmd.rs calls {forbidden}: use xinfang_app::matters"
        );
    }
}
