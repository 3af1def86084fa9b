//! The figures a hall reports (DOMAIN.md §7), as rules: the period, the hall's disposition of a
//! matter, the three monthly rates, the visitor's evaluation, and publicity activities (§2).
//!
//! Nothing here counts rows: the store loads the records and asks these functions which side of
//! each rate a matter falls on, so the rule is written once and the screens, the CLI, the Excel
//! export and the city server all give the same figure.
//!
//! # The rates
//!
//! - **及时受理率** (timely disposition): a matter counts in a period when its hall-disposition
//!   limit ([`DeadlineKind::Disposition`], 登记之日起15日) is *settled* in it: the hall disposed of
//!   it (受理, 不予受理, 转送, 交办 or 导入法定途径) on a day in the period, or the limit ran out
//!   in the period with nothing done (then it counts as late). It is timely when done by the due
//!   day. Matters whose limit has not run out yet are not counted.
//! - **按期办结率** (on-time conclusion): the same with the conclusion limit
//!   ([`DeadlineKind::Conclusion`], 受理之日起60日, plus an approved extension): concluded in the
//!   period, or the limit ran out in the period unconcluded.
//! - **参评率** (participation): matters concluded (信访处理意见书 issued) in the period that the
//!   visitor has evaluated (at the desk or later by phone, up to the day the figures are taken),
//!   over the matters concluded in the period.
//! - **满意率** (satisfaction): of those evaluated, the ones rated 满意 or 基本满意, over the
//!   evaluated ones. The split into 满意 / 基本满意 / 不满意 is reported beside it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::date::parse_date_field;
use crate::error::{FieldError, ValidationErrors};
use crate::matter::{DeadlineKind, MatterState, MatterStatus, NamedDeadline, TransferKind};

/// Head count from which a visit is a group visit (集体访, 5人及以上).
pub const GROUP_VISIT_MIN_PEOPLE: u32 = 5;

/// Longest period a statistics query may span, in days (ten years).
pub const MAX_PERIOD_DAYS: i64 = 3660;

/// A closed range of days, both ends counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// A period from `from` to `to`, both included; refuses a reversed or absurdly long one.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period, FieldError> {
        if to < from {
            return Err(FieldError::new(
                "to",
                "period_reversed",
                format!("结束日期 {to} 早于开始日期 {from}，请把开始日期放在前面。"),
            ));
        }
        if (to - from).num_days() > MAX_PERIOD_DAYS {
            return Err(FieldError::new(
                "to",
                "period_too_long",
                format!("统计区间最长 {MAX_PERIOD_DAYS} 天（约十年），请缩短区间后分段统计。"),
            ));
        }
        Ok(Period { from, to })
    }

    /// Parses `YYYY-MM-DD` ends, with a message that names the field.
    pub fn parse(from: &str, to: &str) -> Result<Period, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let from = parse_date_field("from", "开始日期", from)
            .map_err(|e| errors.push(e))
            .ok();
        let to = parse_date_field("to", "结束日期", to)
            .map_err(|e| errors.push(e))
            .ok();
        match (from, to) {
            (Some(f), Some(t)) if errors.is_empty() => Period::new(f, t).map_err(Into::into),
            _ => Err(errors),
        }
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// The day the figures are taken for a period that may still be running: `today`, but no
    /// later than the day after the period (a limit due on its last day is late only once that
    /// day is over).
    pub fn as_of(&self, today: NaiveDate) -> NaiveDate {
        today.min(self.to.succ_opt().unwrap_or(self.to))
    }
}

/// A rate as reported: the two counts and the percentage (two decimals), none when nothing is
/// due (a rate of 0/0 is "no data", not 0% or 100%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rate {
    pub numerator: u32,
    pub denominator: u32,
    pub percent: Option<f64>,
}

impl Rate {
    pub fn new(numerator: u32, denominator: u32) -> Rate {
        let percent = (denominator > 0)
            .then(|| (f64::from(numerator) * 10000.0 / f64::from(denominator)).round() / 100.0);
        Rate {
            numerator,
            denominator,
            percent,
        }
    }

    /// `93.75%（15/16）`, or `—（无应计事项）`.
    pub fn label_zh(&self) -> String {
        match self.percent {
            Some(p) => format!("{p:.2}%（{}/{}）", self.numerator, self.denominator),
            None => "—（无应计事项）".to_owned(),
        }
    }
}

