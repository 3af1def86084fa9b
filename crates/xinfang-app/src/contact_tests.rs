//! What a lower role sees of a person (issue 15, items 3, 4, 10) and where exports go (item 1),
//! through the commands, as each role.

use xinfang_core::staff::Role;

use crate::api::{AppState, AuditQuery, ContactField, NewStaffInput, REPORTER_MASK};
use crate::command_tests::{PW, consultation, fixture, id, mediation, visit};
use crate::error::ErrorKind;

fn add_clerk2(state: &AppState) {
    state.login("admin", PW).unwrap();
    state
        .add_staff(NewStaffInput {
            username: "clerk2".into(),
            display_name: "赵接待".into(),
            roles: vec![Role::Clerk],
            password: PW.into(),
        })
        .unwrap();
    state
        .add_staff(NewStaffInput {
            username: "mediator2".into(),
            display_name: "孙调解".into(),
            roles: vec![Role::Mediator],
            password: PW.into(),
        })
        .unwrap();
}

/// A mediation's parties are shown masked wherever the record is shown (`mediation`,
/// `visit_detail`, the answer to `log_mediation`); the full number comes through an audited
/// reveal (clerks, supervisors) or in the agreement printed by its mediator or a supervisor.
/// Both commands returned the full numbers unaudited before.
#[test]
fn mediation_parties_are_masked_and_shown_in_full_only_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (state, visit_id) = fixture(dir.path());
    add_clerk2(&state);
    let applicant = id("19800115", "013");
    let mut input = mediation(&visit_id);
    input.parties[0].phone = "13812345678".into();
    let mediator = state.login("mediator", PW).unwrap().staff;
    let saved = state.log_mediation(input).unwrap();
    assert!(saved.parties[0].id_number.contains('*'), "{saved:?}");

    let m = state.mediation(&saved.id).unwrap();
    assert_eq!(m.parties[0].id_number, m.parties[0].id_number_masked);
    assert!(!m.parties[0].id_number.contains(&applicant[6..14]));
    assert_eq!(m.parties[0].phone.as_deref(), Some("138****5678"));
    state.login("clerk", PW).unwrap();
    let d = state.visit_detail(&visit_id).unwrap();
    assert!(d.mediations[0].parties[0].id_number.contains('*'));
    assert_eq!(
        d.mediations[0].parties[0].phone.as_deref(),
        Some("138****5678")
    );

    // The reveal: the clerk may, the mediator and the lawyer may not.
    let clerk = state.login("clerk", PW).unwrap().staff;
    let reveal = |f| state.reveal_party_contact(&saved.id, 0, f);
    assert_eq!(reveal(ContactField::IdNumber).unwrap(), applicant);
    assert_eq!(reveal(ContactField::Phone).unwrap(), "13812345678");
    let e = state
        .reveal_party_contact(&saved.id, 1, ContactField::Phone)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "the respondent has no phone");
    assert_eq!(
        state
            .reveal_party_contact(&saved.id, 7, ContactField::IdNumber)
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    for who in ["mediator", "lawyer"] {
        state.login(who, PW).unwrap();
        let e = state
            .reveal_party_contact(&saved.id, 0, ContactField::IdNumber)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden, "{who}");
    }

    // The agreement: its mediator and the supervisor, not another mediator.
    state.login("mediator2", PW).unwrap();
    let e = state.mediation_agreement(&saved.id).unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Forbidden, "not_own_mediation")
    );
    state.login("mediator", PW).unwrap();
    let a = state.mediation_agreement(&saved.id).unwrap();
    assert_eq!(a.parties[0].id_number, applicant);
    assert_eq!(a.parties[0].phone.as_deref(), Some("13812345678"));

    state.login("supervisor", PW).unwrap();
    let log = state
        .audit_entries(AuditQuery {
            record_id: saved.id.clone(),
            ..Default::default()
        })
        .unwrap();
    let got: Vec<(&str, &str, &str, &str)> = log
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.staff_id.as_str(),
                e.entity_label.as_str(),
                e.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "view_full_phone",
                mediator.id.as_str(),
                "调解记录",
                "打印调解协议书"
            ),
            (
                "view_full_id",
                mediator.id.as_str(),
                "调解记录",
                "打印调解协议书"
            ),
            (
                "view_full_phone",
                clerk.id.as_str(),
                "调解记录",
                "第 1 位当事人（申请人）"
            ),
            (
                "view_full_id",
                clerk.id.as_str(),
                "调解记录",
                "第 1 位当事人（申请人）"
            ),
        ],
        "newest first; nothing for the masked views and the refusals"
    );
}

