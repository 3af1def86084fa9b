//! Who a 检举控告's appeal is sealed to, and reading it back (issue 15, item 2).
//!
//! Readers: the clerk who registered it, every active supervisor (负责人) of the hall, and the
//! city's reviewer key when the desk knows it (`meta.city_reviewer_key`, from the city's
//! reference data). Not the lawyer, the mediator, other clerks nor the admin. Each value is
//! sealed on its own (`sealed.rs`): per record, no hall key to share or rotate. When the readers
//! change — a new supervisor, one who left, a reset password, the city's key arriving — the
//! next login of a reader who can open a value seals it anew for the readers of now
//! ([`Store::reseal_confidential`]); the old copies stay in the change log of the desks that
//! had them (docs/security.md says so).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, json};
use xinfang_core::staff::CONFIDENTIAL_MASK;

use crate::changelog::{self, Op};
use crate::{Result, Store, now_text};
use xinfang_seal::{self as sealed, Recipient};

/// Meta key of the city's reviewer public key (hex).
pub(crate) const CITY_REVIEWER_KEY: &str = "city_reviewer_key";

/// The reference list in which the city hands out its reviewer key: `{"public": "<hex>"}`.
pub const REVIEWER_LIST: &str = "reviewer_key";

fn context(visit_id: &str) -> String {
    format!("visit:{visit_id}:appeal")
}

fn staff_recipient(conn: &Connection, staff_id: &str) -> Result<Option<Recipient>> {
    let public: Option<String> = conn
        .prepare_cached("SELECT box_public FROM staff WHERE id = ?1")?
        .query_row([staff_id], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(public
        .as_deref()
        .and_then(sealed::public_from_hex)
        .map(|p| Recipient::staff(staff_id, p)))
}

/// The readers of a report registered by `clerk_id`, sorted by name.
pub(crate) fn readers(conn: &Connection, clerk_id: &str) -> Result<Vec<Recipient>> {
    let mut out: Vec<Recipient> = staff_recipient(conn, clerk_id)?.into_iter().collect();
    let mut stmt = conn.prepare_cached(
        "SELECT id, box_public FROM staff
         WHERE active = 1 AND box_public IS NOT NULL AND (',' || roles || ',') LIKE '%,supervisor,%'",
    )?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, public) = row?;
        if let Some(p) = sealed::public_from_hex(&public) {
            out.push(Recipient::staff(&id, p));
        }
    }
    let city: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([CITY_REVIEWER_KEY], |r| r.get(0))
        .optional()?;
    if let Some(p) = city.as_deref().and_then(sealed::public_from_hex) {
        out.push(Recipient::city(p));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    Ok(out)
}

