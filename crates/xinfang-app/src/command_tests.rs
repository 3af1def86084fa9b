//! Command-layer tests: every command called as each role; the forbidden ones are refused, the
//! allowed ones get past the role check. Table-driven: a command in `COMMANDS` without an access
//! entry or without a case here fails `every_command_has_an_access_rule_and_a_case`.

use std::path::Path;
use std::sync::Arc;

use chrono::Duration;

use xinfang_core::clock::{Clock, ManualClock, SystemClock};
use xinfang_core::desk::{
    ConclusionInput, ConsultationInput, ContinueMediationInput, Desk, FollowUpInput,
    MediationInput, PartyInput, SessionInput,
};
use xinfang_core::id::resident_id_check_char;
use xinfang_core::matter::MatterEvent;
use xinfang_core::notice::NoticeKind;
use xinfang_core::queue::Room;
use xinfang_core::staff::{Action, Role};
use xinfang_core::visit::{VisitInput, VisitorInput};
use xinfang_store::{NewStaff, Staff, Store};

use crate::api::{Access, AppState, NewStaffInput, SetupInput, access};
use crate::command_list::COMMANDS;
use crate::desk_settings::ReaderSettings;
use crate::error::{CmdResult, ErrorKind};

pub(crate) const PW: &str = "test-pass-2026";

pub(crate) fn id(birth: &str, seq: &str) -> String {
    let first17 = format!("140521{birth}{seq}");
    format!("{first17}{}", resident_id_check_char(&first17).unwrap())
}

pub(crate) fn visit(name: &str, number: &str) -> VisitInput {
    VisitInput {
        visitors: vec![VisitorInput {
            name: name.into(),
            id_number: number.into(),
            ..Default::default()
        }],
        appeal: "拖欠工资三个月，要求支付。".into(),
        appeal_kind: "claim".into(),
        category: "劳动和社会保障".into(),
        ..Default::default()
    }
}

pub(crate) fn consultation(visit_id: &str) -> ConsultationInput {
    ConsultationInput {
        visit_id: visit_id.into(),
        question: "被拖欠工资怎么办？".into(),
        advice: "向劳动人事争议仲裁委员会申请仲裁。".into(),
        legal_route: "labour_arbitration".into(),
        duration_minutes: 15,
        ..Default::default()
    }
}

pub(crate) fn mediation(visit_id: &str) -> MediationInput {
    let party = |role: &str, name: &str, n: String| PartyInput {
        role: role.into(),
        name: name.into(),
        id_number: n,
        ..Default::default()
    };
    MediationInput {
        visit_id: visit_id.into(),
        dispute_type: "labour".into(),
        request: "请求李四支付拖欠的工资。".into(),
        parties: vec![
            party("applicant", "张三", id("19800115", "013")),
            party("respondent", "李四", id("19750301", "024")),
        ],
        sessions: vec![SessionInput {
            held_on: SystemClock.now_cst().date_naive().to_string(),
            notes: "双方同意调解。".into(),
        }],
        conclusion: ConclusionInput {
            outcome: "agreed".into(),
            dispute_facts: "李四拖欠张三工资，双方对数额无争议。".into(),
            agreement_text: "李四于月底前支付工资。".into(),
            judicial_confirmation: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A store with one account per role (username = role code) and one registered visit.
pub(crate) fn fixture(dir: &Path) -> (AppState, String) {
    fixture_at(dir, "140521")
}

/// [`fixture`] for the hall of `hall_code`.
pub(crate) fn fixture_at(dir: &Path, hall_code: &str) -> (AppState, String) {
    let data = dir.join("data");
    let (mut store, _recovery) = Store::create_with_admin(
        &data,
        hall_code,
        &NewStaff {
            username: "admin".into(),
            display_name: "管理员".into(),
            roles: vec![Role::Admin],
            password: PW.into(),
        },
    )
    .unwrap();
    for role in [Role::Clerk, Role::Lawyer, Role::Mediator, Role::Supervisor] {
        store
            .add_staff(&NewStaff {
                username: role.code().into(),
                display_name: role.label_zh().into(),
                roles: vec![role],
                password: PW.into(),
            })
            .unwrap();
    }
    let valid = xinfang_core::visit::validate_visit(
        &visit("张三", &id("19800115", "013")),
        xinfang_core::reference::ReferenceData::bundled(),
        SystemClock.now_cst(),
    )
    .unwrap();
    let visit_id = store.register_visit(&valid, "seed").unwrap().visit_id;
    drop(store);
    (AppState::new(data, 15), visit_id)
}

type Case = fn(&AppState, &str, Role) -> CmdResult<()>;

fn ok<T>(r: CmdResult<T>) -> CmdResult<()> {
    r.map(|_| ())
}

/// One call of each command with plausible arguments.
fn cases() -> Vec<(&'static str, Case)> {
    vec![
        ("app_info", |s, _, _| {
            s.app_info();
            Ok(())
        }),
        ("setup", |s, _, _| ok(s.setup(SetupInput::default()))),
        ("login", |s, _, r| ok(s.login(r.code(), PW))),
        ("logout", |s, _, r| {
            s.logout();
            ok(s.login(r.code(), PW))
        }),
        ("session", |s, _, _| ok(s.session())),
        // Refused by its own checks (no key given), never by a role.
        ("recover_password", |s, _, _| {
            match s.recover_password(Default::default()) {
                Err(e) if e.kind == crate::error::ErrorKind::Validation => Ok(()),
                other => other,
            }
        }),
        // A wrong current password: past the access check, refused as a field error.
        ("change_password", |s, _, _| {
            match s.change_password(crate::account::PasswordChange {
                old_password: "not-the-password".into(),
                password: "another-pass-2026".into(),
                password_repeat: "another-pass-2026".into(),
            }) {
                Err(e) if e.kind == crate::error::ErrorKind::Validation => Ok(()),
                other => other,
            }
        }),
        ("reference", |s, _, _| ok(s.reference())),
        ("sync_status", |s, _, _| ok(s.sync_status())),
        // Refused before any network when the role may not; allowed: a short LAN browse.
        ("discover_servers", |s, _, _| ok(s.discover_servers())),
        // An unreachable server: past the access check, refused with its reason.
        ("enrol_desk", |s, _, _| {
            match s.enrol_desk("http://127.0.0.1:9", "CODE", "") {
                Err(e) if e.kind == crate::error::ErrorKind::Validation => Ok(()),
                other => ok(other),
            }
        }),
        ("connection_info", |s, _, _| ok(s.connection_info())),
        // A file that is no certificate: past the access check, refused at its field.
        ("set_trusted_ca", |s, _, _| {
            match s.set_trusted_ca(Some("not a certificate".into())) {
                Err(e) if e.kind == crate::error::ErrorKind::Validation => Ok(()),
                other => ok(other),
            }
        }),
        // Nothing listens on port 9: the answer says so.
        ("test_connection", |s, _, _| {
            ok(s.test_connection(Some("http://127.0.0.1:9".into())))
        }),
        // Not enrolled: past the access check, refused at its field.
        ("leave_server", |s, _, _| match s.leave_server(false) {
            Err(e) if e.kind == crate::error::ErrorKind::Validation => Ok(()),
            other => other,
        }),
        ("adopt_this_copy", |s, _, _| s.adopt_this_copy()),
        ("draft_save", |s, _, _| {
            ok(s.draft_save("register", r#"{"form":{}}"#))
        }),
        ("draft_load", |s, _, _| ok(s.draft_load("register"))),
        ("draft_discard", |s, _, _| ok(s.draft_discard("register"))),
        ("check_id", |s, _, _| {
            ok(s.check_id("", &id("19800115", "013"), "", ""))
        }),
        ("history", |s, _, _| ok(s.history("张三"))),
        ("register_visit", |s, _, _| {
            ok(s.register_visit(visit("李四", &id("19750301", "024"))))
        }),
        ("person_matters", |s, _, _| {
            ok(s.person_matters(&id("19800115", "013")))
        }),
        ("register_repeat_visit", |s, _, _| {
            ok(s.register_repeat_visit(visit("李四", &id("19750301", "024")), "no-such-id"))
        }),
        ("other_hall_matters", |s, _, _| {
            ok(s.other_hall_matters(&id("19800115", "013")))
        }),
        ("today", |s, _, _| ok(s.today())),
        ("visit_detail", |s, v, _| ok(s.visit_detail(v))),
        ("hand_off", |s, v, _| ok(s.hand_off(v, Desk::Lawyer, ""))),
        ("close_visit", |s, v, _| ok(s.close_visit(v))),
        ("lawyer_queue", |s, _, _| ok(s.queue(Desk::Lawyer))),
        ("lawyer_take_next", |s, _, _| ok(s.take_next(Desk::Lawyer))),
        ("log_consultation", |s, v, _| {
            ok(s.log_consultation(consultation(v)))
        }),
        ("hand_on_to_mediator", |s, v, _| {
            ok(s.hand_on_to_mediator(v, ""))
        }),
        ("consultation", |s, _, _| ok(s.consultation("no-such-id"))),
        ("mediator_queue", |s, _, _| ok(s.queue(Desk::Mediator))),
        ("mediator_take_next", |s, _, _| {
            ok(s.take_next(Desk::Mediator))
        }),
        // Not enrolled: the call is not made, but the role check comes first.
        ("call_registration", |s, _, _| {
            ok(s.call_number("17", Room::Registration))
        }),
        ("print_queue_slip", |s, v, _| {
            ok(s.queue_slip_pdf(v, "receipt"))
        }),
        ("lawyer_call", |s, _, _| {
            ok(s.call_number("17", Room::Lawyer))
        }),
        ("mediator_call", |s, _, _| {
            ok(s.call_number("17", Room::Mediator))
        }),
        ("log_mediation", |s, v, _| ok(s.log_mediation(mediation(v)))),
        ("mediation", |s, _, _| ok(s.mediation("no-such-id"))),
        ("pending_mediations", |s, _, _| ok(s.pending_mediations())),
        ("hall_settings", |s, _, _| ok(s.hall_settings())),
        ("set_committee_name", |s, _, _| {
            ok(s.set_committee_name("沁水县信访事项人民调解委员会"))
        }),
        ("my_settings", |s, _, _| ok(s.my_settings())),
        ("returning_visitor", |s, _, _| {
            ok(s.returning_visitor("no-such-id"))
        }),
        (
            "set_display_mode",
            |s, _, _| ok(s.set_display_mode("large")),
        ),
        ("set_id_reader", |s, _, _| {
            ok(s.set_id_reader(&ReaderSettings {
                kind: "wedge".into(),
                ..Default::default()
            }))
        }),
        ("test_id_reader", |s, _, _| {
            ok(s.test_id_reader(&ReaderSettings::default()))
        }),
        ("read_id_card", |s, _, _| ok(s.read_id_card())),
        ("continue_mediation", |s, _, _| {
            ok(s.continue_mediation(ContinueMediationInput {
                mediation_id: "no-such-id".into(),
                ..Default::default()
            }))
        }),
        ("record_confirmation_result", |s, _, _| {
            ok(s.record_confirmation_result("no-such-id", "confirmed"))
        }),
        ("add_mediation_follow_up", |s, _, _| {
            ok(s.add_mediation_follow_up("no-such-id", Default::default()))
        }),
        ("add_mediation_investigation", |s, _, _| {
            ok(s.add_mediation_investigation("no-such-id", Default::default()))
        }),
        ("mediation_agreement", |s, _, _| {
            ok(s.mediation_agreement("no-such-id"))
        }),
        ("visitor_profile", |s, _, _| {
            ok(s.visitor_profile("no-such-id"))
        }),
        // Not a JPEG: refused at its field once the role may, nothing kept.
        ("save_visit_photo", |s, v, _| {
            ok(s.save_visit_photo(v, "no-such-id", "R0lGODlh"))
        }),
        ("visitor_photo", |s, _, _| ok(s.visitor_photo("no-such-id"))),
        ("list_staff", |s, _, _| ok(s.list_staff())),
        ("add_staff", |s, _, _| {
            ok(s.add_staff(NewStaffInput {
                username: String::new(),
                ..Default::default()
            }))
        }),
        ("set_staff_active", |s, _, _| {
            ok(s.set_staff_active("no-such-id", true))
        }),
        ("reset_password", |s, _, _| {
            ok(s.reset_password("no-such-id", "x"))
        }),
        ("set_staff_roles", |s, _, _| {
            ok(s.set_staff_roles("no-such-id", &[Role::Clerk]))
        }),
        // Matters, due lists, backlog cases and notices (crate::matters).
        ("matter", |s, _, _| ok(s.matter("no-such-id"))),
        ("matter_of_visit", |s, v, _| ok(s.matter_of_visit(v))),
        ("record_matter_event", |s, _, _| {
            ok(s.record_matter_event(
                "no-such-id",
                serde_json::json!({"kind": "accept", "at": "2026-11-26"}),
            ))
        }),
        ("classify_matter", |s, _, _| {
            ok(s.classify_matter("no-such-id", Default::default()))
        }),
        ("propose_route", |s, _, _| {
            ok(s.propose_route("no-such-id", Default::default()))
        }),
        ("confirm_route", |s, _, _| {
            ok(s.confirm_route("no-such-id", None))
        }),
        ("due_list", |s, _, _| ok(s.due_list())),
        ("backlog_dashboard", |s, _, _| ok(s.backlog_dashboard())),
        ("backlog_cases", |s, _, _| {
            ok(s.backlog_cases(xinfang_store::BacklogFilter::All, 0))
        }),
        ("flag_backlog", |s, _, _| {
            ok(s.flag_backlog("no-such-id", Default::default()))
        }),
        ("set_backlog_leader", |s, _, _| {
            ok(s.set_backlog_leader("no-such-id", "李副县长"))
        }),
        ("note_backlog", |s, _, _| {
            ok(s.note_backlog("no-such-id", Default::default()))
        }),
        ("clear_backlog", |s, _, _| {
            ok(s.clear_backlog("no-such-id", Default::default()))
        }),
        ("print_matter_notice", |s, _, _| {
            ok(s.print_matter_notice("no-such-id", "acceptance", None))
        }),
        ("print_mediation_document", |s, _, _| {
            ok(s.print_mediation_document("no-such-id", "mediation_record"))
        }),
        ("open_notice", |s, _, _| ok(s.open_notice("no-such.pdf"))),
        ("print_visit_notice", |s, _, _| {
            ok(s.print_visit_notice("no-such-id", "skip_level_guidance", None))
        }),
        // crate::stats
        ("statistics", |s, _, _| {
            ok(s.statistics("2025-03-01", "2025-03-31", None))
        }),
        ("rate_matters", |s, _, _| {
            ok(s.rate_matters("2025-03-01", "2025-03-31", None, "timely_acceptance", None))
        }),
        ("completeness", |s, _, _| {
            ok(s.completeness("2025-03-01", "2025-03-31", None))
        }),
        ("suggest_export_path", |s, _, _| {
            ok(s.suggest_export_path("stats", "2025-03-01", "2025-03-31", None, ""))
        }),
        // A relative destination: refused at its field (after the role check), nothing written.
        ("export_ledger", |s, _, _| {
            ok(s.export_ledger(
                "stats",
                "2025-03-01",
                "2025-03-31",
                None,
                false,
                "统计.xlsx",
                false,
            ))
        }),
        // A malformed month: refused at its field (after the role check), nothing rendered.
        ("monthly_report", |s, _, _| {
            ok(s.monthly_report("2025/03", None, "/tmp/月报.pdf", false))
        }),
        ("open_export", |s, _, _| {
            ok(s.open_export("/no-such-dir/no-such-file.xlsx"))
        }),
        ("evaluate_matter", |s, _, _| {
            ok(s.evaluate_matter(
                "no-such-id",
                xinfang_core::stats::EvaluationInput {
                    result: "满意".into(),
                    ..Default::default()
                },
            ))
        }),
        ("publicity", |s, _, _| {
            ok(s.publicity("2025-01-01", "2025-12-31", None))
        }),
        ("add_publicity", |s, _, _| {
            ok(s.add_publicity(xinfang_core::stats::PublicityInput::default()))
        }),
        ("reveal_visitor_contact", |s, _, _| {
            ok(s.reveal_visitor_contact("no-such-id", crate::api::ContactField::IdNumber))
        }),
        ("reveal_party_contact", |s, _, _| {
            ok(s.reveal_party_contact("no-such-id", 0, crate::api::ContactField::IdNumber))
        }),
        ("audit_entries", |s, _, _| {
            ok(s.audit_entries(crate::api::AuditQuery::default()))
        }),
        // crate::conflicts
        ("sync_conflicts", |s, _, _| ok(s.sync_conflicts())),
        ("resolve_sync_conflict", |s, _, _| {
            ok(s.resolve_sync_conflict("no-such-id", Some(1), None))
        }),
        // crate::backup (a relative path: refused at the field once the role may)
        ("backup_reminder", |s, _, _| ok(s.backup_reminder())),
        ("backup_store", |s, _, _| ok(s.backup_store("备份.db"))),
        (
            "restore_store",
            |s, _, _| ok(s.restore_store("备份.db", PW)),
        ),
        // crate::update (a desk not enrolled: refused past the role check)
        ("check_update", |s, _, _| ok(s.check_update())),
        ("install_update", |s, _, _| ok(s.install_update("/"))),
        // crate::people
        ("people_duplicates", |s, _, _| ok(s.people_duplicates())),
        ("merge_people", |s, _, _| {
            ok(s.merge_people("no-such-id", "no-other-id", "同一人"))
        }),
        ("unmerge_people", |s, _, _| {
            ok(s.unmerge_people("no-such-merge", "核实为两人"))
        }),
        ("correct_document", |s, _, _| {
            ok(s.correct_document(
                "no-such-id",
                "resident_id",
                &id("19800115", "021"),
                "录入错误",
            ))
        }),
        ("split_person", |s, _, _| {
            ok(s.split_person(crate::people::SplitInput {
                visitor_id: "no-such-id".into(),
                visit_ids: vec!["no-such-visit".into()],
                into: Some("no-other-id".into()),
                reason: "两人共用一号".into(),
                ..Default::default()
            }))
        }),
    ]
}

#[test]
fn every_command_has_an_access_rule_and_a_case() {
    let cases = cases();
    for c in COMMANDS {
        assert!(
            access(c).is_some(),
            "command {c} has no entry in api::access"
        );
        assert!(
            cases.iter().any(|(n, _)| n == c),
            "command {c} has no case in command_tests::cases"
        );
    }
    for (n, _) in &cases {
        assert!(COMMANDS.contains(n), "case {n} is not a command");
    }
    // The capability grants exactly the commands.
    let cap: serde_json::Value =
        serde_json::from_str(include_str!("../../../src-tauri/capabilities/default.json")).unwrap();
    let granted: Vec<&str> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let mut wanted: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    // Beyond the commands, only listening to the app's own events (`hall-changed`, issue 17):
    // no other core plugin.
    wanted.extend(["core:event:allow-listen", "core:event:allow-unlisten"].map(String::from));
    assert_eq!(
        granted, wanted,
        "capabilities/default.json must grant exactly COMMANDS and listening to events"
    );
}

#[test]
fn every_command_as_each_role() {
    let dir = tempfile::tempdir().unwrap();
    let (state, visit_id) = fixture(dir.path());
    for role in Role::ALL {
        state.login(role.code(), PW).unwrap();
        for (name, call) in cases() {
            let rule = access(name).unwrap();
            let result = call(&state, &visit_id, role);
            let refused = matches!(&result, Err(e) if e.kind == ErrorKind::Forbidden);
            assert_eq!(
                refused,
                !rule.allows(&[role]),
                "{name} as {}: {result:?}",
                role.code()
            );
            if let Err(e) = &result {
                assert_ne!(
                    e.kind,
                    ErrorKind::Unauthenticated,
                    "{name} as {}",
                    role.code()
                );
                assert_ne!(
                    e.kind,
                    ErrorKind::Internal,
                    "{name} as {}: {e:?}",
                    role.code()
                );
                assert!(!e.message.is_empty());
                if refused {
                    assert!(e.message.starts_with("无权"), "{}", e.message);
                }
            }
        }
        state.logout();
    }
}

#[test]
fn nothing_but_public_commands_without_login() {
    let dir = tempfile::tempdir().unwrap();
    let (state, visit_id) = fixture(dir.path());
    for (name, call) in cases() {
        if matches!(access(name), Some(Access::Public)) {
            continue;
        }
        let e = call(&state, &visit_id, Role::Clerk).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthenticated, "{name}");
        assert_eq!(e.message, "请先登录。");
    }
}

/// An app state on the fixture's data dir with a clock the test moves.
fn with_clock(state: &AppState, idle_minutes: u32) -> (AppState, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at("2026-11-26T09:00:00+08:00"));
    let state = AppState::with_clock(state.data_dir().to_path_buf(), idle_minutes, clock.clone());
    (state, clock)
}

#[test]
fn idle_session_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let (state, clock) = with_clock(&state, 15);
    state.login("clerk", PW).unwrap();
    clock.advance(Duration::minutes(14));
    assert!(state.today().is_ok(), "14 idle minutes of 15");
    // Each command is activity: the 15 minutes count from the last one.
    clock.advance(Duration::minutes(14));
    assert!(state.today().is_ok());
    clock.advance(Duration::minutes(15) + Duration::seconds(1));
    let e = state.today().unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Unauthenticated, "session_expired")
    );
    assert!(e.message.contains("15 分钟"), "{}", e.message);
    assert!(state.session().unwrap().is_none());
    assert!(state.sync_store().is_none(), "no store for the sync task");
}

