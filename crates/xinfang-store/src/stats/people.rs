//! The distinct visitors of a period (来访人数: a person counted once however often they came),
//! from `visit_people` (migration 0028). A person on file twice and merged is one person
//! (`person`: the record a visit's visitor is merged into, docs/sync.md "People").
//!
//! A month that has ended keeps its people (`stats_month_people`, migration 0042), so a year
//! reads twelve sets instead of a year of index entries: a million at the benchmark's scale,
//! ≈ 100 MB of pages through the cache kept for search. A link written or dropped in a month
//! drops its sets (triggers), so a kept set is always its month's rows.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OptionalExtension, params};
use xinfang_core::stats::Period;

use crate::Result;

/// Persons, each once. Ids are UUIDs, kept as 16-byte numbers (≈ 10 MB for 600,000 people);
/// counted here rather than by `count(DISTINCT …)`, whose temporary B-tree took 0.4 s of a
/// year's 0.45 s at 900,000 visits.
#[derive(Debug, Default)]
struct People {
    uuids: HashSet<u128>,
    /// Persons whose id is not a UUID (records from older desks).
    others: HashSet<String>,
}

impl People {
    fn add(&mut self, person: &str) {
        match uuid::Uuid::parse_str(person) {
            Ok(u) => {
                self.uuids.insert(u.as_u128());
            }
            Err(_) => {
                if !self.others.contains(person) {
                    self.others.insert(person.to_owned());
                }
            }
        }
    }

    fn extend(&mut self, other: People) {
        if self.uuids.is_empty() && self.others.is_empty() {
            *self = other;
            return;
        }
        self.uuids.extend(other.uuids);
        self.others.extend(other.others);
    }

    fn len(&self) -> u64 {
        (self.uuids.len() + self.others.len()) as u64
    }

    /// The kept form: the UUIDs ascending, 16 bytes each; the others as a JSON array.
    fn to_kept(&self) -> (Vec<u8>, String) {
        let mut uuids: Vec<u128> = self.uuids.iter().copied().collect();
        uuids.sort_unstable();
        let bytes = uuids.iter().flat_map(|u| u.to_be_bytes()).collect();
        let mut others: Vec<String> = self.others.iter().cloned().collect();
        others.sort();
        (bytes, serde_json::Value::from(others).to_string())
    }

    /// A kept set read back; `None` when it does not read (it is then counted again).
    fn from_kept(bytes: &[u8], others: &str) -> Option<People> {
        let chunks = bytes.chunks_exact(16);
        if !chunks.remainder().is_empty() {
            return None;
        }
        let uuids = chunks
            .map(|c| u128::from_be_bytes(c.try_into().unwrap_or([0; 16])))
            .collect();
        let others: Vec<String> = serde_json::from_str(others).ok()?;
        Some(People {
            uuids,
            others: others.into_iter().collect(),
        })
    }
}

