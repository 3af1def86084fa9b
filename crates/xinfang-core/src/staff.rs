//! Staff roles of a hall (DOMAIN.md §1).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 接待员 / 登记员
    Clerk,
    /// 值班律师
    Lawyer,
    /// 人民调解员
    Mediator,
    /// 负责人 / 科长
    Supervisor,
    /// 管理员
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Clerk,
        Role::Lawyer,
        Role::Mediator,
        Role::Supervisor,
        Role::Admin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Lawyer => "lawyer",
            Role::Mediator => "mediator",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Clerk => "接待员",
            Role::Lawyer => "值班律师",
            Role::Mediator => "人民调解员",
            Role::Supervisor => "负责人",
            Role::Admin => "管理员",
        }
    }

    /// Accepts the code or the Chinese label.
    pub fn parse(s: &str) -> Option<Role> {
        let s = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s || r.label_zh() == s)
    }
}

/// Parses a comma-separated role list such as `clerk,supervisor`.
pub fn parse_roles(s: &str) -> Result<Vec<Role>, crate::FieldError> {
    let mut roles = Vec::new();
    for part in s
        .split([',', '，'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match Role::parse(part) {
            Some(r) if !roles.contains(&r) => roles.push(r),
            Some(_) => {}
            None => {
                return Err(crate::FieldError::new(
                    "role",
                    "role_unknown",
                    format!(
                        "角色“{part}”不存在：请从 clerk（接待员）、lawyer（值班律师）、mediator（人民调解员）、supervisor（负责人）、admin（管理员）中选择。"
                    ),
                ));
            }
        }
    }
    if roles.is_empty() {
        return Err(crate::FieldError::new(
            "role",
            "role_empty",
            "未指定角色：请至少选择一个角色。",
        ));
    }
    roles.sort();
    Ok(roles)
}

/// What a staff member may ask the desk to do. The matrix below is the one place that decides;
/// the CLI and the app's commands ask it, the UI only hides what it forbids anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    RegisterVisit,
    SearchVisitors,
    ListStaff,
    ManageStaff,
    Backup,
    Verify,
    SeedDemoData,
    /// Check an identity document as it is typed (registration, mediation parties).
    CheckDocument,
    /// 今日来访: the day's visits and their statuses.
    ViewToday,
    /// One visit with its visitors, hand-offs, consultations and mediations.
    ViewVisit,
    /// 访调对接: send a visit to the lawyer or mediator desk, or mark it handled.
    HandOff,
    /// The lawyer desk: its queue, taking the next visitor.
    LawyerDesk,
    /// Log a legal consultation (法律咨询记录).
    LogConsultation,
    /// Hand a visitor on from the lawyer desk to the mediator desk.
    HandOnToMediator,
    /// Read a consultation in full, e.g. to print 法律意见书.
    ViewConsultation,
    /// The mediator desk: its queue, taking the next visitor.
    MediatorDesk,
    /// Log a mediation (调解记录).
    LogMediation,
    /// Read a mediation in full, e.g. to print 调解协议书.
    ViewMediation,
    /// All visits, consultations and mediations of one visitor.
    ViewVisitorDetail,
    /// A matter with its events, deadlines and notices.
    ViewMatter,
    /// Record a step of a matter (受理, 转送, 办结, 复查 …).
    RecordMatterEvent,
    /// Set a matter's kind, category and confirmed legal route.
    ClassifyMatter,
    /// The lawyer proposes a legal route for a claim after a consultation.
    ProposeLegalRoute,
    /// Overdue and due-soon lists of the hall.
    ViewDueList,
    /// Flag a backlog case, change its leader, clear it.
    ManageBacklog,
    /// Add a progress note to a backlog case.
    NoteBacklog,
    /// Backlog list and dashboard.
    ViewBacklog,
    /// Print a matter's notices (受理告知书 … 复核意见书).
    PrintMatterNotice,
    /// Print a 法律意见书.
    PrintLegalOpinion,
    /// Print a 调解协议书.
    PrintMediationAgreement,
    /// Statistics and the monthly rates, with the matters behind each rate.
    ViewStatistics,
    /// Record the visitor's evaluation (满意/基本满意/不满意) of a concluded matter.
    EvaluateMatter,
    /// Export lists and statistics to Excel, ID numbers and phones masked.
    ExportLedger,
    /// Export with ID numbers and phones in full (audited).
    ExportFullIds,
    /// Import a hall's visit ledger (台账) from Excel or CSV.
    ImportLedger,
    /// Record publicity activities (法治宣传活动).
    RecordPublicity,
    /// Show a visitor's ID number or phone in full (audited; lists stay masked).
    ViewFullContact,
    /// Review and resolve sync conflicts and changes set aside by a pull (audited).
    ResolveConflicts,
    /// Correct a visitor's document number, list likely duplicate people, merge, unmerge and
    /// split people (audited, synced): who a person is decides which earlier visits, matters
    /// and 检举控告 records they are shown with.
    ManagePeople,
    /// Set the hall's own names (e.g. its 人民调解委员会), the same on every desk of the hall.
    ConfigureHall,
    /// Set this desk's ID-card reader (which reader, its port or URL) and test it.
    ConfigureDesk,
    /// See whether the city (or the hall's hub) offers a newer version of the desk (有新版本).
    CheckUpdate,
    /// Download a new version, check its signature, back up and hand it to the system
    /// installer.
    InstallUpdate,
}