/// The session's store, and the sync task's second connection, write the time of the app's
/// clock: a test sets it, never waits for it.
#[test]
fn the_sessions_store_keeps_the_apps_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let (state, clock) = with_clock(&state, 15);
    state.login("clerk", PW).unwrap();
    let saved = state.draft_save("register", r#"{"form":{}}"#).unwrap();
    assert_eq!(saved, "2026-11-26T09:00:00.000+08:00");
    clock.advance(Duration::minutes(3));
    let saved = state.draft_save("register", r#"{"form":{}}"#).unwrap();
    assert_eq!(saved, "2026-11-26T09:03:00.000+08:00");
    let sync = state.sync_store().unwrap().unwrap();
    assert_eq!(sync.clock().now(), clock.now());
}

/// The status bar polls `sync_status` every few seconds while the window is open: the polls
/// must not keep an unattended session unlocked (issue 15, item 11).
#[test]
fn the_sync_status_poll_does_not_keep_the_session_alive() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let (state, clock) = with_clock(&state, 15);
    state.login("clerk", PW).unwrap();
    for _ in 0..3 {
        clock.advance(Duration::minutes(4));
        assert!(state.sync_status().is_ok());
    }
    // 16 minutes after the last command, 4 after the last poll.
    clock.advance(Duration::minutes(4));
    assert_eq!(state.sync_status().unwrap_err().code, "session_expired");
    let e = state.today().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthenticated);
}

#[test]
fn wrong_password_is_reported_at_the_password_field() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let e = state.login("clerk", "wrong-password").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert_eq!(e.field.as_deref(), Some("password"));
    assert_eq!(e.message, "用户名或密码不正确，请重新输入。");
}

