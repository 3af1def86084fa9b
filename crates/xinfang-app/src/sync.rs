//! Sync status for the status bar: one sync attempt on a store connection and what to show
//! (docs/sync.md). The desktop app runs it on its background task; nothing here waits.

use xinfang_store::Store;
use xinfang_sync::DeskReplica;
use xinfang_sync::client;

pub use crate::api::SyncStatus;

/// Shown while the desk has no enrolment: nothing is tried, nothing spins.
pub const NOT_ENROLLED: &str = "未登记到服务器：数据只保存在本机。请向市局或大厅服务器的管理员索取一次性登记码，由本机管理员在“设置 → 连接服务器”中完成登记。";

/// After this many days without a successful sync the status bar warns: audit entries the city
/// has not received can still be rewritten by whoever holds the data key (docs/security.md).
pub const UNSYNCED_WARN_DAYS: i64 = 7;

/// Whole days from `at` (RFC 3339) to the store's clock.
fn days_since(store: &Store, at: &str) -> Option<i64> {
    let then = chrono::DateTime::parse_from_rfc3339(at).ok()?;
    Some((store.clock().now_cst() - then).num_days())
}

fn pending(store: &Store) -> i64 {
    crate::enrolment::pending_changes(store).unwrap_or(0)
}

/// One attempt on `store`: syncs if the desk is enrolled, and says what to show.
pub fn attempt(store: &mut Store) -> SyncStatus {
    attempt_counted(store).0
}

/// [`attempt`], and how many remote changes it applied: the screens that show the hall's
/// records refresh when that is not 0 (docs/sync.md "Live notifications").
pub fn attempt_counted(store: &mut Store) -> (SyncStatus, u64) {
    if !matches!(store.sync_settings(), Ok(Some(_))) {
        let status = SyncStatus {
            online: false,
            enrolled: false,
            checked: true,
            pending: pending(store),
            last_sync_at: None,
            last_error: Some(NOT_ENROLLED.to_owned()),
            unsynced_days: None,
        };
        return (status, 0);
    }
    let s = client::sync_status(store);
    let unsynced_days = s
        .last_sync_at
        .as_deref()
        .and_then(|at| days_since(store, at))
        .filter(|d| *d >= UNSYNCED_WARN_DAYS);
    let last_error = match unsynced_days {
        Some(days) => {
            let warning = format!(
                "本机已 {days} 天未与市局服务器同步：审计日志和登记的变更都还只在本机。请负责人尽快安排联网同步。"
            );
            Some(match s.last_error {
                Some(e) => format!("{warning}\n{e}"),
                None => warning,
            })
        }
        None => s.last_error,
    };
    let status = SyncStatus {
        online: s.online,
        enrolled: true,
        checked: true,
        pending: s.pending,
        last_sync_at: s.last_sync_at,
        last_error,
        unsynced_days,
    };
    (status, s.pulled)
}

#[cfg(test)]
mod tests {
    use xinfang_sync::Secret;

    use super::*;

    /// A store enrolled with a loopback port nobody listens on.
    fn enrolled_offline(dir: &tempfile::TempDir) -> Store {
        let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        store
            .save_enrolment(
                &format!("http://127.0.0.1:{port}"),
                &Secret::new("xft_test"),
            )
            .unwrap();
        store
    }

    #[test]
    fn a_desk_not_enrolled_says_so_and_tries_nothing() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        let s = attempt(&mut store);
        assert!(!s.online && !s.enrolled && s.checked);
        assert!(s.last_error.unwrap().contains("未登记到服务器"));
    }

    #[test]
    fn an_unreachable_server_is_offline_with_a_chinese_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = enrolled_offline(&dir);
        let s = attempt(&mut store);
        assert!(!s.online && s.enrolled && s.checked);
        let e = s.last_error.unwrap();
        assert!(e.contains("无法连接市局服务器"), "{e}");
        assert_eq!(s.last_sync_at, None);
        assert_eq!(s.unsynced_days, None);
    }

    /// Issue 15, item 8: a desk that has not reached the city for a week says so.
    #[test]
    fn a_week_without_a_sync_is_shown_with_the_days() {
        use xinfang_core::clock::{Clock, ManualClock};
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = enrolled_offline(&dir);
        let synced = "2026-03-02T09:00:00+08:00";
        store
            .set_sync_record(&xinfang_sync::SyncRecord {
                last_sync_at: Some(synced.into()),
                last_error: None,
            })
            .unwrap();
        let at = |day: &str| {
            std::sync::Arc::new(ManualClock::at(&format!("2026-03-{day}T10:00:00+08:00")))
                as std::sync::Arc<dyn Clock>
        };
        store.set_clock(at("08"));
        let s = attempt(&mut store);
        assert_eq!(s.unsynced_days, None, "six days: no warning yet");
        store.set_clock(at("10"));
        let s = attempt(&mut store);
        assert_eq!(s.unsynced_days, Some(8));
        let e = s.last_error.unwrap();
        assert!(e.starts_with("本机已 8 天未与市局服务器同步"), "{e}");
        assert!(e.contains("无法连接市局服务器"), "the reason follows: {e}");
    }
}