/// Which of the audited rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    /// 及时受理率
    TimelyAcceptance,
    /// 按期办结率
    OnTimeConclusion,
    /// 参评率
    Participation,
    /// 满意率
    Satisfaction,
}

impl RateKind {
    pub const ALL: [RateKind; 4] = [
        RateKind::TimelyAcceptance,
        RateKind::OnTimeConclusion,
        RateKind::Participation,
        RateKind::Satisfaction,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RateKind::TimelyAcceptance => "timely_acceptance",
            RateKind::OnTimeConclusion => "on_time_conclusion",
            RateKind::Participation => "participation",
            RateKind::Satisfaction => "satisfaction",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RateKind::TimelyAcceptance => "及时受理率",
            RateKind::OnTimeConclusion => "按期办结率",
            RateKind::Participation => "参评率",
            RateKind::Satisfaction => "满意率",
        }
    }

    /// What the numerator and denominator are, for the table under the figure.
    pub fn definition_zh(self) -> &'static str {
        match self {
            RateKind::TimelyAcceptance => {
                "登记之日起15日内作出处理（受理、不予受理、转送、交办或导入法定途径）的事项数 ÷ 本期应作出处理的事项数（本期内作出处理的，或处理期限在本期届满仍未处理的）"
            }
            RateKind::OnTimeConclusion => {
                "在办结期限（受理之日起60日，经批准延期的加延期天数）内办结的事项数 ÷ 本期应办结的事项数（本期内办结的，或办结期限在本期届满仍未办结的）"
            }
            RateKind::Participation => "本期办结事项中信访人已作出评价的事项数 ÷ 本期办结事项数",
            RateKind::Satisfaction => "评价为满意或基本满意的事项数 ÷ 已评价事项数",
        }
    }

    pub fn parse(s: &str) -> Option<RateKind> {
        let s = s.trim();
        RateKind::ALL
            .into_iter()
            .find(|k| k.code() == s || k.label_zh() == s)
    }
}

/// How the hall disposed of a registered appeal (the first decision on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Accept,
    Reject,
    Forward,
    Assign,
    GuideToLegalRoute,
}

impl Disposition {
    pub const ALL: [Disposition; 5] = [
        Disposition::Accept,
        Disposition::Reject,
        Disposition::Forward,
        Disposition::Assign,
        Disposition::GuideToLegalRoute,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Disposition::Accept => "accept",
            Disposition::Reject => "reject",
            Disposition::Forward => "forward",
            Disposition::Assign => "assign",
            Disposition::GuideToLegalRoute => "guide_to_legal_route",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Disposition::Accept => "受理",
            Disposition::Reject => "不予受理",
            Disposition::Forward => "转送",
            Disposition::Assign => "交办",
            Disposition::GuideToLegalRoute => "导入法定途径",
        }
    }
}

/// The facts of a matter's state that decide its disposition: what a store can read from the
/// stored state without loading all of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispositionFacts {
    pub transfer: Option<(TransferKind, NaiveDate)>,
    pub accepted_on: Option<NaiveDate>,
    pub not_accepted_on: Option<NaiveDate>,
    pub legal_route_on: Option<NaiveDate>,
}

impl DispositionFacts {
    pub fn of(state: &MatterState) -> DispositionFacts {
        DispositionFacts {
            transfer: state.transfer.as_ref().map(|t| (t.kind, t.at)),
            accepted_on: state.accepted_on,
            not_accepted_on: state.not_accepted.as_ref().map(|r| r.at),
            legal_route_on: state.legal_route.as_ref().map(|g| g.at),
        }
    }

    /// The hall's disposition and its day. A transfer (转送/交办) is the hall's disposition even
    /// when the receiving authority decides on acceptance later.
    pub fn disposition(&self) -> Option<(Disposition, NaiveDate)> {
        if let Some((kind, at)) = self.transfer {
            let d = match kind {
                TransferKind::Forward => Disposition::Forward,
                TransferKind::Assign => Disposition::Assign,
            };
            return Some((d, at));
        }
        if let Some(at) = self.accepted_on {
            return Some((Disposition::Accept, at));
        }
        if let Some(at) = self.not_accepted_on {
            return Some((Disposition::Reject, at));
        }
        self.legal_route_on
            .map(|at| (Disposition::GuideToLegalRoute, at))
    }
}

