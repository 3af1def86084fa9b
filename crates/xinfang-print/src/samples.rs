//! One sample of every notice, filled by the same builders as real records: for previewing
//! templates after a hall adjusts them, for the screenshots in `docs/screenshots/notices/`, and
//! for the tests. The visitor's name has a character outside the BMP (𠮷) on purpose.

use chrono::NaiveDate;
use xinfang_core::calendar::HolidayCalendar;
use xinfang_core::matter::{MatterEvent, MatterState, OpinionDetails};
use xinfang_core::notice::{
    self, AgreementParty, DocumentFollowUp, DocumentInvestigation, DocumentSession,
    LegalOpinionInput, MatterFacts, MediationAgreementInput, NoticeData, NoticeKind, VisitFacts,
};
use xinfang_core::reference::{AppealKind, ReferenceData};

fn d(s: &str) -> NaiveDate {
    s.parse().expect("sample dates are valid")
}

/// The sample visitor.
pub const VISITOR: &str = "王𠮷祥";

/// The sample matter's number (事项编号).
pub const MATTER_NUMBER: &str = "沁水-2026-03-B0018";

fn facts() -> MatterFacts {
    MatterFacts {
        hall_code: "140521".into(),
        visitor_names: vec![VISITOR.into()],
        appeal: "某建筑公司拖欠2025年8月至12月工资共计38600元，请求协调支付".into(),
        appeal_kind: AppealKind::Claim,
        category_name: "劳动和社会保障".into(),
        legal_route: None,
        number: MATTER_NUMBER.into(),
    }
}

fn replay(events: &[MatterEvent]) -> MatterState {
    MatterState::replay(d("2026-03-02"), events, &HolidayCalendar::bundled())
        .expect("sample events are in order")
}

fn accept() -> MatterEvent {
    MatterEvent::Accept {
        at: d("2026-03-04"),
        notice_no: Some("沁信受〔2026〕18号".into()),
    }
}

fn conclude() -> MatterEvent {
    MatterEvent::Conclude {
        at: d("2026-04-28"),
        opinion_summary: "经调查，该公司确实拖欠你的工资38600元。经协调，该公司承诺于2026年5月15日前全额支付。你的诉求合理，予以支持。".into(),
        details: OpinionDetails {
            result: "支持".into(),
            facts_reasons: "经调取考勤记录和工资台账，该公司2025年9月至2026年1月未足额支付你的工资，共计38600元。".into(),
            legal_basis: "《中华人民共和国劳动法》第五十条；《保障农民工工资支付条例》。".into(),
        },
    }
}

fn review() -> [MatterEvent; 3] {
    [
        MatterEvent::OpinionReceived {
            at: d("2026-04-28"),
        },
        MatterEvent::RequestReview {
            at: d("2026-05-20"),
            body: "晋城市信访局".into(),
        },
        MatterEvent::ReviewOpinion {
            at: d("2026-06-15"),
            summary: "原处理意见认定事实清楚，处理适当，予以维持。".into(),
        },
    ]
}

fn matter_sample(kind: NoticeKind) -> MatterState {
    match kind {
        NoticeKind::Acceptance => replay(&[accept()]),
        NoticeKind::NonAcceptance => replay(&[MatterEvent::Reject {
            at: d("2026-03-05"),
            reason: "你反映的问题已经人民法院作出生效判决，属于诉讼程序处理的事项，依照规定信访部门不予受理。".into(),
        }]),
        NoticeKind::Transfer => replay(&[MatterEvent::Assign {
            at: d("2026-03-03"),
            to_authority: "沁水县人力资源和社会保障局".into(),
            report_back_by: d("2026-04-30"),
        }]),
        NoticeKind::HandlingOpinion => replay(&[accept(), conclude()]),
        // Came again on 04-15 while the matter was being handled.
        NoticeKind::NotAcceptedAgain => replay(&[accept()]),
        NoticeKind::Extension => replay(&[
            accept(),
            MatterEvent::Extend {
                at: d("2026-04-20"),
                days: 30,
                approver: "李局长".into(),
                reason: "该事项涉及多家用工单位，需要进一步调查核实".into(),
            },
        ]),
        NoticeKind::ReviewOpinion => {
            let mut e = vec![accept(), conclude()];
            e.extend(review());
            replay(&e)
        }
        _ => {
            let mut e = vec![accept(), conclude()];
            e.extend(review());
            e.extend([
                MatterEvent::OpinionReceived {
                    at: d("2026-06-16"),
                },
                MatterEvent::RequestReReview {
                    at: d("2026-07-01"),
                    body: "晋城市人民政府".into(),
                },
                MatterEvent::Hearing {
                    date: d("2026-07-10"),
                    notice_on: Some(d("2026-07-03")),
                    chair: "赵主任".into(),
                    panel: vec!["市司法局法律顾问".into(), "人大代表".into()],
                    participants: vec![
                        VISITOR.into(),
                        "沁水县人力资源和社会保障局代表".into(),
                        "某建筑公司代表".into(),
                    ],
                    record: "听取各方陈述，核实工资发放记录".into(),
                    opinion: "工资确已足额发放，复查意见事实清楚".into(),
                },
                MatterEvent::ReReviewOpinion {
                    at: d("2026-07-28"),
                    summary: "复查意见认定事实清楚，适用依据正确，予以维持。".into(),
                },
            ]);
            replay(&e)
        }
    }
}

