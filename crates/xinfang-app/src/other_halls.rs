//! The visitor's matters at the city's other halls, asked of the city at registration
//! (重复访, 不再受理 and 越级访 across halls): the answer when the city replies within a few
//! seconds, else the last answer this desk kept, dated, else a note saying why none is shown.
//! The network question is asked without holding the store.

use serde::Serialize;
use xinfang_core::matter::{MatterState, MatterStatus, OtherHallRemark, other_hall_remark};
use xinfang_core::reference::AppealKind;
use xinfang_core::regions::Regions;
use xinfang_core::staff::Action;
use xinfang_store::Store;
use xinfang_sync::client::{SyncError, quick_client};
use xinfang_sync::wire::{OtherHallMatter, PersonMattersRequest, PersonMattersResponse};

use crate::api::AppState;
use crate::error::CmdResult;

/// One matter of the visitor at another hall, as the registration form lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OtherHallEntry {
    /// Only a key for the list: never shown.
    pub matter_id: String,
    pub hall_name: String,
    pub received_on: String,
    pub status_label: String,
    pub appeal_kind_label: String,
    pub category_name: String,
    pub appeal: String,
    pub agency: String,
    pub visits: i64,
    pub last_visit_at: String,
    pub remark: OtherHallRemark,
}

/// The visitor's matters at other halls and where the list comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OtherHallMatters {
    pub entries: Vec<OtherHallEntry>,
    /// Whether the city answered just now.
    pub live: bool,
    /// When the list shown was asked of the city (RFC 3339); `None` when never.
    pub fetched_at: Option<String>,
    /// Why the list is not live, or empty (Chinese).
    pub note: String,
}

impl AppState {
    /// The matters of the person with `id_number` at the city's other halls (clerks at
    /// registration; a report matter is never among them: the city leaves those out).
    pub fn other_hall_matters(&self, id_number: &str) -> CmdResult<OtherHallMatters> {
        let id = id_number.trim().to_uppercase();
        let client = self.act(Action::RegisterVisit, |store, _| Ok(quick_client(store)))?;
        if id.is_empty() {
            return Ok(OtherHallMatters {
                entries: Vec::new(),
                live: false,
                fetched_at: None,
                note: String::new(),
            });
        }
        // Asked while the store stays free for the clerk's other work.
        let asked = client.and_then(|c| {
            c.person_matters(&PersonMattersRequest {
                id_number: id.clone(),
            })
        });
        self.act(Action::RegisterVisit, |store, _| {
            Ok(other_hall_matters(store, &id, asked)?)
        })
    }
}

/// Keeps a fresh answer, or falls back to the kept one, and makes the list.
pub fn other_hall_matters(
    store: &Store,
    id_number: &str,
    asked: Result<PersonMattersResponse, SyncError>,
) -> xinfang_store::Result<OtherHallMatters> {
    let (seen, live, note) = match asked {
        Ok(resp) => (
            Some(store.remember_other_hall_matters(id_number, &resp.matters)?),
            true,
            String::new(),
        ),
        Err(e) => {
            let seen = store.seen_other_hall_matters(id_number)?;
            let why = match &e {
                SyncError::NotEnrolled => {
                    "本机未登记到市局服务器，只能显示本大厅的事项。".to_owned()
                }
                e if e.is_offline() => "暂时连不上市局服务器".to_owned(),
                e => format!("未能从市局服务器查询（{e}）"),
            };
            let note = match (&e, &seen) {
                (SyncError::NotEnrolled, _) => why,
                (_, Some(s)) => format!(
                    "{why}：以下是{}从市局查到的其他大厅事项，此后可能已有变化。",
                    minute_of(&s.fetched_at)
                ),
                (_, None) => format!(
                    "{why}，本机也没有此前查询的记录：其他大厅的事项暂时无法显示，联网后再查即可。"
                ),
            };
            (seen, false, note)
        }
    };
    let entries = match &seen {
        Some(s) => s.matters.iter().map(|m| entry(store, m)).collect(),
        None => Vec::new(),
    };
    Ok(OtherHallMatters {
        entries,
        live,
        fetched_at: seen.map(|s| s.fetched_at),
        note,
    })
}