/// The hall's disposition of a matter and its day, if it has one yet (see
/// [`DispositionFacts::disposition`]).
pub fn disposition(state: &MatterState) -> Option<(Disposition, NaiveDate)> {
    DispositionFacts::of(state).disposition()
}

fn find(state: &MatterState, kind: DeadlineKind) -> Option<&NamedDeadline> {
    state.deadlines.iter().find(|d| d.kind == kind)
}

/// Which side of a limit-based rate a deadline falls on in `period`, with the figures taken on
/// `as_of`: `Some(true)` done in the period by its due day, `Some(false)` done in the period
/// late, or run out in the period (before `as_of`) undone; `None` not counted in this period.
pub fn deadline_outcome(d: &NamedDeadline, period: &Period, as_of: NaiveDate) -> Option<bool> {
    match d.done_on {
        Some(done) if period.contains(done) => Some(done <= d.due),
        Some(_) => None,
        None => (period.contains(d.due) && d.due < as_of).then_some(false),
    }
}

/// 及时受理率: the matter's side, see the module docs.
pub fn timely_acceptance(state: &MatterState, period: &Period, as_of: NaiveDate) -> Option<bool> {
    find(state, DeadlineKind::Disposition).and_then(|d| deadline_outcome(d, period, as_of))
}

/// 按期办结率: the matter's side, see the module docs.
pub fn on_time_conclusion(state: &MatterState, period: &Period, as_of: NaiveDate) -> Option<bool> {
    find(state, DeadlineKind::Conclusion).and_then(|d| deadline_outcome(d, period, as_of))
}

/// The day the matter was concluded (信访处理意见书 issued), if it was.
pub fn concluded_on(state: &MatterState) -> Option<NaiveDate> {
    state.opinion.as_ref().map(|o| o.at)
}

/// An authority's limits that ran out before `as_of` with the act undone, for a matter that is
/// not closed (the overdue list and the overdue count).
pub fn overdue_deadlines(state: &MatterState, as_of: NaiveDate) -> Vec<&NamedDeadline> {
    if state.status == MatterStatus::Closed {
        return Vec::new();
    }
    state
        .deadlines
        .iter()
        .filter(|d| d.is_overdue(as_of))
        .collect()
}

/// The visitor's evaluation of the handling (群众满意度评价).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Evaluation {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
}

impl Evaluation {
    pub const ALL: [Evaluation; 3] = [
        Evaluation::Satisfied,
        Evaluation::BasicallySatisfied,
        Evaluation::Unsatisfied,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Evaluation::Satisfied => "satisfied",
            Evaluation::BasicallySatisfied => "basically_satisfied",
            Evaluation::Unsatisfied => "unsatisfied",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Evaluation::Satisfied => "满意",
            Evaluation::BasicallySatisfied => "基本满意",
            Evaluation::Unsatisfied => "不满意",
        }
    }

    /// Counts towards 满意率.
    pub fn is_satisfied(self) -> bool {
        self != Evaluation::Unsatisfied
    }

    pub fn parse(s: &str) -> Option<Evaluation> {
        let s = s.trim();
        Evaluation::ALL
            .into_iter()
            .find(|e| e.code() == s || e.label_zh() == s)
    }
}

/// How the evaluation was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EvaluationChannel {
    /// At the desk, when the handling opinion was handed over.
    Desk,
    /// Later, by a phone call (电话回访).
    Phone,
}

impl EvaluationChannel {
    pub fn code(self) -> &'static str {
        match self {
            EvaluationChannel::Desk => "desk",
            EvaluationChannel::Phone => "phone",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EvaluationChannel::Desk => "现场评价",
            EvaluationChannel::Phone => "电话回访",
        }
    }

    pub fn parse(s: &str) -> Option<EvaluationChannel> {
        match s.trim() {
            "desk" | "现场" | "现场评价" => Some(EvaluationChannel::Desk),
            "phone" | "电话" | "电话回访" => Some(EvaluationChannel::Phone),
            _ => None,
        }
    }
}

/// The evaluation form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct EvaluationInput {
    /// 满意 / 基本满意 / 不满意 (or satisfied / basically_satisfied / unsatisfied).
    pub result: String,
    /// `desk` or `phone` (现场评价 / 电话回访); empty means desk.
    pub channel: String,
    /// `YYYY-MM-DD`; empty means today.
    pub evaluated_on: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidEvaluation {
    pub result: Evaluation,
    pub channel: EvaluationChannel,
    pub evaluated_on: NaiveDate,
    pub note: String,
}

