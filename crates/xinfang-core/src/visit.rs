//! Registration of one walk-in visit: the form as typed, and the form once validated.
//!
//! [`validate_visit`] reports every problem of the form at once, each at its field path, so the
//! clerk fixes them in one pass rather than one submit per error.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, ValidationErrors};
use crate::id::{IdType, Sex, check_document_detailed, parse_id_type};
use crate::phone::normalize_phone;
use crate::reference::{AppealKind, ReferenceData};

/// Most representatives a group may choose (信访工作条例).
pub const MAX_REPRESENTATIVES: usize = 5;
/// Longest visitor name, in characters (not bytes: rare names are 4 bytes a character).
pub const MAX_NAME_CHARS: usize = 50;
/// Longest appeal summary, in characters.
pub const MAX_APPEAL_CHARS: usize = 4000;
/// How far ahead of `now` a visit time may be: desk clocks drift a little.
pub const FUTURE_TOLERANCE_MINUTES: i64 = 5;

/// One visitor as typed by the clerk (or given in `visit.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct VisitorInput {
    pub name: String,
    /// `resident_id` when empty.
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub address: String,
    /// `male` / `female` if the clerk typed one; checked against the ID.
    pub sex: String,
    /// `YYYY-MM-DD` if the clerk typed one; checked against the ID.
    pub birth_date: String,
    pub ethnicity: String,
    pub occupation: String,
}

/// The registration form as typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct VisitInput {
    /// RFC 3339; empty means "now".
    pub visited_at: String,
    pub visitors: Vec<VisitorInput>,
    pub head_count: u32,
    /// Indexes into `visitors`.
    pub representatives: Vec<usize>,
    pub appeal: String,
    /// `suggestion` | `report` | `claim`, or the Chinese name.
    pub appeal_kind: String,
    /// Category code or Chinese name.
    pub category: String,
    pub agency: String,
    /// GB/T 2260 code of the place the problem happened.
    pub place_code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidVisitor {
    pub name: String,
    pub id_type: IdType,
    pub id_number: String,
    pub sex: Option<Sex>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub ethnicity: Option<String>,
    pub occupation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidVisit {
    pub visited_at: DateTime<FixedOffset>,
    pub visitors: Vec<ValidVisitor>,
    /// Number of people who came; at least the number of visitors listed.
    pub head_count: u32,
    /// Indexes into `visitors`; `[0]` for a single visitor.
    pub representatives: Vec<usize>,
    pub appeal: String,
    pub appeal_kind: AppealKind,
    pub category_code: String,
    pub agency: String,
    pub place_code: Option<String>,
    /// Non-blocking remarks (unknown region prefix …), with their fields.
    pub warnings: Vec<crate::FieldError>,
}

/// Checks a registration form against the rules of DOMAIN.md §3 and §5.
///
/// `now` is the desk's clock: it fills an empty `visited_at`, bounds it, and gives the "today"
/// that birth dates are checked against.
pub fn validate_visit(
    input: &VisitInput,
    refdata: &ReferenceData,
    now: DateTime<FixedOffset>,
) -> Result<ValidVisit, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut warnings = Vec::new();

    let visited_at = visited_at(&input.visited_at, now).unwrap_or_else(|e| {
        errors.push(e);
        now
    });

    if input.visitors.is_empty() {
        errors.push(FieldError::new(
            "visitors",
            "visitors_empty",
            "请至少登记一名来访人。",
        ));
    }
    let today = now.date_naive();
    let mut visitors: Vec<ValidVisitor> = Vec::new();
    // Form index of each valid visitor (invalid ones are skipped), to name the first of a pair.
    let mut form_index = Vec::new();
    for (i, v) in input.visitors.iter().enumerate() {
        let Some(valid) = validate_visitor(i, v, refdata, today, &mut errors, &mut warnings) else {
            continue;
        };
        if let Some(k) = visitors
            .iter()
            .position(|o| o.id_type == valid.id_type && o.id_number == valid.id_number)
        {
            errors.push(FieldError::new(
                format!("visitors[{i}].id_number"),
                "id_duplicate",
                format!(
                    "第 {} 位来访人的证件号码与第 {} 位相同，同一人请只登记一次。",
                    i + 1,
                    form_index[k] + 1
                ),
            ));
        }
        visitors.push(valid);
        form_index.push(i);
    }

    let listed = input.visitors.len();
    let head_count = group(input, listed, &mut errors);
    let representatives = representatives(input, listed, head_count, &mut errors);

    let appeal = input.appeal.trim();
    if appeal.is_empty() {
        errors.push(FieldError::new(
            "appeal",
            "appeal_empty",
            "请填写诉求内容（来访人要求解决什么问题）。",
        ));
    } else if appeal.chars().count() > MAX_APPEAL_CHARS {
        errors.push(FieldError::new(
            "appeal",
            "appeal_too_long",
            format!(
                "诉求内容最多 {MAX_APPEAL_CHARS} 个字，现在是 {} 个字，请概括后填写，详细材料可作为附件。",
                appeal.chars().count()
            ),
        ));
    }

    let appeal_kind = appeal_kind(&input.appeal_kind)
        .map_err(|e| errors.push(e))
        .ok();
    let category_code = category(&input.category, refdata)
        .map_err(|e| errors.push(e))
        .ok();
    let place_code = place_code(&input.place_code, refdata, &mut errors, &mut warnings);

    match (appeal_kind, category_code) {
        (Some(appeal_kind), Some(category_code)) if errors.is_empty() => Ok(ValidVisit {
            visited_at,
            visitors,
            head_count,
            representatives,
            appeal: appeal.to_owned(),
            appeal_kind,
            category_code,
            agency: input.agency.trim().to_owned(),
            place_code,
            warnings,
        }),
        _ => Err(errors),
    }
}