/// `2026-12-03T09:30:12+08:00` as `2026-12-03 09:30`.
fn minute_of(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

fn entry(store: &Store, m: &OtherHallMatter) -> OtherHallEntry {
    let state: Option<MatterState> = serde_json::from_str(&m.state).ok();
    let status =
        serde_json::from_value::<MatterStatus>(serde_json::Value::String(m.status.clone()))
            .unwrap_or(MatterStatus::Registered);
    let remark = state.as_ref().map_or_else(OtherHallRemark::default, |s| {
        other_hall_remark(
            s,
            &m.hall_code,
            &xinfang_core::notice::hall_names(&m.hall_code, Regions::bundled()).0,
            store.hall_code(),
            Regions::bundled(),
        )
    });
    let reference = store.reference_data();
    OtherHallEntry {
        matter_id: m.matter_id.clone(),
        hall_name: if m.hall_name.is_empty() {
            xinfang_core::notice::hall_names(&m.hall_code, Regions::bundled()).1
        } else {
            m.hall_name.clone()
        },
        received_on: m.received_on.clone(),
        status_label: state
            .as_ref()
            .map_or_else(|| status.label_zh(), MatterState::status_label)
            .to_owned(),
        appeal_kind_label: AppealKind::parse(&m.appeal_kind)
            .map_or("", AppealKind::label_zh)
            .to_owned(),
        category_name: reference
            .category(&m.category_code)
            .map_or_else(|| m.category_code.clone(), |c| c.name.clone()),
        appeal: m.appeal.clone(),
        agency: m.agency.clone(),
        visits: m.visits,
        last_visit_at: m.last_visit_at.clone(),
        remark,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matter(hall: &str, status: &str) -> OtherHallMatter {
        OtherHallMatter {
            hall_code: hall.into(),
            hall_name: String::new(),
            matter_id: "m-1".into(),
            received_on: "2026-11-20".into(),
            appeal_kind: "claim".into(),
            category_code: "劳动和社会保障".into(),
            appeal: "拖欠工资".into(),
            agency: "沁水县人社局".into(),
            place_code: hall.into(),
            status: status.into(),
            state: String::new(),
            visits: 2,
            last_visit_at: "2026-11-25T09:30:00+08:00".into(),
        }
    }

    const ID: &str = "140521198001150135";

    #[test]
    fn the_last_answer_is_shown_dated_when_the_city_cannot_be_reached() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create_unencrypted(dir.path(), "140500").unwrap();
        let offline = || SyncError::Offline("https://city".into(), "connection refused".into());

        // Never asked: nothing to show, and the note says why.
        let got = other_hall_matters(&store, ID, Err(offline())).unwrap();
        assert!(got.entries.is_empty() && !got.live && got.fetched_at.is_none());
        assert!(
            got.note.contains("本机也没有此前查询的记录"),
            "{}",
            got.note
        );

        // Answered: kept, listed with the hall's name from the regions and labels in Chinese.
        let answer = PersonMattersResponse {
            matters: vec![matter("140521", "accepted")],
        };
        let got = other_hall_matters(&store, ID, Ok(answer)).unwrap();
        assert!(got.live && got.note.is_empty());
        assert_eq!(got.entries[0].hall_name, "沁水县信访接待大厅");
        assert_eq!(
            got.entries[0].status_label,
            MatterStatus::Accepted.label_zh()
        );
        assert_eq!(got.entries[0].appeal_kind_label, "申诉求决类");

        // Then the line is cut: the same list, not live, with the time it was asked.
        let later = other_hall_matters(&store, &ID.to_lowercase(), Err(offline())).unwrap();
        assert!(!later.live);
        assert_eq!(later.entries, got.entries);
        assert_eq!(later.fetched_at, got.fetched_at);
        let minute = minute_of(got.fetched_at.as_deref().unwrap());
        assert!(later.note.contains(&minute), "{} / {minute}", later.note);

        // A desk never enrolled says so, and still shows what it kept.
        let got = other_hall_matters(&store, ID, Err(SyncError::NotEnrolled)).unwrap();
        assert!(got.note.contains("未登记到市局服务器"), "{}", got.note);
        assert_eq!(got.entries.len(), 1);
    }
}
