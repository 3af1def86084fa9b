//! The form of each step of a matter: its inputs, their Chinese labels and kinds. The desk's
//! step form shows this list (generated into `ui/src/api/bindings/stepFields.ts`) and the app
//! layer reads a submitted form against it, so the form and the reader cannot drift apart.

use serde::Serialize;

use super::{EventKind, OPINION_RESULTS};

/// What kind of input a field of a step's form is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StepInput {
    /// `YYYY-MM-DD`.
    Date,
    Text,
    Textarea,
    /// A whole number of days (an extension).
    Days,
    /// A code of the legal-route list.
    Route,
    /// One of the field's `options`.
    Choice,
}

/// One input of a step's form; `name` is the field of [`super::MatterEvent`] it fills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StepField {
    pub name: String,
    /// As the form shows it; a hint in （…） is left out when a message names the field.
    pub label: String,
    #[serde(rename = "type")]
    pub input: StepInput,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub placeholder: Option<String>,
    /// May be left empty (a date left empty is then not sent).
    pub optional: bool,
    /// The choices of a [`StepInput::Choice`]; empty for other inputs.
    pub options: Vec<String>,
}

impl StepField {
    fn new(name: &str, label: &str, input: StepInput) -> StepField {
        StepField {
            name: name.to_owned(),
            label: label.to_owned(),
            input,
            placeholder: None,
            optional: false,
            options: Vec::new(),
        }
    }

    fn options(mut self, options: &[&str]) -> StepField {
        self.options = options.iter().map(|o| (*o).to_owned()).collect();
        self
    }

    fn optional(mut self) -> StepField {
        self.optional = true;
        self
    }

    fn hint(mut self, placeholder: &str) -> StepField {
        self.placeholder = Some(placeholder.to_owned());
        self
    }

    /// The label without its hint, for messages: 不予受理理由（写入告知书） → 不予受理理由.
    pub fn name_zh(&self) -> &str {
        self.label.split('（').next().unwrap_or(&self.label)
    }
}

/// The inputs of the form of a step of `kind`, in the form's order.
pub fn step_fields(kind: EventKind) -> Vec<StepField> {
    use StepInput::{Choice, Date, Days, Route, Text, Textarea};
    let f = StepField::new;
    let at = || f("at", "日期", Date);
    let authority = |label: &str| f("to_authority", label, Text).hint("有权处理的机关、单位");
    match kind {
        EventKind::Accept => vec![at(), f("notice_no", "受理告知书文号（可不填）", Text)],
        EventKind::Reject => vec![at(), f("reason", "不予受理理由（写入告知书）", Textarea)],
        EventKind::Forward => vec![
            at(),
            authority("转送机关"),
            f("report_back_by", "报告期限（可不填）", Date).optional(),
        ],
        EventKind::Assign => vec![
            at(),
            authority("交办机关"),
            f("report_back_by", "报告期限", Date),
        ],
        EventKind::ReceiveTransfer => vec![f("at", "有权机关收到日期", Date)],
        EventKind::ObjectTransfer => vec![
            f("at", "异议日期", Date),
            f("reason", "异议理由（不属于其职权范围的理由）", Textarea),
        ],
        EventKind::GuideToLegalRoute => vec![at(), f("route_code", "法定途径", Route)],
        EventKind::ReportBack => vec![at(), f("summary", "报告的办理情况", Textarea)],
        EventKind::StartHandling | EventKind::Close => vec![at()],
        EventKind::Extend => vec![
            at(),
            f("days", "延长天数", Days),
            f("approver", "批准人", Text).hint("本机关、单位负责人"),
            f("reason", "延期理由（告知信访人）", Textarea),
        ],
        EventKind::Conclude => vec![
            at(),
            f("result", "处理结果", Choice).options(&OPINION_RESULTS),
            f("opinion_summary", "信访处理意见摘要", Textarea),
            f("facts_reasons", "事实和理由（写入处理意见书）", Textarea),
            f("legal_basis", "法律法规依据（写入处理意见书）", Textarea),
        ],
        EventKind::OpinionReceived => vec![f("at", "送达日期", Date)],
        EventKind::RequestReview => vec![
            at(),
            f("body", "复查机关", Text).hint("原办理机关的上一级机关"),
        ],
        EventKind::ReviewOpinion => vec![at(), f("summary", "复查意见摘要", Textarea)],
        EventKind::RequestReReview => vec![
            at(),
            f("body", "复核机关", Text).hint("复查机关的上一级机关"),
        ],
        EventKind::Hearing => vec![
            f("notice_on", "听证通知日期（可不填）", Date).optional(),
            f("date", "听证日期", Date),
            f("chair", "主持人", Text),
            f("panel", "听证员（每行一人，或用“、”分隔）", Textarea),
            f("participants", "参加人（每行一人，或用“、”分隔）", Textarea),
            f("record", "听证记录", Textarea),
            f("opinion", "评议意见", Textarea),
        ],
        EventKind::ReReviewOpinion => vec![at(), f("summary", "复核意见摘要", Textarea)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matter::MatterEvent;

    /// Every field a step's event needs has an input, and no input fills nothing: a form filled
    /// in from the list alone reads as that step's event.
    #[test]
    fn each_form_fills_exactly_its_event() {
        for kind in EventKind::ALL {
            let mut form = serde_json::Map::new();
            form.insert("kind".into(), serde_json::to_value(kind).unwrap());
            for field in step_fields(kind) {
                let value = match field.input {
                    StepInput::Date => "2026-11-26".into(),
                    StepInput::Days => 30.into(),
                    StepInput::Choice => field.options[0].clone().into(),
                    _ if matches!(field.name.as_str(), "participants" | "panel") => {
                        serde_json::json!(["张三"])
                    }
                    _ => "内容".into(),
                };
                assert!(
                    form.insert(field.name.clone(), value).is_none(),
                    "{kind:?}: {} twice",
                    field.name
                );
            }
            let event: MatterEvent = serde_json::from_value(form.clone().into())
                .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(event.kind(), kind);
            // Each input is a field of the event: dropping it changes what is read.
            let back = serde_json::to_value(&event).unwrap();
            for field in step_fields(kind) {
                assert!(
                    back.get(&field.name).is_some(),
                    "{kind:?}: {} unread",
                    field.name
                );
            }
        }
        assert_eq!(step_fields(EventKind::Reject)[1].name_zh(), "不予受理理由");
    }
}