/// 越级访: the 晋城市 hall registers a visit about 沁水县 and says so, naming the 属地; the county's
/// own hall registers the same visit without the remark.
#[test]
fn a_county_matter_at_the_city_hall_is_flagged_as_skip_level() {
    let dir = tempfile::tempdir().unwrap();
    let (city, _) = fixture_at(dir.path(), "140500");
    city.login("clerk", PW).unwrap();
    let mut input = visit("王五", &id("19700505", "031"));
    input.place_code = "140521".into();
    let r = city.register_visit(input.clone()).unwrap();
    let w = r
        .warnings
        .iter()
        .find(|w| w.code == "skip_level")
        .expect("越级访 flagged");
    assert_eq!(w.field, "place_code");
    assert!(
        w.message.contains("沁水县") && w.message.contains("逐级"),
        "{}",
        w.message
    );

    // Stored with the visit, shown in its row, counted in the period's statistics.
    assert!(r.registered.skip_level.flagged);
    assert_eq!(r.registered.skip_level.authority, "沁水县信访局");
    let v = r.registered.visit_id.clone();
    assert!(city.visit_detail(&v).unwrap().visit.skip_level);
    assert!(
        city.today()
            .unwrap()
            .iter()
            .any(|row| row.visit_id == v && row.skip_level)
    );

    // The 越级走访告知书, printed from the visit by the clerk; kept in the store under the
    // visit's matter.
    let printed = city
        .print_visit_notice(&v, "skip_level_guidance", None)
        .unwrap();
    assert_eq!(printed.title, "越级走访告知书");
    assert!(std::fs::read(&printed.path).unwrap().starts_with(b"%PDF"));
    // Not a matter's notice: the matter page neither offers nor prints it.
    let matter = r.registered.matter_id.clone();
    let page = city.matter(&matter).unwrap();
    assert!(
        page.notices
            .iter()
            .all(|n| n.kind != NoticeKind::SkipLevelGuidance)
    );
    let e = city
        .print_matter_notice(&matter, "skip_level_guidance", None)
        .unwrap_err();
    assert_eq!(e.code, "notice_kind_unknown");

    // A role without the print permission is refused, in Rust, before anything is made.
    city.login("lawyer", PW).unwrap();
    let e = city
        .print_visit_notice(&v, "skip_level_guidance", None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);

    city.login("supervisor", PW).unwrap();
    let today = city.local_date().to_string();
    let stats = city.statistics(&today, &today, None).unwrap().stats;
    assert_eq!(stats.visits.skip_level_visits, 1);

    let dir2 = tempfile::tempdir().unwrap();
    let (county, _) = fixture(dir2.path());
    county.login("clerk", PW).unwrap();
    let r = county.register_visit(input).unwrap();
    assert!(r.warnings.iter().all(|w| w.code != "skip_level"));
    assert!(!r.registered.skip_level.flagged);
    // A visit at the right level has no 越级走访告知书.
    let e = county
        .print_visit_notice(&r.registered.visit_id, "skip_level_guidance", None)
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Validation, "not_skip_level")
    );
    county.login("supervisor", PW).unwrap();
    let today = county.local_date().to_string();
    let stats = county.statistics(&today, &today, None).unwrap().stats;
    assert_eq!(stats.visits.skip_level_visits, 0);
}

#[test]
fn a_rejected_registration_names_each_field() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    let mut bad = id("19800115", "013");
    let last = bad.pop().unwrap();
    bad.push(if last == '1' { '2' } else { '1' });
    let mut input = visit("王五", &bad);
    input.appeal.clear();
    let e = state.register_visit(input).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    let fields: Vec<(&str, &str)> = e
        .errors
        .iter()
        .map(|f| (f.field.as_str(), f.code.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("visitors[0].id_number", "id_check_digit"),
            ("appeal", "appeal_empty")
        ]
    );
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["kind"], "validation");
    assert_eq!(json["field"], "visitors[0].id_number");
}

#[test]
fn clerk_lawyer_mediator_flow() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    let r = state
        .register_visit(visit("张三", &id("19800115", "013")))
        .unwrap();
    assert_eq!(r.registered.queue_no, 2);
    assert!(
        !r.registered.repeat_of.is_empty(),
        "second visit of 张三 is a repeat"
    );
    let v = r.registered.visit_id;
    state.hand_off(&v, Desk::Lawyer, "咨询欠薪").unwrap();
    let e = state.hand_off(&v, Desk::Lawyer, "").unwrap_err();
    assert_eq!(e.code, "already_queued");
    let today = state.today().unwrap();
    assert_eq!(today[1].status_label, "律师咨询中");
    assert!(today[1].visitors[0].id_number_masked.contains("****"));

    state.login("lawyer", PW).unwrap();
    let item = state.take_next(Desk::Lawyer).unwrap().unwrap();
    assert_eq!(item.visit.visit_id, v);
    let c = state.log_consultation(consultation(&v)).unwrap();
    assert_eq!(c.legal_route_name, "劳动人事争议仲裁");
    state.hand_on_to_mediator(&v, "适合调解").unwrap();
    assert!(state.queue(Desk::Lawyer).unwrap().is_empty());

    state.login("mediator", PW).unwrap();
    let item = state.take_next(Desk::Mediator).unwrap().unwrap();
    assert_eq!(item.handoff.note.as_deref(), Some("适合调解"));
    let m = state.log_mediation(mediation(&v)).unwrap();
    assert_eq!(m.outcome_label, "达成协议");
    assert!(state.take_next(Desk::Mediator).unwrap().is_none());

    state.login("supervisor", PW).unwrap();
    let today = state.today().unwrap();
    assert_eq!(today[1].status_label, "已处理");
    let visitor = &today[1].visitors[0].visitor_id;
    let p = state.visitor_profile(visitor).unwrap();
    assert_eq!(
        (p.visits.len(), p.consultations.len(), p.mediations.len()),
        (2, 1, 1)
    );
    state.logout();
    let (store, _) = Store::login(state.data_dir(), "supervisor", PW).unwrap();
    let report = store.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

/// Whether the background sync was woken (a permit is waiting), taking the permit.
fn sync_woken(state: &AppState) -> bool {
    use std::future::Future;
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let notified = std::pin::pin!(state.sync_wake.notified());
    notified.poll(&mut cx).is_ready()
}

/// Issue 17: what the hall's other desks wait for (a hand-off, a taken visitor, a
/// consultation) is pushed at once; a look at a list is not.
#[test]
fn a_hall_change_wakes_the_sync_and_a_read_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    let v = state
        .register_visit(visit("张三", &id("19800115", "013")))
        .unwrap()
        .registered
        .visit_id;
    assert!(sync_woken(&state));
    assert!(!sync_woken(&state), "one permit, taken");
    state.today().unwrap();
    assert!(!sync_woken(&state), "a read pushes nothing");
    state.hand_off(&v, Desk::Lawyer, "").unwrap();
    assert!(sync_woken(&state), "a hand-off is pushed at once");
    assert!(state.hand_off(&v, Desk::Lawyer, "").is_err());
    assert!(!sync_woken(&state), "a refused command wrote nothing");
    state.login("lawyer", PW).unwrap();
    assert!(sync_woken(&state), "a login syncs");
    state.queue(Desk::Lawyer).unwrap();
    assert!(!sync_woken(&state));
    state.take_next(Desk::Lawyer).unwrap().unwrap();
    assert!(sync_woken(&state), "a taken visitor is pushed at once");
    state.log_consultation(consultation(&v)).unwrap();
    assert!(sync_woken(&state), "a consultation is pushed at once");
}

#[test]
fn staff_admin_keeps_one_admin() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let me = state.login("admin", PW).unwrap().staff;
    let e = state.set_staff_active(&me.id, false).unwrap_err();
    assert_eq!(e.code, "last_admin");
    let e = state.set_staff_roles(&me.id, &[Role::Clerk]).unwrap_err();
    assert_eq!(e.code, "last_admin");
    let clerk = state
        .list_staff()
        .unwrap()
        .into_iter()
        .find(|s| s.username == "clerk")
        .unwrap();
    let u = state.set_staff_active(&clerk.id, false).unwrap();
    assert!(!u.active);
    let e = state.login("clerk", PW).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("username"));
    state.login("admin", PW).unwrap();
    state.set_staff_active(&clerk.id, true).unwrap();
    assert_eq!(
        state
            .reset_password(&clerk.id, "short")
            .unwrap_err()
            .field
            .as_deref(),
        Some("password")
    );
    state.reset_password(&clerk.id, "new-pass-2026").unwrap();
    let u = state
        .set_staff_roles(&clerk.id, &[Role::Clerk, Role::Supervisor])
        .unwrap();
    assert_eq!(u.roles, [Role::Clerk, Role::Supervisor]);
    assert!(state.login("clerk", "new-pass-2026").is_ok());
}

#[test]
fn first_run_setup_reports_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(dir.path().join("new"), 15);
    assert!(!state.app_info().initialised);
    let e = state
        .setup(SetupInput {
            hall_code: "1405".into(),
            admin_username: "".into(),
            admin_name: "管理员".into(),
            password: "short".into(),
            password_repeat: "other".into(),
        })
        .unwrap_err();
    let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        ["hall_code", "password_repeat", "username", "password"]
    );
    assert!(!state.app_info().initialised);
    state
        .setup(SetupInput {
            hall_code: "140521".into(),
            admin_username: "admin".into(),
            admin_name: "管理员".into(),
            password: PW.into(),
            password_repeat: PW.into(),
        })
        .unwrap();
    assert!(state.app_info().initialised);
    assert_eq!(
        state.login("admin", PW).unwrap().hall_name,
        "山西省晋城市沁水县"
    );
}

/// A desk after its first-run setup in `data`: the hall 140521 and its admin (password `PW`).
fn first_run(data: &std::path::Path) -> (AppState, crate::api::AppInfo) {
    let state = AppState::new(data.to_path_buf(), 15);
    let info = state
        .setup(SetupInput {
            hall_code: "140521".into(),
            admin_username: "admin".into(),
            admin_name: "管理员".into(),
            password: PW.into(),
            password_repeat: PW.into(),
        })
        .unwrap();
    (state, info)
}

#[test]
fn setup_shows_the_recovery_key_once_and_logout_locks_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (state, info) = first_run(&data);
    assert_eq!(
        info.recovery_key.split('-').count(),
        8,
        "{}",
        info.recovery_key
    );
    assert!(state.app_info().recovery_key.is_empty(), "shown once");
    // The database is encrypted: no key, no reading.
    assert!(matches!(
        xinfang_store::open_raw(&data.join(xinfang_store::DB_FILE), None),
        Err(xinfang_store::StoreError::WrongKey)
    ));
    // No login, no second connection for the sync task; logout takes it away again.
    assert!(state.sync_store().is_none());
    let e = state.login("admin", "wrong-password").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    state.login("admin", PW).unwrap();
    assert!(state.sync_store().unwrap().is_ok());
    state.logout();
    assert!(state.sync_store().is_none());
    // The recovery key opens the store.
    let store = Store::unlock(
        &data,
        &xinfang_store::Credentials::Recovery(info.recovery_key.clone()),
    )
    .unwrap();
    assert_eq!(store.hall_code(), "140521");
}

