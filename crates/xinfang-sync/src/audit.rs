//! The audit chain, as one implementation for the desk and the city server: an entry's hash
//! (SHA-256 over every field but the hash, as a JSON array) and the rule that links each entry
//! to the one before it. The desk's store writes and verifies its log with it
//! (`xinfang-store/src/audit.rs`); the city server checks every pushed batch and re-checks what
//! it stores with it (docs/sync.md, "Audit entries").

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry, as the desk stores it and pushes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Position in the device's chain: 1, 2, 3, … without holes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub seq: i64,
    /// The entry's id (UUIDv7).
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub id: String,
    /// When (RFC 3339, China Standard Time).
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub at: String,
    /// The device that wrote the entry: must be the calling device.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub device_id: String,
    /// Who.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub staff_id: String,
    /// What, e.g. `view_confidential`, `view_full_id`, `backup`.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub action: String,
    /// Kind of record concerned, e.g. `matter` (may be empty).
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub entity: String,
    /// The record's id (may be empty).
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub entity_id: String,
    /// Free text, e.g. 事项页面.
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    pub detail: String,
    /// The previous entry's hash (`GENESIS` for the first): 64 lower-case hex digits.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub prev_hash: String,
    /// SHA-256 over all the fields above, as a JSON array: 64 lower-case hex digits.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub hash: String,
}

/// Longest text of each field, in characters (the schema's `maxLength`).
pub const MAX_FIELD_CHARS: [(&str, usize); 8] = [
    ("id", 64),
    ("at", 64),
    ("device_id", 64),
    ("staff_id", 64),
    ("action", 64),
    ("entity", 64),
    ("entity_id", 200),
    ("detail", 4000),
];

impl AuditEntry {
    /// SHA-256 (hex) over every field but `hash`, as a JSON array.
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.seq,
            self.id,
            self.at,
            self.device_id,
            self.staff_id,
            self.action,
            self.entity,
            self.entity_id,
            self.detail,
            self.prev_hash
        ])
        .to_string();
        let digest = Sha256::digest(canonical.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The text fields with their names, in the order of [`MAX_FIELD_CHARS`].
    pub fn text_fields(&self) -> [(&'static str, &str); 8] {
        [
            ("id", &self.id),
            ("at", &self.at),
            ("device_id", &self.device_id),
            ("staff_id", &self.staff_id),
            ("action", &self.action),
            ("entity", &self.entity),
            ("entity_id", &self.entity_id),
            ("detail", &self.detail),
        ]
    }
}

/// Whether `s` is a hash as the chain writes them: 64 lower-case hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Why an entry does not continue the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkFault {
    /// The entry expected here is missing: the next one present has another number.
    Missing { found: i64 },
    /// `prev_hash` is not the previous entry's hash: an earlier entry was changed or removed.
    PrevHash,
    /// The hash does not match the content: this entry was changed.
    Hash,
}

impl LinkFault {
    /// In Chinese, for people (the entry expected is `expected`).
    pub fn reason(self, expected: i64) -> String {
        match self {
            LinkFault::Missing { found } => {
                format!("第 {expected} 条缺失（下一条是第 {found} 条）")
            }
            LinkFault::PrevHash => "上一条的哈希值不符（前面的条目被修改或删除）".to_owned(),
            LinkFault::Hash => "内容与哈希值不符（这一条被修改）".to_owned(),
        }
    }
}

/// Checks that `e` is entry number `expected` of a chain whose previous entry has hash
/// `prev_hash` ([`GENESIS`] before the first).
pub fn check_link(expected: i64, prev_hash: &str, e: &AuditEntry) -> Result<(), LinkFault> {
    if e.seq != expected {
        Err(LinkFault::Missing { found: e.seq })
    } else if e.prev_hash != prev_hash {
        Err(LinkFault::PrevHash)
    } else if e.compute_hash() != e.hash {
        Err(LinkFault::Hash)
    } else {
        Ok(())
    }
}

/// The first place where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainFault {
    /// The number of the first entry that is missing or wrong.
    pub seq: i64,
    /// What is wrong, in Chinese.
    pub reason: String,
}

