//! Notices printed for the visitor (文书, DOMAIN.md §2): which exist, when each may be printed,
//! and the facts each is filled with. The wording lives in the templates
//! (`assets/templates/<code>.typ`) so a hall can adjust it; this module decides only the facts.
//!
//! Every builder here is pure: same record, same notice.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::calendar::HolidayCalendar;
use crate::deadline::deadline;
use crate::error::FieldError;
use crate::matter::{CONCLUSION_DAYS, DeadlineKind, MatterState};
use crate::reference::{AppealKind, ReferenceData};
use crate::regions::Regions;
use crate::staff::Action;

/// The notices the desk prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 受理告知书
    Acceptance,
    /// 不予受理告知书
    NonAcceptance,
    /// 转送告知单 (also for 交办)
    Transfer,
    /// 信访处理意见书
    HandlingOpinion,
    /// 延期办理告知书
    Extension,
    /// 复查意见书
    ReviewOpinion,
    /// 复核意见书
    ReReviewOpinion,
    /// 不再受理告知书: a repeat visit about a matter being handled or finally decided.
    NotAcceptedAgain,
    /// 法律意见书 (from a consultation)
    LegalOpinion,
    /// 调解协议书 (from a mediation)
    MediationAgreement,
    /// 口头调解协议登记表: an oral agreement as the committee records it (人民调解法第二十八条)
    OralAgreement,
    /// 人民调解记录: the parties and every session (司法部人民调解文书格式)
    MediationRecord,
    /// 人民调解回访记录
    MediationFollowUp,
    /// 人民调解调查记录: what the mediator found out from a party or a witness
    MediationInvestigation,
    /// 人民调解申请书: the parties' application (when they applied, not 主动调解)
    MediationApplication,
    /// 人民调解受理登记表: the committee's registration of the dispute taken on
    MediationRegistration,
    /// 越级走访告知书: a 越级访 told where to go (属地, 逐级), printed from the visit.
    SkipLevelGuidance,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 17] = [
        NoticeKind::Acceptance,
        NoticeKind::NonAcceptance,
        NoticeKind::Transfer,
        NoticeKind::HandlingOpinion,
        NoticeKind::Extension,
        NoticeKind::ReviewOpinion,
        NoticeKind::ReReviewOpinion,
        NoticeKind::NotAcceptedAgain,
        NoticeKind::LegalOpinion,
        NoticeKind::MediationAgreement,
        NoticeKind::OralAgreement,
        NoticeKind::MediationRecord,
        NoticeKind::MediationFollowUp,
        NoticeKind::MediationInvestigation,
        NoticeKind::SkipLevelGuidance,
        NoticeKind::MediationApplication,
        NoticeKind::MediationRegistration,
    ];

    pub fn code(self) -> &'static str {
        match self {
            NoticeKind::Acceptance => "acceptance",
            NoticeKind::NonAcceptance => "non_acceptance",
            NoticeKind::Transfer => "transfer",
            NoticeKind::HandlingOpinion => "handling_opinion",
            NoticeKind::Extension => "extension",
            NoticeKind::ReviewOpinion => "review_opinion",
            NoticeKind::ReReviewOpinion => "re_review_opinion",
            NoticeKind::NotAcceptedAgain => "not_accepted_again",
            NoticeKind::LegalOpinion => "legal_opinion",
            NoticeKind::MediationAgreement => "mediation_agreement",
            NoticeKind::OralAgreement => "oral_agreement",
            NoticeKind::MediationRecord => "mediation_record",
            NoticeKind::MediationFollowUp => "mediation_follow_up",
            NoticeKind::MediationInvestigation => "mediation_investigation",
            NoticeKind::MediationApplication => "mediation_application",
            NoticeKind::MediationRegistration => "mediation_registration",
            NoticeKind::SkipLevelGuidance => "skip_level_guidance",
        }
    }

    pub fn title_zh(self) -> &'static str {
        match self {
            NoticeKind::Acceptance => "受理告知书",
            NoticeKind::NonAcceptance => "不予受理告知书",
            NoticeKind::Transfer => "转送告知单",
            NoticeKind::HandlingOpinion => "信访处理意见书",
            NoticeKind::Extension => "延期办理告知书",
            NoticeKind::ReviewOpinion => "复查意见书",
            NoticeKind::ReReviewOpinion => "复核意见书",
            NoticeKind::NotAcceptedAgain => "不再受理告知书",
            NoticeKind::LegalOpinion => "法律意见书",
            NoticeKind::MediationAgreement => "调解协议书",
            NoticeKind::OralAgreement => "口头调解协议登记表",
            NoticeKind::MediationRecord => "人民调解记录",
            NoticeKind::MediationFollowUp => "人民调解回访记录",
            NoticeKind::MediationInvestigation => "人民调解调查记录",
            NoticeKind::MediationApplication => "人民调解申请书",
            NoticeKind::MediationRegistration => "人民调解受理登记表",
            NoticeKind::SkipLevelGuidance => "越级走访告知书",
        }
    }

    /// Reads the code or the Chinese title.
    pub fn parse(s: &str) -> Option<NoticeKind> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.code() == s || k.title_zh() == s)
    }

    /// The template file in the templates folder.
    pub fn template_file(self) -> String {
        format!("{}.typ", self.code())
    }

    /// Whether it is printed from a matter (else from a consultation, a mediation or a visit).
    pub fn is_matter_notice(self) -> bool {
        !matches!(
            self,
            NoticeKind::LegalOpinion | NoticeKind::SkipLevelGuidance
        ) && !self.is_mediation_document()
    }

    /// Whether it is printed from a mediation record.
    pub fn is_mediation_document(self) -> bool {
        matches!(
            self,
            NoticeKind::MediationAgreement
                | NoticeKind::OralAgreement
                | NoticeKind::MediationRecord
                | NoticeKind::MediationFollowUp
                | NoticeKind::MediationInvestigation
                | NoticeKind::MediationApplication
                | NoticeKind::MediationRegistration
        )
    }

    /// Whether it is printed from one visit (the 越级走访告知书).
    pub fn is_visit_notice(self) -> bool {
        self == NoticeKind::SkipLevelGuidance
    }

    /// What the person printing it must be allowed to do.
    pub fn action(self) -> Action {
        match self {
            NoticeKind::LegalOpinion => Action::PrintLegalOpinion,
            k if k.is_mediation_document() => Action::PrintMediationAgreement,
            _ => Action::PrintMatterNotice,
        }
    }

    /// All codes with titles, for messages.
    pub fn list_zh() -> String {
        Self::ALL
            .iter()
            .map(|k| format!("{}（{}）", k.code(), k.title_zh()))
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// A notice ready for a template: who issues it, to whom, when, and its facts.
/// Templates read it as `data` (see `assets/templates/common.typ`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NoticeData {
    pub kind: NoticeKind,
    pub title: String,
    /// The body that issues it, e.g. `沁水县信访局`; signs the notice.
    pub issuer: String,
    /// The reception hall, e.g. `沁水县信访接待大厅`.
    pub hall_name: String,
    /// 文号, e.g. `沁信受〔2026〕12号`; empty when none was given.
    pub doc_no: String,
    /// Whom it is addressed to, e.g. `张三、李四`.
    pub addressee: String,
    /// `YYYY-MM-DD`.
    pub issued_on: NaiveDate,
    /// `2026年11月26日`.
    pub issued_on_zh: String,
    /// Kind-specific facts; each template lists the keys it uses.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub facts: Map<String, Value>,
}

