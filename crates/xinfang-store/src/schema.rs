//! Connection settings and schema migrations.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::Result;

/// Durability first: WAL with a full fsync at every commit, foreign keys enforced. The page
/// cache (decrypted pages) may grow to 256 MiB so a hall's visitor rows stay in memory for
/// search: at 96 MiB search was ten times slower on a 900,000-visit store (docs/performance.md).
/// All connections of the process together are held to [`HEAP_LIMIT_BYTES`].
pub(crate) fn configure(conn: &Connection) -> Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    debug_assert_eq!(mode, "wal");
    conn.execute_batch(&format!(
        "PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -262144;
         PRAGMA soft_heap_limit = {HEAP_LIMIT_BYTES};"
    ))?;
    Ok(())
}

/// SQLite's memory for the whole process, every connection's page cache together: past it a
/// cache reuses its least recently used pages instead of growing. Without it, the full backlog
/// list filled the 256 MiB cache and the desk peaked at 231 MB at 1,000,000 visitors, over the
/// 200 MB budget (issue 21); with it, 155 MB, and search and the screens kept their times
/// (docs/performance.md, sixteenth session). Process-wide in SQLite, so set with every
/// connection the store opens.
pub(crate) const HEAP_LIMIT_BYTES: i64 = 128 * 1024 * 1024;