/// A 检举控告 reporter found by the history search, or opened on the visitor page, is nobody in
/// particular to whom may not see each of their reports — the rule of the lists and the export
/// (issue 15, item 10; the search hit and the page's header showed the name to everyone).
#[test]
fn the_history_and_the_visitor_page_hide_a_reporter_from_whom_may_not_see_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    add_clerk2(&state);
    state.login("clerk", PW).unwrap();
    let number = id("19700101", "035");
    // An ordinary visit first, then the report: the person has both.
    state.register_visit(visit("钱检举", &number)).unwrap();
    let mut input = visit("钱检举", &number);
    input.appeal = "举报某局工作人员收受好处费。".into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let visitor = state.register_visit(input).unwrap().registered.visitor_ids[0].clone();

    for who in ["clerk", "supervisor"] {
        state.login(who, PW).unwrap();
        let hits = state.history(&number).unwrap();
        assert_eq!(hits[0].hit.name, "钱检举", "{who}");
        assert_eq!(state.visitor_profile(&visitor).unwrap().name, "钱检举");
    }
    for who in ["clerk2", "lawyer", "mediator"] {
        state.login(who, PW).unwrap();
        let hits = state.history(&number).unwrap();
        let hit = &hits[0].hit;
        assert_eq!(hit.name, REPORTER_MASK, "{who}");
        assert!(hit.id_number_masked.is_empty() && hit.phone_masked.is_none());
        assert!(hit.birth_date.is_none() && hit.sex.is_none());
        let p = state.visitor_profile(&visitor).unwrap();
        assert_eq!(p.name, REPORTER_MASK, "{who}");
        assert!(p.id_number_masked.is_empty() && p.address.is_none());
        for row in &p.visits {
            assert_eq!(row.visitors[0].name, REPORTER_MASK, "{who}: {row:?}");
        }
    }
    // Someone else's hit is untouched.
    state.login("clerk2", PW).unwrap();
    assert_eq!(
        state.history(&id("19800115", "013")).unwrap()[0].hit.name,
        "张三"
    );
}

/// With the masked number (region, last four) a birth date gives the full ID number back in a
/// moment: only roles that may see full numbers get it (issue 15, item 4; every role did).
#[test]
fn birth_dates_only_for_roles_that_may_see_full_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    let number = id("19800115", "013");
    state.login("clerk", PW).unwrap();
    let visitor = state.history(&number).unwrap()[0].hit.visitor_id.clone();
    for (who, shown) in [
        ("clerk", true),
        ("supervisor", true),
        ("lawyer", false),
        ("mediator", false),
    ] {
        state.login(who, PW).unwrap();
        let hit = state.history(&number).unwrap().remove(0).hit;
        let profile = state.visitor_profile(&visitor).unwrap();
        let want = shown.then(|| "1980-01-15".to_owned());
        assert_eq!(hit.birth_date, want, "{who}");
        assert_eq!(profile.birth_date, want, "{who}");
        assert_eq!(hit.name, "张三");
    }
}

