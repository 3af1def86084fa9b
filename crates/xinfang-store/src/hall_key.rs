//! The hall id key (issue 15, item 4; docs/security.md): visitor ids are derived from the
//! document with a per-hall secret, so two desks of a hall still give one person one id
//! offline, and an id alone no longer gives back the ID number it came from.
//!
//! A store makes a provisional key of its own when it first needs one; at enrolment it offers
//! it to the city, which keeps it when the hall has none yet and otherwise hands out the
//! hall's. A desk that got another key re-derives the ids it made with its own, as long as
//! nothing of them was pushed ([`adopt`]); a pushed id never changes.

use blake2::digest::Mac;
use rusqlite::{Connection, params};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::sync::{state_get, state_set};
use crate::{Result, StoreError};

/// BLAKE2s personalisation of the derivation (8 bytes), distinct from the key-slot MAC's.
const PERSONAL: &[u8; 8] = b"xfvisit1";
/// `sync_state` keys: the key (hex) and where it came from (`desk` until the city's is known).
const KEY: &str = "hall_id_key";
const SOURCE: &str = "hall_id_key_source";

/// A 32-byte hall id key, wiped on drop. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct HallKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for HallKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HallKey(<redacted>)")
    }
}

impl HallKey {
    fn random() -> HallKey {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut k[..]);
        HallKey(k)
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> HallKey {
        HallKey(Zeroizing::new(bytes))
    }

    pub(crate) fn wire(&self) -> xinfang_sync::wire::HallIdKey {
        xinfang_sync::wire::HallIdKey::from_bytes(&self.0)
    }

    fn hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn parse(text: &str) -> Option<HallKey> {
        xinfang_sync::wire::HallIdKey::from_hex(text.to_owned())
            .bytes()
            .map(HallKey::from_bytes)
    }

