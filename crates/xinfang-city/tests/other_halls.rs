//! Issue 16: a visitor's matters at the city's other halls, asked at registration. Real desks
//! of two halls (stores in temp dirs), the real `xinfang-city` binary on loopback, real HTTP:
//! the city hall sees the matter 沁水 is handling, with the 越级 remark the core makes of it;
//! a report never leaves its hall; the asking hall's own matters are not sent back; the city
//! logs who asked, without the full number.

mod common;

use common::{Desk, Server, now};
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::{MatterEvent, MatterState, other_hall_remark};
use xinfang_core::reference::ReferenceData;
use xinfang_core::regions::Regions;
use xinfang_core::visit::validate_visit;
use xinfang_sync::client::{SyncError, quick_client};
use xinfang_sync::wire::{PersonMattersRequest, PersonMattersResponse};

const QINSHUI: &str = "140521";
const CITY_HALL: &str = "140500";

fn ask(desk: &Desk, id_number: &str) -> Result<PersonMattersResponse, SyncError> {
    let mut store = desk.open();
    quick_client(&mut store)?.person_matters(&PersonMattersRequest {
        id_number: id_number.into(),
    })
}

fn enrolled(server: &Server, hall: &str, seed: u64) -> Desk {
    let desk = Desk::new(hall, seed);
    desk.enrol(&server.url, &server.enrol_code(hall)).unwrap();
    desk
}

/// Registers a visit of `id_number` of `kind` at `desk` and returns its matter.
fn register(desk: &mut Desk, id_number: &str, kind: &str, appeal: &str) -> String {
    let v = desk.visitor(id_number);
    let mut input = desk.visit_input(vec![v]);
    input.appeal_kind = kind.into();
    input.appeal = appeal.into();
    input.agency = "沁水县人社局".into();
    let valid = validate_visit(&input, ReferenceData::bundled(), now()).unwrap();
    desk.open()
        .register_visit(&valid, &desk.clerk.id)
        .unwrap()
        .matter_id
}

common::both_backends! {
fn the_city_hall_sees_the_matter_a_county_is_handling_and_never_a_report() {
    let server = Server::start();
    let mut qinshui = enrolled(&server, QINSHUI, 1);
    let city = enrolled(&server, CITY_HALL, 2);
    let person = qinshui.resident_id();

    let claim = register(
        &mut qinshui,
        &person,
        "claim",
        "拖欠工资三个月，请求协调支付。",
    );
    let cal = HolidayCalendar::bundled();
    let accepted_on = now().date_naive();
    qinshui
        .open()
        .record_event(
            &claim,
            &MatterEvent::Accept {
                at: accepted_on,
                notice_no: None,
            },
            &qinshui.clerk.id,
            &cal,
        )
        .unwrap();
    register(&mut qinshui, &person, "report", "检举某局长收受财物。");
    // Asked before 沁水 synced: the city knows nothing yet.
    assert!(ask(&city, &person).unwrap().matters.is_empty());
    qinshui.sync().unwrap();

    let found = ask(&city, &person).unwrap().matters;
    assert_eq!(found.len(), 1, "the report stays with its hall: {found:?}");
    let m = &found[0];
    assert_eq!(m.matter_id, claim);
    assert_eq!(m.hall_code, QINSHUI);
    assert_eq!(m.status, "accepted");
    assert_eq!(m.appeal_kind, "claim");
    assert_eq!(m.appeal, "拖欠工资三个月，请求协调支付。");
    assert_eq!(m.agency, "沁水县人社局");
    assert_eq!(m.visits, 1);
    // The state the city derived from the steps is the desks' own: the core judges it.
    let state: MatterState = serde_json::from_str(&m.state).unwrap();
    let remark = other_hall_remark(
        &state,
        QINSHUI,
        "沁水县信访局",
        CITY_HALL,
        Regions::bundled(),
    );
    assert!(remark.not_accepted_again);
    assert!(remark.skip_level.flagged);
    assert_eq!(remark.skip_level.local_code, QINSHUI);
    assert!(remark.message.starts_with("越级访"), "{}", remark.message);

    // Matching is by document, any letter case; the hall's own matters are not sent back.
    assert_eq!(ask(&city, &person.to_lowercase()).unwrap().matters.len(), 1);
    assert!(ask(&qinshui, &person).unwrap().matters.is_empty());
    // A number nobody has: nothing; no number: refused in Chinese.
    assert!(ask(&city, "140521199001011234").unwrap().matters.is_empty());
    let Err(SyncError::Server {
        status, message, ..
    }) = ask(&city, "  ")
    else {
        panic!("an empty number is refused");
    };
    assert_eq!(status, 422);
    assert!(message.contains("证件号码"), "{message}");

    // The city's log says which desk asked, with the number masked.
    let logged = server.rows("SELECT detail FROM city_log WHERE action = 'person_matters'");
    assert!(logged.len() >= 4, "{logged:?}");
    assert!(logged.iter().all(|d| !d.contains(&person)), "{logged:?}");
    assert!(logged.iter().any(|d| d.contains(&person[..6])));
}
}

common::both_backends! {
fn a_desk_without_a_valid_token_is_refused() {
    let server = Server::start();
    let (status, body) = server.post_json(
        "/v1/sync/person-matters",
        Some("not-a-token"),
        &serde_json::json!({ "id_number": "140521198001150135" }),
    );
    assert_eq!(status, 401, "{body}");
}
}
