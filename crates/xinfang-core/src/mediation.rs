//! 人民调解 (《人民调解法》): the mediator's record of a dispute — its parties, sessions and
//! outcome, the agreement, 司法确认 and 回访 — and the rules it must meet.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::parse_date_field;
use crate::desk::text;
use crate::error::{FieldError, ValidationErrors};
use crate::id::{IdType, check_credit_code, check_document_detailed, parse_id_type};
use crate::reference::ReferenceData;

/// Kinds of civil dispute a people's mediator takes (人民调解), as (code, name).
pub const DISPUTE_TYPES: [(&str, &str); 10] = [
    ("marriage_family", "婚姻家庭纠纷"),
    ("neighbour", "邻里纠纷"),
    ("housing_homestead", "房屋宅基地纠纷"),
    ("contract", "合同纠纷"),
    ("damages", "损害赔偿纠纷"),
    ("labour", "劳动争议"),
    ("land_contract", "土地承包经营纠纷"),
    ("land_requisition", "征地拆迁纠纷"),
    ("property_management", "物业纠纷"),
    ("other", "其他纠纷"),
];

/// The name of a dispute type by code or name.
pub fn dispute_type(code_or_name: &str) -> Option<(&'static str, &'static str)> {
    let s = code_or_name.trim();
    DISPUTE_TYPES.into_iter().find(|(c, n)| *c == s || *n == s)
}

/// An enum stored by a code and shown by a Chinese label; `parse` reads either.
macro_rules! coded {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = ($code:literal, $label:literal)),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.code() == s || v.label_zh() == s)
            }

            /// The labels, for messages: `甲、乙或丙`.
            #[allow(dead_code)]
            fn labels_zh() -> String {
                let labels: Vec<&str> = Self::ALL.iter().map(|v| v.label_zh()).collect();
                match labels.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{}或{last}", rest.join("、")),
                    _ => labels.concat(),
                }
            }
        }
    };
}

coded! {
    /// Where a mediation stands: being mediated, or ended one of three ways.
    MediationOutcome {
        /// 调解中: accepted, the other party being called in or sessions still to come.
        Pending = ("pending", "调解中"),
        Agreed = ("agreed", "达成协议"),
        NotAgreed = ("not_agreed", "未达成"),
        Terminated = ("terminated", "终止"),
    }
}

impl MediationOutcome {
    /// Whether the mediation has ended (no more sessions, the outcome fixed).
    pub fn is_final(self) -> bool {
        self != MediationOutcome::Pending
    }
}

coded! {
    /// A party to a mediation.
    PartyRole {
        Applicant = ("applicant", "申请人"),
        Respondent = ("respondent", "被申请人"),
    }
}

coded! {
    /// Whether a party is a person or an organisation (《人民调解法》 allows both).
    PartyKind {
        Person = ("person", "自然人"),
        /// 法人或者非法人组织, identified by its 统一社会信用代码.
        Organisation = ("organisation", "法人或其他组织"),
    }
}

coded! {
    /// How the mediation began (《人民调解法》第十七条).
    StartedBy {
        /// 当事人申请调解
        Application = ("application", "当事人申请"),
        /// 人民调解委员会主动调解, with the parties' consent
        Initiative = ("initiative", "主动调解"),
    }
}

coded! {
    /// The form of an agreement (《人民调解法》第二十八条): a written 调解协议书, or an oral
    /// agreement the committee records (口头协议登记表).
    AgreementForm {
        Written = ("written", "书面协议"),
        Oral = ("oral", "口头协议"),
    }
}

coded! {
    /// The court's answer to an application for 司法确认.
    ConfirmationResult {
        /// 裁定调解协议有效
        Confirmed = ("confirmed", "确认有效"),
        /// 裁定驳回申请
        Rejected = ("rejected", "驳回申请"),
    }
}

coded! {
    /// What a 回访 found of the agreement's performance (《人民调解法》第三十一条).
    Fulfilment {
        Fulfilled = ("fulfilled", "已履行"),
        Partly = ("partly", "部分履行"),
        NotFulfilled = ("not_fulfilled", "未履行"),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct PartyInput {
    /// `applicant` / `respondent`.
    pub role: String,
    /// `person` (when empty) / `organisation`.
    pub kind: String,
    /// A person's name, or an organisation's registered name.
    pub name: String,
    /// `resident_id` when empty; not used for an organisation.
    pub id_type: String,
    /// A person's document number, or an organisation's 统一社会信用代码.
    pub id_number: String,
    pub phone: String,
    pub address: String,
    /// An organisation's 法定代表人 or 主要负责人.
    pub representative: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct SessionInput {
    /// `YYYY-MM-DD`
    pub held_on: String,
    pub notes: String,
}

/// How the mediation ended, as typed: with the first record, or later when it was pending.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ConclusionInput {
    /// `pending` (when empty) / `agreed` / `not_agreed` / `terminated` or the Chinese name.
    pub outcome: String,
    /// `written` (when empty) / `oral`, for an agreement.
    pub agreement_form: String,
    /// 纠纷的主要事实 (an agreement's).
    pub dispute_facts: String,
    /// 争议事项.
    pub points_in_dispute: String,
    /// 各方当事人的责任.
    pub responsibility: String,
    /// 协议内容, with the manner and time of performance.
    pub agreement_text: String,
    pub judicial_confirmation: bool,
    /// `YYYY-MM-DD` the agreement took effect (signed); empty: the last session's day.
    pub agreement_effective_on: String,
    /// The court's answer to 司法确认 once known: `confirmed` / `rejected` or the Chinese name.
    pub confirmation_result: String,
}

/// The mediator's form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct MediationInput {
    pub visit_id: String,
    /// Dispute type code or name.
    pub dispute_type: String,
    /// `application` (when empty) / `initiative`.
    pub started_by: String,
    /// `YYYY-MM-DD` the parties applied for, or agreed to, mediation; empty: the first
    /// session's day, else today.
    pub applied_on: String,
    /// 申请调解事项: what the dispute is about and what the applicant asks, as the 申请书 and the
    /// 受理登记表 state it.
    pub request: String,
    pub parties: Vec<PartyInput>,
    pub sessions: Vec<SessionInput>,
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub conclusion: ConclusionInput,
}

/// The mediator continuing a pending mediation: the sessions held since, and the outcome once
/// known (`pending` while it goes on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ContinueMediationInput {
    pub mediation_id: String,
    pub sessions: Vec<SessionInput>,
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub conclusion: ConclusionInput,
}

