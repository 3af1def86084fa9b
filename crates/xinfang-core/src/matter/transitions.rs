//! The rules of a matter's life: which events may come next, and [`apply`], which takes one
//! event to a new state or refuses it with a Chinese message that says what is allowed instead.

use chrono::NaiveDate;

use super::{
    CONCLUSION_DAYS, DeadlineKind, EventKind, Extension, HearingRecord, LegalRouteGuidance,
    MAX_EXTENSION_DAYS, MatterEvent, MatterState, MatterStatus, OBJECTION_WORKING_DAYS,
    OPINION_RESULTS, Opinion, OpinionDetails, REVIEW_DAYS, Refusal, ReviewStage, Transfer,
    TransferKind, TransferObjection, deadlines,
};
use crate::calendar::HolidayCalendar;
use crate::deadline::{deadline, working_days_deadline};
use crate::error::FieldError;

/// The events the matter can take next, for the UI's buttons. Date limits are not checked
/// here (there is no "today"): a late request still shows and [`apply`] explains the refusal.
pub fn allowed_events(state: &MatterState) -> Vec<EventKind> {
    use EventKind as E;
    use MatterStatus as S;
    let mut out = match state.status {
        S::Registered => vec![
            E::Accept,
            E::Reject,
            E::Forward,
            E::Assign,
            E::GuideToLegalRoute,
        ],
        S::Forwarded | S::Assigned => {
            let mut out = vec![E::Accept, E::Reject, E::GuideToLegalRoute];
            match state.transfer.as_ref() {
                // Objected to: the hall forwards or assigns it again (or decides itself).
                Some(t) if t.objection.is_some() => out.extend([E::Forward, E::Assign]),
                Some(t) => {
                    out.push(E::ObjectTransfer);
                    if t.received_on.is_none() {
                        out.push(E::ReceiveTransfer);
                    }
                }
                None => {}
            }
            out
        }
        S::Accepted => vec![E::StartHandling, E::Extend, E::Conclude],
        S::InProgress => vec![E::Extend, E::Hearing, E::Conclude],
        S::NotAccepted | S::GuidedToLegalRoute => vec![E::Close],
        S::Concluded => vec![E::OpinionReceived, E::RequestReview, E::Close],
        S::UnderReview => vec![E::Hearing, E::ReviewOpinion],
        S::Reviewed => vec![E::OpinionReceived, E::RequestReReview, E::Close],
        S::UnderReReview => vec![E::Hearing, E::ReReviewOpinion],
        S::ReReviewed => vec![E::OpinionReceived, E::Close],
        S::Closed => return Vec::new(),
    };
    out.retain(|k| match k {
        E::Extend => state.extension.is_none(),
        E::OpinionReceived => state
            .latest_opinion()
            .is_some_and(|o| o.received_on.is_none()),
        E::Hearing => state.stage_hearing().is_none(),
        _ => true,
    });
    out.sort();
    let report_pending = state
        .transfer
        .as_ref()
        .is_some_and(|t| t.report_back_by.is_some() && t.reported_back_on.is_none());
    if report_pending {
        out.push(E::ReportBack);
        out.sort();
    }
    out
}