impl NoticeData {
    /// Every piece of text in the notice, for checking that the fonts can print it.
    pub fn texts(&self) -> Vec<&str> {
        fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::String(s) => out.push(s),
                Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                Value::Object(o) => o.values().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = vec![
            self.title.as_str(),
            &self.issuer,
            &self.hall_name,
            &self.doc_no,
            &self.addressee,
            &self.issued_on_zh,
        ];
        self.facts.values().for_each(|v| walk(v, &mut out));
        out
    }
}

/// A 文号 as typed at printing: `机关代字〔年份〕序号号`, e.g. `沁信受〔2026〕12号`. Brackets typed as
/// `[]`, `()` or `（）` are turned into 〔〕; empty stays empty (the notice then has none).
pub fn check_doc_no(text: &str) -> Result<String, FieldError> {
    let t: String = text
        .trim()
        .chars()
        .map(|c| match c {
            '[' | '(' | '（' | '【' => '〔',
            ']' | ')' | '）' | '】' => '〕',
            c => c,
        })
        .collect();
    if t.is_empty() {
        return Ok(t);
    }
    let shaped = (|| {
        let (agency, rest) = t.split_once('〔')?;
        let (year, number) = rest.split_once('〕')?;
        let number = number.strip_suffix('号')?;
        let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        (!agency.is_empty() && year.len() == 4 && digits(year) && digits(number)).then_some(())
    })();
    match shaped {
        Some(()) => Ok(t),
        None => Err(FieldError::new(
            "doc_no",
            "doc_no_shape",
            format!(
                "文号“{}”格式不对：应为机关代字、〔年份〕和序号，如“沁信受〔2026〕12号”。",
                text.trim()
            ),
        )),
    }
}

/// A date as official documents write it (GB/T 9704-2012 7.3.5.4: Arabic numerals, the year in
/// full, no leading zeros): 2026-11-26 → `2026年11月26日`.
pub fn date_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// 1–99 in Chinese numerals as used in dates and counts: 十, 十一, 二十, 三十一.
pub fn small_number_zh(n: u32) -> String {
    const D: [&str; 10] = ["〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => D[n as usize].to_owned(),
        10 => "十".to_owned(),
        11..=19 => format!("十{}", D[(n % 10) as usize]),
        20..=99 if n.is_multiple_of(10) => format!("{}十", D[(n / 10) as usize]),
        20..=99 => format!("{}十{}", D[(n / 10) as usize], D[(n % 10) as usize]),
        _ => n.to_string(),
    }
}

/// The issuing bureau and hall of a hall code, from the region table:
/// 140521 → (`沁水县信访局`, `沁水县信访接待大厅`).
pub fn hall_names(hall_code: &str, regions: &Regions) -> (String, String) {
    let place = regions
        .short_name(hall_code)
        .filter(|n| !matches!(*n, "市辖区" | "县"))
        .map(str::to_owned)
        .or_else(|| regions.name(hall_code))
        .unwrap_or_else(|| hall_code.to_owned());
    (format!("{place}信访局"), format!("{place}信访接待大厅"))
}

/// What a matter notice needs beyond the matter's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatterFacts {
    pub hall_code: String,
    /// Visitors of the first visit, representatives first.
    pub visitor_names: Vec<String>,
    /// 诉求 as registered.
    pub appeal: String,
    pub appeal_kind: AppealKind,
    pub category_name: String,
    /// Confirmed legal route, if any.
    pub legal_route: Option<String>,
    /// 事项编号 as the desk shows it (`沁水-2026-11-B0017`), printed under the title so a notice
    /// on paper leads back to its matter; empty when the matter has none.
    #[serde(default)]
    pub number: String,
}