/// How many distinct people visited in `period` (of `hall`, or every hall). The months of the
/// period that ended before `today` come from their kept sets (counted and kept first if
/// none is); the rest from the links.
pub(crate) fn distinct_visitors(
    conn: &Connection,
    period: Period,
    hall: Option<&str>,
    today: NaiveDate,
) -> Result<u64> {
    let mut people = People::default();
    let mut day = period.from;
    while day <= period.to {
        let first = day.with_day(1).unwrap_or(day);
        let last = last_of_month(first);
        if day == first && last <= period.to && last < today {
            people.extend(month(conn, first, hall)?);
        } else {
            read_links(conn, day, last.min(period.to), hall, &mut people)?;
        }
        match last.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(people.len())
}

/// Whether the people of the month that starts on `first` are kept, for every hall together.
pub(crate) fn month_kept(conn: &Connection, first: NaiveDate) -> Result<bool> {
    let mut stmt =
        conn.prepare_cached("SELECT 1 FROM stats_month_people WHERE month = ?1 AND scope = '*'")?;
    Ok(stmt.exists(params![month_key(first)])?)
}

/// Counts and keeps the people of the month that starts on `first`, for every hall together:
/// the keeper of figures does this for ended months, so that the first statistics after a sync
/// do not read their links.
pub(crate) fn keep_month(conn: &Connection, first: NaiveDate) -> Result<()> {
    month(conn, first, None).map(drop)
}

/// How many kept sets differ from their month's links (for `verify`: the triggers keep them).
pub(crate) fn stale_months(conn: &Connection) -> Result<usize> {
    let mut stmt = conn.prepare("SELECT month, scope, people, others FROM stats_month_people")?;
    let mut rows = stmt.query([])?;
    let mut stale = 0;
    while let Some(r) = rows.next()? {
        let (month, scope): (String, String) = (r.get(0)?, r.get(1)?);
        let kept = People::from_kept(&r.get::<_, Vec<u8>>(2)?, &r.get::<_, String>(3)?);
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok();
        let Some((kept, first)) = kept.zip(first) else {
            stale += 1;
            continue;
        };
        let hall = (scope != "*").then_some(scope.as_str());
        let mut rows = People::default();
        read_links(conn, first, last_of_month(first), hall, &mut rows)?;
        if rows.uuids != kept.uuids || rows.others != kept.others {
            stale += 1;
        }
    }
    Ok(stale)
}

/// The people of the month that starts on `first`: kept, or read from the links and kept.
fn month(conn: &Connection, first: NaiveDate, hall: Option<&str>) -> Result<People> {
    if let Some(people) = kept(conn, first, hall)? {
        return Ok(people);
    }
    // Read and kept in one transaction: if another connection wrote a link of the month
    // meanwhile, the write fails (the read is stale) and nothing is kept.
    conn.execute_batch("SAVEPOINT month_people")?;
    let mut people = People::default();
    let read = read_links(conn, first, last_of_month(first), hall, &mut people);
    let written = read.is_ok() && {
        let (bytes, others) = people.to_kept();
        conn.prepare_cached(
            "INSERT OR REPLACE INTO stats_month_people(month, scope, people, others)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| s.execute(params![month_key(first), scope(hall), bytes, others]))
        .is_ok()
    };
    conn.execute_batch(if written {
        "RELEASE month_people"
    } else {
        "ROLLBACK TO month_people; RELEASE month_people"
    })?;
    read?;
    Ok(people)
}

fn kept(conn: &Connection, first: NaiveDate, hall: Option<&str>) -> Result<Option<People>> {
    let mut stmt = conn.prepare_cached(
        "SELECT people, others FROM stats_month_people WHERE month = ?1 AND scope = ?2",
    )?;
    let row: Option<(Vec<u8>, String)> = stmt
        .query_row(params![month_key(first), scope(hall)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(bytes, others)| People::from_kept(&bytes, &others)))
}

/// Adds the people of the links from `from` to `to` (of `hall`, or every hall).
fn read_links(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    hall: Option<&str>,
    people: &mut People,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT person FROM visit_people
          WHERE visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR hall_code = ?3)",
    )?;
    let mut rows = stmt.query(params![from.to_string(), to.to_string(), hall])?;
    while let Some(r) = rows.next()? {
        people.add(r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?);
    }
    Ok(())
}