/// A 检举控告 visit registered by `clerk`: its matter and visit are refused to the lawyer and a
/// second clerk; the clerk and the supervisor see them, each view audited first; lists mask it.
#[test]
fn confidential_reports_and_the_audit_view() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("admin", PW).unwrap();
    state
        .add_staff(NewStaffInput {
            username: "clerk2".into(),
            display_name: "赵接待".into(),
            roles: vec![Role::Clerk],
            password: PW.into(),
        })
        .unwrap();
    let clerk = state.login("clerk", PW).unwrap().staff;
    let mut input = visit("钱检举", &id("19700101", "035"));
    input.appeal = "举报某局工作人员收受好处费。".into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let r = state.register_visit(input).unwrap().registered;
    let v = r.visit_id.clone();
    let matter = state.matter_of_visit(&v).unwrap();
    // The registering clerk sees it; the view is audited.
    let page = state.matter(&matter).unwrap();
    assert!(page.matter.confidential);
    assert_eq!(page.matter.appeal, "举报某局工作人员收受好处费。");
    // Lists do not carry the appeal text.
    let today = state.today().unwrap();
    let row = today.iter().find(|x| x.visit_id == v).unwrap();
    assert!(row.confidential);
    assert_eq!(row.appeal, xinfang_core::staff::CONFIDENTIAL_MASK);
    state.hand_off(&v, Desk::Lawyer, "").unwrap();

    // The lawyer and a second clerk are refused, with the reason; nothing audited for them.
    for who in ["lawyer", "clerk2"] {
        state.login(who, PW).unwrap();
        let e = state.matter(&matter).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden, "{who}");
        assert!(e.message.contains("检举控告件"), "{}", e.message);
        let e = state.matter_of_visit(&v).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        let e = state.visit_detail(&v).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        let profile = state.visitor_profile(&r.visitor_ids[0]).unwrap();
        assert_eq!(
            profile.visits[0].appeal,
            xinfang_core::staff::CONFIDENTIAL_MASK
        );
    }
    state.login("lawyer", PW).unwrap();
    let queue = state.queue(Desk::Lawyer).unwrap();
    assert_eq!(
        queue[0].visit.appeal,
        xinfang_core::staff::CONFIDENTIAL_MASK
    );
    let e = state
        .propose_route(&matter, Default::default())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    state.login("clerk2", PW).unwrap();
    let e = state
        .record_matter_event(
            &matter,
            serde_json::json!({"kind": "accept", "at": "2026-11-26"}),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    let e = state
        .print_matter_notice(&matter, "acceptance", None)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);

    // The supervisor sees the matter and the visit; each view audited with its record.
    let sup = state.login("supervisor", PW).unwrap().staff;
    assert!(state.matter(&matter).unwrap().matter.confidential);
    let detail = state.visit_detail(&v).unwrap();
    assert_eq!(detail.visit.appeal, "举报某局工作人员收受好处费。");

    let all = state
        .audit_entries(crate::api::AuditQuery::default())
        .unwrap();
    let views: Vec<(&str, &str, &str)> = all
        .iter()
        .filter(|e| e.action == "view_confidential")
        .map(|e| (e.staff_id.as_str(), e.entity.as_str(), e.entity_id.as_str()))
        .collect();
    assert_eq!(
        views,
        [
            (sup.id.as_str(), "visit", v.as_str()),
            (sup.id.as_str(), "matter", matter.as_str()),
            (clerk.id.as_str(), "matter", matter.as_str()),
        ],
        "newest first; nothing for the refused views"
    );
    assert_eq!(all[0].action_label, "查看检举控告类事项");
    assert_eq!(all[0].entity_label, "来访记录");
    assert!(all[0].staff_name.contains("supervisor"));

    // Filters: person, record, dates.
    let q = |staff: &str, record: &str, from: &str, to: &str| crate::api::AuditQuery {
        staff_id: staff.into(),
        record_id: record.into(),
        from: from.into(),
        to: to.into(),
    };
    let by_clerk = state.audit_entries(q(&clerk.id, "", "", "")).unwrap();
    assert_eq!(by_clerk.len(), 1);
    assert_eq!(by_clerk[0].entity_id, matter);
    let of_matter = state.audit_entries(q("", &matter, "", "")).unwrap();
    assert_eq!(of_matter.len(), 2);
    let today = SystemClock.now_cst().date_naive().to_string();
    assert_eq!(
        state
            .audit_entries(q("", "", &today, &today))
            .unwrap()
            .len(),
        all.len()
    );
    assert!(
        state
            .audit_entries(q("", "", "2000-01-01", "2000-12-31"))
            .unwrap()
            .is_empty()
    );
    let e = state
        .audit_entries(q("", "", "2026/01/01", ""))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("from"));
    let e = state
        .audit_entries(q("", "", "2026-02-01", "2026-01-01"))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("to"));

    // The CLI-side store agrees: the chain is intact.
    state.logout();
    let (store, _) = Store::login(state.data_dir(), "supervisor", PW).unwrap();
    assert!(store.verify_audit_chain().unwrap().is_none());
}

/// Showing a full ID number or phone: clerks and supervisors, audited before it is returned.
#[test]
fn reveal_visitor_contact_is_audited() {
    use crate::api::{AuditQuery, ContactField};
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let number = id("19800115", "013");
    state.login("clerk", PW).unwrap();
    let visitor = state.today().unwrap()[0].visitors[0].visitor_id.clone();
    state.login("lawyer", PW).unwrap();
    let e = state
        .reveal_visitor_contact(&visitor, ContactField::IdNumber)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    let clerk = state.login("clerk", PW).unwrap().staff;
    let profile = state.visitor_profile(&visitor).unwrap();
    assert!(profile.id_number_masked.contains('*'));
    assert_eq!(
        state
            .reveal_visitor_contact(&visitor, ContactField::IdNumber)
            .unwrap(),
        number
    );
    // The fixture's visitor has no phone: said so, nothing audited.
    let e = state
        .reveal_visitor_contact(&visitor, ContactField::Phone)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message.contains("电话"));
    state.login("supervisor", PW).unwrap();
    let entries = state
        .audit_entries(AuditQuery {
            record_id: visitor.clone(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].action.as_str(), entries[0].staff_id.as_str()),
        ("view_full_id", clerk.id.as_str())
    );
    assert_eq!(entries[0].action_label, "查看完整证件号码");
    assert_eq!(entries[0].entity_label, "来访人");
}

/// A second clerk who takes another clerk's matter for a 检举控告 is refused before anything is
/// saved (the core decides); the supervisor may, and from then on the history masks its visits.
#[test]
fn reclassifying_another_clerks_matter_as_a_report() {
    use xinfang_core::classify::ClassifyInput;
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("admin", PW).unwrap();
    state
        .add_staff(NewStaffInput {
            username: "clerk2".into(),
            display_name: "赵接待".into(),
            roles: vec![Role::Clerk],
            password: PW.into(),
        })
        .unwrap();
    state.login("clerk", PW).unwrap();
    let mut input = visit("孙来访", &id("19700101", "035"));
    input.appeal = "单位克扣工资并威胁举报人。".into();
    let v = state.register_visit(input).unwrap().registered.visit_id;
    let matter = state.matter_of_visit(&v).unwrap();
    let report = || ClassifyInput {
        appeal_kind: "检举控告类".into(),
        ..Default::default()
    };

    state.login("clerk2", PW).unwrap();
    let e = state.classify_matter(&matter, report()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert_eq!(e.field.as_deref(), Some("appeal_kind"));
    assert_eq!(e.code, "report_registrar_only");
    assert!(e.message.contains("登记人"), "{}", e.message);
    // Nothing was saved: the second clerk still sees the matter as it was.
    let page = state.matter(&matter).unwrap();
    assert!(!page.matter.confidential);
    let history = state.history("孙来访").unwrap();
    assert_eq!(history[0].visits[0].appeal, "单位克扣工资并威胁举报人。");

    state.login("supervisor", PW).unwrap();
    assert!(
        state
            .classify_matter(&matter, report())
            .unwrap()
            .matter
            .confidential
    );
    // The visit was registered as a claim; its matter is a report now: masked for everyone.
    for who in ["clerk2", "clerk", "supervisor"] {
        state.login(who, PW).unwrap();
        let history = state.history("孙来访").unwrap();
        let visit = &history[0].visits[0];
        assert!(visit.confidential, "{who}");
        assert_eq!(
            visit.appeal,
            xinfang_core::staff::CONFIDENTIAL_MASK,
            "{who}"
        );
    }
    state.login("clerk2", PW).unwrap();
    assert_eq!(
        state.matter(&matter).unwrap_err().kind,
        ErrorKind::Forbidden
    );
}

/// The register form's choices and its check come from one merged list: a category the city
/// added is offered and accepted, one it dropped is neither offered nor accepted.
#[test]
fn register_form_uses_the_citys_category_list() {
    use xinfang_sync::DeskReplica;
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    {
        let (mut store, _) = Store::login(state.data_dir(), "admin", PW).unwrap();
        let mut lists = std::collections::BTreeMap::new();
        lists.insert(
            "categories".to_owned(),
            serde_json::json!([
                {"code": "housing_security", "name": "住房保障"},
                {"code": "labour_social_security", "name": "劳动和社会保障"},
            ]),
        );
        store
            .save_reference(&xinfang_sync::wire::ReferenceBundle {
                version: "city-1".into(),
                lists,
            })
            .unwrap();
    }
    state.login("clerk", PW).unwrap();
    let offered: Vec<String> = state
        .reference()
        .unwrap()
        .categories
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert_eq!(offered, ["住房保障", "劳动和社会保障"]);
    let mut input = visit("冯来访", &id("19700101", "035"));
    input.category = "housing_security".into();
    assert!(state.register_visit(input).is_ok());
    let mut input = visit("蒋来访", &id("19700101", "043"));
    input.category = "教育".into();
    let e = state.register_visit(input).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert_eq!(e.field.as_deref(), Some("category"));
    assert!(e.message.contains("问题分类“教育”已停用"), "{}", e.message);
}

#[test]
fn a_draft_is_its_authors_alone_and_survives_logging_in_again() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let mine = r#"{"form":{"visitors":[{"name":"林默然"}]}}"#;

    state.login("clerk", PW).unwrap();
    state.draft_save("register", mine).unwrap();
    assert_eq!(state.draft_load("register").unwrap().unwrap().json, mine);
    state.logout();
    // Logged out, nothing is read or written.
    let e = state.draft_load("register").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthenticated);
    assert_eq!(
        state.draft_save("register", "{}").unwrap_err().kind,
        ErrorKind::Unauthenticated
    );

    // A colleague on the same desk sees no draft, and their own save or discard leaves mine.
    state.login("supervisor", PW).unwrap();
    assert_eq!(state.draft_load("register").unwrap(), None);
    state
        .draft_save("register", r#"{"form":{"visitors":[{"name":"张建国"}]}}"#)
        .unwrap();
    assert!(state.draft_discard("register").unwrap());
    assert!(!state.draft_discard("register").unwrap());
    state.logout();

    state.login("clerk", PW).unwrap();
    assert_eq!(state.draft_load("register").unwrap().unwrap().json, mine);
    assert!(state.draft_discard("register").unwrap());
    assert_eq!(state.draft_load("register").unwrap(), None);
}

#[test]
fn drafts_of_unknown_forms_or_too_large_are_refused_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    for e in [
        state.draft_save("staff", "{}").unwrap_err(),
        state.draft_load("../register").unwrap_err(),
        state.draft_discard("").unwrap_err(),
    ] {
        assert_eq!(e.kind, ErrorKind::Validation, "{e:?}");
        assert_eq!(e.field.as_deref(), Some("form"));
        assert_eq!(e.code, "draft_form_unknown");
        assert!(e.message.contains("草稿的表单名称"), "{}", e.message);
        assert!(e.message.contains("register（来访登记）"), "{}", e.message);
    }
    let big = format!(
        r#"{{"appeal":"{}"}}"#,
        "x".repeat(xinfang_store::DRAFT_MAX_BYTES)
    );
    let e = state.draft_save("register", &big).unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Validation, "draft_too_large")
    );
    assert!(
        e.message.contains("草稿内容过大") && e.message.contains("64 KiB"),
        "{}",
        e.message
    );
    assert_eq!(
        state.draft_load("register").unwrap(),
        None,
        "nothing was kept"
    );
}

type UseCase = fn(&mut Store, &Staff, &str, &str) -> CmdResult<()>;