fn not_ready(kind: NoticeKind, what: &str) -> FieldError {
    FieldError::new(
        "kind",
        "notice_not_ready",
        format!(
            "该事项还没有{what}，不能打印{}。请先登记相应环节，再打印文书。",
            kind.title_zh()
        ),
    )
}

fn due_of(state: &MatterState, kind: DeadlineKind) -> Option<NaiveDate> {
    state
        .deadlines
        .iter()
        .find(|d| d.kind == kind)
        .map(|d| d.due)
}

fn route_name(code: &str, reference: &ReferenceData) -> String {
    reference
        .legal_route(code)
        .map_or_else(|| code.to_owned(), |r| r.name.clone())
}

/// The matter notices its record can fill now, for the matter page's print buttons.
pub fn available_notices(state: &MatterState) -> Vec<NoticeKind> {
    let has_opinion =
        |s: &Option<crate::matter::ReviewStage>| s.as_ref().is_some_and(|s| s.opinion.is_some());
    NoticeKind::ALL
        .into_iter()
        .filter(|k| match k {
            NoticeKind::Acceptance => state.accepted_on.is_some(),
            NoticeKind::NonAcceptance => state.not_accepted.is_some(),
            NoticeKind::Transfer => state.transfer.is_some(),
            NoticeKind::HandlingOpinion => state.opinion.is_some(),
            NoticeKind::Extension => state.extension.is_some(),
            NoticeKind::ReviewOpinion => has_opinion(&state.review),
            NoticeKind::ReReviewOpinion => has_opinion(&state.re_review),
            NoticeKind::NotAcceptedAgain => crate::matter::repeat_visit_refusal(state).is_some(),
            NoticeKind::LegalOpinion
            | NoticeKind::MediationAgreement
            | NoticeKind::OralAgreement
            | NoticeKind::MediationRecord
            | NoticeKind::MediationFollowUp
            | NoticeKind::MediationInvestigation
            | NoticeKind::MediationApplication
            | NoticeKind::MediationRegistration
            | NoticeKind::SkipLevelGuidance => false,
        })
        .collect()
}