/// Apply one event: the new state, or why the event is refused.
pub fn apply(
    state: &MatterState,
    event: &MatterEvent,
    cal: &HolidayCalendar,
) -> Result<MatterState, FieldError> {
    use MatterEvent as Ev;
    use MatterStatus as S;

    if let Some(closed_on) = state.closed_on {
        return Err(FieldError::new(
            "event",
            "matter_closed",
            format!(
                "该事项已于{closed_on}{}，不能再登记「{}」或其他任何环节。\
                 信访人以同一事实和理由再次提出的，不予受理；如有新的事实和理由，请另行登记新事项。",
                state.status_label(),
                event.kind().label_zh()
            ),
        ));
    }
    let kind = event.kind();
    let allowed = allowed_events(state);
    if !allowed.contains(&kind) {
        return Err(order_error(state, kind, &allowed));
    }
    let at = event.date();
    if at < state.last_event_on {
        return Err(FieldError::new(
            event.date_field(),
            "date_before_previous",
            format!(
                "日期{at}早于本事项上一环节的日期{}。各环节须按发生先后登记，请核对日期。",
                state.last_event_on
            ),
        ));
    }

    let mut next = state.clone();
    match event {
        Ev::Accept { at, notice_no } => {
            next.accepted_on = Some(*at);
            next.acceptance_notice_no = notice_no
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            next.status = S::Accepted;
        }
        Ev::Reject { at, reason } => {
            required(
                reason,
                "reason",
                "请填写不予受理的理由，该理由将写入不予受理告知书。",
            )?;
            next.not_accepted = Some(Refusal {
                at: *at,
                reason: reason.trim().to_owned(),
            });
            next.status = S::NotAccepted;
        }
        Ev::Forward {
            at,
            to_authority,
            report_back_by,
        } => {
            let t = transfer(TransferKind::Forward, *at, to_authority, *report_back_by)?;
            next.earlier_transfers.extend(next.transfer.replace(t));
            next.status = S::Forwarded;
        }
        Ev::Assign {
            at,
            to_authority,
            report_back_by,
        } => {
            let t = transfer(
                TransferKind::Assign,
                *at,
                to_authority,
                Some(*report_back_by),
            )?;
            next.earlier_transfers.extend(next.transfer.replace(t));
            next.status = S::Assigned;
        }
        Ev::ReceiveTransfer { at } => {
            if let Some(t) = next.transfer.as_mut() {
                t.received_on = Some(*at);
            }
        }
        Ev::ObjectTransfer { at, reason } => {
            required(
                reason,
                "reason",
                "请填写有权机关提出异议的理由（为何不属于其职权范围）。",
            )?;
            if let Some(t) = next.transfer.as_mut() {
                objection_in_time(t, *at, cal)?;
                t.objection = Some(TransferObjection {
                    at: *at,
                    reason: reason.trim().to_owned(),
                });
            }
        }
        Ev::GuideToLegalRoute { at, route_code } => {
            required(
                route_code,
                "route_code",
                "请选择导入的法定途径（如诉讼、仲裁、行政复议），以便告知信访人。",
            )?;
            next.legal_route = Some(LegalRouteGuidance {
                at: *at,
                route_code: route_code.trim().to_owned(),
            });
            next.status = S::GuidedToLegalRoute;
        }
        Ev::ReportBack { at, summary } => {
            required(summary, "summary", "请填写有关机关报告的办理情况。")?;
            if let Some(t) = next.transfer.as_mut() {
                t.reported_back_on = Some(*at);
                t.report_summary = Some(summary.trim().to_owned());
            }
        }
        Ev::StartHandling { at } => {
            next.handling_started_on = Some(*at);
            next.status = S::InProgress;
        }
        Ev::Extend {
            at,
            days,
            approver,
            reason,
        } => {
            extend_checks(state, *at, *days, approver, reason, cal)?;
            next.extension = Some(Extension {
                at: *at,
                days: *days,
                approver: approver.trim().to_owned(),
                reason: reason.trim().to_owned(),
            });
        }
        Ev::Conclude {
            at,
            opinion_summary,
            details,
        } => {
            required(
                opinion_summary,
                "opinion_summary",
                "办结须出具信访处理意见书，请填写处理意见摘要。",
            )?;
            let result = details.result.trim();
            if !result.is_empty() && !OPINION_RESULTS.contains(&result) {
                return Err(FieldError::new(
                    "result",
                    "opinion_result_unknown",
                    format!(
                        "处理结果“{result}”无法识别，请选择：{}。",
                        OPINION_RESULTS.join("、")
                    ),
                ));
            }
            let mut o = opinion(*at, opinion_summary);
            o.details = OpinionDetails {
                result: result.to_owned(),
                facts_reasons: details.facts_reasons.trim().to_owned(),
                legal_basis: details.legal_basis.trim().to_owned(),
            };
            next.opinion = Some(o);
            next.status = S::Concluded;
        }
        Ev::OpinionReceived { at } => {
            if let Some(o) = next.latest_opinion_mut() {
                o.received_on = Some(*at);
            }
        }
        Ev::RequestReview { at, body } => {
            required(
                body,
                "body",
                "请填写受理复查请求的机关（原办理机关的上一级机关）。",
            )?;
            let issued = state.opinion.as_ref();
            request_in_time(
                cal,
                *at,
                issued,
                "信访处理意见书",
                "复查",
                "review_request_late",
            )?;
            next.review = Some(stage(*at, body));
            next.status = S::UnderReview;
        }
        Ev::ReviewOpinion { at, summary } => {
            required(summary, "summary", "请填写复查意见摘要。")?;
            if let Some(r) = next.review.as_mut() {
                r.opinion = Some(opinion(*at, summary));
            }
            next.status = S::Reviewed;
        }
        Ev::RequestReReview { at, body } => {
            required(
                body,
                "body",
                "请填写受理复核请求的机关（复查机关的上一级机关）。",
            )?;
            let issued = state.review.as_ref().and_then(|r| r.opinion.as_ref());
            request_in_time(
                cal,
                *at,
                issued,
                "复查意见",
                "复核",
                "re_review_request_late",
            )?;
            next.re_review = Some(stage(*at, body));
            next.status = S::UnderReReview;
        }
        Ev::Hearing {
            date,
            notice_on,
            chair,
            panel,
            participants,
            record,
            opinion,
        } => {
            let hearing = hearing(
                *date,
                *notice_on,
                chair,
                panel,
                participants,
                record,
                opinion,
            )?;
            *next.stage_hearing_mut() = Some(hearing);
        }
        Ev::ReReviewOpinion { at, summary } => {
            required(summary, "summary", "请填写复核意见摘要。")?;
            if let Some(r) = next.re_review.as_mut() {
                r.opinion = Some(opinion(*at, summary));
            }
            next.status = S::ReReviewed;
        }
        Ev::Close { at } => {
            close_checks(state, *at, cal)?;
            next.closed_on = Some(*at);
            next.status = S::Closed;
        }
    }
    next.last_event_on = at;
    next.deadlines = deadlines(&next, cal);
    debug_assert!(next.status.ord() >= state.status.ord(), "status went back");
    Ok(next)
}