/// The use cases the `xinfang` CLI calls (tests/layering.rs checks that it does), each with the
/// actions its role check asks for. Called directly, as the CLI does after its login.
fn cli_use_cases() -> Vec<(&'static str, &'static [Action], UseCase)> {
    use crate::matters as m;
    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date")
    }
    vec![
        ("view_matter", &[Action::ViewMatter], |s, me, mid, _| {
            ok(m::view_matter(s, me, mid, today(), "测试"))
        }),
        ("person_matters", &[Action::RegisterVisit], |s, me, _, _| {
            ok(m::person_matters(s, me, &id("19800115", "013")))
        }),
        (
            "register_repeat_visit",
            &[Action::RegisterVisit],
            |s, me, mid, _| {
                let valid = xinfang_core::visit::validate_visit(
                    &visit("李四", &id("19750301", "024")),
                    xinfang_core::reference::ReferenceData::bundled(),
                    SystemClock.now_cst(),
                )
                .expect("a valid visit");
                ok(m::register_repeat_visit(s, me, &valid, mid, None))
            },
        ),
        ("matter_of_visit", &[Action::ViewMatter], |s, me, _, v| {
            ok(m::matter_of_visit(s, me, v))
        }),
        (
            "record_event",
            &[Action::RecordMatterEvent],
            |s, me, mid, _| {
                let e = MatterEvent::Accept {
                    at: today(),
                    notice_no: None,
                };
                ok(m::record_event(s, me, mid, &e))
            },
        ),
        ("classify", &[Action::ClassifyMatter], |s, me, mid, _| {
            ok(m::classify(s, me, mid, &Default::default()))
        }),
        (
            "propose_route",
            &[Action::ProposeLegalRoute],
            |s, me, mid, _| ok(m::propose_route(s, me, mid, &Default::default())),
        ),
        (
            "confirm_route",
            &[Action::ClassifyMatter],
            |s, me, mid, _| ok(m::confirm_route(s, me, mid, None)),
        ),
        (
            "matter_notice",
            &[Action::PrintMatterNotice, Action::ViewMatter],
            |s, me, mid, _| ok(m::matter_notice(s, me, mid, "acceptance", None, today())),
        ),
        ("due_list", &[Action::ViewDueList], |s, me, _, _| {
            ok(m::due_list(s, me, today()))
        }),
        ("backlog_case", &[Action::ViewBacklog], |s, me, _, _| {
            ok(m::backlog_case(s, me, "no-such-case", today()))
        }),
        ("backlog_cases", &[Action::ViewBacklog], |s, me, _, _| {
            ok(m::backlog_cases(
                s,
                me,
                xinfang_store::BacklogFilter::All,
                today(),
            ))
        }),
        ("backlog_page", &[Action::ViewBacklog], |s, me, _, _| {
            ok(m::backlog_page(
                s,
                me,
                xinfang_store::BacklogFilter::All,
                0,
                today(),
            ))
        }),
        (
            "backlog_dashboard",
            &[Action::ViewBacklog],
            |s, me, _, _| ok(m::backlog_dashboard(s, me, today())),
        ),
        ("flag_backlog", &[Action::ManageBacklog], |s, me, mid, _| {
            ok(m::flag_backlog(s, me, mid, &Default::default(), today()))
        }),
        (
            "set_backlog_leader",
            &[Action::ManageBacklog],
            |s, me, _, _| {
                ok(m::set_backlog_leader(
                    s,
                    me,
                    "no-such-case",
                    "李副县长",
                    today(),
                ))
            },
        ),
        ("note_backlog", &[Action::NoteBacklog], |s, me, _, _| {
            ok(m::note_backlog(
                s,
                me,
                "no-such-case",
                &Default::default(),
                today(),
            ))
        }),
        (
            "person_duplicates",
            &[Action::ManagePeople],
            |s, me, _, _| ok(crate::people::people_page(s, me)),
        ),
        ("person_merge", &[Action::ManagePeople], |s, me, _, _| {
            ok(crate::people::merge(
                s,
                me,
                "no-such-id",
                "no-other-id",
                "同一人",
            ))
        }),
        ("person_unmerge", &[Action::ManagePeople], |s, me, _, _| {
            ok(crate::people::unmerge(s, me, "no-such-merge", "撤销"))
        }),
        (
            "person_correct_document",
            &[Action::ManagePeople],
            |s, me, _, _| {
                ok(crate::people::correct_document(
                    s,
                    me,
                    "no-such-id",
                    xinfang_core::id::IdType::ResidentId,
                    &id("19800115", "021"),
                    "录入错误",
                    today(),
                ))
            },
        ),
        ("person_split", &[Action::ManagePeople], |s, me, _, _| {
            ok(crate::people::split(
                s,
                me,
                &crate::people::SplitInput {
                    visitor_id: "no-such-id".into(),
                    visit_ids: vec!["v".into()],
                    into: Some("other".into()),
                    reason: "拆分".into(),
                    ..Default::default()
                },
                today(),
            ))
        }),
        ("clear_backlog", &[Action::ManageBacklog], |s, me, _, _| {
            ok(m::clear_backlog(
                s,
                me,
                "no-such-case",
                &Default::default(),
                today(),
            ))
        }),
    ]
}

/// The role × use-case matrix of the CLI's calls: a role the matrix refuses gets `forbidden`
/// before anything is read; a role it allows gets past the check.
#[test]
fn every_cli_use_case_as_each_role() {
    let dir = tempfile::tempdir().unwrap();
    let (state, visit_id) = fixture(dir.path());
    let matter = {
        state.login("clerk", PW).unwrap();
        state.matter_of_visit(&visit_id).unwrap()
    };
    state.logout();
    for role in Role::ALL {
        let (mut store, me) = Store::login(state.data_dir(), role.code(), PW).unwrap();
        for (name, actions, call) in cli_use_cases() {
            let allowed = actions
                .iter()
                .all(|a| xinfang_core::staff::authorize(&[role], *a).is_ok());
            let r = call(&mut store, &me, &matter, &visit_id);
            let refused = matches!(&r, Err(e) if e.kind == ErrorKind::Forbidden);
            assert_eq!(refused, !allowed, "{name} as {}: {r:?}", role.code());
            if let Err(e) = &r
                && refused
            {
                assert_eq!(e.code, "forbidden", "{name} as {}", role.code());
            }
        }
    }
}

/// A consultation or mediation of a 检举控告 visit holds what the reporter said: opening it by
/// id follows the visit's rule and is audited (issue 15, item 3; both opened for the lawyer and
/// the mediator unaudited before).
#[test]
fn consultation_and_mediation_of_a_report_are_checked_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    let mut input = visit("钱检举", &id("19700101", "035"));
    input.appeal = "举报某局工作人员收受好处费。".into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let v = state.register_visit(input).unwrap().registered.visit_id;
    state.login("lawyer", PW).unwrap();
    let c = state.log_consultation(consultation(&v)).unwrap();
    state.login("mediator", PW).unwrap();
    let m = state.log_mediation(mediation(&v)).unwrap();

    state.login("lawyer", PW).unwrap();
    let e = state.consultation(&c.id).unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Forbidden, "confidential")
    );
    state.login("mediator", PW).unwrap();
    let e = state.mediation(&m.id).unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Forbidden, "confidential")
    );

    let sup = state.login("supervisor", PW).unwrap().staff;
    assert_eq!(state.consultation(&c.id).unwrap().question, c.question);
    assert_eq!(state.mediation(&m.id).unwrap().id, m.id);
    let log = state
        .audit_entries(crate::api::AuditQuery {
            record_id: v.clone(),
            ..Default::default()
        })
        .unwrap();
    let views: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.staff_id.as_str(), e.detail.as_str()))
        .collect();
    assert_eq!(
        views,
        [
            ("view_confidential", sup.id.as_str(), "人民调解记录"),
            ("view_confidential", sup.id.as_str(), "法律咨询记录"),
        ],
        "newest first; nothing for the refusals"
    );
}

/// Every text cell of the first sheet of an exported file.
fn exported_text(path: &str) -> String {
    let sheet = xinfang_ledger::read_table(Path::new(path)).unwrap();
    let mut all = sheet.headers.join("|");
    for (_, row) in &sheet.rows {
        all.push('|');
        all.push_str(&row.join("|"));
    }
    all
}

/// An export is a list that leaves the app: a 检举控告's appeal is masked as on the screens,
/// and a clerk's consultation ledger carries no question or advice (issue 15, item 1; both were
/// written in full before).
#[test]
fn exports_follow_the_confidentiality_of_the_lists() {
    let dir = tempfile::tempdir().unwrap();
    let (state, visit_id) = fixture(dir.path());
    const REPORT: &str = "举报某局工作人员收受好处费。";
    state.login("clerk", PW).unwrap();
    let mut input = visit("钱检举", &id("19700101", "035"));
    input.appeal = REPORT.into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    state.register_visit(input).unwrap();
    state.login("lawyer", PW).unwrap();
    state.log_consultation(consultation(&visit_id)).unwrap();
    let day = state.local_date().to_string();
    let out = |name: &str| dir.path().join("导出").join(name).display().to_string();

    state.login("clerk", PW).unwrap();
    let x = state
        .export_ledger("visits", &day, &day, None, false, &out("1.xlsx"), false)
        .unwrap();
    let text = exported_text(&x.path);
    assert!(text.contains("拖欠工资三个月"), "{text}");
    assert!(!text.contains(REPORT), "{text}");
    assert!(!text.contains("钱检举"), "{text}");
    let x = state
        .export_ledger(
            "consultations",
            &day,
            &day,
            None,
            false,
            &out("2.xlsx"),
            false,
        )
        .unwrap();
    let text = exported_text(&x.path);
    assert!(!text.contains("被拖欠工资怎么办"), "{text}");
    assert!(!text.contains("劳动人事争议仲裁委员会申请仲裁"), "{text}");

    // A supervisor's full export (audited as such) carries it.
    state.login("supervisor", PW).unwrap();
    let x = state
        .export_ledger("visits", &day, &day, None, true, &out("3.xlsx"), false)
        .unwrap();
    assert!(exported_text(&x.path).contains(REPORT));
    let x = state
        .export_ledger(
            "consultations",
            &day,
            &day,
            None,
            false,
            &out("4.xlsx"),
            false,
        )
        .unwrap();
    assert!(exported_text(&x.path).contains("被拖欠工资怎么办"));
}

/// Who reported is as secret as what: in 今日来访 and the desk queues a 检举控告's people,
/// agency and place show only to the registering clerk and supervisors (issue 15, item 10;
/// every role saw the reporter's name before).
#[test]
fn lists_hide_the_reporter_from_whom_may_not_see_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("admin", PW).unwrap();
    state
        .add_staff(NewStaffInput {
            username: "clerk2".into(),
            display_name: "赵接待".into(),
            roles: vec![Role::Clerk],
            password: PW.into(),
        })
        .unwrap();
    state.login("clerk", PW).unwrap();
    let mut input = visit("钱检举", &id("19700101", "035"));
    input.appeal = "举报某局工作人员收受好处费。".into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    input.agency = "某局".into();
    let v = state.register_visit(input).unwrap().registered.visit_id;
    state.hand_off(&v, Desk::Lawyer, "").unwrap();
    let row_of =
        |rows: Vec<xinfang_store::VisitRow>| rows.into_iter().find(|r| r.visit_id == v).unwrap();

    for who in ["clerk", "supervisor"] {
        state.login(who, PW).unwrap();
        let row = row_of(state.today().unwrap());
        assert_eq!(row.visitors[0].name, "钱检举", "{who}");
        assert_eq!(row.appeal, xinfang_core::staff::CONFIDENTIAL_MASK);
    }
    state.login("clerk2", PW).unwrap();
    let row = row_of(state.today().unwrap());
    assert_eq!(row.visitors[0].name, crate::api::REPORTER_MASK);
    assert!(row.visitors[0].id_number_masked.is_empty());
    assert_eq!(row.agency, None);
    state.login("lawyer", PW).unwrap();
    let queue = state.queue(Desk::Lawyer).unwrap();
    let item = queue.iter().find(|i| i.visit.visit_id == v).unwrap();
    assert_eq!(item.visit.visitors[0].name, crate::api::REPORTER_MASK);
    // The fixture's ordinary visit keeps its names.
    let all = {
        state.login("clerk2", PW).unwrap();
        state.today().unwrap()
    };
    assert!(all.iter().any(|r| r.visitors[0].name == "张三"));
}

/// A reporter's full ID number or phone identifies the reporter: a clerk who did not register
/// the 检举控告 may not reveal it (issue 15, item 10; any clerk could before).
#[test]
fn only_whom_may_see_the_report_reveals_the_reporters_number() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("admin", PW).unwrap();
    state
        .add_staff(NewStaffInput {
            username: "clerk2".into(),
            display_name: "赵接待".into(),
            roles: vec![Role::Clerk],
            password: PW.into(),
        })
        .unwrap();
    state.login("clerk", PW).unwrap();
    let number = id("19700101", "035");
    let mut input = visit("钱检举", &number);
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let visitor = state.register_visit(input).unwrap().registered.visitor_ids[0].clone();
    let field = crate::api::ContactField::IdNumber;

    state.login("clerk2", PW).unwrap();
    let e = state.reveal_visitor_contact(&visitor, field).unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Forbidden, "confidential")
    );
    for who in ["clerk", "supervisor"] {
        state.login(who, PW).unwrap();
        assert_eq!(
            state.reveal_visitor_contact(&visitor, field).unwrap(),
            number,
            "{who}"
        );
    }
}

/// The 同步冲突 screen: empty on a desk that never synced; a resolution needs exactly one of
/// a kept option or a checked value, refused at its field before the store is asked.
#[test]
fn sync_conflicts_screen_and_resolution_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    assert_eq!(
        state.sync_conflicts().unwrap_err().kind,
        ErrorKind::Forbidden
    );
    state.login("supervisor", PW).unwrap();
    let page = state.sync_conflicts().unwrap();
    assert!(page.conflicts.is_empty() && page.quarantined.is_empty());
    let e = state
        .resolve_sync_conflict("no-such-id", None, None)
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("choose"));
    assert!(e.message.contains("保留"));
    let e = state
        .resolve_sync_conflict("no-such-id", Some(1), Some("x".into()))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("choose"));
    let e = state
        .resolve_sync_conflict("no-such-id", None, Some("  ".into()))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("value"));
    assert!(e.message.contains("核实"));
    // A well-formed choice of an unknown conflict: the store's own answer, not a crash.
    assert!(
        state
            .resolve_sync_conflict("no-such-id", Some(1), None)
            .is_err()
    );
}