impl Action {
    pub const ALL: [Action; 43] = [
        Action::RegisterVisit,
        Action::SearchVisitors,
        Action::ListStaff,
        Action::ManageStaff,
        Action::Backup,
        Action::Verify,
        Action::SeedDemoData,
        Action::CheckDocument,
        Action::ViewToday,
        Action::ViewVisit,
        Action::HandOff,
        Action::LawyerDesk,
        Action::LogConsultation,
        Action::HandOnToMediator,
        Action::ViewConsultation,
        Action::MediatorDesk,
        Action::LogMediation,
        Action::ViewMediation,
        Action::ViewVisitorDetail,
        Action::ViewMatter,
        Action::RecordMatterEvent,
        Action::ClassifyMatter,
        Action::ProposeLegalRoute,
        Action::ViewDueList,
        Action::ManageBacklog,
        Action::NoteBacklog,
        Action::ViewBacklog,
        Action::PrintMatterNotice,
        Action::PrintLegalOpinion,
        Action::PrintMediationAgreement,
        Action::ViewStatistics,
        Action::EvaluateMatter,
        Action::ExportLedger,
        Action::ExportFullIds,
        Action::ImportLedger,
        Action::RecordPublicity,
        Action::ViewFullContact,
        Action::ResolveConflicts,
        Action::ManagePeople,
        Action::ConfigureHall,
        Action::ConfigureDesk,
        Action::CheckUpdate,
        Action::InstallUpdate,
    ];

