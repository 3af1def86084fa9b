//! The frames of the 二代证 reader's SAM (GA 467), as pure functions.
//!
//! Request:  `AA AA AA 96 69` · length (2 bytes, big-endian) · CMD · PARA · data · checksum.
//! Response: `AA AA AA 96 69` · length · SW1 · SW2 · SW3 · data · checksum.
//! The length counts every byte after itself, checksum included; the checksum is the XOR of
//! the length bytes and everything up to the checksum. SW3 is the reader's own status.

use std::ops::Range;

use crate::ReadError;
use crate::card::{CardRead, CardText, TEXT_LEN};

pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];

/// Longest frame accepted: a base-information read with fingerprints is about 2.3 KB.
pub const MAX_FRAME: usize = 4096;

/// A command and its parameter byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command(pub u8, pub u8);

impl Command {
    pub const FIND_CARD: Command = Command(0x20, 0x01);
    pub const SELECT_CARD: Command = Command(0x20, 0x02);
    pub const READ_BASE: Command = Command(0x30, 0x01);
}

/// SW3 of success.
pub const SW_OK: [u8; 3] = [0x00, 0x00, 0x90];
/// SW3 of a card found by `FIND_CARD`.
pub const SW_FOUND: [u8; 3] = [0x00, 0x00, 0x9F];
pub const SW_NO_CARD: [u8; 3] = [0x00, 0x00, 0x80];
pub const SW_SELECT_FAILED: [u8; 3] = [0x00, 0x00, 0x81];
/// Reading failed: the card left the field during the read.
pub const SW_READ_FAILED: [u8; 3] = [0x00, 0x00, 0x41];
pub const SW_BAD_CHECKSUM: [u8; 3] = [0x00, 0x00, 0x10];
pub const SW_BAD_LENGTH: [u8; 3] = [0x00, 0x00, 0x11];
pub const SW_BAD_COMMAND: [u8; 3] = [0x00, 0x00, 0x21];

pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len() + 1).expect("frames are short");
    let mut out = Vec::with_capacity(PREAMBLE.len() + 3 + body.len());
    out.extend_from_slice(&PREAMBLE);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out.push(checksum(&out[PREAMBLE.len()..]));
    out
}

pub fn encode_request(cmd: Command, data: &[u8]) -> Vec<u8> {
    frame(&[&[cmd.0, cmd.1], data].concat())
}

pub fn encode_response(sw: [u8; 3], data: &[u8]) -> Vec<u8> {
    frame(&[&sw[..], data].concat())
}

/// Where the next frame is in a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// Not enough bytes yet.
    NeedMore,
    /// Drop this many bytes: noise before a preamble.
    Skip(usize),
    /// A whole frame (not yet checked) at this range.
    Frame(Range<usize>),
}

/// Finds the next frame in `buf`. A length that no frame has is an error: the stream is not
/// the reader's, or the baud rate is wrong.
pub fn scan(buf: &[u8]) -> Result<Scan, ReadError> {
    let Some(start) = buf.windows(PREAMBLE.len()).position(|w| w == PREAMBLE) else {
        // Keep a tail that may be the start of a preamble.
        let keep = (1..PREAMBLE.len())
            .rev()
            .find(|&n| n <= buf.len() && buf.ends_with(&PREAMBLE[..n]))
            .unwrap_or(0);
        let skip = buf.len() - keep;
        return Ok(if skip == 0 {
            Scan::NeedMore
        } else {
            Scan::Skip(skip)
        });
    };
    if start > 0 {
        return Ok(Scan::Skip(start));
    }
    let head = PREAMBLE.len() + 2;
    if buf.len() < head {
        return Ok(Scan::NeedMore);
    }
    let len = usize::from(u16::from_be_bytes([buf[5], buf[6]]));
    // Shortest body: a request's CMD, PARA and checksum.
    if !(3..=MAX_FRAME).contains(&len) {
        return Err(ReadError::Garbled);
    }
    if buf.len() < head + len {
        return Ok(Scan::NeedMore);
    }
    Ok(Scan::Frame(0..head + len))
}