/// A 回访 of an agreement: when, what was found, notes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct FollowUpInput {
    /// `YYYY-MM-DD`
    pub visited_on: String,
    /// `fulfilled` / `partly` / `not_fulfilled` or the Chinese name.
    pub fulfilment: String,
    pub notes: String,
}

/// A 调查 the mediator made (人民调解法第二十二条: 调查了解纠纷事实): when and where, whom
/// and who else was there, what was found. The mediator who records it is its 记录人.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct InvestigationInput {
    /// `YYYY-MM-DD`
    pub investigated_on: String,
    pub place: String,
    /// 被调查人.
    pub person: String,
    /// 参加人, may be empty.
    pub present: String,
    /// 调查内容.
    pub content: String,
}

/// Longest name of a 人民调解委员会, in characters.
pub const MAX_COMMITTEE_NAME_CHARS: usize = 60;

/// The name of the hall's 人民调解委员会 as an administrator types it (every mediation document
/// is issued in it): trimmed, spaces inside removed, and it must name a mediation body.
pub fn check_committee_name(text: &str) -> Result<String, FieldError> {
    let name: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if name.is_empty() {
        return Err(FieldError::new(
            "committee_name",
            "committee_name_empty",
            "请填写人民调解委员会的名称，如“沁水县信访事项人民调解委员会”。",
        ));
    }
    if name.chars().count() > MAX_COMMITTEE_NAME_CHARS {
        return Err(FieldError::new(
            "committee_name",
            "committee_name_too_long",
            format!("名称最多 {MAX_COMMITTEE_NAME_CHARS} 个字，请核对。"),
        ));
    }
    if !name.contains("调解") {
        return Err(FieldError::new(
            "committee_name",
            "committee_name_not_mediation",
            format!("“{name}”不像人民调解组织的名称：请填写调解协议书上盖章的人民调解委员会全称。"),
        ));
    }
    Ok(name)
}

/// Days the parties have to ask the court for 司法确认 of a mediation agreement, from the day
/// it took effect (《人民调解法》第三十三条).
pub const JUDICIAL_CONFIRMATION_DAYS: u32 = 30;

/// The last day to ask for 司法确认 of an agreement that took effect on `effective_on`.
pub fn judicial_confirmation_due(
    effective_on: NaiveDate,
    cal: &crate::calendar::HolidayCalendar,
) -> NaiveDate {
    crate::deadline::deadline(effective_on, JUDICIAL_CONFIRMATION_DAYS, cal).due
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidParty {
    pub role: PartyRole,
    pub kind: PartyKind,
    pub name: String,
    /// A person's document; `None` for an organisation (its number is a credit code).
    pub id_type: Option<IdType>,
    pub id_number: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub representative: Option<String>,
}

/// What a party's document is called in storage: the person's document type, or `uscc`.
pub const CREDIT_CODE_TYPE: &str = "uscc";

impl ValidParty {
    pub fn id_type_code(&self) -> &'static str {
        self.id_type.map_or(CREDIT_CODE_TYPE, IdType::code)
    }
}