/// Checks an evaluation of a matter concluded on `concluded_on` (None: not concluded yet).
/// A matter is evaluated once its handling opinion exists; a later evaluation (e.g. by phone
/// after the desk) replaces the earlier one in the rates.
pub fn validate_evaluation(
    input: &EvaluationInput,
    concluded_on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<ValidEvaluation, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let result = Evaluation::parse(&input.result);
    if result.is_none() {
        errors.push(FieldError::new(
            "result",
            "evaluation_unknown",
            format!(
                "评价结果“{}”无法识别，请填写“满意”“基本满意”或“不满意”。",
                input.result.trim()
            ),
        ));
    }
    let channel = if input.channel.trim().is_empty() {
        Some(EvaluationChannel::Desk)
    } else {
        EvaluationChannel::parse(&input.channel)
    };
    if channel.is_none() {
        errors.push(FieldError::new(
            "channel",
            "channel_unknown",
            format!(
                "评价方式“{}”无法识别，请填写“现场评价”或“电话回访”。",
                input.channel.trim()
            ),
        ));
    }
    let evaluated_on = if input.evaluated_on.trim().is_empty() {
        Some(today)
    } else {
        parse_date_field("evaluated_on", "评价日期", &input.evaluated_on)
            .map_err(|e| errors.push(e))
            .ok()
    };
    match (concluded_on, evaluated_on) {
        (None, _) => errors.push(FieldError::new(
            "matter_id",
            "not_concluded",
            "该事项尚未办结（未出具信访处理意见书），办结后才能请信访人评价。",
        )),
        (Some(c), Some(e)) if e < c => errors.push(FieldError::new(
            "evaluated_on",
            "evaluated_before_conclusion",
            format!("评价日期 {e} 早于办结日期 {c}，请核对评价日期。"),
        )),
        _ => {}
    }
    if let Some(e) = evaluated_on
        && e > today
    {
        errors.push(FieldError::new(
            "evaluated_on",
            "evaluated_in_future",
            format!("评价日期 {e} 晚于今天（{today}），请核对评价日期。"),
        ));
    }
    let note = input.note.trim();
    if note.chars().count() > 1000 {
        errors.push(FieldError::new(
            "note",
            "note_too_long",
            "评价备注最多 1000 个字，请概括后填写。",
        ));
    }
    match (result, channel, evaluated_on) {
        (Some(result), Some(channel), Some(evaluated_on)) if errors.is_empty() => {
            Ok(ValidEvaluation {
                result,
                channel,
                evaluated_on,
                note: note.to_owned(),
            })
        }
        _ => Err(errors),
    }
}

// ---------------------------------------------------------------------------------------------
// Publicity activities (法治宣传活动)

/// Kinds of publicity activity, as (code, name). The names are what the bureau's report uses.
pub const PUBLICITY_KINDS: [(&str, &str); 8] = [
    ("community", "进社区"),
    ("village", "进乡村"),
    ("enterprise", "进企业"),
    ("school", "进校园"),
    ("lecture", "宣讲"),
    ("materials", "发放资料"),
    ("online", "网络推文"),
    ("other", "其他"),
];

/// The code of a publicity kind given by code or name.
pub fn publicity_kind(code_or_name: &str) -> Option<(&'static str, &'static str)> {
    let s = code_or_name.trim();
    PUBLICITY_KINDS
        .into_iter()
        .find(|(c, n)| *c == s || *n == s)
}

/// Longest place or unit name, in characters.
pub const MAX_PUBLICITY_TEXT: usize = 200;
/// Most organising units of one activity.
pub const MAX_UNITS: usize = 50;

/// A publicity activity as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct PublicityInput {
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub place: String,
    /// Organising units (主办/参与单位), several.
    pub units: Vec<String>,
    /// Kind code or name (进社区, 进乡村, 宣讲, 发放资料, 网络推文 …).
    pub kind: String,
    /// Leaflets and materials handed out (发放资料, 份).
    pub leaflets: u32,
    /// People given legal consultation on the spot (接受咨询, 人次).
    pub consulted: u32,
    /// People reached (受益群众, 人).
    pub reached: u32,
    /// Posts published (推文, 篇).
    pub posts: u32,
    /// Reads of those posts (阅读量, 次).
    pub reads: u32,
    pub note: String,
    /// The campaign it belongs to (活动名称), e.g. `第三届“循法信访、依法办访”法治宣传周`;
    /// optional. The city totals each campaign across halls by this name.
    pub campaign: String,
}