/// Everything `from` logged, as the city would hand it to another desk.
fn all_changes(from: &Store) -> Vec<xinfang_sync::RemoteChange> {
    use xinfang_sync::DeskReplica;
    from.local_changes(0, 10_000)
        .unwrap()
        .into_iter()
        .map(|c| xinfang_sync::RemoteChange {
            device_id: from.device_id().to_owned(),
            server_seq: c.seq,
            change: c,
        })
        .collect()
}

fn apply_all(from: &Store, to: &mut Store) {
    use xinfang_sync::DeskReplica;
    let page = all_changes(from);
    let max = page.iter().map(|c| c.change.seq).max().unwrap_or(0);
    let cursor = [(from.device_id().to_owned(), max)].into_iter().collect();
    to.apply_remote(&page, &cursor).unwrap();
}

/// Two desks record different phones of one person offline: the supervisor's screen lists
/// both, keeping one through the desk command empties the list and the kept phone stands.
#[test]
fn the_supervisor_keeps_one_phone_of_a_real_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let number = id("19800115", "013");
    let with_phone = |phone: &str| {
        let mut v = visit("张三", &number);
        v.visitors[0].phone = phone.into();
        xinfang_core::visit::validate_visit(
            &v,
            xinfang_core::reference::ReferenceData::bundled(),
            SystemClock.now_cst(),
        )
        .unwrap()
    };
    use xinfang_sync::DeskReplica;
    let b_dir = tempfile::tempdir().unwrap();
    let mut b = Store::create_unencrypted(b_dir.path(), "140521").unwrap();
    // B's first admin signs B's clerk; the desks know each other's first admins (the city
    // hands them out at enrolment).
    b.add_staff(&NewStaff {
        username: "admin_b".into(),
        display_name: "钱管理".into(),
        roles: vec![Role::Admin],
        password: PW.into(),
    })
    .unwrap();
    let clerk_b = b
        .add_staff(&NewStaff {
            username: "clerk_b".into(),
            display_name: "赵接待".into(),
            roles: vec![Role::Clerk],
            password: PW.into(),
        })
        .unwrap();
    {
        let (mut a, clerk) = Store::login(state.data_dir(), "clerk", PW).unwrap();
        a.adopt_hall_roots(&b.root_key_offer().unwrap()).unwrap();
        b.adopt_hall_roots(&a.root_key_offer().unwrap()).unwrap();
        // B knows the person; then each desk records a phone offline, and A pulls B's.
        apply_all(&a, &mut b);
        a.register_visit(&with_phone("13600000002"), &clerk.id)
            .unwrap();
        b.register_visit(&with_phone("13700000003"), &clerk_b.id)
            .unwrap();
        apply_all(&b, &mut a);
    }
    state.login("supervisor", PW).unwrap();
    let page = state.sync_conflicts().unwrap();
    assert_eq!(page.conflicts.len(), 1, "{page:?}");
    let c = &page.conflicts[0];
    assert_eq!(
        (c.field.as_str(), c.field_label.as_str()),
        ("phone", "联系电话")
    );
    assert_eq!(c.subject, "张三");
    let mine = c.options.iter().find(|o| o.value == "13600000002").unwrap();
    let theirs = c.options.iter().find(|o| o.value == "13700000003").unwrap();
    assert_eq!(
        (mine.by_name.as_str(), theirs.by_name.as_str()),
        ("接待员", "赵接待")
    );
    assert_eq!(c.options.iter().filter(|o| o.shown).count(), 1);

    let resolved = state
        .resolve_sync_conflict(&c.id, Some(mine.n), None)
        .unwrap();
    assert_eq!(resolved.id, c.id);
    assert!(state.sync_conflicts().unwrap().conflicts.is_empty());
    let visitor = state.today().unwrap()[0].visitors[0].visitor_id.clone();
    assert_eq!(
        state
            .reveal_visitor_contact(&visitor, crate::api::ContactField::Phone)
            .unwrap(),
        "13600000002"
    );
}

#[test]
fn backup_and_restore_from_the_app_lose_nothing_on_a_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let backup = dir.path().join("接待台备份.db");
    let backup_text = backup.display().to_string();
    state.login("supervisor", PW).unwrap();
    let done = state.backup_store(&backup_text).unwrap();
    assert_eq!(done.path, backup_text);
    assert!(
        done.keyslots_path.is_some(),
        "an encrypted store's key file beside it"
    );
    // A second backup onto the same file is refused; nothing is overwritten.
    let again = state.backup_store(&backup_text).unwrap_err();
    assert_eq!(again.code, "backup_exists");
    // A visit after the backup.
    state.login("clerk", PW).unwrap();
    state
        .register_visit(visit("李四", &id("19750301", "024")))
        .unwrap();
    assert_eq!(state.today().unwrap().len(), 2);

    state.login("supervisor", PW).unwrap();
    // Refusals leave the store and the session as they were.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a backup").unwrap();
    let e = state
        .restore_store(&garbage.display().to_string(), PW)
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("backup"), "{e:?}");
    assert!(e.message.contains("没有恢复"), "{}", e.message);
    assert!(
        !e.message.contains(dir.path().to_str().unwrap()),
        "no path on screen: {}",
        e.message
    );
    let e = state
        .restore_store(&backup_text, "wrong-password")
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("password"), "{e:?}");
    assert_eq!(
        state.today().unwrap().len(),
        2,
        "still logged in, nothing replaced"
    );
    // The restore itself: the session ends, the store is the backup's, the old one kept aside.
    let restored = state.restore_store(&backup_text, PW).unwrap();
    assert!(restored.kept_replaced);
    assert_eq!(restored.hall_code, "140521");
    assert_eq!(state.today().unwrap_err().kind, ErrorKind::Unauthenticated);
    state.login("clerk", PW).unwrap();
    assert_eq!(state.today().unwrap().len(), 1, "the backup's state");
    let aside = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().starts_with("replaced-"));
    assert!(aside, "the replaced store is kept in the data dir");
}

/// The first-run and new-account forms carry passwords; their `Debug` (a log line, a panic
/// message) shows the rest and never the password (issue 15, item 14).
#[test]
fn the_password_forms_do_not_print_their_passwords() {
    let setup = crate::api::SetupInput {
        hall_code: "140521".into(),
        admin_username: "admin".into(),
        admin_name: "管理员".into(),
        password: "Secret-Setup-2026".into(),
        password_repeat: "Secret-Setup-2026".into(),
    };
    let staff = crate::api::NewStaffInput {
        username: "clerk2".into(),
        display_name: "接待员二".into(),
        roles: vec![xinfang_core::staff::Role::Clerk],
        password: "Secret-Staff-2026".into(),
    };
    let change = crate::account::PasswordChange {
        old_password: "Secret-Old-2026".into(),
        password: "Secret-New-2026".into(),
        password_repeat: "Secret-New-2026".into(),
    };
    let recovery = crate::account::RecoveryInput {
        recovery_key: "Secret-KEY".into(),
        username: "clerk2".into(),
        password: "Secret-New-2026".into(),
        password_repeat: "Secret-New-2026".into(),
    };
    let printed = format!("{setup:?} {staff:?} {setup:#?} {change:?} {recovery:?}");
    assert!(
        printed.contains("140521") && printed.contains("clerk2"),
        "{printed}"
    );
    assert!(!printed.contains("Secret-"), "{printed}");
}

/// A printed notice of a 检举控告 names the reporter and the report: it is kept in the encrypted
/// store, the file for the printer is gone after logout, and a second clerk who learns its file
/// name cannot open it (issue 15, item 9; the former code saved it in `notices/` for good and
/// opened any file there for any clerk).
#[test]
fn printed_notices_stay_in_the_store_and_open_only_for_whom_may_see_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("admin", PW).unwrap();
    state
        .add_staff(NewStaffInput {
            username: "clerk2".into(),
            display_name: "赵接待".into(),
            roles: vec![Role::Clerk],
            password: PW.into(),
        })
        .unwrap();
    state.login("clerk", PW).unwrap();
    let mut input = visit("钱检举", &id("19700101", "035"));
    input.appeal = "举报某局工作人员收受好处费。".into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let v = state.register_visit(input).unwrap().registered.visit_id;
    let matter = state.matter_of_visit(&v).unwrap();
    let today = state.local_date().to_string();
    state
        .record_matter_event(&matter, serde_json::json!({"kind": "accept", "at": today}))
        .unwrap();
    let printed = state
        .print_matter_notice(&matter, "acceptance", None)
        .unwrap();
    let path = std::path::PathBuf::from(&printed.path);
    assert!(std::fs::read(&path).unwrap().starts_with(b"%PDF"));
    let notices = state.data_dir().join(crate::matters::NOTICES_DIR);

    // Logging out removes the file written for the printer; the notice stays in the store.
    state.logout();
    assert!(!path.exists(), "the printed file outlived the session");
    let left: Vec<_> = std::fs::read_dir(&notices).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");

    // The second clerk knows the file name (a screenshot, a shared folder) and is refused,
    // before anything is written; nothing is audited for the refusal.
    state.login("clerk2", PW).unwrap();
    let e = state.open_notice(&printed.file_name).unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Forbidden, "confidential")
    );
    assert!(!path.exists());
    let e = state.open_notice("../xinfang.db").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);

    // The supervisor may: the file comes back from the store, and the opening is audited. (The
    // system viewer may be missing on a test machine; the file is written before it is asked.)
    let sup = state.login("supervisor", PW).unwrap().staff;
    let opened = state.open_notice(&printed.file_name);
    assert!(
        opened
            .as_ref()
            .err()
            .is_none_or(|e| e.code == "open_failed"),
        "{opened:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap().len() as u64, printed.bytes);
    let log = state
        .audit_entries(crate::api::AuditQuery {
            record_id: matter.clone(),
            ..Default::default()
        })
        .unwrap();
    assert!(
        log.iter().any(|e| e.staff_id == sup.id
            && e.action == "view_confidential"
            && e.detail.starts_with("打开文书")),
        "{log:?}"
    );
    state.logout();
    assert!(!path.exists());
}

/// The 疑似重复人员 screen through the desk commands: the supervisor sees the pair (a reporter
/// flagged as such), merges it, finds one person, undoes the merge; a clerk is refused.
#[test]
fn the_supervisor_merges_and_unmerges_from_the_people_screen() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    // The fixture's 张三 (born 1980-01-15) again, under a mistyped number, reporting.
    let mut input = visit("张三", &id("19800115", "021"));
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let other = state.register_visit(input).unwrap().registered.visitor_ids[0].clone();
    assert_eq!(
        state.people_duplicates().unwrap_err().kind,
        ErrorKind::Forbidden
    );
    let refused = state.merge_people("a", "b", "同一人").unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Forbidden);
    assert!(refused.message.starts_with("无权"), "{}", refused.message);

    state.login("supervisor", PW).unwrap();
    let page = state.people_duplicates().unwrap();
    assert_eq!(page.duplicates.len(), 1, "{page:#?}");
    assert_eq!(page.duplicates_total, 1);
    let pair = &page.duplicates[0];
    assert_eq!(pair.reason_labels, ["姓名和出生日期相同"]);
    assert!(pair.other.reporter || pair.keep.reporter);
    let (keep, merged) = (pair.keep.visitor_id.clone(), pair.other.visitor_id.clone());
    assert!(merged == other || keep == other);
    let empty = state.merge_people(&keep, &merged, " ").unwrap_err();
    assert_eq!(empty.errors[0].code, "reason_empty");
    let m = state
        .merge_people(&keep, &merged, "同一人，号码录错")
        .unwrap();
    assert_eq!(m.survivor.visit_count, 2);
    let page = state.people_duplicates().unwrap();
    assert!(page.duplicates.is_empty());
    assert_eq!(page.merges.len(), 1);
    assert!(page.merges[0].active);
    assert_eq!(state.history("张三").unwrap().len(), 1);
    // The survivor's number may not be corrected into the number of another person.
    state.login("clerk", PW).unwrap();
    let li = state
        .register_visit(visit("李四", &id("19750301", "024")))
        .unwrap()
        .registered
        .visitor_ids[0]
        .clone();
    state.login("supervisor", PW).unwrap();
    let taken = state
        .correct_document(&keep, "resident_id", &id("19750301", "024"), "录入错误")
        .unwrap_err();
    assert_eq!(taken.errors[0].code, "document_taken");
    assert!(!taken.message.contains(&li));
    let unmerged = state.unmerge_people(&m.merge_id, "核实为两人").unwrap();
    assert!(!unmerged.active);
    assert_eq!(state.history("张三").unwrap().len(), 2);
}

