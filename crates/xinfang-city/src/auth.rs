//! Tokens and one-time codes: random, shown once, stored only as SHA-256 hashes.

use rand::Rng;
use sha2::{Digest, Sha256};

/// Letters and digits a person can read aloud without confusion (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new bearer token (256 random bits).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    format!("xft_{}", hex(&bytes))
}

/// A new enrolment code, e.g. `K7QH-3MWX-PR2D`: 12 characters of 31, 12 × log2 31 ≈ 59.5 bits.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..12)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// What an enrolment code enrols: a desk of the hall, or the hall's hub (docs/sync.md "Hall
/// hub"). The kind is part of what is hashed, so a code of one kind is not found as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    Desk,
    Hub,
}

/// Codes are compared without dashes, spaces or case, as people retype them.
pub fn code_hash(code: &str) -> String {
    code_hash_of(CodeKind::Desk, code)
}

/// The stored hash of a code of `kind`.
pub fn code_hash_of(kind: CodeKind, code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let prefix = match kind {
        CodeKind::Desk => "enrol",
        CodeKind::Hub => "hub",
    };
    hex(&Sha256::digest(format!("{prefix}:{norm}").as_bytes()))
}

/// Parses a duration like `24h`, `30m`, `7d`, `90s` into seconds.
pub fn parse_ttl(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then_some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_tokens() {
        let c = new_code();
        assert_eq!(c.len(), 14);
        assert_eq!(
            code_hash(&c),
            code_hash(&c.to_lowercase().replace('-', " "))
        );
        assert_ne!(new_token(), new_token());
        assert_eq!(token_hash("a").len(), 64);
    }

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("24h"), Some(86_400));
        assert_eq!(parse_ttl("30m"), Some(1800));
        assert_eq!(parse_ttl("7d"), Some(604_800));
        assert_eq!(parse_ttl("1s"), Some(1));
        assert_eq!(parse_ttl("0h"), None);
        assert_eq!(parse_ttl("h"), None);
        assert_eq!(parse_ttl("24"), None);
        assert_eq!(parse_ttl("5y"), None);
    }
}