/// A publicity activity once checked; also the shape the store returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ValidPublicity {
    pub held_on: NaiveDate,
    pub place: String,
    /// Trimmed, each once, in the order typed.
    pub units: Vec<String>,
    pub kind: String,
    pub kind_label: String,
    pub leaflets: u32,
    pub consulted: u32,
    pub reached: u32,
    pub posts: u32,
    pub reads: u32,
    pub note: String,
    /// Trimmed, inner runs of white space made one space; empty: no campaign given.
    pub campaign: String,
}

/// A campaign's name as compared: trimmed, every run of white space one space, so that
/// `法治宣传周 ` and `法治宣传周` are one campaign on the city.
pub fn normalize_campaign(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn validate_publicity(
    input: &PublicityInput,
    today: NaiveDate,
) -> Result<ValidPublicity, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let held_on = parse_date_field("held_on", "活动日期", &input.held_on)
        .map_err(|e| errors.push(e))
        .ok();
    if let Some(d) = held_on
        && d > today
    {
        errors.push(FieldError::new(
            "held_on",
            "held_in_future",
            format!("活动日期 {d} 晚于今天（{today}）：请在活动举办后再登记。"),
        ));
    }
    let place = input.place.trim();
    if place.is_empty() {
        errors.push(FieldError::new(
            "place",
            "place_empty",
            "请填写活动地点（如某社区、某村或某公众号）。",
        ));
    } else if place.chars().count() > MAX_PUBLICITY_TEXT {
        errors.push(FieldError::new(
            "place",
            "place_too_long",
            format!("活动地点最多 {MAX_PUBLICITY_TEXT} 个字，请简写。"),
        ));
    }
    let mut units: Vec<String> = Vec::new();
    for (i, u) in input.units.iter().enumerate() {
        let u = u.trim();
        if u.is_empty() {
            continue;
        }
        if u.chars().count() > MAX_PUBLICITY_TEXT {
            errors.push(FieldError::new(
                format!("units[{i}]"),
                "unit_too_long",
                format!(
                    "第 {} 个单位名称最多 {MAX_PUBLICITY_TEXT} 个字，请简写。",
                    i + 1
                ),
            ));
        } else if !units.iter().any(|x| x == u) {
            units.push(u.to_owned());
        }
    }
    if units.is_empty() {
        errors.push(FieldError::new(
            "units",
            "units_empty",
            "请至少填写一个组织单位（如县司法局、县信访局）。",
        ));
    } else if units.len() > MAX_UNITS {
        errors.push(FieldError::new(
            "units",
            "units_too_many",
            format!("一次活动最多登记 {MAX_UNITS} 个组织单位，请只列主办和参与单位。"),
        ));
    }
    let kind = publicity_kind(&input.kind);
    if kind.is_none() {
        let names: Vec<&str> = PUBLICITY_KINDS.iter().map(|(_, n)| *n).collect();
        errors.push(FieldError::new(
            "kind",
            "kind_unknown",
            format!(
                "活动形式“{}”无法识别，请从以下形式中选择：{}。",
                input.kind.trim(),
                names.join("、")
            ),
        ));
    }
    if input.reads > 0 && input.posts == 0 {
        errors.push(FieldError::new(
            "reads",
            "reads_without_posts",
            "填写了阅读量但推文篇数为 0：请填写推文篇数，或把阅读量改为 0。",
        ));
    }
    let campaign = normalize_campaign(&input.campaign);
    if campaign.chars().count() > MAX_PUBLICITY_TEXT {
        errors.push(FieldError::new(
            "campaign",
            "campaign_too_long",
            format!("活动名称最多 {MAX_PUBLICITY_TEXT} 个字，请简写（如“第三届法治宣传周”）。"),
        ));
    }
    let note = input.note.trim();
    match (held_on, kind) {
        (Some(held_on), Some((code, label))) if errors.is_empty() => Ok(ValidPublicity {
            held_on,
            place: place.to_owned(),
            units,
            kind: code.to_owned(),
            kind_label: label.to_owned(),
            leaflets: input.leaflets,
            consulted: input.consulted,
            reached: input.reached,
            posts: input.posts,
            reads: input.reads,
            note: note.to_owned(),
            campaign,
        }),
        _ => Err(errors),
    }
}