/// Exports go where the user says, never into the data dir, never over a file unless told;
/// `open_export` opens only what this session wrote (issue 15, item 1: every export landed in
/// `<data>/exports/` and any file of it could be opened by name).
#[test]
fn exports_go_where_the_user_chooses_and_only_those_open() {
    let dir = tempfile::tempdir().unwrap();
    let (state, visit_id) = fixture(dir.path());
    state.login("lawyer", PW).unwrap();
    state.log_consultation(consultation(&visit_id)).unwrap();
    state.login("clerk", PW).unwrap();
    let day = state.local_date().to_string();
    let data = state.data_dir().to_path_buf();
    let out = dir.path().join("文档/信访导出/来访台账.xlsx");
    let dest = out.display().to_string();
    let export = |dest: &str, overwrite| {
        state.export_ledger("visits", &day, &day, None, false, dest, overwrite)
    };

    let inside = data.join("exports/来访台账.xlsx").display().to_string();
    let e = export(&inside, false).unwrap_err();
    assert_eq!(
        (e.field.as_deref(), e.code.as_str()),
        (Some("dest"), "dest_in_data_dir")
    );
    assert!(e.message.contains("不加密"), "{}", e.message);
    let x = export(&dest, false).unwrap();
    assert_eq!(x.path, dest);
    assert!(out.is_file());
    let e = export(&dest, false).unwrap_err();
    assert_eq!(e.code, "dest_exists");
    export(&dest, true).unwrap();
    assert!(!data.join("exports").exists());

    // Opened only by the path this session wrote.
    std::fs::write(dir.path().join("别的.xlsx"), b"x").unwrap();
    let e = state
        .open_export(&dir.path().join("别的.xlsx").display().to_string())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    state.login("supervisor", PW).unwrap();
    let e = state.open_export(&dest).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::NotFound,
        "another session did not write it"
    );

    // Each export is in the audit log, the refused ones not.
    let log = state
        .audit_entries(AuditQuery::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "export")
        .count();
    assert_eq!(log, 2);
}

/// The live photo (issue 19): kept by whom may register, shown to every role that may see the
/// visitor's details, and — as the reporter's name — to none of those from whom a 检举控告
/// reporter is hidden. A bad photo is refused at its field.
#[test]
fn the_photo_is_shown_with_the_visitors_details_and_hidden_with_a_reporter() {
    use xinfang_core::photo::encode_photo;
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = fixture(dir.path());
    add_clerk2(&state);
    let jpeg = {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
        b.resize(3000, 7);
        b.extend([0xFF, 0xD9]);
        encode_photo(&b)
    };
    state.login("clerk", PW).unwrap();
    let plain = state
        .register_visit(visit("孙拍照", &id("19820202", "017")))
        .unwrap()
        .registered;
    let mut input = visit("钱检举", &id("19700101", "035"));
    input.appeal = "举报某局工作人员收受好处费。".into();
    input.appeal_kind = "report".into();
    input.category = "纪检监察".into();
    let report = state.register_visit(input).unwrap().registered;
    for r in [&plain, &report] {
        state
            .save_visit_photo(&r.visit_id, &r.visitor_ids[0], &jpeg)
            .unwrap();
    }
    let e = state
        .save_visit_photo(&plain.visit_id, &plain.visitor_ids[0], "R0lGODlh")
        .unwrap_err();
    assert_eq!(
        (e.kind, e.field.as_deref()),
        (ErrorKind::Validation, Some("photo"))
    );
    assert!(e.message.contains("照片"), "{}", e.message);

    for who in ["clerk", "clerk2", "lawyer", "mediator", "supervisor"] {
        state.login(who, PW).unwrap();
        let photo = state.visitor_photo(&plain.visitor_ids[0]).unwrap();
        assert_eq!(photo.map(|p| p.jpeg), Some(jpeg.clone()), "{who}");
        let reporter = state.visitor_photo(&report.visitor_ids[0]).unwrap();
        let sees_report = matches!(who, "clerk" | "supervisor");
        assert_eq!(reporter.is_some(), sees_report, "{who}");
    }
}