/// Whether a new matter may be opened for a claim, given the earlier matters the clerk has
/// identified as the same facts and reasons (the software cannot judge "same facts"; the clerk
/// links them, as for 重复访). Call it before creating the new matter; on `Err` register the
/// visit as a repeat visit of the old matter instead.
pub fn may_accept_new_matter(same_facts: &[MatterState]) -> Result<(), FieldError> {
    let finalized = same_facts
        .iter()
        .find_map(|m| m.re_review.as_ref().and_then(|r| r.opinion.as_ref()));
    match finalized {
        None => Ok(()),
        Some(o) => Err(FieldError::new(
            "matter",
            "same_facts_finalized",
            format!(
                "同一事实和理由的诉求已于{}经复核出具意见，依照规定不再受理。请向信访人说明，\
                 并将本次来访登记为重复访；如有新的事实和理由，请在诉求中写明后再登记新事项。",
                o.at
            ),
        )),
    }
}

fn order_error(state: &MatterState, kind: EventKind, allowed: &[EventKind]) -> FieldError {
    let allowed_zh = if allowed.is_empty() {
        "（无）".to_owned()
    } else {
        allowed
            .iter()
            .map(|k| k.label_zh())
            .collect::<Vec<_>>()
            .join("、")
    };
    // Once-only steps get their own wording: the order is right, the repetition is not.
    let (code, why) = match kind {
        EventKind::Extend
            if state.extension.is_some()
                && matches!(
                    state.status,
                    MatterStatus::Accepted | MatterStatus::InProgress
                ) =>
        {
            let e = state.extension.as_ref().map_or(0, |e| e.days);
            let due = conclusion_due(state);
            (
                "extension_twice",
                format!(
                    "办理期限已经延长过一次（{e}日），按规定只能延期一次，请在延长后的期限{due}前办结"
                ),
            )
        }
        EventKind::Hearing if state.stage_hearing().is_some() => (
            "hearing_twice",
            format!(
                "本{}阶段已记录过听证，不能重复记录",
                state.status.label_zh()
            ),
        ),
        EventKind::OpinionReceived
            if matches!(
                state.status,
                MatterStatus::Concluded | MatterStatus::Reviewed | MatterStatus::ReReviewed
            ) =>
        {
            (
                "opinion_received_twice",
                "最近一份意见的送达日期已经登记过".to_owned(),
            )
        }
        _ => ("wrong_order", kind.requirement_zh().to_owned()),
    };
    FieldError::new(
        "event",
        code,
        format!(
            "事项当前状态为「{}」，不能「{}」：{why}。当前可进行：{allowed_zh}。",
            state.status.label_zh(),
            kind.label_zh()
        ),
    )
}

