//! 访调对接 (DOMAIN.md §1): the clerk hands a visitor to the lawyer or the mediator desk, the
//! lawyer logs a consultation (法律咨询记录), the mediator a mediation (调解记录).
//!
//! Everything here is a rule or a form check; the store keeps the records and the app shows them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, ValidationErrors};
use crate::hall::HallCode;
use crate::id::{IdType, Sex, check_document_detailed, parse_id_type};
use crate::reference::ReferenceData;
use crate::regions::Regions;

// The mediator's record lives in `mediation`; its names stay reachable here, where the other
// desks' records are.
pub use crate::mediation::*;

/// Longest question, facts, advice, agreement or note, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest consultation, in minutes (a working day).
pub const MAX_DURATION_MINUTES: u32 = 480;

/// The two desks a visitor can be handed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Desk {
    /// 值班律师 (法律咨询)
    Lawyer,
    /// 人民调解员 (人民调解)
    Mediator,
}

impl Desk {
    pub const ALL: [Desk; 2] = [Desk::Lawyer, Desk::Mediator];

    pub fn code(self) -> &'static str {
        match self {
            Desk::Lawyer => "lawyer",
            Desk::Mediator => "mediator",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Desk::Lawyer => "律师咨询",
            Desk::Mediator => "人民调解",
        }
    }

    pub fn parse(s: &str) -> Option<Desk> {
        Self::ALL.into_iter().find(|d| d.code() == s.trim())
    }
}

/// Where one hand-off stands in its desk's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum HandoffState {
    /// In the queue, nobody has taken it yet.
    Waiting,
    /// Taken by a lawyer or mediator, record not yet logged.
    Taken,
    /// Record logged (or handed on).
    Done,
}

impl HandoffState {
    pub fn code(self) -> &'static str {
        match self {
            HandoffState::Waiting => "waiting",
            HandoffState::Taken => "taken",
            HandoffState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<HandoffState> {
        [
            HandoffState::Waiting,
            HandoffState::Taken,
            HandoffState::Done,
        ]
        .into_iter()
        .find(|h| h.code() == s)
    }

    pub fn is_open(self) -> bool {
        self != HandoffState::Done
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            HandoffState::Waiting => "排队中",
            HandoffState::Taken => "接待中",
            HandoffState::Done => "已完成",
        }
    }
}

/// A visit's status as 今日来访 shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    /// 待接待: registered, not yet handed on or handled.
    Waiting,
    /// 律师咨询中: in the lawyer's queue or with the lawyer.
    WithLawyer,
    /// 调解中: in the mediator's queue or with the mediator.
    InMediation,
    /// 已处理: every hand-off done, or closed by the clerk.
    Handled,
}

impl VisitStatus {
    pub fn label_zh(self) -> &'static str {
        match self {
            VisitStatus::Waiting => "待接待",
            VisitStatus::WithLawyer => "律师咨询中",
            VisitStatus::InMediation => "调解中",
            VisitStatus::Handled => "已处理",
        }
    }
}

/// The status of a visit from its hand-offs and whether the clerk closed it.
/// Mediation outranks the lawyer: a visitor handed on is with the mediator.
pub fn visit_status(handoffs: &[(Desk, HandoffState)], closed: bool) -> VisitStatus {
    let open = |desk| handoffs.iter().any(|&(d, s)| d == desk && s.is_open());
    if closed {
        VisitStatus::Handled
    } else if open(Desk::Mediator) {
        VisitStatus::InMediation
    } else if open(Desk::Lawyer) {
        VisitStatus::WithLawyer
    } else if handoffs.is_empty() {
        VisitStatus::Waiting
    } else {
        VisitStatus::Handled
    }
}

/// Whether a visit may be sent to `desk` now: not twice into the same queue, not once closed.
pub fn may_hand_off(
    handoffs: &[(Desk, HandoffState)],
    closed: bool,
    desk: Desk,
) -> Result<(), FieldError> {
    if closed {
        return Err(FieldError::new(
            "visit_id",
            "visit_closed",
            "该来访已标记为已处理，不能再转交；如需继续接待，请重新登记来访。",
        ));
    }
    if handoffs.iter().any(|&(d, s)| d == desk && s.is_open()) {
        return Err(FieldError::new(
            "desk",
            "already_queued",
            format!("该来访人已在{}队列中，无需重复转交。", desk.label_zh()),
        ));
    }
    Ok(())
}