/// The person's matters offered for a repeat visit follow the confidentiality rule: a
/// 检举控告 matter is listed for the clerk who registered it and the supervisor, and another
/// clerk does not learn that it exists; attaching to it is refused to them too.
#[test]
fn a_persons_report_matter_is_listed_only_for_whom_may_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("admin", PW).unwrap();
    state
        .add_staff(NewStaffInput {
            username: "clerk2".into(),
            display_name: "钱接待".into(),
            roles: vec![Role::Clerk],
            password: PW.into(),
        })
        .unwrap();
    let number = id("19620505", "037");
    state.login("clerk", PW).unwrap();
    let mut report = visit("孙举报", &number);
    report.appeal_kind = "report".into();
    report.category = "纪检监察".into();
    let matter = state.register_visit(report).unwrap().registered.matter_id;
    assert_eq!(state.person_matters(&number).unwrap().len(), 1);
    state.login("supervisor", PW).unwrap();
    assert_eq!(state.person_matters(&number).unwrap().len(), 1);
    state.login("clerk2", PW).unwrap();
    assert!(state.person_matters(&number).unwrap().is_empty());
    let refused = state
        .register_repeat_visit(visit("孙举报", &number), &matter)
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Forbidden, "{refused:?}");
}

/// A mediation saved while the other party is called in, continued to an agreement, followed
/// up; its documents printed by its mediator only, and each only when the record has it.
#[test]
fn a_pending_mediation_is_continued_and_its_documents_are_its_mediators_to_print() {
    let dir = tempfile::tempdir().unwrap();
    let (state, v) = fixture(dir.path());
    state.login("mediator", PW).unwrap();
    let mut first = mediation(&v);
    first.sessions.clear();
    first.conclusion = ConclusionInput::default();
    let m = state.log_mediation(first).unwrap();
    assert_eq!(m.outcome_label, "调解中");
    assert_eq!(state.pending_mediations().unwrap().len(), 1);
    let e = state
        .print_mediation_document(&m.id, "mediation_agreement")
        .unwrap_err();
    assert_eq!(e.code, "not_agreed");

    let today = SystemClock.now_cst().date_naive().to_string();
    let agreed = mediation(&v).conclusion;
    let next = ContinueMediationInput {
        mediation_id: m.id.clone(),
        sessions: vec![SessionInput {
            held_on: today.clone(),
            notes: "被申请人到场，双方达成一致。".into(),
        }],
        conclusion: agreed,
    };
    let m = state.continue_mediation(next.clone()).unwrap();
    assert_eq!(
        (m.outcome_label.as_str(), m.sessions.len()),
        ("达成协议", 1)
    );
    assert!(m.parties[0].id_number.contains('*'), "screens get masks");
    assert_eq!(
        state.continue_mediation(next).unwrap_err().code,
        "mediation_ended"
    );
    assert!(state.pending_mediations().unwrap().is_empty());
    let m = state
        .add_mediation_follow_up(
            &m.id,
            FollowUpInput {
                visited_on: today,
                fulfilment: "fulfilled".into(),
                notes: "申请人确认已收到工资。".into(),
            },
        )
        .unwrap();
    let m = state.record_confirmation_result(&m.id, "确认有效").unwrap();
    assert_eq!(m.confirmation_result_label.as_deref(), Some("确认有效"));
    assert_eq!(m.follow_ups[0].fulfilment_label, "已履行");
    // Before an investigation is recorded there is no 调查记录 to print; a blank one is refused
    // at its fields.
    assert_eq!(
        state
            .print_mediation_document(&m.id, "mediation_investigation")
            .unwrap_err()
            .code,
        "document_unavailable"
    );
    let e = state
        .add_mediation_investigation(&m.id, Default::default())
        .unwrap_err();
    assert!(e.errors.iter().any(|f| f.field == "person"), "{e:?}");
    let m = state
        .add_mediation_investigation(
            &m.id,
            xinfang_core::desk::InvestigationInput {
                investigated_on: SystemClock.now_cst().date_naive().to_string(),
                place: "县信访接待大厅调解室".into(),
                person: "李某（工友）".into(),
                present: String::new(),
                content: "证实申请人2026年8月至10月在工地务工。".into(),
            },
        )
        .unwrap();
    assert_eq!(m.investigations[0].by_name, m.mediator_name);

    let mut printed = Vec::new();
    for kind in [
        "mediation_agreement",
        "mediation_record",
        "mediation_follow_up",
        "mediation_investigation",
        "mediation_application",
        "mediation_registration",
    ] {
        let p = state.print_mediation_document(&m.id, kind).unwrap();
        assert!(p.bytes > 1000, "{kind}");
        printed.push(p.file_name);
    }
    let e = state
        .print_mediation_document(&m.id, "oral_agreement")
        .unwrap_err();
    assert_eq!(e.code, "document_unavailable");
    assert!(e.message.contains("调解协议书"), "{}", e.message);

    // A lawyer may neither print them nor open the printed ones; a clerk may not open them
    // either, though a clerk opens matter notices.
    state.login("lawyer", PW).unwrap();
    let e = state
        .print_mediation_document(&m.id, "mediation_record")
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    assert_eq!(
        state.open_notice(&printed[0]).unwrap_err().kind,
        ErrorKind::Forbidden
    );
    state.login("clerk", PW).unwrap();
    assert_eq!(
        state.open_notice(&printed[1]).unwrap_err().kind,
        ErrorKind::Forbidden
    );
}

/// A notice keeps the 文号 it was printed with: the matter page lists it, and a reprint with no
/// 文号 typed keeps the last one; a badly shaped 文号 is refused at its field.
#[test]
fn a_printed_notice_keeps_its_doc_number_and_a_reprint_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let (state, v) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    let matter = state.matter_of_visit(&v).unwrap();
    let today = state.local_date().to_string();
    state
        .record_matter_event(&matter, serde_json::json!({"kind": "accept", "at": today}))
        .unwrap();
    assert!(state.matter(&matter).unwrap().printed.is_empty());
    let first = state
        .print_matter_notice(&matter, "acceptance", Some("沁信受[2026]12号"))
        .unwrap();
    // On paper the notice leads back to its matter: its 事项编号 as the desk shows it.
    let number = state.matter(&matter).unwrap().matter.number;
    assert!(!number.is_empty());
    assert!(
        pdf_text(&first.path).contains(&format!("事项编号：{number}")),
        "{number}"
    );
    state
        .print_matter_notice(&matter, "acceptance", None)
        .unwrap();
    let e = state
        .print_matter_notice(&matter, "acceptance", Some("12号"))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("doc_no"));
    // Two prints in one second share a file name: the reprint replaces the first.
    let printed = state.matter(&matter).unwrap().printed;
    assert!(!printed.is_empty());
    for p in &printed {
        assert_eq!(
            (p.title.as_str(), p.doc_no.as_str()),
            ("受理告知书", "沁信受〔2026〕12号")
        );
    }
}

/// The text of a printed PDF, as pdftotext (poppler-utils) reads it, without spaces.
fn pdf_text(path: &str) -> String {
    let out = std::process::Command::new("pdftotext")
        .args([path, "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/install-deps.sh");
    String::from_utf8_lossy(&out.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The hall's 人民调解委员会 is named by an administrator only, and every mediation document is
/// issued in that name (the default until then is the hall's).
#[test]
fn the_committee_named_by_the_admin_issues_the_mediation_documents() {
    let dir = tempfile::tempdir().unwrap();
    let (state, v) = fixture(dir.path());
    state.login("mediator", PW).unwrap();
    let default = state.hall_settings().unwrap();
    assert!(!default.committee_name_set);
    assert!(
        default.committee_name.ends_with("人民调解委员会"),
        "{}",
        default.committee_name
    );
    let e = state
        .set_committee_name("沁水县信访事项人民调解委员会")
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    let m = state.log_mediation(mediation(&v)).unwrap();
    let before = state
        .print_mediation_document(&m.id, "mediation_record")
        .unwrap();
    assert!(pdf_text(&before.path).contains(&default.committee_name));

    state.login("admin", PW).unwrap();
    let e = state.set_committee_name("沁水县信访局").unwrap_err();
    assert_eq!(e.code, "committee_name_not_mediation");
    let set = state
        .set_committee_name(" 沁水县信访事项人民调解委员会 ")
        .unwrap();
    assert_eq!(
        (set.committee_name.as_str(), set.committee_name_set),
        ("沁水县信访事项人民调解委员会", true)
    );

    state.login("mediator", PW).unwrap();
    let after = state
        .print_mediation_document(&m.id, "mediation_agreement")
        .unwrap();
    let text = pdf_text(&after.path);
    assert!(text.contains("沁水县信访事项人民调解委员会"), "{text}");
}

/// Issue 19: the display mode is each account's, the reader the desk's; both outlive a login;
/// a read on the configured (simulated) reader fills the form's fields.
#[test]
fn display_mode_per_account_and_the_desk_s_reader() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    // 问题分类 is found by pinyin initials too.
    let categories = state.reference().unwrap().categories;
    let labour = categories
        .iter()
        .find(|c| c.label == "劳动和社会保障")
        .unwrap();
    assert_eq!(labour.initials, "ldhshbz");
    assert_eq!(state.my_settings().unwrap().display, "standard");
    assert_eq!(state.my_settings().unwrap().reader.kind, "none");
    let e = state.read_id_card().unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Validation, "no_reader")
    );
    assert_eq!(state.set_display_mode("large").unwrap().display, "large");
    let e = state.set_display_mode("huge").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("display"));
    // A refused reader setting leaves the saved one.
    let e = state
        .set_id_reader(&ReaderSettings {
            kind: "http".into(),
            url: "127.0.0.1".into(),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("url"));
    assert_eq!(state.my_settings().unwrap().reader.kind, "none");
    #[cfg(unix)]
    let _sim = {
        let sim = xinfang_idcard::Simulator::start(
            &xinfang_idcard::test_person(),
            xinfang_idcard::Behaviour::Card,
        )
        .unwrap();
        let port = sim.path().display().to_string();
        let settings = ReaderSettings {
            kind: "serial".into(),
            port: port.clone(),
            ..Default::default()
        };
        assert_eq!(state.test_id_reader(&settings).unwrap().name, "李明华");
        assert_eq!(
            state.my_settings().unwrap().reader.kind,
            "none",
            "a test read saves nothing"
        );
        assert_eq!(state.set_id_reader(&settings).unwrap().reader.port, port);
        sim
    };
    state.logout();

    state.login("supervisor", PW).unwrap();
    assert_eq!(
        state.my_settings().unwrap().display,
        "standard",
        "the clerk's, not mine"
    );
    #[cfg(unix)]
    {
        assert_eq!(
            state.my_settings().unwrap().reader.kind,
            "serial",
            "the desk's"
        );
        let card = state.read_id_card().unwrap();
        assert_eq!(card.id_number, "140521198503150016");
        assert_eq!(card.sex, "male");
    }
    state.logout();
    state.login("clerk", PW).unwrap();
    assert_eq!(state.my_settings().unwrap().display, "large");
    state.logout();

    state.login("lawyer", PW).unwrap();
    let e = state.set_id_reader(&ReaderSettings::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
}

/// Issue 19: a returning visitor chosen in the history panel fills the form with the number and
/// phone in full, and the view is on record.
#[test]
fn a_returning_visitor_fills_the_form_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    let number = id("19800115", "013");
    let hit = state.history(&number).unwrap().remove(0).hit;
    assert_ne!(hit.id_number_masked, number, "the panel shows it masked");
    let v = state.returning_visitor(&hit.visitor_id).unwrap();
    assert_eq!(
        (v.name.as_str(), v.id_number.as_str()),
        ("张三", number.as_str())
    );
    assert_eq!(v.id_type, "resident_id");
    assert_eq!(v.sex, "male");
    assert_eq!(v.birth_date, "1980-01-15");
    state.logout();
    state.login("supervisor", PW).unwrap();
    let audit = state
        .audit_entries(crate::api::AuditQuery {
            record_id: hit.visitor_id.clone(),
            ..Default::default()
        })
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "view_full_id" && a.detail.contains("重复来访")),
        "{audit:?}"
    );
    state.logout();
    state.login("lawyer", PW).unwrap();
    let e = state.returning_visitor(&hit.visitor_id).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
}

