//! Classification of a matter (依法分类处理, DOMAIN.md §3): its kind, its category and, for a
//! claim, the legal route it belongs to. The lawyer may propose a route after a consultation;
//! the clerk confirms it (or picks another).
//!
//! Routes are data (`assets/legal_routes.json`); nothing here branches on a route code.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::matter::MatterStatus;
use crate::reference::{AppealKind, ReferenceData};
use crate::staff::{Role, may_view_confidential};

/// How a matter is classified now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Classification {
    pub appeal_kind: AppealKind,
    pub category_code: String,
    /// Confirmed legal route (claims only).
    pub legal_route: Option<String>,
    /// 检举控告: the reporter's identity and material must not reach the person reported.
    pub confidential: bool,
}

/// A clerk's (re)classification of a matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClassifyInput {
    /// `suggestion` / `report` / `claim` or the Chinese name.
    pub appeal_kind: String,
    /// Category code or Chinese name; empty keeps the current one.
    #[serde(default)]
    pub category: String,
    /// Legal route code or name, claims only; empty leaves it unset (or keeps a claim's route).
    #[serde(default)]
    pub legal_route: String,
}

/// Who asks for a (re)classification, and who registered the matter's first visit.
#[derive(Debug, Clone, Copy)]
pub struct Classifier<'a> {
    pub staff_id: &'a str,
    pub roles: &'a [Role],
    /// Staff id of the registering clerk (empty when unknown).
    pub registered_by: &'a str,
}

/// The new classification, or why it is refused.
///
/// Confidentiality only ever goes on: once a matter was recorded as 检举控告 the reporter's
/// identity is already in the record, so correcting the kind later does not make it visible.
///
/// A classification that leaves the matter confidential is made only by someone who may see a
/// confidential matter ([`may_view_confidential`]: the registering clerk and supervisors),
/// and that is decided here, before anything is saved. Another clerk who takes a matter for a
/// 检举控告 is refused rather than let through: the change would lock them out of the record at
/// once, so they could neither check nor undo it, and in a hall it is the registering clerk or
/// the 负责人 who answers for how a report is handled and who may see the reporter. The message
/// tells them whom to ask.
pub fn classify(
    current: &Classification,
    status: MatterStatus,
    input: &ClassifyInput,
    reference: &ReferenceData,
    by: &Classifier<'_>,
) -> Result<Classification, FieldError> {
    if status == MatterStatus::Closed {
        return Err(FieldError::new(
            "appeal_kind",
            "matter_closed",
            "该事项已结案，不能再更改分类。如分类确有错误，请由负责人在备注中说明。",
        ));
    }
    let kind = AppealKind::parse(&input.appeal_kind).ok_or_else(|| {
        FieldError::new(
            "appeal_kind",
            "appeal_kind_unknown",
            format!(
                "诉求类别“{}”无法识别，请选择建议意见类、检举控告类或申诉求决类。",
                input.appeal_kind.trim()
            ),
        )
    })?;
    let category_code = if input.category.trim().is_empty() {
        current.category_code.clone()
    } else {
        let c = reference.category(&input.category).ok_or_else(|| {
            FieldError::new(
                "category",
                "category_unknown",
                format!(
                    "问题分类“{}”不在分类表中，请从列表中选择。",
                    input.category.trim()
                ),
            )
        })?;
        if c.retired && c.code != current.category_code {
            return Err(FieldError::new(
                "category",
                "category_retired",
                format!("问题分类“{}”已停用，请选择现行分类。", c.name),
            ));
        }
        c.code.clone()
    };
    let legal_route = if input.legal_route.trim().is_empty() {
        if kind == AppealKind::Claim {
            current.legal_route.clone()
        } else {
            None
        }
    } else {
        if kind != AppealKind::Claim {
            return Err(not_a_claim("legal_route", kind));
        }
        Some(route_code(&input.legal_route, reference, "legal_route")?)
    };
    let next = Classification {
        appeal_kind: kind,
        category_code,
        legal_route,
        confidential: current.confidential || kind.is_confidential(),
    };
    if next.confidential
        && let Err(refused) = may_view_confidential(by.staff_id, by.roles, by.registered_by)
    {
        if current.confidential {
            return Err(refused);
        }
        return Err(FieldError::new(
            "appeal_kind",
            "report_registrar_only",
            "不能改为检举控告类：只有该事项的登记人、负责人或管理员可以这样归类（归类后事项对其他人\
             保密，您将无法再查看或更正）。如认为该事项属于检举控告，请告知登记人或本厅负责人，\
             由其更正分类。",
        ));
    }
    Ok(next)
}

/// The code of a legal route that may be used for a new decision: known and not retired.
pub fn route_code(
    code_or_name: &str,
    reference: &ReferenceData,
    field: &str,
) -> Result<String, FieldError> {
    let s = code_or_name.trim();
    if s.is_empty() {
        return Err(FieldError::new(
            field,
            "required",
            "请选择法定途径（如诉讼、仲裁、行政复议、信访程序）。",
        ));
    }
    let route = reference.legal_route(s).ok_or_else(|| {
        FieldError::new(
            field,
            "legal_route_unknown",
            format!("法定途径“{s}”不在途径表中，请从列表中选择。"),
        )
    })?;
    if route.retired {
        return Err(FieldError::new(
            field,
            "legal_route_retired",
            format!("法定途径“{}”已停用，请选择现行途径。", route.name),
        ));
    }
    Ok(route.code.clone())
}