/// Whether the clerk may mark a visit handled: not while a desk is still working on it.
pub fn may_close(handoffs: &[(Desk, HandoffState)], closed: bool) -> Result<(), FieldError> {
    if closed {
        return Err(FieldError::new(
            "visit_id",
            "visit_closed",
            "该来访已标记为已处理。",
        ));
    }
    if let Some(&(d, _)) = handoffs.iter().find(|(_, s)| s.is_open()) {
        return Err(FieldError::new(
            "visit_id",
            "desk_open",
            format!(
                "该来访人仍在{}，请待其办理完毕后再标记为已处理。",
                d.label_zh()
            ),
        ));
    }
    Ok(())
}

/// Hall code of a new store: a 6-digit region code that the table knows.
pub fn check_hall_code(code: &str, regions: &Regions) -> Result<String, FieldError> {
    let code = HallCode::parse(code)?.into_string();
    if !regions.contains(&code) {
        return Err(FieldError::new(
            "hall_code",
            "hall_code_unknown",
            format!("行政区划代码 {code} 不在代码表中，请从列表中选择本大厅所在的县（市、区）。"),
        ));
    }
    Ok(code)
}

/// What typing a document number tells the form, before the form is submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IdCheck {
    /// Whether the number is valid for its document type.
    pub valid: bool,
    /// The number as it will be stored (upper-case, 18 digits for converted old IDs).
    pub normalized: String,
    /// `male` / `female` when the document tells.
    pub sex: Option<String>,
    /// `YYYY-MM-DD` when the document tells.
    pub birth_date: Option<String>,
    pub region_name: Option<String>,
    /// Why the number is not valid (at field `id_number`).
    pub error: Option<FieldError>,
    /// Non-blocking remarks (unknown region prefix, converted old number).
    pub warnings: Vec<FieldError>,
    /// The typed sex or birth date disagrees with the document.
    pub conflicts: Vec<FieldError>,
}