/// The label of a stored party document type (`uscc` included).
pub fn party_id_type_label(code: &str) -> String {
    if code == CREDIT_CODE_TYPE {
        return "统一社会信用代码".to_owned();
    }
    parse_id_type(code).map_or_else(|| code.to_owned(), |t| t.label_zh().to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidSession {
    pub held_on: NaiveDate,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidConclusion {
    pub outcome: MediationOutcome,
    /// Set for an agreement.
    pub agreement_form: Option<AgreementForm>,
    pub dispute_facts: String,
    pub points_in_dispute: String,
    pub responsibility: String,
    pub agreement_text: String,
    pub judicial_confirmation: bool,
    /// Set for an agreement.
    pub agreement_effective_on: Option<NaiveDate>,
    pub confirmation_result: Option<ConfirmationResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidMediation {
    pub visit_id: String,
    pub dispute_type: String,
    pub started_by: StartedBy,
    pub applied_on: NaiveDate,
    pub request: String,
    pub parties: Vec<ValidParty>,
    pub sessions: Vec<ValidSession>,
    pub conclusion: ValidConclusion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidInvestigation {
    pub investigated_on: NaiveDate,
    pub place: String,
    pub person: String,
    pub present: String,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidFollowUp {
    pub visited_on: NaiveDate,
    pub fulfilment: Fulfilment,
    pub notes: String,
}

fn validate_party(
    i: usize,
    p: &PartyInput,
    refdata: &ReferenceData,
    today: NaiveDate,
    errors: &mut ValidationErrors,
) -> Option<ValidParty> {
    let field = |f: &str| format!("parties[{i}].{f}");
    let who = format!("第 {} 位当事人", i + 1);
    let role = PartyRole::parse(&p.role);
    if role.is_none() {
        errors.push(FieldError::new(
            field("role"),
            "party_role",
            format!("请选择{who}是申请人还是被申请人。"),
        ));
    }
    let kind = match p.kind.trim() {
        "" => Some(PartyKind::Person),
        k => PartyKind::parse(k),
    };
    if kind.is_none() {
        errors.push(FieldError::new(
            field("kind"),
            "party_kind",
            format!("请选择{who}是{}。", PartyKind::labels_zh()),
        ));
    }
    let name = p.name.trim();
    if name.is_empty() {
        let what = if kind == Some(PartyKind::Organisation) {
            "单位名称"
        } else {
            "姓名"
        };
        errors.push(FieldError::new(
            field("name"),
            "name_empty",
            format!("请填写{who}的{what}。"),
        ));
    }
    let representative = p.representative.trim();
    let doc = match kind {
        None => None,
        Some(PartyKind::Organisation) => {
            if representative.is_empty() {
                errors.push(FieldError::new(
                    field("representative"),
                    "representative_empty",
                    format!("请填写{who}（单位）的法定代表人或主要负责人。"),
                ));
            }
            match check_credit_code(&p.id_number) {
                Ok(code) => Some((None, code)),
                Err(e) => {
                    errors.push(FieldError {
                        message: format!("{who}：{}", e.message),
                        ..e.at(field("id_number"))
                    });
                    None
                }
            }
        }
        Some(PartyKind::Person) => {
            let id_type = if p.id_type.trim().is_empty() {
                Some(IdType::ResidentId)
            } else {
                parse_id_type(&p.id_type)
            };
            match id_type {
                None => {
                    errors.push(FieldError::new(
                        field("id_type"),
                        "id_type_unknown",
                        format!("{who}的证件类型无法识别，请从列表中选择。"),
                    ));
                    None
                }
                Some(t) => match check_document_detailed(t, &p.id_number, today, refdata.regions) {
                    Ok((info, _)) => Some((Some(info.id_type), info.normalized)),
                    Err(e) => {
                        errors.push(FieldError {
                            message: format!("{who}：{}", e.message),
                            ..e.at(field("id_number"))
                        });
                        None
                    }
                },
            }
        }
    };
    let phone = if p.phone.trim().is_empty() {
        None
    } else {
        match crate::phone::normalize_phone(&p.phone) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.push(FieldError {
                    message: format!("{who}：{}", e.message),
                    ..e.at(field("phone"))
                });
                None
            }
        }
    };
    let (role, kind, (id_type, id_number)) = (role?, kind?, doc?);
    if name.is_empty() || (kind == PartyKind::Organisation && representative.is_empty()) {
        return None;
    }
    Some(ValidParty {
        role,
        kind,
        name: name.to_owned(),
        id_type,
        id_number,
        phone,
        address: Some(p.address.trim().to_owned()).filter(|a| !a.is_empty()),
        representative: (kind == PartyKind::Organisation).then(|| representative.to_owned()),
    })
}

/// A session's day and notes; `i` is its place in the whole record (for messages).
pub fn validate_session(
    i: usize,
    s: &SessionInput,
    today: NaiveDate,
    errors: &mut ValidationErrors,
) -> Option<ValidSession> {
    let field = format!("sessions[{i}].held_on");
    let label = format!("第 {} 次调解的日期", i + 1);
    match parse_date_field(&field, &label, &s.held_on) {
        Err(e) => {
            errors.push(e);
            None
        }
        Ok(d) if d > today => {
            errors.push(FieldError::new(
                field,
                "held_on_future",
                format!("第 {} 次调解的日期 {d} 晚于今天，请核对。", i + 1),
            ));
            None
        }
        Ok(d) => Some(ValidSession {
            held_on: d,
            notes: text(errors, &format!("sessions[{i}].notes"), &s.notes, None),
        }),
    }
}

/// How the mediation ended, checked against its sessions: `sessions_typed` counts all of them,
/// earlier and new, and `session_days` are the days of those that are valid. A pending
/// mediation has no agreement yet.
pub fn validate_conclusion(
    c: &ConclusionInput,
    sessions_typed: usize,
    session_days: &[NaiveDate],
    today: NaiveDate,
    errors: &mut ValidationErrors,
) -> Option<ValidConclusion> {
    let outcome = match c.outcome.trim() {
        "" => Some(MediationOutcome::Pending),
        o => MediationOutcome::parse(o),
    };
    if outcome.is_none() {
        errors.push(FieldError::new(
            "outcome",
            "outcome_unknown",
            format!(
                "调解结果请选择：{}；尚未调解完的选“调解中”。",
                MediationOutcome::labels_zh()
            ),
        ));
    }
    if outcome.is_some_and(|o| o.is_final() && o != MediationOutcome::Terminated)
        && sessions_typed == 0
    {
        errors.push(FieldError::new(
            "sessions",
            "sessions_empty",
            "请至少记录一次调解（日期和经过）后再填写调解结果；尚未开始调解的，结果选“调解中”。",
        ));
    }
    let agreed = outcome == Some(MediationOutcome::Agreed);
    let form = match c.agreement_form.trim() {
        "" => Some(AgreementForm::Written),
        f => AgreementForm::parse(f),
    };
    if agreed && form.is_none() {
        errors.push(FieldError::new(
            "agreement_form",
            "agreement_form_unknown",
            format!("协议形式请选择：{}。", AgreementForm::labels_zh()),
        ));
    }
    let dispute_facts = text(
        errors,
        "dispute_facts",
        &c.dispute_facts,
        agreed.then_some("纠纷的主要事实"),
    );
    let points_in_dispute = text(errors, "points_in_dispute", &c.points_in_dispute, None);
    let responsibility = text(errors, "responsibility", &c.responsibility, None);
    let agreement_text = text(
        errors,
        "agreement_text",
        &c.agreement_text,
        agreed.then_some("调解协议内容"),
    );
    if c.judicial_confirmation && !agreed {
        errors.push(FieldError::new(
            "judicial_confirmation",
            "confirmation_without_agreement",
            "只有达成调解协议的，才能申请司法确认。",
        ));
    }
    if c.judicial_confirmation && agreed && form == Some(AgreementForm::Oral) {
        errors.push(FieldError::new(
            "judicial_confirmation",
            "confirmation_of_oral_agreement",
            "口头协议不能申请司法确认：当事人要申请司法确认的，请制作书面调解协议书，由各方签名后再申请。",
        ));
    }
    let last_session = session_days.iter().max().copied();
    let effective_text = c.agreement_effective_on.trim();
    let agreement_effective_on = if !agreed {
        if !effective_text.is_empty() {
            errors.push(FieldError::new(
                "agreement_effective_on",
                "effective_without_agreement",
                "未达成调解协议的，不填写协议生效日期。",
            ));
        }
        None
    } else if effective_text.is_empty() {
        last_session
    } else {
        match parse_date_field("agreement_effective_on", "协议生效日期", effective_text) {
            Err(e) => {
                errors.push(e);
                None
            }
            Ok(d) if d > today => {
                errors.push(FieldError::new(
                    "agreement_effective_on",
                    "effective_in_future",
                    format!("协议生效日期 {d} 晚于今天，请核对。"),
                ));
                None
            }
            Ok(d) if last_session.is_some_and(|l| d < l) => {
                errors.push(FieldError::new(
                    "agreement_effective_on",
                    "effective_before_session",
                    format!(
                        "协议生效日期 {d} 早于最后一次调解的日期，协议应在调解达成后由双方签字生效，请核对。"
                    ),
                ));
                None
            }
            Ok(d) => Some(d),
        }
    };
    let confirmation_result =
        check_confirmation_result(&c.confirmation_result, c.judicial_confirmation, errors);
    Some(ValidConclusion {
        outcome: outcome?,
        agreement_form: if agreed { form } else { None },
        dispute_facts,
        points_in_dispute,
        responsibility,
        agreement_text,
        judicial_confirmation: c.judicial_confirmation,
        agreement_effective_on,
        confirmation_result,
    })
}

fn check_confirmation_result(
    text: &str,
    applied: bool,
    errors: &mut ValidationErrors,
) -> Option<ConfirmationResult> {
    match text.trim() {
        "" => None,
        text => match ConfirmationResult::parse(text) {
            Some(_) if !applied => {
                errors.push(FieldError::new(
                    "confirmation_result",
                    "result_without_confirmation",
                    "没有申请司法确认的，不填写司法确认结果。",
                ));
                None
            }
            Some(r) => Some(r),
            None => {
                errors.push(FieldError::new(
                    "confirmation_result",
                    "confirmation_result_unknown",
                    "司法确认结果请选择：确认有效、驳回申请，尚无结果的留空。",
                ));
                None
            }
        },
    }
}

pub fn validate_mediation(
    input: &MediationInput,
    refdata: &ReferenceData,
    today: NaiveDate,
) -> Result<ValidMediation, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if input.visit_id.trim().is_empty() {
        errors.push(FieldError::new(
            "visit_id",
            "visit_missing",
            "请先从队列中接待一位来访人。",
        ));
    }
    let dispute = match dispute_type(&input.dispute_type) {
        Some((code, _)) => code.to_owned(),
        None => {
            let names: Vec<&str> = DISPUTE_TYPES.iter().map(|(_, n)| *n).collect();
            errors.push(FieldError::new(
                "dispute_type",
                "dispute_type_unknown",
                format!("请选择纠纷类型：{}。", names.join("、")),
            ));
            String::new()
        }
    };
    let started_by = match input.started_by.trim() {
        "" => Some(StartedBy::Application),
        s => StartedBy::parse(s),
    };
    if started_by.is_none() {
        errors.push(FieldError::new(
            "started_by",
            "started_by_unknown",
            format!("调解来源请选择：{}。", StartedBy::labels_zh()),
        ));
    }

    let parties: Vec<ValidParty> = input
        .parties
        .iter()
        .enumerate()
        .filter_map(|(i, p)| validate_party(i, p, refdata, today, &mut errors))
        .collect();
    for (role, code) in [
        (PartyRole::Applicant, "applicant_missing"),
        (PartyRole::Respondent, "respondent_missing"),
    ] {
        if !input
            .parties
            .iter()
            .any(|p| PartyRole::parse(&p.role) == Some(role))
        {
            errors.push(FieldError::new(
                "parties",
                code,
                format!("请至少添加一位{}。", role.label_zh()),
            ));
        }
    }

    let sessions: Vec<ValidSession> = input
        .sessions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| validate_session(i, s, today, &mut errors))
        .collect();
    let request = text(
        &mut errors,
        "request",
        &input.request,
        Some("申请调解事项（纠纷的简要情况和当事人的请求）"),
    );
    let first_session = sessions.iter().map(|s| s.held_on).min();
    let applied_on = match input.applied_on.trim() {
        "" => Some(first_session.unwrap_or(today)),
        text => match parse_date_field("applied_on", "申请（同意）调解的日期", text) {
            Err(e) => {
                errors.push(e);
                None
            }
            Ok(d) if d > today => {
                errors.push(FieldError::new(
                    "applied_on",
                    "applied_in_future",
                    format!("申请（同意）调解的日期 {d} 晚于今天，请核对。"),
                ));
                None
            }
            Ok(d) if first_session.is_some_and(|f| f < d) => {
                errors.push(FieldError::new(
                    "applied_on",
                    "session_before_application",
                    format!(
                        "第一次调解早于申请（同意）调解的日期 {d}：当事人申请或者同意后才能调解（《人民调解法》第十七条），请核对。"
                    ),
                ));
                None
            }
            Ok(d) => Some(d),
        },
    };
    let days: Vec<NaiveDate> = sessions.iter().map(|s| s.held_on).collect();
    let conclusion = validate_conclusion(
        &input.conclusion,
        input.sessions.len(),
        &days,
        today,
        &mut errors,
    );
    match (started_by, applied_on, conclusion) {
        (Some(started_by), Some(applied_on), Some(conclusion)) if errors.is_empty() => {
            Ok(ValidMediation {
                visit_id: input.visit_id.trim().to_owned(),
                dispute_type: dispute,
                started_by,
                applied_on,
                request,
                parties,
                sessions,
                conclusion,
            })
        }
        _ => Err(errors),
    }
}

/// Sessions are added and the outcome decided only while the mediation is pending.
pub fn check_pending(outcome: MediationOutcome) -> Result<(), FieldError> {
    if outcome.is_final() {
        return Err(FieldError::new(
            "mediation_id",
            "mediation_ended",
            format!(
                "该调解已经结束（{}），不能再追加调解或改变结果；当事人再次申请调解的，请新建调解记录。",
                outcome.label_zh()
            ),
        ));
    }
    Ok(())
}

/// A continuation of a pending mediation, checked against what it holds: its outcome so far,
/// the days of its sessions and the day the parties applied or agreed (`applied_on`).
pub fn validate_continuation(
    input: &ContinueMediationInput,
    outcome: MediationOutcome,
    earlier_days: &[NaiveDate],
    applied_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(Vec<ValidSession>, ValidConclusion), ValidationErrors> {
    check_pending(outcome)?;
    let mut errors = ValidationErrors::default();
    let earlier = earlier_days.len();
    let sessions: Vec<ValidSession> = input
        .sessions
        .iter()
        .enumerate()
        .filter_map(|(i, s)| validate_session(earlier + i, s, today, &mut errors))
        .collect();
    if let Some(applied) = applied_on
        && let Some((i, s)) = sessions
            .iter()
            .enumerate()
            .find(|(_, s)| s.held_on < applied)
    {
        errors.push(FieldError::new(
            format!("sessions[{}].held_on", earlier + i),
            "session_before_application",
            format!(
                "调解日期 {} 早于申请（同意）调解的日期 {applied}，请核对。",
                s.held_on
            ),
        ));
    }
    let mut days = earlier_days.to_vec();
    days.extend(sessions.iter().map(|s| s.held_on));
    let conclusion = validate_conclusion(
        &input.conclusion,
        earlier + input.sessions.len(),
        &days,
        today,
        &mut errors,
    );
    if input.sessions.is_empty()
        && conclusion
            .as_ref()
            .is_some_and(|c| c.outcome == MediationOutcome::Pending)
    {
        errors.push(FieldError::new(
            "sessions",
            "nothing_to_save",
            "请记录本次调解的日期和经过，或者选择调解结果后再保存。",
        ));
    }
    match conclusion {
        Some(c) if errors.is_empty() => Ok((sessions, c)),
        _ => Err(errors),
    }
}

/// The court's answer recorded later: only for an agreement sent for 司法确认, once.
pub fn check_confirmation_answer(
    outcome: MediationOutcome,
    applied: bool,
    known: Option<ConfirmationResult>,
    answer: &str,
) -> Result<ConfirmationResult, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if outcome != MediationOutcome::Agreed || !applied {
        errors.push(FieldError::new(
            "confirmation_result",
            "result_without_confirmation",
            "该调解没有申请司法确认，不能登记司法确认结果。",
        ));
    } else if let Some(known) = known {
        errors.push(FieldError::new(
            "confirmation_result",
            "confirmation_result_known",
            format!(
                "该调解协议的司法确认结果已登记为“{}”，不能再次登记。",
                known.label_zh()
            ),
        ));
    }
    if answer.trim().is_empty() {
        errors.push(FieldError::new(
            "confirmation_result",
            "confirmation_result_empty",
            "请选择司法确认结果：确认有效或驳回申请。",
        ));
    }
    let result = check_confirmation_result(answer, true, &mut errors);
    match result {
        Some(r) if errors.is_empty() => Ok(r),
        _ => Err(errors),
    }
}

/// A 调查: of any mediation, also one still being mediated; not before the mediation began
/// (`began_on`: the application, else the first record), not after today.
pub fn validate_investigation(
    input: &InvestigationInput,
    began_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<ValidInvestigation, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let investigated_on =
        match parse_date_field("investigated_on", "调查日期", &input.investigated_on) {
            Err(e) => {
                errors.push(e);
                None
            }
            Ok(d) if d > today => {
                errors.push(FieldError::new(
                    "investigated_on",
                    "investigated_in_future",
                    format!("调查日期 {d} 晚于今天，请核对。"),
                ));
                None
            }
            Ok(d) if began_on.is_some_and(|b| d < b) => {
                errors.push(FieldError::new(
                    "investigated_on",
                    "investigated_before_mediation",
                    format!("调查日期 {d} 早于这次调解开始（申请或登记）的日期，请核对。"),
                ));
                None
            }
            Ok(d) => Some(d),
        };
    let place = text(&mut errors, "place", &input.place, Some("调查地点"));
    let person = text(&mut errors, "person", &input.person, Some("被调查人"));
    let present = text(&mut errors, "present", &input.present, None);
    let content = text(&mut errors, "content", &input.content, Some("调查内容"));
    match investigated_on {
        Some(investigated_on) if errors.is_empty() => Ok(ValidInvestigation {
            investigated_on,
            place,
            person,
            present,
            content,
        }),
        _ => Err(errors),
    }
}

/// A 回访: only of an agreement, on or after the day it took effect, not after today.
pub fn validate_follow_up(
    input: &FollowUpInput,
    outcome: MediationOutcome,
    effective_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<ValidFollowUp, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    if outcome != MediationOutcome::Agreed {
        errors.push(FieldError::new(
            "mediation_id",
            "follow_up_without_agreement",
            format!(
                "回访是对调解协议履行情况的回访；该调解的结果为“{}”，没有协议可回访。",
                outcome.label_zh()
            ),
        ));
    }
    let visited_on = match parse_date_field("visited_on", "回访日期", &input.visited_on) {
        Err(e) => {
            errors.push(e);
            None
        }
        Ok(d) if d > today => {
            errors.push(FieldError::new(
                "visited_on",
                "visited_in_future",
                format!("回访日期 {d} 晚于今天，请核对。"),
            ));
            None
        }
        Ok(d) if effective_on.is_some_and(|e| d < e) => {
            errors.push(FieldError::new(
                "visited_on",
                "visited_before_effect",
                format!("回访日期 {d} 早于调解协议生效的日期，请核对。"),
            ));
            None
        }
        Ok(d) => Some(d),
    };
    let fulfilment = Fulfilment::parse(&input.fulfilment);
    if fulfilment.is_none() {
        errors.push(FieldError::new(
            "fulfilment",
            "fulfilment_unknown",
            format!("请选择协议履行情况：{}。", Fulfilment::labels_zh()),
        ));
    }
    let notes = text(&mut errors, "notes", &input.notes, None);
    match (visited_on, fulfilment) {
        (Some(visited_on), Some(fulfilment)) if errors.is_empty() => Ok(ValidFollowUp {
            visited_on,
            fulfilment,
            notes,
        }),
        _ => Err(errors),
    }
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

    fn mediation() -> MediationInput {
        MediationInput {
            visit_id: "v1".into(),
            dispute_type: "邻里纠纷".into(),
            request: "请求李四拆除砌在通道上的围墙。".into(),
            parties: vec![
                PartyInput {
                    role: "applicant".into(),
                    name: "张三".into(),
                    id_number: id("19800115", "013"),
                    ..Default::default()
                },
                PartyInput {
                    role: "被申请人".into(),
                    name: "李四".into(),
                    id_number: id("19750301", "024"),
                    ..Default::default()
                },
            ],
            sessions: vec![SessionInput {
                held_on: "2025-06-30".into(),
                notes: "双方到场，同意调解。".into(),
            }],
            conclusion: ConclusionInput {
                outcome: "达成协议".into(),
                dispute_facts: "李四在两家之间的通道上砌墙，张三无法通行。".into(),
                agreement_text: "李四于 7 月 10 日前拆除违建围墙。".into(),
                judicial_confirmation: true,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn an_agreement_takes_effect_on_its_last_session_unless_told_and_the_courts_answer_is_kept() {
        let v = validate_mediation(&mediation(), ReferenceData::bundled(), today()).unwrap();
        assert_eq!(
            v.conclusion.agreement_effective_on,
            "2025-06-30".parse().ok()
        );
        assert_eq!(v.conclusion.confirmation_result, None);
        let mut m = mediation();
        m.sessions[0].held_on = "2025-06-28".into();
        m.conclusion.agreement_effective_on = "2025-06-29".into();
        m.conclusion.confirmation_result = "确认有效".into();
        let v = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap();
        assert_eq!(
            v.conclusion.agreement_effective_on,
            "2025-06-29".parse().ok()
        );
        assert_eq!(
            v.conclusion.confirmation_result,
            Some(ConfirmationResult::Confirmed)
        );
        // Before the last session, an answer without an application, an unknown answer, and
        // a date on a mediation that did not agree.
        let codes = |m: &MediationInput| -> Vec<String> {
            validate_mediation(m, ReferenceData::bundled(), today())
                .unwrap_err()
                .0
                .into_iter()
                .map(|e| e.code)
                .collect()
        };
        let mut m = mediation();
        m.conclusion.agreement_effective_on = "2025-06-29".into();
        m.conclusion.judicial_confirmation = false;
        m.conclusion.confirmation_result = "rejected".into();
        assert_eq!(
            codes(&m),
            ["effective_before_session", "result_without_confirmation"]
        );
        let mut m = mediation();
        m.conclusion.confirmation_result = "已确认".into();
        assert_eq!(codes(&m), ["confirmation_result_unknown"]);
        let mut m = mediation();
        m.conclusion.outcome = "未达成".into();
        m.conclusion.agreement_text.clear();
        m.conclusion.judicial_confirmation = false;
        m.conclusion.agreement_effective_on = "2025-06-30".into();
        assert_eq!(codes(&m), ["effective_without_agreement"]);
    }

    #[test]
    fn mediation_rules() {
        let v = validate_mediation(&mediation(), ReferenceData::bundled(), today()).unwrap();
        assert_eq!(v.dispute_type, "neighbour");
        assert_eq!(v.parties[1].role, PartyRole::Respondent);
        assert_eq!(v.conclusion.outcome, MediationOutcome::Agreed);

        let mut m = mediation();
        m.conclusion.outcome = "not_agreed".into();
        m.parties.pop();
        m.parties[0].id_number.pop();
        m.sessions[0].held_on = "2025-07-01".into();
        let e = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap_err();
        let codes: Vec<(&str, &str)> =
            e.0.iter()
                .map(|e| (e.field.as_str(), e.code.as_str()))
                .collect();
        assert_eq!(
            codes,
            [
                ("parties[0].id_number", "id_length"),
                ("parties", "respondent_missing"),
                ("sessions[0].held_on", "held_on_future"),
                ("judicial_confirmation", "confirmation_without_agreement"),
            ]
        );
        let mut m = mediation();
        m.conclusion.agreement_text.clear();
        let e = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap_err();
        assert_eq!(e.0[0].field, "agreement_text");
    }

    fn codes(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn a_mediation_is_saved_while_the_other_party_is_called_in() {
        let mut m = mediation();
        m.sessions.clear();
        m.conclusion = ConclusionInput::default();
        m.applied_on = "2025-06-27".into();
        let v = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap();
        assert_eq!(v.conclusion.outcome, MediationOutcome::Pending);
        assert_eq!(v.applied_on, "2025-06-27".parse().unwrap());
        assert_eq!(v.started_by, StartedBy::Application);
        // Ended needs a session, except 终止 (one party refused: 《人民调解法》第十七条).
        m.conclusion.outcome = "未达成".into();
        let e = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap_err();
        assert_eq!(codes(e), ["sessions_empty"]);
        m.conclusion.outcome = "终止".into();
        assert!(validate_mediation(&m, ReferenceData::bundled(), today()).is_ok());
        // The first session cannot come before the application or consent.
        let mut m = mediation();
        m.applied_on = "2025-06-30".into();
        m.sessions[0].held_on = "2025-06-29".into();
        let e = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap_err();
        assert_eq!(codes(e), ["session_before_application"]);
        // What the dispute is about is stated from the first save (the 申请书, the 受理登记表).
        let mut m = mediation();
        m.request = " ".into();
        let e = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap_err();
        assert_eq!(codes(e), ["request_empty"]);
        assert!(check_pending(MediationOutcome::Pending).is_ok());
        assert_eq!(
            check_pending(MediationOutcome::Agreed).unwrap_err().code,
            "mediation_ended"
        );
    }

    #[test]
    fn an_organisation_is_a_party_by_its_credit_code_and_representative() {
        let mut m = mediation();
        m.parties[1] = PartyInput {
            role: "respondent".into(),
            kind: "法人或其他组织".into(),
            name: "沁水县某建筑工程有限公司".into(),
            id_number: "91350100m000100y43".into(),
            representative: "王五".into(),
            ..Default::default()
        };
        let v = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap();
        let p = &v.parties[1];
        assert_eq!(
            (p.kind, p.id_type_code(), p.id_number.as_str()),
            (PartyKind::Organisation, "uscc", "91350100M000100Y43")
        );
        assert_eq!(p.representative.as_deref(), Some("王五"));
        assert_eq!(party_id_type_label("uscc"), "统一社会信用代码");
        m.parties[1].representative.clear();
        m.parties[1].id_number = "91350100M000100Y44".into();
        let e = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap_err();
        assert_eq!(codes(e), ["representative_empty", "credit_code_check"]);
    }

    #[test]
    fn an_agreement_states_its_facts_and_an_oral_one_is_not_sent_to_the_court() {
        let mut m = mediation();
        m.conclusion.dispute_facts.clear();
        m.conclusion.agreement_form = "口头协议".into();
        let e = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap_err();
        assert_eq!(
            codes(e),
            ["dispute_facts_empty", "confirmation_of_oral_agreement"]
        );
        let mut m = mediation();
        m.conclusion.agreement_form = "oral".into();
        m.conclusion.judicial_confirmation = false;
        let v = validate_mediation(&m, ReferenceData::bundled(), today()).unwrap();
        assert_eq!(v.conclusion.agreement_form, Some(AgreementForm::Oral));
    }

    #[test]
    fn an_investigation_needs_its_place_person_and_content_within_the_mediation() {
        let input = |on: &str| InvestigationInput {
            investigated_on: on.into(),
            place: "沁水县某村村委会".into(),
            person: "李某（证人）".into(),
            present: String::new(),
            content: "证实双方于2025年5月口头约定由被申请人修缮院墙。".into(),
        };
        let began = NaiveDate::from_ymd_opt(2025, 6, 2);
        let ok = validate_investigation(&input("2025-06-03"), began, today()).unwrap();
        assert_eq!(ok.person, "李某（证人）");
        assert!(ok.present.is_empty());
        let codes = |r: Result<ValidInvestigation, ValidationErrors>| -> Vec<String> {
            r.unwrap_err().0.into_iter().map(|e| e.code).collect()
        };
        assert_eq!(
            codes(validate_investigation(&input("2025-06-01"), began, today())),
            ["investigated_before_mediation"]
        );
        let tomorrow = (today() + chrono::Days::new(1)).to_string();
        assert_eq!(
            codes(validate_investigation(&input(&tomorrow), began, today())),
            ["investigated_in_future"]
        );
        let blank = InvestigationInput {
            investigated_on: "2025-06-03".into(),
            ..Default::default()
        };
        assert_eq!(
            codes(validate_investigation(&blank, began, today())),
            ["place_empty", "person_empty", "content_empty"]
        );
    }

    #[test]
    fn the_courts_answer_is_recorded_once_and_follow_ups_only_of_an_agreement() {
        use MediationOutcome::*;
        let answer = |o, applied, known, a: &str| {
            check_confirmation_answer(o, applied, known, a).map_err(codes)
        };
        assert_eq!(
            answer(Agreed, true, None, "确认有效"),
            Ok(ConfirmationResult::Confirmed)
        );
        assert_eq!(
            answer(
                Agreed,
                true,
                Some(ConfirmationResult::Rejected),
                "confirmed"
            ),
            Err(vec!["confirmation_result_known".to_owned()])
        );
        assert_eq!(
            answer(NotAgreed, false, None, "confirmed"),
            Err(vec!["result_without_confirmation".to_owned()])
        );
        assert_eq!(
            answer(Agreed, true, None, ""),
            Err(vec!["confirmation_result_empty".to_owned()])
        );

        let effective = "2025-06-20".parse().ok();
        let follow = |o, on: &str, f: &str| {
            let input = FollowUpInput {
                visited_on: on.into(),
                fulfilment: f.into(),
                notes: "电话回访申请人。".into(),
            };
            validate_follow_up(&input, o, effective, today()).map_err(codes)
        };
        let v = follow(Agreed, "2025-06-25", "部分履行").unwrap();
        assert_eq!(v.fulfilment, Fulfilment::Partly);
        assert_eq!(
            follow(Agreed, "2025-06-19", "fulfilled").unwrap_err(),
            ["visited_before_effect"]
        );
        assert_eq!(
            follow(Terminated, "2025-07-01", "履行了").unwrap_err(),
            [
                "follow_up_without_agreement",
                "visited_in_future",
                "fulfilment_unknown"
            ]
        );
    }

    #[test]
    fn a_committee_is_named_as_on_its_seal() {
        assert_eq!(
            check_committee_name(" 沁水县信访事项 人民调解委员会 ").unwrap(),
            "沁水县信访事项人民调解委员会"
        );
        let code = |s: &str| check_committee_name(s).unwrap_err().code;
        assert_eq!(code("  "), "committee_name_empty");
        assert_eq!(code("沁水县信访局"), "committee_name_not_mediation");
        assert_eq!(code(&"调".repeat(61)), "committee_name_too_long");
    }
}
