//! Finding earlier visitors while the clerk types.
//!
//! Design (measured in SEARCH-NOTES.md): FTS5 trigrams cannot match the 1–2-character queries
//! most Chinese names need, so the store feeds a contentless FTS5 table with its own tokens —
//! each name character, each adjacent pair, each 4-digit window of the phone — hex-encoded so
//! the plain `ascii` tokenizer keeps them whole whatever the plane of the character. Pinyin lives
//! in B-tree columns; ID numbers in a B-tree index.

use std::collections::{BTreeMap, BTreeSet};

use pinyin::ToPinyin;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use xinfang_core::id::{mask_id, resident_id_from_15};
use xinfang_core::phone::mask_phone;

use crate::{Result, Store};

/// How a query is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    IdNumber,
    Phone,
    Pinyin,
    Name,
}

/// One matching visitor, as lists show it: masked, with visit count and last visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitorHit {
    pub visitor_id: String,
    pub name: String,
    pub id_type: String,
    pub id_number_masked: String,
    pub phone_masked: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub visit_count: i64,
    pub last_visit_at: Option<String>,
}

/// Reads a query: an ID number (18 or 15 digits), a phone fragment (4–11 digits), pinyin
/// (latin letters), or a name (anything else). Returns the normalised query.
pub fn classify_query(query: &str) -> Option<(SearchKind, String)> {
    let q: String = query
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if q.is_empty() {
        return None;
    }
    let digits = q.chars().all(|c| c.is_ascii_digit());
    let id_like = q.len() == 18 && q[..17].chars().all(|c| c.is_ascii_digit()) && {
        let last = q.as_bytes()[17];
        last.is_ascii_digit() || last == b'x' || last == b'X'
    };
    if id_like {
        return Some((SearchKind::IdNumber, q.to_ascii_uppercase()));
    }
    if digits && q.len() == 15 {
        return resident_id_from_15(&q).map(|id| (SearchKind::IdNumber, id));
    }
    if digits {
        return (q.len() >= 4 && q.len() <= 12).then_some((SearchKind::Phone, q));
    }
    if q.chars().all(|c| c.is_ascii_alphabetic() || c == 'ü') {
        return Some((SearchKind::Pinyin, q.to_ascii_lowercase().replace('ü', "v")));
    }
    Some((SearchKind::Name, q))
}

/// Surnames whose common reading differs (syllables separated by spaces) from the pinyin crate's first reading.
const SURNAME_READINGS: &[(&str, &str)] = &[
    ("尉迟", "yu chi"),
    ("万俟", "mo qi"),
    ("长孙", "zhang sun"),
    ("曾", "zeng"),
    ("单", "shan"),
    ("乐", "yue"),
    ("区", "ou"),
    ("仇", "qiu"),
    ("解", "xie"),
    ("查", "zha"),
    ("朴", "piao"),
    ("盖", "ge"),
    ("缪", "miao"),
    ("覃", "qin"),
    ("翟", "zhai"),
    ("燕", "yan"),
    ("纪", "ji"),
    ("秘", "bi"),
    ("种", "chong"),
    ("繁", "po"),
    ("员", "yun"),
    ("尉", "yu"),
    ("沈", "shen"),
    ("柏", "bai"),
    ("薄", "bo"),
    ("重", "chong"),
    ("隗", "wei"),
];

/// Full pinyin and initials of a name, e.g. 张三丰 → (`zhangsanfeng`, `zsf`); 吕 → `lv`.
/// Characters without a reading (some rare ones) are skipped; they stay findable by name.
pub fn name_keys(name: &str) -> (String, String) {
    let mut full = String::new();
    let mut initials = String::new();
    let mut rest = name;
    for (surname, reading) in SURNAME_READINGS {
        if let Some(tail) = name.strip_prefix(surname) {
            for syllable in reading.split(' ') {
                full.push_str(syllable);
                initials.push_str(&syllable[..1]);
            }
            rest = tail;
            break;
        }
    }
    for c in rest.chars() {
        if let Some(p) = c.to_pinyin() {
            let plain = p.plain().replace('ü', "v");
            initials.push_str(&plain[..1]);
            full.push_str(&plain);
        } else if c.is_ascii_alphabetic() {
            full.push(c.to_ascii_lowercase());
            initials.push(c.to_ascii_lowercase());
        }
    }
    (full, initials)
}

fn char_token(c: char) -> String {
    format!("n{:06x}", c as u32)
}