fn visited_at(s: &str, now: DateTime<FixedOffset>) -> Result<DateTime<FixedOffset>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(now);
    }
    let parsed = DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        // A local time without offset is read in the desk's offset (typed or imported forms).
        [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .and_then(|t| t.and_local_timezone(*now.offset()).single())
    });
    let Some(t) = parsed else {
        return Err(FieldError::new(
            "visited_at",
            "visited_at_format",
            format!(
                "来访时间“{s}”无法识别，请写成 2025-03-01 09:30 或 2025-03-01T09:30:00+08:00 的格式。"
            ),
        ));
    };
    if t > now + Duration::minutes(FUTURE_TOLERANCE_MINUTES) {
        return Err(FieldError::new(
            "visited_at",
            "visited_at_future",
            format!(
                "来访时间 {} 晚于现在（{}），请核对日期和时间。",
                t.format("%Y-%m-%d %H:%M"),
                now.format("%Y-%m-%d %H:%M")
            ),
        ));
    }
    Ok(t)
}

fn validate_visitor(
    i: usize,
    v: &VisitorInput,
    refdata: &ReferenceData,
    today: NaiveDate,
    errors: &mut ValidationErrors,
    warnings: &mut Vec<FieldError>,
) -> Option<ValidVisitor> {
    let field = |name: &str| format!("visitors[{i}].{name}");
    let who = format!("第 {} 位来访人", i + 1);
    let before = errors.0.len();

    let name = v.name.trim();
    let name_len = name.chars().count();
    if name.is_empty() {
        errors.push(FieldError::new(
            field("name"),
            "name_empty",
            format!("请填写{who}的姓名。"),
        ));
    } else if name_len > MAX_NAME_CHARS {
        errors.push(FieldError::new(
            field("name"),
            "name_too_long",
            format!("{who}的姓名最多 {MAX_NAME_CHARS} 个字，现在是 {name_len} 个字，请核对。"),
        ));
    }

    let id_type = if v.id_type.trim().is_empty() {
        Some(IdType::ResidentId)
    } else {
        let t = parse_id_type(&v.id_type);
        if t.is_none() {
            let known: Vec<&str> = IdType::ALL.iter().map(|t| t.label_zh()).collect();
            errors.push(FieldError::new(
                field("id_type"),
                "id_type_unknown",
                format!(
                    "{who}的证件类型“{}”无法识别，请从以下类型中选择：{}。",
                    v.id_type.trim(),
                    known.join("、")
                ),
            ));
        }
        t
    };
    let doc = id_type.and_then(|t| {
        match check_document_detailed(t, &v.id_number, today, refdata.regions) {
            Ok((info, w)) => {
                warnings.extend(w.into_iter().map(|w| w.at(field("id_number"))));
                Some(info)
            }
            Err(e) => {
                errors.push(FieldError {
                    message: format!("{who}：{}", e.message),
                    ..e.at(field("id_number"))
                });
                None
            }
        }
    });

    let typed_sex = if v.sex.trim().is_empty() {
        None
    } else {
        let s = Sex::parse(&v.sex);
        if s.is_none() {
            errors.push(FieldError::new(
                field("sex"),
                "sex_invalid",
                format!("{who}的性别请填写“男”或“女”。"),
            ));
        }
        s
    };
    let id_sex = doc.as_ref().and_then(|d| d.sex);
    if let (Some(typed), Some(from_id)) = (typed_sex, id_sex)
        && typed != from_id
    {
        errors.push(FieldError::new(
            field("sex"),
            "sex_conflict",
            format!(
                "{who}的性别填写为“{}”，但身份证号码显示为“{}”，请核对性别或证件号码。",
                typed.label_zh(),
                from_id.label_zh()
            ),
        ));
    }

    let typed_birth = typed_birth_date(&v.birth_date, today, &who)
        .map_err(|e| errors.push(e.at(field("birth_date"))));
    let typed_birth = typed_birth.ok().flatten();
    let id_birth = doc.as_ref().and_then(|d| d.birth_date);
    if let (Some(typed), Some(from_id)) = (typed_birth, id_birth)
        && typed != from_id
    {
        errors.push(FieldError::new(
            field("birth_date"),
            "birth_date_conflict",
            format!("{who}的出生日期填写为 {typed}，但身份证号码显示为 {from_id}，请核对出生日期或证件号码。"),
        ));
    }

    let phone = match v.phone.trim() {
        "" => None,
        p => normalize_phone(p)
            .map_err(|e| {
                errors.push(FieldError {
                    message: format!("{who}：{}", e.message),
                    ..e.at(field("phone"))
                })
            })
            .ok(),
    };

    let doc = doc.filter(|_| errors.0.len() == before)?;
    let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Some(ValidVisitor {
        name: name.to_owned(),
        id_type: doc.id_type,
        id_number: doc.normalized,
        sex: id_sex.or(typed_sex),
        birth_date: id_birth.or(typed_birth),
        phone,
        address: optional(&v.address),
        ethnicity: optional(&v.ethnicity),
        occupation: optional(&v.occupation),
    })
}