/// The report's figures over a set of activities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublicityTotals {
    /// 开展活动（场次）
    pub events: u64,
    /// 参与单位（个）: distinct organising units.
    pub units: u64,
    /// 发放资料（份）
    pub leaflets: u64,
    /// 接受咨询（人次）
    pub consulted: u64,
    /// 受益群众（人）
    pub reached: u64,
    /// 推文（篇）
    pub posts: u64,
    /// 阅读量（次）
    pub reads: u64,
}

/// Totals of one unit (over the activities it organised or joined) or one kind or month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublicityGroup {
    /// Unit name, kind name, or `YYYY-MM`.
    pub key: String,
    pub totals: PublicityTotals,
}

/// Totals for a period, and by unit, kind, month and campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublicitySummary {
    pub totals: PublicityTotals,
    /// Most events first, then by name. An activity counts fully for each of its units.
    pub by_unit: Vec<PublicityGroup>,
    pub by_kind: Vec<PublicityGroup>,
    pub by_month: Vec<PublicityGroup>,
    /// By campaign name, in name order; the key is empty for activities of no campaign.
    pub by_campaign: Vec<PublicityGroup>,
}

/// The report's figures over some activities. `units` counts distinct organising units by
/// name: a unit that organised or joined several of the activities (in one county or in
/// several) counts once, so the units of a city total are not the sum of its counties'.
pub fn publicity_totals<'a>(
    activities: impl IntoIterator<Item = &'a ValidPublicity>,
) -> PublicityTotals {
    let mut t = PublicityTotals::default();
    let mut units = std::collections::BTreeSet::new();
    for a in activities {
        add(&mut t, a);
        units.extend(a.units.iter().map(String::as_str));
    }
    t.units = units.len() as u64;
    t
}

fn add(t: &mut PublicityTotals, a: &ValidPublicity) {
    t.events += 1;
    t.leaflets += u64::from(a.leaflets);
    t.consulted += u64::from(a.consulted);
    t.reached += u64::from(a.reached);
    t.posts += u64::from(a.posts);
    t.reads += u64::from(a.reads);
}