/// Fills a matter notice from the record. Refuses a notice whose step has not happened yet.
/// A notice says what was true when it was issued: a 受理告知书 printed again after an
/// extension still names the original 60-day limit.
pub fn matter_notice(
    kind: NoticeKind,
    facts: &MatterFacts,
    state: &MatterState,
    reference: &ReferenceData,
    cal: &HolidayCalendar,
    today: NaiveDate,
) -> Result<NoticeData, FieldError> {
    let (bureau, hall_name) = hall_names(&facts.hall_code, reference.regions);
    let mut f = Map::new();
    f.insert("received_on_zh".into(), json!(date_zh(state.received_on)));
    f.insert("matter_number".into(), json!(facts.number));
    f.insert("appeal".into(), json!(facts.appeal.trim()));
    f.insert("appeal_kind".into(), json!(facts.appeal_kind.label_zh()));
    f.insert("category".into(), json!(facts.category_name));
    f.insert(
        "legal_route".into(),
        json!(
            facts
                .legal_route
                .as_deref()
                .map(|c| route_name(c, reference))
                .unwrap_or_default()
        ),
    );
    // The authority that decided issues the notices of its decision: the one the matter was
    // forwarded or assigned to (unless it objected), else the hall's bureau.
    let decider = state
        .transfer
        .as_ref()
        .filter(|t| t.objection.is_none())
        .map_or_else(|| bureau.clone(), |t| t.to_authority.clone());
    let mut issuer = match kind {
        NoticeKind::Acceptance
        | NoticeKind::NonAcceptance
        | NoticeKind::HandlingOpinion
        | NoticeKind::Extension => decider,
        _ => bureau,
    };
    let mut doc_no = String::new();
    let due_zh = |k| due_of(state, k).map(date_zh).unwrap_or_default();
    let issued_on = match kind {
        NoticeKind::Acceptance => {
            let at = state
                .accepted_on
                .ok_or_else(|| not_ready(kind, "受理决定"))?;
            doc_no = state.acceptance_notice_no.clone().unwrap_or_default();
            f.insert("accepted_on_zh".into(), json!(date_zh(at)));
            f.insert(
                "conclusion_due_zh".into(),
                json!(date_zh(deadline(at, CONCLUSION_DAYS, cal).due)),
            );
            at
        }
        NoticeKind::NonAcceptance => {
            let r = state
                .not_accepted
                .as_ref()
                .ok_or_else(|| not_ready(kind, "不予受理决定"))?;
            f.insert("reason".into(), json!(r.reason));
            r.at
        }
        NoticeKind::Transfer => {
            let t = state
                .transfer
                .as_ref()
                .ok_or_else(|| not_ready(kind, "转送或交办记录"))?;
            f.insert("transfer_kind".into(), json!(t.kind.label_zh()));
            f.insert("to_authority".into(), json!(t.to_authority));
            f.insert("transferred_on_zh".into(), json!(date_zh(t.at)));
            f.insert(
                "decision_due_zh".into(),
                json!(due_zh(DeadlineKind::AcceptanceDecision)),
            );
            f.insert(
                "report_back_by_zh".into(),
                json!(t.report_back_by.map(date_zh).unwrap_or_default()),
            );
            t.at
        }
        NoticeKind::HandlingOpinion => {
            let o = state
                .opinion
                .as_ref()
                .ok_or_else(|| not_ready(kind, "办结意见"))?;
            f.insert(
                "accepted_on_zh".into(),
                json!(state.accepted_on.map(date_zh).unwrap_or_default()),
            );
            f.insert("opinion".into(), json!(o.summary));
            f.insert("result".into(), json!(o.details.result));
            f.insert("facts_reasons".into(), json!(o.details.facts_reasons));
            f.insert("legal_basis".into(), json!(o.details.legal_basis));
            f.insert("days".into(), json!(small_number_zh(30)));
            o.at
        }
        NoticeKind::Extension => {
            let e = state
                .extension
                .as_ref()
                .ok_or_else(|| not_ready(kind, "延期记录"))?;
            let accepted = state.accepted_on.map(date_zh).unwrap_or_default();
            f.insert("accepted_on_zh".into(), json!(accepted));
            f.insert(
                "original_due_zh".into(),
                json!(
                    state
                        .accepted_on
                        .map(|a| date_zh(deadline(a, CONCLUSION_DAYS, cal).due))
                        .unwrap_or_default()
                ),
            );
            f.insert("extension_days".into(), json!(small_number_zh(e.days)));
            f.insert("reason".into(), json!(e.reason));
            f.insert("approver".into(), json!(e.approver));
            f.insert(
                "conclusion_due_zh".into(),
                json!(due_zh(DeadlineKind::Conclusion)),
            );
            e.at
        }
        NoticeKind::ReviewOpinion => {
            let r = state
                .review
                .as_ref()
                .ok_or_else(|| not_ready(kind, "复查请求"))?;
            let o = r
                .opinion
                .as_ref()
                .ok_or_else(|| not_ready(kind, "复查意见"))?;
            issuer = r.body.clone();
            f.insert("requested_on_zh".into(), json!(date_zh(r.requested_on)));
            f.insert(
                "original_opinion".into(),
                json!(state.opinion.as_ref().map(|o| o.summary.as_str())),
            );
            f.insert("opinion".into(), json!(o.summary));
            o.at
        }
        NoticeKind::ReReviewOpinion => {
            let r = state
                .re_review
                .as_ref()
                .ok_or_else(|| not_ready(kind, "复核请求"))?;
            let o = r
                .opinion
                .as_ref()
                .ok_or_else(|| not_ready(kind, "复核意见"))?;
            issuer = r.body.clone();
            f.insert("requested_on_zh".into(), json!(date_zh(r.requested_on)));
            f.insert(
                "review_opinion".into(),
                json!(
                    state
                        .review
                        .as_ref()
                        .and_then(|r| r.opinion.as_ref())
                        .map(|o| o.summary.as_str())
                ),
            );
            let hearing = r.hearing.as_ref().map(|h| {
                json!({
                    "date_zh": date_zh(h.date),
                    "chair": h.chair,
                    "panel": h.panel.join("、"),
                    "participants": h.participants.join("、"),
                    "opinion": h.opinion,
                })
            });
            f.insert("hearing".into(), hearing.unwrap_or(Value::Null));
            f.insert("opinion".into(), json!(o.summary));
            o.at
        }
        NoticeKind::NotAcceptedAgain => {
            use crate::matter::{RepeatStage, repeat_stage};
            let stage = repeat_stage(state.status);
            let (stage_code, when) = match stage {
                RepeatStage::Open => {
                    return Err(not_ready(
                        kind,
                        "不再受理的情形（事项正在办理或已复核、终结）",
                    ));
                }
                RepeatStage::Handling => ("handling", String::new()),
                RepeatStage::Final => (
                    "final",
                    state
                        .re_review
                        .as_ref()
                        .and_then(|r| r.opinion.as_ref())
                        .map(|o| format!("已于{}经复核出具复核意见", date_zh(o.at)))
                        .or_else(|| {
                            state
                                .closed_on
                                .map(|d| format!("已于{}{}", date_zh(d), state.status_label()))
                        })
                        .unwrap_or_else(|| format!("已经{}", state.status_label())),
                ),
            };
            f.insert("stage".into(), json!(stage_code));
            f.insert("status".into(), json!(state.status.label_zh()));
            f.insert("when".into(), json!(when));
            // The limit the visitor waits for: the first authority limit still running.
            let waiting = state.deadlines.iter().find(|d| {
                d.party == crate::matter::DeadlineParty::Authority && d.done_on.is_none()
            });
            f.insert(
                "due_zh".into(),
                json!(waiting.map(|d| date_zh(d.due)).unwrap_or_default()),
            );
            f.insert(
                "due_label".into(),
                json!(waiting.map(|d| d.label_zh.clone()).unwrap_or_default()),
            );
            today
        }
        NoticeKind::LegalOpinion
        | NoticeKind::MediationAgreement
        | NoticeKind::OralAgreement
        | NoticeKind::MediationRecord
        | NoticeKind::MediationFollowUp
        | NoticeKind::MediationInvestigation
        | NoticeKind::MediationApplication
        | NoticeKind::MediationRegistration
        | NoticeKind::SkipLevelGuidance => {
            return Err(FieldError::new(
                "kind",
                "notice_not_for_matter",
                format!(
                    "{}由{}打印，不从信访事项打印。",
                    kind.title_zh(),
                    match kind {
                        NoticeKind::LegalOpinion => "值班律师在法律咨询记录中",
                        NoticeKind::MediationAgreement => "人民调解员在调解记录中",
                        _ => "接待员在来访登记中",
                    }
                ),
            ));
        }
    };
    Ok(NoticeData {
        kind,
        title: kind.title_zh().to_owned(),
        issuer,
        hall_name,
        doc_no,
        addressee: addressee(&facts.visitor_names),
        issued_on,
        issued_on_zh: date_zh(issued_on),
        facts: f,
    })
}