/// Append-only list: never edit a migration that has shipped, add a new one.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../migrations/0001_init.sql")),
        M::up(include_str!("../migrations/0002_desk.sql")),
        M::up(include_str!("../migrations/0003_sync.sql")),
        M::up(include_str!("../migrations/0004_legal.sql")),
        M::up(include_str!("../migrations/0005_stats.sql")),
        M::up(include_str!("../migrations/0006_audit.sql")),
        M::up(include_str!("../migrations/0007_drafts.sql")),
        M::up(include_str!("../migrations/0008_records.sql")),
        M::up(include_str!("../migrations/0009_security.sql")),
        M::up(include_str!("../migrations/0010_people.sql")),
        M::up(include_str!("../migrations/0011_stats.sql")),
        M::up(include_str!("../migrations/0012_stats_facts.sql")),
        M::up(include_str!("../migrations/0013_log_base.sql")),
        M::up(include_str!("../migrations/0014_reading_keys.sql")),
        M::up(include_str!("../migrations/0015_staff_signatures.sql")),
        M::up(include_str!("../migrations/0016_receiver_deadlines.sql")),
        M::up(include_str!("../migrations/0017_judicial_confirmation.sql")),
        M::up(include_str!("../migrations/0018_mediation_record.sql")),
        M::up(include_str!("../migrations/0019_publicity_campaign.sql")),
        M::up(include_str!("../migrations/0020_skip_level.sql")),
        M::up(include_str!("../migrations/0021_notice_doc_no.sql")),
        M::up(include_str!("../migrations/0022_hall_settings.sql")),
        M::up(include_str!("../migrations/0023_mediation_request.sql")),
        M::up(include_str!("../migrations/0024_other_hall_matters.sql")),
        M::up(include_str!(
            "../migrations/0025_mediation_investigations.sql"
        )),
        M::up(include_str!("../migrations/0026_scale_indexes.sql")),
        M::up(include_str!("../migrations/0027_stats_days.sql")),
        M::up(include_str!("../migrations/0028_visit_people.sql")),
        M::up(include_str!("../migrations/0029_open_limits.sql")),
        M::up(include_str!("../migrations/0030_local_settings.sql")),
        M::up(include_str!("../migrations/0031_queue_label.sql")),
        M::up(include_str!("../migrations/0032_matter_number.sql")),
        M::up(include_str!("../migrations/0033_visit_photos.sql")),
        M::up(include_str!("../migrations/0034_registration_lookups.sql")),
        M::up(include_str!("../migrations/0035_log_field_sets.sql")),
        M::up(include_str!("../migrations/0036_reseal_pending.sql")),
        M::up(include_str!(
            "../migrations/0037_state_triggers_on_change.sql"
        )),
        M::up(include_str!("../migrations/0038_queue_label_count.sql")),
        M::up(include_str!("../migrations/0039_registration_pages.sql")),
        M::up(include_str!("../migrations/0040_backlog_merged.sql")),
        M::up(include_str!("../migrations/0041_gaps_by_index.sql")),
        M::up(include_str!("../migrations/0042_month_people.sql")),
        M::up(include_str!("../migrations/0043_log_devices.sql")),
        M::up(include_str!("../migrations/0044_conclusions_by_day.sql")),
        M::up(include_str!("../migrations/0045_matter_stats_queue.sql")),
        M::up(include_str!(
            "../migrations/0046_people_duplicates_kept.sql"
        )),
    ])
}

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrations().to_latest(conn).map_err(|e| match e {
        rusqlite_migration::Error::MigrationDefinition(
            rusqlite_migration::MigrationDefinitionError::DatabaseTooFarAhead,
        ) => crate::StoreError::NewerVersion,
        e => e.into(),
    })?;
    // Matters from before numbers (migration 0032) get theirs here: the rule is Rust's. One
    // transaction: one fsync, not one per matter.
    let tx = conn.transaction()?;
    crate::numbers::fill_legacy(&tx)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }

    /// A store a newer version has migrated is refused with a message a clerk understands,
    /// and left as it is.
    #[test]
    fn a_store_from_a_newer_version_is_refused_in_plain_words() {
        let dir = tempfile::TempDir::new().unwrap();
        drop(crate::Store::create_unencrypted(dir.path(), "140521").unwrap());
        let path = dir.path().join(crate::DB_FILE);
        let newer: i64 = 10_000;
        crate::open_raw(&path, None)
            .unwrap()
            .pragma_update(None, "user_version", newer)
            .unwrap();
        let e = crate::Store::open_unencrypted(dir.path()).unwrap_err();
        assert!(matches!(e, crate::StoreError::NewerVersion), "{e:?}");
        assert!(e.to_string().contains("更新版本"), "{e}");
        let version: i64 = crate::open_raw(&path, None)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, newer);
    }

    /// SQLite's memory is capped as soon as a store is open, whatever reads come after.
    #[test]
    fn an_open_store_caps_sqlites_memory() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        let limit: i64 = store
            .conn
            .query_row("PRAGMA soft_heap_limit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(limit, super::HEAP_LIMIT_BYTES);
    }

    /// Lookups someone waits for read by index, never a whole table: a person's matters (asked
    /// as the clerk types a document number) and the sealed visits (re-sealed at every login).
    /// Both scanned every visit before migration 0026 (issue 21: 28 s and 5 s at 900,000 visits).
    /// A backlog case's notes scanned every case before 0040, for each case a list shows.
    #[test]
    fn lookups_at_registration_and_login_read_by_index() {
        let dir = tempfile::TempDir::new().unwrap();
        let store = crate::Store::create_unencrypted(dir.path(), "140521").unwrap();
        for (sql, n) in [
            (crate::visits::MATTERS_OF_PERSON, 1),
            (crate::confidential::SEALED_VISITS, 0),
            (crate::backlog::NOTES_OF_CASE, 1),
        ] {
            let mut stmt = store
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let plan: Vec<String> = stmt
                .query_map(&rusqlite::params!["140521198001150134"][..n], |r| {
                    r.get::<_, String>(3)
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            // A scan of a partial index reads only the rows it holds (the sealed ones).
            let partial = ["visits_reports", "matters_confidential"];
            let scans: Vec<&String> = plan
                .iter()
                .filter(|p| p.starts_with("SCAN") && !partial.iter().any(|i| p.contains(i)))
                .collect();
            assert!(scans.is_empty(), "{sql}\n{plan:#?}");
        }
    }
}