/// Live check of a document number as the clerk types, with the sex and birth date typed so
/// far (either may be empty), so the form can fill them in or show the conflict.
pub fn check_id_live(
    id_type: &str,
    number: &str,
    typed_sex: &str,
    typed_birth_date: &str,
    today: NaiveDate,
    regions: &Regions,
) -> IdCheck {
    let t = if id_type.trim().is_empty() {
        Some(IdType::ResidentId)
    } else {
        parse_id_type(id_type)
    };
    let Some(t) = t else {
        return IdCheck {
            error: Some(FieldError::new(
                "id_type",
                "id_type_unknown",
                format!("证件类型“{}”无法识别，请从列表中选择。", id_type.trim()),
            )),
            ..Default::default()
        };
    };
    match check_document_detailed(t, number, today, regions) {
        Err(e) => IdCheck {
            error: Some(e),
            ..Default::default()
        },
        Ok((info, warnings)) => {
            let mut conflicts = Vec::new();
            if let (Some(typed), Some(doc)) = (Sex::parse(typed_sex), info.sex)
                && typed != doc
            {
                conflicts.push(FieldError::new(
                    "sex",
                    "sex_conflict",
                    format!(
                        "性别填写为“{}”，但身份证号码显示为“{}”，请核对性别或证件号码。",
                        typed.label_zh(),
                        doc.label_zh()
                    ),
                ));
            }
            let typed_birth = ["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(typed_birth_date.trim(), f).ok());
            if let (Some(typed), Some(doc)) = (typed_birth, info.birth_date)
                && typed != doc
            {
                conflicts.push(FieldError::new(
                    "birth_date",
                    "birth_date_conflict",
                    format!(
                        "出生日期填写为 {typed}，但身份证号码显示为 {doc}，请核对出生日期或证件号码。"
                    ),
                ));
            }
            IdCheck {
                valid: true,
                normalized: info.normalized,
                sex: info.sex.map(|s| s.code().to_owned()),
                birth_date: info.birth_date.map(|d| d.to_string()),
                region_name: info.region_name,
                error: None,
                warnings,
                conflicts,
            }
        }
    }
}

pub(crate) fn text(
    errors: &mut ValidationErrors,
    field: &str,
    value: &str,
    required: Option<&str>,
) -> String {
    let v = value.trim();
    if v.is_empty() {
        if let Some(what) = required {
            errors.push(FieldError::new(
                field,
                format!("{field}_empty"),
                format!("请填写{what}。"),
            ));
        }
    } else if v.chars().count() > MAX_TEXT_CHARS {
        errors.push(FieldError::new(
            field,
            format!("{field}_too_long"),
            format!(
                "最多 {MAX_TEXT_CHARS} 个字，现在是 {} 个字，请精简后填写。",
                v.chars().count()
            ),
        ));
    }
    v.to_owned()
}

/// The lawyer's consultation form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ConsultationInput {
    pub visit_id: String,
    /// 咨询问题
    pub question: String,
    /// 基本事实
    pub facts: String,
    /// 法律意见
    pub advice: String,
    /// Legal route code or name (from the routes data).
    pub legal_route: String,
    /// 引用法律条文, free text, one per line.
    pub laws_cited: String,
    pub duration_minutes: u32,
    /// Whether a follow-up is needed, and what.
    pub follow_up: bool,
    pub follow_up_note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidConsultation {
    pub visit_id: String,
    pub question: String,
    pub facts: String,
    pub advice: String,
    pub legal_route: String,
    pub laws_cited: String,
    pub duration_minutes: u32,
    pub follow_up: bool,
    pub follow_up_note: String,
}

pub fn validate_consultation(
    input: &ConsultationInput,
    refdata: &ReferenceData,
) -> Result<ValidConsultation, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if input.visit_id.trim().is_empty() {
        errors.push(FieldError::new(
            "visit_id",
            "visit_missing",
            "请先从队列中接待一位来访人。",
        ));
    }
    let question = text(&mut errors, "question", &input.question, Some("咨询问题"));
    let facts = text(&mut errors, "facts", &input.facts, None);
    let advice = text(&mut errors, "advice", &input.advice, Some("法律意见"));
    let laws_cited = text(&mut errors, "laws_cited", &input.laws_cited, None);
    let route = input.legal_route.trim();
    let legal_route = if route.is_empty() {
        errors.push(FieldError::new(
            "legal_route",
            "legal_route_empty",
            "请选择建议的法律途径（如诉讼、仲裁、行政复议、人民调解、信访程序）。",
        ));
        String::new()
    } else {
        match refdata.legal_route(route) {
            Some(r) if !r.retired => r.code.clone(),
            Some(r) => {
                errors.push(FieldError::new(
                    "legal_route",
                    "legal_route_retired",
                    format!("法律途径“{}”已停用，请从列表中选择现行的途径。", r.name),
                ));
                String::new()
            }
            None => {
                errors.push(FieldError::new(
                    "legal_route",
                    "legal_route_unknown",
                    format!("法律途径“{route}”不在列表中，请从列表中选择。"),
                ));
                String::new()
            }
        }
    };
    if input.duration_minutes == 0 || input.duration_minutes > MAX_DURATION_MINUTES {
        errors.push(FieldError::new(
            "duration_minutes",
            "duration_range",
            format!("咨询时长请填写 1 至 {MAX_DURATION_MINUTES} 分钟。"),
        ));
    }
    let follow_up_note = text(
        &mut errors,
        "follow_up_note",
        &input.follow_up_note,
        input.follow_up.then_some("需要跟进的事项"),
    );
    errors.into_result(ValidConsultation {
        visit_id: input.visit_id.trim().to_owned(),
        question,
        facts,
        advice,
        legal_route,
        laws_cited,
        duration_minutes: input.duration_minutes,
        follow_up: input.follow_up,
        follow_up_note,
    })
}

/// An admin may not lock the hall out: the last active admin stays an active admin.
pub fn check_admin_remains(active_admins_after: usize) -> Result<(), FieldError> {
    if active_admins_after == 0 {
        return Err(FieldError::new(
            "roles",
            "last_admin",
            "这是本大厅最后一个启用的管理员账号，不能停用或取消其管理员角色；请先为另一位工作人员分配管理员角色。",
        ));
    }
    Ok(())
}

/// A new password typed twice must be typed the same.
pub fn check_password_repeat(password: &str, repeat: &str) -> Result<(), FieldError> {
    if password != repeat {
        return Err(FieldError::new(
            "password_repeat",
            "password_mismatch",
            "两次输入的密码不一致，请重新输入。",
        ));
    }
    Ok(())
}

