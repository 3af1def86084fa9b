//! Queue numbers (排队号) and the call screen's rooms (issue 17).
//!
//! A hall's numbers are issued by its server (the hub, or the city): plain numbers, `17`, unique
//! per (hall, day). A desk that cannot reach its server issues its own, with its letter in
//! front, `B017`, so two desks cut off at once never hand out the same label. A label is what
//! every screen, slip and call shows; the integer `queue_no` of a visit stays the desk's local
//! order of the day.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Longest label: a letter and up to five digits.
pub const MAX_LABEL_CHARS: usize = 6;

/// Where a number is called to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Room {
    /// 登记窗口
    Registration,
    /// 律师咨询室
    Lawyer,
    /// 人民调解室
    Mediator,
}

impl Room {
    pub const ALL: [Room; 3] = [Room::Registration, Room::Lawyer, Room::Mediator];

    pub fn code(self) -> &'static str {
        match self {
            Room::Registration => "registration",
            Room::Lawyer => "lawyer",
            Room::Mediator => "mediator",
        }
    }

    /// The room's name on the call screen and in the spoken call.
    pub fn label_zh(self) -> &'static str {
        match self {
            Room::Registration => "登记窗口",
            Room::Lawyer => "律师咨询室",
            Room::Mediator => "人民调解室",
        }
    }

    pub fn parse(s: &str) -> Option<Room> {
        Self::ALL.into_iter().find(|r| r.code() == s.trim())
    }

    /// The room of a hand-off desk.
    pub fn of_desk(d: crate::desk::Desk) -> Room {
        match d {
            crate::desk::Desk::Lawyer => Room::Lawyer,
            crate::desk::Desk::Mediator => Room::Mediator,
        }
    }
}

/// The label of a number the hall's server issued: the number itself.
pub fn hall_label(n: i64) -> String {
    n.to_string()
}

/// The label of a number a desk issued on its own: its letter and three digits at least.
pub fn local_label(letter: char, n: i64) -> String {
    format!("{letter}{n:03}")
}

/// The letters desks number with on their own: `B` to `Z` (`A` is left out so it is never
/// read as a hall number's prefix by habit). The server gives each desk of a hall its own.
pub fn desk_letters() -> impl Iterator<Item = char> {
    'B'..='Z'
}

/// Whether `s` is one of [`desk_letters`].
pub fn is_desk_letter(s: &str) -> bool {
    let mut chars = s.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if desk_letters().any(|l| l == c))
}

/// The letter of a desk no server has given one yet (never enrolled, or enrolled with a
/// server that predates letters): `B` to `Z` from the device id.
pub fn desk_letter(device_id: &str) -> char {
    let h = device_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    char::from(b'B' + u8::try_from(h % 25).unwrap_or(0))
}

/// Checks a label to be called: digits (a hall number) or a capital letter and digits (a desk's
/// own number).
pub fn check_label(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim().to_ascii_uppercase();
    let mut chars = s.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_digit() => chars.all(|c| c.is_ascii_digit()),
        Some(c) if c.is_ascii_uppercase() => {
            let rest: Vec<char> = chars.collect();
            !rest.is_empty() && rest.iter().all(char::is_ascii_digit)
        }
        _ => false,
    };
    if !ok || s.chars().count() > MAX_LABEL_CHARS {
        return Err(FieldError::new(
            "queue_label",
            "queue_label_invalid",
            format!(
                "排队号“{}”无效：应为数字（如 17）或一个字母加数字（如 B017）。",
                short(raw)
            ),
        ));
    }
    Ok(s)
}

fn short(s: &str) -> String {
    s.chars().take(12).collect()
}

/// What the waiting room hears: "请 17 号到律师咨询室".
pub fn call_text(label: &str, room: Room) -> String {
    format!("请 {label} 号到{}", room.label_zh())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(hall_label(17), "17");
        assert_eq!(local_label('B', 17), "B017");
        assert_eq!(local_label('C', 1234), "C1234");
        assert_eq!(call_text("17", Room::Lawyer), "请 17 号到律师咨询室");
    }

    #[test]
    fn checked_labels() {
        assert_eq!(check_label(" 17 ").unwrap(), "17");
        assert_eq!(check_label("b017").unwrap(), "B017");
        for bad in ["", "B", "17B", "张三", "1234567", "B01 7", "<b>"] {
            assert!(check_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_desk_letter_is_stable_and_never_a() {
        for id in ["dev-a", "dev-b", "0a1b2c3d4e5f", ""] {
            let l = desk_letter(id);
            assert_eq!(l, desk_letter(id));
            assert!(('B'..='Z').contains(&l));
        }
        assert_eq!(Room::parse("lawyer"), Some(Room::Lawyer));
        assert_eq!(Room::parse("x"), None);
    }

    #[test]
    fn desk_letters_are_b_to_z() {
        assert_eq!(desk_letters().count(), 25);
        for ok in ["B", "C", "Z"] {
            assert!(is_desk_letter(ok), "{ok}");
        }
        for bad in ["A", "b", "BC", "", "1", "Ｂ"] {
            assert!(!is_desk_letter(bad), "{bad}");
        }
    }
}