    /// Roles allowed to perform this action.
    pub fn allowed_roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::RegisterVisit => &[Clerk, Supervisor],
            Action::SearchVisitors => &[Clerk, Lawyer, Mediator, Supervisor],
            Action::ListStaff => &[Supervisor, Admin],
            Action::ManageStaff => &[Admin],
            Action::Backup | Action::Verify | Action::SeedDemoData => &[Supervisor, Admin],
            Action::CheckDocument | Action::ViewVisit | Action::ViewVisitorDetail => {
                &[Clerk, Lawyer, Mediator, Supervisor]
            }
            Action::ViewToday | Action::HandOff => &[Clerk, Supervisor],
            Action::LawyerDesk | Action::ViewConsultation => &[Lawyer, Supervisor],
            Action::LogConsultation | Action::HandOnToMediator => &[Lawyer],
            Action::MediatorDesk | Action::ViewMediation => &[Mediator, Supervisor],
            Action::LogMediation => &[Mediator],
            Action::ViewMatter => &[Clerk, Lawyer, Mediator, Supervisor],
            Action::RecordMatterEvent | Action::ClassifyMatter | Action::PrintMatterNotice => {
                &[Clerk, Supervisor]
            }
            Action::ProposeLegalRoute => &[Lawyer],
            Action::ViewDueList | Action::ViewBacklog | Action::NoteBacklog => &[Clerk, Supervisor],
            Action::ManageBacklog => &[Supervisor],
            Action::PrintLegalOpinion => &[Lawyer, Supervisor],
            Action::PrintMediationAgreement => &[Mediator, Supervisor],
            Action::ViewStatistics | Action::ExportLedger | Action::RecordPublicity => {
                &[Clerk, Supervisor]
            }
            Action::EvaluateMatter => &[Clerk, Supervisor],
            Action::ExportFullIds | Action::ImportLedger => &[Supervisor],
            // The clerks who register (to call a visitor back, to check a document against the
            // record) and the supervisor; the desks work from the masked numbers.
            Action::ViewFullContact => &[Clerk, Supervisor],
            Action::ResolveConflicts => &[Supervisor],
            // Not the clerk who registered, either: a corrected number or a merge changes whose
            // visits and reports a person is shown with, a supervisor's decision (docs/security.md).
            Action::ManagePeople => &[Supervisor],
            Action::ConfigureHall => &[Admin],
            // The desk's own device: whoever sets up or works at the registration desk.
            Action::ConfigureDesk => &[Clerk, Supervisor, Admin],
            // Anyone signed in may see that a new version exists; installing replaces the
            // program every account of the desk works with, and takes a backup first.
            Action::CheckUpdate => &[Clerk, Lawyer, Mediator, Supervisor, Admin],
            Action::InstallUpdate => &[Supervisor, Admin],
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Action::RegisterVisit => "来访登记",
            Action::SearchVisitors => "查询来访人",
            Action::ListStaff => "查看工作人员",
            Action::ManageStaff => "管理工作人员",
            Action::Backup => "备份数据",
            Action::Verify => "校验数据",
            Action::SeedDemoData => "生成演示数据",
            Action::CheckDocument => "核验证件号码",
            Action::ViewToday => "查看今日来访",
            Action::ViewVisit => "查看来访记录",
            Action::HandOff => "访调对接转交",
            Action::LawyerDesk => "使用律师咨询台",
            Action::LogConsultation => "填写法律咨询记录",
            Action::HandOnToMediator => "转交人民调解",
            Action::ViewConsultation => "查看法律咨询记录",
            Action::MediatorDesk => "使用人民调解台",
            Action::LogMediation => "填写调解记录",
            Action::ViewMediation => "查看调解记录",
            Action::ViewVisitorDetail => "查看来访人详情",
            Action::ViewMatter => "查看信访事项",
            Action::RecordMatterEvent => "登记事项办理环节",
            Action::ClassifyMatter => "确定事项分类和法定途径",
            Action::ProposeLegalRoute => "建议法定途径",
            Action::ViewDueList => "查看到期和超期事项",
            Action::ManageBacklog => "管理信访积案",
            Action::NoteBacklog => "记录积案化解进展",
            Action::ViewBacklog => "查看信访积案",
            Action::PrintMatterNotice => "打印信访事项文书",
            Action::PrintLegalOpinion => "打印法律意见书",
            Action::PrintMediationAgreement => "打印调解协议书",
            Action::ViewStatistics => "查看统计报表",
            Action::EvaluateMatter => "登记群众满意度评价",
            Action::ExportLedger => "导出台账和报表",
            Action::ExportFullIds => "导出完整证件号码",
            Action::ImportLedger => "导入来访台账",
            Action::RecordPublicity => "登记法治宣传活动",
            Action::ViewFullContact => "查看完整证件号码和电话",
            Action::ResolveConflicts => "处理同步冲突",
            Action::ManagePeople => "更正证件号码、合并或拆分来访人",
            Action::ConfigureHall => "设置大厅信息（人民调解委员会名称）",
            Action::ConfigureDesk => "设置本机身份证读卡器",
            Action::CheckUpdate => "检查新版本",
            Action::InstallUpdate => "安装新版本",
        }
    }
}

/// Whether someone holding `roles` may perform `action`; the error says who may.
pub fn authorize(roles: &[Role], action: Action) -> Result<(), crate::FieldError> {
    let allowed = action.allowed_roles();
    if roles.iter().any(|r| allowed.contains(r)) {
        return Ok(());
    }
    let who: Vec<&str> = allowed.iter().map(|r| r.label_zh()).collect();
    Err(crate::FieldError::new(
        "role",
        "forbidden",
        format!(
            "无权{}：只有{}可以执行此操作，请换用有权限的账号。",
            action.label_zh(),
            who.join("、")
        ),
    ))
}

/// What lists show instead of the appeal of a 检举控告 (confidential) record.
pub const CONFIDENTIAL_MASK: &str = "【检举控告件，内容保密】";

/// Whether a visit is to be treated as confidential (检举控告): registered as a report, or its
/// matter is confidential now — a matter reclassified as 检举控告 later takes its earlier visits
/// with it. A matter's confidentiality never goes off once on (`classify::classify`: the
/// reporter is already in the record), so a visit stays masked after such a matter is
/// reclassified away from 检举控告. `visit_kind` is the stored code (or Chinese name).
pub fn visit_is_confidential(visit_kind: &str, matter_confidential: bool) -> bool {
    matter_confidential
        || crate::reference::AppealKind::parse(visit_kind)
            .is_some_and(crate::reference::AppealKind::is_confidential)
}