/// Sex codes for forms: (code, label).
pub fn sexes() -> [(&'static str, &'static str); 2] {
    [Sex::Male, Sex::Female].map(|s| (s.code(), s.label_zh()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::resident_id_check_char;

    fn id(birth: &str, seq: &str) -> String {
        let first17 = format!("140521{birth}{seq}");
        format!("{first17}{}", resident_id_check_char(&first17).unwrap())
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
    }

    #[test]
    fn status_follows_handoffs() {
        use Desk::*;
        use HandoffState::*;
        assert_eq!(visit_status(&[], false), VisitStatus::Waiting);
        assert_eq!(
            visit_status(&[(Lawyer, Waiting)], false),
            VisitStatus::WithLawyer
        );
        assert_eq!(
            visit_status(&[(Lawyer, Taken)], false),
            VisitStatus::WithLawyer
        );
        assert_eq!(
            visit_status(&[(Lawyer, Done), (Mediator, Waiting)], false),
            VisitStatus::InMediation
        );
        assert_eq!(visit_status(&[(Lawyer, Done)], false), VisitStatus::Handled);
        assert_eq!(visit_status(&[], true), VisitStatus::Handled);
        assert_eq!(VisitStatus::InMediation.label_zh(), "调解中");
    }

    #[test]
    fn hand_off_rules() {
        use Desk::*;
        use HandoffState::*;
        assert!(may_hand_off(&[], false, Lawyer).is_ok());
        assert_eq!(
            may_hand_off(&[(Lawyer, Waiting)], false, Lawyer)
                .unwrap_err()
                .code,
            "already_queued"
        );
        assert!(may_hand_off(&[(Lawyer, Done)], false, Lawyer).is_ok());
        assert!(may_hand_off(&[(Lawyer, Taken)], false, Mediator).is_ok());
        assert_eq!(
            may_hand_off(&[], true, Lawyer).unwrap_err().code,
            "visit_closed"
        );
        assert_eq!(
            may_close(&[(Mediator, Taken)], false).unwrap_err().code,
            "desk_open"
        );
        assert!(may_close(&[(Mediator, Done)], false).is_ok());
    }

    #[test]
    fn live_id_check_fills_and_conflicts() {
        let n = id("19800115", "013");
        let c = check_id_live("", &n, "", "", today(), Regions::bundled());
        assert!(c.valid);
        assert_eq!(c.sex.as_deref(), Some("male"));
        assert_eq!(c.birth_date.as_deref(), Some("1980-01-15"));
        assert!(c.conflicts.is_empty());
        let c = check_id_live("", &n, "女", "1980-01-16", today(), Regions::bundled());
        let codes: Vec<&str> = c.conflicts.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["sex_conflict", "birth_date_conflict"]);
        let mut bad = n.clone();
        bad.pop();
        bad.push(if n.ends_with('1') { '2' } else { '1' });
        let c = check_id_live("", &bad, "", "", today(), Regions::bundled());
        assert!(!c.valid);
        assert_eq!(c.error.unwrap().code, "id_check_digit");
    }

    #[test]
    fn hall_codes() {
        let r = Regions::bundled();
        assert_eq!(check_hall_code(" 140521 ", r).unwrap(), "140521");
        assert_eq!(
            check_hall_code("1405", r).unwrap_err().code,
            "hall_code_shape"
        );
        assert_eq!(
            check_hall_code("149999", r).unwrap_err().code,
            "hall_code_unknown"
        );
    }

    fn consultation() -> ConsultationInput {
        ConsultationInput {
            visit_id: "v1".into(),
            question: "被拖欠工资怎么办？".into(),
            advice: "可向劳动人事争议仲裁委员会申请仲裁。".into(),
            legal_route: "劳动人事争议仲裁".into(),
            duration_minutes: 20,
            ..Default::default()
        }
    }

    #[test]
    fn consultation_rules() {
        let v = validate_consultation(&consultation(), ReferenceData::bundled()).unwrap();
        assert_eq!(v.legal_route, "labour_arbitration");
        let e = validate_consultation(&ConsultationInput::default(), ReferenceData::bundled())
            .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "visit_id",
                "question",
                "advice",
                "legal_route",
                "duration_minutes"
            ]
        );
        let mut c = consultation();
        c.follow_up = true;
        c.legal_route = "上访".into();
        let e = validate_consultation(&c, ReferenceData::bundled()).unwrap_err();
        let codes: Vec<&str> = e.0.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["legal_route_unknown", "follow_up_note_empty"]);
    }

    #[test]
    fn last_admin_stays() {
        assert!(check_admin_remains(1).is_ok());
        assert_eq!(check_admin_remains(0).unwrap_err().code, "last_admin");
    }
}