/// What a notice of one visit (the 越级走访告知书) is filled from: the visit as registered, with
/// its 越级访 as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitFacts {
    /// The hall visited; its bureau issues the notice.
    pub hall_code: String,
    /// Visitors of the visit, representatives first.
    pub visitor_names: Vec<String>,
    pub visited_on: NaiveDate,
    /// 诉求 as registered.
    pub appeal: String,
    pub category_name: String,
    /// 问题发生地, if written.
    pub place_code: Option<String>,
    pub skip_level: crate::hall::SkipLevel,
}

/// Fills a notice of one visit: the 越级走访告知书 of a visit flagged 越级访, naming the 属地
/// authority the visitor is guided to; issued by the hall's bureau, dated `today` (the day it
/// is printed and handed over). Refused for a visit not flagged.
pub fn visit_notice(
    kind: NoticeKind,
    facts: &VisitFacts,
    regions: &Regions,
    today: NaiveDate,
) -> Result<NoticeData, FieldError> {
    if !kind.is_visit_notice() {
        return Err(FieldError::new(
            "kind",
            "notice_not_for_visit",
            format!(
                "{}不从来访登记打印，请到相应的事项、咨询或调解记录中打印。",
                kind.title_zh()
            ),
        ));
    }
    let skip = &facts.skip_level;
    if !skip.flagged {
        return Err(FieldError::new(
            "kind",
            "not_skip_level",
            "这次来访没有标为越级访（问题发生地和正在办理的机关都不在本大厅以下），不能打印越级走访告知书。",
        ));
    }
    let (bureau, hall_name) = hall_names(&facts.hall_code, regions);
    let place_name = |code: &str| {
        regions
            .short_name(code)
            .filter(|n| !matches!(*n, "市辖区" | "县"))
            .map_or_else(|| code.to_owned(), str::to_owned)
    };
    let mut f = Map::new();
    f.insert("visited_on_zh".into(), json!(date_zh(facts.visited_on)));
    f.insert("appeal".into(), json!(facts.appeal.trim()));
    f.insert("category".into(), json!(facts.category_name));
    f.insert(
        "place".into(),
        json!(
            facts
                .place_code
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(place_name)
                .unwrap_or_default()
        ),
    );
    let basis = match skip.basis {
        Some(crate::hall::SkipLevelBasis::Handling) => "handling",
        _ => "place",
    };
    f.insert("basis".into(), json!(basis));
    let local_name = if skip.local_name.is_empty() {
        place_name(&skip.local_code)
    } else {
        skip.local_name.clone()
    };
    f.insert("local_name".into(), json!(local_name));
    f.insert("authority".into(), json!(skip.authority));
    f.insert(
        "local_hall".into(),
        json!(hall_names(&skip.local_code, regions).1),
    );
    Ok(NoticeData {
        kind,
        title: kind.title_zh().to_owned(),
        issuer: bureau,
        hall_name,
        doc_no: String::new(),
        addressee: addressee(&facts.visitor_names),
        issued_on: today,
        issued_on_zh: date_zh(today),
        facts: f,
    })
}

fn addressee(names: &[String]) -> String {
    let names: Vec<&str> = names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        "信访人".to_owned()
    } else {
        names.join("、")
    }
}

/// What a 法律意见书 is made from: a lawyer's consultation (the app fills it from the
/// consultation record).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LegalOpinionInput {
    pub hall_code: String,
    pub visitor_name: String,
    pub lawyer_name: String,
    /// The lawyer's firm, if the hall records it.
    #[serde(default)]
    pub law_firm: String,
    pub question: String,
    pub facts: String,
    pub advice: String,
    /// Code or name from the legal-route list.
    pub legal_route: String,
    pub laws_cited: String,
    /// `YYYY-MM-DD`.
    pub consulted_on: NaiveDate,
}

/// Fills a 法律意见书.
pub fn legal_opinion(
    input: &LegalOpinionInput,
    reference: &ReferenceData,
) -> Result<NoticeData, FieldError> {
    let kind = NoticeKind::LegalOpinion;
    for (field, value, what) in [
        ("question", &input.question, "咨询的问题"),
        ("advice", &input.advice, "法律意见"),
        ("lawyer_name", &input.lawyer_name, "值班律师姓名"),
    ] {
        if value.trim().is_empty() {
            return Err(FieldError::new(
                field,
                "required",
                format!("法律意见书缺少{what}，请在法律咨询记录中补充后再打印。"),
            ));
        }
    }
    let (_, hall_name) = hall_names(&input.hall_code, reference.regions);
    let route = if input.legal_route.trim().is_empty() {
        String::new()
    } else {
        route_name(&input.legal_route, reference)
    };
    let route_description = reference
        .legal_route(&input.legal_route)
        .map(|r| r.description.clone())
        .unwrap_or_default();
    let mut f = Map::new();
    f.insert("question".into(), json!(input.question.trim()));
    f.insert("facts".into(), json!(input.facts.trim()));
    f.insert("advice".into(), json!(input.advice.trim()));
    f.insert("legal_route".into(), json!(route));
    f.insert("legal_route_description".into(), json!(route_description));
    f.insert("laws_cited".into(), json!(input.laws_cited.trim()));
    f.insert("lawyer_name".into(), json!(input.lawyer_name.trim()));
    f.insert("law_firm".into(), json!(input.law_firm.trim()));
    Ok(NoticeData {
        kind,
        title: kind.title_zh().to_owned(),
        // The hall heads the page; the lawyer signs (see the template).
        issuer: hall_name.clone(),
        hall_name,
        doc_no: String::new(),
        addressee: addressee(std::slice::from_ref(&input.visitor_name)),
        issued_on: input.consulted_on,
        issued_on_zh: date_zh(input.consulted_on),
        facts: f,
    })
}