#[test]
fn the_queue_slip_prints_for_the_clerk_and_holds_nothing_personal() {
    let dir = tempfile::tempdir().unwrap();
    let (state, visit_id) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    let printed = state.queue_slip_pdf(&visit_id, "receipt").unwrap();
    let pdf = std::fs::read(&printed.path).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(printed.bytes, pdf.len() as u64);
    // Written for the printer only, beside the notices, readable by this user alone.
    let path = std::path::Path::new(&printed.path);
    assert_eq!(
        path.parent(),
        Some(state.data_dir().join("notices").as_path())
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    // The file name carries the number, never the visitor's name or the visit's id.
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(name.contains(&printed.queue_label), "{name}");
    assert!(
        !name.contains("张三") && !name.contains(&visit_id),
        "{name}"
    );
    // A5 too; a size that is no paper is refused at its field.
    assert!(state.queue_slip_pdf(&visit_id, "a5").is_ok());
    let e = state.queue_slip_pdf(&visit_id, "a4").unwrap_err();
    assert_eq!(e.code, "slip_size_unknown");
    // The lawyer does not register visits: refused in Rust, nothing written.
    crate::matters::clear_printed(state.data_dir());
    state.login("lawyer", PW).unwrap();
    let e = state.queue_slip_pdf(&visit_id, "receipt").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    let left = std::fs::read_dir(state.data_dir().join("notices"))
        .unwrap()
        .count();
    assert_eq!(left, 0);
}

#[test]
fn staff_change_their_own_password_and_the_old_one_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (state, _) = first_run(&data);
    state.login("admin", PW).unwrap();
    let change = |old: &str, new: &str, repeat: &str| {
        state.change_password(crate::account::PasswordChange {
            old_password: old.into(),
            password: new.into(),
            password_repeat: repeat.into(),
        })
    };
    let fields = |e: crate::error::CommandError| -> Vec<String> {
        e.errors.iter().map(|f| f.field.clone()).collect()
    };
    assert_eq!(
        fields(change("wrong-old-pass", "new-pass-2026", "new-pass-2026").unwrap_err()),
        ["old_password"]
    );
    assert_eq!(
        fields(change(PW, "new-pass-2026", "new-pass-2062").unwrap_err()),
        ["password_repeat"]
    );
    assert_eq!(fields(change(PW, PW, PW).unwrap_err()), ["password"]);
    change(PW, "new-pass-2026", "new-pass-2026").unwrap();
    state.logout();
    assert_eq!(
        state.login("admin", PW).unwrap_err().kind,
        ErrorKind::Validation
    );
    state.login("admin", "new-pass-2026").unwrap();
    let audit = state
        .audit_entries(crate::api::AuditQuery::default())
        .unwrap();
    assert!(
        audit.iter().any(|e| e.action == "password_change"),
        "the change is in the audit log"
    );
    // Not logged in: no change.
    state.logout();
    assert_eq!(
        change("new-pass-2026", "third-pass-2026", "third-pass-2026")
            .unwrap_err()
            .code,
        "not_logged_in"
    );
}

#[test]
fn the_recovery_key_sets_a_new_password_from_the_login_screen() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (state, info) = first_run(&data);
    let recover = |key: &str, user: &str, pw: &str| {
        state.recover_password(crate::account::RecoveryInput {
            recovery_key: key.into(),
            username: user.into(),
            password: pw.into(),
            password_repeat: pw.into(),
        })
    };
    let field = |e: crate::error::CommandError| e.errors[0].field.clone();
    assert_eq!(
        field(
            recover(
                "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH",
                "admin",
                "new-pass-2026"
            )
            .unwrap_err()
        ),
        "recovery_key"
    );
    assert_eq!(
        field(recover(&info.recovery_key, "nobody", "new-pass-2026").unwrap_err()),
        "username"
    );
    // Copied from paper: lower case and spaces instead of dashes still open it.
    let typed = info.recovery_key.to_lowercase().replace('-', " ");
    recover(&typed, "admin", "new-pass-2026").unwrap();
    assert_eq!(
        state.login("admin", PW).unwrap_err().kind,
        ErrorKind::Validation
    );
    state.login("admin", "new-pass-2026").unwrap();
    let audit = state
        .audit_entries(crate::api::AuditQuery::default())
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "recovery_unlock"));
}

#[test]
fn the_supervisor_is_reminded_to_back_up_after_a_week_and_a_backup_ends_the_reminder() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let (state, clock) = with_clock(&state, 24 * 60 * 30);
    state.login("supervisor", PW).unwrap();
    // The first look starts the week of a desk that never backed up.
    assert_eq!(state.backup_reminder().unwrap(), None);
    clock.advance(Duration::days(6));
    assert_eq!(state.backup_reminder().unwrap(), None, "six days");
    clock.advance(Duration::days(1));
    let never = state
        .backup_reminder()
        .unwrap()
        .expect("a week without any backup");
    assert_eq!(never.days, None);
    assert!(never.message.contains("从未备份") && never.message.contains("备份与恢复"));
    // Not the clerk's business (and no way to act on it).
    state.logout();
    state.login("clerk", PW).unwrap();
    assert_eq!(state.backup_reminder().unwrap(), None);
    state.logout();

    // A backup written and checked ends it, for a week.
    state.login("supervisor", PW).unwrap();
    let dest = dir.path().join("备份.db");
    state.backup_store(dest.to_str().unwrap()).unwrap();
    assert_eq!(state.backup_reminder().unwrap(), None);
    clock.advance(Duration::days(9));
    let old = state
        .backup_reminder()
        .unwrap()
        .expect("nine days after the backup");
    assert_eq!(old.days, Some(9));
    assert!(old.message.contains("9 天前"), "{}", old.message);
    // A refused backup (the file exists) does not count as one.
    assert!(state.backup_store(dest.to_str().unwrap()).is_err());
    assert_eq!(
        state.backup_reminder().unwrap().map(|r| r.days),
        Some(Some(9))
    );
}

#[test]
fn the_city_ca_chosen_from_a_file_is_checked_kept_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("admin", PW).unwrap();
    let info = state.connection_info().unwrap();
    assert!(!info.enrolled && info.trusted_ca.is_empty() && !info.copied);
    assert!(!info.desk_name.is_empty(), "the computer's name by default");

    // Not a certificate: refused at its field, nothing kept.
    let e = state
        .set_trusted_ca(Some(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
        ))
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("ca"));
    assert!(e.message.contains("不能用作 CA 证书"), "{}", e.message);
    assert!(state.connection_info().unwrap().trusted_ca.is_empty());

    let chosen = state.set_trusted_ca(Some(TEST_CA_PEM.into())).unwrap();
    assert_eq!(
        chosen,
        [crate::enrolment::TrustedCa {
            name: "晋城市信访局测试 CA".into(),
            valid_until: "2046-11-30".into(),
        }]
    );
    assert_eq!(state.connection_info().unwrap().trusted_ca, chosen);
    assert!(state.set_trusted_ca(None).unwrap().is_empty());

    // Leaving before enrolling: said, at the address.
    let e = state.leave_server(true).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("server"));
}

/// A self-signed test CA (`openssl req -x509 -subj "/CN=晋城市信访局测试 CA" -days 7300`); its
/// key was thrown away.
const TEST_CA_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBoDCCAUegAwIBAgIUYfVTv9+4uSrj+Nrg1ucPN6ukKH0wCgYIKoZIzj0EAwIw\n\
JjEkMCIGA1UEAwwb5pmL5Z+O5biC5L+h6K6/5bGA5rWL6K+VIENBMB4XDTI2MTIw\n\
NTEwMDEyMVoXDTQ2MTEzMDEwMDEyMVowJjEkMCIGA1UEAwwb5pmL5Z+O5biC5L+h\n\
6K6/5bGA5rWL6K+VIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0QQcLEgv\n\
Khq/8rtvTsjVbnpmGMBBhJAmozTH245iKe47tvLtjX1PDT7gTALsay1WfSk9+rwB\n\
hqMDG840WSSXvKNTMFEwHQYDVR0OBBYEFGIHYCCNpmccY9RhICenLuFzji1rMB8G\n\
A1UdIwQYMBaAFGIHYCCNpmccY9RhICenLuFzji1rMA8GA1UdEwEB/wQFMAMBAf8w\n\
CgYIKoZIzj0EAwIDRwAwRAIgM0MC08j82/Rb8IYgz11du+dKgUxLwwYi00nDri4v\n\
WgcCIEwJDR3+x6N7nDJfHaKefmEwth5HSsl44s/hbnTSesyD\n\
-----END CERTIFICATE-----\n\
";

/// Issue 20: a matter and a visit are shown and asked for by their numbers (事项编号
/// `沁水-2026-11-B0017`, 来访编号 `沁水-2026-11-05-B017`), never by an id: the matter page, the
/// day's list, opening a typed number, the audit view's search and rows.
#[test]
fn matters_and_visits_go_by_their_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    state.login("clerk", PW).unwrap();
    let mut input = visit("钱检举", &id("19700101", "035"));
    input.appeal = "举报某局工作人员收受好处费。".into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let r = state.register_visit(input).unwrap().registered;
    let matter = state.matter_of_visit(&r.visit_id).unwrap();
    let page = state.matter(&matter).unwrap();
    let today = SystemClock.now_cst().date_naive();
    let month = today.format("%Y-%m").to_string();
    let number = page.matter.number.clone();
    let count = number
        .strip_prefix(&format!("沁水-{month}-"))
        .unwrap_or_else(|| panic!("{number}"));
    assert!(
        count.len() == 5
            && xinfang_core::queue::is_desk_letter(&count[..1])
            && count[1..].bytes().all(|b| b.is_ascii_digit()),
        "{number}"
    );
    // The number opens the page, typed as printed or loosely; the id still does (links).
    let loose = format!(" {} ", number.to_lowercase().replace('-', "－"));
    for typed in [number.as_str(), loose.as_str(), matter.as_str()] {
        assert_eq!(state.matter(typed).unwrap().matter.id, matter, "{typed}");
    }
    let e = state.matter("沁水-2000-01-B9999").unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(
        e.message.contains("事项编号为“沁水-2000-01-B9999”"),
        "{}",
        e.message
    );
    let unknown = "0193a7c2-5b1e-7c3d-9e4f-0a1b2c3d4e5f";
    let e = state.matter(unknown).unwrap_err();
    assert!(!e.message.contains(unknown), "{}", e.message);
    // The day's list: the visit's number and its matter's.
    let rows = state.today().unwrap();
    let row = rows.iter().find(|x| x.visit_id == r.visit_id).unwrap();
    assert_eq!(
        row.number,
        format!("沁水-{}-{}", today.format("%Y-%m-%d"), row.queue_label)
    );
    assert_eq!(row.matter_number, number);
    // The queue slip prints the visit's number (and its QR code), not its id.
    let slip = state
        .act(Action::RegisterVisit, |store, me| {
            crate::api::queue_slip(store, me, &r.visit_id, today)
        })
        .unwrap();
    assert_eq!(slip.visit_ref, row.number);
    // The audit view finds a record by its number and shows the number.
    state.login("supervisor", PW).unwrap();
    state.visit_detail(&r.visit_id).unwrap();
    state.matter(&number).unwrap();
    let q = |record: &str| crate::api::AuditQuery {
        record_id: record.into(),
        ..Default::default()
    };
    let of_matter = state.audit_entries(q(&number)).unwrap();
    // Every view of the 检举控告: the clerk's four, the supervisor's one.
    assert_eq!(of_matter.len(), 5, "{of_matter:#?}");
    assert!(
        of_matter
            .iter()
            .all(|e| e.entity_id == matter && e.entity_number == number)
    );
    let of_visit = state.audit_entries(q(&row.number)).unwrap();
    assert_eq!(of_visit.len(), 1, "{of_visit:#?}");
    assert_eq!(of_visit[0].entity_number, row.number);
}