/// 检举控告 (report/accusation) records are seen only by the clerk who registered them and the
/// hall's supervisors (负责人) — not the IT admin, whose job is accounts, not reports (issue 15,
/// item 2; the content is sealed to exactly these accounts, `xinfang_store` `confidential.rs`).
/// `registered_by` is the staff id of the registering clerk (empty when unknown, e.g. an
/// imported ledger row: then only supervisors). Every allowed view is to be audited by the
/// caller before the record is shown.
pub fn may_view_confidential(
    viewer_id: &str,
    viewer_roles: &[Role],
    registered_by: &str,
) -> Result<(), crate::FieldError> {
    let privileged = viewer_roles.contains(&Role::Supervisor);
    let registrar = !registered_by.is_empty() && viewer_id == registered_by;
    if privileged || registrar {
        return Ok(());
    }
    Err(crate::FieldError::new(
        "role",
        "confidential",
        "该事项为检举控告件，仅登记人和本厅负责人可以查看。如确需查看，请联系登记人或本厅负责人。",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_refuses_what_a_role_does_not_need() {
        assert!(authorize(&[Role::Clerk], Action::RegisterVisit).is_ok());
        assert!(authorize(&[Role::Lawyer], Action::RegisterVisit).is_err());
        assert!(authorize(&[Role::Admin], Action::SearchVisitors).is_err());
        let e = authorize(&[Role::Clerk], Action::ManageStaff).unwrap_err();
        assert_eq!(e.code, "forbidden");
        assert!(e.message.contains("管理员"));
        // Every action is allowed to someone.
        for a in Action::ALL {
            assert!(!a.allowed_roles().is_empty());
        }
    }

    #[test]
    fn confidential_records_only_for_the_registrar_and_supervisors() {
        // The registering clerk.
        assert!(may_view_confidential("c1", &[Role::Clerk], "c1").is_ok());
        // Supervisors, whoever registered.
        assert!(may_view_confidential("s1", &[Role::Supervisor], "c1").is_ok());
        // The IT admin manages accounts, not reports (issue 15, item 2).
        assert!(may_view_confidential("a1", &[Role::Admin], "c1").is_err());
        assert!(may_view_confidential("s1", &[Role::Clerk, Role::Supervisor], "").is_ok());
        // Another clerk, the lawyer, the mediator.
        for (who, roles) in [
            ("c2", &[Role::Clerk][..]),
            ("l1", &[Role::Lawyer][..]),
            ("m1", &[Role::Mediator][..]),
            ("x", &[Role::Lawyer, Role::Mediator, Role::Clerk][..]),
        ] {
            let e = may_view_confidential(who, roles, "c1").unwrap_err();
            assert_eq!(e.code, "confidential");
            assert!(e.message.contains("检举控告"), "{}", e.message);
            assert!(e.message.contains("负责人"));
        }
        // Unknown registrar: an empty viewer id does not match it.
        assert!(may_view_confidential("", &[Role::Clerk], "").is_err());
    }

    #[test]
    fn a_visit_is_confidential_by_its_own_kind_or_its_matter() {
        assert!(visit_is_confidential("report", false));
        assert!(visit_is_confidential("检举控告类", false));
        assert!(
            visit_is_confidential("claim", true),
            "matter reclassified as a report"
        );
        assert!(visit_is_confidential("report", true));
        assert!(!visit_is_confidential("claim", false));
        assert!(!visit_is_confidential("suggestion", false));
    }

    #[test]
    fn full_contact_numbers_for_clerks_and_supervisors() {
        assert!(authorize(&[Role::Clerk], Action::ViewFullContact).is_ok());
        assert!(authorize(&[Role::Supervisor], Action::ViewFullContact).is_ok());
        for r in [Role::Lawyer, Role::Mediator, Role::Admin] {
            assert!(authorize(&[r], Action::ViewFullContact).is_err());
        }
    }

    #[test]
    fn parses_codes_and_labels() {
        assert_eq!(
            parse_roles("clerk, 负责人").unwrap(),
            vec![Role::Clerk, Role::Supervisor]
        );
        assert_eq!(parse_roles("admin,admin").unwrap(), vec![Role::Admin]);
        let e = parse_roles("boss").unwrap_err();
        assert_eq!(e.code, "role_unknown");
        assert!(e.message.contains("boss"));
        assert_eq!(parse_roles(" ").unwrap_err().code, "role_empty");
    }
}