/// The sample 法律意见书 input, as the app fills it from a consultation.
pub fn legal_opinion_input() -> LegalOpinionInput {
    LegalOpinionInput {
        hall_code: "140521".into(),
        visitor_name: VISITOR.into(),
        lawyer_name: "陈明".into(),
        law_firm: "山西沁园律师事务所".into(),
        question: "公司拖欠工资五个月，能否要求支付并赔偿？".into(),
        facts: "咨询人自2025年3月起在某建筑公司工地务工，未签订书面劳动合同，2025年8月至12月工资38600元未支付。".into(),
        advice: "咨询人与公司之间存在劳动关系，可要求公司支付拖欠的工资；公司未签订书面劳动合同的，可主张未签合同期间的二倍工资差额。建议先收集考勤记录、工资条、工友证言等证据。".into(),
        legal_route: "labour_arbitration".into(),
        laws_cited: "《中华人民共和国劳动合同法》第三十条、第八十二条；《保障农民工工资支付条例》".into(),
        consulted_on: d("2026-03-02"),
    }
}

/// The sample 调解协议书 input, as the app fills it from a mediation.
pub fn mediation_agreement_input() -> MediationAgreementInput {
    MediationAgreementInput {
        hall_code: "140521".into(),
        doc_no: "沁调〔2026〕7号".into(),
        mediator_name: "刘芳".into(),
        dispute_type_name: "劳动争议".into(),
        parties: vec![
            AgreementParty {
                role_label: "申请人".into(),
                name: VISITOR.into(),
                sex: "男".into(),
                id_type_label: "居民身份证".into(),
                id_number: "140521198001010019".into(),
                phone: "13835612345".into(),
                address: "沁水县龙港镇".into(),
            },
            AgreementParty {
                role_label: "被申请人".into(),
                name: "沁水县某建筑有限公司".into(),
                sex: String::new(),
                id_type_label: "统一社会信用代码".into(),
                id_number: "91140521MA0K000019".into(),
                phone: "0356-7021234".into(),
                address: "沁水县东大街".into(),
            },
        ],
        dispute_facts: "申请人在被申请人承建的工地务工，被申请人拖欠申请人2025年8月至12月工资38600元，双方对金额无异议，对支付时间有争议。".into(),
        agreement_text: "一、被申请人于2026年3月20日前向申请人支付工资20000元，于2026年4月20日前支付剩余18600元，均转入申请人银行账户。\n二、申请人收到全部款项后，不再就本纠纷向被申请人主张其他权利。".into(),
        judicial_confirmation: true,
        agreed_on: d("2026-03-06"),
        committee_name: String::new(),
        points_in_dispute: "工资的支付时间。".into(),
        responsibility: "被申请人未按月足额支付工资，应承担支付责任；申请人无过错。".into(),
        started_by_label: "当事人申请".into(),
        request: "被申请人拖欠申请人2025年8月至12月工资38600元，请求调解，由被申请人支付。".into(),
        applied_on: Some(d("2026-03-02")),
        outcome_label: "达成协议".into(),
        sessions: vec![
            DocumentSession {
                held_on: d("2026-03-03"),
                notes: "通知被申请人到场，被申请人负责人称资金紧张，请求分期支付。".into(),
            },
            DocumentSession {
                held_on: d("2026-03-06"),
                notes: "双方核对考勤和工资表，同意分两期支付，当场签订协议。".into(),
            },
        ],
        follow_ups: vec![DocumentFollowUp {
            visited_on: d("2026-03-23"),
            fulfilment_label: "部分履行".into(),
            notes: "电话回访申请人，第一期20000元已于3月20日收到。".into(),
            by_name: "刘芳".into(),
        }],
        investigations: vec![DocumentInvestigation {
            investigated_on: d("2026-03-04"),
            place: "沁水县某建筑有限公司项目部".into(),
            person: "李某（工地班组长）".into(),
            present: "刘芳、沁水县龙港镇司法所工作人员".into(),
            content: "李某称申请人自2025年8月起在其班组务工，出勤记录与申请人所述一致，12月工资表上的金额为38600元。".into(),
            by_name: "刘芳".into(),
        }],
        printed_on: Some(d("2026-03-23")),
    }
}

/// A 沁水县 visitor at the 晋城市 hall about a problem in 沁水县 (越级访).
fn skip_level_facts() -> VisitFacts {
    let regions = ReferenceData::bundled().regions;
    VisitFacts {
        hall_code: "140500".into(),
        visitor_names: vec![VISITOR.into()],
        visited_on: d("2026-03-03"),
        appeal: "某建筑公司拖欠2025年8月至12月工资共计38600元，请求协调支付".into(),
        category_name: "劳动和社会保障".into(),
        place_code: Some("140521".into()),
        skip_level: xinfang_core::hall::skip_level("140500", Some("140521"), None, regions),
    }
}

/// A sample of `kind`.
pub fn sample(kind: NoticeKind) -> NoticeData {
    let reference = ReferenceData::bundled();
    let built = match kind {
        NoticeKind::LegalOpinion => notice::legal_opinion(&legal_opinion_input(), reference),
        k if k.is_mediation_document() => {
            let mut input = mediation_agreement_input();
            if k == NoticeKind::OralAgreement {
                input.judicial_confirmation = false;
            }
            notice::mediation_document(k, &input, reference)
        }
        NoticeKind::SkipLevelGuidance => notice::visit_notice(
            kind,
            &skip_level_facts(),
            reference.regions,
            d("2026-03-03"),
        ),
        _ => notice::matter_notice(
            kind,
            &facts(),
            &matter_sample(kind),
            reference,
            &HolidayCalendar::bundled(),
            d("2026-04-15"),
        ),
    };
    built.expect("samples are complete")
}

/// One sample of every kind, in [`NoticeKind::ALL`] order.
pub fn all() -> Vec<NoticeData> {
    NoticeKind::ALL.into_iter().map(sample).collect()
}