/// Adds up activities: nobody adds the report's figures by hand.
pub fn summarize_publicity(activities: &[ValidPublicity]) -> PublicitySummary {
    use std::collections::{BTreeMap, BTreeSet};
    let mut totals = PublicityTotals::default();
    let mut units: BTreeMap<&str, PublicityTotals> = BTreeMap::new();
    let mut kinds: BTreeMap<&str, PublicityTotals> = BTreeMap::new();
    let mut months: BTreeMap<String, PublicityTotals> = BTreeMap::new();
    let mut distinct: BTreeSet<&str> = BTreeSet::new();
    for a in activities {
        add(&mut totals, a);
        for u in &a.units {
            distinct.insert(u);
            let t = units.entry(u).or_default();
            add(t, a);
            t.units = 1;
        }
        add(kinds.entry(&a.kind_label).or_default(), a);
        add(
            months
                .entry(a.held_on.format("%Y-%m").to_string())
                .or_default(),
            a,
        );
    }
    totals.units = distinct.len() as u64;
    let group = |key: &str, totals: PublicityTotals| PublicityGroup {
        key: key.to_owned(),
        totals,
    };
    let mut by_unit: Vec<PublicityGroup> = units.into_iter().map(|(k, t)| group(k, t)).collect();
    by_unit.sort_by(|a, b| {
        b.totals
            .events
            .cmp(&a.totals.events)
            .then(a.key.cmp(&b.key))
    });
    let with_units = |t: PublicityTotals, acts: &dyn Fn(&ValidPublicity) -> bool| {
        let set: BTreeSet<&str> = activities
            .iter()
            .filter(|a| acts(a))
            .flat_map(|a| a.units.iter().map(String::as_str))
            .collect();
        PublicityTotals {
            units: set.len() as u64,
            ..t
        }
    };
    let by_kind = kinds
        .into_iter()
        .map(|(k, t)| group(k, with_units(t, &|a| a.kind_label == k)))
        .collect();
    let by_month = months
        .into_iter()
        .map(|(k, t)| {
            let t = with_units(t, &|a| a.held_on.format("%Y-%m").to_string() == k);
            group(&k, t)
        })
        .collect();
    let campaigns: BTreeSet<&str> = activities.iter().map(|a| a.campaign.as_str()).collect();
    let by_campaign = campaigns
        .into_iter()
        .map(|c| {
            group(
                c,
                publicity_totals(activities.iter().filter(|a| a.campaign == c)),
            )
        })
        .collect();
    PublicitySummary {
        totals,
        by_unit,
        by_kind,
        by_month,
        by_campaign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::HolidayCalendar;
    use crate::matter::{MatterEvent, apply};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn state(received: &str, events: &[MatterEvent]) -> MatterState {
        MatterState::replay(d(received), events, &HolidayCalendar::bundled()).unwrap()
    }

    #[test]
    fn rates_of_zero_matters_are_no_data() {
        assert_eq!(Rate::new(0, 0).percent, None);
        assert_eq!(Rate::new(15, 16).percent, Some(93.75));
        assert_eq!(Rate::new(2, 3).percent, Some(66.67));
        assert_eq!(Rate::new(15, 16).label_zh(), "93.75%（15/16）");
    }

    #[test]
    fn period_is_checked() {
        assert!(Period::parse("2025-01-01", "2025-01-31").is_ok());
        let e = Period::parse("2025-02-01", "2025-01-31").unwrap_err();
        assert_eq!(e.0[0].code, "period_reversed");
        let e = Period::parse("2025/02/01", "x").unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert!(e.0[0].message.contains("年-月-日"), "{}", e.0[0].message);
    }

    #[test]
    fn disposition_within_fifteen_days_is_timely() {
        let jan = Period::new(d("2025-03-01"), d("2025-03-31")).unwrap();
        // Registered 3 March, accepted 10 March: timely, concluded later.
        let s = state(
            "2025-03-03",
            &[MatterEvent::Accept {
                at: d("2025-03-10"),
                notice_no: None,
            }],
        );
        assert_eq!(timely_acceptance(&s, &jan, d("2025-04-30")), Some(true));
        assert_eq!(
            disposition(&s),
            Some((Disposition::Accept, d("2025-03-10")))
        );
        // Registered 3 March, nothing done: due 18 March, late once past.
        let s = state("2025-03-03", &[]);
        assert_eq!(timely_acceptance(&s, &jan, d("2025-03-18")), None);
        assert_eq!(timely_acceptance(&s, &jan, d("2025-03-19")), Some(false));
        assert_eq!(overdue_deadlines(&s, d("2025-03-19")).len(), 1);
        // Forwarded on day 20: late.
        let s = state(
            "2025-03-03",
            &[MatterEvent::Forward {
                at: d("2025-03-23"),
                to_authority: "县住建局".into(),
                report_back_by: None,
            }],
        );
        assert_eq!(timely_acceptance(&s, &jan, d("2025-04-30")), Some(false));
        assert_eq!(disposition(&s).unwrap().0, Disposition::Forward);
    }

    #[test]
    fn conclusion_counts_the_extension() {
        let cal = HolidayCalendar::bundled();
        let mut s = state(
            "2025-01-02",
            &[MatterEvent::Accept {
                at: d("2025-01-03"),
                notice_no: None,
            }],
        );
        s = apply(
            &s,
            &MatterEvent::Extend {
                at: d("2025-02-20"),
                days: 30,
                approver: "局长".into(),
                reason: "情况复杂".into(),
            },
            &cal,
        )
        .unwrap();
        s = apply(
            &s,
            &MatterEvent::Conclude {
                at: d("2025-04-01"),
                opinion_summary: "已答复".into(),
                details: Default::default(),
            },
            &cal,
        )
        .unwrap();
        let april = Period::new(d("2025-04-01"), d("2025-04-30")).unwrap();
        assert_eq!(on_time_conclusion(&s, &april, d("2025-05-01")), Some(true));
        assert_eq!(concluded_on(&s), Some(d("2025-04-01")));
        let ev = validate_evaluation(
            &EvaluationInput {
                result: "基本满意".into(),
                channel: "电话回访".into(),
                evaluated_on: "2025-04-10".into(),
                note: String::new(),
            },
            concluded_on(&s),
            d("2025-05-01"),
        )
        .unwrap();
        assert!(ev.result.is_satisfied());
        assert_eq!(ev.channel, EvaluationChannel::Phone);
    }

    #[test]
    fn evaluation_needs_a_conclusion() {
        let input = EvaluationInput {
            result: "满意".into(),
            ..Default::default()
        };
        let e = validate_evaluation(&input, None, d("2025-05-01")).unwrap_err();
        assert_eq!(e.0[0].code, "not_concluded");
        let input = EvaluationInput {
            result: "还行".into(),
            evaluated_on: "2025-03-01".into(),
            ..Default::default()
        };
        let e = validate_evaluation(&input, Some(d("2025-04-01")), d("2025-05-01")).unwrap_err();
        let codes: Vec<&str> = e.0.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["evaluation_unknown", "evaluated_before_conclusion"]);
    }

    #[test]
    fn publicity_is_checked_and_summed() {
        let today = d("2021-12-31");
        let a = validate_publicity(
            &PublicityInput {
                held_on: "2021-11-20".into(),
                place: "城关社区".into(),
                units: vec!["县司法局".into(), " 县信访局 ".into(), "县司法局".into()],
                kind: "进社区".into(),
                leaflets: 500,
                consulted: 40,
                reached: 300,
                ..Default::default()
            },
            today,
        )
        .unwrap();
        assert_eq!(a.units, ["县司法局", "县信访局"]);
        let b = validate_publicity(
            &PublicityInput {
                held_on: "2021-12-04".into(),
                place: "微信公众号".into(),
                units: vec!["县信访局".into()],
                kind: "online".into(),
                posts: 3,
                reads: 2000,
                ..Default::default()
            },
            today,
        )
        .unwrap();
        let s = summarize_publicity(&[a, b]);
        assert_eq!(s.totals.events, 2);
        assert_eq!(s.totals.units, 2);
        assert_eq!(s.totals.reads, 2000);
        assert_eq!(s.by_unit[0].key, "县信访局");
        assert_eq!(s.by_unit[0].totals.events, 2);
        assert_eq!(s.by_month.len(), 2);
        let e = validate_publicity(
            &PublicityInput {
                held_on: "2022-01-05".into(),
                kind: "跳舞".into(),
                reads: 5,
                ..Default::default()
            },
            today,
        )
        .unwrap_err();
        let codes: Vec<&str> = e.0.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "held_in_future",
                "place_empty",
                "units_empty",
                "kind_unknown",
                "reads_without_posts"
            ]
        );
    }

    #[test]
    fn a_campaign_is_trimmed_and_totalled_with_each_unit_once() {
        let today = d("2021-12-31");
        let act = |held_on: &str, units: &[&str], campaign: &str, leaflets: u32| {
            validate_publicity(
                &PublicityInput {
                    held_on: held_on.into(),
                    place: "文化广场".into(),
                    units: units.iter().map(|u| (*u).into()).collect(),
                    kind: "宣讲".into(),
                    leaflets,
                    campaign: campaign.into(),
                    ..Default::default()
                },
                today,
            )
            .unwrap()
        };
        let week = "第三届“循法信访、依法办访”法治宣传周";
        let a = act(
            "2021-05-17",
            &["沁水县信访局", "沁水县司法局"],
            "  第三届“循法信访、依法办访”法治宣传周 ",
            100,
        );
        assert_eq!(a.campaign, week);
        // The same unit in a second event of the week counts once among the week's units.
        let b = act("2021-05-18", &["沁水县信访局"], week, 50);
        let c = act("2021-12-04", &["沁水县司法局"], "宪法宣传周", 10);
        let none = act("2021-06-01", &["沁水县信访局"], "", 5);
        assert_eq!(none.campaign, "");
        let week_totals = publicity_totals([&a, &b]);
        assert_eq!(
            (week_totals.events, week_totals.units, week_totals.leaflets),
            (2, 2, 150)
        );
        let s = summarize_publicity(&[a, b, c, none]);
        let keys: Vec<&str> = s.by_campaign.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["", "宪法宣传周", week]);
        assert_eq!(s.by_campaign[2].totals, week_totals);
        assert_eq!((s.totals.events, s.totals.units), (4, 2));
        let long = validate_publicity(
            &PublicityInput {
                held_on: "2021-05-17".into(),
                place: "广场".into(),
                units: vec!["县信访局".into()],
                kind: "宣讲".into(),
                campaign: "周".repeat(MAX_PUBLICITY_TEXT + 1),
                ..Default::default()
            },
            today,
        )
        .unwrap_err();
        assert_eq!(long.0[0].code, "campaign_too_long");
        assert!(long.0[0].message.contains("活动名称"));
    }
}