/// Walks a whole chain from its first entry (entries in `seq` order); the first break.
pub fn verify_chain<I>(entries: I) -> Option<ChainFault>
where
    I: IntoIterator<Item = AuditEntry>,
{
    let mut prev = GENESIS.to_owned();
    for (expected, e) in (1i64..).zip(entries) {
        if let Err(f) = check_link(expected, &prev, &e) {
            return Some(ChainFault {
                seq: expected,
                reason: f.reason(expected),
            });
        }
        prev = e.hash;
    }
    None
}

/// `POST /v1/audit/push`: the calling device's audit entries, in sequence order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPushRequest {
    /// Consecutive entries of the calling device's chain (at most 2000).
    pub entries: Vec<AuditEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPushResponse {
    /// Entries stored for the first time.
    pub accepted: u64,
    /// Entries the server already held with the same hash (a repeated push).
    pub duplicates: u64,
    /// Highest audit sequence now stored for this device.
    pub server_max_seq: i64,
}

/// A break the city server found in a device's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditBreak {
    /// The first entry missing or wrong.
    pub seq: i64,
    /// What is wrong, in Chinese.
    pub reason: String,
    /// `push`: a pushed batch was refused here; `stored`: the server's own copy does not check
    /// out (its database was changed).
    pub source: String,
    /// When it was first seen (RFC 3339; for `stored`, when this answer was made).
    pub detected_at: String,
    /// How many pushes were refused at this place (0 for `stored`).
    pub attempts: i64,
}

/// One device's chain as the city server holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceAuditChain {
    pub device_id: String,
    pub device_name: String,
    pub hall_code: String,
    pub hall_name: String,
    /// Entries stored.
    pub entries: i64,
    /// Highest sequence stored (0 for none).
    pub last_seq: i64,
    /// Time of the newest stored entry.
    pub last_at: Option<String>,
    /// `ok`, or `broken` when a push was refused or the stored chain does not check out.
    pub status: String,
    /// Refused pushes and breaks in the stored chain, oldest first.
    pub breaks: Vec<AuditBreak>,
}

/// `GET /v1/city/audit`: every enrolled device's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditChains {
    pub devices: Vec<DeviceAuditChain>,
    /// Devices whose chain is broken.
    pub broken: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    id: format!("id-{seq}"),
                    at: "2026-03-02T09:15:07+08:00".into(),
                    device_id: "dev-00000001".into(),
                    staff_id: "s1".into(),
                    action: "view_full_id".into(),
                    entity: "visitor".into(),
                    entity_id: format!("v{seq}"),
                    detail: "查看".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn a_good_chain_checks_out_and_each_kind_of_break_is_named() {
        let c = chain(4);
        assert_eq!(verify_chain(c.clone()), None);
        assert!(c.iter().all(|e| is_hash(&e.hash)));

        let mut edited = c.clone();
        edited[1].detail = "改过".into();
        let f = verify_chain(edited).unwrap();
        assert_eq!(f.seq, 2);
        assert!(f.reason.contains("这一条被修改"), "{}", f.reason);

        let mut removed = c.clone();
        removed.remove(2);
        let f = verify_chain(removed).unwrap();
        assert_eq!(f.seq, 3);
        assert!(f.reason.contains("第 3 条缺失"), "{}", f.reason);

        let mut relinked = c.clone();
        relinked[2].prev_hash = GENESIS.into();
        relinked[2].hash = relinked[2].compute_hash();
        assert_eq!(verify_chain(relinked).unwrap().seq, 3);
    }

    #[test]
    fn the_hash_is_the_one_the_desk_has_always_written() {
        // A fixed entry and its hash: changing the canonical form would break every stored
        // chain, on every desk and on the server.
        let mut e = chain(1).remove(0);
        e.id = "0190a000-0000-7000-8000-000000000001".into();
        e.hash = e.compute_hash();
        let canonical = r#"[1,"0190a000-0000-7000-8000-000000000001","2026-03-02T09:15:07+08:00","dev-00000001","s1","view_full_id","visitor","v1","查看","0000000000000000000000000000000000000000000000000000000000000000"]"#;
        let digest = Sha256::digest(canonical.as_bytes());
        let expected: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(e.hash, expected);
        assert!(!is_hash("ABCDEF"));
        assert!(!is_hash(&"A".repeat(64)));
    }
}