fn pair_token(a: char, b: char) -> String {
    format!("n{:06x}{:06x}", a as u32, b as u32)
}

/// The tokens indexed for one visitor, space-separated, each once (the benches' bare twin of a
/// registration writes the same).
pub fn tokens(name: &str, phone: Option<&str>) -> String {
    let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    let mut set = BTreeSet::new();
    for c in &chars {
        set.insert(char_token(*c));
    }
    for w in chars.windows(2) {
        set.insert(pair_token(w[0], w[1]));
    }
    if let Some(phone) = phone {
        let digits: Vec<u8> = phone.bytes().filter(u8::is_ascii_digit).collect();
        for w in digits.windows(4) {
            set.insert(format!("p{}", String::from_utf8_lossy(w)));
        }
    }
    set.into_iter().collect::<Vec<_>>().join(" ")
}

/// FTS query for a name: one character, one pair, or all pairs of a longer name.
fn name_match(q: &str) -> String {
    let chars: Vec<char> = q.chars().collect();
    if chars.len() == 1 {
        return char_token(chars[0]);
    }
    let pairs: BTreeSet<String> = chars.windows(2).map(|w| pair_token(w[0], w[1])).collect();
    pairs.into_iter().collect::<Vec<_>>().join(" ")
}

fn phone_match(q: &str) -> String {
    let windows: BTreeSet<String> = q
        .as_bytes()
        .windows(4)
        .map(|w| format!("p{}", String::from_utf8_lossy(w)))
        .collect();
    windows.into_iter().collect::<Vec<_>>().join(" ")
}

pub(crate) fn index_visitor(
    conn: &Connection,
    rowid: i64,
    name: &str,
    phone: Option<&str>,
) -> Result<()> {
    conn.prepare_cached("INSERT INTO visitor_tokens(rowid, tokens) VALUES (?1, ?2)")?
        .execute(params![rowid, tokens(name, phone)])?;
    Ok(())
}

pub(crate) fn reindex_visitor(
    conn: &Connection,
    rowid: i64,
    name: &str,
    phone: Option<&str>,
) -> Result<()> {
    conn.prepare_cached("DELETE FROM visitor_tokens WHERE rowid = ?1")?
        .execute([rowid])?;
    index_visitor(conn, rowid, name, phone)
}

const HIT_COLUMNS: &str =
    "v.rowid, v.id, v.name, v.id_type, v.id_number, v.phone, v.sex, v.birth_date";

/// A hit's rowid and the id of the person its record was merged into.
type MergedHit = (i64, String);

/// One result line from a row of `HIT_COLUMNS, visit_count, last_visit_at`.
fn hit_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<VisitorHit> {
    let id_number: String = r.get(4)?;
    let phone: Option<String> = r.get(5)?;
    Ok(VisitorHit {
        visitor_id: r.get(1)?,
        name: r.get(2)?,
        id_type: r.get(3)?,
        id_number_masked: mask_id(&id_number),
        phone_masked: phone.as_deref().map(mask_phone),
        sex: r.get(6)?,
        birth_date: r.get(7)?,
        visit_count: r.get(8)?,
        last_visit_at: r.get(9)?,
    })
}