/// One party of a 调解协议书.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgreementParty {
    /// `申请人` / `被申请人`.
    pub role_label: String,
    pub name: String,
    #[serde(default)]
    pub sex: String,
    pub id_type_label: String,
    /// In full: the agreement identifies the parties.
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
}

/// One session in a mediation document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentSession {
    pub held_on: NaiveDate,
    pub notes: String,
}

/// One 回访 in a mediation document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentFollowUp {
    pub visited_on: NaiveDate,
    pub fulfilment_label: String,
    pub notes: String,
    pub by_name: String,
}

/// One 调查 of a mediation as its 调查记录 prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DocumentInvestigation {
    pub investigated_on: NaiveDate,
    pub place: String,
    /// 被调查人 and 参加人.
    pub person: String,
    pub present: String,
    pub content: String,
    /// 记录人: the mediator who recorded it.
    pub by_name: String,
}

/// What the mediation documents (协议书, 口头协议登记表, 调解记录, 回访记录) are made from: the
/// mediation record. The fields after `agreed_on` came later and may be left out of a `--data`
/// file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediationAgreementInput {
    pub hall_code: String,
    /// 调解协议编号, may be empty.
    #[serde(default)]
    pub doc_no: String,
    pub mediator_name: String,
    pub dispute_type_name: String,
    pub parties: Vec<AgreementParty>,
    /// 纠纷的主要事实.
    pub dispute_facts: String,
    /// 经调解，自愿达成如下协议 …
    pub agreement_text: String,
    /// Whether the parties will ask the court for judicial confirmation (司法确认).
    pub judicial_confirmation: bool,
    /// `YYYY-MM-DD`, the day the agreement was reached (took effect).
    pub agreed_on: NaiveDate,
    /// The 人民调解委员会 the mediator serves; empty: `<hall>人民调解委员会`.
    #[serde(default)]
    pub committee_name: String,
    /// 争议事项.
    #[serde(default)]
    pub points_in_dispute: String,
    /// 各方当事人的责任.
    #[serde(default)]
    pub responsibility: String,
    /// 当事人申请 / 主动调解.
    #[serde(default)]
    pub started_by_label: String,
    /// 申请调解事项.
    #[serde(default)]
    pub request: String,
    #[serde(default)]
    pub applied_on: Option<NaiveDate>,
    #[serde(default)]
    pub outcome_label: String,
    #[serde(default)]
    pub sessions: Vec<DocumentSession>,
    #[serde(default)]
    pub follow_ups: Vec<DocumentFollowUp>,
    #[serde(default)]
    pub investigations: Vec<DocumentInvestigation>,
    /// The day the document is printed (the 调解记录's and 回访记录's date).
    #[serde(default)]
    pub printed_on: Option<NaiveDate>,
}

impl MediationAgreementInput {
    /// The committee's name, the same on every document and screen.
    pub fn committee(&self, reference: &ReferenceData) -> String {
        let name = self.committee_name.trim();
        if name.is_empty() {
            committee_name(&self.hall_code, reference.regions)
        } else {
            name.to_owned()
        }
    }
}

/// The default name of a hall's 人民调解委员会 (`沁水县信访接待大厅人民调解委员会`), which every
/// mediation document and screen shows.
pub fn committee_name(hall_code: &str, regions: &Regions) -> String {
    let (_, hall_name) = hall_names(hall_code, regions);
    format!("{hall_name}人民调解委员会")
}

/// Only a mediation that reached agreement has a 调解协议书.
pub fn check_agreed(outcome: crate::desk::MediationOutcome) -> Result<(), FieldError> {
    if outcome == crate::desk::MediationOutcome::Agreed {
        Ok(())
    } else {
        Err(FieldError::new(
            "mediation_id",
            "not_agreed",
            format!(
                "该调解结果为“{}”，没有调解协议，不能打印调解协议书；如需记录调解经过，请打印调解记录。",
                outcome.label_zh()
            ),
        ))
    }
}

/// Which mediation documents a record has: the 申请书 when the parties applied (not 主动调解),
/// the 受理登记表 and the 调解记录 always; an agreement's written or oral form; the 回访记录
/// once there is a 回访.
pub fn available_mediation_documents(
    started_by: crate::desk::StartedBy,
    outcome: crate::desk::MediationOutcome,
    form: Option<crate::desk::AgreementForm>,
    follow_ups: usize,
    investigations: usize,
) -> Vec<NoticeKind> {
    use crate::desk::{AgreementForm, MediationOutcome, StartedBy};
    let mut kinds = Vec::new();
    if started_by == StartedBy::Application {
        kinds.push(NoticeKind::MediationApplication);
    }
    kinds.extend([
        NoticeKind::MediationRegistration,
        NoticeKind::MediationRecord,
    ]);
    if outcome == MediationOutcome::Agreed {
        kinds.push(match form {
            Some(AgreementForm::Oral) => NoticeKind::OralAgreement,
            _ => NoticeKind::MediationAgreement,
        });
    }
    if investigations > 0 {
        kinds.push(NoticeKind::MediationInvestigation);
    }
    if follow_ups > 0 {
        kinds.push(NoticeKind::MediationFollowUp);
    }
    kinds
}

