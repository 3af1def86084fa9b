//! Sync status for the status bar: one sync attempt on a store connection and what to show
//! (docs/sync.md). The desktop app runs it on its background task; nothing here waits.

use xinfang_store::Store;
use xinfang_sync::DeskReplica;
use xinfang_sync::client;

pub use crate::api::SyncStatus;

/// Shown while the desk has no enrolment: nothing is tried, nothing spins.
pub const NOT_ENROLLED: &str = "未登记到市级服务器：数据只保存在本机。请向市局管理员索取一次性登记码，再在本机运行 `xinfang enrol --server 服务器地址 --code 登记码` 完成登记。";

fn pending(store: &Store) -> i64 {
    match (store.last_local_seq(), store.pushed_seq()) {
        (Ok(last), Ok(pushed)) => (last - pushed).max(0),
        _ => 0,
    }
}

/// One attempt on `store`: syncs if the desk is enrolled, and says what to show.
pub fn attempt(store: &mut Store) -> SyncStatus {
    if !matches!(store.sync_settings(), Ok(Some(_))) {
        return SyncStatus {
            online: false,
            enrolled: false,
            checked: true,
            pending: pending(store),
            last_sync_at: None,
            last_error: Some(NOT_ENROLLED.to_owned()),
        };
    }
    let s = client::sync_status(store);
    SyncStatus {
        online: s.online,
        enrolled: true,
        checked: true,
        pending: s.pending,
        last_sync_at: s.last_sync_at,
        last_error: s.last_error,
    }
}

#[cfg(test)]
mod tests {
    use xinfang_sync::Secret;

    use super::*;

    #[test]
    fn a_desk_not_enrolled_says_so_and_tries_nothing() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        let s = attempt(&mut store);
        assert!(!s.online && !s.enrolled && s.checked);
        assert!(s.last_error.unwrap().contains("未登记到市级服务器"));
    }

    #[test]
    fn an_unreachable_server_is_offline_with_a_chinese_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut store = Store::create_unencrypted(dir.path(), "140521").unwrap();
        // A loopback port nobody listens on.
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
        let s = attempt(&mut store);
        assert!(!s.online && s.enrolled && s.checked);
        let e = s.last_error.unwrap();
        assert!(e.contains("无法连接市局服务器"), "{e}");
        assert_eq!(s.last_sync_at, None);
    }
}
