//! A hall's code: the 6-digit 行政区划代码 (GB/T 2260) of its county, e.g. 沁水县 140521.
//! Every place that takes a hall code (first run, `xinfang init`, statistics filters, the city
//! server's enrolment and `hall add`) checks its shape here, with one message.

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::regions::Regions;

/// A hall code of the right shape: 6 ASCII digits. Whether the region exists is a question
/// for the region table ([`crate::desk::check_hall_code`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct HallCode(String);

impl HallCode {
    /// The code in `text` (spaces around it ignored), or a `hall_code` field error.
    pub fn parse(text: &str) -> Result<HallCode, FieldError> {
        let code = text.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(HallCode(code.to_owned()))
        } else {
            Err(FieldError::new(
                "hall_code",
                "hall_code_shape",
                format!(
                    "大厅代码“{code}”不对：应为 6 位数字的行政区划代码（GB/T 2260），例如沁水县 140521。"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for HallCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for HallCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The level of a region code: 省 (`xx0000`), 市 (`xxxx00`), 县 (the rest).
fn level(code: &str) -> u8 {
    if code.ends_with("0000") {
        0
    } else if code.ends_with("00") {
        1
    } else {
        2
    }
}

/// Whether `place` lies inside the area of `hall`.
fn within(hall: &str, place: &str) -> bool {
    let prefix = match level(hall) {
        0 => 2,
        1 => 4,
        _ => 6,
    };
    hall.get(..prefix) == place.get(..prefix)
}

/// Whether `code` is a place below the hall `hall` (inside its area, at a lower level).
fn below(hall: &str, code: &str) -> bool {
    code.len() == 6 && within(hall, code) && level(code) > level(hall)
}

/// Why a visit is 越级访.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SkipLevelBasis {
    /// The problem arose in a place below the hall (问题发生地).
    Place,
    /// The same matter is being handled by an authority below the hall (重复访).
    Handling,
}

/// 越级访 decided for one visit: whether it is flagged, the 属地 the visitor is guided to, and
/// the remark for the clerk. Stored with the visit, counted in the statistics, and the facts of
/// the 越级走访告知书.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SkipLevel {
    pub flagged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub basis: Option<SkipLevelBasis>,
    /// 属地: the region code of the place the visitor is guided to, e.g. `140521`; empty when
    /// not flagged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<String>", optional))]
    pub local_code: String,
    /// Its name, e.g. `沁水县`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<String>", optional))]
    pub local_name: String,
    /// The 属地 authority named to the visitor: the one handling the matter, else the place's
    /// 信访局, e.g. `沁水县信访局`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<String>", optional))]
    pub authority: String,
    /// The remark for the clerk (Chinese); empty when not flagged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<String>", optional))]
    pub message: String,
}

impl SkipLevel {
    /// Not 越级.
    pub fn none() -> SkipLevel {
        SkipLevel::default()
    }

    /// The remark as the registration form shows it, at its field: `place_code` for a place
    /// below the hall, `matter_id` for a matter handled below it.
    pub fn warning(&self) -> Option<FieldError> {
        let field = match self.basis? {
            SkipLevelBasis::Place => "place_code",
            SkipLevelBasis::Handling => "matter_id",
        };
        self.flagged
            .then(|| FieldError::new(field, SKIP_LEVEL, self.message.clone()))
    }
}

/// Code of the 越级访 remark.
pub const SKIP_LEVEL: &str = "skip_level";

/// Where the matter a repeat visit joins is being handled: the region code of the authority
/// handling it and that authority's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handling {
    pub code: String,
    pub authority: String,
}

fn name_of(code: &str, regions: &Regions) -> String {
    regions
        .short_name(code)
        .filter(|n| !matches!(*n, "市辖区" | "县"))
        .map_or_else(|| code.to_owned(), str::to_owned)
}

/// 越级访 (《信访工作条例》第二十二条: a visit goes to the authority with power to handle it, 属地,
/// 逐级): a visit to the hall of `hall_code`
/// - about a matter being handled by an authority below the hall (`handled`, a repeat visit
///   while it is handled): flagged, the 属地 is that authority's place, whatever `place_code`
///   says; a matter handled at the hall's level or above is not 越级;
/// - else about a problem that arose in a place below the hall (`place_code`, e.g. the 晋城市
///   hall about 沁水县): flagged, the 属地 is that place and its 信访局.
///
/// A place outside the hall's area, or at its level, is not 越级. The visit is registered all
/// the same.
pub fn skip_level(
    hall_code: &str,
    place_code: Option<&str>,
    handled: Option<&Handling>,
    regions: &Regions,
) -> SkipLevel {
    let hall = name_of(hall_code, regions);
    if let Some(h) = handled {
        if !below(hall_code, &h.code) {
            return SkipLevel::none();
        }
        let local = name_of(&h.code, regions);
        let authority = if h.authority.trim().is_empty() {
            crate::notice::hall_names(&h.code, regions).0
        } else {
            h.authority.trim().to_owned()
        };
        let message = format!(
            "越级访：该事项正由{authority}（{local}）办理，信访人在办理期间越过{local}到{hall}走访同一事项。\
             本次来访已登记；请告知信访人依照《信访工作条例》逐级走访，事项正在办理的，向办理机关的上级机关\
             再次提出同一事项不予受理，请向{authority}了解办理进度、等待书面答复。"
        );
        return SkipLevel {
            flagged: true,
            basis: Some(SkipLevelBasis::Handling),
            local_code: h.code.clone(),
            local_name: local,
            authority,
            message,
        };
    }
    let Some(place) = place_code.map(str::trim).filter(|p| below(hall_code, p)) else {
        return SkipLevel::none();
    };
    let local = name_of(place, regions);
    let authority = crate::notice::hall_names(place, regions).0;
    SkipLevel {
        flagged: true,
        basis: Some(SkipLevelBasis::Place),
        local_code: place.to_owned(),
        message: format!(
            "越级访：问题发生在{local}，信访人越过{local}直接到{hall}走访。本次来访已登记；\
             请告知信访人依照《信访工作条例》逐级走访，向{local}有权处理的机关、单位或者{local}信访接待场所（{authority}）提出。"
        ),
        local_name: local,
        authority,
    }
}

/// The 越级访 remark of a visit about `place_code` at the hall of `hall_code` ([`skip_level`]
/// without a matter being handled), or `None`.
pub fn skip_level_warning(
    hall_code: &str,
    place_code: &str,
    regions: &Regions,
) -> Option<FieldError> {
    skip_level(hall_code, Some(place_code), None, regions).warning()
}

/// The place of an authority named in words (e.g. `沁水县人力资源和社会保障局` → 140521), among the
/// hall's own area at its level or below: the unit whose name (short, or with its city or
/// province before it) the authority's name begins with. `None` when no unit or more than one
/// fits (`县人社局`, or `城区…` at a province hall).
pub fn authority_place(authority: &str, hall_code: &str, regions: &Regions) -> Option<String> {
    let name = authority.trim();
    let mut best: Option<(usize, Vec<String>)> = None;
    for code in regions.codes().filter(|c| within(hall_code, c)) {
        let short = name_of(code, regions);
        let mut candidates = vec![short.clone()];
        if let Some(full) = regions.name(code) {
            candidates.push(full.clone());
            let province = regions
                .short_name(&format!("{}0000", &code[..2]))
                .unwrap_or_default();
            if let Some(rest) = full.strip_prefix(province).filter(|r| !r.is_empty()) {
                candidates.push(rest.to_owned());
            }
        }
        let Some(len) = candidates
            .iter()
            .filter(|c| !c.is_empty() && name.starts_with(c.as_str()))
            .map(|c| c.chars().count())
            .max()
        else {
            continue;
        };
        // The deepest unit named wins (沁水县 over 晋城市 in 晋城市沁水县…).
        let rank = usize::from(level(code)) * 1000 + len;
        match &mut best {
            Some((r, codes)) if *r == rank => codes.push(code.to_owned()),
            Some((r, _)) if *r > rank => {}
            _ => best = Some((rank, vec![code.to_owned()])),
        }
    }
    match best {
        Some((_, codes)) if codes.len() == 1 => codes.into_iter().next(),
        _ => None,
    }
}

/// Where the matter of `state` is being handled, for a repeat visit to the hall of
/// `hall_code`: only while it is handled (不再受理 while handling, [`crate::matter::RepeatStage`]);
/// the review body during 复查/复核, else the authority it was forwarded or assigned to (unless it
/// objected), else the hall itself. `None` when it is not being handled, or the authority's
/// place cannot be told from its name.
pub fn handling_of(
    state: &crate::matter::MatterState,
    hall_code: &str,
    regions: &Regions,
) -> Option<Handling> {
    use crate::matter::{MatterStatus, RepeatStage, repeat_stage};
    if repeat_stage(state.status) != RepeatStage::Handling {
        return None;
    }
    let review_body = match state.status {
        MatterStatus::UnderReview => state.review.as_ref().map(|r| r.body.clone()),
        MatterStatus::UnderReReview => state.re_review.as_ref().map(|r| r.body.clone()),
        _ => None,
    };
    let authority = review_body.or_else(|| {
        state
            .transfer
            .as_ref()
            .filter(|t| t.objection.is_none())
            .map(|t| t.to_authority.clone())
    });
    match authority {
        None => Some(Handling {
            code: hall_code.to_owned(),
            authority: crate::notice::hall_names(hall_code, regions).0,
        }),
        Some(a) => {
            authority_place(&a, hall_code, regions).map(|code| Handling { code, authority: a })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions::Regions;

    #[test]
    fn six_digits_and_nothing_else() {
        assert_eq!(HallCode::parse(" 140521 ").unwrap().as_str(), "140521");
        for bad in ["", "1405", "1405211", "14052a", "１４０５２１", "140 21"] {
            let e = HallCode::parse(bad).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code.as_str()),
                ("hall_code", "hall_code_shape")
            );
            assert!(e.message.contains("6 位数字"), "{}", e.message);
        }
    }

    #[test]
    fn a_county_matter_at_the_city_hall_is_a_skip_level_visit() {
        let r = Regions::bundled();
        let w = skip_level_warning("140500", "140521", r).expect("city hall, county place");
        assert_eq!(
            (w.field.as_str(), w.code.as_str()),
            ("place_code", "skip_level")
        );
        assert!(
            w.message.contains("沁水县") && w.message.contains("晋城市"),
            "{}",
            w.message
        );
        // The province's hall about a county, too.
        assert!(skip_level_warning("140000", "140521", r).is_some());
        // The county's own hall, a place in another city, or the city's own level: no warning.
        assert!(skip_level_warning("140521", "140521", r).is_none());
        assert!(skip_level_warning("140500", "140100", r).is_none());
        assert!(skip_level_warning("140500", "140105", r).is_none());
        assert!(skip_level_warning("140500", "140500", r).is_none());
    }

    /// Where a matter is handled, for a repeat visit to the 晋城市 hall: the county it was
    /// assigned to while it is handled; the hall itself once that county objected, or when it
    /// handles the matter itself; nowhere once it is concluded (the visitor may then ask for a
    /// review).
    #[test]
    fn a_matter_is_handled_where_it_was_assigned_until_objected_or_concluded() {
        use crate::calendar::HolidayCalendar;
        use crate::matter::{MatterEvent, MatterState};
        let r = Regions::bundled();
        let cal = HolidayCalendar::bundled();
        let d = |s: &str| s.parse().unwrap();
        let replay =
            |events: &[MatterEvent]| MatterState::replay(d("2026-03-02"), events, &cal).unwrap();
        let assign = MatterEvent::Assign {
            at: d("2026-03-03"),
            to_authority: "沁水县人力资源和社会保障局".into(),
            report_back_by: d("2026-04-30"),
        };
        let h = handling_of(&replay(std::slice::from_ref(&assign)), "140500", r).unwrap();
        assert_eq!(
            (h.code.as_str(), h.authority.as_str()),
            ("140521", "沁水县人力资源和社会保障局")
        );
        let objected = replay(&[
            assign.clone(),
            MatterEvent::ReceiveTransfer {
                at: d("2026-03-04"),
            },
            MatterEvent::ObjectTransfer {
                at: d("2026-03-05"),
                reason: "不属于本机关职权范围".into(),
            },
        ]);
        // Objected: back with the hall until it transfers again.
        let h = handling_of(&objected, "140500", r).unwrap();
        assert_eq!(h.code, "140500", "{h:?}");
        let own = replay(&[MatterEvent::Accept {
            at: d("2026-03-03"),
            notice_no: None,
        }]);
        let h = handling_of(&own, "140500", r).unwrap();
        assert_eq!(
            (h.code.as_str(), h.authority.as_str()),
            ("140500", "晋城市信访局")
        );
        assert!(!skip_level("140500", Some("140521"), Some(&h), r).flagged);
        let concluded = replay(&[
            MatterEvent::Accept {
                at: d("2026-03-03"),
                notice_no: None,
            },
            MatterEvent::Conclude {
                at: d("2026-03-20"),
                opinion_summary: "已答复".into(),
                details: Default::default(),
            },
        ]);
        assert_eq!(handling_of(&concluded, "140500", r), None);
    }
}