impl Store {
    /// Visitors matching `query` (ID number, name fragment, pinyin, phone fragment), at most
    /// `limit`, most recent visit first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<VisitorHit>> {
        let Some((kind, q)) = classify_query(query) else {
            return Ok(Vec::new());
        };
        let limit = limit.clamp(1, 500) as i64;
        // Each kind's rowids are a subquery of the one statement that reads the hits' rows.
        // The limit is written into the SQL, not bound: SQLite reads a bound LIMIT as a
        // constant of the plan, so rebinding it re-prepared the statement at every search.
        let (mut hits, merged) = match kind {
            SearchKind::IdNumber => self.hits_of(
                &format!("SELECT rowid FROM visitors WHERE id_number = ?1 ORDER BY rowid DESC LIMIT {limit}"),
                params![q],
            )?,
            // One character or one pair is a single token: the index answers exactly.
            SearchKind::Name if q.chars().count() <= 2 => self.hits_of(
                &format!("SELECT rowid FROM visitor_tokens WHERE visitor_tokens MATCH ?1 ORDER BY rowid DESC LIMIT {limit}"),
                params![name_match(&q)],
            )?,
            SearchKind::Name => {
                // Pairs may all occur without the whole name in order; instr() confirms it.
                self.hits_of(
                    &format!("SELECT t.rowid FROM visitor_tokens t JOIN visitors v ON v.rowid = t.rowid
                     WHERE visitor_tokens MATCH ?1 AND instr(v.name, ?2) > 0
                     ORDER BY t.rowid DESC LIMIT {limit}"),
                    params![name_match(&q), q],
                )?
            }
            SearchKind::Phone if q.len() == 4 => self.hits_of(
                &format!("SELECT rowid FROM visitor_tokens WHERE visitor_tokens MATCH ?1 ORDER BY rowid DESC LIMIT {limit}"),
                params![phone_match(&q)],
            )?,
            SearchKind::Phone => self.hits_of(
                &format!("SELECT t.rowid FROM visitor_tokens t JOIN visitors v ON v.rowid = t.rowid
                 WHERE visitor_tokens MATCH ?1 AND instr(replace(v.phone, '-', ''), ?2) > 0
                 ORDER BY t.rowid DESC LIMIT {limit}"),
                params![phone_match(&q), q],
            )?,
            SearchKind::Pinyin => {
                // Initials match whole (zsf), full pinyin by prefix (zhangs…). Range, not LIKE,
                // so the B-tree index is used. The initials' matches come first, then the
                // prefix's others up to the limit: two lists, so the hits are read by rowid.
                let upper = format!("{q}{{");
                let mut ids = self.rowids(
                    &format!("SELECT rowid FROM visitors WHERE pinyin_initials = ?1 ORDER BY rowid DESC LIMIT {limit}"),
                    params![q],
                )?;
                for id in self.rowids(
                    &format!("SELECT rowid FROM visitors WHERE pinyin_full >= ?1 AND pinyin_full < ?2 LIMIT {limit}"),
                    params![q, upper],
                )? {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                ids.truncate(limit as usize);
                let ids = serde_json::to_string(&ids).expect("serialisable");
                self.hits_of("SELECT value FROM json_each(?1)", [ids])?
            }
        };
        // A record merged into another person is shown as that person, once (docs/sync.md,
        // "People"): the few merged hits are replaced by their person in a second lookup.
        if !merged.is_empty() {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {HIT_COLUMNS}, v.visit_count, v.last_visit_at FROM visitors v WHERE v.id = ?1"
            ))?;
            for (rowid, person) in merged {
                match stmt
                    .query_row([&person], |r| Ok((r.get::<_, i64>(0)?, hit_of(r)?)))
                    .optional()?
                {
                    Some((at, hit)) => {
                        hits.insert(at, hit);
                    }
                    // A person not on this replica: the record shows as itself.
                    None => {
                        let hit = self.conn.prepare_cached(&format!(
                            "SELECT {HIT_COLUMNS}, v.visit_count, v.last_visit_at FROM visitors v WHERE v.rowid = ?1"
                        ))?
                        .query_row([rowid], hit_of)?;
                        hits.insert(rowid, hit);
                    }
                }
            }
        }
        let mut hits: Vec<(i64, VisitorHit)> = hits.into_iter().collect();
        // Newest visit first, never-seen visitors last; ties keep newest-registered first.
        hits.sort_by(|(ra, a), (rb, b)| b.last_visit_at.cmp(&a.last_visit_at).then(rb.cmp(ra)));
        let hits: Vec<VisitorHit> = hits.into_iter().map(|(_, h)| h).collect();
        Ok(hits)
    }