/// The body of one frame (between length and checksum), its length and checksum checked.
fn body(frame: &[u8], min_body: usize) -> Result<&[u8], ReadError> {
    let head = PREAMBLE.len() + 2;
    if frame.len() < PREAMBLE.len() {
        return Err(ReadError::ShortFrame);
    }
    if frame[..PREAMBLE.len()] != PREAMBLE {
        return Err(ReadError::Garbled);
    }
    if frame.len() < head {
        return Err(ReadError::ShortFrame);
    }
    let len = usize::from(u16::from_be_bytes([frame[5], frame[6]]));
    if len < min_body + 1 {
        return Err(ReadError::Garbled);
    }
    match frame.len().cmp(&(head + len)) {
        std::cmp::Ordering::Less => return Err(ReadError::ShortFrame),
        std::cmp::Ordering::Greater => return Err(ReadError::Garbled),
        std::cmp::Ordering::Equal => {}
    }
    let (covered, found) = frame[PREAMBLE.len()..].split_at(len + 1);
    let expected = checksum(covered);
    if expected != found[0] {
        return Err(ReadError::Checksum {
            expected,
            found: found[0],
        });
    }
    Ok(&covered[2..])
}

/// A response: the three status bytes and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub sw: [u8; 3],
    pub data: Vec<u8>,
}

pub fn decode_response(frame: &[u8]) -> Result<Response, ReadError> {
    let b = body(frame, 3)?;
    Ok(Response {
        sw: [b[0], b[1], b[2]],
        data: b[3..].to_vec(),
    })
}

/// A request, as the simulated reader receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub cmd: Command,
    pub data: Vec<u8>,
}

pub fn decode_request(frame: &[u8]) -> Result<Request, ReadError> {
    let b = body(frame, 2)?;
    Ok(Request {
        cmd: Command(b[0], b[1]),
        data: b[2..].to_vec(),
    })
}

/// What SW3 means for the command that got it: `Ok` to go on, else the reader's refusal.
pub fn check_status(sw: [u8; 3]) -> Result<(), ReadError> {
    let code = sw[2];
    match code {
        0x90 | 0x9F => Ok(()),
        0x80 => Err(ReadError::NoCard),
        0x81 => Err(ReadError::SelectFailed),
        0x41 => Err(ReadError::CardRemoved),
        _ => Err(match status_message(code) {
            Some(message) => ReadError::Reader { code, message },
            None => ReadError::UnknownStatus(code),
        }),
    }
}

/// The reader's other statuses, in the clerk's words.
fn status_message(code: u8) -> Option<&'static str> {
    Some(match code {
        0x10 => "收到的命令校验和错误（线路干扰），请重新读卡",
        0x11 => "收到的命令长度错误（线路干扰），请重新读卡",
        0x21 => "不认识收到的命令，请确认所选端口接的是身份证读卡器",
        0x23 => "拒绝了越权操作，请确认所选端口接的是身份证读卡器",
        0x24 => "发生无法识别的错误，请重新读卡；反复出现请重新插拔读卡器",
        0x31 => "身份证对读卡器的认证未通过，请重新放卡；反复出现请联系读卡器厂家",
        0x32 => "读卡器对身份证的认证未通过，证件可能损坏或不是居民身份证",
        0x33 => "证件信息验证错误，证件可能损坏，请重新放卡",
        0x40 => "无法识别的卡，请放置居民身份证",
        0x47 => "取随机数失败，请重新读卡",
        0x60 => "自检失败，不能工作，请重新插拔读卡器",
        0x66 => "安全模块未经授权，无法使用，请联系读卡器厂家",
        0x91 => "证件中此项无内容",
        _ => return None,
    })
}

/// The data of a base-information read: text length and photo length (2 bytes each,
/// big-endian), the text block, then the photo (vendor-encoded, not decoded here).
pub fn decode_base_info(data: &[u8]) -> Result<CardRead, ReadError> {
    if data.len() < 4 {
        return Err(ReadError::ShortFrame);
    }
    let text_len = usize::from(u16::from_be_bytes([data[0], data[1]]));
    let photo_len = usize::from(u16::from_be_bytes([data[2], data[3]]));
    if text_len < TEXT_LEN || text_len % 2 != 0 {
        return Err(ReadError::Garbled);
    }
    if data.len() < 4 + text_len + photo_len {
        return Err(ReadError::ShortFrame);
    }
    CardText::decode(&data[4..4 + text_len])?.interpret()
}