fn typed_birth_date(s: &str, today: NaiveDate, who: &str) -> Result<Option<NaiveDate>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let date = ["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .ok_or_else(|| {
            FieldError::new(
                "birth_date",
                "birth_date_invalid",
                format!("{who}的出生日期“{s}”不是有效日期，请写成 1990-01-31 的格式。"),
            )
        })?;
    if date > today {
        return Err(FieldError::new(
            "birth_date",
            "birth_date_future",
            format!("{who}的出生日期 {date} 晚于今天，请核对。"),
        ));
    }
    Ok(Some(date))
}

/// Head count: 0 means "as many as listed"; never fewer than listed.
fn group(input: &VisitInput, listed: usize, errors: &mut ValidationErrors) -> u32 {
    let listed_u32 = u32::try_from(listed).unwrap_or(u32::MAX);
    if input.head_count == 0 {
        return listed_u32;
    }
    if input.head_count < listed_u32 {
        errors.push(FieldError::new(
            "head_count",
            "head_count_too_small",
            format!(
                "来访人数填写为 {}，但已登记 {listed} 名来访人；来访人数不能少于登记的人数，请改为 {listed} 或以上（填 0 表示按登记人数计）。",
                input.head_count
            ),
        ));
    }
    input.head_count
}

/// Representatives: none needed for one person (the visitor is their own representative);
/// a group must choose 1 to 5 of the visitors listed.
fn representatives(
    input: &VisitInput,
    listed: usize,
    head_count: u32,
    errors: &mut ValidationErrors,
) -> Vec<usize> {
    let reps = &input.representatives;
    let mut push = |code: &str, message: String| {
        errors.push(FieldError::new("representatives", code, message))
    };
    if head_count <= 1 && reps.is_empty() {
        return if listed == 1 { vec![0] } else { Vec::new() };
    }
    if reps.is_empty() {
        push(
            "representatives_required",
            format!(
                "集体来访共 {head_count} 人，需要推选代表，请在来访人中选择 1 至 {MAX_REPRESENTATIVES} 名代表。"
            ),
        );
    }
    if reps.len() > MAX_REPRESENTATIVES {
        push(
            "representatives_too_many",
            format!(
                "集体访代表最多 {MAX_REPRESENTATIVES} 人，现选了 {} 人，请减少到 {MAX_REPRESENTATIVES} 人以内。",
                reps.len()
            ),
        );
    }
    for (k, &r) in reps.iter().enumerate() {
        if r >= listed {
            push(
                "representatives_index",
                format!(
                    "所选代表“第 {} 位来访人”不在名单中（只登记了 {listed} 人），请重新选择代表。",
                    r + 1
                ),
            );
        } else if reps[..k].contains(&r) {
            push(
                "representatives_duplicate",
                format!("第 {} 位来访人被重复选为代表，请只选一次。", r + 1),
            );
        }
    }
    reps.clone()
}