fn last_of_month(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

fn month_key(first: NaiveDate) -> String {
    first.format("%Y-%m").to_string()
}

fn scope(hall: Option<&str>) -> &str {
    hall.unwrap_or("*")
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use rand::{Rng, SeedableRng};
    use xinfang_core::stats::Period;

    use super::distinct_visitors;
    use crate::Store;

    /// How many statements read the links, on the connection traced with [`count`].
    static LINK_READS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn count(event: rusqlite::trace::TraceEvent<'_>) {
        if let rusqlite::trace::TraceEvent::Stmt(_, sql) = event
            && sql.contains("FROM visit_people")
        {
            LINK_READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// The distinct people of the period, counted by SQL from the links.
    fn truth(store: &Store, p: Period, hall: Option<&str>) -> u64 {
        let n: i64 = store
            .conn
            .query_row(
                "SELECT count(DISTINCT person) FROM visit_people
                  WHERE visit_date BETWEEN ?1 AND ?2 AND (?3 IS NULL OR hall_code = ?3)",
                rusqlite::params![p.from.to_string(), p.to.to_string(), hall],
                |r| r.get(0),
            )
            .unwrap();
        u64::try_from(n).unwrap()
    }

    /// 30 people visiting 120 times over six months; each random period counts them as SQL
    /// does, before and after its months are kept, and after links of kept months change.
    #[test]
    fn kept_months_count_the_people_the_links_hold() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        let clerk = crate::test_support::clerk(&mut store);
        let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
        let today = d("2026-09-15");
        let visit = |rng: &mut rand::rngs::StdRng| {
            let person = rng.random_range(0..30u32);
            let at = format!(
                "2026-{:02}-{:02}T09:30:00+08:00",
                rng.random_range(3..=9u32),
                rng.random_range(1..=28u32)
            );
            crate::test_support::visit_of(&format!("14052119800101{person:03}"), &at)
        };
        for _ in 0..120 {
            store.register_visit(&visit(&mut rng), &clerk).unwrap();
        }
        let check = |store: &Store, rng: &mut rand::rngs::StdRng| {
            for _ in 0..20 {
                let from = d("2026-02-20") + chrono::Days::new(rng.random_range(0..120));
                let to = from + chrono::Days::new(rng.random_range(0..150));
                let p = Period::new(from, to).unwrap();
                assert_eq!(
                    distinct_visitors(&store.conn, p, None, today).unwrap(),
                    truth(store, p, None),
                    "{from}..{to}"
                );
            }
        };
        check(&store, &mut rng);
        let kept: i64 = store
            .conn
            .query_row("SELECT count(*) FROM stats_month_people", [], |r| r.get(0))
            .unwrap();
        assert!(kept > 0, "ended months are kept");
        // New visits in kept months (as a sync brings them), and a link dropped.
        for _ in 0..10 {
            store.register_visit(&visit(&mut rng), &clerk).unwrap();
        }
        store
            .conn
            .execute(
                "DELETE FROM visit_people WHERE rowid IN
                   (SELECT rowid FROM visit_people WHERE visit_date LIKE '2026-04-%' LIMIT 1)",
                [],
            )
            .ok();
        check(&store, &mut rng);
    }

    /// Once its ended months are kept, a year's distinct visitors read no links (all of them
    /// before: a year at a million visits is a million index entries).
    #[test]
    fn a_year_of_ended_months_reads_their_kept_people_not_the_links() {
        let dir = tempfile::TempDir::new().unwrap();
        let (store, _, _) = crate::test_support::store_with_visits(dir.path(), 24, |n| {
            format!("2025-{:02}-10T09:30:00+08:00", 1 + n % 12)
        });
        let year = Period::new(d("2025-01-01"), d("2025-12-31")).unwrap();
        let (december, january) = (d("2025-12-20"), d("2026-01-05"));
        assert_eq!(
            distinct_visitors(&store.conn, year, None, december).unwrap(),
            24
        );
        assert_eq!(
            distinct_visitors(&store.conn, year, None, january).unwrap(),
            24
        );
        store.conn.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
            Some(count),
        );
        let reads = || LINK_READS.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            distinct_visitors(&store.conn, year, None, january).unwrap(),
            24
        );
        assert_eq!(reads(), 0, "every month of the year is kept");
        // Before December has ended, its links are read; the eleven months before are kept.
        assert_eq!(
            distinct_visitors(&store.conn, year, None, december).unwrap(),
            24
        );
        assert_eq!(reads(), 1);
    }

    /// The keeper of figures keeps the people of the ended months, not of today's, so that
    /// the first statistics after a sync read no links of those months.
    #[test]
    fn the_keeper_keeps_the_people_of_the_ended_months() {
        let dir = tempfile::TempDir::new().unwrap();
        let (store, _, _) = crate::test_support::store_with_visits(dir.path(), 9, |n| {
            format!("2025-{:02}-10T09:30:00+08:00", 1 + n % 3)
        });
        let cal = xinfang_core::calendar::HolidayCalendar::bundled();
        store.forget_kept_figures().unwrap();
        store.keep_due_figures(d("2025-03-20"), &cal, 12).unwrap();
        let mut stmt = store
            .conn
            .prepare("SELECT month, scope FROM stats_month_people ORDER BY month")
            .unwrap();
        let kept: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let star = |m: &str| (m.to_owned(), "*".to_owned());
        assert_eq!(kept, [star("2025-01"), star("2025-02")]);
    }

    /// `verify` finds a kept set that no longer holds its month's people.
    #[test]
    fn verify_finds_a_kept_month_unlike_its_links() {
        let dir = tempfile::TempDir::new().unwrap();
        let (store, _, _) = crate::test_support::store_with_visits(dir.path(), 4, |n| {
            format!("2025-0{}-10T09:30:00+08:00", 1 + n % 2)
        });
        let months = Period::new(d("2025-01-01"), d("2025-02-28")).unwrap();
        assert_eq!(
            distinct_visitors(&store.conn, months, None, d("2025-03-01")).unwrap(),
            4
        );
        assert!(store.verify().unwrap().ok(), "kept sets equal their links");
        store
            .conn
            .execute(
                "UPDATE stats_month_people SET people = substr(people, 17) WHERE month = '2025-02'",
                [],
            )
            .unwrap();
        let report = store.verify().unwrap();
        assert_eq!(report.problems, ["按月留存的来访人与来访记录不符：1 个月"]);
    }
}