/// The data a reader sends for `card`, with a blank photo of `photo_len` bytes.
pub fn encode_base_info(card: &CardText, photo_len: u16) -> Result<Vec<u8>, String> {
    let text = card.encode()?;
    let text_len = u16::try_from(text.len()).expect("256 bytes");
    let mut out = Vec::with_capacity(4 + text.len() + usize::from(photo_len));
    out.extend_from_slice(&text_len.to_be_bytes());
    out.extend_from_slice(&photo_len.to_be_bytes());
    out.extend_from_slice(&text);
    out.resize(out.len() + usize::from(photo_len), 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::ValidTo;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn request_frames_as_the_protocol_lists_them() {
        let cases = [
            (Command::FIND_CARD, "AA AA AA 96 69 00 03 20 01 22"),
            (Command::SELECT_CARD, "AA AA AA 96 69 00 03 20 02 21"),
            (Command::READ_BASE, "AA AA AA 96 69 00 03 30 01 32"),
            (Command(0x11, 0xFF), "AA AA AA 96 69 00 03 11 FF ED"),
        ];
        for (cmd, bytes) in cases {
            assert_eq!(encode_request(cmd, &[]), hex(bytes), "{cmd:?}");
            let back = decode_request(&hex(bytes)).unwrap();
            assert_eq!(back.cmd, cmd);
            assert!(back.data.is_empty());
        }
    }

    /// (frame, its status as a result) for whole response frames.
    #[test]
    fn response_frames() {
        let ok = |sw: [u8; 3], data: &[u8]| {
            Ok::<_, ReadError>(Response {
                sw,
                data: data.into(),
            })
        };
        type Case = (
            &'static str,
            Result<Response, ReadError>,
            Result<(), ReadError>,
        );
        let cases: Vec<Case> = vec![
            (
                "AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97",
                ok(SW_FOUND, &[0, 0, 0, 0]),
                Ok(()),
            ),
            (
                "AA AA AA 96 69 00 0C 00 00 90 00 00 00 00 00 00 00 00 9C",
                ok(SW_OK, &[0; 8]),
                Ok(()),
            ),
            (
                "AA AA AA 96 69 00 04 00 00 80 84",
                ok(SW_NO_CARD, &[]),
                Err(ReadError::NoCard),
            ),
            (
                "AA AA AA 96 69 00 04 00 00 81 85",
                ok(SW_SELECT_FAILED, &[]),
                Err(ReadError::SelectFailed),
            ),
            // A card taken away during the read.
            (
                "AA AA AA 96 69 00 04 00 00 41 45",
                ok(SW_READ_FAILED, &[]),
                Err(ReadError::CardRemoved),
            ),
            (
                "AA AA AA 96 69 00 04 00 00 32 36",
                ok([0, 0, 0x32], &[]),
                Err(ReadError::Reader {
                    code: 0x32,
                    message: status_message(0x32).unwrap(),
                }),
            ),
            // SW1 SW2 carry the card's own status for some codes.
            (
                "AA AA AA 96 69 00 04 6A 82 31 DD",
                ok([0x6A, 0x82, 0x31], &[]),
                Err(ReadError::Reader {
                    code: 0x31,
                    message: status_message(0x31).unwrap(),
                }),
            ),
            (
                "AA AA AA 96 69 00 04 00 00 77 73",
                ok([0, 0, 0x77], &[]),
                Err(ReadError::UnknownStatus(0x77)),
            ),
        ];
        for (bytes, want, status) in cases {
            let got = decode_response(&hex(bytes));
            assert_eq!(got, want, "{bytes}");
            assert_eq!(check_status(got.unwrap().sw), status, "{bytes}");
            assert_eq!(scan(&hex(bytes)), Ok(Scan::Frame(0..hex(bytes).len())));
        }
    }

    #[test]
    fn broken_frames() {
        let cases = [
            // Checksum off by one bit.
            (
                "AA AA AA 96 69 00 04 00 00 90 95",
                ReadError::Checksum {
                    expected: 0x94,
                    found: 0x95,
                },
            ),
            // Cut off before the checksum.
            ("AA AA AA 96 69 00 04 00 00 90", ReadError::ShortFrame),
            ("AA AA AA 96 69 00", ReadError::ShortFrame),
            ("AA AA", ReadError::ShortFrame),
            // A byte more than the length says.
            ("AA AA AA 96 69 00 04 00 00 90 94 00", ReadError::Garbled),
            // Not a preamble.
            ("AA AA AA 69 96 00 04 00 00 90 94", ReadError::Garbled),
            // Too short a body to hold a status.
            ("AA AA AA 96 69 00 03 00 00 03", ReadError::Garbled),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode_response(&hex(bytes)), Err(want), "{bytes}");
        }
    }

    #[test]
    fn scanning_a_stream() {
        let frame = hex("AA AA AA 96 69 00 04 00 00 80 84");
        assert_eq!(scan(&[]), Ok(Scan::NeedMore));
        assert_eq!(scan(&frame[..3]), Ok(Scan::NeedMore));
        assert_eq!(scan(&frame[..8]), Ok(Scan::NeedMore));
        // Noise before the preamble is skipped; a partial preamble at the end is kept.
        let noisy = [&[0x00, 0x13, 0xAA][..], &frame].concat();
        assert_eq!(scan(&noisy), Ok(Scan::Skip(3)));
        assert_eq!(scan(&[0x01, 0x02, 0xAA, 0xAA]), Ok(Scan::Skip(2)));
        assert_eq!(scan(&[0x01, 0x02]), Ok(Scan::Skip(2)));
        // Two frames back to back: the first is found alone.
        let two = [&frame[..], &frame].concat();
        assert_eq!(scan(&two), Ok(Scan::Frame(0..frame.len())));
        // A length no frame has.
        assert_eq!(
            scan(&hex("AA AA AA 96 69 FF FF 00")),
            Err(ReadError::Garbled)
        );
    }

    #[test]
    fn base_information_round_trip() {
        let person = crate::card::test_person();
        let data = encode_base_info(&person, 1024).unwrap();
        // 2 + 2 + 256 + 1024 bytes: with SW and checksum the length 0x0508 of real readers.
        assert_eq!(data.len(), 1284);
        assert_eq!(&data[..4], &[0x01, 0x00, 0x04, 0x00]);
        let frame = encode_response(SW_OK, &data);
        assert_eq!(&frame[5..7], &[0x05, 0x08]);
        let card = decode_base_info(&decode_response(&frame).unwrap().data).unwrap();
        assert_eq!(card.name, "李明华");
        assert_eq!(card.nation, "汉");
        assert_eq!(card.id_number, person.id_number);
        assert_eq!(card.address, "山西省晋城市沁水县龙港镇杏园东街12号");
        assert_eq!(card.issuing_authority, "沁水县公安局");
    }

    #[test]
    fn text_fields_from_raw_bytes() {
        // Built by hand, not by the encoder: fields padded with spaces, a 长期 card.
        let id17 = "11010119600911002";
        let check = xinfang_core::id::resident_id_check_char(id17).unwrap();
        let id = format!("{id17}{check}");
        let mut text = Vec::new();
        let mut field = |s: &str, width: usize| {
            let start = text.len();
            text.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
            while text.len() < start + width {
                text.extend_from_slice(&[0x20, 0x00]);
            }
        };
        field("王美娜", 30);
        field("2", 2);
        field("03", 4);
        field("19600911", 16);
        field("北京市东城区景山前街4号", 70);
        field(&id, 36);
        field("北京市公安局东城分局", 30);
        field("20060101", 16);
        field("长期", 16);
        text.resize(256, 0x20);
        let data = [&[0x01, 0x00, 0x00, 0x00][..], &text].concat();
        let card = decode_base_info(&data).unwrap();
        assert_eq!(card.name, "王美娜");
        assert_eq!(card.sex, "女");
        assert_eq!(card.nation, "回");
        assert_eq!(card.address, "北京市东城区景山前街4号");
        assert_eq!(card.id_number, id);
        assert_eq!(card.valid_to, ValidTo::LongTerm);

        // Cut inside the text block, or a photo longer than what came.
        assert_eq!(decode_base_info(&data[..200]), Err(ReadError::ShortFrame));
        let mut claims_photo = data.clone();
        claims_photo[2] = 0x04;
        assert_eq!(decode_base_info(&claims_photo), Err(ReadError::ShortFrame));
        assert_eq!(decode_base_info(&data[..3]), Err(ReadError::ShortFrame));
        // A text length that is not the card's.
        let mut odd = data.clone();
        odd[1] = 0x01;
        assert_eq!(decode_base_info(&odd), Err(ReadError::Garbled));
    }
}