    /// The visitor id of a document: a UUID (version 8) made of the first 16 bytes of keyed
    /// BLAKE2s over the hall, the document type and the upper-cased number.
    pub(crate) fn visitor_id(&self, hall_code: &str, id_type: &str, id_number: &str) -> String {
        let mut mac = blake2::Blake2sMac256::new_with_salt_and_personal(&self.0[..], &[], PERSONAL)
            .expect("a 32-byte key and an 8-byte personalisation fit BLAKE2s");
        for part in [
            "visitor",
            hall_code,
            id_type,
            &id_number.to_ascii_uppercase(),
        ] {
            // Length-prefixed: no two different documents give the same input.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let out = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&out[..16]);
        uuid::Builder::from_custom_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

/// The store's key, made (provisional, `desk`) when it has none.
pub(crate) fn current(conn: &Connection) -> Result<HallKey> {
    if let Some(text) = state_get(conn, KEY)?.map(Zeroizing::new) {
        return HallKey::parse(&text)
            .ok_or_else(|| StoreError::Corrupt("本机的大厅标识密钥格式不正确".into()));
    }
    let key = HallKey::random();
    state_set(conn, KEY, &key.hex())?;
    state_set(conn, SOURCE, "desk")?;
    Ok(key)
}

/// Takes the hall's key from the city. Visitor records made here with another key and not yet
/// pushed (their insert is after the pushed sequence; no other desk has written them; the
/// city's never saw them) get the id the hall's key gives, everywhere the id is held; the rest
/// keep theirs. Returns how many records were re-keyed.
pub(crate) fn adopt(tx: &Connection, hall_code: &str, key: &HallKey) -> Result<usize> {
    let old = current(tx)?;
    if &old == key && state_get(tx, SOURCE)?.as_deref() == Some("city") {
        // Every sync brings the key: nothing to write when it is the one kept.
        return Ok(0);
    }
    let mut rekeyed = 0;
    if &old != key {
        let pushed: i64 = state_get(tx, "pushed_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let map = rekey_plan(tx, hall_code, &old, key, pushed)?;
        rekeyed = map.len();
        apply_rekey(tx, &map, pushed)?;
    }
    state_set(tx, KEY, &key.hex())?;
    state_set(tx, SOURCE, "city")?;
    Ok(rekeyed)
}

/// The id a document's `n`-th holder gets (see `visits::upsert_visitor`).
pub(crate) fn nth_id(key: &HallKey, hall: &str, id_type: &str, number: &str, n: u32) -> String {
    if n == 0 {
        key.visitor_id(hall, id_type, number)
    } else {
        key.visitor_id(hall, id_type, &format!("{number}/{n}"))
    }
}

/// How many holders of one number the re-keying looks for (a corrected document frees its
/// number; more than a few holders of one number do not happen).
const MAX_HOLDERS: u32 = 8;

/// Old id → new id of the visitors to re-key.
fn rekey_plan(
    tx: &Connection,
    hall: &str,
    old: &HallKey,
    new: &HallKey,
    pushed: i64,
) -> Result<Vec<(String, String)>> {
    let candidates: Vec<(String, String, String)> = tx
        .prepare(
            "SELECT v.id, v.id_type, v.id_number FROM visitors v
             WHERE EXISTS (SELECT 1 FROM change_log c
                           WHERE c.entity = 'visitor' AND c.entity_id = v.id AND c.op = 'insert'
                             AND c.seq > ?1)
               AND NOT EXISTS (SELECT 1 FROM change_log c
                               WHERE c.entity = 'visitor' AND c.entity_id = v.id AND c.seq <= ?1)
               AND NOT EXISTS (SELECT 1 FROM sync_remote_log r
                               WHERE r.entity = 'visitor' AND r.entity_id = v.id)
               AND NOT EXISTS (SELECT 1 FROM log_base b
                               WHERE b.entity = 'visitor' AND b.entity_id = v.id)
             ORDER BY v.rowid",
        )?
        .query_map([pushed], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut taken = std::collections::BTreeSet::new();
    let mut map = Vec::new();
    for (id, id_type, number) in candidates {
        // Only ids this store derived with its old key: a record whose document was
        // corrected since, or an older UUIDv5 id, keeps its id (it is opaque or already known).
        let Some(n) = (0..MAX_HOLDERS).find(|&n| nth_id(old, hall, &id_type, &number, n) == id)
        else {
            continue;
        };
        let mut m = n;
        let mut fresh = nth_id(new, hall, &id_type, &number, m);
        while taken.contains(&fresh)
            || tx
                .prepare_cached("SELECT 1 FROM visitors WHERE id = ?1")?
                .exists([&fresh])?
        {
            m += 1;
            fresh = nth_id(new, hall, &id_type, &number, m);
        }
        taken.insert(fresh.clone());
        map.push((id, fresh));
    }
    Ok(map)
}

/// Every place that holds a visitor id (grep `visitor` in the migrations): the records, the
/// links, people, derived conflicts, and the unpushed change-log rows that carry them.
const ID_COLUMNS: &[(&str, &str)] = &[
    ("visitors", "id"),
    ("visitors", "merged_into"),
    ("visit_visitors", "visitor_id"),
    ("visit_visitors", "person_id"),
    ("person_merges", "survivor_id"),
    ("person_merges", "merged_id"),
    ("visit_moves", "from_visitor"),
    ("visit_moves", "to_visitor"),
];

fn apply_rekey(tx: &Connection, map: &[(String, String)], pushed: i64) -> Result<()> {
    if map.is_empty() {
        return Ok(());
    }
    // visit_visitors references visitors(id): checked at commit, when both sides moved.
    tx.pragma_update(None, "defer_foreign_keys", true)?;
    let ids: std::collections::BTreeMap<&str, &str> =
        map.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    for (old, new) in map {
        for (table, column) in ID_COLUMNS {
            tx.execute(
                &format!("UPDATE {table} SET {column} = ?2 WHERE {column} = ?1"),
                params![old, new],
            )?;
        }
        tx.execute(
            "UPDATE record_conflicts SET entity_id = ?2 WHERE entity = 'visitor' AND entity_id = ?1",
            params![old, new],
        )?;
    }
    // The unpushed change-log rows: ids as the record id (a visit's visitor is
    // `visit_id:visitor_id`) and as field values.
    let rows: Vec<(i64, String, String)> = tx
        .prepare("SELECT seq, entity_id, fields FROM change_log WHERE seq > ?1")?
        .query_map([pushed], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (seq, entity_id, fields) in rows {
        let new_entity_id = entity_id
            .split(':')
            .map(|part| ids.get(part).copied().unwrap_or(part))
            .collect::<Vec<_>>()
            .join(":");
        let mut value: Value = serde_json::from_str(&fields)
            .map_err(|e| StoreError::Corrupt(format!("变更记录 {seq}：{e}")))?;
        let mut changed = new_entity_id != entity_id;
        if let Value::Object(m) = &mut value {
            for v in m.values_mut() {
                if let Some(new) = v.as_str().and_then(|s| ids.get(s)) {
                    *v = Value::String((*new).to_owned());
                    changed = true;
                }
            }
        }
        if changed {
            tx.execute(
                "UPDATE change_log SET entity_id = ?2, fields = ?3 WHERE seq = ?1",
                params![seq, new_entity_id, value.to_string()],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_one_id_per_key_and_the_key_never_prints() {
        let k = HallKey::from_bytes([1; 32]);
        let other = HallKey::from_bytes([2; 32]);
        let number = "14052119800101123x";
        let id = k.visitor_id("140521", "resident_id", number);
        // The check character's case does not make another person.
        assert_eq!(
            id,
            k.visitor_id("140521", "resident_id", &number.to_ascii_uppercase())
        );
        assert_ne!(id, other.visitor_id("140521", "resident_id", number));
        assert_ne!(id, k.visitor_id("140522", "resident_id", number));
        assert_ne!(id, nth_id(&k, "140521", "resident_id", number, 1));
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 8);
        assert_eq!(format!("{k:?}"), "HallKey(<redacted>)");
        assert!(!format!("{:?}", k.wire()).contains("0101"));
    }
}
