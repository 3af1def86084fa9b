//! The steps of a matter as replicas hold them, and their one fold: every replica holding the
//! same steps derives the same state, whatever order they arrived in.

use chrono::NaiveDate;

use super::{MatterEvent, MatterState, apply, check_step};
use crate::calendar::HolidayCalendar;
use crate::reference::AppealKind;

/// What a step records as its `prev` when it is the first step of its matter (a word, not an
/// empty text: replicas store an empty text as "nothing").
pub const FIRST_STEP: &str = "first";

/// The `prev` a step was recorded with: `None` unknown (older steps), `FIRST_STEP`, or an id.
pub fn parse_prev(recorded: Option<&str>) -> Option<Option<String>> {
    match recorded {
        None | Some("") => None,
        Some(FIRST_STEP) => Some(None),
        Some(id) => Some(Some(id.to_owned())),
    }
}

/// One recorded step of a matter, as every replica holds it: each step is a record of its own
/// (a UUID), never overwritten by another desk's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: String,
    /// The hybrid-logical-clock stamp of the change that recorded it: orders steps of one day
    /// the way the desks saw them (a step recorded after pulling another sorts after it).
    pub hlc: i64,
    pub event: MatterEvent,
    /// The step that stood last on the recording desk when it was recorded: `Some(None)` for
    /// the first step of a matter, `None` when not known (steps recorded before it was kept).
    pub prev: Option<Option<String>>,
    /// Set aside by a supervisor resolving a conflict: not folded.
    pub voided: bool,
}

/// A step the fold could not apply: it clashes with the steps before it (e.g. 受理 recorded
/// offline at one desk while another desk recorded 转送). Kept, and shown to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedStep {
    pub step_id: String,
    /// The applied step it clashes with.
    pub competitor: Option<String>,
    /// Why (Chinese).
    pub reason: String,
}

/// What the kind's procedure needs to know of a matter to judge its steps: its kind of appeal
/// and, for a report, the unit reported (the visit's agency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub kind: AppealKind,
    pub agency: Option<&'a str>,
}

/// What the steps of a matter make of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub state: MatterState,
    /// Ids of the applied steps, in fold order.
    pub applied: Vec<String>,
    pub refused: Vec<RefusedStep>,
}

/// Folds all steps of a matter in the one order every replica agrees on — (the step's date,
/// its HLC stamp, its id) — so every replica holding the same steps derives the same status,
/// state and deadlines, whatever order the steps arrived in. A step is refused (kept, listed in
/// `refused`, not applied) when `apply` refuses it at its place, or when it was recorded
/// concurrently with another step — both on the same previous step — and both decide where the
/// matter goes (each changes its status from there: 受理 at one desk, 转送 at another), so a
/// person chooses. Concurrent steps that do not both move the status (延期 beside 开始办理)
/// both stand. A step the matter's kind never takes (`check_step`: a 复查 of a suggestion, a
/// report sent to the unit reported) is refused too: it arrived from a desk that still saw
/// another kind, or the matter was reclassified meanwhile. Voided steps are skipped.
pub fn fold_steps(
    received_on: NaiveDate,
    subject: Subject<'_>,
    steps: &[Step],
    cal: &HolidayCalendar,
) -> Folded {
    let mut order: Vec<&Step> = steps.iter().collect();
    order.sort_by(|a, b| (a.event.date(), a.hlc, &a.id).cmp(&(b.event.date(), b.hlc, &b.id)));
    let initial = MatterState::registered(received_on, cal);
    // The applied steps with the state after each.
    let mut history: Vec<(&Step, MatterState)> = Vec::new();
    let mut refused = Vec::new();
    for step in order {
        if step.voided {
            continue;
        }
        if let Err(e) = check_step(subject.kind, subject.agency, &step.event) {
            refused.push(RefusedStep {
                step_id: step.id.clone(),
                competitor: None,
                reason: e.message,
            });
            continue;
        }
        let last_id = history.last().map(|(s, _)| s.id.as_str());
        if let Some(prev) = &step.prev
            && prev.as_deref() != last_id
        {
            // Recorded without knowing the steps after `prev`: did it race the next one?
            let base = match prev.as_deref() {
                None => Some(0),
                Some(p) => history.iter().position(|(s, _)| s.id == p).map(|k| k + 1),
            };
            if let Some(k) = base
                && let Some((raced, raced_state)) = history.get(k)
            {
                let base_state = if k == 0 { &initial } else { &history[k - 1].1 };
                let raced_moves = raced_state.status != base_state.status;
                let mine_moves = apply(base_state, &step.event, cal)
                    .map_or(true, |n| n.status != base_state.status);
                if raced_moves && mine_moves {
                    refused.push(RefusedStep {
                        step_id: step.id.clone(),
                        competitor: Some(raced.id.clone()),
                        reason: format!(
                            "与其他设备同时登记的「{}」相冲突（两台设备在离线时对同一事项作出了不同的处理），\
                             请负责人确定保留哪一个环节。",
                            raced.event.kind().label_zh()
                        ),
                    });
                    continue;
                }
            }
        }
        let current = history.last().map_or(&initial, |(_, st)| st);
        match apply(current, &step.event, cal) {
            Ok(next) => history.push((step, next)),
            Err(e) => refused.push(RefusedStep {
                step_id: step.id.clone(),
                competitor: history.last().map(|(s, _)| s.id.clone()),
                reason: e.message,
            }),
        }
    }
    Folded {
        applied: history.iter().map(|(s, _)| s.id.clone()).collect(),
        state: history.pop().map_or(initial, |(_, st)| st),
        refused,
    }
}