fn appeal_kind(s: &str) -> Result<AppealKind, FieldError> {
    let s = s.trim();
    let choices = AppealKind::ALL.map(AppealKind::label_zh).join("、");
    if s.is_empty() {
        return Err(FieldError::new(
            "appeal_kind",
            "appeal_kind_empty",
            format!("请选择诉求类别：{choices}。"),
        ));
    }
    AppealKind::parse(s).ok_or_else(|| {
        FieldError::new(
            "appeal_kind",
            "appeal_kind_unknown",
            format!("诉求类别“{s}”无法识别，请从{choices}中选择。"),
        )
    })
}

fn category(s: &str, refdata: &ReferenceData) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(FieldError::new(
            "category",
            "category_empty",
            "请选择问题分类。",
        ));
    }
    match refdata.category(s) {
        None => Err(FieldError::new(
            "category",
            "category_unknown",
            format!(
                "问题分类“{s}”不在分类表中，请从列表中选择；分类表需要更新时请联系市局管理员。"
            ),
        )),
        Some(c) if c.retired => Err(FieldError::new(
            "category",
            "category_retired",
            format!("问题分类“{}”已停用，请从列表中选择现行的分类。", c.name),
        )),
        Some(c) => Ok(c.code.clone()),
    }
}

fn place_code(
    s: &str,
    refdata: &ReferenceData,
    errors: &mut ValidationErrors,
    warnings: &mut Vec<FieldError>,
) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new(
            "place_code",
            "place_code_format",
            format!(
                "问题发生地应为 6 位行政区划代码（如沁水县 140521），现在是“{s}”，请从列表中选择。"
            ),
        ));
        return None;
    }
    if !refdata.regions.contains(s) {
        warnings.push(FieldError::new(
            "place_code",
            "place_code_unknown",
            format!("问题发生地代码 {s} 不在行政区划代码表中，可能是旧代码；可以登记，请核对。"),
        ));
    }
    Some(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::resident_id_check_char;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2025-06-30T10:00:00+08:00").unwrap()
    }

    /// A valid resident ID of Qinshui county with the given birth date and sequence.
    fn id(birth: &str, seq: &str) -> String {
        let first17 = format!("140521{birth}{seq}");
        format!("{first17}{}", resident_id_check_char(&first17).unwrap())
    }

    fn visitor(name: &str, id_number: &str) -> VisitorInput {
        VisitorInput {
            name: name.into(),
            id_number: id_number.into(),
            ..Default::default()
        }
    }

    fn form(visitors: Vec<VisitorInput>) -> VisitInput {
        VisitInput {
            visitors,
            appeal: "拖欠工资三个月，要求支付。".into(),
            appeal_kind: "申诉求决类".into(),
            category: "劳动和社会保障".into(),
            ..Default::default()
        }
    }

    fn validate(input: &VisitInput) -> Result<ValidVisit, ValidationErrors> {
        validate_visit(input, ReferenceData::bundled(), now())
    }

    fn codes(e: &ValidationErrors) -> Vec<(&str, &str)> {
        e.0.iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect()
    }

    #[test]
    fn single_visitor() {
        let mut input = form(vec![visitor(" 张三 ", &id("19800115", "013"))]);
        input.visitors[0].phone = "138 1234 5678".into();
        input.place_code = "140521".into();
        let v = validate(&input).unwrap();
        assert_eq!(v.visited_at, now());
        assert_eq!(v.head_count, 1);
        assert_eq!(v.representatives, [0]);
        assert_eq!(v.appeal_kind, AppealKind::Claim);
        assert_eq!(v.category_code, "labour_social_security");
        let p = &v.visitors[0];
        assert_eq!(p.name, "张三");
        assert_eq!(p.sex, Some(Sex::Male));
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1980, 1, 15));
        assert_eq!(p.phone.as_deref(), Some("13812345678"));
        assert_eq!(p.address, None);
        assert!(v.warnings.is_empty());
    }

    #[test]
    fn all_errors_at_once() {
        let mut bad = visitor("", "140521198001150131");
        bad.phone = "12345".into();
        let input = VisitInput {
            visited_at: "2025-07-01T10:00:00+08:00".into(),
            visitors: vec![bad, visitor("李四", "")],
            head_count: 1,
            representatives: vec![0, 0, 9],
            place_code: "14052".into(),
            ..Default::default()
        };
        let e = validate(&input).unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("visited_at", "visited_at_future"),
                ("visitors[0].name", "name_empty"),
                ("visitors[0].id_number", "id_check_digit"),
                ("visitors[0].phone", "phone_mobile_length"),
                ("visitors[1].id_number", "id_empty"),
                ("head_count", "head_count_too_small"),
                ("representatives", "representatives_duplicate"),
                ("representatives", "representatives_index"),
                ("appeal", "appeal_empty"),
                ("appeal_kind", "appeal_kind_empty"),
                ("category", "category_empty"),
                ("place_code", "place_code_format"),
            ]
        );
        assert!(
            e.0[2]
                .message
                .starts_with("第 1 位来访人：身份证号码校验位不正确"),
            "{}",
            e.0[2].message
        );
    }

    #[test]
    fn no_visitors() {
        let e = validate(&form(vec![])).unwrap_err();
        assert_eq!(codes(&e), [("visitors", "visitors_empty")]);
    }

    #[test]
    fn rare_characters_count_as_one() {
        // U+20BB7 𠮷 is outside the BMP: 4 bytes in UTF-8, one character.
        let name = "𠮷".repeat(MAX_NAME_CHARS);
        assert!(validate(&form(vec![visitor(&name, &id("19800115", "013"))])).is_ok());
        let e = validate(&form(vec![visitor(
            &format!("{name}𠮷"),
            &id("19800115", "013"),
        )]))
        .unwrap_err();
        assert_eq!(codes(&e), [("visitors[0].name", "name_too_long")]);
    }

    fn group_of(n: usize) -> VisitInput {
        let visitors = (0..n)
            .map(|i| {
                visitor(
                    &format!("来访人{i}"),
                    &id("19800115", &format!("{:03}", i + 100)),
                )
            })
            .collect();
        VisitInput {
            head_count: 30,
            ..form(visitors)
        }
    }

    #[test]
    fn five_representatives_accepted_six_refused() {
        let mut input = group_of(8);
        input.representatives = vec![0, 1, 2, 3, 4];
        let v = validate(&input).unwrap();
        assert_eq!(v.representatives, [0, 1, 2, 3, 4]);
        assert_eq!(v.head_count, 30);

        input.representatives = vec![0, 1, 2, 3, 4, 5];
        let e = validate(&input).unwrap_err();
        assert_eq!(codes(&e), [("representatives", "representatives_too_many")]);
        assert_eq!(
            e.0[0].message,
            "集体访代表最多 5 人，现选了 6 人，请减少到 5 人以内。"
        );
    }

    #[test]
    fn group_needs_representatives() {
        let mut input = group_of(3);
        input.head_count = 0;
        let e = validate(&input).unwrap_err();
        assert_eq!(codes(&e), [("representatives", "representatives_required")]);
        input.representatives = vec![2];
        assert_eq!(validate(&input).unwrap().head_count, 3);
    }

    #[test]
    fn same_person_twice() {
        let n = id("19800115", "013");
        let old15 = format!("140521{}", &n[8..17]);
        let e = validate(&VisitInput {
            representatives: vec![0],
            ..form(vec![visitor("甲", &n), visitor("乙", &old15)])
        })
        .unwrap_err();
        assert_eq!(codes(&e), [("visitors[1].id_number", "id_duplicate")]);
        assert_eq!(
            e.0[0].message,
            "第 2 位来访人的证件号码与第 1 位相同，同一人请只登记一次。"
        );
    }

    #[test]
    fn typed_sex_and_birth_date_checked_against_id() {
        let mut v = visitor("王五", &id("19800115", "013"));
        v.sex = "女".into();
        v.birth_date = "1980-01-16".into();
        let e = validate(&form(vec![v.clone()])).unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("visitors[0].sex", "sex_conflict"),
                ("visitors[0].birth_date", "birth_date_conflict")
            ]
        );
        assert!(
            e.0[0].message.contains("身份证号码显示为“男”"),
            "{}",
            e.0[0].message
        );
        assert!(e.0[1].message.contains("1980-01-15"), "{}", e.0[1].message);

        v.sex = "male".into();
        v.birth_date = "1980-01-15".into();
        assert!(validate(&form(vec![v])).is_ok());
    }

    #[test]
    fn other_documents_keep_typed_sex() {
        let mut v = visitor("John Smith", "e1234567");
        v.id_type = "护照".into();
        v.sex = "男".into();
        v.birth_date = "1970/05/01".into();
        let valid = validate(&form(vec![v])).unwrap();
        let p = &valid.visitors[0];
        assert_eq!(
            (p.id_type, p.id_number.as_str(), p.sex),
            (IdType::Passport, "E1234567", Some(Sex::Male))
        );
        assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1970, 5, 1));

        let mut v = visitor("某", "123");
        v.id_type = "驾驶证".into();
        let e = validate(&form(vec![v])).unwrap_err();
        assert_eq!(codes(&e), [("visitors[0].id_type", "id_type_unknown")]);
    }

    #[test]
    fn warnings_do_not_block() {
        let first17 = "99990119800115013";
        let n = format!("{first17}{}", resident_id_check_char(first17).unwrap());
        let mut input = form(vec![visitor("赵六", &n)]);
        input.place_code = "140599".into();
        let v = validate(&input).unwrap();
        let w: Vec<(&str, &str)> = v
            .warnings
            .iter()
            .map(|w| (w.field.as_str(), w.code.as_str()))
            .collect();
        assert_eq!(
            w,
            [
                ("visitors[0].id_number", "id_region_unknown"),
                ("place_code", "place_code_unknown")
            ]
        );
    }

    #[test]
    fn visit_time() {
        let mut input = form(vec![visitor("张三", &id("19800115", "013"))]);
        input.visited_at = "2025-06-30 09:30".into();
        assert_eq!(
            validate(&input).unwrap().visited_at.to_rfc3339(),
            "2025-06-30T09:30:00+08:00"
        );
        input.visited_at = "2025-06-30T10:04:00+08:00".into();
        assert!(
            validate(&input).is_ok(),
            "a few minutes of clock drift are allowed"
        );
        input.visited_at = "昨天".into();
        assert_eq!(
            codes(&validate(&input).unwrap_err()),
            [("visited_at", "visited_at_format")]
        );
    }

    #[test]
    fn appeal_kind_and_category_by_code_or_name() {
        let mut input = form(vec![visitor("张三", &id("19800115", "013"))]);
        input.appeal_kind = "report".into();
        input.category = "urban_construction".into();
        let v = validate(&input).unwrap();
        assert!(v.appeal_kind.is_confidential());
        assert_eq!(v.category_code, "urban_construction");
        input.appeal_kind = "投诉".into();
        input.category = "房产".into();
        let e = validate(&input).unwrap_err();
        assert_eq!(
            codes(&e),
            [
                ("appeal_kind", "appeal_kind_unknown"),
                ("category", "category_unknown")
            ]
        );
    }
}