/// Whether a lawyer may propose a route for a matter of this kind and status.
pub fn may_propose_route(kind: AppealKind, status: MatterStatus) -> Result<(), FieldError> {
    if kind != AppealKind::Claim {
        return Err(not_a_claim("route_code", kind));
    }
    if status == MatterStatus::Closed {
        return Err(FieldError::new(
            "route_code",
            "matter_closed",
            "该事项已结案，不能再建议法定途径；如有新的事实和理由，请登记新事项。",
        ));
    }
    Ok(())
}

fn not_a_claim(field: &str, kind: AppealKind) -> FieldError {
    FieldError::new(
        field,
        "route_for_claims_only",
        format!(
            "该事项分类为{}，只有申诉求决类诉求需要确定法定途径。如诉求实为申诉求决，请先更正分类。",
            kind.label_zh()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current(kind: AppealKind) -> Classification {
        Classification {
            appeal_kind: kind,
            category_code: "labour_social_security".into(),
            legal_route: None,
            confidential: kind.is_confidential(),
        }
    }

    const REGISTRAR: Classifier<'static> = Classifier {
        staff_id: "c1",
        roles: &[Role::Clerk],
        registered_by: "c1",
    };

    fn input(kind: &str, category: &str, route: &str) -> ClassifyInput {
        ClassifyInput {
            appeal_kind: kind.into(),
            category: category.into(),
            legal_route: route.into(),
        }
    }

    #[test]
    fn claim_gets_a_route_from_the_data() {
        let r = ReferenceData::bundled();
        let c = classify(
            &current(AppealKind::Claim),
            MatterStatus::Registered,
            &input("申诉求决类", "", "劳动人事争议仲裁"),
            r,
            &REGISTRAR,
        )
        .unwrap();
        assert_eq!(c.legal_route.as_deref(), Some("labour_arbitration"));
        assert_eq!(c.category_code, "labour_social_security");
        assert!(!c.confidential);
        let e = classify(
            &current(AppealKind::Claim),
            MatterStatus::Registered,
            &input("claim", "", "上访"),
            r,
            &REGISTRAR,
        )
        .unwrap_err();
        assert_eq!(e.code, "legal_route_unknown");
    }

    #[test]
    fn route_only_for_claims_and_confidentiality_sticks() {
        let r = ReferenceData::bundled();
        let e = classify(
            &current(AppealKind::Claim),
            MatterStatus::Registered,
            &input("suggestion", "", "litigation"),
            r,
            &REGISTRAR,
        )
        .unwrap_err();
        assert_eq!(e.code, "route_for_claims_only");
        let report = classify(
            &current(AppealKind::Claim),
            MatterStatus::Registered,
            &input("检举控告", "纪检监察", ""),
            r,
            &REGISTRAR,
        )
        .unwrap();
        assert!(report.confidential);
        assert_eq!(report.category_code, "discipline_supervision");
        let back = classify(
            &report,
            MatterStatus::Registered,
            &input("claim", "", ""),
            r,
            &REGISTRAR,
        )
        .unwrap();
        assert!(back.confidential, "once a report, always confidential");
        assert_eq!(
            classify(
                &back,
                MatterStatus::Closed,
                &input("claim", "", ""),
                r,
                &REGISTRAR
            )
            .unwrap_err()
            .code,
            "matter_closed"
        );
        assert!(may_propose_route(AppealKind::Report, MatterStatus::Registered).is_err());
        assert!(may_propose_route(AppealKind::Claim, MatterStatus::Accepted).is_ok());
    }

    #[test]
    fn only_who_may_see_a_report_makes_one() {
        let r = ReferenceData::bundled();
        let claim = current(AppealKind::Claim);
        let to_report = input("检举控告类", "纪检监察", "");
        let other_clerk = Classifier {
            staff_id: "c2",
            roles: &[Role::Clerk],
            registered_by: "c1",
        };
        let e = classify(
            &claim,
            MatterStatus::Registered,
            &to_report,
            r,
            &other_clerk,
        )
        .unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("appeal_kind", "report_registrar_only")
        );
        assert!(e.message.contains("检举控告"), "{}", e.message);
        assert!(e.message.contains("登记人") && e.message.contains("负责人"));
        // Other kinds stay open to any clerk.
        let c = classify(
            &claim,
            MatterStatus::Registered,
            &input("建议意见类", "", ""),
            r,
            &other_clerk,
        )
        .unwrap();
        assert!(!c.confidential);
        // The registering clerk and a supervisor may; the IT admin may not.
        for by in [
            REGISTRAR,
            Classifier {
                staff_id: "s1",
                roles: &[Role::Supervisor],
                registered_by: "c1",
            },
        ] {
            let c = classify(&claim, MatterStatus::Registered, &to_report, r, &by).unwrap();
            assert!(c.confidential);
        }
        let admin = Classifier {
            staff_id: "a1",
            roles: &[Role::Admin],
            registered_by: "",
        };
        assert!(classify(&claim, MatterStatus::Registered, &to_report, r, &admin).is_err());
        // A matter already confidential is not reclassified by someone who may not see it.
        let report = current(AppealKind::Report);
        let e = classify(
            &report,
            MatterStatus::Registered,
            &input("claim", "", ""),
            r,
            &other_clerk,
        )
        .unwrap_err();
        assert_eq!(e.code, "confidential");
    }
}