/// The first visit of a matter whose content is sealed (a 检举控告, or a matter marked
/// confidential), with the clerk who registered it.
pub(crate) fn first_report_visit(
    conn: &Connection,
    matter_id: &str,
) -> Result<Option<(String, String)>> {
    Ok(conn
        .prepare_cached(
            "SELECT v.id, v.clerk_id FROM matters m JOIN visits v ON v.id = m.first_visit_id
             WHERE m.id = ?1 AND (m.confidential = 1 OR v.appeal_kind = 'report')",
        )?
        .query_row([matter_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Seals the appeal of a report about to be written.
pub(crate) fn seal_appeal(
    conn: &Connection,
    visit_id: &str,
    clerk_id: &str,
    appeal: &str,
) -> Result<String> {
    Ok(sealed::seal(
        appeal.as_bytes(),
        &context(visit_id),
        &readers(conn, clerk_id)?,
    )?)
}

/// The visits whose appeal is sealed: 检举控告 visits and the visits of confidential matters,
/// in two indexed halves (migration 0026), not an `OR` that reads every visit at every login.
pub(crate) const SEALED_VISITS: &str =
    "SELECT id, clerk_id, appeal FROM visits WHERE appeal_kind = 'report'
     UNION
     SELECT x.id, x.clerk_id, x.appeal FROM matters m JOIN visits x ON x.matter_id = m.id
     WHERE m.confidential = 1";

/// The sealed visits written, changed or left unopened since the last pass (migration 0036).
/// `?1`: the last touch the pass read.
const PENDING_SEALED_VISITS: &str = "SELECT v.id, v.clerk_id, v.appeal FROM visits v
     WHERE v.id IN (SELECT visit_id FROM reseal_pending WHERE n <= ?1)
       AND (v.appeal_kind = 'report'
            OR EXISTS (SELECT 1 FROM matters m WHERE m.id = v.matter_id AND m.confidential = 1))";

/// Meta key of the readers the last complete pass sealed for (see [`readers_fingerprint`]).
const RESEAL_READERS: &str = "reseal_readers";

/// A digest of everything [`readers`] depends on: every account's id, state, roles and public
/// key, and the city's reviewer key. While it stays the same, a sealed appeal already sealed
/// for its readers stays so, and the login's pass need only look at the pending ones.
fn readers_fingerprint(conn: &Connection) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut stmt = conn.prepare_cached(
        "SELECT id, active, roles, coalesce(box_public, '') FROM staff ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (id, active, roles, public): (String, i64, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        h.update(format!("{id}\x1f{active}\x1f{roles}\x1f{public}\x1e").as_bytes());
    }
    let city: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([CITY_REVIEWER_KEY], |r| r.get(0))
        .optional()?;
    h.update(city.unwrap_or_default().as_bytes());
    Ok(format!("{:x}", h.finalize()))
}

/// The page cache of the login's pass over the sealed appeals (KiB, as `PRAGMA cache_size`
/// takes a negative size). The pass reads every sealed visit once and none of it again: with the
/// store's own cache (256 MiB, for search) those pages would stay resident, and a desk's memory
/// would be at its peak from the login on.
const RESEAL_CACHE_KIB: i64 = 8 * 1024;

impl Store {
    /// Seals again, for the readers of now, every report's appeal this session can open whose
    /// readers changed (and seals a report's appeal still in clear, from before sealing).
    /// Returns how many were sealed anew. Run at the login of a reader.
    ///
    /// The sealed visits are streamed, keeping only those to seal anew (usually none), through a
    /// small page cache; the store's cache size is restored afterwards.
    pub fn reseal_confidential(&mut self) -> Result<usize> {
        let Some(opener) = self.opener.clone() else {
            return Ok(0);
        };
        let cache = crate::small_page_cache(&self.conn, RESEAL_CACHE_KIB)?;
        let pass = self.reseal_with(&opener);
        crate::restore_page_cache(&self.conn, cache)?;
        pass
    }

    /// With the readers as the last complete pass left them, only the pending visits are read;
    /// otherwise every sealed one. A visit this session cannot open stays pending for a reader
    /// who can; the others leave the list, sealed anew or already right.
    fn reseal_with(&mut self, opener: &sealed::Opener) -> Result<usize> {
        let fingerprint = readers_fingerprint(&self.conn)?;
        let stored: Option<String> = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([RESEAL_READERS], |r| r.get(0))
            .optional()?;
        let whole = stored.as_deref() != Some(fingerprint.as_str());
        let read_up_to: i64 =
            self.conn
                .query_row("SELECT coalesce(max(n), 0) FROM reseal_pending", [], |r| {
                    r.get(0)
                })?;
        let mut by_clerk: HashMap<String, Vec<Recipient>> = HashMap::new();
        // (visit, readers' clerk, the appeal in clear)
        let mut todo: Vec<(String, String, String)> = Vec::new();
        let mut unopened: Vec<String> = Vec::new();
        {
            let mut stmt = self.conn.prepare(if whole {
                SEALED_VISITS
            } else {
                PENDING_SEALED_VISITS
            })?;
            let mut rows = if whole {
                stmt.query([])?
            } else {
                stmt.query([read_up_to])?
            };
            while let Some(row) = rows.next()? {
                let (id, clerk_id, appeal): (String, String, String) =
                    (row.get(0)?, row.get(1)?, row.get(2)?);
                if !by_clerk.contains_key(&clerk_id) {
                    by_clerk.insert(clerk_id.clone(), readers(&self.conn, &clerk_id)?);
                }
                let want = &by_clerk[&clerk_id];
                let plain = match sealed::recipients(&appeal) {
                    Some(have) => {
                        let names: Vec<&str> = want.iter().map(|r| r.name.as_str()).collect();
                        if have == names {
                            continue;
                        }
                        match sealed::open_text(&appeal, &context(&id), opener) {
                            Some(p) => p,
                            None => {
                                unopened.push(id);
                                continue;
                            }
                        }
                    }
                    None => appeal,
                };
                if want.is_empty() {
                    continue;
                }
                todo.push((id, clerk_id, plain));
            }
        }
        todo.sort();
        let now = now_text(&*self.clock);
        let tx = self.conn.savepoint()?;
        // The touches read are settled. This first write takes the store's write lock, so every
        // touch after `ours` is one of the seals below (the trigger's), settled too; a touch
        // made by another process after the read and before the lock stays for the next pass.
        tx.execute("DELETE FROM reseal_pending WHERE n <= ?1", [read_up_to])?;
        let ours: i64 =
            tx.query_row("SELECT coalesce(max(n), 0) FROM reseal_pending", [], |r| {
                r.get(0)
            })?;
        let n = todo.len();
        for (id, clerk_id, plain) in todo {
            let value = sealed::seal(plain.as_bytes(), &context(&id), &by_clerk[&clerk_id])?;
            tx.execute(
                "UPDATE visits SET appeal = ?2 WHERE id = ?1",
                params![id, value],
            )?;
            let mut f = Map::new();
            f.insert("appeal".into(), json!(value));
            changelog::append(&tx, "visit", &id, Op::Update, f, &now)?;
        }
        tx.execute("DELETE FROM reseal_pending WHERE n > ?1", [ours])?;
        // What this session could not open waits for a reader who can.
        let mut keep = tx.prepare_cached("INSERT INTO reseal_pending(visit_id) VALUES (?1)")?;
        for id in &unopened {
            keep.execute([id])?;
        }
        drop(keep);
        if whole {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![RESEAL_READERS, fingerprint],
            )?;
        }
        tx.commit()?;
        if n > 0 {
            tracing::info!(n, "confidential appeals sealed for their readers");
        }
        Ok(n)
    }
}

/// [`Store::reveal_appeal`] for code that has the opener but not the store.
pub(crate) fn reveal(opener: Option<&sealed::Opener>, visit_id: &str, raw: String) -> String {
    if !sealed::is_sealed(&raw) {
        return raw;
    }
    opener
        .and_then(|o| sealed::open_text(&raw, &context(visit_id), o))
        .unwrap_or_else(|| CONFIDENTIAL_MASK.to_owned())
}

#[cfg(test)]
mod tests {
    use xinfang_core::staff::Role;

    use crate::{NewStaff, Store};

    const PASS: &str = "correct horse 9";

    fn new_staff(username: &str, role: Role) -> NewStaff {
        NewStaff {
            username: username.into(),
            display_name: format!("{username}姓名"),
            roles: vec![role],
            password: PASS.into(),
        }
    }

    /// The login's pass over the sealed appeals runs through a small page cache; the session
    /// then has the store's own cache (search needs it) — not the pass's.
    #[test]
    fn a_readers_login_leaves_the_store_its_own_page_cache() {
        let dir = tempfile::TempDir::new().unwrap();
        let (mut admin, _) =
            Store::create_with_admin(dir.path(), "140521", &new_staff("admin", Role::Admin))
                .unwrap();
        let cache = |s: &Store| -> i64 {
            s.conn
                .query_row("PRAGMA cache_size", [], |r| r.get(0))
                .unwrap()
        };
        let configured = cache(&admin);
        assert_eq!(configured, -262_144);
        admin
            .add_staff(&new_staff("boss", Role::Supervisor))
            .unwrap();
        drop(admin);
        let (boss, _) = Store::login(dir.path(), "boss", PASS).unwrap();
        assert!(
            boss.opener.is_some(),
            "a supervisor reads reports: the pass ran"
        );
        assert_eq!(cache(&boss), configured);
    }
}