/// A supervisor's own value for a person's field in a sync conflict (`xinfang conflict resolve
/// --value`): the rules of registration for that field. Errors are reported at `value`.
pub fn check_corrected_value(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(
            "value",
            "value_empty",
            "请填写要保留的内容，或用 --choose 选择列出的一项。",
        ));
    }
    match field {
        "phone" => crate::phone::normalize_phone(v).map_err(|e| e.at("value")),
        "name" if v.chars().count() > MAX_NAME_CHARS => Err(FieldError::new(
            "value",
            "name_too_long",
            format!("姓名最多 {MAX_NAME_CHARS} 个字，请核对。"),
        )),
        _ if v.chars().count() > 200 => Err(FieldError::new(
            "value",
            "value_too_long",
            "内容过长（最多 200 个字），请精简后再提交。",
        )),
        _ => Ok(v.to_owned()),
    }
}

#[cfg(test)]
mod corrected_value_tests {
    use super::check_corrected_value;

    #[test]
    fn a_corrected_value_follows_the_fields_rules() {
        assert_eq!(
            check_corrected_value("phone", " 138-0000-0001 ").unwrap(),
            "13800000001"
        );
        assert_eq!(
            check_corrected_value("phone", "电话").unwrap_err().field,
            "value"
        );
        assert_eq!(
            check_corrected_value("address", "  ").unwrap_err().code,
            "value_empty"
        );
        assert_eq!(
            check_corrected_value("address", "县城关镇解放路1号、2号").unwrap(),
            "县城关镇解放路1号、2号"
        );
        assert!(check_corrected_value("name", &"名".repeat(200)).is_err());
    }
}