/// Fills a 调解协议书. Only an agreement reached can be printed.
pub fn mediation_agreement(
    input: &MediationAgreementInput,
    reference: &ReferenceData,
) -> Result<NoticeData, FieldError> {
    mediation_document(NoticeKind::MediationAgreement, input, reference)
}

/// Fills one of the mediation documents from the record.
pub fn mediation_document(
    kind: NoticeKind,
    input: &MediationAgreementInput,
    reference: &ReferenceData,
) -> Result<NoticeData, FieldError> {
    let agreement = matches!(
        kind,
        NoticeKind::MediationAgreement | NoticeKind::OralAgreement
    );
    if !kind.is_mediation_document() {
        return Err(FieldError::new(
            "kind",
            "notice_kind_unknown",
            format!("{}不是人民调解文书。", kind.title_zh()),
        ));
    }
    if agreement && input.agreement_text.trim().is_empty() {
        return Err(FieldError::new(
            "agreement_text",
            "required",
            format!(
                "{}缺少协议内容：只有达成协议的调解才能打印，请在调解记录中填写协议内容。",
                kind.title_zh()
            ),
        ));
    }
    if kind == NoticeKind::MediationInvestigation && input.investigations.is_empty() {
        return Err(FieldError::new(
            "investigations",
            "no_investigation",
            "该调解还没有调查记录，请先登记调查情况。",
        ));
    }
    if kind == NoticeKind::MediationFollowUp && input.follow_ups.is_empty() {
        return Err(FieldError::new(
            "follow_ups",
            "no_follow_up",
            "该调解还没有回访，请先登记回访情况。",
        ));
    }
    let has = |label: &str| input.parties.iter().any(|p| p.role_label == label);
    if !has("申请人") || !has("被申请人") {
        return Err(FieldError::new(
            "parties",
            "parties_missing",
            format!(
                "{}须列明申请人和被申请人，请在调解记录中补全当事人。",
                kind.title_zh()
            ),
        ));
    }
    let (_, hall_name) = hall_names(&input.hall_code, reference.regions);
    let names: Vec<String> = input.parties.iter().map(|p| p.name.clone()).collect();
    // One copy per party, one kept by the mediation committee.
    let copies = u32::try_from(input.parties.len() + 1).unwrap_or(u32::MAX);
    let sessions: Vec<Value> = input
        .sessions
        .iter()
        .map(|s| json!({ "held_on_zh": date_zh(s.held_on), "notes": s.notes.trim() }))
        .collect();
    let follow_ups: Vec<Value> = input
        .follow_ups
        .iter()
        .map(|f| {
            json!({
                "visited_on_zh": date_zh(f.visited_on),
                "fulfilment": f.fulfilment_label,
                "notes": f.notes.trim(),
                "by_name": f.by_name,
            })
        })
        .collect();
    let investigations: Vec<Value> = input
        .investigations
        .iter()
        .map(|v| {
            json!({
                "investigated_on_zh": date_zh(v.investigated_on),
                "place": v.place.trim(),
                "person": v.person.trim(),
                "present": v.present.trim(),
                "content": v.content.trim(),
                "by_name": v.by_name,
            })
        })
        .collect();
    let mut f = Map::new();
    f.insert(
        "parties".into(),
        serde_json::to_value(&input.parties).unwrap_or_default(),
    );
    f.insert("dispute_type".into(), json!(input.dispute_type_name));
    f.insert("dispute_facts".into(), json!(input.dispute_facts.trim()));
    f.insert(
        "points_in_dispute".into(),
        json!(input.points_in_dispute.trim()),
    );
    f.insert("responsibility".into(), json!(input.responsibility.trim()));
    f.insert("agreement_text".into(), json!(input.agreement_text.trim()));
    f.insert(
        "judicial_confirmation".into(),
        json!(input.judicial_confirmation),
    );
    f.insert("copies".into(), json!(small_number_zh(copies)));
    f.insert("mediator_name".into(), json!(input.mediator_name.trim()));
    f.insert("started_by".into(), json!(input.started_by_label));
    f.insert("request".into(), json!(input.request.trim()));
    f.insert(
        "applied_on_zh".into(),
        json!(input.applied_on.map(date_zh).unwrap_or_default()),
    );
    f.insert("outcome".into(), json!(input.outcome_label));
    f.insert("agreed_on_zh".into(), json!(date_zh(input.agreed_on)));
    f.insert("sessions".into(), Value::Array(sessions));
    f.insert("follow_ups".into(), Value::Array(follow_ups));
    f.insert("investigations".into(), Value::Array(investigations));
    // An agreement is dated the day it took effect, the application and its registration the
    // day the parties applied, the records the day they are printed.
    let printed_on = input.printed_on.unwrap_or(input.agreed_on);
    let issued_on = match kind {
        _ if agreement => input.agreed_on,
        NoticeKind::MediationApplication | NoticeKind::MediationRegistration => {
            input.applied_on.unwrap_or(printed_on)
        }
        _ => printed_on,
    };
    Ok(NoticeData {
        kind,
        title: kind.title_zh().to_owned(),
        issuer: input.committee(reference),
        hall_name,
        doc_no: input.doc_no.trim().to_owned(),
        addressee: addressee(&names),
        issued_on,
        issued_on_zh: date_zh(issued_on),
        facts: f,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::HolidayCalendar;
    use crate::matter::{MatterEvent, MatterState};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn doc_numbers_are_shaped_and_their_brackets_mended() {
        assert_eq!(
            check_doc_no(" 沁信受[2026]12号 ").unwrap(),
            "沁信受〔2026〕12号"
        );
        assert_eq!(
            check_doc_no("沁信复（2026）3号").unwrap(),
            "沁信复〔2026〕3号"
        );
        assert_eq!(check_doc_no("").unwrap(), "");
        for bad in [
            "12号",
            "沁信受〔26〕12号",
            "沁信受〔2026〕十二号",
            "〔2026〕1号",
        ] {
            assert_eq!(check_doc_no(bad).unwrap_err().code, "doc_no_shape", "{bad}");
        }
    }

    #[test]
    fn dates_in_chinese() {
        assert_eq!(date_zh(d("2026-11-26")), "2026年11月26日");
        assert_eq!(date_zh(d("2020-01-01")), "2020年1月1日");
        assert_eq!(date_zh(d("2025-10-10")), "2025年10月10日");
        assert_eq!(date_zh(d("2025-12-31")), "2025年12月31日");
        assert_eq!(date_zh(d("2025-02-20")), "2025年2月20日");
        assert_eq!(small_number_zh(30), "三十");
    }

    #[test]
    fn kinds_round_trip() {
        for k in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(k.code()), Some(k));
            assert_eq!(NoticeKind::parse(k.title_zh()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.code());
        }
        assert_eq!(NoticeKind::parse("通知"), None);
    }

    #[test]
    fn the_skip_level_notice_names_the_local_authority_and_only_for_a_flagged_visit() {
        let r = Regions::bundled();
        let skip = crate::hall::skip_level("140500", Some("140521"), None, r);
        let mut facts = VisitFacts {
            hall_code: "140500".into(),
            visitor_names: vec!["王五".into()],
            visited_on: d("2026-03-03"),
            appeal: "征地补偿款未发放".into(),
            category_name: "自然资源".into(),
            place_code: Some("140521".into()),
            skip_level: skip,
        };
        let n = visit_notice(NoticeKind::SkipLevelGuidance, &facts, r, d("2026-03-04")).unwrap();
        assert_eq!(n.title, "越级走访告知书");
        assert_eq!(n.issuer, "晋城市信访局");
        assert_eq!(n.hall_name, "晋城市信访接待大厅");
        assert_eq!(n.issued_on_zh, "2026年3月4日");
        assert_eq!(n.facts["visited_on_zh"], "2026年3月3日");
        assert_eq!(n.facts["place"], "沁水县");
        assert_eq!(n.facts["local_name"], "沁水县");
        assert_eq!(n.facts["authority"], "沁水县信访局");
        assert_eq!(n.facts["local_hall"], "沁水县信访接待大厅");
        assert_eq!(n.facts["basis"], "place");
        facts.skip_level = crate::hall::SkipLevel::none();
        let e =
            visit_notice(NoticeKind::SkipLevelGuidance, &facts, r, d("2026-03-04")).unwrap_err();
        assert_eq!(e.code, "not_skip_level");
        let e = visit_notice(NoticeKind::Acceptance, &facts, r, d("2026-03-04")).unwrap_err();
        assert_eq!(e.code, "notice_not_for_visit");
    }

    #[test]
    fn hall_names_from_regions() {
        let r = Regions::bundled();
        assert_eq!(
            hall_names("140521", r),
            ("沁水县信访局".to_owned(), "沁水县信访接待大厅".to_owned())
        );
        assert_eq!(hall_names("140500", r).0, "晋城市信访局");
    }

    #[test]
    fn notice_waits_for_its_step() {
        let cal = HolidayCalendar::bundled();
        let facts = MatterFacts {
            hall_code: "140521".into(),
            visitor_names: vec!["张三".into(), "李四".into()],
            appeal: "拖欠工资".into(),
            appeal_kind: AppealKind::Claim,
            category_name: "劳动和社会保障".into(),
            legal_route: None,
            number: "沁水-2026-11-B0017".into(),
        };
        let r = ReferenceData::bundled();
        let s = MatterState::registered(d("2026-11-02"), &cal);
        let e = matter_notice(NoticeKind::Acceptance, &facts, &s, r, &cal, s.last_event_on)
            .unwrap_err();
        assert_eq!(e.code, "notice_not_ready");
        assert!(e.message.contains("受理告知书"));
        let s = MatterState::replay(
            d("2026-11-02"),
            &[MatterEvent::Accept {
                at: d("2026-11-05"),
                notice_no: Some("沁信受〔2026〕12号".into()),
            }],
            &cal,
        )
        .unwrap();
        let n =
            matter_notice(NoticeKind::Acceptance, &facts, &s, r, &cal, s.last_event_on).unwrap();
        assert_eq!(n.addressee, "张三、李四");
        assert_eq!(n.issued_on_zh, "2026年11月5日");
        assert_eq!(n.doc_no, "沁信受〔2026〕12号");
        // 2026-11-05 + 60 = 2027-01-04, beyond the known calendar: a Monday.
        assert_eq!(n.facts["conclusion_due_zh"], "2027年1月4日");
        // Accepted: the 受理告知书, and the 不再受理告知书 should the visitor come again.
        assert_eq!(
            available_notices(&s),
            [NoticeKind::Acceptance, NoticeKind::NotAcceptedAgain]
        );
        assert!(n.texts().contains(&"拖欠工资"));
        assert_eq!(
            matter_notice(
                NoticeKind::LegalOpinion,
                &facts,
                &s,
                r,
                &cal,
                s.last_event_on
            )
            .unwrap_err()
            .code,
            "notice_not_for_matter"
        );
    }
}