    /// The hits whose rowids `rowids` selects, read in one statement (each row once); the
    /// records merged into another person apart, with that person's id.
    fn hits_of(
        &self,
        rowids: &str,
        params: impl rusqlite::Params,
    ) -> Result<(BTreeMap<i64, VisitorHit>, Vec<MergedHit>)> {
        let mut hits = BTreeMap::new();
        let mut merged = Vec::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {HIT_COLUMNS}, v.visit_count, v.last_visit_at, v.merged_into FROM visitors v
             WHERE v.rowid IN ({rowids})"
        ))?;
        let mut rows = stmt.query(params)?;
        while let Some(r) = rows.next()? {
            let rowid: i64 = r.get(0)?;
            match r.get::<_, Option<String>>(10)? {
                Some(person) => merged.push((rowid, person)),
                None => {
                    hits.insert(rowid, hit_of(r)?);
                }
            }
        }
        Ok((hits, merged))
    }

    fn rowids(&self, sql: &str, params: impl rusqlite::Params) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinyin_keys_use_common_surname_readings() {
        assert_eq!(name_keys("张三丰"), ("zhangsanfeng".into(), "zsf".into()));
        assert_eq!(name_keys("曾国藩"), ("zengguofan".into(), "zgf".into()));
        assert_eq!(name_keys("吕女"), ("lvnv".into(), "ln".into()));
        assert_eq!(name_keys("尉迟恭").1, "ycg");
        // 𠮷 has no reading: skipped, the rest stays.
        assert_eq!(name_keys("刘𠮷").0, "liu");
    }

    #[test]
    fn queries_are_classified() {
        assert_eq!(classify_query("张").unwrap().0, SearchKind::Name);
        assert_eq!(
            classify_query("zsf").unwrap(),
            (SearchKind::Pinyin, "zsf".into())
        );
        assert_eq!(classify_query("1380").unwrap().0, SearchKind::Phone);
        assert_eq!(classify_query("138").map(|q| q.0), None);
        assert_eq!(
            classify_query("14052119800101001x").unwrap(),
            (SearchKind::IdNumber, "14052119800101001X".into())
        );
        assert_eq!(classify_query("  ").map(|q| q.0), None);
    }

    #[test]
    fn tokens_cover_chars_pairs_and_phone_windows_once() {
        let t = tokens("刘𠮷", Some("0356-2020203"));
        let parts: Vec<&str> = t.split(' ').collect();
        assert!(parts.contains(&"n005218"));
        assert!(parts.contains(&"n020bb7"));
        assert!(parts.contains(&"n005218020bb7"));
        assert!(parts.contains(&"p0356"));
        // "2020" occurs twice in the number, indexed once.
        assert_eq!(parts.iter().filter(|p| **p == "p2020").count(), 1);
    }

    /// A record merged into a person this replica does not hold shows as itself; a record
    /// merged into a person who is a hit too shows once, as that person.
    #[test]
    fn merged_hits_show_as_their_person_once_or_as_themselves() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        let add = |id: &str, name: &str, merged_into: Option<&str>| {
            let (full, initials) = name_keys(name);
            store
                .conn
                .execute(
                    "INSERT INTO visitors(id, name, id_type, id_number, pinyin_full, pinyin_initials,
                       hall_code, created_at, updated_at, merged_into)
                     VALUES (?1, ?2, 'resident_id', '140521198001150134', ?3, ?4, '140521', 'x', 'x', ?5)",
                    params![id, name, full, initials, merged_into],
                )
                .unwrap();
            index_visitor(&store.conn, store.conn.last_insert_rowid(), name, None).unwrap();
        };
        add("p1", "张三", None);
        add("r1", "张三", Some("p1"));
        add("r2", "张四", Some("not-here"));
        let ids: Vec<String> = store
            .search("张", 10)
            .unwrap()
            .into_iter()
            .map(|h| h.visitor_id)
            .collect();
        assert_eq!(ids, ["r2", "p1"]);
    }

    /// Over the limit, a search keeps the newest-registered matches of its kind: the limit and
    /// order of the rowid subquery hold inside the statement that reads the hits.
    #[test]
    fn a_limited_search_keeps_the_newest_registered_matches() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        let names = ["王小一", "王小二", "王小三", "王小四", "王小五", "王小六"];
        for (n, name) in names.iter().enumerate() {
            let (full, initials) = name_keys(name);
            let phone = format!("1390000000{n}");
            store
                .conn
                .execute(
                    "INSERT INTO visitors(id, name, id_type, id_number, phone, pinyin_full,
                       pinyin_initials, hall_code, created_at, updated_at)
                     VALUES (?1, ?2, 'resident_id', '140521198001150134', ?3, ?4, ?5, '140521', 'x', 'x')",
                    params![format!("v{n}"), name, phone, full, initials],
                )
                .unwrap();
            index_visitor(
                &store.conn,
                store.conn.last_insert_rowid(),
                name,
                Some(&phone),
            )
            .unwrap();
        }
        for q in ["140521198001150134", "王", "王小", "0000", "13900000"] {
            let hits: Vec<String> = store
                .search(q, 3)
                .unwrap()
                .into_iter()
                .map(|h| h.name)
                .collect();
            assert_eq!(hits, ["王小六", "王小五", "王小四"], "{q}");
        }
        let three: Vec<String> = store
            .search("王小三", 3)
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect();
        assert_eq!(three, ["王小三"]);
    }
}