fn conclusion_due(state: &MatterState) -> String {
    state
        .deadlines
        .iter()
        .find(|d| d.kind == DeadlineKind::Conclusion)
        .map_or_else(|| "（未知）".to_owned(), |d| d.due.to_string())
}

fn required(value: &str, field: &str, message: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        Err(FieldError::new(field, "required", message))
    } else {
        Ok(())
    }
}

fn transfer(
    kind: TransferKind,
    at: NaiveDate,
    to_authority: &str,
    report_back_by: Option<NaiveDate>,
) -> Result<Transfer, FieldError> {
    let what = kind.label_zh();
    required(
        to_authority,
        "to_authority",
        &format!("请填写{what}的有权处理机关、单位。"),
    )?;
    if let Some(by) = report_back_by
        && by < at
    {
        return Err(FieldError::new(
            "report_back_by",
            "report_back_before_transfer",
            format!("报告期限{by}早于{what}日期{at}，请填写{what}之后的日期。"),
        ));
    }
    Ok(Transfer {
        kind,
        at,
        to_authority: to_authority.trim().to_owned(),
        report_back_by,
        reported_back_on: None,
        report_summary: None,
        received_on: None,
        objection: None,
    })
}

fn names(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn hearing(
    date: NaiveDate,
    notice_on: Option<NaiveDate>,
    chair: &str,
    panel: &[String],
    participants: &[String],
    record: &str,
    opinion: &str,
) -> Result<HearingRecord, FieldError> {
    if let Some(n) = notice_on
        && n > date
    {
        return Err(FieldError::new(
            "notice_on",
            "notice_after_hearing",
            format!("听证通知日期{n}晚于听证日期{date}，请核对：应先通知、后听证。"),
        ));
    }
    required(chair, "chair", "请填写听证主持人。")?;
    if names(panel).is_empty() {
        return Err(FieldError::new(
            "panel",
            "required",
            "请填写听证员（参加评议的人员）。",
        ));
    }
    if names(participants).is_empty() {
        return Err(FieldError::new(
            "participants",
            "required",
            "请填写听证参加人（信访人、有关机关代表等）。",
        ));
    }
    required(record, "record", "请填写听证记录。")?;
    required(opinion, "opinion", "请填写听证员的评议意见。")?;
    Ok(HearingRecord {
        date,
        notice_on,
        chair: chair.trim().to_owned(),
        panel: names(panel),
        participants: names(participants),
        record: record.trim().to_owned(),
        opinion: opinion.trim().to_owned(),
    })
}

/// The receiving authority objects within 5 working days of receipt (of the transfer date
/// while receipt is not recorded); later it must decide on the matter itself.
fn objection_in_time(t: &Transfer, at: NaiveDate, cal: &HolidayCalendar) -> Result<(), FieldError> {
    let window = working_days_deadline(t.period_start(), OBJECTION_WORKING_DAYS, cal);
    if at <= window.due {
        return Ok(());
    }
    let what = t.kind.label_zh();
    let from = match t.received_on {
        Some(r) => format!("有权机关于{r}收到{what}"),
        None => format!(
            "{what}日期为{}（收到日期未登记，按{what}日期计算；如实际收到较晚，请先登记收到日期）",
            t.at
        ),
    };
    Err(FieldError::new(
        "at",
        "objection_late",
        format!(
            "{from}，提出异议的期限为收到之日起{OBJECTION_WORKING_DAYS}个工作日，至{}届满；{at}提出已超过期限。\
             有权机关应当依法作出受理或不予受理的决定。",
            window.due
        ),
    ))
}

fn extend_checks(
    state: &MatterState,
    at: NaiveDate,
    days: u32,
    approver: &str,
    reason: &str,
    cal: &HolidayCalendar,
) -> Result<(), FieldError> {
    if days == 0 || days > MAX_EXTENSION_DAYS {
        return Err(FieldError::new(
            "days",
            "extension_too_long",
            format!(
                "延长期限最多{MAX_EXTENSION_DAYS}日，填写的是{days}日。请填写1至{MAX_EXTENSION_DAYS}之间的天数。"
            ),
        ));
    }
    required(
        approver,
        "approver",
        "延期须经本机关、单位负责人批准，请填写批准人。",
    )?;
    required(reason, "reason", "请填写延期理由，该理由将告知信访人。")?;
    if let Some(accepted) = state.accepted_on {
        let due = deadline(accepted, CONCLUSION_DAYS, cal).due;
        if at > due {
            return Err(FieldError::new(
                "at",
                "extension_after_due",
                format!(
                    "办理期限已于{due}届满，届满后不能再延期。请尽快办结，超期情况将如实计入按期办结率。"
                ),
            ));
        }
    }
    Ok(())
}

fn request_in_time(
    cal: &HolidayCalendar,
    at: NaiveDate,
    issued: Option<&Opinion>,
    opinion_name: &str,
    stage_name: &str,
    code: &str,
) -> Result<(), FieldError> {
    let Some(o) = issued else { return Ok(()) };
    let window = deadline(o.window_start(), REVIEW_DAYS, cal);
    if at <= window.due {
        return Ok(());
    }
    let from = match o.received_on {
        Some(r) => format!("{opinion_name}于{r}送达"),
        None => format!(
            "{opinion_name}于{}出具（送达日期未登记，按出具日期计算；如实际送达较晚，请先登记意见送达日期）",
            o.at
        ),
    };
    Err(FieldError::new(
        "at",
        code,
        format!(
            "{from}，请求{stage_name}的期限为收到之日起{REVIEW_DAYS}日，至{}届满；{at}提出已超过期限，不能登记{stage_name}请求。\
             请向信访人说明；如有新的事实和理由，可另行登记新事项。",
            window.due
        ),
    ))
}

fn close_checks(
    state: &MatterState,
    at: NaiveDate,
    cal: &HolidayCalendar,
) -> Result<(), FieldError> {
    // The visitor keeps the right to ask for the next step until the window closes; closing
    // earlier would cut that right off.
    let (issued, next_step) = match state.status {
        MatterStatus::Concluded => (state.opinion.as_ref(), "复查"),
        MatterStatus::Reviewed => (
            state.review.as_ref().and_then(|r| r.opinion.as_ref()),
            "复核",
        ),
        _ => return Ok(()),
    };
    let Some(o) = issued else { return Ok(()) };
    let window = deadline(o.window_start(), REVIEW_DAYS, cal);
    if at > window.due {
        return Ok(());
    }
    Err(FieldError::new(
        "at",
        "close_before_window",
        format!(
            "请求{next_step}的期限至{}才届满，期限内信访人仍可请求{next_step}，暂不能终结。\
             请在{}或以后终结；如信访人已请求{next_step}，请登记「请求{next_step}」。",
            window.due,
            window.due.succ_opt().unwrap_or(window.due)
        ),
    ))
}

fn opinion(at: NaiveDate, summary: &str) -> Opinion {
    Opinion {
        at,
        summary: summary.trim().to_owned(),
        received_on: None,
        details: OpinionDetails::default(),
    }
}

fn stage(at: NaiveDate, body: &str) -> ReviewStage {
    ReviewStage {
        requested_on: at,
        body: body.trim().to_owned(),
        hearing: None,
        opinion: None,
    }
}
