//! Procedure by kind of appeal (建议意见类, 检举控告类, 申诉求决类): which steps each kind takes
//! and where a report may not be sent. The rules are data (`assets/procedures.json`), read here
//! once; [`allowed_for_kind`] trims the buttons and [`check_step`] refuses the rest.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{EventKind, MatterEvent};
use crate::error::FieldError;
use crate::reference::AppealKind;

/// How matters of one kind are handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    pub kind: AppealKind,
    pub name: String,
    /// The results its 处理意见书 may give (a suggestion is adopted or not; a claim supported
    /// or not), each one of `OPINION_RESULTS`.
    pub results: Vec<String>,
    /// What the regulation asks for this kind, in a sentence the clerk can read.
    pub handling: String,
    /// Steps this kind never takes.
    pub not_allowed: Vec<EventKind>,
    /// A report is never forwarded or assigned to the unit or person it is about.
    pub never_to_reported: bool,
    /// Where matters of this kind are sent, for the transfer form's hint.
    pub destination_hint: String,
    pub basis: String,
}

/// The procedure of `kind`, from `assets/procedures.json`.
pub fn procedure(kind: AppealKind) -> &'static Procedure {
    static ALL: OnceLock<Vec<Procedure>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        // Checked by the tests: every kind once; a broken file is a broken build.
        serde_json::from_str(include_str!("../../../../assets/procedures.json"))
            .expect("assets/procedures.json is valid")
    });
    all.iter()
        .find(|p| p.kind == kind)
        .expect("assets/procedures.json lists every kind of appeal")
}

/// Drops from `allowed` the steps `kind` never takes.
pub fn allowed_for_kind(kind: AppealKind, allowed: &mut Vec<EventKind>) {
    let p = procedure(kind);
    allowed.retain(|k| !p.not_allowed.contains(k));
}

/// Whether a matter of `kind` about `agency` (the unit the appeal concerns; for a report, the
/// unit reported) may take `event`. Called before [`super::apply`] on new steps.
pub fn check_step(
    kind: AppealKind,
    agency: Option<&str>,
    event: &MatterEvent,
) -> Result<(), FieldError> {
    let p = procedure(kind);
    let step = event.kind();
    if p.not_allowed.contains(&step) {
        return Err(FieldError::new(
            "event",
            "not_for_kind",
            format!(
                "{}事项不能「{}」。{}依据：{}。如事项类别有误，请先更正分类。",
                p.name,
                step.label_zh(),
                p.handling,
                p.basis
            ),
        ));
    }
    if let MatterEvent::Conclude { details, .. } = event {
        let result = details.result.trim();
        if !result.is_empty() && !p.results.iter().any(|r| r == result) {
            return Err(FieldError::new(
                "result",
                "result_not_for_kind",
                format!(
                    "{}事项的处理结果应为：{}，不能是“{result}”。",
                    p.name,
                    p.results.join("、")
                ),
            ));
        }
        return Ok(());
    }
    let to = match event {
        MatterEvent::Forward { to_authority, .. } | MatterEvent::Assign { to_authority, .. } => {
            to_authority.trim()
        }
        _ => return Ok(()),
    };
    let reported = agency.map(str::trim).unwrap_or_default();
    if p.never_to_reported && !to.is_empty() && !reported.is_empty() && same_unit(to, reported) {
        return Err(FieldError::new(
            "to_authority",
            "transfer_to_reported",
            format!(
                "该检举控告针对「{reported}」，不能转送、交办给被检举控告的单位或人员。\
                 请按管辖权限转送{}。",
                p.destination_hint
            ),
        ));
    }
    Ok(())
}

/// Whether a matter whose recorded steps are `steps` may become a matter of `kind`: every step
/// must be one the new kind takes (a suggestion has no 复查, a report is never with the unit it
/// reports), else the clerk is told which step stands in the way. The fold would refuse it.
pub fn check_kind_change(
    kind: AppealKind,
    agency: Option<&str>,
    steps: &[MatterEvent],
) -> Result<(), FieldError> {
    for step in steps {
        if let Err(e) = check_step(kind, agency, step) {
            let p = procedure(kind);
            return Err(FieldError::new(
                "appeal_kind",
                "kind_does_not_fit_steps",
                format!(
                    "该事项已登记「{}」（{}），不能改为{}：{}",
                    step.kind().label_zh(),
                    step.date(),
                    p.name,
                    e.message.replace("如事项类别有误，请先更正分类。", "")
                ),
            ));
        }
    }
    Ok(())
}

/// Whether two names of units are the same unit as typed: equal, or one inside the other once
/// spaces are dropped (沁水县住建局 / 沁水县住建局办公室).
fn same_unit(a: &str, b: &str) -> bool {
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let (a, b) = (squash(a), squash(b));
    a.contains(&b) || b.contains(&a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_procedure() {
        for kind in AppealKind::ALL {
            let p = procedure(kind);
            assert_eq!(p.kind, kind);
            assert!(p.basis.contains('《'));
            assert!(!p.results.is_empty());
            for r in &p.results {
                assert!(super::super::OPINION_RESULTS.contains(&r.as_str()), "{r}");
            }
        }
    }

    #[test]
    fn a_suggestion_is_adopted_or_not_and_a_claim_supported_or_not() {
        use super::super::OpinionDetails;
        let conclude = |result: &str| MatterEvent::Conclude {
            at: "2026-03-02".parse().unwrap(),
            opinion_summary: "答复".into(),
            details: OpinionDetails {
                result: result.into(),
                ..Default::default()
            },
        };
        assert!(check_step(AppealKind::Suggestion, None, &conclude("部分采纳")).is_ok());
        let e = check_step(AppealKind::Suggestion, None, &conclude("支持")).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("result", "result_not_for_kind")
        );
        assert!(
            e.message.contains("采纳、部分采纳、不予采纳"),
            "{}",
            e.message
        );
        assert!(check_step(AppealKind::Claim, None, &conclude("解释说明")).is_ok());
        assert!(check_step(AppealKind::Claim, None, &conclude("采纳")).is_err());
        // Opinions recorded before results were asked for have none.
        assert!(check_step(AppealKind::Claim, None, &conclude("")).is_ok());
    }
}
